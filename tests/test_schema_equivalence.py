"""The DuckDB ingest and pandera's own validation agree on which rows a contract rejects.

The contracts are pandera schemas; ingest runs their checks' SQL twins for speed. For
random mixes of valid and invalid values, both must reject exactly the same rows.
"""
from __future__ import annotations

import csv

import duckdb
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.inputs import ELIGIBILITY, MEDICAL_CLAIM
from schemas.validate import failing_rows
from transforms import ingest

# Valid and invalid spellings per kind of value (normalization makes some "invalid-looking" ones valid).
DATES = ["2024-03-01", "2024-02-29", "2023-02-29", "2024-3-1", "03/01/2024", "", " 2024-12-31 ", "1799-01-01"]
NPIS = ["1234567893", "1245319599", "1234567890", "123456789", "12345678930", "", "abcdefghij"]
TINS = ["123456789", "12345678", "12-3456789", "", " 987654321"]
CODES = ["99213", "3044F", "3044f", "G8506", "9921", "99213X", ""]
ICD = ["E11.9", "e119", "I10", "Z79.4", "250.00", "E11-9", "", "A0"]
MODIFIERS = ["", "8P", "8p", "1P", "8PX", "P"]
POS = ["11", "02", "1", "", "AB"]
NUMBERS = ["1", "0", "-3", "12.50", "12,50", "", "x"]
GENDERS = ["male", "female", "unknown", "Male", " FEMALE ", "M", ""]


def mostly(values: list[str]):
    """The first value (a valid one) most of the time, so rows often pass and often fail one rule."""
    return st.one_of(st.just(values[0]), st.just(values[0]), st.just(values[0]), st.just(values[0]),
                     st.just(values[0]), st.just(values[0]), st.sampled_from(values))


def _claim_row():
    return st.fixed_dictionaries({
        "claim_id": st.sampled_from(["C1", "C2", "C3", "C4", "C5", ""]),
        "claim_line_number": mostly(["1", "2", "0", "-3", "12.50", "", "x"]),
        "person_id": mostly(["P1", "P2", ""]),
        "claim_line_start_date": mostly(DATES),
        "claim_line_end_date": mostly(DATES),
        "place_of_service_code": mostly(POS),
        "hcpcs_code": mostly(CODES),
        "hcpcs_modifier_1": mostly(MODIFIERS),
        "rendering_npi": mostly(NPIS),
        "billing_tin": mostly(TINS),
        "diagnosis_code_1": mostly(ICD),
        "diagnosis_code_2": mostly(ICD),
        "allowed_amount": mostly(NUMBERS),
    })


def _eligibility_row():
    return st.fixed_dictionaries({
        "person_id": st.sampled_from(["P1", "P2", "P3", "P4", ""]),
        "birth_date": mostly(["1950-01-01"] + DATES),
        "gender": mostly(GENDERS),
        "enrollment_start_date": mostly(DATES),
        "enrollment_end_date": mostly(["2024-12-31"] + DATES),
        "death_date": mostly([""] + DATES),
        "payer": mostly(["medicare", "Medicare", ""]),
    })


def _both_ways(tmp_path, contract, rows) -> tuple[set[int], set[int]]:
    path = tmp_path / f"{contract.name}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    con = duckdb.connect()
    try:
        ingest.ingest_file(con, path, contract)
        sql_rejected = {r[0] for r in con.execute("SELECT DISTINCT row_number FROM _rejects").fetchall()}
    finally:
        con.close()
    frame = pd.DataFrame(rows, dtype=object).replace({"": None})
    frame.index = range(1, len(rows) + 1)  # index label = data row number
    return sql_rejected, failing_rows(contract, frame)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(rows=st.lists(_claim_row(), min_size=1, max_size=12))
def test_claims_sql_and_pandera_reject_the_same_rows(tmp_path, rows):
    sql_rejected, pandera_rejected = _both_ways(tmp_path, MEDICAL_CLAIM, rows)
    assert sql_rejected == pandera_rejected


@SETTINGS
@given(rows=st.lists(_eligibility_row(), min_size=1, max_size=12))
def test_eligibility_sql_and_pandera_reject_the_same_rows(tmp_path, rows):
    sql_rejected, pandera_rejected = _both_ways(tmp_path, ELIGIBILITY, rows)
    assert sql_rejected == pandera_rejected


def test_a_mixed_file_has_accepted_and_rejected_rows_both_ways(tmp_path):
    """Guards the property tests against agreeing only because everything fails."""
    good = {"claim_id": "C1", "claim_line_number": "1", "person_id": "P1", "claim_line_start_date": "2024-03-01",
            "claim_line_end_date": "2024-03-01", "place_of_service_code": "11", "hcpcs_code": "99213",
            "hcpcs_modifier_1": "", "rendering_npi": "1234567893", "billing_tin": "123456789",
            "diagnosis_code_1": "E11.9", "diagnosis_code_2": "", "allowed_amount": "1"}
    rows = [good, dict(good, claim_id="C2", rendering_npi="1234567890"), dict(good, claim_id="C3"), dict(good)]
    # row 2: bad NPI check digit; row 4: duplicate of row 1
    assert _both_ways(tmp_path, MEDICAL_CLAIM, rows) == ({2, 4}, {2, 4})
