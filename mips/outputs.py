"""Writing output tables as Parquet, one hive partition per performance year.

A partition is written to a temporary folder beside it and then swapped in with
renames, so a reader never sees half a partition and a crash leaves the last
good partition in place.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import duckdb

from schemas.tables import TableSpec


def partition_dir(output_root: Path, spec: TableSpec, performance_year: int) -> Path:
    return Path(output_root) / spec.name / f"performance_year={performance_year}"


def write_partition(con: duckdb.DuckDBPyConnection, spec: TableSpec, relation: str,
                    output_root: Path, performance_year: int) -> int:
    """Write ``relation`` (rows of one performance year) as the table's partition; return the row count.

    The relation must have every declared column; it is cast and ordered by ``spec.select_sql``.
    The performance_year column is carried by the folder name (hive partitioning), not the file.
    """
    final = partition_dir(output_root, spec, performance_year)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".staging-{final.name}-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        columns = [c for c in spec.column_names if c != "performance_year"]
        select = spec.select_sql(relation)
        quoted = ", ".join(f'"{c}"' for c in columns)
        target = staging / "data.parquet"
        con.execute(f"COPY (SELECT {quoted} FROM ({select})) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0]
        old = final.parent / f".old-{final.name}-{uuid.uuid4().hex}"
        if final.exists():
            os.rename(final, old)
        os.rename(staging, final)
        shutil.rmtree(old, ignore_errors=True)
        return int(rows)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
