"""Property (issue 14): adding non-Medicare claims to an input changes no claims measure and no low-volume
figure. CMS computes claims measures and the low-volume threshold from Medicare Part B claims only
(42 CFR 414.1305; claims-measure-logic.md), so lines of any other payer, institutional lines and enrollment spans
of other payers are set aside by transforms/claims_scope.py, whatever they hold."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import tuva_shapes as tuva
from transforms import claims_scope, ingest
from transforms.measures import compute_measures
from transforms.scoring.eligibility import mips_eligibility

PY = 2023
OTHER_NPI = "1245319599"


def base_claims() -> list[dict]:
    d = "2023-04-03"
    return [tuva.physician_line("B1", 1, "M1", d, "99213", ["E119"], "100.00"),
            tuva.physician_line("B1", 2, "M1", d, "3046F", ["E119"], "0.00"),
            tuva.physician_line("B2", 1, "M2", "2023-06-01", "99213", ["E119"], "80.00"),
            tuva.physician_line("B3", 1, "M3", "2023-07-01", "99213", [], "75.00"),
            tuva.physician_line("B3", 2, "M3", "2023-07-01", "1123F", [], "0.00")]


def base_people() -> list[dict]:
    return [tuva.enrollment(p, b, g, start="2023-01-01", end="2023-12-31")
            for p, b, g in (("M1", "1960-01-01", "female"), ("M2", "1955-03-01", "male"),
                            ("M3", "1950-01-01", "female"))]


other_line = st.fixed_dictionaries({
    "person": st.sampled_from(["M1", "M2", "M3", "X1", "X2"]),  # Medicare beneficiaries too: their other coverage
    "code": st.sampled_from(["99213", "99214", "3046F", "3044F", "1123F", "G2098", "99284"]),
    "dx": st.sampled_from([["E119"], [], ["Z1231"]]),
    "day": st.integers(min_value=1, max_value=365),
    "payer": st.sampled_from(["aetna", "medicaid", "medicare advantage", "commercial", "medicare"]),
    "claim_type": st.sampled_from(["professional", "institutional"]),
    "npi": st.sampled_from([tuva.NPI, OTHER_NPI]),
    "allowed": st.sampled_from(["0.00", "55.10", "1200.00"]),
})


def _results(folder: Path, claims: list[dict], people: list[dict]) -> tuple[list, list]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {"medical_claim": tuva.write(folder / "medical_claim.csv", tuva.MEDICAL_CLAIM_COLUMNS, claims),
             "eligibility": tuva.write(folder / "eligibility.csv", tuva.ELIGIBILITY_COLUMNS, people)}
    con = duckdb.connect()
    try:
        ingest.ingest_inputs(con, files, scope=claims_scope.apply_part_b_scope)
        compute_measures(con, performance_year=PY, period_start=date(PY, 1, 1), period_end=date(PY, 12, 31))
        mips_eligibility(con, PY)
        measures = con.execute("SELECT * EXCLUDE (performance_year) FROM measure_results ORDER BY ALL").fetchall()
        volume = con.execute("SELECT level, tin, npi, allowed_charges, beneficiaries, services, "
                             "exceeds_low_volume_threshold FROM mips_eligibility ORDER BY ALL").fetchall()
        return measures, volume
    finally:
        con.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.lists(other_line, min_size=1, max_size=8))
def test_adding_non_medicare_claims_changes_no_measure_and_no_low_volume_figure(tmp_path_factory, extra):
    base = tmp_path_factory.mktemp("base")
    before = _results(base / "before", base_claims(), base_people())
    claims, people = base_claims(), base_people()
    for i, x in enumerate(extra):
        dos = (date(PY, 1, 1).toordinal() + x["day"] - 1)
        dos = date.fromordinal(dos).isoformat()
        if x["claim_type"] == "institutional":
            line = tuva.institutional_line(f"X{i}", 1, x["person"], dos, "0450", x["code"], x["allowed"])
            line["payer"] = x["payer"]  # a Medicare institutional line is out of scope as well
        else:
            if x["payer"] == "medicare":
                x["payer"] = "commercial"  # a Medicare professional line is what the property does not add
            line = tuva.physician_line(f"X{i}", 1, x["person"], dos, x["code"], x["dx"], x["allowed"], npi=x["npi"])
            line.update(billing_tin=tuva.TIN)
        line.update(payer=x["payer"], plan=x["payer"], data_source=f"{x['payer']} feed")
        claims.append(line)
        if x["person"].startswith("X") and not any(p["person_id"] == x["person"] for p in people):
            people.append(tuva.enrollment(x["person"], "1958-05-05", "female", payer="aetna", plan="aetna",
                                          data_source="aetna feed", start="2023-01-01", end="2023-12-31"))
    after = _results(base / "after", claims, people)
    assert after == before
    assert before[0] and before[1]  # the comparison is about real rows: measures and volumes were computed
