"""Compile the CMS reference catalog (measures, PI, IA, cost, benchmarks) into data/reference/*.parquet.

A build step over a few MB of CMS metadata: the JSON is read with Python into table-shaped records (one list of
flat records per table, no nesting), loaded into DuckDB, and every table is finished with its TableSpec's
``select_sql`` (cast + order by key), so the same source always gives the same rows in the same order.
The benchmark normalisation (source values -> decile lower bounds) is set-based SQL over a long table of the
source values, driven by the percentile -> decile mapping ``PERCENTILE_DECILES`` (data, scoring-rules.md §3.2).

Source layout (CMS qpp-measures-data): measures/<PY>/measures-data.json, benchmarks/<PY>.json,
benchmarks/<PY>/benchmark-exclusion-reasons.json, benchmarks/<PY>/cost-national-averages.json.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import duckdb
import pyarrow as pa

from mips.errors import PipelineError
from schemas.reference import (
    BENCHMARK_EXCLUSIONS, BENCHMARK_SETS, BENCHMARKS, CATALOG_TABLES, COST_MEASURES, COST_NATIONAL_AVERAGES,
    IA_ACTIVITIES, MEASURES, PI_MEASURES, QUALITY_MEASURE_STRATA, QUALITY_MEASURES,
)
from schemas.tables import TableSpec

# measureType values that count as outcome measures (required outcome measure, +2 bonus PY2017-2021).
OUTCOME_MEASURE_TYPES = ("outcome", "intermediateOutcome", "patientReportedOutcome")
PATIENT_EXPERIENCE_MEASURE_TYPES = ("patientEngagementExperience",)

# PY2023+ percentile key -> decile whose inclusive lower bound it is (scoring-rules.md §3.2, checked by CMS against
# its 2023 source CSV). Direct: decile 1 = p1, decile d = p(10*(d-1)). Inverse: decile 1 = p99, decile d = p(10*(11-d)).
# The remaining key (p99 direct, p1 inverse) plays no part in points.
PERCENTILE_DECILES: tuple[tuple[bool, int, int], ...] = (
    ((False, 1, 1),) + tuple((False, 10 * (d - 1), d) for d in range(2, 11))
    + ((True, 99, 1),) + tuple((True, 10 * (11 - d), d) for d in range(2, 11))
)
PERCENTILE_KEYS = (1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99)

# PY2025+ "defined topped-out measure benchmark" (scoring-rules.md §2.1): fixed percentile values.
DEFINED_TOPPED_OUT_DIRECT = {1: 84, 10: 86, 20: 88, 30: 90, 40: 92, 50: 94, 60: 96, 70: 98, 80: 99, 90: 100, 99: 100}
DEFINED_TOPPED_OUT_INVERSE = {1: 0, 10: 0, 20: 1, 30: 2, 40: 4, 50: 6, 60: 8, 70: 10, 80: 12, 90: 14, 99: 16}

# PY2024+ cost (and PY2025+ admin-claims quality) benchmarks: percentile = median + k * SD (scoring-rules.md §3.5).
# Percentile 1 is a placeholder (0) and is not checked.
MEDIAN_SD_MULTIPLES = {10: -1.5, 20: -1.0, 30: -0.5, 40: 0.5, 50: 1.0, 60: 1.5, 70: 2.0, 80: 2.25, 90: 2.5, 99: 2.75}
# A benchmark is 'median_sd' when every percentile is within this many SDs of median + k*SD: the source rounds
# to cents / 4 decimals (observed residuals <= 0.03 SD), while true percentile benchmarks miss by > 5 SD.
MEDIAN_SD_TOLERANCE = 0.05

_DUCKDB_TO_ARROW = {"VARCHAR": pa.string(), "INTEGER": pa.int32(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
                    "BOOLEAN": pa.bool_(), "DATE": pa.date32()}


# ---------------------------------------------------------------------------------------------- reading the source

def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PipelineError(f"{path}: not valid JSON ({type(exc).__name__})") from None


def _read_list(path: Path) -> list[dict]:
    data = _read_json(path)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise PipelineError(f"{path}: expected a JSON list of objects")
    return data


def _require(path: Path, index: int, record: dict, *fields: str) -> None:
    for f in fields:
        if record.get(f) in (None, ""):
            raise PipelineError(f"{path}: record {index} has no {f}")


def performance_years(source: Path) -> list[int]:
    """Performance years the source has (folders measures/<PY>/ holding measures-data.json)."""
    measures = Path(source) / "measures"
    years = sorted(int(p.name) for p in measures.glob("*") if p.name.isdigit() and (p / "measures-data.json").is_file())
    if not years:
        raise PipelineError(f"{source}: no measures/<PY>/measures-data.json found (is this qpp-measures-data?)")
    return years


def _joined(value: Any) -> str | None:
    """List (or single string) -> comma-joined text in source order; empty / absent -> NULL."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    items = [str(v) for v in value if v is not None and str(v) != ""]
    return ",".join(items) or None


def _bool(value: Any) -> Any:
    """Source flags are JSON booleans; anything else is passed on for the typed load to reject (no truthiness)."""
    return value


# ---------------------------------------------------------------------------------------------- measures

def _measure_records(source: Path, years: Iterable[int]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t.name: [] for t in (MEASURES, QUALITY_MEASURES, QUALITY_MEASURE_STRATA,
                                                       PI_MEASURES, IA_ACTIVITIES, COST_MEASURES)}
    for py in years:
        path = Path(source) / "measures" / str(py) / "measures-data.json"
        for i, m in enumerate(_read_list(path)):
            _require(path, i, m, "measureId", "category")
            common = {
                "performance_year": py, "title": m.get("title"), "metric_type": m.get("metricType"),
                "allowed_programs": _joined(m.get("allowedPrograms")),
                "first_performance_year": m.get("firstPerformanceYear"),
                "last_performance_year": m.get("lastPerformanceYear"),
            }
            category = m["category"]
            out["measures"].append(common | {"measure_id": m["measureId"],
                                             "category": "pi" if category == "aci" else category})
            if category == "quality":
                strata = m.get("strata") or []
                measure_type = m.get("measureType")
                out["quality_measures"].append(common | {
                    "measure_id": m["measureId"],
                    "measure_type": measure_type,
                    "is_high_priority": _bool(m.get("isHighPriority")),
                    "is_inverse": _bool(m.get("isInverse")),
                    "is_outcome": None if measure_type is None else measure_type in OUTCOME_MEASURE_TYPES,
                    "is_patient_experience": None if measure_type is None else measure_type in PATIENT_EXPERIENCE_MEASURE_TYPES,
                    "overall_algorithm": m.get("overallAlgorithm"),
                    "strata_count": len(strata),
                    "submission_methods": _joined(m.get("submissionMethods")),
                    "measure_sets": _joined(m.get("measureSets")),
                    "is_registry_measure": _bool(m.get("isRegistryMeasure")),
                    "is_risk_adjusted": _bool(m.get("isRiskAdjusted")),
                    "is_icd_impacted": _bool(m.get("isIcdImpacted")),
                    "is_clinical_guideline_changed": _bool(m.get("isClinicalGuidelineChanged")),
                    "is_seven_point_cap_removed": _bool(m.get("isSevenPointCapRemoved")),
                    "seven_point_cap_removed_methods": _joined(m.get("sevenPointCapRemoved")),
                    "data_display_format": m.get("dataDisplayFormat"),
                    "e_measure_id": m.get("eMeasureId"),
                    "nqf_id": m.get("nqfId"),
                    "primary_steward": m.get("primarySteward"),
                    "national_quality_strategy_domain": m.get("nationalQualityStrategyDomain"),
                    "companion_measure_ids": _joined(m.get("companionMeasureId")),
                })
                for k, s in enumerate(strata, start=1):
                    out["quality_measure_strata"].append({
                        "performance_year": py, "measure_id": m["measureId"], "stratum_index": k,
                        "stratum_name": (s or {}).get("name"), "description": (s or {}).get("description"),
                    })
            elif category in ("pi", "aci"):
                weight = m.get("weight")
                out["pi_measures"].append(common | {
                    "measure_id": m["measureId"],
                    "source_category": category,
                    "objective": m.get("objective"),
                    "reporting_category": m.get("reportingCategory"),
                    "is_required": _bool(m.get("isRequired")),
                    "is_bonus": _bool(m.get("isBonus")),
                    "is_exclusion": m.get("reportingCategory") == "exclusion",
                    "weight": None if weight is None else float(weight),
                    "exclusion_measure_ids": _joined(m.get("exclusion")),
                    "substitutes": _joined(m.get("substitutes")),
                    "measure_sets": _joined(m.get("measureSets")),
                })
            elif category == "ia":
                out["ia_activities"].append(common | {
                    "activity_id": m["measureId"],
                    "subcategory": m.get("subcategoryId"),
                    "weight": m.get("weight"),
                    "is_pcmh": m["measureId"] == "IA_PCMH",
                    "is_cehrt_eligible": _bool(m.get("cehrtEligible")),
                })
            elif category == "cost":
                out["cost_measures"].append(common | {
                    "measure_id": m["measureId"],
                    "is_inverse": _bool(m.get("isInverse")),
                    "overall_algorithm": m.get("overallAlgorithm"),
                    "submission_methods": _joined(m.get("submissionMethods")),
                    "data_display_format": m.get("dataDisplayFormat"),
                })
            else:
                raise PipelineError(f"{path}: record {i} has unknown category {category!r}")
    return out


# ---------------------------------------------------------------------------------------------- benchmarks

_RAW_SET_SCHEMA = pa.schema([
    ("performance_year", pa.int32()), ("measure_id", pa.string()), ("submission_method", pa.string()),
    ("category", pa.string()), ("benchmark_year", pa.int32()), ("metric_type", pa.string()),
    ("is_inverse", pa.bool_()), ("is_inverse_source", pa.string()), ("is_high_priority", pa.bool_()),
    ("is_topped_out", pa.bool_()), ("is_topped_out_by_program", pa.bool_()),
    ("is_seven_point_cap_removed", pa.bool_()), ("list_format", pa.string()), ("source_value_count", pa.int32()),
    ("average_performance_rate", pa.float64()),
])
_RAW_VALUE_SCHEMA = pa.schema([
    ("performance_year", pa.int32()), ("measure_id", pa.string()), ("submission_method", pa.string()),
    ("position", pa.int32()), ("percentile", pa.int32()), ("value", pa.float64()),
])


def _number(path: Path, index: int, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PipelineError(f"{path}: record {index} has a non-numeric benchmark value")
    return float(value)


def _benchmark_records(source: Path, years: Iterable[int]) -> tuple[list[dict], list[dict]]:
    """One record per benchmark (flags, resolved is_inverse/category) and one per source value (long form)."""
    sets: list[dict] = []
    values: list[dict] = []
    for py in years:
        path = Path(source) / "benchmarks" / f"{py}.json"
        if not path.is_file():
            continue
        measures = {m.get("measureId"): m for m in _read_list(Path(source) / "measures" / str(py) / "measures-data.json")}
        for i, b in enumerate(_read_list(path)):
            _require(path, i, b, "measureId", "submissionMethod")
            if b.get("performanceYear") not in (None, py):
                raise PipelineError(f"{path}: record {i} is for performance year {b.get('performanceYear')}, not {py}")
            mid, method = b["measureId"], b["submissionMethod"]
            key = {"performance_year": py, "measure_id": mid, "submission_method": method}
            if b.get("percentiles") is not None:
                pct = b["percentiles"]
                if not isinstance(pct, dict) or sorted(int(k) for k in pct if str(k).isdigit()) != list(PERCENTILE_KEYS) \
                        or len(pct) != len(PERCENTILE_KEYS):
                    raise PipelineError(f"{path}: record {i} percentiles must have exactly the keys {PERCENTILE_KEYS}")
                list_format, raw = "percentiles", {int(k): _number(path, i, v) for k, v in pct.items()}
                values += [key | {"position": None, "percentile": k, "value": v} for k, v in raw.items()]
                first, last = raw[1], raw[99]
            elif b.get("deciles") is not None:
                dec = b["deciles"]
                if not isinstance(dec, list) or len(dec) not in (9, 10):
                    raise PipelineError(f"{path}: record {i} deciles must be a list of 9 or 10 numbers")
                list_format, raw_list = "deciles", [_number(path, i, v) for v in dec]
                values += [key | {"position": p, "percentile": None, "value": v} for p, v in enumerate(raw_list)]
                first, last = raw_list[0], raw_list[-1]
            else:
                raise PipelineError(f"{path}: record {i} has neither deciles nor percentiles")
            measure = measures.get(mid) or {}
            # Inverse-ness: the benchmark says so from PY2023; before, the measure does; a handful of PY2017
            # benchmarks of retired measures have no measure record, and their values descend when inverse.
            if b.get("isInverse") is not None:
                inverse, inverse_source = bool(b["isInverse"]), "benchmark"
            elif measure.get("isInverse") is not None:
                inverse, inverse_source = bool(measure["isInverse"]), "measure"
            else:
                inverse, inverse_source = first > last, "inferred"
            sets.append(key | {
                "category": measure.get("category") or "quality",
                "benchmark_year": b.get("benchmarkYear"),
                "metric_type": b.get("metricType") or measure.get("metricType"),
                "is_inverse": inverse, "is_inverse_source": inverse_source,
                "is_high_priority": _bool(b.get("isHighPriority")),
                "is_topped_out": _bool(b.get("isToppedOut")),
                "is_topped_out_by_program": _bool(b.get("isToppedOutByProgram")),
                "is_seven_point_cap_removed": method in (measure.get("sevenPointCapRemoved") or []),
                "list_format": list_format, "source_value_count": len(b.get("percentiles") or b.get("deciles")),
                "average_performance_rate": b.get("averagePerformanceRate"),
            })
    return sets, values


def _values_sql(pairs: dict[int, float]) -> str:
    return " AND ".join(f"p{k} = {v}" for k, v in sorted(pairs.items()))


def _benchmark_sql() -> tuple[str, str]:
    """SQL building the decile rows and the benchmark sets from _raw_sets / _raw_values / _percentile_deciles."""
    pivot = ", ".join(f"max(value) FILTER (WHERE percentile = {k}) AS p{k}" for k in PERCENTILE_KEYS)
    fit = " AND ".join(f"abs(p{k} - (median + {mult} * sd)) <= {MEDIAN_SD_TOLERANCE} * sd"
                       for k, mult in MEDIAN_SD_MULTIPLES.items())
    deciles_sql = """
        -- decile lists (PY2017-2022): 9 values are the lower bounds of deciles 2..10, 10 values of deciles 1..10
        SELECT s.performance_year, s.measure_id, s.submission_method,
               v.position + CASE WHEN s.source_value_count = 9 THEN 2 ELSE 1 END AS decile,
               v.value AS lower_bound, false AS is_implied, NULL AS source_percentile
        FROM _raw_sets s JOIN _raw_values v USING (performance_year, measure_id, submission_method)
        WHERE s.list_format = 'deciles'
        UNION ALL
        -- ... and decile 1 of a 9-value list starts at the implied end of the range: 0 direct, 100 inverse
        -- (schema), widened to decile 2's bound for the few non-percentage measures whose values pass 0..100,
        -- so that bounds stay ordered
        SELECT s.performance_year, s.measure_id, s.submission_method, 1,
               CASE WHEN s.is_inverse THEN greatest(100, v.value) ELSE least(0, v.value) END, true, NULL
        FROM _raw_sets s JOIN _raw_values v USING (performance_year, measure_id, submission_method)
        WHERE s.list_format = 'deciles' AND s.source_value_count = 9 AND v.position = 0
        UNION ALL
        -- percentiles (PY2023+): mapped by the direct / inverse table; the unused end percentile drops out
        SELECT s.performance_year, s.measure_id, s.submission_method, m.decile, v.value, false, v.percentile
        FROM _raw_sets s JOIN _raw_values v USING (performance_year, measure_id, submission_method)
        JOIN _percentile_deciles m ON m.is_inverse = s.is_inverse AND m.percentile = v.percentile
        WHERE s.list_format = 'percentiles'
    """
    sets_sql = f"""
        WITH pct AS (
            SELECT performance_year, measure_id, submission_method, {pivot}
            FROM _raw_values WHERE percentile IS NOT NULL
            GROUP BY ALL
        ), msd AS (
            SELECT *, (p30 + p40) / 2 AS median, p40 - p30 AS sd FROM pct
        ), flat AS (
            -- deciles 4..10 start at exactly 30..90 % (inverse 70..10 %); decile 3 varies (20, 79.99, 0 ...)
            SELECT d.performance_year, d.measure_id, d.submission_method,
                   count(*) = 7 AND bool_and(d.lower_bound = CASE WHEN s.is_inverse THEN 10 * (11 - d.decile)
                                                              ELSE 10 * (d.decile - 1) END) AS is_flat
            FROM _decile_rows d JOIN _raw_sets s USING (performance_year, measure_id, submission_method)
            WHERE d.decile BETWEEN 4 AND 10
            GROUP BY ALL
        ), ordered AS (
            -- bounds may repeat (empty deciles) but never move the wrong way as the decile rises
            SELECT performance_year, measure_id, submission_method,
                   bool_and(prev IS NULL OR CASE WHEN is_inverse THEN lower_bound <= prev ELSE lower_bound >= prev END)
                       AS is_ordered
            FROM (SELECT d.*, s.is_inverse,
                         lag(d.lower_bound) OVER (PARTITION BY d.performance_year, d.measure_id, d.submission_method
                                                  ORDER BY d.decile) AS prev
                  FROM _decile_rows d JOIN _raw_sets s USING (performance_year, measure_id, submission_method))
            GROUP BY ALL
        )
        SELECT s.* EXCLUDE (list_format), o.is_ordered,
               coalesce(CASE WHEN s.is_inverse THEN {_values_sql(DEFINED_TOPPED_OUT_INVERSE)}
                             ELSE {_values_sql(DEFINED_TOPPED_OUT_DIRECT)} END, false) AS is_defined_topped_out,
               coalesce(f.is_flat, false) AS is_flat,
               CASE WHEN s.list_format = 'deciles' THEN 'deciles'
                    WHEN s.metric_type = 'costScore' AND msd.sd > 0 AND {fit} THEN 'median_sd'
                    ELSE 'percentiles' END AS benchmark_source_format,
               CASE WHEN s.metric_type = 'costScore' AND msd.sd > 0 AND {fit} THEN msd.median END AS median,
               CASE WHEN s.metric_type = 'costScore' AND msd.sd > 0 AND {fit} THEN msd.sd END AS sd,
               msd.p1 AS percentile_1, msd.p99 AS percentile_99
        FROM _raw_sets s
        LEFT JOIN msd USING (performance_year, measure_id, submission_method)
        LEFT JOIN flat f USING (performance_year, measure_id, submission_method)
        LEFT JOIN ordered o USING (performance_year, measure_id, submission_method)
    """
    return deciles_sql, sets_sql


# ---------------------------------------------------------------------------------------------- other benchmark files

def _exclusion_records(source: Path, years: Iterable[int]) -> list[dict]:
    rows = []
    for py in years:
        path = Path(source) / "benchmarks" / str(py) / "benchmark-exclusion-reasons.json"
        if not path.is_file():
            continue
        for i, r in enumerate(_read_list(path)):
            _require(path, i, r, "measureId", "submissionMethod")
            codes, texts = r.get("reasonCodes") or [], r.get("reasonDescriptions") or []
            if not codes or len(texts) not in (0, len(codes)):
                raise PipelineError(f"{path}: record {i} needs reasonCodes, each with one reasonDescription")
            for k, code in enumerate(codes):
                rows.append({"performance_year": py, "measure_id": r["measureId"],
                             "submission_method": r["submissionMethod"], "reason_code": code,
                             "reason_description": texts[k] if texts else None,
                             "benchmark_year": r.get("benchmarkYear")})
    return rows


def _national_average_records(source: Path, years: Iterable[int]) -> list[dict]:
    rows = []
    for py in years:
        path = Path(source) / "benchmarks" / str(py) / "cost-national-averages.json"
        if not path.is_file():
            continue
        for i, r in enumerate(_read_list(path)):
            _require(path, i, r, "measureId")
            for level, field in (("group", "groupNationalAverage"), ("individual", "individualNationalAverage")):
                if field in r:
                    rows.append({"performance_year": py, "measure_id": r["measureId"], "level": level,
                                 "national_average": r[field], "benchmark_year": r.get("benchmarkYear")})
    return rows


# ---------------------------------------------------------------------------------------------- assembling

def arrow_schema(spec: TableSpec) -> pa.Schema:
    return pa.schema([(c.name, _DUCKDB_TO_ARROW[c.type]) for c in spec.columns])


def _to_arrow(records: list[dict], schema: pa.Schema, what: str) -> pa.Table:
    try:
        return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in records], schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
        raise PipelineError(f"reference source: a value of {what} has the wrong type ({type(exc).__name__})") from None


def _check(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    """Grain and non-null columns hold, or the source is not what the catalog expects."""
    keys = ", ".join(f'"{k}"' for k in spec.key)
    dup = con.execute(f'SELECT {keys}, count(*) FROM "{spec.name}" GROUP BY ALL HAVING count(*) > 1 LIMIT 1').fetchone()
    if dup:
        raise PipelineError(f"reference table {spec.name}: duplicate key {dup[:-1]} (grain: {spec.grain})")
    for c in spec.columns:
        if not c.nullable and con.execute(f'SELECT count(*) FROM "{spec.name}" WHERE "{c.name}" IS NULL').fetchone()[0]:
            raise PipelineError(f"reference table {spec.name}: column {c.name} has missing values")


def build_catalog(con: duckdb.DuckDBPyConnection, source: Path, years: Iterable[int] | None = None) -> dict[str, int]:
    """Create one DuckDB table per catalog TableSpec (named as the spec) from the source; return row counts."""
    source = Path(source)
    if not source.is_dir():
        raise PipelineError(f"{source}: reference source folder not found")
    years = list(performance_years(source) if years is None else years)

    frames: dict[str, pa.Table] = {}
    for name, records in _measure_records(source, years).items():
        frames[name] = _to_arrow(records, arrow_schema(_spec(name)), name)
    sets, values = _benchmark_records(source, years)
    frames["_raw_sets"] = _to_arrow(sets, _RAW_SET_SCHEMA, "benchmarks")
    frames["_raw_values"] = _to_arrow(values, _RAW_VALUE_SCHEMA, "benchmarks")
    frames["_percentile_deciles"] = pa.table({"is_inverse": [r[0] for r in PERCENTILE_DECILES],
                                              "percentile": pa.array([r[1] for r in PERCENTILE_DECILES], pa.int32()),
                                              "decile": pa.array([r[2] for r in PERCENTILE_DECILES], pa.int32())})
    frames["benchmark_exclusions"] = _to_arrow(_exclusion_records(source, years), arrow_schema(BENCHMARK_EXCLUSIONS),
                                               "benchmark exclusion reasons")
    frames["cost_national_averages"] = _to_arrow(_national_average_records(source, years),
                                                 arrow_schema(COST_NATIONAL_AVERAGES), "cost national averages")

    for name, table in frames.items():
        con.register(f"_arrow{name}", table)
        con.execute(f'CREATE OR REPLACE TEMP TABLE "_in_{name}" AS SELECT * FROM "_arrow{name}"')
        con.unregister(f"_arrow{name}")
    for raw in ("_raw_sets", "_raw_values", "_percentile_deciles"):
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{raw}" AS SELECT * FROM "_in_{raw}"')

    deciles_sql, sets_sql = _benchmark_sql()
    con.execute(f"CREATE OR REPLACE TEMP TABLE _decile_rows AS {deciles_sql}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _in_benchmark_sets AS {sets_sql}")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _in_benchmarks AS
        SELECT d.*, s.category, s.metric_type, s.is_inverse, s.is_topped_out, s.is_topped_out_by_program,
               s.is_defined_topped_out
        FROM _decile_rows d JOIN _in_benchmark_sets s USING (performance_year, measure_id, submission_method)
    """)

    counts = {}
    for spec in CATALOG_TABLES:
        con.execute(f'CREATE OR REPLACE TABLE "{spec.name}" AS {spec.select_sql(f"_in_{spec.name}")}')
        _check(con, spec)
        counts[spec.name] = con.execute(f'SELECT count(*) FROM "{spec.name}"').fetchone()[0]
    return counts


def _spec(name: str) -> TableSpec:
    return next(s for s in CATALOG_TABLES if s.name == name)


def write_parquet(con: duckdb.DuckDBPyConnection, spec: TableSpec, out_dir: Path) -> Path:
    """Write one built table to <out_dir>/<name>.parquet (zstd), atomically; rows in key order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{spec.name}.parquet"
    tmp = out_dir / f".{spec.name}.parquet.tmp"
    try:
        con.execute(f"COPY ({spec.select_sql(chr(34) + spec.name + chr(34))}) TO '{tmp.as_posix()}' "
                    "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
        os.replace(tmp, target)  # readers never see a half-written table
    finally:
        tmp.unlink(missing_ok=True)
    return target


def compile_catalog(source: Path, out: Path) -> dict[str, int]:
    """Compile every catalog table from ``source`` (qpp-measures-data) into ``out``/<table>.parquet; rows per table."""
    con = duckdb.connect()
    try:
        # One thread and insertion order kept: the same source gives byte-identical files.
        con.execute("SET threads = 1")
        con.execute("SET preserve_insertion_order = true")
        counts = build_catalog(con, Path(source))
        for spec in CATALOG_TABLES:
            write_parquet(con, spec, Path(out))
        return counts
    finally:
        con.close()
