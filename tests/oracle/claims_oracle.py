"""Independent plain-Python implementation of ../shared/spec/claims-measure-logic.md, for differential tests only.

Reads the raw CMS claims specification (claims-single-source/qpp-single-source-<PY>.json) and measure metadata
(measures/<PY>/measures-data.json) directly, never the project's compiled reference tables, and counts claim lines
(plain dicts with the medical_claim contract columns) and eligibility rows (dicts with the eligibility columns).
Written from the spec text only, without reading the engine's SQL: straightforward loops, tiny data.

``compute(performance_year, period_start, period_end, lines, eligibility)`` returns
{(level, tin, npi, measure_id, stratum): (eligible_population, exclusion, exception, met, not_met)}.
"""
from __future__ import annotations

import calendar

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

SHARED_REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "qpp-measures-data"

PERFORMANCE_MODIFIERS = frozenset({"1P", "2P", "3P", "8P"})
MET, EXCLUSION, EXCEPTION, NOT_MET = "performanceMet", "eligiblePopulationExclusion", "eligiblePopulationException", "performanceNotMet"
# most advantageous result first (spec: Most advantageous result)
_ORDER_NORMAL = (MET, EXCLUSION, EXCEPTION, NOT_MET)
_ORDER_INVERSE = (NOT_MET, EXCEPTION, EXCLUSION, MET)

# spec: Counting classes table (claims, PY2018-2025)
_CLASSES = {
    "patient": "012 014 019 039 047 048 050 052 111 112 113 117 134 140 141 154 155 156 181 204 261 268 317 320 326",
    "intermediate": "001 051 128 236",
    "procedure": "021 023 076 099 100 145 146 147 185 195 225 249 250 251 254 255 395 396 397 405 406 422 423 425 "
                 "429 436 437",
    "visit": "109 130 131 182 419",
    "episode": "024 418",
    "episode30": "091 093",
    "flu": "110",
    "second": "435",
    "strata": "226",
    "facility": "046 407 415 416",
}
COUNTING_CLASS = {m: cls for cls, ids in _CLASSES.items() for m in ids.split()}

# spec Known defects: measure 226 before optionGroup (PY2018-2020). The PY2018 file's options, one code each, with
# the stratum (1 screening, 2 intervention, 3 overall) of each code; PY2019/2020 files mangle them, so all three
# years use this list. Eligibility option i (file order) is stratum i; option 2 needs G9902 (additionalProcedureCodes).
_226_OLD = [
    ("1", MET, "G9902", ()), ("1", MET, "G9903", ()), ("1", EXCEPTION, "G9904", ()), ("1", NOT_MET, "G9905", ()),
    ("2", MET, "G9906", ()), ("2", EXCEPTION, "G9907", ()), ("2", NOT_MET, "G9908", ()),
    ("3", MET, "1036F", ()), ("3", EXCEPTION, "4004F", ("1P",)), ("3", MET, "4004F", ()),
    ("3", NOT_MET, "4004F", ("8P",)), ("3", EXCEPTION, "G9909", ()),
]


def nodot(code: str) -> str:
    return code.replace(".", "").strip().upper()


def is_diagnosis_code(code: str) -> bool:
    """ICD-10-CM codes in quality-code position: dotted codes, and 3-character categories (B20, Z21: no dot to
    write). HCPCS/CPT are 5 characters, ICD-10-PCS 7 without a dot, so neither is caught."""
    return "." in code or len(code) == 3


@dataclass(frozen=True)
class Entry:
    code: str
    modifiers: frozenset = frozenset()
    modifier_exclusions: frozenset = frozenset()
    pos: frozenset = frozenset()
    pos_exclusions: frozenset = frozenset()


@dataclass
class EligOption:
    group: str
    min_age: float | None
    max_age: float | None
    sex: str | None
    dx: frozenset
    dx_exclusions: frozenset
    dx_additional: frozenset
    procedures: dict  # code -> list[Entry]
    additional: list  # list[Entry]


@dataclass
class PerfOption:
    group: str | None
    result: str
    line_codes: list  # list[Entry]
    dx_codes: frozenset


@dataclass
class Measure:
    measure_id: str
    inverse: bool
    counting_class: str
    elig: list
    perf: list
    strata: list = field(default_factory=list)  # [(group, stratum name)] for multiple strata


def _entry(e: dict, with_pos: bool = True) -> Entry:
    return Entry(e["code"].strip().upper(), frozenset(e.get("modifiers") or ()), frozenset(e.get("modifierExclusions") or ()),
                 frozenset(e.get("placesOfService") or ()) if with_pos else frozenset(),
                 frozenset(e.get("placesOfServiceExclusions") or ()) if with_pos else frozenset())


@lru_cache(maxsize=None)
def load_spec(performance_year: int, root: Path = SHARED_REFERENCE) -> dict:
    raw = json.loads((root / "claims-single-source" / f"qpp-single-source-{performance_year}.json").read_text())
    meta = {m["measureId"]: m for m in json.loads((root / "measures" / str(performance_year) / "measures-data.json").read_text())
            if m.get("category") == "quality"}
    measures = {}
    for mid, m in raw.items():
        cls = COUNTING_CLASS[mid]
        md = meta.get(mid, {})
        old226 = mid == "226" and not any("optionGroup" in e for e in m["eligibilityOptions"])
        elig = []
        for i, e in enumerate(m["eligibilityOptions"], start=1):
            procs: dict = {}
            for p in e.get("procedureCodes") or ():
                en = _entry(p)
                procs.setdefault(en.code, []).append(en)
            elig.append(EligOption(
                group=str(i) if old226 else e.get("optionGroup"),
                min_age=e.get("minAge"), max_age=e.get("maxAge"), sex=e.get("sexCode"),
                dx=frozenset(nodot(c) for c in e.get("diagnosisCodes") or ()),
                dx_exclusions=frozenset(nodot(c) for c in e.get("diagnosisExclusionCodes") or ()),
                dx_additional=frozenset(nodot(c) for c in e.get("additionalDiagnosisCodes") or ()),
                procedures=procs,
                additional=[_entry(a, with_pos=False) for a in e.get("additionalProcedureCodes") or ()]))
        perf = []
        if old226:
            for g, result, code, mods in _226_OLD:
                perf.append(PerfOption(g, result, [Entry(code, frozenset(mods))], frozenset()))
        else:
            for p in m["performanceOptions"]:
                line_codes, dx_codes = [], set()
                for q in p["qualityCodes"]:
                    if is_diagnosis_code(q["code"]):
                        dx_codes.add(nodot(q["code"]))
                    else:
                        # quality-code placesOfService (PY2019 112/113/418) is not a matching condition in the spec
                        line_codes.append(_entry(q, with_pos=False))
                perf.append(PerfOption(p.get("optionGroup"), p["optionType"], line_codes, frozenset(dx_codes)))
        strata = []
        if cls == "strata":
            groups = sorted({e.group for e in elig})
            # spec Known defects: 226's intervention stratum (the second) needs the intervention-qualifying code
            # G9902 on the claim; the PY2021, PY2022 and PY2025 files dropped its additionalProcedureCodes
            for e in elig:
                if e.group == groups[1] and not e.additional:
                    e.additional = [Entry("G9902")]
            names = [s.get("name") for s in md.get("strata") or ()]
            strata = list(zip(groups, names))
        measures[mid] = Measure(mid, bool(md.get("isInverse")), cls, elig, perf, strata)
    return measures


# --- claims -------------------------------------------------------------------------------------------------------

@dataclass
class Line:
    number: int
    code: str
    pos: str | None
    mods: frozenset
    start: date


@dataclass
class Claim:
    claim_id: str
    tin: str
    npi: str
    person_id: str
    dos: date
    lines: list
    dx: frozenset


def _as_date(v) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


def build_claims(lines: list[dict]) -> list[Claim]:
    """Claim = lines with the same claim id, billing TIN and rendering NPI; claim-level diagnoses; DOS = earliest line."""
    by_key: dict = {}
    for r in lines:
        by_key.setdefault((r["claim_id"], r["billing_tin"], r["rendering_npi"]), []).append(r)
    claims = []
    for (cid, tin, npi), rows in by_key.items():
        dx = set()
        ls = []
        for r in rows:
            for i in range(1, 26):
                c = r.get(f"diagnosis_code_{i}")
                if c:
                    dx.add(nodot(c))
            mods = frozenset(m.strip().upper() for m in (r.get(f"hcpcs_modifier_{i}") for i in range(1, 6)) if m)
            ls.append(Line(r["claim_line_number"], (r.get("hcpcs_code") or "").strip().upper(),
                           r.get("place_of_service_code"), mods, _as_date(r["claim_line_start_date"])))
        claims.append(Claim(cid, tin, npi, rows[0]["person_id"], min(l.start for l in ls), ls, frozenset(dx)))
    return claims


def age_in_months(birth: date, on: date) -> int:
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    # born 29 February: CMS's claims calculation reaches the birthday on 28 February of a common year (issue 14)
    leap_day_reached = ((birth.month, birth.day) == (2, 29) and (on.month, on.day) == (2, 28)
                        and not calendar.isleap(on.year))
    if on.day < birth.day and not leap_day_reached:
        months -= 1
    return months


def _line_matches(line: Line, e: Entry, check_pos: bool) -> bool:
    if line.code != e.code:
        return False
    perf_mods = line.mods & PERFORMANCE_MODIFIERS
    # modifier convention: a performance-modified line matches only an entry listing that modifier
    if perf_mods and not perf_mods <= e.modifiers:
        return False
    if e.modifiers and not (line.mods & e.modifiers):
        return False
    if line.mods & e.modifier_exclusions:
        return False
    if check_pos:
        if e.pos and line.pos not in e.pos:
            return False
        if e.pos_exclusions and line.pos in e.pos_exclusions:
            return False
    return True


def eligible_lines(claim: Claim, opt: EligOption, person: dict | None) -> list[Line]:
    """Lines through which the claim meets the eligibility option (empty: not eligible)."""
    if person is None or person.get("birth_date") is None:
        return []
    months = age_in_months(person["birth_date"], claim.dos)
    if opt.min_age is not None and months < round(opt.min_age * 12):
        return []
    # integer maxAge 75 includes 75 years 11 months: whole years completed <= maxAge
    if opt.max_age is not None and months // 12 > opt.max_age:
        return []
    if opt.sex and person.get("sex") != opt.sex:
        return []
    if opt.dx and not (claim.dx & opt.dx):
        return []
    if claim.dx & opt.dx_exclusions:
        return []
    if opt.dx_additional and not (claim.dx & opt.dx_additional):
        return []
    for a in opt.additional:
        if not any(_line_matches(l, a, check_pos=False) for l in claim.lines):
            return []
    out = []
    for l in claim.lines:
        if any(_line_matches(l, e, check_pos=True) for e in opt.procedures.get(l.code, ())):
            out.append(l)
    return out


def claim_results(claim: Claim, perf: list[PerfOption], groups: set) -> set:
    out = set()
    for p in perf:
        if p.group is not None and p.group not in groups:
            continue
        if not p.dx_codes <= claim.dx:
            continue
        if all(any(_line_matches(l, e, check_pos=False) for l in claim.lines) for e in p.line_codes):
            out.add(p.result)
    return out


def best(results, inverse: bool):
    order = _ORDER_INVERSE if inverse else _ORDER_NORMAL
    for r in order:
        if r in results:
            return r
    return None


@dataclass
class Hit:
    claim: Claim
    lines: list  # eligible procedure lines
    qual_dx: frozenset  # claim diagnoses that qualified it (episode class)
    results: set


def _instances(measure: Measure, hits: list[Hit]) -> list:
    """List of instance results (None = unreported) for one unit's eligible claims of one (sub-)measure."""
    inv = measure.inverse
    cls = measure.counting_class
    by_person: dict = {}
    for h in hits:
        by_person.setdefault(h.claim.person_id, []).append(h)
    out = []
    for pid, hs in by_person.items():
        if cls in ("patient", "strata"):
            out.append(best(set().union(*(h.results for h in hs)), inv))
        elif cls == "intermediate":
            reported = [h for h in hs if h.results]
            if not reported:
                out.append(None)
            else:
                last = max(h.claim.dos for h in reported)
                out.append(best(set().union(*(h.results for h in reported if h.claim.dos == last)), inv))
        elif cls == "procedure":
            by_day: dict = {}
            for h in hs:
                by_day.setdefault(h.claim.dos, set()).update(h.results)
            out.extend(best(r, inv) for r in by_day.values())
        elif cls == "visit":
            for h in hs:
                out.extend(best(h.results, inv) for _ in h.lines)
        elif cls == "episode":
            # claims sharing a qualifying diagnosis belong to one episode (transitively)
            parent = list(range(len(hs)))

            def find(i):
                while parent[i] != i:
                    parent[i] = parent[parent[i]]
                    i = parent[i]
                return i
            for i in range(len(hs)):
                for j in range(i + 1, len(hs)):
                    if hs[i].qual_dx & hs[j].qual_dx:
                        parent[find(i)] = find(j)
            comps: dict = {}
            for i, h in enumerate(hs):
                comps.setdefault(find(i), set()).update(h.results)
            out.extend(best(r, inv) for r in comps.values())
        elif cls == "episode30":
            hs = sorted(hs, key=lambda h: h.claim.dos)
            i = 0
            while i < len(hs):
                start = hs[i].claim.dos
                end = start + timedelta(days=29)  # a 30-day window: the opening day and the 29 days after it
                window = []
                while i < len(hs) and hs[i].claim.dos <= end:
                    window.append(hs[i])
                    i += 1
                reported = [h for h in window if h.results]
                if not reported:
                    out.append(None)
                else:
                    first = min(h.claim.dos for h in reported)
                    out.append(best(set().union(*(h.results for h in reported if h.claim.dos == first)), inv))
        elif cls == "flu":
            seasons: dict = {}
            for h in hs:
                m = h.claim.dos.month
                if m <= 3:
                    seasons.setdefault("q1", set()).update(h.results)
                elif m >= 10:
                    seasons.setdefault("q4", set()).update(h.results)
            out.extend(best(r, inv) for r in seasons.values())
        elif cls == "second":
            first = min(h.claim.dos for h in hs)
            later = [h for h in hs if h.claim.dos > first]
            if later:
                out.append(best(set().union(*(h.results for h in later)), inv))
        else:
            raise ValueError(cls)
    return out


def _persons(eligibility: list[dict]) -> dict:
    persons = {}
    for r in eligibility:
        g = (r.get("gender") or "").lower()
        persons.setdefault(r["person_id"], {"birth_date": _as_date(r.get("birth_date")),
                                            "sex": {"female": "F", "male": "M"}.get(g)})
    return persons


def compute(performance_year: int, period_start: date, period_end: date, lines: list[dict], eligibility: list[dict],
            levels=("individual", "group"), measure_ids=None, root: Path = SHARED_REFERENCE) -> dict:
    spec = load_spec(performance_year, root)
    persons = _persons(eligibility)
    claims = [c for c in build_claims(lines) if period_start <= c.dos <= period_end]
    results: dict = {}
    for mid, m in spec.items():
        if measure_ids is not None and mid not in measure_ids:
            continue
        if m.counting_class == "facility":
            continue
        subs = m.strata if m.counting_class == "strata" else [(None, None)]
        for group, stratum in subs:
            hits = []
            for c in claims:
                person = persons.get(c.person_id)
                groups, elines, qdx = set(), [], set()
                for opt in m.elig:
                    if group is not None and opt.group != group:
                        continue
                    ls = eligible_lines(c, opt, person)
                    if ls:
                        groups.add(opt.group)
                        elines.extend(l for l in ls if l not in elines)
                        qdx |= c.dx & opt.dx
                if not elines:
                    continue
                hits.append(Hit(c, elines, frozenset(qdx), claim_results(c, m.perf, groups)))
            for level in levels:
                units: dict = {}
                for h in hits:
                    key = (h.claim.tin, h.claim.npi) if level == "individual" else (h.claim.tin, None)
                    units.setdefault(key, []).append(h)
                for (tin, npi), uh in units.items():
                    inst = _instances(m, uh)
                    if not inst:
                        continue
                    results[(level, tin, npi, mid, stratum)] = (
                        len(inst), inst.count(EXCLUSION), inst.count(EXCEPTION), inst.count(MET), inst.count(NOT_MET))
    return results
