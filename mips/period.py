"""One reporting period's run as plain steps: start → ingest → validate → measures → scores → publish.

The Prefect flow (flows/period.py) wraps each step in a task; ``run_period_steps`` runs the same
steps without Prefect (unit tests, and anyone who wants no orchestration). Steps share a
``PeriodRun``: the run's DuckDB connection, the period lock and what each step produced. A step
touches rows only through DuckDB SQL (in transforms/) and reports counts, never patient ids.
"""
from __future__ import annotations

from contextlib import contextmanager

import json
import os
import shutil
import stat
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Sequence

import duckdb

from mips.db import connect
from mips.errors import InputFileError, PeriodCheckFailed, PipelineError, RejectionThresholdExceeded
from mips.fs import environment_message, is_environment_failure, pause_for_fault_test, private_mkdir
from mips.paths import REFERENCE_DIR, RULES_DIR
from mips import progress
from mips.progress import reported
from mips.score_inputs import SCORE_INPUT_TABLE, SCORE_INPUTS, check_score_inputs
from mips.store import (PeriodLock, Published, clean_leftovers, code_version, file_sha256, hash_tree, new_run_id,
                        publish_period)
from schemas.tables import TableSpec
from transforms.measures.registry import SOURCE_NAMES as SOURCES  # the one list of measure sources


@dataclass(frozen=True)
class StandardInput:
    """One input a period run reads: its contract name, `mips run` option, formats and meaning."""
    name: str                                  # input contract (schemas/inputs.py); file <name>.<format> in an input folder
    option: str                                # `mips run` option, e.g. --medical-claim
    description: str
    formats: tuple[str, ...] = ("csv", "parquet")  # file suffixes looked for; "folder" = a folder named <name>


# THE table of standard input names: `mips run` options, `--input-dir`, `mips serve` and `backfill`
# all read it, and docs/operations.md shows it (a test keeps them equal). A new input is one line.
STANDARD_INPUTS = (
    StandardInput("medical_claim", "--medical-claim", "Medicare Part B claim lines"),
    StandardInput("eligibility", "--eligibility", "enrollment spans with birth date and gender"),
    StandardInput("patient", "--patient", "EHR patients (encounter extract)"),
    StandardInput("encounter", "--encounter", "EHR encounters (all payers)"),
    StandardInput("condition", "--condition", "EHR diagnoses of encounters"),
    StandardInput("procedure", "--procedure", "EHR procedures and quality data codes of encounters"),
    StandardInput("clinician_roster", "--roster", "TIN/NPI roster: clinician type, special-status flags, "
                  "CEHRT ID and end-to-end reporting"),
    StandardInput("pi_input", "--pi", "Promoting Interoperability numerators/denominators/attestations"),
    StandardInput("ia_input", "--ia", "improvement activities attested"),
    StandardInput("cost_input", "--cost", "cost measure values and case counts"),
    StandardInput("facility_event", "--facility-event", "hospital discharges and ED events (person_id, event_type, "
                  "event_date) for measures 046/407/415/416"),
    StandardInput("cclf", "--cclf-dir", "folder of CMS CCLF files (CCLF5, CCLF8, CCLF9 where present), instead of "
                  "medical_claim/eligibility", formats=("folder",)),
    StandardInput("fhir", "--fhir", "EHR data as FHIR R4: a folder read recursively, *.json (one resource or a "
                  "Bundle) and *.ndjson (Bulk Data, one resource per line)", formats=("folder",)),
    StandardInput("clinical", "--clinical-dir", "EHR data as flat clinical tables: a folder of patient, encounter, "
                  "condition, procedure, observation, lab_result, medication, immunization (Tuva clinical "
                  "input-layer names) and the eCQM tables (orders, administrations, allergies, communications, tasks, "
                  "reports ...; .csv or .parquet; docs/inputs.md)",
                  formats=("folder",)),
)
# The EHR inputs: folders read by transforms.fhir_files / transforms.clinical_tables into the eCQM engine's input,
# not contract files of transforms.ingest (split_ehr takes them out of a run's files).
EHR_INPUTS = ("fhir", "clinical")
# Inputs of `mips score` (numbers a practice already has): the one list in mips/score_inputs.py, read by `mips score`,
# `mips run`, the flow and input folders alike (schemas/inputs.py contracts). SCORE_INPUTS: their names.


def period_inputs() -> tuple:
    """Every input a period run reads: the standard inputs, then the score inputs not among them."""
    names = {i.name for i in STANDARD_INPUTS}
    return STANDARD_INPUTS + tuple(i for i in SCORE_INPUT_TABLE if i.name not in names)


# Inputs of a period run, in the order they are read.
RUN_INPUTS = tuple(i.name for i in period_inputs())
SOURCES = ("claims", "encounters", "ehr")  # ehr: eCQMs from FHIR resources (transforms/ecqm)
LEVELS = ("individual", "group")
FAILED_RUN_DIR = "_failed_run"  # the rejects of a run stopped by the rejection threshold (outputs stay as they were)


@dataclass(frozen=True)
class Period:
    performance_year: int
    start: date
    end: date

    @classmethod
    def of(cls, performance_year: int, start: date | None = None, end: date | None = None) -> "Period":
        """The period, January 1 .. December 31 of the year unless narrowed; a user error when outside the year."""
        py = int(performance_year)
        start = start or date(py, 1, 1)
        end = end or date(py, 12, 31)
        if start.year != py or end.year != py:
            raise PipelineError(f"the reporting period {start}..{end} is not inside performance year {py}")
        if end < start:
            raise PipelineError(f"the reporting period ends ({end}) before it starts ({start})")
        return cls(py, start, end)


def find_inputs(input_dir: Path) -> dict[str, Path]:
    """Input files of a folder by their standard names (STANDARD_INPUTS): ``<name>.csv`` or ``<name>.parquet``
    (e.g. medical_claim.csv), or a folder ``<name>/`` for an input whose format is "folder"."""
    folder = Path(input_dir)
    if not folder.is_dir():
        raise PipelineError(f"input folder {folder} not found")
    found: dict[str, Path] = {}
    for item in period_inputs():
        candidates = [folder / item.name if fmt == "folder" else folder / f"{item.name}.{fmt}" for fmt in item.formats]
        candidates = [c for c in candidates if (c.is_dir() if c.suffix == "" else c.is_file())]
        if len(candidates) > 1:
            raise PipelineError(f"{folder}: both {candidates[0].name} and {candidates[1].name}; keep one")
        if candidates:
            found[item.name] = candidates[0]
    return found


def standard_inputs_markdown() -> str:
    """The documented table of standard input names (docs/operations.md holds this text)."""
    lines = ["| input | file name in an input folder | `mips run` option | what it is |", "|---|---|---|---|"]
    for item in period_inputs():
        names = " or ".join(f"`{item.name}/`" if f == "folder" else f"`{item.name}.{f}`" for f in item.formats)
        lines.append(f"| {item.name} | {names} | `{item.option}` | {item.description} |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class EhrInput:
    """EHR (FHIR) input of a run: a folder read by transforms.fhir_files, and the TIN/NPI that encounters
    naming neither are attributed to."""
    fhir_dir: Path | None
    default_tin: str | None = None
    default_npi: str | None = None
    clinical_dir: Path | None = None   # flat clinical tables (schemas/clinical.py), read by transforms.clinical_tables

    def parameters(self) -> dict:
        return {"fhir_dir": str(self.fhir_dir) if self.fhir_dir else None, "default_tin": self.default_tin,
                "default_npi": self.default_npi, "clinical_dir": str(self.clinical_dir) if self.clinical_dir else None}


def split_ehr(files: dict[str, Path], default_tin: str | None = None, default_npi: str | None = None,
              ehr: EhrInput | None = None) -> tuple[dict[str, Path], EhrInput | None]:
    """(the contract files, the EHR input): the ``fhir`` / ``clinical`` folders of ``files`` (found in an input folder
    or given as options) become an EhrInput with the attribution defaults; an ``ehr`` given explicitly wins."""
    rest = {name: path for name, path in files.items() if name not in EHR_INPUTS}
    fhir = ehr.fhir_dir if ehr and ehr.fhir_dir else files.get("fhir")
    clinical = ehr.clinical_dir if ehr and ehr.clinical_dir else files.get("clinical")
    if ehr is not None:
        default_tin, default_npi = ehr.default_tin or default_tin, ehr.default_npi or default_npi
    if fhir is None and clinical is None:
        if default_tin or default_npi:
            raise PipelineError("--default-tin and --default-npi attribute EHR encounters; give --fhir DIR or "
                                "--clinical-dir DIR (or an input folder with fhir/ or clinical/) too")
        return rest, None
    return rest, EhrInput(Path(fhir) if fhir else None, default_tin, default_npi, Path(clinical) if clinical else None)


def check_inputs(files: dict[str, Path], ehr: EhrInput | None = None,
                 known: Sequence[str] = RUN_INPUTS) -> dict[str, Path]:
    unknown = sorted(set(files) - set(known) | set(files) & set(EHR_INPUTS))
    if unknown:
        raise PipelineError(f"unknown input table(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if ehr is not None and ehr.clinical_dir is not None and not Path(ehr.clinical_dir).is_dir():
        raise PipelineError(f"clinical tables folder {ehr.clinical_dir} not found (give a folder of patient.csv, ...)")
    if ehr is not None and ehr.fhir_dir is not None and not Path(ehr.fhir_dir).is_dir():
        raise PipelineError(f"FHIR folder {ehr.fhir_dir} not found (give a folder of .json / .ndjson files)")
    if not files and ehr is None:
        raise PipelineError("no input files given (e.g. medical_claim.csv and eligibility.csv, or --fhir DIR)")
    if "medical_claim" in files and "eligibility" not in files:
        raise PipelineError("medical_claim needs eligibility (age and sex at the date of service come from it)")
    if "cclf" in files and {"medical_claim", "eligibility"} & set(files):
        raise PipelineError("give either a CCLF folder or medical_claim/eligibility files, not both (the CCLF "
                            "folder is mapped into medical_claim and eligibility)")
    checked = {name: Path(files[name]) for name in known if name in files}
    for name, path in checked.items():
        if name == "cclf":
            check_input_folder(path)
        else:
            check_input_file(path)
    return checked


def check_input_folder(path: Path) -> None:
    """A folder input (a CCLF delivery) must be a readable folder; its files are checked one by one."""
    from transforms.sources import cclf

    if not path.is_dir():
        raise InputFileError(path, "is not a folder (a CCLF input is the folder of CMS's CCLF files)")
    for file in cclf.all_files(path):
        check_input_file(Path(file))


def check_input_file(path: Path) -> None:
    """Only a regular, readable file goes on (checked before anything opens it: a FIFO would hang the run)."""
    try:
        info = os.stat(path)  # follows a symbolic link
    except FileNotFoundError:
        problem = "is a symbolic link to nothing" if os.path.islink(path) else "file not found"
        raise InputFileError(path, problem) from None
    except OSError as error:
        raise InputFileError(path, environment_message(error, "cannot be examined")) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(path, "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(path, "is not a regular file (a pipe, socket or device cannot be an input)")
    if not os.access(path, os.R_OK):
        raise InputFileError(path, "cannot be read: permission denied")


@dataclass
class PeriodRun:
    """State shared by the steps of one run."""
    period: Period
    output_root: Path
    files: dict[str, Path]
    run_id: str
    lock: PeriodLock
    con: duckdb.DuckDBPyConnection
    work_dir: Path
    started_at: datetime
    parameters: dict = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)       # provenance of each input file
    ingest: list = field(default_factory=list)             # transforms.ingest.IngestResult per file
    warnings: list[tuple] = field(default_factory=list)    # (table, rule, rows affected, description)
    outputs: dict[str, TableSpec] = field(default_factory=dict)  # DuckDB table -> its spec, to publish
    notes: list[str] = field(default_factory=list)         # steps skipped and why
    published: Published | None = None
    file_identity: dict[str, tuple] = field(default_factory=dict)  # input file -> (size, mtime, inode) when hashed
    ehr: EhrInput | None = None                            # FHIR folder and attribution defaults
    fhir: object | None = None                             # transforms.fhir_files.FhirLoad of the ingest
    step_seconds: dict[str, dict] = field(default_factory=dict)  # step -> {"wall_s", "cpu_s"} (mips.progress)


def start_run(period: Period, files: dict[str, Path], output_root: Path, *, run_id: str | None = None,
              parameters: dict | None = None, work_dir: Path | None = None, ehr: EhrInput | None = None,
              known_inputs: Sequence[str] = RUN_INPUTS) -> PeriodRun:
    """Take the period lock (refused while another run holds it), open the run's work database.
    ``known_inputs``: SCORE_INPUTS for `mips score`, which runs the same steps on score inputs."""
    files, ehr = split_ehr(files, ehr=ehr)   # an input folder's fhir/ and clinical/ (find_inputs) are EHR input
    files = check_inputs(files, ehr, known_inputs)
    check_score_inputs(period.performance_year, files)  # the same checks in mips score, mips run and the flow
    output_root = Path(output_root)
    run_id = run_id or new_run_id()
    try:
        private_mkdir(output_root)  # holds patient-level files: owner-only (see mips.fs)
    except OSError as error:
        raise PipelineError(environment_message(error, f"cannot create the output folder {output_root}")) from None
    lock = PeriodLock(output_root, period.performance_year, run_id).acquire()
    try:
        for leftover in (output_root / ".work").glob(f"{period.performance_year}-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a killed run's work database (we hold the period)
        clean_leftovers(output_root)  # and what killed runs of other years left, where no run holds them
        work = Path(work_dir or output_root / ".work" / f"{period.performance_year}-{run_id}")
        con = connect(work)
    except BaseException as error:
        lock.release()
        if is_environment_failure(error) and not isinstance(error, PipelineError):
            raise PipelineError(environment_message(error, f"cannot prepare the run in {output_root}") +
                                f" (outputs of performance year {period.performance_year} left unchanged)") from None
        raise
    parameters = dict(parameters or {})
    if ehr is not None:
        parameters.update(ehr.parameters())
    return PeriodRun(period, output_root, files, run_id, lock, con, work, datetime.now(timezone.utc),
                     parameters, ehr=ehr)


def finish_run(run: PeriodRun) -> None:
    """Close and remove the work database, release the lock (always, also after a failure)."""
    try:
        run.con.close()
        run.con = None  # drop the closed connection now (a failed run's traceback may outlive the run)
    finally:
        shutil.rmtree(run.work_dir, ignore_errors=True)
        run.lock.release()


# ---------------------------------------------------------------- steps

@reported(lambda run: f"checksumming {len(run.files)} input file(s)")
def input_provenance(run: PeriodRun) -> list[dict]:
    """Size and sha256 of every input file (read once more: a transient I/O failure here is retried)."""
    from transforms.sources import cclf

    run.inputs = []
    for name, given in run.files.items():
        for path in (map(Path, cclf.all_files(given)) if name == "cclf" else [given]):
            before = _identity(path)
            digest = file_sha256(path)
            if _identity(path) != before:
                raise InputFileError(path, "changed while its checksum was taken; rerun once the file is complete")
            run.inputs.append({"table": name, "file": str(path), "bytes": before[0], "sha256": digest})
            run.file_identity[str(path)] = before
    for table, folder in (("fhir", run.ehr.fhir_dir if run.ehr else None),
                          ("clinical", run.ehr.clinical_dir if run.ehr else None)):
        if folder is None:
            continue
        folder = Path(folder)
        files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
        run.inputs.append({"table": table, "file": str(folder), "bytes": sum(p.stat().st_size for p in files),
                           "sha256": hash_tree(folder), "files": len(files)})
    return run.inputs


def _identity(path: Path) -> tuple:
    """Size, modification time and inode: any write to the file (or a new file put in its place) changes it."""
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev


def check_inputs_unchanged(run: PeriodRun) -> None:
    """The checksums describe what was ingested: a file written to during the run fails it (one line)."""
    for file, recorded in run.file_identity.items():
        path = Path(file)
        try:
            now = _identity(path)
        except OSError:
            now = None
        if recorded is not None and now != recorded:
            raise InputFileError(path, "changed while the run read it (its recorded checksum and size no longer "
                                       "describe what was ingested); outputs left unchanged, rerun once the file "
                                       "is complete")


@reported(lambda run: f"reading and validating {len(run.files)} input file(s)")
def ingest_step(run: PeriodRun) -> list:
    """Read and validate every input into its contract table; every row accepted or rejected."""
    from transforms import claims_scope, ingest
    from transforms.period_scope import scope_claims_to_period

    pause_for_fault_test("ingest")
    for (table,) in run.con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall():
        run.con.execute(f'DROP TABLE "{table}"')  # a retried ingest starts from an empty work database
    # the run's date where it runs and in UTC, whichever is later: a line after both is surely in the future
    run_date = max(run.started_at.date(), run.started_at.astimezone().date())

    def scope(con) -> None:
        # what MIPS claims counting covers (Medicare Part B professional lines), then when (the performance year)
        claims_scope.apply_part_b_scope(con)
        scope_claims_to_period(con, run.period.performance_year, run_date)

    run.ingest = ingest.ingest_inputs(run.con, run.files, scope=scope,
                                      on_file=lambda name, path: progress.detail(f"reading {path.name} ({name})"))
    check_inputs_unchanged(run)
    if run.ehr is not None and run.ehr.fhir_dir is not None:
        from transforms.fhir_files import load_fhir_dir

        progress.detail(f"reading the FHIR folder {Path(run.ehr.fhir_dir).name}")
        run.fhir = load_fhir_dir(run.con, run.ehr.fhir_dir, default_tin=run.ehr.default_tin,
                                 default_npi=run.ehr.default_npi)
        ingest.check_reconciliation(run.con)
        # one line per resource type (a folder may hold thousands of one-resource files); per file in ingest_summary
        run.ingest += [ingest.IngestResult(f"{run.ehr.fhir_dir} ({run.fhir.files:,} files)", f"FHIR {rtype}", n, ok,
                                           rejected, out)
                       for rtype, n, ok, out, rejected in run.fhir.by_type]
        if run.fhir.codings_without_system:
            run.notes.append(f"FHIR: {run.fhir.codings_without_system:,} coding(s) without a system ignored "
                             "(ingest_out_of_scope, table 'coding')")
        if run.fhir.encounters_defaulted_tin or run.fhir.encounters_defaulted_npi:
            run.notes.append(f"FHIR: of {run.fhir.encounters:,} encounters, {run.fhir.encounters_defaulted_tin:,} "
                             f"took the default TIN and {run.fhir.encounters_defaulted_npi:,} the default NPI")
        if run.fhir.ignored_files:
            run.notes.append(f"FHIR: {run.fhir.ignored_files:,} file(s) in the folder are neither .json nor .ndjson; "
                             "not read")
    if run.ehr is not None and run.ehr.clinical_dir is not None:
        from transforms.clinical_tables import load_clinical_dir

        clinical = load_clinical_dir(run.con, run.ehr.clinical_dir, default_tin=run.ehr.default_tin,
                                     default_npi=run.ehr.default_npi)
        ingest.check_reconciliation(run.con)
        run.ingest += [ingest.IngestResult(file, table, n, ok, rejected, out)
                       for file, table, n, ok, out, rejected in clinical.by_table]
        if clinical.encounters_defaulted_tin or clinical.encounters_defaulted_npi:
            run.notes.append(f"clinical tables: of {clinical.encounters:,} encounters, "
                             f"{clinical.encounters_defaulted_tin:,} took the default TIN and "
                             f"{clinical.encounters_defaulted_npi:,} the default NPI")
    run.warnings = run.con.execute("SELECT table_name, rule, rows_affected, description FROM _ingest_warnings "
                                   "ORDER BY 1, 2").fetchall()
    by_file = {r.source_file: r for r in run.ingest}
    for item in run.inputs:
        result = by_file.get(str(Path(item["file"])))
        if result is not None:
            item.update(input_rows=result.input_rows, accepted_rows=result.accepted_rows,
                        out_of_scope_rows=result.out_of_scope_rows, rejected_rows=result.rejected_rows)
    return run.ingest


@reported("writing rejects and checking the rejection threshold")
def validate_step(run: PeriodRun, max_rejected_percent: float) -> dict[str, int]:
    """Create the ingest output tables; stop the run when a file has too many rejected rows.

    A stopped run publishes nothing: the period's outputs stay those of the last good run, and
    this run's rejects and reconciliation go to ``<output>/_failed_run/<PY>/`` for the operator.
    """
    from schemas.ingest import INGEST_OUT_OF_SCOPE, INGEST_SUMMARY, INGEST_WARNINGS, REJECTS
    from transforms import ingest

    ingest.ingest_tables(run.con, run.period.performance_year)
    specs = {s.name: s for s in (REJECTS, INGEST_SUMMARY, INGEST_WARNINGS, INGEST_OUT_OF_SCOPE)}
    run.outputs.update(specs)
    py = run.period.performance_year
    from transforms.fhir_files import types_over_threshold

    over = ingest.files_over_threshold(run.con, max_rejected_percent)
    # FHIR: per resource type across the whole folder, not per file
    over += [(f"FHIR {rtype} resources", pct) for rtype, pct in types_over_threshold(run.con, max_rejected_percent)]
    if over:
        folder = _write_failed_run(run, specs.values())
        from transforms.reject_summary import describe_top_rules

        listed = "; ".join(f"{f} ({pct}% rejected; top rules: {describe_top_rules(run.con, f)})" for f, pct in over)
        raise RejectionThresholdExceeded(
            f"more than {max_rejected_percent}% of rows rejected in: {listed}; outputs of performance year "
            f"{py} left unchanged; this run's rejects are in {folder}/")
    check_period_inputs(run, max_rejected_percent)
    return _counts(run.con, specs)


# more than this share of valid claim lines outside the year means the files are another year's
MOST_LINES_PERCENT = 50.0


def check_period_inputs(run: PeriodRun, max_rejected_percent: float) -> None:
    """Stop before publishing when the claims do not look like this period's: claim lines of persons the
    eligibility file does not know (held to the rejection threshold), or most lines outside the year
    (unless the run allows an empty result)."""
    from transforms.period_scope import claims_without_eligibility, out_of_period_share

    py = run.period.performance_year
    missing = claims_without_eligibility(run.con)
    if missing.percent > max_rejected_percent:
        folder = _write_failed_run(run, _ingest_specs())
        raise RejectionThresholdExceeded(
            f"{missing.percent:.2f}% of medical_claim lines ({missing.lines:,} lines of {missing.persons:,} persons) "
            f"have no eligibility row, more than {max_rejected_percent}% (is it the right eligibility file?); "
            f"outputs of performance year {py} left unchanged; this run's ingest summary is in {folder}/")
    share = out_of_period_share(run.con)
    if share.percent > MOST_LINES_PERCENT and not run.parameters.get("allow_empty"):
        folder = _write_failed_run(run, _ingest_specs())
        raise PeriodCheckFailed(
            f"{share.out_of_period:,} of {share.valid:,} valid claim lines ({share.percent:.1f}%) are dated outside "
            f"performance year {py} or after the run date (claims of another year?); outputs of performance year "
            f"{py} left unchanged (--allow-empty publishes anyway); counts by file in {folder}/")


def _ingest_specs():
    from schemas.ingest import INGEST_OUT_OF_SCOPE, INGEST_SUMMARY, INGEST_WARNINGS, REJECTS
    return (REJECTS, INGEST_SUMMARY, INGEST_WARNINGS, INGEST_OUT_OF_SCOPE)


def _write_failed_run(run: PeriodRun, specs) -> Path:
    from mips.store import _write  # same cast, order and checks as a published table

    from mips.fs import make_private

    base = run.output_root / FAILED_RUN_DIR
    final = base / str(run.period.performance_year)
    # named by year: a later run of any year removes it if this run is killed (mips.store.clean_leftovers)
    staging = private_mkdir(base / f".staging-{run.period.performance_year}-{uuid.uuid4().hex}")
    for spec in specs:
        _write(run.con, spec, spec.name, staging / f"{spec.name}.parquet", run.period.performance_year)
        make_private(staging / f"{spec.name}.parquet")
    (staging / "run.json").write_text(json.dumps({"run_id": run.run_id, "inputs": run.inputs}, indent=2) + "\n")
    make_private(staging / "run.json")
    old = base / f".old-{run.period.performance_year}-{uuid.uuid4().hex}"
    if final.exists():
        os.rename(final, old)
    os.rename(staging, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


@reported("measure engine: eligible instances, results per clinician and TIN")
def measures_step(run: PeriodRun, sources: Sequence[str] = SOURCES, levels: Sequence[str] = LEVELS) -> dict[str, int]:
    """Quality measures of the period: every registered source with its inputs (transforms/measures/registry.py)
    contributes rows to measure_results, measure_instances and the other tables its engine declares."""
    from transforms.measures.registry import run_sources
    from transforms.reference import attach_reference

    pause_for_fault_test("measures")
    attach_reference(run.con)
    rows: dict[str, int] = {}  # outputs the engines counted themselves (measure_instances is a view of joins)
    outputs, notes = run_sources(run.con, performance_year=run.period.performance_year,
                                 period_start=run.period.start, period_end=run.period.end,
                                 sources=tuple(sources), levels=tuple(levels),
                                 on_engine=lambda names: progress.detail(f"computing {', '.join(names)} measures"),
                                 rows=rows)
    run.notes += notes
    run.outputs.update(outputs)
    if "claims" in sources and not run.parameters.get("allow_empty"):
        check_claims_counted(run)
    return _counts(run.con, outputs, rows)


def check_claims_counted(run: PeriodRun) -> None:
    """Claims that give no claims measure an eligible instance are another period's claims, or the wrong file:
    fail before publishing. Years without a claims specification and runs without claims are exempt."""
    py = run.period.performance_year
    relations = {r[0] for r in run.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not {"medical_claim", "measure_results"} <= relations:  # measure_results may be a view
        return
    if not run.con.execute("SELECT count(*) FROM ref.claims_measures WHERE performance_year = ?", [py]).fetchone()[0]:
        return
    claims_measures = run.con.execute("""SELECT count(DISTINCT measure_id) FROM measure_results
                                         WHERE source = 'claims' AND computed AND eligible_population > 0"""
                                      ).fetchone()[0]
    if not claims_measures:
        folder = _write_failed_run(run, _ingest_specs())
        raise PeriodCheckFailed(
            f"the claims give no claims quality measure an eligible instance in {run.period.start}.."
            f"{run.period.end} (claims of another period, or the wrong file?); outputs of performance year {py} "
            f"left unchanged (--allow-empty publishes anyway); this run's ingest summary is in {folder}/")


@contextmanager
def single_thread(con):
    """Scores add up doubles; with several threads the order of the additions (and so the last bits)
    varies between runs. The scoring tables are small: one thread makes them reproducible for free."""
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")
    try:
        yield con
    finally:
        con.execute(f"SET threads = {int(threads)}")


@reported("scoring: eligibility, measure, category and final scores")
def scores_step(run: PeriodRun) -> dict[str, int]:
    """MIPS eligibility, measure/category/final scores and the payment adjustment."""
    from schemas import scoring
    from transforms.scoring import quality_input_from_measure_results, score_entities, score_from_claims

    tables = _tables(run.con)
    if not ("medical_claim" in tables or tables & {"measure_results", *SCORE_INPUTS}):
        run.notes.append("scores: nothing to score (no claims, measures or category inputs); skipped")
        return {}
    factors = {k: run.parameters.get(k) for k in ("scaling_factor", "exceptional_scaling_factor")}
    from_claims = "medical_claim" in tables
    if from_claims:
        # The low-volume threshold reads every claim line (most of this step's time on a big year). Its sums are
        # exact DECIMALs, so it gives the same rows on any number of threads: it keeps them all; only the small
        # scoring tables, which add up doubles, run on one.
        from transforms.scoring.eligibility import entities_from_claims

        entities_from_claims(run.con, run.period.performance_year)
    with single_thread(run.con):
        if from_claims:
            created = score_from_claims(run.con, performance_year=run.period.performance_year, entities_built=True,
                                        **factors)
        else:
            quality = None
            if "measure_results" in tables:  # EHR measures, with the quality counts given (--quality) added
                quality_input_from_measure_results(run.con, run.period.performance_year)
                quality = "quality_input"
            elif "quality_input" in tables:  # `mips score`: measure counts at hand
                quality = "quality_input"
            score_entities(run.con, performance_year=run.period.performance_year, quality=quality, **factors)
            created = [s.name for s in scoring.SCORING_TABLES]
        if "mvp_registration_input" in tables:  # MIPS Value Pathways and subgroups (PY2023 on), on the same inputs
            from transforms.scoring.mvp import score_mvps

            present = {c: (c if c in _tables(run.con) else None) for c in SCORE_INPUTS}
            score_mvps(run.con, performance_year=run.period.performance_year,
                       memberships=present["subgroup_membership_input"], entity=present["entity_input"],
                       quality=present["quality_input"], pi=present["pi_input"], ia=present["ia_input"],
                       cost=present["cost_input"], **factors)
            created += [s.name for s in scoring.MVP_TABLES]
            # the MVP scores join each clinician's other final scores: payment_adjustments is chosen again with them
            from transforms.scoring import load_rules
            from transforms.scoring.selection import select_final_scores
            select_final_scores(run.con, load_rules(run.period.performance_year),
                                memberships=present["subgroup_membership_input"], **factors)
    # categories scored 0 for want of input, unknown activities, estimated or ranged adjustments
    from transforms.scoring.engine import scoring_warnings
    run.warnings = list(run.warnings) + scoring_warnings(run.con)
    if "mvp_registration_input" in tables:
        from transforms.scoring.mvp import mvp_warnings
        run.warnings += mvp_warnings(run.con)
    specs = {s.name: s for s in vars(scoring).values() if isinstance(s, TableSpec) and s.name in created}
    run.outputs.update(specs)
    return _counts(run.con, specs)


@reported("publishing the period's tables")
def publish_step(run: PeriodRun) -> Published:
    """Write, check and switch in every output table of the period at once, with the run manifest."""
    manifest = {
        "period_start": run.period.start, "period_end": run.period.end,
        "started_at": run.started_at.replace(microsecond=0, tzinfo=None),
        "finished_at": datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None),
        "code_version": code_version(), "rules_version": hash_tree(RULES_DIR),
        "reference_version": hash_tree(REFERENCE_DIR), "parameters": run.parameters, "inputs": run.inputs,
        # the same dict: publish adds its table writing ("publish_tables") before the manifest is written
        "step_seconds": run.step_seconds,
    }
    from transforms.published_reference import build_reference_tables
    from transforms.submission_inputs import build_submission_tables

    run.outputs.update(build_reference_tables(run.con, run.period.performance_year))  # titles, benchmarks
    run.outputs.update(build_submission_tables(run.con, run.period.performance_year))  # for mips export qpp
    if "final_scores" in run.outputs:
        # the year's rule values that no primary source confirms; run_manifest has no column of its
        # own for them (mips/store.py), so they ride in the parameters object: what the scores were run under
        from transforms.scoring import load_rules
        manifest["parameters"] = {**run.parameters, "unconfirmed_rules": sorted(
            leaf.path for leaf in load_rules(run.period.performance_year).unconfirmed() if leaf.value is not None)}
    tables = {spec: f'"{name}"' for name, spec in sorted(run.outputs.items())}
    # every step creates its tables with spec.select_sql (the contract), so they are already in key order
    run.published = publish_period(run.con, run.output_root, run.period.performance_year, tables,
                                   run_id=run.run_id, manifest=manifest, lock=run.lock, presorted=True)
    # the rejects of an earlier stopped run no longer describe what is published
    shutil.rmtree(run.output_root / FAILED_RUN_DIR / str(run.period.performance_year), ignore_errors=True)
    return run.published


# ---------------------------------------------------------------- summaries (counts only, no patient ids)

def summary_markdown(run: PeriodRun, max_rows: int = 50) -> str:
    p = run.period
    lines = [f"# MIPS run, performance year {p.performance_year}", "",
             f"Reporting period {p.start} to {p.end}; run `{run.run_id}`; output `{run.output_root}`.", ""]
    if run.ingest:
        lines += ["## Inputs", "", "| file | table | input | accepted | out of scope | rejected | % rejected |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {r.source_file} | {r.table_name} | {r.input_rows:,} | {r.accepted_rows:,} | {r.out_of_scope_rows:,} "
                  f"| {r.rejected_rows:,} | {100 * r.rejected_fraction:.2f} |" for r in run.ingest]
        lines.append("")
    if run.warnings:
        lines += ["## Warnings (rows kept)", ""] + [f"- {t}: {rule}: {n:,} ({d})" for t, rule, n, d in run.warnings] + [""]
    if run.published:
        lines += ["## Output tables", "", "| table | rows |", "|---|---:|"]
        lines += [f"| {name} | {rows:,} |" for name, rows in run.published.rows.items()] + [""]
    tables = _tables(run.con)
    if "measure_results" in tables:
        rows = run.con.execute("""
            SELECT tin, level, count(DISTINCT measure_id), count(*),
                   string_agg(DISTINCT measure_id, ', ' ORDER BY measure_id)
            FROM measure_results WHERE computed AND NOT meets_data_completeness
            GROUP BY tin, level ORDER BY tin, level""").fetchall()
        lines += ["## Measures below data completeness, by TIN", "",
                  "(result rows: one per source, clinician and stratum of a measure)", ""]
        if rows:
            lines += ["| TIN | level | measures | result rows | measure ids |", "|---|---|---:|---:|---|"]
            lines += [f"| {tin} | {level} | {n} | {r} | {ids} |" for tin, level, n, r, ids in rows[:max_rows]]
            if len(rows) > max_rows:
                lines.append(f"\n({len(rows) - max_rows} more; query measure_results)")
        else:
            lines.append("None.")
        lines.append("")
    if "final_scores" in tables:
        rows = group_scores(run.con)
        lines += ["## Final scores by TIN (group level)", "", "| TIN | final score | payment adjustment % |",
                  "|---|---:|---:|"]
        lines += [f"| {tin} | {_num(fs)} | {adj} |" for tin, fs, adj in rows[:max_rows]]
        if len(rows) > max_rows:
            lines.append(f"\n({len(rows) - max_rows} more; query final_scores)")
        lines.append("")
    if "mvp_scores" in tables:
        rows = mvp_lines(run.con)
        lines += ["## MIPS Value Pathways", "", "| participant | MVP | final score | payment adjustment % |",
                  "|---|---|---:|---:|"]
        lines += [f"| {who} | {mvp} | {fs} | {adj} |" for who, mvp, fs, adj in rows[:max_rows]] + [""]
    if run.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in run.notes] + [""]
    return "\n".join(lines)


def group_scores(con) -> list[tuple[str, float, str]]:
    """(TIN, or a virtual group / APM entity with its kind, final score, adjustment as text) for the run summary: the
    adjustment a number only when it is one (a range where the scaling factor is not published, ~ for an estimate)."""
    from mips.commands.score import adjustment_text

    rows = con.execute("""SELECT CASE level WHEN 'group' THEN tin ELSE tin || ' (' || replace(level, '_', ' ') || ')' END,
                                 final_score, payment_adjustment_percent, payment_adjustment_low_percent,
                                 payment_adjustment_high_percent, payment_adjustment_basis
                          FROM final_scores WHERE level IN ('group', 'virtual_group', 'apm_entity')
                          ORDER BY level <> 'group', tin""").fetchall()
    return [(who, fs, adjustment_text(adj, low, high, basis)) for who, fs, adj, low, high, basis in rows]


def mvp_lines(con) -> list[tuple[str, str, str, str]]:
    """(participant, MVP id, final score or 'not scored', adjustment text or why not) of each MVP registration."""
    from mips.commands.score import adjustment_text

    rows = con.execute("""SELECT participant_type || ' ' || tin || coalesce(' ' || npi, '') || coalesce(' ' || subgroup_id, ''),
                                 mvp_id, scored, reason, final_score, payment_adjustment_percent,
                                 payment_adjustment_low_percent, payment_adjustment_high_percent, payment_adjustment_basis
                          FROM mvp_scores ORDER BY tin, participant_type, npi NULLS FIRST, subgroup_id NULLS FIRST, mvp_id
                       """).fetchall()
    return [(who, mvp, _num(fs) if scored else "not scored", adjustment_text(adj, low, high, basis) if scored else
             (reason or "")[:60]) for who, mvp, scored, reason, fs, adj, low, high, basis in rows]


def _num(value, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


@dataclass
class RunReport:
    """What `mips run` prints: per-file reconciliation, warnings, notes and the published tables."""
    period: Period
    output_root: Path
    run_id: str
    ingest: list
    warnings: list
    notes: list
    rows: dict[str, int]
    markdown: str = ""
    group_scores: list = field(default_factory=list)  # (tin, final score, payment adjustment % as text) per TIN
    mvp_scores: list = field(default_factory=list)    # (participant, MVP, final score or why not, adjustment text)
    step_seconds: dict = field(default_factory=dict)  # step -> {"wall_s", "cpu_s"}: where the run's time went

    def __str__(self) -> str:
        p = self.period
        lines = [f"MIPS pipeline, performance year {p.performance_year} ({p.start} to {p.end}), run {self.run_id}", "",
                 "Input files (every row is accepted, out of scope or rejected, each with a reason):"]
        width = max([len(r.source_file) for r in self.ingest] + [4])
        table_width = max([len(r.table_name) for r in self.ingest] + [16])
        lines.append(f"  {'file':<{width}}  {'table':<{table_width}} {'input':>10} {'accepted':>10} {'out of scope':>12} "
                     f"{'rejected':>10}")
        for r in self.ingest:
            lines.append(f"  {r.source_file:<{width}}  {r.table_name:<{table_width}} {r.input_rows:>10,} {r.accepted_rows:>10,} "
                         f"{r.out_of_scope_rows:>12,} {r.rejected_rows:>10,}  ({100 * r.rejected_fraction:.2f}%)")
        if self.warnings:
            lines += ["", "Warnings (rows kept):"]
            lines += [f"  {t}: {rule}: {n:,} ({d})" for t, rule, n, d in self.warnings]
        if self.notes:
            lines += ["", "Notes:"] + [f"  {n}" for n in self.notes]
        if self.group_scores:
            width = max(len(tin) for tin, _, _ in self.group_scores[:20])
            lines += ["", "Final score by TIN (group level; individuals in final_scores):",
                      f"  {'tin':<{width}} {'final score':>12} {'adjustment %':>15}"]
            lines += [f"  {tin:<{width}} {_num(fs):>12} {adj:>15}" for tin, fs, adj in self.group_scores[:20]]
            lines.append("  (adjustment %: a..b = a range where the scaling factor is not published, ~x = an estimate)")
            if len(self.group_scores) > 20:
                lines.append(f"  ... {len(self.group_scores) - 20} more")
        if self.mvp_scores:
            lines += ["", "MIPS Value Pathways (mvp_scores):"]
            lines += [f"  {who:<32} {mvp:<6} {fs:>12} {adj:>15}" for who, mvp, fs, adj in self.mvp_scores[:20]]
            if len(self.mvp_scores) > 20:
                lines.append(f"  ... {len(self.mvp_scores) - 20} more")
        if self.step_seconds:
            lines += ["", "Time by step (wall s / CPU s of the process):",
                      "  " + ", ".join(f"{name} {t['wall_s']:.1f}/{t['cpu_s']:.1f}"
                                       for name, t in self.step_seconds.items())]
        lines += ["", f"Outputs in {self.output_root} (catalog: {self.output_root / 'catalog.duckdb'}):"]
        lines += [f"  {name}/ ({rows:,} rows)" for name, rows in self.rows.items()]
        return "\n".join(lines)


def report_of(run: PeriodRun) -> RunReport:
    scores = group_scores(run.con) if "final_scores" in _tables(run.con) else []
    mvps = mvp_lines(run.con) if "mvp_scores" in _tables(run.con) else []
    return RunReport(run.period, run.output_root, run.run_id, list(run.ingest), list(run.warnings), list(run.notes),
                     dict(run.published.rows) if run.published else {}, summary_markdown(run), scores, mvps,
                     {name: dict(t) for name, t in run.step_seconds.items()})


def run_period_steps(*, performance_year: int, files: dict[str, Path], output_root: Path,
                     period_start: date | None = None, period_end: date | None = None,
                     sources: Sequence[str] = SOURCES, levels: Sequence[str] = LEVELS,
                     max_rejected_percent: float = 5.0, allow_empty: bool = False,
                     scaling_factor: float | None = None, exceptional_scaling_factor: float | None = None,
                     ehr: EhrInput | None = None) -> RunReport:
    """The whole period run without Prefect: the same steps, in the same order, as the flow.

    ``allow_empty``: publish even when the claims look like another period's (most lines outside the
    year, or no claims measure with an eligible instance); see ``check_period_inputs``.
    ``scaling_factor`` / ``exceptional_scaling_factor``: CMS's budget-neutrality factors (without them an
    unpublished factor makes the positive adjustment a range). ``ehr``: a FHIR folder and its defaults."""
    period = Period.of(performance_year, period_start, period_end)
    run = start_run(period, files, output_root, parameters=run_parameters(
        sources, levels, max_rejected_percent, allow_empty, scaling_factor, exceptional_scaling_factor), ehr=ehr)
    try:
        input_provenance(run)
        ingest_step(run)
        validate_step(run, max_rejected_percent)
        measures_step(run, sources, levels)
        scores_step(run)
        publish_step(run)
        return report_of(run)
    except Exception as error:
        raise one_line_failure(run, error) from None
    finally:
        finish_run(run)


def outputs_status(run: PeriodRun, error: BaseException | None = None) -> str:
    """What a failed run did to the published outputs, truthfully."""
    py = run.period.performance_year
    if run.published is not None or getattr(error, "outputs_changed", False):
        return f"performance year {py} WAS published by run {run.run_id}"
    return f"outputs of performance year {py} left unchanged"


def one_line_failure(run: PeriodRun, error: Exception) -> Exception:
    """An environment failure (disk full, permission denied, ...) becomes one line that says whether the
    outputs changed; any other error goes on as it is."""
    if isinstance(error, PipelineError) or not is_environment_failure(error):
        return error
    return PipelineError(environment_message(error, f"run {run.run_id} failed") + f" ({outputs_status(run, error)})")


def resolve_year(performance_year: int | None, years_before_current: int, today: date | None = None) -> int:
    """The scheduled runs name a year relative to the run date (a nightly run follows the calendar)."""
    return int(performance_year) if performance_year is not None else (today or date.today()).year - years_before_current


def run_parameters(sources, levels, max_rejected_percent, allow_empty: bool = False, scaling_factor=None,
                   exceptional_scaling_factor=None) -> dict:
    bad = [s for s in sources if s not in SOURCES] + [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise PipelineError(f"unknown source or level: {', '.join(bad)} (sources: {', '.join(SOURCES)}; "
                            f"levels: {', '.join(LEVELS)})")
    if not 0 <= max_rejected_percent <= 100:
        raise PipelineError(f"the rejection threshold must be between 0 and 100 percent (got {max_rejected_percent})")
    return {"sources": list(sources), "levels": list(levels), "max_rejected_percent": max_rejected_percent,
            "allow_empty": bool(allow_empty), "scaling_factor": scaling_factor,
            "exceptional_scaling_factor": exceptional_scaling_factor}


# ---------------------------------------------------------------- helpers

def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}


def _counts(con, specs: dict[str, TableSpec], known: dict[str, int] | None = None) -> dict[str, int]:
    known = known or {}
    return {name: known[name] if name in known else int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            for name in specs}
