"""Every claims measure of every year 2018-2025 runs on tiny generated claims and finds its eligible instances.

For each eligibility option of each measure one patient gets a claim built from the option itself (first procedure
code at an allowed place of service, first diagnosis, a different additional diagnosis, all additional procedure
codes, age and sex inside the bounds) plus the codes of one performance option of the same group. So every
(measure, stratum) must have a non-zero eligible population, and at least one instance must carry a result."""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from mips.paths import REFERENCE_DIR
from tests.measure_fixtures import NPI, TIN, claim, new_db, person
from transforms.measures import compute_measures

R = REFERENCE_DIR


def _options(year: int) -> list[dict]:
    con = duckdb.connect()
    rows = con.execute(f"""
        SELECT o.measure_id, o.eligibility_option, o.stratum, o.option_group, o.min_age, o.max_age, o.sex_code,
               m.counting_class, m.facility_event_type
        FROM '{R}/claims_eligibility_options.parquet' o
        JOIN '{R}/claims_measures.parquet' m USING (performance_year, measure_id)
        WHERE o.performance_year = {year} ORDER BY 1, 2""").fetchall()
    cols = ["measure_id", "option", "stratum", "group", "min_age", "max_age", "sex", "cls", "event_type"]
    options = [dict(zip(cols, r)) for r in rows]
    codes = con.execute(f"""SELECT measure_id, eligibility_option, code_role, code, places_of_service,
                                   places_of_service_exclusions, modifiers
                            FROM '{R}/claims_eligibility_codes.parquet' WHERE performance_year = {year}
                            ORDER BY 1, 2, 3, 4""").fetchall()
    perf = con.execute(f"""SELECT o.measure_id, o.performance_option, o.stratum, o.option_group, o.performance_result,
                                  list(c.code ORDER BY c.code_index), list(c.code_kind ORDER BY c.code_index),
                                  list(c.modifiers ORDER BY c.code_index)
                           FROM '{R}/claims_performance_options.parquet' o
                           JOIN '{R}/claims_performance_codes.parquet' c USING (performance_year, measure_id, performance_option)
                           WHERE o.performance_year = {year} GROUP BY ALL ORDER BY 1, 2""").fetchall()
    for o in options:
        mine = [c for c in codes if c[0] == o["measure_id"] and c[1] == o["option"]]
        o["codes"] = {role: [c for c in mine if c[2] == role] for role in
                      ("diagnosis", "diagnosis_exclusion", "additional_diagnosis", "procedure", "additional_procedure")}
        o["perf"] = [p for p in perf if p[0] == o["measure_id"] and p[2] == o["stratum"] and p[3] == o["group"]]
    return options


def _line(entry) -> tuple[str, str]:
    """(code with its required modifier, place of service) passing the entry's lists."""
    _, _, _, code, pos, pos_excl, mods = entry
    place = pos[0] if pos else next(p for p in ("11", "22", "21", "23") if p not in pos_excl)
    return code + (f"-{mods[0]}" if mods else ""), place


def _populate(con, year: int, options: list[dict]) -> None:
    dos = date(year, 11, 15)   # inside a flu season
    for n, o in enumerate(options):
        pid = f"p{n}"
        lo = o["min_age"] or 0
        age = max(1, int(lo) + 1) if o["max_age"] is None else int((lo + o["max_age"]) // 2)
        person(con, pid, date(year - age, 6, 1), {"F": "female", "M": "male"}.get(o["sex"], "female"))
        proc, place = _line(o["codes"]["procedure"][0])
        lines = [(proc, place)] + [(_line(c)[0], place) for c in o["codes"]["additional_procedure"]]
        dx = [c[3] for c in o["codes"]["diagnosis"][:1]]
        dx += [c[3] for c in o["codes"]["additional_diagnosis"] if c[3] not in dx][:1]
        if o["perf"]:
            _, _, _, _, _, qcodes, kinds, qmods = o["perf"][n % len(o["perf"])]
            for code, kind, mods in zip(qcodes, kinds, qmods):
                if kind == "diagnosis":
                    dx.append(code)
                else:
                    lines.append((code + (f"-{mods[0]}" if mods else ""), place))
        claim(con, f"c{n}", pid, dos, lines, dx)
        if o["cls"] == "second_encounter":   # seen twice: a later claim with the same codes
            claim(con, f"c{n}b", pid, date(year, 12, 1), lines, dx)
        if o["event_type"]:
            con.execute("INSERT INTO facility_event VALUES (?, ?, ?)", [pid, o["event_type"], dos])


@pytest.mark.parametrize("year", range(2018, 2026))
def test_every_measure_of_the_year_has_eligible_instances(year):
    options = _options(year)
    con = new_db()
    con.execute("CREATE TABLE facility_event (person_id VARCHAR, event_type VARCHAR, event_date DATE)")
    _populate(con, year, options)
    compute_measures(con, performance_year=year, period_start=date(year, 1, 1), period_end=date(year, 12, 31))
    expected = {(o["measure_id"], o["stratum"]) for o in options}
    got = dict(((m, s), (ep, reported)) for m, s, ep, reported in con.execute(
        "SELECT measure_id, stratum, eligible_population, round(reporting_rate * eligible_population / 100) "
        "FROM measure_results WHERE level = 'individual' AND tin = ? AND npi = ?", [TIN, NPI]).fetchall())
    missing = sorted(expected - set(got), key=str)
    assert not missing, f"PY{year}: no eligible instance for {missing}"
    assert all(ep > 0 for ep, _ in got.values())
    unreported = sorted(k for k, (ep, reported) in got.items() if not reported)
    assert not unreported, f"PY{year}: generated quality codes never matched for {unreported}"
    # group level exists for every measure too
    assert con.execute("SELECT count(DISTINCT (measure_id, stratum)) FROM measure_results WHERE level = 'group'").fetchone()[0] == len(expected)


@pytest.mark.parametrize("year", [2018, 2019])
def test_facility_measures_without_input_are_flagged_not_zero(year):
    options = [o for o in _options(year) if o["cls"] == "facility"]
    assert options, "PY2018/2019 carry facility-event measures (046, 407, 415, 416)"
    con = new_db()
    con.execute("CREATE TEMP TABLE facility_event (person_id VARCHAR, event_type VARCHAR, event_date DATE)")
    _populate(con, year, options)
    con.execute("DROP TABLE facility_event")
    compute_measures(con, performance_year=year, period_start=date(year, 1, 1), period_end=date(year, 12, 31))
    facility = sorted({o["measure_id"] for o in options})
    rows = con.execute("SELECT DISTINCT measure_id, computed, eligible_population FROM measure_results "
                       "WHERE list_contains(?, measure_id)", [facility]).fetchall()
    assert sorted({r[0] for r in rows}) == facility
    assert all(r[1] is False and r[2] is None for r in rows)
    # the other measures these claims qualify for are computed as usual
    assert con.execute("SELECT bool_and(computed) FROM measure_results WHERE NOT list_contains(?, measure_id)",
                       [facility]).fetchone()[0] is True
    assert con.execute("SELECT count(*) FROM measure_instances WHERE list_contains(?, measure_id)",
                       [facility]).fetchone()[0] == 0


def test_performance_option_codes_are_numbered_one_to_code_count():
    # sql/04_claim_results.sql sets bit (code_index - 1) per code found on the claim and asks for all code_count
    # bits: that holds only while every option numbers its codes 1..code_count, in every year.
    con = new_db()
    bad = con.execute("""
        SELECT performance_year, measure_id, performance_option
        FROM ref.claims_performance_options o
        LEFT JOIN ref.claims_performance_codes c USING (performance_year, measure_id, performance_option)
        GROUP BY ALL
        HAVING list(DISTINCT c.code_index ORDER BY c.code_index) IS DISTINCT FROM range(1, any_value(o.code_count) + 1)
    """).fetchall()
    assert con.execute("SELECT count(*) FROM ref.claims_performance_options").fetchone()[0] > 1000
    assert bad == []
