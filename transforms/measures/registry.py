"""Measure sources: the one list of where quality-measure rows come from.

Each source names the benchmark collection type its results are scored under, the input tables it
reads, and the engine that computes it. Engines contribute rows to the same outputs (measure_results,
measure_instances, and any other output table they declare); ``run_sources`` runs the engines of the
requested sources whose inputs are present and combines their rows per output table. A new engine
is one more entry here and one function with the ``Engine`` signature, not edits across files.

Engine signature::

    engine(con, *, performance_year, period_start, period_end, sources, levels) -> EngineOutput

``sources`` are the names of this engine's sources to compute (inputs present); the engine reads each
source's collection type from ``MEASURE_SOURCES`` (``collection_type_sql``). ``EngineOutput.tables`` maps
each output TableSpec to the DuckDB relation (table or view) holding this engine's rows, already with
the spec's columns; relations must not be named like the final output (``run_sources`` names those).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Sequence

import duckdb

from schemas.tables import TableSpec


@dataclass(frozen=True)
class MeasureSource:
    name: str              # measure_results.source
    collection_type: str   # measure_results.collection_type: the benchmark submission method it is scored under
    reads: tuple[str, ...]  # input tables (after ingest); the source runs when any of them is present
    engine: str            # "module:function" with the Engine signature
    description: str


MEASURE_SOURCES: tuple[MeasureSource, ...] = (
    MeasureSource("claims", "claims", ("medical_claim",), "transforms.measures:claims_spec_engine",
                  "Medicare Part B claim lines counted with CMS's claims measure specifications"),
    MeasureSource("encounters", "registry", ("encounter",), "transforms.measures:claims_spec_engine",
                  "the claims-coded encounter extract (encounters carrying CPT II / G quality data codes), counted "
                  "with the claims specifications and scored as registry (MIPS CQM) data"),
    # The eCQM engine reads fhir_resource (transforms.fhir_files) and ehr_attribution.
    MeasureSource("ehr", "electronicHealthRecord", ("fhir_resource",), "transforms.ecqm:compute_ecqm_measures",
                  "EHR clinical data (FHIR R4 or the flat clinical tables) evaluated with the year's eCQM logic"),
)
SOURCE_NAMES: tuple[str, ...] = tuple(s.name for s in MEASURE_SOURCES)
BY_NAME = {s.name: s for s in MEASURE_SOURCES}


@dataclass
class EngineOutput:
    tables: dict[TableSpec, str] = field(default_factory=dict)  # output spec -> relation with this engine's rows
    notes: list[str] = field(default_factory=list)              # what was not computed and why (no patient data)
    # relation -> its row count where the engine knows it from its own tables (counting a view would run its joins)
    rows: dict[str, int] = field(default_factory=dict)


Engine = Callable[..., EngineOutput]


def collection_type_sql(source_column: str = "source") -> str:
    """SQL giving each source's collection type, from the registry (never hard-coded in an engine's SQL)."""
    whens = " ".join(f"WHEN '{s.name}' THEN '{s.collection_type}'" for s in MEASURE_SOURCES)
    return f"CASE {source_column} {whens} END"


def load_engine(spec: str) -> Engine | None:
    """The engine function, or None when its module is not part of this build."""
    module_name, function = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            return None
        raise
    return getattr(module, function, None)


def _relations(con) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema IN ('main', 'temp')").fetchall()}


def _kind(con, name: str) -> str:
    return "VIEW" if con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal",
                                 [name]).fetchone()[0] else "TABLE"


def run_sources(con: duckdb.DuckDBPyConnection, *, performance_year: int, period_start: date, period_end: date,
                sources: Sequence[str] = SOURCE_NAMES, levels: Sequence[str] = ("individual", "group"),
                on_engine: Callable[[tuple[str, ...]], object] | None = None,
                rows: dict[str, int] | None = None,
                ) -> tuple[dict[str, TableSpec], list[str]]:
    """Run every engine of the requested sources that has its inputs; returns (output relation -> spec, notes).
    ``rows``, when given, receives the row count of each output whose engines all reported theirs
    (``EngineOutput.rows``); the others are left out, for the caller to count.

    Outputs several engines contribute to are combined into one relation named after the spec (cast and in
    key order); a table when every part is a table, else a view (measure_instances of a large claims year is
    a view that is sorted once, when published)."""
    unknown = [s for s in sources if s not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown measure source(s): {', '.join(unknown)}")
    present = _relations(con)
    active = [s for s in MEASURE_SOURCES if s.name in sources and set(s.reads) & present]
    notes: list[str] = []
    if not active:
        reads = "; ".join(f"{s.name}: {' or '.join(s.reads)}" for s in MEASURE_SOURCES if s.name in sources)
        notes.append(f"measures: no input a measure source reads ({reads}); skipped")
        return {}, notes
    parts: dict[str, list[str]] = {}
    specs: dict[str, TableSpec] = {}
    known_rows: dict[str, int] = {}
    for engine_name in dict.fromkeys(s.engine for s in active):
        names = tuple(s.name for s in active if s.engine == engine_name)
        engine = load_engine(engine_name)
        if engine is None:
            notes.append(f"measures: source {', '.join(names)} needs the engine {engine_name}, which this build "
                         f"does not have; not computed")
            continue
        if on_engine is not None:  # e.g. the command line's progress line: which sources are being computed
            on_engine(names)
        output = engine(con, performance_year=performance_year, period_start=period_start, period_end=period_end,
                        sources=names, levels=tuple(levels))
        notes += output.notes
        known_rows.update(output.rows)
        for spec, relation in output.tables.items():
            specs[spec.name] = spec
            parts.setdefault(spec.name, []).append(relation)
    outputs: dict[str, TableSpec] = {}
    for name, relations in parts.items():
        spec = specs[name]
        kinds = {_kind(con, r) for r in relations}
        for kind in ("VIEW", "TABLE"):  # an earlier run's relation of that name in this database
            con.execute(f'DROP {kind} IF EXISTS "{name}"')
        if len(relations) == 1:
            con.execute(f'ALTER {kinds.pop()} "{relations[0]}" RENAME TO "{name}"')
        else:
            union = " UNION ALL BY NAME ".join(f'SELECT * FROM "{r}"' for r in relations)
            kind = "TEMP VIEW" if "VIEW" in kinds else "TABLE"
            con.execute(f'CREATE {kind} "{name}" AS {spec.select_sql(f"({union})")}')
        outputs[name] = spec
        if rows is not None and all(r in known_rows for r in relations):
            rows[name] = sum(known_rows[r] for r in relations)
    return outputs, notes
