"""Flat clinical tables (schemas/clinical.py, transforms/clinical_tables.py).

The proof: CMS's FHIR test cases of two deck measures, converted into the flat tables by a small set-based DuckDB
converter written here, give through `mips run --clinical-dir` exactly the measure_populations of `mips run --fhir`
on the same folder. Then bad input: a missing required column, a bad date, a code without a system, an unknown
status, a patient not in patient; input = accepted + out of scope + rejected per file.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from mips.cli import main
from mips.errors import PipelineError
from mips.paths import SHARED_ECQM
from mips.commands.convert import fhir_to_tables
from transforms.clinical_tables import load_clinical_dir

TIN, NPI = "000000001", "1234567893"
needs_deck = pytest.mark.skipif(not (SHARED_ECQM / "tests").is_dir(), reason="../shared/ecqm absent")

MEASURES = sorted(p.name for p in (SHARED_ECQM / "tests").iterdir() if p.is_dir()) if (SHARED_ECQM / "tests").is_dir() else []


def deck_to_flat(deck: Path, out: Path, fmt: str = "csv") -> dict[str, int]:
    """Write a deck folder as flat clinical tables (what `mips convert fhir-to-tables` does); rows per table."""
    return fhir_to_tables(deck, out, fmt)


def _populations(out: Path) -> list[tuple]:
    return duckdb.connect().execute(f"""
        SELECT measure_id, population_group, person_id, level, tin, npi, episode, * EXCLUDE (level, tin, npi,
               measure_id, population_group, person_id, episode, source, performance_year)
        FROM read_parquet('{out}/measure_populations/**/*.parquet', hive_partitioning = true)
        ORDER BY ALL""").fetchall()


@pytest.mark.shared
@needs_deck
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_deck_measure_as_flat_tables_gives_the_fhir_populations(tmp_path, fmt):
    """Half the deck's measures as CSV, the other half as Parquet: each half's development cases in one FHIR folder
    (one `mips run`), converted by `mips convert fhir-to-tables`, give the FHIR run's measure_populations row for
    row: both levels, every measure computed over those patients, every population column and the strata."""
    # every other measure; CMS22 and CMS69 share a patient id, so CMS69 moves to the other half
    csv_half = set(MEASURES[0::2]) ^ {"CMS69FHIRPCSBMIScreenAndFollowUp"}
    half = sorted(m for m in MEASURES if (m in csv_half) == (fmt == "csv"))
    deck = tmp_path / "deck"
    for name in half:
        shutil.copytree(SHARED_ECQM / "tests" / name, deck / name)
    assert main(["convert", "fhir-to-tables", "--fhir", str(deck), "--dest", str(tmp_path / "flat"),
                 "--format", fmt]) == 0
    rows = {p.stem: duckdb.connect().execute(f"SELECT count(*) FROM '{p}'").fetchone()[0]
            for p in (tmp_path / "flat").iterdir()}
    assert rows["patient"] > 600 and rows["encounter"] > 800
    common = ["run", "--performance-year", "2026", "--default-tin", TIN, "--default-npi", NPI, "--without-prefect"]
    assert main(common + ["--fhir", str(deck), "--output", str(tmp_path / "fhir")]) == 0
    assert main(common + ["--clinical-dir", str(tmp_path / "flat"), "--output", str(tmp_path / "flat_out")]) == 0
    fhir, flat = _populations(tmp_path / "fhir"), _populations(tmp_path / "flat_out")
    assert len({r[0] for r in fhir}) >= 35        # the measures computed over these patients (38 and 39)
    only_fhir, only_flat = sorted(set(fhir) - set(flat)), sorted(set(flat) - set(fhir))
    assert (only_fhir[:5], only_flat[:5]) == ([], [])
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


# ------------------------------------------------------------------ the eCQM elements, one by one

_PATIENT_JSON = {"resourceType": "Patient", "id": "pt1", "gender": "female", "birthDate": "1960-05-01",
                 "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex",
                                "valueCode": "248152002"}]}
_SUBJECT = {"reference": "Patient/pt1"}
# Elements the decks use rarely or not at all, each in the shape FHIR writes it
_RESOURCES = [
    {"resourceType": "Encounter", "id": "enc1", "status": "finished", "subject": _SUBJECT,
     "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
     "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
     "period": {"start": "2026-03-01T09:00:00+00:00", "end": "2026-03-01T09:30:00+00:00"},
     "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}],
     "reasonReference": [{"reference": "Condition/c1"}],
     "diagnosis": [{"condition": {"reference": "Condition/c1"}, "rank": 1, "use": {"coding": [
         {"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": "billing"}]}},
                   {"condition": {"reference": "Condition/c2"}, "rank": 2}],
     "location": [{"location": {"reference": "Location/loc1"}}]},
    {"resourceType": "Location", "id": "loc1", "name": "Clinic",
     "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "35971002"}]}]},
    {"resourceType": "Claim", "id": "cl1", "status": "active", "use": "claim", "patient": _SUBJECT,
     "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://snomed.info/sct",
                                                                          "code": "44054006"}]},
                    "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                          "code": "principal"}]}],
                    "onAdmission": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission",
                                                "code": "y"}]}},
                   {"sequence": 2, "diagnosisReference": {"reference": "Condition/c2"}}],
     "item": [{"sequence": 1, "diagnosisSequence": [1, 2], "encounter": [{"reference": "Encounter/enc1"}]}]},
    {"resourceType": "Condition", "id": "c1", "subject": _SUBJECT, "onsetDateTime": "2005",
     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                               "code": "problem-list-item"}]},
                  {"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/condition-category",
                               "code": "health-concern"}]}],
     "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "8966001"}]}]},
    {"resourceType": "Condition", "id": "c2", "subject": _SUBJECT,
     "onsetPeriod": {"start": "2026-02-01"}, "code": {"coding": [{"system": "http://snomed.info/sct",
                                                                 "code": "59621000"}]}},
    {"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order", "subject": _SUBJECT,
     "authoredOn": "2026-04-01T10:00:00+00:00",
     "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                               "code": "197361"}]},
     "dosageInstruction": [
         {"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00", "20:00:00"],
                                "boundsPeriod": {"start": "2026-04-01", "end": "2026-06-30"}}},
          "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "{tbl}", "system": "http://unitsofmeasure.org",
                                            "code": "{tbl}"}}]},
         {"timing": {"event": ["2026-07-03T08:00:00+00:00", "2026-07-01T08:00:00+00:00"],
                     "repeat": {"boundsDuration": {"value": 10, "unit": "d", "system": "http://unitsofmeasure.org",
                                                   "code": "d"}}}}],
     "dispenseRequest": {"numberOfRepeatsAllowed": 3, "validityPeriod": {"start": "2026-04-01"},
                         "quantity": {"value": 60, "unit": "tablet", "system": "http://unitsofmeasure.org",
                                      "code": "{tbl}"},
                         "expectedSupplyDuration": {"value": 30, "unit": "days", "system": "http://unitsofmeasure.org",
                                                    "code": "d"}}},
    {"resourceType": "Observation", "id": "o1", "status": "final", "subject": _SUBJECT,
     "code": {"coding": [{"system": "http://loinc.org", "code": "72166-2"}]},
     "effectivePeriod": {"start": "2026-05-01T09:00:00+00:00"}, "valueString": "never smoker",
     "basedOn": [{"reference": "ServiceRequest/sr1"}], "partOf": [{"reference": "Procedure/p1"}]},
    {"resourceType": "Task", "id": "t1", "status": "rejected", "intent": "order", "for": _SUBJECT,
     "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
     "focus": {"reference": "ServiceRequest/sr1"}, "basedOn": [{"reference": "ServiceRequest/sr1"}],
     "executionPeriod": {"start": "2026-05-02"},
     "statusReason": {"coding": [{"system": "http://snomed.info/sct", "code": "183944003"}]}},
]


def _ir_rows(con) -> dict[str, set]:
    con.execute("ATTACH ':memory:' AS ref")
    con.execute("CREATE TABLE ref.ecqm_value_set_codes (value_set_oid VARCHAR, code_system VARCHAR, code VARCHAR)")
    from transforms.ecqm.ir import build_ir
    build_ir(con)
    out = {}
    for table, exclude in (("ecqm_patient", ""), ("ecqm_resource", " EXCLUDE (source_file, source_row)"),
                           ("ecqm_coding", ""), ("ecqm_dosage_bounds", "")):
        rows = con.execute(f"SELECT *{exclude} FROM {table}").fetchall()
        out[table] = {tuple(tuple(sorted(v)) if isinstance(v, list) else v for v in r) for r in rows}
    return out


def test_fhir_to_tables_and_back_keeps_every_element_the_engine_reads(tmp_path):
    """A hand-made record of the rarer elements (encounter diagnoses, reasons and location, a claim's diagnoses and
    items, two dosage instructions, a boundsDuration, timing events, an open period, a partial date, a valueString,
    basedOn / partOf / focus), written
    as flat tables by `mips convert fhir-to-tables` and read back with --clinical-dir: the engine's IR is the same
    table for table, and the encounter's diagnoses (condition, rank, use) and location and the claim's diagnoses and
    items are the FHIR ones."""
    import json
    fhir = tmp_path / "fhir" / "pt1"
    fhir.mkdir(parents=True)
    for resource in [_PATIENT_JSON] + _RESOURCES:
        (fhir / f"{resource['resourceType']}-{resource['id']}.json").write_text(json.dumps(resource))
    assert main(["convert", "fhir-to-tables", "--fhir", str(tmp_path / "fhir"), "--dest", str(tmp_path / "flat")]) == 0
    # the medication's two dosage instructions are its rows 1 and 2; the encounter's two diagnoses likewise
    medication = (tmp_path / "flat" / "medication.csv").read_text().splitlines()
    assert len(medication) == 3 and "2026-07-01T08:00:00+00:00" in medication[2]
    from transforms.fhir_files import load_fhir_dir
    a, b = duckdb.connect(), duckdb.connect()
    load_fhir_dir(a, tmp_path / "fhir", default_tin=TIN, default_npi=NPI)
    load_clinical_dir(b, tmp_path / "flat", default_tin=TIN, default_npi=NPI)
    assert _summary(b)["clinical.medication"] == (2, 2, 0, 0)
    fhir_ir, flat_ir = _ir_rows(a), _ir_rows(b)
    for table in fhir_ir:
        assert flat_ir[table] == fhir_ir[table], table
    assert len(fhir_ir["ecqm_dosage_bounds"]) == 2 and len(fhir_ir["ecqm_coding"]) >= 12
    diagnosis = json.loads(b.execute("SELECT resource -> '$.diagnosis' FROM fhir_resource "
                                     "WHERE resource_type = 'Encounter'").fetchone()[0])
    assert diagnosis == _RESOURCES[0]["diagnosis"]
    resources = {r[0]: json.loads(r[1]) for r in b.execute("SELECT resource_id, resource FROM fhir_resource").fetchall()}
    assert resources["enc1"]["location"] == _RESOURCES[0]["location"]
    assert resources["loc1"]["type"] == _RESOURCES[1]["type"]
    assert (resources["cl1"]["diagnosis"], resources["cl1"]["item"]) == (_RESOURCES[2]["diagnosis"], _RESOURCES[2]["item"])


def test_bad_rows_of_the_ecqm_tables_are_rejected_and_nothing_is_lost(tmp_path):
    folder = tmp_path / "c"
    _write(folder, "patient", _PATIENTS)
    # m1: its code on its second row only (accepted, 2 rows); m2: no code on any row (both rows rejected);
    # m3: an unknown period unit; m4: a partial date (accepted); m5: a month 13 (rejected)
    _write(folder, "medication", """
medication_id,patient_id,prescribing_date,source_code_type,source_code,frequency,period,period_unit,category_code_type,category_code
m1,p1,2026-03-01,,,2,1,d,http://terminology.hl7.org/CodeSystem/medicationrequest-category,community
m1,p1,2026-03-01,rxnorm,197361,,,,,
m2,p1,2026-03-01,,,1,1,d,,
m2,p1,2026-03-01,,,,,,,
m3,p2,2026-03-01,rxnorm,197361,1,1,fortnight,,
m4,p2,2026-03,rxnorm,197361,,,,,
m5,p2,2026-13,rxnorm,197361,,,,,
""")
    # a location no encounter names: out of scope
    _write(folder, "location", "location_id,name,type_code_type,type_code\nloc9,Clinic,snomed-ct,35971002\n")
    # t1 good; t2 an unknown status; t3 open_period that is no boolean (on an allergy)
    _write(folder, "task", """
task_id,patient_id,status,execution_start_date,source_code_type,source_code
t1,p1,rejected,2026-05-02,http://hl7.org/fhir/CodeSystem/task-code,fulfill
t2,p1,refused,2026-05-02,http://hl7.org/fhir/CodeSystem/task-code,fulfill
""")
    _write(folder, "allergy_intolerance", """
allergy_intolerance_id,patient_id,clinical_status,onset_date,open_period,source_code_type,source_code
a1,p1,active,2026-01-01,true,snomed-ct,91936005
a2,p1,active,2026-01-01,maybe,snomed-ct,91936005
""")
    con = duckdb.connect()
    load_clinical_dir(con, folder, default_tin=TIN, default_npi=NPI)
    summary = _summary(con)
    assert summary["clinical.medication"] == (7, 3, 0, 4)     # m1 x2, m4 accepted; m2 x2, m3, m5 rejected
    assert summary["clinical.task"] == (2, 1, 0, 1)
    assert summary["clinical.allergy_intolerance"] == (2, 1, 0, 1)
    assert summary["clinical.location"] == (1, 0, 1, 0)
    assert con.execute("SELECT reason FROM _out_of_scope WHERE table_name = 'clinical.location'").fetchone()[0] == (
        "no encounter: no accepted encounter names this location_id")
    for n, ok, out, rejected in summary.values():
        assert n == ok + out + rejected
    rejects = con.execute("""SELECT table_name, row_number, "column", rule FROM _rejects ORDER BY 1, 2""").fetchall()
    assert rejects == [("clinical.allergy_intolerance", 2, "open_period", "invalid_number"),
                       ("clinical.medication", 3, "source_code", "required"),
                       ("clinical.medication", 4, "source_code", "required"),
                       ("clinical.medication", 5, "period_unit", "unknown_value"),
                       ("clinical.medication", 7, "prescribing_date", "invalid_date"),
                       ("clinical.task", 2, "status", "unknown_value")]
    import json
    got = {r[0]: json.loads(r[1]) for r in con.execute("SELECT resource_id, resource FROM fhir_resource").fetchall()}
    assert got["m1"]["medicationCodeableConcept"]["coding"] == [
        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197361"}]
    assert got["m1"]["dosageInstruction"] == [{"timing": {"repeat": {"frequency": 2, "period": 1.0, "periodUnit": "d"}}}]
    assert got["m4"]["authoredOn"] == "2026-03" and got["a1"]["onsetPeriod"] == {"start": "2026-01-01"}


# Tuva's clinical input layer (tuva-health/tuva at 6be34c7, models/input_layer/input_layer__<table>.yml): every column
# of the tables the flat contracts share with it, in order. A Tuva-shaped file loads as it is (extra columns ignored).
TUVA_COLUMNS = {
    "condition": ["condition_id", "payer", "person_id", "patient_id", "encounter_id", "claim_id", "recorded_date",
                  "onset_date", "resolved_date", "status", "condition_type", "source_code_type", "source_code",
                  "source_description", "normalized_code_type", "normalized_code", "normalized_description",
                  "condition_rank", "present_on_admit_code", "present_on_admit_description", "data_source",
                  "file_name", "ingest_datetime"],
    "procedure": ["procedure_id", "person_id", "patient_id", "encounter_id", "claim_id", "procedure_date",
                  "source_code_type", "source_code", "source_description", "normalized_code_type", "normalized_code",
                  "normalized_description", "modifier_1", "modifier_2", "modifier_3", "modifier_4", "modifier_5",
                  "practitioner_id", "data_source", "file_name", "ingest_datetime"],
    "observation": ["observation_id", "person_id", "payer", "patient_id", "encounter_id", "panel_id",
                    "observation_date", "observation_type", "source_code_type", "source_code", "source_description",
                    "normalized_code_type", "normalized_code", "normalized_description", "result", "source_units",
                    "normalized_units", "source_reference_range_low", "source_reference_range_high",
                    "normalized_reference_range_low", "normalized_reference_range_high", "data_source", "file_name",
                    "ingest_datetime"],
    "medication": ["medication_id", "person_id", "payer", "patient_id", "encounter_id", "dispensing_date",
                   "prescribing_date", "source_code_type", "source_code", "source_description", "ndc_code",
                   "ndc_description", "rxnorm_code", "rxnorm_description", "atc_code", "atc_description", "route",
                   "strength", "quantity", "quantity_unit", "days_supply", "practitioner_id", "data_source",
                   "file_name", "ingest_datetime"],
    "immunization": ["immunization_id", "person_id", "patient_id", "encounter_id", "source_code_type", "source_code",
                     "source_description", "normalized_code_type", "normalized_code", "normalized_description",
                     "status", "status_reason", "occurrence_date", "source_dose", "normalized_dose", "lot_number",
                     "body_site", "route", "location_id", "practitioner_id", "data_source", "file_name",
                     "ingest_datetime"],
}
_TUVA_VALUES = {"condition_id": "c1", "procedure_id": "pr1", "observation_id": "o1", "medication_id": "m1",
                "immunization_id": "i1", "person_id": "p1", "patient_id": "p1", "recorded_date": "2026-02-01",
                "onset_date": "2026-02-01", "status": "completed", "procedure_date": "2026-02-01",
                "observation_date": "2026-02-01", "prescribing_date": "2026-02-01", "occurrence_date": "2026-02-01",
                "source_code_type": "snomed-ct", "source_code": "44054006", "result": "7.5", "source_units": "%",
                "quantity": "30", "days_supply": "30", "data_source": "ehr", "condition_type": "problem"}


@pytest.mark.parametrize("table", sorted(TUVA_COLUMNS))
def test_tuva_shaped_clinical_tables_load_as_they_are(tmp_path, table):
    folder = tmp_path / "c"
    _write(folder, "patient", _PATIENTS)
    header = TUVA_COLUMNS[table]
    values = _TUVA_VALUES | ({"status": "active"} if table == "condition" else {})
    _write(folder, table, ",".join(header) + "\n" + ",".join(values.get(c, "") for c in header))
    con = duckdb.connect()
    load_clinical_dir(con, folder, default_tin=TIN, default_npi=NPI)
    assert _summary(con)[f"clinical.{table}"] == (1, 1, 0, 0)
    assert con.execute("SELECT count(*) FROM fhir_resource WHERE resource_type <> 'Patient'").fetchone()[0] == 1
