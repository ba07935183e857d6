"""Ingest + validation speed and peak memory on generated claim lines.

    .venv/bin/python benchmarks/bench_ingest.py                     # 10M lines, 3 runs
    .venv/bin/python benchmarks/bench_ingest.py --lines 1000000 --runs 1 --compare-pandera 200000

Generates the claims with `mips generate` (CSV, one file), then times `transforms.ingest`
in a fresh process per run (so peak RSS is that run's alone) and prints the median.
Targets (issue 2, 2-core machines): under 60 s and under 4 GiB for 10 million lines.
`--compare-pandera N` also times pandera's own pandas backend and the DuckDB SQL twins on
the first N rows, the measurement behind running the checks in DuckDB.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from mips.db import connect
from transforms import ingest
work = Path(sys.argv[2])
con = connect(work)
started = time.perf_counter()
result = ingest.ingest_file(con, sys.argv[1], "medical_claim")
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "input_rows": result.input_rows, "accepted_rows": result.accepted_rows,
                  "rejected_rows": result.rejected_rows}))
"""

PANDERA_CHILD = r"""
import json, sys, time
import duckdb, pandas as pd
from schemas.inputs import MEDICAL_CLAIM
from schemas.validate import failing_rows
from transforms import ingest
path, rows = sys.argv[1], int(sys.argv[2])
frame = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=rows)
frame.index = range(1, len(frame) + 1)
sample = path + f".first{rows}.csv"
frame.to_csv(sample, index=False)
started = time.perf_counter(); native = failing_rows(MEDICAL_CLAIM, frame.replace({"": None})); pandera_s = time.perf_counter() - started
con = duckdb.connect(); con.execute("SET enable_progress_bar=false")
started = time.perf_counter(); ingest.ingest_file(con, sample, MEDICAL_CLAIM); duck_s = time.perf_counter() - started
sql = {r[0] for r in con.execute("SELECT DISTINCT row_number FROM _rejects").fetchall()}
print(json.dumps({"rows": len(frame), "pandera_pandas_s": pandera_s, "duckdb_sql_twins_s": duck_s,
                  "same_rejected_rows": sql == native}))
"""


def generate(lines: int, seed: int, bad_percent: float) -> Path:
    folder = WORK / f"claims-{lines}-{seed}-{bad_percent}"
    claims = folder / "medical_claim.csv"
    if claims.exists():
        return claims
    started = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "mips"), "generate", "--performance-year", "2024",
                    "--claim-lines", str(lines), "--seed", str(seed), "--bad-rows-percent", str(bad_percent),
                    "--format", "csv", "--no-encounters", "--output", str(folder)], check=True)
    print(f"generated {lines:,} claim lines in {time.perf_counter() - started:.1f} s "
          f"({claims.stat().st_size / 2**20:,.0f} MiB)")
    return claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad-rows-percent", type=float, default=1.0)
    parser.add_argument("--compare-pandera", type=int, default=0, metavar="N")
    args = parser.parse_args()

    claims = generate(args.lines, args.seed, args.bad_rows_percent)
    results = []
    for run in range(args.runs):
        out = subprocess.run([sys.executable, "-c", CHILD, str(claims), str(WORK / "db")],
                             check=True, capture_output=True, text=True, cwd=ROOT)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"run {run + 1}: {result['seconds']:.1f} s, peak RSS {result['peak_rss_mib']:,.0f} MiB, "
              f"{result['input_rows']:,} in = {result['accepted_rows']:,} accepted + {result['rejected_rows']:,} rejected")
    seconds = statistics.median(r["seconds"] for r in results)
    peak = statistics.median(r["peak_rss_mib"] for r in results)
    print(f"\nmedian of {len(results)}: ingest+validation {seconds:.1f} s, peak RSS {peak:,.0f} MiB "
          f"for {args.lines:,} lines ({args.lines / seconds / 1e6:.2f} M lines/s); "
          f"targets: < 60 s, < 4096 MiB")

    if args.compare_pandera:
        out = subprocess.run([sys.executable, "-c", PANDERA_CHILD, str(claims), str(args.compare_pandera)],
                             check=True, capture_output=True, text=True, cwd=ROOT)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\npandera pandas backend vs DuckDB SQL twins on the first {figures['rows']:,} rows: "
              f"{figures['pandera_pandas_s']:.1f} s vs {figures['duckdb_sql_twins_s']:.1f} s "
              f"(x{figures['pandera_pandas_s'] / figures['duckdb_sql_twins_s']:.0f}); "
              f"same rejected rows: {figures['same_rejected_rows']}")


if __name__ == "__main__":
    main()
