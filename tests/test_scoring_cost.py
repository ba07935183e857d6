"""Cost category (scoring-rules.md §2.2, §3.1, §3.5)."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.test_scoring_support import TIN, bench, entity, one, score
from transforms.scoring import score_frames

# Cost deciles are inverse (lower cost is better): lower bounds of deciles 1..10 descend.
COST_BOUNDS = [9000, 8000, 7000, 6000, 5000, 4000, 3000, 2000, 1000, 500]


def cost_row(measure_id, value, cases):
    return {"tin": TIN, "npi": None, "measure_id": measure_id, "measure_value": value, "case_count": cases}


def cost_bench(*ids):
    return pd.concat([bench(m, COST_BOUNDS, collection_type="administrativeClaims", inverse=True) for m in ids])


def test_cost_interpolation_and_simple_average():
    # §3.1: 4500 lies in decile 5 (bound 5000 >= x > 4000, decile 6's bound): 5 + (5000-4500)/(5000-4000) = 5.5.
    # 400 is at or below the decile 10 bound 500 -> 10. Average (5.5 + 10) / 20 = 77.5% (§2.2 simpleAverage).
    out = score(2022, entities=[entity()], cost=[cost_row("COST_A", 4500, 30), cost_row("COST_B", 400, 30)],
                benchmarks=cost_bench("COST_A", "COST_B"))
    ms = out["measure_scores"]
    assert one(ms, measure_id="COST_A").achievement_points == pytest.approx(5.5)
    assert one(ms, measure_id="COST_B").achievement_points == 10
    assert one(out["category_scores"], category="cost").score_percent == pytest.approx(77.5)


def test_cost_case_minimums():
    # §2.2 [R]: MSPB_1 needs 35 cases, TPCC_1 20, procedural episodes 10. 34 MSPB cases -> not scored.
    out = score(2022, entities=[entity()],
                cost=[cost_row("MSPB_1", 4500, 34), cost_row("TPCC_1", 4500, 20), cost_row("COST_KA_1", 4500, 10)],
                benchmarks=cost_bench("MSPB_1", "TPCC_1", "COST_KA_1"))
    ms = out["measure_scores"]
    assert not one(ms, measure_id="MSPB_1").selected and "case minimum 35" in one(ms, measure_id="MSPB_1").explanation
    assert one(ms, measure_id="TPCC_1").selected and one(ms, measure_id="COST_KA_1").selected


def test_cost_above_decile_1_bound_gets_one_point():
    # §3.1 [?]: a cost worse than the decile-1 bound -> 1.0 (regulation: cost measures score 1 to 10).
    out = score(2022, entities=[entity()], cost=[cost_row("COST_A", 9500, 30)], benchmarks=cost_bench("COST_A"))
    assert one(out["measure_scores"], measure_id="COST_A").achievement_points == 1.0


def test_cost_reweighted_when_no_measure_scores():
    # §2.2: no cost measure meets its case minimum -> cost reweighted (PY2022: Q55/C0/IA15/PI30).
    out = score(2022, entities=[entity()], cost=[cost_row("COST_A", 4500, 5)], benchmarks=cost_bench("COST_A"))
    c = one(out["category_scores"], category="cost")
    assert c.reweighted and pd.isna(c.score_percent)
    f = one(out["final_scores"])
    assert (f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight) == (55, 0, 15, 30)


def test_cost_counts_in_the_final_score():
    # PY2022 standard weights 30/30/15/25: cost 77.5% -> 23.25 final-score points (other categories 0).
    out = score(2022, entities=[entity()], cost=[cost_row("COST_A", 4500, 30), cost_row("COST_B", 400, 30)],
                benchmarks=cost_bench("COST_A", "COST_B"))
    f = one(out["final_scores"])
    assert f.cost_weight == 30 and f.final_score == pytest.approx(23.25)


def test_py2024_median_cost_earns_7_5_points_with_the_compiled_benchmark():
    # §3.5 [D]: PY2024 median/SD benchmarks: a cost exactly at the median (p30 + p40) / 2 earns 7.5 points.
    # COST_ACOPD_1 PY2024: p30 = 4044, p40 = 5401.76 -> median 4722.88.
    out = score_frames(performance_year=2024, entities=pd.DataFrame([entity()]),
                       cost=pd.DataFrame([cost_row("COST_ACOPD_1", 4722.88, 40)]))
    assert one(out["measure_scores"], measure_id="COST_ACOPD_1").achievement_points == pytest.approx(7.5, abs=1e-4)
