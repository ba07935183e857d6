"""Which final score pays a TIN/NPI (payment_adjustments), worked examples through `mips score`.

Rules (data/rules/<PY>.yaml, section final_score_selection):
- PY2017-2020 ``overrides`` [apm_entity(, virtual_group)]: the APM Entity's final score under the APM scoring
  standard is applied to each clinician of the APM Entity group ([V] 42 CFR §414.1370(f)); from PY2018 a virtual
  group's score applies to each member TIN/NPI (§414.1315, [R]); a clinician in both gets the APM Entity's ([S] PAI).
  ``highest_of`` [individual, group]: otherwise the higher of the individual and group scores ([S], [R] CY2017 rule).
- PY2021-2022: ``overrides`` [virtual_group] only; ``highest_of`` [individual, group, apm_entity]: the APM Entity's
  (APP) score competes with the others instead of being imposed ([R] CY2021 PFS final rule).
- PY2023 on: ``highest_of`` adds subgroup ([R]).
- A Qualifying APM Participant gets no adjustment whatever its scores (apm.qp_excluded, [V]).

The same inputs are scored for PY2020 and PY2021 so the change of rule shows on the same numbers:
- TIN 111111111 reports as a group (IA_BE_4, medium) and its clinician N1 has no individual data;
- TIN 222222222 (1 clinician, N2) and TIN 444444444 (1 clinician) form virtual group VG-1; TIN 222222222 attests
  IA_EPA_1 (high);
- N3 (TIN 333333333) participates in APM Entity ACO-1 and reports nothing itself; N4 (same TIN) is a QP of ACO-1.
Hand computation (no quality, PI or cost data; cost reweighted for everyone in PY2020-2021, so traditional weights
are 55/0/15/30, rule final.redistribution.cost; quality and PI score 0 and keep their weights for a group):
- group 111111111: IA medium 10 of 40 = 25 % -> 0.15 x 25 = 3.75.
- individuals N1, N3: the automatic COVID-19 EUC policy reweights every category without data (euc.automatic_individual),
  fewer than two weighted categories -> final score = the performance threshold: 45 (PY2020), 60 (PY2021).
- VG-1: IA_EPA_1 counts (its TIN holds 1 of 2 clinicians = 50 %, virtual_group.ia_min_clinician_share_percent 50),
  a small practice (2 clinicians) doubles it: 40 of 40 = 100 % -> 0.15 x 100 = 15.
- ACO-1: APM scoring standard (PY2020) / APP (PY2021) weights 50/0/20/30, IA 100 % (apm.entity_ia_percent) -> 20.
Adjustments: PY2020 PT 45, AP 9 %, PT/4 11.25; PY2021 PT 60, AP 9 %, PT/4 15.
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main
from tests.test_scoring_support import score_args

T1, T2, T3, T4 = "111111111", "222222222", "333333333", "444444444"
N1, N2, N3, N4 = "1234567893", "1003000126", "1003000134", "1003000142"


def _files(year: int) -> dict[str, str]:
    return {
        "entities": f"tin,npi,part_b_allowed_charges\n{T1},,\n{T1},{N1},10000\n{T2},{N2},10000\n{T3},{N3},10000\n"
                    f"{T3},{N4},10000\n",
        "ia": f"tin,npi,activity_id\n{T1},,IA_BE_4\n{T2},,IA_EPA_1\n",
        "virtual-groups": f"virtual_group_id,tin,performance_year,tin_clinicians\nVG-1,{T2},{year},1\nVG-1,{T4},{year},1\n",
        "apm": f"apm_entity_id,tin,npi,performance_year,qp_status\nACO-1,{T3},{N3},{year},\nACO-1,{T3},{N4},{year},qp\n",
    }


def _paid(tmp_path, year, files, *extra):
    args = score_args(tmp_path, year, files, name="{option}-{year}.csv")
    out = tmp_path / f"o{year}"
    assert main([*args, *extra, "--output", str(out)]) == 0
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{out}/payment_adjustments/**/*.parquet', hive_partitioning=true)").df()
    return {r.npi: r for r in rows.itertuples()}


def test_py2020_apm_entity_and_virtual_group_scores_override_the_individual_one(tmp_path, capsys):
    paid = _paid(tmp_path, 2020, _files(2020))
    assert set(paid) == {N1, N2, N3, N4}
    # N1: individual 45 vs group 3.75 -> the higher, 45 = PT -> 0 %
    n1 = paid[N1]
    assert (n1.score_path, n1.reporting, n1.final_score, n1.candidate_count) == ("individual", "traditional", 45, 2)
    assert n1.payment_adjustment_percent == pytest.approx(0) and "highest of 2" in n1.selection_reason
    assert "final_score_selection.highest_of" in n1.unconfirmed_rules
    # N2: VG-1's 15 overrides its individual 45: -9 x (45 - 15) / 45 = -6 %, on 10,000 USD = -600 USD
    n2 = paid[N2]
    assert (n2.score_path, n2.score_entity, n2.final_score) == ("virtual_group", "VG-1", 15)
    assert n2.payment_adjustment_percent == pytest.approx(-6) and n2.payment_adjustment_usd == pytest.approx(-600)
    assert "overrides" in n2.selection_reason and "individual (traditional" in n2.candidates
    # N3: the APM Entity's 20 (APM scoring standard) overrides its individual 45: -9 x 25 / 45 = -5 %
    n3 = paid[N3]
    assert (n3.score_path, n3.reporting, n3.score_entity, n3.final_score) == ("apm_entity", "apm_scoring_standard",
                                                                               "ACO-1", 20)
    assert n3.payment_adjustment_percent == pytest.approx(-5)
    # PY2020's override list rests on [V] §414.1370(f) for the APM Entity but [R]/[S] for its order: unconfirmed
    assert "final_score_selection.overrides" in n3.unconfirmed_rules.split(", ")
    # N4: a QP: no adjustment, whatever its scores
    n4 = paid[N4]
    assert n4.score_path == "excluded_qp" and n4.payment_adjustment_percent == 0 and n4.payment_adjustment_basis == "exact"
    assert "Qualifying APM Participant" in n4.selection_reason
    assert "Payment adjustment per clinician" in capsys.readouterr().out


def test_py2021_the_apm_entity_score_competes_and_the_virtual_group_still_overrides(tmp_path):
    paid = _paid(tmp_path, 2021, _files(2021))
    # N3: from PY2021 the highest of individual 60 and APM Entity (APP) 20 -> 60 = PT -> 0 %
    n3 = paid[N3]
    assert (n3.score_path, n3.final_score, n3.candidate_count) == ("individual", 60, 2)
    assert n3.payment_adjustment_percent == pytest.approx(0)
    assert "apm_entity (app, ACO-1) 20.0000" in n3.candidates
    # N2: VG-1 still overrides: 15 <= PT/4 = 15 -> the maximum negative -9 %
    n2 = paid[N2]
    assert (n2.score_path, n2.final_score) == ("virtual_group", 15)
    assert n2.payment_adjustment_percent == pytest.approx(-9)
    # N1: individual 60 vs group 3.75
    assert (paid[N1].score_path, paid[N1].final_score) == ("individual", 60)


def test_py2017_the_apm_entity_overrides_and_there_are_no_virtual_groups(tmp_path):
    """PY2017: overrides [apm_entity] ([V] §414.1370(f)); the APM scoring standard of a non-ACO MIPS APM weighs
    0/0/25/75 (apm.scoring_standard_weights): IA 100 % -> 25. N3's own individual score: no data and no automatic
    EUC in PY2017 -> quality, IA and PI 0 (cost weighs 0 in PY2017: 60/0/15/25) -> 0. The APM Entity's 25 applies: PT 3, so 4 % x (25 - 3) / 97 x SF 0.2 given = +0.18144 %."""
    files = {"entities": f"tin,npi,part_b_allowed_charges\n{T3},{N3},10000\n",
             "apm": f"apm_entity_id,tin,npi,performance_year\nOCM-1,{T3},{N3},2017\n"}
    paid = _paid(tmp_path, 2017, files, "--scaling-factor", "0.2")
    n3 = paid[N3]
    assert (n3.score_path, n3.reporting, n3.final_score) == ("apm_entity", "apm_scoring_standard", 25)
    assert n3.payment_adjustment_percent == pytest.approx(4 * 22 / 97 * 0.2)
    assert "individual (traditional" in n3.candidates and n3.candidate_count == 2
    # the PY2017 override rule rests on the CFR text: not named as unconfirmed
    assert "final_score_selection" not in (n3.unconfirmed_rules or "")


def test_a_tie_goes_to_the_path_listed_first(tmp_path):
    """PY2018 (no automatic EUC): the group TIN 111111111 and its clinician N1 each attest IA_EPA_1 (high, 20 of 40
    = 50 %) and nothing else. Cost without data is reweighted: 60/0/15/25 (final.redistribution.cost), quality and
    PI 0 keep their weights -> both 0.15 x 50 = 7.5. A tie goes to the path listed first in highest_of
    [individual, group]. PT 15, AP 5 %: 7.5 > PT/4 = 3.75 -> -5 x (15 - 7.5) / 15 = -2.5 %."""
    files = {"entities": f"tin,npi\n{T1},\n{T1},{N1}\n",
             "ia": f"tin,npi,activity_id\n{T1},,IA_EPA_1\n{T1},{N1},IA_EPA_1\n"}
    paid = _paid(tmp_path, 2018, files)
    n1 = paid[N1]
    assert (n1.score_path, n1.final_score, n1.candidate_count) == ("individual", 7.5, 2)
    assert n1.candidates == f"individual (traditional, {T1}/{N1}) 7.5000; group (traditional, {T1}) 7.5000"
    assert n1.payment_adjustment_percent == pytest.approx(-2.5)


def test_py2025_a_shared_savings_aco_is_scored_on_the_app_plus_set_and_other_entities_on_the_app_set(tmp_path):
    """PY2025: a Shared Savings Program ACO reports the APP Plus quality set 001, 112, 134, 236, 321, 479
    (app.app_plus_quality_measures, app.app_plus_required_for [S]); another APM Entity the APP set 001, 134, 236, 321,
    479, 484 (apm.app_quality_measures). Each entity's TIN sends 112 (breast cancer screening) and 484: the ACO
    keeps 112 and drops 484, the other entity keeps 484 and drops 112 -> 2 rows dropped, named in the warning.
    PY2024 (before APP Plus): the ACO is scored on the APP set, so it keeps 484 and drops 112."""
    def files(year):
        q = "".join(f"{tin},,{m},registry,30,20,10\n" for tin in (T1, T2) for m in ("112", "484"))
        return {"entities": f"tin,npi\n{T1},{N1}\n{T2},{N2}\n",
                "quality": "tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n" + q,
                "apm": "apm_entity_id,tin,npi,performance_year,shared_savings_or_next_generation_aco\n"
                       f"ACO-1,{T1},{N1},{year},true\nOTHER-1,{T2},{N2},{year},false\n"}

    def scored(year):
        out = tmp_path / f"o{year}"
        args = score_args(tmp_path, year, files(year), name="{option}-{year}.csv")
        assert main([*args, "--output", str(out)]) == 0
        rows = duckdb.sql(f"""SELECT tin, measure_id FROM read_parquet('{out}/measure_scores/**/*.parquet',
                              hive_partitioning=true) WHERE level = 'apm_entity' AND category = 'quality'""").fetchall()
        return set(rows)

    assert scored(2025) == {("ACO-1", "112"), ("OTHER-1", "484")}
    assert scored(2024) == {("ACO-1", "484"), ("OTHER-1", "484")}


APP_HEAD = "apm_entity_id,tin,npi,performance_year,reporting,app_individual,app_group,app_measure_set\n"


def test_py2022_app_reported_by_an_individual_and_by_a_group_competes_with_traditional_mips(tmp_path):
    """PY2022 (app.individual_group_reporting true; [V] qpp.cms.gov APP quality requirements PY2022): N1 (TIN 111111111)
    and N2 (TIN 222222222) participate in MIPS APM OCM-1 and are scored in traditional MIPS (reporting traditional);
    N1 also reports the APP as an individual, TIN 222222222 as a group, which has a PI hardship. Nothing else is sent.
    - N1 APP (apm.app_weights 50/0/20/30, IA 100 % apm.entity_ia_percent): 0 x 50 + 100 x 20 + 0 x 30 = 20.
      N1 traditional: cost without data reweighted, 55/0/15/30 (final.redistribution.cost); quality 0, PI 0, IA the
      APM participant's least 50 % (apm.participant_ia_min_percent) -> 0.15 x 50 = 7.5. The higher: APP 20.
      PT 75, AP 9 %, PT/4 18.75: -9 x (75 - 20) / 75 = -6.6 %.
    - group 222222222 APP: PI reweighted (hardship), cost weighs 0: the APP's 50 and 20 shared proportionally
      (final.redistribution_fallback): quality 71.43, IA 28.57 -> 100 x 20 / 70 = 28.5714; traditional: cost+pi
      reweighted 85/0/15/0, IA 50 % -> 7.5; N2's own individual: 7.5 too (same weights but PI 0 kept: 55/0/15/30,
      IA 50 %). The highest: the group's APP 28.5714 -> -9 x (75 - 28.5714) / 75 = -5.5714 %.
    """
    files = {"entities": f"tin,npi,pi_hardship\n{T1},{N1},\n{T2},,true\n{T2},{N2},\n",
             "apm": APP_HEAD + f"OCM-1,{T1},{N1},2022,traditional,true,,\nOCM-1,{T2},{N2},2022,traditional,,true,\n"}
    paid = _paid(tmp_path, 2022, files)
    n1, n2 = paid[N1], paid[N2]
    assert (n1.score_path, n1.reporting, n1.final_score) == ("individual", "app", pytest.approx(20))
    assert n1.candidates == f"individual (app, {T1}/{N1}) 20.0000; individual (traditional, {T1}/{N1}) 7.5000"
    assert n1.payment_adjustment_percent == pytest.approx(-6.6)
    assert "apm.app_weights" in n1.unconfirmed_rules and "final.weights" not in n1.unconfirmed_rules
    assert (n2.score_path, n2.reporting, n2.score_entity) == ("group", "app", T2)
    assert n2.final_score == pytest.approx(100 * 20 / 70)
    assert n2.payment_adjustment_percent == pytest.approx(-9 * (75 - 100 * 20 / 70) / 75)
    assert n2.candidate_count == 3
    out = tmp_path / "o2022"
    final = duckdb.sql(f"""SELECT level, tin, npi, quality_weight, ia_weight, pi_weight, ia_score, final_score
                           FROM read_parquet('{out}/final_scores/**/*.parquet', hive_partitioning=true)
                           WHERE level LIKE '%_app' ORDER BY level""").fetchall()
    assert [(lvl, tin) for lvl, tin, *_ in final] == [("group_app", T2), ("individual_app", T1)]
    assert final[0][3:6] == (pytest.approx(100 * 50 / 70), pytest.approx(100 * 20 / 70), 0)
    assert final[1][6] == 100  # the APP's automatic IA credit


def test_app_reporting_by_individuals_is_refused_before_py2021_and_app_plus_before_py2025(tmp_path, capsys):
    files = {"entities": f"tin,npi\n{T1},{N1}\n",
             "apm": APP_HEAD + f"OCM-1,{T1},{N1},2020,traditional,true,,\n"}
    args = score_args(tmp_path, 2020, files)
    assert main([*args, "--output", str(tmp_path / "o")]) != 0
    assert "APM Performance Pathway starts with PY2021" in capsys.readouterr().err
    (tmp_path / "apm.csv").write_text(APP_HEAD + f"OCM-1,{T1},{N1},2024,traditional,true,,app_plus\n")
    args[2] = "2024"
    assert main([*args, "--output", str(tmp_path / "o")]) != 0
    assert "APP Plus starts with PY2025" in capsys.readouterr().err


def test_py2025_an_individual_reporting_app_plus_is_scored_on_its_set(tmp_path):
    """PY2025: N1 reports APP Plus (001, 112, 134, 236, 321, 479), N2 the APP (001, 134, 236, 321, 479, 484); each sends
    112 and 484. In the APP pass N1's 112 is scored and its 484 is not; N2's 484 is scored and its 112 is not (2 rows
    dropped, said in a warning). Traditional MIPS scores both measures of both (their individual rows)."""
    q = "".join(f"{t},{n},{m},registry,30,20,10\n" for t, n in ((T1, N1), (T2, N2)) for m in ("112", "484"))
    files = {"entities": f"tin,npi\n{T1},{N1}\n{T2},{N2}\n",
             "quality": "tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n" + q,
             "apm": APP_HEAD + f"OCM-1,{T1},{N1},2025,traditional,true,,app_plus\nOCM-1,{T2},{N2},2025,traditional,true,,\n"}
    paid = _paid(tmp_path, 2025, files)
    out = tmp_path / "o2025"
    rows = set(duckdb.sql(f"""SELECT level, npi, measure_id FROM read_parquet('{out}/measure_scores/**/*.parquet',
                              hive_partitioning=true) WHERE category = 'quality'""").fetchall())
    assert {r for r in rows if r[0] == "individual_app"} == {("individual_app", N1, "112"), ("individual_app", N2, "484")}
    assert {r for r in rows if r[0] == "individual"} == {("individual", n, m) for n in (N1, N2) for m in ("112", "484")}
    assert "app.app_plus_quality_measures" in duckdb.sql(
        f"""SELECT unconfirmed_rules FROM read_parquet('{out}/final_scores/**/*.parquet', hive_partitioning=true)
            WHERE level = 'individual_app' AND npi = '{N1}'""").fetchall()[0][0]
    assert paid[N1].candidate_count == 2


def test_py2026_a_subgroup_mvp_score_competes_for_its_members_and_an_individual_mvp_for_its_clinician(tmp_path):
    """PY2023 on, highest_of adds subgroup: the subgroup SG1 of TIN 444444444 reports MVP M0005 (inputs and hand
    computation of tests/test_scoring_mvp.py, PY2026): subgroup final = 0.30 x 46 + 0.30 x 50 + 0.15 x 100
    + 0.25 x the group's PI score. Its members 1234567893 and 1003000126 have two final scores: the subgroup's MVP
    score and their TIN's traditional group score (44.29: quality from its own 001 and 484 only, no IA); the higher,
    the subgroup's, pays."""
    from tests.test_scoring_mvp import _PI_ROWS, _run
    code, o = _run(tmp_path, 2026, entities="444444444,,,",
                   registrations="2026,subgroup,444444444,,SG1,M0005,484,",
                   subgroups="444444444,SG1,1234567893\n444444444,SG1,1003000126",
                   quality="""
444444444,,,001,registry,100,80,20
444444444,,SG1,001,registry,100,35,65
444444444,,SG1,236,registry,100,75,25
444444444,,,484,administrativeClaims,10000,4178,5822""",
                   ia="444444444,,SG1,IA_BE_4",
                   cost="444444444,,TPCC_1,2180.67,40",
                   pi="\n".join(f"444444444,,{row}" for row in _PI_ROWS))
    assert code == 0
    read = o["read"]
    final = read("final_scores")
    group = final[(final.tin == "444444444") & final.npi.isna()].iloc[0]
    # the group's PI data (every measure at 100 %) score 100: subgroup = 13.8 + 15 + 15 + 25 = 68.8
    assert group.pi_score == 100
    sub_fs = 0.30 * 46 + 0.30 * 50 + 0.15 * 100 + 0.25 * 100
    assert group.final_score < sub_fs
    paid = read("payment_adjustments").set_index("npi")
    assert set(paid.index) == {"1234567893", "1003000126"}
    for npi in paid.index:
        row = paid.loc[npi]
        assert row.candidate_count == 2 and row.candidates.startswith(f"subgroup (mvp, SG1 M0005) {sub_fs:.4f}; ")
        assert f"group (traditional, 444444444) {group.final_score:.4f}" in row.candidates
        assert (row.score_path, row.reporting) == ("subgroup", "mvp")
        assert row.final_score == pytest.approx(68.8)
        # PT 75, AP 9 %: -9 x (75 - 68.8) / 75 = -0.744 %
        assert row.payment_adjustment_percent == pytest.approx(-0.744)


def test_the_automatic_euc_individual_score_competes_in_py2021_and_is_gone_in_py2022(tmp_path):
    """Rule final_score_selection.automatic_euc_individual. PY2021 'competes' ([V] qpp.cms.gov/resources/covid19
    ?py=2021: no data -> a neutral adjustment "unless they have a higher score from group or APM Entity
    participation"); PY2022 null (no automatic policy for individuals, euc.automatic_individual null).
    Same inputs both years: group 111111111 attests IA_BE_4 (medium, 10 of 40 = 25 %), its clinician N1 sends nothing.
    - Group: cost without data reweighted, 55/0/15/30 (final.redistribution.cost) -> 0.15 x 25 = 3.75, both years.
    - N1 PY2021: every category reweighted by the automatic policy -> the threshold 60; the highest of 60 and 3.75 is
      60 -> 0 %. The lower group score does not apply.
    - N1 PY2022: no automatic policy: quality, IA and PI 0 keep their weights -> 0; the highest is the group's 3.75
      <= PT/4 = 75/4 = 18.75 -> -9 %."""
    files = {"entities": f"tin,npi,part_b_allowed_charges\n{T1},,\n{T1},{N1},10000\n",
             "ia": f"tin,npi,activity_id\n{T1},,IA_BE_4\n"}
    n1 = _paid(tmp_path, 2021, files)[N1]
    assert (n1.score_path, n1.final_score, n1.candidate_count) == ("individual", 60, 2)
    assert n1.payment_adjustment_percent == pytest.approx(0)
    assert f"group (traditional, {T1}) 3.7500" in n1.candidates
    assert "automatic extreme and uncontrollable circumstances score (the performance threshold, no data submitted) " \
           "competes" in n1.selection_reason
    # confirmed on a CMS page for PY2021: not listed among the unconfirmed rules the row rests on
    assert "final_score_selection.automatic_euc_individual" not in n1.unconfirmed_rules
    n1 = _paid(tmp_path, 2022, files)[N1]
    assert (n1.score_path, n1.final_score, n1.candidate_count) == ("group", 3.75, 2)
    assert n1.payment_adjustment_percent == pytest.approx(-9)
    assert "automatic extreme" not in n1.selection_reason


def test_py2019_and_py2020_rest_on_an_unsettled_rule_that_the_rows_name(tmp_path):
    """PY2020: no primary text read settles whether the automatic EUC score of an individual without data competes
    with its group's (a copy of CMS's February 2021 announcement reads the other way): the rules keep 'competes' as
    PY2021, unconfirmed, and each row it decides names it. N1: individual 45 (PT) vs group 3.75 -> 45 -> 0 %."""
    files = {"entities": f"tin,npi\n{T1},\n{T1},{N1}\n", "ia": f"tin,npi,activity_id\n{T1},,IA_BE_4\n"}
    n1 = _paid(tmp_path, 2020, files)[N1]
    assert (n1.score_path, n1.final_score) == ("individual", 45)
    assert "final_score_selection.automatic_euc_individual" in n1.unconfirmed_rules.split(", ")


def test_yields_to_group_sets_the_automatic_euc_score_aside_when_the_rule_says_so():
    """The other value of the rule (a correction would be a data change): PY2020 with automatic_euc_individual =
    yields_to_group. Group 111111111 3.75 (as above), N1 no data (threshold 45 under the automatic policy), N2 of
    the same TIN attests IA_EPA_1 as an individual: it sent data, so its score competes as usual; the automatic
    policy reweights its other categories, fewer than two are weighted -> the threshold 45 as well.
    - N1: its 45 is set aside for the group's 3.75: 3.75 <= PT/4 = 11.25 -> -9 %.
    - N2: the highest of 45 and 3.75 -> 45 -> 0 %; path individual."""
    import dataclasses

    from transforms.scoring import load_rules
    from transforms.scoring.engine import score_entities
    from transforms.scoring.rules import RuleValue

    rules = load_rules(2020)
    leaves = dict(rules.leaves)
    leaf = rules.leaf("final_score_selection.automatic_euc_individual")
    leaves[leaf.path] = RuleValue(leaf.path, "yields_to_group", leaf.source, True)
    rules = dataclasses.replace(rules, leaves=leaves)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE entity_input AS SELECT * FROM (VALUES ('{T1}', NULL), ('{T1}', '{N1}'), ('{T1}', '{N2}'))"
                " t(tin, npi)")
    con.execute(f"CREATE TABLE ia_input AS SELECT * FROM (VALUES ('{T1}', NULL, 'IA_BE_4'), ('{T1}', '{N2}', 'IA_EPA_1'))"
                " t(tin, npi, activity_id)")
    score_entities(con, performance_year=2020, rules=rules)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT npi, score_path, final_score, payment_adjustment_percent, selection_reason, candidate_count "
        "FROM payment_adjustments").fetchall()}
    path, score, adjustment, reason, count = rows[N1]
    assert (path, score, adjustment, count) == ("group", 3.75, pytest.approx(-9), 1)
    assert "yields to the group or APM entity score" in reason
    path, score, adjustment, reason, count = rows[N2]
    assert (path, score, count) == ("individual", 45, 2) and adjustment == pytest.approx(0)
    assert "yields" not in reason
