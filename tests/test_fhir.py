"""FHIR R4 input (transforms/fhir_files.py): files in, fhir_resource / ehr_attribution out, nothing lost."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from mips.errors import PipelineError
from transforms import ingest
from transforms.fhir_files import NPI_SYSTEM, TIN_SYSTEM, load_fhir_dir, types_over_threshold

SHARED_TESTS = Path(__file__).resolve().parents[2] / "shared" / "ecqm" / "tests"
NPI = "1234567893"   # valid check digit
NPI_2 = "1245319599"  # valid check digit (CMS's NPI check-digit example)
TIN = "123456789"


def _write(path: Path, resource) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(resource, indent=2))
    return path


def _ndjson(path: Path, lines: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def _patient(pid, **extra):
    return {"resourceType": "Patient", "id": pid, "birthDate": "1960-05-01", "gender": "female", **extra}


def _obs(oid, subject=None, **extra):
    resource = {"resourceType": "Observation", "id": oid, "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
                "effectiveDateTime": "2026-03-01T10:00:00+00:00"}
    if subject:
        resource["subject"] = {"reference": f"Patient/{subject}"}
    return {**resource, **extra}


def _encounter(eid, subject=None, **extra):
    resource = {"resourceType": "Encounter", "id": eid, "status": "finished",
                "period": {"start": "2026-02-01T09:00:00Z", "end": "2026-02-01T09:30:00Z"}}
    if subject:
        resource["subject"] = {"reference": f"Patient/{subject}"}
    return {**resource, **extra}


def _con():
    con = duckdb.connect()
    ingest._ensure_ingest_tables(con)
    return con


def _summary(con):
    return con.execute("SELECT sum(input_rows), sum(accepted_rows), sum(out_of_scope_rows), sum(rejected_rows) "
                       "FROM _ingest_summary").fetchone()


def test_one_patient_folders_own_every_resource_in_them(tmp_path):
    # The test decks' layout: one folder per patient, one resource per file, no Bundles.
    a = tmp_path / "deck" / "pa"
    _write(a / "Patient-pa.json", _patient("pa"))
    _write(a / "Observation-o1.json", _obs("o1", "pa"))
    _write(a / "Observation-o2.json", _obs("o2", "someone-else"))  # a wrong reference: the folder decides
    _write(a / "Condition-c1.json", {"resourceType": "Condition", "id": "c1",
                                     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}})
    _write(a / "MeasureReport-m1.json", {"resourceType": "MeasureReport", "id": "m1", "status": "complete"})
    _write(a / "Organization-payer.json", {"resourceType": "Organization", "id": "payer"})
    b = tmp_path / "deck" / "pb"
    _write(b / "Patient-pb.json", _patient("pb"))
    _write(b / "Organization-payer.json", {"resourceType": "Organization", "id": "payer"})  # same id, other record
    con = _con()
    load_fhir_dir(con, tmp_path / "deck", default_tin=TIN, default_npi=NPI)
    rows = con.execute("SELECT resource_type, resource_id, person_id, source_row FROM fhir_resource "
                       "ORDER BY 1, 2, 3").fetchall()
    # 7 resources accepted (the MeasureReport is out of scope); the condition without subject belongs to pa
    assert rows == [("Condition", "c1", "pa", 1), ("Observation", "o1", "pa", 1), ("Observation", "o2", "pa", 1),
                    ("Organization", "payer", "pa", 1), ("Organization", "payer", "pb", 1),
                    ("Patient", "pa", "pa", 1), ("Patient", "pb", "pb", 1)]
    assert _summary(con) == (8, 7, 1, 0)
    assert con.execute("SELECT table_name, reason, \"rows\" FROM _out_of_scope").fetchall() == [
        ("MeasureReport", "resource type MeasureReport: no measure reads it", 1)]
    ingest.check_reconciliation(con)
    # the resource column is the whole resource
    assert json.loads(con.execute("SELECT resource FROM fhir_resource WHERE resource_id = 'o1'").fetchone()[0]) == \
        _obs("o1", "pa")


def test_ndjson_bad_input_is_rejected_or_out_of_scope_with_reasons(tmp_path):
    lines = [
        _patient("p1"),                                                   # line 1: accepted
        _obs("o1", "p1"),                                                 # 2: accepted
        '{"resourceType": "Observation", "id": "o2", "subject": ',        # 3: broken JSON -> rejected
        _obs("o3"),                                                       # 4: no subject -> out of scope
        _obs("o4", "p1", code={"coding": [{"code": "4548-4"}, {"system": "http://loinc.org", "code": "x"}]}),
        # 5: accepted; its coding without a system counted (1)
        {"resourceType": "MeasureReport", "id": "mr", "subject": {"reference": "Patient/p1"}},  # 6: type not read
        {"resourceType": "Bundle", "id": "b", "type": "collection", "entry": [{"resource": _obs("o5", "p1")}]},
        # 7: a Bundle on an NDJSON line -> rejected
        _obs("o6", "p1", effectiveDateTime="2026-03-01T10:00:00"),        # 8: no time zone -> accepted, warned
        _obs("o7", "p1", effectiveDateTime="2026-02-30"),                 # 9: impossible date -> rejected
        _obs("o8", "p1", effectiveDateTime="2026-03-01T25:00:00Z"),       # 10: impossible time -> rejected
        _obs("o9", "p1", valueQuantity={"value": "9.4", "unit": "%"}),    # 11: value as a string -> rejected
        _obs("o10", "nobody"),                                            # 12: its Patient is not in the input
        "",                                                               # 13: blank line (not a resource)
        _obs("o11", "p1", effectiveDateTime="2026-03-01"),                # 14: a date without time -> accepted
        {"id": "x"},                                                      # 15: no resourceType -> rejected
        _obs("o1", "p1"),                                                 # 16: o1 again -> rejected (duplicate)
    ]
    path = _ndjson(tmp_path / "export" / "Observation.ndjson", lines)
    con = _con()
    load = load_fhir_dir(con, tmp_path / "export")
    rejects = con.execute('SELECT row_number, "column", rule FROM _rejects ORDER BY 1').fetchall()
    assert rejects == [(3, None, "invalid_json"), (7, None, "bundle_in_ndjson"),
                       (9, "Observation.effectiveDateTime", "impossible_date"),
                       (10, "Observation.effectiveDateTime", "impossible_date"),
                       (11, "Observation.valueQuantity.value", "wrong_type"),
                       (15, None, "not_a_resource"), (16, "Observation.id", "duplicate_resource")]
    # reasons never quote a value
    assert all("9.4" not in r and "2026" not in r for (r,) in con.execute("SELECT reason FROM _rejects").fetchall())
    out = dict(con.execute('SELECT reason, "rows" FROM _out_of_scope').fetchall())
    assert out == {
        "not tied to a patient (no subject/patient reference to a Patient, and not in a one-patient folder or Bundle)": 1,
        "resource type MeasureReport: no measure reads it": 1,
        "names a Patient that is not in the input": 1,
        "coding without a system: ignored (its resource is kept; codings are counted, not rows)": 1,
    }
    # 15 resources (the blank line is none): accepted p1, o1, o4, o6, o11 = 5; out of scope 3; rejected 7
    assert con.execute("SELECT source_file, input_rows, accepted_rows, out_of_scope_rows, rejected_rows "
                       "FROM _ingest_summary").fetchall() == [(str(path), 15, 5, 3, 7)]
    ingest.check_reconciliation(con)
    assert load.codings_without_system == 1 and load.datetimes_without_zone == 1
    assert con.execute("SELECT rule, rows_affected FROM _ingest_warnings").fetchall() == [
        ("datetime_without_time_zone", 1)]


def test_bundles_one_patient_owns_all_several_patients_go_by_reference(tmp_path):
    one = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": _patient("p1")},
        {"resource": _obs("o1")},                              # no subject: the Bundle's one patient
        {"resource": _obs("o2", "p9")}]}                       # another id: still the Bundle's patient
    several = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": "urn:uuid:aaa", "resource": _patient("p2")},
        {"fullUrl": "urn:uuid:bbb", "resource": _patient("p3")},
        {"resource": {**_obs("o3"), "subject": {"reference": "urn:uuid:bbb"}}},
        {"resource": _obs("o4", "p2")},
        {"resource": _obs("o5")},                               # no subject in a 2-patient Bundle: out of scope
        {"fullUrl": "urn:uuid:ccc"}]}                           # an entry without a resource: rejected
    _write(tmp_path / "in" / "a" / "one.json", one)
    _write(tmp_path / "in" / "b" / "several.json", several)
    con = _con()
    load_fhir_dir(con, tmp_path / "in")
    assert con.execute("SELECT resource_id, person_id, source_row FROM fhir_resource WHERE resource_type = "
                       "'Observation' ORDER BY 1").fetchall() == [
        ("o1", "p1", 2), ("o2", "p1", 3), ("o3", "p3", 3), ("o4", "p2", 4)]
    assert con.execute('SELECT row_number, rule FROM _rejects').fetchall() == [(6, "not_a_resource")]
    assert _summary(con) == (9, 7, 1, 1)
    ingest.check_reconciliation(con)


def _practice(tmp_path, *, participant=True, service_provider=True):
    lines = [
        _patient("p1"),
        {"resourceType": "Practitioner", "id": "dr", "identifier": [{"system": NPI_SYSTEM, "value": NPI_2}]},
        {"resourceType": "Practitioner", "id": "nurse", "identifier": [{"system": NPI_SYSTEM, "value": NPI}]},
        {"resourceType": "Organization", "id": "clinic", "identifier": [{"system": TIN_SYSTEM, "value": "98-7654321"}]},
        {"resourceType": "Organization", "id": "payer", "identifier": [{"system": TIN_SYSTEM, "value": "111111111"}]},
        {"resourceType": "Coverage", "id": "cov", "status": "active", "beneficiary": {"reference": "Patient/p1"},
         "payor": [{"reference": "Organization/payer"}]},
    ]
    encounter = _encounter("e1", "p1")
    if participant:  # the attender is listed first, the primary performer second: PPRF wins
        encounter["participant"] = [
            {"type": [{"coding": [{"code": "ATND"}]}], "individual": {"reference": "Practitioner/nurse"}},
            {"type": [{"coding": [{"code": "PPRF"}]}], "individual": {"reference": "Practitioner/dr"}}]
    if service_provider:
        encounter["serviceProvider"] = {"reference": "Organization/clinic"}
    # a requester elsewhere does not attribute
    lines += [encounter, _encounter("e2", "p1"),
              {"resourceType": "ServiceRequest", "id": "sr", "status": "active", "intent": "order",
               "subject": {"reference": "Patient/p1"}, "requester": {"reference": "Practitioner/dr"}}]
    return _ndjson(tmp_path / "practice" / "all.ndjson", lines).parent


def test_attribution_from_encounter_participant_and_service_provider_only(tmp_path):
    con = _con()
    load = load_fhir_dir(con, _practice(tmp_path), default_tin=TIN, default_npi=NPI)
    # e1 names its clinic (TIN 987654321, dashes dropped) and its primary performer; e2 names neither: defaults
    assert con.execute("SELECT * FROM ehr_attribution ORDER BY encounter_id").fetchall() == [
        ("p1", "e1", "987654321", NPI_2), ("p1", "e2", TIN, NPI)]
    assert (load.encounters, load.encounters_defaulted_tin, load.encounters_defaulted_npi) == (2, 1, 1)
    # shared resources from NDJSON are kept without a patient
    assert con.execute("SELECT count(*) FROM fhir_resource WHERE resource_type IN ('Practitioner', 'Organization') "
                       "AND person_id IS NULL").fetchone()[0] == 4


def test_data_naming_no_clinician_fails_with_one_line_without_defaults(tmp_path):
    folder = _practice(tmp_path)
    with pytest.raises(PipelineError) as error:
        load_fhir_dir(_con(), folder)
    message = str(error.value)
    assert "\n" not in message and "1 of 2 FHIR Encounters name no TIN and no NPI" in message
    assert "--default-tin TIN and --default-npi NPI" in message
    with pytest.raises(PipelineError, match="name no NPI"):
        load_fhir_dir(_con(), folder, default_tin=TIN)
    with pytest.raises(PipelineError, match="not a valid NPI"):
        load_fhir_dir(_con(), folder, default_tin=TIN, default_npi="1234567890")


def test_rejection_threshold_is_per_resource_type_across_files(tmp_path):
    # 30 one-resource files of Observations, 1 of them broken: 100% of that file, 1/31 = 3.2% of the
    # Observations (the broken one's type is unknown, so it counts against all 32 resources: 3.1%).
    folder = tmp_path / "p"
    _write(folder / "Patient.json", _patient("p1"))
    for i in range(30):
        _write(folder / f"Observation-{i}.json", _obs(f"o{i}", "p1"))
    (folder / "Observation-broken.json").write_text('{"resourceType": "Observation", ')
    _write(folder / "Observation-bad-date.json", _obs("bad", "p1", effectiveDateTime="2026-13-01"))
    con = _con()
    load_fhir_dir(con, tmp_path)
    assert ingest.files_over_threshold(con, 5.0) == []  # FHIR files are not held to it one by one
    # Observation: 1 rejected of 31 = 3.23%; unreadable: 1 of 33 resources read = 3.03%
    assert types_over_threshold(con, 5.0) == []
    assert types_over_threshold(con, 3.1) == [("Observation", 3.23)]
    assert types_over_threshold(con, 3.0) == [("(unreadable)", 3.03), ("Observation", 3.23)]


def test_mixed_folder_reads_json_and_ndjson_recursively_and_ignores_other_files(tmp_path):
    _write(tmp_path / "x" / "y" / "Patient.json", _patient("p1"))
    _ndjson(tmp_path / "x" / "Observation.ndjson", [_obs("o1", "p1")])
    (tmp_path / "x" / "README.txt").write_text("not FHIR")
    _write(tmp_path / "x" / ".hidden" / "Patient.json", _patient("p2"))
    con = _con()
    load = load_fhir_dir(con, tmp_path / "x")
    assert (load.files, load.ignored_files) == (2, 1)
    assert con.execute("SELECT resource_id, person_id FROM fhir_resource ORDER BY 1").fetchall() == [
        ("o1", "p1"), ("p1", "p1")]


def test_a_folder_without_fhir_files_is_a_one_line_error(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(PipelineError, match="holds no .json or .ndjson files"):
        load_fhir_dir(_con(), tmp_path)
    with pytest.raises(PipelineError, match="not found"):
        load_fhir_dir(_con(), tmp_path / "missing")


@pytest.mark.shared
@pytest.mark.skipif(not SHARED_TESTS.is_dir(), reason="needs ../shared/ecqm")
def test_deck_folder_runs_through_mips_run_and_publishes(tmp_path):
    from mips.cli import main

    deck = SHARED_TESTS / "CMS122FHIRDiabetesAssessGT9Pct"
    out = tmp_path / "out"
    assert main(["run", "--performance-year", "2026", "--fhir", str(deck), "--default-tin", TIN,
                 "--default-npi", NPI, "--without-prefect", "--output", str(out)]) == 0
    summary = duckdb.connect().execute(f"SELECT count(*), sum(input_rows), sum(accepted_rows), sum(out_of_scope_rows), "
                         f"sum(rejected_rows) FROM read_parquet('{out}/ingest_summary/**/*.parquet')").fetchone()
    files = sum(1 for _ in deck.rglob("*.json"))
    reports = sum(1 for _ in deck.rglob("MeasureReport-*.json"))
    # one row per file, one resource per file; only the MeasureReports are out of scope, nothing rejected
    assert summary == (files, files, files - reports, reports, 0)


def test_dates_with_and_without_time_zones_and_impossible_ones(tmp_path):
    lines = [_patient("p1"),
             _obs("z1", "p1", effectiveDateTime="2026-03-01T10:00:00.123-05:00"),  # 2: zone offset, accepted
             _obs("z2", "p1", effectiveDateTime="2026-03-01T10:00:00Z"),           # 3: UTC, accepted
             _obs("z3", "p1", effectiveDateTime="2026-03-01T10:00:00"),            # 4: no zone: accepted, warned
             _obs("z4", "p1", effectiveDateTime="2026"),                           # 5: a year is a FHIR date
             _obs("z5", "p1", effectiveDateTime="2028-02-29"),                     # 6: a leap day
             _obs("z6", "p1", effectiveDateTime="2026-02-29"),                     # 7: not a leap year: rejected
             _obs("z7", "p1", effectiveDateTime=20260301),                         # 8: a number: wrong type
             _obs("z8", "p1", effectivePeriod={"start": "2026-04-31", "end": "2026-05-01"}),  # 9: April 31
             _obs("z9", "p1", effectiveDateTime="2026-03-01T10:00:00+25:00"),      # 10: no such offset
             _obs("z10", "p1")]                                                    # 11: subject made a string below
    lines[-1]["subject"] = "Patient/p1"
    _ndjson(tmp_path / "d" / "Observation.ndjson", lines)
    con = _con()
    load = load_fhir_dir(con, tmp_path / "d")
    assert con.execute('SELECT row_number, "column", rule FROM _rejects ORDER BY 1, 2').fetchall() == [
        (7, "Observation.effectiveDateTime", "impossible_date"),
        (8, "Observation.effectiveDateTime", "wrong_type"),
        (9, "Observation.effectivePeriod.start", "impossible_date"),
        (10, "Observation.effectiveDateTime", "impossible_date"),
        (11, "Observation.subject", "wrong_type")]
    assert load.datetimes_without_zone == 1
    # accepted: the patient and z1-z5; z10's string subject cannot name its patient either way
    assert con.execute("SELECT count(*) FROM fhir_resource").fetchone()[0] == 6


def test_a_patient_without_encounters_is_attributed_to_the_defaults(tmp_path):
    # an eCQM may need no encounter (CMS129: a prostate cancer diagnosis, treatment and labs): such a patient gets one
    # ehr_attribution row without an encounter, with the default TIN/NPI; patients with encounters get none
    folder = tmp_path / "deck"
    _write(folder / "p1" / "Patient-p1.json", _patient("p1"))
    _write(folder / "p1" / "Encounter-e1.json", _encounter("e1", "p1"))
    _write(folder / "p2" / "Patient-p2.json", _patient("p2"))
    _write(folder / "p2" / "Observation-o2.json", _obs("o2", "p2"))
    con = _con()
    load_fhir_dir(con, folder, default_tin=TIN, default_npi=NPI)
    assert con.execute("SELECT * FROM ehr_attribution ORDER BY person_id").fetchall() == [
        ("p1", "e1", TIN, NPI), ("p2", None, TIN, NPI)]


def test_claim_diagnosis_and_item_must_be_arrays_and_a_shared_location_is_kept(tmp_path):
    # the eCQM IR unnests Claim.diagnosis / Claim.item (CMS136's principal diagnosis from claims): a single object
    # there would silently give no diagnosis, so it is rejected with the element named; a Location read from NDJSON
    # belongs to no patient and is kept (CQMCommon GetLocation() retrieves it by id)
    def claim(cid, **extra):
        return {"resourceType": "Claim", "id": cid, "status": "active", "use": "claim",
                "patient": {"reference": "Patient/p1"},
                "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [
                    {"system": "http://snomed.info/sct", "code": "110359009"}]}}],
                "item": [{"sequence": 1, "diagnosisSequence": [1], "encounter": [{"reference": "Encounter/e1"}]}],
                **extra}

    lines = [_patient("p1"),                                                              # 1
             _encounter("e1", "p1", location=[{"location": {"reference": "Location/l1"}}]),  # 2: accepted
             claim("c1"),                                                                 # 3: accepted
             claim("c2", diagnosis={"sequence": 1}),                                      # 4: an object: rejected
             claim("c3", item={"sequence": 1}),                                           # 5: an object: rejected
             {"resourceType": "Location", "id": "l1",                                     # 6: kept, no patient
              "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "35971002"}]}]}]
    _ndjson(tmp_path / "d" / "mixed.ndjson", lines)
    con = _con()
    load_fhir_dir(con, tmp_path / "d", default_tin=TIN, default_npi=NPI)
    assert con.execute('SELECT row_number, "column", rule FROM _rejects ORDER BY 1').fetchall() == [
        (4, "Claim.diagnosis", "wrong_type"), (5, "Claim.item", "wrong_type")]
    assert con.execute("SELECT resource_type, resource_id, person_id FROM fhir_resource ORDER BY source_row").fetchall() == [
        ("Patient", "p1", "p1"), ("Encounter", "e1", "p1"), ("Claim", "c1", "p1"), ("Location", "l1", None)]


def test_bulk_export_medication_reference_resolves_to_a_shared_medication(tmp_path):
    """In a Bulk Data export, Medication resources carry no patient: they are shared (person_id NULL). A
    MedicationRequest naming its drug by medicationReference gets that Medication's code, as in a patient's own
    record; before, only a Medication in the same patient's record was looked up, so a bulk export lost the code.
    Patient p1's order names Medication/med-shared (one RxNorm coding) -> one 'code' coding on the order;
    p2's order names a Medication that is in no file -> no coding."""
    import duckdb as _duckdb
    from transforms.ecqm.ir import build_ir
    from transforms.fhir_files import load_fhir_dir
    from transforms.reference import attach_reference

    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    lines = {
        "Patient.ndjson": [{"resourceType": "Patient", "id": p, "birthDate": "1960-01-01", "gender": "female"}
                           for p in ("p1", "p2")],
        "Medication.ndjson": [{"resourceType": "Medication", "id": "med-shared",
                               "code": {"coding": [{"system": rxnorm, "code": "197361"}]}}],
        "MedicationRequest.ndjson": [
            {"resourceType": "MedicationRequest", "id": f"mr-{p}", "status": "active", "intent": "order",
             "subject": {"reference": f"Patient/{p}"}, "medicationReference": {"reference": f"Medication/{med}"},
             "authoredOn": "2026-02-01"} for p, med in (("p1", "med-shared"), ("p2", "med-missing"))],
    }
    for name, resources in lines.items():
        (tmp_path / name).write_text("\n".join(json.dumps(r) for r in resources) + "\n", encoding="utf-8")
    con = _duckdb.connect()
    attach_reference(con)
    load_fhir_dir(con, tmp_path, default_tin="123456789", default_npi="1234567893")
    build_ir(con)
    rows = con.execute("""SELECT person_id, resource_id, code_system, code FROM ecqm_coding
                          WHERE resource_type = 'MedicationRequest' AND element = 'code' ORDER BY ALL""").fetchall()
    assert rows == [("p1", "mr-p1", rxnorm, "197361")]
