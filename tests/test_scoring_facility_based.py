"""Facility-based scoring (PY2019 on), worked examples through `mips score --facility-conversion`.

Rules (data/rules/<PY>.yaml, section facility_based):
- facility_based.allowed: from PY2019 (§414.1380(e), CY2019 PFS final rule) [V].
- facility_based.method: the hospital's Hospital VBP Total Performance Score (TPS) percentile gives the MIPS quality
  and cost scores at the same percentile [R]; CMS's distributions are not bundled, so the conversion is an input
  (here a hand-made table, NOT CMS's: TPS >= 0 -> quality 5 %, cost 5 %; >= 40 -> 50 %, 60 %; >= 50 -> 70 %, 80 %).
- facility_based.comparison: used when quality x W_quality + cost x W_cost beats the entity's own [R]; cost counts 0
  in the years that reweight cost for everyone (PY2020-2021, rule cost.reweighted_for_all_clinicians).
- facility_based.hvbp_fiscal_year_offset: PY2019 uses the FY2020 Hospital VBP program [S].

Entities (groups, so that the PY2019-2021 automatic COVID-19 policy for individuals does not enter):
group 123456789, facility-based, its hospital's TPS 42.5, no quality, attests IA_EPA_1 (high, 20 of 40 = 50 %). Group 555555555, facility-based, TPS 3, with quality 236, 001 and 047 (registry) of 10
eligible each: below the case minimum 20 -> 3 points each (class 2) = 9 / 60 = 15 %.
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main
from tests.test_scoring_support import score_args

TIN, GROUP = "123456789", "555555555"
CONVERSION = "performance_year,tps_at_least,quality_score_percent,cost_score_percent\n" + "".join(
    f"{y},0,5,5\n{y},40,50,60\n{y},50,70,80\n" for y in (2019, 2020))


def _run(tmp_path, year, conversion=CONVERSION):
    files = {"entities": f"tin,npi,facility_based,hvbp_total_performance_score\n{TIN},,true,42.5\n{GROUP},,true,3\n",
             "ia": f"tin,npi,activity_id\n{TIN},,IA_EPA_1\n",
             "quality": ("tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
                         + "".join(f"{GROUP},,{m},registry,10,5,5\n" for m in ("236", "001", "047")))}
    if conversion is not None:
        files["facility-conversion"] = conversion
    args = score_args(tmp_path, year, files)
    return main([*args, "--scaling-factor", "1", "--output", str(tmp_path / f"o{year}")])


def _score(tmp_path, year, conversion=CONVERSION):
    assert _run(tmp_path, year, conversion) == 0
    out = tmp_path / f"o{year}"
    read = lambda t: duckdb.sql(f"SELECT * FROM read_parquet('{out}/{t}/**/*.parquet', hive_partitioning=true)").df()
    final = {r.tin: r for r in read("final_scores").itertuples()}
    cats = {(r.tin, r.category): r for r in read("category_scores").itertuples()}
    return final, cats


def test_py2019_facility_scores_used_when_better_and_own_kept_otherwise(tmp_path):
    final, cats = _score(tmp_path, 2019)
    # Group 123456789: TPS 42.5 -> band 40: quality 50 %, cost 60 %. Weights 45/15/15/25: facility 50 x 45 + 60 x 15 = 3150
    # > own 0 (no quality, no cost) -> used; cost now has a score, so it keeps its 15 %.
    # FS = 0.45 x 50 + 0.15 x 60 + 0.15 x 50 (IA) + 0.25 x 0 (PI) = 39. PT 30, AP 7 %, SF 1: 7 x 9 / 70 = 0.9 %.
    q, c = cats[(TIN, "quality")], cats[(TIN, "cost")]
    assert (q.score_percent, c.score_percent, c.reweighted) == (50, 60, False)
    assert "FY2020 Hospital VBP TPS 42.5" in q.explanation and "facility_based.method" in q.unconfirmed_rules
    f = final[TIN]
    assert (f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight) == (45, 15, 15, 25)
    assert f.final_score == pytest.approx(39) and f.payment_adjustment_percent == pytest.approx(0.9)
    # Group: TPS 3 -> band 0: 5 x 45 + 5 x 15 = 300 < own 15 x 45 = 675 -> its own quality 15 %, cost reweighted.
    assert cats[(GROUP, "quality")].score_percent == pytest.approx(15)
    assert cats[(GROUP, "cost")].reweighted and "facility" not in cats[(GROUP, "quality")].explanation


def test_py2020_cost_reweighted_for_all_compares_quality_only(tmp_path):
    final, cats = _score(tmp_path, 2020)
    # PY2020 cost is 0 % for everyone: facility 50 x 45 = 2250 > 0 -> quality 50 %; cost reweighted, scenario
    # 55/0/15/30. FS = 0.55 x 50 + 0.15 x 50 = 35 < PT 45: -9 x (45 - 35) / 45 = -2 %.
    f = final[TIN]
    assert cats[(TIN, "quality")].score_percent == 50 and cats[(TIN, "cost")].reweighted
    assert (f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight) == (55, 0, 15, 30)
    assert f.final_score == pytest.approx(35) and f.payment_adjustment_percent == pytest.approx(-2)


def test_without_a_conversion_row_the_facility_score_is_not_computable_and_said(tmp_path, capsys):
    # PY2021 has no conversion row: both entities keep their own scores; the summary names the 2 entities.
    final, cats = _score(tmp_path, 2021)
    assert cats[(TIN, "quality")].score_percent == 0
    assert "facility-based score not computable: 2" in capsys.readouterr().out


def test_py2018_has_no_facility_based_scoring(tmp_path, capsys):
    assert _run(tmp_path, 2018) == 2
    assert "facility-based scoring starts with PY2019 (rule facility_based.allowed" in capsys.readouterr().err


def test_a_tps_outside_0_to_100_is_refused(tmp_path, capsys):
    (tmp_path / "e.csv").write_text(f"tin,npi,facility_based,hvbp_total_performance_score\n{TIN},,true,142\n")
    assert main(["score", "--performance-year", "2019", "--entities", str(tmp_path / "e.csv"),
                 "--output", str(tmp_path / "o")]) == 2
    assert "1 row(s) with hvbp_total_performance_score outside 0..100" in capsys.readouterr().err
