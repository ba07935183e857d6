"""The run's DuckDB connection: file-backed in a work folder so big inputs spill to disk."""
from __future__ import annotations

from pathlib import Path

import duckdb

DEFAULT_MEMORY_LIMIT = "2.5GB"  # DuckDB alone; Python and what DuckDB does not track add ~300-500 MiB: runs stay under 3 GiB


def sql_literal(text: str) -> str:
    """A SQL string literal (a path may hold an apostrophe)."""
    return "'" + str(text).replace("'", "''") + "'"


def connect(work_dir: Path | None = None, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    if work_dir is None:
        con = duckdb.connect()
    else:
        from mips.fs import private_mkdir

        work_dir = private_mkdir(Path(work_dir))  # the work database holds patient ids
        database = work_dir / "work.duckdb"
        for stale in (database, work_dir / "work.duckdb.wal"):
            stale.unlink(missing_ok=True)  # a work database never outlives its run
        con = duckdb.connect(str(database))
        con.execute("SET temp_directory = " + sql_literal((work_dir / "spill").as_posix()))
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    return con
