"""Done-when check of issue 10 through the public entry point: for each measure with a definition, one
`mips run --performance-year 2026 --fhir <deck>/tests/<Measure> --default-tin T --default-npi N --without-prefect
--output OUT` publishes, and OUT/measure_populations, level 'group', summed per (person_id, population_group) for
the measure's MIPS id, equals every development case of ../shared/ecqm/expected_dev.csv. The same run scores
quality from the eCQM rows (collection type electronicHealthRecord)."""
from __future__ import annotations

import csv

import duckdb
import pytest

from mips.cli import main
from mips.paths import REFERENCE_DIR, SHARED_ECQM
from schemas.ecqm import POPULATION_COLUMNS
from tests.test_ecqm_deck import expected_by_cql, mismatches
from transforms.ecqm import GROUP_STRATA, measure_definitions

TIN, NPI = "000000001", "1234567893"  # an NPI with a valid check digit
needs_deck = pytest.mark.skipif(not (SHARED_ECQM / "expected_dev.csv").is_file(), reason="../shared/ecqm absent")


def _mips_id(con, measure_name: str) -> str:
    return con.execute(f"SELECT measure_id FROM '{(REFERENCE_DIR / 'ecqm_measures.parquet').as_posix()}' "
                       "WHERE measure_name = ?", [measure_name]).fetchone()[0]


@pytest.mark.shared
@needs_deck
@pytest.mark.parametrize("measure_name", sorted(measure_definitions()))
def test_deck_through_mips_run(tmp_path, measure_name):
    out = tmp_path / "out"
    assert main(["run", "--performance-year", "2026", "--fhir", str(SHARED_ECQM / "tests" / measure_name),
                 "--default-tin", TIN, "--default-npi", NPI, "--without-prefect", "--output", str(out)]) == 0
    con = duckdb.connect()
    measure_id = _mips_id(con, measure_name)
    sums = ", ".join(f"sum({p})" for p in POPULATION_COLUMNS)
    rows = con.execute(f"""SELECT person_id, population_group, {sums}
                           FROM read_parquet('{out}/measure_populations/**/*.parquet', hive_partitioning = true)
                           WHERE level = 'group' AND measure_id = ? GROUP BY ALL""", [measure_id]).fetchall()
    got = {(r[0], r[1]): tuple(None if v is None else int(v) for v in r[2:]) for r in rows}
    expected = expected_by_cql(measure_name)
    assert mismatches(expected, got) == []
    # published with its manifest; the measure's eligible population (patients or episodes in the denominator) is
    # scored under the electronicHealthRecord collection type
    assert con.execute(f"SELECT count(*) FROM read_parquet('{out}/run_manifest/**/*.parquet')").fetchone()[0] == 1
    scored = con.execute(f"""SELECT collection_type, eligible_population
                             FROM read_parquet('{out}/measure_scores/**/*.parquet', hive_partitioning = true)
                             WHERE category = 'quality' AND level = 'group' AND measure_id = ?""", [measure_id]).fetchall()
    # a measure whose strata CMS scores as one ('overallStratumOnly': the 'overall' stratum only) is scored on the
    # groups mapped to the scored stratum (data/ecqm/group_strata.csv)
    algorithm = con.execute(f"SELECT overall_algorithm FROM '{(REFERENCE_DIR / 'quality_measures.parquet').as_posix()}' "
                            "WHERE performance_year = 2026 AND measure_id = ?", [measure_id]).fetchone()
    scored_groups = {g for _, g in expected}
    # ... and a split measure whose scored stratum the year's rules name (quality.scored_stratum; 226 in 2026:
    # 'performance') is scored on the groups mapped to that stratum only
    from transforms.scoring import load_rules
    scored_stratum = (load_rules(2026).get("quality.scored_stratum") or {}).get(measure_id)
    wanted = "overall" if algorithm and algorithm[0] == "overallStratumOnly" else scored_stratum
    if wanted:
        with open(GROUP_STRATA, encoding="utf-8", newline="") as fh:
            scored_groups = {r["group_id"] for r in csv.DictReader(fh)
                             if r["measure_name"] == measure_name and r["stratum"].lower() == wanted.lower()}
    assert scored == [("electronicHealthRecord", sum(e[1] or 0 for (_, g), e in expected.items() if g in scored_groups))]
