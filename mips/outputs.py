"""Writing one output table's partition (kept for callers that publish table by table).

The output store (``mips.store``) owns the layout. ``write_partition`` publishes one table of a
period as a new version of that period, carrying the period's other tables over unchanged; a
whole period run should instead publish all its tables at once with ``mips.store.publish_period``.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from mips.store import publish_period, table_link
from schemas.tables import TableSpec


def partition_dir(output_root: Path, spec: TableSpec, performance_year: int) -> Path:
    return table_link(output_root, spec.name, performance_year).parent


def write_partition(con: duckdb.DuckDBPyConnection, spec: TableSpec, relation: str,
                    output_root: Path, performance_year: int) -> int:
    """Write ``relation`` (rows of one performance year) as the table's partition; return the row count.

    The relation must have every declared column (performance_year may be absent: the folder
    name carries it); it is cast and ordered by ``spec.select_sql`` and checked before the switch.
    """
    published = publish_period(con, Path(output_root), performance_year, {spec: relation}, merge=True)
    return published.rows[spec.name]
