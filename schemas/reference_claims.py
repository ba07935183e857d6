"""Medicare Part B claims measure specifications as relational code tables (data/reference/claims_*.parquet).

Compiled by ``mips.reference_compiler.claims_spec.compile_claims_spec`` from CMS's
``claims-single-source/qpp-single-source-<PY>.json`` (PY2018-2025) plus two small hand-authored project tables
under ``data/claims_spec/`` (the counting class per measure, from ``claims-measure-logic.md`` "Counting classes",
the measure-226 performance options of PY2018-2020, whose source shape is defective, and
``eligibility_code_additions.csv``: codes a source file dropped from an eligibility option, such as 226's
intervention-stratum G9902 in PY2021, 2022 and 2025).

Conventions shared by every table here:
- ICD-10-CM codes are stored WITHOUT the dot ('E11.9' -> 'E119'), like the validated inputs.
- List-valued fields (places of service, modifiers) are ``VARCHAR[]``; an absent list is an EMPTY list, never NULL.
- ``eligibility_option`` and ``performance_option`` are 1-based positions in the source's lists (stable ids).
- ``stratum`` is NULL unless the measure has strata (measure 226): then the CMS stratum name from
  ``measures/<PY>/measures-data.json`` strata, in source order (stratum i <-> i-th eligibility option / optionGroup).
- ``option_group`` is the source's optionGroup ('00', '01' ...; PY2021+); NULL before PY2021 (one implicit group).
- The modifier convention (a code carrying 1P/2P/3P/8P matches only an entry that lists that modifier) is NOT
  materialised as modifier_exclusions here: the engine applies it to every year. ``modifier_exclusions`` holds
  exactly what the source lists.
"""
from __future__ import annotations

from schemas.tables import Column, TableSpec

_PY = Column("performance_year", "INTEGER", "MIPS performance year", nullable=False)
_MEASURE_ID = Column("measure_id", "VARCHAR", "CMS quality measure id as text ('001')", nullable=False)
_STRATUM = Column("stratum", "VARCHAR", "CMS stratum name for multi-strata measures (226); NULL otherwise")
_GROUP = Column("option_group", "VARCHAR", "source optionGroup ('00', '01', ...; PY2021+); NULL before PY2021")
_ELIG_OPT = Column("eligibility_option", "INTEGER", "1-based position in the source's eligibilityOptions", nullable=False)
_PERF_OPT = Column("performance_option", "INTEGER", "1-based position in the source's performanceOptions (or in the override table)", nullable=False)

COUNTING_CLASSES = (
    "patient", "patient_intermediate_outcome", "procedure", "visit", "episode", "episode_30_day",
    "flu_season", "second_encounter", "multiple_strata", "facility",
)
PERFORMANCE_RESULTS = (
    "performance_met", "performance_not_met", "eligible_population_exclusion", "eligible_population_exception",
)
ELIGIBILITY_CODE_ROLES = ("diagnosis", "diagnosis_exclusion", "additional_diagnosis", "procedure", "additional_procedure")

CLAIMS_MEASURES = TableSpec(
    name="claims_measures",
    grain="one row per (performance_year, measure_id) in qpp-single-source-<PY>.json",
    key=("performance_year", "measure_id"),
    description="Claims measures of each year with the attributes counting needs: counting class (project table "
                "data/claims_spec/measure_counting_class.csv from docs/spec/claims-measure-logic.md) and the measures-data.json flags.",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID,
        Column("counting_class", "VARCHAR", "what one eligible instance is: " + ", ".join(COUNTING_CLASSES), nullable=False),
        Column("needs_facility_events", "BOOLEAN", "counting_class = 'facility': computed only when the optional facility_event input is given", nullable=False),
        Column("facility_event_type", "VARCHAR", "facility_event.event_type that opens an instance (inpatient_discharge, ed_ct_scan, mssa_stay); NULL otherwise"),
        Column("facility_window_days", "INTEGER", "an eligible claim belongs to a facility event when event_date <= date of service <= event_date + this; NULL otherwise"),
        Column("is_inverse", "BOOLEAN", "measures-data.json isInverse (lower rate is better; flips the most advantageous result)", nullable=False),
        Column("is_high_priority", "BOOLEAN", "measures-data.json isHighPriority"),
        Column("measure_type", "VARCHAR", "measures-data.json measureType"),
        Column("title", "VARCHAR", "measures-data.json title"),
        Column("strata_count", "INTEGER", "number of strata the engine reports (0 = one unstratified rate)", nullable=False),
        Column("eligibility_option_count", "INTEGER", "number of eligibility options", nullable=False),
        Column("performance_option_count", "INTEGER", "number of performance options", nullable=False),
    ),
)

CLAIMS_ELIGIBILITY_OPTIONS = TableSpec(
    name="claims_eligibility_options",
    grain="one row per (performance_year, measure_id, eligibility_option): one alternative (OR) denominator definition",
    key=("performance_year", "measure_id", "eligibility_option"),
    description="Eligibility options. Within an option every condition holds: age at date of service in "
                "[min_age, max_age] (an integer max_age of 75 means under 76), sex, diagnoses, procedure codes, "
                "all additional procedure codes. Codes are in claims_eligibility_codes.",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _ELIG_OPT, _STRATUM, _GROUP,
        Column("min_age", "DOUBLE", "minAge in years (0.5 = six months); NULL = no lower bound"),
        Column("max_age", "DOUBLE", "maxAge in years; an integer value includes the whole year (75 = under 76); NULL = no upper bound"),
        Column("sex_code", "VARCHAR", "'M' or 'F' where the option names one; NULL = any"),
        Column("diagnosis_code_count", "INTEGER", "codes with role 'diagnosis' (0 = no diagnosis requirement)", nullable=False),
        Column("diagnosis_exclusion_code_count", "INTEGER", "codes with role 'diagnosis_exclusion'", nullable=False),
        Column("additional_diagnosis_code_count", "INTEGER", "codes with role 'additional_diagnosis' (0 = none required)", nullable=False),
        Column("procedure_code_count", "INTEGER", "codes with role 'procedure'", nullable=False),
        Column("additional_procedure_code_count", "INTEGER", "codes with role 'additional_procedure'; ALL must be on the claim", nullable=False),
    ),
)

CLAIMS_ELIGIBILITY_CODES = TableSpec(
    name="claims_eligibility_codes",
    grain="one row per (performance_year, measure_id, eligibility_option, code_role, code)",
    key=("performance_year", "measure_id", "eligibility_option", "code_role", "code"),
    description="Codes of each eligibility option. Diagnosis roles: 'diagnosis' (at least one on the claim), "
                "'diagnosis_exclusion' (none on the claim), 'additional_diagnosis' (at least one more, different "
                "diagnosis). Procedure roles: 'procedure' (at least one line passing its place-of-service and "
                "modifier lists), 'additional_procedure' (every one on a line of the claim).",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _ELIG_OPT,
        Column("code_role", "VARCHAR", "diagnosis, diagnosis_exclusion, additional_diagnosis, procedure, additional_procedure", nullable=False),
        Column("code", "VARCHAR", "ICD-10-CM without dot (diagnosis roles) or CPT/HCPCS (procedure roles)", nullable=False),
        Column("places_of_service", "VARCHAR[]", "line place of service must be one of these (empty = any)", nullable=False),
        Column("places_of_service_exclusions", "VARCHAR[]", "line place of service must not be one of these", nullable=False),
        Column("modifiers", "VARCHAR[]", "line must carry one of these (empty = no requirement)", nullable=False),
        Column("modifier_exclusions", "VARCHAR[]", "line must carry none of these (as listed in the source)", nullable=False),
    ),
)

CLAIMS_PERFORMANCE_OPTIONS = TableSpec(
    name="claims_performance_options",
    grain="one row per (performance_year, measure_id, performance_option)",
    key=("performance_year", "measure_id", "performance_option"),
    description="Performance options: an option matches a claim when EVERY code of it (claims_performance_codes) "
                "is on the claim. option_group ties it to the eligibility options of the same group.",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _PERF_OPT, _STRATUM, _GROUP,
        Column("performance_result", "VARCHAR", "performance_met, performance_not_met, eligible_population_exclusion, eligible_population_exception", nullable=False),
        Column("code_count", "INTEGER", "number of codes that must all be on the claim", nullable=False),
        Column("is_override", "BOOLEAN", "TRUE when taken from data/claims_spec/performance_option_overrides.csv instead of the source file", nullable=False),
    ),
)

CLAIMS_PERFORMANCE_CODES = TableSpec(
    name="claims_performance_codes",
    grain="one row per (performance_year, measure_id, performance_option, code_index)",
    key=("performance_year", "measure_id", "performance_option", "code_index"),
    description="Quality data codes of each performance option. code_kind 'procedure' matches a line code (CPT II, "
                "G-, M-codes, CPT, HCPCS) with the modifier lists; 'diagnosis' (ICD-10-CM listed as a quality code, "
                "PY2021+) matches the claim's diagnoses.",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _PERF_OPT,
        Column("code_index", "INTEGER", "1-based position in the option's qualityCodes", nullable=False),
        Column("code", "VARCHAR", "quality code (ICD-10-CM without dot when code_kind = 'diagnosis')", nullable=False),
        Column("code_kind", "VARCHAR", "'procedure' (line code) or 'diagnosis' (claim diagnosis)", nullable=False),
        Column("modifiers", "VARCHAR[]", "line must carry one of these (empty = plain code)", nullable=False),
        Column("modifier_exclusions", "VARCHAR[]", "line must carry none of these (as listed in the source)", nullable=False),
        Column("places_of_service", "VARCHAR[]", "source placesOfService of a quality code (PY2019 112/113/418 only); informational, not applied (the spec's matching rule has no place of service for quality codes)", nullable=False),
    ),
)

CLAIMS_SPEC_TABLES = (
    CLAIMS_MEASURES, CLAIMS_ELIGIBILITY_OPTIONS, CLAIMS_ELIGIBILITY_CODES,
    CLAIMS_PERFORMANCE_OPTIONS, CLAIMS_PERFORMANCE_CODES,
)
