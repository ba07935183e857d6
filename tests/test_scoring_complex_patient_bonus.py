"""Complex patient bonus computed from inputs (issue 13, build 4): average HCC risk score and dual-eligible
proportion per entity, by each year's formula (rule final.complex_patient_bonus_formula), through `mips score`.

Rule sources (data/rules/<PY>.yaml, all unconfirmed):
- PY2017: no bonus ([R] spec §1).
- PY2018-2019: bonus = average HCC risk score of the beneficiaries seen, capped at 5 ([R] §414.1380(c)(3), CY2018 QPP
  final rule; [S] spec §2.6).
- PY2020-2021: doubled, cap 10 ([S] CMS QPP COVID-19 Response fact sheet 11/10/2021; [R] CY2021 PFS final rule).
- PY2022 on: HCC and dual-eligible proportion standardized against national medians/SDs, up to 10 ([S] acmeware;
  [R] CY2022 PFS final rule); the multiplier and the national statistics were not read, so the bonus is NOT computed
  (basis 'not computable', a warning), never guessed.
The bonus is added only when data is submitted in at least one category (§414.1380(c)(3); spec §2.6).

Common scenario of the worked examples (hand computation):
- Groups (not touched by the PY2017-2021 automatic EUC policy for individuals): TIN 123456789 (average HCC 1.7, dual
  proportion 0.2) and TIN 555555555 (average HCC 6.0), both non-patient-facing; TIN 987654321 (average HCC 2.0)
  submits nothing.
- Each of 123456789 and 555555555 attests IA_EPA_1 (high weight, 20 points) x2 for the non-patient-facing special status =
  40/40 = IA 100 %.
- No quality input: quality 0 at its weight. No cost input: cost reweighted. Non-patient-facing: PI reweighted.
  Scenario cost+pi = Q/C/IA/PI 85/0/15/0 (final.redistribution.cost+pi).
- weighted score = 0 x 85 % + 100 x 15 % = 15.
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main

TIN, TIN2, OTHER = "123456789", "555555555", "987654321"


def _write(tmp_path, entities: str):
    ent = tmp_path / "ent.csv"
    ent.write_text(entities)
    ia = tmp_path / "ia.csv"
    ia.write_text(f"tin,npi,activity_id\n{TIN},,IA_EPA_1\n{TIN2},,IA_EPA_1\n")
    return ent, ia


ENTITIES = ("tin,npi,non_patient_facing,average_hcc_risk_score,dual_eligible_proportion\n"
            f"{TIN},,true,1.7,0.2\n{TIN2},,true,6.0,\n{OTHER},,,2.0,\n")


def _score(tmp_path, year: int, entities: str = ENTITIES):
    ent, ia = _write(tmp_path, entities)
    out = tmp_path / f"out{year}"
    code = main(["score", "--performance-year", str(year), "--entities", str(ent), "--ia", str(ia), "--output", str(out)])
    assert code == 0
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{out}/final_scores/**/*.parquet', hive_partitioning=true)").df()
    return {(r.tin, r.npi if isinstance(r.npi, str) else None): r for r in rows.itertuples()}


def test_py2017_has_no_complex_patient_bonus(tmp_path):
    # PY2017: no bonus; the inputs are read but not used. Weighted 15 (PY2017 cost weight is 0; the cost+pi
    # scenario is 85/0/15/0 as above) -> final 15.
    rows = _score(tmp_path, 2017)
    group = rows[(TIN, None)]
    assert group.complex_patient_bonus == 0 and group.complex_patient_bonus_basis == "not applicable"
    assert group.final_score == pytest.approx(15.0)
    assert "no complex patient bonus this performance year" in group.explanation
    assert "final.complex_patient_bonus_formula" not in (group.unconfirmed_rules or "")


@pytest.mark.parametrize("year", [2018, 2019])
def test_py2018_2019_bonus_is_the_average_hcc_risk_score_capped_at_5(tmp_path, year, capsys):
    # Group: 1 x 1.7 = 1.7 -> final 15 + 1.7 = 16.7. TIN 555555555: 1 x 6.0 = 6.0, capped at 5 -> final 20.
    # TIN 987654321 submitted nothing: no bonus (data in at least one category is required) -> 0, final 0.
    rows = _score(tmp_path, year)
    group, clinician, silent = rows[(TIN, None)], rows[(TIN2, None)], rows[(OTHER, None)]
    assert group.complex_patient_bonus == pytest.approx(1.7) and group.complex_patient_bonus_basis == "computed"
    assert group.final_score == pytest.approx(16.7)
    assert clinician.complex_patient_bonus == pytest.approx(5.0) and clinician.final_score == pytest.approx(20.0)
    assert silent.complex_patient_bonus == 0 and silent.final_score == 0
    # the output row says which unconfirmed rules the bonus rests on
    assert "final.complex_patient_bonus_formula" in group.unconfirmed_rules
    assert "final.complex_patient_bonus_max" in clinician.unconfirmed_rules
    assert "1 x average HCC risk score" in group.explanation


@pytest.mark.parametrize("year", [2020, 2021])
def test_py2020_2021_bonus_is_doubled_capped_at_10(tmp_path, year):
    # Group: 2 x 1.7 = 3.4 -> final 15 + 3.4 = 18.4. TIN 555555555: 2 x 6.0 = 12, capped at 10 -> final 25.
    rows = _score(tmp_path, year)
    group, clinician = rows[(TIN, None)], rows[(TIN2, None)]
    assert group.complex_patient_bonus == pytest.approx(3.4) and group.final_score == pytest.approx(18.4)
    assert clinician.complex_patient_bonus == pytest.approx(10.0) and clinician.final_score == pytest.approx(25.0)
    assert "2 x average HCC risk score" in group.explanation


@pytest.mark.parametrize("year", [2022, 2025])
def test_py2022_on_bonus_is_not_computed_while_the_formula_constants_are_unknown(tmp_path, year, capsys):
    # PY2022 on: the standardized HCC + dual formula's multiplier and national medians/SDs are null in the rule data,
    # so the bonus is not computed: 0 with basis 'not computable', named in the explanation and a run warning.
    rows = _score(tmp_path, year)
    group = rows[(TIN, None)]
    assert group.complex_patient_bonus == 0 and group.complex_patient_bonus_basis == "not computable"
    assert "complex patient bonus NOT computed" in group.explanation
    assert "final.complex_patient_bonus_formula" in group.unconfirmed_rules
    # 3 entities gave an HCC score: all three are counted in the warning
    assert "complex patient bonus not computed: 3" in capsys.readouterr().out


def test_a_given_bonus_wins_over_the_computed_one_and_is_capped(tmp_path):
    # PY2018: the group gives CMS's own bonus 2.5 (and an HCC of 1.7): 2.5 is used, basis 'input' -> final 17.5.
    # TIN 555555555 gives 7 (over the cap 5): 5 -> final 20.
    entities = ("tin,npi,non_patient_facing,complex_patient_bonus,average_hcc_risk_score\n"
                f"{TIN},,true,2.5,1.7\n{TIN2},,true,7,\n")
    rows = _score(tmp_path, 2018, entities)
    group, clinician = rows[(TIN, None)], rows[(TIN2, None)]
    assert group.complex_patient_bonus == pytest.approx(2.5) and group.complex_patient_bonus_basis == "input"
    assert group.final_score == pytest.approx(17.5)
    assert clinician.complex_patient_bonus == pytest.approx(5.0) and clinician.final_score == pytest.approx(20.0)


@pytest.mark.parametrize("column, value, message", [
    ("dual_eligible_proportion", "20", "dual_eligible_proportion outside 0..1"),
    ("average_hcc_risk_score", "-1", "negative average_hcc_risk_score"),
])
def test_a_percent_for_a_proportion_or_a_negative_risk_score_is_refused(tmp_path, capsys, column, value, message):
    # 20 (a percent written where a proportion 0..1 is asked) would give a huge bonus from PY2022 on: refused.
    ent, ia = _write(tmp_path, f"tin,npi,{column}\n{TIN},,{value}\n")
    code = main(["score", "--performance-year", "2019", "--entities", str(ent), "--ia", str(ia),
                 "--output", str(tmp_path / "o")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "final_scores").exists()


def test_the_standardized_formula_once_its_constants_are_known():
    # The PY2022+ code path, with constants put in by hand (NOT CMS's values, which are unknown: see the rule data):
    # multiplier 2, HCC median 1.0 SD 0.5, dual median 0.1 SD 0.1.
    # A: HCC 2.0 -> (2.0 - 1.0) / 0.5 = 2 SDs; dual 0.3 -> (0.3 - 0.1) / 0.1 = 2 SDs; 2 x (2 + 2) = 8.
    # B: HCC 0.8 below the median -> 0; dual 0.15 -> 0.5 SD; 2 x 0.5 = 1.
    # C: neither given -> NULL (not computable). D: dual only, 0.2 -> 1 SD -> 2.
    from transforms.scoring.final import complex_patient_bonus_sql

    sql = complex_patient_bonus_sql({"method": "standardized_hcc_dual", "multiplier": 2, "hcc_median": 1.0,
                                     "hcc_sd": 0.5, "dual_median": 0.1, "dual_sd": 0.1})
    got = duckdb.sql(f"""SELECT k, {sql} AS b FROM (VALUES ('A', 2.0, 0.3), ('B', 0.8, 0.15), ('C', NULL, NULL),
                                                          ('D', NULL, 0.2)) t(k, average_hcc_risk_score,
                                                                                dual_eligible_proportion)
                         ORDER BY k""").fetchall()
    assert [(k, None if b is None else round(b, 6)) for k, b in got] == [("A", 8.0), ("B", 1.0), ("C", None), ("D", 2.0)]
    # while any constant is unknown the expression is NULL, never a guess
    assert complex_patient_bonus_sql({"method": "standardized_hcc_dual", "multiplier": None, "hcc_median": 1.0,
                                      "hcc_sd": 0.5, "dual_median": 0.1, "dual_sd": 0.1}) == "NULL::DOUBLE"
