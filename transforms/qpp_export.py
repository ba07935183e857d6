"""QPP Submissions API documents from a published period: one per entity (TIN, or TIN/NPI) and year.

The measurement sets are built set-based in DuckDB (JSON per measurement, aggregated per set); Python
only assembles each entity's sets and checks the finished document, twice:

- against ``schemas/qpp/submission.schema.json`` (the API's writable fields and shapes, written from
  the Submissions API documentation; CMS publishes no current schema), and
- against the consistency rules of ``consistency_problems`` (what JSON Schema cannot say: numerator
  not above denominator, exclusions not above the denominator, whole non-negative counts, a TIN of
  nine digits, an NPI whose check digit is right, unique measure ids, strata named as CMS names them).

Counts map from ``measure_results`` as the API's field reference asks of CQMs: excluded instances are
taken out of the eligible population (``eligiblePopulationExclusion`` is 0), exceptions stay in it
as ``eligiblePopulationException``, and unreported instances stay in it without a result, so the
API's reportingRate equals our data completeness.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "qpp" / "submission.schema.json"
# measure_results.collection_type -> QPP submissionMethod of a quality set; 'claims' results are
# reported on the claims themselves and are never exported
QUALITY_METHODS = ("registry", "electronicHealthRecord")
SINGLE_RATE = ("singlePerformanceRate", "registrySinglePerformanceRate")
MULTI_RATE = ("multiPerformanceRate", "registryMultiPerformanceRate")
COUNT_FIELDS = ("numerator", "denominator", "performanceMet", "performanceNotMet", "eligiblePopulation",
                "eligiblePopulationExclusion", "eligiblePopulationException", "numeratorExclusion",
                "observationInstances")


@lru_cache(maxsize=1)
def submission_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


@dataclass
class Entity:
    level: str
    tin: str
    npi: str | None
    document: dict
    notes: list[str] = field(default_factory=list)       # measures left out, and why
    problems: list[tuple[str, str]] = field(default_factory=list)  # (rule, what is wrong): refused when any

    @property
    def name(self) -> str:
        return f"group-{self.tin}" if self.level == "group" else f"individual-{self.tin}-{self.npi}"

    @property
    def label(self) -> str:
        return f"TIN {self.tin}" if self.level == "group" else f"TIN {self.tin} NPI {self.npi}"


# ---------------------------------------------------------------- consistency rules

def npi_check_digit_ok(npi: str) -> bool:
    """NPI standard: the 10th digit is the Luhn check digit of '80840' + the first nine digits."""
    if not re.fullmatch(r"\d{10}", npi or ""):
        return False
    digits = [int(d) for d in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):  # double every second digit from the right, starting at the last
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def consistency_problems(doc: dict, *, strata: dict[str, list[str]] | None = None,
                         exclusions: dict[str, set[str]] | None = None,
                         substitutes: dict[str, set[str]] | None = None) -> list[tuple[str, str]]:
    """(rule, what is wrong) for every consistency rule the document breaks.

    ``strata``: quality measure id -> CMS stratum names of the year; ``exclusions``: PI measure id ->
    its exclusion ids; ``substitutes``: PI measure id -> the measures it substitutes for (all from the
    year's measures-data); the rules using them run when given.
    """
    problems: list[tuple[str, str]] = []
    tin = doc.get("taxpayerIdentificationNumber")
    if tin is not None and not re.fullmatch(r"\d{9}", str(tin)):
        problems.append(("valid_tin", "the TIN is not nine digits"))
    npi = doc.get("nationalProviderIdentifier")
    if npi is not None and not npi_check_digit_ok(str(npi)):
        problems.append(("valid_npi", f"NPI {npi} is not ten digits with a valid check digit"))
    year = doc.get("performanceYear")
    seen_sets: set[tuple] = set()
    for s in doc.get("measurementSets") or []:
        where_set = f"{s.get('category')}/{s.get('submissionMethod')}"
        key = (s.get("category"), s.get("submissionMethod"), s.get("programName", "mips"))
        if key in seen_sets:
            problems.append(("unique_measurement_sets", f"two {where_set} sets for program {key[2]}"))
        seen_sets.add(key)
        start, end = str(s.get("performanceStart", "")), str(s.get("performanceEnd", ""))
        if start > end or not (start.startswith(f"{year}-") and end.startswith(f"{year}-")):
            problems.append(("performance_period_in_year",
                             f"{where_set}: period {start}..{end} is not an ordered period inside {year}"))
        ids = [m.get("measureId") for m in s.get("measurements") or []]
        for twice in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(("unique_measure_ids", f"{where_set}: measure {twice} appears more than once"))
        if s.get("category") == "pi" and exclusions:
            for measure in ids:
                both = exclusions.get(measure, set()) & set(ids)
                if both:
                    problems.append(("pi_measure_with_its_exclusion",
                                     f"PI measure {measure} and its exclusion {', '.join(sorted(both))} are both in the set"))
        if s.get("category") == "pi" and substitutes:
            # the converter's "cannot contain PI_HIE_5 with PI_HIE_1, PI_LVOTC_1, PI_HIE_4, or PI_LVITC_2",
            # as measures-data states it for every year: a measure (or its exclusion) with its substitute
            present = set(ids)
            for measure in sorted(present):
                for other in sorted(substitutes.get(measure, set())):
                    if other > measure and ({other} | (exclusions or {}).get(other, set())) & present:
                        problems.append(("pi_alternatives_not_together",
                                         f"PI measure {measure} and its alternative {other} are both in the set"))
        for m in s.get("measurements") or []:
            problems += _value_problems(f"{where_set} measure {m.get('measureId')}", m.get("measureId"),
                                        m.get("value"), strata)
    return problems


def _value_problems(where: str, measure_id, value, strata) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return []
    problems = []
    parts = [("", value)] + [(f" stratum {s.get('stratum')}", s) for s in value.get("strata") or []
                            if isinstance(s, dict)]
    for label, part in parts:
        for name in COUNT_FIELDS:
            if name in part and not _is_count(part[name]) and not (
                    name in ("numerator", "denominator") and "observationInstances" in value):
                problems.append(("whole_non_negative_counts",
                                 f"{where}{label}: {name} {part[name]!r} is not a whole number of 0 or more"))
        counts_ok = all(_is_count(part.get(n, 0)) for n in COUNT_FIELDS if n in part)
        if not counts_ok:
            continue
        if "numerator" in part and "denominator" in part and "observationInstances" not in value:
            if part["numerator"] > part["denominator"]:
                problems.append(("numerator_not_above_denominator",
                                 f"{where}: numerator {part['numerator']} > denominator {part['denominator']}"))
        if "eligiblePopulation" in part:
            population = part["eligiblePopulation"]
            met = part.get("performanceMet", 0)
            if met > population:
                problems.append(("numerator_not_above_denominator",
                                 f"{where}{label}: performanceMet {met} > eligiblePopulation {population}"))
            excluded = part.get("eligiblePopulationExclusion", 0) + part.get("eligiblePopulationException", 0)
            if excluded > population:
                problems.append(("exclusions_not_above_denominator",
                                 f"{where}{label}: exclusions + exceptions {excluded} > eligiblePopulation {population}"))
            reported = met + part.get("performanceNotMet", 0) + excluded
            if reported > population:
                problems.append(("reported_not_above_eligible_population",
                                 f"{where}{label}: met + not met + exclusions + exceptions {reported} > "
                                 f"eligiblePopulation {population}"))
    if strata is not None and "strata" in value and measure_id in strata:
        given = [s.get("stratum") for s in value["strata"] if isinstance(s, dict)]
        unknown = [g for g in given if g not in strata[measure_id]]
        if unknown:
            problems.append(("strata_match_measures_data",
                             f"{where}: strata {', '.join(map(str, unknown))} are not the measure's "
                             f"({', '.join(strata[measure_id])})"))
    return problems


def schema_problems(doc: dict) -> list[tuple[str, str]]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(submission_schema())
    return [("schema", f"{'/'.join(map(str, e.absolute_path)) or 'document'}: {e.message}")
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))]


# ---------------------------------------------------------------- documents from a published period

_QUALITY_SQL = """
WITH r AS (
    SELECT r.*, m.metric_type, m.submission_methods, coalesce(e.end_to_end_reporting, FALSE) AS e2e,
           list_position(string_split(m.strata, ','), r.stratum) AS stratum_order
    FROM measure_results r
    JOIN measure_reference m USING (performance_year, measure_id)
    LEFT JOIN submission_entities e ON e.performance_year = r.performance_year AND e.level = r.level
         AND e.tin = r.tin AND e.npi IS NOT DISTINCT FROM r.npi
    WHERE r.performance_year = $py AND r.computed AND r.collection_type IN ('registry', 'electronicHealthRecord')
),
strata AS (  -- one JSON per stratum (or per measure without strata), counts as the API reads them
    SELECT level, tin, npi, collection_type, measure_id, metric_type, submission_methods, e2e, stratum,
           stratum_order, period_start, period_end,
           json_object('stratum', stratum, 'performanceMet', performance_met,
                       'performanceNotMet', performance_not_met, 'eligiblePopulationExclusion', 0,
                       'eligiblePopulationException', eligible_population_exception,
                       'eligiblePopulation', eligible_population - eligible_population_exclusion) AS stratum_json,
           performance_met, performance_not_met,
           eligible_population, eligible_population_exclusion, eligible_population_exception
    FROM r
),
measures AS (
    SELECT level, tin, npi, collection_type, measure_id, any_value(metric_type) AS metric_type,
           bool_or(list_contains(string_split(submission_methods, ','), collection_type)) AS method_allowed,
           bool_and(e2e) AS e2e, min(period_start) AS period_start, max(period_end) AS period_end,
           count(*) FILTER (WHERE stratum IS NOT NULL) AS strata_rows,
           CASE
             WHEN any_value(metric_type) IN ('multiPerformanceRate', 'registryMultiPerformanceRate') THEN
               json_object('isEndToEndReported', bool_and(e2e),
                           'strata', to_json(list(stratum_json ORDER BY stratum_order, stratum)))
             WHEN any_value(metric_type) IN ('singlePerformanceRate', 'registrySinglePerformanceRate') THEN
               json_merge_patch(json_object('isEndToEndReported', bool_and(e2e)),
                                json_object('performanceMet', sum(performance_met)::BIGINT,
                                            'performanceNotMet', sum(performance_not_met)::BIGINT,
                                            'eligiblePopulationExclusion', 0,
                                            'eligiblePopulationException', sum(eligible_population_exception)::BIGINT,
                                            'eligiblePopulation', sum(eligible_population - eligible_population_exclusion)::BIGINT))
           END AS value_json,
           -- QCDR ('registry...') measures carry a writable performance rate, percent
           CASE WHEN any_value(metric_type) LIKE 'registry%' THEN
             round(100.0 * sum(performance_met) / nullif(sum(performance_met + performance_not_met), 0), 2) END AS qcdr_rate
    FROM strata GROUP BY ALL
)
SELECT level, tin, npi, collection_type, measure_id, metric_type, method_allowed, period_start, period_end,
       CASE WHEN qcdr_rate IS NULL THEN value_json
            ELSE json_merge_patch(value_json, json_object('performanceRate', qcdr_rate)) END AS value_json
FROM measures ORDER BY level, tin, npi NULLS FIRST, collection_type, measure_id
"""

_PI_SQL = """
SELECT p.level, p.tin, p.npi, p.measure_id, r.metric_type, r.is_exclusion, r.exclusion_measure_ids,
       p.numerator, p.denominator, p.value, coalesce(p.exclusion_claimed, FALSE) AS exclusion_claimed,
       p.period_start, p.period_end
FROM pi_measurements p
LEFT JOIN ref_pi r ON r.measure_id = p.measure_id
WHERE p.performance_year = $py
ORDER BY p.level, p.tin, p.npi NULLS FIRST, p.measure_id
"""


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() UNION "
                                      "SELECT view_name FROM duckdb_views()").fetchall()}


def build_documents(con: duckdb.DuckDBPyConnection, performance_year: int) -> list[Entity]:
    """Every entity's submission document for the year, checked; an entity with problems is returned
    with them (the caller refuses to write it). ``con`` has the output tables as views (mips.catalog)."""
    from transforms.reference import attach_reference

    py = int(performance_year)
    attach_reference(con)
    con.execute(f"CREATE OR REPLACE TEMP VIEW ref_pi AS SELECT * FROM ref.pi_measures WHERE performance_year = {py}")
    tables = _tables(con)
    entities: dict[tuple, Entity] = {}

    def entity(level: str, tin: str, npi: str | None) -> Entity:
        key = (level, tin, npi)
        if key not in entities:
            doc = {"entityType": level, "taxpayerIdentificationNumber": tin}
            if level == "individual":
                doc["nationalProviderIdentifier"] = npi
            doc.update(performanceYear=py, measurementSets=[])
            entities[key] = Entity(level, tin, npi, doc)
        return entities[key]

    settings = {}
    if "submission_entities" in tables:
        settings = {(lv, t, n): (c, k, e) for lv, t, n, c, k, e in con.execute(
            "SELECT level, tin, npi, cehrt_id, cehrt_ids_given, end_to_end_reporting FROM submission_entities "
            "WHERE performance_year = ?", [py]).fetchall()}
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE submission_entities (performance_year INTEGER, level VARCHAR, "
                    "tin VARCHAR, npi VARCHAR, end_to_end_reporting BOOLEAN)")

    def cehrt(ent: Entity, why: str) -> str | None:
        cehrt_id, given, _ = settings.get((ent.level, ent.tin, ent.npi), (None, 0, None))
        if cehrt_id is None:
            rule = "cehrt_id_one_per_entity" if given > 1 else "cehrt_id_required"
            text = (f"the TIN's clinicians give {given} different CEHRT IDs" if given > 1
                    else "no CEHRT ID on the roster (clinician_roster.cehrt_id)")
            ent.problems.append((rule, f"{why} needs the CEHRT ID: {text}"))
        return cehrt_id

    if {"measure_results", "measure_reference"} <= tables:
        rows = con.execute(_QUALITY_SQL.replace("$py", str(py))).fetchall()
        sets: dict[tuple, list] = {}
        for level, tin, npi, method, measure_id, metric_type, allowed, start, end, value_json in rows:
            ent = entity(level, tin, npi)
            if value_json is None:
                ent.notes.append(f"quality {measure_id} ({method}): metric type {metric_type} is not exported")
                continue
            if not allowed:
                ent.notes.append(f"quality {measure_id}: not a {method} measure in {py} (measures-data); left out")
                continue
            sets.setdefault((level, tin, npi, method), []).append((measure_id, json.loads(value_json), start, end))
        for (level, tin, npi, method), measurements in sets.items():
            ent = entity(level, tin, npi)
            qset = {"category": "quality", "submissionMethod": method,
                    "performanceStart": min(m[2] for m in measurements).isoformat(),
                    "performanceEnd": max(m[3] for m in measurements).isoformat()}
            if method == "electronicHealthRecord":
                cehrt_id = cehrt(ent, "an eCQM quality set")
                if cehrt_id:
                    qset["cehrtId"] = cehrt_id
            qset["measurements"] = [{"measureId": m[0], "value": m[1]} for m in measurements]
            ent.document["measurementSets"].append(qset)

    if "pi_measurements" in tables:
        by_entity: dict[tuple, list] = {}
        for row in con.execute(_PI_SQL.replace("$py", str(py))).fetchall():
            by_entity.setdefault(row[:3], []).append(row[3:])
        for (level, tin, npi), rows in by_entity.items():
            ent = entity(level, tin, npi)
            measurements = []
            for (measure_id, metric_type, is_exclusion, exclusion_ids, numerator, denominator, value,
                 exclusion_claimed, _, _) in rows:
                if metric_type is None:
                    ent.problems.append(("pi_measure_of_the_year", f"PI measure {measure_id} is not in {py}'s measures"))
                elif exclusion_claimed and not is_exclusion:
                    ids = (exclusion_ids or "").split(",") if exclusion_ids else []
                    if len(ids) == 1:
                        measurements.append({"measureId": ids[0], "value": True})
                    else:
                        ent.problems.append(("pi_exclusion_named", f"PI {measure_id}: exclusion claimed, but the "
                                             f"measure has {len(ids) or 'no'} exclusions"
                                             + (f" ({', '.join(ids)}): give the one claimed as its own row" if ids else "")))
                elif metric_type == "proportion":
                    measurements.append({"measureId": measure_id, "value": {"numerator": numerator,
                                                                            "denominator": denominator}})
                else:
                    measurements.append({"measureId": measure_id, "value": value})
            periods = {(r[-2], r[-1]) for r in rows}
            if len(periods) != 1 or None in next(iter(periods)):
                ent.problems.append(("pi_performance_period", "the PI rows must give one performance period "
                                     f"(period_start, period_end); they give {len(periods)}"
                                     + (" with empty dates" if any(None in p for p in periods) else "")))
                start = end = None
            else:
                start, end = next(iter(periods))
            pset = {"category": "pi", "submissionMethod": "registry",
                    "performanceStart": start.isoformat() if start else None,
                    "performanceEnd": end.isoformat() if end else None}
            cehrt_id = cehrt(ent, "the Promoting Interoperability set")
            if cehrt_id:
                pset["cehrtId"] = cehrt_id
            pset["measurements"] = measurements
            ent.document["measurementSets"].append(pset)

    if "ia_attestations" in tables:
        for level, tin, npi, ids, start, end, undated in con.execute("""
                SELECT level, tin, npi, list(activity_id ORDER BY activity_id), min(start_date), max(end_date),
                       count(*) FILTER (WHERE start_date IS NULL OR end_date IS NULL)
                FROM ia_attestations WHERE performance_year = ? GROUP BY ALL
                ORDER BY level, tin, npi NULLS FIRST""", [py]).fetchall():
            ent = entity(level, tin, npi)
            if undated:
                ent.problems.append(("ia_performance_period", f"{undated} attested activities have no start or end date"))
            ent.document["measurementSets"].append({
                "category": "ia", "submissionMethod": "registry",
                "performanceStart": start.isoformat() if start else None,
                "performanceEnd": end.isoformat() if end else None,
                "measurements": [{"measureId": a, "value": True} for a in ids]})

    strata = {m: s.split(",") for m, s in con.execute(
        "SELECT measure_id, strata FROM measure_reference WHERE performance_year = ? AND strata IS NOT NULL",
        [py]).fetchall()} if "measure_reference" in tables else None
    exclusions = {m: set(x.split(",")) for m, x in con.execute(
        "SELECT measure_id, exclusion_measure_ids FROM ref_pi WHERE exclusion_measure_ids IS NOT NULL").fetchall()}
    substitutes = {m: set(x.split(",")) for m, x in con.execute(
        "SELECT measure_id, substitutes FROM ref_pi WHERE substitutes IS NOT NULL").fetchall()}
    for ent in entities.values():
        ent.problems += consistency_problems(ent.document, strata=strata, exclusions=exclusions,
                                             substitutes=substitutes)
        ent.problems += schema_problems(ent.document)
    return [e for e in entities.values() if e.document["measurementSets"]]
