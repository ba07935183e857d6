"""`mips sql "select ..."`: query the published outputs, one view per output table."""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from mips.errors import PipelineError

NAME = "sql"
HELP = "Query the output tables with DuckDB SQL (one view per table, every published performance year)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help='SQL, e.g. "select performance_year, count(*) from final_scores group by 1"')
    parser.add_argument("--output", type=Path, default=Path("out"), help="output folder of the runs (default out/)")
    parser.add_argument("--max-rows", type=int, default=100, help="rows to print at most (default 100)")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")


def run(args) -> int:
    import duckdb

    if not args.output.is_dir():
        raise PipelineError(f"no output folder {args.output} (run `mips run ... --output {args.output}` first)")
    con, tables = open_read_only(args.output)
    try:
        try:
            check_query(con, args.query)
            relation = con.sql(args.query)
        except duckdb.Error as error:
            hint = f" (tables: {', '.join(tables)})" if tables else f" (no tables published in {args.output})"
            raise PipelineError(str(error).splitlines()[0] + hint) from None
        if relation is None:  # a statement without a result
            return 0
        columns = relation.columns
        try:
            rows = relation.limit(args.max_rows + 1).fetchall()
        except duckdb.Error as error:
            raise PipelineError(str(error).splitlines()[0]) from None
        more = len(rows) > args.max_rows
        rows = rows[:args.max_rows]
        if args.csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(rows)
        else:
            print(format_table(columns, rows))
        if more:
            print(f"(first {args.max_rows} rows shown; use --max-rows)", file=sys.stderr)
        return 0
    finally:
        con.close()


def open_read_only(root: Path):
    """A connection that can only read the published outputs of ``root``: the catalog opened read-only
    (or, when it is missing or names another folder, e.g. after a move, the same views in memory),
    with DuckDB's file access limited to the output folder and the configuration locked."""
    import duckdb

    from mips.catalog import CATALOG_FILE, create_views, table_names

    root = Path(root).resolve()
    catalog = root / CATALOG_FILE
    con = None
    if catalog.is_file():
        try:
            con = duckdb.connect(str(catalog), read_only=True)
            views = dict(con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall())
            tables = table_names(root)
            reading = {name for name, sql in views.items() if "read_parquet" in sql}
            if reading != set(tables) or not all(f"'{root.as_posix()}/{t}/" in views[t] for t in tables):
                con.close()
                con = None  # stale (the folder moved, or a run is between its publish and its catalog)
        except duckdb.Error:
            con = None
    if con is None:
        con = duckdb.connect()  # in memory: never locks catalog.duckdb
        tables = create_views(con, root)
    con.execute("SET allowed_directories = [" + "'" + root.as_posix().replace("'", "''") + "/']")
    con.execute("SET enable_external_access = false")  # no other file, no extension, no network
    con.execute("SET lock_configuration = true")      # and no statement can undo it
    return con, tables


def check_query(con, query: str) -> None:
    """Only one query (SELECT, WITH ... SELECT, FROM ..., VALUES) passes, as DuckDB's own parser sees it:
    no COPY, ATTACH, CREATE, DROP, INSERT, SET, PRAGMA, INSTALL ... (they could change published outputs)."""
    import duckdb

    statements = con.extract_statements(query)  # a syntax error is the caller's duckdb.Error
    if len(statements) != 1:
        raise PipelineError(f"one query at a time ({len(statements)} statements given)")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise PipelineError(f"mips sql only reads: a {kind.name} statement is not allowed (outputs change only "
                            "through `mips run`; export with --csv)")


def format_table(columns: list[str], rows: list[tuple]) -> str:
    """Plain aligned text: numbers right-aligned, NULL shown as empty."""
    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4f}".rstrip("0").rstrip(".")
        return str(value)

    cells = [[text(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) and bool(rows)
               for i in range(len(columns))]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    out = [line(list(columns)), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)
