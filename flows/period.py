"""Prefect flows: one reporting period (``period_flow``) and several years in a row (``backfill_flow``).

Each task calls one plain step of ``mips.period`` (the same steps ``run_period_steps`` runs
without Prefect). Tasks that read or write files retry on transient I/O errors. Logs and the
run's markdown artifact carry counts, file names, measure ids, TINs and NPIs only.
"""
from __future__ import annotations

import logging
import os
import sys
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Literal, Optional

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from mips import progress
from mips.errors import PipelineError
from mips.sharded import run_shard
from mips.period import (LEVELS, SOURCES, EhrInput, split_ehr, Period, PeriodRun, RunReport, find_inputs, finish_run, ingest_step,
                         input_provenance, measures_step, one_line_failure, outputs_status, publish_step, report_of,
                         resolve_year, run_parameters, scores_step, start_run, summary_markdown, validate_step)

Source = Literal[SOURCES]  # the source registry's names (transforms/measures/registry.py)
Level = Literal["individual", "group"]
_NOT_TRANSIENT = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def transient_io(task, task_run, state) -> bool:
    """Retry only I/O errors that may pass (a network share, a full disk being cleaned), not user errors."""
    try:
        state.result()
    except PipelineError as error:
        return bool(getattr(error, "transient", False))  # e.g. a publish that hit an I/O error that may pass
    except _NOT_TRANSIENT:
        return False
    except OSError:
        return True
    except BaseException:
        return False
    return False


# Runs in progress in this process, by run id. Tasks get the id, not the run: the run holds a DuckDB
# connection, which must not be kept or serialised by Prefect (task parameters and results).
class _RunsOfThisProcess(dict):
    """A Dask task runner sends the flow's context to its workers, pickling the flow's and tasks' functions by value
    with the globals they name: this registry goes as an empty dict (runs and their DuckDB connections stay here)."""

    def __reduce__(self):
        return dict, ()


_ACTIVE: dict[str, PeriodRun] = _RunsOfThisProcess()

def _step(step, run_id: str, *args):
    """Call a plain step on the run; its error goes on without the library's frames (they hold the
    DuckDB connection, which Prefect would keep alive in the failed state)."""
    try:
        return step(_ACTIVE[run_id], *args)
    except Exception as error:
        raise error.with_traceback(None) from None


_IO_RETRIES = dict(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=transient_io)


@task(name="input checksums", cache_policy=NO_CACHE, **_IO_RETRIES)
def provenance_task(run_id: str) -> None:
    inputs = _step(input_provenance, run_id)
    get_run_logger().info("checksummed %d file(s), %d bytes", len(inputs), sum(i["bytes"] for i in inputs))


@task(name="ingest", cache_policy=NO_CACHE, **_IO_RETRIES)
def ingest_task(run_id: str) -> None:
    logger = get_run_logger()
    for r in _step(ingest_step, run_id):
        logger.info("%s (%s): %d rows, %d accepted, %d out of scope, %d rejected", r.source_file, r.table_name,
                    r.input_rows, r.accepted_rows, r.out_of_scope_rows, r.rejected_rows)
    for table, rule, count, _ in _ACTIVE[run_id].warnings:
        logger.warning("%s: %s: %d", table, rule, count)


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(run_id: str, max_rejected_percent: float) -> None:
    counts = _step(validate_step, run_id, max_rejected_percent)
    get_run_logger().info("ingest tables: %s", _fmt(counts))


@task(name="measures", cache_policy=NO_CACHE)
def measures_task(run_id: str, sources: list[str], levels: list[str]) -> None:
    counts = _step(measures_step, run_id, sources, levels)
    get_run_logger().info("measures: %s", _fmt(counts) or "skipped")


@task(name="scores", cache_policy=NO_CACHE)
def scores_task(run_id: str) -> None:
    counts = _step(scores_step, run_id)
    get_run_logger().info("scores: %s", _fmt(counts) or "skipped")


@task(name="publish", cache_policy=NO_CACHE, **_IO_RETRIES)
def publish_task(run_id: str) -> None:
    published = _step(publish_step, run_id)
    get_run_logger().info("published performance year %s (%s)", published.performance_year, _fmt(published.rows))


@task(name="split into TIN shards", cache_policy=NO_CACHE)
def split_task(run_id: str, shards: int) -> None:
    from mips.sharded import split_step

    counts = _step(split_step, run_id, shards)
    get_run_logger().info("shards: %s", "; ".join(f"{t} {'/'.join(map(str, n))}" for t, n in counts.items()))


# The shard's work is a plain function of mips.sharded, so a Dask worker imports it by name (nothing of this
# process is pickled with it); it needs the run's work folder, not the run.
shard_task = task(name="measures and scores of a shard", task_run_name="shard {shard} of {shards}",
                  cache_policy=NO_CACHE)(run_shard)


@task(name="merge the shards", cache_policy=NO_CACHE)
def merge_task(run_id: str, results: list, sources: list[str]) -> None:
    from mips.sharded import merge_shards_step

    counts = _step(merge_shards_step, run_id, results, sources)
    get_run_logger().info("merged: %s", _fmt(counts))


def dask_task_runner(shards: int, dask_address: str | None = None):
    """Prefect's Dask task runner: the running cluster at ``dask_address``, else a local cluster of single-threaded
    worker processes (one per shard, at most one per CPU)."""
    from prefect_dask import DaskTaskRunner

    if dask_address:
        return DaskTaskRunner(address=dask_address)
    workers = max(1, min(int(shards), os.cpu_count() or 1))
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None, "silence_logs": logging.ERROR})


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {rows:,}" for name, rows in counts.items())


def _period_run_name() -> str:
    """``mips-<PY>``: a scheduled run names the year it resolves to when it starts (docs/operations.md)."""
    p = flow_run.parameters
    return f"mips-{resolve_year(p.get('performance_year'), p.get('years_before_current') or 0)}"


def resolve_inputs(year: int, input_dir: str | None, inputs: dict[str, str] | None) -> dict[str, Path]:
    """Files by contract name: explicit ``inputs`` win over those found in ``input_dir``; {year} is filled in, in
    the folder and in each explicit path (a scheduled deployment's inputs name next year's files the same way)."""
    files: dict[str, Path] = {}
    if input_dir:
        files.update(find_inputs(Path(input_dir.replace("{year}", str(year)))))
    files.update({name: Path(str(path).replace("{year}", str(year))) for name, path in (inputs or {}).items()})
    return files


@flow(name="mips-period", flow_run_name=_period_run_name, validate_parameters=True)
def period_flow(performance_year: Optional[int] = None, output: str = "out", input_dir: Optional[str] = None,
                inputs: Optional[dict[str, str]] = None, period_start: Optional[date] = None,
                period_end: Optional[date] = None, years_before_current: int = 0,
                sources: Optional[list[Source]] = None, levels: Optional[list[Level]] = None,
                max_rejected_percent: float = 5.0, allow_empty: bool = False, scaling_factor: Optional[float] = None,
                exceptional_scaling_factor: Optional[float] = None, fhir_dir: Optional[str] = None,
                default_tin: Optional[str] = None, default_npi: Optional[str] = None,
                clinical_dir: Optional[str] = None, shards: Optional[int] = None) -> RunReport:
    """One reporting period: ingest → validate → measures → scores → publish (atomic; run manifest; catalog).

    performance_year: the MIPS performance year; when empty, the current calendar year minus
    ``years_before_current`` (scheduled runs). input_dir: folder of <table>.csv/.parquet files
    ({year} is replaced by the year); inputs: table -> file, overriding input_dir ({year} is replaced there too). Tables are the standard inputs
    and the score inputs of `mips score` (mips/score_inputs.py: entity_input, virtual_group_input,
    apm_participation_input, mvp_registration_input, ...), checked, validated and scored as `mips score` does. period_start /
    period_end narrow the reporting period inside the year. max_rejected_percent: stop (publishing
    nothing) when more than this percent of any file's rows are rejected. allow_empty: publish even when
    the claims look like another period's (most lines outside the year, or no claims measure at all);
    without it such a run fails, visibly in the UI. scaling_factor / exceptional_scaling_factor: CMS's
    budget-neutrality factors, as `mips score --scaling-factor` (without them an unpublished factor makes
    the positive adjustment a range). shards: compute measures and scores in this many TIN shards, as tasks of the
    flow's task runner (a Dask cluster with `mips run --shards`), merged into the same publish.
    """
    logger = get_run_logger()
    year = resolve_year(performance_year, years_before_current)
    period = Period.of(year, period_start, period_end)
    sources = list(sources or SOURCES)
    levels = list(levels or LEVELS)
    parameters = run_parameters(sources, levels, max_rejected_percent, allow_empty, scaling_factor,
                                exceptional_scaling_factor)
    files = resolve_inputs(year, input_dir, inputs)
    given = (EhrInput(Path(fhir_dir.replace("{year}", str(year))) if fhir_dir else None, default_tin, default_npi,
                      Path(clinical_dir.replace("{year}", str(year))) if clinical_dir else None)
             if fhir_dir or clinical_dir else None)
    # an input folder's fhir/ and clinical/ folders are EHR input too (mips serve, mips backfill, --input-dir)
    files, ehr = split_ehr(files, default_tin, default_npi, given)
    if shards:
        from mips.sharded import check_shards
        check_shards(shards)
        parameters["shards"] = shards
    run = start_run(period, files, Path(output), parameters=parameters, ehr=ehr)
    _ACTIVE[run.run_id] = run
    logger.info("run %s holds performance year %s; %d input file(s)", run.run_id, year, len(files))
    try:
        provenance_task(run.run_id)
        ingest_task(run.run_id)
        validate_task(run.run_id, max_rejected_percent)
        if shards:  # the shards go to the task runner (Dask workers); everything else runs here, on the run
            split_task(run.run_id, shards)
            futures = [shard_task.submit(str(run.work_dir), k, shards, year, period.start, period.end,
                                         run.parameters, sources, levels) for k in range(shards)]
            results = [f.result() for f in futures]
            for r in results:
                logger.info("shard %d: %s in %.1f s, peak %.0f MiB", r.shard, _fmt(r.output_rows) or "no outputs",
                            r.seconds, r.peak_rss_mib)
            merge_task(run.run_id, results, sources)
        else:
            measures_task(run.run_id, sources, levels)
            scores_task(run.run_id)
        publish_task(run.run_id)
        report = report_of(run)
        create_markdown_artifact(key=f"mips-run-{year}", markdown=report.markdown,
                                 description=f"MIPS performance year {year}: inputs, outputs, data completeness, scores")
        return report
    except Exception as error:
        # the operator sees why in the UI too; the message holds no patient data (PipelineError rule)
        status = outputs_status(run, error)
        summary = summary_markdown(run) + f"\n## Failed\n\n{type(error).__name__}: {error}\n\n{status}.\n"
        create_markdown_artifact(key=f"mips-run-{year}", markdown=summary,
                                 description=f"MIPS performance year {year}: run failed; {status}")
        logger.error("run %s failed; %s", run.run_id, status)
        failure = one_line_failure(run, error)
        if failure is error:
            raise
        raise failure from None
    finally:
        _ACTIVE.pop(run.run_id, None)
        finish_run(run)


@contextmanager
def prefect_server_for_this_process():
    """What a command that runs flows in this process needs of Prefect, in one place. With no server configured
    (PREFECT_API_URL unset or ""), a temporary server of our own that dies with us (start_owned_temporary_server),
    without telemetry (it logs an error on machines without internet). An empty PREFECT_API_URL is unset for
    Prefect too while the block runs: Prefect 3.8's event worker takes "" for a server's address and logs an error
    for each event (15 to 20 ERROR lines for a run of the sample data)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with ExitStack() as stack:
        if PREFECT_API_URL.value() == "":
            stack.enter_context(temporary_settings(restore_defaults={PREFECT_API_URL}))
        start_owned_temporary_server()
        yield


@contextmanager
def console_logs(shown: bool):
    """Hide Prefect's console output (not the logs sent to the server) while a command prints its own
    summary: a failed run must end in the command's one-line error, not in Prefect's traceback.
    Afterwards the console shows Prefect's warnings only, for the rest of the process."""
    if shown:
        yield
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]
    handlers = {h for lg in loggers for h in getattr(lg, "handlers", []) if isinstance(h, PrefectConsoleHandler)}
    levels = {h: h.level for h in handlers}
    for handler in handlers:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        # back to warnings only, not to INFO: the temporary server's "Stopping" line comes at exit
        for handler, level in levels.items():
            handler.setLevel(max(level, logging.WARNING))


def run_period_flow(*, performance_year: int, files: dict[str, Path], output_root: Path,
                    period_start: date | None = None, period_end: date | None = None,
                    sources: list[str] | None = None, levels: list[str] | None = None,
                    max_rejected_percent: float = 5.0, allow_empty: bool = False,
                    show_prefect_logs: bool = False, scaling_factor: float | None = None,
                    exceptional_scaling_factor: float | None = None, ehr: EhrInput | None = None,
                    shards: int | None = None, dask_address: str | None = None) -> RunReport:
    """`mips run` through Prefect: the period flow with explicit files (no server needed; Prefect
    starts a temporary one unless PREFECT_API_URL points at a server, where the run then shows).
    With ``shards``, measures and scores run per TIN shard on a Dask cluster (``dask_address``, else a local one).
    Raises the flow's error (a PipelineError for user problems) like the plain steps do."""
    flow_to_run = period_flow
    with console_logs(show_prefect_logs), prefect_server_for_this_process(), ExitStack() as stack:
        if shards:
            from mips.sharded import check_shards
            check_shards(shards, dask_address)
            flow_to_run = period_flow.with_options(task_runner=dask_task_runner(shards, dask_address))
            if not show_prefect_logs and not dask_address:  # the local workers' Prefect console lines, as here
                stack.enter_context(_environment(PREFECT_LOGGING_LEVEL="WARNING"))
            # the shards' task runs report to this run's server: workers get the settings of the flow's context,
            # so name the temporary server there (else each worker process would start a server of its own)
            stack.enter_context(_settings_with_temporary_server())
        return flow_to_run(performance_year=performance_year, output=str(output_root),
                           inputs={name: str(path) for name, path in files.items()}, period_start=period_start,
                           period_end=period_end, sources=sources, levels=levels,
                           max_rejected_percent=max_rejected_percent, allow_empty=allow_empty,
                           scaling_factor=scaling_factor,
                           exceptional_scaling_factor=exceptional_scaling_factor,
                           fhir_dir=str(ehr.fhir_dir) if ehr and ehr.fhir_dir else None,
                           default_tin=ehr.default_tin if ehr else None,
                           default_npi=ehr.default_npi if ehr else None,
                           clinical_dir=str(ehr.clinical_dir) if ehr and ehr.clinical_dir else None,
                           shards=shards)


@contextmanager
def _environment(**values: str):
    """Environment variables set while the block runs (a local cluster's worker processes inherit them)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _settings_with_temporary_server():
    """PREFECT_API_URL set to the temporary server this process started, while the flow runs (nothing to do with
    a server configured)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api import server as prefect_server

    server = prefect_server.SubprocessASGIServer()
    if not server.running:
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def _death_signal_setter():
    """A function for the child between fork and exec: ask Linux to kill it when the thread that started
    it dies (even by kill -9). Resolved here, in the parent: the child must not import anything."""
    import ctypes
    import signal

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def die_with_parent() -> None:  # pragma: no cover (runs in the child)
        prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
    return die_with_parent


def start_owned_temporary_server() -> None:
    """Start Prefect's temporary server for this process ourselves, tied to our life.

    Without PREFECT_API_URL, Prefect 3.8 starts ``uvicorn`` in a child process (SubprocessASGIServer) and
    stops it at exit; a killed `mips run` never gets there, and the server (about 195 MB) ran on as an
    orphan. This starts the same singleton Prefect's client uses, with the same command, but the child
    asks the kernel (PR_SET_PDEATHSIG) to kill it when we die. With a server URL set, nothing to do.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value() or not sys.platform.startswith("linux"):
        return
    import subprocess

    from prefect.server.api import server as prefect_server

    server = prefect_server.SubprocessASGIServer()  # the instance Prefect's client will find running
    if server.running:
        return
    popen = subprocess.Popen
    die_with_parent = _death_signal_setter()

    def owned_popen(*args, **kwargs):
        return popen(*args, preexec_fn=die_with_parent, **kwargs)

    def owned_uvicorn_command():
        # Prefect's own command line, started with the death signal set (only this Popen is changed)
        prefect_server.subprocess = _SubprocessWith(owned_popen)
        try:
            return type(server)._run_uvicorn_command(server)
        finally:
            prefect_server.subprocess = subprocess

    server._run_uvicorn_command = owned_uvicorn_command
    try:
        server.start()
    except RuntimeError as error:  # "Timed out while attempting to connect to ephemeral Prefect API server" ...
        raise PipelineError(f"Prefect's temporary server did not start ({str(error).splitlines()[0][:120]}); "
                            "raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, point PREFECT_API_URL at a "
                            "running server, or run with --without-prefect") from None


class _SubprocessWith:
    """The ``subprocess`` module as seen by Prefect's server module, with another Popen."""

    def __init__(self, popen):
        import subprocess
        self._module = subprocess
        self.Popen = popen

    def __getattr__(self, name):
        return getattr(self._module, name)


@flow(name="mips-backfill", validate_parameters=True)
def backfill_flow(first_year: int, last_year: int, input_dir: str, output: str = "out",
                  levels: Optional[list[Level]] = None, sources: Optional[list[Source]] = None,
                  max_rejected_percent: float = 5.0, default_tin: Optional[str] = None,
                  default_npi: Optional[str] = None) -> dict[int, str]:
    """Run ``period_flow`` for each year first_year..last_year in turn ({year} in input_dir is filled in).

    A year without an input folder is skipped (one line); a failing year does not stop the others, and
    the backfill fails at the end naming those years (or when no year had an input folder).
    """
    if last_year < first_year:
        raise PipelineError(f"the last year ({last_year}) is before the first ({first_year})")
    logger = get_run_logger()
    outcome: dict[int, str] = {}
    for year in range(first_year, last_year + 1):
        folder = Path(input_dir.replace("{year}", str(year)))
        if not folder.is_dir():  # a year not delivered yet: one line, and on with the others
            outcome[year] = f"skipped: no input folder {folder}"
            logger.warning("performance year %s: %s", year, outcome[year])
            progress.say(f"performance year {year}: {outcome[year]}")
            continue
        state = period_flow(performance_year=year, output=output, input_dir=input_dir, levels=levels,
                            sources=sources, max_rejected_percent=max_rejected_percent, default_tin=default_tin,
                            default_npi=default_npi, return_state=True)
        if state.is_completed():
            outcome[year] = "published"
        else:
            try:
                state.result()
                outcome[year] = f"failed: {state.name}"
            except Exception as error:  # the flow's own error, a one-line PipelineError for user problems
                outcome[year] = f"failed: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
        logger.info("performance year %s: %s", year, outcome[year])
        progress.say(f"performance year {year}: {outcome[year]}")
    failed = [y for y, o in outcome.items() if o.startswith("failed")]
    if failed or all(o.startswith("skipped") for o in outcome.values()):
        raise PipelineError("backfill: " + "; ".join(f"{y} {outcome[y]}" for y in failed or outcome))
    return outcome
