"""Multi-rate eCQMs (226, 370) land in CMS's performance rates: each Measure group (or stratifier) of a multi-rate measure is
a measures-data stratum in measure_results (data/ecqm/group_strata.csv), and the scorer scores the rate CMS scores.

The counts come from CMS's own expectations (../shared/ecqm/expected_dev.csv, summed per group over the deck's
development cases), so each test checks the engine's per-rate counts against numbers CMS published.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date

import duckdb
import pytest

from mips.paths import SHARED_ECQM
from tests.ecqm_deck import load_deck
from transforms.ecqm import compute_ecqms


def merge_into_measure_outputs(con) -> None:
    """measure_results as the source registry names it when the EHR engine is the run's only source."""
    con.execute("CREATE OR REPLACE TABLE measure_results AS SELECT * FROM ehr_measure_results")

needs_deck = pytest.mark.skipif(not (SHARED_ECQM / "expected_dev.csv").is_file(), reason="../shared/ecqm absent")


def expected_rates(measure_name: str, key: str = "group_id") -> dict[str, tuple[int, int, int, int]]:
    """(eligible population, exclusions, exceptions, performance met) per group from CMS's expected MeasureReports."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    with open(SHARED_ECQM / "expected_dev.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["measure_name"] == measure_name:
                acc = out[r[key]]
                for i, col in enumerate(("denominator", "denominator_exclusion", "denominator_exception", "numerator")):
                    acc[i] += int(r[col] or 0)
    return {k: tuple(v) for k, v in out.items()}


def run_deck(measure_name: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_deck(con, measure_name)
    compute_ecqms(con, performance_year=2026, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
                  default_tin="000000001", default_npi="1000000001")
    merge_into_measure_outputs(con)
    return con


@pytest.mark.shared
@needs_deck
def test_226_three_groups_are_the_three_measures_data_rates():
    # CMS138 Group_1 = screening ('reporting'), Group_2 = intervention for tobacco users ('performance'),
    # Group_3 = both ('combinedPopulations'), the names of measures-data 2026 strata for 226.
    con = run_deck("CMS138FHIRTobaccoScrnCessation")
    expected = expected_rates("CMS138FHIRTobaccoScrnCessation")
    names = {"Group_1": "reporting", "Group_2": "performance", "Group_3": "combinedPopulations"}
    rows = {r[0]: r[1:] for r in con.execute("""
        SELECT stratum, eligible_population, eligible_population_exclusion, eligible_population_exception,
               performance_met, performance_not_met, collection_type
        FROM measure_results WHERE measure_id = '226' AND level = 'group'""").fetchall()}
    assert set(rows) == set(names.values()) == {r[0] for r in con.execute(
        "SELECT stratum_name FROM ref.quality_measure_strata WHERE performance_year = 2026 AND measure_id = '226'").fetchall()}
    for group, stratum in names.items():
        den, excl, excep, met = expected[group]
        assert rows[stratum] == (den, excl, excep, met, den - excl - excep - met, "electronicHealthRecord"), stratum
    # the deck has tobacco users: the intervention rate's denominator is a strict subset of the screening one
    assert 0 < rows["performance"][0] < rows["reporting"][0]


@pytest.mark.shared
@needs_deck
def test_226_scores_the_performance_rate_only():
    # data/rules/2026.yaml quality.scored_stratum (CMS138v14 Measure.usage: population 2 is used for performance)
    from transforms.scoring import quality_input_from_measure_results, score_entities

    con = run_deck("CMS138FHIRTobaccoScrnCessation")
    quality_input_from_measure_results(con, 2026)
    score_entities(con, performance_year=2026, quality="quality_input")
    scored = con.execute("SELECT stratum, performance_rate FROM measure_scores WHERE measure_id = '226' AND level = 'group'"
                         ).fetchall()
    den, excl, excep, met = expected_rates("CMS138FHIRTobaccoScrnCessation")["Group_2"]
    assert scored == [("performance", pytest.approx(100.0 * met / (den - excl - excep)))]


def test_every_mapped_stratum_is_a_measures_data_stratum_of_its_measure():
    # group_strata.csv / stratifier_strata.csv name measures-data 2026 strata (ref.quality_measure_strata), and
    # every group or stratifier they name exists in the measure's Measure resource.
    import transforms.ecqm as engine
    from transforms.reference import attach_reference

    con = duckdb.connect()
    attach_reference(con)
    rows = [("group", *r) for r in engine._group_strata()] + [("stratifier", *r) for r in engine._stratifier_strata()]
    assert {r[1] for r in rows} >= {"CMS138FHIRTobaccoScrnCessation", "CMS159FHIRDepRemissionat12Months"}
    for kind, measure, part, stratum in rows:
        if not stratum:  # an empty stratum maps a group to the measure's single rate (438; tests/test_ecqm_multirate.py)
            continue
        mid = con.execute("SELECT measure_id FROM ref.ecqm_measures WHERE measure_name = ?", [measure]).fetchone()[0]
        assert con.execute("SELECT count(*) FROM ref.quality_measure_strata WHERE performance_year = 2026 "
                           "AND measure_id = ? AND stratum_name = ?", [mid, stratum]).fetchone()[0] == 1, stratum
        table, col = (("ecqm_measure_groups", "group_id") if kind == "group"
                      else ("ecqm_measure_stratifiers", "stratifier_id"))
        assert con.execute(f"SELECT count(*) FROM ref.{table} WHERE measure_name = ? AND {col} = ?",
                           [measure, part]).fetchone()[0] >= 1, part


def test_370_age_stratifiers_are_the_adolescents_and_adults_rates():
    # CMS159: one group; Stratification 1 (12-17 at the index assessment) = 'adolescents', Stratification 2 (18+) =
    # 'adults'. Two hand-made patients, 15 and 40 at their index PHQ-9 (> 9 within 7 days of a depression visit in
    # the identification period Nov 2024 - Oct 2025); the 15-year-old's PHQ-9 a year later is 3 (remission).
    from tests.test_ecqm_engine import load, patient, run

    def record(pid, birth, follow_up_score):
        return [
            patient(pid, birth),
            {"resourceType": "Condition", "id": "dx", "code": {"coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F32.1"}]},
             "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                            "code": "active"}]}, "onsetDateTime": "2025-03-01"},
            {"resourceType": "Encounter", "id": "v", "status": "finished",
             "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
             "period": {"start": "2025-03-01T09:00:00Z", "end": "2025-03-01T09:30:00Z"}},
            {"resourceType": "Observation", "id": "phq1", "status": "final", "valueInteger": 15,
             "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]}, "effectiveDateTime": "2025-03-01"},
            {"resourceType": "Observation", "id": "phq2", "status": "final", "valueInteger": follow_up_score,
             "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]}, "effectiveDateTime": "2026-03-10"},
        ]

    con = duckdb.connect()
    load(con, {"teen": record("teen", "2010-01-01", 3), "adult": record("adult", "1985-01-01", 12)})
    run(con)
    merge_into_measure_outputs(con)
    rows = con.execute("""SELECT stratum, eligible_population, performance_met, performance_not_met FROM measure_results
                          WHERE measure_id = '370' AND level = 'group' ORDER BY stratum""").fetchall()
    assert rows == [("adolescents", 1, 1, 0), ("adults", 1, 0, 1)]


@pytest.mark.shared
@needs_deck
def test_370_deck_strata_add_up_to_the_group_and_are_scored_as_one_weighted_rate():
    # measures-data 2026: 370 overallAlgorithm weightedAverage -> the scorer pools the strata's counts into one
    # rate, which equals the group's rate CMS's expectations give.
    from transforms.scoring import quality_input_from_measure_results, score_entities

    con = run_deck("CMS159FHIRDepRemissionat12Months")
    den, excl, excep, met = expected_rates("CMS159FHIRDepRemissionat12Months")["Group_1"]
    rows = con.execute("""SELECT stratum, eligible_population, eligible_population_exclusion, performance_met
                          FROM measure_results WHERE measure_id = '370' AND level = 'group'""").fetchall()
    assert {r[0] for r in rows} == {"adolescents", "adults"}
    assert tuple(sum(r[i] for r in rows) for i in (1, 2, 3)) == (den, excl, met)
    quality_input_from_measure_results(con, 2026)
    score_entities(con, performance_year=2026, quality="quality_input")
    scored = con.execute("SELECT stratum, performance_rate FROM measure_scores WHERE measure_id = '370' AND level = 'group'"
                         ).fetchall()
    assert scored == [(None, pytest.approx(100.0 * met / (den - excl - excep)))]
