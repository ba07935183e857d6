"""A virtual group's or APM entity's own submission (CAHPS included) and a virtual group's complex patient bonus,
worked examples through `mips score --entity-submissions`.

Rules (data/rules/<PY>.yaml, section pooled_entity):
- own_submission: for each category (quality, pi, ia) the entity submitted itself, its rows replace those pooled
  from its members' TINs; cahps rows are its CAHPS for MIPS survey, scored as measure 321 ([R] §414.1370/§414.1367,
  §414.1315; [?] the per-category replacement).
- virtual_group_complex_patient_bonus (PY2018 on): the members' average HCC risk score (and dual-eligible proportion)
  weighted by their Medicare beneficiaries ([R] CY2018 QPP final rule; [?] the weighting), then the year's formula
  final.complex_patient_bonus_formula: PY2018-2019 1 x HCC (cap 5), PY2020-2021 2 x HCC (cap 10), PY2022 on
  standardized, its constants not known -> 'not computable'.
CAHPS SSM points are those of tests/test_scoring_cahps.py (the year's CAHPS_n benchmarks).
A pi row's measure id is read as pi_input's is: ACI (PY2017) was renamed PI in PY2018 with the same suffixes, so an id
with the other year's prefix takes the year's (transforms/scoring/pi.py pi_measure_id_sql).
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main
from tests.test_scoring_support import score_args

T2, T3, T4 = "222222222", "333333333", "444444444"
N3 = "1003000134"


def _score(tmp_path, year, files):
    args = score_args(tmp_path, year, files, name="{option}-{year}.csv")
    out = tmp_path / f"o{year}"
    assert main([*args, "--output", str(out)]) == 0
    read = lambda t: duckdb.sql(f"SELECT * FROM read_parquet('{out}/{t}/**/*.parquet', hive_partitioning=true)").df()
    final = {(r.level, r.tin, r.npi if isinstance(r.npi, str) else None): r for r in read("final_scores").itertuples()}
    measures = {(r.level, r.tin, r.measure_id): r for r in read("measure_scores").itertuples()}
    return final, measures


def _virtual_group(year):
    # VG-1 = TIN 222222222 (HCC 2.0, 100 beneficiaries, attests IA_EPA_1 high) + TIN 444444444 (HCC 1.0, 300
    # beneficiaries); its own CAHPS survey: CAHPS_1 85.00.
    return {"entities": f"tin,npi,average_hcc_risk_score,medicare_beneficiaries\n{T2},,2.0,100\n{T4},,1.0,300\n",
            "ia": f"tin,npi,activity_id\n{T2},,IA_EPA_1\n",
            "virtual-groups": f"virtual_group_id,tin,performance_year,tin_clinicians\nVG-1,{T2},{year},1\nVG-1,{T4},{year},1\n",
            "entity-submissions": f"performance_year,entity_id,category,measure_id,score\n{year},VG-1,cahps,CAHPS_1,85.00\n"}


def test_py2019_virtual_group_cahps_and_complex_patient_bonus_from_its_members(tmp_path):
    """PY2019: HCC (2.0 x 100 + 1.0 x 300) / 400 = 1.25 -> bonus 1 x 1.25 = 1.25 (cap 5).
    CAHPS_1 85.00 -> 6.7444 points (PY2019 benchmarks), the only quality measure: with the small practice bonus 6
    (2 clinicians) quality = (6.7444 + 6) / 60 = 21.2407 %. IA: the high activity doubled for a small practice,
    40/40 = 100 %. Weights with cost reweighted 60/0/15/25, PI 0:
    0.60 x 21.2407 + 0.15 x 100 = 27.7444; + 1.25 = 28.9944. PT 30, AP 7 %: -7 x (30 - 28.9944) / 30 = -0.23464 %;
    each member TIN carries it."""
    final, measures = _score(tmp_path, 2019, _virtual_group(2019))
    vg = final[("virtual_group", "VG-1", None)]
    assert measures[("virtual_group", "VG-1", "321")].achievement_points == pytest.approx(6.7444, abs=1e-4)
    assert vg.quality_score == pytest.approx(100 * (6.7444 + 6) / 60, abs=1e-3)
    assert (vg.complex_patient_bonus, vg.complex_patient_bonus_basis) == (pytest.approx(1.25), "computed")
    assert vg.final_score == pytest.approx(0.6 * 100 * 12.7444 / 60 + 15 + 1.25, abs=1e-3)
    assert vg.payment_adjustment_percent == pytest.approx(-7 * (30 - vg.final_score) / 30)
    assert "pooled_entity.virtual_group_complex_patient_bonus" in vg.unconfirmed_rules
    assert "pooled_entity.own_submission" in vg.unconfirmed_rules
    member = final[("group", T4, None)]
    assert member.final_score == pytest.approx(vg.final_score) and member.virtual_group_id == "VG-1"


def test_py2020_the_virtual_group_bonus_doubles_and_py2022_it_is_not_computable(tmp_path):
    """PY2020: 2 x 1.25 = 2.5 (cap 10). CAHPS_1 85.00 -> 6.1263 (PY2020 benchmarks); quality (6.1263 + 6) / 60
    = 20.2105 %; weights 55/0/15/30 (cost reweighted for all): 0.55 x 20.2105 + 15 = 26.1158; + 2.5 = 28.6158.
    PY2022: the standardized formula's constants are not known: bonus 0, basis 'not computable'."""
    final, _ = _score(tmp_path, 2020, _virtual_group(2020))
    vg = final[("virtual_group", "VG-1", None)]
    assert vg.complex_patient_bonus == pytest.approx(2.5)
    assert vg.final_score == pytest.approx(0.55 * 100 * 12.1263 / 60 + 15 + 2.5, abs=1e-3)
    final, _ = _score(tmp_path, 2022, _virtual_group(2022))
    vg = final[("virtual_group", "VG-1", None)]
    assert (vg.complex_patient_bonus, vg.complex_patient_bonus_basis) == (0, "not computable")


def test_a_member_without_beneficiaries_leaves_the_virtual_group_bonus_uncomputed(tmp_path, capsys):
    files = _virtual_group(2019)
    files["entities"] = f"tin,npi,average_hcc_risk_score,medicare_beneficiaries\n{T2},,2.0,100\n{T4},,1.0,\n"
    final, _ = _score(tmp_path, 2019, files)
    vg = final[("virtual_group", "VG-1", None)]
    assert vg.complex_patient_bonus == 0 and vg.complex_patient_bonus_basis is None
    assert "virtual group complex patient bonus" in capsys.readouterr().out


def test_py2024_apm_entity_own_cahps_survey_scores_the_app(tmp_path):
    """PY2024 APP: ACO-1 (participant N3 of TIN 333333333) submits its own CAHPS: CAHPS_1 85.00 -> 6.4951, CAHPS_2
    93.00 -> 4.5556: 321 = 5.52535. Quality (5.52535 + small practice bonus 6) / 60 = 19.2089 %. A small practice's PI
    is reweighted: the APP's 50 and 20 shared proportionally, 71.4286 / 28.5714; IA 100 %.
    FS = 0.714286 x 19.2089 + 28.5714 = 42.2921; PT 75, AP 9 %: -9 x (75 - 42.2921) / 75 = -3.92495 %."""
    files = {"entities": f"tin,npi\n{T3},{N3}\n",
             "apm": f"apm_entity_id,tin,npi,performance_year\nACO-1,{T3},{N3},2024\n",
             "entity-submissions": "performance_year,entity_id,category,measure_id,score\n"
                                   "2024,ACO-1,cahps,CAHPS_1,85.00\n2024,ACO-1,cahps,CAHPS_2,93.00\n"}
    final, measures = _score(tmp_path, 2024, files)
    aco = final[("apm_entity", "ACO-1", None)]
    assert measures[("apm_entity", "ACO-1", "321")].achievement_points == pytest.approx(5.52535, abs=1e-4)
    fs = 50 / 70 * 100 * (5.52535 + 6) / 60 + 100 * 20 / 70
    assert aco.final_score == pytest.approx(fs, abs=1e-3)
    assert aco.payment_adjustment_percent == pytest.approx(-9 * (75 - fs) / 75, abs=1e-3)
    assert final[("individual", T3, N3)].final_score == pytest.approx(fs, abs=1e-3)


def test_the_entity_own_quality_rows_replace_the_pooled_ones_and_other_categories_stay_pooled(tmp_path, capsys):
    """PY2024: the participant TIN sends 134 and attests IA_EPA_1; ACO-1 submits 001 itself. Its quality is its own
    001 (the TIN's 134 is not pooled into it); its IA, not submitted by the entity, is still its APP credit."""
    files = {"entities": f"tin,npi\n{T3},{N3}\n",
             "quality": "tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
                        f"{T3},,134,registry,30,20,10\n",
             "ia": f"tin,npi,activity_id\n{T3},,IA_EPA_1\n",
             "apm": f"apm_entity_id,tin,npi,performance_year\nACO-1,{T3},{N3},2024\n",
             "entity-submissions": "performance_year,entity_id,category,measure_id,collection_type,eligible_population,"
                                   "performance_met,performance_not_met\n2024,ACO-1,quality,1,MIPS CQM,40,5,35\n"}
    _, measures = _score(tmp_path, 2024, files)
    assert {m for (lvl, tin, m) in measures if lvl == "apm_entity"} == {"001"}
    assert measures[("apm_entity", "ACO-1", "001")].performance_rate == pytest.approx(12.5)  # 5 / 40
    assert ("group", T3, "134") in measures  # the TIN's own row is still scored for the TIN


def test_a_submission_of_an_unknown_entity_fails_in_one_line(tmp_path, capsys):
    files = {"entities": f"tin,npi\n{T3},{N3}\n",
             "entity-submissions": "performance_year,entity_id,category,measure_id,score\n2024,ACO-9,cahps,CAHPS_1,85\n"}
    args = score_args(tmp_path, 2024, files)
    assert main([*args, "--output", str(tmp_path / "o")]) != 0
    assert "ACO-9 is neither a virtual group" in capsys.readouterr().err


# PI rows of an APM entity's own submission (measure suffix, numerator, denominator, yes/no)
_PI_2017 = [("ACI_PPHI_1", "", "", "true"), ("ACI_EP_1", 5, 10, ""), ("ACI_PEA_1", 45, 100, ""),
            ("ACI_HIE_1", 10, 100, ""), ("ACI_HIE_2", 10, 10, ""), ("ACI_PHCDRR_2", "", "", "true")]
_PI_2019 = [("PI_PPHI_1", "", "", "true"), ("PI_EP_1", 49, 115, ""), ("PI_HIE_1", 1123, 1951, ""),
            ("PI_HIE_4", 923, 951, ""), ("PI_PEA_1", 861, 1809, ""), ("PI_PHCDRR_1", "", "", "true"),
            ("PI_PHCDRR_2", "", "", "true")]


def _other_prefix(measure_id):
    return ("PI_" + measure_id[4:]) if measure_id.startswith("ACI_") else ("ACI_" + measure_id[3:])


def _apm_pi_submission(year, rows):
    # other MIPS APM OCM-77 (participant N3 of TIN 333333333) submits its own PI; no quality, its IA is its APM credit
    return {"entities": f"tin,npi\n{T3},{N3}\n",
            "apm": "apm_entity_id,tin,npi,performance_year,shared_savings_or_next_generation_aco\n"
                   f"OCM-77,{T3},{N3},{year},false\n",
            "entity-submissions": "performance_year,entity_id,category,measure_id,numerator,denominator,value\n"
                                  + "".join(f"{year},OCM-77,pi,{m},{n},{d},{v}\n" for m, n, d, v in rows)}


@pytest.mark.parametrize("year, rows, pi, fs", [
    # PY2017 (ACI ids; scoring standard, other MIPS APM 0/0/25/75): base 50 (PPHI_1, EP_1 5/10, PEA_1, HIE_1 sent)
    # + performance PEA_1 45 % -> 5, HIE_1 10 % -> 1, HIE_2 100 % -> 10 + registry bonus 5 = 71;
    # FS = 0.25 x 100 (IA, APM credit) + 0.75 x 71 = 78.25.
    (2017, _PI_2017, 71, 78.25),
    # PY2019 (PI ids; every MIPS APM 50/0/20/30), CMS engine v0.75.0 example: EP_1 (49/115) x 10 = 4.26 -> 4,
    # HIE_1 (1123/1951) x 20 = 11.51 -> 12, HIE_4 (923/951) x 20 = 19.41 -> 19, PEA_1 (861/1809) x 40 = 19.04 -> 19,
    # public health 10 -> 64; FS = 0.50 x 0 (no quality) + 0.20 x 100 + 0.30 x 64 = 39.2.
    (2019, _PI_2019, 64, 39.2),
])
def test_an_entity_pi_submission_with_the_other_years_prefix_scores_as_the_years_own_ids(tmp_path, year, rows, pi, fs):
    """ACI (PY2017) was renamed PI in PY2018 with the same suffixes: an entity's own PI rows written with the other
    prefix (PI_ in PY2017, ACI_ in PY2019) are read with the year's ids, as the TIN/NPI PI input is, not scored 0."""
    (tmp_path / "own").mkdir(), (tmp_path / "other").mkdir()
    own, _ = _score(tmp_path / "own", year, _apm_pi_submission(year, rows))
    other, _ = _score(tmp_path / "other", year, _apm_pi_submission(year, [(_other_prefix(m), *r) for m, *r in rows]))
    for final in (own, other):
        aco = final[("apm_entity", "OCM-77", None)]
        assert aco.pi_score == pytest.approx(pi) and aco.final_score == pytest.approx(fs)
        assert final[("individual", T3, N3)].final_score == pytest.approx(fs)
    a, b = own[("apm_entity", "OCM-77", None)], other[("apm_entity", "OCM-77", None)]
    assert (a.payment_adjustment_low_percent, a.payment_adjustment_high_percent) == \
           (b.payment_adjustment_low_percent, b.payment_adjustment_high_percent)
    assert a.explanation == b.explanation
