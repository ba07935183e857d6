"""Speed and peak memory of `mips generate` (the synthetic inputs the other benchmarks read).

    .venv/bin/python benchmarks/generate_claims.py                          # 10M lines, Parquet, claims only
    .venv/bin/python benchmarks/generate_claims.py --lines 1000000 --format csv --encounters

Runs `mips generate` in a child process into a temporary folder (deleted afterwards) and prints
its wall time, CPU time (user + system: on a shared machine the wall time also counts waiting
for a core), peak resident memory and the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    parser.add_argument("--encounters", action="store_true", help="also write the EHR extract (default: claims only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mips-generate-") as folder:
        command = [sys.executable, "-m", "mips.cli", "generate", "--performance-year", str(args.year),
                   "--claim-lines", str(args.lines), "--seed", str(args.seed), "--format", args.format,
                   "--output", folder, "--encounters" if args.encounters else "--no-encounters"]
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT)
        wall = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        size = sum(p.stat().st_size for p in Path(folder).iterdir())
    print(f"mips generate {args.lines:,} claim lines (PY{args.year}, {args.format}, "
          f"{'with' if args.encounters else 'no'} encounters): {wall:.1f} s wall, "
          f"{usage.ru_utime + usage.ru_stime:.1f} s CPU, peak RSS {usage.ru_maxrss / 2**20:.2f} GiB, "
          f"{size / 2**20:,.0f} MiB written; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
