"""The run's DuckDB connection: file-backed in a work folder so big inputs spill to disk."""
from __future__ import annotations

from pathlib import Path

import duckdb

DEFAULT_MEMORY_LIMIT = "3GB"  # keeps 10M-line runs under the 4 GiB target on the 2-core/24 GiB machines


def connect(work_dir: Path | None = None, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    if work_dir is None:
        con = duckdb.connect()
    else:
        work_dir = Path(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        database = work_dir / "work.duckdb"
        for stale in (database, work_dir / "work.duckdb.wal"):
            stale.unlink(missing_ok=True)  # a work database never outlives its run
        con = duckdb.connect(str(database))
        con.execute(f"SET temp_directory = '{(work_dir / 'spill').as_posix()}'")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    return con
