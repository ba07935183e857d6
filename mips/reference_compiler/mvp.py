"""Compile CMS's MIPS Value Pathways (qpp-measures-data ``mvp/<PY>/mvp.json``, PY2023 on) into data/reference/mvps
and mvp_measures.

The JSON is read into flat records (one per MVP, one per listed measure and role), loaded into DuckDB, joined with
the year's ``measures-data.json`` facts that MVP scoring needs (measure type, outcome, high priority, whether the id
exists), and finished with each TableSpec's ``select_sql``: the same source gives the same rows in the same order.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import duckdb

from mips.errors import PipelineError
from mips.reference_compiler.catalog import (OUTCOME_MEASURE_TYPES, _check, _read_list, _require, _to_arrow,
                                             arrow_schema, write_parquet)
from schemas.reference_mvp import MVP_MEASURES, MVP_ROLES, MVP_TABLES, MVPS


def mvp_years(source: Path) -> list[int]:
    """Performance years with an mvp/<PY>/mvp.json (none before PY2023)."""
    return sorted(int(p.name) for p in (Path(source) / "mvp").glob("*") if p.name.isdigit() and (p / "mvp.json").is_file())


def _records(source: Path, years: Iterable[int]) -> tuple[list[dict], list[dict], list[dict]]:
    mvps, members, catalog = [], [], []
    for py in years:
        path = Path(source) / "mvp" / str(py) / "mvp.json"
        for i, m in enumerate(_read_list(path)):
            _require(path, i, m, "mvpId", "title")
            for field in [f for f, _ in MVP_ROLES.values()] + ["specialtiesMostApplicableTo"]:
                if not isinstance(m.get(field) or [], list):
                    raise PipelineError(f"{path}: record {i} field {field} is not a list")
            mvps.append({"performance_year": py, "mvp_id": m["mvpId"], "title": m["title"],
                         "clinical_topic": m.get("clinicalTopic"), "description": m.get("description"),
                         "specialties": ",".join(str(s) for s in m.get("specialtiesMostApplicableTo") or []) or None,
                         "has_cahps": m.get("hasCahps"), "has_outcome_admin_claims": m.get("hasOutcomeAdminClaims")})
            for role, (field, category) in MVP_ROLES.items():
                for k, mid in enumerate(m.get(field) or [], start=1):
                    members.append({"performance_year": py, "mvp_id": m["mvpId"], "role": role,
                                    "measure_id": str(mid), "category": category, "position": k})
        measures = Path(source) / "measures" / str(py) / "measures-data.json"
        if measures.is_file():
            for m in _read_list(measures):
                catalog.append({"performance_year": py, "measure_id": m.get("measureId"),
                                "measure_type": m.get("measureType"), "is_high_priority": m.get("isHighPriority")})
    return mvps, members, catalog


def build_mvp_tables(con: duckdb.DuckDBPyConnection, source: Path, years: Iterable[int] | None = None) -> dict[str, int]:
    """Create the DuckDB tables mvps and mvp_measures from the source; return row counts."""
    import pyarrow as pa

    source = Path(source)
    years = list(mvp_years(source) if years is None else years)
    mvps, members, catalog = _records(source, years)
    raw = {
        "_mvp_raw": _to_arrow(mvps, pa.schema([("performance_year", pa.int32()), ("mvp_id", pa.string()),
                                               ("title", pa.string()), ("clinical_topic", pa.string()),
                                               ("description", pa.string()), ("specialties", pa.string()),
                                               ("has_cahps", pa.bool_()), ("has_outcome_admin_claims", pa.bool_())]),
                              "mvp.json"),
        "_mvp_members_raw": _to_arrow(members, pa.schema([("performance_year", pa.int32()), ("mvp_id", pa.string()),
                                                          ("role", pa.string()), ("measure_id", pa.string()),
                                                          ("category", pa.string()), ("position", pa.int32())]),
                                      "mvp.json measure lists"),
        "_mvp_catalog_raw": _to_arrow(catalog, pa.schema([("performance_year", pa.int32()), ("measure_id", pa.string()),
                                                          ("measure_type", pa.string()), ("is_high_priority", pa.bool_())]),
                                      "measures-data.json"),
    }
    for name, table in raw.items():
        con.register(f"_arrow{name}", table)
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "_arrow{name}"')
        con.unregister(f"_arrow{name}")
    outcome = ", ".join(f"'{t}'" for t in OUTCOME_MEASURE_TYPES)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _in_mvp_measures AS
        SELECT r.*, c.measure_type,
               CASE WHEN r.category = 'quality' AND c.measure_id IS NOT NULL
                    THEN coalesce(c.measure_type IN ({outcome}), FALSE) END AS is_outcome,
               CASE WHEN r.category = 'quality' THEN c.is_high_priority END AS is_high_priority,
               c.measure_id IS NOT NULL AS in_catalog
        FROM _mvp_members_raw r
        LEFT JOIN (SELECT * FROM _mvp_catalog_raw QUALIFY row_number() OVER (PARTITION BY performance_year, measure_id) = 1) c
          USING (performance_year, measure_id)""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _in_mvps AS
        SELECT m.*,
               coalesce(bool_or(x.role IN ('quality', 'administrative_claims_quality') AND x.is_outcome), FALSE)
                   AS has_outcome_measure,
               count(*) FILTER (WHERE x.role = 'quality') AS quality_measure_count,
               count(*) FILTER (WHERE x.role = 'ia') AS ia_activity_count,
               count(*) FILTER (WHERE x.role = 'cost') AS cost_measure_count
        FROM _mvp_raw m LEFT JOIN _in_mvp_measures x USING (performance_year, mvp_id)
        GROUP BY ALL""")
    counts = {}
    for spec in MVP_TABLES:
        con.execute(f'CREATE OR REPLACE TABLE "{spec.name}" AS {spec.select_sql(f"_in_{spec.name}")}')
        _check(con, spec)
        counts[spec.name] = con.execute(f'SELECT count(*) FROM "{spec.name}"').fetchone()[0]
    return counts


def compile_mvp(source: Path, out: Path) -> dict[str, int]:
    """Compile mvps and mvp_measures from ``source`` (qpp-measures-data) into ``out``/<table>.parquet."""
    source = Path(source)
    if not source.is_dir():
        raise PipelineError(f"{source}: reference source folder not found")
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute("SET preserve_insertion_order = true")
        counts = build_mvp_tables(con, source)
        for spec in MVP_TABLES:
            write_parquet(con, spec, Path(out))
        return counts
    finally:
        con.close()


__all__ = ["MVPS", "MVP_MEASURES", "build_mvp_tables", "compile_mvp", "mvp_years", "arrow_schema"]
