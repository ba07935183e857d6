"""`mips gaps` on a hand-made example: the right patients for an inverse and a non-inverse measure.

One clinician (TIN 123456789, NPI 1234567893), office visits (99213) on 2024-05-02, PY2024:

measure 001 (diabetes HbA1c > 9%, INVERSE: performance met is the poor result), diagnosis E11.9, age 64:
  - PA: 3044F (HbA1c < 7%)        -> performance not met = the good result     -> no gap
  - PB: no quality data code       -> not reported                              -> gap
  - PC: M1211 (most recent > 9%)   -> performance met = the poor result         -> gap
  - PX: G9687 (hospice)            -> denominator exclusion                     -> no gap
measure 047 (advance care plan, age 65+, any diagnosis), diagnosis R51.9 (not diabetes, so not in 001), age 70:
  - PD: 1123F                      -> performance met                           -> no gap
  - PE: 1123F-8P                   -> performance not met                       -> gap
  - PF: no quality data code, seen 2024-09-10 -> not reported                   -> gap dated 2024-09-10
"""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from mips.cli import main
from mips.period import run_period_steps

TIN, NPI = "123456789", "1234567893"
HEADER = ["claim_id", "claim_line_number", "claim_type", "person_id", "claim_line_start_date", "claim_line_end_date",
          "place_of_service_code", "hcpcs_code", "hcpcs_modifier_1", "rendering_npi", "billing_tin",
          "diagnosis_code_type", "diagnosis_code_1", "allowed_amount", "payer"]
BIRTH = {"PA": "1960-02-01", "PB": "1960-02-01", "PC": "1960-02-01", "PX": "1960-02-01",
         "PD": "1954-02-01", "PE": "1954-02-01", "PF": "1954-02-01"}
VISITS = [  # person, diagnosis, quality data code, modifier, date
    ("PA", "E11.9", "3044F", "", "2024-05-02"), ("PB", "E11.9", None, "", "2024-05-02"),
    ("PC", "E11.9", "M1211", "", "2024-05-02"), ("PX", "E11.9", "G9687", "", "2024-05-02"),
    ("PD", "R51.9", "1123F", "", "2024-05-02"), ("PE", "R51.9", "1123F", "8P", "2024-05-02"),
    ("PF", "R51.9", None, "", "2024-09-10"),
]


def _write(path: Path, header: list[str], rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gaps_in")
    lines = []
    for n, (person, dx, code, modifier, day) in enumerate(VISITS):
        base = {"claim_id": f"C{n}", "claim_type": "professional", "person_id": person, "claim_line_start_date": day,
                "claim_line_end_date": day, "place_of_service_code": "11", "rendering_npi": NPI,
                "billing_tin": TIN, "diagnosis_code_type": "icd-10-cm", "diagnosis_code_1": dx, "payer": "medicare"}
        lines.append({**base, "claim_line_number": 1, "hcpcs_code": "99213", "hcpcs_modifier_1": "",
                      "allowed_amount": "90.00"})
        if code:
            lines.append({**base, "claim_line_number": 2, "hcpcs_code": code, "hcpcs_modifier_1": modifier,
                          "allowed_amount": "0.00"})
    files = {"medical_claim": _write(folder / "medical_claim.csv", HEADER, lines),
             "eligibility": _write(folder / "eligibility.csv",
                                   ["person_id", "birth_date", "gender", "enrollment_start_date", "enrollment_end_date"],
                                   [{"person_id": p, "birth_date": b, "gender": "female",
                                     "enrollment_start_date": "2024-01-01", "enrollment_end_date": "2024-12-31"}
                                    for p, b in BIRTH.items()])}
    out = tmp_path_factory.mktemp("gaps_out")
    run_period_steps(performance_year=2024, files=files, output_root=out)
    return out


def _gaps(dest: Path, measure: str) -> list[tuple]:
    return duckdb.sql(f"""SELECT person_id, gap, last_relevant_date::VARCHAR, closing_quality_data_codes
                          FROM read_parquet('{dest}/2024/care_gaps.parquet') WHERE measure_id = '{measure}'
                          ORDER BY person_id""").fetchall()


def test_gaps_list_the_right_patients_for_an_inverse_and_a_non_inverse_measure(published, tmp_path, capsys):
    dest = tmp_path / "gaps"
    assert main(["gaps", "--output", str(published), "--performance-year", "2024", "--dest", str(dest)]) == 0
    # 001 is inverse: PB unreported, PC with the poor result; PA (good result) and PX (excluded) are not gaps.
    # What closes it is the GOOD result: HbA1c < 7 (3044F), 7-8 (3051F) or 8-9 (3052F)
    assert _gaps(dest, "001") == [
        ("PB", "not reported (no quality data code)", "2024-05-02", "3044F or 3051F or 3052F"),
        ("PC", "poor result (inverse measure)", "2024-05-02", "3044F or 3051F or 3052F")]
    # 047 is not inverse: PE not met, PF unreported (last visit 2024-09-10); PD (met) is not a gap.
    # What closes it is performance met: 1123F or 1124F (1123F-8P is the not-met code)
    assert _gaps(dest, "047") == [
        ("PE", "performance not met", "2024-05-02", "1123F or 1124F"),
        ("PF", "not reported (no quality data code)", "2024-09-10", "1123F or 1124F")]
    # the per-clinician CSV holds the same rows as the Parquet file for that clinician
    per_clinician = list(csv.DictReader((dest / "2024" / "by_clinician" / f"{TIN}-{NPI}.csv").open()))
    total = duckdb.sql(f"SELECT count(*) FROM read_parquet('{dest}/2024/care_gaps.parquet')").fetchall()[0][0]
    assert len(per_clinician) == total
    assert {r["person_id"] for r in per_clinician if r["measure_id"] == "001"} == {"PB", "PC"}
    assert f"{total:,} care gap(s) of 1 clinician(s)" in capsys.readouterr().out


def test_gaps_filters_and_a_rerun_replaces_the_lists(published, tmp_path, capsys):
    dest = tmp_path / "gaps"
    assert main(["gaps", "--output", str(published), "--performance-year", "2024", "--dest", str(dest)]) == 0
    assert main(["gaps", "--output", str(published), "--performance-year", "2024", "--dest", str(dest),
                 "--measure", "047", "-q"]) == 0
    assert duckdb.sql(f"SELECT DISTINCT measure_id FROM read_parquet('{dest}/2024/care_gaps.parquet')"
                      ).fetchall() == [("047",)]
    assert capsys.readouterr().out.splitlines()[-1].startswith("2 care gap(s) of 1 clinician(s)")
    assert main(["gaps", "--output", str(published), "--performance-year", "2023", "--dest", str(dest)]) == 2
