"""Compile the eCQM reference tables (schemas/reference_ecqm.py) from the CMS eCQM test deck folder.

Sources (``../shared/ecqm/`` by default):
- ``valuesets/ValueSet-<oid>[-<version>].json``: expansions -> ecqm_value_sets, ecqm_value_set_codes;
- ``cql/*.cql``: ``codesystem`` and ``code`` declarations -> ecqm_direct_codes;
- ``measures/Measure-<name>.json``: groups, populations, stratifiers -> ecqm_measures, ecqm_measure_groups,
  ecqm_measure_stratifiers (MIPS id through quality_measures' eMeasureId, matched on the CMS number);
- ``data/ecqm/supplemental_value_set_codes.csv`` (the project's): expansions the deck lacks or has only a first
  page of, each code with the published source it was taken from. A complete deck expansion is never changed;
  an incomplete one only gains the supplement's codes it lacks. Optional column ``expansion``: empty or ``same``
  (the codes are of the deck's expansion: they can make a paged one complete) or ``earlier`` (codes of an earlier
  published expansion of the same value set version, other code system versions: they are added, but the value
  set stays marked incomplete, because codes added to the code systems since are still missing).

A build step over a few MB of JSON and text: Python reads them into flat records, DuckDB finishes every table with
its TableSpec's ``select_sql`` (cast + key order), so the same sources give the same rows in the same order.
"""
from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import duckdb

from mips.errors import PipelineError
from mips.paths import DATA_DIR
from mips.reference_compiler.catalog import _check, _to_arrow, arrow_schema, write_parquet
from schemas.reference_ecqm import (
    ECQM_DIRECT_CODES, ECQM_MEASURE_GROUPS, ECQM_MEASURE_STRATIFIERS, ECQM_MEASURES, ECQM_TABLES,
    ECQM_VALUE_SET_CODES, ECQM_VALUE_SETS,
)

SUPPLEMENT = DATA_DIR / "ecqm" / "supplemental_value_set_codes.csv"
VSAC_PREFIX = "http://cts.nlm.nih.gov/fhir/ValueSet/"

_LIBRARY_RE = re.compile(r"^\s*library\s+\"?([A-Za-z0-9_.]+)\"?", re.M)
_CODESYSTEM_RE = re.compile(r"^\s*codesystem\s+(?:\"([^\"]+)\"|([A-Za-z0-9_]+))\s*:\s*'([^']+)'", re.M)
_CODE_RE = re.compile(r"^\s*code\s+\"((?:[^\"\\]|\\.)+)\"\s*:\s*'((?:[^'\\]|\\.)+)'\s+from\s+(?:\"([^\"]+)\"|([A-Za-z0-9_]+))"
                      r"(?:\s+display\s+'((?:[^'\\]|\\.)*)')?", re.M)
_CMS_NUMBER_RE = re.compile(r"^CMS(?:FHIR)?(\d+)", re.I)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PipelineError(f"{path}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: expected a JSON object")
    return data


def _oid(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def _value_set_records(deck: Path, supplement: Path) -> tuple[list[dict], list[dict]]:
    sets: dict[str, dict] = {}
    codes: list[dict] = []
    folder = deck / "valuesets"
    for path in sorted(folder.glob("ValueSet-*.json")):
        vs = _read_json(path)
        url = vs.get("url")
        if not url:
            raise PipelineError(f"{path}: ValueSet without url")
        oid = _oid(url)
        if oid in sets:
            raise PipelineError(f"{path}: a second file for value set {oid}")
        expansion = vs.get("expansion") or {}
        contains = expansion.get("contains") or []
        seen = set()
        for item in contains:
            if item.get("contains"):
                raise PipelineError(f"{path}: nested expansion entries are not supported")
            key = (item.get("system"), item.get("code"))
            if None in key or key in seen:
                continue
            seen.add(key)
            codes.append({"value_set_oid": oid, "code_system": key[0], "code": key[1], "display": item.get("display")})
        total = expansion.get("total")
        sets[oid] = {"value_set_oid": oid, "url": url, "version": vs.get("version"), "name": vs.get("name"),
                     "title": vs.get("title"), "expansion_total": total, "code_count": len(seen),
                     "is_complete": total is None or len(seen) >= total,
                     "source": f"CMS eCQM test deck valuesets/{path.name}"}
    if supplement.is_file():
        with open(supplement, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        deck_codes: dict[str, set] = {}
        for c in codes:
            deck_codes.setdefault(c["value_set_oid"], set()).add((c["code_system"], c["code"]))
        for i, row in enumerate(rows, start=2):
            oid = (row.get("value_set_oid") or "").strip()
            if not oid or not row.get("code_system") or not row.get("code") or not row.get("source"):
                raise PipelineError(f"{supplement}: line {i} needs value_set_oid, code_system, code and source")
            expansion = (row.get("expansion") or "same").strip()
            if expansion not in ("same", "earlier"):
                raise PipelineError(f"{supplement}: line {i}: expansion must be empty, 'same' or 'earlier', not "
                                    f"{expansion!r}")
            entry = sets.get(oid)
            if entry is not None and entry["source"].startswith("CMS") and entry["is_complete"]:
                continue  # the deck's own complete expansion wins
            key = (row["code_system"], row["code"])
            if key in deck_codes.setdefault(oid, set()):
                continue
            deck_codes[oid].add(key)
            codes.append({"value_set_oid": oid, "code_system": key[0], "code": key[1], "display": row.get("display") or None})
            if entry is None:
                entry = sets[oid] = {"value_set_oid": oid, "url": VSAC_PREFIX + oid, "version": row.get("version") or None,
                                     "name": None, "title": row.get("title") or None, "expansion_total": None,
                                     "code_count": 0, "is_complete": True, "source": row["source"]}
            elif row["source"] not in entry["source"]:
                # a paged deck expansion made whole, or filled from an earlier expansion
                entry["source"] += (f"; completed from {row['source']}" if expansion == "same"
                                    else f"; filled from an earlier expansion: {row['source']}")
            entry["code_count"] += 1
            if expansion == "same":
                entry["_same_expansion_count"] = entry.get("_same_expansion_count", entry["code_count"] - 1) + 1
            else:
                entry.setdefault("_same_expansion_count", entry["code_count"] - 1)
            total = entry["expansion_total"]
            entry["is_complete"] = total is None or entry["_same_expansion_count"] >= total
    for entry in sets.values():
        entry.pop("_same_expansion_count", None)
    return list(sets.values()), codes


def _direct_code_records(deck: Path) -> list[dict]:
    out = []
    for path in sorted((deck / "cql").glob("*.cql")):
        text = path.read_text(encoding="utf-8")
        m = _LIBRARY_RE.search(text)
        if not m:
            raise PipelineError(f"{path}: no library declaration")
        library = m.group(1)
        systems = {quoted or bare: url for quoted, bare, url in _CODESYSTEM_RE.findall(text)}
        for name, code, sys_quoted, sys_bare, display in _CODE_RE.findall(text):
            system_name = sys_quoted or sys_bare
            if system_name not in systems:
                raise PipelineError(f"{path}: code \"{name}\" names an undeclared code system {system_name}")
            out.append({"library": library, "code_name": name, "code_system": systems[system_name], "code": code,
                        "display": display or None})
    return out


def _ext(items: list | None, suffix: str):
    for e in items or []:
        if str(e.get("url", "")).endswith(suffix):
            return e
    return None


def _concept_code(e: dict | None) -> str | None:
    if not e:
        return None
    if "valueCode" in e:
        return e["valueCode"]
    codings = (e.get("valueCodeableConcept") or {}).get("coding") or []
    return codings[0].get("code") if codings else None


def _measure_records(deck: Path, qpp_source: Path | None) -> tuple[list[dict], list[dict], list[dict]]:
    measures, groups, strats = [], [], []
    emeasure: dict[tuple[int, str], tuple[str, str]] = {}
    for path in sorted((deck / "measures").glob("Measure-*.json")):
        m = _read_json(path)
        name = m.get("name") or path.stem.removeprefix("Measure-")
        period = m.get("effectivePeriod") or {}
        start, end = period.get("start"), period.get("end")
        if not start or not end:
            raise PipelineError(f"{path}: Measure without effectivePeriod")
        py = int(str(start)[:4])
        if py not in {k[0] for k in emeasure} and qpp_source is not None:
            md = Path(qpp_source) / "measures" / str(py) / "measures-data.json"
            if md.is_file():
                for q in json.loads(md.read_text(encoding="utf-8")):
                    num = _CMS_NUMBER_RE.match(str(q.get("eMeasureId") or ""))
                    if num and q.get("category") == "quality":
                        emeasure[(py, num.group(1))] = (q["eMeasureId"], q["measureId"])
        num = _CMS_NUMBER_RE.match(name)
        cms_id, measure_id = emeasure.get((py, num.group(1)), (None, None)) if num else (None, None)
        mgroups = m.get("group") or []
        first = mgroups[0] if mgroups else {}
        measures.append({
            "measure_name": name, "performance_year": py, "cms_id": cms_id, "measure_id": measure_id,
            "title": m.get("title"),
            "population_basis": (_ext(first.get("extension"), "cqfm-populationBasis") or {}).get("valueCode"),
            "scoring": _concept_code(_ext(first.get("extension"), "cqfm-scoring")),
            "improvement_notation": _concept_code(_ext(first.get("extension"), "cqfm-improvementNotation")),
            "period_start": date.fromisoformat(str(start)[:10]), "period_end": date.fromisoformat(str(end)[:10]), "group_count": len(mgroups),
        })
        for gi, g in enumerate(mgroups, start=1):
            gid = g.get("id") or f"Group_{gi}"
            for p in g.get("population") or []:
                codings = (p.get("code") or {}).get("coding") or []
                if not codings:
                    raise PipelineError(f"{path}: group {gid} has a population without a code")
                groups.append({"measure_name": name, "group_id": gid, "group_index": gi,
                               "population_code": codings[0].get("code"),
                               "criteria_expression": (p.get("criteria") or {}).get("expression"),
                               "description": p.get("description")})
            for si, s in enumerate(g.get("stratifier") or [], start=1):
                strats.append({"measure_name": name, "group_id": gid, "stratifier_id": s.get("id") or f"Stratification_{gi}_{si}",
                               "criteria_expression": (s.get("criteria") or {}).get("expression"),
                               "description": s.get("description") or (s.get("criteria") or {}).get("description")})
    return measures, groups, strats


def build_ecqm(con: duckdb.DuckDBPyConnection, deck: Path, *, qpp_source: Path | None = None,
               supplement: Path = SUPPLEMENT) -> dict[str, int]:
    """Create one DuckDB table per eCQM TableSpec from the deck folder; return row counts."""
    deck = Path(deck)
    for sub in ("valuesets", "cql", "measures"):
        if not (deck / sub).is_dir():
            raise PipelineError(f"{deck}: no {sub}/ folder (is this the eCQM deck folder?)")
    sets, codes = _value_set_records(deck, Path(supplement))
    measures, groups, strats = _measure_records(deck, qpp_source)
    records = {ECQM_VALUE_SETS.name: sets, ECQM_VALUE_SET_CODES.name: codes,
               ECQM_DIRECT_CODES.name: _direct_code_records(deck), ECQM_MEASURES.name: measures,
               ECQM_MEASURE_GROUPS.name: groups, ECQM_MEASURE_STRATIFIERS.name: strats}
    counts = {}
    for spec in ECQM_TABLES:
        arrow = _to_arrow(records[spec.name], arrow_schema(spec), spec.name)
        con.register("_arrow_ecqm", arrow)
        con.execute(f'CREATE OR REPLACE TEMP TABLE "_in_{spec.name}" AS SELECT * FROM _arrow_ecqm')
        con.unregister("_arrow_ecqm")
        con.execute(f'CREATE OR REPLACE TABLE "{spec.name}" AS {spec.select_sql(f"_in_{spec.name}")}')
        _check(con, spec)
        con.execute("SELECT 1").fetchall()  # finish the check's open results before the next statement
        counts[spec.name] = con.execute(f'SELECT count(*) FROM "{spec.name}"').fetchall()[0][0]
    return counts


def compile_ecqm(deck: Path, out: Path, *, qpp_source: Path | None = None, supplement: Path = SUPPLEMENT) -> dict[str, int]:
    """Compile every eCQM table from the deck folder into ``out``/<table>.parquet; rows per table."""
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute("SET preserve_insertion_order = true")
        counts = build_ecqm(con, deck, qpp_source=qpp_source, supplement=supplement)
        for spec in ECQM_TABLES:
            write_parquet(con, spec, Path(out))
        return counts
    finally:
        con.close()

