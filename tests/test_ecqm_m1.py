"""Hand-made records for rules of CMS2, CMS139 and CMS22 that CMS's development cases do not exercise (or exercise
only once); each case's comment says which CQL rule decides it. The helpers are those of test_ecqm_engine."""
from __future__ import annotations

import duckdb

from tests.test_ecqm_engine import OFFICE_VISIT, encounter, load, pops, patient, run

FALLS_SCREENING = {"system": "http://loinc.org", "code": "52552-7"}  # in Falls Screening
DEPRESSION_SCREEN_VISIT = {"system": "http://snomed.info/sct", "code": "10197000"}  # in Encounter to Screen for Depression
BP_SCREEN_VISIT = {"system": "http://snomed.info/sct", "code": "103705002"}  # in Encounter to Screen for Blood Pressure
SNOMED = "http://snomed.info/sct"


def observation(oid, code, when, value_coding=None, status="final", **extra):
    r = {"resourceType": "Observation", "id": oid, "status": status, "code": {"coding": [code]},
         "effectiveDateTime": when, **extra}
    if value_coding:
        r["valueCodeableConcept"] = {"coding": [value_coding]}
    return r


def test_cms139_numerator_is_a_falls_screening_during_the_period():
    # "Numerator": Falls Screening assessment, final/amended/corrected, effective during day of the period.
    con = duckdb.connect()
    visit = encounter("v", OFFICE_VISIT, "2026-04-01T09:00:00Z", "2026-04-01T09:30:00Z")
    load(con, {
        "in": [patient("in", "1950-01-01"), visit, observation("s", FALLS_SCREENING, "2026-12-31T23:00:00Z")],
        "before": [patient("before", "1950-01-01"), visit, observation("s", FALLS_SCREENING, "2025-12-31T23:00:00Z")],
        "prelim": [patient("prelim", "1950-01-01"), visit,
                   observation("s", FALLS_SCREENING, "2026-05-01", status="preliminary")],
        # 64 on January 1 (AgeInYearsAt start of the period): not in the initial population
        "young": [patient("young", "1961-01-02"), visit, observation("s", FALLS_SCREENING, "2026-05-01")],
    })
    run(con)
    p = pops(con, "318")
    assert p[("in", None)][4] == 1 and p[("before", None)][4] == 0 and p[("prelim", None)][4] == 0
    assert ("young", None) not in p


def test_cms2_exception_needs_no_qualifying_screening_and_the_age_picks_the_screening():
    # Denominator exception (the CQL's commented-out logic): screening declined, issued during day of a
    # qualifying encounter, and no qualifying screening of that kind. Numerator: age 12-16 at the start of the
    # period uses the adolescent screening (73831-0), 18+ the adult one (73832-8).
    con = duckdb.connect()
    visit = encounter("v", DEPRESSION_SCREEN_VISIT, "2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z")
    declined = {"resourceType": "Observation", "id": "d", "status": "cancelled",
                "code": {"coding": [{"system": "http://loinc.org", "code": "73832-8"}]},
                "issued": "2026-06-01T09:10:00Z",
                "extension": [{"url": "http://fhir.org/guides/astp/us-quality-core/StructureDefinition/"
                                      "us-quality-core-notDoneReason",
                               "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "720834000"}]}}]}
    negative = {"system": SNOMED, "code": "428171000124102"}
    adult_negative = observation("n", {"system": "http://loinc.org", "code": "73832-8"}, "2026-05-25", negative)
    load(con, {
        "declined": [patient("declined", "1980-01-01"), visit, declined],
        "declined_but_screened": [patient("declined_but_screened", "1980-01-01"), visit, declined, adult_negative],
        "teen_adult_tool": [patient("teen_adult_tool", "2012-01-01"), visit, adult_negative],
        # screened 15 days before the encounter: not "14 days or less on or before"
        "too_early": [patient("too_early", "1980-01-01"), visit,
                      observation("n", {"system": "http://loinc.org", "code": "73832-8"}, "2026-05-17", negative)],
    })
    run(con)
    p = pops(con, "134")
    assert p[("declined", None)][3:5] == (1, 0)
    assert p[("declined_but_screened", None)][3:5] == (0, 1)
    assert p[("teen_adult_tool", None)][4] == 0  # 14 at the start of the period: the adult tool does not count
    assert p[("too_early", None)][4] == 0


def test_cms22_first_reading_versus_second_within_a_year():
    # A hypertensive reading (>= 130 or >= 80) is "first" unless the last reading ending 1 year or less before the
    # encounter's start was hypertensive. A first reading is met by a 4-week rescreen that day and a
    # non-pharmacological intervention; a second 130-139 reading needs a 6-month rescreen, a lab/ECG order and a
    # non-pharmacological intervention (or a referral), so the same orders leave it unmet.
    con = duckdb.connect()

    def bp(oid, when, sbp, dbp):
        comp = [{"code": {"coding": [{"system": "http://loinc.org", "code": c}]},
                 "valueQuantity": {"value": v, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
                for c, v in (("8480-6", sbp), ("8462-4", dbp))]
        return {"resourceType": "Observation", "id": oid, "status": "final", "effectiveDateTime": when,
                "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}, "component": comp}

    def order(oid, code):
        return {"resourceType": "ServiceRequest", "id": oid, "status": "active", "intent": "order",
                "code": {"coding": [{"system": SNOMED, "code": code}]}, "authoredOn": "2026-06-01T09:20:00Z"}

    # a 4-week rescreen (Follow Up Within 4 Weeks) and a dietitian referral (NonPharmacological Interventions)
    follow_up = [order("f", "183617005"), order("d", "103699006")]
    visit = encounter("v", BP_SCREEN_VISIT, "2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z")
    load(con, {
        "first": [patient("first", "1970-01-01"), visit, bp("b", "2026-06-01T09:05:00Z", 135, 70), *follow_up],
        "second": [patient("second", "1970-01-01"), visit, bp("a", "2025-12-01T09:05:00Z", 150, 95),
                   bp("b", "2026-06-01T09:05:00Z", 135, 70), *follow_up],
    })
    run(con)
    p = pops(con, "317")
    assert p[("first", "Encounter/v")][4] == 1
    assert p[("second", "Encounter/v")][4] == 0
