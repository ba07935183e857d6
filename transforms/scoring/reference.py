"""The reference facts scoring needs, as four small DuckDB tables with scoring's own column names.

- ``_sc_benchmark_bounds``: one row per (measure_id, collection_type, decile 1..10): lower_bound
  (inclusive; descending for inverse measures, ref.benchmarks already maps PY2023+ percentiles and
  the implied decile-1 bound of PY2017-2022 lists), is_inverse, is_topped_out,
  is_topped_out_by_program, metric_type, is_seven_point_cap_removed.
- ``_sc_quality_measures``: one row per quality measure_id: measure_type, is_high_priority, is_inverse.
- ``_sc_ia_activities``: one row per activity_id: weight ('medium', 'high' or NULL), is_pcmh.
- ``_sc_pi_exclusions``: one row per PI exclusion id (PI_LVPP_1, PI_EP_2_EX_1, ...): the measure it excludes.

Source: tables the caller names (tests use tiny hand-made ones with these columns), else the
compiled ``ref.*`` views of data/reference/ (attached here if the caller has not).
"""
from __future__ import annotations

import duckdb

from mips.errors import PipelineError

BENCHMARK_COLUMNS = ["measure_id", "collection_type", "decile", "lower_bound", "is_inverse", "is_topped_out",
                     "is_topped_out_by_program", "metric_type"]
# Optional benchmark column: PY2025+ sevenPointCapRemoved for the submission method (no 7-point cap).
CAP_REMOVED = "is_seven_point_cap_removed"
QUALITY_MEASURE_COLUMNS = ["measure_id", "measure_type", "is_high_priority", "is_inverse"]
IA_COLUMNS = ["activity_id", "weight", "is_pcmh"]
PI_EXCLUSION_COLUMNS = ["exclusion_id", "measure_id"]


def _has_columns(con, relation: str, needed: list[str]) -> bool:
    try:
        cols = {d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}
    except duckdb.Error:
        return False
    return set(needed) <= cols


def _install(con, target: str, relation: str | None, columns: list[str], performance_year: int,
             optional: dict[str, str] | None = None) -> None:
    optional = optional or {}
    if relation is None:  # not in the reference: an empty table of the declared columns
        cols = ", ".join(f"NULL::VARCHAR AS {c}" for c in columns) + "".join(f", {d} AS {c}" for c, d in optional.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT {cols} LIMIT 0")
        return
    present = {d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}
    where = " WHERE performance_year = $py" if "performance_year" in present else ""
    extra = [c if c in present else f"{default} AS {c}" for c, default in optional.items()]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT {', '.join(columns + extra)} FROM {relation}{where}",
                {"py": performance_year} if where else None)


def _compiled_reference(con) -> bool:
    """True when the compiled ref.* views are (or can be) attached from data/reference/."""
    if _has_columns(con, "ref.benchmarks", ["performance_year", "submission_method", "decile", "lower_bound"]):
        return True
    from transforms.reference import attach_reference
    attach_reference(con)
    return _has_columns(con, "ref.benchmarks", ["performance_year", "submission_method", "decile", "lower_bound"])


def prepare_reference(con: duckdb.DuckDBPyConnection, performance_year: int, *,
                      benchmarks: str | None = None, quality_measures: str | None = None,
                      ia_activities: str | None = None, pi_exclusions: str | None = None) -> None:
    """Create _sc_benchmark_bounds, _sc_quality_measures, _sc_ia_activities and _sc_pi_exclusions for one year."""
    needs_ref = benchmarks is None or quality_measures is None or ia_activities is None or pi_exclusions is None
    if needs_ref and not _compiled_reference(con):
        raise PipelineError("the compiled reference tables (data/reference/*.parquet) are missing: "
                            "run scripts/compile_reference.py")
    if benchmarks is None:
        benchmarks = """(SELECT b.*, b.submission_method AS collection_type,
                                coalesce(s.is_seven_point_cap_removed, FALSE) AS is_seven_point_cap_removed
                         FROM ref.benchmarks b LEFT JOIN ref.benchmark_sets s USING (performance_year, measure_id, submission_method))"""
    if quality_measures is None:
        quality_measures = "ref.quality_measures"
    if ia_activities is None:
        ia_activities = "ref.ia_activities"
    if pi_exclusions is None:
        pi_exclusions = """(SELECT performance_year, unnest(string_split(exclusion_measure_ids, ',')) AS exclusion_id, measure_id
                           FROM ref.pi_measures WHERE exclusion_measure_ids IS NOT NULL)"""
    _install(con, "_sc_benchmark_bounds", benchmarks, BENCHMARK_COLUMNS, performance_year, {CAP_REMOVED: "FALSE"})
    _install(con, "_sc_quality_measures", quality_measures, QUALITY_MEASURE_COLUMNS, performance_year,
             {"first_performance_year": "NULL::INTEGER", "overall_algorithm": "NULL::VARCHAR"})
    from transforms.scoring._sql import lit_list
    from transforms.scoring.rules import load_rules

    pcmh_ids = load_rules(performance_year)["ia.pcmh_activity_ids"]
    _install(con, "_sc_ia_activities", ia_activities, IA_COLUMNS[:2], performance_year,
             {"is_pcmh": f"list_contains({lit_list(pcmh_ids)}, activity_id)"})
    _install(con, "_sc_pi_exclusions", pi_exclusions, PI_EXCLUSION_COLUMNS, performance_year)
