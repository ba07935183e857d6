"""The reference facts scoring needs, as three small DuckDB tables with scoring's own column names.

- ``_sc_benchmark_bounds``: one row per (measure_id, collection_type, decile 1..10): lower_bound,
  is_inverse, is_topped_out, is_topped_out_by_program, metric_type. PY2017-2022 quality files give
  9 lower bounds of deciles 2..10 (decile 1 starts at the implied 0 / 100); cost and non-proportion
  measures give 10; PY2023+ percentiles map to deciles as in scoring-rules.md §3.2.
- ``_sc_quality_measures``: one row per quality measure_id: measure_type, is_high_priority, is_inverse.
- ``_sc_ia_activities``: one row per activity_id: weight ('medium', 'high' or NULL), is_pcmh.
- ``_sc_pi_exclusions``: one row per PI exclusion id (PI_LVPP_1, PI_EP_2_EX_1, ...): the measure it excludes.

Source, in order: tables the caller names (tests use tiny hand-made ones with these columns);
else the compiled ``ref.*`` views (data/reference/, attached here if the caller has not);
else CMS's qpp-measures-data JSON under ../shared (fallback for a checkout without compiled tables).
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from mips.paths import SHARED_REFERENCE

BENCHMARK_COLUMNS = ["measure_id", "collection_type", "decile", "lower_bound", "is_inverse", "is_topped_out",
                     "is_topped_out_by_program", "metric_type"]
# Optional benchmark column: PY2025+ sevenPointCapRemoved for the submission method (no 7-point cap).
CAP_REMOVED = "is_seven_point_cap_removed"
QUALITY_MEASURE_COLUMNS = ["measure_id", "measure_type", "is_high_priority", "is_inverse"]
IA_COLUMNS = ["activity_id", "weight", "is_pcmh"]
PI_EXCLUSION_COLUMNS = ["exclusion_id", "measure_id"]

# PY2023+ percentile key of each decile's lower bound (scoring-rules.md §3.2, [D]).
_DIRECT_PERCENTILE = {1: "1", 2: "10", 3: "20", 4: "30", 5: "40", 6: "50", 7: "60", 8: "70", 9: "80", 10: "90"}
_INVERSE_PERCENTILE = {1: "99", 2: "90", 3: "80", 4: "70", 5: "60", 6: "50", 7: "40", 8: "30", 9: "20", 10: "10"}


def _has_columns(con, relation: str, needed: list[str]) -> bool:
    try:
        cols = {d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}
    except duckdb.Error:
        return False
    return set(needed) <= cols


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _measures_json(performance_year: int, root: Path) -> list[dict]:
    return _read_json(root / "measures" / str(performance_year) / "measures-data.json")


def benchmark_bounds_from_json(performance_year: int, root: Path = SHARED_REFERENCE) -> pd.DataFrame:
    """Normalise one year's benchmarks/<PY>.json to decile lower bounds (reference rows, not user rows)."""
    inverse_by_measure = {m["measureId"]: bool(m.get("isInverse")) for m in _measures_json(performance_year, root)
                          if m.get("category") == "quality"}
    rows = []
    for b in _read_json(root / "benchmarks" / f"{performance_year}.json"):
        mid, method = b["measureId"], b["submissionMethod"]
        is_cost = method == "administrativeClaims" and not mid[:1].isdigit()
        flags = (bool(b.get("isToppedOut")), bool(b.get("isToppedOutByProgram")), b.get("metricType"))
        if b.get("percentiles"):
            inverse = bool(b.get("isInverse", inverse_by_measure.get(mid, is_cost)))
            keys = _INVERSE_PERCENTILE if inverse else _DIRECT_PERCENTILE
            for decile, key in keys.items():
                rows.append((mid, method, decile, float(b["percentiles"][key]), inverse, *flags))
        elif b.get("deciles"):
            d = [float(x) for x in b["deciles"]]
            if "isInverse" in b:
                inverse = bool(b["isInverse"])
            elif mid in inverse_by_measure:
                inverse = inverse_by_measure[mid]
            else:
                inverse = is_cost or d[0] > d[-1]
            if len(d) == 9:  # lower bounds of deciles 2..10; decile 1 starts at the implied end of the range
                d = [100.0 if inverse else 0.0] + d
            for decile, bound in enumerate(d[:10], start=1):
                rows.append((mid, method, decile, bound, inverse, *flags))
    return pd.DataFrame(rows, columns=BENCHMARK_COLUMNS)


def quality_measures_from_json(performance_year: int, root: Path = SHARED_REFERENCE) -> pd.DataFrame:
    rows = [(m["measureId"], m.get("measureType"), bool(m.get("isHighPriority")), bool(m.get("isInverse")),
             m.get("firstPerformanceYear"), m.get("overallAlgorithm"))
            for m in _measures_json(performance_year, root) if m.get("category") == "quality"]
    return pd.DataFrame(rows, columns=QUALITY_MEASURE_COLUMNS + ["first_performance_year", "overall_algorithm"]
                        ).drop_duplicates("measure_id")


def ia_activities_from_json(performance_year: int, root: Path = SHARED_REFERENCE) -> pd.DataFrame:
    rows = [(m["measureId"], m.get("weight"), m["measureId"] == "IA_PCMH")
            for m in _measures_json(performance_year, root) if m.get("category") == "ia"]
    return pd.DataFrame(rows, columns=IA_COLUMNS).drop_duplicates("activity_id")


def pi_exclusions_from_json(performance_year: int, root: Path = SHARED_REFERENCE) -> pd.DataFrame:
    rows = []
    for m in _measures_json(performance_year, root):
        if m.get("category") in ("pi", "aci") and m.get("exclusion"):
            ex = m["exclusion"] if isinstance(m["exclusion"], list) else [m["exclusion"]]
            rows += [(e, m["measureId"]) for e in ex]
    return pd.DataFrame(rows, columns=PI_EXCLUSION_COLUMNS)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _install(con, target: str, relation: str | None, frame_factory, columns: list[str], performance_year: int,
             optional: dict[str, str] | None = None) -> None:
    optional = optional or {}
    if relation is not None:
        present = {d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}
        where = " WHERE performance_year = $py" if "performance_year" in present else ""
        extra = [c if c in present else f"{default} AS {c}" for c, default in optional.items()]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT {', '.join(columns + extra)} FROM {relation}{where}",
                    {"py": performance_year} if where else None)
        return
    frame = frame_factory(performance_year)
    if frame.empty:
        frame = _empty(columns)
    for c, default in optional.items():
        if c not in frame.columns:
            frame[c] = None if default.startswith("NULL") else False
    con.register("_sc_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT * FROM _sc_frame")
    finally:
        con.unregister("_sc_frame")


def _compiled_reference(con) -> bool:
    """True when the compiled ref.* views are (or can be) attached from data/reference/."""
    if _has_columns(con, "ref.benchmarks", ["performance_year", "submission_method", "decile", "lower_bound"]):
        return True
    from transforms.reference import attach_reference
    attach_reference(con)
    return _has_columns(con, "ref.benchmarks", ["performance_year", "submission_method", "decile", "lower_bound"])


def prepare_reference(con: duckdb.DuckDBPyConnection, performance_year: int, *,
                      benchmarks: str | None = None, quality_measures: str | None = None,
                      ia_activities: str | None = None, pi_exclusions: str | None = None,
                      reference_root: Path = SHARED_REFERENCE) -> None:
    """Create _sc_benchmark_bounds, _sc_quality_measures, _sc_ia_activities and _sc_pi_exclusions for one year."""
    if _compiled_reference(con):
        if benchmarks is None:
            benchmarks = """(SELECT b.*, b.submission_method AS collection_type,
                                    coalesce(s.is_seven_point_cap_removed, FALSE) AS is_seven_point_cap_removed
                             FROM ref.benchmarks b LEFT JOIN ref.benchmark_sets s USING (performance_year, measure_id, submission_method))"""
        if quality_measures is None and _has_columns(con, "ref.quality_measures", QUALITY_MEASURE_COLUMNS):
            quality_measures = "ref.quality_measures"
        if ia_activities is None and _has_columns(con, "ref.ia_activities", ["activity_id", "weight"]):
            ia_activities = "ref.ia_activities"
        if pi_exclusions is None and _has_columns(con, "ref.pi_measures", ["exclusion_measure_ids", "performance_year"]):
            pi_exclusions = """(SELECT performance_year, unnest(string_split(exclusion_measure_ids, ',')) AS exclusion_id, measure_id
                               FROM ref.pi_measures WHERE exclusion_measure_ids IS NOT NULL)"""
    _install(con, "_sc_benchmark_bounds", benchmarks, lambda y: benchmark_bounds_from_json(y, reference_root),
             BENCHMARK_COLUMNS, performance_year, {CAP_REMOVED: "FALSE"})
    _install(con, "_sc_quality_measures", quality_measures, lambda y: quality_measures_from_json(y, reference_root),
             QUALITY_MEASURE_COLUMNS, performance_year, {"first_performance_year": "NULL::INTEGER",
                                                         "overall_algorithm": "NULL::VARCHAR"})
    _install(con, "_sc_ia_activities", ia_activities, lambda y: ia_activities_from_json(y, reference_root),
             IA_COLUMNS[:2], performance_year, {"is_pcmh": "activity_id = 'IA_PCMH'"})
    _install(con, "_sc_pi_exclusions", pi_exclusions, lambda y: pi_exclusions_from_json(y, reference_root),
             PI_EXCLUSION_COLUMNS, performance_year)
