"""Input contracts: one pandera schema per input table, the single source of truth.

A schema validates the table *as text* (what the user's CSV holds, after normalization);
each column's ``metadata`` says its DuckDB type once accepted, how its text is normalized,
and what it means. ``transforms.ingest`` runs these same checks as DuckDB SQL on big files.

Claims use the Tuva Project input-layer names (medical_claim, eligibility) and the EHR
extract Tuva's clinical-layer names (patient, encounter, condition, procedure). Tuva's
medical_claim and eligibility tables are accepted with all their columns and keys; other
sources map into these contracts in transforms/sources/.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from schemas import checks

TYPE_CHECKS = {
    "DATE": checks.iso_date,
    "INTEGER": checks.integer,
    "BIGINT": checks.integer,
    "DOUBLE": checks.number,
    "BOOLEAN": checks.boolean,
}


def column(sql_type: str, description: str, *, required: bool = False, normalize: str = "text",
           extra_checks: list[pa.Check] | None = None) -> pa.Column:
    """A text column with its accepted type's check first, then its own checks.

    ``required`` columns must be present in the file and non-empty on every row.
    ``normalize``: text (trim), upper (codes), lower (words), icd10 (upper, dot removed), tin (``12-3456789`` and an
    8-digit TIN that lost its leading zero become nine digits), date (``MM/DD/YYYY`` becomes ``YYYY-MM-DD`` unless
    the file's column holds day-first dates). DATE columns normalize as dates. What is forgiven is counted per file
    (ingest_warnings) and documented in docs/inputs.md.
    """
    if sql_type == "BOOLEAN" and normalize == "text":
        normalize = "lower"
    if sql_type == "DATE" and normalize == "text":
        normalize = "date"
    extra_checks = extra_checks or []
    type_check = TYPE_CHECKS.get(sql_type)
    if any(c.statistics.get(checks.COVERS_TYPE_KEY) for c in extra_checks):
        type_check = None  # e.g. "a whole number >= 1" already says "a whole number": one reason per fault
    column_checks = ([type_check()] if type_check else []) + extra_checks
    if sql_type == "INTEGER":
        column_checks.append(checks.int32_range())  # 3000000000 is a whole number, but not an INTEGER
    return pa.Column(
        str, checks=column_checks, nullable=not required, required=required,
        description=description,
        metadata={"type": sql_type, "normalize": normalize, "required": required},
    )


@dataclass(frozen=True)
class InputContract:
    name: str
    grain: str
    key: tuple[str, ...]
    schema: pa.DataFrameSchema
    # groups of columns of which the file must have at least one (values may be empty on some rows)
    file_columns: tuple[tuple[str, ...], ...] = ()

    @property
    def required_columns(self) -> list[str]:
        return [n for n, c in self.schema.columns.items() if c.metadata["required"]]


def contract(name: str, grain: str, key: tuple[str, ...], columns: dict[str, pa.Column],
             row_checks: list[pa.Check] | None = None, description: str = "",
             file_columns: tuple[tuple[str, ...], ...] = ()) -> InputContract:
    for column_name, col in columns.items():
        if column_name.endswith("_id") and col.metadata["type"] == "VARCHAR" and not col.checks:
            col.checks.append(checks.not_placeholder())  # identifiers: the literal NULL is no patient
    schema = pa.DataFrameSchema(
        columns, checks=row_checks or [], name=name, unique=list(key), report_duplicates="exclude_first",
        description=f"{description} Grain: {grain}.".strip(), metadata={"grain": grain, "key": list(key)},
    )
    return InputContract(name=name, grain=grain, key=key, schema=schema, file_columns=file_columns)


def _modifiers(prefix: str, count: int = 5) -> dict[str, pa.Column]:
    return {f"{prefix}{i}": column("VARCHAR", f"modifier {i}", normalize="upper", extra_checks=[checks.modifier()])
            for i in range(1, count + 1)}


MAX_DIAGNOSES = 25  # Tuva's medical_claim carries diagnosis_code_1..25

_GENDERS = ["male", "female", "unknown"]

# A Part B professional Medicare line: what the claims measures and the low-volume threshold count
# (transforms/claims_scope.py moves every other valid line out of scope, and lines with no TIN at all). Lines
# outside it need not carry what only a professional line has (HCPCS code, rendering NPI): institutional and DME
# lines of a Tuva table are set aside, not rejected.
PART_B_PROFESSIONAL_SQL = (
    "(coalesce(claim_type, 'professional') = 'professional'"
    " AND coalesce(claim_type_code, '') NOT IN ('72', '81', '82')"
    " AND coalesce(payer, 'medicare') = 'medicare')"
)


def _is_part_b_professional(df):
    claim_type = df["claim_type"].fillna("professional")
    type_code = df["claim_type_code"].fillna("")
    payer = df["payer"].fillna("medicare")
    return (claim_type == "professional") & ~type_code.isin(["72", "81", "82"]) & (payer == "medicare")


def _professional_line_complete() -> pa.Check:
    fields = ("hcpcs_code", "rendering_npi", "claim_line_start_date")
    reason = "a Part B professional Medicare line needs hcpcs_code, rendering_npi and claim_line_start_date"

    def fn(df):
        return ~_is_part_b_professional(df) | df[list(fields)].notna().all(axis=1)

    sql = f"(NOT {PART_B_PROFESSIONAL_SQL} OR (" + " AND ".join(f'"{f}" IS NOT NULL' for f in fields) + "))"
    return pa.Check(fn, name="professional_line_incomplete", error=reason,
                    statistics={checks.SQL_KEY: sql, checks.REASON_KEY: reason, "columns": list(fields)})


MEDICAL_CLAIM = contract(
    "medical_claim",
    "one row per claim line of a data source",
    ("claim_id", "claim_line_number", "data_source"),
    {
        "claim_id": column("VARCHAR", "claim identifier; lines of one claim share it", required=True),
        "claim_line_number": column("INTEGER", "line number within the claim", required=True,
                                    extra_checks=[checks.integer(1)]),
        "claim_type": column("VARCHAR", "professional, institutional, dme or undetermined (Tuva); only professional "
                                        "lines are counted", normalize="lower"),
        "person_id": column("VARCHAR", "patient identifier (never logged)", required=True),
        "claim_line_start_date": column("DATE", "line from-date (date of service); needed on a Part B professional "
                                                "Medicare line"),
        "claim_line_end_date": column("DATE", "line through-date"),
        "place_of_service_code": column("VARCHAR", "CMS two-digit place of service", normalize="upper",
                                        extra_checks=[checks.place_of_service()]),
        "hcpcs_code": column("VARCHAR", "CPT/HCPCS code of the line, including CPT II and G quality data codes; "
                                        "needed on a Part B professional Medicare line",
                             normalize="upper", extra_checks=[checks.hcpcs()]),
        **_modifiers("hcpcs_modifier_"),
        "rendering_npi": column("VARCHAR", "rendering clinician NPI; needed on a Part B professional Medicare line",
                                extra_checks=[checks.npi()]),
        "billing_tin": column("VARCHAR", "billing taxpayer identification number; when empty, rendering_tin is "
                                         "used (ingest_warnings says how many lines); a line with neither is set "
                                         "aside (it cannot be attributed to a TIN)", normalize="tin",
                              extra_checks=[checks.tin()]),
        "diagnosis_code_type": column("VARCHAR", "icd-10-cm", normalize="lower",
                                      extra_checks=[checks.one_of("diagnosis_code_type", ["icd-10-cm"],
                                                                  "not icd-10-cm (MIPS measures use ICD-10-CM)")]),
        **{f"diagnosis_code_{i}": column("VARCHAR", f"ICD-10-CM diagnosis {i} (with or without the dot)",
                                         normalize="icd10", extra_checks=[checks.icd10cm()])
           for i in range(1, MAX_DIAGNOSES + 1)},
        "allowed_amount": column("DOUBLE", "Medicare allowed amount of the line (USD)"),
        "paid_amount": column("DOUBLE", "amount paid (USD)"),
        "service_unit_quantity": column("DOUBLE", "units of service"),
        "payer": column("VARCHAR", "payer name; medicare (or empty) for Part B claims, any other payer is set aside",
                        normalize="lower"),
        # Tuva columns added after the original contract columns, so files written in contract order keep
        # their column positions
        "claim_type_code": column("VARCHAR", "CMS claim type code (CCLF CLM_TYPE_CD); 72, 81 and 82 are DMEPOS, "
                                             "set aside"),
        "rendering_tin": column("VARCHAR", "TIN of the rendering clinician (Tuva's CCLF connector fills this one, "
                                           "from CCLF5 CLM_RNDRG_PRVDR_TAX_NUM)", normalize="tin",
                                extra_checks=[checks.tin()]),
        "plan": column("VARCHAR", "plan name (Tuva)", normalize="lower"),
        "data_source": column("VARCHAR", "data source the line came from (Tuva); part of the key"),
    },
    [checks.dates_in_order("claim_line_start_date", "claim_line_end_date"), _professional_line_complete()],
    "Claim lines (Tuva input layer `medical_claim`, all of its columns accepted; columns not listed here are "
    "ignored). Only Part B professional Medicare lines are counted; institutional, DME and other payers' lines "
    "are kept out of scope with a reason.",
    file_columns=(("hcpcs_code",), ("rendering_npi",), ("claim_line_start_date",), ("billing_tin", "rendering_tin")),
)

ELIGIBILITY = contract(
    "eligibility",
    "one row per person, member, enrollment span, payer, plan and data source (Tuva's grain)",
    ("person_id", "member_id", "enrollment_start_date", "enrollment_end_date", "payer", "plan", "data_source"),
    {
        "person_id": column("VARCHAR", "patient identifier (never logged)", required=True),
        "birth_date": column("DATE", "date of birth", required=True),
        "gender": column("VARCHAR", "male, female or unknown", required=True, normalize="lower",
                         extra_checks=[checks.one_of("gender", _GENDERS, "not male, female or unknown")]),
        "enrollment_start_date": column("DATE", "first day of the span", required=True),
        "enrollment_end_date": column("DATE", "last day of the span"),
        "dual_status_code": column("VARCHAR", "Medicare-Medicaid dual status code"),
        "death_date": column("DATE", "date of death"),
        "payer": column("VARCHAR", "payer name; medicare (or empty) is counted, any other payer is set aside",
                        normalize="lower"),
        "plan": column("VARCHAR", "plan name (Tuva); part of the key", normalize="lower"),
        "data_source": column("VARCHAR", "data source (Tuva); part of the key"),
        "member_id": column("VARCHAR", "member identifier of the plan (Tuva); part of the key (never logged)"),
    },
    [checks.dates_in_order("enrollment_start_date", "enrollment_end_date"),
     checks.dates_in_order("birth_date", "death_date"),
     checks.dates_in_order("birth_date", "enrollment_start_date", "enrollment_start_date_before_birth_date")],
    "Enrollment spans (Tuva input layer `eligibility`, all of its columns accepted; columns not listed here are "
    "ignored); birth date and gender give age and sex at the date of service.",
)

PATIENT = contract(
    "patient", "one row per person", ("person_id",),
    {
        "person_id": column("VARCHAR", "patient identifier (never logged)", required=True),
        "birth_date": column("DATE", "date of birth", required=True),
        "sex": column("VARCHAR", "male, female or unknown", required=True, normalize="lower",
                      extra_checks=[checks.one_of("sex", _GENDERS, "not male, female or unknown")]),
        "death_date": column("DATE", "date of death"),
    },
    [checks.dates_in_order("birth_date", "death_date")],
    "EHR patients, all payers (Tuva clinical layer).",
)

ENCOUNTER = contract(
    "encounter", "one row per encounter", ("encounter_id",),
    {
        "encounter_id": column("VARCHAR", "encounter identifier", required=True),
        "person_id": column("VARCHAR", "patient identifier (never logged)", required=True),
        "encounter_type": column("VARCHAR", "office visit, telehealth, ...", normalize="lower"),
        "encounter_start_date": column("DATE", "date of service", required=True),
        "encounter_end_date": column("DATE", "last date of the encounter"),
        "place_of_service_code": column("VARCHAR", "two-digit place of service", normalize="upper",
                                        extra_checks=[checks.place_of_service()]),
        "rendering_npi": column("VARCHAR", "rendering clinician NPI", required=True, extra_checks=[checks.npi()]),
        "billing_tin": column("VARCHAR", "billing TIN", required=True, normalize="tin", extra_checks=[checks.tin()]),
        "payer": column("VARCHAR", "payer of the encounter (any payer)", normalize="lower"),
    },
    [checks.dates_in_order("encounter_start_date", "encounter_end_date")],
    "EHR encounters, all payers, with the clinician and TIN who billed them.",
)

CONDITION = contract(
    "condition", "one row per diagnosis recorded on an encounter", ("condition_id",),
    {
        "condition_id": column("VARCHAR", "condition row identifier", required=True),
        "person_id": column("VARCHAR", "patient identifier (never logged)", required=True),
        "encounter_id": column("VARCHAR", "encounter the diagnosis was recorded on", required=True),
        "recorded_date": column("DATE", "date recorded"),
        "source_code_type": column("VARCHAR", "icd-10-cm", normalize="lower",
                                   extra_checks=[checks.one_of("condition_code_type", ["icd-10-cm"], "not icd-10-cm")]),
        "source_code": column("VARCHAR", "ICD-10-CM code (with or without the dot)", required=True,
                              normalize="icd10", extra_checks=[checks.icd10cm()]),
    },
    description="EHR diagnoses (Tuva clinical layer).",
)

PROCEDURE = contract(
    "procedure", "one row per procedure or quality-data-code line of an encounter", ("procedure_id",),
    {
        "procedure_id": column("VARCHAR", "procedure row identifier", required=True),
        "person_id": column("VARCHAR", "patient identifier (never logged)", required=True),
        "encounter_id": column("VARCHAR", "encounter the procedure belongs to", required=True),
        "procedure_date": column("DATE", "date performed"),
        "source_code_type": column("VARCHAR", "hcpcs", normalize="lower",
                                   extra_checks=[checks.one_of("procedure_code_type", ["hcpcs", "cpt"],
                                                               "not hcpcs or cpt")]),
        "source_code": column("VARCHAR", "CPT/HCPCS code incl. CPT II and G quality data codes", required=True,
                              normalize="upper", extra_checks=[checks.hcpcs()]),
        **_modifiers("modifier_"),
        "practitioner_id": column("VARCHAR", "NPI of the practitioner", extra_checks=[checks.npi()]),
    },
    description="EHR procedures and quality data codes with modifiers (Tuva clinical layer).",
)

FACILITY_EVENT_TYPES = ["inpatient_discharge", "ed_ct_scan", "mssa_stay"]

FACILITY_EVENT = contract(
    "facility_event", "one row per facility event of a patient", ("person_id", "event_type", "event_date"),
    {
        "person_id": column("VARCHAR", "patient identifier, as in medical_claim or encounter (never logged)",
                            required=True),
        "event_type": column("VARCHAR", "inpatient_discharge (measure 046), ed_ct_scan (415, 416) or mssa_stay (407)",
                             required=True, normalize="lower",
                             extra_checks=[checks.one_of("facility_event_type", FACILITY_EVENT_TYPES,
                                                         "not inpatient_discharge, ed_ct_scan or mssa_stay")]),
        "event_date": column("DATE", "discharge date (inpatient, MSSA stay) or date of the ED visit", required=True),
    },
    description="Hospital discharges and emergency-department events the facility measures (046, 407, 415, 416) "
                "start from; a claim of the measure in the event's window belongs to that event.",
)

_FLAG = "BOOLEAN"

CLINICIAN_ROSTER = contract(
    "clinician_roster", "one row per clinician (NPI) in a TIN", ("tin", "npi"),
    {
        "tin": column("VARCHAR", "billing TIN", required=True, normalize="tin", extra_checks=[checks.tin()]),
        "npi": column("VARCHAR", "clinician NPI", required=True, extra_checks=[checks.npi()]),
        "clinician_type": column("VARCHAR", "physician, nurse practitioner, ... (MIPS eligible clinician type)",
                                 normalize="lower"),
        "specialty": column("VARCHAR", "specialty"),
        "medicare_enrollment_date": column("DATE", "first Medicare enrollment (newly enrolled clinicians are exempt)"),
        "small_practice": column(_FLAG, "15 or fewer clinicians in the TIN"),
        "rural": column(_FLAG, "practice in a rural ZIP code"),
        "hpsa": column(_FLAG, "practice in a health professional shortage area"),
        "non_patient_facing": column(_FLAG, "non-patient-facing clinician"),
        "hospital_based": column(_FLAG, "hospital-based clinician"),
        "apm_participant": column(_FLAG, "participates in an Alternative Payment Model"),
        "cehrt_id": column("VARCHAR", "CMS EHR Certification ID of the EHR the clinician uses (CHPL; 15 characters, "
                           "e.g. 0015CABC1234567); needed to export Promoting Interoperability and eCQM sets",
                           normalize="upper", extra_checks=[checks.pattern(
                               "cehrt_id_format", r"(\d{4}|[0-9A-Z]{2}15)C[0-9A-Z]{10}",
                               "not a CEHRT ID (15 characters: 4 digits or 2 characters + 15, then C, then 10)")]),
        "end_to_end_reporting": column(_FLAG, "the clinician's quality data reach the submission electronically, "
                                       "from the EHR without manual entry (QPP isEndToEndReported; empty = false)"),
    },
    description="The practice's clinicians and the flags scoring needs, and the CEHRT ID and end-to-end flag a "
                "QPP submission needs.",
)

_ENTITY_KEY = {
    "tin": column("VARCHAR", "TIN", required=True, normalize="tin", extra_checks=[checks.tin()]),
    "npi": column("VARCHAR", "NPI; empty for the group (TIN) level", extra_checks=[checks.npi()]),
}

# A subgroup's own quality and improvement activities data (MVP reporting, PY2023 on): rows with a subgroup_id
# (and no npi) are scored only for that subgroup's MVP registration, never as the TIN's group data.
_SUBGROUP_DATA = column("VARCHAR", "MVP subgroup id (as registered, with npi empty): the row is the subgroup's own "
                        "data, scored only in its MVP (mips score --mvp-registrations); empty = traditional data")

PI_INPUT = contract(
    "pi_input", "one row per (tin, npi, PI measure); empty npi = group", ("tin", "npi", "measure_id"),
    {
        **_ENTITY_KEY,
        "measure_id": column("VARCHAR", "PI measure id, e.g. PI_EP_1; ACI_ (PY2017) and PI_ (PY2018 on) ids are read with "
                             "the performance year's prefix", required=True, normalize="upper"),
        "numerator": column("BIGINT", "numerator", extra_checks=[checks.integer(0)]),
        "denominator": column("BIGINT", "denominator", extra_checks=[checks.integer(0)]),
        "value": column("BOOLEAN", "answer of a yes/no (attestation) measure"),
        "exclusion_claimed": column("BOOLEAN", "the measure's exclusion is claimed"),
        "period_start": column("DATE", "first day of the PI performance period"),
        "period_end": column("DATE", "last day of the PI performance period"),
    },
    [checks.dates_in_order("period_start", "period_end")],
    "Promoting Interoperability numerators, denominators, attestations and exclusions.",
)

IA_INPUT = contract(
    "ia_input", "one row per (tin, npi, subgroup, improvement activity); empty npi = group",
    ("tin", "npi", "activity_id", "subgroup_id"),
    {
        **_ENTITY_KEY,
        "activity_id": column("VARCHAR", "IA activity id, e.g. IA_EPA_1", required=True, normalize="upper"),
        "start_date": column("DATE", "first day the activity was performed"),
        "end_date": column("DATE", "last day the activity was performed"),
        "subgroup_id": _SUBGROUP_DATA,
    },
    [checks.dates_in_order("start_date", "end_date")],
    "Improvement activities attested.",
)

COST_INPUT = contract(
    "cost_input", "one row per (tin, npi, cost measure); empty npi = group", ("tin", "npi", "measure_id"),
    {
        **_ENTITY_KEY,
        "measure_id": column("VARCHAR", "cost measure id, e.g. TPCC_1", required=True, normalize="upper"),
        "measure_value": column("DOUBLE", "risk-adjusted cost (USD) as CMS reports it", required=True),
        "case_count": column("BIGINT", "attributed cases", extra_checks=[checks.integer(0)]),
        "change_vs_prior_year": column("VARCHAR", "statistically significant change of the measure from the prior "
                                       "performance year as CMS reports it: improved, declined or none (empty = not "
                                       "compared); gives the cost improvement score from PY2022",
                                       normalize="lower", extra_checks=[checks.one_of(
                                           "change_vs_prior_year", ["improved", "declined", "none"],
                                           "not improved, declined or none")]),
    },
    description="Cost measure values with case counts (from CMS feedback reports).",
)

ENTITY_INPUT = contract(
    "entity_input", "one row per scored entity (tin, npi); empty npi = group", ("tin", "npi"),
    {
        **_ENTITY_KEY,
        "small_practice": column(_FLAG, "15 or fewer clinicians"),
        "rural": column(_FLAG, "rural"),
        "hpsa": column(_FLAG, "health professional shortage area"),
        "non_patient_facing": column(_FLAG, "non-patient-facing"),
        "hospital_based": column(_FLAG, "hospital-based"),
        "pcmh": column(_FLAG, "recognized patient-centered medical home (IA full credit)"),
        "pi_hardship": column(_FLAG, "approved PI hardship exception (PI reweighted)"),
        "asc_based": column(_FLAG, "ASC-based clinician (PI reweighted, PY2018 on)"),
        "euc_quality": column(_FLAG, "approved extreme and uncontrollable circumstances application for quality "
                                     "(PY2018 on; from PY2019 voided when quality data is submitted)"),
        "euc_cost": column(_FLAG, "approved extreme and uncontrollable circumstances application for cost (PY2018 on)"),
        "euc_ia": column(_FLAG, "approved extreme and uncontrollable circumstances application for improvement activities "
                                "(PY2018 on; from PY2019 voided when activities are attested)"),
        "in_disaster_area": column(_FLAG, "individual clinician in a CMS-designated disaster area (PY2017-2018 automatic "
                                          "extreme and uncontrollable circumstances policy; CMS's county list is not "
                                          "bundled)"),
        "clinician_type": column("VARCHAR", "clinician type of an individual, e.g. nurse practitioner, physical therapist: "
                                 "PI is reweighted for the year's listed types (rule pi.reweighted_clinician_types)",
                                 normalize="lower"),
        "complex_patient_bonus": column("DOUBLE", "complex patient bonus points, as CMS reports them (wins over the "
                                        "computed bonus)"),
        "average_hcc_risk_score": column("DOUBLE", "average HCC risk score of the Medicare beneficiaries seen "
                                         "(beneficiary-weighted for a group): the complex patient bonus is computed "
                                         "from it by the year's formula"),
        "dual_eligible_proportion": column("DOUBLE", "proportion 0..1 of the Medicare patients seen who are dual "
                                           "eligible (PY2022 on: the bonus's social-risk indicator)"),
        "prior_quality_achievement_percent": column("DOUBLE", "prior year's quality achievement percent"),
        "facility_based": column(_FLAG, "facility-based clinician or group (PY2019 on: 75 % or more of services in "
                                 "inpatient hospital / on-campus outpatient / emergency room, as CMS determines)"),
        "hvbp_total_performance_score": column("DOUBLE", "Hospital VBP Total Performance Score (0..100) of the hospital "
                                               "the facility-based clinician or group is attributed to: its quality "
                                               "and cost scores replace the own when better"),
        "part_b_allowed_charges": column("DOUBLE", "Part B allowed charges (USD) the adjustment applies to"),
        "segment_1_exceeds_low_volume_threshold": column(
            _FLAG, "a TIN's (group row) low-volume determination in MIPS determination segment 1, as CMS released it "
                   "(initial eligibility on the QPP Participation Status): whether its subgroups may report (PY2023 on, "
                   "rule mvp.subgroup_eligibility, 42 CFR §414.1318(a)(4)); in `mips run` it wins over the claims' "
                   "segment 1"),
        "medicare_beneficiaries": column("BIGINT", "Medicare Part B beneficiaries seen: weights a virtual group member's "
                                         "average HCC risk score and dual-eligible proportion in the virtual group's "
                                         "complex patient bonus", extra_checks=[checks.integer(0)]),
    },
    description="Entities to score and their statuses (`mips score --entities`, `mips run --entities`).",
)

QUALITY_INPUT = contract(
    "quality_input", "one row per (tin, npi, measure, collection type, stratum); empty npi = group",
    ("tin", "npi", "measure_id", "collection_type", "stratum", "subgroup_id"),
    {
        **_ENTITY_KEY,
        "measure_id": column("VARCHAR", "CMS quality measure id as text, e.g. 001", required=True, normalize="upper"),
        "collection_type": column("VARCHAR", "benchmark submission method: claims, registry, electronicHealthRecord, ...",
                                  required=True),
        "eligible_population": column("BIGINT", "eligible instances", required=True, extra_checks=[checks.integer(0)]),
        "eligible_population_exclusion": column("BIGINT", "denominator exclusions", extra_checks=[checks.integer(0)]),
        "eligible_population_exception": column("BIGINT", "denominator exceptions", extra_checks=[checks.integer(0)]),
        "performance_met": column("BIGINT", "performance met", required=True, extra_checks=[checks.integer(0)]),
        "performance_not_met": column("BIGINT", "performance not met", required=True, extra_checks=[checks.integer(0)]),
        "stratum": column("VARCHAR", "stratum name for multi-strata measures"),
        "end_to_end_reported": column(_FLAG, "reported end to end electronically (CEHRT)"),
        "subgroup_id": _SUBGROUP_DATA,
    },
    description="Quality measure counts a practice already has (`--quality` of `mips score` and `mips run`).",
)

MVP_PARTICIPANT_TYPES = ["individual", "group", "subgroup", "apm_entity"]


def _participant_identified() -> pa.Check:
    """An individual names its tin and npi, a subgroup its tin and subgroup_id, a group its tin only, an APM Entity
    its apm_entity_id only (one identity per row)."""
    def fn(df):
        def given(c):
            return df[c].fillna("").astype(str).str.strip() != "" if c in df else pd.Series(False, index=df.index)
        kind = df["participant_type"].str.strip().str.lower()
        tin, npi, sub, apm = given("tin"), given("npi"), given("subgroup_id"), given("apm_entity_id")
        return ~(((kind == "individual") & (~tin | ~npi | sub | apm)) | ((kind == "subgroup") & (~tin | npi | ~sub | apm))
                 | ((kind == "group") & (~tin | npi | sub | apm)) | ((kind == "apm_entity") & (tin | npi | sub | ~apm)))
    sql = ("""CASE lower(trim("participant_type")) """
           """WHEN 'individual' THEN "tin" IS NOT NULL AND "npi" IS NOT NULL AND "subgroup_id" IS NULL AND "apm_entity_id" IS NULL """
           """WHEN 'subgroup' THEN "tin" IS NOT NULL AND "subgroup_id" IS NOT NULL AND "npi" IS NULL AND "apm_entity_id" IS NULL """
           """WHEN 'group' THEN "tin" IS NOT NULL AND "npi" IS NULL AND "subgroup_id" IS NULL AND "apm_entity_id" IS NULL """
           """WHEN 'apm_entity' THEN "apm_entity_id" IS NOT NULL AND "tin" IS NULL AND "npi" IS NULL AND "subgroup_id" IS NULL """
           """ELSE TRUE END""")
    reason = ("an individual needs tin and npi (no subgroup_id), a subgroup tin and subgroup_id (no npi), a group tin "
              "only, an APM entity apm_entity_id only")
    return pa.Check(fn, name="participant_identified", error=reason,
                    statistics={checks.SQL_KEY: sql, checks.REASON_KEY: reason,
                                "columns": ["participant_type", "tin", "npi", "subgroup_id", "apm_entity_id"]})


MVP_REGISTRATION_INPUT = contract(
    "mvp_registration_input",
    "one row per (performance_year, tin, npi, subgroup_id, apm_entity_id, mvp_id) registered to report an MVP",
    ("performance_year", "tin", "npi", "subgroup_id", "apm_entity_id", "mvp_id"),
    {
        "performance_year": column("INTEGER", "performance year of the registration", required=True,
                                   extra_checks=[checks.integer(2017)]),
        "participant_type": column("VARCHAR", "individual, group, subgroup or apm_entity", required=True,
                                   normalize="lower", extra_checks=[checks.one_of(
                                       "participant_type", MVP_PARTICIPANT_TYPES,
                                       "not a participant type (individual, group, subgroup, apm_entity)")]),
        "tin": column("VARCHAR", "TIN (empty for an APM entity)", normalize="tin", extra_checks=[checks.tin()]),
        "npi": _ENTITY_KEY["npi"],
        "subgroup_id": column("VARCHAR", "subgroup id as registered with CMS (participant_type subgroup)"),
        "apm_entity_id": column("VARCHAR", "APM entity id as in the APM participation input (participant_type "
                                "apm_entity, PY2023 on): the entity is scored on its MVP at the APM entity level, its "
                                "data pooled from its participants' TINs or its own submission (--entity-submissions)",
                                normalize="upper"),
        "mvp_id": column("VARCHAR", "CMS MVP id, e.g. G0053 or M0001", required=True, normalize="upper",
                         extra_checks=[checks.pattern("mvp_id_format", r"[GM]\d{4}",
                                                      "not an MVP id (G or M and 4 digits, e.g. M0001)")]),
        "population_health_measure_id": column("VARCHAR", "the population health measure selected (479 or 484): at "
                                               "registration in PY2023, at submission from PY2024 (rule "
                                               "mvp.population_health_selection)", extra_checks=[checks.pattern(
                                                   "measure_id_format", r"\d{3}", "not a quality measure id (3 digits)")]),
        "specialty_composition": column("VARCHAR", "a group's attested specialty composition: single_specialty, "
                                        "multispecialty_small_practice or multispecialty (PY2026 on, rule "
                                        "mvp.group_registration_specialty)", normalize="lower",
                                        extra_checks=[checks.one_of(
                                            "specialty_composition",
                                            ["single_specialty", "multispecialty_small_practice", "multispecialty"],
                                            "not single_specialty, multispecialty_small_practice or multispecialty")]),
    },
    [_participant_identified()],
    "MIPS Value Pathway registrations (`mips score --mvp-registrations`): who reports which MVP.",
)

SUBGROUP_MEMBERSHIP_INPUT = contract(
    "subgroup_membership_input", "one row per (tin, subgroup_id, npi): a clinician of the TIN in a subgroup",
    ("tin", "subgroup_id", "npi"),
    {
        "tin": column("VARCHAR", "TIN of the affiliated group", required=True, normalize="tin", extra_checks=[checks.tin()]),
        "subgroup_id": column("VARCHAR", "subgroup id as registered with CMS", required=True),
        "npi": column("VARCHAR", "NPI of a clinician of the subgroup", required=True, extra_checks=[checks.npi()]),
    },
    description="Subgroup membership (`mips score --subgroups`): the clinicians (TIN/NPI) of each MVP subgroup.",
)

# Reporting-path inputs of `mips score` (virtual groups, ...).
VIRTUAL_GROUP_INPUT = contract(
    "virtual_group_input", "one row per (performance_year, tin): a TIN joins at most one virtual group a year",
    ("performance_year", "tin"),
    {
        "virtual_group_id": column("VARCHAR", "the virtual group's identifier (CMS assigns one at election, e.g. VG-000123); "
                                   "its scores are published under this id with level 'virtual_group'", required=True,
                                   normalize="upper"),
        "tin": column("VARCHAR", "member TIN (a solo practitioner's or a group's): every clinician billing under it is "
                      "in the virtual group", required=True, normalize="tin", extra_checks=[checks.tin()]),
        "performance_year": column("INTEGER", "performance year of the election (rows of other years are not used)",
                                   required=True, extra_checks=[checks.integer(2017)]),
        "tin_clinicians": column("INTEGER", "clinicians (NPIs) billing under the TIN, MIPS eligible or not: at most 10 "
                                 "may join (rule virtual_group.max_tin_clinicians); weights the TIN in the virtual "
                                 "group's special statuses and improvement activities", required=True,
                                 extra_checks=[checks.integer(1)]),
    },
    description="Virtual group membership (`mips score --virtual-groups`, PY2018 on): the TINs that elected to be "
                "scored together as one virtual group. The virtual group's data are its member TINs' rows of the "
                "category inputs (TIN-level rows; a TIN with none contributes its TIN/NPI rows).",
)

APM_PARTICIPATION_INPUT = contract(
    "apm_participation_input", "one row per (performance_year, tin, npi): a clinician's APM participation that year",
    ("performance_year", "tin", "npi"),
    {
        "apm_entity_id": column("VARCHAR", "the APM entity (e.g. the ACO id A1234); its scores are published under this id "
                                "with level 'apm_entity'", required=True, normalize="upper"),
        "tin": column("VARCHAR", "participant TIN", required=True, normalize="tin", extra_checks=[checks.tin()]),
        "npi": column("VARCHAR", "participant NPI", required=True, extra_checks=[checks.npi()]),
        "performance_year": column("INTEGER", "performance year (rows of other years are not used)", required=True,
                                   extra_checks=[checks.integer(2017)]),
        "qp_status": column("VARCHAR", "qp (Qualifying APM Participant: excluded from MIPS), partial_qp, or not_qp "
                            "(empty = not_qp)", normalize="lower",
                            extra_checks=[checks.one_of("qp_status", ["qp", "partial_qp", "not_qp"],
                                                        "not qp, partial_qp or not_qp")]),
        "partial_qp_elects_mips": column(_FLAG, "a Partial QP that elected to be scored under MIPS (else excluded)"),
        "mips_apm": column(_FLAG, "the APM is a MIPS APM (empty = true): its participants are scored as the APM entity"),
        "shared_savings_or_next_generation_aco": column(_FLAG, "the entity is a Shared Savings Program or Next Generation "
                                                        "ACO (PY2017: its own APM scoring standard weights)"),
        "reporting": column("VARCHAR", "apm_entity (empty: scored as the APM entity: the APM scoring standard to PY2020, "
                            "the APM Performance Pathway from PY2021) or traditional (the clinician's own TIN/NPI and TIN "
                            "rows are scored in traditional MIPS, with the APM participants' least IA credit)",
                            normalize="lower", extra_checks=[checks.one_of("reporting", ["apm_entity", "traditional"],
                                                                           "not apm_entity or traditional")]),
        "app_individual": column(_FLAG, "this TIN/NPI reports the APM Performance Pathway as an individual (PY2021 on): "
                                 "scored on the APP too, level 'individual_app'"),
        "app_group": column(_FLAG, "its TIN reports the APM Performance Pathway as a group (PY2021 on): scored on the APP "
                            "too, level 'group_app'"),
        "app_measure_set": column("VARCHAR", "the APP quality measure set reported: app (empty) or app_plus (PY2025 on)",
                                  normalize="lower", extra_checks=[checks.one_of("app_measure_set", ["app", "app_plus"],
                                                                                 "not app or app_plus")]),
    },
    description="APM participation and QP status (`mips score --apm`): which TIN/NPIs are in which APM entity, "
                "their QP status, and how they are scored. An APM entity's data are its participant TINs' rows of the "
                "category inputs (TIN-level rows; a TIN with none contributes its TIN/NPI rows).",
)

FACILITY_SCORE_CONVERSION_INPUT = contract(
    "facility_score_conversion_input", "one row per (performance_year, tps_at_least)", ("performance_year", "tps_at_least"),
    {
        "performance_year": column("INTEGER", "MIPS performance year", required=True, extra_checks=[checks.integer(2019)]),
        "tps_at_least": column("DOUBLE", "lowest Hospital VBP Total Performance Score of the band (0..100)", required=True),
        "quality_score_percent": column("DOUBLE", "MIPS quality score (percent) at the band's percentile", required=True),
        "cost_score_percent": column("DOUBLE", "MIPS cost score (percent) at the band's percentile", required=True),
    },
    description="CMS's facility-based scoring conversion (`mips score --facility-conversion`): a hospital's Hospital VBP "
                "Total Performance Score percentile mapped to the MIPS quality and cost scores at the same percentile. "
                "An entity's score takes the band with the highest tps_at_least at or below its hospital's TPS.",
)

CAHPS_INPUT = contract(
    "cahps_input", "one row per (tin, ssm_id): a group's CAHPS for MIPS summary survey measure", ("tin", "ssm_id"),
    {
        "tin": column("VARCHAR", "the group (TIN) that administered the survey", required=True, normalize="tin",
                      extra_checks=[checks.tin()]),
        "ssm_id": column("VARCHAR", "summary survey measure id as in CMS's benchmarks: CAHPS_1 .. CAHPS_12", required=True,
                         normalize="upper", extra_checks=[checks.pattern("ssm_id_format", r"CAHPS_[0-9]{1,2}",
                                                                         "not a summary survey measure id (CAHPS_1 .. CAHPS_12)")]),
        "score": column("DOUBLE", "the summary survey measure score (0..100) from the survey vendor's results", required=True),
        "reliable": column(_FLAG, "meets CMS's minimum reliability (empty = true); an unreliable one is not scored"),
    },
    description="CAHPS for MIPS survey results (`mips score --cahps`): scored as quality measure 321, the average of "
                "its summary survey measures' points on their own benchmarks.",
)

POOLED_ENTITY_SUBMISSION_INPUT = contract(
    "pooled_entity_submission_input",
    "one row per (performance_year, entity_id, category, measure_id, collection_type, stratum)",
    ("performance_year", "entity_id", "category", "measure_id", "collection_type", "stratum"),
    {
        "performance_year": column("INTEGER", "performance year (rows of other years are not used)", required=True,
                                   extra_checks=[checks.integer(2017)]),
        "entity_id": column("VARCHAR", "the virtual group (--virtual-groups) or APM entity (--apm) that submitted",
                            required=True, normalize="upper"),
        "category": column("VARCHAR", "quality, pi, ia or cahps", required=True, normalize="lower",
                           extra_checks=[checks.one_of("category", ["quality", "pi", "ia", "cahps"],
                                                       "not quality, pi, ia or cahps")]),
        "measure_id": column("VARCHAR", "quality measure id (001), PI measure id (ACI_ or PI_, read with the "
                             "performance year's prefix as in pi_input), improvement activity id or CAHPS summary "
                             "survey measure id (CAHPS_1 .. CAHPS_12)", required=True, normalize="upper"),
        "collection_type": column("VARCHAR", "quality: benchmark submission method (registry, electronicHealthRecord, ...)"),
        "stratum": column("VARCHAR", "quality: stratum name for multi-strata measures"),
        "eligible_population": column("BIGINT", "quality: eligible instances", extra_checks=[checks.integer(0)]),
        "eligible_population_exclusion": column("BIGINT", "quality: denominator exclusions", extra_checks=[checks.integer(0)]),
        "eligible_population_exception": column("BIGINT", "quality: denominator exceptions", extra_checks=[checks.integer(0)]),
        "performance_met": column("BIGINT", "quality: performance met", extra_checks=[checks.integer(0)]),
        "performance_not_met": column("BIGINT", "quality: performance not met", extra_checks=[checks.integer(0)]),
        "end_to_end_reported": column(_FLAG, "quality: reported end to end electronically (CEHRT)"),
        "numerator": column("BIGINT", "pi: numerator", extra_checks=[checks.integer(0)]),
        "denominator": column("BIGINT", "pi: denominator", extra_checks=[checks.integer(0)]),
        "value": column(_FLAG, "pi: yes/no measure answer"),
        "exclusion_claimed": column(_FLAG, "pi: exclusion claimed"),
        "score": column("DOUBLE", "cahps: summary survey measure score 0..100"),
        "reliable": column(_FLAG, "cahps: the summary survey measure met CMS's reliability threshold (empty = true)"),
    },
    description="A virtual group's or APM entity's own submission (`mips score --entity-submissions`): for each category "
                "it submits, these rows replace the rows pooled from its members' TINs; cahps rows are its CAHPS for MIPS "
                "survey (measure 321).",
)

CONTRACTS: dict[str, InputContract] = {c.name: c for c in (
    MEDICAL_CLAIM, ELIGIBILITY, PATIENT, ENCOUNTER, CONDITION, PROCEDURE, FACILITY_EVENT, CLINICIAN_ROSTER,
    PI_INPUT, IA_INPUT, COST_INPUT, ENTITY_INPUT, QUALITY_INPUT, MVP_REGISTRATION_INPUT, SUBGROUP_MEMBERSHIP_INPUT,
    VIRTUAL_GROUP_INPUT,
    APM_PARTICIPATION_INPUT, FACILITY_SCORE_CONVERSION_INPUT, CAHPS_INPUT, POOLED_ENTITY_SUBMISSION_INPUT,
)}
