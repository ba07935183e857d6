"""Compile CMS claims-single-source/qpp-single-source-<PY>.json into relational code tables (schemas/reference_claims.py).

Reads ``<source>/claims-single-source/qpp-single-source-<PY>.json`` (PY2018-2025), ``<source>/measures/<PY>/
measures-data.json`` (inverse, high-priority, type, strata names) and the project's hand-authored tables in
``data/claims_spec/`` (counting class per measure; measure-226 performance options of PY2018-2020; codes the
source files dropped from an eligibility option, e.g. 226's intervention G9902 in PY2021, 2022 and 2025). Writes one
zstd Parquet file per table, rows in key order, so the same source gives the same bytes.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mips.errors import PipelineError
from mips.paths import DATA_DIR
from schemas.reference_claims import (
    CLAIMS_ELIGIBILITY_CODES, CLAIMS_ELIGIBILITY_OPTIONS, CLAIMS_MEASURES, CLAIMS_PERFORMANCE_CODES,
    CLAIMS_PERFORMANCE_OPTIONS, CLAIMS_SPEC_TABLES, COUNTING_CLASSES, ELIGIBILITY_CODE_ROLES, PERFORMANCE_RESULTS,
)
from schemas.tables import TableSpec

CLAIMS_SPEC_DIR = DATA_DIR / "claims_spec"
YEARS = range(2018, 2026)

_RESULT = {
    "performanceMet": "performance_met",
    "performanceNotMet": "performance_not_met",
    "eligiblePopulationExclusion": "eligible_population_exclusion",
    "eligiblePopulationException": "eligible_population_exception",
}
# ICD-10-CM in a quality-code position (PY2021+): dotted, or a bare 3-character category such as 'R54'.
# HCPCS/CPT are 5 characters and ICD-10-PCS 7, so neither is mistaken for a diagnosis.
_ICD_BARE = re.compile(r"^[A-Z][0-9][0-9A-Z]$")


def _dx(code: str) -> str:
    return code.replace(".", "").strip().upper()


def _is_diagnosis(code: str) -> bool:
    return "." in code or bool(_ICD_BARE.match(code))


def _list(value: Any) -> list[str]:
    return [str(v).strip().upper() for v in (value or [])]


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise PipelineError(f"claims specification source missing: {path}") from exc
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _measure_meta(source: Path, year: int) -> dict[str, dict]:
    path = source / "measures" / str(year) / "measures-data.json"
    if not path.exists():
        return {}
    return {m["measureId"]: m for m in _read_json(path) if m.get("category") == "quality" and "measureId" in m}


def build_records(source: Path, years=YEARS, spec_dir: Path = CLAIMS_SPEC_DIR) -> dict[str, list[dict]]:
    """Records of every claims-spec table (pure: reads files, returns rows)."""
    classes = {r["measure_id"]: r for r in _read_csv(spec_dir / "measure_counting_class.csv")}
    for mid, r in classes.items():
        if r["counting_class"] not in COUNTING_CLASSES:
            raise PipelineError(f"measure_counting_class.csv: measure {mid} has unknown class {r['counting_class']!r}")
    overrides: dict[tuple[int, str], list[dict]] = {}
    for r in _read_csv(spec_dir / "performance_option_overrides.csv"):
        if r["performance_result"] not in PERFORMANCE_RESULTS:
            raise PipelineError(f"performance_option_overrides.csv: unknown result {r['performance_result']!r}")
        overrides.setdefault((int(r["performance_year"]), r["measure_id"]), []).append(r)

    additions: dict[tuple[int, str, int], list[dict]] = {}
    for r in _read_csv(spec_dir / "eligibility_code_additions.csv"):
        if r["code_role"] not in ELIGIBILITY_CODE_ROLES:
            raise PipelineError(f"eligibility_code_additions.csv: unknown code role {r['code_role']!r}")
        additions.setdefault((int(r["performance_year"]), r["measure_id"], int(r["eligibility_option"])), []).append(r)

    out: dict[str, list[dict]] = {t.name: [] for t in CLAIMS_SPEC_TABLES}
    for year in years:
        path = source / "claims-single-source" / f"qpp-single-source-{year}.json"
        spec = _read_json(path)
        meta = _measure_meta(source, year)
        for mid in sorted(spec):
            m = spec[mid]
            if mid not in classes:
                raise PipelineError(f"{path.name}: measure {mid} has no counting class in data/claims_spec/measure_counting_class.csv")
            cls = classes[mid]
            md = meta.get(mid, {})
            strata = [s.get("name") or s.get("description") for s in (md.get("strata") or [])]
            stratified = cls["counting_class"] == "multiple_strata"
            elig = m.get("eligibilityOptions") or []
            groups = sorted({e.get("optionGroup") for e in elig if e.get("optionGroup") is not None})

            def stratum_of(index0: int | None, group: str | None) -> str | None:
                if not stratified:
                    return None
                i = groups.index(group) if group is not None else index0
                if i is None or i >= len(strata):
                    raise PipelineError(f"{path.name}: measure {mid} option has no matching stratum in measures-data.json")
                return strata[i]

            for i, e in enumerate(elig):
                opt = i + 1
                roles = {
                    "diagnosis": [{"code": _dx(c)} for c in e.get("diagnosisCodes") or []],
                    "diagnosis_exclusion": [{"code": _dx(c)} for c in e.get("diagnosisExclusionCodes") or []],
                    "additional_diagnosis": [{"code": _dx(c)} for c in e.get("additionalDiagnosisCodes") or []],
                    "procedure": e.get("procedureCodes") or [],
                    "additional_procedure": list(e.get("additionalProcedureCodes") or []),
                }
                for r in additions.get((year, mid, opt), []):  # project corrections of defective source options
                    if all(c["code"] != r["code"] for c in roles[r["code_role"]]):
                        roles[r["code_role"]].append({"code": r["code"]})
                sex = e.get("sexCode")
                out["claims_eligibility_options"].append({
                    "performance_year": year, "measure_id": mid, "eligibility_option": opt,
                    "stratum": stratum_of(i, e.get("optionGroup")), "option_group": e.get("optionGroup"),
                    "min_age": e.get("minAge"), "max_age": e.get("maxAge"),
                    "sex_code": sex.strip().upper()[:1] if sex else None,
                    **{f"{role}_code_count": len({c['code'] for c in codes}) for role, codes in roles.items()},
                })
                for role, codes in roles.items():
                    seen = set()
                    for c in codes:
                        code = c["code"].strip().upper()
                        if code in seen:  # duplicates carry no meaning (none in PY2018-2025)
                            continue
                        seen.add(code)
                        out["claims_eligibility_codes"].append({
                            "performance_year": year, "measure_id": mid, "eligibility_option": opt,
                            "code_role": role, "code": code,
                            "places_of_service": _list(c.get("placesOfService")),
                            "places_of_service_exclusions": _list(c.get("placesOfServiceExclusions")),
                            "modifiers": _list(c.get("modifiers")),
                            "modifier_exclusions": _list(c.get("modifierExclusions")),
                        })

            perf = m.get("performanceOptions") or []
            override = overrides.get((year, mid))
            if override:
                perf_rows = [(int(r["stratum_index"]) - 1, None, r["performance_result"],
                              [{"code": r["code"], "modifiers": [x for x in r["modifiers"].split(";") if x]}], True)
                             for r in override]
            else:
                perf_rows = [(None, p.get("optionGroup"), _RESULT[p["optionType"]], p.get("qualityCodes") or [], False)
                             for p in perf]
            for j, (sidx, group, result, qcodes, is_override) in enumerate(perf_rows):
                popt = j + 1
                if stratified and sidx is None and group is None:
                    raise PipelineError(f"{path.name}: measure {mid} performance option {popt} has no stratum "
                                        "(add it to data/claims_spec/performance_option_overrides.csv)")
                out["claims_performance_options"].append({
                    "performance_year": year, "measure_id": mid, "performance_option": popt,
                    "stratum": stratum_of(sidx, group) if stratified else None, "option_group": group,
                    "performance_result": result, "code_count": len(qcodes), "is_override": is_override,
                })
                for k, q in enumerate(qcodes):
                    raw = q["code"].strip().upper()
                    kind = "diagnosis" if _is_diagnosis(raw) else "procedure"
                    out["claims_performance_codes"].append({
                        "performance_year": year, "measure_id": mid, "performance_option": popt, "code_index": k + 1,
                        "code": _dx(raw) if kind == "diagnosis" else raw, "code_kind": kind,
                        "modifiers": _list(q.get("modifiers")), "modifier_exclusions": _list(q.get("modifierExclusions")),
                        "places_of_service": _list(q.get("placesOfService")),
                    })

            fw = cls.get("facility_window_days") or None
            out["claims_measures"].append({
                "performance_year": year, "measure_id": mid, "counting_class": cls["counting_class"],
                "needs_facility_events": cls["counting_class"] == "facility",
                "facility_event_type": cls.get("facility_event_type") or None,
                "facility_window_days": int(fw) if fw else None,
                "is_inverse": bool(md.get("isInverse", False)), "is_high_priority": md.get("isHighPriority"),
                "measure_type": md.get("measureType"), "title": md.get("title"),
                "strata_count": len(strata) if stratified else 0,
                "eligibility_option_count": len(elig), "performance_option_count": len(perf_rows),
            })
    return out


def _arrow_type(t: str) -> pa.DataType:
    return {"VARCHAR": pa.string(), "INTEGER": pa.int32(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
            "BOOLEAN": pa.bool_(), "VARCHAR[]": pa.list_(pa.string())}[t]


def _to_arrow(spec: TableSpec, records: list[dict]) -> pa.Table:
    schema = pa.schema([pa.field(c.name, _arrow_type(c.type), nullable=c.nullable) for c in spec.columns])
    return pa.Table.from_pylist([{c.name: r.get(c.name) for c in spec.columns} for r in records], schema=schema)


def load_claims_spec(con: duckdb.DuckDBPyConnection, source: Path, years=YEARS, spec_dir: Path = CLAIMS_SPEC_DIR) -> dict[str, int]:
    """Create the claims-spec tables in ``con`` (final cast+order via TableSpec.select_sql); rows per table."""
    records = build_records(Path(source), years, spec_dir)
    counts = {}
    for spec in CLAIMS_SPEC_TABLES:
        arrow = _to_arrow(spec, records[spec.name])  # noqa: F841 - read by DuckDB's replacement scan
        con.execute(f'CREATE OR REPLACE TABLE "{spec.name}" AS {spec.select_sql("arrow")}')
        dup = con.execute(f'SELECT count(*) - count(DISTINCT ({", ".join(spec.key)})) FROM "{spec.name}"').fetchone()[0]
        if dup:
            raise PipelineError(f"{spec.name}: {dup} rows repeat the key {spec.key}")
        counts[spec.name] = con.execute(f'SELECT count(*) FROM "{spec.name}"').fetchone()[0]
    return counts


def compile_claims_spec(source_dir: Path, out_dir: Path) -> dict[str, int]:
    """Compile the claims specifications of PY2018-2025 into ``out_dir``/<table>.parquet; rows per table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        counts = load_claims_spec(con, Path(source_dir))
        for spec in CLAIMS_SPEC_TABLES:
            target = out_dir / f"{spec.name}.parquet"
            tmp = out_dir / f".{spec.name}.parquet.tmp"
            con.execute(f"COPY ({spec.select_sql(chr(34) + spec.name + chr(34))}) TO '{tmp.as_posix()}' "
                        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
            tmp.replace(target)
    finally:
        con.close()
    return counts
