"""The source registry (transforms/measures/registry.py): one list of sources, engines plug in, rows combine."""
from __future__ import annotations

from datetime import date

import duckdb

from schemas.measures import MEASURE_RESULTS
from transforms.measures import registry
from transforms.measures.registry import (BY_NAME, MEASURE_SOURCES, EngineOutput, MeasureSource, collection_type_sql,
                                          run_sources)


def test_every_source_has_its_collection_type_in_one_place():
    con = duckdb.connect()
    got = dict(con.execute(f"SELECT source, {collection_type_sql()} FROM (VALUES ('claims'), ('encounters'), "
                           "('ehr')) t(source)").fetchall())
    assert got == {"claims": "claims", "encounters": "registry", "ehr": "electronicHealthRecord"}
    # the period steps, the flow's parameter type and the claims engine read the same list
    from mips.period import SOURCES
    from transforms.measures import SOURCES as CLAIMS_ENGINE_SOURCES
    assert SOURCES == ("claims", "encounters", "ehr")
    assert CLAIMS_ENGINE_SOURCES == ("claims", "encounters")


def test_a_source_without_its_inputs_does_not_run_and_a_missing_engine_is_noted(monkeypatch):
    con = duckdb.connect()
    outputs, notes = run_sources(con, performance_year=2026, period_start=date(2026, 1, 1),
                                 period_end=date(2026, 12, 31))
    assert outputs == {} and notes[0].startswith("measures: no input a measure source reads")
    con.execute("CREATE TABLE fhir_resource (x INTEGER)")
    monkeypatch.setattr(registry, "MEASURE_SOURCES", (MeasureSource(
        "ehr", "electronicHealthRecord", ("fhir_resource",), "transforms.no_such_engine:compute", "test"),))
    monkeypatch.setattr(registry, "BY_NAME", {"ehr": registry.MEASURE_SOURCES[0]})
    outputs, notes = run_sources(con, performance_year=2026, period_start=date(2026, 1, 1),
                                 period_end=date(2026, 12, 31), sources=("ehr",))
    assert outputs == {}
    assert notes == ["measures: source ehr needs the engine transforms.no_such_engine:compute, which this build "
                     "does not have; not computed"]


def _results_row(source, measure_id):
    values = {c.name: "NULL" for c in MEASURE_RESULTS.columns}
    values.update(performance_year="2026", period_start="DATE '2026-01-01'", period_end="DATE '2026-12-31'",
                  source=f"'{source}'", level="'group'", tin="'123456789'", measure_id=f"'{measure_id}'",
                  collection_type=collection_type_sql(f"'{source}'"), computed="TRUE")
    return "SELECT " + ", ".join(f"{v} AS \"{k}\"" for k, v in values.items())


def test_two_engines_contribute_rows_to_the_same_output(monkeypatch):
    # Engine A writes 2 rows (claims), engine B 1 row (ehr): measure_results holds 3, cast and in key order.
    def engine_a(con, **kw):
        con.execute(f"CREATE TABLE a_results AS {_results_row('claims', '001')} UNION ALL {_results_row('claims', '236')}")
        return EngineOutput({MEASURE_RESULTS: "a_results"}, ["a: done"])

    def engine_b(con, **kw):
        assert kw["sources"] == ("ehr",) and kw["performance_year"] == 2026
        con.execute(f"CREATE TABLE b_results AS {_results_row('ehr', '001')}")
        return EngineOutput({MEASURE_RESULTS: "b_results"})

    engines = {"test:a": engine_a, "test:b": engine_b}
    monkeypatch.setattr(registry, "load_engine", engines.get)
    sources = (MeasureSource("claims", "claims", ("medical_claim",), "test:a", ""),
               MeasureSource("ehr", "electronicHealthRecord", ("fhir_resource",), "test:b", ""))
    monkeypatch.setattr(registry, "MEASURE_SOURCES", sources)
    monkeypatch.setattr(registry, "BY_NAME", {s.name: s for s in sources})
    con = duckdb.connect()
    con.execute("CREATE TABLE medical_claim (x INTEGER); CREATE TABLE fhir_resource (x INTEGER)")
    outputs, notes = run_sources(con, performance_year=2026, period_start=date(2026, 1, 1),
                                 period_end=date(2026, 12, 31), sources=("claims", "ehr"))
    assert outputs == {"measure_results": MEASURE_RESULTS} and notes == ["a: done"]
    assert con.execute("SELECT source, measure_id, collection_type FROM measure_results").fetchall() == [
        ("claims", "001", "claims"), ("claims", "236", "claims"), ("ehr", "001", "electronicHealthRecord")]


def test_registry_names_are_unique():
    assert len(BY_NAME) == len(MEASURE_SOURCES)
