"""`mips export qpp`: QPP Submissions API documents, the schema, and every consistency rule broken on purpose."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import duckdb
import jsonschema
import pytest

from mips.cli import main
from mips.paths import PROJECT_ROOT, SAMPLE_DIR
from mips.period import find_inputs, run_period_steps
from transforms.qpp_export import (build_documents, consistency_problems, npi_check_digit_ok, schema_problems,
                                   submission_schema)

SUBMISSIONS = PROJECT_ROOT.parent / "shared" / "qpp-submissions"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The bundled sample run (PY2024) and its export."""
    out = tmp_path_factory.mktemp("demo_out")
    run_period_steps(performance_year=2024, files=find_inputs(SAMPLE_DIR), output_root=out)
    dest = tmp_path_factory.mktemp("qpp")
    assert main(["export", "qpp", "--output", str(out), "--performance-year", "2024", "--dest", str(dest)]) == 0
    return out, dest / "2024"


def _docs(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def test_the_demo_exports_a_valid_document_per_tin_and_clinician(demo):
    out, folder = demo
    docs = _docs(folder)
    # 6 TINs (group) and 40 clinicians (individual) on the sample roster, each with registry results
    assert sum(k.startswith("group-") for k in docs) == 6 and sum(k.startswith("individual-") for k in docs) == 40
    validator = jsonschema.Draft202012Validator(submission_schema())
    for name, doc in docs.items():
        assert list(validator.iter_errors(doc)) == [], name
        assert consistency_problems(doc) == [], name
    group = docs["group-901077062"]
    assert [(s["category"], s["submissionMethod"]) for s in group["measurementSets"]] == [
        ("quality", "registry"), ("pi", "registry"), ("ia", "registry")]
    quality, pi, ia = group["measurementSets"]
    # complete PI set: the TIN's CEHRT ID from the roster, the PI period from pi_input
    roster = [r.split(",") for r in (SAMPLE_DIR / "clinician_roster.csv").read_text().splitlines()]
    header = roster[0]
    assert pi["cehrtId"] == next(r[header.index("cehrt_id")] for r in roster[1:] if r[0] == "901077062")
    assert (pi["performanceStart"], pi["performanceEnd"]) == ("2024-07-01", "2024-12-31")
    # claims results are reported on claims, never exported: only the registry (encounter) results are
    con = duckdb.connect()
    registry = con.execute(f"""
        SELECT measure_id, performance_met, performance_not_met, eligible_population_exception,
               eligible_population - eligible_population_exclusion, measure_id IN (
                   SELECT measure_id FROM read_parquet('{out}/measure_reference/**/*.parquet')
                   WHERE list_contains(string_split(submission_methods, ','), 'registry'))
        FROM read_parquet('{out}/measure_results/**/*.parquet')
        WHERE level = 'group' AND tin = '901077062' AND collection_type = 'registry' AND stratum IS NULL
        ORDER BY measure_id""").fetchall()
    exported = {m["measureId"]: m["value"] for m in quality["measurements"]}
    expected = {m: v for m, *v, allowed in registry if allowed}
    assert set(exported) - {"226"} == set(expected)
    for measure_id, (met, not_met, exception, population) in expected.items():
        value = exported[measure_id]
        # excluded instances leave the eligible population (exclusion 0); the rest map one to one
        assert (value["performanceMet"], value["performanceNotMet"], value["eligiblePopulationException"],
                value["eligiblePopulation"], value["eligiblePopulationExclusion"]) == (
                    met, not_met, exception, population, 0), measure_id
        assert value["isEndToEndReported"] is True  # the TIN's roster says end to end
    assert {m["measureId"] for m in ia["measurements"]} == {"IA_BMH_8", "IA_ERP_5"}


def test_every_metric_type_the_pipeline_produces_has_its_shape(demo):
    _, folder = demo
    docs = _docs(folder)
    shapes = {}
    for doc in docs.values():
        for s in doc["measurementSets"]:
            for m in s["measurements"]:
                value = m["value"]
                kind = ("boolean" if isinstance(value, bool) else "proportion" if "numerator" in value
                        else "multiPerformanceRate" if "strata" in value else "singlePerformanceRate")
                shapes.setdefault((s["category"], kind), m)
    assert set(shapes) == {("quality", "singlePerformanceRate"), ("quality", "multiPerformanceRate"),
                           ("pi", "proportion"), ("pi", "boolean"), ("ia", "boolean")}
    multi = shapes[("quality", "multiPerformanceRate")]
    # 226 (tobacco): CMS's stratum names of 2024, in measures-data order
    assert multi["measureId"] == "226"
    names = [s["stratum"] for s in multi["value"]["strata"]]
    assert set(names) <= {"reporting", "performance", "combinedPopulations"} and names == sorted(
        names, key=["reporting", "performance", "combinedPopulations"].index)


def _hand_made(con, *, collection_type: str, cehrt: str | None, strata_names=("14Days", "34Days")):
    """Tiny published tables of one clinician: measure 305 (multi-rate eCQM) and 001 (single rate)."""
    from transforms.published_reference import build_reference_tables

    build_reference_tables(con, 2024)
    con.execute("""CREATE TABLE measure_results AS SELECT * FROM (VALUES
        (2024, DATE '2024-01-01', DATE '2024-12-31', 'individual', '123456789', '1234567893', '305', ?, 'ehr', ?, TRUE,
         60, 0, 0, 47, 13),
        (2024, DATE '2024-01-01', DATE '2024-12-31', 'individual', '123456789', '1234567893', '305', ?, 'ehr', ?, TRUE,
         147, 0, 0, 121, 26),
        (2024, DATE '2024-01-01', DATE '2024-12-31', 'individual', '123456789', '1234567893', '001', NULL, 'ehr', ?, TRUE,
         20, 2, 1, 5, 9)
        ) t(performance_year, period_start, period_end, level, tin, npi, measure_id, stratum, source, collection_type,
            computed, eligible_population, eligible_population_exclusion, eligible_population_exception,
            performance_met, performance_not_met)""",
                [strata_names[0], collection_type, strata_names[1], collection_type, collection_type])
    con.execute("""CREATE TABLE submission_entities AS SELECT 2024 AS performance_year, 'individual' AS level,
                   '123456789' AS tin, '1234567893' AS npi, 1 AS clinicians, ?::VARCHAR AS cehrt_id,
                   CASE WHEN ? IS NULL THEN 0 ELSE 1 END AS cehrt_ids_given, TRUE AS end_to_end_reporting""",
                [cehrt, cehrt])


def test_ecqm_results_export_as_an_electronic_health_record_set_with_the_cehrt_id():
    con = duckdb.connect()
    _hand_made(con, collection_type="electronicHealthRecord", cehrt="0015CABC1234567")
    [entity] = build_documents(con, 2024)
    assert entity.problems == []
    [qset] = entity.document["measurementSets"]
    assert (qset["submissionMethod"], qset["cehrtId"]) == ("electronicHealthRecord", "0015CABC1234567")
    by_id = {m["measureId"]: m["value"] for m in qset["measurements"]}
    # 305 as the docs' example writes it (CMS names 14Days/34Days), 001: 20 eligible - 2 excluded = 18
    assert by_id["305"]["strata"] == [
        {"stratum": "14Days", "performanceMet": 47, "performanceNotMet": 13, "eligiblePopulationExclusion": 0,
         "eligiblePopulationException": 0, "eligiblePopulation": 60},
        {"stratum": "34Days", "performanceMet": 121, "performanceNotMet": 26, "eligiblePopulationExclusion": 0,
         "eligiblePopulationException": 0, "eligiblePopulation": 147}]
    assert by_id["001"] == {"isEndToEndReported": True, "performanceMet": 5, "performanceNotMet": 9,
                            "eligiblePopulationExclusion": 0, "eligiblePopulationException": 1,
                            "eligiblePopulation": 18}


def test_an_ecqm_set_without_a_cehrt_id_or_with_wrong_strata_is_refused_naming_the_rule():
    con = duckdb.connect()
    _hand_made(con, collection_type="electronicHealthRecord", cehrt=None, strata_names=("14days", "34days"))
    [entity] = build_documents(con, 2024)
    rules = {rule for rule, _ in entity.problems}
    assert {"cehrt_id_required", "strata_match_measures_data", "schema"} <= rules
    assert any("cehrtId" in text for rule, text in entity.problems if rule == "schema")


# ---------------------------------------------------------------- consistency rules, each broken on purpose

VALID = {
    "entityType": "individual", "taxpayerIdentificationNumber": "000456789", "nationalProviderIdentifier": "2567891421",
    "performanceYear": 2024,
    "measurementSets": [
        {"category": "quality", "submissionMethod": "registry", "performanceStart": "2024-01-01",
         "performanceEnd": "2024-12-31", "measurements": [
             {"measureId": "001", "value": {"isEndToEndReported": False, "performanceMet": 5, "performanceNotMet": 9,
                                            "eligiblePopulationExclusion": 0, "eligiblePopulationException": 1,
                                            "eligiblePopulation": 18}},
             {"measureId": "305", "value": {"isEndToEndReported": False, "strata": [
                 {"stratum": "14Days", "performanceMet": 47, "performanceNotMet": 13, "eligiblePopulation": 60}]}}]},
        {"category": "pi", "submissionMethod": "registry", "cehrtId": "0015CABC1234567",
         "performanceStart": "2024-07-01", "performanceEnd": "2024-12-31", "measurements": [
             {"measureId": "PI_EP_1", "value": {"numerator": 49, "denominator": 115}},
             {"measureId": "PI_HIE_1", "value": {"numerator": 3, "denominator": 4}},
             {"measureId": "PI_INFBLO_1", "value": True}]},
    ]}
REFERENCE = dict(strata={"305": ["14Days", "34Days"]}, exclusions={"PI_EP_1": {"PI_LVPP_1"}, "PI_HIE_1": {"PI_LVOTC_1"}},
                 substitutes={"PI_HIE_1": {"PI_HIE_5"}, "PI_HIE_5": {"PI_HIE_1"}})


def _broken(change) -> set[str]:
    doc = copy.deepcopy(VALID)
    change(doc)
    return {rule for rule, _ in consistency_problems(doc, **REFERENCE)}


def _quality(doc, i=0):
    return doc["measurementSets"][0]["measurements"][i]["value"]


def _pi(doc, i=0):
    return doc["measurementSets"][1]["measurements"][i]["value"]


def test_the_valid_document_breaks_no_rule():
    assert consistency_problems(VALID, **REFERENCE) == [] and schema_problems(VALID) == []


@pytest.mark.parametrize("rule, change", [
    ("numerator_not_above_denominator", lambda d: _pi(d).update(numerator=116)),
    ("numerator_not_above_denominator", lambda d: _quality(d).update(performanceMet=19, performanceNotMet=0)),
    ("exclusions_not_above_denominator", lambda d: _quality(d).update(eligiblePopulationException=19)),
    ("exclusions_not_above_denominator", lambda d: _quality(d).update(eligiblePopulationExclusion=10,
                                                                       eligiblePopulationException=9)),
    ("reported_not_above_eligible_population", lambda d: _quality(d).update(performanceNotMet=13)),
    ("whole_non_negative_counts", lambda d: _pi(d).update(numerator=-1)),
    ("whole_non_negative_counts", lambda d: _pi(d).update(denominator=115.5)),
    ("whole_non_negative_counts", lambda d: _quality(d, 1)["strata"][0].update(performanceMet=4.5)),
    ("valid_tin", lambda d: d.update(taxpayerIdentificationNumber="12345678")),
    ("valid_npi", lambda d: d.update(nationalProviderIdentifier="2567891422")),  # check digit off by one
    ("valid_npi", lambda d: d.update(nationalProviderIdentifier="256789142")),
    ("unique_measure_ids", lambda d: d["measurementSets"][1]["measurements"].append(
        {"measureId": "PI_EP_1", "value": {"numerator": 1, "denominator": 2}})),
    ("unique_measurement_sets", lambda d: d["measurementSets"].append(copy.deepcopy(d["measurementSets"][1]))),
    ("strata_match_measures_data", lambda d: _quality(d, 1)["strata"][0].update(stratum="14days")),
    ("pi_measure_with_its_exclusion", lambda d: d["measurementSets"][1]["measurements"].append(
        {"measureId": "PI_LVPP_1", "value": True})),
    ("pi_alternatives_not_together", lambda d: d["measurementSets"][1]["measurements"].append(
        {"measureId": "PI_HIE_5", "value": True})),
    ("performance_period_in_year", lambda d: d["measurementSets"][1].update(performanceEnd="2025-01-31")),
    ("performance_period_in_year", lambda d: d["measurementSets"][1].update(performanceStart="2024-12-31",
                                                                            performanceEnd="2024-07-01")),
])
def test_each_consistency_rule_breaks_on_purpose(rule, change):
    assert rule in _broken(change)


def test_npi_check_digit():
    # CMS's example NPI 1234567893 and the converter fixture's 2567891421 are valid; the docs' 9876543210 is not
    assert npi_check_digit_ok("1234567893") and npi_check_digit_ok("2567891421")
    assert not npi_check_digit_ok("9876543210") and not npi_check_digit_ok("123456789a")


@pytest.mark.parametrize("change, path", [
    (lambda d: d["measurementSets"][1].pop("cehrtId"), "measurementSets/1"),  # PI needs the CEHRT ID
    (lambda d: d["measurementSets"][1].update(cehrtId="0015CABC12345"), "measurementSets/1/cehrtId"),
    (lambda d: d.update(performanceYear="2024"), "performanceYear"),
    (lambda d: d["measurementSets"][0].update(submissionMethod="claims"), "measurementSets/0/submissionMethod"),
    (lambda d: _quality(d).pop("isEndToEndReported"), "measurementSets/0/measurements/0/value"),
    (lambda d: d.update(entityType="group"), "document"),  # a group submission carries no NPI
])
def test_the_schema_rejects_what_the_api_does_not_accept(change, path):
    doc = copy.deepcopy(VALID)
    change(doc)
    assert path in {text.split(":")[0] for _, text in schema_problems(doc)}


# ---------------------------------------------------------------- the QPP docs' own examples

def _example(name: str) -> dict:
    text = (SUBMISSIONS / "submissions-docs" / "references" / "json" / name).read_text()
    # the docs write the year as a placeholder; any year stands in for it
    return json.loads(text.replace('"< performanceYearToBeReported >"', "2025")
                      .replace("< performanceYearToBeReported >", "2025"))


@pytest.mark.shared
@pytest.mark.skipif(not SUBMISSIONS.is_dir(), reason="../shared/qpp-submissions is not beside the project")
def test_the_docs_examples_validate_except_their_placeholders():
    for name in ("submission-example-quality.json", "submission-example-aci.json", "submission-example-ia.json"):
        doc = _example(name)
        assert schema_problems(doc) == [], name
        # the only rule they break: the placeholder NPI 9876543210 has no valid check digit
        assert {r for r, _ in consistency_problems(doc)} == {"valid_npi"}, name
    # the quality example's strata are written 14days/34days; measures-data names them 14Days/34Days
    assert "strata_match_measures_data" in {r for r, _ in consistency_problems(
        _example("submission-example-quality.json"), strata={"305": ["14Days", "34Days"]})}
    # the PY2017 scoring example is an API response (data.submission wrapper, 'aci', nulls), not a request
    assert schema_problems(_example("scoring-example-submission-input.json"))
    # the converter's fixture: 'source' is a field the converter adds, and its PI set has no CEHRT ID
    fixture = json.loads((SUBMISSIONS / "conversion-tool" / "fixtures" / "clinicalDocument.json").read_text())
    problems = [text for _, text in schema_problems(fixture)]
    assert any("'source' was unexpected" in p for p in problems) and any("'cehrtId'" in p for p in problems)
    assert consistency_problems(fixture) == []


# ---------------------------------------------------------------- the command refuses, naming the rule

def test_export_refuses_an_entity_without_a_cehrt_id_and_writes_the_others(tmp_path, capsys):
    inputs = tmp_path / "in"
    shutil.copytree(SAMPLE_DIR, inputs)
    roster = (inputs / "clinician_roster.csv").read_text().splitlines()
    cut = roster[0].split(",").index("cehrt_id")
    lines = [r.split(",") for r in roster]
    for row in lines[1:]:
        if row[0] == "901077062":
            row[cut] = ""  # this TIN's EHR has no CEHRT ID on the roster
    (inputs / "clinician_roster.csv").write_text("\n".join(",".join(r) for r in lines) + "\n")
    run_period_steps(performance_year=2024, files=find_inputs(inputs), output_root=tmp_path / "out")
    dest = tmp_path / "qpp"
    (dest / "2024").mkdir(parents=True)
    (dest / "2024" / "group-901077062.json").write_text("{}")  # an old document must not survive
    assert main(["export", "qpp", "--output", str(tmp_path / "out"), "--performance-year", "2024",
                 "--dest", str(dest), "--level", "group"]) == 1
    out = capsys.readouterr().out
    assert ("refused TIN 901077062: cehrt_id_required: the Promoting Interoperability set needs the CEHRT ID: "
            "no CEHRT ID on the roster (clinician_roster.cehrt_id)") in out
    assert "5 document(s) written" in out and "1 entity refused" in out
    assert sorted(p.name for p in (dest / "2024").glob("*.json")) == [
        f"group-{t}.json" for t in ("901181791", "901286520", "901391249", "901495978", "901600707")]


def test_export_of_an_unpublished_year_is_one_line(tmp_path, capsys):
    assert main(["export", "qpp", "--output", str(tmp_path), "--performance-year", "2023", "--dest",
                 str(tmp_path / "q")]) == 2
    assert "performance year 2023 is not published" in capsys.readouterr().err
