"""Outputs of the quality-measure engine (transforms/measures): measure_results and measure_instances."""
from __future__ import annotations

from schemas.tables import Column, TableSpec

_KEY_COLUMNS = (
    Column("performance_year", "INTEGER", "MIPS performance year", nullable=False),
    Column("period_start", "DATE", "first day of the reporting period counted (inside the performance year)", nullable=False),
    Column("period_end", "DATE", "last day of the reporting period counted", nullable=False),
    Column("source", "VARCHAR", "'claims' (Medicare Part B claims), 'encounters' (all-payer EHR extract) or 'ehr' (eCQMs from FHIR clinical data, transforms/ecqm)", nullable=False),
    Column("level", "VARCHAR", "'individual' (billing TIN + rendering NPI) or 'group' (TIN; instances re-formed over the TIN's claims)", nullable=False),
    Column("tin", "VARCHAR", "billing TIN", nullable=False),
    Column("npi", "VARCHAR", "rendering NPI; NULL for level 'group'"),
    Column("measure_id", "VARCHAR", "CMS quality measure id as text ('001')", nullable=False),
    Column("stratum", "VARCHAR", "CMS stratum name (measure 226); NULL unless the measure has strata"),
)

MEASURE_RESULTS = TableSpec(
    name="measure_results",
    grain="one row per (performance_year, source, level, tin, npi, measure_id, stratum) with at least one eligible instance",
    key=("performance_year", "source", "level", "tin", "npi", "measure_id", "stratum"),
    description="Per-measure counts of each clinician (individual) and TIN (group), following "
                "docs/spec/claims-measure-logic.md. Eligible population counts every eligible instance (met, not met, "
                "exclusion, exception and no quality data code). A measure that needs facility events and was run "
                "without the facility_event input has computed = FALSE, NULL counts and a not_computed_reason.",
    columns=_KEY_COLUMNS + (
        Column("collection_type", "VARCHAR", "benchmark submission method the counts are scored under, per source (transforms/measures/registry.py): 'claims' (claims), 'registry' (encounters), 'electronicHealthRecord' (ehr)", nullable=False),
        Column("is_inverse", "BOOLEAN", "lower performance rate is better (measures-data.json isInverse)"),
        Column("is_high_priority", "BOOLEAN", "measures-data.json isHighPriority"),
        Column("measure_type", "VARCHAR", "measures-data.json measureType"),
        Column("eligible_population", "BIGINT", "eligible instances (denominator before exclusions and exceptions)"),
        Column("eligible_population_exclusion", "BIGINT", "instances whose most advantageous result is a denominator exclusion"),
        Column("eligible_population_exception", "BIGINT", "instances whose most advantageous result is a denominator exception"),
        Column("performance_met", "BIGINT", "instances whose result is performance met"),
        Column("performance_not_met", "BIGINT", "instances whose result is performance not met"),
        Column("reporting_rate", "DOUBLE", "data completeness, percent: instances with any result / eligible population * 100"),
        Column("performance_rate", "DOUBLE", "percent: met / (met + not met) * 100; NULL when met + not met = 0"),
        Column("meets_data_completeness", "BOOLEAN", "reporting_rate >= the year's data completeness threshold (data/rules/<PY>.yaml quality.data_completeness_percent)"),
        Column("meets_case_minimum", "BOOLEAN", "eligible_population >= the year's case minimum (data/rules/<PY>.yaml quality.case_minimum)"),
        Column("computed", "BOOLEAN", "FALSE when the measure needs facility events and no facility_event input was given, or an eCQM has no definition for the year", nullable=False),
        Column("not_computed_reason", "VARCHAR", "why the counts are NULL (computed = FALSE); NULL otherwise"),
    ),
)

MEASURE_INSTANCES = TableSpec(
    name="measure_instances",
    grain="one row per (performance_year, source, level, tin, npi, measure_id, stratum, instance_key): one eligible instance",
    key=("performance_year", "source", "level", "tin", "npi", "measure_id", "stratum", "instance_key"),
    order=("performance_year", "source", "level", "tin", "npi", "measure_id", "stratum", "person_id", "instance_key"),
    description="Every eligible instance with its most advantageous result and the claim (or encounter) that decided "
                "it: the basis of care-gap lists. Carries patient ids: it stays in the output folder, never in logs. "
                "Rows are ordered by source, level, tin, npi, measure_id, stratum, person_id, then the instance's own "
                "part (date, season, episode, line or event), so a rerun writes the same file.",
    columns=_KEY_COLUMNS + (
        Column("instance_key", "VARCHAR", "what one instance is, by counting class: person; person|date; claim|line; person|episode ...", nullable=False),
        Column("counting_class", "VARCHAR", "counting class of the measure (data/claims_spec/measure_counting_class.csv)", nullable=False),
        Column("person_id", "VARCHAR", "patient (identifier: never logged)", nullable=False),
        Column("instance_date", "DATE", "earliest date of service of the instance's eligible claims", nullable=False),
        Column("result", "VARCHAR", "performance_met, performance_not_met, eligible_population_exclusion, eligible_population_exception; NULL = no quality data code (unreported)"),
        Column("decided_by_claim_id", "VARCHAR", "claim_id (claims) or encounter_id (encounters) whose result counts; the first eligible claim when unreported"),
        Column("decided_by_date", "DATE", "date of service of that claim or encounter"),
        Column("decided_by_npi", "VARCHAR", "rendering NPI of that claim (differs between clinicians of a group)"),
    ),
)
