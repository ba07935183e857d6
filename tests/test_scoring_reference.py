"""Scoring's view of the reference: the compiled ref.* tables, and the JSON fallback agreeing with them."""
from __future__ import annotations

import duckdb
import pytest

from mips.paths import SHARED_REFERENCE
from transforms.reference import attach_reference
from transforms.scoring.reference import benchmark_bounds_from_json, prepare_reference


def test_prepare_reference_uses_the_compiled_tables():
    # PY2019 001 claims (spec §3.1 example data): 9 source deciles + the implied decile 1 bound of 100 (inverse).
    con = duckdb.connect()
    prepare_reference(con, 2019)
    bounds = [r[0] for r in con.execute("""SELECT lower_bound FROM _sc_benchmark_bounds
        WHERE measure_id = '001' AND collection_type = 'claims' ORDER BY decile""").fetchall()]
    assert bounds == [100, 100, 44.44, 29.03, 19.51, 14.71, 11.11, 8.33, 5.56, 2.78]
    weight = con.execute("SELECT weight FROM _sc_ia_activities WHERE activity_id = 'IA_EPA_1'").fetchone()[0]
    assert weight == "high"


@pytest.mark.shared
@pytest.mark.skipif(not SHARED_REFERENCE.exists(), reason="../shared/reference is not beside the project")
@pytest.mark.parametrize("year", [2017, 2022, 2023, 2025])
def test_json_fallback_matches_the_compiled_benchmarks(year):
    con = duckdb.connect()
    attach_reference(con)
    con.register("j", benchmark_bounds_from_json(year))
    diff = con.execute("""SELECT count(*) FROM (SELECT * FROM ref.benchmarks WHERE performance_year = ?) r
        FULL JOIN j ON r.measure_id = j.measure_id AND r.submission_method = j.collection_type AND r.decile = j.decile
        WHERE r.measure_id IS NULL OR j.measure_id IS NULL OR r.is_inverse <> j.is_inverse
           -- implied decile-1 bounds of non-proportion measures: the compiler picks its own (e.g. ACEP50 246, not 100)
           OR (abs(r.lower_bound - j.lower_bound) > 1e-9 AND NOT (r.is_implied AND r.lower_bound > 100))""", [year]).fetchone()[0]
    assert diff == 0
