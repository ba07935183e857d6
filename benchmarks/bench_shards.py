"""Peak memory per worker of a TIN-sharded `mips run` (1, 2 and 4 shards) against the unsharded run, same inputs.

    nice .venv/bin/python benchmarks/bench_shards.py [--lines 1000000] [--year 2023] [--shards 1 2 4]

In one process tree:
1. the inputs of benchmarks/bench_run.py (`mips generate`: claim lines as CSV with eligibility, roster, PI, IA and
   cost; made once under benchmarks/work/ and reused);
2. the unsharded run: a fresh process calls flows.period.run_period_flow (the Prefect flow, as `mips run`);
3. each shard count K: a fresh process calls run_period_flow with shards=K, so the flow starts a Dask LocalCluster
   of min(K, CPUs) single-threaded worker processes (the `mips run --shards K` default) and puts the K shard
   tasks on it.

Printed per run: wall seconds of the flow, the run process's peak RSS (ingest, validation, split, merge, publish
stay there), and the peak RSS of each Dask worker process (its ru_maxrss when its last shard ended: the worker's
own imports, about 200 MiB of Prefect and Dask, included). In the unsharded run measures and scores run in the run
process, so its peak is the one to compare with a worker's. The published Parquet of every sharded run is compared
byte for byte with the unsharded run's (run manifest excepted).

Each run is a fresh process tree on a cold LocalCluster. On a shared machine wall time says more about the load
(printed) than about the code.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_run  # noqa: E402  (the inputs and the child-process helper)

RUN_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
from flows.period import run_period_flow, start_owned_temporary_server
from mips.period import find_inputs
data, output, year, shards = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
start_owned_temporary_server()
t0 = time.perf_counter()
report = run_period_flow(performance_year=year, files=find_inputs(data), output_root=output, shards=shards or None)
wall = time.perf_counter() - t0
print(json.dumps({"flow_wall_s": wall, "run_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "notes": report.notes, "steps": report.step_seconds}))
"""

SHARD_NOTE = re.compile(r"shard (\d+) ([\d,.]+) s, process (\d+) peak ([\d,]+) MiB")


def worker_peaks(notes: list[str]) -> dict[int, float]:
    """Peak MiB of each worker process, from the run's note on its shards (a worker's peak is its largest)."""
    peaks: dict[int, float] = {}
    for note in notes:
        for shard, seconds, pid, peak in SHARD_NOTE.findall(note):
            peaks[int(pid)] = max(peaks.get(int(pid), 0.0), float(peak.replace(",", "")))
    return peaks


def published(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.glob("*/performance_year=*/*.parquet")
            if not str(p.relative_to(out)).startswith("run_manifest/")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="generated claim lines (default 1M)")
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args(argv)
    data = bench_run.generate(args.lines, args.year, args.seed)
    print(f"load before: {bench_run.load()}")
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="bench-shards-", dir=bench_run.WORK))
    try:
        baseline = None
        for shards in [0] + list(args.shards):
            out = scratch / f"out-{shards}"
            # a loaded machine starts Prefect's temporary server slowly (its default wait is 20 s)
            figures = bench_run.child(RUN_CHILD, str(data), str(out), str(args.year), str(shards),
                                      env={"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"})
            peaks = worker_peaks(figures["notes"])
            files = published(out)
            if shards == 0:
                baseline = files
                same = "(baseline)"
            else:
                same = "yes" if files == baseline else "NO: " + ", ".join(n for n in files if files[n] != baseline.get(n))
            rows.append((shards, len(peaks), figures, peaks, same))
            shutil.rmtree(out, ignore_errors=True)
            print(f"  done: {'unsharded' if not shards else f'{shards} shard(s)'} ({bench_run.load()})", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{args.lines:,} claim lines, performance year {args.year}; load after: {bench_run.load()}\n")
    print("| run | workers | flow wall s | run process peak MiB | peak MiB per worker (max) | Parquet as unsharded |")
    print("|---|---:|---:|---:|---|---|")
    for shards, workers, figures, peaks, same in rows:
        label = "unsharded (measures and scores in the run process)" if not shards else f"{shards} shard(s)"
        per_worker = ", ".join(f"{p:,.0f}" for p in sorted(peaks.values(), reverse=True)) or "-"
        worst = f" ({max(peaks.values()):,.0f})" if peaks else ""
        print(f"| {label} | {workers or '-'} | {figures['flow_wall_s']:.1f} | {figures['run_peak_mib']:,.0f} | "
              f"{per_worker}{worst} | {same} |")
    print(json.dumps({"lines": args.lines, "runs": [{"shards": s, "flow_wall_s": f["flow_wall_s"],
                                                      "run_peak_mib": f["run_peak_mib"], "worker_peaks_mib": p}
                                                     for s, _, f, p, _ in rows]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
