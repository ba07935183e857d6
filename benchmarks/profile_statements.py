"""Where a run's time goes, one SQL statement at a time: wall and CPU seconds of every statement of each period step.

    nice .venv/bin/python benchmarks/profile_statements.py INPUT_DIR [--year 2023] [--top 30] [--output DIR]

Runs the period steps `mips run --without-prefect` runs (mips.period.run_period_steps) in this process on the files
of INPUT_DIR (e.g. benchmarks/work/run-2023-10000000-seed1 after bench_run.py made it), with every DuckDB statement
timed: a script of several statements (the measure engine's SQL files) is split with DuckDB's own parser and each
statement timed apart. Prints each step's wall and CPU seconds, the peak resident memory, and the costliest
statements (the first 150 characters of each, comments left out). Set MIPS_DUCKDB_MEMORY_LIMIT for a memory limit.

CPU seconds are the process's user + system time over the statement (all DuckDB threads), so they say more than wall
time on a shared machine; the load average is printed with the figures. Statement texts are SQL, never data: no
patient identifier is printed.
"""
from __future__ import annotations

import argparse
import collections
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

STEPS = ("input_provenance", "ingest_step", "validate_step", "measures_step", "scores_step", "publish_step")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _text(sql: str) -> str:
    body = " ".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return " ".join(body.split())[:150]


class Profile:
    """Timings per step and per statement; ``connection`` wraps a DuckDB connection so every execute is timed."""

    def __init__(self) -> None:
        self.step = "(outside the steps)"
        self.statements: list[tuple[str, str, float, float]] = []  # (step, statement, wall s, CPU s)
        self.steps: dict[str, tuple[float, float]] = {}

    def execute(self, con, sql, args, kwargs):
        if args or kwargs or not isinstance(sql, str):
            return self._timed(con, sql, args, kwargs)
        parts = con.extract_statements(sql)
        if len(parts) < 2:
            return self._timed(con, sql, args, kwargs)
        result = None
        for part in parts:  # a script: each statement apart, in order, as DuckDB would run them
            result = self._timed(con, part.query, (), {})
        return result

    def _timed(self, con, sql, args, kwargs):
        c0, w0 = _cpu(), time.perf_counter()
        try:
            return con.execute(sql, *args, **kwargs)
        finally:
            self.statements.append((self.step, _text(str(sql)), time.perf_counter() - w0, _cpu() - c0))

    def connection(self, con):
        profile = self

        class Timed:
            def execute(self, sql, *args, **kwargs):
                out = profile.execute(con, sql, args, kwargs)
                return self if out is con else out

            def __getattr__(self, name):
                return getattr(con, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return con.__exit__(*exc)

        return Timed()


def profile_run(input_dir: Path, output_root: Path, year: int) -> Profile:
    """Run the period steps on ``input_dir`` into ``output_root`` with every statement timed."""
    import mips.period as period

    profile = Profile()
    connect = period.connect
    originals = {name: getattr(period, name) for name in STEPS}

    def step(name, function):
        def timed(*args, **kwargs):
            profile.step = name
            c0, w0 = _cpu(), time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                profile.steps[name] = (time.perf_counter() - w0, _cpu() - c0)
                profile.step = "(outside the steps)"
        return timed

    period.connect = lambda *a, **k: profile.connection(connect(*a, **k))
    for name, function in originals.items():
        setattr(period, name, step(name, function))
    try:
        period.run_period_steps(performance_year=year, files=period.find_inputs(input_dir), output_root=output_root)
    finally:
        period.connect = connect
        for name, function in originals.items():
            setattr(period, name, function)
    return profile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input_dir", type=Path, help="a folder of input files, as `mips run --input-dir` reads")
    parser.add_argument("--year", type=int, default=2023, help="performance year (default 2023)")
    parser.add_argument("--top", type=int, default=30, help="how many of the costliest statements to print")
    parser.add_argument("--output", type=Path, help="output root (default: a temporary folder, removed after)")
    args = parser.parse_args(argv)

    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="mips-profile-") as scratch:
        output = args.output or Path(scratch) / "out"
        started, c0 = time.perf_counter(), _cpu()
        profile = profile_run(args.input_dir, output, args.year)
        wall, cpu = time.perf_counter() - started, _cpu() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"{args.input_dir}, PY{args.year}: {wall:.1f} s wall, {cpu:.1f} CPU s, peak RSS {peak:.2f} GiB "
          f"(load {load} before, {'/'.join(f'{x:.1f}' for x in os.getloadavg())} after, 1/5/15 min, "
          f"{os.cpu_count()} cores)")
    timed = collections.defaultdict(float)
    for step, _, _, c in profile.statements:
        timed[step] += c
    print(f"{'step':<20}{'wall s':>9}{'CPU s':>9}{'in SQL':>9}")
    for name in STEPS:
        w, c = profile.steps.get(name, (0.0, 0.0))
        print(f"{name:<20}{w:>9.1f}{c:>9.1f}{timed.get(name, 0.0):>9.1f}")
    print(f"\nthe {args.top} costliest statements (CPU s):")
    print(f"{'step':<17}{'wall s':>8}{'CPU s':>8}  statement")
    for step, text, w, c in sorted(profile.statements, key=lambda s: -s[3])[:args.top]:
        print(f"{step:<17}{w:>8.1f}{c:>8.1f}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
