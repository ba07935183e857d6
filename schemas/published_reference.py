"""Reference tables published with each period, so analysts query measure titles, benchmarks and
topped-out flags in the output folder beside the results (compiled from CMS qpp-measures-data)."""
from __future__ import annotations

from schemas.tables import Column, TableSpec

_PY = Column("performance_year", "INTEGER", "MIPS performance year", nullable=False)
_MEASURE = Column("measure_id", "VARCHAR", "CMS measure or activity id ('001', 'PI_EP_1', 'IA_EPA_1', 'TPCC_1')",
                  nullable=False)

MEASURE_REFERENCE = TableSpec(
    name="measure_reference",
    grain="one row per (performance_year, measure_id): every quality, PI, IA and cost measure of the year",
    key=("performance_year", "measure_id"),
    description="The year's measures with their CMS titles and attributes (from measures-data.json), "
                "for joining to measure_results, measure_scores and the report.",
    columns=(
        _PY, _MEASURE,
        Column("category", "VARCHAR", "quality, pi, ia or cost", nullable=False),
        Column("title", "VARCHAR", "CMS title"),
        Column("metric_type", "VARCHAR", "CMS metricType (singlePerformanceRate, multiPerformanceRate, proportion, "
                                         "boolean, ...): the shape of its QPP submission"),
        Column("measure_type", "VARCHAR", "quality: CMS measureType (process, outcome, ...)"),
        Column("is_inverse", "BOOLEAN", "quality and cost: a lower rate (or cost) is better"),
        Column("is_high_priority", "BOOLEAN", "quality: CMS isHighPriority"),
        Column("submission_methods", "VARCHAR", "comma-joined CMS submissionMethods (claims, registry, "
                                                "electronicHealthRecord, ...)"),
        Column("e_measure_id", "VARCHAR", "quality: eCQM id (e.g. CMS122v12) when the measure is an eCQM"),
        Column("overall_algorithm", "VARCHAR", "quality, multi-strata: CMS overallAlgorithm"),
        Column("strata", "VARCHAR", "quality, multi-strata: comma-joined CMS stratum names in source order"),
        Column("objective", "VARCHAR", "pi: CMS objective"),
        Column("is_required", "BOOLEAN", "pi: CMS isRequired"),
        Column("weight", "VARCHAR", "ia: CMS weight (medium, high; NULL from PY2025)"),
        Column("subcategory", "VARCHAR", "ia: CMS subcategoryId"),
    ),
)

BENCHMARK_REFERENCE = TableSpec(
    name="benchmark_reference",
    grain="one row per (performance_year, measure_id, submission_method) with a benchmark",
    key=("performance_year", "measure_id", "submission_method"),
    description="The year's benchmarks: decile lower bounds (inclusive; for inverse measures the bounds fall "
                "from decile 1 to 10) and the topped-out flags that cap points.",
    columns=(
        _PY, _MEASURE,
        Column("submission_method", "VARCHAR", "collection type the benchmark is for (claims, registry, "
                                               "electronicHealthRecord, ...)", nullable=False),
        Column("category", "VARCHAR", "quality or cost"),
        Column("benchmark_year", "INTEGER", "year of the data the benchmark was computed from"),
        Column("is_inverse", "BOOLEAN", "a lower value is better"),
        Column("is_topped_out", "BOOLEAN", "CMS isToppedOut"),
        Column("is_topped_out_by_program", "BOOLEAN", "CMS isToppedOutByProgram"),
        Column("is_seven_point_cap_removed", "BOOLEAN", "PY2025+: the topped-out 7-point cap does not apply"),
        Column("is_defined_topped_out", "BOOLEAN", "PY2025+ defined topped-out benchmark (fixed percentiles)"),
        Column("seven_point_cap", "BOOLEAN", "CMS's flags put the topped-out 7-point cap on this benchmark (topped out, "
                                             "cap not removed, not a defined topped-out benchmark); what scoring "
                                             "applied to an entity is measure_scores.topped_out (PY2018 capped "
                                             "named measures only)"),
        Column("average_performance_rate", "DOUBLE", "CMS averagePerformanceRate where published"),
        *(Column(f"decile_{d}_lower_bound", "DOUBLE", f"inclusive lower bound of decile {d}") for d in range(1, 11)),
    ),
)

PUBLISHED_REFERENCE_TABLES = (MEASURE_REFERENCE, BENCHMARK_REFERENCE)
