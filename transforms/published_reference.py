"""Build the reference tables published with a period (schemas/published_reference.py) from the
compiled reference data (data/reference/), for the period's performance year only."""
from __future__ import annotations

import duckdb

from schemas.published_reference import BENCHMARK_REFERENCE, MEASURE_REFERENCE
from schemas.tables import TableSpec
from transforms.reference import attach_reference


def build_reference_tables(con: duckdb.DuckDBPyConnection, performance_year: int) -> dict[str, TableSpec]:
    """Create ``measure_reference`` and ``benchmark_reference`` for the year in ``con``; return their specs."""
    attach_reference(con)
    py = int(performance_year)
    con.execute(f"""CREATE OR REPLACE TABLE {MEASURE_REFERENCE.name} AS {MEASURE_REFERENCE.select_sql(f'''(
        SELECT m.performance_year, m.measure_id, m.category, m.title, m.metric_type,
               q.measure_type, coalesce(q.is_inverse, c.is_inverse) AS is_inverse, q.is_high_priority,
               coalesce(q.submission_methods, c.submission_methods) AS submission_methods, q.e_measure_id,
               q.overall_algorithm,
               (SELECT string_agg(s.stratum_name, ',' ORDER BY s.stratum_index) FROM ref.quality_measure_strata s
                WHERE s.performance_year = m.performance_year AND s.measure_id = m.measure_id) AS strata,
               p.objective, p.is_required, a.weight, a.subcategory
        FROM ref.measures m
        LEFT JOIN ref.quality_measures q USING (performance_year, measure_id)
        LEFT JOIN ref.pi_measures p USING (performance_year, measure_id)
        LEFT JOIN ref.cost_measures c USING (performance_year, measure_id)
        LEFT JOIN ref.ia_activities a ON a.performance_year = m.performance_year AND a.activity_id = m.measure_id
        WHERE m.performance_year = {py})''')}""")
    deciles = ",\n".join(f"max(b.lower_bound) FILTER (WHERE b.decile = {d}) AS decile_{d}_lower_bound"
                         for d in range(1, 11))
    con.execute(f"""CREATE OR REPLACE TABLE {BENCHMARK_REFERENCE.name} AS {BENCHMARK_REFERENCE.select_sql(f'''(
        SELECT s.performance_year, s.measure_id, s.submission_method, s.category, s.benchmark_year, s.is_inverse,
               s.is_topped_out, s.is_topped_out_by_program, s.is_seven_point_cap_removed, s.is_defined_topped_out,
               coalesce(s.is_topped_out, FALSE) AND NOT coalesce(s.is_seven_point_cap_removed, FALSE)
                   AND NOT coalesce(s.is_defined_topped_out, FALSE) AS seven_point_cap,
               s.average_performance_rate, {deciles}
        FROM ref.benchmark_sets s
        LEFT JOIN ref.benchmarks b USING (performance_year, measure_id, submission_method)
        WHERE s.performance_year = {py}
        GROUP BY ALL)''')}""")
    return {spec.name: spec for spec in (MEASURE_REFERENCE, BENCHMARK_REFERENCE)}
