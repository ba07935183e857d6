"""Compiled CMS reference catalog (data/reference/*.parquet): grain and typed columns of each table.

Compiled by ``scripts/compile_reference.py`` from CMS's qpp-measures-data (``measures/<PY>/measures-data.json``,
``benchmarks/<PY>.json`` and ``benchmarks/<PY>/*.json``). The claims-specification tables are declared in
``schemas/reference_claims.py``. Reference tables are not partitioned (``partition_by=()``): every table carries
``performance_year`` as its first key column and is small enough to read whole.

List-valued source fields (submission methods, measure sets, PI exclusions ...) are stored as comma-joined
VARCHAR in the source's order (e.g. ``'claims,electronicHealthRecord,registry'``); test membership with
``list_contains(string_split(col, ','), 'claims')``. The per-decile benchmark bounds, strata and benchmark
exclusion reasons, which scoring joins on, are relational tables of their own.
"""
from __future__ import annotations

from schemas.tables import Column, TableSpec

_PY = Column("performance_year", "INTEGER", "MIPS performance year", nullable=False)
_MEASURE_ID = Column("measure_id", "VARCHAR", "CMS measure id as text ('001', 'PI_EP_1', 'COST_KA_1')", nullable=False)
_FIRST_PY = Column("first_performance_year", "INTEGER", "first performance year of the measure (source firstPerformanceYear)")
_LAST_PY = Column("last_performance_year", "INTEGER", "last performance year; NULL while the measure is current (source lastPerformanceYear)")
_TITLE = Column("title", "VARCHAR", "CMS title")
_METRIC_TYPE = Column("metric_type", "VARCHAR", "CMS metricType (singlePerformanceRate, multiPerformanceRate, nonProportion, cahps, costScore, boolean, proportion ...)")
_SUBMISSION_METHODS = Column("submission_methods", "VARCHAR", "comma-joined CMS submissionMethods (claims, registry, electronicHealthRecord, cmsWebInterface, certifiedSurveyVendor, administrativeClaims)")
_ALLOWED_PROGRAMS = Column("allowed_programs", "VARCHAR", "comma-joined CMS allowedPrograms (PY2024+; NULL before)")
_SUBMISSION_METHOD = Column("submission_method", "VARCHAR", "CMS benchmark submissionMethod = the collection type the benchmark applies to", nullable=False)

MEASURES = TableSpec(
    name="measures",
    grain="one row per (performance_year, measure_id) in measures-data.json, every category",
    key=("performance_year", "measure_id"),
    description=("Index of every measure and activity of each year and its category; the category's own table "
                 "(quality_measures, pi_measures, ia_activities, cost_measures) has the details."),
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID,
        Column("category", "VARCHAR", "'quality', 'pi' (PY2017 'aci' is written 'pi'), 'ia' or 'cost'", nullable=False),
        _TITLE, _METRIC_TYPE, _FIRST_PY, _LAST_PY,
    ),
)

QUALITY_MEASURES = TableSpec(
    name="quality_measures",
    grain="one row per (performance_year, measure_id) of category 'quality' in measures-data.json (MIPS and QCDR measures)",
    key=("performance_year", "measure_id"),
    description="Quality measures of each performance year with the attributes scoring needs.",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _TITLE,
        Column("measure_type", "VARCHAR", "CMS measureType: process, outcome, intermediateOutcome, patientReportedOutcome, patientEngagementExperience, efficiency, structure ...; NULL for some QCDR measures"),
        Column("is_high_priority", "BOOLEAN", "CMS isHighPriority"),
        Column("is_inverse", "BOOLEAN", "CMS isInverse: a lower performance rate is better"),
        Column("is_outcome", "BOOLEAN", "measure_type is an outcome type (outcome, intermediateOutcome, patientReportedOutcome): counts as the required outcome measure and for the +2 bonus (PY2017-2021)"),
        Column("is_patient_experience", "BOOLEAN", "measure_type is patientEngagementExperience (+2 bonus like outcomes, PY2017-2021)"),
        _METRIC_TYPE,
        Column("overall_algorithm", "VARCHAR", "CMS overallAlgorithm of multi-strata measures (simpleAverage, weightedAverage, sumNumerators, overallStratumOnly, split); NULL otherwise"),
        Column("strata_count", "INTEGER", "number of strata in the source (rows in quality_measure_strata); 0 when none"),
        _SUBMISSION_METHODS,
        Column("measure_sets", "VARCHAR", "comma-joined CMS measureSets (specialty sets)"),
        Column("is_registry_measure", "BOOLEAN", "CMS isRegistryMeasure: authored by a QCDR"),
        Column("is_risk_adjusted", "BOOLEAN", "CMS isRiskAdjusted; NULL where the source does not say"),
        Column("is_icd_impacted", "BOOLEAN", "CMS isIcdImpacted (PY2019+); NULL before"),
        Column("is_clinical_guideline_changed", "BOOLEAN", "CMS isClinicalGuidelineChanged; NULL where absent"),
        Column("is_seven_point_cap_removed", "BOOLEAN", "CMS isSevenPointCapRemoved (PY2025+; NULL before): the topped-out 7-point cap does not apply for the submission methods in seven_point_cap_removed_methods"),
        Column("seven_point_cap_removed_methods", "VARCHAR", "comma-joined CMS sevenPointCapRemoved submission methods (PY2025+)"),
        Column("data_display_format", "VARCHAR", "CMS dataDisplayFormat (percentage, ...; PY2025+)"),
        Column("e_measure_id", "VARCHAR", "CMS eMeasureId (eCQM id, e.g. CMS122v13)"),
        Column("nqf_id", "VARCHAR", "CMS nqfId"),
        Column("primary_steward", "VARCHAR", "CMS primarySteward"),
        Column("national_quality_strategy_domain", "VARCHAR", "CMS nationalQualityStrategyDomain (older years)"),
        Column("companion_measure_ids", "VARCHAR", "comma-joined CMS companionMeasureId (e.g. '001SSP')"),
        _ALLOWED_PROGRAMS, _FIRST_PY, _LAST_PY,
    ),
)

QUALITY_MEASURE_STRATA = TableSpec(
    name="quality_measure_strata",
    grain="one row per (performance_year, measure_id, stratum_index): the source's strata list of a quality measure, in source order",
    key=("performance_year", "measure_id", "stratum_index"),
    description="Strata (performance-rate segments) of multi-strata quality measures.",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID,
        Column("stratum_index", "INTEGER", "1-based position in the source's strata list", nullable=False),
        Column("stratum_name", "VARCHAR", "CMS stratum name (a short tag); NULL where the source gives only a description"),
        Column("description", "VARCHAR", "CMS stratum description"),
    ),
)

PI_MEASURES = TableSpec(
    name="pi_measures",
    grain="one row per (performance_year, measure_id) of category 'pi' (PY2017: 'aci') in measures-data.json",
    key=("performance_year", "measure_id"),
    description="Promoting Interoperability (PY2017 Advancing Care Information) measures, attestations and exclusions.",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _TITLE,
        Column("source_category", "VARCHAR", "category in the source: 'aci' (PY2017) or 'pi'", nullable=False),
        _METRIC_TYPE,
        Column("objective", "VARCHAR", "CMS objective (electronicPrescribing, healthInformationExchange, providerToPatientExchange, publicHealthAndClinicalDataExchange, protectPatientHealthInformation ...)"),
        Column("reporting_category", "VARCHAR", "CMS reportingCategory (required, bonus, exclusion, base, performanceBonus, registryBonus ...)"),
        Column("is_required", "BOOLEAN", "CMS isRequired"),
        Column("is_bonus", "BOOLEAN", "CMS isBonus"),
        Column("is_exclusion", "BOOLEAN", "reporting_category = 'exclusion': this row is an exclusion a clinician may claim, not a measure"),
        Column("weight", "DOUBLE", "CMS weight (points) where the source has it (PY2017-2019); NULL from PY2020 (points live in data/rules)"),
        Column("exclusion_measure_ids", "VARCHAR", "comma-joined ids of the exclusions that can be claimed for this measure (CMS exclusion)"),
        Column("substitutes", "VARCHAR", "comma-joined ids of measures that can substitute for this one (CMS substitutes)"),
        Column("measure_sets", "VARCHAR", "comma-joined CMS measureSets (PY2017-2018: transition set)"),
        _ALLOWED_PROGRAMS, _FIRST_PY, _LAST_PY,
    ),
)

IA_ACTIVITIES = TableSpec(
    name="ia_activities",
    grain="one row per (performance_year, activity_id) of category 'ia' in measures-data.json",
    key=("performance_year", "activity_id"),
    description="Improvement activities with their weight and subcategory.",
    partition_by=(),
    columns=(
        _PY,
        Column("activity_id", "VARCHAR", "CMS activity id ('IA_AHE_1')", nullable=False),
        _TITLE,
        Column("subcategory", "VARCHAR", "CMS subcategoryId (achievingHealthEquity, beneficiaryEngagement, ...)"),
        Column("weight", "VARCHAR", "CMS weight 'medium' or 'high'; NULL for IA_PCMH and for every activity from PY2025 (weights removed)"),
        Column("is_pcmh", "BOOLEAN", "activity_id = 'IA_PCMH': the patient-centered medical home attestation that earns full IA credit"),
        Column("is_cehrt_eligible", "BOOLEAN", "CMS cehrtEligible (PY2017-2018 ACI bonus); NULL where absent"),
        _METRIC_TYPE,
        _ALLOWED_PROGRAMS, _FIRST_PY, _LAST_PY,
    ),
)

COST_MEASURES = TableSpec(
    name="cost_measures",
    grain="one row per (performance_year, measure_id) of category 'cost' in measures-data.json",
    key=("performance_year", "measure_id"),
    description="Cost measures (MSPB, TPCC and episode-based measures).",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _TITLE, _METRIC_TYPE,
        Column("is_inverse", "BOOLEAN", "CMS isInverse (true: lower cost is better)"),
        Column("overall_algorithm", "VARCHAR", "CMS overallAlgorithm (simpleAverage) where present"),
        _SUBMISSION_METHODS,
        Column("data_display_format", "VARCHAR", "CMS dataDisplayFormat (currency; PY2025+)"),
        _ALLOWED_PROGRAMS, _FIRST_PY, _LAST_PY,
    ),
)

BENCHMARK_SETS = TableSpec(
    name="benchmark_sets",
    grain="one row per (performance_year, measure_id, submission_method) in benchmarks/<PY>.json",
    key=("performance_year", "measure_id", "submission_method"),
    description="One quality or cost benchmark and its flags; its decile lower bounds are in `benchmarks`.",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _SUBMISSION_METHOD,
        Column("category", "VARCHAR", "'quality' or 'cost' (from measures-data.json; 'quality' for the few PY2017 benchmarks of retired measures absent there)", nullable=False),
        Column("benchmark_year", "INTEGER", "CMS benchmarkYear: the year of the data the benchmark was built from"),
        Column("metric_type", "VARCHAR", "CMS metricType (benchmark file PY2023+, else the measure's)"),
        Column("is_inverse", "BOOLEAN", "lower value is better", nullable=False),
        Column("is_inverse_source", "VARCHAR", "where is_inverse comes from: 'benchmark' (PY2023+ file), 'measure' (measures-data.json), 'inferred' (decile values descend; PY2017 retired measures)", nullable=False),
        Column("is_high_priority", "BOOLEAN", "CMS isHighPriority on the benchmark (PY2020+ where present)"),
        Column("is_topped_out", "BOOLEAN", "CMS isToppedOut; NULL where the source row has no flag (PY2017 benchmarks of 2015 data)"),
        Column("is_topped_out_by_program", "BOOLEAN", "CMS isToppedOutByProgram (7-point cap); NULL where the source row has no flag (PY2017-2019)"),
        Column("is_seven_point_cap_removed", "BOOLEAN", "the measure's sevenPointCapRemoved lists this submission method (PY2025+); false before"),
        Column("is_defined_topped_out", "BOOLEAN", "PY2025+ defined topped-out benchmark: fixed percentiles 84..100 (inverse 0..16), no 7-point cap (docs/spec/scoring-rules.md §2.1)", nullable=False),
        Column("is_flat", "BOOLEAN", "flat-percentage benchmark: deciles 4..10 start at 30%..90% (inverse 70%..10%) exactly (docs/spec/scoring-rules.md §2.1, §3.3a)", nullable=False),
        Column("is_ordered", "BOOLEAN", "decile lower bounds never move the wrong way as the decile rises (direct: non-decreasing, inverse: non-increasing); false flags a source defect (3 benchmarks: PY2017 AQI18, PY2018 CAHPS_9, PY2020 ACRAD25)", nullable=False),
        Column("benchmark_source_format", "VARCHAR", "'deciles' (PY2017-2022 list), 'percentiles' (PY2023+), 'median_sd' (PY2024+ costScore percentiles built from median and SD, §3.5)", nullable=False),
        Column("source_value_count", "INTEGER", "values in the source: 9 (deciles 2..10), 10 (deciles 1..10) or 11 (percentiles)", nullable=False),
        Column("median", "DOUBLE", "median m of a 'median_sd' benchmark ((p30 + p40) / 2); NULL otherwise"),
        Column("sd", "DOUBLE", "standard deviation s of a 'median_sd' benchmark (p40 - p30); NULL otherwise"),
        Column("percentile_1", "DOUBLE", "source percentile 1 (PY2023+): decile 1 of a direct measure; unused for inverse ones (a 0 placeholder in median_sd)"),
        Column("percentile_99", "DOUBLE", "source percentile 99 (PY2023+): decile 1 of an inverse measure; unused for direct ones"),
        Column("average_performance_rate", "DOUBLE", "CMS averagePerformanceRate (PY2023+)"),
    ),
)

BENCHMARKS = TableSpec(
    name="benchmarks",
    grain="one row per (performance_year, measure_id, submission_method, decile), decile 1..10, for every benchmark in benchmark_sets",
    key=("performance_year", "measure_id", "submission_method", "decile"),
    description=("Benchmarks normalised to inclusive decile lower bounds (docs/spec/scoring-rules.md §3.1, §3.2): a value in decile d "
                 "is at or beyond lower_bound(d) and short of lower_bound(d+1) (beyond = above for direct, below for inverse "
                 "measures). The per-benchmark flags are repeated from benchmark_sets so one join suffices."),
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _SUBMISSION_METHOD,
        Column("decile", "INTEGER", "decile 1..10 (its achievement-point floor)", nullable=False),
        Column("lower_bound", "DOUBLE", "inclusive lower bound of the decile (on the measure's own scale; for inverse measures bounds descend as deciles rise)", nullable=False),
        Column("is_implied", "BOOLEAN", "decile 1 of a 9-value PY2017-2022 list: not in the source, implied 0 (direct) or 100 (inverse) by the schema (for the few non-percentage measures whose decile-2 bound lies beyond, that bound instead, so bounds stay ordered)", nullable=False),
        Column("source_percentile", "INTEGER", "percentile key the bound comes from (PY2023+: direct 1,10,..,90; inverse 99,90,..,10); NULL for decile lists"),
        Column("category", "VARCHAR", "'quality' or 'cost' (as benchmark_sets)", nullable=False),
        Column("metric_type", "VARCHAR", "as benchmark_sets"),
        Column("is_inverse", "BOOLEAN", "as benchmark_sets", nullable=False),
        Column("is_topped_out", "BOOLEAN", "as benchmark_sets"),
        Column("is_topped_out_by_program", "BOOLEAN", "as benchmark_sets"),
        Column("is_defined_topped_out", "BOOLEAN", "as benchmark_sets", nullable=False),
    ),
)

BENCHMARK_EXCLUSIONS = TableSpec(
    name="benchmark_exclusions",
    grain="one row per (performance_year, measure_id, submission_method, reason_code) in benchmarks/<PY>/benchmark-exclusion-reasons.json (PY2023+)",
    key=("performance_year", "measure_id", "submission_method", "reason_code"),
    description="Measure/submission-method pairs that have no benchmark in the year, and why (CMS business-rule codes).",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID, _SUBMISSION_METHOD,
        Column("reason_code", "VARCHAR", "CMS reason code (BR-009 ...)", nullable=False),
        Column("reason_description", "VARCHAR", "CMS reason description"),
        Column("benchmark_year", "INTEGER", "CMS benchmarkYear"),
    ),
)

COST_NATIONAL_AVERAGES = TableSpec(
    name="cost_national_averages",
    grain="one row per (performance_year, measure_id, level) in benchmarks/<PY>/cost-national-averages.json (PY2023-2025 in the source)",
    key=("performance_year", "measure_id", "level"),
    description="National average cost per episode/beneficiary of each cost measure, for groups and for individuals.",
    partition_by=(),
    columns=(
        _PY, _MEASURE_ID,
        Column("level", "VARCHAR", "'group' (source groupNationalAverage) or 'individual' (individualNationalAverage)", nullable=False),
        Column("national_average", "DOUBLE", "national average measure value (USD)"),
        Column("benchmark_year", "INTEGER", "CMS benchmarkYear"),
    ),
)

# Order = order of compilation, printing and docs.
CATALOG_TABLES: tuple[TableSpec, ...] = (
    MEASURES, QUALITY_MEASURES, QUALITY_MEASURE_STRATA, PI_MEASURES, IA_ACTIVITIES, COST_MEASURES,
    BENCHMARK_SETS, BENCHMARKS, BENCHMARK_EXCLUSIONS, COST_NATIONAL_AVERAGES,
)

# Source file(s) of each table, for docs/reference-tables.md.
SOURCES: dict[str, str] = {
    "measures": "measures/<PY>/measures-data.json (all categories)",
    "quality_measures": "measures/<PY>/measures-data.json (category quality)",
    "quality_measure_strata": "measures/<PY>/measures-data.json (strata of quality measures)",
    "pi_measures": "measures/<PY>/measures-data.json (category pi / aci)",
    "ia_activities": "measures/<PY>/measures-data.json (category ia)",
    "cost_measures": "measures/<PY>/measures-data.json (category cost)",
    "benchmark_sets": "benchmarks/<PY>.json, with isInverse / category / sevenPointCapRemoved from measures/<PY>/measures-data.json",
    "benchmarks": "benchmarks/<PY>.json (deciles or percentiles), isInverse from measures-data.json before PY2023",
    "benchmark_exclusions": "benchmarks/<PY>/benchmark-exclusion-reasons.json",
    "cost_national_averages": "benchmarks/<PY>/cost-national-averages.json",
}


def catalog_markdown() -> str:
    """docs/reference-tables.md: every catalog table with its grain, columns and source file."""
    parts = [
        "# Reference tables (CMS catalog)",
        "",
        "Generated from `schemas/reference.py` by `python -m schemas.reference > docs/reference-tables.md`; do not edit by hand.",
        "",
        "Compiled by `python scripts/compile_reference.py [--source DIR] [--out data/reference]` from CMS "
        "qpp-measures-data (`../shared/reference/qpp-measures-data`) into `data/reference/<table>.parquet` (zstd, rows "
        "in key order, committed). `transforms.reference.attach_reference(con)` exposes each file as `ref.<table>`. "
        "The claims specification tables (`claims_*`) are declared in `schemas/reference_claims.py`.",
        "",
        "List-valued CMS fields are comma-joined VARCHAR in source order; empty lists are NULL. "
        "Benchmarks: PY2017-2022 decile lists (9 values = lower bounds of deciles 2..10 with decile 1 implied at "
        "0 / 100; 10 values = deciles 1..10) and PY2023+ percentiles (direct: decile 1 = p1, decile d = p(10(d-1)); "
        "inverse: decile 1 = p99, decile d = p(10(11-d))) all become `benchmarks` rows, decile 1..10 "
        "(docs/spec/scoring-rules.md §3.1, §3.2).",
        "",
    ]
    for spec in CATALOG_TABLES:
        parts += [spec.markdown(), f"Source: `{SOURCES[spec.name]}`. Key: {', '.join(spec.key)}.", ""]
    from schemas.reference_mvp import MVP_TABLES
    parts += ["## MIPS Value Pathways", "",
              "Compiled by the same script (`mips/reference_compiler/mvp.py`) from `mvp/<PY>/mvp.json` (PY2023 on), "
              "with each quality measure's type from the year's `measures-data.json`; declared in "
              "`schemas/reference_mvp.py`. MVP scoring (`transforms/scoring/mvp.py`) reads them.", ""]
    for spec in MVP_TABLES:
        parts += [spec.markdown(), f"Key: {', '.join(spec.key)}.", ""]
    from schemas.reference_ecqm import ECQM_TABLES, LICENCE_NOTE
    parts += ["## eCQM reference tables", "",
              "Compiled by the same script (`mips/reference_compiler/ecqm.py`) from the CMS eCQM test deck folder "
              "`../shared/ecqm/` (valuesets/, cql/, measures/) and `data/ecqm/supplemental_value_set_codes.csv`; "
              "declared in `schemas/reference_ecqm.py`. How the engine uses them: docs/ecqm.md.", "",
              LICENCE_NOTE, ""]
    for spec in ECQM_TABLES:
        parts += [spec.markdown(), f"Key: {', '.join(spec.key)}.", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(catalog_markdown(), end="")
