"""A TIN-sharded period run (`mips run --shards K`): the same steps as ``mips.period``, with measures and scores
computed per TIN shard, anywhere (a Dask worker, or one after another in this process), and merged into the one
atomic publish.

The run (this process) keeps what is file-wide: the period lock, checksums, ingest and validation (duplicate keys,
day-first date columns, malformed lines and the rejection threshold are properties of a whole file, so rejects,
ingest_summary and out-of-scope counts are exactly an unsharded run's), and a file-level error stops the run with
one line before any shard work. It then writes each shard's rows (transforms/shards.py) to the run's work folder,
which shard workers must see (shared storage on a cluster); ``run_shard`` computes measures and scores of one
shard there and writes the rows of the shard's own TINs; ``merge_shards_step`` puts them together in key order,
so the published Parquet is byte-identical to an unsharded run's (the run manifest records the shards).
"""
from __future__ import annotations

import os
import resource
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Sequence

from mips.db import connect
from mips.errors import PipelineError
from mips.period import (LEVELS, SOURCES, EhrInput, Period, PeriodRun, RunReport, check_claims_counted, finish_run,
                         ingest_step, input_provenance, measures_step, one_line_failure, publish_step, report_of,
                         run_parameters, scores_step, start_run, validate_step)
from mips.progress import reported
from schemas.tables import TableSpec

SHARDS_DIR = "shards"  # in the run's work folder: inputs/<k>/, outputs/<k>/, db/<k>/


def check_shards(shards: int | None, dask_address: str | None = None) -> None:
    if shards is not None and shards < 1:
        raise PipelineError(f"--shards must be at least 1 (got {shards})")
    if dask_address and not shards:
        raise PipelineError("--dask-address runs the shards of a sharded run; give --shards K too")


def check_shard_inputs(files) -> None:
    """Score inputs that pool TINs (virtual groups, APM entities, MVP subgroups ...) are scored whole: a TIN shard would
    score only its part of a virtual group, so a sharded run refuses them (run them without --shards)."""
    from mips.score_inputs import POOLING_INPUTS, option_of

    pooling = [name for name in POOLING_INPUTS if name in set(files)]
    if pooling:
        raise PipelineError(f"--shards cannot take {', '.join(option_of(n) for n in pooling)}: these score inputs pool "
                            "or describe TINs as a whole and are scored in one piece; run without --shards")


@dataclass
class ShardResult:
    """What one shard sends back: counts, specs, notes and warnings; never rows."""
    shard: int
    input_rows: dict[str, int]
    outputs: dict[str, TableSpec]
    output_rows: dict[str, int]
    notes: list[str] = field(default_factory=list)
    warnings: list[tuple] = field(default_factory=list)
    peak_rss_mib: float = 0.0   # of the process that ran it (a Dask worker: its peak over all the tasks it ran)
    seconds: float = 0.0
    pid: int = 0                # the process that ran it (two shards on one Dask worker share it)


def shard_dir(work_dir: Path | str) -> Path:
    return Path(work_dir) / SHARDS_DIR


@reported(lambda run: f"splitting the ingested rows into {run.parameters.get('shards')} TIN shard(s)")
def split_step(run: PeriodRun, shards: int) -> dict[str, list[int]]:
    """Each shard's rows of the ingested tables, in the work folder (transforms.shards.shard_inputs)."""
    from transforms.shards import shard_inputs

    check_shard_inputs(run.files)
    folder = shard_dir(run.work_dir)
    shutil.rmtree(folder, ignore_errors=True)  # a retried split starts again
    try:
        return shard_inputs(run.con, folder / "inputs", shards, staying=set(run.outputs))
    except ValueError as error:
        raise PipelineError(f"cannot split the run into shards: {error}") from None


def run_shard(work_dir: str, shard: int, shards: int, performance_year: int, period_start: date,
              period_end: date, parameters: dict, sources: Sequence[str] = SOURCES,
              levels: Sequence[str] = LEVELS) -> ShardResult:
    """Measures and scores of one shard, from the files ``split_step`` wrote; writes the rows of the shard's own
    TINs to ``<work>/shards/outputs/<shard>/``. Runs anywhere the work folder is seen (a Dask worker)."""
    import time

    from transforms.shards import load_shard_inputs, write_owned_outputs

    started = time.perf_counter()
    folder = shard_dir(work_dir)
    database = folder / "db" / str(shard)
    con = connect(database)
    try:
        counts = load_shard_inputs(con, folder / "inputs" / str(shard))
        # a plain run object for the steps (no lock: the run that split the inputs holds the period).
        # allow_empty: whether the claims gave any claims measure is checked on the merged results, not per shard
        run = PeriodRun(Period.of(performance_year, period_start, period_end), Path(work_dir), {},
                        f"shard-{shard}", None, con, database, datetime.now(timezone.utc),
                        {**parameters, "allow_empty": True})
        measures_step.__wrapped__(run, list(sources), list(levels))   # the steps without their progress lines
        scores_step.__wrapped__(run)
        rows = write_owned_outputs(con, run.outputs, folder / "outputs" / str(shard), shard, shards)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return ShardResult(shard, counts, dict(run.outputs), rows, list(run.notes), list(run.warnings), peak,
                           time.perf_counter() - started, os.getpid())
    finally:
        con.close()
        shutil.rmtree(database, ignore_errors=True)


def run_shards_here(run: PeriodRun, shards: int, sources: Sequence[str], levels: Sequence[str]) -> list[ShardResult]:
    """Every shard one after another in this process (--without-prefect): the same work a Dask cluster spreads."""
    return [run_shard(str(run.work_dir), k, shards, run.period.performance_year, run.period.start, run.period.end,
                      run.parameters, sources, levels) for k in range(shards)]


@reported("merging the outputs of the TIN shards")
def merge_shards_step(run: PeriodRun, results: list[ShardResult], sources: Sequence[str]) -> dict[str, int]:
    """The shards' outputs as the run's output tables (key order, as unsharded), their notes and warnings."""
    from transforms.reference import attach_reference
    from transforms.shards import merge_outputs

    attach_reference(run.con)  # as measures_step does: the checks and the publish read the reference tables
    results = sorted(results, key=lambda r: r.shard)
    specs: dict[str, TableSpec] = {}
    for result in results:
        specs.update(result.outputs)
    folders = [shard_dir(run.work_dir) / "outputs" / str(r.shard) for r in results]
    counts = merge_outputs(run.con, specs, folders)
    run.outputs.update(specs)
    # notes of shards that had rows to work on (an empty shard's "nothing to score" says nothing of the run): a note
    # every such shard gave is the run's; one that differs (counts of a shard) says which shard it is of
    worked = [r for r in results if any(r.input_rows.values())]
    common = [n for n in dict.fromkeys(n for r in worked for n in r.notes) if all(n in r.notes for r in worked)]
    run.notes += common + [f"shard {r.shard}: {n}" for r in worked for n in r.notes if n not in common]
    merged: dict[tuple, list] = {}
    for result in worked:
        for table, rule, n, description in result.warnings:
            entry = merged.setdefault((table, rule), [0, []])
            entry[0] += int(n)
            if description not in entry[1]:
                entry[1].append(description)
    run.warnings = list(run.warnings) + [(t, rule, n, "; ".join(d)) for (t, rule), (n, d) in merged.items()]
    peaks = "; ".join(f"shard {r.shard} {r.seconds:,.1f} s, process {r.pid} peak {r.peak_rss_mib:,.0f} MiB"
                      for r in results)
    run.notes.append(f"sharded run: {len(results)} TIN shard(s) ({peaks})")
    if "claims" in sources and not run.parameters.get("allow_empty"):
        check_claims_counted(run)
    return counts


def run_sharded_steps(*, performance_year: int, files: dict[str, Path], output_root: Path, shards: int,
                      period_start: date | None = None, period_end: date | None = None,
                      sources: Sequence[str] = SOURCES, levels: Sequence[str] = LEVELS,
                      max_rejected_percent: float = 5.0, allow_empty: bool = False,
                      scaling_factor: float | None = None, exceptional_scaling_factor: float | None = None,
                      ehr: EhrInput | None = None) -> RunReport:
    """``run_period_steps`` with measures and scores per TIN shard, one shard after another in this process
    (the Prefect flow spreads them over a Dask cluster instead)."""
    check_shards(shards)
    period = Period.of(performance_year, period_start, period_end)
    parameters = run_parameters(sources, levels, max_rejected_percent, allow_empty, scaling_factor,
                                exceptional_scaling_factor)
    run = start_run(period, files, output_root, parameters={**parameters, "shards": shards}, ehr=ehr)
    try:
        input_provenance(run)
        ingest_step(run)
        validate_step(run, max_rejected_percent)
        split_step(run, shards)
        results = run_shards_here(run, shards, sources, levels)
        merge_shards_step(run, results, sources)
        publish_step(run)
        return report_of(run)
    except Exception as error:
        raise one_line_failure(run, error) from None
    finally:
        finish_run(run)
