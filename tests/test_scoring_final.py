"""Final score and payment adjustment (scoring-rules.md §2.5, §2.6, §4)."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_scoring_support import bench, entity, measures, one, quality_row, score
from transforms.scoring import load_rules
from transforms.scoring.final import adjustment_sql

DIRECT = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]


def adjust(year: int, fs: float, sf=None, esf=None) -> tuple[float, float]:
    base, excep = adjustment_sql(load_rules(year), "fs", sf, esf)
    return duckdb.connect().execute(f"SELECT {base}, {excep} FROM (SELECT {fs}::DOUBLE AS fs)").fetchone()


def test_pt_over_4_cliff_both_sides_py2024():
    # §4.2 / §414.1405(b)(2): PT 75, AP 9. At PT/4 = 18.75 -> -9; just above, the linear scale gives about -6.75.
    assert adjust(2024, 18.75)[0] == pytest.approx(-9)
    assert adjust(2024, 18.76)[0] == pytest.approx(-9 * (75 - 18.76) / 75)
    assert adjust(2024, 18.76)[0] > -6.76
    assert adjust(2024, 0)[0] == pytest.approx(-9)


def test_pt_over_4_cliff_py2019():
    # PT 30, AP 7: PT/4 = 7.5 -> -7; 7.6 -> -7 * 22.4 / 30 = -5.2267.
    assert adjust(2019, 7.5)[0] == pytest.approx(-7)
    assert adjust(2019, 7.6)[0] == pytest.approx(-7 * 22.4 / 30)


def test_healthmonix_positive_rows_py2024():
    # §4.2 [S]: SF 0.11667 (default for PY2024): 100 -> 1.05, 90 -> 0.63, 80 -> 0.21 (2 dp).
    for fs, expected in ((100, 1.05), (90, 0.63), (80, 0.21)):
        assert round(adjust(2024, fs)[0], 2) == expected


def test_negative_side_follows_the_regulation_not_healthmonix():
    # §4.2: 60 -> -9 * 15/75 = -1.80; 50 -> -3.00 (healthmonix's -1.73 / -2.89 disagree with §414.1405(b)(2)).
    assert adjust(2024, 60)[0] == pytest.approx(-1.8)
    assert adjust(2024, 50)[0] == pytest.approx(-3.0)


def test_at_the_threshold_zero():
    assert adjust(2022, 75)[0] == 0


def test_scaling_factor_only_scales_positive_side():
    # §414.1405(b)(3): SF applies to positive factors only.
    assert adjust(2022, 100, sf=2.0)[0] == pytest.approx(18)
    assert adjust(2022, 50, sf=2.0)[0] == pytest.approx(-3)


def test_exceptional_adjustment_py2019_and_none_after_2022():
    # §4.2 [R]: APT 75 in PY2019: FS 100 -> (0.5 + 9.5) * ESF; FS 75 -> 0.5 * ESF; below APT -> 0.
    assert adjust(2019, 100, esf=0.5)[1] == pytest.approx(5.0)
    assert adjust(2019, 75, esf=1.0)[1] == pytest.approx(0.5)
    assert adjust(2019, 74.99, esf=1.0)[1] == 0
    assert adjust(2023, 100, esf=1.0)[1] == 0


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(range(2017, 2027)), st.floats(0, 100), st.floats(0, 100))
def test_adjustment_monotone_except_at_the_cliff(year, a, b):
    # §4.2 invariant: the adjustment never decreases with the final score, and stays in [-AP, AP x SF].
    rules = load_rules(year)
    ap = rules["payment.applicable_percent"]
    sf = 0.5  # given, as --scaling-factor does
    lo, hi = sorted((a, b))
    assert adjust(year, lo, sf)[0] <= adjust(year, hi, sf)[0] + 1e-12
    assert -ap - 1e-9 <= adjust(year, lo, sf)[0] <= ap * sf + 1e-9


def _quality_score_2019_34_9308():
    # Three measures: rate 95 decile 10 -> 10; rate 69.585 decile 7 [60, 70) -> 7.9585; rate 15 -> 2.5 floored to 3.
    # 20.9585 / 60 = 34.9308% (the engine's qualityCategoryScore of §4.1).
    b = pd.concat([bench("A", DIRECT), bench("B", DIRECT), bench("C", DIRECT)])
    rows = [quality_row("A", 95, 5), quality_row("B", 695850, 304150), quality_row("C", 15, 85)]
    return rows, b


def test_quality_weighted_score_engine_example_py2019():
    # §4.1 [V]: qualityCategoryScore 34.9308 x 60% (cost reweighted) = qualityWeightedScore 20.9585.
    rows, b = _quality_score_2019_34_9308()
    out = score(2019, entities=[entity()], quality=rows, benchmarks=b,
                quality_measures=measures([("A", "outcome", True)]))
    q = one(out["category_scores"], category="quality")
    assert q.score_percent == pytest.approx(34.9308, abs=1e-4)
    assert q.weight_percent == 60                      # §2.5 [V]: cost reweighted -> quality 60
    f = one(out["final_scores"])
    assert f.quality_weight * f.quality_score / 100 == pytest.approx(20.9585, abs=1e-4)
    assert f.weighted_score == pytest.approx(20.9585, abs=1e-4)   # IA and PI sent nothing: 0


def test_pi_reweighted_for_hospital_based_and_cost_not_scored_py2019():
    # §2.5 [R]: PY2019 cost + PI reweighted -> Q 85 / C 0 / IA 15 / PI 0.
    out = score(2019, entities=[entity(hospital_based=True)], ia=[{"tin": "123456789", "npi": None, "activity_id": "IA_H1"}])
    f = one(out["final_scores"])
    assert (f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight) == (85, 0, 15, 0)
    assert f.final_score == pytest.approx(15 * 0.5)   # IA: one high activity 20 of 40 = 50% x 15; quality 0


def test_small_practice_redistribution_py2022():
    # §2.5 [S]: small practice, PI reweighted (automatic from PY2022), cost not scored -> Q50 / IA50.
    out = score(2022, entities=[entity(small_practice=True)], ia=[{"tin": "123456789", "npi": None, "activity_id": "IA_H1"}])
    f = one(out["final_scores"])
    assert (f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight) == (50, 0, 50, 0)
    # IA: special status doubles high to 40 -> 100% x 50 = 50; quality 0 -> final 50.
    assert f.final_score == pytest.approx(50)
    pi = one(out["category_scores"], category="pi")
    assert pi.reweighted and pd.isna(pi.score_percent)


def test_pi_not_reweighted_without_a_flag_py2024():
    # §2.5 [R]: no PI data and no special status -> PI scores 0 and keeps its weight; cost not scored -> 55/0/15/30.
    out = score(2024, entities=[entity()])
    f = one(out["final_scores"])
    assert (f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight) == (55, 0, 15, 30)
    assert f.pi_score == 0 and f.final_score == 0
    assert f.payment_adjustment_percent == pytest.approx(-9)


def test_py2017_cost_weight_zero_and_aci_reweighted():
    # §2.5 [R]: PY2017 ACI reweighted -> Q 85 / IA 15; cost carries weight 0 in PY2017.
    out = score(2017, entities=[entity(pi_hardship=True)], ia=[{"tin": "123456789", "npi": None, "activity_id": "IA_H1"}])
    f = one(out["final_scores"])
    assert (f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight) == (85, 0, 15, 0)


def test_small_practice_final_bonus_py2018_and_complex_patient_bonus_cap():
    # §2.6 [S]: PY2018 small practice +5 to the final score when data is submitted; CPB input capped at 5 in PY2018.
    ia = [{"tin": "123456789", "npi": None, "activity_id": "IA_H1"}]
    out = score(2018, entities=[entity(small_practice=True, complex_patient_bonus=7.0)], ia=ia)
    f = one(out["final_scores"])
    # weights 50/10->0 (cost reweighted: 60/0/15/25); IA special status 40/40 -> 100% x 15 = 15; +5 +5 (CPB capped).
    assert f.small_practice_bonus == 5 and f.complex_patient_bonus == 5
    assert f.final_score == pytest.approx(15 + 5 + 5)


def test_no_bonuses_without_submitted_data():
    # §2.6: bonuses need data in at least one category.
    out = score(2018, entities=[entity(small_practice=True, complex_patient_bonus=3.0)])
    f = one(out["final_scores"])
    assert f.small_practice_bonus == 0 and f.complex_patient_bonus == 0


def test_final_score_capped_at_100():
    # §2.6 [S]: cap 100. PY2022 small practice (PI reweighted) IA 100% x 50 + quality ... + CPB 10.
    ia = [{"tin": "123456789", "npi": None, "activity_id": "IA_H1"}]
    rows = [quality_row(f"P{i}", 100, 0) for i in range(6)]
    b = pd.concat([bench(f"P{i}", DIRECT) for i in range(6)])
    out = score(2022, entities=[entity(small_practice=True, complex_patient_bonus=10.0)], ia=ia, quality=rows,
                benchmarks=b, quality_measures=measures([("P0", "outcome", True)]))
    assert one(out["final_scores"]).final_score == 100


def test_dollar_effect_from_part_b_allowed_charges():
    # Issue 4 item 6: USD = charges x adjustment. PY2024 final 0 -> -9% of 200,000 = -18,000.
    out = score(2024, entities=[entity(part_b_allowed_charges=200000.0)])
    f = one(out["final_scores"])
    assert f.payment_adjustment_usd == pytest.approx(-18000)
    assert f.payment_year == 2026


@pytest.mark.parametrize("year, final, adjustment", [
    # spec §1 master table, one scenario through every year: IA full credit (PCMH), PI hardship + no cost
    # (Q 85 / IA 15), six quality measures without benchmarks meeting DC and case minimum:
    # 3 points each through PY2022 (18/60 = 30%), 0 from PY2023.  FS = 0.85 Q + 15.
    (2017, 40.5, 4 * (40.5 - 3) / 97),      # PT 3, AP 4, SF 1 (given: CMS's factor was not found)
    (2018, 40.5, 5 * (40.5 - 15) / 85),     # PT 15, AP 5
    (2019, 40.5, 7 * (40.5 - 30) / 70),     # PT 30, AP 7
    (2020, 40.5, -9 * (45 - 40.5) / 45),    # PT 45: below the threshold
    (2021, 40.5, -9 * (60 - 40.5) / 60),    # PT 60
    (2022, 40.5, -9 * (75 - 40.5) / 75),    # PT 75
    (2023, 15.0, -9),                        # 0 points for no benchmark; 15 <= PT/4 = 18.75 -> -AP
    (2024, 15.0, -9),
    (2025, 15.0, -9),
    (2026, 15.0, -9),
])
def test_one_scenario_through_every_year(year, final, adjustment):
    rows = [quality_row(f"M{i}", 30, 10) for i in range(6)]
    meas = measures([("M0", "outcome", True)] + [(f"M{i}", "process", False) for i in range(1, 6)])
    out = score(year, entities=[entity(pcmh=True, pi_hardship=True)], quality=rows, quality_measures=meas,
                scaling_factor=1.0)
    f = one(out["final_scores"])
    assert (f.quality_weight, f.ia_weight) == (85, 15)
    assert f.final_score == pytest.approx(final)
    assert f.payment_adjustment_percent == pytest.approx(adjustment)


@settings(max_examples=15, deadline=None)
@given(year=st.sampled_from(range(2017, 2027)), small=st.booleans(), hardship=st.booleans(), pcmh=st.booleans(),
       cpb=st.floats(0, 20), rates=st.lists(st.integers(0, 100), min_size=0, max_size=7))
def test_final_score_invariants(year, small, hardship, pcmh, cpb, rates):
    # §2.5/§2.6/§4.1 invariants: weights sum to 100; 0 <= final <= 100; the adjustment lies in [-AP, AP x SF + exceptional].
    rows = [quality_row(f"M{i}", r, 100 - r) for i, r in enumerate(rates)]
    b = pd.concat([bench(f"M{i}", DIRECT) for i in range(len(rates))]) if rates else None
    out = score(year, entities=[entity(small_practice=small, pi_hardship=hardship, pcmh=pcmh, complex_patient_bonus=cpb)],
                quality=rows or None, benchmarks=b)
    f = one(out["final_scores"])
    assert f.quality_weight + f.cost_weight + f.ia_weight + f.pi_weight == pytest.approx(100)
    assert 0 <= f.final_score <= 100
    rules = load_rules(year)
    ap = rules["payment.applicable_percent"]
    # issue 13: the adjustment always lies in its [low, high] range; a point value only when the factor is known
    assert -ap - 1e-9 <= f.payment_adjustment_low_percent <= f.payment_adjustment_high_percent + 1e-12
    if f.payment_adjustment_basis == "range":
        assert pd.isna(f.payment_adjustment_percent) and f.final_score > rules["payment.performance_threshold"]
    else:
        assert -ap - 1e-9 <= f.base_adjustment_percent
        assert f.base_adjustment_percent <= ap * (f.scaling_factor if f.scaling_factor == f.scaling_factor else 0) + 1e-9
        assert f.payment_adjustment_low_percent == pytest.approx(f.payment_adjustment_percent)
    cats = out["category_scores"]
    scored = cats[cats.score_percent.notna()]
    assert ((scored.score_percent >= 0) & (scored.score_percent <= 100)).all()
