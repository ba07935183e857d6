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
