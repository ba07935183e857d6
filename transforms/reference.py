"""Access to the project's compiled reference tables (data/reference/*.parquet) from DuckDB."""
from __future__ import annotations

from pathlib import Path

import duckdb

from mips.paths import REFERENCE_DIR


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def attach_reference(con: duckdb.DuckDBPyConnection, reference_dir: Path = REFERENCE_DIR) -> list[str]:
    """Create one view ``ref.<stem>`` per Parquet file in ``reference_dir``; return the view names."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ref")
    names = []
    for path in sorted(Path(reference_dir).glob("*.parquet")):
        con.execute(f"CREATE OR REPLACE VIEW ref.\"{path.stem}\" AS SELECT * FROM read_parquet(" + _lit(path.as_posix()) + ")")
        names.append(f"ref.{path.stem}")
    return names
