"""The score inputs of `mips score` in `mips run` and the Prefect flow (issue 13: the new reporting paths end to end).

One list of score inputs (mips/score_inputs.py) gives `mips score`, `mips run` and the flow the same options, checks,
rejection threshold, manifest checksums and output tables. Each bundle below is run three ways on the same files:
`mips score`, `mips run --without-prefect` and `mips run` through the Prefect flow (the session's harness), and the
published scoring tables must be identical row for row. The expected numbers are worked out by hand in the comments
(the same practices as tests/test_scoring_virtual_groups.py and tests/test_scoring_mvp.py, where each rule's source
is cited).
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from mips.cli import main
from mips.paths import SAMPLE_DIR
from mips.score_inputs import SCORE_INPUT_TABLE, option_of

SCORING = ("measure_scores", "category_scores", "final_scores", "mvp_scores", "mvp_measure_scores")

# ---- bundle 1: virtual group VG-000123, PY2018 (tests/test_scoring_virtual_groups.py worked example)
# TIN 111111111 (solo, charges 100,000 USD, IA_EPA_1 high) and TIN 222222222 (3 clinicians, rural, charges 50,000;
# its clinician 1234567893 charges 20,000; IA_BE_4 medium); 236 registry 12 (10 met) and 10 (6 met) cases.
# Pooled 236: 22 eligible, 16 met, rate 72.7273 % -> PY2018 decile 6 [70.69, 73.79): 6.6572 points of 60 -> quality
# 11.0953 %; IA 20 + 10, doubled (small practice: 4 clinicians <= 15) = 60, capped 40 -> 100 %; no cost -> weights
# 60/0/15/25; PI 0. Final = 0.60 x 11.0953 + 0.15 x 100 + 0 + small practice bonus 5 (PY2018) = 26.6572.
# With --scaling-factor 1: adjustment 5 x (26.6572 - 15) / 85 = 0.68572 %, for the virtual group and every member.
VG_BUNDLE = {
    "entity_input": "tin,npi,rural,part_b_allowed_charges\n111111111,,false,100000\n222222222,,true,50000\n"
                    "222222222,1234567893,,20000\n",
    "ia_input": "tin,npi,activity_id\n111111111,,IA_EPA_1\n222222222,,IA_BE_4\n",
    "quality_input": "tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
                     "111111111,,236,registry,12,10,2\n222222222,,236,registry,10,6,4\n",
    "virtual_group_input": "virtual_group_id,tin,performance_year,tin_clinicians\nVG-000123,111111111,2018,1\n"
                           "VG-000123,222222222,2018,3\n",
}
VG_FINAL = 0.60 * (100 * 6.6572 / 60) + 15 + 5
VG_ADJUSTMENT = 5 * (VG_FINAL - 15) / 85
# PY2018's scaling factor is not published: data/rules/2018.yaml payment.scaling_factor_range, solved from six
# published 2018 final score / 2020 adjustment pairs (unconfirmed), bounds the positive adjustment
SCALING_FACTOR_RANGE_2018 = (0.0616, 0.0638)

# ---- bundle 2: MVP G0053 and subgroups' inputs, PY2023 (tests/test_scoring_mvp.py worked example)
# Group 111111111: ACR14 (outcome) 70 % -> 10, ACR12 and ACR15 100 % -> 10 each, 130 (topped out) -> 7:
# quality (10 + 10 + 10 + 7) / 40 = 92.5 %; IA_BE_1 + IA_BE_4 medium 20 + 20 -> 100 %; TPCC_1 1449.42 = the decile-6
# bound -> 60 %; PI 0 at 25 %. MVP final = 0.30 x 92.5 + 0.30 x 60 + 0.15 x 100 = 60.75; below the threshold 75:
# -9 x (75 - 60.75) / 75 = -1.71 %. The individual 1234567893 names 484 (8.6791 points, on top of 40):
# (10 + 10 + 8.6791) / 50 = 57.3582 %; IA 100 %; cost none, PI hardship -> 85/0/15/0 -> 0.85 x 57.3582 + 15 = 63.7545.
_Q = "tin,npi,subgroup_id,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
MVP_BUNDLE = {
    "entity_input": "tin,npi,pi_hardship\n111111111,,\n111111111,1234567893,true\n",
    "mvp_registration_input": "performance_year,participant_type,tin,npi,subgroup_id,mvp_id,population_health_measure_id,"
                              "specialty_composition\n2023,group,111111111,,,G0053,,\n"
                              "2023,individual,111111111,1234567893,,G0053,484,\n",
    "quality_input": _Q + "\n".join([
        "111111111,,,ACR14,registry,100,70,30", "111111111,,,ACR12,registry,100,100,0",
        "111111111,,,ACR15,registry,100,100,0", "111111111,,,176,registry,100,100,0",
        "111111111,,,130,registry,100,100,0", "111111111,,,236,registry,100,100,0",
        "111111111,,,484,administrativeClaims,100,30,70", "111111111,1234567893,,ACR14,registry,100,70,30",
        "111111111,1234567893,,ACR12,registry,100,100,0", "111111111,1234567893,,484,administrativeClaims,100,30,70"]) + "\n",
    "ia_input": "tin,npi,subgroup_id,activity_id\n111111111,,,IA_BE_1\n111111111,,,IA_BE_4\n111111111,,,IA_CC_1\n"
                "111111111,1234567893,,IA_EPA_1\n",
    "cost_input": "tin,npi,measure_id,measure_value,case_count\n111111111,,TPCC_1,1449.42,50\n111111111,,MSPB_1,25000,50\n",
}


def _write(folder: Path, bundle: dict[str, str]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, text in bundle.items():
        (folder / f"{name}.csv").write_text(text)
        files[name] = folder / f"{name}.csv"
    return files


def _options(files: dict[str, Path]) -> list[str]:
    return [arg for name, path in files.items() for arg in (option_of(name), str(path))]


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    """The published scoring tables of an output folder, rows in key order (comparable across runs)."""
    found = {}
    for table in SCORING:
        if (out / table).is_dir():
            frame = duckdb.sql(f"SELECT * FROM read_parquet('{out}/{table}/**/*.parquet', hive_partitioning = true)").df()
            found[table] = frame.sort_values(list(frame.columns[:6])).reset_index(drop=True)
    return found


def _manifest(out: Path, year: int) -> dict:
    [(text,)] = duckdb.sql(f"SELECT parameters FROM read_parquet('{out}/run_manifest/**/*.parquet', "
                           f"hive_partitioning = true) WHERE performance_year = {year}").fetchall()
    inputs = duckdb.sql(f"SELECT inputs FROM read_parquet('{out}/run_manifest/**/*.parquet', hive_partitioning = true) "
                        f"WHERE performance_year = {year}").fetchall()[0][0]
    return {"parameters": json.loads(text) if isinstance(text, str) else text,
            "inputs": json.loads(inputs) if isinstance(inputs, str) else inputs}


def _three_ways(tmp_path, year, bundle, *extra, flow: bool):
    """Outputs of `mips score`, `mips run --without-prefect` and (flow=True) `mips run` through Prefect."""
    files = _write(tmp_path / "in", bundle)
    outs = {"score": tmp_path / "score", "run": tmp_path / "run", "flow": tmp_path / "flow"}
    assert main(["score", "--performance-year", str(year), *_options(files), *extra, "--output", str(outs["score"]),
                 "-q"]) == 0
    assert main(["run", "--performance-year", str(year), *_options(files), *extra, "--output", str(outs["run"]),
                 "--without-prefect", "-q"]) == 0
    if flow:
        assert main(["run", "--performance-year", str(year), *_options(files), *extra, "--output", str(outs["flow"]),
                     "-q"]) == 0
    else:
        outs.pop("flow")
    return files, {how: _tables(out) for how, out in outs.items()}, outs


def _assert_same(results: dict[str, dict[str, pd.DataFrame]]):
    reference = results["score"]
    for how, tables in results.items():
        assert set(tables) == set(reference), how
        for name, frame in tables.items():
            pd.testing.assert_frame_equal(frame, reference[name], check_like=False, obj=f"{how} {name}")


def _row(frame, **key):
    rows = frame
    for k, v in key.items():
        rows = rows[rows[k].isna()] if v is None else rows[rows[k] == v]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_virtual_group_through_the_flow_and_without_prefect_equals_mips_score(prefect_harness, tmp_path):
    files, results, outs = _three_ways(tmp_path, 2018, VG_BUNDLE, "--scaling-factor", "1", flow=True)
    _assert_same(results)
    final = results["flow"]["final_scores"]
    vg = _row(final, level="virtual_group", tin="VG-000123")
    assert (vg.quality_weight, vg.cost_weight, vg.ia_weight, vg.pi_weight) == (60, 0, 15, 25)
    assert vg.final_score == pytest.approx(VG_FINAL, abs=1e-3)
    assert vg.payment_adjustment_percent == pytest.approx(VG_ADJUSTMENT, abs=1e-4)
    # §414.1315(a)(2): each member TIN and TIN/NPI carries it; dollars on its own charges
    for level, tin, npi, charges in (("group", "111111111", None, 100000), ("group", "222222222", None, 50000),
                                     ("individual", "222222222", "1234567893", 20000)):
        member = _row(final, level=level, tin=tin, npi=npi)
        assert member.virtual_group_id == "VG-000123" and member.final_score == pytest.approx(VG_FINAL, abs=1e-3)
        assert member.payment_adjustment_usd == pytest.approx(charges * VG_ADJUSTMENT / 100, abs=0.05)
    # the same manifest in all three: the score inputs' checksums, the factor given
    for how, out in outs.items():
        manifest = _manifest(out, 2018)
        recorded = {i["table"]: i for i in manifest["inputs"]}
        assert set(recorded) == set(VG_BUNDLE), how
        assert all(len(i["sha256"]) == 64 and i["rejected_rows"] == 0 for i in recorded.values())
        assert manifest["parameters"]["scaling_factor"] == 1
        assert "virtual_group.special_status_share_percent" in manifest["parameters"]["unconfirmed_rules"]


def test_mvp_registrations_through_the_flow_and_without_prefect_equal_mips_score(prefect_harness, tmp_path):
    _, results, outs = _three_ways(tmp_path, 2023, MVP_BUNDLE, flow=True)
    _assert_same(results)
    # the run's summary (printed, and the flow's artifact) lists the registrations with their MVP final scores
    from mips.period import mvp_lines
    con = duckdb.connect()
    con.execute(f"CREATE TABLE mvp_scores AS SELECT * FROM read_parquet('{outs['flow']}/mvp_scores/**/*.parquet')")
    assert mvp_lines(con) == [("group 111111111", "G0053", "60.75", "-1.710"),
                              ("individual 111111111 1234567893", "G0053", "63.75", "-1.349")]
    mvp = results["flow"]["mvp_scores"]
    group = _row(mvp, participant_type="group")
    assert (group.quality_score, group.cost_score, group.ia_score, group.pi_score) == (92.5, 60.0, 100.0, 0.0)
    assert group.final_score == pytest.approx(60.75) and group.payment_adjustment_percent == pytest.approx(-1.71)
    individual = _row(mvp, participant_type="individual")
    assert individual.final_score == pytest.approx(0.85 * 100 * 28.6791 / 50 + 15, abs=1e-4)
    assert individual.population_health_measure_id == "484"
    assert len(results["flow"]["mvp_measure_scores"]) > 0
    # the score card shows both registrations with their MVP scores (PY2023 SF 0.238889 is from a secondary source,
    # but a negative adjustment needs no factor: a plain -1.710 %)
    assert main(["report", "--output", str(outs["flow"]), "--performance-year", "2023", "--dest",
                 str(tmp_path / "r"), "-q"]) == 0
    html = (tmp_path / "r" / "2023" / "report-111111111.html").read_text()
    rows = html.split('<section id="reporting-paths">')[1].split("</section>")[0].split('<tr class="mvp-row">')[1:]
    assert len(rows) == 2
    assert rows[0].startswith("<td>group</td>") and "<td>yes</td>" in rows[0]
    assert '<td class="num">92.50</td><td class="num">60.00</td><td class="num">100.00</td><td class="num">0.00</td>' in rows[0]
    assert '<td class="num">60.75</td><td class="num">-1.710%</td>' in rows[0]
    assert rows[1].startswith("<td>individual NPI 1234567893</td>") and "<td>484: 8.68</td>" in rows[1]
    assert "<code>mvp.population_health_selection</code>" in html


# ---- bundle 3: APM entities, PY2017 (tests/test_scoring_apm.py worked example), --scaling-factor 0.2
# ACO A1234 (Shared Savings): T1/N1. Other MIPS APM OCM-77: T2/N2, a QP N3. No category data: each entity's IA is its
# APM credit (100 %, rule apm.entity_ia_percent). Scoring standard weights PY2017: ACO 50/0/20/30 -> FS 20; other
# MIPS APM 0/0/25/75 -> FS 25. PT 3, applicable 4 %, SF 0.2: ACO 4 x (20 - 3) / 97 x 0.2 = 0.14021 %. The QP: no
# adjustment (rule apm.qp_excluded).
_APM_HEAD = ("apm_entity_id,tin,npi,performance_year,qp_status,partial_qp_elects_mips,"
             "shared_savings_or_next_generation_aco,reporting\n")
APM_BUNDLE = {
    "entity_input": "tin,npi,part_b_allowed_charges\n333333333,1234567893,10000\n444444444,1003000126,10000\n"
                    "444444444,1003000134,10000\n",
    "apm_participation_input": _APM_HEAD + "A1234,333333333,1234567893,2017,,,true,\n"
                                           "OCM-77,444444444,1003000126,2017,not_qp,,false,\n"
                                           "OCM-77,444444444,1003000134,2017,qp,,false,\n",
}

# ---- bundle 4: facility-based, CAHPS and the computed complex patient bonus, PY2019, --scaling-factor 1
# (tests/test_scoring_facility_based.py, test_scoring_cahps.py, test_scoring_complex_patient_bonus.py)
# Group 123456789: facility-based, its hospital's TPS 42.5 -> conversion band 40: quality 50 %, cost 60 % (better than
#   its own nothing); IA_EPA_1 high 20 of 40 = 50 %; weights 45/15/15/25; 0.45 x 50 + 0.15 x 60 + 0.15 x 50 = 39; its
#   average HCC risk score 1.7 -> PY2019 bonus 1.7 x 1 (cap 5, rule final.complex_patient_bonus_formula) -> 40.7;
#   PT 30, applicable 7 %, SF 1: 7 x (40.7 - 30) / 70 = 1.07 %.
# Group 777777777: CAHPS_1 85.00 -> 6.7444, CAHPS_2 93.00 -> 4.5254, CAHPS_3 not reliable: 321 = 5.6349 points;
#   236 registry 10 eligible (below the case minimum) -> 3 points: quality (5.6349 + 3) / 60 = 14.3915 %.
FACILITY_BUNDLE = {
    "entity_input": "tin,npi,facility_based,hvbp_total_performance_score,average_hcc_risk_score\n"
                    "123456789,,true,42.5,1.7\n777777777,,,,\n",
    "ia_input": "tin,npi,activity_id\n123456789,,IA_EPA_1\n",
    "quality_input": "tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
                     "777777777,,236,registry,10,5,5\n",
    "facility_score_conversion_input": "performance_year,tps_at_least,quality_score_percent,cost_score_percent\n"
                                       "2019,0,5,5\n2019,40,50,60\n2019,50,70,80\n",
    "cahps_input": "tin,ssm_id,score,reliable\n777777777,CAHPS_1,85.00,\n777777777,CAHPS_2,93.00,true\n"
                   "777777777,CAHPS_3,99.00,false\n",
}


def _check_apm(tables):
    final = tables["final_scores"]
    aco, other = _row(final, level="apm_entity", tin="A1234"), _row(final, level="apm_entity", tin="OCM-77")
    assert (aco.quality_weight, aco.cost_weight, aco.ia_weight, aco.pi_weight) == (50, 0, 20, 30)
    assert aco.final_score == pytest.approx(20) and other.final_score == pytest.approx(25)
    assert aco.payment_adjustment_percent == pytest.approx(4 * 17 / 97 * 0.2)
    assert _row(final, level="individual", tin="444444444", npi="1003000126").apm_entity_id == "OCM-77"
    qp = _row(final, level="individual", tin="444444444", npi="1003000134")
    assert qp.payment_adjustment_percent == 0 and not qp.mips_eligible


def _check_facility(tables):
    final, cats, measures = tables["final_scores"], tables["category_scores"], tables["measure_scores"]
    facility = _row(final, level="group", tin="123456789")
    assert _row(cats, level="group", tin="123456789", category="quality").score_percent == 50
    assert facility.complex_patient_bonus == pytest.approx(1.7) and facility.complex_patient_bonus_basis == "computed"
    assert facility.final_score == pytest.approx(40.7) and facility.payment_adjustment_percent == pytest.approx(1.07)
    assert _row(measures, level="group", tin="777777777", measure_id="321").achievement_points == pytest.approx(
        (6.7444 + 4.5254) / 2, abs=1e-4)
    assert _row(cats, level="group", tin="777777777", category="quality").score_percent == pytest.approx(
        100 * ((6.7444 + 4.5254) / 2 + 3) / 60, abs=1e-3)


@pytest.mark.parametrize("year, bundle, factor, check", [
    (2017, APM_BUNDLE, "0.2", _check_apm), (2019, FACILITY_BUNDLE, "1", _check_facility)], ids=["apm", "facility"])
def test_apm_facility_cahps_and_complex_patient_inputs_in_mips_run_equal_mips_score(tmp_path, year, bundle, factor,
                                                                                  check):
    _, results, _ = _three_ways(tmp_path, year, bundle, "--scaling-factor", factor, flow=False)
    _assert_same(results)
    check(results["run"])


def test_an_input_folder_with_the_standard_names_is_read_by_run_and_backfill_alike(tmp_path, capsys):
    # scheduled runs and `mips backfill` read an input folder: score inputs by their contract names (docs/operations.md)
    folder = tmp_path / "inputs" / "2018"
    _write(folder, VG_BUNDLE)
    assert main(["run", "--performance-year", "2018", "--input-dir", str(folder), "--scaling-factor", "1",
                 "--output", str(tmp_path / "a"), "--without-prefect"]) == 0
    printed = capsys.readouterr().out
    # the run's summary names the virtual group beside its member TINs, each with its final score and adjustment
    for who in ("111111111", "222222222", "VG-000123 (virtual group)"):
        assert any(line.split() == [*who.split(), f"{VG_FINAL:.2f}", f"{VG_ADJUSTMENT:+.3f}"]
                   for line in printed.splitlines()), who
    files = _write(tmp_path / "given", VG_BUNDLE)
    assert main(["score", "--performance-year", "2018", *_options(files), "--scaling-factor", "1",
                 "--output", str(tmp_path / "b"), "-q"]) == 0
    _assert_same({"score": _tables(tmp_path / "b"), "folder": _tables(tmp_path / "a")})
    from mips.period import find_inputs
    assert set(find_inputs(folder)) == set(VG_BUNDLE)


def test_every_score_input_is_an_option_of_run_and_score_and_a_known_run_input():
    import argparse

    from mips.cli import build_parser
    from mips.period import RUN_INPUTS

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command in ("run", "score"):
        options = {o for a in commands[command]._actions for o in a.option_strings}
        assert {i.option for i in SCORE_INPUT_TABLE} <= options, command
    assert {i.name for i in SCORE_INPUT_TABLE} <= set(RUN_INPUTS)


# ---------------------------------------------------------------- claims and score inputs together (mips run)

def test_claims_run_takes_euc_applications_complex_patient_and_quality_counts_given(tmp_path):
    """The bundled PY2024 sample (claims, EHR extract, PI/IA/cost of its 6 TINs) with --entities and --quality.

    - TIN 901391249 (group): complex_patient_bonus 3.5 given -> final = weighted score + 3.5 (basis 'input').
    - TIN 901600707 (group): an approved EUC application for cost (euc_cost; §414.1380(c)(2)(i)(A), rule
      euc.application_categories; cost is not voided by data, it is computed from claims) -> cost reweighted, PY2024
      redistribution 'cost' 55/0/15/30 (rule final.redistribution.cost); and a registry 130 the run cannot compute
      (40 eligible, 30 met, 10 not met: 75 % in PY2024's registry decile 2 [68.13, 93.0) -> 2 + 6.87 / 24.87 = 2.2762).
    - TIN 901077062 (group, not MIPS eligible from the claims: one clinician, 104 beneficiaries): its row is still
      scored (as its PI/IA/cost rows are), with the bonus 2.0 given, mips_eligible false from mips_eligibility.
    """
    given = _write(tmp_path / "in", {
        "entity_input": "tin,npi,complex_patient_bonus,euc_cost\n901391249,,3.5,\n901600707,,,true\n901077062,,2.0,\n",
        "quality_input": "tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
                         "901600707,,130,registry,40,30,10\n"})
    out = tmp_path / "out"
    assert main(["run", "--performance-year", "2024", "--input-dir", str(SAMPLE_DIR), *_options(given),
                 "--output", str(out), "--without-prefect", "-q"]) == 0
    tables = _tables(out)
    final, cats, measures = tables["final_scores"], tables["category_scores"], tables["measure_scores"]
    bonus = _row(final, level="group", tin="901391249")
    assert bonus.complex_patient_bonus == 3.5 and bonus.complex_patient_bonus_basis == "input"
    assert bonus.final_score == pytest.approx(bonus.weighted_score + 3.5)
    euc = _row(final, level="group", tin="901600707")
    assert (euc.quality_weight, euc.cost_weight, euc.ia_weight, euc.pi_weight) == (55, 0, 15, 30)
    cost = _row(cats, level="group", tin="901600707", category="cost")
    assert cost.reweighted and cost.reason == "approved extreme and uncontrollable circumstances application"
    q, ia, pi = (_row(cats, level="group", tin="901600707", category=c).score_percent for c in ("quality", "ia", "pi"))
    assert euc.final_score == pytest.approx(0.55 * q + 0.15 * ia + 0.30 * pi)
    registry = _row(measures, level="group", tin="901600707", measure_id="130", collection_type="registry")
    assert (registry.eligible_population, registry.performance_met) == (40, 30)
    assert registry.achievement_points == pytest.approx(2 + round(6.87 / 24.87, 4))
    # the claims' own measures are still there beside it
    assert len(measures[(measures.tin == "901600707") & (measures.level == "group")]) > 20
    not_eligible = _row(final, level="group", tin="901077062")
    assert not not_eligible.mips_eligible and not_eligible.final_score == pytest.approx(not_eligible.weighted_score + 2.0)
    manifest = _manifest(out, 2024)
    assert {"entity_input", "quality_input", "medical_claim"} <= {i["table"] for i in manifest["inputs"]}


def test_a_measure_given_and_computed_is_an_error_not_counted_twice(tmp_path, capsys):
    # the sample computes 236 from its EHR extract as a registry (MIPS CQM) measure for TIN 901600707
    given = _write(tmp_path / "in", {
        "quality_input": "tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
                         "901600707,,236,registry,40,30,10\n"})
    out = tmp_path / "out"
    assert main(["run", "--performance-year", "2024", "--input-dir", str(SAMPLE_DIR), *_options(given),
                 "--output", str(out), "--without-prefect", "-q"]) != 0
    err = capsys.readouterr().err
    assert "quality_input: 1 row(s) give measure(s) 236 that the run computed" in err and "\n" not in err.strip()
    assert not (out / "final_scores").exists()


# ---------------------------------------------------------------- the same checks in both commands

def test_a_score_input_over_the_rejection_threshold_fails_run_as_it_fails_score(tmp_path, capsys):
    # 1 of 2 membership rows has no tin: 50 % rejected > 5 %: both commands stop, publishing nothing
    bundle = {**VG_BUNDLE, "virtual_group_input": "virtual_group_id,tin,performance_year,tin_clinicians\n"
                                                  "VG-000123,111111111,2018,1\nVG-000123,,2018,3\n"}
    files = _write(tmp_path / "in", bundle)
    messages = []
    for command in (["score"], ["run", "--without-prefect"]):
        out = tmp_path / command[0]
        assert main([*command, "--performance-year", "2018", *_options(files), "--output", str(out), "-q"]) != 0
        err = capsys.readouterr().err
        assert "more than 5.0% of rows rejected in" in err and "virtual_group_input.csv (50.0% rejected" in err
        assert not (out / "final_scores").exists() and (out / "_failed_run" / "2018" / "rejects.parquet").exists()
        messages.append(err.split("rejected in:")[1].split(";")[0])
    assert messages[0] == messages[1]


@pytest.mark.parametrize("command", [["score"], ["run", "--without-prefect"]])
def test_subgroups_need_registrations_and_mvps_need_py2023_in_both_commands(tmp_path, capsys, command):
    files = _write(tmp_path / "in", {"entity_input": "tin,npi\n111111111,\n",
                                     "subgroup_membership_input": "tin,subgroup_id,npi\n111111111,SG1,1234567893\n"})
    assert main([*command, "--performance-year", "2024", *_options(files), "--output", str(tmp_path / "o"), "-q"]) != 0
    assert "--subgroups needs --mvp-registrations" in capsys.readouterr().err
    files = _write(tmp_path / "in2", {"entity_input": "tin,npi\n111111111,\n",
                                      "mvp_registration_input": MVP_BUNDLE["mvp_registration_input"]})
    assert main([*command, "--performance-year", "2022", *_options(files), "--output", str(tmp_path / "o"), "-q"]) != 0
    assert "performance year 2022 has no MIPS Value Pathways" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before any file was read or any folder made


def test_a_sharded_run_refuses_score_inputs_that_pool_tins(tmp_path, capsys):
    files = _write(tmp_path / "in", VG_BUNDLE)
    assert main(["run", "--performance-year", "2018", *_options(files), "--shards", "2", "--without-prefect",
                 "--output", str(tmp_path / "o"), "-q"]) != 0
    err = capsys.readouterr().err
    assert "--shards cannot take --entities, --quality, --virtual-groups" in err


# ---------------------------------------------------------------- the score card

def test_report_shows_the_virtual_group_the_range_and_the_unconfirmed_rules(tmp_path):
    """PY2018 has no published scaling factor: without --scaling-factor the virtual group's positive adjustment is the
    range over the rules' PY2018 scaling_factor_range 0.0616..0.0638 (solved from published score/adjustment pairs):
    0.0616 x 0.68572 = 0.04224 % .. 0.0638 x 0.68572 = 0.04375 %, never a single number; on 50,000 USD: $21 to $22."""
    files = _write(tmp_path / "in", VG_BUNDLE)
    out = tmp_path / "out"
    assert main(["run", "--performance-year", "2018", *_options(files), "--output", str(out), "--without-prefect",
                 "-q"]) == 0
    assert main(["report", "--output", str(out), "--performance-year", "2018", "--dest", str(tmp_path / "r"),
                 "-q"]) == 0
    pages = sorted(p.name for p in (tmp_path / "r" / "2018").iterdir())
    assert pages == ["report-111111111.html", "report-222222222.html"]  # the virtual group has no page of its own
    html = (tmp_path / "r" / "2018" / "report-222222222.html").read_text()
    low, high = (sf * VG_ADJUSTMENT for sf in SCALING_FACTOR_RANGE_2018)
    assert f'id="group-adjustment">{low:+.3f}% to {high:+.3f}% (range: scaling factor not published)' in html
    assert f"${50000 * low / 100:,.0f} to ${50000 * high / 100:,.0f} on $50,000 of Part B allowed charges" in html
    paths = html.split('<section id="reporting-paths">')[1].split("</section>")[0]
    assert ('<tr class="pooled-row"><td>virtual group</td><td>VG-000123</td><td>group, NPI 1234567893</td>\n'
            f'    <td class="num">{VG_FINAL:,.2f}</td><td class="num">{100 * 6.6572 / 60:,.2f}</td>') in paths
    assert "60/0/15/25" in paths
    unconfirmed = html.split('<section id="unconfirmed">')[1].split("</section>")[0]
    assert "<code>virtual_group.special_status_share_percent</code>" in unconfirmed
    assert "This TIN carries the score of virtual group VG-000123" in html
    eligibility = html.split('<section id="eligibility">')[1].split("</section>")[0]
    assert "Not determined in this run: it had no claims" in eligibility


def test_report_shows_the_eligibility_by_determination_segment(tmp_path):
    """Eligibility by determination segment (PY2024 segments Oct 1 2022 - Sep 30 2023 and Oct 1 2023 - Sep 30 2024,
    rule eligibility.determination_segments [V]) from claims that cover both.

    Claims (Part B professional lines, billing TIN 901391249, clinician 1234567893): one line on the 15th of each month
    Oct 2022 .. Dec 2024 (27 lines), 2,000 USD allowed, one service, a new beneficiary each:
      segment 1 (Oct 2022 .. Sep 2023): 12 lines -> 24,000 USD, 12 beneficiaries, 12 services; segment 2: the same.
      PY2024 low-volume threshold: more than 90,000 USD, 200 beneficiaries and 200 services (rule
      eligibility.low_volume_threshold [V]): below in both -> not eligible; both segments covered -> 'final', decided
      by 'segments 1 and 2'. Performance year 2024: 12 lines -> 24,000 USD.
    The TIN attests an activity (--ia), so it is scored and has a page.
    """
    import datetime as dt

    rows = ["claim_id,claim_line_number,claim_type,person_id,claim_line_start_date,claim_line_end_date,"
            "place_of_service_code,hcpcs_code,rendering_npi,billing_tin,diagnosis_code_type,diagnosis_code_1,"
            "allowed_amount,paid_amount,service_unit_quantity,payer"]
    elig = ["person_id,birth_date,gender,enrollment_start_date,enrollment_end_date,payer"]
    day = dt.date(2022, 10, 15)
    for k in range(27):
        rows.append(f"C{k:03d},1,professional,P{k:03d},{day},{day},11,99213,1234567893,901391249,icd-10-cm,I10,"
                    "2000,1600,1,medicare")
        elig.append(f"P{k:03d},1950-01-01,female,2022-01-01,2024-12-31,medicare")
        day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=15)
    files = _write(tmp_path / "in", {"medical_claim": "\n".join(rows) + "\n", "eligibility": "\n".join(elig) + "\n",
                                     "ia_input": "tin,npi,activity_id\n901391249,,IA_EPA_1\n"})
    out = tmp_path / "out"
    assert main(["run", "--performance-year", "2024", "--medical-claim", str(files["medical_claim"]),
                 "--eligibility", str(files["eligibility"]), "--ia", str(files["ia_input"]), "--allow-empty",
                 "--output", str(out), "--without-prefect", "-q"]) == 0
    assert main(["report", "--output", str(out), "--performance-year", "2024", "--dest", str(tmp_path / "r"),
                 "--tin", "901391249", "-q"]) == 0
    html = (tmp_path / "r" / "2024" / "report-901391249.html").read_text()
    section = html.split('<section id="eligibility">')[1].split("</section>")[0]
    group = section.split('<tr class="eligibility-row">')[1]
    segment = ('<td>yes</td><td class="num">12</td>\n    <td class="num">12</td><td class="num">$24,000</td>\n'
               '    <td>no</td>')
    assert group.startswith("<td>group (TIN)</td>") and group.count(segment) == 2
    assert '<td>segments 1 and 2</td><td><span class="tag">final</span></td><td>no' in group
    assert "Performance year volume of the group: 12 beneficiaries, 12 services, $24,000 allowed." in section


def test_mips_backfill_takes_the_score_inputs_of_each_year_s_folder(prefect_harness, tmp_path):
    # `mips backfill` runs each year's folder through the flow; no --scaling-factor there (a factor is one year's):
    # PY2018's is not published, so the virtual group's adjustment is the range 0.0616 .. 0.0638 x 0.68572 % (the rules'
    # scaling_factor_range, solved from published 2018 score/adjustment pairs), as mips score's
    _write(tmp_path / "inputs" / "2018", VG_BUNDLE)
    assert main(["backfill", "2018", "2018", "--input-dir", str(tmp_path / "inputs" / "{year}"),
                 "--output", str(tmp_path / "backfill"), "-q"]) == 0
    files = _write(tmp_path / "given", VG_BUNDLE)
    assert main(["score", "--performance-year", "2018", *_options(files), "--output", str(tmp_path / "score"),
                 "-q"]) == 0
    results = {"score": _tables(tmp_path / "score"), "backfill": _tables(tmp_path / "backfill")}
    _assert_same(results)
    vg = _row(results["backfill"]["final_scores"], level="virtual_group", tin="VG-000123")
    assert vg.payment_adjustment_basis == "range" and pd.isna(vg.payment_adjustment_percent)
    assert (vg.payment_adjustment_low_percent, vg.payment_adjustment_high_percent) == pytest.approx(
        tuple(sf * VG_ADJUSTMENT for sf in SCALING_FACTOR_RANGE_2018), abs=1e-6)


def test_report_shows_the_apm_entity_a_participant_carries(tmp_path):
    # bundle 3: NPI 1003000126 of TIN 444444444 carries OCM-77's score (FS 25, other MIPS APM weights 0/0/25/75)
    files = _write(tmp_path / "in", APM_BUNDLE)
    out = tmp_path / "out"
    assert main(["run", "--performance-year", "2017", *_options(files), "--scaling-factor", "0.2", "--output", str(out),
                 "--without-prefect", "-q"]) == 0
    assert main(["report", "--output", str(out), "--performance-year", "2017", "--dest", str(tmp_path / "r"),
                 "--tin", "444444444", "-q"]) == 0
    html = (tmp_path / "r" / "2017" / "report-444444444.html").read_text()
    paths = html.split('<section id="reporting-paths">')[1].split("</section>")[0]
    assert ('<tr class="pooled-row"><td>APM entity</td><td>OCM-77</td><td>NPI 1003000126</td>\n'
            '    <td class="num">25.00</td>') in paths
    assert "0/0/25/75" in paths and f"{4 * 22 / 97 * 0.2:+.3f}%" in paths
    assert "<code>apm.scoring_standard_weights</code>" in html


def test_a_subgroup_in_mips_run_equals_mips_score_and_its_mvp_score_is_on_the_tin_s_page(tmp_path):
    """PY2026, M0005 Value in Primary Care (tests/test_scoring_mvp.py worked example, rules mvp.subgroup_*):
    subgroup SG1 of TIN 444444444 (members 1234567893, 1003000126), own rows 001 35 % -> 7.5 and 236 75 % -> 8.5;
    population health 484 from the affiliated group at the decile-7 bound -> 7 on top (denominator 50):
    quality (8.5 + 7.5 + 7) / 50 = 46 %; own IA_BE_4 -> 100 %; the group's TPCC_1 at the decile-5 bound -> 50 %;
    PI the group's. The group's own registration as 'multispecialty' is not scored (mvp.group_registration_specialty)."""
    from tests.test_scoring_mvp import _PI_ROWS

    bundle = {
        "entity_input": "tin,npi\n444444444,\n",
        "mvp_registration_input": MVP_BUNDLE["mvp_registration_input"].splitlines()[0] + "\n"
                                  "2026,group,444444444,,,M0005,,multispecialty\n2026,subgroup,444444444,,SG1,M0005,484,\n",
        "subgroup_membership_input": "tin,subgroup_id,npi\n444444444,SG1,1234567893\n444444444,SG1,1003000126\n",
        "quality_input": _Q + "444444444,,,001,registry,100,80,20\n444444444,,SG1,001,registry,100,35,65\n"
                              "444444444,,SG1,236,registry,100,75,25\n444444444,,,484,administrativeClaims,10000,4178,5822\n",
        "ia_input": "tin,npi,subgroup_id,activity_id\n444444444,,SG1,IA_BE_4\n",
        "cost_input": "tin,npi,measure_id,measure_value,case_count\n444444444,,TPCC_1,2180.67,40\n",
        "pi_input": "tin,npi,measure_id,numerator,denominator,value,exclusion_claimed\n"
                    + "".join(f"444444444,,{row}\n" for row in _PI_ROWS),
    }
    _, results, outs = _three_ways(tmp_path, 2026, bundle, flow=False)
    _assert_same(results)
    sub = _row(results["run"]["mvp_scores"], participant_type="subgroup")
    assert (sub.members, sub.quality_score, sub.ia_score, sub.cost_score) == (2, 46.0, 100.0, 50.0)
    assert main(["report", "--output", str(outs["run"]), "--performance-year", "2026", "--dest", str(tmp_path / "r"),
                 "-q"]) == 0
    html = (tmp_path / "r" / "2026" / "report-444444444.html").read_text()
    rows = html.split('<section id="reporting-paths">')[1].split("</section>")[0].split('<tr class="mvp-row">')[1:]
    group, subgroup = rows
    assert group.startswith("<td>group</td>") and "<td>no: a group reports an MVP only if it attests" in group
    assert subgroup.startswith("<td>subgroup SG1 (2 clinicians)</td>")
    assert '<td class="num">46.00</td><td class="num">50.00</td><td class="num">100.00</td>' in subgroup
    assert "<td>484: 7.00</td>" in subgroup
    assert f'<td class="num">{sub.final_score:,.2f}</td>' in subgroup


def test_an_apm_entity_mvp_through_the_flow_and_without_prefect_equals_mips_score(prefect_harness, tmp_path):
    """PY2023, APM entity ACO-7 (TIN 222222222's clinicians 1234567802 and 1234567810) reports MVP G0053
    (tests/test_scoring_apm_entity_mvp.py worked example): pooled ACR14, ACR12, ACR15 -> 10 each, the 4th measure
    missing: (30 + 6 small practice bonus) / 40 = 90 %; IA the APM participant's 50 % credit; cost 0 and PI reweighted
    (small entity) -> quality 50/70, IA 20/70: final 78.5714, the highest of each participant's 4 final scores."""
    from tests.test_scoring_apm_entity_mvp import N1, N2, QUALITY, REG_HEAD, TIN

    bundle = {
        "entity_input": f"tin,npi,part_b_allowed_charges\n{TIN},,\n{TIN},{N1},10000\n{TIN},{N2},20000\n",
        "quality_input": QUALITY,
        "apm_participation_input": f"apm_entity_id,tin,npi,performance_year\nACO-7,{TIN},{N1},2023\nACO-7,{TIN},{N2},2023\n",
        "mvp_registration_input": f"{REG_HEAD}\n2023,apm_entity,,,,G0053,ACO-7\n",
    }
    _, results, outs = _three_ways(tmp_path, 2023, bundle, flow=True)
    _assert_same(results)
    entity = _row(results["flow"]["mvp_scores"], participant_type="apm_entity")
    assert (entity.tin, entity.members, entity.quality_score, entity.ia_score) == ("ACO-7", 2, 90.0, 50.0)
    assert entity.final_score == pytest.approx(50 / 0.7 * 0.9 + 20 / 0.7 * 0.5)
    for how, out in outs.items():
        paid = duckdb.sql(f"SELECT npi, score_path, reporting, final_score FROM read_parquet("
                          f"'{out}/payment_adjustments/**/*.parquet', hive_partitioning = true) ORDER BY npi").fetchall()
        assert [(n, p, r) for n, p, r, _ in paid] == [(N1, "apm_entity", "mvp"), (N2, "apm_entity", "mvp")], how
        assert all(f == pytest.approx(78.5714, abs=1e-4) for *_, f in paid), how
    # the score card of the participants' TIN shows the APM entity's MVP and the rules it rests on
    assert main(["report", "--output", str(outs["run"]), "--performance-year", "2023", "--dest", str(tmp_path / "r"),
                 "--tin", TIN, "-q"]) == 0
    html = (tmp_path / "r" / "2023" / f"report-{TIN}.html").read_text()
    rows = html.split('<section id="reporting-paths">')[1].split("</section>")[0].split('<tr class="mvp-row">')[1:]
    assert len(rows) == 1 and rows[0].startswith("<td>APM entity ACO-7 (2 participants)</td>")
    assert '<td class="num">78.57</td>' in rows[0]
    assert "<code>mvp.apm_entity_category_weights</code>" in html
