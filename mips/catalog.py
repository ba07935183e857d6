"""The analysts' catalog: ``<output>/catalog.duckdb`` with one view per output table.

Each view reads that table's Parquet files of every published period
(``read_parquet('<output>/<table>/**/*.parquet', hive_partitioning=true)``), so it always shows
what the store has switched in. The file is built under a temporary name and moved over the
old one with ``os.replace``: a reader that has it open keeps the old file and is never blocked.
``table_docs`` holds the grain and column descriptions of every known table.
"""
from __future__ import annotations

import importlib
import os
import uuid
from pathlib import Path

import duckdb

from schemas.tables import TableSpec

CATALOG_FILE = "catalog.duckdb"
# Modules whose TableSpecs are output tables (a module not written yet is skipped).
SPEC_MODULES = ("schemas.ingest", "schemas.measures", "schemas.scoring", "mips.store")


def known_specs() -> dict[str, TableSpec]:
    """Every output TableSpec the code declares, by table name."""
    specs: dict[str, TableSpec] = {}
    for name in SPEC_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        for value in vars(module).values():
            if isinstance(value, TableSpec) and "performance_year" in value.partition_by:
                specs.setdefault(value.name, value)
    return dict(sorted(specs.items()))


def table_names(root: Path) -> list[str]:
    """Tables with at least one published period under ``root``."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_"))
                  and any(f.exists() for f in p.glob("performance_year=*/*.parquet")))


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(root: Path, table: str) -> str:
    pattern = (Path(root).resolve() / table).as_posix() + "/**/*.parquet"
    return (f'CREATE OR REPLACE VIEW "{table}" AS SELECT performance_year, * EXCLUDE (performance_year) '
            f"FROM read_parquet({_lit(pattern)}, hive_partitioning = true, union_by_name = true, "
            "hive_types = {'performance_year': INTEGER})")


def create_views(con: duckdb.DuckDBPyConnection, root: Path) -> list[str]:
    """Create one view per published table of ``root`` in ``con``, plus ``table_docs``."""
    tables = table_names(root)
    for table in tables:
        con.execute(view_sql(root, table))
    rows = [(spec.name, spec.grain, i + 1, c.name, c.type, c.description)
            for spec in known_specs().values() for i, c in enumerate(spec.columns)]
    con.execute("CREATE OR REPLACE TABLE table_docs (table_name VARCHAR, grain VARCHAR, position INTEGER, "
                "column_name VARCHAR, column_type VARCHAR, description VARCHAR)")
    if rows:
        con.executemany("INSERT INTO table_docs VALUES (?, ?, ?, ?, ?, ?)", rows)
    return tables


def build_catalog(root: Path) -> Path:
    """(Re)build ``<root>/catalog.duckdb`` and swap it in atomically. Returns its path."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / CATALOG_FILE
    tmp = root / f".catalog-{uuid.uuid4().hex}.duckdb"
    try:
        con = duckdb.connect(str(tmp))
        try:
            create_views(con, root)
        finally:
            con.close()
        os.replace(tmp, final)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return final
