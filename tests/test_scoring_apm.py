"""APM entities, the APM scoring standard, the APM Performance Pathway (APP), QPs and the IA credit of APM
participants, worked examples through `mips score --apm`.

Rules (data/rules/<PY>.yaml, section apm):
- apm.qp_excluded / apm.partial_qp_may_elect: a QP, or a Partial QP that did not elect MIPS, is not a MIPS
  eligible clinician: no MIPS payment adjustment (SSA §1848(q)(1)(C)(ii), §414.1305, §414.1310(b)) [V].
- apm.scoring_standard_weights (PY2017-2020): PY2017 Shared Savings Program / Next Generation ACOs 50/0/20/30
  (quality/cost/IA/PI), other MIPS APMs 0/0/25/75 [R]; PY2018-2020 every MIPS APM 50/0/20/30 [S][R].
- apm.app_weights (PY2021 on): 50/0/20/30 [V] qpp.cms.gov 2022 and 2024 (quality 50, IA 20) + [R] PI 30, [S] cost 0;
  apm.app_quality_measures: 001, 134, 236, 321, 479, 484 [V] qpp.cms.gov APP quality requirements PY2022.
- apm.entity_ia_percent 100: the APM entity's IA score (scoring standard [S]; APP [V] 2024).
- apm.participant_ia_min_percent 50: a MIPS APM participant in traditional MIPS earns at least half the IA score.
- apm.entity_pooling: an APM entity of 15 or fewer clinicians is a small practice [R]; score-only mode pools its
  participant TINs' rows like a virtual group's [?].
Participants scored as their APM entity carry its final score (level 'apm_entity', tin = the entity id).
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main
from tests.test_scoring_support import score_args

ACO, OTHER = "A1234", "OCM-77"
T1, T2, T3 = "333333333", "444444444", "666666666"
N1, N2, N3, N4, N5 = "1234567893", "1003000126", "1003000134", "1003000142", "1003000159"


def _run(tmp_path, year, files: dict[str, str], *extra) -> int:
    args = score_args(tmp_path, year, files)
    return main([*args, *extra, "--output", str(tmp_path / f"o{year}")])


def _score(tmp_path, year, files, *extra):
    assert _run(tmp_path, year, files, *extra) == 0
    out = tmp_path / f"o{year}"
    read = lambda t: duckdb.sql(f"SELECT * FROM read_parquet('{out}/{t}/**/*.parquet', hive_partitioning=true)").df()
    key = lambda r: (r.level, r.tin, r.npi if isinstance(r.npi, str) else None)
    final = {key(r): r for r in read("final_scores").itertuples()}
    cats = {(*key(r), r.category): r for r in read("category_scores").itertuples()}
    measures = {(r.level, r.tin, r.measure_id): r for r in read("measure_scores").itertuples()}
    return final, cats, measures


APM_HEAD = "apm_entity_id,tin,npi,performance_year,qp_status,partial_qp_elects_mips,shared_savings_or_next_generation_aco,reporting\n"


def _two_entities(year):
    # ACO A1234: T1/N1. Other MIPS APM OCM-77: T2/N2, with a QP (N3), a Partial QP not electing MIPS (N4) and a
    # Partial QP that elected MIPS (N5). No category data: each entity's IA is its APM credit (100 %).
    return {"entities": f"tin,npi,part_b_allowed_charges\n{T1},{N1},10000\n{T2},{N2},10000\n{T2},{N3},10000\n",
            "apm": APM_HEAD + f"{ACO},{T1},{N1},{year},,,true,\n{OTHER},{T2},{N2},{year},not_qp,,false,\n"
                              f"{OTHER},{T2},{N3},{year},qp,,false,\n{OTHER},{T2},{N4},{year},partial_qp,false,false,\n"
                              f"{OTHER},{T2},{N5},{year},partial_qp,true,false,\n"}


def test_py2017_scoring_standard_weights_by_apm_kind_and_qps_excluded(tmp_path, capsys):
    final, cats, _ = _score(tmp_path, 2017, _two_entities(2017), "--scaling-factor", "0.2")
    # ACO: 50/0/20/30, quality 0 (nothing submitted) and PI 0 keep their weights, IA 100 % -> FS 20.
    # Other MIPS APM: 0/0/25/75 -> FS 25. PT 3, AP 4 %, SF 0.2 given:
    # ACO 4 x (20 - 3) / 97 x 0.2 = 0.14021 %; other 4 x (25 - 3) / 97 x 0.2 = 0.18144 %.
    aco, other = final[("apm_entity", ACO, None)], final[("apm_entity", OTHER, None)]
    assert (aco.quality_weight, aco.cost_weight, aco.ia_weight, aco.pi_weight) == (50, 0, 20, 30)
    assert (other.quality_weight, other.cost_weight, other.ia_weight, other.pi_weight) == (0, 0, 25, 75)
    assert cats[("apm_entity", ACO, None, "ia")].score_percent == 100
    assert aco.final_score == pytest.approx(20) and other.final_score == pytest.approx(25)
    assert aco.payment_adjustment_percent == pytest.approx(4 * 17 / 97 * 0.2)
    assert other.payment_adjustment_percent == pytest.approx(4 * 22 / 97 * 0.2)
    assert "apm.scoring_standard_weights" in aco.unconfirmed_rules
    # participants carry their entity's score and their own dollars: 10,000 x 0.18144 % = 18.14 USD
    n2 = final[("individual", T2, N2)]
    assert n2.apm_entity_id == OTHER and n2.final_score == pytest.approx(25)
    assert n2.payment_adjustment_usd == pytest.approx(10000 * 4 * 22 / 97 * 0.2 / 100)
    assert final[("individual", T2, N5)].apm_entity_id == OTHER  # the Partial QP that elected MIPS
    # the QP and the Partial QP that did not elect: no adjustment, not MIPS eligible, said in the explanation
    for npi in (N3, N4):
        row = final[("individual", T2, npi)]
        assert (row.payment_adjustment_percent, row.payment_adjustment_low_percent, row.payment_adjustment_high_percent,
                row.payment_adjustment_basis, row.mips_eligible) == (0, 0, 0, "exact", False)
        assert "Qualifying APM Participant: excluded from MIPS" in row.explanation
    assert final[("individual", T2, N3)].payment_adjustment_usd == 0  # 10,000 USD x 0 %
    assert "excluded from MIPS (QP): 2" in capsys.readouterr().out


def test_py2018_every_mips_apm_has_the_same_weights(tmp_path):
    final, _, _ = _score(tmp_path, 2018, _two_entities(2018))
    # PY2018: the other MIPS APM also 50/0/20/30: quality 0 + IA 100 x 20 % + PI 0 = 20, plus the PY2018 small
    # practice final-score bonus 5 (the entity has 15 or fewer clinicians and an IA score) = 25; the same for the ACO.
    for entity in (ACO, OTHER):
        row = final[("apm_entity", entity, None)]
        assert (row.quality_weight, row.cost_weight, row.ia_weight, row.pi_weight) == (50, 0, 20, 30)
        assert row.small_practice_bonus == 5 and row.final_score == pytest.approx(25)


def test_py2021_app_weights_fixed_measure_set_and_pooled_participant_tins(tmp_path, capsys):
    files = {
        "entities": f"tin,npi\n{T1},\n{T2},\n",
        "apm": APM_HEAD + f"{ACO},{T1},{N1},2021,,,true,\n{ACO},{T1},{N2},2021,,,true,\n{ACO},{T2},{N3},2021,,,true,\n",
        "quality": ("tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
                    f"{T1},,236,registry,20,15,5\n{T2},,236,registry,10,6,4\n{T1},,047,registry,20,20,0\n"),
    }
    final, cats, measures = _score(tmp_path, 2021, files)
    # 236 pooled: eligible 30, met 21, not met 9, rate 70 %; PY2021 registry L = [0, 0, 20, ..., 70, 80, 90]:
    # 70 is the decile 8 bound -> 8 + 0 = 8 points. 047 is not in the APP set (apm.app_quality_measures): not scored.
    m = measures[("apm_entity", ACO, "236")]
    assert (m.eligible_population, m.performance_met) == (30, 21) and m.achievement_points == pytest.approx(8)
    assert ("apm_entity", ACO, "047") not in measures
    # 3 clinicians <= 15: small practice quality bonus 6 (PY2021): (8 + 6) / 60 = 23.3333 %.
    q = 100 * 14 / 60
    assert cats[("apm_entity", ACO, None, "quality")].score_percent == pytest.approx(q, abs=1e-3)
    # APP: 50/0/20/30; IA 100 % (apm.entity_ia_percent); PI 0. FS = 0.5 x 23.3333 + 20 = 31.6667;
    # PT 60: -9 x (60 - 31.6667) / 60 = -4.25 %.
    fs = 0.5 * q + 20
    for key in (("apm_entity", ACO, None), ("individual", T1, N1), ("individual", T2, N3)):
        row = final[key]
        assert (row.quality_weight, row.cost_weight, row.ia_weight, row.pi_weight) == (50, 0, 20, 30)
        assert row.final_score == pytest.approx(fs, abs=1e-3)
        assert row.payment_adjustment_percent == pytest.approx(-9 * (60 - fs) / 60, abs=1e-4)
    assert "apm.app_weights" in final[("apm_entity", ACO, None)].unconfirmed_rules
    assert "quality measure outside the APM Performance Pathway set: 1" in capsys.readouterr().out


def test_py2024_traditional_participant_gets_at_least_half_the_ia_score(tmp_path):
    files = {"entities": f"tin,npi\n{T3},\n{T3},{N1}\n",
             "ia": f"tin,npi,activity_id\n{T3},{N1},IA_BE_4\n{T3},,IA_EPA_1\n{T3},,IA_BE_4\n",
             "apm": APM_HEAD + f"{ACO},{T3},{N1},2024,,,true,traditional\n"}
    _, cats, _ = _score(tmp_path, 2024, files)
    # the individual: IA_BE_4 medium 10 of 40 = 25 % < 50 % credit -> 50 % (apm.participant_ia_min_percent [V] 2024)
    ind = cats[("individual", T3, N1, "ia")]
    assert ind.score_percent == 50 and "apm.participant_ia_min_percent" in ind.explanation
    # the TIN: IA_EPA_1 high 20 + IA_BE_4 medium 10 = 30 of 40 = 75 % > 50 % -> its own 75 %
    assert cats[("group", T3, None, "ia")].score_percent == 75


def test_an_apm_entity_id_that_is_a_tin_is_refused(tmp_path, capsys):
    files = {"entities": f"tin,npi\n{T1},\n", "apm": APM_HEAD + f"{T1},{T1},{N1},2022,,,,\n"}
    assert _run(tmp_path, 2022, files) == 2
    assert f"apm_entity_id {T1} is also a TIN" in capsys.readouterr().err


def test_bad_participation_rows_are_rejected_with_row_and_column(tmp_path):
    from transforms import ingest
    con = duckdb.connect()
    path = tmp_path / "apm.csv"
    path.write_text(APM_HEAD + f"{ACO},{T1},{N1},2022,yes,,,\n{ACO},{T1},{N2},2022,,,,sometimes\n{ACO},{T1},{N3},2022,,,,\n")
    result = ingest.ingest_file(con, path, "apm_participation_input")
    assert (result.accepted_rows, result.rejected_rows) == (1, 2)
    rejects = con.execute('SELECT row_number, "column", reason FROM _rejects ORDER BY row_number').fetchall()
    assert rejects == [(1, "qp_status", "not qp, partial_qp or not_qp"), (2, "reporting", "not apm_entity or traditional")]
