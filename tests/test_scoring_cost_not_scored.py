"""Cost measures of a year's inventory that CMS did not score (rule cost.measures_not_scored), through `mips score`.

COST_SPH_1 (Simple Pneumonia with Hospitalization) is in CMS's PY2022 and PY2023 measures-data but has no benchmark in
those years' benchmark files, while the other cost measures have one ([D] qpp-measures-data; the reason is [?]): the
rules list it, so a row given for it is kept, not scored, and says why, instead of depending on a missing benchmark.
PY2019 scored it on its benchmark ([D] benchmarks/2019.json).

Hand computation (one group, TIN 111111111, 50 cases per measure, above every case minimum):
- PY2019: COST_SPH_1 10618.25 = its decile-6 bound (inverse; decile 7 begins at 10000.105): 6 + 0 = 6 points
  -> cost 6 / 10 = 60 %.
- PY2023: TPCC_1 1449.42 = its decile-6 bound -> 6 points; COST_SPH_1 set aside -> cost 6 / 10 = 60 %, one measure.
  Were COST_SPH_1 counted at any value, the denominator would be 20.
"""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from mips.cli import main

TIN = "111111111"


def _score(tmp_path, year: int, cost_rows: str):
    (tmp_path / "ent.csv").write_text(f"tin,npi\n{TIN},\n")
    (tmp_path / "cost.csv").write_text("tin,npi,measure_id,measure_value,case_count\n" + cost_rows)
    out = tmp_path / f"out{year}"
    assert main(["score", "--performance-year", str(year), "--entities", str(tmp_path / "ent.csv"),
                 "--cost", str(tmp_path / "cost.csv"), "--output", str(out), "-q"]) == 0

    def read(table):
        return duckdb.sql(f"SELECT * FROM read_parquet('{out}/{table}/**/*.parquet', hive_partitioning=true)").df()
    return read


def test_py2023_cost_sph_1_is_kept_not_scored_and_says_why(tmp_path):
    read = _score(tmp_path, 2023, f"{TIN},,COST_SPH_1,10618.25,50\n{TIN},,TPCC_1,1449.42,50\n")
    measures = read("measure_scores").set_index("measure_id")
    sph = measures.loc["COST_SPH_1"]
    assert not sph.selected and pd.isna(sph.achievement_points)
    assert sph.explanation == "COST_SPH_1 is not scored in performance year 2023 (rule cost.measures_not_scored)"
    assert "cost.measures_not_scored" in sph.unconfirmed_rules
    assert measures.loc["TPCC_1"].selected and measures.loc["TPCC_1"].achievement_points == pytest.approx(6.0)
    cost = read("category_scores").set_index("category").loc["cost"]
    assert cost.score_percent == pytest.approx(60.0)


def test_py2019_cost_sph_1_is_scored_on_its_benchmark(tmp_path):
    read = _score(tmp_path, 2019, f"{TIN},,COST_SPH_1,10618.25,50\n")
    sph = read("measure_scores").set_index("measure_id").loc["COST_SPH_1"]
    assert sph.selected and sph.achievement_points == pytest.approx(6.0)
    assert "measures_not_scored" not in (sph.unconfirmed_rules or "")
    assert read("category_scores").set_index("category").loc["cost"].score_percent == pytest.approx(60.0)
