"""MIPS Value Pathways (MVPs) and subgroups (issue 13, build 4), through `mips score --mvp-registrations`.

Rules (data/rules/<PY>.yaml, section mvp; sources there, most unconfirmed):
- mvp.available: MVPs from PY2023 [V qpp.cms.gov]. mvp.quality_measures_required: 4 measures of the MVP's list
  (mvp.quality_measure_scope), one of them an outcome measure where the MVP lists one, else a high-priority measure
  (mvp.outcome_measure_required) [S][R]; a missing measure scores 0.
- Foundational population health measure (479, 484): counted on top (denominator + 10) when scored, left out when it
  has no score (mvp.population_health_no_benchmark) [S][R]; chosen at registration in PY2023, at submission from
  PY2024 (mvp.population_health_selection) [R][?]: none named = none counted in PY2023, the better one from PY2024.
- IA: 2 medium (20 each) or 1 high (40) of the MVP's activities in PY2023-2024 [V], 1 activity (40) from PY2025 [S];
  no special-status doubling (mvp.ia_special_status_multiplier 1) [V small practices][?] others.
- Cost on the MVP's cost measures (mvp.cost_measure_scope); PI is traditional PI (mvp.pi_foundational); weights and
  redistribution as traditional MIPS (mvp.category_weights 30/30/15/25; final.redistribution).
- Subgroups: own quality and IA rows (subgroup_id); PI, cost, population health from the affiliated group
  (mvp.subgroup_pi, mvp.subgroup_cost, mvp.subgroup_administrative_claims) [R][S]; one subgroup per clinician and
  TIN (mvp.subgroup_single_membership) [R].
- PY2026: a group registers an MVP only as single specialty or multispecialty small practice
  (mvp.group_registration_specialty) [S].

Benchmarks used by hand below are the compiled CMS ones (data/reference/benchmarks.parquet): a rate at or past the
decile-10 bound scores 10 (7 when topped out by program); 001 (inverse) and 236 registry have flat bounds
(001: 99, 90 .. 10; 236: 1, 10 .. 90); the decile score is decile + (distance into the decile / its width), 4 dp.
"""
from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from mips.cli import main

Q_HEAD = "tin,npi,subgroup_id,measure_id,collection_type,eligible_population,performance_met,performance_not_met"


def _run(tmp_path, year, *, entities, registrations, quality="", ia="", cost="", pi="", subgroups=None,
         extra=()) -> tuple[int, dict]:
    files = {}
    for name, head, body in (("ent", "tin,npi,rural,pi_hardship", entities),
                             ("q", Q_HEAD, quality), ("ia", "tin,npi,subgroup_id,activity_id", ia),
                             ("cost", "tin,npi,measure_id,measure_value,case_count", cost),
                             ("pi", "tin,npi,measure_id,numerator,denominator,value,exclusion_claimed", pi),
                             ("mvp", "performance_year,participant_type,tin,npi,subgroup_id,mvp_id,"
                                     "population_health_measure_id,specialty_composition", registrations)):
        if body or name in ("ent", "mvp"):
            path = tmp_path / f"{name}.csv"
            path.write_text(head + "\n" + body.strip() + "\n")
            files[name] = path
    args = ["score", "--performance-year", str(year), "--entities", str(files["ent"]),
            "--mvp-registrations", str(files["mvp"]), "--output", str(tmp_path / "out"), *extra]
    for option, name in (("--quality", "q"), ("--ia", "ia"), ("--cost", "cost"), ("--pi", "pi")):
        if name in files:
            args += [option, str(files[name])]
    if subgroups is not None:
        (tmp_path / "sub.csv").write_text("tin,subgroup_id,npi\n" + subgroups.strip() + "\n")
        args += ["--subgroups", str(tmp_path / "sub.csv")]
    code = main(args)
    out = tmp_path / "out"

    def read(table):
        return duckdb.sql(f"SELECT * FROM read_parquet('{out}/{table}/**/*.parquet', hive_partitioning=true)").df()
    return code, {"read": read}


def _mvp(read, **key):
    rows = read("mvp_scores")
    for k, v in key.items():
        rows = rows[rows[k].isna()] if v is None else rows[rows[k] == v]
    assert len(rows) == 1, rows
    return SimpleNamespace(**{k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in rows.iloc[0].items()})


def _measures(read, **key):
    rows = read("mvp_measure_scores")
    for k, v in key.items():
        rows = rows[rows[k] == v]
    return {r.measure_id: r for r in rows.itertuples()}


# ------------------------------------------------------------------------------------------------ PY2023

def test_py2023_group_and_individual_four_measures_outcome_population_health_chosen_at_registration(tmp_path):
    """PY2023, G0053 Advancing Rheumatology Patient Care (list: 111 130 134 176 177 178 180 ACR12 ACR14 ACR15).

    Group 111111111 (no population health measure named at registration):
      quality (registry, 100 eligible, data completeness 100 %): ACR14 (outcome) 70 % >= decile-10 bound 65.22 -> 10;
      ACR12 100 % -> 10; ACR15 100 % -> 10; 130 and 176 100 % but topped out -> 7 each; 236 is not in G0053 (not
      counted); 484 scored (see below) but PY2023 takes the population health measure named at registration only:
      none named -> not counted, denominator stays 40.
      Required outcome: ACR14 (10); 3 best others: ACR12 10, ACR15 10, then 130 / 176 tie at 7 -> 130 (id order).
      Quality = (10 + 10 + 10 + 7) / 40 = 92.5 %.
      IA: IA_BE_1 + IA_BE_4, both medium in PY2023 -> 20 + 20 = 40 -> 100 %; IA_CC_1 is not in G0053 (not counted).
      Cost: TPCC_1 1449.42 = the decile-6 bound exactly -> 6 points -> 60 %; MSPB_1 is not in G0053 (not counted).
      PI: no data, no status -> 0 at its 25 %.  Final = 0.30 x 92.5 + 0.30 x 60 + 0.15 x 100 + 0.25 x 0 = 60.75.
      Adjustment: below the threshold 75: -9 x (75 - 60.75) / 75 = -1.71 %.
    Individual 111111111 / 1234567893 (484 named at registration):
      ACR14 70 % -> 10, ACR12 100 % -> 10; 484 (inverse, PY2023 bounds ... 31.27 (d8), 29.4 (d9)) at 30:
      decile 8 + (31.27 - 30) / (31.27 - 29.4) = 8.6791, counted on top: denominator 40 + 10 = 50.
      Only 2 of the 4 MVP measures: the 2 missing score 0. Quality = (10 + 10 + 8.6791) / 50 = 57.3582 %.
      IA: IA_EPA_1 (high) -> 40 -> 100 %. Cost: none -> reweighted; PI: hardship -> reweighted.
      Weights cost+pi scenario 85/0/15/0: final = 0.85 x 57.3582 + 0.15 x 100 = 63.75447.
    """
    code, o = _run(tmp_path, 2023,
                   entities="111111111,,,\n111111111,1234567893,,true",
                   registrations="2023,group,111111111,,,G0053,,\n2023,individual,111111111,1234567893,,G0053,484,",
                   quality="""
111111111,,,ACR14,registry,100,70,30
111111111,,,ACR12,registry,100,100,0
111111111,,,ACR15,registry,100,100,0
111111111,,,176,registry,100,100,0
111111111,,,130,registry,100,100,0
111111111,,,236,registry,100,100,0
111111111,,,484,administrativeClaims,100,30,70
111111111,1234567893,,ACR14,registry,100,70,30
111111111,1234567893,,ACR12,registry,100,100,0
111111111,1234567893,,484,administrativeClaims,100,30,70""",
                   ia="111111111,,,IA_BE_1\n111111111,,,IA_BE_4\n111111111,,,IA_CC_1\n111111111,1234567893,,IA_EPA_1",
                   cost="111111111,,TPCC_1,1449.42,50\n111111111,,MSPB_1,25000,50")
    assert code == 0
    read = o["read"]
    g = _mvp(read, participant_type="group")
    assert (g.quality_score, g.cost_score, g.ia_score, g.pi_score) == (92.5, 60.0, 100.0, 0.0)
    assert (g.quality_measures_counted, g.outcome_requirement_met, g.population_health_measure_id) == (4, True, None)
    assert g.final_score == pytest.approx(60.75) and g.payment_adjustment_percent == pytest.approx(-1.71)
    assert "not in the MVP, not counted: 236" in g.explanation and "IA_CC_1" in g.explanation
    assert "mvp.population_health_selection" in g.unconfirmed_rules and "mvp.quality_measures_required" in g.unconfirmed_rules
    m = _measures(read, participant_type="group")
    assert {k for k, r in m.items() if r.selected} == {"ACR14", "ACR12", "ACR15", "130", "TPCC_1"}
    assert not m["176"].selected and m["176"].achievement_points == 7
    assert not m["484"].selected and "not selected at registration" in m["484"].explanation
    assert "MSPB_1" not in m
    i = _mvp(read, participant_type="individual")
    assert i.quality_score == pytest.approx(100 * 28.6791 / 50, abs=1e-4)
    assert (i.population_health_measure_id, i.population_health_points) == ("484", 8.6791)
    assert (i.quality_measures_counted, i.ia_score, i.cost_score, i.pi_score) == (2, 100.0, None, None)
    assert (i.quality_weight, i.cost_weight, i.ia_weight, i.pi_weight) == (85.0, 0.0, 15.0, 0.0)
    assert i.final_score == pytest.approx(0.85 * 100 * 28.6791 / 50 + 15, abs=1e-4)
    # the traditional scores are still there, from all the measures sent (236 counts there)
    trad = read("measure_scores")
    assert "236" in set(trad[trad.npi.isna()].measure_id)


# ------------------------------------------------------------------------------------------------ PY2024

def test_py2024_no_outcome_in_the_mvp_high_priority_slot_best_population_health_and_no_ia_doubling(tmp_path):
    """PY2024, M0004 (Supportive Care for Neurodegenerative Conditions): its list has no outcome measure, so the
    required measure is a high-priority one (mvp.outcome_measure_required).

    Group 222222222, rural (a special status), PI hardship:
      quality (registry, 100 %): 282, 290, 291 (not high priority, topped out) -> 7 each; no high-priority measure
      reported -> that slot scores 0: (7 + 7 + 7 + 0) / 40 before population health.
      Population health, none named: from PY2024 the better scored one counts (mvp.population_health_selection):
        479 (inverse proportions, bounds 0.1507 (d6), 0.1474 (d7)) at 15 % = 0.15: 6 + (0.1507 - 0.15) / 0.0033
        = 6.2121; 484 (bounds 35.83 (d6), 33.99 (d7)) at 35: 6 + 0.83 / 1.84 = 6.4511 -> 484 counted.
      Quality = (21 + 6.4511) / 50 = 54.9022 %.
      IA: IA_BE_4 (medium) -> 20 points in an MVP (2 medium = full credit), not doubled for the rural status
      (mvp.ia_special_status_multiplier 1) -> 20 / 40 = 50 %; doubled it would be 100 %. (Traditional MIPS: 10
      points, doubled for rural -> 20 / 40 = 50 %.)
      Cost: MSPB_1 28054.07 = the decile-5 bound -> 5 -> 50 %. PI reweighted (hardship): weights 55/30/15/0.
      Final = 0.55 x 54.9022 + 0.30 x 50 + 0.15 x 50 = 52.69621.
    """
    code, o = _run(tmp_path, 2024, entities="222222222,,true,true",
                   registrations="2024,group,222222222,,,M0004,,",
                   quality="""
222222222,,,282,registry,100,100,0
222222222,,,290,registry,100,100,0
222222222,,,291,registry,100,100,0
222222222,,,479,administrativeClaims,300,45,255
222222222,,,484,administrativeClaims,100,35,65""",
                   ia="222222222,,,IA_BE_4", cost="222222222,,MSPB_1,28054.07,40")
    assert code == 0
    read = o["read"]
    g = _mvp(read, tin="222222222")
    assert (g.quality_measures_counted, g.outcome_requirement_met) == (3, False)
    assert "no high-priority measure reported: that slot scores 0; the MVP has no outcome measure" in g.explanation
    assert (g.population_health_measure_id, g.population_health_points) == ("484", 6.4511)
    assert g.quality_score == pytest.approx(100 * 27.4511 / 50, abs=1e-4)
    assert (g.ia_score, g.cost_score, g.pi_score) == (50.0, 50.0, None)
    assert g.final_score == pytest.approx(0.55 * 100 * 27.4511 / 50 + 15 + 7.5, abs=1e-4)
    m = _measures(read, tin="222222222")
    assert m["479"].achievement_points == 6.2121 and not m["479"].selected
    assert "another one scored higher" in m["479"].explanation
    # traditional MIPS: medium 10 points, doubled for rural -> 20 / 40 = 50 %
    cats = read("category_scores")
    ia = cats[(cats.tin == "222222222") & (cats.category == "ia")].iloc[0]
    assert ia.score_percent == 50.0 and "special status: activity points doubled" in ia.explanation


# ------------------------------------------------------------------------------------------------ PY2025

def test_py2025_one_activity_is_full_credit_and_the_outcome_slot_takes_the_best_outcome(tmp_path):
    """PY2025, M0005 Value in Primary Care, individual 333333333 / 1234567893.

    Quality (registry): 001 (intermediate outcome, inverse, flat bounds) at 35 %: decile 7 (35 <= 40) + (40 - 35) /
    (40 - 30) = 7.5; 236 (outcome, flat) at 75 %: decile 8 + 0.5 = 8.5; 487 at 100 % (decile-10 bound 100) -> 10;
    226 is not in M0005 (not counted). Outcome slot: the best outcome, 236 (8.5); others 487 (10), 001 (7.5); one
    of the 4 missing -> 0. Quality = (8.5 + 10 + 7.5) / 40 = 65 %.
    IA: PY2025 activities have no weights: IA_BE_4 alone -> 40 -> 100 % (mvp.ia_activity_points unweighted 40).
    Cost: none -> reweighted; PI: none, no status -> 0 at its weight. Weights (cost) 55/0/15/30:
    final = 0.55 x 65 + 0.15 x 100 + 0.30 x 0 = 50.75.
    """
    code, o = _run(tmp_path, 2025, entities="333333333,1234567893,,",
                   registrations="2025,individual,333333333,1234567893,,M0005,,",
                   quality="""
333333333,1234567893,,001,registry,100,35,65
333333333,1234567893,,236,registry,100,75,25
333333333,1234567893,,487,registry,100,100,0
333333333,1234567893,,226,registry,100,100,0""",
                   ia="333333333,1234567893,,IA_BE_4")
    assert code == 0
    read = o["read"]
    i = _mvp(read, npi="1234567893")
    assert (i.quality_score, i.ia_score, i.cost_score, i.pi_score) == (65.0, 100.0, None, 0.0)
    assert (i.quality_weight, i.cost_weight, i.ia_weight, i.pi_weight) == (55.0, 0.0, 15.0, 30.0)
    assert i.final_score == pytest.approx(50.75)
    m = _measures(read, npi="1234567893")
    assert (m["236"].achievement_points, m["001"].achievement_points, m["487"].achievement_points) == (8.5, 7.5, 10.0)
    assert "the required outcome measure" in m["236"].explanation and "226" not in m


# ------------------------------------------------------------------------------------------------ PY2026 and subgroups

_PI_ROWS = ("PI_PPHI_1,,,true,", "PI_PPHI_2,,,true,", "PI_EP_1,100,100,,", "PI_EP_2,,,true,", "PI_HIE_1,100,100,,", "PI_HIE_4,100,100,,",
            "PI_PEA_1,100,100,,", "PI_PHCDRR_1,,,true,", "PI_PHCDRR_3,,,true,")


def test_py2026_group_attestation_and_a_subgroup_scored_on_its_own_data_with_the_groups_pi_and_cost(tmp_path):
    """PY2026, M0005 Value in Primary Care. TIN 444444444 (group PI data, cost and population health at the TIN).

    Group registrations: 'multispecialty' cannot report an MVP as a group from PY2026
    (mvp.group_registration_specialty) -> not scored; the same TIN registered by a second row as single_specialty is
    not possible (one registration per TIN and MVP), so TIN 555555555 attests single_specialty and is scored.
    Subgroup SG1 of 444444444 (members 1234567893, 1003000126), own rows: 001 at 35 % -> 7.5, 236 at 75 % -> 8.5;
    the group's own 001 row (80 % -> worse) is not the subgroup's. Population health 484 is the affiliated group's:
    at 41.78 = the decile-7 bound (PY2026 bounds 47.61 (d6), 41.78 (d7)) -> 7 on top (denominator 50).
    Quality = (8.5 + 7.5 + 7) / 50 = 46 %. IA: own IA_BE_4 -> 40 -> 100 %. Cost: the group's TPCC_1 2180.67 = the
    decile-5 bound -> 50 %. PI: the affiliated group's PI data -> equal to the group's traditional PI score.
    Final = 0.30 x 46 + 0.30 x 50 + 0.15 x 100 + 0.25 x PI.
    """
    code, o = _run(tmp_path, 2026, entities="444444444,,,\n555555555,,,true",
                   registrations="""
2026,group,444444444,,,M0005,,multispecialty
2026,group,555555555,,,M0005,,single_specialty
2026,subgroup,444444444,,SG1,M0005,484,""",
                   subgroups="444444444,SG1,1234567893\n444444444,SG1,1003000126",
                   quality="""
444444444,,,001,registry,100,80,20
444444444,,SG1,001,registry,100,35,65
444444444,,SG1,236,registry,100,75,25
444444444,,,484,administrativeClaims,10000,4178,5822
555555555,,,236,registry,100,75,25""",
                   ia="444444444,,SG1,IA_BE_4\n555555555,,,IA_BE_4",
                   cost="444444444,,TPCC_1,2180.67,40",
                   pi="\n".join(f"444444444,,{row}" for row in _PI_ROWS))
    assert code == 0
    read = o["read"]
    multi = _mvp(read, tin="444444444", participant_type="group")
    assert not multi.scored and "mvp.group_registration_specialty" in multi.reason and multi.final_score is None
    single = _mvp(read, tin="555555555")
    # 236 alone: 8.5 / 40 = 21.25 %; IA 100 %; cost none (reweighted); PI hardship (reweighted): 85/0/15/0
    assert single.scored and single.quality_score == pytest.approx(21.25) and single.final_score == pytest.approx(0.85 * 21.25 + 15)
    sub = _mvp(read, participant_type="subgroup")
    final = read("final_scores")
    group_pi = final[(final.tin == "444444444") & final.npi.isna()].pi_score.iloc[0]
    assert group_pi > 0 and sub.pi_score == group_pi
    assert (sub.members, sub.quality_score, sub.ia_score, sub.cost_score) == (2, 46.0, 100.0, 50.0)
    assert sub.population_health_measure_id == "484" and sub.population_health_points == 7.0
    assert sub.final_score == pytest.approx(0.30 * 46 + 0.30 * 50 + 0.15 * 100 + 0.25 * group_pi)
    assert "mvp.subgroup_pi" in sub.unconfirmed_rules and "affiliated group" in sub.explanation
    m = _measures(read, participant_type="subgroup")
    assert m["001"].performance_rate == 35.0 and m["001"].data_from == "participant"
    assert m["484"].data_from == "affiliated group" and m["TPCC_1"].data_from == "affiliated group"
    # the subgroup's rows are not the group's traditional data: the group's 001 is its own 80 % row
    trad = read("measure_scores")
    assert list(trad[(trad.tin == "444444444") & (trad.measure_id == "001")].performance_rate) == [80.0]
    assert "236" not in set(trad[trad.tin == "444444444"].measure_id)
    assert multi.explanation.startswith("not scored: ")


# ------------------------------------------------------------------------------------------------ bad input

def test_bad_registrations_are_rejected_by_row_and_column_and_unscorable_ones_say_why(tmp_path, capsys):
    """Rejected rows name the file, row and rule (input rows = accepted + rejected); accepted registrations that
    cannot be scored are kept, unscored, with the reason."""
    code, o = _run(tmp_path, 2025, entities="666666666,,,",
                   registrations="""
2025,individual,666666666,,,M1420,,
2025,wizard,666666666,,,G0053,,
2025,group,666666666,,,X1,,
2025,group,666666666,,,M1500,,
2025,subgroup,666666666,,EMPTY,M0005,,
2025,apm_entity,666666666,,,M0001,,
2025,group,666666666,,,M0004,ABC,
2025,group,666666666,,,M0005,999,
2024,group,666666666,,,G0053,,""",
                   extra=["--max-rejected-percent", "100"])
    assert code == 0
    read = o["read"]
    rejects = read("rejects")
    rej = rejects[rejects.source_file.str.endswith("mvp.csv")]
    assert sorted(zip(rej.row_number, rej.column.fillna(""), rej.rule)) == [
        (1, "", "participant_identified"), (2, "participant_type", "participant_type"),
        (3, "mvp_id", "mvp_id_format"), (6, "", "participant_identified"),
        (7, "population_health_measure_id", "measure_id_format")]
    # row 6: an APM entity registers by its apm_entity_id, not a TIN (tests/test_scoring_apm_entity_mvp.py)
    summary = read("ingest_summary")
    row = summary[summary.source_file.str.endswith("mvp.csv")].iloc[0]
    assert (row.input_rows, row.accepted_rows, row.rejected_rows) == (9, 4, 5)
    scores = read("mvp_scores")
    reasons = dict(zip(zip(scores.participant_type, scores.mvp_id), scores.reason))
    # the 2024 row is another year's registration: not scored in 2025's run
    assert set(reasons) == {("group", "M1500"), ("subgroup", "M0005"), ("group", "M0005")}
    assert reasons[("group", "M1500")] == "MVP M1500 is not offered in performance year 2025"
    assert "no clinicians in the subgroup membership file" in reasons[("subgroup", "M0005")]
    assert reasons[("group", "M0005")] == "999 is not a population health measure of MVP M0005"
    assert not scores.scored.any()
    printed = capsys.readouterr().out
    assert "not scored: MVP M1500 is not offered" in printed
    assert "MVP registration of another performance year: 1 (registrations for performance year(s) 2024" in printed


def test_a_clinician_in_two_subgroups_of_a_tin_fails_the_run(tmp_path, capsys):
    # mvp.subgroup_single_membership: one subgroup per clinician and TIN; nothing is published
    code, _ = _run(tmp_path, 2024, entities="777777777,,,",
                   registrations="2024,subgroup,777777777,,A,G0053,,\n2024,subgroup,777777777,,B,G0053,,",
                   subgroups="777777777,A,1234567893\n777777777,B,1234567893")
    assert code != 0
    err = capsys.readouterr().err
    assert "1 clinician(s) in more than one subgroup" in err and "777777777 NPI 1234567893" in err
    assert not (tmp_path / "out" / "mvp_scores").exists()


@pytest.mark.parametrize("year", [2017, 2022])
def test_mvp_registrations_before_py2023_fail_before_reading_files(tmp_path, capsys, year):
    # mvp.available is false before PY2023: a one-line error, no output
    code, _ = _run(tmp_path, year, entities="888888888,,,", registrations=f"{year},group,888888888,,,G0053,,")
    assert code != 0
    assert "has no MIPS Value Pathways (they start with PY2023, rule mvp.available)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_subgroups_need_registrations(tmp_path, capsys):
    ent = tmp_path / "ent.csv"
    ent.write_text("tin,npi\n888888888,\n")
    sub = tmp_path / "sub.csv"
    sub.write_text("tin,subgroup_id,npi\n888888888,A,1234567893\n")
    assert main(["score", "--performance-year", "2024", "--entities", str(ent), "--subgroups", str(sub),
                 "--output", str(tmp_path / "out")]) != 0
    assert "--subgroups needs --mvp-registrations" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ rules and invariants

def test_mvp_rules_stand_in_for_the_traditional_ones_and_unknown_values_fail_loudly():
    import dataclasses

    from transforms.scoring.mvp import _check_rules, mvp_rules
    from transforms.scoring.rules import RuleValue, available_years, load_rules
    r = mvp_rules(load_rules(2024))
    # the scorer reads quality.required_measures; in an MVP it is mvp.quality_measures_required (4), named so
    assert r["quality.required_measures"] == 4 and r.leaf("quality.required_measures").path == "mvp.quality_measures_required"
    assert r["ia.activity_points"] == {"medium": 20, "high": 40} and r["ia.special_status_multiplier"] == 1
    assert mvp_rules(load_rules(2025))["ia.activity_points"] == {"unweighted": 40}
    base = load_rules(2024)
    odd = dataclasses.replace(base, leaves={**base.leaves, "mvp.subgroup_pi": RuleValue("mvp.subgroup_pi", "own", "[?]", True)})
    with pytest.raises(ValueError, match="mvp.subgroup_pi = 'own' is not known"):
        _check_rules(odd)
    # every year's file has the section first after the note; MVPs exist from PY2023 only
    for year in available_years():
        rules = load_rules(year)
        assert rules["mvp.available"] == (year >= 2023)
        if year < 2023:
            assert all(leaf.value is None for path, leaf in rules.leaves.items()
                       if path.startswith("mvp.") and path != "mvp.available")
        lines = rules.path.read_text().splitlines()
        assert lines[lines.index(next(x for x in lines if x.startswith("note:"))) + 1] == "mvp:"


_MVP_MEASURES_2025 = {"001": (True, [35, 65]), "236": (True, [75, 25]), "487": (False, [100, 0]), "047": (False, [90, 10])}
_OTHER_MEASURES = ["226", "110", "130"]


def _score_frames(quality_rows):
    import pandas as pd

    from transforms.scoring.mvp import score_mvps
    con = duckdb.connect()
    frames = {
        "entity_input": pd.DataFrame({"tin": ["999999999"], "npi": ["1234567893"]}),
        "quality_input": pd.DataFrame(quality_rows, columns=["tin", "npi", "measure_id", "collection_type",
                                                             "eligible_population", "performance_met",
                                                             "performance_not_met"]),
        "mvp_registration_input": pd.DataFrame({"performance_year": [2025], "participant_type": ["individual"],
                                                "tin": ["999999999"], "npi": ["1234567893"], "subgroup_id": [None],
                                                "mvp_id": ["M0005"], "population_health_measure_id": [None],
                                                "specialty_composition": [None]}),
    }
    for name, frame in frames.items():
        con.register(f"_f_{name}", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _f_{name}")
    score_mvps(con, performance_year=2025, memberships=None, pi=None, ia=None, cost=None)
    return con.execute("SELECT quality_score, quality_measures_counted, outcome_requirement_met, final_score "
                       "FROM mvp_scores").fetchone()


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mvp=st.sets(st.sampled_from(sorted(_MVP_MEASURES_2025))), other=st.sets(st.sampled_from(_OTHER_MEASURES)))
def test_measures_outside_the_mvp_never_change_its_score(mvp, other):
    # mvp.quality_measure_scope (mvp_list): only the MVP's measures count; at most mvp.quality_measures_required (4);
    # the outcome requirement is met exactly when an outcome measure of the MVP (001, 236 in M0005) is reported.
    rows = [("999999999", "1234567893", m, "registry", 100, *_MVP_MEASURES_2025[m][1]) for m in sorted(mvp)]
    extra = [("999999999", "1234567893", m, "registry", 100, 100, 0) for m in sorted(other)]
    base = _score_frames(rows)
    assert _score_frames(rows + extra) == base
    quality, counted, outcome_met, _ = base
    assert counted == min(4, len(mvp)) and 0 <= quality <= 100
    assert outcome_met == bool(mvp & {"001", "236"})


def test_a_subgroups_activities_are_not_the_tins_group_attestations():
    # ia_input rows with a subgroup_id are the subgroup's own MVP data: neither scored as the TIN's group IA
    # (engine) nor exported as its attestations (ia_attestations); the group's own row is both.
    from transforms.scoring import score_frames
    from transforms.submission_inputs import build_submission_tables
    con = duckdb.connect()
    con.execute("""CREATE TABLE ia_input AS SELECT * FROM (VALUES
                   ('123456789', NULL, 'IA_EPA_1', NULL::DATE, NULL::DATE, NULL),
                   ('123456789', NULL, 'IA_BE_4', NULL::DATE, NULL::DATE, 'SG1'))
                   t(tin, npi, activity_id, start_date, end_date, subgroup_id)""")
    build_submission_tables(con, 2024)
    assert con.execute("SELECT activity_id FROM ia_attestations").fetchall() == [("IA_EPA_1",)]
    frame = con.execute("SELECT * FROM ia_input").df()
    cats = score_frames(performance_year=2024, ia=frame)["category_scores"]
    ia = cats[cats.category == "ia"].iloc[0]
    # IA_EPA_1 alone: high, 20 of 40 points (traditional PY2024) -> 50 %; the subgroup's IA_BE_4 is not added
    assert ia.score_percent == 50.0 and "1 activities" in ia.explanation
