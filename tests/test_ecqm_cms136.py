"""366 / CMS136 (follow-up care for children prescribed ADHD medication) and the shared blocks it brought: the
CumulativeMedicationDuration rollout and cumulative duration, CQMCommon's claim-based principal diagnosis and an
encounter's Location type. Tiny hand-made records; each case's comment says which CQL rule decides it.
"""
from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.test_ecqm_engine import encounter, load, patient, pops
from tests.test_ecqm_engine import run as run_all
from transforms.ecqm import measure_definitions

MEASURE = "CMS136FHIRChildADHDMedFollowUp"


@pytest.fixture(scope="module")
def only_cms136(tmp_path_factory):
    """A measures folder holding CMS136's definition only (the engine runs every file of the folder)."""
    folder = tmp_path_factory.mktemp("measures")
    shutil.copy(measure_definitions()[MEASURE], folder)
    return folder


@pytest.fixture
def run(only_cms136):
    return lambda con: run_all(con, measures_dir=only_cms136)

OFFICE = {"system": "http://snomed.info/sct", "code": "185464004"}         # Office Visit
PSYCH_MGMT = {"system": "http://www.ama-assn.org/go/cpt", "code": "90849"}  # Psychotherapy and Pharmacologic Management only
VIRTUAL = {"system": "http://www.ama-assn.org/go/cpt", "code": "98970"}     # Virtual Encounter only
INPATIENT = {"system": "http://snomed.info/sct", "code": "183452005"}      # Encounter Inpatient
MENTAL = {"system": "http://snomed.info/sct", "code": "110359009"}         # Mental Behavioral and Neurodevelopmental Disorders
CLONIDINE = {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "884173"}
GUANFACINE = {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197745"}
AMBULATORY_SITE = {"system": "http://snomed.info/sct", "code": "35971002"}  # in "Ambulatory"
HOSPITAL = {"system": "http://snomed.info/sct", "code": "22232009"}         # a hospital: not in "Ambulatory"
RX_DIAGNOSIS_TYPE = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"


def test_rollout_lays_intervals_end_to_end_and_cumulative_duration_collapses_them(run):
    con = duckdb.connect()
    load(con, {"x": [patient("x", "2000-01-01")]})
    run(con)  # the IR and the shared blocks (the table macros)
    con.execute("""CREATE TEMP TABLE iv AS SELECT * FROM (VALUES
        ('p', 'a', DATE '2026-01-01', DATE '2026-01-10'),   -- 10 days, stays
        ('p', 'a', DATE '2026-01-05', DATE '2026-01-07'),   -- 3 days overlapping it: moved to Jan 11-13
        ('p', 'a', DATE '2026-01-20', DATE '2026-01-25'),   -- after the gap: stays
        ('p', 'a', DATE '2026-01-20', DATE '2026-01-25'),   -- the same interval again (return all): Jan 26-31
        ('p', 'b', DATE '2026-01-05', DATE '2026-01-07'),   -- another list is rolled out on its own: stays
        ('p', 'b', NULL, NULL)                              -- no period: not an interval
        ) t(person_id, list_key, lo, hi)""")
    rolled = con.execute("SELECT list_key, lo, hi FROM rollout_intervals('iv') ORDER BY ALL").fetchall()
    d = lambda s: __import__("datetime").date.fromisoformat(s)  # noqa: E731
    assert rolled == [("a", d("2026-01-01"), d("2026-01-10")), ("a", d("2026-01-11"), d("2026-01-13")),
                      ("a", d("2026-01-20"), d("2026-01-25")), ("a", d("2026-01-26"), d("2026-01-31")),
                      ("b", d("2026-01-05"), d("2026-01-07"))]
    # collapse per day: Jan 1-13 (13 days, the adjacent 10 + 3 merge) and Jan 20-31 (12 days); list b: 3 days
    con.execute("CREATE TEMP TABLE r AS SELECT * FROM rollout_intervals('iv')")
    assert con.execute("SELECT list_key, days FROM cumulative_duration('r') ORDER BY 1").fetchall() == [("a", 25), ("b", 3)]
    # without the rollout the overlapping orders count their days once: 10 + 6 = 16 for list a
    assert con.execute("SELECT days FROM cumulative_duration('iv') WHERE list_key = 'a'").fetchall() == [(16,)]


def order(oid, coding, start, days, status="completed"):
    return {"resourceType": "MedicationRequest", "id": oid, "status": status, "intent": "order",
            "medicationCodeableConcept": {"coding": [coding]}, "authoredOn": start,
            "dispenseRequest": {"expectedSupplyDuration": {"value": days, "system": "http://unitsofmeasure.org",
                                                           "code": "d"}}}


def child(pid, *extra):
    # born 2017-06-01: 7 on 2025-03-01, 8 on 2026-02-28; a Qualifying Encounter (office visit) on 2025-12-01, within
    # 6 months before the IPSD of 2026-01-02
    return [patient(pid, "2017-06-01"), encounter(f"{pid}-q", OFFICE, "2025-12-01T10:00:00Z", "2025-12-01T10:30:00Z"),
            *extra]


def visit(eid, coding, day, **extra):
    e = encounter(eid, coding, f"{day}T10:00:00Z", f"{day}T10:30:00Z")
    e.update(extra)
    return e


def test_cms136_same_class_orders_roll_out_different_classes_collapse(run):
    # "ADHD Cumulative Medication Duration" >= 210 (Group_2's initial population): two 105-day clonidine orders from
    # the IPSD (2026-01-02) roll out end to end (210 days); a clonidine and a guanfacine order, each 105 days from
    # the IPSD, are rolled out per class, then collapsed together: 105 days.
    con = duckdb.connect()
    load(con, {
        "same": child("same", order("s1", CLONIDINE, "2026-01-02", 105), order("s2", CLONIDINE, "2026-01-02", 105)),
        "two": child("two", order("t1", CLONIDINE, "2026-01-02", 105), order("t2", GUANFACINE, "2026-01-02", 105)),
    })
    run(con)
    got = con.execute("""SELECT person_id, population_group, initial_population FROM measure_populations
                         WHERE level = 'group' AND measure_id = '366' ORDER BY ALL""").fetchall()
    assert got == [("same", "Group_1", 1), ("same", "Group_2", 1), ("two", "Group_1", 1)]


def test_cms136_intake_period_and_prior_active_medication(run):
    # the IPSD is the first order starting in the Intake Period [2025-03-01, 2026-02-28] with no active ADHD order
    # in the 120 days before it
    con = duckdb.connect()
    load(con, {
        # starts 2026-03-01, after the Intake Period: no IPSD
        "late": child("late", order("l1", CLONIDINE, "2026-03-01", 30)),
        # an active order 2025-10-01 (90 days, to 2025-12-29) overlaps the 120 days before 2026-01-02: that order is
        # not new; the active one (starting 2025-10-01) is the IPSD instead, and the 2025-12-01 visit is not during
        # day of [2025-04-01, 2025-10-01]: no Qualifying Encounter
        "prior": child("prior", order("p0", GUANFACINE, "2025-10-01", 90, status="active"),
                       order("p1", CLONIDINE, "2026-01-02", 30)),
        # a completed (not active) earlier order does not make the patient "previously on" medication
        "done": child("done", order("d0", GUANFACINE, "2025-12-01", 10), order("d1", CLONIDINE, "2026-01-02", 30)),
    })
    run(con)
    got = {k[0]: v[0] for k, v in pops(con, "366").items()}
    # "done": the 2025-12-01 completed order is itself new (IPSD 2025-12-01) and the visit is on that day: IP
    assert got == {"done": 1}


def test_cms136_inpatient_stay_excludes_by_the_claims_principal_diagnosis(run):
    # "Inpatient Stay with Qualifying Diagnosis" starting 30 days or less after day of the IPSD removes the patient
    # from Initial Population 1. CQMCommon 5.1.000 hasPrincipalDiagnosisOf() reads the principal diagnosis from an
    # active Claim whose item bills the encounter (claimDiagnosis()), not from Encounter.diagnosis.
    def stay(eid, day):
        return visit(eid, INPATIENT, day, diagnosis=[{"condition": {"reference": f"Condition/{eid}-c"}, "rank": 1,
                                                       "use": {"coding": [{"system": "http://terminology.hl7.org/"
                                                                           "CodeSystem/diagnosis-role", "code": "billing"}]}}])

    def claim(cid, eid, billed_sequence=1, status="active"):
        return {"resourceType": "Claim", "id": cid, "status": status, "use": "claim",
                "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [MENTAL]},
                               "type": [{"coding": [{"system": RX_DIAGNOSIS_TYPE, "code": "principal"}]}]}],
                "item": [{"sequence": 1, "diagnosisSequence": [billed_sequence],
                          "encounter": [{"reference": f"Encounter/{eid}"}]}]}

    con = duckdb.connect()
    med = lambda p: order(f"{p}-m", CLONIDINE, "2026-01-02", 30)  # noqa: E731
    load(con, {
        # a claim's principal diagnosis in the value set, stay on day 10: excluded from the initial population
        "claimed": child("claimed", med("claimed"), stay("claimed-i", "2026-01-12"), claim("claimed-cl", "claimed-i")),
        # the same stay with only Encounter.diagnosis (rank 1, billing) and no claim: not excluded
        "encdx": child("encdx", med("encdx"), stay("encdx-i", "2026-01-12"),
                       {"resourceType": "Condition", "id": "encdx-i-c", "code": {"coding": [MENTAL]}}),
        # the claim bills the encounter but its item points at diagnosis sequence 2: no principal diagnosis billed
        "unbilled": child("unbilled", med("unbilled"), stay("unbilled-i", "2026-01-12"),
                          claim("unbilled-cl", "unbilled-i", billed_sequence=2)),
        # a cancelled claim does not count
        "cancelled": child("cancelled", med("cancelled"), stay("cancelled-i", "2026-01-12"),
                           claim("cancelled-cl", "cancelled-i", status="cancelled")),
        # the stay on the IPSD itself is not "30 days or less after" it: not excluded
        "sameday": child("sameday", med("sameday"), stay("sameday-i", "2026-01-02"), claim("sameday-cl", "sameday-i")),
    })
    run(con)
    got = {k[0]: v[0] for k, v in pops(con, "366").items()}
    assert got == {"encdx": 1, "unbilled": 1, "cancelled": 1, "sameday": 1}


def test_cms136_psychotherapy_counts_at_an_ambulatory_location_and_continuation_visits_are_distinct_dates(run):
    con = duckdb.connect()
    med = lambda p: order(f"{p}-m", CLONIDINE, "2026-01-02", 210)  # noqa: E731  # 210 days: Group_2 too
    ambulatory = {"resourceType": "Location", "id": "amb", "type": [{"coding": [AMBULATORY_SITE]}]}
    hospital = {"resourceType": "Location", "id": "hosp", "type": [{"coding": [HOSPITAL]}]}
    at = lambda loc: [{"location": {"reference": f"Location/{loc}"}}]  # noqa: E731
    load(con, {
        # psychotherapy and pharmacologic management at an ambulatory site 10 days after the IPSD: Numerator 1; then
        # office visits on days 40 and 100: Numerator 2
        "amb": child("amb", med("amb"), ambulatory, visit("amb-1", PSYCH_MGMT, "2026-01-12", location=at("amb")),
                     visit("amb-2", OFFICE, "2026-02-11"), visit("amb-3", OFFICE, "2026-04-12")),
        # the same at a hospital location: not a numerator encounter
        "hosp": child("hosp", med("hosp"), hospital, visit("hosp-1", PSYCH_MGMT, "2026-01-12", location=at("hosp")),
                      visit("hosp-2", OFFICE, "2026-02-11"), visit("hosp-3", OFFICE, "2026-04-12")),
        # two continuation-phase office visits on the same day count once: not Numerator 2
        "sameday": child("sameday", med("sameday"), visit("sd-1", OFFICE, "2026-01-12"),
                         visit("sd-2", OFFICE, "2026-02-11"), visit("sd-3", OFFICE, "2026-02-11")),
        # one continuation-phase office visit and a virtual encounter on another day: Numerator 2
        "virtual": child("virtual", med("virtual"), visit("v-1", OFFICE, "2026-01-12"),
                         visit("v-2", OFFICE, "2026-02-11"), visit("v-3", VIRTUAL, "2026-03-01")),
        # ... but a virtual encounter on the visit's own day does not
        "virtsame": child("virtsame", med("virtsame"), visit("vs-1", OFFICE, "2026-01-12"),
                          visit("vs-2", OFFICE, "2026-02-11"), visit("vs-3", VIRTUAL, "2026-02-11")),
    })
    run(con)
    got = con.execute("""SELECT person_id, population_group, numerator FROM measure_populations
                         WHERE level = 'group' AND measure_id = '366' ORDER BY ALL""").fetchall()
    assert got == [("amb", "Group_1", 1), ("amb", "Group_2", 1), ("hosp", "Group_1", 0), ("hosp", "Group_2", 0),
                   ("sameday", "Group_1", 1), ("sameday", "Group_2", 0), ("virtsame", "Group_1", 1),
                   ("virtsame", "Group_2", 0), ("virtual", "Group_1", 1), ("virtual", "Group_2", 1)]


def test_a_shared_location_read_without_a_patient_still_types_the_encounter(run):
    # GetLocation() is a retrieve of Location outside the patient compartment: a Location read from NDJSON (no
    # owning patient, person_id NULL) is found by its id
    con = duckdb.connect()
    load(con, {"amb": child("amb", order("m", CLONIDINE, "2026-01-02", 30),
                            visit("e1", PSYCH_MGMT, "2026-01-12", location=[{"location": {"reference": "Location/shared"}}]))})
    con.execute("""INSERT INTO fhir_resource VALUES ('locations.ndjson', 1, NULL, 'Location', 'shared',
                   '{"resourceType": "Location", "id": "shared", "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "440655000"}]}]}')""")
    run(con)
    assert pops(con, "366")[("amb", None)][4] == 1


def test_the_run_says_the_principal_diagnosis_value_set_is_filled_from_an_earlier_expansion(run):
    # "Mental Behavioral and Neurodevelopmental Disorders": the deck has 1000 of its 3141 codes; the supplement adds
    # the 2195 more of VSAC's 2024-05-02 expansion (data/ecqm/supplemental_value_set_codes.csv): 3195 codes, still
    # not the current expansion, so every run using it says so
    con = duckdb.connect()
    load(con, {"x": [patient("x", "2017-06-01")]})
    notes = " ".join(run(con).notes)
    assert ("Mental Behavioral and Neurodevelopmental Disorders (3,195 codes of an earlier published expansion; "
            "the current one has 3,141)") in notes


def test_cms128_a_dispense_without_a_period_adds_no_treatment_days(tmp_path):
    # CMS128 (009) now uses the shared cumulative_duration block. A dispense whose medicationDispensePeriod() is null
    # (no daysSupply, no quantity) intersects the treatment window to null, which collapse leaves out: 30 days from
    # the IPSD dispense only, below 84. (DuckDB's greatest/least skip a NULL bound: before, that dispense counted as
    # the whole 115-day window and met Numerator 1.)
    folder = tmp_path / "measures"
    folder.mkdir()
    shutil.copy(measure_definitions()["CMS128FHIRAntidepressantMgmt"], folder)
    doxepin = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1000048"}]}

    def dispense(did, when, **extra):
        return {"resourceType": "MedicationDispense", "id": did, "status": "completed",
                "medicationCodeableConcept": doxepin, "whenHandedOver": when, **extra}

    con = duckdb.connect()
    load(con, {"p": [patient("p", "1990-01-01"),
                     encounter("p-e", OFFICE, "2026-01-10T10:00:00Z", "2026-01-10T10:30:00Z"),
                     {"resourceType": "Condition", "id": "p-c", "onsetDateTime": "2026-01-10",
                      "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F32.1"}]}},
                     dispense("d1", "2026-01-10", daysSupply={"value": 30, "unit": "d", "code": "d",
                                                               "system": "http://unitsofmeasure.org"}),
                     dispense("d2", "2026-02-15")]})
    run_all(con, measures_dir=folder)
    assert con.execute("""SELECT population_group, initial_population, numerator FROM measure_populations
                          WHERE level = 'group' AND measure_id = '009' ORDER BY 1""").fetchall() == [
        ("Group_1", 1, 0), ("Group_2", 1, 0)]
