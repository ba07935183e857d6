"""`mips run` through the Prefect flow against the DuckDB floor on the same CSV: time, CPU, peak memory, ratios.

    nice .venv/bin/python benchmarks/bench_run.py [--lines 10000000] [--runs 3] [--year 2023] [--threads 2]

In one process tree:
1. `mips generate` writes the year's claim lines as CSV with eligibility, roster, PI, IA and cost files
   (once per size/year/seed, under benchmarks/work/; reused afterwards).
2. The floor: a fresh process has DuckDB (2 threads) read medical_claim.csv and write it to Parquet,
   ``COPY (SELECT * FROM read_csv(FILE, all_varchar=true)) TO 'x.parquet'``.
3. `mips run`: a fresh process calls the function `mips run` calls (flows.period.run_period_flow: the
   Prefect flow, its tasks, the atomic publish) with the generated folder's files. The process first
   starts Prefect's temporary server and times it, so the figures are given with and without it (or
   set PREFECT_API_URL to a running `prefect server start`: then there is nothing to start).
   Each step's wall and CPU seconds come from what the run records (RunReport.step_seconds, the same
   figures as run_manifest.step_seconds), not from its logs.
4. What one output costs to write at the least: a fresh process reads the run's published
   ``measure_instances`` (the care-gap detail, one row per eligible instance) and writes it again with the
   publish step's Parquet options, and, apart, only reads it. Writing that file (the copy less the read) is
   work any run must do, so it shows how much of the 4x budget is left for validation, measures and scores.

Each run is a fresh process, so its peak resident memory (ru_maxrss) is that run's alone; CPU seconds are
the process's user + system time (all its threads). The figures printed are medians of --runs runs, with
the load average of the machine before and after: on a shared machine wall time says more about the
load than about the code; CPU seconds do not depend on it (much).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WORK = PROJECT_ROOT / "benchmarks" / "work"

# step of the run -> the steps of mips.period it is made of (ingest and validation go together)
STEPS = {"ingest+validation": ("input_provenance", "ingest", "validate"), "measures": ("measures",),
         "scores": ("scores",), "publish": ("publish",)}

FLOOR_CHILD = r"""
import json, resource, sys, time
import duckdb
csv, target, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
con.execute(f"COPY (SELECT * FROM read_csv('{csv}', all_varchar=true)) TO '{target}' (FORMAT parquet)")
t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall_s": t1 - t0, "cpu_s": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
                  "peak_gib": r1.ru_maxrss / 1024 / 1024}))
"""

OUTPUT_CHILD = r"""
import json, resource, sys, time
import duckdb
from mips.store import PARQUET_OPTIONS
source, target, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
def timed(sql):
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    con.execute(sql).fetchall()
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    return t1 - t0, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{source}')").fetchall()]
rows = con.execute(f"SELECT count(*) FROM read_parquet('{source}')").fetchone()[0]
# reading every column (max() forces each value to be decoded), then reading and writing
read_wall, read_cpu = timed("SELECT " + ", ".join(f'max("{c}")' for c in columns) + f" FROM read_parquet('{source}')")
copy_wall, copy_cpu = timed(f"COPY (SELECT * FROM read_parquet('{source}')) TO '{target}' ({PARQUET_OPTIONS})")
print(json.dumps({"rows": rows, "read_wall_s": read_wall, "read_cpu_s": read_cpu, "copy_wall_s": copy_wall,
                  "copy_cpu_s": copy_cpu}))
"""

RUN_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
started = time.perf_counter()
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
from flows.period import run_period_flow, start_owned_temporary_server
from mips.period import find_inputs
data, output, year = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
imported = time.perf_counter()
start_owned_temporary_server()  # what run_period_flow does first; nothing to do when PREFECT_API_URL is set
server_up = time.perf_counter()
r0 = resource.getrusage(resource.RUSAGE_SELF)
report = run_period_flow(performance_year=year, files=find_inputs(data), output_root=output)
r1 = resource.getrusage(resource.RUSAGE_SELF)
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "server_start_s": server_up - imported,
                  "flow_wall_s": done - server_up, "flow_cpu_s": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
                  "steps": report.step_seconds, "rows": report.rows,
                  "input_rows": sum(r.input_rows for r in report.ingest),
                  "peak_gib": r1.ru_maxrss / 1024 / 1024}))
"""


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f}/{five:.1f}/{fifteen:.1f} (1/5/15 min) on {os.cpu_count()} cores"


def child(code: str, *args: str, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh Python (niced as this process is); its last stdout line is its JSON figures.
    Adds the CPU seconds of the whole child tree (the temporary Prefect server included) as tree_cpu_s."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"benchmark child failed (exit {out.returncode})")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["tree_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return figures


def generate(lines: int, year: int, seed: int) -> Path:
    data = WORK / f"run-{year}-{lines}-seed{seed}"
    if (data / "medical_claim.csv").exists() and (data / ".complete").exists():
        print(f"inputs: reusing {data}")
        return data
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mips.cli", "generate", "--performance-year", str(year),
                    "--claim-lines", str(lines), "--seed", str(seed), "--format", "csv", "--no-encounters",
                    "--output", str(data)], check=True, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
    (data / ".complete").write_text("")
    print(f"inputs: mips generate wrote {lines:,} claim lines ({(data / 'medical_claim.csv').stat().st_size / 1e9:.2f} GB "
          f"CSV) and the other files in {time.perf_counter() - t:.1f} s ({data})")
    return data


def step_figures(run: dict) -> dict[str, dict]:
    steps = run["steps"]
    return {label: {k: sum(steps.get(name, {}).get(k, 0.0) for name in names) for k in ("wall_s", "cpu_s")}
            for label, names in STEPS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000, help="generated claim lines (default 10M)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the floor and of mips run (median printed)")
    parser.add_argument("--year", type=int, default=2023, help="performance year (default 2023)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads of the floor (default 2)")
    args = parser.parse_args(argv)

    print(f"load average at start: {load()}")
    data = generate(args.lines, args.year, args.seed)
    csv = (data / "medical_claim.csv").as_posix()
    floors, runs, writes = [], [], []
    for i in range(1, args.runs + 1):
        target = WORK / "floor.parquet"
        floor = child(FLOOR_CHILD, csv, target.as_posix(), str(args.threads))
        target.unlink(missing_ok=True)
        floors.append(floor)
        print(f"floor {i}: DuckDB CSV -> Parquet {floor['wall_s']:.1f} s wall, {floor['cpu_s']:.1f} CPU s, "
              f"peak {floor['peak_gib']:.2f} GiB (load {load()})", flush=True)
        output = WORK / "run-output"
        run = child(RUN_CHILD, data.as_posix(), output.as_posix(), str(args.year))
        runs.append(run)
        steps = step_figures(run)
        print(f"mips run {i}: {run['input_rows']:,} input rows; flow {run['flow_wall_s']:.1f} s wall, "
              f"{run['flow_cpu_s']:.1f} CPU s (process), {run['tree_cpu_s']:.1f} CPU s (whole tree, server and "
              f"imports included); temporary server start {run['server_start_s']:.1f} s; peak {run['peak_gib']:.2f} GiB; "
              + ", ".join(f"{k} {v['wall_s']:.1f}/{v['cpu_s']:.1f}" for k, v in steps.items())
              + f" (wall/CPU s) (load {load()})", flush=True)
        published = output / "measure_instances" / f"performance_year={args.year}" / "data.parquet"
        copy = WORK / "measure_instances-copy.parquet"
        output_write = child(OUTPUT_CHILD, published.as_posix(), copy.as_posix(), str(args.threads))
        copy.unlink(missing_ok=True)
        writes.append(output_write)
        print(f"measure_instances {i}: {output_write['rows']:,} rows; read {output_write['read_wall_s']:.1f}/"
              f"{output_write['read_cpu_s']:.1f}, read and write {output_write['copy_wall_s']:.1f}/"
              f"{output_write['copy_cpu_s']:.1f} (wall/CPU s) (load {load()})", flush=True)

    med = statistics.median
    floor_wall, floor_cpu = med(f["wall_s"] for f in floors), med(f["cpu_s"] for f in floors)
    flow_wall, flow_cpu = med(r["flow_wall_s"] for r in runs), med(r["flow_cpu_s"] for r in runs)
    with_server = med(r["flow_wall_s"] + r["server_start_s"] for r in runs)
    tree_cpu = med(r["tree_cpu_s"] for r in runs)
    peak = med(r["peak_gib"] for r in runs)
    print()
    print(f"median of {args.runs} run(s), {args.lines:,} lines, PY{args.year}; load average now {load()}")
    print(f"{'':<24}{'wall s':>9}{'CPU s':>9}{'wall / floor':>14}{'CPU / floor':>13}")
    print(f"{'DuckDB floor':<24}{floor_wall:>9.1f}{floor_cpu:>9.1f}{1:>14.2f}{1:>13.2f}")
    for label in STEPS:
        w = med(step_figures(r)[label]["wall_s"] for r in runs)
        c = med(step_figures(r)[label]["cpu_s"] for r in runs)
        print(f"{label:<24}{w:>9.1f}{c:>9.1f}{w / floor_wall:>14.2f}{c / floor_cpu:>13.2f}")
    other_w = med(r["flow_wall_s"] - sum(sum(r["steps"].get(n, {}).get("wall_s", 0) for n in names)
                                         for names in STEPS.values()) for r in runs)
    other_c = med(r["flow_cpu_s"] - sum(sum(r["steps"].get(n, {}).get("cpu_s", 0) for n in names)
                                        for names in STEPS.values()) for r in runs)
    print(f"{'other (Prefect, report)':<24}{other_w:>9.1f}{other_c:>9.1f}{other_w / floor_wall:>14.2f}"
          f"{other_c / floor_cpu:>13.2f}")
    print(f"{'mips run (flow)':<24}{flow_wall:>9.1f}{flow_cpu:>9.1f}{flow_wall / floor_wall:>14.2f}"
          f"{flow_cpu / floor_cpu:>13.2f}")
    print(f"{'  + server start':<24}{with_server:>9.1f}{tree_cpu:>9.1f}{with_server / floor_wall:>14.2f}"
          f"{tree_cpu / floor_cpu:>13.2f}   (CPU: the whole process tree)")
    write_w = med(w["copy_wall_s"] - w["read_wall_s"] for w in writes)
    write_c = med(w["copy_cpu_s"] - w["read_cpu_s"] for w in writes)
    print(f"{'writing measure_instances':<24}{write_w:>9.1f}{write_c:>9.1f}{write_w / floor_wall:>14.2f}"
          f"{write_c / floor_cpu:>13.2f}   (its {med(w['rows'] for w in writes):,} rows, once, unsorted: "
          "a copy of the published file less reading it)")
    print(f"{'floor + that write':<24}{floor_wall + write_w:>9.1f}{floor_cpu + write_c:>9.1f}"
          f"{(floor_wall + write_w) / floor_wall:>14.2f}{(floor_cpu + write_c) / floor_cpu:>13.2f}   "
          "(reading the claims once and writing the care-gap detail once: work every run does)")
    print(f"peak resident memory: mips run {peak:.2f} GiB, floor {med(f['peak_gib'] for f in floors):.2f} GiB")
    print("targets (issue 16): mips run within 4x the floor in wall and CPU time, peak under 3 GiB; "
          f"{'met' if max(flow_wall / floor_wall, flow_cpu / floor_cpu) <= 4 and peak < 3 else 'NOT met'} here "
          "(wall ratios on a loaded machine are noise; see the load average)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
