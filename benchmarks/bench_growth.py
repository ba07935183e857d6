"""Growth of `mips run` with the input: time, peak memory and DuckDB spill at 1M, 10M and 50M claim lines.

    nice .venv/bin/python benchmarks/bench_growth.py [--sizes 1000000,10000000,50000000] [--memory-limit 3GB]

For each size, in this order and one after another (so the ratios compare runs of the same code under close
conditions):
1. the inputs: `mips generate` writes them once under benchmarks/work/run-<year>-<lines>-seed<seed>/ and they are
   reused afterwards (50M lines is an 8.3 GB CSV and takes a long while to write);
2. the DuckDB floor on the same CSV (bench_run.py: read it all_varchar, write Parquet, 2 threads);
3. `mips run` through the Prefect flow (flows.period.run_period_flow, as bench_run.py) in a fresh process with
   DuckDB's memory limit set by MIPS_DUCKDB_MEMORY_LIMIT (--memory-limit, default 3GB as issue 16 asks).
   While it runs, a thread of that process samples every 0.5 s its resident memory and the bytes on disk under
   the run's work folder: DuckDB's spill files (the work folder's spill/, or MIPS_DUCKDB_TEMP_DIRECTORY) and the
   work database. Each step (ingest+validation, measures, scores, publish) gets the peaks seen while it ran, so
   the table says where the run spills and which step sets the peak.

Peak RSS is the kernel's peak resident memory of the process (VmHWM, as ru_maxrss): at the end of each step it is
read and reset (/proc/self/clear_refs), so each step's peak is exact, not sampled; the spill and work database
figures are sampled. CPU seconds are the process's (all threads). The machine's load average is printed with every run:
on a shared machine wall time says more about the load than about the code.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import FLOOR_CHILD, STEPS, WORK, child, generate, load  # noqa: E402

GIB = 1024 ** 3

RUN_CHILD = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
from flows.period import run_period_flow, start_owned_temporary_server
from mips import progress
from mips.db import TEMP_DIRECTORY_VARIABLE, configured_memory_limit
from mips.period import find_inputs
data, output, year = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
spill_roots = [output / ".work"] + ([Path(os.environ[TEMP_DIRECTORY_VARIABLE])]
                                    if os.environ.get(TEMP_DIRECTORY_VARIABLE) else [])
PAGE = os.sysconf("SC_PAGE_SIZE")

def disk():  # (spill bytes, work database bytes) now
    spill = work = 0
    for root in spill_roots:
        for folder, _, names in os.walk(root):
            for name in names:
                try:
                    size = os.stat(os.path.join(folder, name)).st_size
                except OSError:
                    continue  # removed between the listing and the stat
                if name.startswith("duckdb_temp"):
                    spill += size
                elif name.startswith("work.duckdb"):
                    work += size
    return spill, work

window = {"rss": 0, "spill": 0, "work": 0}   # peaks since the last step ended
overall = {"rss": 0, "spill": 0, "work": 0}
per_step = {}
lock = threading.Lock()
stop = threading.Event()

def sample():
    while not stop.wait(0.5):
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * PAGE
        spill, work = disk()
        with lock:
            for key, value in (("rss", rss), ("spill", spill), ("work", work)):
                window[key] = max(window[key], value)
                overall[key] = max(overall[key], value)

def kernel_peak():  # the kernel's peak resident bytes of this process since the last reset (VmHWM)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))

def reset_kernel_peak():  # so that the next step's VmHWM is its own (this also resets ru_maxrss)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

record = progress.record_step_time
def record_with_peaks(run, name, wall, cpu):  # the step that just ended gets the peaks seen while it ran
    record(run, name, wall, cpu)
    with lock:
        window["rss"] = max(window["rss"], kernel_peak())  # a spike between two samples is not missed
        overall["rss"] = max(overall["rss"], window["rss"])
        reset_kernel_peak()
        per_step[name.removesuffix("_step")] = dict(window)
        window.update(rss=0, spill=0, work=0)
progress.record_step_time = record_with_peaks

start_owned_temporary_server()  # nothing to do when PREFECT_API_URL is set
overall["rss"] = kernel_peak()  # imports and the server's start
reset_kernel_peak()
threading.Thread(target=sample, daemon=True).start()
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
report = run_period_flow(performance_year=year, files=find_inputs(data), output_root=output)
r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
stop.set()
overall["rss"] = max(overall["rss"], kernel_peak())
print(json.dumps({"flow_wall_s": t1 - t0, "flow_cpu_s": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
                  "steps": report.step_seconds, "step_peaks": per_step, "sampled_peaks": overall,
                  "input_rows": sum(r.input_rows for r in report.ingest), "rows": report.rows,
                  "memory_limit": configured_memory_limit(), "peak_gib": overall["rss"] / 1024 ** 3}))
"""


def step_peaks(run: dict) -> dict[str, dict]:
    """Peaks of each reported step (ingest and validation together, as bench_run.py) in bytes."""
    peaks = run["step_peaks"]
    return {label: {k: max((peaks.get(n, {}).get(k, 0) for n in names), default=0) for k in ("rss", "spill", "work")}
            for label, names in STEPS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000,50000000", help="claim lines, comma-separated")
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory limit of the run (default 3GB)")
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads of the floor (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--output", type=Path, default=WORK / "run-output",
                        help="output folder of the runs (default benchmarks/work/run-output; another one lets two "
                             "benchmarks run at once)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    # a loaded machine starts Prefect's temporary server slower than its default 20 s wait
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
    print(f"load average at start: {load()}")
    results = []
    for lines in sizes:
        data = generate(lines, args.year, args.seed)
        target = args.output.parent / f"floor-{lines}.parquet"
        floor = child(FLOOR_CHILD, (data / "medical_claim.csv").as_posix(), target.as_posix(), str(args.threads))
        target.unlink(missing_ok=True)
        load_floor = load()
        print(f"{lines:,} lines: floor {floor['wall_s']:.1f} s wall, {floor['cpu_s']:.1f} CPU s, peak "
              f"{floor['peak_gib']:.2f} GiB (load {load_floor})", flush=True)
        started = time.strftime("%H:%M:%S", time.gmtime())
        run = child(RUN_CHILD, data.as_posix(), args.output.as_posix(), str(args.year),
                    env={"MIPS_DUCKDB_MEMORY_LIMIT": args.memory_limit})
        load_run = load()
        print(f"{lines:,} lines: mips run (flow, started {started} UTC) {run['flow_wall_s']:.1f} s wall, "
              f"{run['flow_cpu_s']:.1f} CPU s, peak RSS {run['peak_gib']:.2f} GiB, peak spill "
              f"{run['sampled_peaks']['spill'] / GIB:.2f} GiB, work database up to "
              f"{run['sampled_peaks']['work'] / GIB:.2f} GiB, DuckDB memory_limit {run['memory_limit']} "
              f"(load {load_run})", flush=True)
        for label, peaks in step_peaks(run).items():
            wall = sum(run["steps"].get(n, {}).get("wall_s", 0) for n in STEPS[label])
            cpu = sum(run["steps"].get(n, {}).get("cpu_s", 0) for n in STEPS[label])
            print(f"    {label:<18} {wall:8.1f} s wall {cpu:8.1f} CPU s   peak RSS {peaks['rss'] / GIB:5.2f} GiB   "
                  f"spill {peaks['spill'] / GIB:5.2f} GiB   work db {peaks['work'] / GIB:5.2f} GiB", flush=True)
        results.append({"lines": lines, "floor": floor, "run": run, "load_floor": load_floor, "load_run": load_run})

    base = next((r for r in results if r["lines"] == 10_000_000), None)
    print()
    print(f"growth, PY{args.year}, DuckDB memory_limit {args.memory_limit}; load average now {load()}")
    header = (f"{'lines':>12}{'wall s':>9}{'CPU s':>9}{'peak RSS':>10}{'spill':>8}{'floor wall':>11}{'floor CPU':>10}"
              f"{'wall/floor':>11}{'CPU/floor':>10}" + (f"{'wall/10M':>9}{'CPU/10M':>9}{'lines/10M':>10}" if base else ""))
    print(header)
    for r in results:
        run, floor = r["run"], r["floor"]
        row = (f"{r['lines']:>12,}{run['flow_wall_s']:>9.1f}{run['flow_cpu_s']:>9.1f}{run['peak_gib']:>8.2f}Gi"
               f"{run['sampled_peaks']['spill'] / GIB:>6.2f}Gi{floor['wall_s']:>11.1f}{floor['cpu_s']:>10.1f}"
               f"{run['flow_wall_s'] / floor['wall_s']:>11.2f}{run['flow_cpu_s'] / floor['cpu_s']:>10.2f}")
        if base:
            row += (f"{run['flow_wall_s'] / base['run']['flow_wall_s']:>9.2f}"
                    f"{run['flow_cpu_s'] / base['run']['flow_cpu_s']:>9.2f}{r['lines'] / base['lines']:>10.1f}")
        print(row)
    big = [r for r in results if r["lines"] >= 50_000_000]
    if base and big:
        r = big[-1]
        ratio = r["run"]["flow_wall_s"] / base["run"]["flow_wall_s"]
        ok = r["run"]["peak_gib"] < 4 and ratio <= 5.5
        print(f"target (issue 16): {r['lines']:,} lines with peak RSS under 4 GiB in at most 5.5x the 10M time: "
              f"peak {r['run']['peak_gib']:.2f} GiB, {ratio:.2f}x the 10M wall time "
              f"({r['run']['flow_cpu_s'] / base['run']['flow_cpu_s']:.2f}x its CPU time): {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
