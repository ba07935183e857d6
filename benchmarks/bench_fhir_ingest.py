"""FHIR NDJSON ingest speed and peak memory: generated Bulk Data files -> fhir_resource + ehr_attribution; optionally
the eCQM engine over the loaded practice, in the same process.

    .venv/bin/python benchmarks/bench_fhir_ingest.py                        # about 1M resources, 3 runs
    .venv/bin/python benchmarks/bench_fhir_ingest.py --resources 200000 --runs 1
    .venv/bin/python benchmarks/bench_fhir_ingest.py --patients 100000 --runs 1 --measures part1  # issue 10: 3 eCQMs
    .venv/bin/python benchmarks/bench_fhir_ingest.py --patients 100000 --runs 1 --measures part2  # issue 11: 16 eCQMs
    .venv/bin/python benchmarks/bench_fhir_ingest.py --patients 100000 --runs 1 --measures all    # issue 12: every eCQM
    .venv/bin/python benchmarks/bench_fhir_ingest.py --patients 100000 --runs 1 --measures 001,236,CMS138

Generates a practice's EHR with the EHR generator (transforms/generate/ehr.py, the code of `mips generate
--patients`; about 22 resources per patient: encounters, conditions, labs, vital signs, procedures), then times
``transforms.fhir_files.load_fhir_dir`` in a fresh process per run, on a file-backed work database as `mips run`
uses (so peak RSS is that run's alone), and prints the median. Target (issue 10, 2-core machines): 1M resources
in under 30 s, peak memory under 3 GiB.

``--measures`` also computes eCQMs of performance year 2026 over the loaded practice, in the same process and work
database, through ``transforms.ecqm.compute_ecqms`` (the engine `mips run` calls) restricted to the chosen measures
(``measures=``): ``part1`` (issue 10's 001, 236, 130), ``part2`` (issue 11's 16 measures of parts 1 and 2), ``all``,
or a comma list of MIPS ids / CMS ids. It prints each engine step (the IR, the shared blocks, every measure, the
population rules, the results) with wall seconds, the process's CPU seconds (all DuckDB threads: the fairer figure
on a shared machine) and the process's peak RSS so far, then the totals (load + engine) and the load average.
Targets: issue 11, the 16 measures in under 60 s; issue 12, all in under 120 s; peak memory under 3 GiB.
``--patients`` sizes the practice by patients instead of resources (100,000 patients: about 1M encounters).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
RESOURCES_PER_PATIENT = 22.2  # measured on the generator's output (encounters ~10, procedures ~8.5, ...)

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from mips.db import connect
from transforms import ingest
from transforms.fhir_files import load_fhir_dir
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
con = connect(Path(sys.argv[2]))
ingest._ensure_ingest_tables(con)
started, cpu0 = time.perf_counter(), cpu()
load = load_fhir_dir(con, sys.argv[1])
seconds, load_cpu = time.perf_counter() - started, cpu() - cpu0
load_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
measure = None
if len(sys.argv) > 3:
    from datetime import date
    from transforms.ecqm import compute_ecqms
    from transforms.reference import attach_reference
    attach_reference(con)
    started, cpu0 = time.perf_counter(), cpu()
    chosen = None if sys.argv[3] == "all" else sys.argv[3].split(",")
    run = compute_ecqms(con, performance_year=2026, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
                        measures=chosen)
    measure = {"seconds": time.perf_counter() - started, "cpu_seconds": cpu() - cpu0, "computed": run.computed,
               "patients": run.patients, "timings": run.timings, "peaks": run.peaks,
               "rows": con.execute("SELECT count(*) FROM measure_populations").fetchone()[0]}
resources = sum(n for _, n, *_ in load.by_type)
accepted = sum(a for _, _, a, *_ in load.by_type)
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "cpu_seconds": load_cpu, "load_peak_rss_mib": load_peak,
                  "memory_limit": con.execute("SELECT current_setting('memory_limit')").fetchone()[0],
                  "peak_rss_mib": usage.ru_maxrss / 1024, "resources": resources, "accepted": accepted,
                  "encounters": load.encounters, "measures": measure}))
"""


def generate(resources: int, seed: int, value_set_codes: Path | None, patients: int | None = None) -> Path:
    import duckdb

    from transforms.generate.ehr import build_ehr, write_ndjson
    from transforms.reference import attach_reference

    patients = patients or max(1, round(resources / RESOURCES_PER_PATIENT))
    folder = WORK / f"fhir-{patients}-{seed}"
    if (folder / "Patient.ndjson").exists():
        return folder
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if value_set_codes:
        relation = f"read_parquet('{value_set_codes.as_posix()}')"
    else:
        attach_reference(con)
        relation = "ref.ecqm_value_set_codes"
    generated = build_ehr(con, performance_year=2026, patients=patients, seed=seed, value_set_codes=relation)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    written = sum(write_ndjson(con, view, folder / f"{rtype}.ndjson") for rtype, view in generated.views.items())
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"generated {written:,} resources ({patients:,} patients) in {time.perf_counter() - started:.1f} s "
          f"({size / 2**20:,.0f} MiB of NDJSON)")
    return folder


# issue 10's three eCQMs, and issue 11's sixteen (parts 1 and 2), as MIPS ids
MEASURE_SETS = {
    "part1": ("001", "236", "130"),
    "part2": ("001", "236", "130", "134", "226", "113", "112", "309", "317", "128", "117", "238", "318", "374", "370",
              "438"),
}


def measure_selection(text: str) -> str:
    """--measures: 'all', a named set or a comma list -> what the child passes to compute_ecqms ('all' or ids)."""
    text = text.strip()
    if text == "all":
        return "all"
    if text in MEASURE_SETS:
        return ",".join(MEASURE_SETS[text])
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give part1, part2, all or a comma list of MIPS ids")
    return ",".join(items)


def print_measures(m: dict, load: dict) -> None:
    """The engine's steps, slowest first, then the totals: wall seconds, the process's CPU seconds (all threads) and
    its peak RSS so far at the end of each step."""
    print(f"  eCQMs: {len(m['computed'])} measures ({', '.join(m['computed'])}) over {m['patients']:,} patients, "
          f"{m['rows']:,} measure_populations rows")
    print(f"    {'step':<40} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}")
    for step, (wall, cpu) in sorted(m["timings"].items(), key=lambda kv: -kv[1][1]):
        peak = m.get("peaks", {}).get(step)
        print(f"    {step:<40} {wall:8.2f} {cpu:8.2f} {peak if peak is None else format(peak, ',.0f'):>9}")
    print(f"  eCQMs total: {m['seconds']:.1f} s wall, {m['cpu_seconds']:.1f} CPU s")
    print(f"  load + eCQMs: {load['seconds'] + m['seconds']:.1f} s wall, {load['cpu_seconds'] + m['cpu_seconds']:.1f} "
          f"CPU s, peak RSS {load['peak_rss_mib']:,.0f} MiB (3 GiB = 3,072 MiB); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patients", type=int, help="size the practice by patients (overrides --resources)")
    parser.add_argument("--measures", nargs="?", const="all", type=measure_selection,
                        help="also compute 2026 eCQMs over the loaded practice and print each step's time: part1 (the "
                             "3 of issue 10), part2 (the 16 of issue 11), all (default), or a comma list of MIPS ids")
    parser.add_argument("--value-set-codes", type=Path,
                        help="a compiled ecqm_value_set_codes Parquet file (default: the project's data/reference)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    folder = generate(args.resources, args.seed, args.value_set_codes, args.patients)
    results = []
    for run in range(args.runs):
        print(f"run {run + 1}: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start", flush=True)
        work = WORK / f"fhir-work-{run}"
        shutil.rmtree(work, ignore_errors=True)
        out = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(work)] + ([args.measures] if args.measures else []),
                             check=True, capture_output=True,
                             text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        shutil.rmtree(work, ignore_errors=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"run {run + 1}: load {result['seconds']:.1f} s ({result['cpu_seconds']:.1f} CPU s), "
              f"peak {result['load_peak_rss_mib']:,.0f} MiB after the load, {result['peak_rss_mib']:,.0f} MiB in all, "
              f"{result['resources']:,} resources ({result['accepted']:,} accepted), "
              f"{result['encounters']:,} encounters attributed; DuckDB memory_limit {result['memory_limit']}")
        if result["measures"] is not None:
            print_measures(result["measures"], result)
    seconds = statistics.median(r["seconds"] for r in results)
    peak = statistics.median(r["load_peak_rss_mib"] for r in results)
    n = results[0]["resources"]
    cpu = statistics.median(r["cpu_seconds"] for r in results)
    # the CPU seconds (both threads) say how much work the load is, whatever else the machine runs
    print(f"median of {len(results)}: {n:,} FHIR resources in {seconds:.1f} s ({n / seconds:,.0f} resources/s), "
          f"{cpu:.1f} CPU s, peak {peak:,.0f} MiB; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
