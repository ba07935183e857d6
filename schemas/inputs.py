"""Input contracts: one pandera schema per input table, the single source of truth.

A schema validates the table *as text* (what the user's CSV holds, after normalization);
each column's ``metadata`` says its DuckDB type once accepted, how its text is normalized,
and what it means. ``transforms.ingest`` runs these same checks as DuckDB SQL on big files.

Claims use the Tuva Project input-layer names (medical_claim, eligibility) and the EHR
extract Tuva's clinical-layer names (patient, encounter, condition, procedure), so data
already mapped for Tuva can be fed as is.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    ``normalize``: text (trim), upper (codes), lower (words), icd10 (upper, dot removed).
    """
    if sql_type == "BOOLEAN" and normalize == "text":
        normalize = "lower"
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

    @property
    def required_columns(self) -> list[str]:
        return [n for n, c in self.schema.columns.items() if c.metadata["required"]]


def contract(name: str, grain: str, key: tuple[str, ...], columns: dict[str, pa.Column],
             row_checks: list[pa.Check] | None = None, description: str = "") -> InputContract:
    for column_name, col in columns.items():
        if column_name.endswith("_id") and col.metadata["type"] == "VARCHAR" and not col.checks:
            col.checks.append(checks.not_placeholder())  # identifiers: the literal NULL is no patient
    schema = pa.DataFrameSchema(
        columns, checks=row_checks or [], name=name, unique=list(key), report_duplicates="exclude_first",
        description=f"{description} Grain: {grain}.".strip(), metadata={"grain": grain, "key": list(key)},
    )
    return InputContract(name=name, grain=grain, key=key, schema=schema)


def _modifiers(prefix: str, count: int = 5) -> dict[str, pa.Column]:
    return {f"{prefix}{i}": column("VARCHAR", f"modifier {i}", normalize="upper", extra_checks=[checks.modifier()])
            for i in range(1, count + 1)}


MAX_DIAGNOSES = 25  # Tuva's medical_claim carries diagnosis_code_1..25

_GENDERS = ["male", "female", "unknown"]

MEDICAL_CLAIM = contract(
    "medical_claim",
    "one row per claim line",
    ("claim_id", "claim_line_number"),
    {
        "claim_id": column("VARCHAR", "claim identifier; lines of one claim share it", required=True),
        "claim_line_number": column("INTEGER", "line number within the claim", required=True,
                                    extra_checks=[checks.integer(1)]),
        "claim_type": column("VARCHAR", "professional, institutional, ...", normalize="lower"),
        "person_id": column("VARCHAR", "patient identifier (never logged)", required=True),
        "claim_line_start_date": column("DATE", "line from-date (date of service)", required=True),
        "claim_line_end_date": column("DATE", "line through-date"),
        "place_of_service_code": column("VARCHAR", "CMS two-digit place of service", normalize="upper",
                                        extra_checks=[checks.place_of_service()]),
        "hcpcs_code": column("VARCHAR", "CPT/HCPCS code of the line, including CPT II and G quality data codes",
                             required=True, normalize="upper", extra_checks=[checks.hcpcs()]),
        **_modifiers("hcpcs_modifier_"),
        "rendering_npi": column("VARCHAR", "rendering clinician NPI", required=True, extra_checks=[checks.npi()]),
        "billing_tin": column("VARCHAR", "billing taxpayer identification number", required=True,
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
        "payer": column("VARCHAR", "payer name (medicare for Part B claims)", normalize="lower"),
    },
    [checks.dates_in_order("claim_line_start_date", "claim_line_end_date")],
    "Medicare Part B professional claim lines (Tuva input layer).",
)

ELIGIBILITY = contract(
    "eligibility",
    "one row per person enrollment span",
    ("person_id", "enrollment_start_date", "payer"),
    {
        "person_id": column("VARCHAR", "patient identifier (never logged)", required=True),
        "birth_date": column("DATE", "date of birth", required=True),
        "gender": column("VARCHAR", "male, female or unknown", required=True, normalize="lower",
                         extra_checks=[checks.one_of("gender", _GENDERS, "not male, female or unknown")]),
        "enrollment_start_date": column("DATE", "first day of the span", required=True),
        "enrollment_end_date": column("DATE", "last day of the span"),
        "dual_status_code": column("VARCHAR", "Medicare-Medicaid dual status code"),
        "death_date": column("DATE", "date of death"),
        "payer": column("VARCHAR", "payer name", normalize="lower"),
    },
    [checks.dates_in_order("enrollment_start_date", "enrollment_end_date"),
     checks.dates_in_order("birth_date", "death_date"),
     checks.dates_in_order("birth_date", "enrollment_start_date", "enrollment_start_date_before_birth_date")],
    "Enrollment spans (Tuva input layer); birth date and gender give age and sex at the date of service.",
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
        "billing_tin": column("VARCHAR", "billing TIN", required=True, extra_checks=[checks.tin()]),
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

_FLAG = "BOOLEAN"

CLINICIAN_ROSTER = contract(
    "clinician_roster", "one row per clinician (NPI) in a TIN", ("tin", "npi"),
    {
        "tin": column("VARCHAR", "billing TIN", required=True, extra_checks=[checks.tin()]),
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
    },
    description="The practice's clinicians and the flags scoring needs.",
)

_ENTITY_KEY = {
    "tin": column("VARCHAR", "TIN", required=True, extra_checks=[checks.tin()]),
    "npi": column("VARCHAR", "NPI; empty for the group (TIN) level", extra_checks=[checks.npi()]),
}

PI_INPUT = contract(
    "pi_input", "one row per (tin, npi, PI measure); empty npi = group", ("tin", "npi", "measure_id"),
    {
        **_ENTITY_KEY,
        "measure_id": column("VARCHAR", "PI measure id, e.g. PI_EP_1", required=True, normalize="upper"),
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
    "ia_input", "one row per (tin, npi, improvement activity); empty npi = group", ("tin", "npi", "activity_id"),
    {
        **_ENTITY_KEY,
        "activity_id": column("VARCHAR", "IA activity id, e.g. IA_EPA_1", required=True, normalize="upper"),
        "start_date": column("DATE", "first day the activity was performed"),
        "end_date": column("DATE", "last day the activity was performed"),
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
        "complex_patient_bonus": column("DOUBLE", "complex patient bonus points, as CMS computes them"),
        "prior_quality_achievement_percent": column("DOUBLE", "prior year's quality achievement percent"),
        "part_b_allowed_charges": column("DOUBLE", "Part B allowed charges (USD) the adjustment applies to"),
    },
    description="Entities to score in score-only mode (`mips score --entities`).",
)

QUALITY_INPUT = contract(
    "quality_input", "one row per (tin, npi, measure, collection type, stratum); empty npi = group",
    ("tin", "npi", "measure_id", "collection_type", "stratum"),
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
    },
    description="Quality measure counts a practice already has (score-only mode).",
)

CONTRACTS: dict[str, InputContract] = {c.name: c for c in (
    MEDICAL_CLAIM, ELIGIBILITY, PATIENT, ENCOUNTER, CONDITION, PROCEDURE, CLINICIAN_ROSTER,
    PI_INPUT, IA_INPUT, COST_INPUT, ENTITY_INPUT, QUALITY_INPUT,
)}
