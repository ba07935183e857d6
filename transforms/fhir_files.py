"""FHIR R4 input: a folder of ``*.json`` (one resource or a Bundle) and ``*.ndjson`` (Bulk Data) files.

``load_fhir_dir`` reads every file of the folder (recursively) with DuckDB's own readers, set-based (no
Python loop over resources or lines), and creates:

- ``fhir_resource``: one row per accepted resource a measure may read. Columns: source_file, source_row
  (line of an NDJSON file, entry of a Bundle, 1 for a one-resource file), person_id (the owning Patient.id;
  NULL for the shared resources Organization, Practitioner, PractitionerRole, Location and Medication
  read from NDJSON or a Bundle with several patients), resource_type, resource_id and resource (the
  whole resource as read). The eCQM engine reads this table.
- ``ehr_attribution``: one row per accepted Encounter: person_id, encounter_id, tin, npi (after defaults), and one
  row with no encounter_id per Patient without any Encounter (the default TIN/NPI, when given).

Every resource read is accepted, out of scope or rejected, with the same bookkeeping as the CSV/Parquet
inputs (``_ingest_summary`` one row per file, ``_rejects``, ``_out_of_scope``), so
input = accepted + out of scope + rejected holds for every file.

Which patient a resource belongs to:
- a folder (its ``*.json`` files) or a Bundle holding exactly one Patient is that patient's record: every
  resource in it belongs to that patient, whatever its own reference says (a patient ``$everything``
  export, CMS's test decks);
- otherwise (NDJSON, Bundles and folders with several patients) the subject / patient / beneficiary /
  for reference decides (``Patient/<id>``, an absolute URL ending so, or a Bundle's ``urn:uuid`` fullUrl).

Out of scope (counted with a reason, never rejected): a resource type no measure reads; a resource that
cannot be tied to a patient, or whose Patient is not in the input; a coding without a system (counted
one by one in ``ingest_out_of_scope`` under table_name ``coding``; its resource is kept and the coding
is ignored by the measures).

Rejected (malformed): text that is not JSON, JSON that is not a resource, a resource without an id,
a Bundle on an NDJSON line, elements of the wrong JSON type, impossible dates, a Practitioner NPI or
an Organization TIN that is not one, a resource repeated (same type and id for the same patient).

Attribution: an Encounter's clinician is the NPI (identifier system http://hl7.org/fhir/sid/us-npi) of
its participant Practitioner (a primary performer first, then an attender, then the first participant
that has one); its TIN is the TIN identifier (urn:oid:2.16.840.1.113883.4.4) of its serviceProvider
Organization. Only these two attribute; identifiers anywhere else (a payer, a requester) do not.
Encounters that name neither take ``default_tin`` / ``default_npi``; without them the load fails with
one line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from mips.errors import InputFileError, PipelineError
from schemas import checks
# the resource types read, the identifier systems that attribute: schemas/fhir.py (also documented from there)
from schemas.fhir import (EHR_ATTRIBUTION, FHIR_RESOURCE, NPI_SYSTEM, PATIENT_RESOURCE_TYPES, SHARED_RESOURCE_TYPES,
                          TIN_SYSTEM)

TABLE_NAME = "fhir_resource"  # the contract name FHIR files are read as (ingest_summary.table_name)
CODING_TABLE = "coding"       # ingest_out_of_scope rows counting codings (parts of kept resources), not rows

# Where a resource names its patient, in order of preference.
PATIENT_REFERENCE_PATHS = ("$.subject.reference", "$.patient.reference", "$.beneficiary.reference",
                           "$.for.reference")

# Date, dateTime and instant elements of the types read (also nested periods). FHIR dateTime with a time
# should carry a zone; one without is accepted (counted as a warning) and read as the engine documents.
DATE_ELEMENTS = (
    "birthDate", "deceasedDateTime", "period.start", "period.end", "onsetDateTime", "onsetPeriod.start",
    "onsetPeriod.end", "abatementDateTime", "abatementPeriod.start", "abatementPeriod.end", "recordedDate",
    "effectiveDateTime", "effectivePeriod.start", "effectivePeriod.end", "effectiveInstant", "issued",
    "valueDateTime", "performedDateTime", "performedPeriod.start", "performedPeriod.end", "authoredOn",
    "occurrenceDateTime", "occurrencePeriod.start", "occurrencePeriod.end", "recorded", "whenPrepared",
    "whenHandedOver", "sent", "received", "created", "billablePeriod.start", "billablePeriod.end",
    "lastOccurrence", "executionPeriod.start", "executionPeriod.end", "lastModified", "date", "detected",
    "dispenseRequest.validityPeriod.start", "dispenseRequest.validityPeriod.end",
)
# FHIR date / dateTime / instant (https://hl7.org/fhir/R4/datatypes.html), the zone optional.
_DATE_RE = (r"[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)"
            r"(\.[0-9]+)?)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?)?)?)?")
_TIME_WITHOUT_ZONE_RE = r".*T[0-9:.]+"

_NUMBER = ("BIGINT", "UBIGINT", "DOUBLE")
# (element, JSON types it may have, what it is): a present element of another type rejects the resource.
TYPE_RULES = (
    ("id", ("VARCHAR",), "a string"),
    ("subject", ("OBJECT",), "a Reference"),
    ("subject.reference", ("VARCHAR",), "a string"),
    ("patient", ("OBJECT",), "a Reference"),
    ("patient.reference", ("VARCHAR",), "a string"),
    ("beneficiary", ("OBJECT",), "a Reference"),
    ("status", ("VARCHAR",), "a code (string)"),
    ("intent", ("VARCHAR",), "a code (string)"),
    ("code", ("OBJECT",), "a CodeableConcept"),
    ("code.coding", ("ARRAY",), "an array of Codings"),
    ("category", ("ARRAY", "OBJECT"), "an array or a CodeableConcept"),  # R4 Procedure: one; elsewhere a list
    ("identifier", ("ARRAY",), "an array"),
    ("participant", ("ARRAY",), "an array"),
    ("serviceProvider", ("OBJECT",), "a Reference"),
    ("period", ("OBJECT",), "a Period"),
    ("effectivePeriod", ("OBJECT",), "a Period"),
    ("valueQuantity", ("OBJECT",), "a Quantity"),
    ("valueQuantity.value", _NUMBER, "a number"),
    ("valueCodeableConcept", ("OBJECT",), "a CodeableConcept"),
    ("doNotPerform", ("BOOLEAN",), "true or false"),
    ("component", ("ARRAY",), "an array"),
    ("gender", ("VARCHAR",), "a code (string)"),
    ("entry", ("ARRAY",), "an array"),
    # repeating elements the eCQM IR unnests (Encounter / Claim diagnosis, Claim item: CMS136's principal diagnosis)
    ("diagnosis", ("ARRAY",), "an array"),
    ("item", ("ARRAY",), "an array"),
) + tuple((d, ("VARCHAR",), "a date (string)") for d in DATE_ELEMENTS)

_PARTICIPANT_ORDER = "CASE WHEN list_contains(types, 'PPRF') THEN 1 WHEN list_contains(types, 'ATND') THEN 2 ELSE 3 END"


@dataclass(frozen=True)
class FhirLoad:
    """What ``load_fhir_dir`` read: counts only (no patient data)."""
    folder: str
    files: int
    ignored_files: int
    by_type: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    # (resource type, input, accepted, out of scope, rejected); type '(unreadable)' for text that is no resource
    codings_without_system: int = 0
    encounters: int = 0
    encounters_defaulted_tin: int = 0
    encounters_defaulted_npi: int = 0
    datetimes_without_zone: int = 0


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _list(values) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def find_fhir_files(folder: Path) -> tuple[list[Path], list[Path], int]:
    """(*.json files, *.ndjson files, other files ignored) under ``folder``, recursively, in name order.

    Hidden files and folders (a leading dot) are skipped, as every export tool's own bookkeeping is."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError(f"FHIR folder {folder} not found (give a folder of .json / .ndjson files)")
    json_files, ndjson_files, other = [], [], 0
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts) or not path.is_file():
            continue
        suffix = path.suffix.lower()
        if suffix == ".json":
            json_files.append(path)
        elif suffix == ".ndjson":
            ndjson_files.append(path)
        else:
            other += 1
    if not json_files and not ndjson_files:
        raise PipelineError(f"FHIR folder {folder} holds no .json or .ndjson files")
    return json_files, ndjson_files, other


def _check_default(con, value: str | None, check, what: str) -> str | None:
    """A default TIN/NPI passes the same check as the claims' (a TIN may be written 12-3456789)."""
    if value is None:
        return None
    value = str(value).strip()
    if what == "TIN":
        value = value.replace("-", "")
    ok = con.execute(f"SELECT coalesce({checks.render_sql(check, 'x')}, false) FROM (SELECT ?::VARCHAR AS x)",
                     [value]).fetchone()[0]
    if not ok:
        raise PipelineError(f"--default-{what.lower()} {value} is not a valid {what}")
    return value


def load_fhir_dir(con: duckdb.DuckDBPyConnection, folder: str | Path, *, default_tin: str | None = None,
                  default_npi: str | None = None, keep_named_attribution: bool = False) -> FhirLoad:
    """Read, validate and attribute a FHIR folder; create ``fhir_resource`` and ``ehr_attribution`` (and, when
    asked, ``fhir_named_attribution``: each encounter's own TIN and NPI before defaults)."""
    from transforms.ingest import _ensure_ingest_tables

    folder = Path(folder)
    default_tin = _check_default(con, default_tin, checks.tin(), "TIN")
    default_npi = _check_default(con, default_npi, checks.npi(), "NPI")
    json_files, ndjson_files, ignored = find_fhir_files(folder)
    _ensure_ingest_tables(con)

    _read_text(con, json_files, ndjson_files)
    _parse(con)
    _validate(con)
    _assign_patients(con)
    _record(con)
    load = _attribute(con, default_tin, default_npi, keep_named_attribution)
    by_type = con.execute("""SELECT resource_type, count(*), count(*) FILTER (WHERE outcome = 'accepted'),
                                    count(*) FILTER (WHERE outcome = 'out_of_scope'),
                                    count(*) FILTER (WHERE outcome = 'rejected')
                             FROM _fhir_outcome GROUP BY 1 ORDER BY 1""").fetchall()
    codings = con.execute("SELECT coalesce(sum(codings_without_system), 0) FROM _fhir_outcome "
                          "WHERE outcome = 'accepted'").fetchone()[0]
    zoneless = con.execute("SELECT coalesce(sum(datetimes_without_zone), 0) FROM _fhir_outcome "
                           "WHERE outcome = 'accepted'").fetchone()[0]
    if zoneless:
        con.execute("INSERT INTO _ingest_warnings VALUES (?, ?, ?, ?)", [
            TABLE_NAME, "datetime_without_time_zone", int(zoneless),
            "FHIR dateTime values with a time but no time zone (FHIR requires one); kept, read in the "
            "measurement period's time zone as CQL does"])
    for table in ("_fhir_lines", "_fhir_docs", "_fhir_items", "_fhir_fail", "_fhir_owner"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return FhirLoad(str(folder), len(json_files) + len(ndjson_files), ignored,
                    [tuple(r) for r in by_type], int(codings), *load, int(zoneless))


# ---------------------------------------------------------------- read

def _read_text(con, json_files: list[Path], ndjson_files: list[Path]) -> None:
    """``_fhir_docs``: every .json file and every NDJSON line, parsed once; the one copy of the resources' text.

    Columns: source_file, file_kind, source_row (NULL for NDJSON lines: their number is their place in the file,
    worked out from rowid), bundle and full_url (Bundle entries), doc (NULL when the text is not JSON), broken,
    container (a Bundle whose entries are rows of their own). Blank NDJSON lines are rows too (they keep the
    numbering) and are never resources."""
    con.execute("CREATE OR REPLACE TABLE _fhir_docs (source_file VARCHAR, file_kind VARCHAR, source_row BIGINT, "
                "bundle VARCHAR, full_url VARCHAR, doc JSON, broken BOOLEAN, blank BOOLEAN, container BOOLEAN)")
    if ndjson_files:
        # One column, no quoting, a delimiter JSON text never holds raw (\x1f): every physical line is a row,
        # blank ones as NULL, in file order (insertion order is kept), so rowid gives the line number. DuckDB keeps
        # that order only for a plan without a join: no IN list of five or more values here (it becomes one).
        reader = ("read_csv({files}, columns={{'line': 'VARCHAR'}}, header=false, auto_detect=false, delim='\x1f', "
                  "quote='', escape='', filename=true, strict_mode=false, max_line_size=536870912)")
        try:
            con.execute(f"""
                INSERT INTO _fhir_docs
                SELECT filename, 'ndjson', NULL, NULL, NULL, doc, doc IS NULL AND NOT blank, blank, false
                FROM (SELECT filename, TRY_CAST(line AS JSON) AS doc, coalesce(trim(line) = '', true) AS blank
                      FROM {reader.format(files=_list(p.as_posix() for p in ndjson_files))})""")
        except duckdb.Error as error:
            _name_unreadable_file(con, ndjson_files, reader, error)
    if json_files:
        try:
            con.execute(f"""
                INSERT INTO _fhir_docs
                SELECT filename, 'json', 1, NULL, NULL, doc, doc IS NULL, false, false
                FROM (SELECT filename, TRY_CAST(content AS JSON) AS doc
                      FROM read_text({_list(p.as_posix() for p in json_files)}))""")
        except duckdb.Error as error:
            _name_unreadable_file(con, json_files, "read_text({files})", error)
        # A .json file holding a Bundle: its entries become rows (source_row = entry number), the Bundle a
        # container. An empty Bundle stays a resource (a Bundle, which no measure reads).
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _fhir_bundles AS
            SELECT rowid AS doc_row FROM _fhir_docs
            WHERE file_kind = 'json' AND NOT broken AND json_type(doc) = 'OBJECT' AND doc->>'$.resourceType' = 'Bundle'
              AND json_type(doc, '$.entry') = 'ARRAY' AND json_array_length(doc, '$.entry') > 0""")
        if con.execute("SELECT count(*) FROM _fhir_bundles").fetchone()[0]:
            entries = con.execute("SELECT sum(json_array_length(doc, '$.entry')) FROM _fhir_docs "
                                  "WHERE rowid IN (SELECT doc_row FROM _fhir_bundles)").fetchone()[0]
            con.execute("""
                INSERT INTO _fhir_docs
                SELECT source_file, 'json', source_row, source_file, entry->>'$.fullUrl', entry->'$.resource',
                       false, false, false
                FROM (SELECT source_file, unnest(json_extract(doc, '$.entry[*]')) AS entry,
                             unnest(range(1, CAST(json_array_length(doc, '$.entry') AS BIGINT) + 1)) AS source_row
                      FROM _fhir_docs WHERE rowid IN (SELECT doc_row FROM _fhir_bundles))""")
            con.execute("UPDATE _fhir_docs SET container = true WHERE rowid IN (SELECT doc_row FROM _fhir_bundles)")
            added = con.execute("SELECT count(*) FROM _fhir_docs WHERE bundle IS NOT NULL").fetchone()[0]
            if added != entries:
                raise AssertionError("FHIR Bundle entries do not add up")  # a bug: every entry is a row
        con.execute("DROP TABLE _fhir_bundles")


def _name_unreadable_file(con, files: list[Path], reader: str, error: Exception):
    """A file DuckDB cannot read at all (not UTF-8, too long a line): find which, say so in one line."""
    for path in files:  # files, not resources: only on this failure path
        try:
            con.execute(f"SELECT count(*) FROM {reader.format(files=_list([path.as_posix()]))}").fetchall()
        except duckdb.Error as file_error:
            text = str(file_error).splitlines()[0]
            problem = "is not UTF-8 text" if "unicode" in text.lower() or "utf" in text.lower() else \
                f"cannot be read ({text[:160]})"
            raise InputFileError(path, problem) from None
    raise PipelineError(f"the FHIR files cannot be read ({str(error).splitlines()[0][:200]})")


_ATTRIBUTION_PATHS = ("$.serviceProvider.reference", "$.serviceProvider.identifier.system",
                      "$.serviceProvider.identifier.value", "$.participant", "$.identifier")
_FIELDS = ["$.resourceType", "$.id", *PATIENT_REFERENCE_PATHS, *_ATTRIBUTION_PATHS, *(f"$.{d}" for d in DATE_ELEMENTS)]
_TYPES = ["$.resourceType", *(f"$.{element}" for element, _, _ in TYPE_RULES)]
_DATES_FROM = 3 + len(PATIENT_REFERENCE_PATHS) + len(_ATTRIBUTION_PATHS)  # fields[] index of the first date


def _extracted(relation: str, *, with_dates: bool = True) -> str:
    """The relation's rows (item_id, doc, ...) with ``fields`` and ``types`` (one parse each); without dates,
    only the elements before them (the one-pass flags read the dates as one string instead)."""
    fields = _FIELDS if with_dates else _FIELDS[:_DATES_FROM - 1]
    types = _TYPES if with_dates else _TYPES[:len(_TYPES) - len(DATE_ELEMENTS)]
    return f"""(SELECT *, CASE WHEN is_object THEN json_extract_string(doc, {_list(fields)}) END AS fields,
                       CASE WHEN is_object THEN json_type(doc, {_list(types)}) END AS types
                FROM (SELECT *, NOT broken AND left(ltrim(doc::VARCHAR), 1) = '{{' AS is_object FROM {relation}))"""


def _type_failures(with_dates: bool = True) -> list[tuple[str, str]]:
    """(predicate, struct) per element type rule, over ``types``."""
    out = []
    rules = TYPE_RULES if with_dates else TYPE_RULES[:len(TYPE_RULES) - len(DATE_ELEMENTS)]
    for i, (element, allowed, what) in enumerate(rules, start=2):
        allowed_sql = ", ".join(_lit(a) for a in allowed + ("NULL",))
        out.append((f"(types[{i}] IS NOT NULL AND types[{i}] NOT IN ({allowed_sql}))",
                    f"{{'element': {_lit(element)}, 'rule': 'wrong_type', 'reason': {_lit(f'{element} must be {what}')}}}"))
    return out


def _date_failures() -> list[tuple[str, str]]:
    """(predicate, struct) per date element, over ``fields`` and ``types``."""
    out = []
    for i, element in enumerate(DATE_ELEMENTS):
        value, kind = f"fields[{_DATES_FROM + i}]", f"types[{2 + len(TYPE_RULES) - len(DATE_ELEMENTS) + i}]"
        out.append((f"({value} IS NOT NULL AND {kind} = 'VARCHAR' AND NOT (regexp_full_match({value}, {_lit(_DATE_RE)}) "
                    f"AND (length({value}) < 10 OR TRY_CAST(left({value}, 10) AS DATE) IS NOT NULL)))",
                    f"{{'element': {_lit(element)}, 'rule': 'impossible_date', "
                    f"'reason': {_lit(f'{element} is not a possible FHIR date or dateTime')}}}"))
    return out


def _parse(con) -> None:
    """``_fhir_items``: one row per resource read (a file's resource, a Bundle's entry, an NDJSON line), with
    what the checks and the attribution need, but not the resource itself (it stays in ``_fhir_docs``;
    item_id is its rowid). Element values are read in one pass and never stored as lists."""
    n_refs = len(PATIENT_REFERENCE_PATHS)
    attribution = 3 + n_refs
    # Every date element present, as its JSON text, joined by '|' (absent ones drop out): one regex checks
    # that each is a quoted FHIR date/dateTime, another counts times without a zone; days 29-31 are checked
    # against the calendar.
    day_ok = ("CASE WHEN regexp_matches(dd, '-(29|30|31)') THEN list_bool_and(list_transform("
              "regexp_extract_all(dd, '\"([0-9]{4}-[0-9]{2}-[0-9]{2})', 1), lambda x: TRY_CAST(x AS DATE) IS NOT NULL)) "
              "ELSE true END")
    quoted = '"' + _DATE_RE + '"'
    dates_ok = f"(dd = '' OR regexp_full_match(dd, {_lit(quoted + '(' + chr(92) + '|' + quoted + ')*')}))"
    rows = "(SELECT rowid AS item_id, * FROM _fhir_docs WHERE NOT blank AND NOT container)"
    con.execute(f"""
        CREATE OR REPLACE TABLE _fhir_items AS
        SELECT item_id, source_file, file_kind, coalesce(source_row, item_id - first_row + 1) AS source_row,
               bundle, parse_dirpath(source_file) AS folder, full_url, broken, types IS NOT NULL AS is_resource_object,
               CASE WHEN types[1] = 'VARCHAR' THEN fields[1] END AS resource_type,
               coalesce(fields[2], CASE WHEN full_url LIKE 'urn:uuid:%' THEN substr(full_url, 10) END) AS resource_id,
               types[2] AS id_type,
               coalesce({', '.join(f'fields[{3 + i}]' for i in range(n_refs))}) AS patient_reference,
               coalesce({' OR '.join(p for p, _ in _type_failures(with_dates=False))}, false) AS bad_type,
               is_object AND NOT coalesce({dates_ok} AND {day_ok}, false) AS bad_date,
               CASE WHEN is_object THEN len(regexp_extract_all(dd, 'T[0-9:.]+"')) ELSE 0 END AS datetimes_without_zone,
               CASE WHEN fields[1] = 'Encounter' THEN fields[{attribution}] END AS sp_reference,
               CASE WHEN fields[1] = 'Encounter' THEN fields[{attribution + 1}] END AS sp_system,
               CASE WHEN fields[1] = 'Encounter' THEN fields[{attribution + 2}] END AS sp_value,
               CASE WHEN fields[1] = 'Encounter' THEN fields[{attribution + 3}] END AS participants,
               CASE WHEN fields[1] IN ('Practitioner', 'Organization') THEN fields[{attribution + 4}] END AS identifiers,
               CASE WHEN is_object THEN
                    -- only codings whose text lacks a system key are parsed again
                    len(list_filter(json_extract(doc, '$..coding[*]'),
                                    lambda c: CASE WHEN contains(c::VARCHAR, '"system"') THEN c->>'$.system' IS NULL
                                                   ELSE left(c::VARCHAR, 1) = '{{' END))
                    + CASE WHEN contains(doc::VARCHAR, '"class"') AND json_type(doc, '$.class') = 'OBJECT'
                           AND doc->>'$.class.code' IS NOT NULL AND doc->>'$.class.system' IS NULL
                           THEN 1 ELSE 0 END END AS codings_without_system
        FROM (SELECT *, CASE WHEN is_object THEN array_to_string(json_extract(doc, {_list(f"$.{d}" for d in DATE_ELEMENTS)}),
                                                                 '|') END AS dd
              FROM {_extracted(rows, with_dates=False)})
        JOIN (SELECT source_file, min(rowid) AS first_row FROM _fhir_docs GROUP BY 1) USING (source_file)""")


# ---------------------------------------------------------------- validate

def _validate(con) -> None:
    """``_fhir_fail``: one row per (item, element, rule) that makes a resource malformed."""
    con.execute("""
        CREATE OR REPLACE TABLE _fhir_fail AS
        SELECT item_id, f.element AS element, f.rule AS rule, f.reason AS reason
        FROM (SELECT item_id,
                     CASE WHEN broken THEN {'element': NULL, 'rule': 'invalid_json', 'reason': 'not valid JSON'}
                          WHEN NOT is_resource_object OR resource_type IS NULL THEN
                               {'element': NULL, 'rule': 'not_a_resource', 'reason': 'not a FHIR resource (no resourceType)'}
                          WHEN file_kind = 'ndjson' AND resource_type = 'Bundle' THEN
                               {'element': NULL, 'rule': 'bundle_in_ndjson',
                                'reason': 'a Bundle on an NDJSON line (Bulk Data files hold one resource per line; put Bundles in .json files)'}
                          WHEN resource_id IS NULL AND id_type IS NULL THEN
                               {'element': 'id', 'rule': 'id_missing', 'reason': 'the resource has no id'}
                     END AS f
              FROM _fhir_items)
        WHERE f IS NOT NULL""")
    # Element rules, spelled out only for the few resources the one-pass flags caught (parsed again here).
    checks_sql = ", ".join(f"CASE WHEN {p} THEN {st} END" for p, st in _type_failures() + _date_failures())
    flagged = """(SELECT d.rowid AS item_id, d.doc, d.broken FROM _fhir_docs d
                  SEMI JOIN (SELECT item_id FROM _fhir_items WHERE (bad_type OR bad_date) AND is_resource_object
                             AND NOT broken AND item_id NOT IN (SELECT item_id FROM _fhir_fail)) i
                    ON i.item_id = d.rowid)"""
    con.execute(f"""
        INSERT INTO _fhir_fail
        SELECT item_id, f.element, f.rule, f.reason
        FROM (SELECT item_id, unnest(list_filter([{checks_sql}], lambda x: x IS NOT NULL)) AS f
              FROM {_extracted(flagged)})""")
    # The same resource twice for the same owner: the first (in file and row order) is kept; owners are
    # known after patient assignment, where that rule runs.


# ---------------------------------------------------------------- patients

def _patient_id_of(reference_sql: str) -> str:
    return f"nullif(regexp_extract({reference_sql}, '(^|/)Patient/([A-Za-z0-9.\\-]{{1,64}})(/_history/[^/]*)?$', 2), '')"


def _assign_patients(con) -> None:
    """``_fhir_owner``: the Patient.id each valid item belongs to (NULL = none), by the module's rules."""
    read = _list(PATIENT_RESOURCE_TYPES + SHARED_RESOURCE_TYPES)
    con.execute(f"""
        CREATE OR REPLACE TABLE _fhir_owner AS
        WITH valid AS (
            SELECT i.* FROM _fhir_items i ANTI JOIN _fhir_fail f USING (item_id)
        ), patients AS (
            SELECT item_id, file_kind, bundle, folder, full_url, resource_id FROM valid WHERE resource_type = 'Patient'
        ), bundle_one AS (          -- Bundles holding exactly one Patient
            SELECT bundle, min(resource_id) AS owner FROM patients WHERE bundle IS NOT NULL
            GROUP BY 1 HAVING count(DISTINCT resource_id) = 1
        ), folder_one AS (          -- folders whose .json files hold exactly one Patient
            SELECT folder, min(resource_id) AS owner FROM patients WHERE file_kind = 'json'
            GROUP BY 1 HAVING count(DISTINCT resource_id) = 1
        ), urn AS (                 -- urn:uuid fullUrls of Patients inside Bundles
            SELECT bundle, full_url, min(resource_id) AS owner FROM patients WHERE full_url IS NOT NULL GROUP BY 1, 2
        )
        SELECT v.item_id, v.resource_type,
               v.resource_type IN (SELECT unnest({read})) AS type_read,
               v.resource_type IN (SELECT unnest({_list(SHARED_RESOURCE_TYPES)})) AS shared,
               CASE WHEN v.resource_type = 'Patient' THEN v.resource_id
                    WHEN v.file_kind = 'json' THEN coalesce(b.owner, f.owner, u.owner,
                                                            {_patient_id_of('v.patient_reference')})
                    ELSE {_patient_id_of('v.patient_reference')} END AS person_id
        FROM valid v
        LEFT JOIN bundle_one b ON b.bundle = v.bundle
        LEFT JOIN folder_one f ON f.folder = v.folder AND v.file_kind = 'json'
        LEFT JOIN urn u ON u.bundle = v.bundle AND u.full_url = v.patient_reference""")
    # A reference to a Patient the input does not hold ties the resource to no one we know.
    con.execute("""
        UPDATE _fhir_owner o SET person_id = NULL
        WHERE person_id IS NOT NULL AND resource_type <> 'Patient'
          AND person_id NOT IN (SELECT resource_id FROM _fhir_items i SEMI JOIN _fhir_owner p USING (item_id)
                                WHERE i.resource_type = 'Patient')""")
    con.execute("""
        INSERT INTO _fhir_fail
        SELECT item_id, 'id', 'duplicate_resource',
               'the same resource type and id appears earlier in the input for the same patient'
        FROM (SELECT o.item_id, row_number() OVER (PARTITION BY o.person_id, i.resource_type, i.resource_id
                                                   ORDER BY i.item_id) AS occurrence
              FROM _fhir_owner o JOIN _fhir_items i USING (item_id) WHERE o.type_read)
        WHERE occurrence > 1""")


# ---------------------------------------------------------------- outcome and bookkeeping

def _record(con) -> None:
    """Outcome per item; ``fhir_resource``; the per-file summary, rejects and out-of-scope counts."""
    con.execute(f"""
        CREATE OR REPLACE TABLE _fhir_outcome AS
        SELECT i.item_id, i.source_file, i.source_row, coalesce(i.resource_type, '(unreadable)') AS resource_type,
               CASE WHEN f.item_id IS NOT NULL THEN 'rejected'
                    WHEN NOT o.type_read THEN 'out_of_scope'
                    WHEN o.person_id IS NULL AND NOT o.shared THEN 'out_of_scope'
                    ELSE 'accepted' END AS outcome,
               CASE WHEN f.item_id IS NOT NULL THEN NULL
                    WHEN NOT o.type_read THEN 'resource type ' || i.resource_type || ': no measure reads it'
                    WHEN o.person_id IS NULL AND NOT o.shared AND i.patient_reference IS NOT NULL
                         AND {_patient_id_of('i.patient_reference')} IS NOT NULL
                         THEN 'names a Patient that is not in the input'
                    WHEN o.person_id IS NULL AND NOT o.shared
                         THEN 'not tied to a patient (no subject/patient reference to a Patient, and not in a '
                              || 'one-patient folder or Bundle)'
               END AS out_of_scope_reason,
               CASE WHEN f.item_id IS NULL THEN i.codings_without_system END AS codings_without_system,
               CASE WHEN f.item_id IS NULL THEN i.datetimes_without_zone END AS datetimes_without_zone,
               o.person_id
        FROM _fhir_items i
        LEFT JOIN (SELECT DISTINCT item_id FROM _fhir_fail) f USING (item_id)
        LEFT JOIN _fhir_owner o USING (item_id)""")
    # cast to the declared columns; not sorted by the key (a sort of every resource's text costs more than any
    # reader gains: the eCQM engine joins and groups it)
    casts = ", ".join(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in FHIR_RESOURCE.columns)
    con.execute(f"""
        CREATE OR REPLACE TABLE fhir_resource AS
        SELECT {casts}
        FROM (SELECT i.source_file, i.source_row, o.person_id, i.resource_type, i.resource_id, d.doc AS resource
              FROM _fhir_items i JOIN _fhir_outcome o USING (item_id)
              JOIN (SELECT rowid AS item_id, doc FROM _fhir_docs) d USING (item_id)
              WHERE o.outcome = 'accepted')""")
    con.execute(f"""
        INSERT INTO _rejects
        SELECT i.source_file, {_lit(TABLE_NAME)}, i.source_row,
               CASE WHEN f.element IS NULL THEN NULL ELSE coalesce(i.resource_type, 'resource') || '.' || f.element END,
               f.rule, f.reason
        FROM _fhir_fail f JOIN _fhir_items i USING (item_id)""")
    con.execute("""
        INSERT INTO _out_of_scope
        SELECT source_file, min(resource_type), out_of_scope_reason, count(*)
        FROM _fhir_outcome WHERE outcome = 'out_of_scope' GROUP BY source_file, out_of_scope_reason""")
    con.execute(f"""
        INSERT INTO _out_of_scope
        SELECT source_file, {_lit(CODING_TABLE)},
               'coding without a system: ignored (its resource is kept; codings are counted, not rows)',
               sum(codings_without_system)
        FROM _fhir_outcome WHERE outcome = 'accepted' GROUP BY source_file HAVING sum(codings_without_system) > 0""")
    con.execute("DELETE FROM _ingest_summary WHERE source_file IN (SELECT DISTINCT source_file FROM _fhir_outcome)")
    con.execute(f"""
        INSERT INTO _ingest_summary
        SELECT source_file, {_lit(TABLE_NAME)}, count(*), count(*) FILTER (WHERE outcome = 'accepted'),
               count(*) FILTER (WHERE outcome = 'rejected'), count(*) FILTER (WHERE outcome = 'out_of_scope')
        FROM _fhir_outcome GROUP BY source_file""")


def types_over_threshold(con: duckdb.DuckDBPyConnection, max_rejected_percent: float) -> list[tuple[str, float]]:
    """FHIR resource types with more than ``max_rejected_percent`` of their resources rejected, across the whole
    input (not per file). Text that is no resource at all counts against the whole FHIR input."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_fhir_outcome'").fetchone()[0]:
        return []
    return [(t, float(p)) for t, p in con.execute("""
        WITH by_type AS (
            SELECT resource_type, count(*) AS input, count(*) FILTER (WHERE outcome = 'rejected') AS rejected
            FROM _fhir_outcome GROUP BY 1
        ), scaled AS (
            SELECT resource_type, rejected,
                   CASE WHEN resource_type = '(unreadable)' THEN (SELECT count(*) FROM _fhir_outcome)
                        ELSE input END AS base
            FROM by_type
        )
        SELECT resource_type, round(100.0 * rejected / base, 2) FROM scaled
        WHERE 100.0 * rejected / base > ? ORDER BY 1""", [max_rejected_percent]).fetchall()]


# ---------------------------------------------------------------- attribution

def _attribute(con, default_tin: str | None, default_npi: str | None,
               keep_named: bool = False) -> tuple[int, int, int]:
    """``ehr_attribution``: each accepted Encounter's TIN and NPI, after defaults; a clear error without them."""
    npi_ok = checks.render_sql(checks.npi(), "npi")
    # what the one parsing pass kept of the accepted Encounters, Practitioners and Organizations
    con.execute("""CREATE OR REPLACE TEMP VIEW _fhir_accepted AS
                   SELECT i.*, o.person_id FROM _fhir_items i JOIN _fhir_outcome o USING (item_id)
                   WHERE o.outcome = 'accepted' AND i.resource_type IN ('Encounter', 'Practitioner', 'Organization')""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fhir_npi AS      -- Practitioner id -> NPI
        SELECT resource_id AS practitioner_id, min(npi) AS npi
        FROM (SELECT resource_id,
                     trim(list_filter(json_extract(identifiers, '$[*]'),
                                      lambda x: x->>'$.system' = {_lit(NPI_SYSTEM)})[1]->>'$.value') AS npi
              FROM _fhir_accepted WHERE resource_type = 'Practitioner')
        WHERE npi IS NOT NULL GROUP BY 1;
        CREATE OR REPLACE TEMP TABLE _fhir_tin AS      -- Organization id -> TIN (digits only: 12-3456789 is allowed)
        SELECT resource_id AS organization_id, min(tin) AS tin
        FROM (SELECT resource_id,
                     regexp_replace(list_filter(json_extract(identifiers, '$[*]'),
                                    lambda x: x->>'$.system' = {_lit(TIN_SYSTEM)})[1]->>'$.value', '[^0-9]', '', 'g') AS tin
              FROM _fhir_accepted WHERE resource_type = 'Organization')
        WHERE tin IS NOT NULL GROUP BY 1""")
    bad_npi = con.execute(f"SELECT count(*) FROM _fhir_npi WHERE NOT coalesce({npi_ok}, false)").fetchone()[0]
    bad_tin = con.execute("SELECT count(*) FROM _fhir_tin WHERE NOT regexp_full_match(tin, '[0-9]{9}')").fetchone()[0]
    if bad_npi or bad_tin:
        con.execute("INSERT INTO _ingest_warnings VALUES (?, ?, ?, ?)", [
            TABLE_NAME, "attribution_identifier_invalid", int(bad_npi + bad_tin),
            "Practitioner NPIs failing the NPI check digit or Organization TINs that are not nine digits: "
            "they attribute nothing (encounters naming them take the defaults)"])
        con.execute(f"DELETE FROM _fhir_npi WHERE NOT coalesce({npi_ok}, false)")
        con.execute("DELETE FROM _fhir_tin WHERE NOT regexp_full_match(tin, '[0-9]{9}')")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fhir_encounter_ids AS
        SELECT person_id, resource_id AS encounter_id,
               {_reference_id_sql("sp_reference", 'Organization')} AS organization_id,
               sp_system, sp_value, json_extract(participants, '$[*]') AS participants
        FROM _fhir_accepted WHERE resource_type = 'Encounter'""")
    id_npi_ok = checks.render_sql(checks.npi(), "x.id_value")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fhir_encounter_npi AS
        SELECT person_id, encounter_id, arg_min(npi, rank * 100000 + position) AS npi
        FROM (
            SELECT x.person_id, x.encounter_id, x.position, x.rank,
                   coalesce(n.npi, CASE WHEN x.id_system = {_lit(NPI_SYSTEM)} AND {id_npi_ok} THEN x.id_value END) AS npi
            FROM (SELECT person_id, encounter_id, position,
                         {_PARTICIPANT_ORDER.replace('types', "json_extract_string(participant, '$.type[*].coding[*].code')")}
                             AS rank,
                         {_reference_id_sql("participant->>'$.individual.reference'", 'Practitioner')} AS practitioner_id,
                         participant->>'$.individual.identifier.system' AS id_system,
                         trim(participant->>'$.individual.identifier.value') AS id_value
                  FROM (SELECT person_id, encounter_id, unnest(participants) AS participant,
                               unnest(range(1, len(participants) + 1)) AS position
                        FROM _fhir_encounter_ids)) x
            LEFT JOIN _fhir_npi n USING (practitioner_id)
        ) WHERE npi IS NOT NULL GROUP BY 1, 2""")
    con.execute(f"""
        CREATE OR REPLACE TABLE ehr_attribution AS
        SELECT e.person_id::VARCHAR AS person_id, e.encounter_id::VARCHAR AS encounter_id,
               coalesce(t.tin, CASE WHEN e.sp_system = {_lit(TIN_SYSTEM)}
                                         AND regexp_full_match(regexp_replace(e.sp_value, '[^0-9]', '', 'g'), '[0-9]{{9}}')
                                    THEN regexp_replace(e.sp_value, '[^0-9]', '', 'g') END)::VARCHAR AS named_tin,
               n.npi::VARCHAR AS named_npi
        FROM _fhir_encounter_ids e
        LEFT JOIN _fhir_tin t USING (organization_id)
        LEFT JOIN _fhir_encounter_npi n USING (person_id, encounter_id)""")
    encounters, no_tin, no_npi = con.execute("""SELECT count(*), count(*) FILTER (WHERE named_tin IS NULL),
                                                       count(*) FILTER (WHERE named_npi IS NULL)
                                                FROM ehr_attribution""").fetchone()
    missing = [what for what, count, default in (("TIN", no_tin, default_tin), ("NPI", no_npi, default_npi))
               if count and default is None]
    if missing:
        raise PipelineError(
            f"{max(no_tin if 'TIN' in missing else 0, no_npi if 'NPI' in missing else 0):,} of {encounters:,} FHIR "
            f"Encounters name no {' and no '.join(missing)} (participant Practitioner identifier {NPI_SYSTEM}, "
            f"serviceProvider Organization identifier {TIN_SYSTEM}); give "
            + " and ".join(f"--default-{m.lower()} {m}" for m in missing) + " to attribute them")
    # A patient with no Encounter at all (some eCQMs need none, e.g. CMS129) is attributed to the defaults by a row
    # without an encounter; without defaults the eCQM engine names the unattributed patients and stops.
    tin, npi = (_lit(default_tin) if default_tin else "NULL"), (_lit(default_npi) if default_npi else "NULL")
    defaults = f"""(SELECT person_id, encounter_id, coalesce(named_tin, {tin}) AS tin, coalesce(named_npi, {npi}) AS npi
                    FROM ehr_attribution
                    UNION ALL
                    SELECT DISTINCT p.person_id, NULL, {tin}, {npi}
                    FROM fhir_resource p
                    WHERE p.resource_type = 'Patient' AND {'TRUE' if default_tin else 'FALSE'}
                      AND NOT EXISTS (SELECT 1 FROM ehr_attribution a WHERE a.person_id = p.person_id))"""
    con.execute(f"CREATE OR REPLACE TABLE _fhir_attribution AS {EHR_ATTRIBUTION.select_sql(defaults)}")
    # what the Encounters themselves name, before defaults: the flat-table conversion (transforms/fhir_to_tables.py)
    # writes it as billing_tin / rendering_npi
    if keep_named:
        con.execute("CREATE OR REPLACE TEMP TABLE fhir_named_attribution AS SELECT * FROM ehr_attribution")
    con.execute("DROP TABLE ehr_attribution; ALTER TABLE _fhir_attribution RENAME TO ehr_attribution")
    for table in ("_fhir_npi", "_fhir_tin", "_fhir_encounter_ids", "_fhir_encounter_npi"):
        con.execute(f"DROP TABLE {table}")
    con.execute("DROP VIEW _fhir_accepted")
    return int(encounters), int(no_tin), int(no_npi)


def _reference_id_sql(reference_sql: str, resource_type: str) -> str:
    return (f"nullif(regexp_extract({reference_sql}, '(^|/){resource_type}/([A-Za-z0-9.\\-]{{1,64}})"
            f"(/_history/[^/]*)?$', 2), '')")
