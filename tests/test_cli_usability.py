"""The command line as a new user meets it: each friction item of the usability review has a test here.

Most tests share one run of the bundled sample (data/sample, PY2024) without Prefect (~3 s).
"""
from __future__ import annotations

import argparse
import csv
import io
import re
from pathlib import Path

import duckdb
import pytest

from mips.cli import build_parser, main
from mips.paths import PROJECT_ROOT, SAMPLE_DIR
from mips.period import STANDARD_INPUTS, find_inputs, run_period_steps, standard_inputs_markdown


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample_out")
    run_period_steps(performance_year=2024, files=find_inputs(SAMPLE_DIR), output_root=out)
    return out


def _count(out: Path, table: str) -> int:
    return duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/{table}/**/*.parquet')").fetchall()[0][0]


# ---------------------------------------------------------------- mips sql exports all rows

def test_sql_csv_writes_every_row_and_the_table_view_says_it_is_cut(sample_out, capsys):
    # the operations.md example: mips sql --output out --csv "select * from measure_results where ..." > below.csv
    query = "select * from measure_results where not meets_data_completeness"
    expected = duckdb.sql(f"SELECT count(*) FROM read_parquet('{sample_out}/measure_results/**/*.parquet') "
                          "WHERE NOT meets_data_completeness").fetchall()[0][0]
    assert expected > 100  # more than the on-screen table shows, so a cut export would be caught
    assert main(["sql", "--output", str(sample_out), "--csv", query]) == 0
    captured = capsys.readouterr()
    rows = list(csv.reader(io.StringIO(captured.out)))
    assert len(rows) == expected + 1 and rows[0][:3] == ["performance_year", "period_start", "period_end"]
    assert captured.err == ""
    # 67,358 instance rows stream out in batches, all of them
    assert main(["sql", "--output", str(sample_out), "--csv", "select person_id from measure_instances"]) == 0
    assert captured_lines(capsys) == _count(sample_out, "measure_instances") + 1
    # on screen: 100 rows and a note on stderr; --max-rows still limits a CSV on purpose
    assert main(["sql", "--output", str(sample_out), query]) == 0
    captured = capsys.readouterr()
    assert "(100 rows)" in captured.out and "first 100 rows shown" in captured.err
    assert main(["sql", "--output", str(sample_out), "--csv", "--max-rows", "7", query]) == 0
    assert captured_lines(capsys) == 8


def captured_lines(capsys) -> int:
    return len(capsys.readouterr().out.splitlines())


# ---------------------------------------------------------------- the documented example queries

def test_below_data_completeness_example_lists_each_measure_once(sample_out):
    from mips.catalog import EXAMPLE_QUERIES, create_views

    con = duckdb.connect()
    create_views(con, sample_out)
    # the sample has claims and encounter results of the same measures: per TIN, result rows repeat measures
    repeats = con.execute("""SELECT count(*) FROM (SELECT tin, measure_id FROM measure_results
                             WHERE level = 'group' AND computed AND NOT meets_data_completeness
                             GROUP BY ALL HAVING count(*) > 1)""").fetchone()[0]
    assert repeats > 0
    title, sql = EXAMPLE_QUERIES[0]
    assert title.startswith("Measures below data completeness")
    rows = con.execute(sql).fetchall()
    assert rows
    for _, _, measures, ids in rows:
        listed = ids.split(", ")
        assert len(listed) == len(set(listed)) == measures
    # every documented example runs on a real output folder, and operations.md shows the fixed query
    for _, sql in EXAMPLE_QUERIES:
        con.execute(sql).fetchall()
    docs = (PROJECT_ROOT / "docs" / "outputs.md").read_text()
    assert "string_agg(DISTINCT measure_id, ', ' ORDER BY measure_id)" in docs


# ---------------------------------------------------------------- reference tables in the output folder

def test_measure_titles_benchmarks_and_topped_out_flags_are_published_with_the_period(sample_out):
    catalog = duckdb.connect(str(sample_out / "catalog.duckdb"), read_only=True)
    title = catalog.execute("SELECT title, metric_type, is_inverse FROM measure_reference "
                            "WHERE performance_year = 2024 AND measure_id = '001'").fetchone()
    assert title == ("Diabetes: Hemoglobin A1c (HbA1c) Poor Control (>9%)", "singlePerformanceRate", True)
    # measures-data 2024: 586 measures and activities of every category
    assert catalog.execute("SELECT count(*) FROM measure_reference").fetchone()[0] == 586
    assert catalog.execute("SELECT strata FROM measure_reference WHERE measure_id = '305'").fetchone() == (
        "14Days,34Days",)
    # 001 registry benchmark 2024: decile lower bounds 99, 90, ..., 10 (inverse: they fall), not topped out
    bench = catalog.execute("""SELECT decile_1_lower_bound, decile_2_lower_bound, decile_10_lower_bound,
                                      is_topped_out, seven_point_cap
                               FROM benchmark_reference WHERE measure_id = '001'
                               AND submission_method = 'registry'""").fetchone()
    assert bench == (99.0, 90.0, 10.0, False, False)
    topped = catalog.execute("SELECT count(*) FROM benchmark_reference WHERE is_topped_out").fetchone()[0]
    assert topped > 0
    # joined to results without leaving the output folder
    joined = catalog.execute("""SELECT count(*) FROM measure_results r JOIN measure_reference m
                                USING (performance_year, measure_id) WHERE m.title IS NULL""").fetchone()[0]
    assert joined == 0
    catalog.close()


# ---------------------------------------------------------------- no internal references, docs cite what ships

_INTERNAL = re.compile(r"\bissues? \d+\b", re.IGNORECASE)  # the tracker's numbers mean nothing to a user


def _user_text_files() -> list[Path]:
    files = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "CONTRIBUTING.md"]
    files += sorted((PROJECT_ROOT / "docs").rglob("*.md")) + sorted((PROJECT_ROOT / "data").rglob("README.md"))
    return files


def test_no_internal_references_in_help_output_docs_or_code_strings(sample_out, capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    texts = [parser.format_help()] + [p.format_help() for p in sub.choices.values()]
    for path in _user_text_files():
        texts.append(path.read_text())
    for folder in ("mips", "schemas", "transforms", "flows"):
        texts += [p.read_text() for p in (PROJECT_ROOT / folder).rglob("*.py")]
    texts.append(str(run_period_steps(performance_year=2024, files=find_inputs(SAMPLE_DIR),
                                      output_root=sample_out)))  # what `mips run` prints
    found = sorted({m.group(0) for text in texts for m in _INTERNAL.finditer(text)})
    assert found == []


def test_docs_cite_only_files_that_ship():
    missing = []
    for path in _user_text_files():
        text = path.read_text()
        assert "../shared/spec" not in text, path
        for target in re.findall(r"\]\(([^)#\s]+)", text):  # markdown links
            if not target.startswith(("http://", "https://")) and not (path.parent / target).exists():
                missing.append(f"{path.relative_to(PROJECT_ROOT)} -> {target}")
        if path.parent.name == "spec":
            continue  # the spec notes name CMS's and eCFR's own files as their sources, not files of ours
        local = re.sub(r"https?://\S+", "", text)  # a web address is a citation of what CMS publishes
        for name in set(re.findall(r"[\w.-]+\.md\b", local)):  # any other .md file a text names
            if not list(PROJECT_ROOT.glob(f"**/{name}")):
                missing.append(f"{path.relative_to(PROJECT_ROOT)} names {name}")
    assert missing == []


# ---------------------------------------------------------------- --version

def test_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"mips {version('mips-pipeline')}")


# ---------------------------------------------------------------- one table of standard input names

def test_run_input_dir_finds_the_standard_names_and_options_override(tmp_path):
    from mips.commands.run import input_files

    for name in ("medical_claim.csv", "eligibility.parquet", "clinician_roster.csv", "notes.txt"):
        (tmp_path / name).write_text("x")
    other = tmp_path / "elsewhere.csv"
    other.write_text("x")
    args = build_parser().parse_args(["run", "--performance-year", "2024", "--input-dir", str(tmp_path),
                                      "--roster", str(other), "--output", "out"])
    assert input_files(args) == {"medical_claim": tmp_path / "medical_claim.csv",
                                 "eligibility": tmp_path / "eligibility.parquet", "clinician_roster": other}
    # every standard input has its option, and the options are the table's
    run_parser = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices["run"]
    options = {o for a in run_parser._actions for o in a.option_strings}
    assert {item.option for item in STANDARD_INPUTS} <= options


def test_a_folder_input_is_found_as_a_folder(tmp_path, monkeypatch):
    import mips.period as period

    # an input kept as a folder (e.g. FHIR bundles) is one more line in the table
    monkeypatch.setattr(period, "STANDARD_INPUTS", period.STANDARD_INPUTS + (
        period.StandardInput("bundles", "--bundles", "a folder input", ("folder",)),))
    (tmp_path / "bundles").mkdir()
    (tmp_path / "medical_claim.csv").write_text("x")
    assert period.find_inputs(tmp_path) == {"medical_claim": tmp_path / "medical_claim.csv",
                                            "bundles": tmp_path / "bundles"}


def test_the_documented_input_table_is_the_code_s_table():
    docs = (PROJECT_ROOT / "docs" / "operations.md").read_text()
    assert standard_inputs_markdown() in docs
    assert "| medical_claim | `medical_claim.csv` or `medical_claim.parquet` | `--medical-claim` |" in docs


def test_mips_run_input_dir_runs_the_sample(tmp_path, capsys):
    assert main(["run", "--performance-year", "2024", "--input-dir", str(SAMPLE_DIR), "--output", str(tmp_path),
                 "--without-prefect"]) == 0
    out = capsys.readouterr().out
    # all ten sample files were read: 10,068 claim lines of which 230 rejected (data/sample/README.md)
    assert re.search(r"medical_claim\.csv\s+medical_claim\s+10,068\s+9,838\s+0\s+230", out)  # none out of scope
    assert len(re.findall(r"data/sample/\w+\.csv", out)) == 10


# ---------------------------------------------------------------- progress, --quiet, --verbose

def test_progress_lines_quiet_and_verbose(tmp_path, capsys):
    argv = ["run", "--performance-year", "2024", "--input-dir", str(SAMPLE_DIR), "--without-prefect"]
    assert main(argv + ["--output", str(tmp_path / "a")]) == 0
    captured = capsys.readouterr()
    steps = [ln for ln in captured.err.splitlines() if ln.startswith("✓")]
    assert [s.split(" (")[0] for s in steps] == [
        "✓ checksumming 10 input file(s)", "✓ reading and validating 10 input file(s)",
        "✓ writing rejects and checking the rejection threshold",
        "✓ measure engine: eligible instances, results per clinician and TIN",
        "✓ scoring: eligibility, measure, category and final scores", "✓ publishing the period's tables"]
    assert re.search(r"10 file\(s\), 42,989 rows \([\d,]+ rows/s overall\), 864 rejected", steps[1])
    assert "medical_claim.csv: 10,068 rows" not in captured.err  # per-file lines only with --verbose

    assert main(argv + ["--output", str(tmp_path / "b"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == f"performance year 2024: published 17 tables to {tmp_path / 'b'}\n"

    assert main(argv + ["--output", str(tmp_path / "c"), "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "    " + str(SAMPLE_DIR / "medical_claim.csv") + ": 10,068 rows, 230 rejected" in err
    # what the running step is doing now: each file as it is read, each measure engine as it computes
    assert "    reading medical_claim.csv (medical_claim)" in err and "    reading cost_input.csv (cost_input)" in err
    assert "    computing claims, encounters measures" in err
    with pytest.raises(SystemExit):
        main(argv + ["--output", str(tmp_path / "d"), "--quiet", "--verbose"])  # one or the other


def test_the_live_line_of_a_step_names_what_it_is_doing_now():
    # mips.progress.detail() rewrites the running step's live description (the file being read, the engine at work)
    from mips import progress

    progress.configure("normal")
    try:
        with progress.step("reading and validating 2 input file(s)"):
            progress.detail("reading eligibility.csv (eligibility)")
            bar, task, _ = progress._live_step
            assert bar.tasks[0].description == "reading and validating 2 input file(s): reading eligibility.csv (eligibility)"
        assert progress._live_step is None  # the step is over: nothing to update
        progress.detail("after the step")  # no live step: harmless
    finally:
        progress.configure("off")
