"""Ingest and validation: every rule and every file-level error with a hand-made file.

Each test reconciles its counts: input rows = accepted rows + rejected rows, and the
rejects table names the row, column and rule.
"""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from mips.errors import InputFileError
from schemas.inputs import CONTRACTS
from transforms import ingest

CLAIM_HEADER = ["claim_id", "claim_line_number", "claim_type", "person_id", "claim_line_start_date",
                "claim_line_end_date", "place_of_service_code", "hcpcs_code", "hcpcs_modifier_1", "rendering_npi",
                "billing_tin", "diagnosis_code_type", "diagnosis_code_1", "diagnosis_code_2", "allowed_amount", "payer"]
GOOD_NPI = "1234567893"  # CMS's published example of a valid NPI check digit
GOOD_LINE = {"claim_id": "C1", "claim_line_number": "1", "claim_type": "professional", "person_id": "P1",
             "claim_line_start_date": "2024-03-01", "claim_line_end_date": "2024-03-01",
             "place_of_service_code": "11", "hcpcs_code": "99213", "hcpcs_modifier_1": "",
             "rendering_npi": GOOD_NPI, "billing_tin": "123456789", "diagnosis_code_type": "icd-10-cm",
             "diagnosis_code_1": "E11.9", "diagnosis_code_2": "I10", "allowed_amount": "92.50", "payer": "medicare"}
ELIGIBILITY_HEADER = ["person_id", "birth_date", "gender", "enrollment_start_date", "enrollment_end_date"]
GOOD_PERSON = {"person_id": "P1", "birth_date": "1950-06-15", "gender": "female",
               "enrollment_start_date": "2024-01-01", "enrollment_end_date": "2024-12-31"}


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def claim_lines(n: int) -> list[dict]:
    """n valid lines of distinct claims."""
    return [{**GOOD_LINE, "claim_id": f"C{i}"} for i in range(1, n + 1)]


def rejects(con) -> list[tuple]:
    return con.execute('SELECT row_number, "column", rule, reason FROM _rejects ORDER BY 1, 2, 3').fetchall()


def assert_reconciles(result: ingest.IngestResult, con) -> None:
    assert result.input_rows == result.accepted_rows + result.out_of_scope_rows + result.rejected_rows
    ingest.check_reconciliation(con)


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


# ------------------------------------------------------------------ good input

def test_good_claims_are_typed_and_normalized(tmp_path, con):
    lines = claim_lines(3)
    lines[1]["hcpcs_code"], lines[1]["hcpcs_modifier_1"] = "3044f", "8p"  # lower case is normalized
    lines[2]["diagnosis_code_1"] = "e119"  # without the dot, lower case
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (3, 3, 0)
    assert_reconciles(result, con)
    rows = con.execute("""SELECT claim_id, claim_line_number, claim_line_start_date, hcpcs_code, hcpcs_modifier_1,
                                 diagnosis_code_1, allowed_amount, diagnosis_code_25, source_row_number
                          FROM medical_claim ORDER BY source_row_number""").fetchall()
    assert [r[5] for r in rows] == ["E119", "E119", "E119"]  # dots stripped, upper-cased
    assert rows[1][3:5] == ("3044F", "8P")
    assert str(rows[0][2]) == "2024-03-01" and rows[0][1] == 1 and rows[0][6] == 92.5
    assert rows[0][7] is None  # diagnosis columns absent from the file exist and are null
    assert [r[8] for r in rows] == [1, 2, 3]
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name='medical_claim'").fetchall())
    assert types["claim_line_start_date"] == "DATE" and types["claim_line_number"] == "INTEGER"
    assert types["allowed_amount"] == "DOUBLE"


def test_parquet_input_is_validated_like_csv(tmp_path, con):
    lines = claim_lines(4)
    lines[3]["rendering_npi"] = "1234567890"  # bad check digit
    frame = pd.DataFrame(lines)
    frame["claim_line_start_date"] = pd.to_datetime(frame["claim_line_start_date"])  # a real timestamp column
    path = tmp_path / "claims.parquet"
    frame.to_parquet(path)
    result = ingest.ingest_file(con, path, "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (4, 3, 1)
    assert rejects(con) == [(4, "rendering_npi", "npi_check_digit", "not a 10-digit NPI with a valid check digit")]
    assert_reconciles(result, con)



def test_parquet_rejects_carry_data_row_numbers_across_row_groups(tmp_path, con):
    """Row numbers come from the file's row order (first data row = 1), also past the first row group."""
    lines = claim_lines(25)
    lines[2]["rendering_npi"] = "1234567890"  # row 3: bad check digit, in the first row group
    lines[11]["hcpcs_code"] = "9921"  # row 12: second row group
    lines[20] = {**lines[6]}  # row 21: duplicate of row 7, in the third row group
    lines[24]["person_id"] = ""  # row 25: last row
    path = tmp_path / "claims.parquet"
    pd.DataFrame(lines).to_parquet(path, row_group_size=10)
    result = ingest.ingest_file(con, path, "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (25, 21, 4)
    assert [(r[0], r[2]) for r in rejects(con)] == [(3, "npi_check_digit"), (12, "hcpcs_code"),
                                                    (21, "duplicate_key"), (25, "required_value_missing")]
    accepted = con.execute("SELECT source_row_number, claim_id FROM medical_claim ORDER BY 1").fetchall()
    assert accepted == [(n, f"C{n}") for n in range(1, 26) if n not in (3, 12, 21, 25)]
    assert_reconciles(result, con)


def test_parquet_with_its_own_file_row_number_column(tmp_path, con):
    """A column named like the reader's row-number option neither clashes nor shifts the numbers."""
    lines = claim_lines(3)
    lines[1]["billing_tin"] = "1234-56789"
    frame = pd.DataFrame(lines)
    frame["file_row_number"] = [7, 8, 9]
    path = tmp_path / "claims.parquet"
    frame.to_parquet(path)
    result = ingest.ingest_file(con, path, "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (3, 2, 1)
    assert [r[0] for r in rejects(con)] == [2]
    assert con.execute("SELECT source_row_number FROM medical_claim ORDER BY 1").fetchall() == [(1,), (3,)]


def test_parquet_without_rows(tmp_path, con):
    path = tmp_path / "claims.parquet"
    pd.DataFrame({c: pd.Series([], dtype=str) for c in CLAIM_HEADER}).to_parquet(path)
    assert "has no data rows" in _file_error(con, path)


# ------------------------------------------------------------------ one rule at a time

CLAIM_RULES = [
    # (column, bad value, rule)
    ("claim_line_number", "one", "integer_at_least_1"),
    ("claim_line_number", "0", "integer_at_least_1"),
    ("claim_line_start_date", "2024-02-30", "iso_date"),  # not a real day
    ("claim_line_start_date", "2024/03/01", "iso_date"),  # neither ISO nor month-first MM/DD/YYYY
    ("claim_line_end_date", "2024-13-01", "iso_date"),
    ("place_of_service_code", "1", "place_of_service_code"),
    ("hcpcs_code", "9921", "hcpcs_code"),
    ("hcpcs_code", "99213X", "hcpcs_code"),
    ("hcpcs_modifier_1", "8PX", "hcpcs_modifier"),
    ("rendering_npi", "1234567890", "npi_check_digit"),  # Luhn over 80840 + 9 digits fails
    ("rendering_npi", "123456789", "npi_check_digit"),  # nine digits
    ("billing_tin", "12-345678", "nine_digit_tin"),  # 8 digits with a dash: not a form we forgive
    ("billing_tin", "1234567", "nine_digit_tin"),  # 7 digits: which zeros were lost is a guess
    ("diagnosis_code_1", "E11-9", "icd10cm_code"),
    ("diagnosis_code_2", "250.00", "icd10cm_code"),  # an ICD-9 code
    ("diagnosis_code_type", "snomed", "diagnosis_code_type"),
    ("allowed_amount", "12,50", "number"),
    ("person_id", "", "required_value_missing"),
]


@pytest.mark.parametrize("column", ["hcpcs_code", "rendering_npi", "claim_line_start_date"])
def test_a_part_b_professional_line_needs_code_npi_and_date(tmp_path, con, column):
    lines = claim_lines(5)
    lines[2][column] = "  "  # data row 3: blank after trimming
    lines[3][column] = ""  # data row 4: the same field empty on an institutional line is fine (it is set aside later)
    lines[3]["claim_type"] = "institutional"
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (5, 4, 1)
    assert [(r[0], r[1], r[2]) for r in rejects(con)] == [(3, None, "professional_line_incomplete")]


@pytest.mark.parametrize("column,bad_value,rule", CLAIM_RULES)
def test_each_claim_rule_rejects_only_its_row(tmp_path, con, column, bad_value, rule):
    lines = claim_lines(5)
    lines[2][column] = bad_value  # data row 3
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    # 5 rows in, the third rejected for exactly this rule
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (5, 4, 1)
    found = rejects(con)
    assert [(r[0], r[1], r[2]) for r in found] == [(3, column, rule)]
    if bad_value.strip():
        assert bad_value not in found[0][3]  # the reason never quotes the value
    assert_reconciles(result, con)


def test_end_date_before_start_is_a_row_rule(tmp_path, con):
    lines = claim_lines(2)
    lines[0]["claim_line_end_date"] = "2024-02-28"  # start is 2024-03-01
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.accepted_rows, result.rejected_rows) == (1, 1)
    assert rejects(con) == [(1, None, "claim_line_end_date_before_claim_line_start_date",
                             "claim_line_end_date is before claim_line_start_date")]
    assert_reconciles(result, con)


def test_duplicate_claim_lines_keep_the_first(tmp_path, con):
    lines = claim_lines(3) + [dict(GOOD_LINE, claim_id="C2"), dict(GOOD_LINE, claim_id="C2")]
    # rows 4 and 5 repeat claim C2 line 1 (row 2): the first occurrence stays
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (5, 3, 2)
    assert [(r[0], r[2]) for r in rejects(con)] == [(4, "duplicate_key"), (5, "duplicate_key")]
    assert con.execute("SELECT source_row_number FROM medical_claim WHERE claim_id='C2'").fetchall() == [(2,)]
    assert_reconciles(result, con)


def test_a_row_failing_several_rules_counts_once(tmp_path, con):
    lines = claim_lines(3)
    lines[0].update(rendering_npi="1", billing_tin="1", hcpcs_code="?")
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (3, 2, 1)
    assert sorted(r[2] for r in rejects(con)) == ["hcpcs_code", "nine_digit_tin", "npi_check_digit"]
    assert_reconciles(result, con)


def test_the_typed_table_numbers_its_rows_and_has_its_own_columns_after_rejects(tmp_path, con):
    # 3000 lines, every 7th with a bad date (it fails iso_date and is never cast): the 2571 accepted lines each carry
    # their data row number, and the table has exactly the contract's columns plus source_file and source_row_number
    # (no working column left behind).
    lines = claim_lines(3000)
    for i in range(0, 3000, 7):
        lines[i]["claim_line_start_date"] = "2024-02-30"
    result = ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines), "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (3000, 2571, 429)
    numbered = con.execute("SELECT source_row_number, claim_id FROM medical_claim ORDER BY 1").fetchall()
    assert numbered == [(n, f"C{n}") for n in range(1, 3001) if (n - 1) % 7]
    columns = [r[0] for r in con.execute("DESCRIBE medical_claim").fetchall()]
    assert columns == list(CONTRACTS["medical_claim"].schema.columns) + ["source_file", "source_row_number"]
    assert_reconciles(result, con)


_PARALLEL_BAD_ROWS = [1, 100_000, 150_001, 299_999]


@pytest.fixture(scope="module")
def parallel_claims_csv(tmp_path_factory) -> Path:
    """300,000 claim lines C1..C300000 with a bad NPI on the data rows of _PARALLEL_BAD_ROWS (written once for the
    module: both connections below read the same file)."""
    lines = claim_lines(300_000)
    for row in _PARALLEL_BAD_ROWS:
        lines[row - 1]["rendering_npi"] = "1234567890"
    return write_csv(tmp_path_factory.mktemp("parallel") / "c.csv", CLAIM_HEADER, lines)


@pytest.mark.parametrize("database", ["in_memory", "work_folder"])
def test_row_numbers_hold_when_the_typed_table_is_not_in_file_order(tmp_path, database, parallel_claims_csv):
    # The typed pass writes the table on every thread without keeping the file's order (its rules' IN lists become
    # joins), so a row's number must come from the file, never from its place in the table. 300,000 lines on 2
    # threads, with the raw text in memory and in a work folder's Parquet file: bad NPIs on data rows 1, 100,000,
    # 150,001 and 299,999 are rejected with those numbers, and each of the 299,996 accepted lines C<n> carries n.
    # How the threads shuffle the table is a race: numbering by the table's rowid instead failed one or both cases
    # in each of 5 runs here.
    from mips.db import connect

    con = duckdb.connect() if database == "in_memory" else connect(tmp_path / "work")
    con.execute("SET threads = 2")
    result = ingest.ingest_file(con, parallel_claims_csv, "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (300_000, 299_996, 4)
    assert [(r[0], r[2]) for r in rejects(con)] == [(row, "npi_check_digit") for row in _PARALLEL_BAD_ROWS]
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE claim_id = 'C' || source_row_number) "
                       "FROM medical_claim").fetchone() == (299_996, 299_996)
    assert_reconciles(result, con)
    con.close()


def test_malformed_csv_rows_are_rejected_and_numbered(tmp_path, con):
    path = tmp_path / "c.csv"
    write_csv(path, CLAIM_HEADER, claim_lines(4))
    text = path.read_text().splitlines()
    text.insert(2, "C9,1,professional")  # becomes data row 2: too few fields
    text.insert(4, ",".join(["x"] * (len(CLAIM_HEADER) + 2)))  # data row 4: too many fields
    path.write_text("\n".join(text) + "\n")
    result = ingest.ingest_file(con, path, "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (6, 4, 2)
    assert [(r[0], r[2], r[3]) for r in rejects(con)] == [
        (2, "malformed_row", "row has fewer fields than the header"),
        (4, "malformed_row", "row has more fields than the header")]
    # accepted rows keep their own data row numbers around the malformed ones
    assert [r[0] for r in con.execute("SELECT source_row_number FROM medical_claim ORDER BY 1").fetchall()] == [1, 3, 5, 6]
    assert_reconciles(result, con)


ELIGIBILITY_RULES = [
    ("gender", "M", "gender"),
    ("birth_date", "", "required_value_missing"),
    ("enrollment_start_date", "2024-01-32", "iso_date"),
    ("enrollment_end_date", "2023-12-31", "enrollment_end_date_before_enrollment_start_date"),
    ("enrollment_start_date", "1949-01-01", "enrollment_start_date_before_birth_date"),
]


@pytest.mark.parametrize("column,bad_value,rule", ELIGIBILITY_RULES)
def test_each_eligibility_rule(tmp_path, con, column, bad_value, rule):
    people = [dict(GOOD_PERSON, person_id=f"P{i}") for i in range(1, 4)]
    people[1][column] = bad_value
    result = ingest.ingest_file(con, write_csv(tmp_path / "e.csv", ELIGIBILITY_HEADER, people), "eligibility")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (3, 2, 1)
    assert [(r[0], r[2]) for r in rejects(con)] == [(2, rule)]
    assert_reconciles(result, con)


def test_service_before_birth_is_rejected_across_tables(tmp_path, con):
    lines = claim_lines(3)
    lines[2]["person_id"] = "P2"
    people = [GOOD_PERSON, dict(GOOD_PERSON, person_id="P2", birth_date="2024-05-01",
                                enrollment_start_date="2024-05-01")]
    results = ingest.ingest_inputs(con, {
        "medical_claim": write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines),
        "eligibility": write_csv(tmp_path / "e.csv", ELIGIBILITY_HEADER, people)})
    claims = results[0]
    # the third line (2024-03-01) predates P2's birth (2024-05-01)
    assert (claims.input_rows, claims.accepted_rows, claims.rejected_rows) == (3, 2, 1)
    assert [(r[0], r[1], r[2]) for r in rejects(con)] == [(3, "claim_line_start_date", "service_before_birth")]
    assert con.execute("SELECT count(*) FROM medical_claim").fetchone()[0] == 2
    ingest.check_reconciliation(con)


def test_soft_findings_are_warnings_not_rejects(tmp_path, con):
    lines = claim_lines(3)
    lines[0]["person_id"] = "P-no-eligibility"
    lines[1]["rendering_npi"] = "1245319599"  # valid NPI, not in the roster
    roster = tmp_path / "r.csv"
    roster.write_text(f"tin,npi\n123456789,{GOOD_NPI}\n")
    results = ingest.ingest_inputs(con, {
        "medical_claim": write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines),
        "eligibility": write_csv(tmp_path / "e.csv", ELIGIBILITY_HEADER, [GOOD_PERSON]),
        "clinician_roster": roster})
    assert results[0].rejected_rows == 0
    warnings = dict(con.execute("SELECT rule, rows_affected FROM _ingest_warnings").fetchall())
    assert warnings == {"person_without_eligibility": 1, "rendering_npi_not_in_roster": 1}


# ------------------------------------------------------------------ file-level errors

def _file_error(con, path: Path, contract: str = "medical_claim") -> str:
    with pytest.raises(InputFileError) as caught:
        ingest.ingest_file(con, path, contract)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    return message


def test_missing_file(tmp_path, con):
    assert "file not found" in _file_error(con, tmp_path / "nope.csv")


def test_empty_file(tmp_path, con):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert "is empty" in _file_error(con, path)


def test_header_only_file(tmp_path, con):
    path = tmp_path / "h.csv"
    path.write_text(",".join(CLAIM_HEADER) + "\n")
    assert "no data rows" in _file_error(con, path)


@pytest.mark.parametrize("delimiter,word", [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_wrong_delimiter(tmp_path, con, delimiter, word):
    path = tmp_path / "d.csv"
    path.write_text(delimiter.join(CLAIM_HEADER) + "\n" + delimiter.join(GOOD_LINE[c] for c in CLAIM_HEADER) + "\n")
    assert f"delimited by {word}s" in _file_error(con, path)


def test_missing_required_column(tmp_path, con):
    header = [c for c in CLAIM_HEADER if c not in ("rendering_npi", "billing_tin")]
    message = _file_error(con, write_csv(tmp_path / "m.csv", header, claim_lines(2)))
    assert "missing required column(s) for medical_claim: rendering_npi, billing_tin or rendering_tin" in message


def test_binary_file(tmp_path, con):
    path = tmp_path / "b.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    assert "not a text (CSV) or Parquet file" in _file_error(con, path)


def test_not_utf8(tmp_path, con):
    path = tmp_path / "l.csv"
    path.write_bytes((",".join(CLAIM_HEADER) + "\nC1,1,caf\xe9\n").encode("latin-1"))
    assert "not UTF-8" in _file_error(con, path)


def test_broken_parquet(tmp_path, con):
    path = tmp_path / "p.parquet"
    path.write_bytes(b"PAR1" + b"garbage" * 10)
    assert "not a readable Parquet file" in _file_error(con, path)


def test_parquet_with_undecodable_data_pages(tmp_path, con):
    # the footer reads fine (columns are known) but the compressed pages are damaged: the first full scan fails,
    # and that is a file-level error naming the file, not a DuckDB traceback
    path = tmp_path / "e.parquet"
    duckdb.connect().execute(
        f"""COPY (SELECT 'P' || i AS person_id, DATE '1950-01-01' + CAST(i % 9000 AS INTEGER) AS birth_date,
                         'female' AS gender, DATE '2023-01-01' AS enrollment_start_date,
                         DATE '2023-12-31' AS enrollment_end_date, 'medicare' AS payer
                  FROM range(50000) t(i)) TO '{path.as_posix()}' (FORMAT parquet, COMPRESSION zstd)""")
    data = bytearray(path.read_bytes())
    for i in range(100, len(data) // 2, 7):  # the first half: data pages; the footer is at the end
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    message = _file_error(con, path, "eligibility")
    assert "not a readable Parquet file (a data page cannot be decoded)" in message and path.name in message


def test_repeated_header_column(tmp_path, con):
    path = tmp_path / "r.csv"
    path.write_text(",".join(CLAIM_HEADER + ["hcpcs_code"]) + "\n" + ",".join(["x"] * (len(CLAIM_HEADER) + 1)) + "\n")
    assert "repeats column(s): hcpcs_code" in _file_error(con, path)


def test_wrong_file_for_the_contract(tmp_path, con):
    # an eligibility file given as claims: required claim columns are missing
    path = write_csv(tmp_path / "e.csv", ELIGIBILITY_HEADER, [GOOD_PERSON])
    assert "missing required column(s) for medical_claim" in _file_error(con, path)


def test_directory_instead_of_file(tmp_path, con):
    assert "is not a file" in _file_error(con, tmp_path)


# ------------------------------------------------------------------ through the command line

def _mips(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mips.cli", *args], cwd=cwd, capture_output=True, text=True)


def test_cli_file_error_is_one_line_without_traceback(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("")
    people = write_csv(tmp_path / "e.csv", ELIGIBILITY_HEADER, [GOOD_PERSON])
    done = _mips("run", "--performance-year", "2024", "--medical-claim", str(path), "--eligibility", str(people),
                 "--output", str(tmp_path / "out"), "--without-prefect", cwd=tmp_path)
    assert done.returncode == 2
    # stderr: the progress lines of the steps that finished (checksums), then the error in one line
    assert done.stderr.strip().splitlines()[-1] == f"mips run: error: {path}: is empty (0 bytes)"
    assert all(ln.startswith("✓ ") for ln in done.stderr.strip().splitlines()[:-1])
    assert "Traceback" not in done.stderr + done.stdout


def test_cli_rejection_threshold_fails_the_run_but_keeps_the_rejects(tmp_path):
    lines = claim_lines(10)
    lines[0]["rendering_npi"] = "1"  # 1 of 10 rows = 10% > 5% default
    claims = write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines)
    people = write_csv(tmp_path / "e.csv", ELIGIBILITY_HEADER, [GOOD_PERSON])
    out = tmp_path / "out"
    run = ["run", "--performance-year", "2024", "--medical-claim", str(claims), "--eligibility", str(people),
           "--output", str(out), "--without-prefect"]
    done = _mips(*run, cwd=tmp_path)
    assert done.returncode == 2
    assert "more than 5.0% of rows rejected" in done.stderr and "(10.0% rejected; top rules: " in done.stderr
    # nothing is published by a stopped run; its rejects and reconciliation are kept aside
    assert not (out / "ingest_summary").exists()
    summary = duckdb.sql(f"SELECT input_rows, accepted_rows, rejected_rows FROM "
                         f"read_parquet('{out}/_failed_run/2024/ingest_summary.parquet') "
                         "WHERE table_name = 'medical_claim'").fetchall()
    assert summary == [(10, 9, 1)]
    # the same run passes with a looser threshold and publishes the reconciliation
    done = _mips(*run, "--max-rejected-percent", "20", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "c.csv" in done.stdout
    summary = duckdb.sql(f"SELECT input_rows, accepted_rows, rejected_rows FROM "
                         f"read_parquet('{out}/ingest_summary/**/*.parquet', hive_partitioning = true) "
                         "WHERE table_name = 'medical_claim'").fetchall()
    assert summary == [(10, 9, 1)]


def test_every_contract_has_grain_and_key():
    for contract in CONTRACTS.values():
        assert contract.grain.startswith("one row per")
        assert set(contract.key) <= set(contract.schema.columns)
        assert set(contract.required_columns) <= set(contract.schema.columns)


def test_input_docs_are_generated_from_the_contracts():
    from schemas.docs import inputs_markdown
    docs = Path(__file__).resolve().parents[1] / "docs" / "inputs.md"
    assert docs.read_text() == inputs_markdown(), "run: .venv/bin/python -m schemas.docs > docs/inputs.md"


def test_bom_crlf_quoted_fields_and_header_case_are_fine(tmp_path, con):
    path = tmp_path / "excel.csv"
    header = "\ufeffClaim_ID , CLAIM_LINE_NUMBER,person_id,claim_line_start_date,hcpcs_code,rendering_npi,billing_tin,extra"
    body = ['"C1",1,P1,2024-03-01,99213,1234567893,123456789,ignored',
            '"C2","1","P,1","2024-03-01","99213","1234567893","123456789",']
    path.write_bytes(("\r\n".join([header, *body]) + "\r\n\r\n").encode("utf-8"))
    result = ingest.ingest_file(con, path, "medical_claim")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (2, 2, 0)
    assert con.execute("SELECT claim_id FROM medical_claim ORDER BY 1").fetchall() == [("C1",), ("C2",)]
    assert_reconciles(result, con)


def test_unclosed_quote_swallowing_the_rest_is_a_file_error(tmp_path, con):
    path = tmp_path / "q.csv"
    header = "claim_id,claim_line_number,person_id,claim_line_start_date,hcpcs_code,rendering_npi,billing_tin"
    rows = ["C1,1,P1,2024-03-01,99213,1234567893,123456789",
            '"C2,1,P1,2024-03-01,99213,1234567893,123456789',  # opens a quote, never closes it
            "C3,1,P1,2024-03-01,99213,1234567893,123456789"]
    path.write_text("\n".join([header, *rows]) + "\n")
    assert "data row 2 opens a quote that never closes" in _file_error(con, path)


def test_duplicates_with_an_empty_optional_key_column(tmp_path, con):
    # payer is part of the eligibility key but optional: two spans with no payer are still duplicates
    people = [dict(GOOD_PERSON), dict(GOOD_PERSON)]
    header = ELIGIBILITY_HEADER + ["payer"]
    result = ingest.ingest_file(con, write_csv(tmp_path / "e.csv", header, people), "eligibility")
    assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (2, 1, 1)
    assert [(r[0], r[2]) for r in rejects(con)] == [(2, "duplicate_key")]
    assert_reconciles(result, con)


# ------------------------------------------------------------------ out of scope

def test_out_of_scope_rows_leave_the_table_with_a_reason_and_reconcile(tmp_path, con):
    # 5 lines: 1 rejected (bad date); of the 4 valid, 2 are another payer's (out of scope), 1 is an
    # institutional claim (out of scope, kept aside for another purpose), 1 stays accepted:
    # 5 input = 1 accepted + 3 out of scope + 1 rejected.
    lines = claim_lines(5)
    lines[0]["claim_line_start_date"] = "2024-13-40"
    lines[1]["payer"] = lines[2]["payer"] = "aetna"
    lines[3]["claim_type"] = "institutional"
    path = write_csv(tmp_path / "c.csv", CLAIM_HEADER, lines)
    ingest.ingest_file(con, path, "medical_claim")
    assert ingest.mark_out_of_scope(con, "medical_claim", "payer is not Medicare", "t.payer <> 'medicare'") == 2
    assert ingest.mark_out_of_scope(con, "medical_claim", "not a professional claim", "t.claim_type <> 'professional'",
                                    keep_in="medical_claim_aside") == 1
    assert ingest.mark_out_of_scope(con, "medical_claim", "matches nothing", "FALSE") == 0
    ingest.check_reconciliation(con)
    assert con.execute("SELECT input_rows, accepted_rows, out_of_scope_rows, rejected_rows FROM _ingest_summary"
                       ).fetchall() == [(5, 1, 3, 1)]
    assert con.execute("SELECT claim_id FROM medical_claim").fetchall() == [("C5",)]
    assert con.execute("SELECT claim_id, source_row_number FROM medical_claim_aside").fetchall() == [("C4", 4)]
    ingest.ingest_tables(con, 2024)
    assert con.execute("SELECT performance_year, source_file, table_name, reason, rows FROM ingest_out_of_scope"
                       ).fetchall() == [(2024, str(path), "medical_claim", "not a professional claim", 1),
                                        (2024, str(path), "medical_claim", "payer is not Medicare", 2)]
    assert con.execute("SELECT out_of_scope_rows FROM ingest_summary").fetchall() == [(3,)]


def test_reconciliation_catches_out_of_scope_counts_that_do_not_add_up(tmp_path, con):
    ingest.ingest_file(con, write_csv(tmp_path / "c.csv", CLAIM_HEADER, claim_lines(2)), "medical_claim")
    ingest.record_out_of_scope(con, str(tmp_path / "c.csv"), "medical_claim", "counted but not moved", 1)
    with pytest.raises(AssertionError, match="does not reconcile"):
        ingest.check_reconciliation(con)


def _messy_claims(path: Path) -> Path:
    """40 lines: line 5 has a bad NPI, line 9 repeats line 2's key, line 12 a bad date, and two malformed lines
    are inserted (they become data rows 20 and 31), so 42 data rows: 37 accepted, 5 rejected."""
    lines = claim_lines(40)
    lines[4]["rendering_npi"] = "1234567890"
    lines[8]["claim_id"] = "C2"
    lines[11]["claim_line_start_date"] = "2024-02-30"
    write_csv(path, CLAIM_HEADER, lines)
    text = path.read_text().splitlines()
    text.insert(20, "C99,1,professional")
    text.insert(31, ",".join(["x"] * (len(CLAIM_HEADER) + 1)))
    path.write_text("\n".join(text) + "\n")
    return path


def test_a_csv_goes_through_a_raw_parquet_file_with_the_same_rows_and_rejects(tmp_path, monkeypatch):
    # With a file-backed work database the raw text is written once as Parquet in the work folder (not compressed
    # into the work database). Same accepted rows, same rejects naming file, row and column, as the raw table of an
    # in-memory database; the Parquet file is gone afterwards.
    from mips.db import connect

    path = _messy_claims(tmp_path / "c.csv")
    results, positions = {}, []
    load = ingest._load_raw_csv
    monkeypatch.setattr(ingest, "_load_raw_csv", lambda *a: positions.append(load(*a)) or positions[-1])
    for how in ("in_memory", "parquet"):
        con = duckdb.connect() if how == "in_memory" else connect(tmp_path / "work")
        result = ingest.ingest_file(con, path, "medical_claim")
        assert (result.input_rows, result.accepted_rows, result.rejected_rows) == (42, 37, 5)
        assert_reconciles(result, con)
        found = con.execute('SELECT source_file, row_number, "column", rule FROM _rejects ORDER BY 2, 3').fetchall()
        assert found == [(str(path), 5, "rendering_npi", "npi_check_digit"),
                         (str(path), 9, None, "duplicate_key"),
                         (str(path), 12, "claim_line_start_date", "iso_date"),
                         (str(path), 20, None, "malformed_row"),
                         (str(path), 31, None, "malformed_row")]
        results[how] = con.execute("SELECT * FROM medical_claim ORDER BY source_row_number").fetchall()
        assert not list(tmp_path.glob("work/raw/*.parquet"))
        assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_raw%' ESCAPE '\\'"
                               ).fetchone()[0]
        assert not con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name LIKE '\\_raw%' ESCAPE '\\'"
                               ).fetchone()[0]
        con.close()
    assert positions == ["rowid", "_raw_position"]  # the raw table's rowid, then the Parquet file's row numbers
    assert results["parquet"] == results["in_memory"]
    assert [r[-1] for r in results["parquet"]] == [n for n in range(1, 43) if n not in (5, 9, 12, 20, 31)]
