"""CAHPS for MIPS (measure 321), worked examples through `mips score --cahps`.

Rules (data/rules/<PY>.yaml, section cahps, and the quality rules it shares):
- cahps.scoring: each reliable summary survey measure (SSM) with a benchmark is scored on its own benchmark (the
  CAHPS_n rows of the year's benchmarks, collection type certifiedSurveyVendor [D]); measure 321 earns the average of
  the SSMs' points [R]; its performance rate (as reported) is the average of their scores.
- quality.benchmark_floor_points: 3 through PY2022, none after; quality.high_priority_bonus (PY2017-2021): a patient
  experience measure beyond the required outcome one earns 2 points; none from PY2022.

Group 123456789: CAHPS_1 85.00, CAHPS_2 93.00, CAHPS_3 99.00 marked unreliable (not scored).
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main
from tests.test_scoring_support import score_args

TIN = "123456789"
CAHPS = f"tin,ssm_id,score,reliable\n{TIN},CAHPS_1,85.00,\n{TIN},CAHPS_2,93.00,true\n{TIN},CAHPS_3,99.00,false\n"


def _score(tmp_path, year, quality=None, cahps=CAHPS):
    files = {"entities": f"tin,npi\n{TIN},\n", "cahps": cahps}
    if quality:
        files["quality"] = quality
    args = score_args(tmp_path, year, files)
    out = tmp_path / f"o{year}"
    assert main([*args, "--output", str(out)]) == 0
    read = lambda t: duckdb.sql(f"SELECT * FROM read_parquet('{out}/{t}/**/*.parquet', hive_partitioning=true)").df()
    measures = {r.measure_id: r for r in read("measure_scores").itertuples()}
    cats = {r.category: r for r in read("category_scores").itertuples()}
    return measures, cats


def test_py2019_ssm_points_averaged_and_the_patient_experience_bonus(tmp_path):
    # PY2019 CAHPS_1 L = [0, 0, 81.22, 82.46, 83.38, 84.01, 85.34, 86.6, 88.1, 89.44]: 85.00 in decile 6
    #   [84.01, 85.34): 6 + round(0.99 / 1.33, 4) = 6.7444.
    # CAHPS_2 L = [0, 0, 91.42, 92.69, 93.28, 93.79, 94.08, 94.57, 94.97, 95.44]: 93.00 in decile 4
    #   [92.69, 93.28): 4 + round(0.31 / 0.59, 4) = 4.5254.
    # 321 = (6.7444 + 4.5254) / 2 = 5.6349 points; rate (85 + 93) / 2 = 89.
    # With 236 registry (intermediate outcome; 10 eligible, below the case minimum: 3 points): the required outcome
    # measure is the best one, 321 (5.6349 > 3), so 321 earns no bonus; 236 is a further outcome measure, but a bonus
    # needs the case minimum met -> none. Quality = (5.6349 + 3) / 60 = 14.3915 %.
    quality = ("tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met\n"
               f"{TIN},,236,registry,10,5,5\n")
    measures, cats = _score(tmp_path, 2019, quality)
    m = measures["321"]
    assert m.achievement_points == pytest.approx((6.7444 + 4.5254) / 2, abs=1e-4)
    assert m.performance_rate == pytest.approx(89) and m.collection_type == "certifiedSurveyVendor"
    assert "CAHPS_3 not reliable" in m.explanation and "2 of 3 summary survey measures scored" in m.explanation
    assert m.high_priority_bonus == 0 and "required outcome" in m.explanation and "; ;" not in m.explanation
    assert "cahps.scoring" in m.unconfirmed_rules
    assert cats["quality"].score_percent == pytest.approx(100 * ((6.7444 + 4.5254) / 2 + 3) / 60, abs=1e-3)


def test_py2024_no_floor_and_the_year_benchmarks(tmp_path):
    # PY2024 CAHPS_1 L = [63.18, 77.47, 80.27, 82.28, 83.59, 84.49, 85.52, 86.37, 87.14, 88.72]: 85.00 in decile 6
    #   [84.49, 85.52): 6 + round(0.51 / 1.03, 4) = 6.4951.
    # CAHPS_2 L = [85.18, 91.18, 92.18, 92.75, 93.2, 93.63, 93.99, 94.41, 94.81, 95.3]: 93.00 in decile 4
    #   [92.75, 93.2): 4 + round(0.25 / 0.45, 4) = 4.5556.
    # 321 = (6.4951 + 4.5556) / 2 = 5.52535; only measure -> quality 5.52535 / 60 = 9.2089 %.
    measures, cats = _score(tmp_path, 2024)
    assert measures["321"].achievement_points == pytest.approx((6.4951 + 4.5556) / 2, abs=1e-4)
    assert cats["quality"].score_percent == pytest.approx(100 * (6.4951 + 4.5556) / 2 / 60, abs=1e-3)


def test_a_score_below_every_bound_earns_the_floor_through_py2022(tmp_path):
    # PY2024 CAHPS_1 decile 1 bound 63.18: 50.00 is below it -> below_lowest_decile_points 1 (no floor from PY2023)
    # PY2022: the 3-point floor applies -> 3.
    low = f"tin,ssm_id,score\n{TIN},CAHPS_1,50.00\n"
    m24, _ = _score(tmp_path, 2024, cahps=low)
    assert m24["321"].achievement_points == pytest.approx(1.0)
    m22, _ = _score(tmp_path, 2022, cahps=low)
    assert m22["321"].achievement_points >= 3


def test_bad_ssm_rows_are_rejected_with_row_and_column(tmp_path):
    from transforms import ingest
    con = duckdb.connect()
    path = tmp_path / "c.csv"
    path.write_text(f"tin,ssm_id,score\n{TIN},CAHPS_1,85\n{TIN},HCAHPS_1,80\n{TIN},CAHPS_2,high\n")
    result = ingest.ingest_file(con, path, "cahps_input")
    assert (result.accepted_rows, result.rejected_rows) == (1, 2)
    rows = con.execute('SELECT row_number, "column" FROM _rejects ORDER BY row_number').fetchall()
    assert rows == [(2, "ssm_id"), (3, "score")]
