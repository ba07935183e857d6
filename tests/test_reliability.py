"""Issue 9: the pipeline attacked as a careless user and a hostile environment would.

Each test reproduces one failure the issue lists (tiny inputs of tests/test_flow.py: PY2024, 5 claim
lines of 3 persons dated 2024-05-02; measure 001 has an eligible population of 2) and checks that it
now ends in one line, with the truth about the outputs, or is handled.
"""
from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from mips import store
from mips.cli import main
from mips.errors import PeriodCheckFailed, PipelineError, RejectionThresholdExceeded
from mips.period import run_period_steps
from mips.store import read_manifest
from tests.test_flow import CLAIM_HEADER, ELIGIBILITY_HEADER, make_inputs, table, write_csv

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    return make_inputs(tmp_path / "in")


def run_args(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    args = ["run", "--performance-year", "2024", "--output", str(out), "--without-prefect"]
    for name, path in files.items():
        args += [f"--{name.replace('_', '-')}", str(path)]
    return args + list(extra)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("mips run: error:") and "\n" not in err and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------- file checks first

@pytest.mark.parametrize("kind, message", [
    ("missing", "file not found"),
    ("folder", "is a folder, not a file"),
    ("dangling symlink", "is a symbolic link to nothing"),
    ("fifo", "is not a regular file"),  # used to hang the run forever while holding the lock
])
def test_an_unusable_input_is_one_line_before_any_checksum_or_lock(inputs, tmp_path, capsys, kind, message):
    bad = tmp_path / "claims.csv"
    if kind == "folder":
        bad.mkdir()
    elif kind == "dangling symlink":
        bad.symlink_to(tmp_path / "gone.csv")
    elif kind == "fifo":
        os.mkfifo(bad)
    out = tmp_path / "out"
    assert main(run_args({**inputs, "medical_claim": bad}, out)) == 2
    assert f"{bad}: {message}" in one_line_error(capsys)
    assert not (out / ".locks" / "2024.lock").exists()


def test_a_file_appended_to_during_the_run_fails_it_in_one_line(inputs, tmp_path, monkeypatch):
    from transforms import ingest

    real = ingest.ingest_inputs

    def ingest_then_append(con, files):
        results = real(con, files)
        with open(files["medical_claim"], "a") as handle:  # another process still writing the extract
            handle.write(handle.name and "C9,1,professional,PERSONA,2024-05-02,,11,99213,,1234567893,123456789,,,,\n")
        return results
    monkeypatch.setattr(ingest, "ingest_inputs", ingest_then_append)
    with pytest.raises(PipelineError, match="changed while the run read it") as error:
        run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path / "out")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out" / "final_scores").exists()


# ---------------------------------------------------------------- one line for the environment, and the truth

def test_an_apostrophe_in_the_output_path_works(inputs, tmp_path):
    out = tmp_path / "it's out"
    report = run_period_steps(performance_year=2024, files=inputs, output_root=out)
    published = duckdb.execute("SELECT count(*) FROM read_parquet(?)", [f"{out}/final_scores/**/*.parquet"]).fetchall()[0]
    assert report.rows["measure_results"] > 0 and published == (report.rows["final_scores"],)
    with duckdb.connect(str(out / "catalog.duckdb"), read_only=True) as catalog:
        assert catalog.execute("SELECT count(*) FROM final_scores").fetchone() == published


@pytest.mark.parametrize("failure, problem", [
    (OSError(errno.ENOSPC, "No space left on device"), "no space left on the device"),
    (OSError(errno.EACCES, "Permission denied"), "permission denied"),
    (duckdb.IOException('IO Error: Could not write file "x": No space left on device'), "no space left on the device"),
])
def test_disk_full_or_permission_denied_is_one_line_and_keeps_the_last_good_output(inputs, tmp_path, capsys,
                                                                                  monkeypatch, failure, problem):
    out = tmp_path / "out"
    assert main(run_args(inputs, out)) == 0
    before = table(out, "measure_results")
    capsys.readouterr()

    def full(*args, **kwargs):
        raise failure
    monkeypatch.setattr(store, "_write", full)
    assert main(run_args(inputs, out)) == 2
    err = one_line_error(capsys)
    assert problem in err and "outputs of performance year 2024 left unchanged" in err
    assert table(out, "measure_results") == before


def test_a_failure_after_the_switch_says_the_outputs_were_published(inputs, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    first = run_period_steps(performance_year=2024, files=inputs, output_root=out)

    def broken_link(*args):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(store, "_link_table", broken_link)  # after the switch: the new version is current
    assert main(run_args(inputs, out)) == 2
    err = one_line_error(capsys)
    assert "input/output error" in err and "2024 WAS published" in err and "unchanged" not in err
    assert read_manifest(out, 2024)["run_id"] != first.run_id


def test_an_unusable_output_path_is_one_line(inputs, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(run_args(inputs, blocker / "out")) == 2
    assert "a part of the path is not a folder" in one_line_error(capsys)


# ---------------------------------------------------------------- no silent wrong-period publish

def _shift_year(files: dict[str, Path], folder: Path, year: int) -> dict[str, Path]:
    folder.mkdir()
    claims = folder / "medical_claim.csv"
    claims.write_text(files["medical_claim"].read_text().replace(",2024-", f",{year}-"))
    return {**files, "medical_claim": claims}


def test_claims_of_another_year_do_not_replace_the_period(inputs, tmp_path, capsys):
    """2023 claims in a 2024 run: all accepted, no measures, exit 0, and zero scores replaced the good
    output. Now every line is out of period with a reason, and the run stops before publishing."""
    out = tmp_path / "out"
    good = run_period_steps(performance_year=2024, files=inputs, output_root=out)
    before = table(out, "final_scores")
    wrong = _shift_year(inputs, tmp_path / "y2023", 2023)
    assert main(run_args(wrong, out)) == 2
    err = one_line_error(capsys)
    assert "5 of 5 valid claim lines (100.0%) are dated outside performance year 2024" in err
    assert "left unchanged" in err and "--allow-empty" in err
    assert table(out, "final_scores") == before and read_manifest(out, 2024)["run_id"] == good.run_id
    # the operator sees the counts by file and reason
    assert duckdb.sql(f"SELECT reason, \"rows\" FROM '{out}/_failed_run/2024/ingest_out_of_scope.parquet'").fetchall() \
        == [("date of service before the performance year", 5)]
    # --allow-empty publishes the empty result on purpose
    assert main(run_args(wrong, out, "--allow-empty")) == 0
    assert read_manifest(out, 2024)["parameters"]["allow_empty"] is True


def test_lines_dated_in_the_future_are_out_of_scope_not_silently_dropped(inputs, tmp_path):
    # one of the 5 lines dated 2031: counted out of scope (after the performance year), 4 lines go on
    lines = inputs["medical_claim"].read_text().splitlines()
    lines[-1] = lines[-1].replace("2024-05-02", "2031-05-02")
    claims = tmp_path / "claims.csv"
    claims.write_text("\n".join(lines) + "\n")
    report = run_period_steps(performance_year=2024, files={**inputs, "medical_claim": claims},
                              output_root=tmp_path / "out")
    result = next(r for r in report.ingest if r.table_name == "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.out_of_scope_rows, result.rejected_rows) == (5, 4, 1, 0)
    assert table(tmp_path / "out", "ingest_out_of_scope") == [
        (str(claims), "medical_claim", "date of service after the performance year", 1, 2024)]


def test_an_eligibility_file_matching_no_one_stops_the_run_like_rejects(inputs, tmp_path):
    strangers = write_csv(tmp_path / "eligibility.csv", ELIGIBILITY_HEADER, [
        {"person_id": "SOMEONE", "birth_date": "1960-01-01", "gender": "male", "enrollment_start_date": "2024-01-01",
         "enrollment_end_date": "2024-12-31"}])
    with pytest.raises(RejectionThresholdExceeded, match=r"100.00% of medical_claim lines \(5 lines of 3 persons\) "
                                                         r"have no eligibility row, more than 5.0%"):
        run_period_steps(performance_year=2024, files={**inputs, "eligibility": strangers}, output_root=tmp_path / "o")
    assert not (tmp_path / "o" / "final_scores").exists()


def test_years_without_a_claims_specification_and_ehr_runs_are_exempt_from_the_claims_measure_check(tmp_path):
    from tests.test_measures_all_years import __name__ as _  # noqa: F401  (same sample as the 2026 test)
    from mips.paths import SAMPLE_DIR

    # an EHR-only run: no claims, so no claims measure is expected
    ehr = {name: SAMPLE_DIR / f"{name}.csv" for name in ("patient", "encounter", "condition", "procedure")}
    report = run_period_steps(performance_year=2024, files=ehr, output_root=tmp_path / "ehr", max_rejected_percent=100)
    assert report.rows["measure_results"] > 0


# ---------------------------------------------------------------- private by default

@pytest.mark.parametrize("group, dir_mode, file_mode", [(None, 0o700, 0o600), ("1", 0o750, 0o640)])
def test_outputs_holding_patient_ids_are_private_whatever_the_umask(inputs, tmp_path, monkeypatch, group, dir_mode,
                                                                   file_mode):
    if group:
        monkeypatch.setenv("MIPS_GROUP_READABLE", group)
    old = os.umask(0o000)  # the most permissive umask: the modes must not follow it
    try:
        out = tmp_path / "out"
        run_period_steps(performance_year=2024, files=inputs, output_root=out)
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    assert mode(out) == dir_mode and mode(out / ".periods") == dir_mode and mode(out / ".periods" / "2024") == dir_mode
    version = store.current_version(out, 2024)
    assert mode(version) == dir_mode
    assert {p.name: mode(p) for p in version.iterdir()}["measure_instances.parquet"] == file_mode
    assert {mode(p) for p in version.iterdir()} == {file_mode}
    assert mode(out / "catalog.duckdb") == file_mode


# ---------------------------------------------------------------- leftovers of killed runs, any year

def test_leftovers_of_killed_runs_of_other_years_are_removed_by_the_next_run(inputs, tmp_path):
    out = tmp_path / "out"
    (out / ".work" / "2022-killed").mkdir(parents=True)
    (out / ".periods" / "2022" / ".staging-killed").mkdir(parents=True)
    (out / ".periods" / "2022" / "v-never-switched").mkdir(parents=True)
    (out / "_failed_run" / ".staging-2022-abc").mkdir(parents=True)
    (out / ".catalog-0123abcd.duckdb").write_bytes(b"half a catalog")
    (out / ".catalog-0123abcd.duckdb.wal").write_bytes(b"x")
    run_period_steps(performance_year=2024, files=inputs, output_root=out)
    assert not list((out / ".work").iterdir())
    assert not list((out / ".periods" / "2022").iterdir())
    assert not list((out / "_failed_run").glob(".staging-*"))
    assert not list(out.glob(".catalog-*"))


# ---------------------------------------------------------------- scheduled runs are named as the docs say

def test_a_scheduled_run_is_named_after_the_year_it_resolves_to(monkeypatch):
    """docs/operations.md: runs are named mips-<PY>; a scheduled run (no performance_year, years_before_current
    0 or 1) was named mips-current-0 / mips-current-1."""
    from datetime import date
    from types import SimpleNamespace

    import flows.period as flow_module

    this_year = date.today().year
    for parameters, name in (({"performance_year": 2021}, "mips-2021"),
                             ({"performance_year": None, "years_before_current": 0}, f"mips-{this_year}"),
                             ({"performance_year": None, "years_before_current": 1}, f"mips-{this_year - 1}")):
        monkeypatch.setattr(flow_module, "flow_run", SimpleNamespace(parameters=parameters))
        assert flow_module._period_run_name() == name
