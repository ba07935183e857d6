"""Flat clinical tables (schemas/clinical.py, transforms/clinical_tables.py).

The proof: CMS's FHIR test cases of two deck measures, converted into the flat tables by a small set-based DuckDB
converter written here, give through `mips run --clinical-dir` exactly the measure_populations of `mips run --fhir`
on the same folder. Then bad input: a missing required column, a bad date, a code without a system, an unknown
status, a patient not in patient; input = accepted + out of scope + rejected per file.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mips.cli import main
from mips.errors import PipelineError
from mips.paths import SHARED_ECQM
from transforms.clinical_tables import load_clinical_dir

TIN, NPI = "000000001", "1234567893"
needs_deck = pytest.mark.skipif(not (SHARED_ECQM / "tests").is_dir(), reason="../shared/ecqm absent")

# One deck folder's resources, the owning Patient of each subfolder as person_id (the deck's layout: one patient per
# folder owns every resource in it), then one SELECT per flat table. Codings are unnested: one row per code.
_CONVERT = r"""
CREATE OR REPLACE TABLE r AS
SELECT regexp_extract(filename, '^(.*)/[^/]*$', 1) AS folder, CAST(content AS JSON) AS j
FROM read_text('{glob}');
CREATE OR REPLACE TABLE owner AS SELECT folder, j ->> '$.id' AS pid FROM r WHERE j ->> '$.resourceType' = 'Patient';
CREATE OR REPLACE TABLE res AS SELECT o.pid, r.j, r.j ->> '$.resourceType' AS t FROM r JOIN owner o USING (folder);
CREATE OR REPLACE MACRO ref_id(s) AS regexp_extract(s, '([^/:]+)$', 1);
CREATE OR REPLACE MACRO codings(j, path) AS CAST(json_extract(j, path) AS JSON[]);
CREATE OR REPLACE MACRO ext(j, name) AS list_filter(CAST(json_extract(j, '$.extension[*]') AS JSON[]),
    lambda e: e ->> '$.url' LIKE '%us-quality-core-' || name)[1];
"""

_TABLES = {
    "patient": """SELECT pid AS patient_id, j ->> '$.gender' AS sex, j ->> '$.birthDate' AS birth_date,
                         j ->> '$.deceasedDateTime' AS death_date FROM res WHERE t = 'Patient'""",
    "encounter": """SELECT j ->> '$.id' AS encounter_id, pid AS patient_id, j ->> '$.period.start' AS encounter_start_date,
                           j ->> '$.period.end' AS encounter_end_date, j ->> '$.status' AS status,
                           j ->> '$.class.code' AS class_code, c ->> '$.system' AS source_code_type, c ->> '$.code' AS source_code,
                           j ->> '$.hospitalization.dischargeDisposition.coding[0].system' AS discharge_disposition_code_type,
                           j ->> '$.hospitalization.dischargeDisposition.coding[0].code' AS discharge_disposition_code
                    FROM res, unnest(codings(j, '$.type[*].coding[*]')) u(c) WHERE t = 'Encounter'""",
    "condition": """SELECT j ->> '$.id' AS condition_id, pid AS patient_id, ref_id(j ->> '$.encounter.reference') AS encounter_id,
                           j ->> '$.recordedDate' AS recorded_date,
                           coalesce(j ->> '$.onsetDateTime', j ->> '$.onsetPeriod.start') AS onset_date,
                           coalesce(j ->> '$.abatementDateTime', j ->> '$.abatementPeriod.end') AS resolved_date,
                           j ->> '$.clinicalStatus.coding[0].code' AS status,
                           j ->> '$.verificationStatus.coding[0].code' AS verification_status,
                           j ->> '$.category[0].coding[0].code' AS category,
                           c ->> '$.system' AS source_code_type, c ->> '$.code' AS source_code
                    FROM res, unnest(codings(j, '$.code.coding[*]')) u(c) WHERE t = 'Condition'""",
    "procedure": """SELECT j ->> '$.id' AS procedure_id, pid AS patient_id, ref_id(j ->> '$.encounter.reference') AS encounter_id,
                           coalesce(j ->> '$.performedDateTime', j ->> '$.performedPeriod.start') AS procedure_date,
                           j ->> '$.performedPeriod.end' AS procedure_end_date, j ->> '$.status' AS status,
                           ext(j, 'recorded') ->> '$.valueDateTime' AS recorded_date,
                           c ->> '$.system' AS source_code_type, c ->> '$.code' AS source_code,
                           j ->> '$.statusReason.coding[0].system' AS status_reason_code_type,
                           j ->> '$.statusReason.coding[0].code' AS status_reason_code
                    FROM res, unnest(codings(j, '$.code.coding[*]')) u(c) WHERE t = 'Procedure'""",
    "observation": """WITH o AS (
                        SELECT j, pid, j ->> '$.id' AS observation_id, ref_id(j ->> '$.encounter.reference') AS encounter_id,
                               coalesce(j ->> '$.effectiveDateTime', j ->> '$.effectiveInstant', j ->> '$.effectivePeriod.start') AS observation_date,
                               j ->> '$.effectivePeriod.end' AS observation_end_date, j ->> '$.status' AS status,
                               j ->> '$.issued' AS issued_date, ext(j, 'recorded') ->> '$.valueDateTime' AS recorded_date,
                               ext(j, 'notDoneReason') ->> '$.valueCodeableConcept.coding[0].system' AS not_done_reason_code_type,
                               ext(j, 'notDoneReason') ->> '$.valueCodeableConcept.coding[0].code' AS not_done_reason_code
                        FROM res WHERE t = 'Observation')
                      SELECT observation_id, pid AS patient_id, encounter_id, observation_date, observation_end_date, status,
                             cat ->> '$.code' AS category, issued_date,
                             c ->> '$.system' AS source_code_type, c ->> '$.code' AS source_code,
                             j ->> '$.valueQuantity.value' AS result,
                             coalesce(j ->> '$.valueQuantity.code', j ->> '$.valueQuantity.unit') AS source_units,
                             j ->> '$.valueCodeableConcept.coding[0].system' AS value_code_type,
                             j ->> '$.valueCodeableConcept.coding[0].code' AS value_code,
                             NULL AS component_code_type, NULL AS component_code,
                             j ->> '$.dataAbsentReason.coding[0].system' AS data_absent_reason_code_type,
                             j ->> '$.dataAbsentReason.coding[0].code' AS data_absent_reason_code,
                             not_done_reason_code_type, not_done_reason_code, recorded_date
                      FROM o, unnest(codings(j, '$.code.coding[*]')) u(c)
                      LEFT JOIN unnest(codings(j, '$.category[*].coding[*]')) v(cat) ON TRUE
                      UNION ALL
                      SELECT observation_id, pid, encounter_id, observation_date, observation_end_date, status, NULL, issued_date,
                             NULL, NULL, comp ->> '$.valueQuantity.value',
                             coalesce(comp ->> '$.valueQuantity.code', comp ->> '$.valueQuantity.unit'), NULL, NULL,
                             comp ->> '$.code.coding[0].system', comp ->> '$.code.coding[0].code', NULL, NULL, NULL, NULL, NULL
                      FROM o, unnest(CAST(json_extract(j, '$.component[*]') AS JSON[])) u(comp)""",
    "medication": """SELECT m.j ->> '$.id' AS medication_id, m.pid AS patient_id, m.j ->> '$.authoredOn' AS prescribing_date,
                            m.j ->> '$.status' AS status, m.j ->> '$.intent' AS intent,
                            m.j ->> '$.doNotPerform' AS do_not_perform,
                            c ->> '$.system' AS source_code_type, c ->> '$.code' AS source_code,
                            m.j ->> '$.statusReason.coding[0].system' AS status_reason_code_type,
                            m.j ->> '$.statusReason.coding[0].code' AS status_reason_code,
                            m.j ->> '$.dispenseRequest.expectedSupplyDuration.value' AS days_supply,
                            m.j ->> '$.dispenseRequest.numberOfRepeatsAllowed' AS refills
                     FROM res m LEFT JOIN res med ON med.t = 'Medication' AND med.pid = m.pid
                                                 AND med.j ->> '$.id' = ref_id(m.j ->> '$.medicationReference.reference'),
                          unnest(CASE WHEN json_exists(m.j, '$.medicationCodeableConcept')
                                      THEN codings(m.j, '$.medicationCodeableConcept.coding[*]')
                                      ELSE codings(med.j, '$.code.coding[*]') END) u(c)
                     WHERE m.t = 'MedicationRequest'""",
    "service_request": """SELECT j ->> '$.id' AS service_request_id, pid AS patient_id, j ->> '$.authoredOn' AS authored_on,
                                 j ->> '$.status' AS status, j ->> '$.intent' AS intent, j ->> '$.doNotPerform' AS do_not_perform,
                                 j ->> '$.category[0].coding[0].system' AS category_code_type,
                                 j ->> '$.category[0].coding[0].code' AS category_code,
                                 c ->> '$.system' AS source_code_type, c ->> '$.code' AS source_code,
                                 ext(j, 'doNotPerformReason') ->> '$.valueCodeableConcept.coding[0].system' AS do_not_perform_reason_code_type,
                                 ext(j, 'doNotPerformReason') ->> '$.valueCodeableConcept.coding[0].code' AS do_not_perform_reason_code
                          FROM res, unnest(codings(j, '$.code.coding[*]')) u(c) WHERE t = 'ServiceRequest'""",
    "device_request": """SELECT j ->> '$.id' AS device_request_id, pid AS patient_id, j ->> '$.authoredOn' AS authored_on,
                                j ->> '$.status' AS status, j ->> '$.intent' AS intent,
                                j ->> '$.modifierExtension[0].valueBoolean' AS do_not_perform,
                                c ->> '$.system' AS source_code_type, c ->> '$.code' AS source_code,
                                ext(j, 'doNotPerformReason') ->> '$.valueCodeableConcept.coding[0].system' AS do_not_perform_reason_code_type,
                                ext(j, 'doNotPerformReason') ->> '$.valueCodeableConcept.coding[0].code' AS do_not_perform_reason_code
                         FROM res, unnest(codings(j, '$.codeCodeableConcept.coding[*]')) u(c) WHERE t = 'DeviceRequest'""",
}
# Deck resource types the converter does not carry: Coverage (payer, a supplemental data element only) and
# MeasureReport (the expected answer). A measure reading either would show here as a mismatch.
_NOT_CONVERTED = {"Coverage", "MeasureReport", "Medication"}


def deck_to_flat(deck: Path, out: Path, fmt: str = "csv") -> dict[str, int]:
    """Write one deck folder as flat clinical tables; rows per table."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(_CONVERT.format(glob=(deck / "*" / "*.json").as_posix()))
    unknown = {t for (t,) in con.execute("SELECT DISTINCT t FROM res").fetchall()} - {
        "Patient", "Encounter", "Condition", "Procedure", "Observation", "MedicationRequest", "ServiceRequest",
        "DeviceRequest"} - _NOT_CONVERTED
    assert not unknown, f"deck types the converter does not carry: {unknown}"
    rows = {}
    for name, sql in _TABLES.items():
        target = (out / f"{name}.{fmt}").as_posix()
        con.execute(f"COPY ({sql}) TO '{target}' ({'HEADER' if fmt == 'csv' else 'FORMAT parquet'})")
        rows[name] = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
    return rows


def _populations(out: Path) -> list[tuple]:
    return duckdb.connect().execute(f"""
        SELECT level, tin, npi, measure_id, population_group, person_id, episode, * EXCLUDE (level, tin, npi, measure_id,
               population_group, person_id, episode, source, performance_year)
        FROM read_parquet('{out}/measure_populations/**/*.parquet', hive_partitioning = true)
        ORDER BY ALL""").fetchall()


@pytest.mark.shared
@needs_deck
@pytest.mark.parametrize("measure_name, fmt", [("CMS122FHIRDiabetesAssessGT9Pct", "csv"),
                                               ("CMS165FHIRControllingHighBP", "parquet")])
def test_deck_as_flat_tables_gives_the_fhir_populations(tmp_path, measure_name, fmt):
    deck = SHARED_ECQM / "tests" / measure_name
    rows = deck_to_flat(deck, tmp_path / "flat", fmt)
    assert rows["patient"] > 30 and rows["encounter"] > 30      # the deck's 39 / 48 patients, one folder each
    common = ["run", "--performance-year", "2026", "--default-tin", TIN, "--default-npi", NPI, "--without-prefect"]
    assert main(common + ["--fhir", str(deck), "--output", str(tmp_path / "fhir")]) == 0
    assert main(common + ["--clinical-dir", str(tmp_path / "flat"), "--output", str(tmp_path / "flat_out")]) == 0
    fhir, flat = _populations(tmp_path / "fhir"), _populations(tmp_path / "flat_out")
    assert len(fhir) > 50       # both levels, every patient in a population of the measure's groups
    assert flat == fhir


# ------------------------------------------------------------------ bad input

def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")


_PATIENTS = "patient_id,sex,birth_date\np1,female,1960-05-01\np2,male,1955-01-31\n"


def _summary(con) -> dict[str, tuple]:
    return {t: (n, ok, out, rej) for t, n, ok, rej, out in con.execute(
        "SELECT table_name, input_rows, accepted_rows, rejected_rows, out_of_scope_rows FROM _ingest_summary").fetchall()}


def test_bad_rows_are_rejected_or_out_of_scope_and_nothing_is_lost(tmp_path):
    folder = tmp_path / "c"
    _write(folder, "patient", _PATIENTS + "p1,female,1960-05-01\np3,female,1970-02-30\n")
    # 6 rows: e1 good (two type codes, one encounter), e2 bad date, e3 unknown status, e4 code without a system,
    # e5 a patient not in patient
    _write(folder, "encounter", """
encounter_id,patient_id,encounter_start_date,encounter_end_date,status,source_code_type,source_code,billing_tin,rendering_npi
e1,p1,2026-03-01T09:00:00+00:00,2026-03-01T09:30:00+00:00,finished,cpt,99213,,
e1,p1,2026-03-01T09:00:00+00:00,2026-03-01T09:30:00+00:00,finished,snomed-ct,185463005,,
e2,p1,2026-13-01,,finished,cpt,99213,,
e3,p2,2026-04-01,,done,cpt,99213,,
e4,p2,2026-04-02,,finished,,99213,,
e5,p9,2026-04-03,,finished,cpt,99213,,
""")
    con = duckdb.connect()
    load = load_clinical_dir(con, folder, default_tin=TIN, default_npi=NPI)
    summary = _summary(con)
    # patient: 4 rows = 2 accepted + 2 rejected (p1 again; p3 born on February 30)
    assert summary["clinical.patient"] == (4, 2, 0, 2)
    # encounter: 6 rows = 2 accepted (e1's two codes) + 2 out of scope (e4 no system, e5 no patient) + 2 rejected
    assert summary["clinical.encounter"] == (6, 2, 2, 2)
    rejects = con.execute("""SELECT table_name, row_number, "column", rule FROM _rejects ORDER BY 1, 2""").fetchall()
    assert rejects == [("clinical.encounter", 3, "encounter_start_date", "invalid_date"),
                       ("clinical.encounter", 4, "status", "unknown_value"),
                       ("clinical.patient", 3, "patient_id", "duplicate_patient"),
                       ("clinical.patient", 4, "birth_date", "invalid_date")]
    reasons = dict(con.execute("SELECT reason, \"rows\" FROM _out_of_scope").fetchall())
    assert sorted(reasons.values()) == [1, 1] and any(r.startswith("code without a system") for r in reasons)
    # one Encounter resource with both codings; two Patients
    assert con.execute("SELECT resource_type, count(*) FROM fhir_resource GROUP BY 1 ORDER BY 1").fetchall() == [
        ("Encounter", 1), ("Patient", 2)]
    assert con.execute("SELECT json_array_length(resource, '$.type[0].coding') FROM fhir_resource "
                       "WHERE resource_type = 'Encounter'").fetchone()[0] == 2
    # e1 took the defaults; p2 (no accepted encounter) gets the patient's default row
    assert con.execute("SELECT person_id, encounter_id, tin, npi FROM ehr_attribution ORDER BY 1").fetchall() == [
        ("p1", "e1", TIN, NPI), ("p2", None, TIN, NPI)]
    assert (load.encounters, load.encounters_defaulted_tin, load.encounters_defaulted_npi) == (1, 1, 1)
    # no patient identifier in any reason
    assert not any("p1" in (r or "") or "p2" in (r or "") for (r,) in con.execute("SELECT reason FROM _rejects").fetchall())


def test_missing_required_column_is_one_line_naming_file_and_column(tmp_path):
    folder = tmp_path / "c"
    _write(folder, "patient", "patient_id,sex\np1,female\n")
    with pytest.raises(PipelineError) as error:
        load_clinical_dir(duckdb.connect(), folder, default_tin=TIN, default_npi=NPI)
    message = str(error.value)
    assert "\n" not in message and "patient.csv" in message and "birth_date" in message


def test_encounter_attribution_from_rendering_npi_and_billing_tin_else_one_line_error(tmp_path):
    folder = tmp_path / "c"
    _write(folder, "patient", _PATIENTS)
    _write(folder, "encounter", """
encounter_id,patient_id,encounter_start_date,status,source_code_type,source_code,billing_tin,rendering_npi
e1,p1,2026-03-01,finished,cpt,99213,12-3456789,1234567893
e2,p2,2026-03-02,finished,cpt,99213,,
""")
    con = duckdb.connect()
    with pytest.raises(PipelineError) as error:     # e2 names neither and there are no defaults
        load_clinical_dir(con, folder)
    assert "1 of 2" in str(error.value) and "--default-tin" in str(error.value)
    con = duckdb.connect()
    load_clinical_dir(con, folder, default_tin="999999999", default_npi=NPI)
    assert con.execute("SELECT encounter_id, tin, npi FROM ehr_attribution ORDER BY 1").fetchall() == [
        ("e1", "123456789", "1234567893"), ("e2", "999999999", NPI)]


def test_unknown_code_type_is_rejected_and_tuva_types_become_urls(tmp_path):
    folder = tmp_path / "c"
    _write(folder, "patient", _PATIENTS)
    _write(folder, "lab_result", """
lab_result_id,patient_id,status,collection_date,source_code_type,source_code,result,source_units
l1,p1,final,2026-05-01,loinc,4548-4,9.4,%
l2,p1,final,2026-05-01,my-local-labs,HBA,9.4,%
l3,p1,final,2026-05-01,loinc,4548-4,high,%
l1,p2,final,2026-05-01,loinc,17856-6,9.4,%
""")
    con = duckdb.connect()
    load_clinical_dir(con, folder, default_tin=TIN, default_npi=NPI)
    # 4 rows = 1 accepted + 3 rejected (a local code type, a text result, l1's second row naming another patient)
    assert _summary(con)["clinical.lab_result"] == (4, 1, 0, 3)
    assert [r for (r,) in con.execute("SELECT rule FROM _rejects ORDER BY row_number").fetchall()] == [
        "unknown_code_type", "invalid_number", "conflicting_patient"]
    resource = con.execute("SELECT resource FROM fhir_resource WHERE resource_type = 'Observation'").fetchone()[0]
    import json
    r = json.loads(resource)
    assert r["code"]["coding"] == [{"system": "http://loinc.org", "code": "4548-4"}]
    assert r["valueQuantity"]["value"] == 9.4 and r["category"][0]["coding"][0]["code"] == "laboratory"
    assert "encounter" not in r      # empty optional fields are absent, not null


# ------------------------------------------------------------------ EHR folders in an input folder (STANDARD_INPUTS)

_DECK_122, _DECK_165 = "CMS122FHIRDiabetesAssessGT9Pct", "CMS165FHIRControllingHighBP"


@pytest.mark.shared
@needs_deck
def test_input_dir_fhir_and_clinical_folders_are_ehr_input(tmp_path):
    """An input folder's fhir/ (CMS122's deck) and clinical/ (CMS165's deck as flat tables) are read together by
    `mips run --input-dir`: the populations are those of the two inputs run apart (their patients differ)."""
    import shutil

    folder = tmp_path / "in"
    shutil.copytree(SHARED_ECQM / "tests" / _DECK_122, folder / "fhir")
    deck_to_flat(SHARED_ECQM / "tests" / _DECK_165, folder / "clinical")
    common = ["run", "--performance-year", "2026", "--default-tin", TIN, "--default-npi", NPI, "--without-prefect"]
    assert main(common + ["--input-dir", str(folder), "--output", str(tmp_path / "both")]) == 0
    assert main(common + ["--fhir", str(folder / "fhir"), "--output", str(tmp_path / "a")]) == 0
    assert main(common + ["--clinical-dir", str(folder / "clinical"), "--output", str(tmp_path / "b")]) == 0
    both, a, b = (_populations(tmp_path / x) for x in ("both", "a", "b"))
    assert a and b and both == sorted(a + b)
    # both folders are in the run's provenance
    manifest = duckdb.connect().execute(
        f"SELECT inputs FROM read_json_auto('{tmp_path}/both/run_manifest/**/*.json')").fetchone()[0]
    assert {i["table"] for i in manifest} >= {"fhir", "clinical"}


def test_default_tin_without_ehr_input_is_one_line(tmp_path):
    _write(tmp_path, "patient", _PATIENTS)
    from mips.period import split_ehr

    with pytest.raises(PipelineError) as error:
        split_ehr({"patient": tmp_path / "patient.csv"}, TIN, None)
    assert "--clinical-dir" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.shared
@needs_deck
def test_mips_backfill_reads_the_clinical_folder_of_each_year(prefect_harness, tmp_path, capfd):
    deck_to_flat(SHARED_ECQM / "tests" / _DECK_122, tmp_path / "in" / "2026" / "clinical")
    assert main(["backfill", "2026", "2026", "--input-dir", str(tmp_path / "in" / "{year}"), "--default-tin", TIN,
                 "--default-npi", NPI, "--output", str(tmp_path / "out")]) == 0
    captured = capfd.readouterr()
    assert "performance year 2026: published" in (captured.out + captured.err).splitlines()
    got = duckdb.connect().execute(f"""
        SELECT count(DISTINCT person_id), sum(denominator) FROM read_parquet('{tmp_path}/out/measure_populations/**/*.parquet',
        hive_partitioning = true) WHERE level = 'group' AND measure_id = '001'""").fetchone()
    # CMS122's deck: every patient with a measure population row, each counted once per group at level 'group'
    assert got[0] > 20 and got[1] > 0


def test_serve_deployments_carry_the_attribution_defaults():
    from flows.serve import build_deployments

    made = build_deployments(input_dir="/data/{year}", output="/srv/out", default_tin=TIN, default_npi=NPI)
    assert all(d.parameters["default_tin"] == TIN and d.parameters["default_npi"] == NPI for d in made)
    assert all("default_tin" not in d.parameters for d in build_deployments(input_dir="/d/{year}", output="/o"))


# Tuva's input_layer__encounter.yml (tuva-health/tuva, models/input_layer/, read 2026-11-28): its first 22 columns,
# in order. Tuva's encounter has no code and no status: source_code_type / source_code are the eCQM additions, and
# status takes its default (finished).
TUVA_ENCOUNTER_COLUMNS = [
    "encounter_id", "person_id", "patient_id", "encounter_type", "encounter_start_date", "encounter_end_date",
    "length_of_stay", "admit_source_code", "admit_source_description", "admit_type_code", "admit_type_description",
    "discharge_disposition_code", "discharge_disposition_description", "attending_provider_id",
    "attending_provider_name", "facility_id", "facility_name", "primary_diagnosis_code_type", "primary_diagnosis_code",
    "primary_diagnosis_description", "drg_code_type", "drg_code"]


def test_tuva_shaped_encounter_loads_with_defaults_and_attending_npi(tmp_path):
    folder = tmp_path / "c"
    _write(folder, "patient", _PATIENTS)
    header = TUVA_ENCOUNTER_COLUMNS + ["source_code_type", "source_code"]
    row = {c: "" for c in header} | {"encounter_id": "e1", "person_id": "p1", "patient_id": "p1",
                                     "encounter_type": "office visit", "encounter_start_date": "2026-03-01",
                                     "encounter_end_date": "2026-03-01", "attending_provider_id": NPI,
                                     "source_code_type": "cpt", "source_code": "99213"}
    _write(folder, "encounter", ",".join(header) + "\n" + ",".join(row[c] for c in header))
    con = duckdb.connect()
    load_clinical_dir(con, folder, default_tin=TIN)      # no default NPI needed: the attending provider's NPI
    assert _summary(con)["clinical.encounter"] == (1, 1, 0, 0)
    assert con.execute("SELECT resource ->> '$.status' FROM fhir_resource WHERE resource_type = 'Encounter'"
                       ).fetchone()[0] == "finished"
    assert con.execute("SELECT encounter_id, tin, npi FROM ehr_attribution").fetchall() == [("e1", TIN, NPI)]


def test_typed_parquet_dates_numbers_become_fhir_text(tmp_path):
    """A warehouse's typed Parquet (DATE, TIMESTAMPTZ, DOUBLE) reads like text: a timestamp is written as FHIR
    writes a dateTime (T, zone +00:00), a date stays a date, a number a number."""
    folder = tmp_path / "c"
    folder.mkdir()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'p1' AS patient_id, 'female' AS sex, DATE '1960-05-01' AS birth_date) "
                f"TO '{folder}/patient.parquet' (FORMAT parquet)")
    con.execute(f"""COPY (SELECT 'o1' AS observation_id, 'p1' AS patient_id,
                                 TIMESTAMPTZ '2026-03-01 09:00:00+00' AS observation_date, 'loinc' AS source_code_type,
                                 '4548-4' AS source_code, 9.4::DOUBLE AS result, '%' AS source_units)
                    TO '{folder}/observation.parquet' (FORMAT parquet)""")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    load_clinical_dir(con, folder, default_tin=TIN, default_npi=NPI)
    got = dict(con.execute("SELECT resource_type, resource FROM fhir_resource").fetchall())
    import json
    assert json.loads(got["Patient"])["birthDate"] == "1960-05-01"
    observation = json.loads(got["Observation"])
    assert observation["effectiveDateTime"] == "2026-03-01T09:00:00+00:00"
    assert observation["valueQuantity"]["value"] == 9.4 and observation["status"] == "final"
