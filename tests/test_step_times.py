"""Each step of a period run records its wall and CPU seconds: in the RunReport (what `mips run` prints and
benchmarks/bench_run.py reads) and in run_manifest.step_seconds (where an operator finds them later)."""
from __future__ import annotations

import time

import duckdb

from mips.paths import SAMPLE_DIR
from mips.period import find_inputs, run_period_steps
from mips.progress import record_step_time
from mips.store import read_manifest

STEPS = ["input_provenance", "ingest", "validate", "measures", "scores", "publish_tables", "publish"]


def test_a_run_reports_and_keeps_the_time_of_each_step(tmp_path):
    started = time.perf_counter()
    report = run_period_steps(performance_year=2024, files=find_inputs(SAMPLE_DIR), output_root=tmp_path)
    elapsed = time.perf_counter() - started

    # the steps in the order they ran; publish_tables (writing and checking the tables) is part of publish
    assert list(report.step_seconds) == STEPS
    for name, spent in report.step_seconds.items():
        assert spent["wall_s"] > 0 and spent["cpu_s"] >= 0, name
    assert report.step_seconds["publish_tables"]["wall_s"] <= report.step_seconds["publish"]["wall_s"]
    # the steps do not overlap, so their sum (publish_tables counted inside publish) fits in the run's time
    assert sum(t["wall_s"] for n, t in report.step_seconds.items() if n != "publish_tables") <= elapsed
    assert "Time by step" in str(report)

    # the manifest was written during publish: every step before it, and the table writing of publish
    manifest = read_manifest(tmp_path, 2024)
    assert list(manifest["step_seconds"]) == sorted(STEPS[:-1])  # the JSON twin sorts its keys
    assert manifest["step_seconds"]["measures"] == report.step_seconds["measures"]
    table = duckdb.connect().execute(
        f"SELECT step_seconds FROM read_parquet('{tmp_path}/run_manifest/**/*.parquet')").fetchone()[0]
    assert '"measures": {"cpu_s"' in table


def test_a_retried_step_adds_its_attempts_and_a_run_without_a_record_is_left_alone():
    class Run:
        step_seconds: dict = {}

    run = Run()
    run.step_seconds = {}
    record_step_time(run, "ingest_step", 1.25, 0.5)
    record_step_time(run, "ingest_step", 2.0, 1.0)  # the retry after a transient I/O error
    assert run.step_seconds == {"ingest": {"wall_s": 3.25, "cpu_s": 1.5}}
    record_step_time(object(), "ingest_step", 1.0, 1.0)  # a plain object has no record: nothing happens
