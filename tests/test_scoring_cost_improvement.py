"""Cost improvement scoring, worked examples through `mips score` (COST.csv column change_vs_prior_year).

Rules: cost_improvement.method null PY2017-2021 (PY2017 cost weighs 0; the Bipartisan Budget Act of 2018 §51003 bars
cost improvement for PY2018-2021) [V]; from PY2022 'significant_changes_over_measures': (improved - declined) /
measures compared x cost.improvement_max_percentage_points (1), not below 0, the category capped at 100 % [R].

Group 123456789, cost only (no other input):
- PY2019 MSPB_1 L = [42259, 29734, 26899, 25683, 23987, ...] (inverse): 23987 is the decile 5 bound -> 5.0 points;
  TPCC_1 L[7] = 11548.2: 11548.2 -> 7.0 points. Average 6 of 10 = 60 %; MSPB_1 'improved' earns nothing (barred).
- PY2022 MSPB_1 L[5] = 25041.2 -> 5.0; TPCC_1 L[7] = 1221.34 -> 7.0; 60 % + (1 improved - 0 declined) / 2 compared
  x 1 pp = 60.5 %. With TPCC_1 'declined': (1 - 1) / 2 = 0 -> 60 %; with both declined: below 0 -> 0 -> 60 %.
Cases 40 (MSPB_1 minimum 35) and 30 (TPCC_1 minimum 20).
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main

TIN = "123456789"
VALUES = {2019: (23987, 11548.2), 2022: (25041.2, 1221.34)}


def _cost_score(tmp_path, year, mspb_change, tpcc_change):
    mspb, tpcc = VALUES[year]
    (tmp_path / "e.csv").write_text(f"tin,npi\n{TIN},\n")
    (tmp_path / "c.csv").write_text("tin,npi,measure_id,measure_value,case_count,change_vs_prior_year\n"
                                    f"{TIN},,MSPB_1,{mspb},40,{mspb_change}\n{TIN},,TPCC_1,{tpcc},30,{tpcc_change}\n")
    out = tmp_path / f"o{year}{mspb_change}{tpcc_change}"
    assert main(["score", "--performance-year", str(year), "--entities", str(tmp_path / "e.csv"),
                 "--cost", str(tmp_path / "c.csv"), "--output", str(out)]) == 0
    return duckdb.sql(f"""SELECT score_percent, explanation FROM read_parquet('{out}/category_scores/**/*.parquet')
                          WHERE category = 'cost'""").fetchall()[0]


def test_py2019_cost_improvement_is_barred(tmp_path):
    score, text = _cost_score(tmp_path, 2019, "improved", "none")
    assert score == pytest.approx(60) and "improvement" not in text


@pytest.mark.parametrize("mspb, tpcc, expected", [("improved", "none", 60.5), ("improved", "declined", 60.0),
                                                  ("declined", "declined", 60.0), ("", "", 60.0)])
def test_py2022_improvement_over_measures_compared(tmp_path, mspb, tpcc, expected):
    score, text = _cost_score(tmp_path, 2022, mspb, tpcc)
    assert score == pytest.approx(expected)
    if expected > 60:
        assert "+ improvement 0.5000 pp ((1 improved - 0 declined) / 2 compared)" in text


def test_a_bad_change_value_is_rejected_with_row_and_column(tmp_path):
    from transforms import ingest
    con = duckdb.connect()
    path = tmp_path / "c.csv"
    path.write_text(f"tin,npi,measure_id,measure_value,case_count,change_vs_prior_year\n{TIN},,TPCC_1,1000,30,better\n")
    result = ingest.ingest_file(con, path, "cost_input")
    assert result.rejected_rows == 1
    assert con.execute('SELECT row_number, "column", reason FROM _rejects').fetchall() == [
        (1, "change_vs_prior_year", "not improved, declined or none")]
