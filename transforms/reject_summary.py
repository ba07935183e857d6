"""What a run's rejects say in one line: the rules that rejected the most rows of a file."""
from __future__ import annotations

import duckdb


def top_reject_rules(con: duckdb.DuckDBPyConnection, source_file: str, limit: int = 3,
                     rejects: str = "rejects") -> list[tuple[str, str | None, int]]:
    """(rule, column, rejected rows) of ``source_file``, most rows first (ties by rule, column).

    A row that fails two rules counts under each, so the counts can add up to more than the rows rejected.
    """
    return [(rule, column, int(rows)) for rule, column, rows in con.execute(f"""
        SELECT rule, "column", count(DISTINCT row_number) AS rows
        FROM {rejects} WHERE source_file = ?
        GROUP BY rule, "column"
        ORDER BY rows DESC, rule, "column" NULLS FIRST
        LIMIT ?""", [source_file, limit]).fetchall()]


def describe_top_rules(con: duckdb.DuckDBPyConnection, source_file: str, limit: int = 3,
                       rejects: str = "rejects") -> str:
    """'rule on column: N rows, ...' for a message (rule names and counts only, never a value)."""
    return ", ".join(f"{rule}{f' on {column}' if column else ''}: {rows:,} row{'s' if rows != 1 else ''}"
                     for rule, column, rows in top_reject_rules(con, source_file, limit, rejects))
