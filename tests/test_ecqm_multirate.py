"""Multi-rate eCQMs: each population group lands in the MIPS performance rate measures-data names, and the quality
scorer scores the rate CMS scores (measures-data 2026 `strata`, `overallAlgorithm`; data/ecqm/group_strata.csv).

Each test runs a measure's development deck (../shared/ecqm) through the engine and the scorer; the expected counts
are summed from CMS's MeasureReports (expected_dev.csv), not from the engine.
"""
from __future__ import annotations

import csv
from datetime import date

import duckdb
import pytest

from mips.paths import SHARED_ECQM
from tests.ecqm_deck import load_deck
from transforms.measures.registry import run_sources

needs_deck = pytest.mark.skipif(not (SHARED_ECQM / "expected_dev.csv").is_file(), reason="../shared/ecqm absent")
PY = 2026


def run_deck(measure_name: str) -> duckdb.DuckDBPyConnection:
    from transforms.scoring import quality_input_from_measure_results, score_entities

    con = duckdb.connect()
    load_deck(con, measure_name)
    # every encounter to one TIN/NPI, as the FHIR file layer attributes them; the registry runs the EHR engine and
    # makes measure_results / measure_instances
    con.execute("""CREATE TABLE ehr_attribution AS SELECT person_id, resource_id AS encounter_id,
                   '000000001' AS tin, '1000000001' AS npi FROM fhir_resource WHERE resource_type = 'Encounter'""")
    run_sources(con, performance_year=PY, period_start=date(PY, 1, 1), period_end=date(PY, 12, 31), sources=("ehr",))
    quality_input_from_measure_results(con, PY)
    score_entities(con, performance_year=PY, quality="quality_input")
    return con


def report_counts(measure_name: str) -> dict[str, tuple[int, ...]]:
    """group -> (denominator, exclusions, performance met, performance not met, exceptions) summed over the
    MeasureReports."""
    out: dict[str, list[int]] = {}
    with open(SHARED_ECQM / "expected_dev.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["measure_name"] != measure_name:
                continue
            den, ex, num = (int(r[c] or 0) for c in ("denominator", "denominator_exclusion", "numerator"))
            exc = int(r["denominator_exception"] or 0)
            acc = out.setdefault(r["group_id"], [0, 0, 0, 0, 0])
            acc[0] += den
            acc[1] += ex
            acc[2] += num
            acc[3] += den - ex - exc - num
            acc[4] += exc
    return {g: tuple(v) for g, v in out.items()}


@pytest.mark.shared
@needs_deck
def test_238_three_groups_are_the_three_qpp_strata_and_the_overall_one_is_scored():
    # measures-data 2026, 238 (CMS156v14): multiPerformanceRate, strata overall ("at least two high-risk medications
    # from the same drug class" = Numerator 1), appropriateDiagnosis ("... except for appropriate diagnoses" =
    # Numerator 2), totalRate (Numerator 3); overallAlgorithm overallStratumOnly: only 'overall' is scored.
    con = run_deck("CMS156FHIRHighRiskMedsElderly")
    expected = report_counts("CMS156FHIRHighRiskMedsElderly")
    rows = con.execute("""SELECT stratum, eligible_population, eligible_population_exclusion, performance_met,
                                 performance_not_met, performance_rate
                          FROM measure_results WHERE measure_id = '238' AND level = 'group'""").fetchall()
    by_stratum = {r[0]: r[1:] for r in rows}
    assert set(by_stratum) == {"overall", "appropriateDiagnosis", "totalRate"}
    for group, stratum in (("Group_1", "overall"), ("Group_2", "appropriateDiagnosis"), ("Group_3", "totalRate")):
        den, ex, met, not_met, _ = expected[group]
        assert by_stratum[stratum][:4] == (den, ex, met, not_met), stratum
        assert by_stratum[stratum][4] == pytest.approx(100.0 * met / (met + not_met))
    # the dev deck: 40 patients in the denominator, 7 excluded; 15 / 9 / 24 in numerators 1 / 2 / 3
    assert by_stratum["overall"][:4] == (40, 7, 15, 18)
    # the total rate deduplicates patients in both numerators: never above the sum, never below either numerator
    assert max(expected["Group_1"][2], expected["Group_2"][2]) <= by_stratum["totalRate"][2] \
        <= expected["Group_1"][2] + expected["Group_2"][2]
    scored = con.execute("""SELECT stratum, performance_rate, is_inverse FROM measure_scores
                            WHERE measure_id = '238' AND level = 'group'""").fetchall()
    assert scored == [("overall", pytest.approx(100.0 * 15 / 33), True)]


def cql_counts(measure_name: str) -> dict[str, tuple[int, ...]]:
    """report_counts with the populations of tests/ecqm_deck_cql_results.csv read as the CQL gives them."""
    from schemas.ecqm import POPULATION_COLUMNS
    from tests.test_ecqm_deck import expected_by_cql

    out: dict[str, list[int]] = {}
    for (_, group), pops in expected_by_cql(measure_name).items():
        den, ex, exc, num = (int(pops[POPULATION_COLUMNS.index(c)] or 0) for c in
                             ("denominator", "denominator_exclusion", "denominator_exception", "numerator"))
        acc = out.setdefault(group, [0, 0, 0, 0, 0])
        for i, v in enumerate((den, ex, num, den - ex - exc - num, exc)):
            acc[i] += v
    return {g: tuple(v) for g, v in out.items()}


@pytest.mark.shared
@needs_deck
def test_438_four_disjoint_groups_are_one_performance_rate_their_weighted_average():
    # measures-data 2026, 438 (CMS347v9): singlePerformanceRate, no strata. The Measure's usage note: "There is only
    # one performance rate calculated for this measure: the weighted average of the four populations", and its
    # initial-population guidance screens the risk categories in order (a patient is counted once). The weighted
    # average of the group rates, weighted by their performance denominators, is the pooled count, so the four
    # groups map to the measure's one rate (empty stratum in data/ecqm/group_strata.csv).
    con = run_deck("CMS347FHIRStatinPreventionTxCVD")
    expected = report_counts("CMS347FHIRStatinPreventionTxCVD")
    assert sorted(expected) == ["Group_1", "Group_2", "Group_3", "Group_4"]
    # each patient is in at most one group's denominator (the CQL's populations exclude the earlier categories)
    assert con.execute("""SELECT count(*) FROM (SELECT person_id FROM measure_populations
                          WHERE measure_id = '438' AND level = 'group' AND denominator = 1
                          GROUP BY person_id HAVING count(*) > 1)""").fetchone()[0] == 0
    rows = con.execute("""SELECT stratum, eligible_population, eligible_population_exclusion,
                                 eligible_population_exception, performance_met, performance_not_met, performance_rate
                          FROM measure_results WHERE measure_id = '438' AND level = 'group'""").fetchall()
    den, ex, met, not_met, exc = (sum(v[i] for v in expected.values()) for i in range(5))
    assert len(rows) == 1 and rows[0][:6] == (None, den, ex, exc, met, not_met)
    # the dev deck: 128 patients in a denominator, 8 excluded, 75 exceptions, 21 met, 24 not met
    assert rows[0][1:6] == (128, 8, 75, 21, 24)
    weighted = sum(100.0 * v[2] / (v[2] + v[3]) * (v[2] + v[3]) for v in expected.values() if v[2] + v[3]) \
        / sum(v[2] + v[3] for v in expected.values())
    assert rows[0][6] == pytest.approx(weighted) == pytest.approx(100.0 * 21 / 45)
    scored = con.execute("""SELECT stratum, performance_rate FROM measure_scores
                            WHERE measure_id = '438' AND level = 'group'""").fetchall()
    assert scored == [(None, pytest.approx(100.0 * 21 / 45))]
    # the per-group populations stay in measure_populations
    groups = con.execute("""SELECT population_group, sum(denominator) FROM measure_populations
                            WHERE measure_id = '438' AND level = 'group' GROUP BY ALL ORDER BY 1""").fetchall()
    assert groups == [(g, expected[g][0]) for g in sorted(expected)]


@pytest.mark.shared
@needs_deck
def test_007_lvsd_and_prior_mi_groups_are_one_performance_rate_their_pooled_counts():
    # measures-data 2026, 007 (CMS145v14): singlePerformanceRate, no strata. The Measure's cqfm-rateAggregation:
    # "one reporting rate, which aggregates the following populations ... Performance Rate = (Numerator 1 +
    # Numerator 2) / [(Denominator 1 - Denominator Exceptions 1) + (Denominator 2 - Denominator Exceptions 2)]",
    # i.e. the pooled counts; both groups map to the measure's one rate (empty stratum in group_strata.csv).
    con = run_deck("CMS145FHIRCADBBlockerTPMIorLVSD")
    # CMS's MeasureReports, with the one case whose MeasureReport the CQL does not support read as the CQL gives it
    # (tests/ecqm_deck_cql_results.csv: a Group_2 patient-reason exception, DENEXCEPPop2Pass)
    expected = cql_counts("CMS145FHIRCADBBlockerTPMIorLVSD")
    assert report_counts("CMS145FHIRCADBBlockerTPMIorLVSD")["Group_2"][3:] == (8, 7)
    assert expected["Group_2"][3:] == (7, 8)
    assert sorted(expected) == ["Group_1", "Group_2"]
    # Denominator 2 needs no LVSD finding at all, Denominator 1 needs one: no patient is in both
    assert con.execute("""SELECT count(*) FROM (SELECT person_id FROM measure_populations
                          WHERE measure_id = '007' AND level = 'group' AND denominator = 1
                          GROUP BY person_id HAVING count(*) > 1)""").fetchone()[0] == 0
    rows = con.execute("""SELECT stratum, eligible_population, eligible_population_exclusion,
                                 eligible_population_exception, performance_met, performance_not_met, performance_rate
                          FROM measure_results WHERE measure_id = '007' AND level = 'group'""").fetchall()
    den, ex, met, not_met, exc = (sum(v[i] for v in expected.values()) for i in range(5))
    assert len(rows) == 1 and rows[0][:6] == (None, den, ex, exc, met, not_met)
    (num1, num2), (perf1, perf2) = ((expected[g][2] for g in ("Group_1", "Group_2")),
                                    (expected[g][2] + expected[g][3] for g in ("Group_1", "Group_2")))
    assert rows[0][6] == pytest.approx(100.0 * (num1 + num2) / (perf1 + perf2))
    # the dev deck: 33 patients in a denominator (17 + 16), none excluded, 16 exceptions, 3 met, 14 not met
    assert rows[0][1:6] == (33, 0, 16, 3, 14)
    scored = con.execute("""SELECT stratum, performance_rate FROM measure_scores
                            WHERE measure_id = '007' AND level = 'group'""").fetchall()
    assert scored == [(None, pytest.approx(100.0 * (num1 + num2) / (perf1 + perf2)))]
    groups = con.execute("""SELECT population_group, sum(denominator) FROM measure_populations
                            WHERE measure_id = '007' AND level = 'group' GROUP BY ALL ORDER BY 1""").fetchall()
    assert groups == [(g, expected[g][0]) for g in sorted(expected)]


@pytest.mark.shared
@needs_deck
def test_305_initiation_and_engagement_groups_are_the_14_and_34_day_rates_scored_as_their_simple_average():
    # measures-data 2026, 305 (CMS137v14): multiPerformanceRate, strata 14Days ("initiated treatment ... within 14
    # days" = Numerator 1) and 34Days ("engaged in ongoing treatment ... within 34 days of the initiation" = Numerator
    # 2); overallAlgorithm simpleAverage. The age stratifiers (13-17, 18-64, 65+) are reporting strata inside each
    # rate (measure_populations.strata), not QPP rates.
    con = run_deck("CMS137FHIRSUDTxInitEngagement")
    expected = report_counts("CMS137FHIRSUDTxInitEngagement")
    rows = dict((r[0], r[1:]) for r in con.execute(
        """SELECT stratum, eligible_population, eligible_population_exclusion, performance_met, performance_not_met
           FROM measure_results WHERE measure_id = '305' AND level = 'group'""").fetchall())
    assert rows == {"14Days": expected["Group_1"][:4], "34Days": expected["Group_2"][:4]}
    # the dev deck: 27 in the denominator, 8 excluded (hospice); 10 of 19 initiated, 4 of 19 engaged
    assert rows["14Days"] == (27, 8, 10, 9) and rows["34Days"] == (27, 8, 4, 15)
    scored = con.execute("""SELECT stratum, performance_rate FROM measure_scores
                            WHERE measure_id = '305' AND level = 'group'""").fetchall()
    assert scored == [(None, pytest.approx((100.0 * 10 / 19 + 100.0 * 4 / 19) / 2))]


@pytest.mark.shared
@needs_deck
def test_143_chemotherapy_and_radiation_visit_groups_are_one_performance_rate_their_pooled_counts():
    # measures-data 2026, 143 (CMS157v14): singlePerformanceRate, no strata. The Measure's cqfm-rateAggregation: "one
    # reporting rate ... Performance Rate = (Numerator 1 + Numerator 2) / (Denominator 1 + Denominator 2)" over visits
    # (episode-based): both groups map to the measure's one rate (empty stratum in group_strata.csv).
    con = run_deck("CMS157FHIRPainIntensityQuantified")
    expected = report_counts("CMS157FHIRPainIntensityQuantified")
    assert sorted(expected) == ["Group_1", "Group_2"]
    rows = con.execute("""SELECT stratum, eligible_population, eligible_population_exclusion,
                                 eligible_population_exception, performance_met, performance_not_met, performance_rate
                          FROM measure_results WHERE measure_id = '143' AND level = 'group'""").fetchall()
    den, ex, met, not_met, exc = (sum(v[i] for v in expected.values()) for i in range(5))
    assert len(rows) == 1 and rows[0][:6] == (None, den, ex, exc, met, not_met)
    # the dev deck: 33 visits (17 chemotherapy + 16 radiation), 13 with a quantified pain intensity (5 + 8)
    assert rows[0][1:6] == (33, 0, 0, 13, 20)
    assert rows[0][6] == pytest.approx(100.0 * (5 + 8) / (17 + 16))
    scored = con.execute("""SELECT stratum, performance_rate FROM measure_scores
                            WHERE measure_id = '143' AND level = 'group'""").fetchall()
    assert scored == [(None, pytest.approx(100.0 * 13 / 33))]


@pytest.mark.shared
@needs_deck
def test_009_two_groups_are_the_84_and_180_day_rates_scored_as_their_simple_average():
    # measures-data 2026, 009 (CMS128v14): multiPerformanceRate, strata 84Days ("remained on an antidepressant
    # medication for at least 84 days" = Numerator 1) and 180Days (Numerator 2); overallAlgorithm simpleAverage.
    con = run_deck("CMS128FHIRAntidepressantMgmt")
    expected = report_counts("CMS128FHIRAntidepressantMgmt")
    rows = dict((r[0], r[1:]) for r in con.execute(
        """SELECT stratum, eligible_population, eligible_population_exclusion, performance_met, performance_not_met
           FROM measure_results WHERE measure_id = '009' AND level = 'group'""").fetchall())
    assert rows == {"84Days": expected["Group_1"][:4], "180Days": expected["Group_2"][:4]}
    # the dev deck: 19 in the denominator, 7 excluded; 1 of 12 met 84 days, none 180 days
    assert rows["84Days"] == (19, 7, 1, 11) and rows["180Days"] == (19, 7, 0, 12)
    scored = con.execute("""SELECT stratum, performance_rate FROM measure_scores
                            WHERE measure_id = '009' AND level = 'group'""").fetchall()
    assert scored == [(None, pytest.approx((100.0 * 1 / 12 + 0.0) / 2))]


@pytest.mark.shared
@needs_deck
def test_239_three_groups_are_the_three_qpp_rates_scored_as_their_simple_average():
    # measures-data 2026, 239 (CMS155v14): multiPerformanceRate, strata percentiles (BMI percentile, height and weight
    # = Numerator 1), nutrition (Numerator 2), physicalActivity (Numerator 3); overallAlgorithm simpleAverage. The age
    # stratifiers (3-11, 12-17) are reporting strata inside each rate, not separate QPP rates.
    con = run_deck("CMS155FHIRWgtAssessCounseling")
    expected = report_counts("CMS155FHIRWgtAssessCounseling")
    rows = dict((r[0], r[1:]) for r in con.execute(
        """SELECT stratum, eligible_population, eligible_population_exclusion, performance_met, performance_not_met
           FROM measure_results WHERE measure_id = '239' AND level = 'group'""").fetchall())
    assert rows == {"percentiles": expected["Group_1"][:4], "nutrition": expected["Group_2"][:4],
                    "physicalActivity": expected["Group_3"][:4]}
    rates = [100.0 * v[2] / (v[2] + v[3]) for v in rows.values()]
    scored = con.execute("""SELECT stratum, performance_rate FROM measure_scores
                            WHERE measure_id = '239' AND level = 'group'""").fetchall()
    assert scored == [(None, pytest.approx(sum(rates) / 3))]


@pytest.mark.shared
@needs_deck
def test_366_initiation_and_continuation_groups_are_the_30days_and_overall_rates_and_overall_is_scored():
    # measures-data 2026, 366 (CMS136v15): multiPerformanceRate, strata 30Days ("one follow-up visit ... during the
    # 30-Day Initiation Phase" = Numerator 1) and overall ("remained on ADHD medication for at least 210 days and ...
    # at least two additional follow-up visits" = Numerator 2); overallAlgorithm overallStratumOnly: only 'overall'
    # (the Continuation and Maintenance Phase, Group_2) is scored.
    con = run_deck("CMS136FHIRChildADHDMedFollowUp")
    expected = report_counts("CMS136FHIRChildADHDMedFollowUp")
    rows = dict((r[0], r[1:]) for r in con.execute(
        """SELECT stratum, eligible_population, eligible_population_exclusion, performance_met, performance_not_met
           FROM measure_results WHERE measure_id = '366' AND level = 'group'""").fetchall())
    assert rows == {"30Days": expected["Group_1"][:4], "overall": expected["Group_2"][:4]}
    # the dev deck: 43 children with a new ADHD prescription, 17 excluded (hospice, narcolepsy), 14 of 26 with an
    # initiation-phase visit; 19 on medication 210+ days, 10 excluded, 8 of 9 with the continuation-phase visits
    assert rows["30Days"] == (43, 17, 14, 12) and rows["overall"] == (19, 10, 8, 1)
    scored = con.execute("""SELECT stratum, performance_rate FROM measure_scores
                            WHERE measure_id = '366' AND level = 'group'""").fetchall()
    assert scored == [("overall", pytest.approx(100.0 * 8 / 9))]
