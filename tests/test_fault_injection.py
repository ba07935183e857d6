"""Fault injection (issue 9): `mips run` killed with SIGKILL at ingest, measures and publish keeps the last
good outputs, and the next run succeeds with no cleanup by hand; a killed run leaves no Prefect server.

The runs are real `mips run` processes. ``MIPS_TEST_PAUSE_AT=<step>`` (mips.fs.PAUSE_ENV, a test hook)
makes the run say so on stderr and wait at that step, where the test kills it.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mips.fs import PAUSE_ENV
from mips.period import run_period_steps
from mips.store import read_manifest
from tests.test_flow import make_inputs, table

PROJECT = Path(__file__).resolve().parents[1]
OUTPUTS = ("ingest_summary", "measure_results", "measure_instances", "final_scores", "run_manifest")


def start_paused_run(files: dict[str, Path], out: Path, point: str, *, prefect: bool = False,
                     env: dict | None = None) -> subprocess.Popen:
    args = [sys.executable, "-m", "mips.cli", "run", "--performance-year", "2024", "--output", str(out)]
    args += [] if prefect else ["--without-prefect"]
    for name, path in files.items():
        args += [f"--{name.replace('_', '-')}", str(path)]
    return subprocess.Popen(args, cwd=PROJECT, env={**os.environ, **(env or {}), PAUSE_ENV: point},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_paused(proc: subprocess.Popen, point: str, timeout: float) -> list[str]:
    """The run's stderr lines up to its pause at ``point``.

    Reads the pipe's bytes itself: select() with readline() loses a marker that came in the same chunk as the line
    before it (readline buffers it, select then sees an empty pipe and waits out the timeout)."""
    deadline = time.monotonic() + timeout
    stderr = proc.stderr.fileno()
    printed = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stderr], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(stderr, 65536)
        if not chunk:
            break
        printed += chunk
        # the marker may share its line with a log record another thread wrote at the same moment
        if f"MIPS_TEST_PAUSED {point}".encode() in printed:
            return printed.decode(errors="replace").splitlines(keepends=True)
    proc.kill()
    raise AssertionError(f"the run never paused at {point}: {printed.decode(errors='replace')[-2000:]}")


def snapshot(out: Path) -> dict:
    return {name: table(out, name) for name in OUTPUTS}


def test_kill_9_at_ingest_measures_and_publish_keeps_the_last_good_output_and_the_next_run_succeeds(tmp_path):
    out = tmp_path / "out"
    good = make_inputs(tmp_path / "good")
    run_period_steps(performance_year=2024, files=good, output_root=out)
    # the killed runs read one claim line fewer: had they published, measure 001 would change
    fewer = make_inputs(tmp_path / "fewer")
    fewer["medical_claim"].write_text("\n".join(fewer["medical_claim"].read_text().splitlines()[:-2]) + "\n")
    for point in ("ingest", "measures", "publish"):
        before = snapshot(out)
        proc = start_paused_run(fewer, out, point)
        try:
            wait_until_paused(proc, point, timeout=60)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert snapshot(out) == before, point  # readers still see the last good run
        # the next run, with no cleanup by hand, takes the period and publishes
        report = run_period_steps(performance_year=2024, files=good, output_root=out)
        assert read_manifest(out, 2024)["run_id"] == report.run_id
        assert table(out, "measure_results") == before["measure_results"]  # same inputs, same counts
        # and the killed run left nothing behind
        assert not list((out / ".work").iterdir()), point
        assert sorted(p.name for p in (out / ".periods" / "2024").iterdir() if not p.name.startswith("v-")) == \
            ["current", "previous"], point
        assert len(list((out / ".periods" / "2024").glob("v-*"))) == 2, point
        assert not (out / ".locks" / "2024.lock").exists()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie is dead, only not yet reaped by its new parent


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the death signal is Linux's")
def test_a_killed_mips_run_leaves_no_temporary_prefect_server(tmp_path):
    files = make_inputs(tmp_path / "in")
    # A fresh Prefect home: the temporary server builds its database first (10 s alone here, 38 s beside 6 busy
    # loops on the 2 cores, over 3 minutes once on a CI machine). The test is about orphans, not
    # speed, so both waits only guard against a hang.
    # PREFECT_API_URL="" (no server) as a user may set it: the run treats it as unset, for Prefect's event
    # worker too, which otherwise logs "Service 'EventsWorker' failed" for each event.
    env = {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": "",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600"}
    proc = start_paused_run(files, tmp_path / "out", "ingest", prefect=True, env=env)
    try:
        printed = wait_until_paused(proc, "ingest", timeout=660)  # the temporary server is up by the first task
        assert [line for line in printed if "ERROR" in line] == []
        servers = [pid for pid in _children(proc.pid)
                   if b"uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(servers) == 1, "the run should have started one temporary server"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 15
    while _alive(servers[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphan = _alive(servers[0])
    if orphan:
        os.kill(servers[0], signal.SIGKILL)  # do not leave it running on the CI machine
    assert not orphan, "the temporary Prefect server outlived the killed run (an orphan)"
