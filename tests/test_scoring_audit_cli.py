"""The outside audit's corrections as a user meets them: each through `mips score` with CSV files, the real reference
tables (measures, benchmarks, PI measures, IA inventory of the year) and the rule files.

tests/test_scoring_audit.py checks the same rules on the scorer with hand-made benchmarks; here the numbers come from
CMS's own benchmark and inventory data, worked out in each test's comment, so a user's file format, the year's prefix
of PI ids and the real benchmark bounds are part of what is checked.
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main
from tests.test_scoring_support import score_args

TIN = "123456789"


def _score(tmp_path, year: int, files: dict[str, str], name: str = "out") -> dict[str, list[dict]]:
    directory = tmp_path / name
    directory.mkdir()
    args = score_args(directory, year, files)
    assert main([*args, "--output", str(directory / "o")]) == 0
    tables = {}
    for table in ("final_scores", "category_scores", "measure_scores"):
        rel = duckdb.sql(f"SELECT * FROM read_parquet('{directory}/o/{table}/**/*.parquet', hive_partitioning=true)")
        tables[table] = [dict(zip(rel.columns, row)) for row in rel.fetchall()]
    return tables


def _one(rows: list[dict], **match) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


ENTITY = f"tin,npi\n{TIN},\n"
SMALL_ENTITY = f"tin,npi,small_practice\n{TIN},,true\n"
PI_HEAD = "tin,npi,measure_id,numerator,denominator,value,exclusion_claimed"


def _pi(rows: list[tuple]) -> str:
    """PI.csv from (measure_id, numerator, denominator, value, exclusion_claimed) tuples of the group TIN."""
    cell = lambda v: "" if v is None else str(v).lower()
    return PI_HEAD + "\n" + "".join(f"{TIN},,{m},{cell(n)},{cell(d)},{cell(v)},{cell(x)}\n" for m, n, d, v, x in rows)


def test_py2020_cost_is_reweighted_for_everyone_and_its_weight_goes_55_0_15_30(tmp_path):
    # §414.1380(c)(2)(ii)(D) as amended by the CY2020 PFS final rule: with cost reweighted, quality 55, IA 15, PI 30
    # (not 60/0/15/25). PY2020 cost is 0 % for every clinician (COVID-19 EUC; rule cost.reweighted_for_all_clinicians),
    # so the TPCC_1 row sent is not scored, by the rule (the reason says so), not for want of a benchmark.
    # IA: IA_AHE_1 and IA_AHE_3, both high in the 2020 inventory: 20 + 20 = 40 of 40 = 100 %.
    # PI (2019-on scoring): SRA, information blocking and ONC direct review attested; e-Prescribing 100/100 -> 10,
    # HIE_1 100/100 -> 20, HIE_4 100/100 -> 20, patient access 100/100 -> 40, two public health registries -> 10:
    # 100 %. No quality file: quality scored 0 (warned).
    # Final = 0.55 x 0 + 0 + 0.15 x 100 + 0.30 x 100 = 45 (the old 60/0/15/25 gives 40).
    pi = _pi([("PI_PPHI_1", None, None, True, None), ("PI_INFBLO_1", None, None, True, None),
              ("PI_ONCDIR_1", None, None, True, None), ("PI_EP_1", 100, 100, None, None),
              ("PI_HIE_1", 100, 100, None, None), ("PI_HIE_4", 100, 100, None, None),
              ("PI_PEA_1", 100, 100, None, None), ("PI_PHCDRR_1", None, None, True, None),
              ("PI_PHCDRR_2", None, None, True, None)])
    out = _score(tmp_path, 2020, {"entities": ENTITY, "ia": f"tin,npi,activity_id\n{TIN},,IA_AHE_1\n{TIN},,IA_AHE_3\n",
                                  "pi": pi, "cost": f"tin,npi,measure_id,measure_value,case_count\n{TIN},,TPCC_1,5000,100\n"})
    final = _one(out["final_scores"])
    assert (final["quality_weight"], final["cost_weight"], final["ia_weight"], final["pi_weight"]) == (55, 0, 15, 30)
    assert _one(out["category_scores"], category="pi")["score_percent"] == pytest.approx(100)
    assert _one(out["category_scores"], category="ia")["score_percent"] == pytest.approx(100)
    cost = _one(out["category_scores"], category="cost")
    assert cost["reweighted"] and "every clinician" in cost["reason"]
    assert final["cost_score"] is None and final["final_score"] == pytest.approx(45)


@pytest.mark.parametrize("year", [2018, 2019])
def test_data_completeness_is_checked_before_the_case_minimum(tmp_path, year):
    # CMS scoring engine PY2018 (QUALITY-056): a measure below data completeness AND below the case minimum is
    # class 3 -> 1 point (3 for a small practice), not the 3 points of class 2.
    # Measure 047 (registry): 10 eligible, 3 met + 1 not met reported: data completeness 40 % < 60 %; 10 < 20 cases.
    quality = ("tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
               f"{TIN},,047,registry,10,3,1\n")
    m = _one(_score(tmp_path, year, {"entities": ENTITY, "quality": quality}, "a")["measure_scores"], measure_id="047")
    assert (m["measure_class"], m["achievement_points"]) == ("class 3", 1)
    m = _one(_score(tmp_path, year, {"entities": SMALL_ENTITY, "quality": quality}, "b")["measure_scores"],
             measure_id="047")
    assert (m["measure_class"], m["achievement_points"]) == ("class 3", 3)


def test_zero_rate_on_a_direct_measure_earns_0_in_py2018_and_the_floor_in_py2017(tmp_path):
    # CMS engine PY2018 (qpp-apis uJsEAGByag8): "Contributing 0 points for 0% Performance rate"; PY2017 gave the
    # 3-point floor. Measure 047 (registry, not inverse; 2018 bounds start 0.0, 0.0, 44.99 ...): 20 eligible, 0 met,
    # 20 not met: data completeness 100 %, 20 cases (the case minimum), rate 0 %.
    quality = ("tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
               f"{TIN},,047,registry,20,0,20\n")
    m = _one(_score(tmp_path, 2018, {"entities": ENTITY, "quality": quality}, "a")["measure_scores"], measure_id="047")
    assert m["achievement_points"] == 0
    m = _one(_score(tmp_path, 2017, {"entities": ENTITY, "quality": quality}, "b")["measure_scores"], measure_id="047")
    assert m["achievement_points"] == 3


def test_py2018_any_public_health_registry_earns_10_and_an_additional_one_the_5_bonus(tmp_path):
    # 2018 measures-data: every PI_PHCDRR_1..5 weighs 10 (performance), every *_MULTI 5 (bonus).
    # Base measures reported: 50. PEA 5/100 = 5 % -> band 1 -> 1; HIE_1 5/100 -> 1; HIE_2 5/100 -> 1: 53.
    # + syndromic surveillance (PHCDRR_2, not immunization): 63. + an additional registry (PHCDRR_3_MULTI): 68, bonus 5.
    base = [("PI_PPHI_1", None, None, True, None), ("PI_EP_1", 5, 100, None, None), ("PI_PEA_1", 5, 100, None, None),
            ("PI_HIE_1", 5, 100, None, None), ("PI_HIE_2", 5, 100, None, None)]
    registry = [("PI_PHCDRR_2", None, None, True, None)]
    multi = [("PI_PHCDRR_3_MULTI", None, None, True, None)]
    for name, rows, expected, bonus in (("a", base, 53, None), ("b", base + registry, 63, None),
                                        ("c", base + registry + multi, 68, 5)):
        pi = _one(_score(tmp_path, 2018, {"entities": ENTITY, "pi": _pi(rows)}, name)["category_scores"], category="pi")
        assert pi["score_percent"] == pytest.approx(expected), name
        if bonus:
            assert pi["bonus_points"] == bonus


def test_py2017_transition_measures_band_2_points_per_10_percent_with_aci_ids(tmp_path):
    # CMS engine (qpp-apis UnRw54ei7aQ): security risk analysis and e-Prescribing yes (base 50); PEA (transition,
    # 20 points) 47/100 -> band 5 x 2 = 10; HIE (transition) 2/100 -> band 1 x 2 = 2: 62 %.
    pi = _pi([("ACI_TRANS_PPHI_1", None, None, True, None), ("ACI_TRANS_EP_1", None, None, True, None),
              ("ACI_TRANS_PEA_1", 47, 100, None, None), ("ACI_TRANS_HIE_1", 2, 100, None, None)])
    out = _score(tmp_path, 2017, {"entities": ENTITY, "pi": pi})
    assert _one(out["category_scores"], category="pi")["score_percent"] == pytest.approx(62)


def test_py2021_e_prescribing_exclusion_points_go_to_the_exchange_measure_reported(tmp_path):
    # Rule pi.exclusion_redistribution: the e-Prescribing exclusion's 10 points go to the exchange measure reported,
    # here the bi-directional exchange HIE_5 (40 + 10 = 50); PEA 50/100 -> round(0.5 x 40) = 20; two public health
    # registries -> 10: 80 %.
    pi = _pi([("PI_PPHI_1", None, None, True, None), ("PI_EP_1", None, None, None, True),
              ("PI_HIE_5", None, None, True, None), ("PI_PEA_1", 50, 100, None, None),
              ("PI_PHCDRR_1", None, None, True, None), ("PI_PHCDRR_2", None, None, True, None)])
    out = _score(tmp_path, 2021, {"entities": ENTITY, "pi": pi})
    assert _one(out["category_scores"], category="pi")["score_percent"] == pytest.approx(80)


def test_acute_inpatient_cost_measure_needs_20_cases_py2025(tmp_path):
    # COST_RIH_1 (Respiratory infection hospitalization) is an acute inpatient episode measure: case minimum 20, not
    # the procedural 10 (rule cost.case_minimums). 5000 USD is below the 2025 decile-10 bound 12,099.93 (inverse) ->
    # scored at 20 cases; 15 cases: not scored.
    for name, cases, scored in (("a", 15, False), ("b", 20, True)):
        cost = f"tin,npi,measure_id,measure_value,case_count\n{TIN},,COST_RIH_1,5000,{cases}\n"
        m = _one(_score(tmp_path, 2025, {"entities": ENTITY, "cost": cost}, name)["measure_scores"],
                 measure_id="COST_RIH_1")
        assert bool(m["selected"]) == scored, name


@pytest.mark.parametrize("year", [2025, 2026])
def test_unweighted_ia_an_activity_not_in_the_inventory_earns_nothing(tmp_path, year, capsys):
    # PY2025 on, every activity of the year's inventory earns 20 of 40; IA_NOT_REAL is in no inventory: 0, named in a
    # warning. IA_BE_1 (in both years' inventories) + IA_NOT_REAL: 20 of 40 = 50 %.
    ia = f"tin,npi,activity_id\n{TIN},,IA_BE_1\n{TIN},,IA_NOT_REAL\n"
    category = _one(_score(tmp_path, year, {"entities": ENTITY, "ia": ia})["category_scores"], category="ia")
    assert category["points_earned"] == 20 and category["score_percent"] == pytest.approx(50)
    warning = [line for line in capsys.readouterr().out.splitlines() if "not in the year's inventory" in line]
    assert len(warning) == 1 and "IA_NOT_REAL" in warning[0] and "IA_BE_1" not in warning[0]
    assert "IA_NOT_REAL" in category["explanation"]


def test_py2026_an_activity_the_inventory_dropped_earns_nothing(tmp_path, capsys):
    # IA_AHE_1 is in the inventories of 2017-2025 but not 2026: attested for 2026 it earns 0, with the warning.
    ia = f"tin,npi,activity_id\n{TIN},,IA_AHE_1\n{TIN},,IA_BE_1\n"
    category = _one(_score(tmp_path, 2026, {"entities": ENTITY, "ia": ia})["category_scores"], category="ia")
    assert category["points_earned"] == 20 and category["score_percent"] == pytest.approx(50)
    assert "IA_AHE_1" in capsys.readouterr().out


@pytest.mark.parametrize("year, points", [(2022, 7), (2023, 5)])
def test_new_measure_floor_first_year_7_second_year_5(tmp_path, year, points):
    # CY2022 PFS final rule (rule quality.new_measure_floor): a measure in its first year earns at least 7 points, in
    # its second year 5, whenever data completeness is met, even below the case minimum or without a benchmark.
    # Measure 482 (registry) is first offered in 2022 and has no 2022 benchmark: 10 eligible, 5 met + 5 not met =
    # data completeness 100 %, 10 cases < 20. Without the floor it would earn 3 (2022, class 2) or 0 (2023).
    quality = ("tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
               f"{TIN},,482,registry,10,5,5\n")
    m = _one(_score(tmp_path, year, {"entities": ENTITY, "quality": quality})["measure_scores"], measure_id="482")
    assert m["achievement_points"] == points
