"""Differential tests: the measure engine (transforms.measures.compute_measures) against an independent plain-Python
oracle of ../shared/spec/claims-measure-logic.md (tests/oracle/claims_oracle.py) on small seeded random claim sets
drawn from each year's raw CMS claims specification, and hand-made minimal cases for each disagreement found.

Counts compared per (level, tin, npi, measure_id, stratum): (eligible_population, exclusion, exception, met, not_met),
claims source only."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd
import pytest

from mips.paths import SHARED_REFERENCE

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="../shared/reference/qpp-measures-data absent")]

if SHARED_REFERENCE.is_dir():
    from tests.oracle import claims_oracle as oracle

T1, T2 = "111111111", "222222222"
N1, N2, N3 = "1000000001", "1000000002", "1000000003"
# N1 bills under both TINs: individual rows are per (TIN, NPI)
UNITS = [(T1, N1), (T1, N2), (T2, N3), (T2, N1)]
LINE_COLUMNS = (["claim_id", "claim_line_number", "claim_type", "person_id", "claim_line_start_date",
                 "claim_line_end_date", "place_of_service_code", "hcpcs_code"]
                + [f"hcpcs_modifier_{i}" for i in range(1, 6)]
                + ["rendering_npi", "billing_tin", "diagnosis_code_type"]
                + [f"diagnosis_code_{i}" for i in range(1, 26)]
                + ["allowed_amount", "paid_amount", "service_unit_quantity", "payer", "source_file", "source_row_number"])
ELIG_COLUMNS = ["person_id", "birth_date", "gender", "enrollment_start_date", "enrollment_end_date",
                "dual_status_code", "death_date", "payer", "source_file", "source_row_number"]


# --- building inputs ---------------------------------------------------------------------------------------------

class Builder:
    """Claim lines and eligibility rows as plain dicts (the oracle's input), loadable into DuckDB (the engine's)."""

    def __init__(self):
        self.lines: list[dict] = []
        self.elig: list[dict] = []

    def person(self, pid, birth, gender="female", rows=1):
        for k in range(rows):
            self.elig.append(dict(person_id=pid, birth_date=date.fromisoformat(str(birth)), gender=gender,
                                  enrollment_start_date=date(2000 + 10 * k, 1, 1), enrollment_end_date=date(2009 + 30 * k, 12, 31),
                                  dual_status_code=None, death_date=None, payer="medicare", source_file="oracle",
                                  source_row_number=len(self.elig) + 1))

    def claim(self, cid, pid, dos, lines, dx=(), tin=T1, npi=N1, pos="11"):
        """lines: 'CODE[-MOD...]' or (text, pos, line_date, [dx on this line]); dx goes on the first line."""
        dos = date.fromisoformat(str(dos))
        for n, line in enumerate(lines, start=1):
            if isinstance(line, tuple):
                text, lpos, ldate, ldx = (tuple(line) + (None, None, None))[:4]
            else:
                text, lpos, ldate, ldx = line, None, None, None
            code, *mods = text.split("-")
            mods = (mods + [None] * 5)[:5]
            d = (list(dx) if n == 1 else []) + list(ldx or [])
            d = (d + [None] * 25)[:25]
            ld = date.fromisoformat(str(ldate)) if ldate else dos
            row = dict(claim_id=cid, claim_line_number=n, claim_type="professional", person_id=pid,
                       claim_line_start_date=ld, claim_line_end_date=ld, place_of_service_code=lpos or pos,
                       hcpcs_code=code, rendering_npi=npi, billing_tin=tin, diagnosis_code_type="icd-10-cm",
                       allowed_amount=10.0, paid_amount=8.0, service_unit_quantity=1.0, payer="medicare",
                       source_file="oracle", source_row_number=len(self.lines) + 1)
            row.update({f"hcpcs_modifier_{i}": mods[i - 1] for i in range(1, 6)})
            row.update({f"diagnosis_code_{i}": d[i - 1] for i in range(1, 26)})
            self.lines.append(row)

    def engine(self, year, start=None, end=None):
        from tests.measure_fixtures import new_db
        from transforms.measures import compute_measures

        con = new_db()
        lines = pd.DataFrame(self.lines, columns=LINE_COLUMNS)  # noqa: F841 (read by DuckDB)
        elig = pd.DataFrame(self.elig, columns=ELIG_COLUMNS)  # noqa: F841
        con.execute("INSERT INTO medical_claim BY NAME SELECT * FROM lines")
        con.execute("INSERT INTO eligibility BY NAME SELECT * FROM elig")
        compute_measures(con, performance_year=year, period_start=start or date(year, 1, 1),
                         period_end=end or date(year, 12, 31), sources=("claims",))
        rows = con.execute("""SELECT level, tin, npi, measure_id, stratum, eligible_population, eligible_population_exclusion,
                              eligible_population_exception, performance_met, performance_not_met
                              FROM measure_results WHERE source = 'claims' AND computed""").fetchall()
        con.close()
        return {tuple(r[:5]): tuple(int(x) for x in r[5:]) for r in rows}

    def oracle(self, year, start=None, end=None):
        return oracle.compute(year, start or date(year, 1, 1), end or date(year, 12, 31), self.lines, self.elig)


def diff(eng: dict, ora: dict) -> list:
    out = []
    for k in sorted(set(eng) | set(ora), key=lambda k: tuple(str(x) for x in k)):
        if eng.get(k) != ora.get(k):
            out.append((k, "engine", eng.get(k), "oracle", ora.get(k)))
    return out


def one(result: dict, measure_id: str, level="individual", tin=T1, npi=N1, stratum=None):
    return result.get((level, tin, None if level == "group" else npi, measure_id, stratum))


# --- random claim sets drawn from the spec ------------------------------------------------------------------------

class Gen:
    def __init__(self, year: int, seed: int):
        self.year = year
        self.rng = random.Random(seed * 10007 + year)
        self.spec = oracle.load_spec(year)
        self.b = Builder()
        self.n = 0

    def _id(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def _dos(self):
        r, y = self.rng, self.year
        u = r.random()
        if u < 0.06:
            return date(y - 1, 12, r.randint(28, 31))           # just before the period
        if u < 0.10:
            return date(y, 12, r.randint(29, 31))               # last days of the period
        if u < 0.14:
            return date(y, 1, r.randint(1, 2))                  # first days of the period
        return date(y, 1, 1) + timedelta(days=r.randint(0, 364))

    def _birth(self, opt, dos):
        r = self.rng
        u = r.random()
        if opt.max_age is not None and u < 0.3:
            # around maxAge + 1 (maxAge 75 includes 75y11m): one day either side of the (maxAge+1)th birthday
            years = int(opt.max_age) + 1
            b = date(dos.year - years, dos.month, min(dos.day, 28)) + timedelta(days=r.choice([-1, 0, 1, 2]))
        elif u < 0.55:
            # around minAge (0.5 = six months)
            months = round(opt.min_age * 12)
            y, m = divmod(dos.year * 12 + dos.month - 1 - months, 12)
            b = date(y, m + 1, min(dos.day, 28)) + timedelta(days=r.choice([-1, 0, 1, 2]))
        else:
            lo = opt.min_age or 0
            hi = opt.max_age if opt.max_age is not None else lo + 30
            b = dos - timedelta(days=int(365.25 * r.uniform(lo + 0.1, hi + 0.9)))
        # born before the earliest line (a line may be dated a day before the claim's nominal date)
        b = min(b, dos - timedelta(days=2))
        if b.month == 2 and b.day == 29:
            b = b - timedelta(days=1)
        return b

    def _line_text(self, code, mods):
        return "-".join([code] + [m for m in mods if m])

    def _qdc(self, m, groups):
        """Lines and diagnoses of one performance option (sometimes incomplete, sometimes wrong modifiers)."""
        r = self.rng
        cands = [p for p in m.perf if p.group is None or p.group in groups] if r.random() < 0.75 else m.perf
        if not cands:
            return [], []
        p = r.choice(cands)
        lines, dx = [], []
        for e in p.line_codes:
            if e.modifiers:
                mods = [r.choice(sorted(e.modifiers))]
            elif r.random() < 0.15:
                mods = [r.choice(["1P", "2P", "3P", "8P"])]
            elif r.random() < 0.05:
                mods = ["GT"]
            else:
                mods = []
            lines.append(self._line_text(e.code, mods))
        dx = sorted(p.dx_codes)
        if len(lines) + len(dx) > 1 and r.random() < 0.15:
            if lines and r.random() < 0.5:
                lines.pop(r.randrange(len(lines)))
            elif dx:
                dx.pop()
        return lines, dx

    def claims_for(self, m, pid, opt, dos, unit):
        r = self.rng
        tin, npi = unit
        code = r.choice(sorted(opt.procedures))
        e = r.choice(opt.procedures[code])
        pos = "11"
        if e.pos:
            pos = r.choice(sorted(e.pos)) if r.random() < 0.85 else "11"
        if e.pos_exclusions and r.random() < 0.25:
            pos = r.choice(sorted(e.pos_exclusions))
        mods = []
        u = r.random()
        if e.modifier_exclusions and u < 0.15:
            mods = [r.choice(sorted(e.modifier_exclusions))]
        elif u < 0.2:
            mods = [r.choice(["8P", "1P"])]      # performance modifier on the procedure line
        elif u < 0.3:
            mods = ["25"]
        lines = [(self._line_text(code, mods), pos, None, [])]
        if r.random() < 0.15:                   # a second eligible procedure line
            c2 = r.choice(sorted(opt.procedures))
            lines.append((c2, pos, None, []))
        dx = []
        if opt.dx and r.random() < 0.92:
            dx += r.sample(sorted(opt.dx), k=min(len(opt.dx), r.choice([1, 1, 2])))
        if opt.dx_exclusions and r.random() < 0.2:
            dx.append(r.choice(sorted(opt.dx_exclusions)))
        if opt.dx_additional and r.random() < 0.75:
            dx.append(r.choice(sorted(opt.dx_additional)))
        if r.random() < 0.1:
            dx.append("Z0000")
        for a in opt.additional:
            if r.random() < 0.8:
                lines.append((self._line_text(a.code, ["1P"] if r.random() < 0.15 else []), pos, None, []))
        qlines, qdx = [], []
        if r.random() < 0.8:
            qlines, qdx = self._qdc(m, {opt.group})
            if r.random() < 0.12:
                l2, d2 = self._qdc(m, {opt.group})
                qlines += l2
                qdx += d2
        cid = self._id("c")
        sep = r.random()
        if sep < 0.12 and qlines:
            # QDC on a different claim of the same patient, clinician and day
            self.b.claim(self._id("q"), pid, dos, qlines, qdx, tin=tin, npi=npi, pos=pos)
            qlines, qdx = [], []
        elif sep < 0.17 and qlines:
            # same claim id, other rendering NPI of the TIN: a different claim
            other = N2 if npi == N1 else N1
            self.b.claim(cid, pid, dos, qlines, qdx, tin=tin, npi=other, pos=pos)
            qlines, qdx = [], []
        lines += [(q, pos, None, []) for q in qlines]
        dx += qdx
        # spread the claim's diagnoses over its lines (claim-level union) and its line dates (DOS = earliest)
        first = [x for x in dx]
        if len(lines) > 1 and dx and r.random() < 0.3:
            moved = dx.pop()
            t, p_, d_, ld = lines[-1]
            lines[-1] = (t, p_, d_, ld + [moved])
            first = dx
        if len(lines) > 1 and r.random() < 0.2:
            t, p_, d_, ld = lines[-1]
            lines[-1] = (t, p_, dos + timedelta(days=1), ld)
        if len(lines) > 1 and r.random() < 0.1:
            # a later-listed line dated earlier: it becomes the claim's date of service
            t, p_, d_, ld = lines[-1]
            lines[-1] = (t, p_, dos - timedelta(days=1), ld)
        self.b.claim(cid, pid, dos, lines, first, tin=tin, npi=npi, pos=pos)

    def patient(self, m):
        r = self.rng
        opt = r.choice(m.elig)
        pid = self._id("p")
        dates = sorted(self._dos() for _ in range(r.choice([1, 1, 2, 2, 3, 4])))
        if r.random() < 0.3 and len(dates) > 1:
            dates[1] = dates[0] + timedelta(days=r.choice([0, 1, 15, 29, 30, 31]))   # 30-day windows, same day
        birth = self._birth(opt, dates[0])
        sex = opt.sex or r.choice(["F", "M"])
        if r.random() < 0.15:
            sex = "M" if sex == "F" else "F"
        gender = {"F": "female", "M": "male"}[sex] if r.random() > 0.03 else "unknown"
        u = r.random()
        if u > 0.04:
            self.b.person(pid, birth, gender, rows=2 if u > 0.9 else 1)
        unit = r.choice(UNITS)
        for d in dates:
            if r.random() < 0.25:
                unit = r.choice([x for x in UNITS if x[0] == unit[0]])   # another clinician of the TIN
            o = opt if r.random() < 0.8 else r.choice(m.elig)
            self.claims_for(m, pid, o, d, unit)

    def build(self, patients_per_measure=3, measure_ids=None):
        for mid, m in sorted(self.spec.items()):
            if m.counting_class == "facility" or (measure_ids and mid not in measure_ids):
                continue
            for _ in range(patients_per_measure):
                self.patient(m)
        return self.b


def assert_same(b: Builder, year, start=None, end=None):
    eng = b.engine(year, start, end)
    ora = b.oracle(year, start, end)
    d = diff(eng, ora)
    assert not d, f"{len(d)} differing rows of {len(ora)} (oracle) / {len(eng)} (engine):\n" + "\n".join(map(str, d[:30]))
    return ora


# --- differential tests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("year,seed", [(2019, 1), (2019, 2), (2023, 1), (2023, 2), (2018, 1), (2021, 1), (2025, 1)])
def test_random_claims_match_oracle(year, seed):
    b = Gen(year, seed).build()
    ora = assert_same(b, year)
    # the generator must actually exercise the measures: most non-facility measures have eligible instances
    measures = {k[3] for k in ora}
    spec = oracle.load_spec(year)
    assert len(measures) >= 0.8 * sum(1 for m in spec.values() if m.counting_class != "facility")


@pytest.mark.parametrize("year", [2019, 2023])
def test_random_claims_match_oracle_mid_year_period(year):
    b = Gen(year, 7).build(patients_per_measure=2)
    assert_same(b, year, date(year, 4, 1), date(year, 9, 30))
