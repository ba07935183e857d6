"""Tuva's input layer as it is (issue 14 items 1-2): a medical_claim and an eligibility shaped exactly like the
output of Tuva's Medicare CCLF connector (tests/tuva_shapes.py), with professional, institutional and DME lines
and a second payer, run end to end. Only Part B professional Medicare lines are counted; the rest are out of
scope with reasons, and nothing is rejected."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mips.period import run_period_steps
from tests import tuva_shapes as tuva
from tests.tuva_shapes import NPI, TIN


def table(out: Path, name: str, where: str = "TRUE", columns: str = "*") -> list[tuple]:
    return duckdb.sql(f"SELECT {columns} FROM read_parquet('{out}/{name}/**/*.parquet', hive_partitioning = true) "
                      f"WHERE {where}").fetchall()


def tuva_inputs(folder: Path, shape: str = "connector") -> dict[str, Path]:
    claim_columns, eligibility_columns = tuva.SHAPES[shape]
    folder.mkdir(parents=True, exist_ok=True)
    d = "2023-05-02"
    claims = [
        # Medicare Part B professional (CCLF5): billing_tin empty, rendering_tin filled, as the connector does
        tuva.physician_line("MC1", 1, "M1", d, "99213", ["E119"], "100.00"),
        tuva.physician_line("MC1", 2, "M1", d, "3046F", ["E119"], "0.00"),  # quality data code: zero charge, stays in
        tuva.physician_line("MC2", 1, "M2", d, "99213", ["E119"], "80.00"),
        # institutional (CCLF1/2): out of scope
        tuva.institutional_line("IC1", 1, "M1", d, "0450", "99284", "500.00"),
        tuva.institutional_line("IC1", 2, "M1", d, "0300", "", "40.00"),
        # DME (CCLF6): professional with no TIN: out of scope
        tuva.dme_line("DC1", 1, "M2", d, "E0601", "200.00"),
    ]
    # another payer, same TIN and clinician, data source 'aetna'; claim id MC2 repeats the Medicare one: the key
    # (claim_id, claim_line_number, data_source) keeps them apart
    for n, code in ((1, "99213"), (2, "3046F")):
        line = tuva.physician_line("MC2", n, "C1", d, code, ["E119"], "300.00" if n == 1 else "0.00")
        line.update(payer="aetna", plan="aetna ppo", data_source="aetna", billing_tin=TIN, rendering_tin="")
        claims.append(line)
    people = [tuva.enrollment("M1", "1960-01-01", "female"),
              tuva.enrollment("M1", "1960-01-01", "female", payer="aetna", plan="aetna ppo", data_source="aetna"),
              tuva.enrollment("M2", "1960-01-01", "male"),
              tuva.enrollment("C1", "1960-01-01", "female", payer="aetna", plan="aetna ppo", data_source="aetna")]
    for p in people:
        p["enrollment_start_date"], p["reference_year"] = "2023-01-01", "2023"
    return {"medical_claim": tuva.write(folder / "medical_claim.csv", claim_columns, claims),
            "eligibility": tuva.write(folder / "eligibility.csv", eligibility_columns, people)}


def test_fixtures_have_exactly_tuva_s_columns():
    # connector: 24 + 5 modifiers + 19 + 25 dx + 25 poa + 1 + 25 px + 25 px dates + 5; the input layer has 6 fewer
    assert len(tuva.MEDICAL_CLAIM_COLUMNS) == 154 and len(set(tuva.MEDICAL_CLAIM_COLUMNS)) == 154
    assert len(tuva.ELIGIBILITY_COLUMNS) == 41
    assert len(tuva.INPUT_LAYER_MEDICAL_CLAIM_COLUMNS) == 148 and len(tuva.INPUT_LAYER_ELIGIBILITY_COLUMNS) == 39


@pytest.fixture(scope="module", params=sorted(tuva.SHAPES))
def tuva_run(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"tuva_{request.param}")
    files = tuva_inputs(base / "in", request.param)
    report = run_period_steps(performance_year=2023, files=files, output_root=base / "out")
    return base / "out", files, report


def test_tuva_connector_tables_run_end_to_end_with_only_part_b_professional_medicare_counted(tuva_run):
    out, files, _ = tuva_run
    summary = {r[0]: r[1:] for r in table(out, "ingest_summary", columns=
                                           "table_name, input_rows, accepted_rows, out_of_scope_rows, rejected_rows")}
    # claims: 8 lines = 3 Medicare professional + 5 out of scope (2 institutional, 1 DME, 2 aetna), none rejected
    assert summary["medical_claim"] == (8, 3, 5, 0)
    # eligibility: 4 spans = 2 Medicare + 2 aetna (M1's second plan is no duplicate: the key has payer and plan)
    assert summary["eligibility"] == (4, 2, 2, 0)
    reasons = {(t, r.split(":")[0]): n for t, r, n in table(out, "ingest_out_of_scope", columns='table_name, reason, "rows"')}
    assert reasons == {
        ("medical_claim", "institutional claim line"): 2,
        ("medical_claim", "no billing_tin or rendering_tin"): 1,
        ("medical_claim", "payer is not Medicare"): 2,
        ("eligibility", "enrollment span of a payer other than Medicare"): 2,
    }
    assert table(out, "rejects") == []


def test_the_tin_comes_from_rendering_tin_and_the_run_says_so(tuva_run):
    out, _, _ = tuva_run
    warnings = {r[0]: r[1] for r in table(out, "ingest_warnings", columns="rule, rows_affected")}
    assert warnings["billing_tin_from_rendering_tin"] == 3  # the three CCLF5 lines
    assert {r[0] for r in table(out, "measure_results", "source = 'claims'", "tin")} == {TIN}


def test_measures_and_low_volume_count_medicare_part_b_only(tuva_run):
    out, _, _ = tuva_run
    # 001: M1 met (3046F), M2 eligible with no QDC; the aetna patient C1 is not counted
    row = table(out, "measure_results", f"measure_id = '001' AND level = 'individual' AND npi = '{NPI}'",
                "eligible_population, performance_met, performance_not_met")
    assert row == [(2, 1, 0)]
    # low-volume: 100 + 0 + 80 allowed (not the institutional 540, the DME 200 or aetna's 300), 2 beneficiaries
    group = table(out, "mips_eligibility", f"level = 'group' AND tin = '{TIN}'", "allowed_charges, beneficiaries")
    assert group == [(180.0, 2)]
