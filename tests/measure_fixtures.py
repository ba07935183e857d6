"""Tiny hand-made inputs for the measure engine tests: the validated input tables of the shared contract,
created directly in DuckDB (no ingest), and helpers to add patients, claims and encounters."""
from __future__ import annotations

from datetime import date
from itertools import count

import duckdb

from mips.paths import REFERENCE_DIR
from transforms.reference import attach_reference

TIN = "111111111"
TIN2 = "222222222"
NPI = "1000000001"
NPI2 = "1000000002"

_DX = ", ".join(f"diagnosis_code_{i} VARCHAR" for i in range(1, 26))
_DDL = f"""
CREATE TABLE medical_claim (claim_id VARCHAR, claim_line_number INTEGER, claim_type VARCHAR, person_id VARCHAR,
    claim_line_start_date DATE, claim_line_end_date DATE, place_of_service_code VARCHAR, hcpcs_code VARCHAR,
    hcpcs_modifier_1 VARCHAR, hcpcs_modifier_2 VARCHAR, hcpcs_modifier_3 VARCHAR, hcpcs_modifier_4 VARCHAR,
    hcpcs_modifier_5 VARCHAR, rendering_npi VARCHAR, billing_tin VARCHAR, diagnosis_code_type VARCHAR, {_DX},
    allowed_amount DOUBLE, paid_amount DOUBLE, service_unit_quantity DOUBLE, payer VARCHAR,
    source_file VARCHAR, source_row_number BIGINT);
CREATE TABLE eligibility (person_id VARCHAR, birth_date DATE, gender VARCHAR, enrollment_start_date DATE,
    enrollment_end_date DATE, dual_status_code VARCHAR, death_date DATE, payer VARCHAR,
    source_file VARCHAR, source_row_number BIGINT);
"""
_ENC_DDL = """
CREATE TABLE patient (person_id VARCHAR, birth_date DATE, sex VARCHAR, death_date DATE, source_file VARCHAR, source_row_number BIGINT);
CREATE TABLE encounter (encounter_id VARCHAR, person_id VARCHAR, encounter_type VARCHAR, encounter_start_date DATE,
    encounter_end_date DATE, place_of_service_code VARCHAR, rendering_npi VARCHAR, billing_tin VARCHAR, payer VARCHAR,
    source_file VARCHAR, source_row_number BIGINT);
CREATE TABLE condition (condition_id VARCHAR, person_id VARCHAR, encounter_id VARCHAR, recorded_date DATE,
    source_code_type VARCHAR, source_code VARCHAR, source_file VARCHAR, source_row_number BIGINT);
CREATE TABLE procedure (procedure_id VARCHAR, person_id VARCHAR, encounter_id VARCHAR, procedure_date DATE,
    source_code_type VARCHAR, source_code VARCHAR, modifier_1 VARCHAR, modifier_2 VARCHAR, modifier_3 VARCHAR,
    modifier_4 VARCHAR, modifier_5 VARCHAR, practitioner_id VARCHAR, source_file VARCHAR, source_row_number BIGINT);
"""

_rows = count(1)


def new_db(encounters: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    attach_reference(con, REFERENCE_DIR)
    con.execute(_DDL)
    if encounters:
        con.execute(_ENC_DDL)
    return con


def person(con, person_id: str, birth: date | str, gender: str = "female", encounters: bool = False) -> None:
    con.execute("INSERT INTO eligibility (person_id, birth_date, gender, enrollment_start_date, enrollment_end_date, payer) "
                "VALUES (?, ?, ?, DATE '2000-01-01', DATE '2030-12-31', 'medicare')", [person_id, birth, gender])
    if encounters:
        con.execute("INSERT INTO patient (person_id, birth_date, sex) VALUES (?, ?, ?)", [person_id, birth, gender])


def claim(con, claim_id: str, person_id: str, dos: date | str, lines: list, dx: list[str] = (), *,
          tin: str = TIN, npi: str = NPI, pos: str = "11") -> None:
    """lines: codes 'CODE' or 'CODE-MOD1-MOD2' or (code_with_mods, pos, line_date); dx on the first line."""
    for n, line in enumerate(lines, start=1):
        if isinstance(line, tuple):
            text, line_pos, line_date = (tuple(line) + (None, None))[:3]
        else:
            text, line_pos, line_date = line, None, None
        code, *mods = text.split("-")
        mods = (mods + [None] * 5)[:5]
        dxs = (list(dx) if n == 1 else []) + [None] * 25
        con.execute(
            "INSERT INTO medical_claim (claim_id, claim_line_number, claim_type, person_id, claim_line_start_date, "
            "claim_line_end_date, place_of_service_code, hcpcs_code, hcpcs_modifier_1, hcpcs_modifier_2, "
            "hcpcs_modifier_3, hcpcs_modifier_4, hcpcs_modifier_5, rendering_npi, billing_tin, diagnosis_code_type, "
            + ", ".join(f"diagnosis_code_{i}" for i in range(1, 26)) + ", source_row_number) VALUES ("
            + ", ".join(["?"] * 42) + ")",
            [claim_id, n, "professional", person_id, line_date or dos, line_date or dos, line_pos or pos, code,
             *mods, npi, tin, "icd-10-cm", *dxs[:25], next(_rows)])


def encounter(con, encounter_id: str, person_id: str, dos: date | str, lines: list, dx: list[str] = (), *,
              tin: str = TIN, npi: str = NPI, pos: str = "11") -> None:
    con.execute("INSERT INTO encounter (encounter_id, person_id, encounter_type, encounter_start_date, encounter_end_date, "
                "place_of_service_code, rendering_npi, billing_tin, payer) VALUES (?, ?, 'office visit', ?, ?, ?, ?, ?, 'commercial')",
                [encounter_id, person_id, dos, dos, pos, npi, tin])
    for n, text in enumerate(lines, start=1):
        code, *mods = text.split("-")
        mods = (mods + [None] * 5)[:5]
        con.execute("INSERT INTO procedure (procedure_id, person_id, encounter_id, procedure_date, source_code_type, "
                    "source_code, modifier_1, modifier_2, modifier_3, modifier_4, modifier_5, practitioner_id) "
                    "VALUES (?, ?, ?, ?, 'hcpcs', ?, ?, ?, ?, ?, ?, ?)",
                    [f"{encounter_id}-{n}", person_id, encounter_id, dos, code, *mods, npi])
    for n, code in enumerate(dx, start=1):
        con.execute("INSERT INTO condition (condition_id, person_id, encounter_id, recorded_date, source_code_type, source_code) "
                    "VALUES (?, ?, ?, ?, 'icd-10-cm', ?)", [f"{encounter_id}-dx{n}", person_id, encounter_id, dos, code])


def counts(con, measure_id: str, *, level: str = "individual", source: str = "claims", tin: str = TIN,
           npi: str | None = NPI, stratum: str | None = None) -> tuple | None:
    """(eligible_population, exclusion, exception, met, not_met) of one row of measure_results, or None."""
    if level == "group":
        npi = None
    row = con.execute(
        "SELECT eligible_population, eligible_population_exclusion, eligible_population_exception, performance_met, "
        "performance_not_met FROM measure_results WHERE measure_id = ? AND level = ? AND source = ? AND tin = ? "
        "AND npi IS NOT DISTINCT FROM ? AND stratum IS NOT DISTINCT FROM ?",
        [measure_id, level, source, tin, npi, stratum]).fetchone()
    return tuple(row) if row else None
