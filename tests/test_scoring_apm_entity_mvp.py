"""An APM entity reporting an MVP (PY2023 on), through `mips score --mvp-registrations --apm`.

Rules (data/rules/<PY>.yaml):
- mvp.participant_types lists apm_entity from PY2023 ([V] qpp.cms.gov 'Learn About MVP Reporting Option'); MVPs do
  not exist before PY2023 (mvp.available false), so a PY2022 run with registrations stops before reading a file.
- mvp.apm_entity_category_weights 50/0/20/30: an APM entity is not scored on cost whether it reports traditional
  MIPS, the APP or an MVP ([V] qpp.cms.gov/mips/apm-entity-participation?py=2023); the 50/20/30 split of the rest is
  recalled from the CY2023 PFS final rule ([R], unconfirmed).
- IA: the MVP's activities (mvp.ia_activity_points, 20 medium / 40 high of 40 points), and at least the MIPS APM
  participant's credit, apm.participant_ia_min_percent 50 % ([R], [S] qpp.cms.gov 2024 APP IA page).
- The entity's data: its participants' TIN rows pooled (apm.entity_pooling: counts summed), as CMS has APM
  entities aggregate their clinicians' data across TINs ([V] same APM entity page).
- payment_adjustments: in PY2023 the highest of the individual, group, subgroup and APM entity scores
  (final_score_selection.highest_of, [R]); the APM entity's MVP score is one more APM entity score.

Worked example, PY2023, MVP G0053 (Advancing Rheumatology Patient Care: 111 130 134 176 177 178 180 ACR12 ACR14
ACR15). APM entity ACO-7 has the two clinicians N1, N2 of TIN 222222222 (reporting as the entity). The TIN reports
quality as a group (registry, 100 eligible, data completeness 100 %): ACR14 (outcome) 70 % >= its decile-10 bound
-> 10; ACR12 100 % -> 10; ACR15 100 % -> 10 (the same points as in tests/test_scoring_mvp.py). No IA, PI or cost.
The pooled APM entity has 2 clinicians <= 15: a small practice (apm.entity_pooling.small_practice_max_clinicians),
so its quality gets the 6-point small practice bonus (quality.small_practice_bonus, in an MVP too: [V] qpp.cms.gov
MVP page) and its PI is reweighted (small practice, PY2023); its weights 50/0/20/30 lose PI's 30, shared
proportionally (final.redistribution_fallback [?]): quality 50/70 = 71.4286, IA 20/70 = 28.5714.
- APM entity MVP (ACO-7, G0053): pooled quality = the TIN's counts (one TIN). Required outcome ACR14 10, then
  ACR12 10, ACR15 10, the 4th measure missing -> 0: (30 + 6) / 40 = 90 %. IA: no activity, the APM participant's
  credit 50 %. Final = 0.714286 x 90 + 0.285714 x 50 = 64.2857 + 14.2857 = 78.5714.
- APM entity APP score (the entity's traditional path, apm.app_weights 50/0/20/30 with the same PI reweighting):
  none of the three measures is in the APP set (001 134 236 321 479 484) -> quality 0 (not scored, a warning); IA
  100 % (apm.entity_ia_percent) -> 0.285714 x 100 = 28.5714.
- Group 222222222 (traditional, not a small practice: no status given): 3 of the 6 required measures:
  30 / 60 = 50 %; no cost -> redistribution 'cost' 55/0/15/30; IA 0 (the TIN reports as the entity: no traditional
  APM credit), PI 0 -> 0.55 x 50 = 27.5.
- Individuals N1, N2: no data of their own -> 0.
Each clinician: the highest of 4 is the APM entity's MVP score 78.5714. Adjustment above the threshold 75 (PY2023,
AP 9, scaling factor 0.238889 from a secondary source -> an estimate): 9 x (78.5714 - 75) / 25 x 0.238889 = 0.30714 %.
"""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from mips.cli import main
from tests.test_scoring_support import score_args

TIN, N1, N2 = "222222222", "1234567802", "1234567810"
QUALITY = ("tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
           f"{TIN},,ACR14,registry,100,70,30\n{TIN},,ACR12,registry,100,100,0\n{TIN},,ACR15,registry,100,100,0\n")
REG_HEAD = "performance_year,participant_type,tin,npi,subgroup_id,mvp_id,apm_entity_id"


def _score(tmp_path, year: int, registrations: str, *extra: str):
    files = {
        "entities": f"tin,npi,part_b_allowed_charges\n{TIN},,\n{TIN},{N1},10000\n{TIN},{N2},20000\n",
        "quality": QUALITY,
        "apm": f"apm_entity_id,tin,npi,performance_year\nACO-7,{TIN},{N1},{year}\nACO-7,{TIN},{N2},{year}\n",
        "mvp-registrations": f"{REG_HEAD}\n{registrations}\n",
    }
    args = [*score_args(tmp_path, year, files), "--output", str(tmp_path / "out"), *extra]
    code = main(args)

    def read(table):
        return duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/out/{table}/**/*.parquet', "
                          "hive_partitioning=true)").df()
    return code, read


def test_py2023_apm_entity_mvp_score_wins_payment_adjustment(tmp_path):
    code, read = _score(tmp_path, 2023, "2023,apm_entity,,,,G0053,ACO-7")
    assert code == 0
    m = read("mvp_scores")
    assert len(m) == 1
    e = m.iloc[0]
    assert (e.participant_type, e.tin, bool(e.scored), e.members) == ("apm_entity", "ACO-7", True, 2)
    assert (e.quality_score, e.ia_score, e.quality_measures_counted) == (90.0, 50.0, 3) and pd.isna(e.pi_score)
    assert (e.quality_weight, e.cost_weight, e.ia_weight, e.pi_weight) == pytest.approx((50 / 0.7, 0.0, 20 / 0.7, 0.0))
    assert e.final_score == pytest.approx(50 / 0.7 * 0.9 + 20 / 0.7 * 0.5)  # 78.5714
    assert e.payment_adjustment_percent == pytest.approx(9 * (e.final_score - 75) / 25 * 0.238889)  # 0.30714
    assert e.payment_adjustment_basis == "estimate"
    assert "APM entity ACO-7 of 2 participant(s)" in e.explanation
    for rule in ("mvp.apm_entity_category_weights", "apm.participant_ia_min_percent", "apm.entity_pooling"):
        assert rule in e.unconfirmed_rules
    measures = read("mvp_measure_scores")
    assert set(measures[measures.selected].measure_id) == {"ACR14", "ACR12", "ACR15"}

    final = read("final_scores").set_index(["level", "tin"])
    assert final.loc[("apm_entity", "ACO-7"), "final_score"].item() == pytest.approx(20 / 0.7)  # 28.5714
    assert final.loc[("group", TIN), "final_score"].item() == pytest.approx(27.5)

    paid = read("payment_adjustments").set_index("npi")
    for npi in (N1, N2):
        row = paid.loc[npi]
        assert (row.score_path, row.reporting, row.score_entity) == ("apm_entity", "mvp", "ACO-7 G0053")
        assert row.final_score == pytest.approx(78.5714, abs=1e-4) and row.candidate_count == 4
        assert row.payment_adjustment_percent == pytest.approx(0.30714, abs=1e-5)
        assert "the highest of 4 final scores" in row.selection_reason
        assert "final_score_selection.highest_of" in row.unconfirmed_rules
    # the adjustment applies to each clinician's own Part B charges: 0.30714 % of 20,000
    assert paid.loc[N2].payment_adjustment_usd == pytest.approx(61.43, abs=0.01)


def test_apm_entity_mvp_without_participants_is_kept_unscored(tmp_path):
    """A registration of an APM entity the APM participation input does not list: kept, not scored, with why."""
    code, read = _score(tmp_path, 2023, "2023,apm_entity,,,,G0053,ACO-9")
    assert code == 0
    e = read("mvp_scores").iloc[0]
    assert (e.tin, bool(e.scored)) == ("ACO-9", False)
    assert "APM entity ACO-9 has no participant scored as the APM entity" in e.reason
    # the participants are then paid on the best of their other scores: the APP's 28.5714 over the group's 27.5
    # and the individual's 0
    paid = read("payment_adjustments").set_index("npi")
    assert (paid.loc[N1].score_path, paid.loc[N1].reporting, paid.loc[N1].candidate_count) == ("apm_entity", "app", 3)
    assert paid.loc[N1].final_score == pytest.approx(20 / 0.7)


def test_apm_entity_registration_names_its_id_only(tmp_path):
    """The registration contract: an APM entity gives apm_entity_id and no tin/npi/subgroup; a group its tin and no
    apm_entity_id. Rows 1 and 2 break that and are rejected with the rule's reason; row 3 is scored."""
    code, read = _score(tmp_path, 2023, f"2023,apm_entity,{TIN},,,G0053,ACO-7\n2023,group,{TIN},,,G0053,ACO-8\n"
                                        "2023,apm_entity,,,,G0053,ACO-7", "--max-rejected-percent", "100")
    assert code == 0
    rejects = read("rejects")
    rejects = rejects[rejects.table_name == "mvp_registration_input"]
    assert sorted(rejects.row_number) == [1, 2]
    assert set(rejects.rule) == {"participant_identified"}
    assert "an APM entity apm_entity_id only" in rejects.reason.iloc[0]
    assert list(read("mvp_scores").tin) == ["ACO-7"]


def test_py2022_has_no_mvps_for_apm_entities(tmp_path, capsys):
    """Before PY2023 there are no MVPs (mvp.available false): the run stops in one line before reading files."""
    code, _ = _score(tmp_path, 2022, "2022,apm_entity,,,,G0053,ACO-7")
    assert code != 0
    assert "performance year 2022 has no MIPS Value Pathways" in capsys.readouterr().err


def test_py2023_apm_entity_mvp_on_its_own_submission(tmp_path):
    """The APM entity submits its own quality and IA (--entity-submissions, rule pooled_entity.own_submission: a
    category it submits replaces the rows pooled from its participants' TINs, before the MVP picks its measures).
    Own quality: ACR14 70 % -> 10 (the TIN's ACR12/ACR15 are no longer pooled): (10 + 6 small practice bonus) / 40
    = 40 %. Own IA: IA_BE_1 + IA_BE_4, both medium in G0053 -> 20 + 20 = 40 of 40 = 100 % (above the 50 % APM
    credit). PI reweighted (small entity): final = 0.714286 x 40 + 0.285714 x 100 = 57.1429; below the threshold 75:
    -9 x (75 - 57.1429) / 75 = -2.142857 %. The group's 27.5 and the APP's (quality 0: ACR14 is not in the APP set;
    IA 100 %) 28.5714 lose."""
    sub = tmp_path / "sub.csv"
    sub.write_text("performance_year,entity_id,category,measure_id,collection_type,eligible_population,"
                   "performance_met,performance_not_met\n2023,ACO-7,quality,ACR14,registry,100,70,30\n"
                   "2023,ACO-7,ia,IA_BE_1,,,,\n2023,ACO-7,ia,IA_BE_4,,,,\n")
    code, read = _score(tmp_path, 2023, "2023,apm_entity,,,,G0053,ACO-7", "--entity-submissions", str(sub))
    assert code == 0
    e = read("mvp_scores").iloc[0]
    assert (e.quality_score, e.ia_score, e.quality_measures_counted) == (40.0, 100.0, 1)
    assert e.final_score == pytest.approx(50 / 0.7 * 0.4 + 20 / 0.7)
    assert e.payment_adjustment_percent == pytest.approx(-9 * (75 - e.final_score) / 75)
    paid = read("payment_adjustments").set_index("npi")
    assert (paid.loc[N1].score_path, paid.loc[N1].reporting) == ("apm_entity", "mvp")
    assert paid.loc[N1].final_score == pytest.approx(57.1429, abs=1e-4)
    assert "group (traditional, 222222222) 27.5000" in paid.loc[N1].candidates
