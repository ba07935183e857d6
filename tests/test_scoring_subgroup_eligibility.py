"""A subgroup's eligibility (issue 13, build 4: MVPs and subgroups, "subgroup scoring and reporting requirements"),
worked examples through `mips score` and `mips run --without-prefect`.

Rule mvp.subgroup_eligibility (PY2023 on; null before: no subgroups), [V] 42 CFR §414.1318 (eCFR text mirrored at
law.lawstack.com/cfr/42/414.1318/):
- (a)(1) "determinations of meeting the low-volume threshold criteria and special status for a subgroup is determined
  at the group level": the affiliated group's (TIN's) volume decides, not the members' own;
- (a)(4) "CMS will apply the low-volume threshold criteria for a subgroup ... using information from the initial
  12-month segment of the applicable MIPS determination period": segment 1 alone decides (PY2023: Oct 1 2021 -
  Sep 30 2022, rule eligibility.determination_segments); a TIN above the threshold only in segment 2 (as the ordinary
  two-segment rule would take it) may not report as subgroups;
- (a)(2) a group that only opts in may not participate in a subgroup.
A registration of a subgroup whose TIN is not eligible that way is kept, not scored, with the reason (mvp_scores.reason);
its clinicians are paid on their other scores, and their payment_adjustments rows say why the subgroup's is not there.

Hand computation shared by the examples (PY2023, MVP G0053 Advancing Rheumatology Patient Care; benchmarks and
scoring as in tests/test_scoring_mvp.py's PY2023 worked example):
- each subgroup sends ACR14 (outcome) 70 of 100 -> at or past the decile-10 bound 65.22 -> 10 points, and ACR12 100 %
  -> 10; only 2 of the 4 MVP measures: the 2 missing score 0; no population health measure named at registration
  (PY2023: none counted): quality = (10 + 10) / 40 = 50 %;
- its own IA_BE_1 + IA_BE_4, medium in an MVP in PY2023: 20 + 20 = 40 -> 100 %;
- cost: none sent -> reweighted; PI: the affiliated group's, with its PI hardship -> reweighted (rule mvp.subgroup_pi);
  weights (cost+pi scenario) 85/0/15/0: subgroup final = 0.85 x 50 + 0.15 x 100 = 57.5;
- payment: below the threshold 75, above 75/4: -9 x (75 - 57.5) / 75 = -2.1 %.
- each TIN also attests IA_BE_4 as a group (traditional MIPS, medium 10 of 40 = 25 %), no quality (0 at its weight),
  cost and PI reweighted (85/0/15/0): group final = 0.15 x 25 = 3.75 <= 75 / 4 -> -9 %.
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main
from tests.test_scoring_support import score_args
from transforms.scoring.rules import load_rules

TIN_A, TIN_B, TIN_C = "555555555", "666666666", "777777777"
MEMBER_A, MEMBER_B, MEMBER_C = "1234567893", "1003000126", "1003000134"
SUBGROUP_FINAL = 0.85 * 50 + 0.15 * 100       # 57.5
SUBGROUP_ADJUSTMENT = -9 * (75 - 57.5) / 75   # -2.1 %
GROUP_FINAL = 0.15 * 25                       # 3.75
SEGMENT_1 = "determination segment 1 (2021-10-01..2022-09-30)"
REG_HEAD = "performance_year,participant_type,tin,npi,subgroup_id,mvp_id,population_health_measure_id,specialty_composition"
Q_HEAD = "tin,npi,subgroup_id,measure_id,collection_type,eligible_population,performance_met,performance_not_met"


def _bundle(tins: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The score inputs of the worked example for each TIN: {tin: (subgroup id, member NPI)}."""
    return {
        "mvp-registrations": REG_HEAD + "\n" + "".join(f"2023,subgroup,{t},,{s},G0053,,\n" for t, (s, _) in tins.items()),
        "subgroups": "tin,subgroup_id,npi\n" + "".join(f"{t},{s},{n}\n" for t, (s, n) in tins.items()),
        "quality": Q_HEAD + "\n" + "".join(f"{t},,{s},ACR14,registry,100,70,30\n{t},,{s},ACR12,registry,100,100,0\n"
                                           for t, (s, _) in tins.items()),
        "ia": "tin,npi,subgroup_id,activity_id\n" + "".join(f"{t},,{s},IA_BE_1\n{t},,{s},IA_BE_4\n{t},,,IA_BE_4\n"
                                                            for t, (s, _) in tins.items()),
    }


def _read(out, table):
    return duckdb.sql(f"SELECT * FROM read_parquet('{out}/{table}/**/*.parquet', hive_partitioning=true)").df()


def test_the_rule_is_the_affiliated_groups_first_segment_from_py2023_confirmed_in_the_regulation():
    for year in range(2017, 2023):
        assert load_rules(year)["mvp.subgroup_eligibility"] is None  # no subgroups before PY2023
    for year in range(2023, 2027):
        leaf = load_rules(year).leaf("mvp.subgroup_eligibility")
        assert leaf.value == {"level": "affiliated_group", "segment": 1}
        assert not leaf.unconfirmed and "§414.1318(a)(1)" in leaf.source and "(a)(4)" in leaf.source
        assert "initial 12-month segment" in leaf.source


def test_an_unknown_rule_value_fails_loudly():
    import dataclasses

    from transforms.scoring.mvp import _check_rules
    from transforms.scoring.rules import RuleValue

    rules = load_rules(2023)
    leaves = dict(rules.leaves)
    leaves["mvp.subgroup_eligibility"] = RuleValue("mvp.subgroup_eligibility", {"level": "clinician", "segment": 1},
                                                   "test", False)
    with pytest.raises(ValueError, match="mvp.subgroup_eligibility"):
        _check_rules(dataclasses.replace(rules, leaves=leaves))


def test_py2023_mips_score_a_tin_not_eligible_in_segment_1_keeps_its_subgroup_unscored(tmp_path, capsys):
    """`mips score`: the entity input gives each TIN's segment-1 determination as CMS released it
    (segment_1_exceeds_low_volume_threshold on the group row):
    - TIN A false (e.g. above the threshold in segment 2 only): subgroup SGA is kept, not scored; its member is paid on
      the group's 3.75 (-9 %), the only score it has, and its row says why the subgroup's is not there;
    - TIN B true: subgroup SGB scores 57.5; its member has 57.5 and the group's 3.75 -> 57.5 pays, -2.1 %;
    - TIN C not given, and the run has no claims: SGC is scored (57.5, as B) and its row and the run's warnings say
      its eligibility is NOT DETERMINED (never a silent "not eligible")."""
    files = _bundle({TIN_A: ("SGA", MEMBER_A), TIN_B: ("SGB", MEMBER_B), TIN_C: ("SGC", MEMBER_C)})
    files["entities"] = (f"tin,npi,pi_hardship,segment_1_exceeds_low_volume_threshold\n{TIN_A},,true,false\n"
                         f"{TIN_B},,true,true\n{TIN_C},,true,\n")
    out = tmp_path / "out"
    assert main([*score_args(tmp_path, 2023, files), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    mvp = _read(out, "mvp_scores").set_index("subgroup_id")
    a, b, c = mvp.loc["SGA"], mvp.loc["SGB"], mvp.loc["SGC"]
    assert not a.scored and a.final_score != a.final_score  # NaN: no score
    assert a.reason.startswith(f"affiliated group TIN {TIN_A} at or below the low-volume threshold in {SEGMENT_1}, "
                               "as the entity input gives it (segment_1_exceeds_low_volume_threshold): a subgroup may "
                               "report only when its affiliated group exceeds")
    assert "§414.1318(a)(1), (a)(4)" in a.reason and a.explanation == "not scored: " + a.reason
    assert b.scored and (b.quality_score, b.ia_score, b.quality_measures_counted) == (50.0, 100.0, 2)
    assert (b.quality_weight, b.cost_weight, b.ia_weight, b.pi_weight) == (85, 0, 15, 0)
    assert b.final_score == pytest.approx(SUBGROUP_FINAL)
    assert (f"subgroup eligibility (rule mvp.subgroup_eligibility): affiliated group TIN {TIN_B} above the low-volume "
            f"threshold in {SEGMENT_1}, as the entity input gives it") in b.explanation
    # CMS's own determination given: no segment dates or threshold of the rules data behind it
    assert "eligibility.determination_segments" not in (b.unconfirmed_rules or "")
    assert c.scored and c.final_score == pytest.approx(SUBGROUP_FINAL)
    assert f"NOT DETERMINED for affiliated group TIN {TIN_C}: the run has no Part B claims of {SEGMENT_1}" in c.explanation
    assert "subgroup eligibility not determined" in printed and TIN_C in printed

    paid = _read(out, "payment_adjustments").set_index("npi")
    pa, pb = paid.loc[MEMBER_A], paid.loc[MEMBER_B]
    assert (pa.score_path, pa.reporting, pa.candidate_count) == ("group", "traditional", 1)
    assert pa.final_score == pytest.approx(GROUP_FINAL) and pa.payment_adjustment_percent == pytest.approx(-9)
    assert f"subgroup SGA (MVP G0053) not scored: affiliated group TIN {TIN_A} at or below" in pa.selection_reason
    assert (pb.score_path, pb.reporting, pb.candidate_count) == ("subgroup", "mvp", 2)
    assert pb.final_score == pytest.approx(SUBGROUP_FINAL)
    assert pb.payment_adjustment_percent == pytest.approx(SUBGROUP_ADJUSTMENT)
    assert f"group (traditional, {TIN_B}) {GROUP_FINAL:.4f}" in pb.candidates
    assert "not scored" not in pb.selection_reason


def _claims_files(tmp_path):
    """Part B claims (billing TIN, rendering NPI 1003000142 of A / 1003000159 of B, one $500 venipuncture line per
    beneficiary, 36415: no quality measure counts it) and their beneficiaries, PY2023:
    - TIN B: 201 beneficiaries in 2022-03 (segment 1) and again in 2023-03 (segment 2 and the performance year):
      $100,500, 201 beneficiaries, 201 services in each segment: above every criterion of the threshold (more than
      $90,000, 200 beneficiaries and 200 services, rule eligibility.low_volume_threshold) in both;
    - TIN A: the same 201 lines in 2023-03 only: no Part B line in segment 1, above in segment 2. The ordinary rule
      (eligibility.segment_rule) decides a TIN/NPI new in segment 2 on segment 2: TIN A is MIPS eligible as a group;
      a subgroup's eligibility takes segment 1 alone: A's subgroup may not report;
    - a filler TIN bills one $10 line on the 15th of every month 2021-10 .. 2023-12 (27 lines), so the claims cover
      every month of both segments: the determinations are 'final'."""
    import datetime as dt

    rows = ["claim_id,claim_line_number,claim_type,person_id,claim_line_start_date,claim_line_end_date,"
            "place_of_service_code,hcpcs_code,rendering_npi,billing_tin,diagnosis_code_type,diagnosis_code_1,"
            "allowed_amount,paid_amount,service_unit_quantity,payer"]
    elig = ["person_id,birth_date,gender,enrollment_start_date,enrollment_end_date,payer"]

    def add(claim, person, day, npi, tin, allowed):
        rows.append(f"{claim},1,professional,{person},{day},{day},11,36415,{npi},{tin},icd-10-cm,Z00.00,{allowed},"
                    f"{allowed},1,medicare")
    for k in range(201):
        elig.append(f"P{k:03d},1950-01-01,female,2021-01-01,2023-12-31,medicare")
        add(f"B1{k:03d}", f"P{k:03d}", "2022-03-01", "1003000159", TIN_B, 500)
        add(f"B2{k:03d}", f"P{k:03d}", "2023-03-01", "1003000159", TIN_B, 500)
        add(f"A2{k:03d}", f"P{k:03d}", "2023-03-01", "1003000142", TIN_A, 500)
    day = dt.date(2021, 10, 15)
    for k in range(27):
        add(f"F{k:03d}", "P000", day, "1003000167", "888888888", 10)
        day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=15)
    (tmp_path / "medical_claim.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "eligibility.csv").write_text("\n".join(elig) + "\n")
    return ["--medical-claim", str(tmp_path / "medical_claim.csv"), "--eligibility", str(tmp_path / "eligibility.csv")]


def test_py2023_mips_run_a_tin_above_only_in_segment_2_keeps_its_subgroup_unscored(tmp_path):
    """`mips run --without-prefect`, the claims of _claims_files deciding: TIN A is MIPS eligible as a group (segment 2,
    no billing in segment 1) but its subgroup SGA is not scored (no Part B claims of A in segment 1); TIN B's subgroup
    SGB, above in segment 1, scores 57.5 and pays its member, -2.1 %. The same hand computation as `mips score`
    (module doc): the claims add no quality measure (36415 is in no measure's eligible population)."""
    files = _bundle({TIN_A: ("SGA", MEMBER_A), TIN_B: ("SGB", MEMBER_B)})
    files["entities"] = f"tin,npi,pi_hardship\n{TIN_A},,true\n{TIN_B},,true\n"
    args = score_args(tmp_path, 2023, files)
    args[0] = "run"
    out = tmp_path / "out"
    assert main([*args, *_claims_files(tmp_path), "--allow-empty", "--without-prefect", "-q",
                 "--output", str(out)]) == 0
    elig = _read(out, "mips_eligibility")
    groups = elig[elig.level == "group"].set_index("tin")
    a, b = groups.loc[TIN_A], groups.loc[TIN_B]
    assert (a.mips_eligible, a.determination, a.determined_by) == (True, "final", "segment 2 (no Part B billing in segment 1)")
    assert a.segment_1_covered and a.segment_1_allowed_charges != a.segment_1_allowed_charges  # NaN: nothing billed
    assert (b.mips_eligible, b.determined_by, b.segment_1_beneficiaries, b.segment_1_allowed_charges) == (
        True, "segments 1 and 2", 201, 100500)

    mvp = _read(out, "mvp_scores").set_index("subgroup_id")
    sga, sgb = mvp.loc["SGA"], mvp.loc["SGB"]
    assert not sga.scored
    assert sga.reason.startswith(f"affiliated group TIN {TIN_A} has no Part B claims in {SEGMENT_1} in the run's "
                                 "claims: a subgroup may report only when")
    assert sgb.scored and sgb.final_score == pytest.approx(SUBGROUP_FINAL)
    assert (f"affiliated group TIN {TIN_B} above the low-volume threshold in {SEGMENT_1} in the run's claims "
            "(100500.00 USD allowed, 201 beneficiaries, 201 services)") in sgb.explanation
    # decided from the claims: the PY2023 segment dates and threshold of the rules data are unconfirmed ([R])
    assert {"eligibility.determination_segments", "eligibility.low_volume_threshold"} <= set(
        sgb.unconfirmed_rules.split(", "))

    paid = _read(out, "payment_adjustments").set_index("npi")
    pa, pb = paid.loc[MEMBER_A], paid.loc[MEMBER_B]
    assert (pa.score_path, pa.final_score) == ("group", pytest.approx(GROUP_FINAL))
    assert pa.payment_adjustment_percent == pytest.approx(-9)
    assert "subgroup SGA (MVP G0053) not scored" in pa.selection_reason
    assert (pb.score_path, pb.reporting) == ("subgroup", "mvp")
    assert pb.payment_adjustment_percent == pytest.approx(SUBGROUP_ADJUSTMENT)


@pytest.mark.parametrize("given", ["", "false"])
def test_py2023_mips_run_whose_claims_do_not_cover_segment_1_asks_the_entity_input_or_says_not_determined(tmp_path, given):
    """The claims of _claims_files from 2022-10-01 on only: segment 1 (2021-10 .. 2022-09) has no month with a line,
    so the run's claims cannot tell whether TIN B exceeded the threshold there (beside it, the ordinary warning that
    segment 1 is not covered, transforms/scoring/eligibility.py).
    - Nothing given: subgroup SGB is scored (57.5, -2.1 % for its member, as above), and its row and the run's
      warnings say its eligibility is NOT DETERMINED.
    - The entity input gives CMS's segment-1 determination of TIN B, false: it decides (as it would over claims that
      cover the segment); SGB is not scored and its member is paid on the group's 3.75, -9 %."""
    from mips.period import run_period_steps

    files = _bundle({TIN_B: ("SGB", MEMBER_B)})
    files["entities"] = f"tin,npi,pi_hardship,segment_1_exceeds_low_volume_threshold\n{TIN_B},,true,{given}\n"
    score_args(tmp_path, 2023, files)  # writes the CSVs
    claim_args = _claims_files(tmp_path)  # then keep the lines of segment 2 on
    claims = tmp_path / "medical_claim.csv"
    lines = claims.read_text().splitlines()
    claims.write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if ln.split(",")[4] >= "2022-10-01"]) + "\n")
    names = {"entities": "entity_input", "quality": "quality_input", "ia": "ia_input",
             "mvp-registrations": "mvp_registration_input", "subgroups": "subgroup_membership_input"}
    inputs = {names[o]: tmp_path / f"{o}.csv" for o in files} | {
        "medical_claim": claims, "eligibility": tmp_path / "eligibility.csv"}
    assert claim_args[1] == str(claims)
    report = run_period_steps(performance_year=2023, files=inputs, output_root=tmp_path / "out", allow_empty=True)
    sgb = _read(tmp_path / "out", "mvp_scores").set_index("subgroup_id").loc["SGB"]
    paid = _read(tmp_path / "out", "payment_adjustments").set_index("npi").loc[MEMBER_B]
    rules = [w[1] for w in report.warnings]
    assert "determination segment 1 not covered" in rules
    if not given:
        assert sgb.scored and sgb.final_score == pytest.approx(SUBGROUP_FINAL)
        assert (f"NOT DETERMINED for affiliated group TIN {TIN_B}: the run's claims do not cover every month of "
                f"{SEGMENT_1}") in sgb.explanation
        assert "subgroup eligibility not determined" in rules
        assert paid.payment_adjustment_percent == pytest.approx(SUBGROUP_ADJUSTMENT)
    else:
        assert not sgb.scored and sgb.reason.startswith(
            f"affiliated group TIN {TIN_B} at or below the low-volume threshold in {SEGMENT_1}, as the entity input gives it")
        assert "subgroup eligibility not determined" not in rules
        assert (paid.score_path, paid.final_score) == ("group", pytest.approx(GROUP_FINAL))
        assert paid.payment_adjustment_percent == pytest.approx(-9)
