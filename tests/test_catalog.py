"""The analysts' catalog file and `mips sql`."""
from __future__ import annotations

import duckdb
import pytest

from mips.catalog import CATALOG_FILE, build_catalog, known_specs, table_names
from mips.cli import main
from mips.store import publish_period
from schemas.ingest import INGEST_SUMMARY, REJECTS


def summary(con, year: int, files: list[tuple[str, int, int]]) -> str:
    """ingest_summary rows (file, input rows, rejected rows) of one year."""
    values = ", ".join(f"('{f}', {n}, {r})" for f, n, r in files)
    con.execute(f"""CREATE OR REPLACE TABLE s AS SELECT {year} AS performance_year, f AS source_file,
                    'medical_claim' AS table_name, n AS input_rows, n - r AS accepted_rows, 0 AS out_of_scope_rows,
                    r AS rejected_rows,
                    round(100.0 * r / n, 3) AS rejected_percent FROM (VALUES {values}) v(f, n, r)""")
    return "s"


def no_rejects(con) -> str:
    con.execute("CREATE OR REPLACE TABLE nr AS SELECT * FROM (SELECT NULL::VARCHAR AS source_file, "
                "NULL::VARCHAR AS table_name, NULL::BIGINT AS row_number, NULL::VARCHAR AS \"column\", "
                "NULL::VARCHAR AS rule, NULL::VARCHAR AS reason) WHERE FALSE")
    return "nr"


@pytest.fixture
def out(tmp_path):
    """Two published years: 2023 with one file (10 rows, 1 rejected), 2024 with two files."""
    con = duckdb.connect()
    publish_period(con, tmp_path, 2023, {INGEST_SUMMARY: summary(con, 2023, [("a.csv", 10, 1)]),
                                         REJECTS: no_rejects(con)})
    publish_period(con, tmp_path, 2024, {INGEST_SUMMARY: summary(con, 2024, [("a.csv", 20, 0), ("b.csv", 5, 5)]),
                                         REJECTS: no_rejects(con)})
    con.close()
    return tmp_path


def test_catalog_has_a_view_per_table_over_every_year(out):
    assert table_names(out) == ["ingest_summary", "rejects"]
    con = duckdb.connect(str(out / CATALOG_FILE), read_only=True)
    # 1 row of 2023 + 2 rows of 2024; performance_year comes first and is INTEGER as declared
    assert con.execute("SELECT performance_year, sum(input_rows) FROM ingest_summary GROUP BY 1 ORDER BY 1"
                       ).fetchall() == [(2023, 10), (2024, 25)]
    described = con.execute("DESCRIBE ingest_summary").fetchall()
    assert (described[0][0], described[0][1]) == ("performance_year", "INTEGER")
    assert con.execute("SELECT count(*) FROM rejects").fetchall() == [(0,)]
    # table_docs documents the declared tables, the grain included
    assert con.execute("SELECT grain FROM table_docs WHERE table_name = 'ingest_summary' AND position = 1"
                       ).fetchall() == [("one row per input file",)]
    con.close()


def test_catalog_stays_readable_while_a_run_replaces_it(out):
    reader = duckdb.connect(str(out / CATALOG_FILE), read_only=True)
    con = duckdb.connect()
    # a new run of 2024 publishes and rebuilds the catalog while the reader has the old file open
    publish_period(con, out, 2024, {INGEST_SUMMARY: summary(con, 2024, [("c.csv", 7, 0)])})
    # the open reader still works, and its views read the files now published (1 row of 2023 + 1 of 2024)
    assert reader.execute("SELECT sum(input_rows) FROM ingest_summary").fetchall() == [(17,)]
    reader.close()
    fresh = duckdb.connect(str(out / CATALOG_FILE), read_only=True)
    # the 2024 run no longer has rejects: the rejects table only has its 2023 partition left
    assert fresh.execute("SELECT count(*) FROM rejects").fetchall() == [(0,)]
    assert [p.name for p in (out / "rejects").iterdir() if any(p.glob("*.parquet"))] == ["performance_year=2023"]
    fresh.close()
    assert not list(out.glob(".catalog-*"))  # no temporary catalog left behind


def test_catalog_of_an_empty_output_folder_has_docs_and_an_empty_typed_view_per_declared_table(tmp_path):
    con = duckdb.connect(str(build_catalog(tmp_path)), read_only=True)
    assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == [("table_docs",)]
    views = {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert views == set(known_specs())
    # a documented query on a table nothing published answers "no rows" with the declared types, not an error
    assert con.execute("SELECT count(*) FROM final_scores").fetchall() == [(0,)]
    described = con.execute("DESCRIBE final_scores").fetchall()
    assert [(d[0], d[1]) for d in described] == [(c.name, c.type) for c in known_specs()["final_scores"].columns]
    con.close()


def test_known_specs_include_ingest_scoring_and_manifest():
    names = set(known_specs())
    assert {"rejects", "ingest_summary", "final_scores", "run_manifest"} <= names


def test_mips_sql_prints_a_table(out, capsys):
    assert main(["sql", "--output", str(out), "select performance_year, count(*) as files, sum(rejected_rows) "
                 "as rejected from ingest_summary group by 1 order by 1"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["performance_year", "files", "rejected"]
    assert [line.split() for line in printed[2:4]] == [["2023", "1", "1"], ["2024", "2", "5"]]
    assert printed[-1] == "(2 rows)"


def test_mips_sql_csv_and_row_limit(out, capsys):
    assert main(["sql", "--output", str(out), "--csv", "--max-rows", "1",
                 "select source_file, input_rows from ingest_summary order by performance_year, source_file"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["source_file,input_rows", "a.csv,10"]
    assert "first 1 rows shown" in captured.err


@pytest.mark.parametrize("query, message", [
    ("select * from no_such_table", "no_such_table"),
    ("selec 1", "syntax error"),
])
def test_mips_sql_bad_query_is_one_line(out, capsys, query, message):
    assert main(["sql", "--output", str(out), query]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mips sql: error:") and message in err and "\n" not in err
    assert "tables: ingest_summary, rejects" in err


def test_mips_sql_without_output_folder(tmp_path, capsys):
    assert main(["sql", "--output", str(tmp_path / "nothing"), "select 1"]) == 2
    assert "no output folder" in capsys.readouterr().err


def test_output_docs_are_generated_from_the_table_specs():
    from pathlib import Path

    from mips.catalog import outputs_markdown
    docs = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"
    assert docs.read_text() == outputs_markdown(), "run: .venv/bin/python -m mips.catalog > docs/outputs.md"


# ---------------------------------------------------------------- mips sql is read-only (issue 9)

@pytest.mark.parametrize("query, message", [
    # COPY over a published Parquet file replaced final_scores, bypassing the atomic publish
    ("COPY (SELECT 1 AS x) TO '{out}/ingest_summary/performance_year=2024/data.parquet' (FORMAT parquet)",
     "a COPY statement is not allowed"),
    ("ATTACH '{out}/catalog.duckdb' AS c", "a ATTACH statement is not allowed"),
    ("DROP VIEW ingest_summary", "a DROP statement is not allowed"),
    ("CREATE TABLE t AS SELECT 1", "a CREATE statement is not allowed"),
    ("SET enable_external_access = true", "a SET statement is not allowed"),
    ("INSTALL httpfs", "is not allowed"),
    ("SELECT 1; DROP VIEW rejects", "one query at a time (2 statements given)"),
])
def test_mips_sql_refuses_every_statement_but_a_query(out, capsys, query, message):
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["sql", "--output", str(out), query.format(out=out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mips sql: error:") and message in err and "\n" not in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing changed


def test_mips_sql_cannot_read_files_outside_the_output_folder(out, tmp_path_factory, capsys):
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.csv"
    outside.write_text("a\n1\n")
    for query in (f"SELECT * FROM read_csv('{outside}')", f"SELECT * FROM read_csv('{out}/../{outside.parent.name}/secret.csv')",
                  "SELECT * FROM read_text('/etc/hostname')"):
        assert main(["sql", "--output", str(out), query]) == 2
        assert "disabled by configuration" in capsys.readouterr().err
    # its own published files it reads, through the views or by path
    assert main(["sql", "--output", str(out), "--csv",
                 f"SELECT count(*) AS n FROM read_parquet('{out}/ingest_summary/**/*.parquet')"]) == 0
    assert capsys.readouterr().out == "n\n3\n"


def test_mips_sql_reads_through_the_catalog_opened_read_only_and_after_a_move(out, tmp_path_factory, capsys):
    import shutil

    from mips.commands.sql import open_read_only
    con, tables = open_read_only(out)
    assert tables == ["ingest_summary", "rejects"]
    assert con.execute("SELECT current_setting('access_mode')").fetchone()[0] == "read_only"
    con.close()
    moved = tmp_path_factory.mktemp("moved") / "out"
    shutil.copytree(out, moved, symlinks=True)  # the catalog names the old folder: views are made afresh
    con, tables = open_read_only(moved)
    assert con.execute("SELECT sum(input_rows) FROM ingest_summary").fetchall() == [(35,)]
    con.close()
