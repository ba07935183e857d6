"""The run's DuckDB connection: file-backed in a work folder so big inputs spill to disk.

Two environment variables let an operator size it for the machine (docs/operations.md, "Memory and spill"):
``MIPS_DUCKDB_MEMORY_LIMIT`` (DuckDB's memory_limit, e.g. ``3GB``; `mips run --memory-limit` sets it) and
``MIPS_DUCKDB_TEMP_DIRECTORY`` (a folder for what DuckDB spills beyond that limit; by default the run's own work
folder, ``<output>/.work/<run>/spill``). Both are read when a connection opens, so the Dask workers a run starts
inherit them.
"""
from __future__ import annotations

import argparse
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb

DEFAULT_MEMORY_LIMIT = "2.5GB"  # DuckDB alone; Python and what DuckDB does not track add ~300-500 MiB: runs stay under 3 GiB
MEMORY_LIMIT_VARIABLE = "MIPS_DUCKDB_MEMORY_LIMIT"
TEMP_DIRECTORY_VARIABLE = "MIPS_DUCKDB_TEMP_DIRECTORY"


def sql_literal(text: str) -> str:
    """A SQL string literal (a path may hold an apostrophe)."""
    return "'" + str(text).replace("'", "''") + "'"


def check_memory_limit(limit: str) -> str:
    """``limit`` as DuckDB reads a memory_limit (``3GB``, ``2500MB``, ``4GiB``); a ValueError names the problem."""
    try:
        duckdb.connect().execute(f"SET memory_limit = {sql_literal(limit)}").close()
    except duckdb.Error as error:
        raise ValueError(f"{limit!r} is not a DuckDB memory limit such as 3GB or 2500MB "
                         f"({str(error).splitlines()[0]})") from None
    return limit


def memory_limit_argument(text: str) -> str:
    """argparse type of --memory-limit."""
    try:
        return check_memory_limit(text.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


MEMORY_LIMIT_HELP = (f"DuckDB's memory limit for this run, e.g. 3GB (default {DEFAULT_MEMORY_LIMIT}, or the "
                     f"{MEMORY_LIMIT_VARIABLE} environment variable); DuckDB spills to disk beyond it, and the "
                     "process needs about 0.5-1 GiB more (docs/operations.md)")


@contextmanager
def memory_limit_set(limit: str | None) -> Iterator[None]:
    """Within the block, connections (this process's and the processes it starts: Dask workers) use ``limit``
    (nothing changes when it is None); the environment is restored after."""
    if limit is None:
        yield
        return
    before = os.environ.get(MEMORY_LIMIT_VARIABLE)
    os.environ[MEMORY_LIMIT_VARIABLE] = limit
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(MEMORY_LIMIT_VARIABLE, None)
        else:
            os.environ[MEMORY_LIMIT_VARIABLE] = before


def with_memory_limit(function: Callable, limit: str | None) -> Callable:
    """``function`` called within memory_limit_set(limit) (a command's run function with its --memory-limit)."""
    def limited(*args, **kwargs):
        with memory_limit_set(limit):
            return function(*args, **kwargs)
    return limited


def configured_memory_limit() -> str:
    """The memory limit of the runs' DuckDB: MIPS_DUCKDB_MEMORY_LIMIT when set, else DEFAULT_MEMORY_LIMIT."""
    return os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip() or DEFAULT_MEMORY_LIMIT


def spill_directory(work_dir: Path) -> Path:
    """Where DuckDB spills: under MIPS_DUCKDB_TEMP_DIRECTORY (a folder of its own per connection, which DuckDB
    creates and removes on close) when set, else the work folder's ``spill``."""
    root = os.environ.get(TEMP_DIRECTORY_VARIABLE, "").strip()
    if not root:
        return work_dir / "spill"
    from mips.fs import private_mkdir

    # spilled pages hold patient ids: the folder is owner-only like the work folder
    return private_mkdir(Path(root)) / f"mips-spill-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def connect(work_dir: Path | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection limited to ``memory_limit`` (default: configured_memory_limit()); with ``work_dir``,
    file-backed there and spilling to spill_directory(work_dir)."""
    limit = memory_limit or configured_memory_limit()
    if work_dir is None:
        con = duckdb.connect()
    else:
        from mips.fs import private_mkdir

        work_dir = private_mkdir(Path(work_dir))  # the work database holds patient ids
        database = work_dir / "work.duckdb"
        for stale in (database, work_dir / "work.duckdb.wal"):
            stale.unlink(missing_ok=True)  # a work database never outlives its run
        con = duckdb.connect(str(database))
        con.execute("SET temp_directory = " + sql_literal(spill_directory(work_dir).as_posix()))
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute(f"SET memory_limit = {sql_literal(limit)}")
    except duckdb.Error as error:
        from mips.errors import PipelineError

        con.close()
        raise PipelineError(f"{MEMORY_LIMIT_VARIABLE}: {limit!r} is not a DuckDB memory limit such as 3GB "
                            f"({str(error).splitlines()[0]})") from None
    return con
