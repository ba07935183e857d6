"""Time and peak memory of every claims measure of one year on N generated claim lines.

    .venv/bin/python benchmarks/bench_measures.py [--lines 10000000] [--year 2023] [--threads 2]
    .venv/bin/python benchmarks/bench_measures.py --end-to-end [--lines 10000000] [--year 2023] [--runs 3]

--end-to-end: `mips generate` writes Parquet claims and eligibility (once per size/year, under benchmarks/work/),
then a fresh process ingests and validates them (transforms.ingest, file-backed work database as in `mips run`)
and computes the measures; prints each step's time and the child's peak memory.

Default mode: claim lines are generated inside DuckDB from the year's compiled claims specification (4 lines per claim:
two procedure codes of the year's eligibility options, two quality data codes; three diagnoses per claim drawn
from the options' diagnosis codes; 500 clinicians in 50 TINs; one patient per ~10 claims), then
``compute_measures`` runs for claims at both levels. Prints generation time, measure time, rows and the peak
resident memory of the process (ru_maxrss). Writes nothing to the project.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import duckdb  # noqa: E402

from mips.paths import REFERENCE_DIR  # noqa: E402
from transforms.measures import compute_measures  # noqa: E402
from transforms.reference import attach_reference  # noqa: E402


def generate(con: duckdb.DuckDBPyConnection, lines: int, year: int) -> None:
    con.execute(f"""
        CREATE TEMP TABLE bench_codes AS SELECT
          (SELECT list(DISTINCT code ORDER BY code) FROM ref.claims_eligibility_codes WHERE performance_year = {year} AND code_role = 'procedure') AS procs,
          (SELECT list(DISTINCT code ORDER BY code) FROM ref.claims_eligibility_codes WHERE performance_year = {year} AND code_role = 'diagnosis') AS dxs,
          (SELECT list(DISTINCT code ORDER BY code) FROM ref.claims_performance_codes WHERE performance_year = {year} AND code_kind = 'procedure') AS qdcs
    """)
    n_claims = max(1, lines // 4)
    dx_cols = ", ".join(
        f"CASE WHEN {i} <= 3 THEN dxs[1 + CAST(hash(c.i * 31 + {i}) % len(dxs) AS BIGINT)] END AS diagnosis_code_{i}" for i in range(1, 26))
    con.execute(f"""
        CREATE TABLE medical_claim AS
        WITH c AS (
            SELECT i, (i % 500) AS clin, (i % {max(1, n_claims // 10)}) AS pat,
                   DATE '{year}-01-01' + CAST(hash(i) % 365 AS INTEGER) AS dos
            FROM range({n_claims}) t(i)
        )
        SELECT 'C' || c.i AS claim_id, CAST(l.j AS INTEGER) AS claim_line_number, 'professional' AS claim_type,
               'P' || c.pat AS person_id, c.dos AS claim_line_start_date, c.dos AS claim_line_end_date,
               CASE WHEN hash(c.i) % 20 = 0 THEN '02' ELSE '11' END AS place_of_service_code,
               CASE WHEN l.j <= 2 THEN procs[1 + CAST(hash(c.i * 7 + l.j) % len(procs) AS BIGINT)]
                    ELSE qdcs[1 + CAST(hash(c.i * 13 + l.j) % len(qdcs) AS BIGINT)] END AS hcpcs_code,
               CASE WHEN l.j > 2 AND hash(c.i + l.j) % 5 = 0 THEN '8P' END AS hcpcs_modifier_1,
               NULL::VARCHAR AS hcpcs_modifier_2, NULL::VARCHAR AS hcpcs_modifier_3,
               NULL::VARCHAR AS hcpcs_modifier_4, NULL::VARCHAR AS hcpcs_modifier_5,
               CAST(1000000000 + c.clin AS VARCHAR) AS rendering_npi, CAST(100000000 + c.clin % 50 AS VARCHAR) AS billing_tin,
               'icd-10-cm' AS diagnosis_code_type, {dx_cols},
               100.0 AS allowed_amount, 80.0 AS paid_amount, 1.0 AS service_unit_quantity, 'medicare' AS payer,
               'bench' AS source_file, c.i * 4 + l.j AS source_row_number
        FROM c CROSS JOIN range(1, 5) l(j) CROSS JOIN bench_codes
    """)
    con.execute(f"""
        CREATE TABLE eligibility AS
        SELECT 'P' || p AS person_id, DATE '{year - 40}-01-01' - CAST(hash(p) % 18000 AS INTEGER) AS birth_date,
               CASE WHEN p % 2 = 0 THEN 'female' ELSE 'male' END AS gender,
               DATE '{year}-01-01' AS enrollment_start_date, DATE '{year}-12-31' AS enrollment_end_date,
               NULL::VARCHAR AS dual_status_code, NULL::DATE AS death_date, 'medicare' AS payer,
               'bench' AS source_file, p + 1 AS source_row_number
        FROM range({max(1, n_claims // 10)}) t(p)
    """)


WORK = PROJECT_ROOT / "benchmarks" / "work"

CHILD = r"""
import json, resource, sys, time
from datetime import date
from pathlib import Path
from mips.db import connect
from transforms import ingest
from transforms.measures import compute_measures
from transforms.reference import attach_reference
data, work, year = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
con = connect(work)
t0 = time.perf_counter()
ingest.ingest_inputs(con, {"medical_claim": data / "medical_claim.parquet", "eligibility": data / "eligibility.parquet"})
t1 = time.perf_counter()
attach_reference(con)
compute_measures(con, performance_year=year, period_start=date(year, 1, 1), period_end=date(year, 12, 31))
t2 = time.perf_counter()
n_results = con.execute("SELECT count(*) FROM measure_results").fetchone()[0]
peak_to_results = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
# measure_instances is a view named and sorted when written: time writing it as mips run publishes it
con.execute(f"COPY (SELECT * FROM measure_instances) TO '{(work / 'measure_instances.parquet').as_posix()}' "
            "(FORMAT parquet, COMPRESSION zstd)")
t3 = time.perf_counter()
print(json.dumps({"ingest_s": t1 - t0, "measures_s": t2 - t1, "instances_write_s": t3 - t2,
                  "peak_to_results_gib": peak_to_results,
                  "lines": con.execute("SELECT count(*) FROM medical_claim").fetchone()[0],
                  "results": n_results,
                  "instances": con.execute(f"SELECT count(*) FROM '{(work / 'measure_instances.parquet').as_posix()}'").fetchone()[0],
                  "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024}))
"""


def end_to_end(lines: int, year: int, runs: int = 1) -> int:
    import json
    import statistics
    import subprocess

    data = WORK / f"measures-{year}-{lines}"
    if not (data / "medical_claim.parquet").exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mips.cli", "generate", "--performance-year", str(year),
                        "--claim-lines", str(lines), "--format", "parquet", "--no-encounters", "--output", str(data)],
                       check=True, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
        print(f"mips generate: {lines:,} claim lines in {time.perf_counter() - t:.1f} s ({data})")
    results = []
    for run in range(1, runs + 1):  # a fresh process per run: its peak memory is that run's alone
        out = subprocess.run([sys.executable, "-c", CHILD, str(data), str(WORK / "measures-run"), str(year)],
                             check=True, cwd=PROJECT_ROOT, capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["to_results_s"] = r["ingest_s"] + r["measures_s"]
        results.append(r)
        print(f"run {run}: PY{year} end to end on {r['lines']:,} accepted claim lines: ingest + validation "
              f"{r['ingest_s']:.1f} s, measures {r['measures_s']:.1f} s, total to measure_results "
              f"{r['to_results_s']:.1f} s ({r['results']:,} rows; peak resident memory {r['peak_to_results_gib']:.2f} GiB)"
              f"; then writing measure_instances ({r['instances']:,} rows, named and sorted on the way out) "
              f"{r['instances_write_s']:.1f} s, peak {r['peak_rss_gib']:.2f} GiB", flush=True)
    if runs > 1:
        med = {k: statistics.median(r[k] for r in results)
               for k in ("ingest_s", "measures_s", "to_results_s", "instances_write_s", "peak_to_results_gib", "peak_rss_gib")}
        print(f"median of {runs}: ingest {med['ingest_s']:.1f} s, measures {med['measures_s']:.1f} s, total to "
              f"measure_results {med['to_results_s']:.1f} s (target < 90 s), peak {med['peak_to_results_gib']:.2f} GiB "
              f"(target < 4 GiB); writing measure_instances {med['instances_write_s']:.1f} s, whole-process peak "
              f"{med['peak_rss_gib']:.2f} GiB")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit (spills to disk beyond it)")
    parser.add_argument("--end-to-end", action="store_true", help="mips generate files, then ingest + measures")
    parser.add_argument("--runs", type=int, default=1, help="--end-to-end: runs in fresh processes; prints the median")
    args = parser.parse_args(argv)
    if args.end_to_end:
        return end_to_end(args.lines, args.year, args.runs)
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}; SET memory_limit = '{args.memory_limit}'; "
                "SET preserve_insertion_order = false")
    attach_reference(con, REFERENCE_DIR)
    t0 = time.perf_counter()
    generate(con, args.lines, args.year)
    t1 = time.perf_counter()
    compute_measures(con, performance_year=args.year, period_start=date(args.year, 1, 1),
                     period_end=date(args.year, 12, 31), sources=("claims",))
    t2 = time.perf_counter()
    n_lines = con.execute("SELECT count(*) FROM medical_claim").fetchone()[0]
    n_results, n_instances = con.execute(
        "SELECT (SELECT count(*) FROM measure_results), (SELECT count(*) FROM measure_instances)").fetchone()
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"PY{args.year}: {n_lines:,} claim lines generated in {t1 - t0:.1f} s")
    print(f"compute_measures (claims, individual + group): {t2 - t1:.1f} s -> {n_results:,} measure_results rows, "
          f"{n_instances:,} measure_instances rows")
    print(f"peak resident memory: {peak_gib:.2f} GiB (threads={args.threads}, memory_limit={args.memory_limit})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
