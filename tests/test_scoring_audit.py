"""Issue 13: the outside audit's corrections, the honest payment estimate and the rule schema, each test citing
the source of the rule it checks (the same source the rule file names, data/rules/<PY>.yaml).

Tiny hand-made tables through the library (tests/test_scoring_support.py); the expected numbers are worked out
in the comments. The command-line paths are at the end.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mips.errors import PipelineError
from tests.test_scoring_support import IA_REF, bench, entity, measures, one, quality_row, score
from transforms.scoring import load_rules
from transforms.scoring.rules import available_years, rules_from_mapping

DIRECT = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
ROOT = Path(__file__).resolve().parents[1]


def six_class2_rows():
    """Six measures without a benchmark, DC and case minimum met (30 of 40): 3 points each through PY2022."""
    return [quality_row(f"M{i}", 30, 10) for i in range(6)]


# ---------------------------------------------------------------- audit table

@pytest.mark.parametrize("year", [2020, 2021])
def test_cost_reweighted_for_everyone_py2020_2021_and_2020_redistribution_55_0_15_30(year):
    # §414.1380(c)(2)(ii)(D) as amended by the CY2020 PFS final rule: cost reweighted -> 55/0/15/30 (the spec had
    # 60/0/15/25 for 2020). CMS COVID-19 EUC: cost 0 % for every clinician in PY2020 and PY2021 (rule
    # cost.reweighted_for_all_clinicians), even with a cost measure scored: TPCC_1 at 5000 -> decile 10, still weight 0.
    cost_bench = bench("TPCC_1", [90000, 20000, 15000, 14000, 13000, 12000, 11000, 10000, 9000, 8000],
                       collection_type="administrativeClaims", inverse=True)
    out = score(year, entities=[entity()], quality=six_class2_rows(), ia=[{"tin": "123456789", "activity_id": "IA_H1"},
                                                                          {"tin": "123456789", "activity_id": "IA_H2"}],
                cost=[{"tin": "123456789", "measure_id": "TPCC_1", "measure_value": 5000.0, "case_count": 100}],
                benchmarks=cost_bench)
    f = one(out["final_scores"])
    assert (f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight) == (55, 0, 15, 30)
    assert pd.isna(f.cost_score)
    cost = one(out["category_scores"], category="cost")
    assert cost.reweighted and "every clinician" in cost.reason
    # Q: no outcome/high-priority measure among the six, so only the best 5 count (spec §2.1): 15/60 = 25 %;
    # IA 40/40 = 100 %; PI 0 (nothing sent, no status): FS = 0.55 x 25 + 0.15 x 100 = 28.75
    assert f.final_score == pytest.approx(28.75)
    assert "cost.reweighted_for_all_clinicians" in f.unconfirmed_rules


def test_py2022_cost_is_not_reweighted_for_everyone():
    # The blanket reweighting is PY2020-2021 only: PY2022 with a scored cost measure keeps cost's 30 %.
    cost_bench = bench("TPCC_1", [90000, 20000, 15000, 14000, 13000, 12000, 11000, 10000, 9000, 8000],
                       collection_type="administrativeClaims", inverse=True)
    out = score(2022, entities=[entity()], cost=[{"tin": "123456789", "measure_id": "TPCC_1", "measure_value": 5000.0,
                                                 "case_count": 100}], benchmarks=cost_bench)
    f = one(out["final_scores"])
    assert f.cost_weight == 30 and f.cost_score == pytest.approx(100)


@pytest.mark.parametrize("year", [2018, 2019])
def test_data_completeness_is_checked_before_the_case_minimum_py2018_2019(year):
    # CMS scoring engine 0.59.3, PY2018 (qpp-apis KmMPPoFBNWk, QUALITY-056): below the case minimum AND below data
    # completeness is class 3 -> 1 point (3 for a small practice), not the 3 points of class 2.
    # 4 reported of 10 eligible: DC 40 % < 60 %, 10 < 20 cases.
    row = [quality_row("M0", 3, 1, eligible=10)]
    m = one(score(year, entities=[entity()], quality=row)["measure_scores"])
    assert (m.measure_class, m.achievement_points) == ("class 3", 1)
    m = one(score(year, entities=[entity(small_practice=True)], quality=row)["measure_scores"])
    assert (m.measure_class, m.achievement_points) == ("class 3", 3)
    # DC met (4 of 4) but 4 < 20 cases: class 2 -> 3 points.
    m = one(score(year, entities=[entity()], quality=[quality_row("M0", 3, 1)])["measure_scores"])
    assert (m.measure_class, m.achievement_points) == ("class 2", 3)


def _pi_2018_base():
    # Base measures all reported (numerator >= 1 / yes): 50. PEA 5/100 -> 5 % -> band 1 -> 1 point;
    # HIE_1 5/100 -> 1; HIE_2 5/100 -> 1 (10-point measures, spec §2.4 bands): performance 3.
    t = "123456789"
    return [{"tin": t, "measure_id": "PI_PPHI_1", "value": True}, {"tin": t, "measure_id": "PI_EP_1", "numerator": 5, "denominator": 100},
            {"tin": t, "measure_id": "PI_PEA_1", "numerator": 5, "denominator": 100},
            {"tin": t, "measure_id": "PI_HIE_1", "numerator": 5, "denominator": 100},
            {"tin": t, "measure_id": "PI_HIE_2", "numerator": 5, "denominator": 100}]


def test_py2018_any_public_health_registry_earns_10_and_a_multi_registry_the_5_bonus():
    # 2018 measures-data: every PI_PHCDRR_1..5 weight 10 (performance), every *_MULTI weight 5 (bonus) -> any one
    # registry earns 10, an additional one (the _MULTI id) the 5-point bonus. Before: only immunization earned 10.
    base = _pi_2018_base()
    pi = one(score(2018, entities=[entity()], pi=base)["category_scores"], category="pi")
    assert pi.score_percent == pytest.approx(53)                      # 50 + 3
    with_registry = base + [{"tin": "123456789", "measure_id": "PI_PHCDRR_2", "value": True}]
    pi = one(score(2018, entities=[entity()], pi=with_registry)["category_scores"], category="pi")
    assert pi.score_percent == pytest.approx(63)                      # + 10 (syndromic surveillance, not immunization)
    with_multi = with_registry + [{"tin": "123456789", "measure_id": "PI_PHCDRR_3_MULTI", "value": True}]
    pi = one(score(2018, entities=[entity()], pi=with_multi)["category_scores"], category="pi")
    assert pi.score_percent == pytest.approx(68) and pi.bonus_points == 5


def test_acute_inpatient_cost_measures_need_20_cases():
    # Audit: COST_LGH_1, COST_PRC_1, COST_RIH_1 are acute inpatient episode measures -> case minimum 20, not the
    # procedural 10 (rule cost.case_minimums). 15 cases: not scored; 20: scored. COST_CRR_1 stays procedural (10).
    rules = load_rules(2025)
    groups = rules["cost.case_minimums"]
    for mid in ("COST_LGH_1", "COST_PRC_1", "COST_RIH_1"):
        assert mid in groups["acute_inpatient"]["measures"] and mid not in groups["procedural"]["measures"]
    assert "COST_CRR_1" in groups["procedural"]["measures"]
    b = bench("COST_RIH_1", [30000, 20000, 15000, 14000, 13000, 12000, 11000, 10000, 9000, 8000],
              collection_type="administrativeClaims", inverse=True)
    for cases, scored in ((15, False), (20, True)):
        ms = score(2025, entities=[entity()], benchmarks=b, cost=[{"tin": "123456789", "measure_id": "COST_RIH_1",
                                                                  "measure_value": 5000.0, "case_count": cases}])["measure_scores"]
        assert bool(one(ms, measure_id="COST_RIH_1").selected) == scored


@pytest.mark.parametrize("year", [2025, 2026])
def test_ia_unweighted_unknown_activity_earns_nothing_with_a_warning(year):
    # PY2025+: 20 points per activity of the year's inventory (spec §2.3 [D][R]); an id not in it earns 0 and is named.
    out = score(year, entities=[entity()], ia=[{"tin": "123456789", "activity_id": "IA_M1"},
                                               {"tin": "123456789", "activity_id": "IA_NOT_REAL"}])
    ia = one(out["category_scores"], category="ia")
    assert ia.points_earned == 20 and ia.score_percent == pytest.approx(50)
    assert "IA_NOT_REAL" in ia.explanation and "WARNING" in ia.explanation


# ---------------------------------------------------------------- "check these as well"

def test_aci_transition_measures_band_2_points_per_10_percent_py2017():
    # CMS engine (qpp-apis UnRw54ei7aQ): SRA yes, e-Prescribing yes, PEA (transition, 20 points) 47/100, HIE
    # (transition, 20 points) 2/100 -> base 50 + PEA band 5 x 2 = 10 + HIE band 1 x 2 = 2 = 62 (15.5 at 25 %).
    t = "123456789"
    pi = [{"tin": t, "measure_id": "ACI_TRANS_PPHI_1", "value": True}, {"tin": t, "measure_id": "ACI_TRANS_EP_1", "value": True},
          {"tin": t, "measure_id": "ACI_TRANS_PEA_1", "numerator": 47, "denominator": 100},
          {"tin": t, "measure_id": "ACI_TRANS_HIE_1", "numerator": 2, "denominator": 100}]
    out = score(2017, entities=[entity()], pi=pi)
    assert one(out["category_scores"], category="pi").score_percent == pytest.approx(62)


def test_rate_is_rounded_to_a_whole_percent_before_banding_py2018():
    # Rule pi.rate_band_rounding: 10.4 % -> 10 % -> band 1 -> 1 point (a plain ceil of 1.04 would give 2).
    pi = _pi_2018_base()
    pi[2] = {"tin": "123456789", "measure_id": "PI_PEA_1", "numerator": 104, "denominator": 1000}
    assert one(score(2018, entities=[entity()], pi=pi)["category_scores"], category="pi").score_percent == pytest.approx(53)


def test_zero_rate_on_a_direct_measure_earns_0_in_py2018_not_the_floor():
    # CMS engine PY2018 (qpp-apis uJsEAGByag8): measure 110, 0 of 20 -> 'Contributing 0 points for 0% Performance
    # rate'. PY2017 gave the 3-point floor for the same rate (same thread).
    b = bench("M0", DIRECT)
    row = [quality_row("M0", 0, 20)]
    assert one(score(2018, entities=[entity()], quality=row, benchmarks=b)["measure_scores"]).achievement_points == 0
    assert one(score(2017, entities=[entity()], quality=row, benchmarks=b)["measure_scores"]).achievement_points == 3
    # an inverse measure at 0 % is the best rate: decile 10 (bounds descend), not 0
    inv = bench("M0", [100, 90, 80, 70, 60, 50, 40, 30, 20, 10], inverse=True)
    assert one(score(2018, entities=[entity()], quality=row, benchmarks=inv)["measure_scores"]).achievement_points == 10


def test_e_prescribing_exclusion_points_go_to_the_bidirectional_exchange_measure_py2021():
    # Rule pi.exclusion_redistribution [R]: the e-Prescribing exclusion's 10 points go to the exchange measure
    # reported, HIE_5 (40) here. PEA 50/100 -> round(0.5 x 40) = 20; HIE_5 yes 40 + 10; public health 2 yes -> 10.
    # Total 80 (before: the 10 points went to HIE_1/HIE_4, not reported -> 70).
    t = "123456789"
    pi = [{"tin": t, "measure_id": "PI_PPHI_1", "value": True},
          {"tin": t, "measure_id": "PI_EP_1", "exclusion_claimed": True},
          {"tin": t, "measure_id": "PI_HIE_5", "value": True},
          {"tin": t, "measure_id": "PI_PEA_1", "numerator": 50, "denominator": 100},
          {"tin": t, "measure_id": "PI_PHCDRR_1", "value": True}, {"tin": t, "measure_id": "PI_PHCDRR_2", "value": True}]
    assert one(score(2021, entities=[entity()], pi=pi)["category_scores"], category="pi").score_percent == pytest.approx(80)


# ---------------------------------------------------------------- payment estimate

def _perfect(year: int, **kw):
    # PCMH (IA 100 %), PI hardship and no cost -> 85/0/15/0 (spec §2.5); six measures at 95 % on direct bounds
    # [0, 10, ..., 90] -> decile 10 -> 10 points each -> quality 100 %. FS = 100.
    rows = [quality_row(f"M{i}", 95, 5) for i in range(6)]
    b = pd.concat([bench(f"M{i}", DIRECT) for i in range(6)])
    meas = measures([("M0", "outcome", True)] + [(f"M{i}", "process", False) for i in range(1, 6)])
    return one(score(year, entities=[entity(pcmh=True, pi_hardship=True)], quality=rows, benchmarks=b,
                     quality_measures=meas, **kw)["final_scores"])


def test_unpublished_scaling_factor_gives_a_range_not_a_number_py2025():
    # PaY2027 factor not published (rule payment.scaling_factor null): range between the PaY2026 and PaY2025
    # factors [S]: 9 x (100 - 75)/25 x 1.05/9 = 1.05 % to 9 x 2.15/9 = 2.15 %.
    f = _perfect(2025)
    assert f.final_score == pytest.approx(100)
    assert f.payment_adjustment_basis == "range" and pd.isna(f.payment_adjustment_percent)
    assert pd.isna(f.payment_adjustment_usd) and pd.isna(f.scaling_factor)
    # (the rule file keeps the factors to 6 dp: 9 x 0.116667 = 1.050003)
    assert (f.payment_adjustment_low_percent, f.payment_adjustment_high_percent) == (
        pytest.approx(1.05, abs=1e-4), pytest.approx(2.15, abs=1e-4))
    assert "RANGE" in f.explanation
    assert {"payment.scaling_factor", "payment.scaling_factor_range"} <= set(f.unconfirmed_rules.split(", "))


def test_secondary_scaling_factor_is_labelled_an_estimate_py2023_and_a_given_one_is_exact():
    # PY2023: SF 2.15/9 [S] -> 2.15 % at 100, labelled 'estimate'. --scaling-factor 0.2 -> 9 x 0.2 = 1.8 %, 'exact'.
    f = _perfect(2023)
    assert f.payment_adjustment_basis == "estimate" and f.payment_adjustment_percent == pytest.approx(2.15, abs=1e-4)
    f = _perfect(2023, scaling_factor=0.2)
    assert f.payment_adjustment_basis == "exact" and f.payment_adjustment_percent == pytest.approx(1.8)
    assert "payment.scaling_factor" not in (f.unconfirmed_rules or "")


def test_exceptional_adjustment_without_its_factor_is_a_range_py2021():
    # PY2021: PT 60, APT 85, AP 9; SF and ESF not published. The PaY2023 maximum of 2.33 % (AANS, [S]) bounds them:
    # SF 0..0.2589, ESF 0..0.233. FS 100: low 0; high 9 x 0.2589 + (0.5 + 9.5) x 0.233 = 4.6601.
    # Given SF 0.5, ESF still unknown -> still a range: 4.5 .. 4.5 + 2.33 = 6.83.
    f = _perfect(2021)
    assert f.payment_adjustment_basis == "range"
    assert (f.payment_adjustment_low_percent, f.payment_adjustment_high_percent) == (pytest.approx(0),
                                                                                      pytest.approx(4.6601))
    f = _perfect(2021, scaling_factor=0.5)
    assert f.payment_adjustment_basis == "range"
    assert (f.payment_adjustment_low_percent, f.payment_adjustment_high_percent) == (pytest.approx(4.5), pytest.approx(6.83))
    f = _perfect(2021, scaling_factor=0.5, exceptional_scaling_factor=0.2)
    assert f.payment_adjustment_basis == "exact" and f.payment_adjustment_percent == pytest.approx(4.5 + 2)


def test_exceptional_adjustment_without_any_bound_is_the_statutory_range_py2022():
    # PY2022: PT 75, APT 89, AP 9; no factor and no published maximum read -> SF 0..3 (§414.1405(b)(3)), ESF 0..1
    # (spec §4.2). FS 100: low 0; high 9 x 3 + (0.5 + 9.5) x 1 = 37. Given SF 0.5: 4.5 .. 4.5 + 10 = 14.5.
    f = _perfect(2022)
    assert f.payment_adjustment_basis == "range"
    assert (f.payment_adjustment_low_percent, f.payment_adjustment_high_percent) == (pytest.approx(0), pytest.approx(37))
    f = _perfect(2022, scaling_factor=0.5)
    assert (f.payment_adjustment_low_percent, f.payment_adjustment_high_percent) == (pytest.approx(4.5), pytest.approx(14.5))


def test_below_the_threshold_needs_no_factor():
    # §414.1405(b)(2): the negative side is not scaled -> exact even where SF is unknown. PY2025 nothing sent: -9.
    f = one(score(2025, entities=[entity()])["final_scores"])
    assert f.payment_adjustment_basis == "exact" and f.payment_adjustment_percent == pytest.approx(-9)
    assert f.payment_adjustment_low_percent == f.payment_adjustment_high_percent == pytest.approx(-9)


def test_category_rows_name_their_unconfirmed_rules():
    out = score(2025, entities=[entity()], quality=six_class2_rows())
    q = one(out["category_scores"], category="quality")
    listed = set(q.unconfirmed_rules.split(", "))
    rules = load_rules(2025)
    assert listed == {p for p, leaf in rules.leaves.items() if p.startswith("quality.") and leaf.unconfirmed
                      and leaf.value is not None}


# ---------------------------------------------------------------- rules as the single source of truth

def test_years_come_from_the_rule_files():
    assert available_years() == sorted(int(p.stem) for p in (ROOT / "data" / "rules").glob("*.yaml"))
    for year in available_years():
        assert load_rules(year).performance_year == year


def test_a_rule_file_missing_a_value_is_refused_with_its_path(tmp_path):
    doc = yaml.safe_load((ROOT / "data" / "rules" / "2024.yaml").read_text())
    del doc["quality"]["case_minimum"]
    (tmp_path / "2024.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(PipelineError, match="missing quality.case_minimum"):
        load_rules(2024, tmp_path)


def test_a_rule_of_the_wrong_kind_or_unknown_is_refused(tmp_path):
    doc = yaml.safe_load((ROOT / "data" / "rules" / "2024.yaml").read_text())
    doc["payment"]["performance_threshold"]["value"] = "seventy-five"
    doc["payment"]["made_up"] = {"value": 1, "source": "[?] x", "unconfirmed": True}
    with pytest.raises(PipelineError, match="performance_threshold should be number.*unknown rule payment.made_up"):
        rules_from_mapping(doc, tmp_path / "2024.yaml", check_schema=True)


def test_measure_engine_thresholds_read_through_the_rules_loader(tmp_path):
    # transforms.measures.quality_thresholds has no fallback of its own: a changed file changes it, no file fails.
    from transforms.measures import quality_thresholds

    shutil.copy(ROOT / "data" / "rules" / "2024.yaml", tmp_path / "2024.yaml")
    text = (tmp_path / "2024.yaml").read_text().replace("  data_completeness_percent:\n    value: 75",
                                                         "  data_completeness_percent:\n    value: 80")
    (tmp_path / "2024.yaml").write_text(text)
    assert quality_thresholds(2024, tmp_path) == (80.0, 20)
    with pytest.raises(PipelineError, match="no scoring rules for performance year 2030"):
        quality_thresholds(2030, tmp_path)


# ---------------------------------------------------------------- command line

def test_mips_score_fails_over_the_rejection_threshold_and_warns_of_missing_inputs(tmp_path):
    ent = tmp_path / "ent.csv"
    ent.write_text("tin,npi\n123456789,\n")
    ia = tmp_path / "ia.csv"
    ia.write_text("tin,npi,activity_id\n123456789,,IA_NOT_IN_2025\n12345,,IA_EPA_1\n")
    base = [sys.executable, "-m", "mips.cli", "score", "--performance-year", "2025", "--entities", str(ent), "--ia", str(ia)]
    # 1 of 2 IA rows rejected (bad TIN) = 50 % > 5 %: fails like mips run, nothing published
    proc = subprocess.run(base + ["--output", str(tmp_path / "a")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "50.0% rejected" in proc.stderr and not (tmp_path / "a" / "final_scores").exists()
    proc = subprocess.run(base + ["--max-rejected-percent", "60", "--output", str(tmp_path / "b")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    # no quality file, no PI file and no status: both scored 0 with a warning; the unknown activity is named
    assert "no quality input: 1" in proc.stdout and "no Promoting Interoperability input: 1" in proc.stdout
    assert "IA_NOT_IN_2025" in proc.stdout


def test_mips_run_steps_take_the_scaling_factor_and_the_manifest_lists_unconfirmed_rules(tmp_path):
    # Issue 13: `mips run` and the flow take --scaling-factor as `mips score` does; the run manifest lists the
    # year's unconfirmed rule values (in its parameters object).
    from mips.period import run_period_steps
    from mips.store import read_manifest
    from tests.test_flow import make_inputs

    out = tmp_path / "out"
    run_period_steps(performance_year=2024, files=make_inputs(tmp_path / "in"), output_root=out, scaling_factor=0.5)
    params = read_manifest(out, 2024)["parameters"]
    assert params["scaling_factor"] == 0.5 and params["exceptional_scaling_factor"] is None
    unconfirmed = {leaf.path for leaf in load_rules(2024).unconfirmed() if leaf.value is not None}
    assert set(params["unconfirmed_rules"]) == unconfirmed and "payment.scaling_factor" in unconfirmed
    factors = {row[0] for row in duckdb_rows(out)}
    assert factors == {0.5}


def duckdb_rows(out: Path):
    import duckdb
    return duckdb.sql(f"SELECT scaling_factor FROM read_parquet('{out}/final_scores/**/*.parquet', "
                      f"hive_partitioning = true)").fetchall()


def test_mips_run_refuses_an_out_of_range_scaling_factor_before_starting(tmp_path, capsys):
    from mips.cli import main
    from tests.test_flow import make_inputs

    files = make_inputs(tmp_path / "in")
    code = main(["run", "--performance-year", "2024", "--medical-claim", str(files["medical_claim"]),
                 "--eligibility", str(files["eligibility"]), "--output", str(tmp_path / "o"), "--without-prefect",
                 "--scaling-factor", "4"])
    assert code == 2 and "--scaling-factor must be above 0 and at most 3" in capsys.readouterr().err


def test_docs_scoring_md_is_generated_from_the_rule_files():
    # docs/scoring.md tells an analyst, per year, which rules are confirmed and by what source (issue 13).
    from transforms.scoring.rules_doc import scoring_markdown

    text = scoring_markdown()
    assert (ROOT / "docs" / "scoring.md").read_text() == text, \
        "run: .venv/bin/python -m transforms.scoring.rules_doc > docs/scoring.md"
    for year in available_years():
        assert f"## Performance year {year}" in text
    # every unconfirmed value of a year is listed as such with its source
    leaf = load_rules(2025).leaf("payment.scaling_factor_range")
    assert f"| `payment.scaling_factor_range` |" in text and leaf.source in text
    assert "positive adjustments are shown as a **range**" in text


def test_rules_doc_summary_counts_confirmed_values_as_the_docs_table_does():
    # `python -m transforms.scoring.rules_doc --summary` prints, per year, the confirmed / applicable counts of the
    # docs table. PY2017's performance threshold (3) was read in 42 CFR 414.1405(b)(4): it is confirmed and counted.
    import re

    from transforms.scoring.rules_doc import confirmation_summary, scoring_markdown

    summary = {year: (values, confirmed) for year, values, confirmed in confirmation_summary()}
    assert sorted(summary) == available_years()
    rows = {int(m[1]): (int(m[2]), int(m[3])) for m in re.finditer(r"^\| (\d{4}) \| \d{4} \| (\d+) \| (\d+) \|",
                                                               scoring_markdown(), re.M)}
    assert rows == summary
    leaf = load_rules(2017).leaf("payment.performance_threshold")
    assert leaf.value == 3 and not leaf.unconfirmed and "414.1405(b)(4)" in leaf.source
    r17 = load_rules(2017)
    live = [v for v in r17.leaves.values() if v.value is not None]
    assert summary[2017] == (len(live), sum(not v.unconfirmed for v in live))


def test_measure_rows_name_the_unconfirmed_rules_their_points_rest_on():
    # Issue 13: every output row that rests on an unconfirmed value says which. A measure below both data
    # completeness and the case minimum rests on quality.class_precedence: confirmed for PY2018 ([V] CMS engine),
    # recalled for PY2019 ([R]) -> named only in 2019.
    row = [quality_row("M0", 3, 1, eligible=10)]
    m18 = one(score(2018, entities=[entity()], quality=row)["measure_scores"])
    m19 = one(score(2019, entities=[entity()], quality=row)["measure_scores"])
    assert "quality.class_precedence" not in (m18.unconfirmed_rules or "")
    assert "quality.class_precedence" in m19.unconfirmed_rules.split(", ")
    # and every path named is an unconfirmed leaf of that year
    rules = load_rules(2019)
    assert all(rules.leaf(p).unconfirmed for p in m19.unconfirmed_rules.split(", "))


def test_py2018_factor_ranges_reproduce_the_published_2020_adjustments():
    # PaY2020 (PY2018) sample final scores and total adjustments from CMS feedback, as listed by mdinteractive.com
    # ("Now Available: 2018 MIPS Performance Feedback and Final Score"; maximum 1.68 %, MGMA-MO likewise). With
    # PT 15, AP 5 % and APT 70 (§414.1405), positive = 5 x (FS - 15) / 85 x SF and, at or above 70,
    # + (0.5 + 9.5 x (FS - 70) / 30) x ESF. The rule ranges SF 0.0616-0.0638 and ESF 0.1356-0.1377 must put every
    # published figure (rounded to 0.01 %) inside the computed low..high, and keep the spread small.
    import duckdb

    from transforms.scoring.final import adjustment_range_sql

    rules = load_rules(2018)
    low, high = adjustment_range_sql(rules, "fs")
    published = [(27.53, 0.05), (35.00, 0.07), (39.11, 0.09), (63.25, 0.18), (83.20, 0.89), (100.0, 1.68)]
    rows = duckdb.sql(f"SELECT fs, {low} AS lo, {high} AS hi FROM (SELECT CAST(v AS DOUBLE) AS fs FROM (VALUES "
                      + ", ".join(f"({fs})" for fs, _ in published) + ") t(v)) ORDER BY fs").fetchall()
    for (fs, adj), (fs2, lo, hi) in zip(published, rows):
        assert fs == fs2 and lo - 0.005 <= adj <= hi + 0.005, (fs, adj, lo, hi)
    assert rows[-1][2] - rows[-1][1] < 0.05  # at a score of 100: 1.66-1.70 %, not the statutory 0-20 %
    # PaY2023 (PY2021): the 2.33 % maximum (AANS) bounds both factors, so a score of 100 lies within the range.
    lo21, hi21 = adjustment_range_sql(load_rules(2021), "100.0")
    ((lo, hi),) = duckdb.sql(f"SELECT {lo21}, {hi21}").fetchall()
    assert lo == 0.0 and 2.33 <= hi <= 2 * 2.33 + 0.01  # both bounds rounded up to 4 decimals
