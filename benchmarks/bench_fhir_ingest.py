"""FHIR NDJSON ingest speed and peak memory: generated Bulk Data files -> fhir_resource + ehr_attribution.

    .venv/bin/python benchmarks/bench_fhir_ingest.py                        # about 1M resources, 3 runs
    .venv/bin/python benchmarks/bench_fhir_ingest.py --resources 200000 --runs 1
    .venv/bin/python benchmarks/bench_fhir_ingest.py --patients 100000 --runs 1 --measures   # + the eCQMs

Generates a practice's EHR with the EHR generator (transforms/generate/ehr.py, the code of `mips generate
--patients`; about 22 resources per patient: encounters, conditions, labs, vital signs, procedures), then times
``transforms.fhir_files.load_fhir_dir`` in a fresh process per run, on a file-backed work database as `mips run`
uses (so peak RSS is that run's alone), and prints the median. Target (issue 10, 2-core machines): 1M resources
in under 30 s, peak memory under 3 GiB. ``--measures`` also times the eCQMs of performance year 2026 over the
loaded practice (the measure-source registry's 'ehr' engine, as `mips run` calls it); ``--patients`` sizes the
practice by patients instead of resources (100,000 patients: about 1M encounters).
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
con = connect(Path(sys.argv[2]))
ingest._ensure_ingest_tables(con)
started = time.perf_counter()
load = load_fhir_dir(con, sys.argv[1])
seconds = time.perf_counter() - started
measure_seconds = None
if len(sys.argv) > 3:
    from datetime import date
    from transforms.measures.registry import run_sources
    from transforms.reference import attach_reference
    attach_reference(con)
    started = time.perf_counter()
    outputs, notes = run_sources(con, performance_year=2026, period_start=date(2026, 1, 1),
                                 period_end=date(2026, 12, 31), sources=("ehr",))
    measure_rows = {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in outputs}
    measure_seconds = time.perf_counter() - started
resources = sum(n for _, n, *_ in load.by_type)
accepted = sum(a for _, _, a, *_ in load.by_type)
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "resources": resources, "accepted": accepted, "encounters": load.encounters,
                  "measure_seconds": measure_seconds, "measure_rows": measure_rows if measure_seconds else None}))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patients", type=int, help="size the practice by patients (overrides --resources)")
    parser.add_argument("--measures", action="store_true", help="also compute the 2026 eCQMs over the loaded practice")
    parser.add_argument("--value-set-codes", type=Path,
                        help="a compiled ecqm_value_set_codes Parquet file (default: the project's data/reference)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    folder = generate(args.resources, args.seed, args.value_set_codes, args.patients)
    results = []
    for run in range(args.runs):
        work = WORK / f"fhir-work-{run}"
        shutil.rmtree(work, ignore_errors=True)
        out = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(work)] + (["measures"] if args.measures else []),
                             check=True, capture_output=True,
                             text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        shutil.rmtree(work, ignore_errors=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"run {run + 1}: {result['seconds']:.1f} s ({result['cpu_seconds']:.1f} CPU s), peak {result['peak_rss_mib']:,.0f} MiB, "
              f"{result['resources']:,} resources ({result['accepted']:,} accepted), "
              f"{result['encounters']:,} encounters attributed")
        if result["measure_seconds"] is not None:
            print(f"  eCQMs: {result['measure_seconds']:.1f} s more ({result['measure_rows']})")
    seconds = statistics.median(r["seconds"] for r in results)
    peak = statistics.median(r["peak_rss_mib"] for r in results)
    n = results[0]["resources"]
    cpu = statistics.median(r["cpu_seconds"] for r in results)
    # the CPU seconds (both threads) say how much work the load is, whatever else the machine runs
    print(f"median of {len(results)}: {n:,} FHIR resources in {seconds:.1f} s ({n / seconds:,.0f} resources/s), "
          f"{cpu:.1f} CPU s, peak {peak:,.0f} MiB; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
