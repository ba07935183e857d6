"""Property tests of the measure engine's invariants on random small claim sets (PY2023 measure 047, patient class).

claims-measure-logic.md: eligible population counts every instance (results plus unreported); a patient is one
instance per unit, judged by the most advantageous result (met > exclusion > not met for 047); the group re-forms
instances over the TIN's clinicians, so per TIN: max(individual) <= group <= sum(individual).
"""
from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.measure_fixtures import NPI, NPI2, TIN, TIN2, claim, new_db, person
from transforms.measures import compute_measures

# quality codes of 047 (PY2023) and their results; '' = visit without quality code, 'G9692' = exclusion
_QDC = {"1123F": "met", "1123F-8P": "not_met", "G9692": "exclusion", "": None}
_RANK = {"met": 1, "exclusion": 2, "not_met": 4, None: 9}
_UNITS = [(TIN, NPI), (TIN, NPI2), (TIN2, NPI)]

claims_strategy = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 2), st.integers(1, 12), st.sampled_from(sorted(_QDC))),
    min_size=1, max_size=12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claims_strategy)
def test_047_patient_class_invariants(rows):
    con = new_db()
    for p in range(5):
        person(con, f"p{p}", "1950-01-01")
    expected: dict = {}
    for n, (p, unit, month, qdc) in enumerate(rows):
        tin, npi = _UNITS[unit]
        claim(con, f"c{n}", f"p{p}", date(2023, month, 1), ["99213"] + ([qdc] if qdc else []), tin=tin, npi=npi)
        for key in (("individual", tin, npi), ("group", tin, None)):
            best = expected.setdefault(key, {}).get(p)
            if best is None or _RANK[_QDC[qdc]] < _RANK[_QDC[best]]:
                expected[key][p] = qdc
    compute_measures(con, performance_year=2023, period_start=date(2023, 1, 1), period_end=date(2023, 12, 31))
    got = {(lv, t, n): (ep, ex, ec, met, nm, rr) for lv, t, n, ep, ex, ec, met, nm, rr in con.execute(
        "SELECT level, tin, npi, eligible_population, eligible_population_exclusion, eligible_population_exception, "
        "performance_met, performance_not_met, reporting_rate FROM measure_results WHERE measure_id = '047'").fetchall()}
    assert set(got) == set(expected)
    for key, (ep, ex, ec, met, nm, rr) in got.items():
        results = [_QDC[q] for q in expected[key].values()]
        # one instance per patient, judged by the most advantageous result
        assert (ep, ex, ec, met, nm) == (len(results), results.count("exclusion"), 0, results.count("met"),
                                         results.count("not_met"))
        # eligible population = results + unreported; reporting rate = reported share
        assert ep >= ex + ec + met + nm
        assert abs(rr - 100.0 * (ex + ec + met + nm) / ep) < 1e-9
    for tin in {t for _, t, _ in got}:
        individual = [v[0] for (lv, t, _), v in got.items() if lv == "individual" and t == tin]
        group = got[("group", tin, None)][0]
        assert max(individual) <= group <= sum(individual)
