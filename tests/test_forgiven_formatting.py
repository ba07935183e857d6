"""Forgivable formatting (issue 14 item 6, docs/inputs.md "Formatting that is forgiven"): unambiguous forms are
normalised and counted per file in ingest_warnings; the rest is rejected with a reason saying what was expected."""
from __future__ import annotations

import duckdb
import pytest

from tests.test_ingest import CLAIM_HEADER, claim_lines, rejects, write_csv
from transforms import ingest


@pytest.fixture()
def con():
    c = duckdb.connect()
    yield c
    c.close()


def warnings(con) -> dict[str, int]:
    return {r[0]: r[1] for r in con.execute("SELECT rule, rows_affected FROM _ingest_warnings").fetchall()}


def test_dashed_and_eight_digit_tins_are_read_as_nine_digits_and_counted(tmp_path, con):
    lines = claim_lines(5)
    lines[0]["billing_tin"] = "12-3456789"   # the EIN form: read as 123456789
    lines[1]["billing_tin"] = "23456789"     # a spreadsheet dropped the leading zero: read as 023456789
    lines[2]["billing_tin"] = "3456789"      # 7 digits: which zeros were lost is a guess: rejected
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.accepted_rows, result.rejected_rows) == (4, 1)
    tins = [r[0] for r in con.execute("SELECT billing_tin FROM medical_claim ORDER BY source_row_number").fetchall()]
    assert tins == ["123456789", "023456789", "123456789", "123456789"]
    assert warnings(con) == {"tin_dash_removed:billing_tin:c.csv": 1, "tin_leading_zero_restored:billing_tin:c.csv": 1}
    [(row, column, rule, reason)] = rejects(con)
    assert (row, column, rule) == (3, "billing_tin", "nine_digit_tin") and "nine-digit TIN" in reason


def test_a_nine_digit_npi_is_rejected_never_padded(tmp_path, con):
    lines = claim_lines(2)
    lines[1]["rendering_npi"] = "234567893"  # NPIs begin with 1 or 2: no zero can have been lost
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.accepted_rows, result.rejected_rows) == (1, 1)
    assert [r[2] for r in rejects(con)] == ["npi_check_digit"]
    assert "10-digit NPI" in rejects(con)[0][3]


def test_month_first_dates_are_read_and_counted(tmp_path, con):
    lines = claim_lines(3)
    lines[0]["claim_line_start_date"] = lines[0]["claim_line_end_date"] = "5/2/2024"
    lines[1]["claim_line_start_date"] = "03/01/2024"  # the same day as its end date 2024-03-01
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.accepted_rows, result.rejected_rows) == (3, 0)
    dates = {str(r[0]) for r in con.execute("SELECT claim_line_start_date FROM medical_claim").fetchall()}
    assert dates == {"2024-05-02", "2024-03-01"}
    assert warnings(con) == {"date_month_first:claim_line_start_date:c.csv": 2,
                             "date_month_first:claim_line_end_date:c.csv": 1}


def test_a_day_first_column_is_not_guessed(tmp_path, con):
    # 13/02/2024 can only be day-first, so 05/02/2024 in the same column could mean 5 February or 2 May:
    # none of the column's slash dates is read; each is rejected with the form expected.
    lines = claim_lines(3)
    lines[0]["claim_line_start_date"] = "13/02/2024"
    lines[1]["claim_line_start_date"] = "05/02/2024"
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.accepted_rows, result.rejected_rows) == (1, 2)
    assert {(r[0], r[2]) for r in rejects(con)} == {(1, "iso_date"), (2, "iso_date")}
    assert all("YYYY-MM-DD" in r[3] for r in rejects(con))
    assert warnings(con) == {"date_day_first:claim_line_start_date:c.csv": 1}


def test_an_impossible_month_first_date_is_rejected(tmp_path, con):
    lines = claim_lines(2)
    lines[1]["claim_line_end_date"] = "02/30/2024"
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.accepted_rows, result.rejected_rows) == (1, 1)
    assert [r[2] for r in rejects(con)] == ["iso_date"]
