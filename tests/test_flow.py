"""A period run end to end: the plain steps (no Prefect) and, in a few tests, the Prefect flows.

Inputs are hand-made and tiny (PY2024, one TIN 123456789, one NPI 1234567893 — CMS's example of
a valid check digit). Measure 001 (diabetes, HbA1c; eligible: age 18-75, a diabetes diagnosis and
an office visit; 3044F = performance not met, the good result of this inverse measure):
  - PERSONA: 64 years old, E11.9 + 99213 and 3044F on the same claim  -> eligible, performance not met
  - PERSONB: 64 years old, E11.9 + 99213, no quality data code       -> eligible, unreported
  - PERSONC: 84 years old, E11.9 + 99213                             -> too old: not in 001
so 001 has eligible population 2, performance not met 1, data completeness 50% < 75% (2024).
"""
from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from mips.errors import PipelineError, RejectionThresholdExceeded
from mips.period import Period, check_inputs, find_inputs, run_period_steps
from mips.errors import PeriodCheckFailed
from mips.store import PeriodLocked, period_lock, read_manifest

TIN, NPI = "123456789", "1234567893"
PERSONS = {"PERSONA": "1960-02-01", "PERSONB": "1960-03-01", "PERSONC": "1940-04-01"}
CLAIM_HEADER = ["claim_id", "claim_line_number", "claim_type", "person_id", "claim_line_start_date",
                "claim_line_end_date", "place_of_service_code", "hcpcs_code", "hcpcs_modifier_1", "rendering_npi",
                "billing_tin", "diagnosis_code_type", "diagnosis_code_1", "allowed_amount", "payer"]
ELIGIBILITY_HEADER = ["person_id", "birth_date", "gender", "enrollment_start_date", "enrollment_end_date"]


def line(claim: str, n: int, person: str, code: str, npi: str = NPI) -> dict:
    return {"claim_id": claim, "claim_line_number": n, "claim_type": "professional", "person_id": person,
            "claim_line_start_date": "2024-05-02", "claim_line_end_date": "2024-05-02", "place_of_service_code": "11",
            "hcpcs_code": code, "hcpcs_modifier_1": "", "rendering_npi": npi, "billing_tin": TIN,
            "diagnosis_code_type": "icd-10-cm", "diagnosis_code_1": "E11.9",
            "allowed_amount": "90.00" if code == "99213" else "0.00", "payer": "medicare"}


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def make_inputs(folder: Path, bad_npi_lines: int = 0) -> dict[str, Path]:
    """medical_claim.csv (5 lines, plus ``bad_npi_lines`` lines with an invalid NPI) and eligibility.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [line("C1", 1, "PERSONA", "99213"), line("C1", 2, "PERSONA", "3044F"),
             line("C2", 1, "PERSONB", "99213"), line("C3", 1, "PERSONC", "99213"), line("C3", 2, "PERSONC", "3044F")]
    lines += [line(f"X{i}", 1, "PERSONA", "99213", npi="1234567890") for i in range(bad_npi_lines)]
    people = [{"person_id": p, "birth_date": b, "gender": "female", "enrollment_start_date": "2024-01-01",
               "enrollment_end_date": "2024-12-31"} for p, b in PERSONS.items()]
    return {"medical_claim": write_csv(folder / "medical_claim.csv", CLAIM_HEADER, lines),
            "eligibility": write_csv(folder / "eligibility.csv", ELIGIBILITY_HEADER, people)}


def table(out: Path, name: str, where: str = "TRUE") -> list[tuple]:
    """Rows as an analyst reads them (file order = key order)."""
    return duckdb.sql(f"SELECT * FROM read_parquet('{out}/{name}/**/*.parquet', hive_partitioning = true) "
                      f"WHERE {where}").fetchall()


def all_files_text(out: Path) -> str:
    return "".join(p.read_text(errors="ignore") for p in out.rglob("*") if p.is_file() and p.suffix in (".json", ".md"))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, inputs):
    out = tmp_path_factory.mktemp("out")
    report = run_period_steps(performance_year=2024, files=inputs, output_root=out)
    return out, report


# ---------------------------------------------------------------- the steps without Prefect

def test_run_publishes_every_step_s_tables_with_a_manifest(first_run, inputs):
    out, report = first_run
    expected = {"rejects", "ingest_summary", "ingest_warnings", "ingest_out_of_scope", "measure_results",
                "measure_instances", "mips_eligibility", "measure_scores", "category_scores", "final_scores",
                "payment_adjustments", "run_manifest", "measure_reference", "benchmark_reference"}
    assert set(report.rows) == expected
    # 5 claim lines and 3 persons in, none rejected, none out of scope
    summary = duckdb.sql(f"SELECT table_name, input_rows, accepted_rows, out_of_scope_rows, rejected_rows FROM read_parquet("
                         f"'{out}/ingest_summary/**/*.parquet') ORDER BY 1").fetchall()
    assert summary == [("eligibility", 3, 3, 0, 0), ("medical_claim", 5, 5, 0, 0)]
    for name, rows in report.rows.items():
        assert len(table(out, name)) == rows, name
    manifest = read_manifest(out, 2024)
    assert manifest["run_id"] == report.run_id and manifest["outputs"] == {
        k: v for k, v in report.rows.items() if k != "run_manifest"}  # the manifest counts the tables it describes
    assert (manifest["period_start"], manifest["period_end"]) == ("2024-01-01", "2024-12-31")
    assert manifest["rules_version"] and manifest["reference_version"] and manifest["code_version"]
    claims = next(i for i in manifest["inputs"] if i["table"] == "medical_claim")
    assert claims["sha256"] == hashlib.sha256(inputs["medical_claim"].read_bytes()).hexdigest()
    assert (claims["input_rows"], claims["accepted_rows"], claims["rejected_rows"]) == (5, 5, 0)
    assert not (out / ".locks" / "2024.lock").exists() and not list((out / ".work").glob("*"))


def test_a_killed_run_s_work_database_is_removed_by_the_next_run(inputs, tmp_path):
    leftover = tmp_path / ".work" / "2024-killedrun"
    leftover.mkdir(parents=True)
    (leftover / "work.duckdb").write_bytes(b"x" * 10)
    (tmp_path / ".work" / "2022-killedrun").mkdir()  # another period's, killed: any year's next run removes it
    (tmp_path / ".work" / "2023-running").mkdir()  # another period's, running (it holds its lock): left alone
    with period_lock(tmp_path, 2023, "running"):
        run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path)
        assert sorted(p.name for p in (tmp_path / ".work").iterdir()) == ["2023-running"]


def test_measure_001_counts_and_the_summary(first_run):
    out, report = first_run
    rows = duckdb.sql(f"""SELECT level, eligible_population, performance_met, performance_not_met,
                                 reporting_rate, meets_data_completeness
                          FROM read_parquet('{out}/measure_results/**/*.parquet')
                          WHERE measure_id = '001' AND source = 'claims' ORDER BY level""").fetchall()
    # PERSONA (not met) and PERSONB (unreported) at both levels; PERSONC is over 75
    assert rows == [("group", 2, 0, 1, 50.0, False), ("individual", 2, 0, 1, 50.0, False)]
    md = report.markdown
    assert "## Measures below data completeness, by TIN" in md
    below = next(l for l in md.splitlines() if l.startswith(f"| {TIN} | group |"))
    assert "001" in below
    assert "## Final scores by TIN (group level)" in md and f"| {TIN} |" in md.split("## Final scores")[1]


def test_the_documented_example_queries_run_on_the_outputs(first_run):
    from mips.catalog import EXAMPLE_QUERIES, create_views

    out, _ = first_run
    con = duckdb.connect()
    create_views(con, out)
    results = {title: con.execute(sql).fetchall() for title, sql in EXAMPLE_QUERIES}
    below = results["Measures below data completeness, by TIN (group level)"]
    assert below[0][:2] == (2024, TIN) and "001" in below[0][3].split(", ")
    assert [r[:2] for r in results["Final score and payment adjustment by year (groups)"]] == [(2024, TIN)]
    unreported = results["Unreported instances per clinician (no quality data code: the care gaps to close)"]
    # 001: PERSONB's instance is unreported, PERSONA's is not
    assert (2024, TIN, NPI, "001", 1, 2) in unreported
    assert len(results["Which run made each year's outputs"]) == 1


def test_printed_report_reconciles_files_and_shows_group_scores(first_run):
    _, report = first_run
    printed = str(report).splitlines()
    claims = next(l for l in printed if "medical_claim.csv" in l).split()
    assert claims[1:5] == ["medical_claim", "5", "5", "0"]
    assert any(l.split()[:1] == [TIN] for l in printed[printed.index(
        "Final score by TIN (group level; individuals in final_scores):"):])


def test_no_patient_identifiers_in_summary_manifest_or_report(first_run):
    out, report = first_run
    text = report.markdown + str(report) + all_files_text(out)
    for person, birth in PERSONS.items():
        assert person not in text and birth not in text


def test_two_runs_of_the_same_inputs_give_identical_rows(tmp_path):
    """Reproducible: two runs of the bundled sample into two folders give every data table (the
    manifest aside) with the same rows, types and order, and the very same Parquet bytes."""
    from mips.paths import SAMPLE_DIR

    files = find_inputs(SAMPLE_DIR)
    first = run_period_steps(performance_year=2024, files=files, output_root=tmp_path / "one")
    second = run_period_steps(performance_year=2024, files=files, output_root=tmp_path / "two")
    assert second.rows == first.rows and first.rows["measure_instances"] > 1000
    for name in first.rows:
        if name == "run_manifest":
            continue
        a, b = (tmp_path / run / name / "performance_year=2024" / "data.parquet" for run in ("one", "two"))
        assert duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{a}', hive_partitioning = false)").fetchall() == \
            duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{b}', hive_partitioning = false)").fetchall()
        assert table(tmp_path / "one", name) == table(tmp_path / "two", name), name
        assert a.read_bytes() == b.read_bytes(), name


def test_rerun_with_a_narrower_period_replaces_the_period(inputs, tmp_path):
    run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path)
    # the claims are dated 2024-05-02: a January-only period counts none of them, and a run whose claims
    # give no claims measure an instance publishes nothing unless told the empty result is meant (issue 9)
    with pytest.raises(PeriodCheckFailed, match="no claims quality measure an eligible instance in 2024-01-01"):
        run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path,
                         period_start=date(2024, 1, 1), period_end=date(2024, 1, 31))
    assert read_manifest(tmp_path, 2024)["period_end"] == "2024-12-31"  # still the full-year run's outputs
    run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path,
                     period_start=date(2024, 1, 1), period_end=date(2024, 1, 31), allow_empty=True)
    assert table(tmp_path, "measure_results", "measure_id = '001'") == []
    assert read_manifest(tmp_path, 2024)["period_end"] == "2024-01-31"


def test_rejection_threshold_stops_the_run_and_keeps_the_previous_outputs(tmp_path):
    work = tmp_path / "out"
    good = make_inputs(tmp_path / "good")
    run_period_steps(performance_year=2024, files=good, output_root=work)
    before = table(work, "measure_results")
    bad = make_inputs(tmp_path / "bad", bad_npi_lines=1)  # 1 of 6 claim lines rejected = 16.67% > 5%
    # the message names the rule and its count, so the operator knows what to fix without opening the rejects
    with pytest.raises(RejectionThresholdExceeded, match=r"medical_claim.csv \(16.67% rejected; top rules: "
                       r"npi_check_digit on rendering_npi: 1 row\).*left unchanged"):
        run_period_steps(performance_year=2024, files=bad, output_root=work)
    assert table(work, "measure_results") == before
    assert duckdb.sql(f"SELECT input_rows, rejected_rows FROM '{work}/_failed_run/2024/ingest_summary.parquet' "
                      "WHERE table_name = 'medical_claim'").fetchall() == [(6, 1)]
    assert duckdb.sql(f"SELECT count(DISTINCT row_number) FROM '{work}/_failed_run/2024/rejects.parquet'"
                      ).fetchall() == [(1,)]
    assert not (work / ".locks" / "2024.lock").exists()
    # a looser threshold lets the same files through; the stopped run's rejects folder goes
    report = run_period_steps(performance_year=2024, files=bad, output_root=work, max_rejected_percent=20)
    assert report.rows["rejects"] == 1 and not (work / "_failed_run" / "2024").exists()


KILLED_RUN = """
import sys, time
from pathlib import Path
from mips import store
from mips.period import run_period_steps
def pause(version):
    print("WRITTEN", flush=True)  # every table written and checked, not yet switched in
    time.sleep(600)
store._before_switch = pause
run_period_steps(performance_year=2024, output_root=Path(sys.argv[1]),
                 files={"medical_claim": Path(sys.argv[2]), "eligibility": Path(sys.argv[3])})
"""


def test_a_period_run_killed_before_the_switch_leaves_the_previous_outputs(inputs, tmp_path):
    import signal
    import subprocess
    import sys

    run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path)
    before = {name: table(tmp_path, name) for name in ("measure_results", "final_scores", "run_manifest")}
    # a second run with one claim line fewer, killed (SIGKILL) between writing its version and the switch
    fewer = make_inputs(tmp_path / "fewer")
    fewer["medical_claim"].write_text("\n".join(fewer["medical_claim"].read_text().splitlines()[:-1]) + "\n")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(tmp_path), str(fewer["medical_claim"]),
                             str(fewer["eligibility"])], cwd=Path(__file__).resolve().parents[1],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "WRITTEN", proc.stderr.read()
        with pytest.raises(PeriodLocked):  # meanwhile a concurrent run is refused
            run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert {name: table(tmp_path, name) for name in before} == before
    with duckdb.connect(str(tmp_path / "catalog.duckdb"), read_only=True) as catalog:
        assert catalog.execute("SELECT count(*) FROM measure_results").fetchall() == [(len(before["measure_results"]),)]
    # the next run takes over the dead run's lock and cleans its work folder and version
    run_period_steps(performance_year=2024, files=fewer, output_root=tmp_path)
    assert read_manifest(tmp_path, 2024)["inputs"][0]["input_rows"] == 4
    assert not list((tmp_path / ".work").iterdir())


def test_a_concurrent_run_of_the_period_is_refused(inputs, tmp_path):
    with period_lock(tmp_path, 2024, "nightly-run"):
        with pytest.raises(PeriodLocked, match="performance year 2024 is already being run.*run nightly-run"):
            run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path)
        # another period is free (the 2024 claims are all outside 2023: allowed here, the lock is the point)
        run_period_steps(performance_year=2023, files=inputs, output_root=tmp_path, allow_empty=True)
    assert not (tmp_path / "measure_results" / "performance_year=2024").exists()


@pytest.mark.parametrize("kwargs, message", [
    (dict(period_start=date(2023, 12, 1)), "not inside performance year 2024"),
    (dict(period_start=date(2024, 6, 1), period_end=date(2024, 5, 1)), "ends (2024-05-01) before it starts"),
    (dict(levels=["practice"]), "unknown source or level: practice"),
    (dict(max_rejected_percent=150), "between 0 and 100"),
])
def test_bad_run_arguments_are_one_line_errors_and_take_no_lock(inputs, tmp_path, kwargs, message):
    with pytest.raises(PipelineError) as error:
        run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path, **kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / ".locks" / "2024.lock").exists()


def test_inputs_found_in_a_folder_and_checked(tmp_path, inputs):
    assert find_inputs(inputs["medical_claim"].parent) == {"medical_claim": inputs["medical_claim"],
                                                           "eligibility": inputs["eligibility"]}
    (tmp_path / "medical_claim.csv").write_text("x")
    (tmp_path / "medical_claim.parquet").write_text("x")
    with pytest.raises(PipelineError, match="both medical_claim.csv and medical_claim.parquet"):
        find_inputs(tmp_path)
    with pytest.raises(PipelineError, match="not found"):
        find_inputs(tmp_path / "missing")
    with pytest.raises(PipelineError, match="medical_claim needs eligibility"):
        check_inputs({"medical_claim": tmp_path / "medical_claim.csv"})
    with pytest.raises(PipelineError, match="no input files"):
        check_inputs({})
    with pytest.raises(PipelineError, match="unknown input table"):
        check_inputs({"claims": tmp_path / "x.csv"})


def test_period_defaults_to_the_whole_year():
    assert Period.of(2024) == Period(2024, date(2024, 1, 1), date(2024, 12, 31))


# ---------------------------------------------------------------- through Prefect (few: each run costs seconds)

def test_period_flow_end_to_end_on_the_bundled_sample_with_artifact(prefect_harness, tmp_path):
    """The quick start's data through the flow: 10 files, ~2% deliberately bad claim rows (under the
    5% threshold, so the run publishes), every step's tables, the artifact without patient ids."""
    from prefect.client.orchestration import get_client

    from flows.period import period_flow
    from mips.paths import SAMPLE_DIR

    report = period_flow(performance_year=2024, output=str(tmp_path), input_dir=str(SAMPLE_DIR))
    assert len(report.ingest) == 10
    assert all(r.input_rows == r.accepted_rows + r.out_of_scope_rows + r.rejected_rows for r in report.ingest)
    # the sample's eligibility also lists the EHR's commercial and Medicaid patients: out of scope for claims
    assert {r.table_name for r in report.ingest if r.out_of_scope_rows} == {"eligibility"}
    rejected = sum(r.rejected_rows for r in report.ingest)
    assert 0 < rejected < 0.05 * sum(r.input_rows for r in report.ingest)
    # a rejected row can fail several rules: one rejects row per rule, one rejected row per (file, row)
    assert duckdb.sql(f"SELECT count(*) FROM (SELECT DISTINCT source_file, row_number FROM read_parquet("
                      f"'{tmp_path}/rejects/**/*.parquet'))").fetchall() == [(rejected,)]
    for name, rows in report.rows.items():
        assert len(table(tmp_path, name)) == rows, name
    assert report.rows["measure_results"] > 0 and report.rows["final_scores"] > 0
    # Artifact.get sends null filters that this Prefect/FastAPI pair rejects (422), so ask the API directly
    with get_client(sync_client=True) as client:
        found = client._client.post("/artifacts/filter", json={"artifacts": {"key": {"any_": ["mips-run-2024"]}},
                                                               "limit": 1, "offset": 0}).json()
    markdown = found[0]["data"]
    assert "Measures below data completeness" in markdown and "Final scores by TIN" in markdown
    persons = duckdb.sql(f"SELECT DISTINCT person_id FROM read_csv('{SAMPLE_DIR}/eligibility.csv', all_varchar = true)"
                         ).fetchall()
    assert len(persons) > 100 and not [p for (p,) in persons if p and p in markdown]
    assert (tmp_path / "catalog.duckdb").exists()
    # the manifest records the flow's parameters
    assert read_manifest(tmp_path, 2024)["parameters"]["levels"] == ["individual", "group"]


def test_run_period_flow_fails_with_the_one_line_error_and_no_prefect_traceback(prefect_harness, inputs, tmp_path,
                                                                               capfd):
    from flows.period import run_period_flow

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(PipelineError, match="empty.csv: is empty"):
        run_period_flow(performance_year=2024, files={"medical_claim": empty, "eligibility": inputs["eligibility"]},
                        output_root=tmp_path / "out")
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Encountered exception" not in err
    assert not (tmp_path / "out" / ".locks" / "2024.lock").exists()


def test_backfill_skips_a_missing_year_in_one_line_and_names_the_failures(prefect_harness, tmp_path):
    from flows.period import backfill_flow

    make_inputs(tmp_path / "in" / "2024")  # 2023 has no input folder: skipped, the others still run
    (tmp_path / "in" / "2022").mkdir(parents=True)
    (tmp_path / "in" / "2022" / "medical_claim.csv").write_text("")  # 2022 fails: claims without eligibility
    with pytest.raises(PipelineError, match=r"^backfill: 2022 failed: medical_claim needs eligibility") as failed:
        backfill_flow(first_year=2022, last_year=2024, input_dir=str(tmp_path / "in" / "{year}"),
                      output=str(tmp_path / "out"))
    assert "2023" not in str(failed.value)  # a missing year is not a failure
    assert json.loads((tmp_path / "out" / "run_manifest" / "performance_year=2024" / "run_manifest.json"
                       ).read_text())["performance_year"] == 2024
    # only missing years: nothing was run, which is an error
    with pytest.raises(PipelineError, match=r"backfill: 2020 skipped: no input folder .*2020; 2021 skipped"):
        backfill_flow(first_year=2020, last_year=2021, input_dir=str(tmp_path / "in" / "{year}"),
                      output=str(tmp_path / "out"))


def test_mips_backfill_reports_a_missing_year_in_one_line_and_goes_on(prefect_harness, tmp_path, capfd):
    from mips.cli import main

    make_inputs(tmp_path / "in" / "2024")
    assert main(["backfill", "2023", "2024", "--input-dir", str(tmp_path / "in" / "{year}"),
                 "--output", str(tmp_path / "out")]) == 0
    captured = capfd.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text and "Encountered exception" not in text
    missing = [ln for ln in text.splitlines() if "2023" in ln]
    assert missing == [f"performance year 2023: skipped: no input folder {tmp_path / 'in' / '2023'}"]
    assert "performance year 2024: published" in text.splitlines()
    assert len(text.splitlines()) < 15  # one line per step of 2024, one per year, the outputs line


# ---------------------------------------------------------------- schedules and commands (no server needed)

def _deployments(**options):
    from flows.serve import build_deployments
    return {d.name: d for d in build_deployments(input_dir="/data/{year}", output="/srv/out", **options)}


def test_schedules_nightly_current_year_and_monthly_prior_year_in_the_submission_window():
    made = _deployments()
    nightly, prior = made["nightly-current-year"], made["monthly-prior-year"]
    assert [s.schedule.cron for s in nightly.schedules] == ["0 2 * * *"]
    assert [s.schedule.cron for s in prior.schedules] == ["0 3 1 1-3 *"]  # 1st of January, February, March
    assert nightly.parameters["years_before_current"] == 0 and prior.parameters["years_before_current"] == 1
    assert nightly.parameters["input_dir"] == "/data/{year}" and nightly.entrypoint == "flows.period.period_flow"
    custom = _deployments(nightly_cron="30 1 * * 1-5", prior_year_cron="0 4 15 1-3 *", timezone="America/New_York",
                          levels=["group"])
    assert custom["nightly-current-year"].schedules[0].schedule.timezone == "America/New_York"
    assert custom["monthly-prior-year"].schedules[0].schedule.cron == "0 4 15 1-3 *"
    assert custom["monthly-prior-year"].parameters["levels"] == ["group"]


def test_scheduled_runs_resolve_the_year_when_they_start():
    from flows.period import resolve_year

    assert resolve_year(None, 0, today=date(2025, 1, 1)) == 2025
    assert resolve_year(None, 1, today=date(2025, 3, 1)) == 2024  # submission window of PY2024
    assert resolve_year(2021, 1, today=date(2025, 3, 1)) == 2021  # an explicit year wins


def test_flow_inputs_fill_in_the_year_and_explicit_files_win(tmp_path, inputs):
    from flows.period import resolve_inputs

    folder = inputs["medical_claim"].parent
    assert resolve_inputs(2024, str(folder), None) == inputs  # a folder without {year}: used as is
    (tmp_path / "2024").mkdir()
    other = write_csv(tmp_path / "2024" / "eligibility.csv", ELIGIBILITY_HEADER, [])
    assert resolve_inputs(2024, str(tmp_path / "{year}"), {"medical_claim": str(inputs["medical_claim"])}) == {
        "eligibility": other, "medical_claim": inputs["medical_claim"]}
    # an explicit file's {year} is filled in too: a scheduled run of 2025 reads 2025's file
    assert resolve_inputs(2025, None, {"medical_claim": str(tmp_path / "{year}" / "claims_{year}.csv")}) == {
        "medical_claim": tmp_path / "2025" / "claims_2025.csv"}


def test_mips_serve_checks_its_options_and_needs_a_server(monkeypatch, capsys, tmp_path):
    import flows.serve
    import mips.commands.serve as serve_command
    from mips.cli import main

    served = []
    monkeypatch.setattr(flows.serve, "serve_schedules", lambda **options: served.append(options))
    assert main(["serve", "--input-dir", "/data/{year}", "--nightly-cron", "every night"]) == 2
    assert "Invalid cron string" in capsys.readouterr().err and not served
    monkeypatch.setattr(serve_command, "server_url", lambda: None)
    assert main(["serve", "--input-dir", "/data/{year}"]) == 2
    assert "prefect server start" in capsys.readouterr().err and not served
    monkeypatch.setattr(serve_command, "server_url", lambda: "http://127.0.0.1:4200/api")
    assert main(["serve", "--input-dir", "/data/{year}", "--output", str(tmp_path), "--timezone", "Europe/Paris"]) == 0
    assert served[0]["timezone"] == "Europe/Paris" and served[0]["output"] == str(tmp_path.resolve())


def test_mips_backfill_refuses_a_reversed_range(capsys):
    from mips.cli import main

    assert main(["backfill", "2025", "2019", "--input-dir", "x"]) == 2
    assert "the last year (2019) is before the first (2025)" in capsys.readouterr().err


class _FailedState:
    def __init__(self, error):
        self.error = error

    def result(self):
        raise self.error


@pytest.mark.parametrize("error, retried", [
    (OSError(5, "Input/output error"), True),              # a flaky disk or network share: try again
    (TimeoutError("share did not answer"), True),          # an OSError too
    (FileNotFoundError(2, "No such file"), False),         # will not appear by waiting
    (PermissionError(13, "Permission denied"), False),
    (PipelineError("claims.csv: is empty (0 bytes)"), False),  # the user's to fix
    (ValueError("bug"), False),
])
def test_only_transient_io_errors_are_retried(error, retried):
    from flows.period import ingest_task, provenance_task, publish_task, transient_io, validate_task

    assert transient_io(None, None, _FailedState(error)) is retried
    assert ingest_task.retries == provenance_task.retries == publish_task.retries == 2
    assert not validate_task.retries  # a rejected-rows stop is not transient


def test_a_year_without_a_claims_specification_says_so_and_still_scores(tmp_path):
    """PY2026 has no CMS claims specification yet: the run notes it instead of publishing zero counts."""
    from mips.paths import SAMPLE_DIR
    from mips.period import run_period_steps

    # the sample's 2024 claims moved to 2026 (2024-02-29 lines become impossible dates: rejected)
    claims = tmp_path / "medical_claim.csv"
    claims.write_text((SAMPLE_DIR / "medical_claim.csv").read_text().replace(",2024-", ",2026-"))
    report = run_period_steps(performance_year=2026, output_root=tmp_path / "out",
                              files={"medical_claim": claims,
                                     "eligibility": SAMPLE_DIR / "eligibility.csv",
                                     "ia_input": SAMPLE_DIR / "ia_input.csv"},
                              max_rejected_percent=100)
    assert any("no CMS claims measure specification for performance year 2026" in n for n in report.notes)
    assert "measure_results" not in report.rows and report.rows["final_scores"] > 0
