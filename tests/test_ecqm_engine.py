"""The eCQM engine on tiny hand-made FHIR records: CQL's age, interval boundaries, time zones, statuses, negation,
the population rules, attribution, the year guard and the hand-over to measure_results and scoring.

Each test builds ``fhir_resource`` from a few resources (one patient's record = one person_id) and checks the
populations the engine gives; the comment on each case says which CQL rule decides it.
"""
from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from mips.errors import PipelineError
from transforms.ecqm import compute_ecqms, measure_definitions
from transforms.measures.registry import run_sources

PY = 2026
OFFICE_VISIT = {"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}      # in Office Visit
DIABETES = {"system": "http://snomed.info/sct", "code": "44054006"}               # in Diabetes
HBA1C = {"system": "http://loinc.org", "code": "4548-4"}                          # in HbA1c Laboratory Test
ESSENTIAL_HTN = {"system": "http://snomed.info/sct", "code": "59621000"}          # in Essential Hypertension
MED_VISIT = {"system": "http://snomed.info/sct", "code": "185463005"}             # in Encounter to Document Medications
MEDS_DOCUMENTED = {"system": "http://snomed.info/sct", "code": "428191000124101"}
ACUTE_CRISIS = {"system": "http://snomed.info/sct", "code": "705016005"}
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}


def patient(pid, birth):
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": "female"}


def encounter(eid, coding, start, end, status="finished"):
    return {"resourceType": "Encounter", "id": eid, "status": status, "type": [{"coding": [coding]}],
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "period": {"start": start, "end": end}}


def condition(cid, coding, onset):
    return {"resourceType": "Condition", "id": cid, "clinicalStatus": ACTIVE, "code": {"coding": [coding]},
            "onsetDateTime": onset}


def lab(oid, coding, when, value=None, status="final"):
    r = {"resourceType": "Observation", "id": oid, "status": status, "code": {"coding": [coding]},
         "effectiveDateTime": when}
    if value is not None:
        r["valueQuantity"] = {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
    return r


def load(con, records: dict[str, list[dict]]) -> None:
    """records: person_id -> that patient's resources (the patient's own folder)."""
    rows = [(f"{pid}.json", i + 1, pid, r["resourceType"], r["id"], json.dumps(r))
            for pid, resources in records.items() for i, r in enumerate(resources)]
    con.execute("CREATE OR REPLACE TABLE fhir_resource (source_file VARCHAR, source_row BIGINT, person_id VARCHAR, "
                "resource_type VARCHAR, resource_id VARCHAR, resource JSON)")
    con.executemany("INSERT INTO fhir_resource VALUES (?, ?, ?, ?, ?, ?)", rows)


def run(con, **kw):
    kw.setdefault("default_tin", "000000001")
    kw.setdefault("default_npi", "1000000001")
    return compute_ecqms(con, performance_year=kw.pop("performance_year", PY), period_start=date(PY, 1, 1),
                         period_end=date(PY, 12, 31), **kw)


def pops(con, measure_id):
    """(person_id, episode) -> (ip, den, denex, denexcep, num, numex) at level group."""
    rows = con.execute("""SELECT person_id, episode, initial_population, denominator, denominator_exclusion,
                                 denominator_exception, numerator, numerator_exclusion
                          FROM measure_populations WHERE level = 'group' AND measure_id = ?""", [measure_id]).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def diabetic(pid, birth, *extra, visit=("2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")):
    return [patient(pid, birth), encounter(f"{pid}-e", OFFICE_VISIT, *visit),
            condition(f"{pid}-c", DIABETES, "2020-01-01"), *extra]


def test_cms122_age_is_cql_age_at_the_end_of_the_period():
    # AgeInYearsAt(date from end of MP) in Interval[18, 75]: born 2008-12-31 is 18 on 2026-12-31, born 2009-01-01
    # is 17; born 1951-01-01 is 75, born 1950-12-31 is 76.
    con = duckdb.connect()
    load(con, {"a18": diabetic("a18", "2008-12-31"), "a17": diabetic("a17", "2009-01-01"),
               "a75": diabetic("a75", "1951-01-01"), "a76": diabetic("a76", "1950-12-31")})
    run(con)
    got = pops(con, "001")
    assert set(got) == {("a18", None), ("a75", None)}
    # no HbA1c in the period: "Has No Record Of Glycemic Status Assessment" -> numerator (inverse measure)
    assert got[("a18", None)] == (1, 1, 0, None, 1, None)


def test_cms122_most_recent_lowest_reading_and_period_boundaries():
    con = duckdb.connect()
    load(con, {
        # most recent day has 9.5 and 8.0: the lowest (8.0) is not > 9 -> numerator 0; an earlier 12 % is older
        "low": diabetic("low", "1970-01-01", lab("l1", HBA1C, "2026-02-01T08:00:00Z", 12),
                        lab("l2", HBA1C, "2026-11-05T08:00:00Z", 9.5), lab("l3", HBA1C, "2026-11-05T15:00:00Z", 8.0)),
        # the last millisecond of the period is still "during day of" it: 9.1 % -> numerator 1
        "edge": diabetic("edge", "1970-01-01", lab("g1", HBA1C, "2026-06-01T08:00:00Z", 7),
                         lab("g2", HBA1C, "2026-12-31T23:59:59.999Z", 9.1)),
        # 2026-12-31T20:00-05:00 is 2027-01-01T01:00Z: after the period, so the 7 % reading is the most recent
        "tz": diabetic("tz", "1970-01-01", lab("t1", HBA1C, "2026-06-01T08:00:00Z", 7),
                       lab("t2", HBA1C, "2026-12-31T20:00:00-05:00", 10)),
        # a cancelled test does not count (Status isLaboratoryTestPerformed): no test -> numerator 1
        "canc": diabetic("canc", "1970-01-01", lab("c1", HBA1C, "2026-06-01T08:00:00Z", 7, status="cancelled")),
        # a result without a value on the most recent day: "Without Result" -> numerator 1
        "noval": diabetic("noval", "1970-01-01", lab("n1", HBA1C, "2026-03-01T08:00:00Z", 7),
                          lab("n2", HBA1C, "2026-04-01T08:00:00Z")),
    })
    run(con)
    got = {k[0]: v[4] for k, v in pops(con, "001").items()}
    assert got == {"low": 0, "edge": 1, "tz": 0, "canc": 1, "noval": 1}


def test_cms122_encounter_must_be_finished_and_inside_the_period():
    con = duckdb.connect()
    load(con, {
        "planned": diabetic("planned", "1970-01-01", visit=("2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")),
        # ends on 2027-01-01: not "during day of" the period
        "spans": diabetic("spans", "1970-01-01", visit=("2026-12-31T23:00:00Z", "2027-01-01T00:30:00Z")),
    })
    con.execute("""UPDATE fhir_resource SET resource = json_merge_patch(resource, '{"status": "planned"}')
                   WHERE person_id = 'planned' AND resource_type = 'Encounter'""")
    run(con)
    assert pops(con, "001") == {}


def test_population_rules_exclusion_beats_numerator():
    # Hospice encounter overlapping the period: denominator exclusion; the raw numerator (no HbA1c) is true but a
    # proportion measure counts the numerator only for members not excluded.
    hospice = encounter("h", {"system": "http://snomed.info/sct", "code": "183919006"}, "2026-05-01", "2026-05-02")
    con = duckdb.connect()
    load(con, {"x": diabetic("x", "1960-01-01", hospice)})
    run(con)
    assert pops(con, "001") == {("x", None): (1, 1, 1, None, 0, None)}


def test_cms68_episodes_numerator_and_negated_exception():
    not_done = {"resourceType": "Procedure", "id": "p2", "status": "not-done", "code": {"coding": [MEDS_DOCUMENTED]},
                "reasonCode": [{"coding": [ACUTE_CRISIS]}],
                "extension": [{"url": "http://fhir.org/guides/astp/us-quality-core/StructureDefinition/us-quality-core-recorded",
                               "valueDateTime": "2026-05-02T10:00:00Z"}]}
    done = {"resourceType": "Procedure", "id": "p1", "status": "completed", "code": {"coding": [MEDS_DOCUMENTED]},
            "performedPeriod": {"start": "2026-05-01T09:10:00Z", "end": "2026-05-01T09:20:00Z"}}
    open_ended = {"resourceType": "Procedure", "id": "p3", "status": "completed", "code": {"coding": [MEDS_DOCUMENTED]},
                  "performedPeriod": {"start": "2026-05-03T09:10:00Z"}}
    con = duckdb.connect()
    load(con, {"m": [patient("m", "1980-01-01"),
                     encounter("e1", MED_VISIT, "2026-05-01T09:00:00Z", "2026-05-01T10:00:00Z"),  # documented
                     encounter("e2", MED_VISIT, "2026-05-02T09:00:00Z", "2026-05-02T10:00:00Z"),  # not done, crisis
                     encounter("e3", MED_VISIT, "2026-05-03T09:00:00Z", "2026-05-03T10:00:00Z"),  # no end: not hasEnd()
                     done, not_done, open_ended]})
    run(con)
    assert pops(con, "130") == {
        ("m", "Encounter/e1"): (1, 1, None, 0, 1, None),
        ("m", "Encounter/e2"): (1, 1, None, 1, 0, None),
        ("m", "Encounter/e3"): (1, 1, None, 0, 0, None),
    }
    # episode-based: the patient's rows summed give the MeasureReport's counts (3 episodes, 1 numerator, 1 exception)
    assert con.execute("SELECT sum(initial_population), sum(numerator), sum(denominator_exception) FROM measure_populations "
                       "WHERE level = 'group' AND measure_id = '130'").fetchone() == (3, 1, 1)


def test_cms165_most_recent_day_lowest_systolic_and_diastolic():
    def bp(oid, when, sys_, dia):
        comps = []
        for code, v in (("8480-6", sys_), ("8462-4", dia)):
            comps.append({"code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                          "valueQuantity": {"value": v, "code": "mm[Hg]", "system": "http://unitsofmeasure.org"}})
        return {"resourceType": "Observation", "id": oid, "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                "effectiveDateTime": when, "component": comps}

    def htn(pid, *extra):
        return [patient(pid, "1970-01-01"), encounter(f"{pid}-e", OFFICE_VISIT, "2026-02-01", "2026-02-01"),
                condition(f"{pid}-c", ESSENTIAL_HTN, "2026-06-30T23:59:59Z"), *extra]

    con = duckdb.connect()
    load(con, {
        # most recent day: 150/85 and 135/95 -> lowest systolic 135, lowest diastolic 85 -> controlled
        "ok": htn("ok", bp("b1", "2026-03-01T08:00:00Z", 120, 70), bp("b2", "2026-10-01T08:00:00Z", 150, 85),
                  bp("b3", "2026-10-01T12:00:00Z", 135, 95)),
        # 140 is not < 140
        "high": htn("high", bp("h1", "2026-10-01T08:00:00Z", 140, 80)),
    })
    # hypertension onset on July 1 is after the first six months: not in the initial population
    late = htn("late")
    late[2]["onsetDateTime"] = "2026-07-01T00:00:00Z"
    load_more = {"late": late}
    rows = [(f"{pid}.json", i + 1, pid, r["resourceType"], r["id"], json.dumps(r))
            for pid, resources in load_more.items() for i, r in enumerate(resources)]
    con.executemany("INSERT INTO fhir_resource VALUES (?, ?, ?, ?, ?, ?)", rows)
    run(con)
    got = pops(con, "236")
    assert got == {("ok", None): (1, 1, 0, None, 1, None), ("high", None): (1, 1, 0, None, 0, None)}


def test_attribution_by_encounter_and_the_default_tin():
    con = duckdb.connect()
    load(con, {"a": diabetic("a", "1970-01-01"), "b": diabetic("b", "1970-01-01")})
    # a's encounter names TIN 111111111 / NPI 1111111111; b's names nothing -> the defaults
    con.execute("CREATE TABLE ehr_attribution AS SELECT * FROM (VALUES ('a', 'a-e', '111111111', '1111111111'), "
                "('b', 'b-e', NULL, NULL)) v(person_id, encounter_id, tin, npi)")
    run(con, default_tin="999999999", default_npi="9999999999")
    rows = con.execute("SELECT level, tin, npi, person_id FROM measure_populations WHERE measure_id = '001' "
                       "ORDER BY level, person_id").fetchall()
    assert rows == [("group", "111111111", None, "a"), ("group", "999999999", None, "b"),
                    ("individual", "111111111", "1111111111", "a"), ("individual", "999999999", "9999999999", "b")]


def test_data_naming_no_tin_without_defaults_stops_with_one_line():
    con = duckdb.connect()
    load(con, {"a": diabetic("a", "1970-01-01")})
    with pytest.raises(PipelineError, match="--default-tin"):
        run(con, default_tin=None, default_npi=None)


def test_another_year_is_not_computed_with_a_reason_never_2026_logic():
    con = duckdb.connect()
    load(con, {"a": diabetic("a", "1970-01-01")})
    con.execute("UPDATE fhir_resource SET resource = replace(resource::VARCHAR, '2026-', '2025-')::JSON")
    result = compute_ecqms(con, performance_year=2025, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31),
                           default_tin="000000001", default_npi="1000000001")
    assert result.computed == []
    assert con.execute("SELECT count(*) FROM measure_populations").fetchone()[0] == 0
    rows = con.execute("SELECT DISTINCT measure_id, computed, not_computed_reason FROM ehr_measure_results "
                       "WHERE measure_id IN ('001', '236', '130')").fetchall()
    assert {r[0] for r in rows} == {"001", "236", "130"}
    assert all(not r[1] and "no eCQM logic for performance year 2025" in r[2] for r in rows)


def attribute_all(con, tin="000000001", npi="1000000001"):
    """ehr_attribution as the FHIR file layer makes it: every encounter with its (here: one) TIN and NPI."""
    con.execute(f"""CREATE OR REPLACE TABLE ehr_attribution AS SELECT person_id, resource_id AS encounter_id,
                    '{tin}' AS tin, '{npi}' AS npi FROM fhir_resource WHERE resource_type = 'Encounter'""")


def run_ehr_source(con):
    return run_sources(con, performance_year=PY, period_start=date(PY, 1, 1), period_end=date(PY, 12, 31),
                       sources=("ehr",), levels=("individual", "group"))


def test_results_join_measure_results_with_the_ehr_collection_type():
    con = duckdb.connect()
    load(con, {"a": diabetic("a", "1970-01-01", lab("x", HBA1C, "2026-05-01", 10)),
               "b": diabetic("b", "1970-01-01", lab("y", HBA1C, "2026-05-01", 6))})
    attribute_all(con)
    outputs, notes = run_ehr_source(con)
    assert set(outputs) == {"measure_results", "measure_instances", "measure_populations"}
    row = con.execute("""SELECT source, collection_type, eligible_population, performance_met, performance_not_met,
                                performance_rate, computed
                         FROM measure_results WHERE measure_id = '001' AND level = 'group'""").fetchone()
    # a: 10 % > 9 -> met (inverse measure: the scorer reads lower as better); b: 6 % -> not met
    assert row == ("ehr", "electronicHealthRecord", 2, 1, 1, 50.0, True)
    # one instance per patient and level, with its result
    assert con.execute("""SELECT level, person_id, result FROM measure_instances WHERE measure_id = '001'
                          ORDER BY level, person_id""").fetchall() == [
        ("group", "a", "performance_met"), ("group", "b", "performance_not_met"),
        ("individual", "a", "performance_met"), ("individual", "b", "performance_not_met")]
    # eCQMs without a definition yet are there, not computed, with the reason (the first one by MIPS id)
    undefined = con.execute("""SELECT measure_id, cms_id, measure_name FROM ref.ecqm_measures
                               WHERE performance_year = ? AND measure_id IS NOT NULL AND NOT list_contains(?, measure_name)
                               ORDER BY measure_id LIMIT 1""", [PY, sorted(measure_definitions())]).fetchone()
    if undefined:
        mid, cms, name = undefined
        assert con.execute("""SELECT computed, not_computed_reason FROM measure_results
                              WHERE measure_id = ? AND level = 'group'""", [mid]).fetchone() == (
            False, f"no definition yet for {cms} ({name}) in transforms/ecqm/measures")


def test_scoring_uses_ehr_benchmarks_and_the_no_benchmark_rule():
    # scoring-rules.md §2.1 / data/rules/2026.yaml: a measure with no benchmark for its collection type scores
    # quality.no_benchmark_or_case_minimum_points; one with a benchmark gets a decile.
    from transforms.scoring import quality_input_from_measure_results, score_entities

    con = duckdb.connect()
    records = {f"p{i}": diabetic(f"p{i}", "1970-01-01", lab(f"l{i}", HBA1C, "2026-05-01", 10 if i < 3 else 6))
               for i in range(25)}
    load(con, records)
    attribute_all(con)
    run_ehr_source(con)
    quality_input_from_measure_results(con, PY)
    score_entities(con, performance_year=PY, quality="quality_input")
    has_bm, decile = con.execute("""SELECT has_benchmark, decile FROM measure_scores
                                    WHERE measure_id = '001' AND level = 'group'""").fetchone()
    # 001 has a 2026 electronicHealthRecord benchmark; 3 of 25 above 9 % = 12 % (inverse) lands in a decile
    assert has_bm is True and decile is not None
    # without an electronicHealthRecord benchmark for 001 the year's no-benchmark rule applies
    con.execute("""CREATE TABLE bm AS SELECT b.*, b.submission_method AS collection_type FROM ref.benchmarks b
                   WHERE performance_year = 2026 AND NOT (measure_id = '001' AND submission_method = 'electronicHealthRecord')""")
    score_entities(con, performance_year=PY, quality="quality_input", benchmarks="bm")
    cls, why = con.execute("""SELECT measure_class, explanation FROM measure_scores
                              WHERE measure_id = '001' AND level = 'group'""").fetchone()
    assert cls == "class 2" and "no benchmark for 001 / electronicHealthRecord" in why


def test_registry_engine_entry_hands_over_its_own_relations():
    # transforms/measures/registry.py calls compute_ecqm_measures(con, performance_year=, period_start=,
    # period_end=, sources=, levels=) and names the final outputs itself
    from transforms.ecqm import compute_ecqm_measures

    con = duckdb.connect()
    load(con, {"a": diabetic("a", "1970-01-01")})
    con.execute("CREATE TABLE ehr_attribution AS SELECT 'a' AS person_id, 'a-e' AS encounter_id, "
                "'111111111' AS tin, '1111111111' AS npi")
    out = compute_ecqm_measures(con, performance_year=PY, period_start=date(PY, 1, 1), period_end=date(PY, 12, 31),
                                sources=("ehr",), levels=("individual", "group"))
    assert {spec.name: rel for spec, rel in out.tables.items()} == {
        "measure_populations": "ehr_measure_populations", "measure_results": "ehr_measure_results",
        "measure_instances": "ehr_measure_instances"}
    assert con.execute("SELECT count(*) FROM ehr_measure_populations WHERE measure_id = '001'").fetchone()[0] == 2
    # every measure definition of the year is computed and named in the run notes (its MIPS id, in id order)
    ids = [r[0] for r in con.execute("""SELECT measure_id FROM ref.ecqm_measures WHERE performance_year = ?
                                         AND list_contains(?, measure_name) ORDER BY measure_id""",
                                     [PY, sorted(measure_definitions())]).fetchall()]
    assert "001" in ids and "236" in ids
    assert any(n.startswith(f"eCQMs: {len(ids)} computed ({', '.join(ids)})") for n in out.notes)


def test_code_macros_bind_the_callers_columns_whatever_the_callers_alias():
    # has_coding / has_vs take the caller's qualified columns; a caller alias equal to the macro's own table alias
    # must not make the test match every resource (it did with alias c / h: CMS135's renal-failure exception then
    # matched every patient of a run in which one patient had the code).
    con = duckdb.connect()
    load(con, {"a": diabetic("a", "1970-01-01"), "b": diabetic("b", "1970-01-01")})
    con.execute("UPDATE fhir_resource SET resource = json_object('resourceType', 'Condition', 'id', 'b-c', "
                "'code', json_object('coding', json_array(json_object('system', 'http://snomed.info/sct', "
                "'code', '422593004')))) WHERE resource_id = 'b-c'")
    run(con)
    for alias in ("c", "h", "r", "x"):
        hits = con.execute(f"""SELECT {alias}.person_id FROM ecqm_resource {alias}
                               WHERE has_coding({alias}.person_id, {alias}.resource_type, {alias}.resource_id, 'code',
                                                'http://snomed.info/sct', '422593004')""").fetchall()
        assert hits == [("b",)], alias
        hits = con.execute(f"""SELECT {alias}.person_id FROM ecqm_resource {alias}
                               WHERE has_vs({alias}.person_id, {alias}.resource_type, {alias}.resource_id, 'code',
                                            '2.16.840.1.113883.3.464.1003.103.12.1001')""").fetchall()
        assert hits == [("a",)], alias  # only a's condition is still coded diabetes




def test_dementia_medication_period_follows_cumulative_medication_duration():
    # CMS122 exclusion "age 66+ with frailty and (advanced illness or dementia medication in the year before or during
    # the period)": MedicationRequestPeriod = [start, start + total days - 1], start = bounds start, else authoredOn;
    # total days = (days supply, else quantity / (dose * doses per day)) * (1 + refills); else up to the bounds end.
    frailty = condition("f", {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "L89.000"}, "2026-01-01")

    def med(mid, **request):
        r = {"resourceType": "MedicationRequest", "id": mid, "status": "active", "intent": "order",
             "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                        "code": "312836"}]},
             "authoredOn": "2024-12-01"}
        r.update(request)
        return r

    supply = lambda days, refills=0: {"dispenseRequest": {"expectedSupplyDuration": {"value": days, "code": "d"},  # noqa: E731
                                                           "numberOfRepeatsAllowed": refills}}
    cases = {
        "a": med("a", **supply(30)),              # 2024-12-01..2024-12-30: ends before 2025-01-01 -> not excluded
        "b": med("b", **supply(30, refills=1)),   # 60 days: ..2025-01-29 -> excluded
        "c": med("c", dispenseRequest={"quantity": {"value": 90}},   # 90 / (1 * 1 a day) = 90 days -> excluded
                 dosageInstruction=[{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                                     "doseAndRate": [{"doseQuantity": {"value": 1}}]}]),
        "d": med("d", dispenseRequest={"quantity": {"value": 90}},   # no frequency, no timeOfDay: 0 a day -> no period
                 dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": 1}}]}]),
        "e": med("e", authoredOn="2024-06-01",   # no supply: up to the bounds end 2025-03-01 -> excluded
                 dosageInstruction=[{"timing": {"repeat": {"boundsPeriod": {"end": "2025-03-01"}}}}]),
    }
    con = duckdb.connect()
    load(con, {pid: diabetic(pid, "1956-01-01", dict(frailty, id=f"f{pid}"), request) for pid, request in cases.items()})
    run(con)
    excluded = {k[0]: v[2] for k, v in pops(con, "001").items()}
    assert excluded == {"a": 0, "b": 1, "c": 1, "d": 0, "e": 1}


def test_a_measure_selection_computes_those_measures_with_the_same_rows():
    # A practice that reports 3 measures: compute_ecqms(measures=...) computes those (MIPS id, CMS id or measure
    # name, with or without the version) and no other; their rows are the full run's, row for row, although the IR
    # keeps only the value-set hits those measures and the shared blocks read.
    hospice = encounter("h", {"system": "http://snomed.info/sct", "code": "183919006"}, "2026-05-01", "2026-05-02")
    records = {"a": diabetic("a", "1970-01-01", lab("x", HBA1C, "2026-05-01", 10)),
               "b": diabetic("b", "1960-01-01", lab("y", HBA1C, "2026-05-01", 6), hospice),
               "m": [patient("m", "1980-01-01"), encounter("e1", MED_VISIT, "2026-05-01T09:00:00Z", "2026-05-01T10:00:00Z"),
                     condition("htn", ESSENTIAL_HTN, "2020-01-01")]}
    table = "SELECT * FROM measure_populations WHERE measure_id IN ('001', '236', '130') ORDER BY ALL"
    con = duckdb.connect()
    load(con, records)
    full = run(con)
    everything = con.execute(table).fetchall()
    all_hits = con.execute("SELECT count(DISTINCT value_set_oid) FROM ecqm_vs_hit").fetchone()[0]
    assert {r[7] for r in everything} == {"001", "130", "236"} and len(full.computed) > 3

    con = duckdb.connect()
    load(con, records)
    part = run(con, measures=["1", "CMS165", "CMS68FHIRDocumentationCurrentMeds"])
    assert sorted(part.computed) == ["001", "130", "236"]
    assert con.execute(table).fetchall() == everything
    assert con.execute("SELECT DISTINCT measure_id FROM measure_populations ORDER BY 1").fetchall() == [
        ("001",), ("130",), ("236",)]
    assert con.execute("SELECT DISTINCT measure_id FROM ehr_measure_results ORDER BY 1").fetchall() == [
        ("001",), ("130",), ("236",)]
    # hospice (a shared block) is still built: b is excluded in both runs; Office Visit hits of other measures are not
    assert con.execute("SELECT denominator_exclusion FROM measure_populations WHERE person_id = 'b' AND level = 'group'"
                       ).fetchone() == (1,)
    assert con.execute("SELECT count(DISTINCT value_set_oid) FROM ecqm_vs_hit").fetchone()[0] < all_hits
    with pytest.raises(PipelineError, match="not an eCQM of performance year 2026: 999, CMS9"):
        run(con, measures=["001", "999", "CMS9"])
