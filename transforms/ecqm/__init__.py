"""The eCQM engine: CMS eCQMs computed in DuckDB from FHIR resources, set-based, one small SQL file per measure.

``compute_ecqms`` reads ``fhir_resource`` (one row per FHIR resource with its owning patient; made by the FHIR
file layer, transforms/fhir_files.py), optionally ``ehr_attribution`` (person_id, encounter_id, tin, npi), and the
compiled eCQM reference (``ref.ecqm_*``: value sets, direct codes, Measure groups). It builds the IR
(transforms/ecqm/ir.py), the shared building blocks (sql/02_blocks.sql) for the measurement period, runs every
measure definition of the performance year (``measures/<MeasureName>.sql``), applies the proportion-measure
population rules once for all measures, and creates:

- ``measure_populations`` (schemas/ecqm.py): each patient's or episode's populations per group, level, TIN, NPI;
- ``ehr_measure_results`` and ``ehr_measure_instances``: the same counts with the columns of measure_results and
  measure_instances (source 'ehr', collection type 'electronicHealthRecord'). ``compute_ecqm_measures`` is the
  engine entry of the measure-source registry (transforms/measures/registry.py), which combines these rows with
  the other sources' into measure_results and measure_instances.

A measure definition is one SQL query returning, for every patient (patient-based) or episode (episode-based) it
evaluates: population_group, person_id, episode ('Encounter/<id>' or NULL), the raw CQL criteria
initial_population, denominator, denominator_exclusion, denominator_exception, numerator, numerator_exclusion
(BOOLEAN; NULL where the measure has no such definition), and strata (comma-joined stratifier ids met, or NULL).
The engine applies the MeasureReport rules (denominator within the initial population, exclusions and numerator
within the denominator, numerator not when excluded, exception only when neither excluded nor in the numerator,
numerator exclusion only within the numerator) and sets NULL the populations the Measure's group does not define.

A year whose eCQM logic we do not have gives rows with computed = FALSE and the reason, never another year's logic.
See docs/ecqm.md and /work/wt/ecqm-framework.md (how to add a measure).
"""
from __future__ import annotations

import csv
import re
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from mips.errors import PipelineError
from mips.paths import DATA_DIR, REFERENCE_DIR, RULES_DIR
from schemas.ecqm import MEASURE_POPULATIONS, POPULATION_COLUMNS
from schemas.measures import MEASURE_INSTANCES, MEASURE_RESULTS
from transforms.ecqm.ir import build_ir
from transforms.reference import attach_reference

SQL_DIR = Path(__file__).parent / "sql"
MEASURES_DIR = Path(__file__).parent / "measures"
GROUP_STRATA = DATA_DIR / "ecqm" / "group_strata.csv"
# a measure whose MIPS strata are the stratifiers of one group (370/CMS159: adolescents, adults)
STRATIFIER_STRATA = DATA_DIR / "ecqm" / "stratifier_strata.csv"
LEVELS = ("individual", "group")
SOURCE = "ehr"
COLLECTION_TYPE = "electronicHealthRecord"
# population code of the Measure resource -> measure_populations column
POPULATION_CODES = {c.replace("_", "-"): c for c in POPULATION_COLUMNS}
# a value set OID as the measure SQL quotes it ('2.16.840.1.113883.3.464.1003.101.12.1001')
_OID = re.compile(r"'([0-9]+(?:\.[0-9]+){3,})'")


@dataclass
class EcqmRun:
    """What one run computed: measures run, measures not computed (with the reason), patients and notes."""
    performance_year: int
    computed: list[str] = field(default_factory=list)
    not_computed: dict[str, str] = field(default_factory=dict)
    patients: int = 0
    notes: list[str] = field(default_factory=list)
    # step ('ir', 'blocks', a measure name, 'populations', 'results') -> (wall seconds, process CPU seconds)
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)
    # step -> the process's peak resident memory (MiB) so far, read at the end of the step (None where unknown)
    peaks: dict[str, float | None] = field(default_factory=dict)

    @contextmanager
    def timed(self, step: str):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.timings[step] = (time.perf_counter() - wall, time.process_time() - cpu)
            self.peaks[step] = _peak_rss_mib()


def _peak_rss_mib() -> float | None:
    try:
        import resource
    except ImportError:  # not a Unix
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure_definitions(measures_dir: Path = MEASURES_DIR) -> dict[str, Path]:
    """Measure name (the deck's FHIR library name) -> its SQL file."""
    return {p.stem: p for p in sorted(Path(measures_dir).glob("*.sql"))}


def _group_strata(path: Path = GROUP_STRATA) -> list[tuple[str, str, str]]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [(r["measure_name"], r["group_id"], r["stratum"]) for r in csv.DictReader(fh)]


def _stratifier_strata(path: Path = STRATIFIER_STRATA) -> list[tuple[str, str, str]]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [(r["measure_name"], r["stratifier_id"], r["stratum"]) for r in csv.DictReader(fh)]


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema IN ('main', 'temp')").fetchall()}


def compute_ecqms(
    con: duckdb.DuckDBPyConnection,
    *,
    performance_year: int,
    period_start: date,
    period_end: date,
    levels: tuple[str, ...] = LEVELS,
    default_tin: str | None = None,
    default_npi: str | None = None,
    measures_dir: Path = MEASURES_DIR,
    reference_dir: Path | None = None,
    rules_dir: Path = RULES_DIR,
    collection_type: str = COLLECTION_TYPE,
    measures: Iterable[str] | None = None,
) -> EcqmRun:
    """Create measure_populations, ehr_measure_results and ehr_measure_instances for the measurement period.

    ``measures`` restricts the run to some of the year's eCQMs (MIPS ids such as '001', CMS ids such as 'CMS122' or
    'CMS122v14', or measure names): a practice that reports 6 measures computes those 6. The IR then keeps only the
    value-set hits those measures and the shared blocks read. None (the default) computes every eCQM of the year."""
    from transforms.measures import quality_thresholds

    if not isinstance(period_start, date) or not isinstance(period_end, date) or period_start > period_end:
        raise PipelineError("the eCQM measurement period needs a start date on or before its end date")
    if period_start.year != performance_year or period_end.year != performance_year:
        raise PipelineError(f"measurement period {period_start}..{period_end} is not inside performance year {performance_year}")
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise PipelineError(f"unknown level: {', '.join(bad)}")
    if "fhir_resource" not in _tables(con):
        raise PipelineError("no fhir_resource table: load the FHIR input first (transforms/fhir_files.py)")
    has_ref = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ref' "
                          "AND table_name = 'ecqm_value_set_codes'").fetchone()[0]
    if not has_ref:
        attach_reference(con, reference_dir or REFERENCE_DIR)
    _, case_minimum = quality_thresholds(performance_year, rules_dir)
    run = EcqmRun(performance_year)

    definitions = measure_definitions(measures_dir)
    catalog = con.execute("""SELECT measure_name, measure_id, cms_id, performance_year FROM ref.ecqm_measures
                             WHERE measure_id IS NOT NULL ORDER BY measure_id""").fetchall()
    logic_years = sorted({py for name, _, _, py in catalog if name in definitions})
    selected = None if measures is None else select_measures(catalog, performance_year, measures)
    to_run = [(name, mid, cms) for name, mid, cms, py in catalog
              if py == performance_year and name in definitions and (selected is None or name in selected)]
    for name, mid, cms, py in catalog:
        if py == performance_year and name not in definitions and (selected is None or name in selected):
            run.not_computed[mid] = f"no definition yet for {cms} ({name}) in transforms/ecqm/measures"

    blocks = (SQL_DIR / "02_blocks.sql").read_text(encoding="utf-8")
    measure_sql = {name: definitions[name].read_text(encoding="utf-8") for name, _, _ in to_run}
    with run.timed("ir"):
        _create_attribution(con, default_tin, default_npi)
        # the value sets the logic names (every OID is a quoted literal of the blocks or a measure's SQL): a value-set
        # hit of another value set is never read, so the IR does not build it
        build_ir(con, value_set_oids=sorted(set(_OID.findall(blocks)).union(*(_OID.findall(t) for t in measure_sql.values()))))
    run.patients = con.execute("SELECT count(*) FROM ecqm_patient").fetchone()[0]
    mp_end_excl = period_end + timedelta(days=1)
    for key, value in {"mp_start": f"{period_start.isoformat()} 00:00:00", "mp_end_excl": f"{mp_end_excl.isoformat()} 00:00:00",
                       "mp_start_date": period_start.isoformat(), "mp_end_date": period_end.isoformat()}.items():
        blocks = blocks.replace("{" + key + "}", value)
    with run.timed("blocks"):
        con.execute(blocks)

    con.execute("""CREATE OR REPLACE TEMP TABLE _ecqm_criteria (measure_name VARCHAR, population_group VARCHAR,
                   person_id VARCHAR, episode VARCHAR, initial_population BOOLEAN, denominator BOOLEAN,
                   denominator_exclusion BOOLEAN, denominator_exception BOOLEAN, numerator BOOLEAN,
                   numerator_exclusion BOOLEAN, strata VARCHAR)""")
    if not to_run and performance_year not in logic_years:
        years = ", ".join(str(y) for y in logic_years) or "none"
        reason = (f"no eCQM logic for performance year {performance_year} (the engine has {years}); "
                  "another year's logic is never applied")
        for mid, cms in con.execute("""SELECT measure_id, e_measure_id FROM ref.quality_measures
                                       WHERE performance_year = ? AND e_measure_id IS NOT NULL
                                         AND list_contains(string_split(submission_methods, ','), 'electronicHealthRecord')
                                       ORDER BY measure_id""", [performance_year]).fetchall():
            run.not_computed[mid] = reason
        run.notes.append(f"eCQMs: {reason}")
    # say where a number may be low: value sets the logic uses whose compiled expansion is only a first page
    used_sql = [blocks] + list(measure_sql.values())
    partial = [f"{title} ({n:,} of {total:,} codes)" if n < total else
               f"{title} ({n:,} codes of an earlier published expansion; the current one has {total:,})"
               for oid, title, n, total in con.execute(
        "SELECT value_set_oid, title, code_count, expansion_total FROM ref.ecqm_value_sets WHERE NOT is_complete "
        "ORDER BY title").fetchall() if to_run and any(f"'{oid}'" in text for text in used_sql)]
    if partial:
        run.notes.append("eCQMs: value sets with an incomplete expansion (a code beyond it is not recognised, so an "
                         "exclusion may be missed): " + ", ".join(partial))
    for name, mid, cms in to_run:
        sql = measure_sql[name].strip().rstrip(";")
        try:
            with run.timed(name):
                con.execute(f"""INSERT INTO _ecqm_criteria
                SELECT '{name}', population_group, person_id, episode, initial_population, denominator,
                       denominator_exclusion, denominator_exception, numerator, numerator_exclusion, strata
                FROM ({sql})""")
        except duckdb.Error as exc:
            raise PipelineError(f"eCQM definition {definitions[name].name} failed: {str(exc).splitlines()[0]}") from None
        run.computed.append(mid)

    con.execute("CREATE OR REPLACE TEMP TABLE _ecqm_group_strata (measure_name VARCHAR, group_id VARCHAR, stratum VARCHAR)")
    rows = _group_strata()
    if rows:
        con.executemany("INSERT INTO _ecqm_group_strata VALUES (?, ?, ?)", rows)
    con.execute("CREATE OR REPLACE TEMP TABLE _ecqm_stratifier_strata (measure_name VARCHAR, stratifier_id VARCHAR, "
                "stratum VARCHAR)")
    rows = _stratifier_strata()
    if rows:
        con.executemany("INSERT INTO _ecqm_stratifier_strata VALUES (?, ?, ?)", rows)
    with run.timed("populations"):
        _populations(con, performance_year, period_start, period_end, levels)
    with run.timed("results"):
        _results(con, performance_year, period_start, period_end, case_minimum, run, levels, collection_type)
    return run


def select_measures(catalog, performance_year: int, wanted: Iterable[str]) -> set[str]:
    """The measure names of ``wanted`` (MIPS ids '001' or '1', CMS ids 'CMS122' or 'CMS122v14', or measure names)
    among the year's eCQMs of ``catalog`` (measure_name, measure_id, cms_id, performance_year); one error names
    every item that is none of them."""
    by_key: dict[str, str] = {}
    for name, mid, cms, py in catalog:
        if py != performance_year:
            continue
        by_key[name.lower()] = name
        by_key[str(mid).lower()] = name
        if cms:
            by_key[cms.lower()] = name
            by_key[re.sub(r"v\d+$", "", cms.lower())] = name
    names, unknown = set(), []
    for item in wanted:
        key = str(item).strip().lower()
        key = key.zfill(3) if key.isdigit() else key
        if key in by_key:
            names.add(by_key[key])
        elif key:
            unknown.append(str(item).strip())
    if unknown:
        raise PipelineError(f"not an eCQM of performance year {performance_year}: {', '.join(unknown)} "
                            "(give MIPS ids such as 001, CMS ids such as CMS122, or measure names)")
    if not names:
        raise PipelineError("no eCQM selected: give at least one MIPS id, CMS id or measure name")
    return names


def _create_attribution(con, default_tin: str | None, default_npi: str | None) -> None:
    """_ecqm_attr: (person_id, encounter_id, tin, npi) from ehr_attribution, with the defaults for what names none."""
    tin = "NULL" if default_tin is None else "'" + str(default_tin).replace("'", "''") + "'"
    npi = "NULL" if default_npi is None else "'" + str(default_npi).replace("'", "''") + "'"
    if "ehr_attribution" in _tables(con):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _ecqm_attr AS
                        SELECT DISTINCT person_id, encounter_id, coalesce(tin, {tin}) AS tin,
                               CASE WHEN tin IS NULL THEN coalesce(npi, {npi}) ELSE npi END AS npi
                        FROM ehr_attribution""")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _ecqm_attr (person_id VARCHAR, encounter_id VARCHAR, tin VARCHAR, npi VARCHAR)")
    con.execute(f"CREATE OR REPLACE TEMP MACRO ecqm_default_tin() AS {tin}::VARCHAR")
    con.execute(f"CREATE OR REPLACE TEMP MACRO ecqm_default_npi() AS {npi}::VARCHAR")


def _populations(con, performance_year: int, period_start: date, period_end: date, levels) -> None:
    # population rules of a proportion measure (FHIR Quality Measure IG, "Proportion measure scoring")
    con.execute("""
    CREATE OR REPLACE TEMP TABLE _ecqm_cascade AS
    WITH c AS (
        SELECT measure_name, population_group, person_id, episode, strata,
               bool_or(coalesce(initial_population, FALSE)) AS ip, bool_or(coalesce(denominator, FALSE)) AS den,
               bool_or(coalesce(denominator_exclusion, FALSE)) AS denex,
               bool_or(coalesce(denominator_exception, FALSE)) AS denexcep,
               bool_or(coalesce(numerator, FALSE)) AS num, bool_or(coalesce(numerator_exclusion, FALSE)) AS numex
        FROM _ecqm_criteria GROUP BY ALL),
    d AS (SELECT *, ip AND den AS in_den FROM c WHERE ip),
    e AS (SELECT *, in_den AND denex AS in_denex FROM d),
    f AS (SELECT *, in_den AND NOT in_denex AND num AS in_num FROM e)
    SELECT f.measure_name, m.measure_id, m.cms_id, f.population_group, f.person_id, f.episode, f.strata,
           -- a mapped group takes its measures-data stratum; an empty one is the measure's single performance
           -- rate (438: four disjoint groups, one rate); a mapped stratifier (370: the age strata) takes its own;
           -- an unmapped group of a multi-group measure keeps its id
           CASE WHEN s.group_id IS NOT NULL THEN nullif(s.stratum, '')
                WHEN ss.stratum IS NOT NULL THEN ss.stratum
                WHEN m.group_count > 1 THEN f.population_group END AS stratum,
           1 AS initial_population,
           CASE WHEN list_contains(g.codes, 'denominator') THEN in_den::INTEGER END AS denominator,
           CASE WHEN list_contains(g.codes, 'denominator-exclusion') THEN in_denex::INTEGER END AS denominator_exclusion,
           CASE WHEN list_contains(g.codes, 'denominator-exception')
                THEN (in_den AND NOT in_denex AND NOT in_num AND denexcep)::INTEGER END AS denominator_exception,
           CASE WHEN list_contains(g.codes, 'numerator') THEN in_num::INTEGER END AS numerator,
           CASE WHEN list_contains(g.codes, 'numerator-exclusion') THEN (in_num AND numex)::INTEGER END AS numerator_exclusion
    FROM f
    JOIN ref.ecqm_measures m USING (measure_name)
    JOIN (SELECT measure_name, group_id, list(population_code) AS codes FROM ref.ecqm_measure_groups GROUP BY ALL) g
      ON g.measure_name = f.measure_name AND g.group_id = f.population_group
    LEFT JOIN _ecqm_group_strata s ON s.measure_name = f.measure_name AND s.group_id = f.population_group
    -- a stratifier the patient (episode) meets that is a MIPS stratum; such stratifiers must be disjoint (one row
    -- per patient and group), as CMS159's age bands are
    LEFT JOIN _ecqm_stratifier_strata ss
      ON ss.measure_name = f.measure_name AND list_contains(string_split(f.strata, ','), ss.stratifier_id)
    """)
    # Attribution: an episode to its encounter's TIN/NPI; a patient to the TIN/NPIs of their encounters in the
    # period (else of any of their encounters); what names none goes to the default TIN/NPI.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE _ecqm_unit AS
    WITH enc AS (
        SELECT a.person_id, a.encounter_id, a.tin, a.npi,
               EXISTS (SELECT 1 FROM ecqm_resource e WHERE e.person_id = a.person_id AND e.resource_type = 'Encounter'
                         AND e.resource_id = a.encounter_id
                         AND overlaps_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())) AS in_period
        FROM _ecqm_attr a WHERE a.tin IS NOT NULL),
    patient_attr AS (
        SELECT DISTINCT person_id, tin, npi FROM enc e
        WHERE in_period OR NOT EXISTS (SELECT 1 FROM enc x WHERE x.person_id = e.person_id AND x.in_period)),
    k AS (SELECT DISTINCT person_id, episode FROM _ecqm_cascade),
    attributed AS (
        SELECT k.person_id, k.episode, a.tin, a.npi FROM k JOIN enc a
          ON k.episode IS NOT NULL AND a.person_id = k.person_id AND 'Encounter/' || a.encounter_id = k.episode
        UNION
        -- a patient, or an episode that is not an encounter (CMS133's Procedure episodes), goes to the patient's units
        SELECT k.person_id, k.episode, a.tin, a.npi FROM k JOIN patient_attr a
          ON (k.episode IS NULL OR k.episode NOT LIKE 'Encounter/%') AND a.person_id = k.person_id)
    SELECT * FROM attributed
    UNION ALL
    SELECT k.person_id, k.episode, ecqm_default_tin(), ecqm_default_npi() FROM k
    WHERE NOT EXISTS (SELECT 1 FROM attributed a WHERE a.person_id = k.person_id AND a.episode IS NOT DISTINCT FROM k.episode)
    """)
    unattributed = con.execute("SELECT count(*) FROM _ecqm_unit WHERE tin IS NULL").fetchone()[0]
    if unattributed:
        raise PipelineError(f"{unattributed} eCQM patients or episodes have no TIN (no Encounter serviceProvider with a "
                            "TIN): give --default-tin and --default-npi to attribute them")
    level_rows = []
    if "individual" in levels:
        level_rows.append("SELECT 'individual' AS level, person_id, episode, tin, npi FROM _ecqm_unit WHERE npi IS NOT NULL")
    if "group" in levels:
        level_rows.append("SELECT DISTINCT 'group' AS level, person_id, episode, tin, NULL AS npi FROM _ecqm_unit")
    units = " UNION ALL ".join(level_rows) or "SELECT NULL AS level, NULL AS person_id, NULL AS episode, NULL AS tin, NULL AS npi WHERE FALSE"
    con.execute(f"""
    CREATE OR REPLACE TABLE measure_populations AS {MEASURE_POPULATIONS.select_sql(f'''(
        SELECT {int(performance_year)} AS performance_year, DATE '{period_start.isoformat()}' AS period_start,
               DATE '{period_end.isoformat()}' AS period_end, '{SOURCE}' AS source, u.level, u.tin, u.npi,
               c.measure_id, c.cms_id, c.population_group, c.stratum, c.strata, c.person_id, c.episode,
               c.initial_population, c.denominator, c.denominator_exclusion, c.denominator_exception, c.numerator,
               c.numerator_exclusion
        FROM _ecqm_cascade c JOIN ({units}) u ON u.person_id = c.person_id AND u.episode IS NOT DISTINCT FROM c.episode)''')}
    """)


def _results(con, performance_year: int, period_start: date, period_end: date, case_minimum: int, run: EcqmRun,
             levels, collection_type: str) -> None:
    """ehr_measure_results and ehr_measure_instances: one instance per denominator member, one result row per unit."""
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _ecqm_instances AS
    SELECT p.performance_year, p.period_start, p.period_end, p.source, p.level, p.tin, p.npi, p.measure_id, p.stratum,
           p.person_id || coalesce('|' || p.episode, '') AS instance_key,
           CASE WHEN p.episode IS NULL THEN 'ecqm patient' ELSE 'ecqm episode' END AS counting_class,
           p.person_id,
           coalesce(CAST(ep.start_ts AS DATE), fe.first_day, p.period_start) AS instance_date,
           CASE WHEN coalesce(p.denominator_exclusion, 0) = 1 THEN 'eligible_population_exclusion'
                WHEN coalesce(p.numerator, 0) = 1 THEN 'performance_met'
                WHEN coalesce(p.denominator_exception, 0) = 1 THEN 'eligible_population_exception'
                ELSE 'performance_not_met' END AS result,
           ep.resource_id AS decided_by_claim_id, CAST(ep.start_ts AS DATE) AS decided_by_date, p.npi AS decided_by_npi
    FROM measure_populations p
    -- the episode's resource: each distinct episode's reference split into type and id once (a join on type || '/'
    -- || id would build that text for every resource; a join per population row would hash every row with its columns)
    LEFT JOIN (SELECT k.person_id, k.episode, r.resource_id, r.start_ts
               FROM (SELECT DISTINCT person_id, episode FROM _ecqm_cascade WHERE episode IS NOT NULL) k
               JOIN ecqm_resource r ON r.person_id = k.person_id AND r.resource_type = split_part(k.episode, '/', 1)
                                   AND r.resource_id = substr(k.episode, strpos(k.episode, '/') + 1)) ep
           ON ep.person_id = p.person_id AND ep.episode = p.episode
    -- else the patient's first encounter in the period, grouped once
    LEFT JOIN (SELECT person_id, min(CAST(start_ts AS DATE)) AS first_day FROM ecqm_resource
               WHERE resource_type = 'Encounter'
                 AND CAST(start_ts AS DATE) BETWEEN DATE '{period_start.isoformat()}' AND DATE '{period_end.isoformat()}'
               GROUP BY person_id) fe ON fe.person_id = p.person_id
    WHERE coalesce(p.denominator, p.initial_population) = 1
    """)
    con.execute(f"CREATE OR REPLACE TABLE ehr_measure_instances AS {MEASURE_INSTANCES.select_sql('_ecqm_instances')}")
    not_computed = " UNION ALL ".join(
        f"SELECT '{mid}' AS measure_id, '{reason.replace(chr(39), chr(39) * 2)}' AS reason"
        for mid, reason in sorted(run.not_computed.items())) or "SELECT NULL AS measure_id, NULL AS reason WHERE FALSE"
    level_units = []
    if "individual" in levels:
        level_units.append("SELECT 'individual' AS level, tin, npi FROM _ecqm_attr_all WHERE npi IS NOT NULL")
    if "group" in levels:
        level_units.append("SELECT 'group' AS level, tin, NULL AS npi FROM _ecqm_attr_all")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _ecqm_levels AS
        WITH _ecqm_attr_all AS (SELECT tin, npi FROM _ecqm_attr WHERE tin IS NOT NULL
                                UNION SELECT ecqm_default_tin(), ecqm_default_npi() WHERE ecqm_default_tin() IS NOT NULL)
        SELECT DISTINCT level, tin, npi FROM measure_populations
        UNION SELECT * FROM ({' UNION ALL '.join(level_units) or "SELECT NULL, NULL, NULL WHERE FALSE"})""")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _ecqm_results AS
    WITH counts AS (
        SELECT level, tin, npi, measure_id, stratum, count(*) AS eligible_population,
               count(*) FILTER (WHERE result = 'eligible_population_exclusion') AS excl,
               count(*) FILTER (WHERE result = 'eligible_population_exception') AS excep,
               count(*) FILTER (WHERE result = 'performance_met') AS met,
               count(*) FILTER (WHERE result = 'performance_not_met') AS not_met
        FROM ehr_measure_instances GROUP BY ALL)
    SELECT {int(performance_year)} AS performance_year, DATE '{period_start.isoformat()}' AS period_start,
           DATE '{period_end.isoformat()}' AS period_end, '{SOURCE}' AS source, c.level, c.tin, c.npi, c.measure_id,
           c.stratum, '{collection_type}' AS collection_type, q.is_inverse, q.is_high_priority, q.measure_type,
           c.eligible_population, c.excl AS eligible_population_exclusion, c.excep AS eligible_population_exception,
           c.met AS performance_met, c.not_met AS performance_not_met,
           100.0 AS reporting_rate,  -- an eCQM gives every eligible instance a result
           CASE WHEN c.met + c.not_met > 0 THEN 100.0 * c.met / (c.met + c.not_met) END AS performance_rate,
           TRUE AS meets_data_completeness, c.eligible_population >= {int(case_minimum)} AS meets_case_minimum,
           TRUE AS computed, NULL AS not_computed_reason
    FROM counts c
    LEFT JOIN ref.quality_measures q ON q.performance_year = {int(performance_year)} AND q.measure_id = c.measure_id
    UNION ALL
    SELECT {int(performance_year)}, DATE '{period_start.isoformat()}', DATE '{period_end.isoformat()}', '{SOURCE}',
           u.level, u.tin, u.npi, n.measure_id, NULL, '{collection_type}', q.is_inverse, q.is_high_priority,
           q.measure_type, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, FALSE, n.reason
    FROM ({not_computed}) n
    CROSS JOIN _ecqm_levels u
    LEFT JOIN ref.quality_measures q ON q.performance_year = {int(performance_year)} AND q.measure_id = n.measure_id
    """)
    con.execute(f"CREATE OR REPLACE TABLE ehr_measure_results AS {MEASURE_RESULTS.select_sql('_ecqm_results')}")


def compute_ecqm_measures(con: duckdb.DuckDBPyConnection, *, performance_year: int, period_start: date, period_end: date,
                          sources: tuple[str, ...] = (SOURCE,), levels: tuple[str, ...] = LEVELS,
                          default_tin: str | None = None, default_npi: str | None = None,
                          measures: Iterable[str] | None = None):
    """The engine entry of the measure-source registry (transforms/measures/registry.py, source 'ehr').

    Runs ``compute_ecqms`` and hands its rows over under this engine's own relation names (the registry names the
    final outputs): ehr_measure_populations, ehr_measure_results, ehr_measure_instances. The TIN/NPI defaults are
    already in ehr_attribution when the FHIR file layer made it."""
    try:
        from transforms.measures.registry import BY_NAME, EngineOutput
        collection_type = BY_NAME[SOURCE].collection_type
    except ImportError:  # a build without the registry: the same two fields
        collection_type = COLLECTION_TYPE

        @dataclass
        class EngineOutput:  # type: ignore[no-redef]
            tables: dict = field(default_factory=dict)
            notes: list = field(default_factory=list)
    run = compute_ecqms(con, performance_year=performance_year, period_start=period_start, period_end=period_end,
                        levels=tuple(levels), default_tin=default_tin, default_npi=default_npi,
                        collection_type=collection_type, measures=measures)
    con.execute("DROP TABLE IF EXISTS ehr_measure_populations")
    con.execute("ALTER TABLE measure_populations RENAME TO ehr_measure_populations")
    return EngineOutput(tables={MEASURE_POPULATIONS: "ehr_measure_populations", MEASURE_RESULTS: "ehr_measure_results",
                                MEASURE_INSTANCES: "ehr_measure_instances"},
                        notes=run_notes(run))


def run_notes(run: EcqmRun) -> list[str]:
    """What the run summary says about the eCQMs (counts and measure ids only)."""
    notes = list(run.notes)
    if run.computed:
        notes.append(f"eCQMs: {len(run.computed)} computed ({', '.join(run.computed)}) for {run.patients:,} patients")
        if run.not_computed:
            notes.append(f"eCQMs: {len(run.not_computed)} of the year's eCQMs have no definition yet (computed = FALSE "
                         "in measure_results): " + ", ".join(sorted(run.not_computed)))
    return notes
