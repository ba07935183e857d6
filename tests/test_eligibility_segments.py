"""MIPS eligibility as CMS determines it (issue 13 item 5): the low-volume threshold over the two determination
segments of the rules data, not the calendar year of the run's claims.

Rule (data/rules/2024.yaml eligibility.*, [V] qpp.cms.gov "MIPS Eligibility Determination Period", PY2024):
segment 1 is 2022-10-01..2023-09-30, segment 2 is 2023-10-01..2024-09-30; a clinician who bills Part B in both
must exceed the threshold (more than $90,000 allowed, more than 200 beneficiaries and more than 200 services) in
both ("Below & Above = MIPS Exempt"); a TIN/NPI new in segment 2 is decided on segment 2. Opt-in eligible: at
least one of the three criteria exceeded (CMS listserv for PY2020, rule eligibility.opt_in).
"""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from transforms.period_scope import determination_start
from transforms.scoring.eligibility import (determination_segments, eligibility_warnings, entities_from_claims,
                                             mips_eligibility)

TIN, FILLER_TIN = "123456789", "987654321"
NPI_A, NPI_B, NPI_C, NPI_D, NPI_F = "1000000001", "1000000002", "1000000003", "1000000004", "1000000009"


def _lines(con, npi: str, tin: str, day: str, persons: int, allowed: float, tag: str) -> None:
    """``persons`` lines of one service each, one distinct beneficiary per line, on ``day``."""
    con.execute(f"""INSERT INTO medical_claim SELECT '{tag}' || i, '{tag}' || i, DATE '{day}', '{npi}', '{tin}',
                    {allowed}, 1 FROM range({persons}) t(i)""")


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("""CREATE TABLE medical_claim (claim_id VARCHAR, person_id VARCHAR, claim_line_start_date DATE,
                   rendering_npi VARCHAR, billing_tin VARCHAR, allowed_amount DOUBLE, service_unit_quantity DOUBLE)""")
    # A: 201 beneficiaries x $500 = $100,500 and 201 services in segment 1 (2023-03) and again in segment 2 (2024-03):
    #    above every criterion in both -> eligible, decided by segments 1 and 2.
    _lines(con, NPI_A, TIN, "2023-03-01", 201, 500, "a1_")
    _lines(con, NPI_A, TIN, "2024-03-01", 201, 500, "a2_")
    # B: above in segment 1 (as A), but in segment 2 only 50 beneficiaries x $2,000 = $100,000: allowed charges exceed,
    #    beneficiaries (50) and services (50) do not -> exempt ("Above & Below"); 1 criterion exceeded -> opt-in eligible.
    _lines(con, NPI_B, TIN, "2023-03-01", 201, 500, "b1_")
    _lines(con, NPI_B, TIN, "2024-03-01", 50, 2000, "b2_")
    # C: no Part B line in segment 1 (new TIN/NPI), above in segment 2 -> eligible on segment 2 alone.
    _lines(con, NPI_C, TIN, "2024-02-01", 201, 500, "c2_")
    # D: 10 beneficiaries x $100 in segment 1 (below every criterion), above in segment 2 -> exempt ("Below & Above");
    #    the fewest criteria exceeded in a segment is 0 -> not opt-in eligible.
    _lines(con, NPI_D, TIN, "2023-03-01", 10, 100, "d1_")
    _lines(con, NPI_D, TIN, "2024-03-01", 201, 500, "d2_")
    # The filler clinician of another TIN bills one $10 line on the 15th of every month 2022-10..2024-12, so the run's
    # claims cover every month of both segments (27 lines).
    con.execute(f"""INSERT INTO medical_claim SELECT 'f' || i, 'f' || i,
                    (DATE '2022-10-15' + to_months(i::INT))::DATE, '{NPI_F}', '{FILLER_TIN}', 10, 1 FROM range(27) t(i)""")
    return con


def _rows(con) -> dict:
    return {r[0]: r[1:] for r in con.execute("""
        SELECT coalesce(npi, 'group ' || tin), mips_eligible, determination, determined_by, opt_in_eligible,
               segment_1_beneficiaries, segment_2_beneficiaries, segment_1_allowed_charges, segment_2_allowed_charges,
               segment_1_exceeds_low_volume_threshold, segment_2_exceeds_low_volume_threshold, reason
        FROM mips_eligibility""").fetchall()}


def test_segments_and_thresholds_come_from_the_rules_data():
    # PY2024 [V]: Oct 1 2022 - Sep 30 2023 and Oct 1 2023 - Sep 30 2024 (qpp.cms.gov).
    assert determination_segments(2024) == [(1, date(2022, 10, 1), date(2023, 9, 30)), (2, date(2023, 10, 1), date(2024, 9, 30))]
    # PY2017-2018 used September 1 - August 31 segments (CY2017 QPP final rule; moved to October in the CY2019 PFS rule),
    # so the lines kept for the determination start on September 1 two years before.
    assert determination_segments(2018)[0][1:] == (date(2016, 9, 1), date(2017, 8, 31))
    assert determination_start(2017) == date(2015, 9, 1) and determination_start(2019) == date(2017, 10, 1)


def test_both_segments_covered_decide_as_cms_does(con):
    mips_eligibility(con, 2024)
    rows = _rows(con)
    a, b, c, d = rows[NPI_A], rows[NPI_B], rows[NPI_C], rows[NPI_D]
    assert a[:4] == (True, "final", "segments 1 and 2", False)
    assert a[4:10] == (201, 201, 100500, 100500, True, True)
    assert b[:4] == (False, "final", "segments 1 and 2", True)         # above & below = exempt; may opt in
    assert b[4:10] == (201, 50, 100500, 100000, True, False)
    assert "at or below the low-volume threshold in segments 1 and 2" in b[10]
    assert c[:4] == (True, "final", "segment 2 (no Part B billing in segment 1)", False)
    assert c[4] is None and c[5] == 201
    assert d[:4] == (False, "final", "segments 1 and 2", False)        # below & above = exempt; 0 criteria in segment 1
    # The TIN as a group: A's 201 + B's 201 + D's 10 beneficiaries in segment 1 -> above; segment 2 above too.
    group = rows["group " + TIN]
    assert group[:3] == (True, "final", "segments 1 and 2") and group[4] == 412
    # The filler (27 lines of $10 over both segments) is far below: exempt, not opt-in eligible.
    assert rows[NPI_F][:2] == (False, "final")
    assert eligibility_warnings(con) == []


def test_a_run_of_one_calendar_year_says_it_is_an_estimate(con):
    # Only the performance year's claims (2024-01..2024-12): segment 1 has 0 of 12 months, segment 2 has 9 of 12
    # (2024-01..2024-09) -> neither is covered; eligibility is estimated from the 2024 lines and every row says so.
    con.execute("DELETE FROM medical_claim WHERE claim_line_start_date < DATE '2024-01-01'")
    mips_eligibility(con, 2024)
    rows = _rows(con)
    # A: 201 x $500 in 2024 -> above; B: 50 x $2,000 -> below (1 criterion: opt-in eligible); C, D: above.
    assert {k: v[:2] for k, v in rows.items() if k != NPI_F and not k.startswith("group")} == {
        NPI_A: (True, "estimate"), NPI_B: (False, "estimate"), NPI_C: (True, "estimate"), NPI_D: (True, "estimate")}
    assert rows[NPI_B][3] is True
    assert "ESTIMATE" in rows[NPI_A][10] and "performance-year claims" in rows[NPI_B][10]
    assert rows[NPI_A][4] is None and rows[NPI_A][5] is None  # a segment not covered reports no figures
    warnings = eligibility_warnings(con)
    assert [w[1] for w in warnings] == ["determination segment 1 not covered", "determination segment 2 not covered"]
    assert "0 of the 12 months" in warnings[0][3] and "9 of the 12 months" in warnings[1][3]
    assert warnings[0][2] == len(rows)  # every row (5 individuals, 2 groups) is an estimate


def test_segment_2_alone_is_provisional_when_above_and_final_when_below(con):
    # The claims start on 2023-10-01: segment 2 covered (filler every month), segment 1 not (0 months).
    con.execute("DELETE FROM medical_claim WHERE claim_line_start_date < DATE '2023-10-01'")
    mips_eligibility(con, 2024)
    rows = _rows(con)
    # A and D exceed in segment 2: eligible as far as the run can tell, but segment 1 could still exempt them
    # (D is exempt by CMS: below in segment 1), so 'provisional'. B is below in segment 2: exempt whatever segment 1 holds.
    assert rows[NPI_A][:3] == (True, "provisional", "segment 2 (segment 1 not covered by the run's claims)")
    assert rows[NPI_D][:2] == (True, "provisional")
    assert rows[NPI_B][:2] == (False, "final")
    assert "PROVISIONAL" in rows[NPI_A][10]
    assert [w[1] for w in eligibility_warnings(con)] == ["determination segment 1 not covered"]


def test_lines_kept_outside_the_period_are_used(con):
    # In a run, transforms.period_scope moves the lines before the year into medical_claim_outside_period: the
    # determination must read them there. Same claims, split as a run splits them -> the same answer as one table.
    con.execute("CREATE TABLE medical_claim_outside_period AS SELECT * FROM medical_claim "
                "WHERE claim_line_start_date < DATE '2024-01-01'")
    con.execute("DELETE FROM medical_claim WHERE claim_line_start_date < DATE '2024-01-01'")
    mips_eligibility(con, 2024)
    rows = _rows(con)
    assert rows[NPI_B][:4] == (False, "final", "segments 1 and 2", True)
    assert rows[NPI_D][:2] == (False, "final")


def test_opt_in_keeps_only_the_opt_in_eligible(con):
    # entities_from_claims(opt_in=True): B (1 criterion in its weaker segment) joins the eligible A, C and the TIN;
    # D (0 criteria in segment 1) and the filler (0 criteria) do not. PY2017-2018 had no opt-in (rule eligibility.opt_in null).
    entities_from_claims(con, 2024, opt_in=True)
    got = con.execute("SELECT coalesce(npi, 'group ' || tin) FROM entity_input ORDER BY 1").fetchall()
    assert [g[0] for g in got] == [NPI_A, NPI_B, NPI_C, "group " + TIN]


def test_py2018_has_no_opt_in_and_no_services_criterion():
    # PY2018: <= $90,000 or <= 200 beneficiaries (no services criterion); 201 beneficiaries x $500 with 1 service each
    # exceed it. 50 beneficiaries x $2,000 exceed 1 of 2 criteria, but opt-in begins in PY2019 -> not opt-in eligible.
    con = duckdb.connect()
    con.execute("""CREATE TABLE medical_claim (claim_id VARCHAR, person_id VARCHAR, claim_line_start_date DATE,
                   rendering_npi VARCHAR, billing_tin VARCHAR, allowed_amount DOUBLE, service_unit_quantity DOUBLE)""")
    _lines(con, NPI_A, TIN, "2018-03-01", 201, 500, "a_")
    _lines(con, NPI_B, TIN, "2018-03-01", 50, 2000, "b_")
    mips_eligibility(con, 2018)
    rows = _rows(con)
    assert rows[NPI_A][:2] == (True, "estimate")
    assert rows[NPI_B][:2] == (False, "estimate") and rows[NPI_B][3] is False


def test_mips_run_determines_eligibility_from_the_segments_it_is_given(tmp_path):
    # End to end through the period steps (mips run without Prefect), PY2024. The claims file holds the 5 measure
    # lines of tests/test_flow.py (2024-05-02: PERSONA x2 lines, PERSONB, PERSONC x2; $90 per 99213, $0 per 3044F)
    # and one $90 99213 line of PERSONA on the 15th of every month 2022-10..2024-12 (27 lines): 32 lines.
    from mips.period import run_period_steps
    from tests.test_flow import CLAIM_HEADER, ELIGIBILITY_HEADER, NPI, PERSONS, TIN, line, write_csv

    lines = [line("C1", 1, "PERSONA", "99213"), line("C1", 2, "PERSONA", "3044F"), line("C2", 1, "PERSONB", "99213"),
             line("C3", 1, "PERSONC", "99213"), line("C3", 2, "PERSONC", "3044F")]
    months = [f"{2022 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}-15" for i in range(27)]
    lines += [{**line(f"F{i}", 1, "PERSONA", "99213"), "claim_line_start_date": d, "claim_line_end_date": d}
              for i, d in enumerate(months)]
    people = [{"person_id": p, "birth_date": b, "gender": "female", "enrollment_start_date": "2022-01-01",
               "enrollment_end_date": "2024-12-31"} for p, b in PERSONS.items()]
    files = {"medical_claim": write_csv(tmp_path / "medical_claim.csv", CLAIM_HEADER, lines),
             "eligibility": write_csv(tmp_path / "eligibility.csv", ELIGIBILITY_HEADER, people)}
    out = tmp_path / "out"
    report = run_period_steps(performance_year=2024, files=files, output_root=out)
    # The 15 lines of 2022-10..2023-12 are out of scope for the measures (before the year) but kept for the
    # determination; beside the year's 17 lines they are not "another year's claims", so the run publishes.
    claims = next(r for r in report.ingest if r.table_name == "medical_claim")
    assert (claims.input_rows, claims.accepted_rows, claims.out_of_scope_rows) == (32, 17, 15)
    row = duckdb.sql(f"""SELECT determination, determined_by, segment_1_covered, segment_1_allowed_charges,
                                segment_1_beneficiaries, segment_1_services, segment_2_allowed_charges,
                                segment_2_beneficiaries, segment_2_services, mips_eligible
                         FROM read_parquet('{out}/mips_eligibility/**/*.parquet')
                         WHERE tin = '{TIN}' AND npi = '{NPI}'""").fetchall()[0]
    # Segment 1 (2022-10..2023-09): 12 filler lines of PERSONA -> $1,080, 1 beneficiary, 12 services.
    # Segment 2 (2023-10..2024-09): 12 filler lines + the 5 measure lines -> $1,080 + 3 x $90 = $1,350,
    # 3 beneficiaries, 17 services. Below the threshold in both: exempt, a final determination.
    assert row == ("final", "segments 1 and 2", True, 1080, 1, 12, 1350, 3, 17, False)
    assert not [w for w in report.warnings if w[0] == "mips_eligibility"]

    # The same practice run with the year's claims only: both segments lack months -> every row an estimate,
    # and the run says so in its warnings and its summary.
    only_year = {**files, "medical_claim": write_csv(tmp_path / "year.csv", CLAIM_HEADER,
                                                      [ln for ln in lines if ln["claim_line_start_date"] >= "2024"])}
    report = run_period_steps(performance_year=2024, files=only_year, output_root=tmp_path / "out2")
    rules = [w[1] for w in report.warnings if w[0] == "mips_eligibility"]
    assert rules == ["determination segment 1 not covered", "determination segment 2 not covered"]
    assert "0 of the 12 months of segment 1 (2022-10-01..2023-09-30)" in report.markdown
    assert duckdb.sql(f"SELECT DISTINCT determination FROM read_parquet('{tmp_path}/out2/mips_eligibility/**/*.parquet')"
                      ).fetchall() == [("estimate",)]


def test_allowed_charges_do_not_depend_on_the_order_lines_are_added_in():
    """Reproducible outputs: the same lines in any order give the same sums, to the last bit.

    In DOUBLE arithmetic these four amounts sum to 0.325, 0.375 or 0.35 depending on the order they are added in
    (0.1 and 0.2 lose bits next to 1e15), so the order DuckDB's threads add lines in changed the last bits of
    allowed_charges between runs of the same input. The sum is exact now: 1e15 + 0.1 - 1e15 + 0.2 = 0.3 in any order."""
    from transforms.scoring.eligibility import _volume_sql

    amounts = [1e15, 0.1, -1e15, 0.2]
    sums = set()
    for order in ([0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0], [0, 2, 1, 3]):
        con = duckdb.connect()
        con.execute("""CREATE TABLE _sc_claim_lines (tin VARCHAR, npi VARCHAR, person_id VARCHAR,
                       allowed_amount DOUBLE, service_unit_quantity DOUBLE, claim_line_start_date DATE)""")
        con.executemany("INSERT INTO _sc_claim_lines VALUES ('123456789', '1000000001', 'p', ?, 1, DATE '2024-03-01')",
                        [[amounts[i]] for i in order])
        rows = con.execute(f"SELECT level, allowed_charges, services FROM ({_volume_sql('true')}) ORDER BY level").fetchall()
        sums.add(tuple(rows))
    assert sums == {(("group", 0.3, 4.0), ("individual", 0.3, 4.0))}


def test_mips_run_reads_the_claim_lines_on_every_thread_and_scores_on_one(tmp_path, monkeypatch):
    # The scores step of `mips run`: mips_eligibility and entity_input (every claim line read, exact DECIMAL sums)
    # are built on all of DuckDB's threads; only the scoring proper, which adds up doubles, runs on one thread
    # (mips.period.single_thread). Both are recorded as they are called on the run's connection.
    from mips.period import run_period_steps
    from tests.test_flow import CLAIM_HEADER, ELIGIBILITY_HEADER, PERSONS, line, write_csv
    from transforms.scoring import eligibility, engine

    seen = {}

    def recording(name, function):
        def wrapped(con, *args, **kwargs):
            seen.setdefault(name, []).append(con.execute("SELECT current_setting('threads')").fetchone()[0])
            return function(con, *args, **kwargs)
        return wrapped

    monkeypatch.setattr(eligibility, "entities_from_claims", recording("entities", eligibility.entities_from_claims))
    monkeypatch.setattr(engine, "score_entities", recording("scoring", engine.score_entities))
    lines = [line("C1", 1, "PERSONA", "99213"), line("C2", 1, "PERSONB", "99213")]
    people = [{"person_id": p, "birth_date": b, "gender": "female", "enrollment_start_date": "2022-01-01",
               "enrollment_end_date": "2024-12-31"} for p, b in PERSONS.items()]
    files = {"medical_claim": write_csv(tmp_path / "medical_claim.csv", CLAIM_HEADER, lines),
             "eligibility": write_csv(tmp_path / "eligibility.csv", ELIGIBILITY_HEADER, people)}
    threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    run_period_steps(performance_year=2024, files=files, output_root=tmp_path / "out", allow_empty=True)
    # entity_input is built once, before the scoring, with the connection's threads; the scoring on one
    assert seen == {"entities": [threads], "scoring": [1]}
