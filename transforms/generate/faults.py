"""Deliberately bad rows, so the quick start shows rejects (``--bad-rows-percent``).

A spoiled row keeps its other values and gets one fault the ingest must reject: an NPI whose
check digit is wrong, an impossible date, a gender or sex outside male/female/unknown, a code
of the wrong shape, or (claim lines) an exact duplicate appended at the end of the file.
Which rows are spoiled is a hash of the seed, the table and the row's position, so it is
deterministic too. With faults on, every column is written as text (a bad date is no DATE).
"""
from __future__ import annotations

import duckdb

from transforms.generate.rand import Draws


def _next_check_digit(column: str) -> str:
    return f"substr({column}, 1, 9) || CAST((CAST(substr({column}, 10, 1) AS INTEGER) + 1) % 10 AS VARCHAR)"


def _impossible_date(column: str, month_day: str) -> str:
    return f"strftime({column}, '%Y') || '{month_day}'"


# table -> fault -> {column: replacement SQL}; an empty mapping means "duplicate the row".
FAULTS: dict[str, dict[str, dict[str, str]]] = {
    "medical_claim": {
        "npi_check_digit": {"rendering_npi": _next_check_digit("rendering_npi")},
        "impossible_date": {"claim_line_start_date": _impossible_date("claim_line_start_date", "-02-30")},
        "duplicate_line": {},
    },
    "eligibility": {
        "unknown_gender": {"gender": "'X'"},
        "impossible_date": {"birth_date": _impossible_date("birth_date", "-13-01")},
    },
    "patient": {"unknown_sex": {"sex": "'X'"}},
    "encounter": {
        "npi_check_digit": {"rendering_npi": _next_check_digit("rendering_npi")},
        "impossible_date": {"encounter_start_date": _impossible_date("encounter_start_date", "-02-30")},
    },
    "condition": {"code_shape": {"source_code": "'12345'"}},
    "procedure": {"code_shape": {"source_code": "'ABC'"}},
}


def spoil_sql(con: duckdb.DuckDBPyConnection, table: str, sql: str, *, seed: int, percent: float) -> str:
    """``sql`` with about ``percent`` % of its rows spoiled (unchanged when 0 or the table has no faults)."""
    kinds = FAULTS.get(table, {})
    if percent <= 0 or not kinds:
        return sql
    columns = [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]
    names = list(kinds)
    draws = Draws(seed)
    threshold = int(round(percent * 10_000))  # draws are on [0, 1,000,000)
    pick = f"['" + "', '".join(names) + f"'][1 + {draws.integer(f'fault_kind_{table}', str(len(names)), '_row')}]"

    def text(column: str) -> str:
        overrides = [f"WHEN '{k}' THEN {repl[column]}" for k, repl in kinds.items() if column in repl]
        plain = f'CAST("{column}" AS VARCHAR)'
        if not overrides:
            return f'{plain} AS "{column}"'
        return f'CASE _fault {" ".join(overrides)} ELSE {plain} END AS "{column}"'

    body = ", ".join(text(c) for c in columns)
    plain = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in columns)
    duplicates = [k for k, repl in kinds.items() if not repl]
    union = ""
    if duplicates:
        listed = ", ".join(f"'{k}'" for k in duplicates)
        union = f"UNION ALL SELECT {plain} FROM spoiled WHERE _fault IN ({listed})"
    return f"""
        WITH numbered AS (SELECT *, row_number() OVER () AS _row FROM ({sql}) src),
        spoiled AS (
            SELECT *, CASE WHEN {draws.hash(f'fault_{table}', '_row')} % 1000000 < {threshold} THEN {pick} END AS _fault
            FROM numbered
        )
        SELECT {body} FROM spoiled
        {union}
    """
