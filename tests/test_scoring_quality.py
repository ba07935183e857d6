"""Quality scoring: benchmark -> points (scoring-rules.md §3), floors/caps by year (§1), selection and bonuses (§2.1)."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.test_scoring_support import NPI, bench, entity, measures, one, quality_row, score

# Direct measure, PY2017-2022 shape: decile 1 starts at the implied 0, deciles 2..10 from the file.
DIRECT = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
# Inverse measure (lower is better): decile 1 starts at the implied 100.
INVERSE = [100, 90, 80, 70, 60, 50, 40, 30, 20, 10]


def q_points(year, rows, benchmarks, meas=None, **ent):
    out = score(year, entities=[entity(**ent)], quality=rows, benchmarks=benchmarks,
                quality_measures=meas if meas is not None else measures([]))
    return out


def test_linear_interpolation_inside_a_decile_direct():
    # §3.1: rate 45 lies in decile 5 [40, 50): 5 + (45-40)/(50-40) = 5.5 points.
    out = q_points(2019, [quality_row("100", 45, 55)], bench("100", DIRECT))
    row = one(out["measure_scores"], measure_id="100")
    assert row.decile == 5 and row.partial_decile_score == pytest.approx(0.5) and row.achievement_points == pytest.approx(5.5)


def test_linear_interpolation_inverse_measure():
    # §3.1 inverse: rate 25 lies in decile 8 (bounds 30 >= rate > 20): 8 + (30-25)/(30-20) = 8.5.
    out = q_points(2019, [quality_row("001", 25, 75)], bench("001", INVERSE, inverse=True))
    row = one(out["measure_scores"], measure_id="001")
    assert row.decile == 8 and row.achievement_points == pytest.approx(8.5)


def test_partial_decile_score_rounded_to_4dp_like_the_engine():
    # §3.1: partialDecileScore rounded to 4 dp. 1/3 of a decile -> 0.3333; rate 43.3333... in [40, 50).
    out = q_points(2019, [quality_row("100", 13, 17)], bench("100", DIRECT))
    assert one(out["measure_scores"], measure_id="100").achievement_points == pytest.approx(5.3333, abs=1e-9)


def test_decile_10_earns_exactly_10_and_repeated_bounds_take_the_highest_decile():
    # §3.1/§3.3: deciles 8..10 all start at 100 (empty deciles): a rate of 100 is decile 10 -> 10.0.
    out = q_points(2019, [quality_row("100", 40, 0)], bench("100", [0, 10, 20, 30, 40, 50, 60, 100, 100, 100]))
    row = one(out["measure_scores"], measure_id="100")
    assert row.decile == 10 and row.achievement_points == 10.0


def test_three_point_floor_through_py2022_and_none_from_py2023():
    # §3.1: PY2017-2022 'Applied minimum decile score' 3: rate 15 in decile 2 -> 2.5 -> floored to 3.
    rows = [quality_row("100", 15, 85)]
    assert one(q_points(2022, rows, bench("100", DIRECT))["measure_scores"], measure_id="100").achievement_points == 3
    # §1/§3.2: PY2023+ benchmarked measures earn 1-10; the same rate keeps 2.5.
    assert one(q_points(2023, rows, bench("100", DIRECT))["measure_scores"], measure_id="100").achievement_points == 2.5


def test_below_the_decile_1_bound_from_py2023_gets_one_point():
    # §3.4 ([?], rule quality.below_lowest_decile_points = 1.0): rate 5 below p1 = 10.
    out = q_points(2024, [quality_row("100", 5, 95)], bench("100", [10, 20, 30, 40, 50, 60, 70, 80, 90, 95]))
    row = one(out["measure_scores"], measure_id="100")
    assert row.decile is None or pd.isna(row.decile)
    assert row.achievement_points == 1.0


def test_topped_out_cap_of_7_from_py2019_by_program_flag():
    # §1 fn3: isToppedOutByProgram caps at 7 after interpolation; not in PY2017 (no cap).
    rows = [quality_row("100", 95, 5)]
    b = bench("100", DIRECT, topped_by_program=True)
    assert one(q_points(2019, rows, b)["measure_scores"], measure_id="100").achievement_points == 7
    assert one(q_points(2017, rows, b)["measure_scores"], measure_id="100").achievement_points == 10


def test_py2018_caps_only_the_six_named_measures():
    # §2.1: PY2018 capped measures 021, 023, 052, 224, 262, 359 (flag ignored).
    rows = [quality_row("021", 95, 5), quality_row("100", 95, 5)]
    b = pd.concat([bench("021", DIRECT), bench("100", DIRECT, topped_by_program=True)])
    ms = q_points(2018, rows, b)["measure_scores"]
    assert one(ms, measure_id="021").achievement_points == 7
    assert one(ms, measure_id="100").achievement_points == 10


def test_py2025_defined_topped_out_benchmark_is_not_capped():
    # §2.1: defined topped-out benchmark (84..100, isToppedOutByProgram false): 99.5 -> decile 9, 9.5 points, no cap.
    b = bench("143", [84, 86, 88, 90, 92, 94, 96, 98, 99, 100])
    out = q_points(2025, [quality_row("143", 199, 1)], b)
    assert one(out["measure_scores"], measure_id="143").achievement_points == pytest.approx(9.5)


@pytest.mark.parametrize("year, small_practice, expected", [
    (2017, False, 3),   # §1: fails DC -> 3 (2017 only)
    (2018, False, 1),   # §1 fn2: class 3 -> 1 point
    (2019, True, 3),    # §1 fn2: small practice -> 3
    (2021, False, 0),   # §1: PY2020+ fails DC -> 0
    (2024, True, 3),    # §1: small practice keeps 3
])
def test_fails_data_completeness_points_by_year(year, small_practice, expected):
    # 30 eligible, 10 reported = 33% below every year's DC threshold; case minimum met (30 >= 20).
    out = q_points(year, [quality_row("100", 5, 5, eligible=30)], bench("100", DIRECT), small_practice=small_practice)
    row = one(out["measure_scores"], measure_id="100")
    assert row.measure_class == "class 3" and row.achievement_points == expected


@pytest.mark.parametrize("year, small_practice, expected", [
    (2019, False, 3),   # §1: below case minimum / no benchmark -> 3 through PY2022
    (2022, False, 3),
    (2023, False, 0),   # §1: 0 from PY2023
    (2023, True, 3),    # small practice 3
])
def test_below_case_minimum_points_by_year(year, small_practice, expected):
    # 10 eligible < case minimum 20, all reported (DC 100%).
    out = q_points(year, [quality_row("100", 5, 5)], bench("100", DIRECT), small_practice=small_practice)
    row = one(out["measure_scores"], measure_id="100")
    assert row.measure_class == "class 2" and row.achievement_points == expected


def test_no_benchmark_gets_class_2_points():
    # §1: meets DC and case minimum but no benchmark -> 3 (PY2019), 0 (PY2024, not small practice).
    rows = [quality_row("999", 30, 10)]
    assert one(q_points(2019, rows, bench("100", DIRECT))["measure_scores"], measure_id="999").achievement_points == 3
    assert one(q_points(2024, rows, bench("100", DIRECT))["measure_scores"], measure_id="999").achievement_points == 0


def test_data_completeness_counts_exclusions_and_exceptions():
    # DC = (met + not met + exclusion + exception) / eligible = (10+10+5+5)/40 = 75% >= 70% (PY2022).
    out = q_points(2022, [quality_row("100", 10, 10, exclusion=5, exception=5, eligible=40)], bench("100", DIRECT))
    row = one(out["measure_scores"], measure_id="100")
    assert row.data_completeness_percent == pytest.approx(75) and row.meets_data_completeness
    assert row.performance_rate == pytest.approx(50)


def test_top_six_with_the_required_outcome_measure():
    # §2.1: 8 process measures + 1 outcome measure scoring low. The outcome measure takes the required slot,
    # the best 5 process measures fill the rest: selected = outcome + 5.
    bounds = bench("P0", DIRECT)
    rows, b, meas = [], [], []
    for i in range(8):
        mid = f"P{i}"
        rows.append(quality_row(mid, 50 + 5 * i, 50 - 5 * i))   # rates 50..85 -> 6.0 .. 9.5 points
        b.append(bench(mid, DIRECT))
        meas.append((mid, "process", False))
    rows.append(quality_row("OUT", 45, 55))                      # 5.5 points
    b.append(bench("OUT", DIRECT))
    meas.append(("OUT", "outcome", True))
    out = q_points(2022, rows, pd.concat(b), measures(meas))
    ms = out["measure_scores"]
    selected = set(ms[ms.selected].measure_id)
    assert selected == {"OUT", "P3", "P4", "P5", "P6", "P7"}
    # achievement = 5.5 + 7.5 + 8 + 8.5 + 9 + 9.5 = 48 of 60 -> 80%.
    q = one(out["category_scores"], category="quality")
    assert q.score_percent == pytest.approx(80)


def test_missing_outcome_measure_leaves_a_zero_slot():
    # §2.1 [R]: six process measures and no outcome/high-priority one: only the best 5 count; 5 x 10 / 60.
    rows = [quality_row(f"P{i}", 100, 0) for i in range(6)]
    b = pd.concat([bench(f"P{i}", DIRECT) for i in range(6)])
    out = q_points(2022, rows, b, measures([(f"P{i}", "process", False) for i in range(6)]))
    assert one(out["category_scores"], category="quality").score_percent == pytest.approx(500 / 6)


def test_high_priority_bonus_excludes_the_required_measure_and_is_capped():
    # §2.1 (PY2017-2021): outcome measures +2 each beyond the required one, capped at 10% of 60 = 6.
    # 5 outcome measures at 100% -> required one no bonus, 4 x 2 = 8 -> capped 6.
    rows = [quality_row(f"O{i}", 100, 0) for i in range(5)]
    b = pd.concat([bench(f"O{i}", DIRECT) for i in range(5)])
    out = q_points(2019, rows, b, measures([(f"O{i}", "outcome", True) for i in range(5)]))
    q = one(out["category_scores"], category="quality")
    # achievement 50 + bonus 6 = 56 / 60.
    assert q.bonus_points == pytest.approx(6) and q.score_percent == pytest.approx(5600 / 60)
    assert out["measure_scores"].high_priority_bonus.sum() == 8   # per-measure bonuses before the cap


def test_no_high_priority_bonus_from_py2022():
    rows = [quality_row(f"O{i}", 100, 0) for i in range(2)]
    b = pd.concat([bench(f"O{i}", DIRECT) for i in range(2)])
    out = q_points(2022, rows, b, measures([(f"O{i}", "outcome", True) for i in range(2)]))
    assert out["measure_scores"].high_priority_bonus.sum() == 0


def test_end_to_end_bonus_py2019():
    # §1: +1 per measure reported end to end (PY2017-2021).
    out = q_points(2019, [quality_row("100", 45, 55, e2e=True)], bench("100", DIRECT))
    assert one(out["measure_scores"], measure_id="100").end_to_end_bonus == 1
    q = one(out["category_scores"], category="quality")
    assert q.score_percent == pytest.approx(100 * (5.5 + 1) / 60)


def test_small_practice_bonus_six_points_from_py2019_not_2018():
    # §2.6: +6 to the quality numerator PY2019+ (PY2018 bonus goes to the final score instead).
    rows = [quality_row("100", 45, 55)]
    q19 = one(q_points(2019, rows, bench("100", DIRECT), small_practice=True)["category_scores"], category="quality")
    q18 = one(q_points(2018, rows, bench("100", DIRECT), small_practice=True)["category_scores"], category="quality")
    assert q19.score_percent == pytest.approx(100 * (5.5 + 6) / 60)
    assert q18.score_percent == pytest.approx(100 * 5.5 / 60)


def test_improvement_scoring():
    # §2.1: 6 measures at a rate of 70 = decile 8 lower bound -> 8 points each: achievement 48/60 = 80%;
    # prior 60% -> improvement (80-60)/60*10 = 3.3333 pp -> 83.3333%.
    rows = [quality_row(f"P{i}", 70, 30) for i in range(5)] + [quality_row("OUT", 70, 30)]
    b = pd.concat([bench(f"P{i}", DIRECT) for i in range(5)] + [bench("OUT", DIRECT)])
    meas = measures([(f"P{i}", "process", False) for i in range(5)] + [("OUT", "outcome", True)])
    out = q_points(2022, rows, b, meas, prior_quality_achievement_percent=60.0)
    assert one(out["category_scores"], category="quality").score_percent == pytest.approx(80 + 10 / 3)
    # PY2017 has no improvement scoring.
    out17 = q_points(2017, rows, b, meas, prior_quality_achievement_percent=60.0)
    assert one(out17["category_scores"], category="quality").score_percent == pytest.approx(80)
    # The comparator is floored at 30%: prior 10% -> (80-30)/30*10 = 16.7 -> capped at 10 pp -> 90%.
    out_low = q_points(2022, rows, b, meas, prior_quality_achievement_percent=10.0)
    assert one(out_low["category_scores"], category="quality").score_percent == pytest.approx(90)


def test_best_collection_type_is_scored_once():
    # The same measure sent as claims and registry: CMS scores it once, the better one (5.5 vs 7.5 points).
    rows = [quality_row("100", 45, 55, collection_type="claims"), quality_row("100", 65, 35, collection_type="registry")]
    b = pd.concat([bench("100", DIRECT, collection_type="claims"), bench("100", DIRECT, collection_type="registry")])
    ms = q_points(2022, rows, b)["measure_scores"]
    row = one(ms, measure_id="100")
    assert row.collection_type == "registry" and row.achievement_points == pytest.approx(7.5)


def test_individual_and_group_scored_side_by_side():
    # Issue 4 item 8: a row with npi is the individual, without npi the group.
    rows = [quality_row("100", 45, 55), quality_row("100", 65, 35, npi=NPI)]
    out = score(2022, entities=[entity(), entity(npi=NPI)], quality=rows, benchmarks=bench("100", DIRECT),
                quality_measures=measures([]))
    ms = out["measure_scores"]
    assert one(ms, level="group").achievement_points == pytest.approx(5.5)
    assert one(ms, level="individual").achievement_points == pytest.approx(7.5)
    assert set(out["final_scores"].level) == {"group", "individual"}


def test_new_measure_floors_from_py2022():
    # Rule quality.new_measure_floor (CY2022 PFS final rule [R], issue 13): PY2022+ new measures floored at 7 (first
    # year) and 5 (second year) whenever data completeness is met, even below the case minimum or without a benchmark.
    # 2024: measure NEW1 first year 2024 with no benchmark (0 points otherwise) -> 7; NEW2 first year 2023 -> 5;
    # OLD (2017) without benchmark -> 0 (PY2023+ class 2).
    meas = pd.DataFrame({"measure_id": ["NEW1", "NEW2", "OLD"], "measure_type": "process", "is_high_priority": False,
                         "is_inverse": False, "first_performance_year": [2024, 2023, 2017]})
    rows = [quality_row(m, 30, 10) for m in ("NEW1", "NEW2", "OLD")]
    ms = q_points(2024, rows, bench("X", DIRECT), meas)["measure_scores"]
    assert one(ms, measure_id="NEW1").achievement_points == 7
    assert one(ms, measure_id="NEW2").achievement_points == 5
    assert one(ms, measure_id="OLD").achievement_points == 0
    # Below the case minimum (4 cases) but DC met: the floor still applies -> 7.
    ms2 = q_points(2024, [quality_row("NEW1", 3, 1)], bench("X", DIRECT), meas)["measure_scores"]
    assert one(ms2, measure_id="NEW1").achievement_points == 7
    # Data completeness not met (4 reported of 100 eligible): no floor -> 0 (PY2023+ class 3, not small).
    ms4 = q_points(2024, [quality_row("NEW1", 3, 1, eligible=100)], bench("X", DIRECT), meas)["measure_scores"]
    assert one(ms4, measure_id="NEW1").achievement_points == 0
    # Not before PY2022.
    meas21 = meas.assign(first_performance_year=[2021, 2020, 2017])
    ms3 = q_points(2021, [quality_row("NEW1", 30, 10)], bench("X", DIRECT), meas21)["measure_scores"]
    assert one(ms3, measure_id="NEW1").achievement_points == 3


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=2, max_size=2), st.sampled_from([2019, 2024]))
def test_points_never_fall_as_the_rate_rises(rates, year):
    # §3.1 invariant: for a direct measure, achievement points are non-decreasing in the rate and stay within
    # [floor, 10] (floor 3 through PY2022, 1 from PY2023).
    lo, hi = sorted(rates)
    rows = [quality_row("A", lo, 100 - lo), quality_row("B", hi, 100 - hi)]
    b = pd.concat([bench("A", [5, 10, 20, 30, 40, 50, 60, 70, 80, 90]), bench("B", [5, 10, 20, 30, 40, 50, 60, 70, 80, 90])])
    ms = q_points(year, rows, b)["measure_scores"]
    pa, pb = one(ms, measure_id="A").achievement_points, one(ms, measure_id="B").achievement_points
    assert pa <= pb + 1e-12
    assert (3 if year <= 2022 else 1) <= pa <= 10


@pytest.mark.parametrize("algorithm, rate", [
    ("simpleAverage", 70.0),            # (90% + 50%) / 2
    ("weightedAverage", 100 * 59 / 110),  # pooled: (9 + 50) / (10 + 100)
])
def test_strata_combined_by_overall_algorithm(algorithm, rate):
    # CMS overallAlgorithm (measures-data): strata rows of one measure are scored as one measure.
    meas = pd.DataFrame({"measure_id": ["S"], "measure_type": ["process"], "is_high_priority": [False],
                         "is_inverse": [False], "overall_algorithm": [algorithm]})
    rows = [dict(quality_row("S", 9, 1), stratum="a"), dict(quality_row("S", 50, 50), stratum="b")]
    ms = q_points(2022, rows, bench("S", DIRECT), meas)["measure_scores"]
    row = one(ms, measure_id="S")
    assert pd.isna(row.stratum) and row.performance_rate == pytest.approx(rate)
    assert row.eligible_population == 110 and "2 strata combined" in row.explanation


def test_overall_stratum_only_scores_the_overall_row():
    meas = pd.DataFrame({"measure_id": ["S"], "measure_type": ["process"], "is_high_priority": [False],
                         "is_inverse": [False], "overall_algorithm": ["overallStratumOnly"]})
    rows = [dict(quality_row("S", 45, 55), stratum="overall"), dict(quality_row("S", 99, 1), stratum="other")]
    ms = q_points(2022, rows, bench("S", DIRECT), meas)["measure_scores"]
    assert one(ms, measure_id="S").stratum == "overall" and one(ms, measure_id="S").achievement_points == pytest.approx(5.5)


def test_split_measure_scores_only_the_stratum_cms_scores():
    # data/rules/2026.yaml quality.scored_stratum: 226 is 'split' in measures-data 2026, and CMS138v14's Measure.usage
    # says "the rate for population 2 is used for performance" (stratum 'performance'): the reporting and combined
    # rates (99 % and 90 %) are reported, not scored; the score is the 45 % rate's 5.5 points (decile 5, DIRECT).
    meas = pd.DataFrame({"measure_id": ["226"], "measure_type": ["process"], "is_high_priority": [False],
                         "is_inverse": [False], "overall_algorithm": ["split"]})
    rows = [dict(quality_row("226", 99, 1), stratum="reporting"), dict(quality_row("226", 45, 55), stratum="performance"),
            dict(quality_row("226", 90, 10), stratum="combinedPopulations")]
    ms = q_points(2026, rows, bench("226", DIRECT), meas)["measure_scores"]
    row = one(ms, measure_id="226")
    assert row.stratum == "performance" and row.achievement_points == pytest.approx(5.5)
    # a year without the rule keeps every split stratum as its own scored row
    assert len(q_points(2022, rows, bench("226", DIRECT), meas)["measure_scores"].query("measure_id == '226'")) == 3


def test_duplicate_quality_rows_are_refused():
    # Bad input: the same (tin, npi, measure, collection type, stratum) twice would be scored twice.
    from mips.errors import PipelineError
    rows = [quality_row("100", 45, 55), quality_row("100", 50, 50)]
    with pytest.raises(PipelineError, match="quality input: 1 duplicate row"):
        q_points(2022, rows, bench("100", DIRECT))


def test_rows_without_tin_are_refused():
    from mips.errors import PipelineError
    with pytest.raises(PipelineError, match="quality input: 1 row\\(s\\) without a tin"):
        q_points(2022, [dict(quality_row("100", 45, 55), tin=" ")], bench("100", DIRECT))


def test_more_reported_than_eligible_is_scored_but_flagged():
    # DC = 120 / 100 = 120%: meets DC; the explanation asks to check the counts.
    row = one(q_points(2022, [quality_row("100", 60, 60, eligible=100)], bench("100", DIRECT))["measure_scores"], measure_id="100")
    assert row.meets_data_completeness and "more cases reported than the eligible population" in row.explanation


def _real(year, rows, **ent):
    from transforms.scoring import score_frames
    return score_frames(performance_year=year, entities=pd.DataFrame([entity(**ent)]), quality=pd.DataFrame(rows))


def test_engine_example_2017_rate_100_decile_10():
    # §3.1 [V] 2017 engine: rate 100, decile 10, partialPoints 9.09 (= 100 - 90.91), partialDecileScore 0, decileScore 10.
    # PY2017 005 eCQM benchmark: decile 10 starts at 90.91.
    ms = _real(2017, [quality_row("005", 50, 0, collection_type="electronicHealthRecord")])["measure_scores"]
    row = one(ms, measure_id="005")
    assert row.decile == 10 and row.partial_decile_score == 0 and row.decile_score == 10 and row.achievement_points == 10
    assert "lower bound 90.91" in row.explanation


def test_engine_example_2019_applied_minimum_decile_score():
    # §1 fn5 [V]: PY2019 engine applies 'Applied minimum decile score' = 3 to measure 046 at a rate of 82.31.
    # 046 registry PY2019: decile 3 starts at 94.24, so 82.31 is decile 2 (2 + 82.31/94.24 = 2.8734) -> floor 3.
    ms = _real(2019, [quality_row("046", 8231, 1769)])["measure_scores"]
    row = one(ms, measure_id="046")
    assert row.decile == 2 and row.decile_score == pytest.approx(2.8734, abs=1e-4)
    assert row.achievement_points == 3 and "floor 3 applied" in row.explanation
