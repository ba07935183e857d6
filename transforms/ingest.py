"""Read input files, validate them against their pandera contracts in DuckDB, keep every row accounted for.

For each file: file-level problems (missing, unreadable, empty, not text, wrong delimiter,
missing required column) raise ``InputFileError`` naming the file; every data row then ends
either in the accepted table (typed, named after the contract) or in ``rejects`` with the
rule and a reason. Valid rows that MIPS does not count are moved out of scope with a reason
(``mark_out_of_scope``), and ``ingest_summary`` reconciles
input_rows = accepted_rows + out_of_scope_rows + rejected_rows.

The checks are the pandera schemas' own checks (schemas/inputs.py), run through their SQL
twins: one set-based pass in DuckDB, fast on tens of millions of rows.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb

from mips.errors import InputFileError
from schemas import checks
from schemas.ingest import INGEST_OUT_OF_SCOPE, INGEST_SUMMARY, INGEST_WARNINGS, REJECTS
from schemas.inputs import CONTRACTS, InputContract

_SNIFF_BYTES = 64 * 1024
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class IngestResult:
    source_file: str
    table_name: str
    input_rows: int
    accepted_rows: int
    rejected_rows: int
    out_of_scope_rows: int = 0

    @property
    def rejected_fraction(self) -> float:
        return self.rejected_rows / self.input_rows if self.input_rows else 0.0


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------- file-level checks

def detect_format(path: Path) -> str:
    """'csv' or 'parquet', or an InputFileError saying why the file cannot be used."""
    if not path.exists():
        raise InputFileError(path, "file not found")
    if not path.is_file():
        raise InputFileError(path, "is not a file")
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error.strerror or error})") from None
    if not head:
        raise InputFileError(path, "is empty (0 bytes)")
    if head[:4] == b"PAR1":
        return "parquet"
    if b"\x00" in head:
        raise InputFileError(path, "is not a text (CSV) or Parquet file")
    try:
        # a cut in the middle of a multi-byte character at the sniff boundary is not an error
        head.decode("utf-8-sig") if len(head) < _SNIFF_BYTES else head[:-4].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(path, "is not UTF-8 text (save the CSV as UTF-8)") from None
    return "csv"


def _csv_header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        second = handle.readline()
    if not first.strip():
        raise InputFileError(path, "has no header row (first line is blank)")
    header = next(csv.reader(io.StringIO(first)))
    names = [h.strip().lower() for h in header]
    if len(names) == 1:
        for delimiter, word in _OTHER_DELIMITERS.items():
            if delimiter in first:
                raise InputFileError(path, f"is delimited by {word}s, expected commas (CSV)")
    duplicated = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicated:
        raise InputFileError(path, f"header repeats column(s): {', '.join(duplicated)}")
    if not second.strip():
        raise InputFileError(path, "has a header but no data rows")
    return names


def _check_columns(path: Path, present: list[str], contract: InputContract) -> None:
    missing = [c for c in contract.required_columns if c not in present]
    missing += [" or ".join(group) for group in contract.file_columns if not set(group) & set(present)]
    if missing:
        raise InputFileError(path, f"missing required column(s) for {contract.name}: {', '.join(missing)}")
    declared = set(contract.schema.columns)
    if not declared.intersection(present):
        raise InputFileError(path, f"has none of the {contract.name} columns (is it the right file?)")


# ---------------------------------------------------------------- raw load

def _work_folder(con) -> Path | None:
    """The folder of a file-backed work database (mips.db.connect: private to the run), None in memory."""
    found = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return Path(found[0]).parent if found and found[0] else None


def _raw_parquet_path(con, raw: str) -> Path | None:
    folder = _work_folder(con)
    return folder / "raw" / f"{raw}.parquet" if folder is not None else None


def _load_raw_csv(con, path: Path, header: list[str], raw: str, reader_rejects: str) -> str:
    """All columns as text, in file order; malformed lines go to ``reader_rejects`` (not lost).
    Returns the column of ``raw`` that numbers its rows from 0 in file order.

    With a file-backed work database the text is written once to an uncompressed Parquet file in the run's
    private work folder and read back through a view numbered by the reader's file_row_number, instead of being
    compressed into the work database. Writing it costs less, and its dictionary-encoded pages keep the typed
    pass cheap: at a million claim lines, ingest_file went from about 10.8 to 9.2 CPU s (a TEMP table, held
    uncompressed in memory, gave 10.1, and spilled a gigabyte more at ten million lines). In memory, a table."""
    columns = "{" + ", ".join(f"{_lit(n or f'column{i}')}: 'VARCHAR'" for i, n in enumerate(header)) + "}"
    scan = f"{reader_rejects}_scan"
    con.execute(f"DROP TABLE IF EXISTS {reader_rejects}; DROP TABLE IF EXISTS {scan}")
    _drop_raw(con, raw)
    read = f"""read_csv({_lit(path.as_posix())}, columns={columns}, header=true, auto_detect=false,
                         delim=',', quote='"', escape='"', encoding='utf-8',
                         store_rejects=true, rejects_table={_lit(reader_rejects)}, rejects_scan={_lit(scan)})"""
    clash = {"file_row_number", "_raw_position"} & set(header)  # names the Parquet reading takes for itself
    parquet = None if clash else _raw_parquet_path(con, raw)
    if parquet is None:
        # a plain copy keeps the file's order, so rowid numbers the rows (DuckDB keeps insertion order only for a plan
        # without a join; the typed pass, which has joins, carries the numbers as a column instead)
        con.execute(f"CREATE TABLE {raw} AS SELECT * FROM {read}")
        return "rowid"
    parquet.parent.mkdir(exist_ok=True)
    con.execute(f"COPY (SELECT * FROM {read}) TO {_lit(parquet.as_posix())} (FORMAT parquet, COMPRESSION uncompressed)")
    con.execute(f"""CREATE TEMP VIEW {raw} AS SELECT * EXCLUDE (file_row_number), file_row_number AS _raw_position
                    FROM read_parquet({_lit(parquet.as_posix())}, file_row_number = true)""")
    return "_raw_position"


def _load_raw_parquet(con, path: Path, raw: str) -> tuple[list[str], str]:
    """All columns as text; returns the present columns and the numbered rows (first data row = 1).

    ``raw`` is a temp view, not a copy: Parquet is cheap to scan again, and copying 10 million
    rows as text cost more than the scans the validation makes. A file with its own column named
    ``file_row_number`` (the reader option would clash with it) is copied and numbered by rowid.
    """
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(path.as_posix())})").fetchall()
    except duckdb.Error:
        raise InputFileError(path, "is not a readable Parquet file") from None
    present = {name.lower(): (name, dtype) for name, dtype, *_ in described}
    selects = []
    for name, (original, dtype) in present.items():
        expr = _q(original)
        if dtype.startswith("TIMESTAMP"):
            expr = f"CAST({expr} AS DATE)"  # a date stored as a midnight timestamp
        selects.append(f"CAST({expr} AS VARCHAR) AS {_q(name)}")
    _drop_raw(con, raw)
    if "file_row_number" in present:
        con.execute(f"""CREATE TABLE {raw} AS SELECT {', '.join(selects)}
                        FROM read_parquet({_lit(path.as_posix())})""")
        numbering = f"(SELECT *, rowid + 1 AS source_row_number FROM {raw})"
    else:
        con.execute(f"""CREATE TEMP VIEW {raw} AS SELECT {', '.join(selects)}, file_row_number + 1 AS source_row_number
                        FROM read_parquet({_lit(path.as_posix())}, file_row_number = true)""")
        numbering = raw
    try:
        rows = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    except duckdb.Error:
        raise InputFileError(path, "is not a readable Parquet file") from None
    if rows == 0:
        raise InputFileError(path, "has no data rows")
    return list(present), numbering


def _drop_raw(con, raw: str) -> None:
    """Drop a file's raw relation of an earlier (perhaps failed) ingest, whichever kind it is (a table, or a temp
    view over a Parquet file), and the raw Parquet file a CSV was written to."""
    found = con.execute("""SELECT 'TABLE', database_name FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'
                           UNION ALL SELECT 'VIEW', database_name FROM duckdb_views()
                           WHERE view_name = ? AND schema_name = 'main' AND NOT internal""", [raw, raw]).fetchall()
    for kind, database in found:
        con.execute(f"DROP {kind} {_q(database)}.main.{_q(raw)}")
    parquet = _raw_parquet_path(con, raw)
    if parquet is not None:
        parquet.unlink(missing_ok=True)


def _check_no_runaway_quote(con, path: Path, raw: str, reader_rejects: str) -> None:
    """An opening quote that never closes swallows the rest of the file into one bad row.

    Those rows would vanish from the counts, so compare with the file's physical lines and
    stop with a file-level error instead of losing them.
    """
    quote_errors = con.execute(f"SELECT min(line) FROM {reader_rejects} WHERE CAST(error_type AS VARCHAR) "
                               "IN ('UNQUOTED VALUE', 'INVALID STATE')").fetchone()[0]
    if quote_errors is None:
        return
    physical = con.execute(
        f"""SELECT count(*) - 1 FROM read_csv({_lit(path.as_posix())}, columns={{'line': 'VARCHAR'}}, header=false,
            auto_detect=false, delim='\x1f', quote='', escape='', strict_mode=false) WHERE trim(line) <> ''"""
    ).fetchone()[0]
    parsed = con.execute(f"SELECT (SELECT count(*) FROM {raw}) + (SELECT count(DISTINCT line) FROM {reader_rejects})"
                         ).fetchone()[0]
    if physical > parsed:
        raise InputFileError(path, f"data row {quote_errors - 1} opens a quote that never closes, so the "
                                   f"{physical - parsed} row(s) after it cannot be read")


# ---------------------------------------------------------------- validation

# Forgivable formatting (documented in docs/inputs.md, counted per file in ingest_warnings):
# - tin: "12-3456789" (the IRS's EIN form) and an 8-digit TIN (a spreadsheet dropped the leading zero) become
#   nine digits; anything else stays as written and the nine-digit rule rejects it.
# - date: MM/DD/YYYY (US order, 1- or 2-digit month and day) becomes YYYY-MM-DD, unless the file's column holds a
#   slash date whose first part is over 12 (then the column is day-first and no slash date of it is guessed: each
#   is rejected as not YYYY-MM-DD).
# An NPI is never padded: NPIs begin with 1 or 2, so a 9-digit NPI did not lose a zero; it is rejected.
TIN_DASHED = r"\d{2}-\d{7}"
TIN_EIGHT_DIGITS = r"\d{8}"
SLASH_DATE = r"\d{1,2}/\d{1,2}/\d{4}"
DAY_FIRST_DATE = r"(1[3-9]|[23]\d)/\d{1,2}/\d{4}"
_TIN_SQL = (f"CASE WHEN regexp_full_match({{t}}, '{TIN_DASHED}') THEN replace({{t}}, '-', '') "
            f"WHEN regexp_full_match({{t}}, '{TIN_EIGHT_DIGITS}') THEN '0' || {{t}} ELSE {{t}} END")
_DATE_SQL = (f"CASE WHEN regexp_full_match({{t}}, '{SLASH_DATE}') "
             f"THEN coalesce(strftime(try_strptime({{t}}, '%m/%d/%Y'), '%Y-%m-%d'), {{t}}) ELSE {{t}} END")

_NORMALIZE = {
    "tin": _TIN_SQL.replace("{t}", "NULLIF(trim({c}), '')"),
    "date": _DATE_SQL.replace("{t}", "NULLIF(trim({c}), '')"),
    "date_as_written": "NULLIF(trim({c}), '')",
    "text": "NULLIF(trim({c}), '')",
    "upper": "NULLIF(upper(trim({c})), '')",
    "lower": "NULLIF(lower(trim({c})), '')",
    "icd10": "NULLIF(replace(upper(trim({c})), '.', ''), '')",
}

_CAST = {
    "VARCHAR": "{c}",
    "DATE": "CAST({c} AS DATE)",
    "INTEGER": "CAST({c} AS INTEGER)",
    "BIGINT": "CAST({c} AS BIGINT)",
    "DOUBLE": "CAST({c} AS DOUBLE)",
    "BOOLEAN": "CASE WHEN {c} IN (" + ", ".join(_lit(w) for w in checks.TRUE_WORDS) + ") THEN true "
               "WHEN {c} IS NOT NULL THEN false END",
}


def _typed_value(name: str, col) -> str:
    """The column cast to its contract type, for rows that pass every rule (``_failed`` false): their checks prove
    the value casts; a failing row is rejected whole, so its values are never cast (and never break the cast)."""
    cast = _CAST[col.metadata["type"]].format(c=_q(name))
    if col.metadata["type"] in ("VARCHAR", "BOOLEAN"):  # no cast that can fail
        return cast
    return f"CASE WHEN NOT _failed THEN {cast} END"


def _rules(contract: InputContract) -> list[tuple[str, str | None, str, str]]:
    """(predicate, column, rule, reason) per rule: the row passes the rule when the predicate is not false."""
    rules = []
    for name, col in contract.schema.columns.items():
        if not col.nullable:
            rules.append((f"{_q(name)} IS NOT NULL", name, "required_value_missing", "required value is empty"))
        for check in col.checks:
            # a null passes every value check (ignore_na); presence is the required rule's job
            rules.append((f"({_q(name)} IS NULL OR {checks.render_sql(check, _q(name))})", name, check.name,
                          check.statistics[checks.REASON_KEY]))
    for check in contract.schema.checks:
        rules.append((check.statistics[checks.SQL_KEY], None, check.name, check.statistics[checks.REASON_KEY]))
    return rules


def _failure_items(contract: InputContract) -> list[str]:
    """One SQL item per rule: a struct when the row fails the rule, NULL otherwise."""
    def item(predicate: str, column: str | None, rule: str, reason: str) -> str:
        column_sql = "NULL" if column is None else _lit(column)
        return (f"CASE WHEN NOT coalesce({predicate}, true) THEN "
                f"{{'column': {column_sql}, 'rule': {_lit(rule)}, 'reason': {_lit(reason)}}} END")

    return [item(*rule) for rule in _rules(contract)]


def _any_failure(contract: InputContract) -> str:
    """True when the row fails any rule: plain booleans (no struct a rule per row), so the pass over every row
    stays cheap; the structs are built for failing rows only."""
    return " OR ".join(f"NOT coalesce({predicate}, true)" for predicate, *_ in _rules(contract)) or "FALSE"


def ingest_file(con: duckdb.DuckDBPyConnection, path: str | Path, contract: InputContract | str, *,
                table_name: str | None = None) -> IngestResult:
    """Validate one file and create the typed table ``table_name`` (default: the contract's name).

    Appends the file's rejected rows to the ``rejects`` table and its reconciliation to the
    ``ingest_summary`` table (both created if absent, without performance_year; the caller
    adds the period when publishing).
    """
    contract = CONTRACTS[contract] if isinstance(contract, str) else contract
    path = Path(path)
    target = table_name or contract.name
    source = str(path)
    fmt = detect_format(path)
    raw, reader_rejects, norm = f"_raw_{target}", f"_reader_rejects_{target}", f"_norm_{target}"
    _ensure_ingest_tables(con)

    if fmt == "csv":
        header = _csv_header(path)
        _check_columns(path, header, contract)
        try:
            position = _load_raw_csv(con, path, header, raw, reader_rejects)
        except duckdb.Error as error:
            first_line = str(error).splitlines()[0][:200]
            raise InputFileError(path, f"cannot be parsed as CSV ({first_line})") from None
        present = header
        # Data row numbers of accepted rows, accounting for malformed lines the reader set aside:
        # for accepted row k (0-based), add the count of malformed rows before it.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _bad_rows AS
            SELECT line - 1 AS row_number,
                   CAST(error_type AS VARCHAR) AS error_type,
                   line - 1 - row_number() OVER (ORDER BY line) AS accepted_before,
                   row_number() OVER (ORDER BY line) AS bad_so_far
            FROM (SELECT line, min(CAST(error_type AS VARCHAR)) AS error_type FROM {reader_rejects} GROUP BY line)""")
        _check_no_runaway_quote(con, path, raw, reader_rejects)
        numbering = f"(SELECT *, {position} + 1 AS source_row_number FROM {raw})"
        if con.execute("SELECT count(*) FROM _bad_rows").fetchone()[0]:
            numbering = f"""
            (SELECT r.*, r.{position} + 1 + coalesce(b.bad_so_far, 0) AS source_row_number
             FROM (SELECT *{", rowid" if position == "rowid" else ""} FROM {raw}) r
             ASOF LEFT JOIN (SELECT accepted_before, max(bad_so_far) AS bad_so_far FROM _bad_rows GROUP BY 1) b
               ON r.{position} >= b.accepted_before)"""
    else:
        present, numbering = _load_raw_parquet(con, path, raw)
        _check_columns(path, present, contract)
        con.execute("CREATE OR REPLACE TEMP TABLE _bad_rows (row_number BIGINT, error_type VARCHAR)")

    try:  # the first pass that reads values: a Parquet file with undecodable data pages fails here
        how = _forgiven_formatting(con, numbering, contract, present, target, source)
    except duckdb.Error:
        if fmt != "parquet":
            raise
        raise InputFileError(path, "is not a readable Parquet file (a data page cannot be decoded)") from None

    # Normalize (trim, '' -> null, case, ICD-10 dots, forgivable TIN and date forms) every declared column; absent
    # optional ones are null. A view, not a copy: the file's rows are held at most once (in the raw table for CSV).
    selects = []
    for name, col in contract.schema.columns.items():
        if name in present:
            selects.append(_NORMALIZE[how.get(name, col.metadata["normalize"])].replace("{c}", _q(name)) + f" AS {_q(name)}")
        else:
            selects.append(f"CAST(NULL AS VARCHAR) AS {_q(name)}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {norm} AS SELECT {', '.join(selects)}, source_row_number FROM {numbering}")

    # One typed pass: every row is normalised, checked against every rule and cast in the same scan, straight into
    # the contract table. Most rows pass; a failing row keeps the list of the rules it fails (built for failing rows
    # only) and no typed values (a value that fails its check is never cast), and is deleted from the table once its
    # rejects are recorded. The table is not in file order on a big file: DuckDB turns a rule's list of five or
    # more values (x IN (...)) into a join, and then writes the table on every thread without keeping the order.
    # source_row_number is each row's place in the file; every reader orders by it or by a key, never by position.
    items = _failure_items(contract)
    any_failure = _any_failure(contract)
    typed = ", ".join(_typed_value(name, col) + f" AS {_q(name)}" for name, col in contract.schema.columns.items())
    failing = ("CASE WHEN _failed THEN list_filter([" + ", ".join(items) + "], lambda x: x IS NOT NULL) END"
               if items else "CAST(NULL AS STRUCT(\"column\" VARCHAR, rule VARCHAR, reason VARCHAR)[])")
    try:  # the first pass that reads every value: a Parquet file with undecodable data pages fails here
        con.execute(f"""
            CREATE OR REPLACE TABLE {_q(target)} AS
            SELECT {typed}, {_lit(source)} AS source_file, source_row_number, {failing} AS _failures
            FROM (SELECT *, {any_failure} AS _failed FROM {norm})""")
    except (duckdb.InvalidInputException, duckdb.IOException):
        if fmt != "parquet":
            raise
        raise InputFileError(path, "is not a readable Parquet file (a data page cannot be decoded)") from None
    key = ", ".join(_q(k) for k in contract.key)
    # an empty optional key column (e.g. payer) still identifies duplicates: nulls compare equal here
    key_match = " AND ".join(f"n.{_q(k)} IS NOT DISTINCT FROM d.{_q(k)}" for k in contract.key)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _failures AS
        SELECT source_row_number AS row_number, f.column AS "column", f.rule, f.reason
        FROM (SELECT source_row_number, unnest(_failures) AS f FROM {_q(target)} WHERE _failures IS NOT NULL)
        UNION ALL
        SELECT source_row_number, NULL, 'duplicate_key',
               'duplicate of an earlier row with the same ' || {_lit(', '.join(contract.key))}
        FROM (SELECT source_row_number,
                     row_number() OVER (PARTITION BY {key} ORDER BY source_row_number) AS occurrence
              FROM {norm} n SEMI JOIN (SELECT {key} FROM {norm} GROUP BY ALL HAVING count(*) > 1) d
                ON {key_match})
        WHERE occurrence > 1
        UNION ALL
        SELECT row_number, NULL, 'malformed_row',
               CASE error_type WHEN 'MISSING COLUMNS' THEN 'row has fewer fields than the header'
                               WHEN 'TOO MANY COLUMNS' THEN 'row has more fields than the header'
                               WHEN 'INVALID UNICODE' THEN 'row is not valid UTF-8'
                               ELSE 'row cannot be parsed as CSV (' || lower(error_type) || ')' END
        FROM _bad_rows""")
    con.execute("CREATE OR REPLACE TEMP TABLE _failed_rows AS SELECT DISTINCT row_number FROM _failures")
    rejected = con.execute("SELECT count(*) FROM _failed_rows").fetchone()[0]
    if rejected:
        con.execute(f"DELETE FROM {_q(target)} WHERE source_row_number IN (SELECT row_number FROM _failed_rows)")
    con.execute(f"ALTER TABLE {_q(target)} DROP COLUMN _failures")
    con.execute(f"""INSERT INTO _rejects
        SELECT {_lit(source)}, {_lit(contract.name)}, row_number, "column", rule, reason FROM _failures""")

    input_rows = con.execute(f"SELECT (SELECT count(*) FROM {raw}) + (SELECT count(*) FROM _bad_rows)").fetchone()[0]
    accepted = con.execute(f"SELECT count(*) FROM {_q(target)}").fetchone()[0]
    con.execute(f"DROP VIEW {norm}; DROP TABLE _failures; DROP TABLE _failed_rows")
    _drop_raw(con, raw)
    result = IngestResult(source, contract.name, int(input_rows), int(accepted), int(rejected))
    _record_summary(con, result)
    return result


def _forgiven_formatting(con, numbering: str, contract: InputContract, present: list[str], table: str,
                         source: str) -> dict[str, str]:
    """Count, per file, the TINs and dates written in a forgivable form, record the counts in ingest_warnings,
    and return how each TIN or date column of this file is normalised.

    One cheap scan (a dash, a length, a slash) tells which columns hold anything to forgive; only those are
    counted exactly and normalised, so a clean file of ten million lines pays one light pass and nothing in the
    passes that follow."""
    cheap, columns = [], []
    for name, col in contract.schema.columns.items():
        if name in present and col.metadata["normalize"] in ("tin", "date"):
            value = f"trim({_q(name)})"
            probe = (f"(strpos({value}, '-') > 0 OR length({value}) = 8)" if col.metadata["normalize"] == "tin"
                     else f"strpos({value}, '/') > 0")
            cheap.append(f"count(*) FILTER (WHERE {probe})")
            columns.append((name, col.metadata["normalize"]))
    if not columns:
        return {}
    hits = con.execute(f"SELECT {', '.join(cheap)} FROM {numbering}").fetchone()
    how = {name: "text" for (name, _), n in zip(columns, hits) if not n}  # nothing to forgive: plain trim
    items, labels = [], []
    for (name, kind), n in zip(columns, hits):
        if not n:
            continue
        value = f"trim({_q(name)})"
        if kind == "tin":
            items += [f"count(*) FILTER (WHERE regexp_full_match({value}, '{TIN_DASHED}'))",
                      f"count(*) FILTER (WHERE regexp_full_match({value}, '{TIN_EIGHT_DIGITS}'))"]
            labels += [(name, "tin_dash_removed"), (name, "tin_leading_zero_restored")]
        else:
            items += [f"count(*) FILTER (WHERE regexp_full_match({value}, '{SLASH_DATE}'))",
                      f"count(*) FILTER (WHERE regexp_full_match({value}, '{DAY_FIRST_DATE}'))"]
            labels += [(name, "date_month_first"), (name, "date_day_first")]
    if not items:
        return how
    counts = dict(zip(labels, con.execute(f"SELECT {', '.join(items)} FROM {numbering}").fetchone()))
    file_name = Path(source).name
    for (name, kind), n in counts.items():
        if not n:
            continue
        if kind == "date_month_first":
            if counts[(name, "date_day_first")]:
                continue  # reported as day-first below
            description = (f"{file_name}: {n} {name} value(s) written MM/DD/YYYY, read month first "
                           "(no value of the column has a first part over 12)")
        elif kind == "date_day_first":
            how[name] = "date_as_written"
            description = (f"{file_name}: {name} holds day-first dates (DD/MM/YYYY); its slash dates are not "
                           "guessed and are rejected: write YYYY-MM-DD")
        elif kind == "tin_dash_removed":
            description = f"{file_name}: {n} {name} value(s) written NN-NNNNNNN, read without the dash"
        else:
            description = (f"{file_name}: {n} {name} value(s) of 8 digits, read with the leading zero a "
                           "spreadsheet dropped")
        con.execute("INSERT INTO _ingest_warnings VALUES (?, ?, ?, ?)",
                    [table, f"{kind}:{name}:{file_name}", int(n), description])
    return how


def _ensure_ingest_tables(con) -> None:
    con.execute("""CREATE TABLE IF NOT EXISTS _rejects (source_file VARCHAR, table_name VARCHAR, row_number BIGINT,
                   "column" VARCHAR, rule VARCHAR, reason VARCHAR)""")
    con.execute("""CREATE TABLE IF NOT EXISTS _ingest_summary (source_file VARCHAR, table_name VARCHAR,
                   input_rows BIGINT, accepted_rows BIGINT, rejected_rows BIGINT, out_of_scope_rows BIGINT DEFAULT 0)""")
    con.execute("""CREATE TABLE IF NOT EXISTS _out_of_scope (source_file VARCHAR, table_name VARCHAR, reason VARCHAR,
                   "rows" BIGINT)""")
    con.execute("""CREATE TABLE IF NOT EXISTS _ingest_warnings (table_name VARCHAR, rule VARCHAR,
                   rows_affected BIGINT, description VARCHAR)""")


def _record_summary(con, result: IngestResult) -> None:
    con.execute("DELETE FROM _ingest_summary WHERE source_file = ?", [result.source_file])
    con.execute("INSERT INTO _ingest_summary VALUES (?, ?, ?, ?, ?, ?)",
                [result.source_file, result.table_name, result.input_rows, result.accepted_rows, result.rejected_rows,
                 result.out_of_scope_rows])


def record_out_of_scope(con: duckdb.DuckDBPyConnection, source_file: str, table_name: str, reason: str,
                        rows: int) -> None:
    """Count ``rows`` valid rows of a file as out of scope for ``reason`` (for readers that set rows aside
    before a contract table exists, e.g. FHIR resources of a type no measure reads). The file's summary row
    must already count them in input_rows and out_of_scope_rows."""
    _ensure_ingest_tables(con)
    if rows:
        con.execute("INSERT INTO _out_of_scope VALUES (?, ?, ?, ?)", [source_file, table_name, reason, int(rows)])


def mark_out_of_scope(con: duckdb.DuckDBPyConnection, table: str, reason: str, predicate: str, *,
                      keep_in: str | None = None) -> int:
    """Move the accepted rows of ``table`` matching ``predicate`` (SQL over the table, alias ``t``) out of scope.

    Valid rows that MIPS does not count (institutional claims, another payer, a line outside the period) are
    neither rejected nor used: they leave the contract table, ``ingest_out_of_scope`` counts them per file with
    ``reason``, and ``ingest_summary`` moves them from accepted_rows to out_of_scope_rows. With ``keep_in`` the
    rows are appended to that table (created with the contract table's columns if absent), for a step that still
    needs them for another purpose (e.g. the low-volume threshold's determination segments). Returns the count.
    """
    _ensure_ingest_tables(con)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _scope AS
                    SELECT source_file, source_row_number FROM {_q(table)} t WHERE {predicate}""")
    moved = con.execute("SELECT count(*) FROM _scope").fetchone()[0]
    if moved:
        if keep_in:
            con.execute(f"CREATE TABLE IF NOT EXISTS {_q(keep_in)} AS SELECT * FROM {_q(table)} WHERE FALSE")
            con.execute(f"""INSERT INTO {_q(keep_in)} SELECT t.* FROM {_q(table)} t SEMI JOIN _scope s
                            ON s.source_file = t.source_file AND s.source_row_number = t.source_row_number""")
        con.execute(f"""INSERT INTO _out_of_scope SELECT source_file, {_lit(table)}, {_lit(reason)}, count(*)
                        FROM _scope GROUP BY source_file""")
        con.execute(f"""DELETE FROM {_q(table)} WHERE (source_file, source_row_number) IN
                        (SELECT (source_file, source_row_number) FROM _scope)""")
        con.execute("""UPDATE _ingest_summary s SET accepted_rows = accepted_rows - x.n,
                              out_of_scope_rows = out_of_scope_rows + x.n
                       FROM (SELECT source_file, count(*) AS n FROM _scope GROUP BY 1) x
                       WHERE s.source_file = x.source_file""")
    con.execute("DROP TABLE _scope")
    return int(moved)


# ---------------------------------------------------------------- rules across tables

def apply_cross_table_rules(con: duckdb.DuckDBPyConnection) -> None:
    """Rules that need two tables: service dates before the patient's birth are rejected;
    claims NPIs missing from the roster and persons with no eligibility are warnings."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    if {"medical_claim", "eligibility"} <= tables:
        _reject_where(con, "medical_claim", "claim_line_start_date", "service_before_birth",
                      "date of service is before the patient's birth date",
                      "claim_line_start_date < (SELECT min(e.birth_date) FROM eligibility e WHERE e.person_id = t.person_id)")
        _warn(con, "medical_claim", "person_without_eligibility",
              "SELECT count(DISTINCT person_id) FROM medical_claim c WHERE NOT EXISTS "
              "(SELECT 1 FROM eligibility e WHERE e.person_id = c.person_id)",
              "persons with claims but no eligibility row: their age and sex are unknown, so age- or sex-limited measures skip them")
    if {"encounter", "patient"} <= tables:
        _reject_where(con, "encounter", "encounter_start_date", "service_before_birth",
                      "date of service is before the patient's birth date",
                      "encounter_start_date < (SELECT min(p.birth_date) FROM patient p WHERE p.person_id = t.person_id)")
        _warn(con, "encounter", "person_without_patient_row",
              "SELECT count(DISTINCT person_id) FROM encounter c WHERE NOT EXISTS "
              "(SELECT 1 FROM patient p WHERE p.person_id = c.person_id)",
              "persons with encounters but no patient row")
    if {"medical_claim", "clinician_roster"} <= tables:
        _warn(con, "medical_claim", "rendering_npi_not_in_roster",
              "SELECT count(*) FROM medical_claim c WHERE NOT EXISTS (SELECT 1 FROM clinician_roster r "
              "WHERE r.npi = c.rendering_npi AND r.tin = c.billing_tin)",
              "claim lines whose TIN/NPI is not in the clinician roster (kept; flags default to unknown)")
    for child in ("condition", "procedure"):
        if {child, "encounter"} <= tables:
            _warn(con, child, "encounter_not_found",
                  f"SELECT count(*) FROM {child} c WHERE NOT EXISTS (SELECT 1 FROM encounter e "
                  "WHERE e.encounter_id = c.encounter_id)",
                  f"{child} rows whose encounter is not in the encounter file (they cannot count)")


def _reject_where(con, table: str, column: str, rule: str, reason: str, predicate: str) -> None:
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _cross AS
                    SELECT source_file, source_row_number FROM {table} t WHERE {predicate}""")
    con.execute(f"""INSERT INTO _rejects SELECT source_file, {_lit(table)}, source_row_number, {_lit(column)},
                    {_lit(rule)}, {_lit(reason)} FROM _cross""")
    con.execute(f"""DELETE FROM {table} WHERE (source_file, source_row_number) IN
                    (SELECT (source_file, source_row_number) FROM _cross)""")
    con.execute(f"""UPDATE _ingest_summary s SET accepted_rows = accepted_rows - x.n, rejected_rows = rejected_rows + x.n
                    FROM (SELECT source_file, count(*) AS n FROM _cross GROUP BY 1) x
                    WHERE s.source_file = x.source_file""")
    con.execute("DROP TABLE _cross")


def _warn(con, table: str, rule: str, count_sql: str, description: str) -> None:
    count = con.execute(count_sql).fetchone()[0]
    if count:
        con.execute("INSERT INTO _ingest_warnings VALUES (?, ?, ?, ?)", [table, rule, count, description])


# ---------------------------------------------------------------- results

def ingest_tables(con: duckdb.DuckDBPyConnection, performance_year: int) -> dict[str, str]:
    """Create the published ingest tables (rejects, ingest_summary, ingest_warnings) for the period."""
    py = int(performance_year)
    con.execute(f"""CREATE OR REPLACE TABLE rejects AS {REJECTS.select_sql(
        f"(SELECT {py} AS performance_year, * FROM _rejects)")}""")
    con.execute(f"""CREATE OR REPLACE TABLE ingest_summary AS {INGEST_SUMMARY.select_sql(
        f"(SELECT {py} AS performance_year, *, round(100.0 * rejected_rows / greatest(input_rows, 1), 3) "
        f"AS rejected_percent FROM _ingest_summary)")}""")
    con.execute(f"""CREATE OR REPLACE TABLE ingest_warnings AS {INGEST_WARNINGS.select_sql(
        f"(SELECT {py} AS performance_year, * FROM _ingest_warnings)")}""")
    con.execute(f"""CREATE OR REPLACE TABLE ingest_out_of_scope AS {INGEST_OUT_OF_SCOPE.select_sql(
        f'(SELECT {py} AS performance_year, source_file, min(table_name) AS table_name, reason, sum("rows") AS "rows" '
        f"FROM _out_of_scope GROUP BY source_file, reason)")}""")
    return {"rejects": "rejects", "ingest_summary": "ingest_summary", "ingest_warnings": "ingest_warnings",
            "ingest_out_of_scope": "ingest_out_of_scope"}


def check_reconciliation(con: duckdb.DuckDBPyConnection) -> None:
    """Every file: input = accepted + out of scope + rejected, and the rejects and out-of-scope tables agree.
    A failure here is a bug."""
    _ensure_ingest_tables(con)
    bad = con.execute("""
        SELECT s.source_file FROM _ingest_summary s
        LEFT JOIN (SELECT source_file, count(DISTINCT row_number) AS n FROM _rejects GROUP BY 1) r USING (source_file)
        LEFT JOIN (SELECT source_file, sum("rows") AS n FROM _out_of_scope
                   WHERE table_name <> 'coding' GROUP BY 1) o USING (source_file)  -- codings are parts of kept rows
        WHERE s.input_rows <> s.accepted_rows + s.out_of_scope_rows + s.rejected_rows
           OR s.rejected_rows <> coalesce(r.n, 0) OR s.out_of_scope_rows <> coalesce(o.n, 0)""").fetchall()
    if bad:
        raise AssertionError(f"ingest does not reconcile for: {', '.join(b[0] for b in bad)}")


def files_over_threshold(con: duckdb.DuckDBPyConnection, max_rejected_percent: float) -> list[tuple[str, float]]:
    # FHIR files are held to the threshold per resource type across the folder (transforms.fhir_files)
    return con.execute("""SELECT source_file, round(100.0 * rejected_rows / input_rows, 2) FROM _ingest_summary
                          WHERE input_rows > 0 AND 100.0 * rejected_rows / input_rows > ?
                            AND table_name <> 'fhir_resource' ORDER BY 1""",
                       [max_rejected_percent]).fetchall()


def ingest_inputs(con: duckdb.DuckDBPyConnection, files: dict[str, str | Path], *,
                  scope: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
                  on_file: Callable[[str, Path], object] | None = None) -> list[IngestResult]:
    """Validate every given input (contract name -> path), then apply the rules across tables.

    ``scope`` (e.g. transforms.claims_scope.apply_part_b_scope) moves valid rows MIPS does not count out of
    scope after the files are read and before the rules across tables, which then see only counted rows.
    ``on_file(name, path)`` is called before each file is read (progress; never given row data).
    Returns one result per file, after scope and cross-table rejections, in the order given.
    """
    from transforms.sources import cclf, tuva

    unknown = sorted(set(files) - set(CONTRACTS) - {"cclf"})
    if unknown:
        raise ValueError(f"unknown input table(s): {', '.join(unknown)}")
    cclf_files: list[str] = []
    for name, path in files.items():
        if on_file is not None:  # e.g. the command line's progress line: which file is being read
            on_file(name, Path(path))
        if name == "cclf":  # a folder of CMS CCLF files, mapped into medical_claim and eligibility
            cclf_files = cclf.ingest_cclf(con, Path(path))
        else:
            ingest_file(con, path, CONTRACTS[name])
    if "medical_claim" in files or "cclf" in files:
        tuva.choose_billing_tin(con)  # the TIN every later step uses
    if scope is not None:
        scope(con)
    apply_cross_table_rules(con)
    check_reconciliation(con)
    return summary_results(con, files, cclf_files)


def summary_results(con: duckdb.DuckDBPyConnection, files: dict[str, str | Path],
                    cclf_files: list[str] = ()) -> list[IngestResult]:
    """One result per given file, as ``_ingest_summary`` counts it now (after any scope rule), in the order given;
    a CCLF folder gives one result per CCLF file read (``cclf_files``)."""
    rows = con.execute("SELECT source_file, table_name, input_rows, accepted_rows, rejected_rows, out_of_scope_rows "
                       "FROM _ingest_summary").fetchall()
    by_file = {r[0]: IngestResult(*r) for r in rows}
    results = []
    for name, path in files.items():
        if name == "cclf":
            results += [by_file[f] for f in cclf_files]
        else:
            results.append(by_file[str(Path(path))])
    return results
