"""Quality-measure engine: every CMS claims measure of a performance year, in DuckDB SQL (sql/*.sql).

``compute_measures`` reads the validated input tables (claims: ``medical_claim`` + ``eligibility``; encounters:
``patient``, ``encounter``, ``condition``, ``procedure``; optional ``facility_event``) and the compiled claims
specification (``ref.claims_*``, see schemas/reference_claims.py), and creates the DuckDB table
``measure_results`` and the temporary view ``measure_instances`` (schemas/measures.py; the view names and sorts
the compact instances when read, so the tens of millions of instance rows of a big year are not materialised
twice). Counting follows docs/spec/claims-measure-logic.md; the counting class of each measure is data
(claims_measures). Row-heavy steps join, group and sort on integer surrogates whose order follows the strings
they stand for (sql/01_spec.sql, sql/02z_keys.sql).

Optional input ``facility_event`` (one row per facility event of a patient): person_id VARCHAR,
event_type VARCHAR ('inpatient_discharge' for 046, 'ed_ct_scan' for 415/416, 'mssa_stay' for 407),
event_date DATE. An eligible claim of the measure dated event_date .. event_date + facility_window_days belongs
to the event's instance. Without it those measures get rows with computed = FALSE and NULL counts.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from mips.errors import PipelineError
from mips.paths import REFERENCE_DIR, RULES_DIR
from schemas.measures import MEASURE_INSTANCES, MEASURE_RESULTS
from transforms.measures import counting_classes
from transforms.measures.registry import MEASURE_SOURCES, EngineOutput, collection_type_sql
from transforms.reference import attach_reference

SQL_DIR = Path(__file__).parent / "sql"
CLAIMS_SPEC_ENGINE = "transforms.measures:claims_spec_engine"
# the sources this engine counts (registry.MEASURE_SOURCES is the one list of sources)
SOURCES = tuple(s.name for s in MEASURE_SOURCES if s.engine == CLAIMS_SPEC_ENGINE)
LEVELS = ("individual", "group")

_EMPTY = {
    "eligibility": "(SELECT NULL::VARCHAR AS person_id, NULL::DATE AS birth_date, NULL::VARCHAR AS gender WHERE FALSE)",
    "patient": "(SELECT NULL::VARCHAR AS person_id, NULL::DATE AS birth_date, NULL::VARCHAR AS sex WHERE FALSE)",
    "condition": "(SELECT NULL::VARCHAR AS encounter_id, NULL::VARCHAR AS source_code WHERE FALSE)",
    "procedure": "(SELECT NULL::VARCHAR AS encounter_id, NULL::VARCHAR AS procedure_id, NULL::VARCHAR AS source_code, "
                 + ", ".join(f"NULL::VARCHAR AS modifier_{i}" for i in range(1, 6)) + " WHERE FALSE)",
}

_FACILITY_PARTS = """
UNION ALL
SELECT 'facility', inst_text, row_number() OVER (ORDER BY inst_text)
FROM (SELECT DISTINCT event_type || '|' || strftime(CAST(event_date AS DATE), '%Y-%m-%d') AS inst_text FROM facility_event)"""

_FACILITY_UNION = """
UNION ALL
-- facility: one instance per facility event with an eligible claim of the unit inside the event's window
SELECT u.part_key, u.counting_class, u.claim_idx, u.dos, u.result_rank, t.inst_ord
FROM m_unit_claims u
JOIN m_ms s USING (ms_idx)
JOIN m_persons p USING (person_idx)
JOIN (SELECT DISTINCT person_id, event_type, CAST(event_date AS DATE) AS event_date FROM facility_event) f
  ON f.person_id = p.person_id AND f.event_type = s.facility_event_type
 AND u.dos BETWEEN f.event_date AND f.event_date + coalesce(s.facility_window_days, 0)
JOIN m_inst_parts t ON t.counting_class = 'facility' AND t.inst_text = f.event_type || '|' || strftime(f.event_date, '%Y-%m-%d')
WHERE u.counting_class = 'facility'"""

_NOT_COMPUTED_UNION = """
UNION ALL
-- facility measures without the facility_event input: say so instead of reporting zeros
SELECT {performance_year}, DATE '{period_start}', DATE '{period_end}', u.source, u.level, u.tin, u.npi,
       s.measure_id, s.stratum, {collection_type},
       s.is_inverse, s.is_high_priority, s.measure_type,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, FALSE,
       'needs facility events (' || s.facility_event_type || '): no facility_event input given'
FROM (SELECT DISTINCT part_key // 1099511627776 AS unit_idx, ms_idx FROM m_unit_claims WHERE counting_class = 'facility') f
JOIN m_units u USING (unit_idx)
JOIN m_ms s USING (ms_idx)"""

# Each pass of the episode label propagation shortens every chain of claims linked by shared diagnoses by
# half or more; 100 passes settle any chain a year of one patient's claims can form.
EPISODE_PROPAGATION_MAX_PASSES = 100

# Bits of part_key (unit_idx * 2^40 + ms_idx * 2^28 + person_idx), of the packed pick (claim_idx: 38 bits) and of
# the match key (claim_idx * 2^24 + ms_idx * 2^12 + option group, 01_spec.sql).
_KEY_LIMITS = (
    ("SELECT count(*) FROM m_units", 2 ** 23, "counting units"),
    ("SELECT count(*) FROM m_ms", 2 ** 12, "measure strata"),
    ("SELECT count(*) FROM m_option_groups", 2 ** 12, "option groups"),
    ("SELECT count(*) FROM m_persons", 2 ** 28, "patients"),
    ("SELECT count(*) FROM m_claim_keys", 2 ** 38, "claims"),
)

# Work tables dropped at the end: the engine's own and those of the counting classes' steps (counting_classes.py);
# the ones measure_instances reads (m_inst, m_units, m_ms, m_persons, m_dx_codes, m_inst_parts and the name tables
# of 08_instances_view.sql, which drops m_claim_keys once m_claim_names has what it needs) stay for the connection's life.
_WORK_TABLES = (
    "m_measures", "m_option_groups", "m_elig_opts", "m_elig_codes", "m_perf_opts", "m_perf_codes", "m_line_codes",
    "m_restrictions", "m_line_profiles", "m_claims", "m_lines", "m_dx", "m_cand", "m_dx_roles", "m_dx_hits", "m_dx_counts", "m_apc_counts", "m_elig",
    "m_perf_match", "m_unit_claims", "m_results", *counting_classes.work_tables(),
)
# measure_instances' text columns that 08_instances_view.sql dictionary-encodes (ENUMs of the run's own values)
DICTIONARY_ENCODED_COLUMNS = ("source", "level", "tin", "npi", "measure_id", "stratum", "counting_class", "result",
                              "decided_by_npi")
_WORK_VIEWS = ("m_cand_all", "m_claim_results", "m_unit_claims_all", "m_inst_claims",
               *(f"m_{part}_{source}" for part in ("lines", "dx") for source in SOURCES))
_NO_LINES = "SELECT NULL::UBIGINT AS claim_key, NULL::VARCHAR AS line_key, NULL::VARCHAR AS code, NULL::UBIGINT AS profile WHERE FALSE"
_NO_DX = "SELECT NULL::UBIGINT AS claim_key, NULL::INTEGER AS dx_idx WHERE FALSE"


def quality_thresholds(performance_year: int, rules_dir: Path = RULES_DIR) -> tuple[float, int]:
    """(data completeness percent, case minimum) of the year, read through the scoring-rules loader
    (data/rules/<PY>.yaml is the single source; a year without a rule file is a PipelineError)."""
    from transforms.scoring.rules import load_rules

    rules = load_rules(performance_year, rules_dir)
    return float(rules["quality.data_completeness_percent"]), int(rules["quality.case_minimum"])


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema IN ('main', 'temp')").fetchall()}


def _used_diagnosis_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """medical_claim's diagnosis_code_<n> columns holding any value: unnesting 25 mostly empty columns of
    millions of lines costs more than this one columnar scan."""
    cols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'medical_claim' "
        "AND regexp_full_match(column_name, 'diagnosis_code_[0-9]+') ORDER BY ordinal_position").fetchall()]
    if not cols:
        return []
    filled = con.execute("SELECT " + ", ".join(f'count("{c}")' for c in cols) + " FROM medical_claim").fetchone()
    return [f'"{c}"' for c, n in zip(cols, filled) if n]


def _run(con: duckdb.DuckDBPyConnection, name: str, **params) -> None:
    sql = (SQL_DIR / name).read_text(encoding="utf-8")
    for key, value in params.items():
        sql = sql.replace("{" + key + "}", str(value))
    con.execute(sql)


def compute_measures(
    con: duckdb.DuckDBPyConnection,
    *,
    performance_year: int,
    period_start: date,
    period_end: date,
    sources: tuple[str, ...] = SOURCES,
    levels: tuple[str, ...] = LEVELS,
    reference_dir: Path | None = None,
    rules_dir: Path = RULES_DIR,
    dictionary_encoded: bool = False,
) -> int:
    """Create ``measure_results`` and ``measure_instances`` for the reporting period [period_start, period_end];
    returns the number of rows of ``measure_instances`` (one per compact instance, so the view need not be read).

    ``dictionary_encoded``: measure_instances keeps its low-cardinality text columns (DICTIONARY_ENCODED_COLUMNS) as
    the ENUMs it sorts them as, for publishing (Parquet stores them as string columns, several times faster than
    from text); otherwise every column has its declared type."""
    if not isinstance(period_start, date) or not isinstance(period_end, date):
        raise PipelineError("period_start and period_end must be dates")
    period_start = period_start.date() if isinstance(period_start, datetime) else period_start
    period_end = period_end.date() if isinstance(period_end, datetime) else period_end
    if period_start > period_end:
        raise PipelineError(f"reporting period starts after it ends ({period_start} > {period_end})")
    if period_start.year != performance_year or period_end.year != performance_year:
        raise PipelineError(f"reporting period {period_start}..{period_end} is not inside performance year {performance_year}")
    bad = [s for s in sources if s not in SOURCES] + [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise PipelineError(f"unknown source or level: {', '.join(bad)}")

    has_ref = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ref' "
                          "AND table_name = 'claims_measures'").fetchone()[0]
    if not has_ref:
        attach_reference(con, reference_dir or REFERENCE_DIR)
    dc_percent, case_minimum = quality_thresholds(performance_year, rules_dir)
    params = dict(performance_year=int(performance_year), period_start=period_start.isoformat(),
                  period_end=period_end.isoformat(), data_completeness_percent=dc_percent, case_minimum=case_minimum)
    classes = counting_classes.sql_fragments(period_start.isoformat())

    _run(con, "01_spec.sql", **params)
    if not con.execute("SELECT count(*) FROM m_measures").fetchone()[0]:
        raise PipelineError(f"no claims measure specification for performance year {performance_year}")
    restrictions = con.execute("SELECT count(*) FROM m_restrictions").fetchone()[0]
    if restrictions > 64:  # one bit each in a line's pass_mask (UBIGINT)
        raise PipelineError(f"the claims specification of {performance_year} has {restrictions} distinct place-of-service "
                            "and modifier rules; the engine handles at most 64")

    con.execute("""
        CREATE OR REPLACE TEMP TABLE m_claims (claim_key UBIGINT, source VARCHAR, claim_id VARCHAR, tin VARCHAR, npi VARCHAR,
                                               person_id VARCHAR, dos DATE, birth_date DATE, sex_code VARCHAR);
        -- a source's lines (claim_key, line_key, code, profile) and diagnoses (claim_key, dx_idx) are its views
        -- m_lines_<source> and m_dx_<source>; profile: m_line_profile of the line's place of service and modifiers
        CREATE OR REPLACE TEMP TABLE m_line_profiles (profile UBIGINT, pos VARCHAR, m1 VARCHAR, m2 VARCHAR, m3 VARCHAR,
                                                      m4 VARCHAR, m5 VARCHAR);
    """)
    present = _tables(con)
    relations = {name: (f'"{name}"' if name in present else _EMPTY[name]) for name in _EMPTY}
    read = []  # the sources read: each made its m_lines_<source> and m_dx_<source> views
    if "claims" in sources and "medical_claim" in present:
        _run(con, "02_claims_source.sql", **params, eligibility=relations["eligibility"],
             dx_columns=", ".join(_used_diagnosis_columns(con)) or "NULL::VARCHAR")
        read.append("claims")
    if "encounters" in sources and "encounter" in present:
        _run(con, "02_encounters_source.sql", **params,
             **{k: relations[k] for k in ("patient", "condition", "procedure")})
        read.append("encounters")

    _run(con, "02z_keys.sql",
         source_lines=" UNION ALL ".join(f"SELECT * FROM m_lines_{s}" for s in read) or _NO_LINES,
         source_dx=" UNION ALL ".join(f"SELECT * FROM m_dx_{s}" for s in read) or _NO_DX)
    for count_sql, limit, what in _KEY_LIMITS:
        if con.execute(count_sql).fetchone()[0] >= limit:
            raise PipelineError(f"too many {what} for one run (limit {limit:,}); split the inputs")
    if con.execute("SELECT count(*) FROM m_line_profiles WHERE variants > 1").fetchone()[0]:
        # two distinct (place of service, modifiers) with one 64-bit key: their lines could not be told apart
        raise PipelineError("two claim lines' place of service and modifiers share a profile key (a hash collision); "
                            "the line rules cannot be applied")
    _run(con, "03_eligibility.sql", **params)
    _run(con, "04_claim_results.sql", **params)
    _run(con, "05_units.sql", **classes, levels_values=", ".join(f"('{lv}')" for lv in levels))
    _run(con, "05a_episode_edges.sql")
    # Connected components by label propagation: set-based steps, repeated until no claim's label changes.
    for _ in range(EPISODE_PROPAGATION_MAX_PASSES):
        _run(con, "05a_episode_step.sql")
        changed = con.execute("""SELECT count(*) FROM m_ep_label a JOIN m_ep_label_next b USING (part_key, node)
                                 WHERE a.label <> b.label""").fetchone()[0]
        con.execute("CREATE OR REPLACE TEMP TABLE m_ep_label AS SELECT * FROM m_ep_label_next")
        if not changed:
            break
    else:
        # Stopping here would split one episode into several and overcount it: refuse instead.
        raise PipelineError(f"episode grouping did not settle after {EPISODE_PROPAGATION_MAX_PASSES} passes "
                            "(a chain of claims linked by shared diagnoses is longer than that); "
                            "episode-based measures cannot be counted for this input")
    _run(con, "05b_windows.sql")
    has_facility = "facility_event" in present
    _run(con, "06_instances.sql", **params, **classes, facility_union=_FACILITY_UNION if has_facility else "",
         facility_parts=_FACILITY_PARTS if has_facility else "")
    not_computed = "" if has_facility else _NOT_COMPUTED_UNION
    for key, value in {**params, "collection_type": collection_type_sql("u.source")}.items():
        not_computed = not_computed.replace("{" + key + "}", str(value))
    _run(con, "07_results.sql", **params, not_computed_union=not_computed,
         collection_type=collection_type_sql("source"))

    # 08_instances_view.sql puts the instance key together over its sorted subquery ``i``
    instance_key = classes["instance_key"].replace("s.counting_class", "i.class_name").replace("t.inst_text", "i.inst_text")
    _run(con, "08_instances_view.sql", **params, **{**classes, "instance_key": instance_key})

    con.execute(f"CREATE OR REPLACE TABLE measure_results AS {MEASURE_RESULTS.select_sql('m_results')}")
    # A view with the declared columns and types, in the engine's key order (see 08_instances_view.sql).
    kinds = con.execute("SELECT 'TABLE' FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'measure_instances' "
                        "UNION ALL SELECT 'VIEW' FROM duckdb_views() WHERE schema_name = 'main' "
                        "AND view_name = 'measure_instances'").fetchall()
    for (kind,) in kinds:  # a table left by an earlier run in this database would hide nothing but confuse readers
        con.execute(f"DROP {kind} main.measure_instances")
    # m_instances_named is in key order already (its subquery sorts on the integer keys; projections keep it).
    # dictionary_encoded: the names stay ENUMs for a writer that stores them as string columns (mips/store.py).
    casts = ", ".join(f'"{c.name}"' if dictionary_encoded and c.name in DICTIONARY_ENCODED_COLUMNS
                      else f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in MEASURE_INSTANCES.columns)
    con.execute(f"CREATE OR REPLACE TEMP VIEW measure_instances AS SELECT {casts} FROM m_instances_named")
    for name in _WORK_VIEWS:
        con.execute(f"DROP VIEW IF EXISTS temp.{name}")
    for name in _WORK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")
    # the view reads m_inst one to one: its joins are on m_inst's own keys, and m_inst_parts has one row per part
    return int(con.execute("SELECT count(*) FROM m_inst").fetchone()[0])


def claims_spec_engine(con: duckdb.DuckDBPyConnection, *, performance_year: int, period_start: date, period_end: date,
                       sources: tuple[str, ...], levels: tuple[str, ...]) -> EngineOutput:
    """The registry's engine for the claims and encounters sources (see transforms/measures/registry.py)."""
    has_ref = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ref' "
                          "AND table_name = 'claims_measures'").fetchone()[0]
    if not has_ref:
        attach_reference(con)
    if not con.execute("SELECT count(*) FROM ref.claims_measures WHERE performance_year = ?",
                       [performance_year]).fetchone()[0]:
        # CMS publishes the claims specification with the year's measures; say so rather than report zeros
        years = [r[0] for r in con.execute(
            "SELECT DISTINCT performance_year FROM ref.claims_measures ORDER BY 1").fetchall()]
        return EngineOutput(notes=[
            f"measures ({', '.join(sources)}): no CMS claims measure specification for performance year "
            f"{performance_year} in the reference data (it has {years[0]}-{years[-1]}); quality measures not computed"])
    instances = compute_measures(con, performance_year=performance_year, period_start=period_start,
                                 period_end=period_end, sources=tuple(sources), levels=tuple(levels),
                                 dictionary_encoded=True)
    con.execute('ALTER TABLE measure_results RENAME TO "claims_spec__measure_results"')
    con.execute('ALTER VIEW measure_instances RENAME TO "claims_spec__measure_instances"')
    return EngineOutput({MEASURE_RESULTS: "claims_spec__measure_results",
                         MEASURE_INSTANCES: "claims_spec__measure_instances"},
                        rows={"claims_spec__measure_instances": instances})
