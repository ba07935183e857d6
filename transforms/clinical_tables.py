"""Flat clinical tables (schemas/clinical.py) -> ``fhir_resource`` and ``ehr_attribution``, set-based in DuckDB.

The tables become the FHIR R4 resources a FHIR folder holds (same elements, same code system URLs), so the one
eCQM engine (transforms/ecqm: 01_ir.sql reads fhir_resource) computes both inputs with the same logic; there is no
second IR mapping to keep in step. Nothing is lost: every input row is accepted, out of scope (with a reason) or
rejected (file, row, column, rule, reason), and input = accepted + out of scope + rejected per file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from mips.errors import PipelineError
from schemas import checks
from schemas.clinical import CLINICAL_TABLES, CODE_TYPE_SYSTEMS, ClinicalTable
from schemas.fhir import FHIR_RESOURCE, EHR_ATTRIBUTION

TABLE_PREFIX = "clinical."   # ingest_summary.table_name of a flat table: clinical.<name>
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
RACE_SYSTEM = "urn:oid:2.16.840.1.113883.6.238"
_QC = "http://fhir.org/guides/astp/us-quality-core/StructureDefinition/us-quality-core-"


@dataclass(frozen=True)
class ClinicalLoad:
    """What ``load_clinical_dir`` read: counts only (no patient data)."""
    folder: str
    by_table: list[tuple[str, str, int, int, int, int]] = field(default_factory=list)
    # (file, table, input rows, accepted, out of scope, rejected)
    resources: int = 0
    encounters: int = 0
    encounters_defaulted_tin: int = 0
    encounters_defaulted_npi: int = 0


def _lit(text) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def find_clinical_files(folder: Path) -> dict[str, Path]:
    """The flat tables of a folder by their names: ``<name>.csv`` or ``<name>.parquet`` (one of each name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError(f"clinical tables folder {folder} not found (give a folder of patient.csv, "
                            "encounter.csv, ... or .parquet)")
    found: dict[str, Path] = {}
    for table in CLINICAL_TABLES:
        paths = [folder / f"{table.name}.{ext}" for ext in ("csv", "parquet") if (folder / f"{table.name}.{ext}").is_file()]
        if len(paths) > 1:
            raise PipelineError(f"clinical tables folder {folder} holds both {paths[0].name} and {paths[1].name}")
        if paths:
            found[table.name] = paths[0]
    if "patient" not in found:
        raise PipelineError(f"clinical tables folder {folder} has no patient.csv or patient.parquet")
    return found


def _read(con, table: ClinicalTable, path: Path) -> None:
    """``_flat_<name>``: every row as text with its row number (_row: data row, 1 = first row after the header),
    every declared field a column (NULL where the file lacks an optional one)."""
    if path.suffix == ".csv":
        reader = f"read_csv({_lit(path.as_posix())}, header=true, all_varchar=true, auto_detect=true)"
    else:
        reader = f"read_parquet({_lit(path.as_posix())})"
    try:
        present = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
    except duckdb.Error as error:
        raise PipelineError(f"{path}: cannot be read ({str(error).splitlines()[0][:160]})") from None
    missing = [f.name for f in table.fields if f.required and f.name not in present]
    if missing:
        raise PipelineError(f"{path}: required column(s) {', '.join(missing)} missing "
                            f"(clinical table {table.name}; see docs/inputs.md)")
    def value(f) -> str:
        text = f"nullif(trim(CAST({_q(f.name)} AS VARCHAR)), '')" if f.name in present else "CAST(NULL AS VARCHAR)"
        if f.kind == "date":   # a typed Parquet timestamp as FHIR writes it: 2026-03-01 09:00:00+00 -> ...T...+00:00
            text = (f"regexp_replace(regexp_replace({text}, '^([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}) ', '\\1T'), "
                    f"'(T[0-9:.]+[+-][0-9]{{2}})$', '\\1:00')")
        return f"coalesce({text}, {_lit(f.default)})" if f.default else text
    cols = ", ".join(f"{value(f)} AS {_q(f.name)}" for f in table.fields)
    # a record's code may be on any of its rows (row i carries its i-th code, category, reason ...): how many of the
    # record's rows have one
    codes = (f", count(source_code) OVER (PARTITION BY {_q(table.id_column)}) AS _record_codes"
             if any(f.name == "source_code" for f in table.fields) else "")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _flat_{table.name} AS SELECT *{codes} FROM ("
                f"SELECT row_number() OVER () AS _row, {cols} FROM {reader})")


def _q(name: str) -> str:
    return '"' + name + '"'


_KNOWN_TYPES = "[" + ", ".join(_lit(t) for t, _ in CODE_TYPE_SYSTEMS) + "]"


def _system_sql(col: str) -> str:
    """A Tuva code type or a URL -> the code system URL."""
    cases = " ".join(f"WHEN {_lit(t)} THEN {_lit(url)}" for t, url in CODE_TYPE_SYSTEMS)
    return f"(CASE lower({col}) {cases} ELSE {col} END)"


def _checks(table: ClinicalTable) -> list[tuple[str, str, str, str]]:
    """(column, rule, SQL true when the row fails, reason) for each field."""
    out = []
    for f in table.fields:
        c = _q(f.name)
        if f.required and f.name == "source_code":
            out.append((f.name, "required", "_record_codes = 0", "source_code is required (on one row of the "
                        "record at least)"))
        elif f.required:
            out.append((f.name, "required", f"{c} IS NULL", f"{f.name} is required"))
        if f.kind == "date":   # FHIR's partial dates (YYYY, YYYY-MM) too: the engine reads them as their first day
            out.append((f.name, "invalid_date",
                        f"{c} IS NOT NULL AND (CASE length({c}) WHEN 10 THEN try_cast({c} AS DATE) "
                        f"WHEN 4 THEN try_cast({c} || '-01-01' AS DATE) WHEN 7 THEN try_cast({c} || '-01' AS DATE) "
                        f"ELSE try_cast({c} AS TIMESTAMPTZ) END) IS NULL",
                        f"{f.name} is not a date (YYYY-MM-DD, YYYY-MM, YYYY) or dateTime (YYYY-MM-DDThh:mm:ss+zz:zz)"))
        elif f.kind == "number":
            out.append((f.name, "invalid_number", f"{c} IS NOT NULL AND try_cast({c} AS DOUBLE) IS NULL",
                        f"{f.name} is not a number"))
        elif f.kind == "boolean":
            out.append((f.name, "invalid_number", f"{c} IS NOT NULL AND try_cast({c} AS BOOLEAN) IS NULL",
                        f"{f.name} is not true or false"))
        elif f.kind == "code_type":
            out.append((f.name, "unknown_code_type",
                        f"{c} IS NOT NULL AND NOT list_contains({_KNOWN_TYPES}, lower({c})) AND {c} NOT LIKE '%:%'",
                        f"{f.name} is neither a Tuva code type nor a code system URL"))
        if f.allowed:
            allowed = "[" + ", ".join(_lit(a) for a in f.allowed) + "]"
            out.append((f.name, "unknown_value", f"{c} IS NOT NULL AND NOT list_contains({allowed}, lower({c}))",
                        f"{f.name} is not one of: {', '.join(f.allowed)}"))
    if table.name == "observation":   # a row is the observation's code or one of its components
        out.insert(0, ("source_code", "required", "_record_codes = 0 AND component_code IS NULL",
                       "source_code is required (on one row of the record at least; component_code on a "
                       "component row)"))
    return out


def _code_pairs(table: ClinicalTable) -> list[tuple[str, str]]:
    return [(f.name, f.name[:-len("_type")] if f.name.endswith("_code_type") else "source_code")
            for f in table.fields if f.kind == "code_type"]


def _validate(con, table: ClinicalTable, path: Path) -> None:
    """``_flat_fail`` rows (rejects: the row's first failing column) and ``_flat_outcome`` per row."""
    src = f"_flat_{table.name}"
    fails = "\nUNION ALL\n".join(
        f"SELECT _row, {i} AS k, {_lit(col)} AS col, {_lit(rule)} AS rule, {_lit(reason)} AS reason FROM {src} WHERE {cond}"
        for i, (col, rule, cond, reason) in enumerate(_checks(table)))
    dup = ""
    if table.name == "patient":   # a person appears once
        dup = (f"\nUNION ALL SELECT _row, 999, 'patient_id', 'duplicate_patient', 'patient_id given again (the first "
               f"row is kept)' FROM (SELECT _row, row_number() OVER (PARTITION BY patient_id ORDER BY _row) AS n "
               f"FROM {src} WHERE patient_id IS NOT NULL) WHERE n > 1")
    elif table.name == "location":   # not a patient's record
        dup = ""
    else:   # a record's rows (its codes, its components) are one patient's: a row naming another is rejected
        dup = (f"\nUNION ALL SELECT _row, 998, 'patient_id', 'conflicting_patient', 'another row of this "
               f"{table.id_column} names a different patient_id (the first row is kept)' FROM (SELECT _row, "
               f"patient_id, first_value(patient_id) OVER (PARTITION BY {_q(table.id_column)} ORDER BY _row) AS first "
               f"FROM {src} WHERE patient_id IS NOT NULL AND {_q(table.id_column)} IS NOT NULL) WHERE patient_id <> first")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _flat_fail AS
                    SELECT _row, arg_min(col, k) AS col, arg_min(rule, k) AS rule, arg_min(reason, k) AS reason
                    FROM ({fails}{dup}) GROUP BY _row""")
    # class_code has a default system (v3 ActCode): the one code that needs no code type
    no_system = " OR ".join(f"({_q(code)} IS NOT NULL AND {_q(t)} IS NULL)" for t, code in _code_pairs(table)
                            if code != "class_code") or "FALSE"
    no_patient = ("FALSE" if table.name == "patient"
                  else "patient_id NOT IN (SELECT patient_id FROM _flat_ok_patient)")
    no_patient_reason = "no patient: patient_id is not in the patient table"
    if table.name == "location":   # a location is the patients' whose accepted encounters name it
        has_encounters = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_flat_ok_encounter'"
                                     ).fetchone()[0]
        no_patient = ("location_id NOT IN (SELECT location_id FROM _flat_ok_encounter WHERE location_id IS NOT NULL)"
                      if has_encounters else "TRUE")
        no_patient_reason = "no encounter: no accepted encounter names this location_id"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _flat_outcome AS
        SELECT s._row, CASE WHEN f._row IS NOT NULL THEN 'rejected'
                            WHEN {no_patient} THEN 'out_of_scope'
                            WHEN {no_system} THEN 'out_of_scope' ELSE 'accepted' END AS outcome,
               CASE WHEN f._row IS NOT NULL THEN NULL
                    WHEN {no_patient} THEN {_lit(no_patient_reason)}
                    WHEN {no_system} THEN 'code without a system: a code with no code type cannot match a value set'
               END AS reason
        FROM {src} s LEFT JOIN _flat_fail f USING (_row)""")
    name = TABLE_PREFIX + table.name
    file = _lit(str(path))
    con.execute(f"INSERT INTO _rejects SELECT {file}, {_lit(name)}, _row, col, rule, reason FROM _flat_fail")
    con.execute(f"""INSERT INTO _out_of_scope SELECT {file}, {_lit(name)}, reason, count(*)
                    FROM _flat_outcome WHERE outcome = 'out_of_scope' GROUP BY reason""")
    con.execute(f"DELETE FROM _ingest_summary WHERE source_file = {file}")
    con.execute(f"""INSERT INTO _ingest_summary
                    SELECT {file}, {_lit(name)}, count(*), count(*) FILTER (WHERE outcome = 'accepted'),
                           count(*) FILTER (WHERE outcome = 'rejected'), count(*) FILTER (WHERE outcome = 'out_of_scope')
                    FROM _flat_outcome""")
    systems = ", ".join(f"{_system_sql(_q(t))} AS {_q(t)}" for t, _ in _code_pairs(table))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _flat_ok_{table.name} AS
                    SELECT * {'REPLACE (' + systems + ')' if systems else ''}, {_lit(str(path))} AS _file
                    FROM {src} JOIN _flat_outcome USING (_row) WHERE outcome = 'accepted'""")


# ------------------------------------------------------------------ resources (FHIR R4 JSON)

def _codings(type_col: str, code_col: str, where: str = "TRUE") -> str:
    """A CodeableConcept of the record's rows' codes (NULL when none)."""
    lst = (f"list(DISTINCT {{'system': {_q(type_col)}, 'code': {_q(code_col)}}}) "
           f"FILTER (WHERE {_q(code_col)} IS NOT NULL AND {_q(type_col)} IS NOT NULL AND ({where}))")
    return f"CASE WHEN len({lst}) > 0 THEN to_json({{'coding': {lst}}}) END"


def _first(col: str, where: str = "TRUE") -> str:
    return f"arg_min({_q(col)}, _row) FILTER (WHERE {_q(col)} IS NOT NULL AND ({where}))"


def _ref(kind: str, col: str) -> str:
    return f"CASE WHEN {_first(col)} IS NOT NULL THEN json_object('reference', '{kind}/' || {_first(col)}) END"


def _extensions(*parts: str) -> str:
    """A list of extension objects, NULL ones dropped (NULL when none)."""
    lst = "list_filter([" + ", ".join(parts) + "], lambda e: e IS NOT NULL)"
    return f"CASE WHEN len({lst}) > 0 THEN to_json({lst}) END"


def _ext_code(name: str, type_col: str, code_col: str) -> str:
    return (f"CASE WHEN {_codings(type_col, code_col)} IS NOT NULL THEN json_object('url', '{_QC}{name}', "
            f"'valueCodeableConcept', {_codings(type_col, code_col)}) END")


def _ext_recorded() -> str:
    return (f"CASE WHEN {_first('recorded_date')} IS NOT NULL THEN json_object('url', '{_QC}recorded', "
            f"'valueDateTime', {_first('recorded_date')}) END")


def _timing(prefix: str, start: str, end: str) -> str:
    """A point (<prefix>DateTime) or, with an end or open_period, a Period (<prefix>Period)."""
    period = f"({_first(end)} IS NOT NULL OR coalesce(try_cast({_first('open_period')} AS BOOLEAN), false))"
    return (f"'{prefix}DateTime', CASE WHEN NOT {period} THEN {_first(start)} END, "
            f"'{prefix}Period', CASE WHEN {period} THEN json_object('start', {_first(start)}, "
            f"'end', {_first(end)}) END")


def _one_coding(system: str, col: str) -> str:
    return (f"CASE WHEN {_first(col)} IS NOT NULL THEN json_object('coding', "
            f"json_array(json_object('system', {_lit(system)}, 'code', lower({_first(col)})))) END")


def _ccs(type_col: str, code_col: str) -> str:
    """A list of CodeableConcepts, one per code of the record's rows (reasonCode, category, bodySite ...)."""
    lst = (f"list(DISTINCT {{'coding': [{{'system': {_q(type_col)}, 'code': {_q(code_col)}}}]}}) "
           f"FILTER (WHERE {_q(code_col)} IS NOT NULL AND {_q(type_col)} IS NOT NULL)")
    return f"CASE WHEN len({lst}) > 0 THEN to_json({lst}) END"


def _refs(kind: str, col: str) -> str:
    """A list of references, one per id of the record's rows (basedOn, partOf, reasonReference)."""
    lst = f"list(DISTINCT {{'reference': '{kind}/' || {_q(col)}}}) FILTER (WHERE {_q(col)} IS NOT NULL)"
    return f"CASE WHEN len({lst}) > 0 THEN to_json({lst}) END"


def _objects(struct: str, where: str) -> str:
    """A JSON array of one object per row matching ``where`` (row order), NULL members dropped."""
    lst = f"list(json_merge_patch('{{}}', to_json({struct})) ORDER BY _row) FILTER (WHERE {where})"
    return f"CASE WHEN len({lst}) > 0 THEN to_json({lst}) END"


def _categories(fixed_system: str) -> str:
    """category: the `category` column's codes (fixed_system) and the category_code_type / category_code pairs."""
    lst = (f"list_distinct(coalesce(list({{'coding': [{{'system': '{fixed_system}', 'code': lower(category)}}]}}) "
           f"FILTER (WHERE category IS NOT NULL), []) || coalesce(list({{'coding': [{{'system': category_code_type, "
           f"'code': category_code}}]}}) FILTER (WHERE category_code IS NOT NULL AND category_code_type IS NOT NULL), []))")
    return f"CASE WHEN len({lst}) > 0 THEN to_json({lst}) END"


_DIAGNOSIS = ("{'condition': {'reference': 'Condition/' || diagnosis_condition_id}, "
              "'use': CASE WHEN diagnosis_use_code IS NOT NULL AND diagnosis_use_code_type IS NOT NULL THEN "
              "{'coding': [{'system': diagnosis_use_code_type, 'code': diagnosis_use_code}]} END, "
              "'rank': try_cast(diagnosis_rank AS INTEGER)}")
_LOCATION = "{'location': {'reference': 'Location/' || location_id}}"
_CLAIM_DIAGNOSIS = (
    "{'sequence': try_cast(diagnosis_sequence AS INTEGER), "
    "'diagnosisCodeableConcept': CASE WHEN diagnosis_code IS NOT NULL AND diagnosis_code_type IS NOT NULL THEN "
    "{'coding': [{'system': diagnosis_code_type, 'code': diagnosis_code}]} END, "
    "'diagnosisReference': CASE WHEN diagnosis_condition_id IS NOT NULL THEN "
    "{'reference': 'Condition/' || diagnosis_condition_id} END, "
    "'type': CASE WHEN diagnosis_type_code IS NOT NULL AND diagnosis_type_code_type IS NOT NULL THEN "
    "[{'coding': [{'system': diagnosis_type_code_type, 'code': diagnosis_type_code}]}] END, "
    "'onAdmission': CASE WHEN on_admission_code IS NOT NULL AND on_admission_code_type IS NOT NULL THEN "
    "{'coding': [{'system': on_admission_code_type, 'code': on_admission_code}]} END}")
_CLAIM_ITEM = (
    "{'sequence': try_cast(item_sequence AS INTEGER), "
    "'encounter': CASE WHEN item_encounter_ids IS NOT NULL THEN list_transform(list_filter(string_split("
    "item_encounter_ids, ';'), lambda x: trim(x) <> ''), lambda x: {'reference': 'Encounter/' || trim(x)}) END, "
    "'diagnosisSequence': CASE WHEN item_diagnosis_sequences IS NOT NULL THEN list_transform(list_filter(string_split("
    "item_diagnosis_sequences, ';'), lambda x: trim(x) <> ''), lambda x: try_cast(trim(x) AS INTEGER)) END, "
    "'procedureSequence': CASE WHEN item_procedure_sequences IS NOT NULL THEN list_transform(list_filter(string_split("
    "item_procedure_sequences, ';'), lambda x: trim(x) <> ''), lambda x: try_cast(trim(x) AS INTEGER)) END}")
_DOSAGE_COLUMNS = ("dose_quantity", "frequency", "frequency_max", "period", "period_unit", "times_of_day",
                   "timing_event_date", "bounds_start_date", "bounds_end_date", "bounds_duration")
_DOSAGE = (
    "{'timing': {'event': CASE WHEN timing_event_date IS NOT NULL THEN [timing_event_date] END, "
    "'repeat': {'frequency': try_cast(frequency AS INTEGER), 'frequencyMax': try_cast(frequency_max AS INTEGER), "
    "'period': try_cast(period AS DOUBLE), 'periodUnit': period_unit, "
    "'timeOfDay': CASE WHEN times_of_day IS NOT NULL THEN list_transform(string_split(times_of_day, ';'), "
    "lambda t: trim(t)) END, "
    "'boundsPeriod': CASE WHEN coalesce(bounds_start_date, bounds_end_date) IS NOT NULL "
    "THEN {'start': bounds_start_date, 'end': bounds_end_date} END, "
    "'boundsDuration': CASE WHEN bounds_duration IS NOT NULL THEN {'value': try_cast(bounds_duration AS DOUBLE), "
    "'unit': bounds_duration_unit, 'system': 'http://unitsofmeasure.org', 'code': bounds_duration_unit} END}}, "
    "'doseAndRate': CASE WHEN dose_quantity IS NOT NULL THEN [{'doseQuantity': {'value': try_cast(dose_quantity AS "
    "DOUBLE), 'unit': dose_unit, 'system': 'http://unitsofmeasure.org', 'code': dose_unit}}] END}")


def _quantity(value: str, unit: str) -> str:
    return (f"CASE WHEN {value} IS NOT NULL THEN json_object('value', CAST({value} AS DOUBLE), 'unit', {unit}, "
            f"'system', '{UCUM}', 'code', {unit}) END")


def _supply_quantity() -> str:
    value = _first("quantity")
    return (f"CASE WHEN {value} IS NOT NULL THEN json_object('value', CAST({value} AS DOUBLE), 'unit', "
            f"{_first('quantity_unit')}, 'system', '{UCUM}', 'code', coalesce({_first('quantity_code')}, "
            f"{_first('quantity_unit')})) END")


def _days_supply() -> str:
    value, unit = _first("days_supply"), f"coalesce({_first('days_supply_unit')}, 'd')"
    return (f"CASE WHEN {value} IS NOT NULL THEN json_object('value', CAST({value} AS DOUBLE), 'unit', {unit}, "
            f"'system', '{UCUM}', 'code', {unit}) END")


def _resource_json(table: ClinicalTable) -> str:
    """json_object(...) of one record (aggregates over its rows); NULL members are dropped afterwards."""
    subject = "'subject', json_object('reference', 'Patient/' || any_value(patient_id))"
    n = table.name
    if n == "patient":
        sex = (f"CASE WHEN {_first('sex_code')} IS NOT NULL THEN json_object('url', '{US_CORE}us-core-sex', "
               f"'valueCode', {_first('sex_code')}) END")
        race = (f"CASE WHEN {_first('race_code')} IS NOT NULL THEN json_object('url', '{US_CORE}us-core-race', "
                f"'extension', to_json(list_transform(list_filter(string_split({_first('race_code')}, ';'), "
                f"lambda c: trim(c) <> ''), lambda c: {{'url': 'ombCategory', 'valueCoding': "
                f"{{'system': '{RACE_SYSTEM}', 'code': trim(c)}}}}))) END")
        return ("json_object('resourceType', 'Patient', 'id', patient_id, 'extension', " + _extensions(sex, race) +
                ", 'gender', lower(" + _first("sex") + "), 'birthDate', " + _first("birth_date") +
                ", 'deceasedDateTime', " + _first("death_date") + ")")
    if n == "encounter":
        return (f"json_object('resourceType', 'Encounter', 'id', encounter_id, 'status', lower({_first('status')}), "
                f"'class', CASE WHEN {_first('class_code')} IS NOT NULL THEN json_object('system', "
                f"coalesce({_first('class_code_type')}, '{ACT_CODE}'), "
                f"'code', {_first('class_code')}) END, "
                f"'type', CASE WHEN {_codings('source_code_type', 'source_code')} IS NOT NULL "
                f"THEN json_array({_codings('source_code_type', 'source_code')}) END, {subject}, "
                f"'period', CASE WHEN coalesce({_first('encounter_start_date')}, {_first('encounter_end_date')}) IS NOT "
                f"NULL THEN json_object('start', {_first('encounter_start_date')}, 'end', {_first('encounter_end_date')}) "
                f"END, "
                f"'hospitalization', CASE WHEN {_codings('discharge_disposition_code_type', 'discharge_disposition_code')}"
                f" IS NOT NULL THEN json_object('dischargeDisposition', "
                f"{_codings('discharge_disposition_code_type', 'discharge_disposition_code')}) END, "
                f"'reasonCode', {_ccs('reason_code_type', 'reason_code')}, "
                f"'reasonReference', {_refs('Condition', 'reason_reference_id')}, "
                f"'diagnosis', {_objects(_DIAGNOSIS, 'diagnosis_condition_id IS NOT NULL')}, "
                f"'location', {_objects(_LOCATION, 'location_id IS NOT NULL')})")
    if n == "condition":
        return (f"json_object('resourceType', 'Condition', 'id', condition_id, "
                f"'clinicalStatus', {_one_coding(CLINICAL_STATUS, 'status')}, "
                f"'verificationStatus', {_one_coding(VERIFICATION_STATUS, 'verification_status')}, "
                f"'category', {_categories(CONDITION_CATEGORY)}, "
                f"'code', {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'bodySite', {_ccs('body_site_code_type', 'body_site_code')}, "
                f"'severity', {_codings('severity_code_type', 'severity_code')}, "
                f"'encounter', {_ref('Encounter', 'encounter_id')}, {_timing('onset', 'onset_date', 'onset_end_date')}, "
                f"'abatementDateTime', {_first('resolved_date')}, 'recordedDate', {_first('recorded_date')})")
    if n == "procedure":
        return (f"json_object('resourceType', 'Procedure', 'id', procedure_id, 'extension', {_extensions(_ext_recorded())}, "
                f"'status', lower({_first('status')}), 'statusReason', {_codings('status_reason_code_type', 'status_reason_code')}, "
                f"'category', {_codings('category_code_type', 'category_code')}, "
                f"'reasonCode', {_ccs('reason_code_type', 'reason_code')}, "
                f"'code', {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'encounter', {_ref('Encounter', 'encounter_id')}, "
                f"{_timing('performed', 'procedure_date', 'procedure_end_date')})")
    if n == "observation":
        main = "component_code IS NULL"
        comp = (f"list({{'code': {{'coding': [{{'system': component_code_type, 'code': component_code}}]}}, "
                f"'valueQuantity': {{'value': try_cast(result AS DOUBLE), 'unit': source_units, 'system': '{UCUM}', "
                f"'code': source_units}}}} ORDER BY _row) FILTER (WHERE component_code IS NOT NULL "
                f"AND component_code_type IS NOT NULL)")
        return (f"json_object('resourceType', 'Observation', 'id', observation_id, "
                f"'extension', {_extensions(_ext_code('notDoneReason', 'not_done_reason_code_type', 'not_done_reason_code'), _ext_recorded())}, "
                f"'status', lower({_first('status')}), "
                f"'category', {_categories(OBSERVATION_CATEGORY)}, "
                f"'basedOn', {_refs('ServiceRequest', 'based_on_id')}, 'partOf', {_refs('Procedure', 'part_of_id')}, "
                f"'code', {_codings('source_code_type', 'source_code', main)}, {subject}, "
                f"'encounter', {_ref('Encounter', 'encounter_id')}, "
                f"{_timing('effective', 'observation_date', 'observation_end_date')}, 'issued', {_first('issued_date')}, "
                f"'valueQuantity', {_quantity(_first('result', main), _first('source_units', main))}, "
                f"'valueCodeableConcept', {_codings('value_code_type', 'value_code', main)}, "
                f"'valueString', {_first('value_text', main)}, "
                f"'dataAbsentReason', {_codings('data_absent_reason_code_type', 'data_absent_reason_code', main)}, "
                f"'component', CASE WHEN len({comp}) > 0 THEN to_json({comp}) END)")
    if n == "lab_result":
        return (f"json_object('resourceType', 'Observation', 'id', lab_result_id, 'status', lower({_first('status')}), "
                f"'category', json_array(json_object('coding', json_array(json_object('system', '{OBSERVATION_CATEGORY}', "
                f"'code', 'laboratory')))), 'code', {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'encounter', {_ref('Encounter', 'encounter_id')}, "
                f"'effectiveDateTime', coalesce({_first('collection_date')}, {_first('result_date')}), "
                f"'issued', {_first('result_date')}, "
                f"'valueQuantity', {_quantity(_first('result'), _first('source_units'))})")
    if n == "medication":
        return (f"CASE WHEN {_first('dispensing_date')} IS NULL THEN json_object('resourceType', 'MedicationRequest', "
                f"'id', medication_id, 'status', lower({_first('status')}), "
                f"'statusReason', {_codings('status_reason_code_type', 'status_reason_code')}, "
                f"'intent', coalesce(lower({_first('intent')}), 'order'), "
                f"'doNotPerform', try_cast({_first('do_not_perform')} AS BOOLEAN), "
                f"'medicationCodeableConcept', {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'category', {_ccs('category_code_type', 'category_code')}, "
                f"'reasonCode', {_ccs('reason_code_type', 'reason_code')}, "
                f"'encounter', {_ref('Encounter', 'encounter_id')}, 'authoredOn', {_first('prescribing_date')}, "
                f"'dosageInstruction', {_objects(_DOSAGE, ' OR '.join(f'{c} IS NOT NULL' for c in _DOSAGE_COLUMNS))}, "
                f"'dispenseRequest', json_object('numberOfRepeatsAllowed', try_cast({_first('refills')} AS INTEGER), "
                f"'quantity', {_supply_quantity()}, "
                f"'validityPeriod', CASE WHEN {_first('validity_start_date')} IS NOT NULL THEN json_object('start', "
                f"{_first('validity_start_date')}) END, "
                f"'expectedSupplyDuration', {_days_supply()})) "
                f"ELSE json_object('resourceType', 'MedicationDispense', 'id', medication_id, "
                f"'status', lower({_first('status')}), "
                f"'statusReasonCodeableConcept', {_codings('status_reason_code_type', 'status_reason_code')}, "
                f"'medicationCodeableConcept', {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'context', {_ref('Encounter', 'encounter_id')}, 'whenHandedOver', {_first('dispensing_date')}, "
                f"'quantity', {_supply_quantity()}, 'daysSupply', {_days_supply()}) END")
    if n == "immunization":
        return (f"json_object('resourceType', 'Immunization', 'id', immunization_id, "
                f"'status', lower({_first('status')}), "
                f"'statusReason', {_codings('status_reason_code_type', 'status_reason_code')}, "
                f"'vaccineCode', {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'encounter', {_ref('Encounter', 'encounter_id')}, 'occurrenceDateTime', {_first('occurrence_date')}, "
                f"'recorded', {_first('recorded_date')})")
    if n in ("service_request", "device_request"):
        rtype = "ServiceRequest" if n == "service_request" else "DeviceRequest"
        # R4 DeviceRequest has no doNotPerform element: the R5 cross-version modifierExtension, as the eCQM decks
        dnp = (f"'doNotPerform', try_cast({_first('do_not_perform')} AS BOOLEAN)" if n == "service_request" else
               f"'modifierExtension', CASE WHEN {_first('do_not_perform')} IS NOT NULL THEN json_array(json_object("
               f"'url', 'http://hl7.org/fhir/5.0/StructureDefinition/extension-DeviceRequest.doNotPerform', "
               f"'valueBoolean', try_cast({_first('do_not_perform')} AS BOOLEAN))) END")
        code = "'code'" if n == "service_request" else "'codeCodeableConcept'"
        cat = (f"'category', CASE WHEN {_codings('category_code_type', 'category_code')} IS NOT NULL THEN "
               f"json_array({_codings('category_code_type', 'category_code')}) END, " if n == "service_request" else "")
        more = (f"'encounter', {_ref('Encounter', 'encounter_id')}, 'reasonCode', "
                f"{_ccs('reason_code_type', 'reason_code')}, " if n == "service_request" else "")
        return (f"json_object('resourceType', '{rtype}', 'id', {table.id_column}, {more}"
                f"'extension', {_extensions(_ext_code('doNotPerformReason', 'do_not_perform_reason_code_type', 'do_not_perform_reason_code'))}, "
                f"{dnp}, 'status', lower({_first('status')}), 'intent', lower({_first('intent')}), {cat}"
                f"{code}, {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'authoredOn', {_first('authored_on')})")
    if n == "medication_administration":
        return (f"json_object('resourceType', 'MedicationAdministration', 'id', medication_administration_id, "
                f"'extension', {_extensions(_ext_recorded())}, 'status', lower({_first('status')}), "
                f"'statusReason', {_ccs('status_reason_code_type', 'status_reason_code')}, "
                f"'medicationCodeableConcept', {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'context', {_ref('Encounter', 'encounter_id')}, "
                f"{_timing('effective', 'administration_date', 'administration_end_date')})")
    if n == "allergy_intolerance":
        return (f"json_object('resourceType', 'AllergyIntolerance', 'id', allergy_intolerance_id, "
                f"'clinicalStatus', {_one_coding(ALLERGY_CLINICAL, 'clinical_status')}, "
                f"'verificationStatus', {_one_coding(ALLERGY_VERIFICATION, 'verification_status')}, "
                f"'code', {_codings('source_code_type', 'source_code')}, "
                f"'patient', json_object('reference', 'Patient/' || any_value(patient_id)), "
                f"{_timing('onset', 'onset_date', 'onset_end_date')}, 'recordedDate', {_first('recorded_date')}, "
                f"'lastOccurrence', {_first('last_occurrence_date')})")
    if n == "communication":
        return (f"json_object('resourceType', 'Communication', 'id', communication_id, "
                f"'extension', {_extensions(_ext_recorded())}, 'status', lower({_first('status')}), "
                f"'statusReason', {_codings('status_reason_code_type', 'status_reason_code')}, "
                f"'category', {_ccs('category_code_type', 'category_code')}, "
                f"'topic', {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'encounter', {_ref('Encounter', 'encounter_id')}, 'sent', {_first('sent_date')}, "
                f"'received', {_first('received_date')}, 'reasonCode', {_ccs('reason_code_type', 'reason_code')})")
    if n == "task":
        return (f"json_object('resourceType', 'Task', 'id', task_id, 'status', lower({_first('status')}), "
                f"'intent', coalesce(lower({_first('intent')}), 'order'), "
                f"'statusReason', {_codings('status_reason_code_type', 'status_reason_code')}, "
                f"'code', {_codings('source_code_type', 'source_code')}, "
                f"'for', json_object('reference', 'Patient/' || any_value(patient_id)), "
                f"'basedOn', {_refs('ServiceRequest', 'based_on_id')}, 'focus', {_ref('ServiceRequest', 'focus_id')}, "
                f"'authoredOn', {_first('authored_on')}, "
                f"'executionPeriod', CASE WHEN coalesce({_first('execution_start_date')}, {_first('execution_end_date')}) "
                f"IS NOT NULL THEN json_object('start', {_first('execution_start_date')}, 'end', "
                f"{_first('execution_end_date')}) END, "
                # R4 Task.reasonCode is one CodeableConcept
                f"'reasonCode', {_codings('reason_code_type', 'reason_code')})")
    if n == "diagnostic_report":
        return (f"json_object('resourceType', 'DiagnosticReport', 'id', diagnostic_report_id, "
                f"'status', lower({_first('status')}), 'category', {_ccs('category_code_type', 'category_code')}, "
                f"'code', {_codings('source_code_type', 'source_code')}, {subject}, "
                f"'encounter', {_ref('Encounter', 'encounter_id')}, "
                f"{_timing('effective', 'report_date', 'report_end_date')}, 'issued', {_first('issued_date')})")
    if n == "adverse_event":
        return (f"json_object('resourceType', 'AdverseEvent', 'id', adverse_event_id, 'actuality', 'actual', "
                f"'event', {_codings('source_code_type', 'source_code')}, {subject}, 'date', {_first('event_date')}, "
                f"'recordedDate', {_first('recorded_date')})")
    if n == "location":
        return (f"json_object('resourceType', 'Location', 'id', location_id, 'name', {_first('name')}, "
                f"'type', {_ccs('type_code_type', 'type_code')})")
    if n == "claim":
        diagnosis = ("diagnosis_sequence IS NOT NULL OR diagnosis_code IS NOT NULL OR diagnosis_condition_id IS NOT NULL "
                     "OR diagnosis_type_code IS NOT NULL OR on_admission_code IS NOT NULL")
        item = ("item_sequence IS NOT NULL OR item_encounter_ids IS NOT NULL OR item_diagnosis_sequences IS NOT NULL "
                "OR item_procedure_sequences IS NOT NULL")
        return (f"json_object('resourceType', 'Claim', 'id', claim_id, 'status', lower({_first('status')}), "
                f"'use', lower({_first('use')}), "
                f"'patient', json_object('reference', 'Patient/' || any_value(patient_id)), "
                f"'diagnosis', {_objects(_CLAIM_DIAGNOSIS, diagnosis)}, 'item', {_objects(_CLAIM_ITEM, item)})")
    if n == "coverage":
        return (f"json_object('resourceType', 'Coverage', 'id', coverage_id, 'status', lower({_first('status')}), "
                f"'type', {_codings('source_code_type', 'source_code')}, "
                f"'beneficiary', json_object('reference', 'Patient/' || any_value(patient_id)), "
                f"'period', CASE WHEN coalesce({_first('coverage_start_date')}, {_first('coverage_end_date')}) IS NOT NULL "
                f"THEN json_object('start', {_first('coverage_start_date')}, 'end', {_first('coverage_end_date')}) END)")
    raise ValueError(n)


def load_clinical_dir(con: duckdb.DuckDBPyConnection, folder: str | Path, *, default_tin: str | None = None,
                      default_npi: str | None = None) -> ClinicalLoad:
    """Read, validate and attribute a folder of flat clinical tables; add their resources to ``fhir_resource`` and
    their encounters to ``ehr_attribution`` (both created when a FHIR folder did not create them)."""
    from transforms.fhir_files import _check_default
    from transforms.ingest import _ensure_ingest_tables

    folder = Path(folder)
    default_tin = _check_default(con, default_tin, checks.tin(), "TIN")
    default_npi = _check_default(con, default_npi, checks.npi(), "NPI")
    files = find_clinical_files(folder)
    _ensure_ingest_tables(con)
    con.execute(f"CREATE TABLE IF NOT EXISTS fhir_resource AS {FHIR_RESOURCE.select_sql('(SELECT NULL::VARCHAR AS source_file, NULL::BIGINT AS source_row, NULL::VARCHAR AS person_id, NULL::VARCHAR AS resource_type, NULL::VARCHAR AS resource_id, NULL::JSON AS resource LIMIT 0)')}")
    tables = {t.name: t for t in CLINICAL_TABLES}
    for name in ["patient"] + [n for n in files if n != "patient"]:   # patients first: the others are checked against them
        _read(con, tables[name], files[name])
        _validate(con, tables[name], files[name])
    before = con.execute("SELECT count(*) FROM fhir_resource").fetchone()[0]
    for name in files:
        table = tables[name]
        rows = (f"SELECT any_value(_file) AS source_file, min(_row) AS source_row, any_value(patient_id) AS person_id, "
                f"json_merge_patch('{{}}', {_resource_json(table)}) AS resource "
                f"FROM _flat_ok_{name} GROUP BY {table.id_column}")
        if name == "location" and "encounter" not in files:   # every location row is out of scope
            continue
        if name == "location":   # one Location per patient whose accepted encounter names it
            rows = (f"SELECT any_value(_file) AS source_file, min(_row) AS source_row, patient_id AS person_id, "
                    f"json_merge_patch('{{}}', {_resource_json(table)}) AS resource "
                    f"FROM _flat_ok_location JOIN (SELECT DISTINCT patient_id, location_id FROM _flat_ok_encounter "
                    f"WHERE location_id IS NOT NULL) USING (location_id) GROUP BY patient_id, location_id")
        con.execute(f"""INSERT INTO fhir_resource
                        SELECT source_file, source_row, person_id, resource ->> '$.resourceType', resource ->> '$.id',
                               resource FROM ({rows})""")
    resources = con.execute("SELECT count(*) FROM fhir_resource").fetchone()[0] - before
    enc = _attribute(con, "encounter" in files, default_tin, default_npi)
    by_table = con.execute("""SELECT source_file, table_name, input_rows, accepted_rows, out_of_scope_rows, rejected_rows
                              FROM _ingest_summary WHERE table_name LIKE 'clinical.%' ORDER BY 1""").fetchall()
    for name in files:
        con.execute(f"DROP TABLE IF EXISTS _flat_{name}")
        con.execute(f"DROP TABLE IF EXISTS _flat_ok_{name}")
    con.execute("DROP TABLE IF EXISTS _flat_fail; DROP TABLE IF EXISTS _flat_outcome")
    return ClinicalLoad(str(folder), [tuple(r) for r in by_table], int(resources), *enc)


def _attribute(con, has_encounters: bool, default_tin: str | None, default_npi: str | None) -> tuple[int, int, int]:
    """Each accepted encounter's TIN (billing_tin) and NPI (rendering_npi), else the defaults; a patient with no
    encounter gets a default row (as a FHIR patient does). Appended to ``ehr_attribution``."""
    npi_ok = checks.render_sql(checks.npi(), "rendering_npi")
    enc = (f"""SELECT patient_id AS person_id, encounter_id,
                      CASE WHEN regexp_full_match(regexp_replace(billing_tin, '[^0-9]', '', 'g'), '[0-9]{{9}}')
                           THEN regexp_replace(billing_tin, '[^0-9]', '', 'g') END AS named_tin,
                      CASE WHEN coalesce({npi_ok}, false) THEN rendering_npi END AS named_npi
               FROM (SELECT patient_id, encounter_id, {_first('billing_tin')} AS billing_tin,
                            coalesce({_first('rendering_npi')}, {_first('attending_provider_id')}) AS rendering_npi
                     FROM _flat_ok_encounter GROUP BY patient_id, encounter_id)""" if has_encounters else
           "SELECT NULL::VARCHAR AS person_id, NULL::VARCHAR AS encounter_id, NULL::VARCHAR AS named_tin, "
           "NULL::VARCHAR AS named_npi LIMIT 0")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _flat_attr AS {enc}")
    encounters, no_tin, no_npi = con.execute("""SELECT count(*), count(*) FILTER (WHERE named_tin IS NULL),
                                                count(*) FILTER (WHERE named_npi IS NULL) FROM _flat_attr""").fetchone()
    missing = [what for what, count, default in (("TIN", no_tin, default_tin), ("NPI", no_npi, default_npi))
               if count and default is None]
    if missing:
        raise PipelineError(
            f"{max(no_tin if 'TIN' in missing else 0, no_npi if 'NPI' in missing else 0):,} of {encounters:,} clinical-"
            f"table encounters name no valid {' and no '.join(m.lower().replace('tin', 'billing_tin').replace('npi', 'rendering_npi') for m in missing)}; give "
            + " and ".join(f"--default-{m.lower()} {m}" for m in missing) + " to attribute them")
    tin, npi = (_lit(default_tin) if default_tin else "NULL"), (_lit(default_npi) if default_npi else "NULL")
    rows = f"""(SELECT person_id, encounter_id, coalesce(named_tin, {tin}) AS tin, coalesce(named_npi, {npi}) AS npi
                FROM _flat_attr
                UNION ALL
                SELECT patient_id, NULL, {tin}, {npi} FROM _flat_ok_patient p
                WHERE {'TRUE' if default_tin and default_npi else 'FALSE'}
                  AND NOT EXISTS (SELECT 1 FROM _flat_attr a WHERE a.person_id = p.patient_id))"""
    con.execute(f"CREATE TABLE IF NOT EXISTS ehr_attribution AS {EHR_ATTRIBUTION.select_sql(rows)} LIMIT 0")
    con.execute(f"INSERT INTO ehr_attribution {EHR_ATTRIBUTION.select_sql(rows)}")
    con.execute("DROP TABLE _flat_attr")
    return int(encounters), int(no_tin), int(no_npi)
