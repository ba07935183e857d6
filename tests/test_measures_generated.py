"""The measure engine on `mips generate`'s synthetic inputs: every measure the generator targets has a non-zero
eligible population, from claims and from encounters (issue 3, "Done when")."""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from mips.paths import REFERENCE_DIR
from transforms.measures import compute_measures
from transforms.reference import attach_reference

from transforms import generate  # the synthetic generator (mips generate) is part of the project: no skip


@pytest.mark.parametrize("year", [2019, 2023])
def test_every_targeted_measure_has_eligible_instances(year):
    con = duckdb.connect()
    attach_reference(con, REFERENCE_DIR)
    generated = generate.build_synthetic_inputs(con, performance_year=year, claim_lines=20_000, seed=3)
    for name, view in generated.tables.items():   # the engine reads the contract table names
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {view}')
    compute_measures(con, performance_year=year, period_start=date(year, 1, 1), period_end=date(year, 12, 31))
    found = {r[0] for r in con.execute(
        "SELECT DISTINCT measure_id FROM measure_results WHERE source = 'claims' AND eligible_population > 0").fetchall()}
    facility = {r[0] for r in con.execute(
        "SELECT measure_id FROM ref.claims_measures WHERE performance_year = ? AND needs_facility_events", [year]).fetchall()}
    missing = sorted(set(generated.targeted_measures) - found - facility)
    assert not missing, f"PY{year}: targeted measures without eligible instances: {missing}"
    # encounters run the same logic: the EHR extract yields eligible instances too
    assert con.execute("SELECT count(*) FROM measure_results WHERE source = 'encounters' "
                       "AND eligible_population > 0").fetchone()[0] > 0
    # facility measures are flagged, never reported as zeros
    assert con.execute("SELECT count(*) FROM measure_results WHERE NOT computed AND eligible_population IS NOT NULL"
                       ).fetchone()[0] == 0
