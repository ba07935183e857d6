"""The output store: every table of one reporting period is published together, atomically.

Layout under the output root (analysts read ``<root>/<table>/**/*.parquet`` with
``hive_partitioning=true``; the catalog file wraps exactly that)::

    <root>/<table>/performance_year=<PY>/data.parquet   symlink -> ../../.periods/<PY>/current/<table>.parquet
    <root>/run_manifest/performance_year=<PY>/run_manifest.json  (same, beside the manifest table)
    <root>/.periods/<PY>/current                         symlink -> v-<run id>   (the published version)
    <root>/.periods/<PY>/previous                        symlink -> the version before (kept for open readers)
    <root>/.periods/<PY>/v-<run id>/<table>.parquet      one immutable version of every table of the period
    <root>/.locks/<PY>.lock                              flock'ed by the run holding the period (names it)
    <root>/catalog.duckdb                                one view per table (see mips.catalog)

Why this shape: a version is written and checked in a staging folder, then ``current`` is
swapped with one ``os.replace`` of a symlink, which is atomic. Every table's
``data.parquet`` resolves through ``current``, so all tables of a period change at the same
instant; a reader never sees half a partition or a mix of two runs, and a crash or kill
before the swap leaves the previous version in place. DuckDB's ``**`` glob lists file
symlinks (it does not descend into directory symlinks), hence a link per file, not per folder.
Other periods live in other folders and are never touched.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping

import duckdb

from mips.errors import PipelineError
from mips.fs import (environment_message, file_mode, is_environment_failure, make_private, pause_for_fault_test,
                     private_mkdir)
from schemas.tables import Column, TableSpec

PARTITION = "performance_year"
DATA_FILE = "data.parquet"
MANIFEST_JSON = "run_manifest.json"
KEEP_VERSIONS = 2  # current and previous: a reader may still hold the previous version's files open
# zstd (level 3) gives the smallest files at a writing cost close to snappy's on these tables (measure_instances
# at 1M claim lines: 33 MB zstd, 61 MB snappy); row groups stay at DuckDB's default (122,880 rows), which
# readers can skip and fetch in parallel. A text column whose values of one row group need more than a 64 KiB
# dictionary (patient ids: tens of thousands per row group) is written plain from the start: DuckDB's larger default
# built a dictionary of every patient id of each row group only to give it up, which cost about 15% of writing
# measure_instances, and plain sorted ids compress better under zstd (1M claim lines: 31.1 MB instead of 33.0 MB).
# Names, NPIs, TINs and measure ids stay dictionary-encoded (a row group holds a few of them).
_NEVER = "_mips_flag_never_set"  # see copy_statement
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, STRING_DICTIONARY_PAGE_SIZE_LIMIT 65536"

RUN_MANIFEST = TableSpec(
    name="run_manifest",
    grain="one row per performance year: the run that published the period's current outputs",
    key=("performance_year",),
    description="Provenance of each period's outputs: which run, code, rules, reference data and inputs made them. "
                "The only output table with timestamps; the JSON twin sits beside it as run_manifest.json.",
    columns=(
        Column("performance_year", "INTEGER", "performance year of the period", nullable=False),
        Column("run_id", "VARCHAR", "identifier of the run (also the version folder name)", nullable=False),
        Column("period_start", "DATE", "first day of the reporting period"),
        Column("period_end", "DATE", "last day of the reporting period"),
        Column("started_at", "TIMESTAMP", "run start (UTC)"),
        Column("finished_at", "TIMESTAMP", "outputs checked and about to be switched in (UTC)"),
        Column("code_version", "VARCHAR", "git describe of the checkout, else the package version"),
        Column("rules_version", "VARCHAR", "sha256 (first 16 hex) over the files of data/rules"),
        Column("reference_version", "VARCHAR", "sha256 (first 16 hex) over the files of data/reference"),
        Column("parameters", "VARCHAR", "JSON object of the run's parameters (levels, threshold, ...)"),
        Column("inputs", "VARCHAR", "JSON list of input files: table, file, bytes, sha256, input/accepted/rejected rows"),
        Column("outputs", "VARCHAR", "JSON object: output table -> row count of this period"),
        Column("step_seconds", "VARCHAR", "JSON object: step of the run -> wall_s and cpu_s (seconds; CPU of the "
               "whole process) up to writing the output tables (publish_tables); machine load shows in wall_s"),
    ),
)


class PeriodLocked(PipelineError):
    """Another run holds the period: two runs of one period must not publish over each other."""


class OutputCheckFailed(PipelineError):
    """A freshly written version failed its checks; nothing was switched in."""


class PublishFailed(PipelineError):
    """The file system failed while publishing (disk full, permission denied, ...). ``outputs_changed``
    says whether the new version had already been switched in when it failed."""

    def __init__(self, message: str, outputs_changed: bool, transient: bool = False):
        super().__init__(message)
        self.outputs_changed = outputs_changed
        self.transient = transient  # worth a retry (an I/O error that may pass), not a refusal


# ---------------------------------------------------------------- paths

def period_dir(root: Path, performance_year: int) -> Path:
    return Path(root) / ".periods" / str(int(performance_year))


def table_link(root: Path, table: str, performance_year: int, file_name: str = DATA_FILE) -> Path:
    return Path(root) / table / f"{PARTITION}={int(performance_year)}" / file_name


def current_version(root: Path, performance_year: int) -> Path | None:
    """The folder of the period's published version, or None when the period was never published."""
    current = period_dir(root, performance_year) / "current"
    return current.resolve() if current.is_symlink() and current.resolve().is_dir() else None


def published_tables(root: Path, performance_year: int) -> list[str]:
    version = current_version(root, performance_year)
    return sorted(p.stem for p in version.glob("*.parquet")) if version else []


def published_years(root: Path) -> list[int]:
    base = Path(root) / ".periods"
    return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit() and current_version(root, int(p.name))) \
        if base.is_dir() else []


# ---------------------------------------------------------------- the period lock

@dataclass
class PeriodLock:
    """``<root>/.locks/<PY>.lock``, held with ``fcntl.flock`` on an open file for the whole run.

    The kernel owns the lock: it is released when the holder's file is closed, which a kill -9
    or a crash does too, so there is no stale lock to judge and nothing is deleted on a guess.
    The file's text (pid, host, run id, start) only names the holder in the refusal. The holder
    removes the file while still holding it; a contender that locked the old (now unlinked)
    file sees that the path no longer names its file and tries again, so two runs never both hold.
    """
    root: Path
    performance_year: int
    run_id: str
    held: bool = False
    _fd: int | None = None

    @property
    def path(self) -> Path:
        return Path(self.root) / ".locks" / f"{int(self.performance_year)}.lock"

    def acquire(self) -> "PeriodLock":
        if self.held:
            return self
        try:
            private_mkdir(self.path.parent)
        except OSError as error:
            raise PipelineError(environment_message(error, f"cannot create the lock folder {self.path.parent}")) from None
        body = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "run_id": self.run_id,
                           "started_at": _now().isoformat()})
        patience = time.monotonic() + 2.0
        for _ in range(1000):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
            except OSError as error:
                raise PipelineError(environment_message(error, f"cannot open the lock file {self.path}")) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                owner = self._owner()
                if (owner is None or owner.get("run_id") == CLEANUP_RUN_ID) and time.monotonic() < patience:
                    # a run of another year tidying this period's leftovers holds it for a moment (or the
                    # holder has not written its name yet): wait a little rather than refuse
                    time.sleep(0.02)
                    continue
                holder = (f"run {owner.get('run_id')}, pid {owner.get('pid')} on {owner.get('host')}, "
                          f"since {owner.get('started_at')}") if owner else "its holder is starting"
                raise PeriodLocked(f"performance year {self.performance_year} is already being run in {self.root} "
                                   f"({holder}); wait for it to finish") from None
            except BaseException:
                os.close(fd)
                raise
            # we hold the file we opened; is it still the one the path names? (the last holder may have
            # removed it between our open and our lock: then it locks nothing, try again)
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, body.encode(), 0)
            self._fd = fd
            self.held = True
            return self
        raise PeriodLocked(f"could not take the lock {self.path} (other runs keep taking it)")

    def _owner(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None  # being written by the holder that just took it

    def release(self) -> None:
        if self.held and self._fd is not None:
            try:
                self.path.unlink(missing_ok=True)  # while still locked: see the class docstring
            except OSError:
                pass
            os.close(self._fd)  # closing releases the lock
            self._fd = None
        self.held = False

    def __enter__(self) -> "PeriodLock":
        return self if self.held else self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


CLEANUP_RUN_ID = "cleanup"  # the lock's holder while a run of another year removes a killed run's leftovers


def clean_leftovers(root: Path) -> None:
    """Remove what killed runs of any year left in ``root``: staging folders and unswitched versions of
    every period no run holds now, work databases of runs no longer running, rejects folders half
    written, and half-built catalog files. A period that a run holds is left alone (its lock says so)."""
    root = Path(root)
    years = set()
    if (root / ".periods").is_dir():
        years |= {p.name for p in (root / ".periods").iterdir() if p.name.isdigit()}
    if (root / ".work").is_dir():
        years |= {p.name.split("-", 1)[0] for p in (root / ".work").iterdir() if p.name.split("-", 1)[0].isdigit()}
    failed = root / "_failed_run"
    if failed.is_dir():
        years |= {p.name.split("-")[1] for p in failed.glob(".*-*-*") if p.name.split("-")[1].isdigit()}
    for year in sorted(years):
        lock = PeriodLock(root, int(year), CLEANUP_RUN_ID)
        try:
            lock.acquire()
        except PipelineError:
            continue  # a run of that year is going on: its leftovers are its own business
        try:
            if period_dir(root, int(year)).is_dir():
                _clean(period_dir(root, int(year)), keep=KEEP_VERSIONS)
            for work in (root / ".work").glob(f"{year}-*"):
                shutil.rmtree(work, ignore_errors=True)
            for half in list(failed.glob(f".staging-{year}-*")) + list(failed.glob(f".old-{year}-*")):
                shutil.rmtree(half, ignore_errors=True)
        finally:
            lock.release()
    if any(root.glob(".catalog-*.duckdb*")):
        from mips.catalog import remove_catalog_leftovers
        remove_catalog_leftovers(root)


@contextmanager
def period_lock(root: Path, performance_year: int, run_id: str | None = None) -> Iterator[PeriodLock]:
    lock = PeriodLock(Path(root), int(performance_year), run_id or new_run_id()).acquire()
    try:
        yield lock
    finally:
        lock.release()


def new_run_id() -> str:
    return _now().strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


# ---------------------------------------------------------------- provenance

def hash_files(paths: list[Path], base: Path) -> str:
    """sha256 over (relative path, content) of the files, in path order; first 16 hex digits."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(file_sha256(path).encode() + b"\n")
    return digest.hexdigest()[:16]


def hash_tree(folder: Path) -> str | None:
    folder = Path(folder)
    if not folder.is_dir():
        return None
    return hash_files([p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")], folder)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_version() -> str:
    """``git describe`` of the checkout (with -dirty), else the installed package version."""
    import subprocess

    from mips.paths import PROJECT_ROOT
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return "git:" + out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import PackageNotFoundError, version
    try:
        return "mips-pipeline " + version("mips-pipeline")
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------- writing and checking a version

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def file_columns(spec: TableSpec) -> list[Column]:
    """Columns stored in the file: the partition column comes from the folder name."""
    return [c for c in spec.columns if c.name not in spec.partition_by]


def _write(con, spec: TableSpec, relation: str, target: Path, performance_year: int, presorted: bool = False) -> int:
    """Write the period's rows of ``relation`` as ``spec``'s Parquet file; returns the rows written."""
    # COPY returns the rows it wrote: counting the relation again would run a view's joins a second time
    return int(con.execute(copy_statement(con, spec, relation, target, performance_year, presorted)).fetchone()[0])


def copy_statement(con, spec: TableSpec, relation: str, target: Path, performance_year: int,
                   presorted: bool = False) -> str:
    """The COPY that writes the period's rows of ``relation`` as ``spec``'s Parquet file ``target``."""
    described = {d[0]: d[1] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}
    names = set(described)
    missing = [c for c in spec.column_names if c not in names and c != PARTITION]
    if missing:
        raise OutputCheckFailed(f"{spec.name}: the relation lacks declared column(s) {', '.join(missing)}")
    if PARTITION in names:
        other = con.execute(f"SELECT count(*) FROM {relation} WHERE {PARTITION} IS DISTINCT FROM {int(performance_year)}"
                            ).fetchone()[0]
        if other:
            raise OutputCheckFailed(f"{spec.name}: {other} row(s) belong to another performance year than "
                                    f"{performance_year}")
        source = relation
    else:
        source = f"(SELECT {int(performance_year)} AS {PARTITION}, * FROM {relation})"
    if presorted:
        # already made by spec.select_sql (the producers' contract): a table keeps its row order,
        # so cast without sorting again (sorting tens of millions of instance rows twice costs minutes).
        # A dictionary-encoded (ENUM) column was sorted on its integer codes upstream and is decoded here, as
        # the rows stream into the file: written as the ENUM it is, the file's dictionary would be the ENUM's
        # (every value of the run's units, in the type's order), so the bytes would depend on how the work
        # tables were built (a TIN-sharded run builds them per shard) rather than on the rows.
        select = "SELECT " + ", ".join(
            f"CAST({_q(c.name)} AS {c.type}) AS {_q(c.name)}" for c in file_columns(spec)) + f" FROM {source}"
    else:
        quoted = ", ".join(_q(c.name) for c in file_columns(spec))
        select = f"SELECT {quoted} FROM ({spec.select_sql(source)})"
    # Every column is written OPTIONAL: DuckDB (since duckdb/duckdb#22183) marks a Parquet column REQUIRED when its
    # query plan's statistics say it has no NULL, which depends on how the work tables were built (a TIN-sharded run
    # builds them per shard), not on the rows. Each value goes through a CASE on a per-row flag the plan cannot know
    # (random() < 0: never true), so no column's statistics rule out NULL and the file is a function of the rows.
    # DuckDB runs an all-false CASE as its ELSE branch, so this costs about one random() a row. It keeps DuckDB's
    # parallel, order-keeping ("batch") copy, which a UNION ALL with an empty branch, used before, made serial
    # (measure_instances at 10M claim lines: 57 s on one core). The spec's NOT NULL columns are checked (check_file).
    select = ("SELECT " + ", ".join(f"CASE WHEN {_NEVER} THEN NULL ELSE {_q(c.name)} END AS {_q(c.name)}"
                                    for c in file_columns(spec)) + f" FROM (SELECT *, random() < 0 AS {_NEVER} FROM ({select}))")
    return f"COPY ({select}) TO {_lit(target.as_posix())} ({PARQUET_OPTIONS})"


def check_file(con, spec: TableSpec, path: Path, expected_rows: int | None) -> int:
    """Row count, declared columns and types in order, non-null columns, unique key. Returns the row count."""
    src = f"read_parquet({_lit(path.as_posix())})"
    described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    declared = [(c.name, c.type) for c in file_columns(spec)]
    if described != declared:
        raise OutputCheckFailed(f"{spec.name}: written columns {described} differ from the declared {declared}")
    rows = int(con.execute(f"SELECT count(*) FROM {src}").fetchone()[0])
    if expected_rows is not None and rows != expected_rows:
        raise OutputCheckFailed(f"{spec.name}: {rows} rows written, {expected_rows} expected")
    not_null = [c.name for c in file_columns(spec) if not c.nullable]
    if not_null:
        nulls = con.execute(f"SELECT {', '.join(f'count(*) - count({_q(c)})' for c in not_null)} FROM {src}").fetchone()
        bad = [f"{c} ({n})" for c, n in zip(not_null, nulls) if n]
        if bad:
            raise OutputCheckFailed(f"{spec.name}: nulls in non-null column(s) {', '.join(bad)}")
    key = [k for k in spec.key if k not in spec.partition_by]
    # Distinct hashes of the key prove distinct keys, at half the cost of grouping by the key's strings; equal
    # hashes (a duplicate, or a rare 64-bit collision) are settled by grouping on the key itself.
    if key and not con.execute(f"SELECT count(*) = count(DISTINCT hash({', '.join(map(_q, key))})) FROM {src}"
                               ).fetchone()[0]:
        dupes = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {src} GROUP BY {', '.join(map(_q, key))} "
                            "HAVING count(*) > 1)").fetchone()[0]
        if dupes:
            raise OutputCheckFailed(f"{spec.name}: {dupes} key value(s) of ({', '.join(key)}) occur more than once "
                                    f"(grain: {spec.grain})")
    return rows


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _symlink_replace(target: str, link: Path) -> None:
    """Point ``link`` at ``target`` atomically (a new link renamed over the old link or file)."""
    private_mkdir(link.parent)
    tmp = link.parent / f".{link.name}.{uuid.uuid4().hex}.tmp"
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _manifest_row(manifest: dict, performance_year: int, run_id: str, outputs: dict[str, int]) -> dict:
    row = {c.name: manifest.get(c.name) for c in RUN_MANIFEST.columns}
    row.update(performance_year=int(performance_year), run_id=run_id, outputs=outputs)
    for name in ("parameters", "inputs", "outputs", "step_seconds"):
        row[name] = json.dumps(row[name], sort_keys=True, default=str)
    for name in ("period_start", "period_end", "started_at", "finished_at"):
        row[name] = None if row[name] is None else str(row[name])
    return row


@dataclass(frozen=True)
class Published:
    performance_year: int
    run_id: str
    version_dir: Path
    rows: dict[str, int]


def _before_switch(staging: Path) -> None:
    """Point between a checked version and its switch (tests inject a crash here)."""
    pause_for_fault_test("publish")


def publish_period(con: duckdb.DuckDBPyConnection, root: Path, performance_year: int,
                   tables: Mapping[TableSpec, str], *, run_id: str | None = None, manifest: dict | None = None,
                   merge: bool = False, lock: PeriodLock | None = None, catalog: bool = True,
                   presorted: bool = False) -> Published:
    """Publish ``tables`` (TableSpec -> DuckDB relation with that period's rows) as the period's new version.

    Every table is written to a staging folder, checked against its spec, then the period's
    ``current`` pointer is switched once. ``merge=False`` (a period run): the version holds exactly
    these tables; ``merge=True``: tables of the current version not given here are carried over
    unchanged (hard links). ``manifest`` (see RUN_MANIFEST's columns) adds the run_manifest table
    and JSON with the output row counts filled in. Takes the period lock unless ``lock`` is held.
    ``presorted``: every relation is a table created by its ``spec.select_sql`` (already cast and in
    key order), so the rows are written in table order instead of being sorted again.
    """
    root = Path(root)
    py = int(performance_year)
    run_id = run_id or (lock.run_id if lock else new_run_id())
    if lock is None:
        with period_lock(root, py, run_id) as own:
            return publish_period(con, root, py, tables, run_id=run_id, manifest=manifest, merge=merge,
                                  lock=own, catalog=catalog, presorted=presorted)
    if not lock.held or lock.performance_year != py or Path(lock.root) != root:
        raise PipelineError(f"publishing performance year {py} needs that period's lock in {root}")

    stage = {"switched": False}
    try:
        published = _publish_locked(con, root, py, tables, run_id, manifest, merge, presorted, stage)
    except (PipelineError, KeyboardInterrupt):
        raise
    except Exception as error:
        if not is_environment_failure(error):
            raise
        if stage["switched"]:
            raise PublishFailed(environment_message(error, f"finishing the publication in {root}") +
                                f" (performance year {py} WAS published by run {run_id}; rerun to tidy its links)",
                                outputs_changed=True, transient=_transient(error)) from None
        raise PublishFailed(environment_message(error, f"writing the outputs to {root}") +
                            f" (outputs of performance year {py} left unchanged)", outputs_changed=False,
                            transient=_transient(error)) from None
    if catalog:
        from mips.catalog import build_catalog
        try:
            build_catalog(root)
        except Exception as error:
            if not is_environment_failure(error):
                raise
            raise PublishFailed(environment_message(error, f"rebuilding {root}/catalog.duckdb") +
                                f" (performance year {py} WAS published by run {run_id}; the Parquet tables are "
                                "current, the catalog file is not)", outputs_changed=True) from None
    return published


def _transient(error: BaseException) -> bool:
    import errno
    return isinstance(error, OSError) and error.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT,
                                                              errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG)


def _publish_locked(con, root: Path, py: int, tables: Mapping[TableSpec, str], run_id: str, manifest: dict | None,
                    merge: bool, presorted: bool, stage: dict) -> Published:
    private_mkdir(root)
    base = private_mkdir(period_dir(root, py))
    _clean(base, keep=None)  # leftovers of killed runs (we hold the lock, nobody else writes here)
    staging = base / f".staging-{run_id}"
    shutil.rmtree(staging, ignore_errors=True)
    private_mkdir(staging)
    try:
        specs: dict[str, TableSpec] = {}
        rows: dict[str, int] = {}
        started, cpu_started = time.perf_counter(), time.process_time()
        for spec, relation in tables.items():
            if spec.name == RUN_MANIFEST.name or spec.name in specs:
                raise PipelineError(f"table {spec.name} given twice (or reserved)")
            specs[spec.name] = spec
            expected = _write(con, spec, relation, staging / f"{spec.name}.parquet", py, presorted)
            rows[spec.name] = check_file(con, spec, staging / f"{spec.name}.parquet", expected)
        old = current_version(root, py)
        if merge and old is not None:
            for carried in sorted(old.glob("*.parquet")):
                if carried.stem not in specs and carried.stem != RUN_MANIFEST.name:
                    os.link(carried, staging / carried.name)
                    rows[carried.stem] = int(con.execute(
                        f"SELECT count(*) FROM read_parquet({_lit(carried.as_posix())})").fetchone()[0])
        if manifest is not None:
            if manifest.get("step_seconds") is not None:  # what writing and checking the tables took
                manifest["step_seconds"]["publish_tables"] = {
                    "wall_s": round(time.perf_counter() - started, 3), "cpu_s": round(time.process_time() - cpu_started, 3)}
            row = _manifest_row({**manifest, "finished_at": manifest.get("finished_at") or _now()}, py, run_id,
                                dict(sorted(rows.items())))
            (staging / MANIFEST_JSON).write_text(json.dumps({**row, **{k: json.loads(row[k]) for k in
                                                            ("parameters", "inputs", "outputs", "step_seconds")}},
                                                           indent=2, sort_keys=True) + "\n")
            _write_manifest_table(con, row, staging / f"{RUN_MANIFEST.name}.parquet", py)
            rows[RUN_MANIFEST.name] = check_file(con, RUN_MANIFEST, staging / f"{RUN_MANIFEST.name}.parquet", 1)
        for path in staging.iterdir():
            if not path.is_symlink():
                os.chmod(path, file_mode())  # patient-level rows: private whatever the umask
            _fsync(path)
        _fsync(staging)
        # unique per attempt: a retried publish of the same run never collides with its first try
        version = base / f"v-{run_id}-{uuid.uuid4().hex[:6]}"
        os.rename(staging, version)
        _before_switch(version)
        new_tables = sorted(p.stem for p in version.glob("*.parquet"))
        # A table the new version no longer has: drop its link first so no reader follows a dead link.
        for gone in sorted(set(published_tables(root, py)) - set(new_tables)):
            table_link(root, gone, py).unlink(missing_ok=True)
            table_link(root, gone, py, MANIFEST_JSON).unlink(missing_ok=True)
        _symlink_replace(version.name, base / "current")  # the switch: one atomic rename
        stage["switched"] = True
        if old is not None:
            _symlink_replace(old.name, base / "previous")  # kept for readers still holding its files
        _fsync(base)
        for table in new_tables:
            _link_table(root, table, py)
        if (version / MANIFEST_JSON).exists():
            _symlink_replace(f"../../.periods/{py}/current/{MANIFEST_JSON}",
                             table_link(root, RUN_MANIFEST.name, py, MANIFEST_JSON))
        _clean(base, keep=KEEP_VERSIONS)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Published(py, run_id, version, dict(sorted(rows.items())))


def _write_manifest_table(con, row: dict, target: Path, py: int) -> None:
    values = ", ".join(f"CAST(? AS {c.type}) AS {_q(c.name)}" for c in RUN_MANIFEST.columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _store_manifest AS SELECT {values}",
                [row[c.name] for c in RUN_MANIFEST.columns])
    _write(con, RUN_MANIFEST, "_store_manifest", target, py)
    con.execute("DROP TABLE _store_manifest")


def _link_table(root: Path, table: str, py: int) -> None:
    link = table_link(root, table, py)
    target = f"../../.periods/{py}/current/{table}.parquet"
    if not (link.is_symlink() and os.readlink(link) == target):
        _symlink_replace(target, link)  # also replaces a plain file left by an older writer


def _clean(base: Path, keep: int | None) -> None:
    """Remove staging folders and temporary links of killed runs; with ``keep``, also every version
    but ``current`` and ``previous`` (a version a killed run wrote but never switched in, included)."""
    for path in base.iterdir():
        if path.name.startswith(".staging-"):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(".") and path.name.endswith(".tmp") and path.is_symlink():
            path.unlink()
    if keep is None:
        return
    kept = {(base / name).resolve() for name in ("current", "previous") if (base / name).is_symlink()}
    for version in base.glob("v-*"):
        if version.resolve() not in kept:
            shutil.rmtree(version, ignore_errors=True)


def read_manifest(root: Path, performance_year: int) -> dict | None:
    version = current_version(root, performance_year)
    path = version / MANIFEST_JSON if version else None
    return json.loads(path.read_text()) if path and path.exists() else None
