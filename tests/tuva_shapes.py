"""Tables shaped exactly like Tuva's: the input layer Tuva declares, and the output of Tuva's Medicare CCLF
connector (all columns, Tuva's names, in order).

Input layer: tuva-health/tuva at commit 6be34c7 (2026-05-13), models/input_layer/input_layer__medical_claim.yml
(148 columns) and input_layer__eligibility.yml (39 columns; key person_id, member_id, enrollment_start_date,
enrollment_end_date, plan, payer, data_source). Connector output: tuva-health/medicare_cclf_connector at commit
c07f6e1 (2026-01-30), models/final/medical_claim.sql and models/final/eligibility.sql (their final select
lists: the input layer's columns plus claim_provider_specialty_code, ccn, claim_type_code, other_npi,
attending_npi, operating_npi; and reference_year, medicare_entitlement_buyin_indicator). Values
follow the connector's mapping models: models/intermediate/int_physician_claim_deduped.sql (CCLF5: claim_type
professional, payer/plan 'medicare', rendering_tin = CLM_RNDRG_PRVDR_TAX_NUM, billing_tin NULL, data_source
'medicare cclf'), int_institutional_claim_deduped.sql (claim_type institutional, both TINs NULL, claim_type_code
= CLM_TYPE_CD), int_dme_claim_deduped.sql (CCLF6: claim_type professional, rendering_npi = ordering NPI,
billing_npi = pay-to NPI, both TINs NULL) and models/final/eligibility.sql (gender from BENE_SEX_CD, payer,
payer_type and plan 'medicare')."""
from __future__ import annotations

import csv
from pathlib import Path

_25 = range(1, 26)

MEDICAL_CLAIM_COLUMNS = (
    ["claim_id", "claim_line_number", "claim_type", "person_id", "member_id", "payer", "plan", "claim_start_date",
     "claim_end_date", "claim_line_start_date", "claim_line_end_date", "admission_date", "discharge_date",
     "admit_source_code", "admit_type_code", "discharge_disposition_code", "place_of_service_code", "bill_type_code",
     "drg_code_type", "drg_code", "revenue_center_code", "service_unit_quantity", "claim_provider_specialty_code",
     "hcpcs_code"]
    + [f"hcpcs_modifier_{i}" for i in range(1, 6)]
    + ["ccn", "claim_type_code", "other_npi", "attending_npi", "operating_npi", "rendering_npi", "rendering_tin",
       "billing_npi", "billing_tin", "facility_npi", "paid_date", "paid_amount", "allowed_amount", "charge_amount",
       "coinsurance_amount", "copayment_amount", "deductible_amount", "total_cost_amount", "diagnosis_code_type"]
    + [f"diagnosis_code_{i}" for i in _25] + [f"diagnosis_poa_{i}" for i in _25]
    + ["procedure_code_type"] + [f"procedure_code_{i}" for i in _25] + [f"procedure_date_{i}" for i in _25]
    + ["in_network_flag", "data_source", "file_name", "file_date", "ingest_datetime"]
)

ELIGIBILITY_COLUMNS = [
    "person_id", "member_id", "subscriber_id", "gender", "race", "birth_date", "death_date", "death_flag",
    "reference_year", "enrollment_start_date", "enrollment_end_date", "payer", "payer_type", "plan",
    "original_reason_entitlement_code", "dual_status_code", "medicare_status_code", "enrollment_status",
    "hospice_flag", "institutional_snp_flag", "long_term_institutional_flag", "group_id", "group_name",
    "medicare_entitlement_buyin_indicator", "name_suffix", "first_name", "middle_name", "last_name",
    "social_security_number", "subscriber_relation", "address", "city", "state", "zip_code", "phone", "email",
    "ethnicity", "data_source", "file_name", "file_date", "ingest_datetime",
]

_CONNECTOR_ONLY_CLAIM = {"claim_provider_specialty_code", "ccn", "claim_type_code", "other_npi", "attending_npi",
                         "operating_npi"}
_CONNECTOR_ONLY_ELIGIBILITY = {"reference_year", "medicare_entitlement_buyin_indicator"}
INPUT_LAYER_MEDICAL_CLAIM_COLUMNS = [c for c in MEDICAL_CLAIM_COLUMNS if c not in _CONNECTOR_ONLY_CLAIM]
INPUT_LAYER_ELIGIBILITY_COLUMNS = [c for c in ELIGIBILITY_COLUMNS if c not in _CONNECTOR_ONLY_ELIGIBILITY]
SHAPES = {  # name -> (medical_claim columns, eligibility columns)
    "connector": (MEDICAL_CLAIM_COLUMNS, ELIGIBILITY_COLUMNS),
    "input_layer": (INPUT_LAYER_MEDICAL_CLAIM_COLUMNS, INPUT_LAYER_ELIGIBILITY_COLUMNS),
}

TIN, NPI, NPI_ORDERING = "123456789", "1234567893", "1245319599"


def physician_line(claim_id: str, n: int, person: str, dos: str, code: str, dx: list[str], allowed: str,
                   *, modifier: str = "", tin: str = TIN, npi: str = NPI) -> dict:
    """A CCLF5 line as the connector maps it."""
    row = {"claim_id": claim_id, "claim_line_number": n, "claim_type": "professional", "person_id": person,
           "member_id": person, "payer": "medicare", "plan": "medicare", "claim_start_date": dos, "claim_end_date": dos,
           "claim_line_start_date": dos, "claim_line_end_date": dos, "place_of_service_code": "11",
           "service_unit_quantity": "1", "claim_provider_specialty_code": "08", "hcpcs_code": code,
           "hcpcs_modifier_1": modifier, "rendering_npi": npi, "rendering_tin": tin, "paid_date": dos,
           "paid_amount": allowed, "allowed_amount": allowed, "charge_amount": allowed, "diagnosis_code_type": "icd-10-cm",
           "in_network_flag": "1", "data_source": "medicare cclf", "file_name": "ZC5Y24", "file_date": "2025-01-15",
           "ingest_datetime": "2025-01-15 00:00:00"}
    row.update({f"diagnosis_code_{i}": code for i, code in enumerate(dx, start=1)})
    return row


def institutional_line(claim_id: str, n: int, person: str, dos: str, revenue: str, code: str, allowed: str) -> dict:
    """A CCLF1/CCLF2 line as the connector maps it (outpatient claim type 40, bill type 131)."""
    return {"claim_id": claim_id, "claim_line_number": n, "claim_type": "institutional", "person_id": person,
            "member_id": person, "payer": "medicare", "plan": "medicare", "claim_start_date": dos,
            "claim_end_date": dos, "claim_line_start_date": dos, "claim_line_end_date": dos, "bill_type_code": "131",
            "revenue_center_code": revenue, "service_unit_quantity": "1", "hcpcs_code": code, "ccn": "010001",
            "claim_type_code": "40", "attending_npi": NPI, "facility_npi": "1497758544", "paid_date": dos,
            "paid_amount": allowed, "allowed_amount": allowed, "charge_amount": allowed,
            "diagnosis_code_type": "icd-10-cm", "diagnosis_code_1": "R079", "diagnosis_poa_1": "Y",
            "in_network_flag": "1", "data_source": "medicare cclf", "file_name": "ZC1Y24", "file_date": "2025-01-15",
            "ingest_datetime": "2025-01-15 00:00:00"}


def dme_line(claim_id: str, n: int, person: str, dos: str, code: str, allowed: str) -> dict:
    """A CCLF6 line as the connector maps it: professional, no TIN, ordering NPI as rendering_npi."""
    return {"claim_id": claim_id, "claim_line_number": n, "claim_type": "professional", "person_id": person,
            "member_id": person, "payer": "medicare", "plan": "medicare", "claim_start_date": dos,
            "claim_end_date": dos, "claim_line_start_date": dos, "claim_line_end_date": dos,
            "place_of_service_code": "12", "hcpcs_code": code, "rendering_npi": NPI_ORDERING,
            "billing_npi": "1366415119", "paid_date": dos, "paid_amount": allowed, "allowed_amount": allowed,
            "charge_amount": allowed, "diagnosis_code_type": "icd-10-cm", "diagnosis_code_1": "G4733",
            "in_network_flag": "1", "data_source": "medicare cclf", "file_name": "ZC6Y24", "file_date": "2025-01-15",
            "ingest_datetime": "2025-01-15 00:00:00"}


def enrollment(person: str, birth: str, gender: str, payer: str = "medicare", plan: str = "medicare",
               data_source: str = "medicare cclf", start: str = "2024-01-01", end: str = "2024-12-31") -> dict:
    return {"person_id": person, "member_id": person, "gender": gender, "race": "unknown", "birth_date": birth,
            "death_flag": "0", "reference_year": start[:4], "enrollment_start_date": start, "enrollment_end_date": end,
            "payer": payer, "payer_type": "medicare" if payer == "medicare" else "commercial", "plan": plan,
            "dual_status_code": "NA", "medicare_status_code": "10", "subscriber_relation": "self",
            "data_source": data_source, "file_name": "ZC8Y24", "file_date": "2025-01-15",
            "ingest_datetime": "2025-01-15 00:00:00"}


def write(path: Path, columns: list[str], rows: list[dict]) -> Path:
    """CSV with exactly ``columns`` as its header; fields a row does not set are empty (NULL in Tuva), fields
    the shape does not have are left out."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
