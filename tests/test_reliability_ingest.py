"""Issue 9's input edges: placeholder identifiers, integers too big for their column, period scope of claims.

Tiny hand-made files; every expected count is explained beside it.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from tests.test_ingest import CLAIM_HEADER, ELIGIBILITY_HEADER, GOOD_LINE, GOOD_PERSON, claim_lines, write_csv
from transforms import ingest
from transforms.period_scope import (AFTER_RUN, AFTER_YEAR, BEFORE_YEAR, KEPT_FOR_ELIGIBILITY,
                                     claims_without_eligibility, out_of_period_share, scope_claims_to_period)


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.mark.parametrize("placeholder", ["NULL", "null", "None", "NaN", " nan "])
def test_a_placeholder_person_id_is_rejected_with_a_reason(tmp_path, con, placeholder):
    # 3 lines: one whose person_id is a placeholder text -> 1 rejected, 2 accepted
    lines = claim_lines(3)
    lines[1]["person_id"] = placeholder
    result = ingest.ingest_file(con, write_csv(tmp_path / "claims.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (3, 2, 1)
    assert con.execute('SELECT row_number, "column", rule, reason FROM _rejects').fetchall() == [
        (2, "person_id", "placeholder_id", "is a placeholder (NULL, None, NaN ...), not an identifier")]
    # an empty id after trimming is the required-value rule's
    lines[1]["person_id"] = "   "
    ingest.ingest_file(con, write_csv(tmp_path / "claims2.csv", CLAIM_HEADER, lines), "medical_claim")
    assert con.execute("SELECT rule FROM _rejects WHERE source_file LIKE '%claims2.csv'").fetchall() == [
        ("required_value_missing",)]


def test_ids_that_merely_contain_null_are_fine(tmp_path, con):
    lines = claim_lines(2)
    lines[0]["person_id"], lines[1]["claim_id"] = "NULLIFIED-7", "NONE1"
    result = ingest.ingest_file(con, write_csv(tmp_path / "claims.csv", CLAIM_HEADER, lines), "medical_claim")
    assert result.rejected_rows == 0


def test_an_integer_too_big_for_its_column_is_a_reject_not_a_traceback(tmp_path, con):
    # claim_line_number is INTEGER: 3000000000 is a whole number but not a 32-bit one -> rejected with a reason
    # that does not quote it; 2147483647 (the largest INTEGER) is accepted
    lines = claim_lines(3)
    lines[0]["claim_line_number"] = "3000000000"
    lines[1]["claim_line_number"] = "2147483647"
    lines[2]["claim_line_number"] = "99999999999999999999"  # 20 digits: not even the integer rule's form
    result = ingest.ingest_file(con, write_csv(tmp_path / "claims.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.accepted_rows, result.rejected_rows) == (1, 2)
    found = con.execute('SELECT row_number, rule, reason FROM _rejects ORDER BY 1').fetchall()
    assert found == [(1, "integer_range", "a whole number outside the range of this column (-2147483648 to 2147483647)"),
                     (3, "integer_at_least_1", "not a whole number >= 1")]
    assert not any("3000000000" in r[2] for r in found)
    assert con.execute("SELECT claim_line_number FROM medical_claim").fetchall() == [(2147483647,)]


def _claims_dated(con, tmp_path, dates: list[str]):
    lines = [{**line, "claim_line_start_date": d, "claim_line_end_date": d} for line, d in zip(claim_lines(len(dates)), dates)]
    people = [{**GOOD_PERSON, "enrollment_start_date": "2020-01-01"}]
    return ingest.ingest_inputs(con, {"medical_claim": write_csv(tmp_path / "claims.csv", CLAIM_HEADER, lines),
                                      "eligibility": write_csv(tmp_path / "elig.csv", ELIGIBILITY_HEADER, people)})


def test_claim_lines_outside_the_year_or_after_the_run_are_out_of_scope_with_a_reason(tmp_path, con):
    # PY2024 run on 2024-06-30, 7 lines:
    #   2022-09-30  before the year, before the determination period (Oct 1 2022): out of scope, not kept
    #   2022-10-01  before the year, first day of the determination period: out of scope, kept for eligibility
    #   2023-12-31  before the year, in the determination period: out of scope, kept
    #   2024-01-01, 2024-06-30  in the year, not after the run: accepted
    #   2024-07-01  after the run date: out of scope
    #   2025-01-01  after the year: out of scope
    _claims_dated(con, tmp_path, ["2022-09-30", "2022-10-01", "2023-12-31", "2024-01-01", "2024-06-30",
                                  "2024-07-01", "2025-01-01"])
    moved = scope_claims_to_period(con, 2024, date(2024, 6, 30))
    assert moved == {BEFORE_YEAR: 3, AFTER_YEAR: 1, AFTER_RUN: 1}
    assert con.execute("SELECT count(*) FROM medical_claim").fetchone()[0] == 2
    assert con.execute(f"SELECT count(*) FROM {KEPT_FOR_ELIGIBILITY}").fetchone()[0] == 2
    assert con.execute("SELECT input_rows, accepted_rows, out_of_scope_rows, rejected_rows FROM _ingest_summary "
                       "WHERE table_name = 'medical_claim'").fetchall() == [(7, 2, 5, 0)]
    ingest.ingest_tables(con, 2024)
    assert con.execute("SELECT reason, \"rows\" FROM ingest_out_of_scope ORDER BY 1").fetchall() == [
        (AFTER_YEAR, 1), (AFTER_RUN, 1), (BEFORE_YEAR, 3)]
    ingest.check_reconciliation(con)
    share = out_of_period_share(con)
    # the 2 lines kept for the eligibility determination segments are wanted beside the year's own 2 lines, not
    # another year's claims (issue 13 item 5): they count neither way -> 3 of 5 out of period (the 2022-09-30,
    # 2024-07-01 and 2025-01-01 lines): 60%, a run stops on this (check_period_inputs)
    assert (share.out_of_period, share.valid) == (3, 5)


def test_encounters_keep_their_look_back_history(tmp_path, con):
    # only medical_claim is scoped: EHR tables are not touched (measures need years of history)
    con.execute("CREATE TABLE encounter AS SELECT DATE '2019-01-01' AS encounter_start_date")
    assert scope_claims_to_period(con, 2024, date(2024, 12, 31)) == {}
    assert con.execute("SELECT count(*) FROM encounter").fetchone()[0] == 1


def test_claims_of_persons_without_eligibility_are_counted(tmp_path, con):
    # 4 lines: P1 (known) x2, P2 and P3 (no eligibility row) -> 2 lines of 2 persons = 50%
    lines = claim_lines(4)
    lines[2]["person_id"], lines[3]["person_id"] = "P2", "P3"
    ingest.ingest_inputs(con, {"medical_claim": write_csv(tmp_path / "claims.csv", CLAIM_HEADER, lines),
                               "eligibility": write_csv(tmp_path / "elig.csv", ELIGIBILITY_HEADER, [GOOD_PERSON])})
    missing = claims_without_eligibility(con)
    assert (missing.lines, missing.persons, missing.total, missing.percent) == (2, 2, 4, 50.0)
