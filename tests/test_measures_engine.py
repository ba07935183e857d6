"""Measure engine on tiny hand-made claims, real CMS specifications of PY2019 (modifierExclusions, no optionGroup)
and PY2023 (optionGroup, ICD-10 quality codes). Rules cited from ../shared/spec/claims-measure-logic.md.
Counts are (eligible_population, exclusion, exception, met, not_met)."""
from __future__ import annotations

from datetime import date

import pytest

from mips.errors import PipelineError
from tests.measure_fixtures import NPI, NPI2, TIN, TIN2, claim, counts, encounter, new_db, person
from transforms.measures import compute_measures


def run(con, year: int, start: date | None = None, end: date | None = None, **kw) -> None:
    compute_measures(con, performance_year=year, period_start=start or date(year, 1, 1),
                     period_end=end or date(year, 12, 31), **kw)


def instance_results(con, measure_id: str, level: str = "individual", npi: str | None = NPI) -> list:
    return con.execute("SELECT instance_key, result FROM measure_instances WHERE measure_id = ? AND level = ? "
                       "AND npi IS NOT DISTINCT FROM ? ORDER BY instance_key",
                       [measure_id, level, None if level == "group" else npi]).fetchall()


# --- patient class, age bounds, intermediate outcome, inverse --------------------------------------------------

def test_001_2023_intermediate_outcome_latest_qdc_and_age_bounds():
    # 001 (inverse, intermediate outcome), ages 18-75, diabetes dx, office visit 99213.
    con = new_db()
    for p, birth in [("p1", "1960-01-01"), ("p2", "1960-01-01"), ("p3", "1960-01-01"),
                     ("old76", "1947-01-01"), ("under76", "1947-07-01"), ("young17", "2005-07-01")]:
        person(con, p, birth)
    claim(con, "c1", "p1", "2023-03-01", ["99213", "3044F"], ["E119"])      # not met (A1c < 7)
    claim(con, "c2", "p1", "2023-06-01", ["99213", "3046F"], ["E119"])      # met (poor control), most recent QDC -> met
    claim(con, "c3", "p2", "2023-03-01", ["99213", "3044F"], ["E119"])      # not met ...
    claim(con, "c4", "p2", "2023-09-01", ["99213"], ["E119"])               # ... a later visit without QDC does not override
    claim(con, "c5", "p3", "2023-05-01", ["99213"], ["E119"])               # no QDC at all: eligible, unreported
    claim(con, "c6", "old76", "2023-06-15", ["99213", "3044F"], ["E119"])   # 76 years old: above maxAge 75
    claim(con, "c7", "under76", "2023-06-15", ["99213", "3046F-8P"], ["E119"])  # 75y11m is "under 76": eligible; 3046F-8P listed as met
    claim(con, "c8", "young17", "2023-06-15", ["99213", "3044F"], ["E119"])   # 17y11m: below minAge 18
    run(con, 2023)
    # eligible p1, p2, p3, under76 = 4; met p1 + under76 = 2; not met p2 = 1; p3 unreported
    assert counts(con, "001") == (4, 0, 0, 2, 1)
    row = con.execute("SELECT reporting_rate, performance_rate, is_inverse, collection_type, meets_case_minimum "
                      "FROM measure_results WHERE measure_id = '001' AND level = 'individual'").fetchone()
    assert row[0] == pytest.approx(75.0) and row[1] == pytest.approx(200 / 3) and row[2] is True
    assert row[3] == "claims" and row[4] is False  # 4 < case minimum 20
    decided = dict(con.execute("SELECT person_id, decided_by_claim_id FROM measure_instances WHERE measure_id = '001' "
                               "AND level = 'individual'").fetchall())
    assert decided["p1"] == "c2" and decided["p2"] == "c3"


def test_047_2023_patient_class_most_advantageous_pos_and_modifier_convention():
    # 047 advance care plan: age >= 65; 90791 has placesOfServiceExclusions ['23'].
    con = new_db()
    for p in ["p1", "p2", "p4", "p5", "p6", "p7"]:
        person(con, p, "1950-01-01")
    person(con, "p3", "1960-01-01")
    claim(con, "a1", "p1", "2023-02-01", ["90791", "1123F-8P"])      # not met ...
    claim(con, "a2", "p1", "2023-03-01", ["90791", "1123F"])         # ... and met: most advantageous is met
    claim(con, "a3", "p2", "2023-02-01", ["90791", "1123F"], pos="23")  # place of service 23 excluded: not eligible
    claim(con, "a4", "p3", "2023-02-01", ["90791", "1123F"])         # 63 years old: not eligible
    claim(con, "a5", "p4", "2023-02-01", ["90791", "1123F-8P"])      # 8P never matches the plain 1123F (met): not met
    claim(con, "a6", "p5", "2023-02-01", ["90791", "G9692"])         # exclusion ...
    claim(con, "a7", "p5", "2023-04-01", ["90791", "1123F-8P"])      # ... beats not met
    claim(con, "a8", "p6", "2023-02-01", ["90791"])                  # eligible visit without QDC ...
    claim(con, "a9", "p6", "2023-02-01", ["1123F"])                  # ... QDC on another claim the same day: does not count
    claim(con, "a10", "p7", "2023-02-01", ["90791", "1124F-1P"])     # 1P listed nowhere for 1124F: matches nothing
    run(con, 2023)
    # eligible p1, p4, p5, p6, p7 = 5; exclusion p5; met p1; not met p4; p6 and p7 unreported
    assert counts(con, "047") == (5, 1, 0, 1, 1)


def test_039_2023_icd10_quality_code_matches_claim_diagnoses_and_sex():
    # 039 (female, 65-85): ICD-10 codes listed as quality codes are denominator exclusions matched on diagnoses.
    con = new_db()
    person(con, "f1", "1950-01-01", "female")
    person(con, "m1", "1950-01-01", "male")
    person(con, "f2", "1950-01-01", "female")
    claim(con, "b1", "f1", "2023-02-01", ["99203"], ["M8000XA"])   # diagnosis M80.00XA on the claim: exclusion
    claim(con, "b2", "m1", "2023-02-01", ["99203"], ["M8000XA"])   # male: not eligible
    claim(con, "b3", "f2", "2023-02-01", ["99203"])                # eligible, no result ...
    claim(con, "b4", "f2", "2023-03-01", ["G0438"], ["M8000XA"])   # ... diagnosis on a non-eligible claim does not count
    run(con, 2023)
    assert counts(con, "039") == (2, 1, 0, 0, 0)


# --- multiple strata and option groups ------------------------------------------------------------------------

def test_226_2023_strata_follow_option_groups():
    # 226 PY2023: group 00 = 'screened', 01 = 'overall' (intervention: needs G9902 on the claim), 02 = 'combinedPopulations'.
    con = new_db()
    for p in ["p1", "p2", "p3"]:
        person(con, p, "1980-01-01")
    claim(con, "t1", "p1", "2023-02-01", ["99213", "G9902", "G9906"])  # user screened (00 met) + intervention (01 met: G9902+G9906)
    claim(con, "t2", "p2", "2023-02-01", ["99213", "G9903"])           # non-user screened: 00 met; not eligible for 01
    claim(con, "t3", "p3", "2023-02-01", ["99213", "G9906"])           # G9906 is a group-01 code; claim not eligible via 01: no result
    run(con, 2023)
    assert counts(con, "226", stratum="screened") == (3, 0, 0, 2, 0)
    assert counts(con, "226", stratum="overall") == (1, 0, 0, 1, 0)
    assert counts(con, "226", stratum="combinedPopulations") == (3, 0, 0, 0, 0)


def test_226_2019_override_shape_and_modifiers():
    # 226 PY2019 file lists each stratum as one option holding all codes; the project override splits them.
    con = new_db()
    for p in ["p1", "p2", "p3"]:
        person(con, p, "1980-01-01")
    claim(con, "t1", "p1", "2019-02-01", ["99213", "G9902", "G9906"])  # screenedForUse met; 'overall' (needs G9902) met
    claim(con, "t2", "p2", "2019-02-01", ["99213", "4004F-8P"])        # 'tobacco' stratum: not met
    claim(con, "t3", "p3", "2019-02-01", ["99213", "4004F-1P"])        # 'tobacco' stratum: exception (1P entry)
    run(con, 2019)
    assert counts(con, "226", stratum="screenedForUse") == (3, 0, 0, 1, 0)
    assert counts(con, "226", stratum="overall") == (1, 0, 0, 1, 0)
    assert counts(con, "226", stratum="tobacco") == (3, 0, 1, 0, 1)


# --- procedure, visit, episode, 30-day, flu season, second encounter ------------------------------------------

def test_406_2023_procedure_class_inverse_and_all_codes_of_an_option():
    # 406 (inverse, procedure class): options need two codes each (G9552 + G9554 met, G9552 + G9556 not met).
    con = new_db()
    for p in ["p1", "p2", "p3"]:
        person(con, p, "1970-01-01")
    claim(con, "r1", "p1", "2023-02-01", ["70486", "G9552", "G9554"])   # met ...
    claim(con, "r2", "p1", "2023-02-01", ["70486", "G9552", "G9556"])   # ... and not met the same day: inverse keeps not met
    claim(con, "r3", "p1", "2023-05-01", ["70486", "G9552", "G9554"])   # another date: a second instance, met
    claim(con, "r4", "p2", "2023-02-01", ["70486", "G9554"])            # G9554 without G9552: no option matches
    claim(con, "r5", "p3", "2023-02-01", ["70486-GT", "G9552", "G9554"])  # telehealth modifier excluded: not eligible
    run(con, 2023)
    # instances: p1@02-01 (not met), p1@05-01 (met), p2@02-01 (unreported) = 3
    assert counts(con, "406") == (3, 0, 0, 1, 1)


def test_146_2019_inverse_procedure_exception_exclusion_order():
    # 146 (inverse): met = 3343F, every other code not met. Two claims the same day -> not met wins.
    con = new_db()
    person(con, "p1", "1960-01-01")
    claim(con, "s1", "p1", "2019-03-01", ["77067", "3343F"], ["Z1231"])
    claim(con, "s2", "p1", "2019-03-01", ["77067", "3340F"], ["Z1231"])
    claim(con, "s3", "p1", "2019-04-01", ["77067", "3343F"])   # no Z12.31 diagnosis: not eligible
    run(con, 2019)
    assert counts(con, "146") == (1, 0, 0, 0, 1)


def test_130_2019_visit_class_counts_each_eligible_line():
    con = new_db()
    person(con, "p1", "1960-01-01")
    claim(con, "v1", "p1", "2019-02-01", ["90791", "99213", "G8427"])  # two eligible encounter lines, one met QDC: 2 met
    claim(con, "v2", "p1", "2019-03-01", ["99213"])                    # one line, unreported
    run(con, 2019)
    assert counts(con, "130") == (3, 0, 0, 2, 0)


def test_418_2019_episode_of_a_diagnosis():
    # 418 (female 50-85, fracture dx). Claims sharing a qualifying diagnosis are one episode (connected by chains).
    con = new_db()
    person(con, "f1", "1950-01-01", "female")
    claim(con, "e1", "f1", "2019-01-10", ["99213", "3095F"], ["M4840XA"])           # episode A, met
    claim(con, "e2", "f1", "2019-02-10", ["99213"], ["M4840XA"])                    # episode A
    claim(con, "e3", "f1", "2019-03-10", ["99213"], ["M4841XA"])                    # episode B
    claim(con, "e4", "f1", "2019-04-10", ["99213"], ["M4841XA", "M4842XA"])         # links M48.42XA to episode B
    claim(con, "e5", "f1", "2019-05-10", ["99213", "3095F-8P"], ["M4842XA"])        # episode B via e4: not met
    run(con, 2019)
    assert counts(con, "418") == (2, 0, 0, 1, 1)


def test_episode_grouping_that_does_not_settle_is_an_error_not_an_undercount(monkeypatch):
    # The same chain as above needs more than one propagation pass (e3 -> e4 -> e5 reach one label only through
    # M48.42XA); with a cap of 1 pass the engine must refuse rather than count e5 as an episode of its own.
    import transforms.measures as engine
    monkeypatch.setattr(engine, "EPISODE_PROPAGATION_MAX_PASSES", 1)
    con = new_db()
    person(con, "f1", "1950-01-01", "female")
    claim(con, "e3", "f1", "2019-03-10", ["99213"], ["M4841XA"])
    claim(con, "e4", "f1", "2019-04-10", ["99213"], ["M4841XA", "M4842XA"])
    claim(con, "e5", "f1", "2019-05-10", ["99213", "3095F-8P"], ["M4842XA"])
    with pytest.raises(PipelineError, match="did not settle after 1 passes"):
        run(con, 2019)


def test_091_2019_thirty_day_episode_earliest_result_counts():
    con = new_db()
    person(con, "p1", "1990-01-01")
    claim(con, "w1", "p1", "2019-01-01", ["99213"], ["H60311"])            # opens window 1 (Jan 1 - Jan 30)
    claim(con, "w2", "p1", "2019-01-20", ["99213", "4130F"], ["H60311"])   # earliest result in window 1: met
    claim(con, "w3", "p1", "2019-01-30", ["99213", "4130F-8P"], ["H60311"])  # later in window 1: ignored
    claim(con, "w4", "p1", "2019-02-05", ["99213", "4130F-8P"], ["H60311"])  # opens window 2: not met (earliest)
    claim(con, "w5", "p1", "2019-02-15", ["99213", "4130F"], ["H60311"])   # later in window 2: ignored
    claim(con, "w6", "p1", "2019-03-01", ["99213-GT", "4130F"], ["H60311"])  # telehealth modifier: not eligible
    run(con, 2019)
    assert counts(con, "091") == (2, 0, 0, 1, 1)


def test_110_2023_flu_season_instances():
    con = new_db()
    person(con, "p1", "1960-01-01")
    person(con, "baby4m", "2023-01-10")
    person(con, "baby7m", "2022-11-01")
    claim(con, "f1", "p1", "2023-02-01", ["99213", "G8482"])   # season 2022-23: met
    claim(con, "f2", "p1", "2023-06-01", ["99213", "G8484"])   # June: outside flu season, no instance
    claim(con, "f3", "p1", "2023-11-01", ["99213", "G8484"])   # season 2023-24: not met
    claim(con, "f4", "baby4m", "2023-05-30", ["99213"])        # June is outside the season anyway ...
    claim(con, "f5", "baby4m", "2023-03-01", ["99213"])        # ... 1 month old: below minAge 0.5
    claim(con, "f6", "baby7m", "2023-06-01", ["99213"])        # outside the season
    claim(con, "f7", "baby7m", "2023-10-01", ["99213"])        # 11 months: eligible, unreported
    run(con, 2023)
    assert counts(con, "110") == (3, 0, 0, 1, 1)


def test_435_2019_second_encounter():
    con = new_db()
    for p in ["p1", "p2", "p3", "p4"]:
        person(con, p, "1980-01-01")
    claim(con, "m1", "p1", "2019-02-01", ["99213", "G9634"], ["G43001"])   # seen once: not an instance
    claim(con, "m2", "p2", "2019-02-01", ["99213", "G9634"], ["G43001"])   # first encounter only qualifies (its met ignored)
    claim(con, "m3", "p2", "2019-04-01", ["99213", "G9636"], ["G43001"])   # later claim: not met
    claim(con, "m4", "p3", "2019-02-01", ["99213"], ["G43001"])
    claim(con, "m5", "p3", "2019-05-01", ["99213", "G9634"], ["G43001"])   # met
    claim(con, "m6", "p4", "2019-02-01", ["99213"], ["G43001"])
    claim(con, "m7", "p4", "2019-05-01", ["99213"], ["G43001"], pos="02")  # telehealth POS excluded: p4 seen once
    run(con, 2019)
    assert counts(con, "435") == (2, 0, 0, 1, 1)


# --- eligibility code roles ----------------------------------------------------------------------------------

def test_254_2019_additional_diagnosis_and_places_of_service():
    con = new_db()
    for p in ["f1", "f2", "f3", "f4"]:
        person(con, p, "1995-01-01", "female")
    claim(con, "d1", "f1", "2019-02-01", ["99283", "G8806"], ["O26891", "R100"], pos="23")  # dx + additional dx, ED: met
    claim(con, "d2", "f2", "2019-02-01", ["99283", "G8806"], ["O26891", "R100"], pos="11")  # placesOfService ['23'] only
    claim(con, "d3", "f3", "2019-02-01", ["99283", "G8806"], ["O26891"], pos="23")          # no additional diagnosis
    claim(con, "d4", "f4", "2019-02-01", ["99283"], ["O26891", "O200"], pos="23")           # option 2's additional dx: eligible
    run(con, 2019)
    assert counts(con, "254") == (2, 0, 0, 1, 0)


def test_155_2019_additional_procedure_code_and_its_modifiers():
    # 155 needs additional procedure code 1100F (falls history); 1100F-1P does not satisfy it (modifier convention).
    con = new_db()
    for p in ["p1", "p2", "p3"]:
        person(con, p, "1950-01-01")
    claim(con, "h1", "p1", "2019-02-01", ["92540", "1100F", "0518F"])      # eligible, met
    claim(con, "h2", "p2", "2019-02-01", ["92540", "1100F-1P", "0518F"])   # 1100F-1P: not eligible
    claim(con, "h3", "p3", "2019-02-01", ["92540", "0518F-8P"])            # no 1100F: not eligible
    run(con, 2019)
    assert counts(con, "155") == (1, 0, 0, 1, 0)


def test_134_2019_diagnosis_exclusion_codes_remove_the_claim():
    con = new_db()
    for p in ["p1", "p2"]:
        person(con, p, "1970-01-01")
    claim(con, "x1", "p1", "2019-02-01", ["59400", "G8431"])              # eligible, met
    claim(con, "x2", "p2", "2019-02-01", ["59400", "G8431"], ["F3110"])   # bipolar dx listed in diagnosisExclusionCodes
    run(con, 2019)
    assert counts(con, "134") == (1, 0, 0, 1, 0)


# --- levels, sources, period ---------------------------------------------------------------------------------

def test_group_level_reforms_instances_across_clinicians():
    con = new_db()
    person(con, "p1", "1950-01-01")
    person(con, "p2", "1950-01-01")
    claim(con, "g1", "p1", "2023-02-01", ["99213", "1123F-8P"], npi=NPI)   # NPI: not met
    claim(con, "g2", "p1", "2023-03-01", ["99213", "1123F"], npi=NPI2)     # NPI2: met
    claim(con, "g3", "p2", "2023-03-01", ["99213"], tin=TIN2)              # another TIN
    run(con, 2023)
    assert counts(con, "047", npi=NPI) == (1, 0, 0, 0, 1)
    assert counts(con, "047", npi=NPI2) == (1, 0, 0, 1, 0)
    # group: p1 is one patient for the TIN, best result met
    assert counts(con, "047", level="group") == (1, 0, 0, 1, 0)
    assert counts(con, "047", level="group", tin=TIN2) == (1, 0, 0, 0, 0)
    run(con, 2023, levels=("group",))
    assert counts(con, "047", npi=NPI) is None and counts(con, "047", level="group") == (1, 0, 0, 1, 0)


def test_reporting_period_restricts_claims():
    con = new_db()
    person(con, "p1", "1950-01-01")
    person(con, "p2", "1950-01-01")
    claim(con, "q1", "p1", "2023-02-01", ["99213", "1123F-8P"])
    claim(con, "q2", "p1", "2023-09-01", ["99213", "1123F"])   # after the mid-year period end
    claim(con, "q3", "p2", "2023-08-01", ["99213"])
    run(con, 2023, date(2023, 1, 1), date(2023, 6, 30))
    assert counts(con, "047") == (1, 0, 0, 0, 1)
    assert con.execute("SELECT DISTINCT period_end FROM measure_results").fetchall() == [(date(2023, 6, 30),)]


@pytest.mark.parametrize("start,end", [(date(2023, 7, 1), date(2023, 6, 30)), (date(2022, 12, 1), date(2023, 6, 30)),
                                       (date(2023, 1, 1), date(2024, 1, 31))])
def test_bad_reporting_period_is_refused(start, end):
    con = new_db()
    with pytest.raises(PipelineError):
        compute_measures(con, performance_year=2023, period_start=start, period_end=end)


def test_unknown_year_source_or_level_is_refused():
    con = new_db()
    with pytest.raises(PipelineError):
        run(con, 2017)   # no claims single source for PY2017
    with pytest.raises(PipelineError):
        run(con, 2023, sources=("cms",))


def test_encounters_source_same_logic_registry_collection_type():
    con = new_db(encounters=True)
    person(con, "p1", "1950-01-01", encounters=True)
    person(con, "p2", "1950-01-01", encounters=True)
    encounter(con, "en1", "p1", "2023-02-01", ["99213", "1123F"])
    encounter(con, "en2", "p2", "2023-02-01", ["99213", "1123F-8P"])
    encounter(con, "en3", "p2", "2023-03-01", ["99213", "G9692"])     # exclusion beats not met
    encounter(con, "en4", "p1", "2023-02-01", ["99213"], ["E119"])
    claim(con, "c1", "p1", "2023-02-01", ["99213"])
    run(con, 2023)
    assert counts(con, "047", source="encounters") == (2, 1, 0, 1, 0)
    assert counts(con, "047", source="claims") == (1, 0, 0, 0, 0)
    ct = con.execute("SELECT DISTINCT source, collection_type FROM measure_results ORDER BY 1").fetchall()
    assert ct == [("claims", "claims"), ("encounters", "registry")]
    # encounter diagnoses come from condition rows: 001 needs the diabetes diagnosis (en4)
    assert counts(con, "001", source="encounters") == (1, 0, 0, 0, 0)


def test_facility_measure_says_not_computed_without_facility_events():
    con = new_db()
    person(con, "p1", "1950-01-01")
    claim(con, "k1", "p1", "2019-02-10", ["99495", "1111F"])
    run(con, 2019)
    row = con.execute("SELECT computed, not_computed_reason, eligible_population, performance_met FROM measure_results "
                      "WHERE measure_id = '046' AND level = 'individual'").fetchone()
    assert row[0] is False and "facility" in row[1] and row[2] is None and row[3] is None
    # with the optional input: one discharge 5 days before the visit -> one instance, met
    con.execute("CREATE TABLE facility_event AS SELECT 'p1' AS person_id, 'inpatient_discharge' AS event_type, "
                "DATE '2019-02-05' AS event_date")
    run(con, 2019)
    assert counts(con, "046") == (1, 0, 0, 1, 0)


def test_no_patient_identifiers_in_measure_results():
    con = new_db()
    person(con, "SECRET-PERSON", "1950-01-01")
    claim(con, "c1", "SECRET-PERSON", "2023-02-01", ["99213", "1123F"])
    run(con, 2023)
    text = str(con.execute("SELECT * FROM measure_results").fetchall())
    assert "SECRET-PERSON" not in text and "1950" not in text


def test_110_2023_age_in_completed_months_at_month_end():
    # minAge 0.5 = six completed months; a month is complete once the birth day-of-month is reached.
    con = new_db()
    person(con, "b1", "2022-08-30")
    person(con, "b2", "2022-08-28")
    claim(con, "y1", "b1", "2023-02-28", ["99213", "G8482"])   # born Aug 30: 5 months on Feb 28 (no day 30): not eligible
    claim(con, "y2", "b2", "2023-02-28", ["99213", "G8482"])   # born Aug 28: 6 months on Feb 28: eligible, met
    run(con, 2023)
    assert counts(con, "110") == (1, 0, 0, 1, 0)


def test_226_2025_intervention_stratum_needs_g9902_although_the_file_dropped_it():
    # spec Known defects: the intervention stratum needs its code on the claim; PY2025's file lost the G9902
    # additionalProcedureCodes that PY2023 lists, restored by data/claims_spec/eligibility_code_additions.csv.
    con = new_db()
    person(con, "p1", "1960-01-01")
    person(con, "p2", "1960-01-01")
    claim(con, "t1", "p1", "2025-02-01", ["99213", "G9903"])            # non-user: 'reporting' stratum only
    claim(con, "t2", "p2", "2025-02-01", ["99213", "G9902", "G9906"])   # user + intervention: 'performance' met
    run(con, 2025)
    assert counts(con, "226", stratum="reporting") == (2, 0, 0, 2, 0)
    assert counts(con, "226", stratum="performance") == (1, 0, 0, 1, 0)
    assert counts(con, "226", stratum="combinedPopulations") == (2, 0, 0, 0, 0)


# --- bad and awkward input -------------------------------------------------------------------------------------

def test_claim_date_is_earliest_line_and_claim_identity_includes_tin_and_npi():
    con = new_db()
    person(con, "p1", "1950-01-01")
    person(con, "p2", "1950-01-01")
    # lines dated 2022-12-31 and 2023-01-02: the claim's date of service is 2022-12-31, outside PY2023
    claim(con, "k1", "p1", "2023-01-02", [("99213", None, "2022-12-31"), ("1123F", None, "2023-01-02")])
    # the same claim_id under another NPI is another claim: its QDC does not reach NPI's claim
    claim(con, "k2", "p2", "2023-03-01", ["99213"], npi=NPI)
    claim(con, "k2", "p2", "2023-03-01", ["1123F"], npi=NPI2)
    run(con, 2023)
    assert counts(con, "047") == (1, 0, 0, 0, 0)          # p2 at NPI, unreported; p1 not in the period
    assert counts(con, "047", npi=NPI2) is None            # NPI2's claim has no eligible procedure line


def test_repeated_lines_and_missing_enrollment_rows():
    con = new_db()
    person(con, "p1", "1950-01-01")
    claim(con, "r1", "p1", "2023-03-01", ["99213", "1123F", "1123F", "99213"])   # repeated lines: still one patient
    claim(con, "r2", "ghost", "2023-03-01", ["99213", "1123F"])                  # no eligibility row: age unknown
    run(con, 2023)
    assert counts(con, "047") == (1, 0, 0, 1, 0)


def test_sources_whose_tables_are_absent_are_skipped():
    import duckdb

    from mips.paths import REFERENCE_DIR
    from transforms.reference import attach_reference
    con = duckdb.connect()
    attach_reference(con, REFERENCE_DIR)
    run(con, 2023)   # neither medical_claim nor encounter: empty outputs, no error
    assert con.execute("SELECT count(*) FROM measure_results").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM measure_instances").fetchone()[0] == 0
    con = new_db()   # claims without the eligibility table: nobody's age is known, nobody is eligible
    con.execute("DROP TABLE eligibility")
    claim(con, "c1", "p1", "2023-03-01", ["99213", "1123F"])
    run(con, 2023)
    assert con.execute("SELECT count(*) FROM measure_results").fetchone()[0] == 0


def test_measure_instances_carry_the_deciding_claim_and_respect_the_grain():
    con = new_db()
    person(con, "p1", "1950-01-01")
    claim(con, "i1", "p1", "2023-02-01", ["99213", "1123F-8P"])
    claim(con, "i2", "p1", "2023-05-01", ["99213", "1123F"], npi=NPI2)
    run(con, 2023)
    rows = con.execute("SELECT level, npi, instance_key, instance_date, result, decided_by_claim_id, decided_by_npi "
                       "FROM measure_instances WHERE measure_id = '047' ORDER BY level, npi NULLS FIRST").fetchall()
    assert rows == [
        ("group", None, "p1", date(2023, 2, 1), "performance_met", "i2", NPI2),     # best result across the TIN
        ("individual", NPI, "p1", date(2023, 2, 1), "performance_not_met", "i1", NPI),
        ("individual", NPI2, "p1", date(2023, 5, 1), "performance_met", "i2", NPI2),
    ]
    # the TableSpec's pandera schema: exact columns in order, types, non-null columns, unique grain key
    import pandas as pd
    import pyarrow as pa

    from schemas.measures import MEASURE_INSTANCES, MEASURE_RESULTS
    to_pandas = {pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(),
                 pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}.get
    for spec in (MEASURE_RESULTS, MEASURE_INSTANCES):
        cols = ", ".join(f'CAST("{c.name}" AS TIMESTAMP_NS) AS "{c.name}"' if c.type == "DATE" else f'"{c.name}"'
                         for c in spec.columns)
        frame = con.sql(f"SELECT {cols} FROM {spec.name}").to_arrow_table().to_pandas(types_mapper=to_pandas)
        spec.pandera_schema().validate(frame)


def test_measure_instances_come_in_the_declared_row_order():
    # schemas/measures.py MEASURE_INSTANCES: rows ordered by source, level, tin, npi (group's NULL first), measure_id,
    # stratum, person_id, then the instance's part; the engine sorts on integer surrogates whose order must be the
    # order of these strings ('p1' < 'p10' < 'p2' as text, not as numbers).
    con = new_db()
    for pid in ("p2", "p10", "p1"):
        person(con, pid, "1950-01-01")
    claim(con, "a", "p2", "2023-02-01", ["99213", "1123F"], tin=TIN2)
    claim(con, "b", "p10", "2023-03-01", ["99213", "1123F"], npi=NPI2)
    claim(con, "c", "p1", "2023-04-01", ["99213", "1123F"])
    claim(con, "d", "p2", "2023-05-01", ["99213"], npi=NPI2)
    run(con, 2023)
    rows = con.execute("SELECT source, level, tin, npi, measure_id, stratum, person_id, instance_key "
                       "FROM measure_instances").fetchall()
    assert len(rows) == len(set(rows)) > 8  # every claim opens instances of several measures at both levels
    key = lambda r: tuple((v is not None, v or "") for v in r)  # NULLs first, as the spec's order says  # noqa: E731
    assert rows == sorted(rows, key=key)
    # the same query twice gives the same rows in the same order (what makes rerun files byte-identical)
    assert rows == con.execute("SELECT source, level, tin, npi, measure_id, stratum, person_id, instance_key "
                               "FROM measure_instances").fetchall()


def test_the_returned_instance_count_is_the_row_count_of_measure_instances():
    # compute_measures reports measure_instances' rows from its compact instances (the run's step counts use it instead
    # of running the view's joins). Classes with named parts (visit lines, episode labels) and dated ones included.
    con = new_db()
    person(con, "p1", "1960-01-01")
    person(con, "f1", "1950-01-01", "female")
    claim(con, "v1", "p1", "2019-02-01", ["90791", "99213", "G8427"])                 # visit: two lines
    claim(con, "w1", "p1", "2019-01-01", ["99213"], ["H60311"])                       # 30-day episode
    claim(con, "w2", "p1", "2019-02-05", ["99213", "4130F-8P"], ["H60311"])           # its second window
    claim(con, "e1", "f1", "2019-01-10", ["99213", "3095F"], ["M4840XA"])             # episodes of a diagnosis
    claim(con, "e3", "f1", "2019-03-10", ["99213"], ["M4841XA"])
    instances = compute_measures(con, performance_year=2019, period_start=date(2019, 1, 1),
                                 period_end=date(2019, 12, 31))
    classes = {r[0] for r in con.execute("SELECT DISTINCT counting_class FROM measure_instances").fetchall()}
    assert {"visit", "episode", "episode_30_day", "patient"} <= classes
    assert instances == con.execute("SELECT count(*) FROM measure_instances").fetchone()[0] > 10


def test_too_many_patients_for_the_packed_keys_is_a_clear_error(monkeypatch):
    # part_key packs unit, measure-stratum and patient into one BIGINT; beyond its ranges the engine stops and says
    # why instead of mixing patients up.
    import transforms.measures as engine

    monkeypatch.setattr(engine, "_KEY_LIMITS", (("SELECT count(*) FROM m_persons", 2, "patients"),))
    con = new_db()
    for pid in ("p1", "p2"):
        person(con, pid, "1950-01-01")
        claim(con, f"c{pid}", pid, "2023-02-01", ["99213", "1123F"])
    with pytest.raises(PipelineError, match="too many patients for one run"):
        run(con, 2023)


def test_line_profiles_sharing_a_key_is_a_clear_error(monkeypatch):
    # The line rules (place of service, modifiers) are checked once per distinct place of service and modifiers, found
    # again by a 64-bit key (m_line_profile). Were two of them to share a key, the engine would refuse, not guess:
    # here every profile is given the same key.
    import transforms.measures as engine

    read = engine._run

    def one_key(con, name, **params):
        if name == "01_spec.sql":
            read(con, name, **params)
            con.execute("CREATE OR REPLACE MACRO m_line_profile(pos, m1, m2, m3, m4, m5) AS CAST(7 AS UBIGINT)")
        else:
            read(con, name, **params)

    monkeypatch.setattr(engine, "_run", one_key)
    con = new_db()
    person(con, "p1", "1950-01-01")
    claim(con, "a", "p1", "2023-02-01", ["99213", "1123F"])
    claim(con, "b", "p1", "2023-03-01", ["99213", "1123F-8P"], pos="02")
    with pytest.raises(PipelineError, match="share a profile key"):
        run(con, 2023)
