"""Scoring's view of the compiled reference tables (ref.*)."""
from __future__ import annotations

import duckdb

from transforms.scoring.reference import prepare_reference


def test_prepare_reference_uses_the_compiled_tables():
    # PY2019 001 claims (spec §3.1 example data): 9 source deciles + the implied decile 1 bound of 100 (inverse).
    con = duckdb.connect()
    prepare_reference(con, 2019)
    bounds = [r[0] for r in con.execute("""SELECT lower_bound FROM _sc_benchmark_bounds
        WHERE measure_id = '001' AND collection_type = 'claims' ORDER BY decile""").fetchall()]
    assert bounds == [100, 100, 44.44, 29.03, 19.51, 14.71, 11.11, 8.33, 5.56, 2.78]
    weight = con.execute("SELECT weight FROM _sc_ia_activities WHERE activity_id = 'IA_EPA_1'").fetchone()[0]
    assert weight == "high"


def test_pi_exclusion_ids_from_the_compiled_pi_measures():
    # measures-data PY2023: PI_EP_2 exclusions PI_EP_2_EX_1..3; PI_HIE_4 exclusion PI_LVITC_2.
    con = duckdb.connect()
    prepare_reference(con, 2023)
    got = dict(con.execute("SELECT exclusion_id, measure_id FROM _sc_pi_exclusions").fetchall())
    assert got["PI_EP_2_EX_1"] == "PI_EP_2" and got["PI_LVITC_2"] == "PI_HIE_4"
