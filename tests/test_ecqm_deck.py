"""The eCQM engine against CMS's test decks: every development case of each measure with a definition matches
the MeasureReport CMS expects, per patient and population group (../shared/ecqm/expected_dev.csv).

The library function is run on each measure's folder loaded as fhir_resource (tests/ecqm_deck.py); the public
entry point (`mips run --fhir`) is tested in tests/test_ecqm_cli.py.
"""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from mips.paths import SHARED_ECQM
from schemas.ecqm import POPULATION_COLUMNS
from tests.ecqm_deck import load_deck
from transforms.ecqm import compute_ecqms, measure_definitions

needs_deck = pytest.mark.skipif(not (SHARED_ECQM / "expected_dev.csv").is_file(), reason="../shared/ecqm absent")


def expected_cases(measure_name: str) -> dict[tuple[str, str], tuple]:
    with open(SHARED_ECQM / "expected_dev.csv", encoding="utf-8", newline="") as fh:
        return {(r["patient_id"], r["group_id"]): tuple(int(r[p]) if r[p] != "" else None for p in POPULATION_COLUMNS)
                for r in csv.DictReader(fh) if r["measure_name"] == measure_name}


# Development cases whose MeasureReport the measure's CQL does not support: the test expects the CQL result instead
# (each case is explained in docs/ecqm.md, "Development cases where the CQL and the MeasureReport differ").
CQL_RESULTS = Path(__file__).parent / "ecqm_deck_cql_results.csv"


def cql_results(measure_name: str) -> dict[tuple[str, str], dict[str, int]]:
    out: dict[tuple[str, str], dict[str, int]] = {}
    with open(CQL_RESULTS, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["measure_name"] == measure_name:
                out.setdefault((r["patient_id"], r["group_id"]), {})[r["population"]] = (int(r["measure_report"]),
                                                                                          int(r["cql_result"]))
    return out


def expected_by_cql(measure_name: str) -> dict[tuple[str, str], tuple]:
    """expected_cases with the listed populations replaced by the CQL result (the MeasureReport value must match
    the one the CSV names, so a corrected deck shows up as a failure here)."""
    expected = expected_cases(measure_name)
    for key, pops in cql_results(measure_name).items():
        values = list(expected[key])
        for population, (report, cql) in pops.items():
            i = POPULATION_COLUMNS.index(population)
            assert values[i] == report, f"{key}: the MeasureReport now says {values[i]} for {population}"
            values[i] = cql
        expected[key] = tuple(values)
    return expected


def summed_populations(con, measure_id: str) -> dict[tuple[str, str], tuple]:
    """The check the project lead runs: level 'group', each population summed per (person_id, population_group)."""
    sums = ", ".join(f"sum({p})" for p in POPULATION_COLUMNS)
    rows = con.execute(f"SELECT person_id, population_group, {sums} FROM measure_populations "
                       "WHERE level = 'group' AND measure_id = ? GROUP BY ALL", [measure_id]).fetchall()
    return {(r[0], r[1]): tuple(None if v is None else int(v) for v in r[2:]) for r in rows}


def mismatches(expected: dict, got: dict) -> list[str]:
    out = []
    for key, exp in sorted(expected.items()):
        # a patient in no population may be left out of measure_populations: all defined populations 0
        actual = got.get(key, tuple(None if e is None else 0 for e in exp))
        if actual != exp:
            out.append(f"{key[0]} {key[1]}: expected {exp}, got {actual}")
    return out


@pytest.mark.shared
@needs_deck
@pytest.mark.parametrize("measure_name", sorted(measure_definitions()))
def test_every_development_case_matches(measure_name):
    con = duckdb.connect()
    load_deck(con, measure_name)
    compute_ecqms(con, performance_year=2026, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
                  default_tin="000000001", default_npi="1000000001")
    measure_id = con.execute("SELECT measure_id FROM ref.ecqm_measures WHERE measure_name = ?", [measure_name]).fetchone()[0]
    expected = expected_by_cql(measure_name)
    assert expected, f"no development cases for {measure_name}"
    assert mismatches(expected, summed_populations(con, measure_id)) == []
