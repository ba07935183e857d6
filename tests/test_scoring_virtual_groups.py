"""Virtual groups (issue 13 item 4), worked examples through `mips score --virtual-groups`.

Rules (data/rules/<PY>.yaml, section virtual_group):
- virtual_group.allowed: from PY2018 (§414.1315, CY2018 QPP final rule); PY2017 has none.
- virtual_group.max_tin_clinicians 10, min_tins 2: solo practitioners and groups of 10 or fewer clinicians, two or
  more TINs (§414.1315(a)(1), §414.1305).
- The virtual group is scored as one entity; its final score and adjustment apply to each member TIN and TIN/NPI
  (§414.1315(a)(2)). Its data: the member TINs' rows pooled (quality counts and PI numerators/denominators summed).
- virtual_group.special_status_share_percent 75: a status holds when MORE than 75 % of the NPIs have it [R].
- virtual_group.small_practice_max_clinicians 15: small practice when 15 or fewer clinicians in all [R].
- virtual_group.ia_min_clinician_share_percent: PY2018-2019 0 (one clinician performing an activity is enough: any
  member TIN attesting it) [R]; from PY2020 50 (§414.1360(a)(2) as amended by the CY2020 PFS final rule) [R].

The same practice in every example: virtual group VG-000123 of
- TIN 111111111, a solo practitioner (1 clinician), charges 100,000 USD, attests IA_EPA_1 (high weight);
  quality 236 registry: eligible 12, met 10, not met 2;
- TIN 222222222, a group of 3 clinicians, rural, charges 50,000 USD, with its clinician 1234567893 (charges
  20,000 USD); attests IA_BE_4 (medium weight); quality 236 registry: eligible 10, met 6, not met 4.
Alone, each TIN's 236 is below the case minimum of 20 (3 points, rules quality.case_minimum and
quality.no_benchmark_or_case_minimum_points). Pooled: eligible 22, met 16, not met 6, data completeness
22/22 = 100 %, rate 16/22 = 72.7273 %: the case minimum is met and the measure is scored on its benchmark.
Virtual group: 4 clinicians -> small practice (<= 15). Rural: 3 of 4 NPIs = 75 %, not MORE than 75 % -> not rural.
No cost, no PI input.
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main
from tests.test_scoring_support import score_args

VG, SOLO, GROUP, NPI = "VG-000123", "111111111", "222222222", "1234567893"
MEMBERS = f"virtual_group_id,tin,performance_year,tin_clinicians\n{VG},{SOLO},{{y}},1\n{VG},{GROUP},{{y}},3\n"


def _run(tmp_path, year, members=None, *extra):
    """Exit status of `mips score` on the example practice (files under tmp_path, outputs in tmp_path/o<year>)."""
    files = {
        "entities": f"tin,npi,rural,part_b_allowed_charges\n{SOLO},,false,100000\n{GROUP},,true,50000\n{GROUP},{NPI},,20000\n",
        "ia": f"tin,npi,activity_id\n{SOLO},,IA_EPA_1\n{GROUP},,IA_BE_4\n",
        "quality": ("tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
                    f"{SOLO},,236,registry,12,10,2\n{GROUP},,236,registry,10,6,4\n"),
        "virtual-groups": (members if members is not None else MEMBERS).format(y=year),
    }
    args = score_args(tmp_path, year, files)
    return main([*args, *extra, "--output", str(tmp_path / f"o{year}")])


def _score(tmp_path, year, members=None, *extra):
    assert _run(tmp_path, year, members, *extra) == 0
    out = tmp_path / f"o{year}"
    read = lambda t: duckdb.sql(f"SELECT * FROM read_parquet('{out}/{t}/**/*.parquet', hive_partitioning=true)").df()
    final = {(r.level, r.tin, r.npi if isinstance(r.npi, str) else None): r for r in read("final_scores").itertuples()}
    cats = {(r.level, r.tin, r.npi if isinstance(r.npi, str) else None, r.category): r
            for r in read("category_scores").itertuples()}
    measures = {(r.level, r.tin, r.measure_id): r for r in read("measure_scores").itertuples()}
    return final, cats, measures


def test_py2018_virtual_group_pools_quality_counts_ia_from_any_member_and_applies_to_members(tmp_path, capsys):
    final, cats, measures = _score(tmp_path, 2018, None, "--scaling-factor", "1")
    # Quality: 236 registry PY2018 L = [0, 0, 56.36, 62.92, 67.54, 70.69, 73.79, 77.46, 82.13, 88.59] (not inverse,
    # not topped out). 72.7273 is in decile 6 [70.69, 73.79): 6 + (72.7273 - 70.69) / (73.79 - 70.69) = 6.6572.
    # One measure of six (its required outcome measure: intermediate outcome, no bonus); denominator 60:
    # 6.6572 / 60 = 11.0953 %. The members alone: 12 and 10 cases < 20 -> 3 points each.
    m = measures[("virtual_group", VG, "236")]
    assert (m.eligible_population, m.performance_met, m.performance_not_met) == (22, 16, 6)
    assert m.achievement_points == pytest.approx(6.6572, abs=1e-4) and m.decile == 6
    assert measures[("group", SOLO, "236")].achievement_points == 3
    assert cats[("virtual_group", VG, None, "quality")].score_percent == pytest.approx(100 * 6.6572 / 60, abs=1e-3)
    # IA PY2018: an activity counts when one clinician performs it (share 0): IA_EPA_1 high 20 + IA_BE_4 medium 10,
    # small practice doubles them (special status): 60, capped at 40 -> 100 %.
    assert cats[("virtual_group", VG, None, "ia")].score_percent == 100
    # Weights: no cost -> PY2018 scenario 'cost' 60/0/15/25; PI 0 at 25 %.
    # Final: 0.60 x 11.0953 + 0.15 x 100 + 0.25 x 0 = 21.6572, + small practice final bonus 5 (PY2018) = 26.6572.
    # Adjustment (PT 15, applicable 5 %, SF 1 given): 5 x (26.6572 - 15) / 85 = 0.68572 %; below APT 70.
    fs = 0.60 * (100 * 6.6572 / 60) + 15 + 5
    adj = 5 * (fs - 15) / 85
    v = final[("virtual_group", VG, None)]
    assert (v.quality_weight, v.cost_weight, v.ia_weight, v.pi_weight) == (60, 0, 15, 25)
    assert v.small_practice_bonus == 5 and v.final_score == pytest.approx(fs, abs=1e-3)
    assert v.payment_adjustment_percent == pytest.approx(adj, abs=1e-4)
    # §414.1315(a)(2): every member TIN and TIN/NPI carries the virtual group's score; dollars on its own charges.
    for key, charges in (((("group", SOLO, None)), 100000), (("group", GROUP, None), 50000),
                         (("individual", GROUP, NPI), 20000)):
        row = final[key]
        assert row.virtual_group_id == VG and row.final_score == pytest.approx(fs, abs=1e-3)
        assert row.payment_adjustment_usd == pytest.approx(charges * adj / 100, abs=0.05)
        assert "member of virtual group VG-000123" in row.explanation
    assert cats[("group", SOLO, None, "quality")].score_percent == pytest.approx(100 * 6.6572 / 60, abs=1e-3)
    # rural: 75 % of the NPIs is not more than 75 %: no special status from it (small practice gives it here anyway)
    assert "virtual_group.special_status_share_percent" in v.unconfirmed_rules
    out = capsys.readouterr().out
    assert "virtual_group VG-000123" in out and "virtual group complex patient bonus" in out


def test_py2020_an_activity_counts_only_when_members_with_half_the_clinicians_attest_it(tmp_path):
    final, cats, measures = _score(tmp_path, 2020)
    # IA PY2020 (share 50 %): IA_EPA_1 by the solo TIN = 1 of 4 NPIs (25 %) -> not the virtual group's;
    # IA_BE_4 by the 3-clinician TIN = 75 % -> counts: medium 10, doubled (small practice) = 20 of 40 = 50 %.
    assert cats[("virtual_group", VG, None, "ia")].score_percent == 50
    # Quality: 236 registry PY2020 L = [0, 0, 20, 30, 40, 50, 60, 70, 80, 90]: 72.7273 -> 8 + 2.7273/10 = 8.2727;
    # + small practice quality bonus 6 (PY2020): (8.2727 + 6) / 60 = 23.7879 %.
    assert measures[("virtual_group", VG, "236")].achievement_points == pytest.approx(8.2727, abs=1e-4)
    q = 100 * (8.2727 + 6) / 60
    assert cats[("virtual_group", VG, None, "quality")].score_percent == pytest.approx(q, abs=1e-3)
    # Cost 0 % for all (PY2020 COVID-19): scenario 55/0/15/30; PI 0. Final 0.55 x 23.7879 + 0.15 x 50 = 20.5833.
    # PT 45: -9 x (45 - 20.5833) / 45 = -4.8833 %, for the virtual group and each member.
    fs = 0.55 * q + 7.5
    for key in (("virtual_group", VG, None), ("group", SOLO, None), ("individual", GROUP, NPI)):
        row = final[key]
        assert (row.quality_weight, row.cost_weight, row.ia_weight, row.pi_weight) == (55, 0, 15, 30)
        assert row.final_score == pytest.approx(fs, abs=1e-3)
        assert row.payment_adjustment_percent == pytest.approx(-9 * (45 - fs) / 45, abs=1e-4)
    # the member individual is not given the PY2020 automatic EUC of individuals: it is scored as the virtual group
    assert final[("individual", GROUP, NPI)].virtual_group_id == VG


def _refused(tmp_path, capsys, year, members=None) -> str:
    """`mips score` fails (exit 2) and publishes nothing; its one-line error."""
    assert _run(tmp_path, year, members) == 2
    assert not (tmp_path / f"o{year}" / "final_scores").exists()
    return capsys.readouterr().err


def test_py2017_has_no_virtual_groups(tmp_path, capsys):
    assert "virtual groups start with PY2018 (rule virtual_group.allowed" in _refused(tmp_path, capsys, 2017)


def test_a_tin_of_more_than_10_clinicians_cannot_join(tmp_path, capsys):
    members = f"virtual_group_id,tin,performance_year,tin_clinicians\n{VG},{SOLO},{{y}},1\n{VG},{GROUP},{{y}},11\n"
    err = _refused(tmp_path, capsys, 2019, members)
    assert "virtual group VG-000123: TIN 222222222 has 11 clinicians" in err and "virtual_group.max_tin_clinicians" in err


def test_a_virtual_group_of_one_tin_is_refused(tmp_path, capsys):
    members = f"virtual_group_id,tin,performance_year,tin_clinicians\n{VG},{SOLO},{{y}},1\n"
    assert "VG-000123 (1 TIN): a virtual group combines at least 2 TINs" in _refused(tmp_path, capsys, 2019, members)


def test_membership_of_other_years_is_not_used_and_said(tmp_path, capsys):
    # the TINs elected for 2019 only: scored for 2018 as themselves, and the summary says 2 rows were not used
    final, _, _ = _score(tmp_path, 2018, MEMBERS.replace("{y}", "2019"))
    assert not any(level == "virtual_group" for level, _, _ in final)
    assert final[("group", SOLO, None)].virtual_group_id is None
    assert "virtual group membership of another year: 2" in capsys.readouterr().out


def test_bad_membership_rows_are_rejected_with_file_row_and_column(tmp_path, capsys):
    # row 2: 0 clinicians; row 3: the same TIN in a second virtual group of the year (grain: one per year and TIN).
    # 2 of 3 rows rejected > 5 %: nothing is scored, the error names the file.
    members = (f"virtual_group_id,tin,performance_year,tin_clinicians\n{VG},{SOLO},{{y}},1\n"
               f"{VG},{GROUP},{{y}},0\nVG-2,{SOLO},{{y}},1\n")
    assert "virtual-groups.csv" in _refused(tmp_path, capsys, 2019, members)
    from transforms import ingest
    con = duckdb.connect()
    path = tmp_path / "vg.csv"
    path.write_text(members.format(y=2019))
    result = ingest.ingest_file(con, path, "virtual_group_input")
    assert (result.accepted_rows, result.rejected_rows) == (1, 2)
    rejects = con.execute('SELECT row_number, "column", reason FROM _rejects ORDER BY row_number').fetchall()
    assert rejects == [(2, "tin_clinicians", "not a whole number >= 1"),
                       (3, None, "duplicate of an earlier row with the same performance_year, tin")]
