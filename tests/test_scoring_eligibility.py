"""MIPS eligibility from claims (issue 4 item 7) and the `mips run` adapters (item 8)."""
from __future__ import annotations

import duckdb
import pytest

from transforms.scoring import entities_from_claims, mips_eligibility, quality_input_from_measure_results

TIN = "123456789"
NPI_BIG, NPI_SMALL, NPI_NEW, NPI_TYPE = "1000000001", "1000000002", "1000000003", "1000000004"


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("""CREATE TABLE medical_claim (claim_id VARCHAR, person_id VARCHAR, claim_line_start_date DATE,
                   rendering_npi VARCHAR, billing_tin VARCHAR, allowed_amount DOUBLE, service_unit_quantity DOUBLE)""")
    # NPI_BIG: 201 beneficiaries x $500 = $100,500 allowed, 201 services -> above every PY2019 criterion.
    con.execute(f"""INSERT INTO medical_claim SELECT 'c' || i, 'p' || i, DATE '2019-03-01', '{NPI_BIG}', '{TIN}', 500, 1
                    FROM range(201) t(i)""")
    # NPI_SMALL: 10 beneficiaries x $100 -> at or below the threshold.
    con.execute(f"""INSERT INTO medical_claim SELECT 's' || i, 'p' || i, DATE '2019-03-01', '{NPI_SMALL}', '{TIN}', 100, 1
                    FROM range(10) t(i)""")
    # NPI_NEW and NPI_TYPE: as big as NPI_BIG but newly enrolled / not an eligible clinician type.
    for npi in (NPI_NEW, NPI_TYPE):
        con.execute(f"""INSERT INTO medical_claim SELECT '{npi}' || i, 'q' || i, DATE '2019-05-01', '{npi}', '{TIN}', 500, 1
                        FROM range(201) t(i)""")
    # A 2018 line is outside PY2019 and is ignored.
    con.execute(f"INSERT INTO medical_claim VALUES ('old', 'x', DATE '2018-12-31', '{NPI_SMALL}', '{TIN}', 1e6, 1)")
    con.execute("""CREATE TABLE clinician_roster (tin VARCHAR, npi VARCHAR, clinician_type VARCHAR, specialty VARCHAR,
                   medicare_enrollment_date DATE, small_practice BOOLEAN, rural BOOLEAN, hpsa BOOLEAN,
                   non_patient_facing BOOLEAN, hospital_based BOOLEAN, apm_participant BOOLEAN)""")
    con.execute(f"""INSERT INTO clinician_roster VALUES
        ('{TIN}', '{NPI_BIG}', 'physician', NULL, DATE '2010-01-01', TRUE, FALSE, FALSE, FALSE, FALSE, FALSE),
        ('{TIN}', '{NPI_SMALL}', 'physician', NULL, DATE '2010-01-01', TRUE, FALSE, FALSE, FALSE, FALSE, FALSE),
        ('{TIN}', '{NPI_NEW}', 'physician', NULL, DATE '2019-02-01', TRUE, TRUE, FALSE, FALSE, FALSE, FALSE),
        ('{TIN}', '{NPI_TYPE}', 'chiropractor', NULL, DATE '2010-01-01', TRUE, FALSE, FALSE, FALSE, FALSE, FALSE)""")
    return con


def test_low_volume_threshold_clinician_type_and_newly_enrolled(con):
    mips_eligibility(con, 2019)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT coalesce(npi, 'group'), allowed_charges, beneficiaries, services, mips_eligible, reason FROM mips_eligibility").fetchall()}
    assert rows[NPI_BIG][:4] == (100500, 201, 201, True)
    assert rows[NPI_SMALL][:4] == (1000, 10, 10, False) and "low-volume" in rows[NPI_SMALL][4]
    assert rows[NPI_NEW][3] is False and "newly enrolled" in rows[NPI_NEW][4]
    assert rows[NPI_TYPE][3] is False and "clinician type" in rows[NPI_TYPE][4]
    # The TIN as a group: 100,500 + 1,000 + 2 x 100,500; 201 + 10 distinct + 201 distinct persons ('p'/'q' ids overlap).
    assert rows["group"][0] == 302500 and rows["group"][3] is True


def test_py2017_threshold_has_no_services_criterion():
    # PY2017 [R]: <= $30,000 or <= 100 beneficiaries; 101 beneficiaries x $300 = $30,300 -> eligible.
    con = duckdb.connect()
    con.execute("""CREATE TABLE medical_claim AS SELECT 'c' || i AS claim_id, 'p' || i AS person_id,
                   DATE '2017-06-01' AS claim_line_start_date, '1000000001' AS rendering_npi, '123456789' AS billing_tin,
                   300.0 AS allowed_amount, 1.0 AS service_unit_quantity FROM range(101) t(i)""")
    mips_eligibility(con, 2017)
    assert con.execute("SELECT bool_and(mips_eligible) FROM mips_eligibility").fetchone()[0] is True


def test_entities_from_claims_both_levels_and_opt_in(con):
    entities_from_claims(con, 2019)
    got = con.execute("SELECT coalesce(npi, 'group'), small_practice, rural FROM entity_input ORDER BY 1").fetchall()
    # Only eligible entities: the group and NPI_BIG; roster flags carried (group: any clinician small/rural).
    assert got == [(NPI_BIG, True, False), ("group", True, True)]
    entities_from_claims(con, 2019, opt_in=True)
    # Opting in keeps only the opt-in eligible (rule eligibility.opt_in: at least one criterion exceeded, an eligible
    # type, not newly enrolled): NPI_SMALL exceeds none ($1,000, 10 beneficiaries, 10 services), NPI_NEW is newly
    # enrolled and NPI_TYPE a chiropractor, so nobody is added.
    assert con.execute("SELECT count(*) FROM entity_input").fetchone()[0] == 2


def test_quality_input_from_measure_results():
    con = duckdb.connect()
    con.execute("""CREATE TABLE measure_results AS SELECT * FROM (VALUES
        (2019, 'claims', 'individual', '123456789', '1000000001', '001', NULL, 'claims', 40, 2, 1, 5, 30, TRUE),
        (2019, 'claims', 'group', '123456789', NULL, '001', NULL, 'claims', 90, 2, 1, 10, 70, TRUE),
        (2019, 'claims', 'group', '123456789', NULL, '046', NULL, 'claims', NULL, NULL, NULL, NULL, NULL, FALSE),
        (2018, 'claims', 'group', '123456789', NULL, '001', NULL, 'claims', 1, 0, 0, 1, 0, TRUE))
        t(performance_year, source, level, tin, npi, measure_id, stratum, collection_type, eligible_population,
          eligible_population_exclusion, eligible_population_exception, performance_met, performance_not_met, computed)""")
    quality_input_from_measure_results(con, 2019)
    # 046 was not computed (no facility events): it is not a quality submission with zero counts
    rows = con.execute("SELECT npi, eligible_population, performance_met FROM quality_input ORDER BY npi NULLS FIRST").fetchall()
    assert rows == [(None, 90, 10), ("1000000001", 40, 5)]


def test_score_from_claims_scores_both_levels(con):
    # Issue 4 items 7-8: eligible entities from claims (the group and NPI_BIG) scored side by side with
    # the measure engine's results; NPI_BIG is a small practice -> PY2019 small practice bonus 6 on quality.
    from transforms.scoring import score_from_claims
    con.execute(f"""CREATE TABLE measure_results AS SELECT * FROM (VALUES
        (2019, 'claims', 'individual', '{TIN}', '{NPI_BIG}', '001', NULL, 'claims', 100, 0, 0, 10, 90, TRUE),
        (2019, 'claims', 'group', '{TIN}', NULL, '001', NULL, 'claims', 300, 0, 0, 30, 270, TRUE))
        t(performance_year, source, level, tin, npi, measure_id, stratum, collection_type, eligible_population,
          eligible_population_exclusion, eligible_population_exception, performance_met, performance_not_met, computed)""")
    tables = score_from_claims(con, performance_year=2019)
    assert tables[0] == "mips_eligibility"
    got = con.execute("SELECT level, quality_score, mips_eligible FROM final_scores ORDER BY level").fetchall()
    assert [g[0] for g in got] == ["group", "individual"]
    assert all(g[2] for g in got)
    # 001 claims PY2019 at 10%: inverse deciles [.., 11.11 (d7), 8.33 (d8) ..] -> 7 + (11.11-10)/(11.11-8.33) = 7.3993;
    # + small practice 6 -> (7.3993 + 6) / 60.
    assert got[1][1] == pytest.approx(100 * (7.3993 + 6) / 60, abs=1e-3)


def test_mips_run_reweights_pi_by_the_roster_clinician_type():
    # Issue 13: clinician-type PI reweighting reaches `mips run` through clinician_roster.clinician_type.
    # Rule pi.reweighted_clinician_types PY2022 ([R] CY2022 PFS final rule): nurse practitioners' PI is reweighted
    # unless they submit PI data; a physician's is not (scored 0 for want of input, weight kept).
    # Both clinicians bill 201 beneficiaries x $500 in 2022 (above the threshold: an estimate, one year of claims).
    con = duckdb.connect()
    con.execute("""CREATE TABLE medical_claim AS SELECT 'c' || i || n AS claim_id, 'p' || i AS person_id,
                   DATE '2022-04-01' AS claim_line_start_date, n AS rendering_npi, '123456789' AS billing_tin,
                   500.0 AS allowed_amount, 1.0 AS service_unit_quantity
                   FROM range(201) t(i), (VALUES ('1000000001'), ('1000000002')) v(n)""")
    con.execute("""CREATE TABLE clinician_roster AS SELECT *, NULL::BOOLEAN AS small_practice, NULL::BOOLEAN AS rural,
        NULL::BOOLEAN AS hpsa, NULL::BOOLEAN AS non_patient_facing, NULL::BOOLEAN AS hospital_based FROM (VALUES
        ('123456789', '1000000001', 'physician', DATE '2010-01-01'),
        ('123456789', '1000000002', 'nurse practitioner', DATE '2010-01-01'))
        t(tin, npi, clinician_type, medicare_enrollment_date)""")
    from transforms.scoring import score_from_claims
    score_from_claims(con, performance_year=2022)
    pi = dict(con.execute("""SELECT npi, reweighted FROM category_scores
                             WHERE category = 'pi' AND level = 'individual'""").fetchall())
    assert pi == {"1000000001": False, "1000000002": True}
    reason = con.execute("SELECT reason FROM category_scores WHERE category = 'pi' AND npi = '1000000002'").fetchone()[0]
    assert "nurse practitioner" in reason


def test_eligibility_gives_the_same_rows_on_any_number_of_threads():
    # `mips run` builds mips_eligibility and entity_input (every claim line read) on all of DuckDB's threads and only
    # the scoring proper on one (mips.period.scores_step). That is safe because the low-volume sums are exact
    # DECIMALs: added in any order they give the same allowed charges and services, to the last bit. 491,520 lines
    # (four of DuckDB's 122,880-row groups, so four threads each add a part) with cent amounts that doubles cannot
    # hold exactly (added as doubles, these sums differ between 1 and 4 threads); four TINs x 25 NPIs, all above the
    # threshold.
    def eligibility(threads: int):
        con = duckdb.connect()
        con.execute(f"SET threads = {threads}")
        con.execute("""CREATE TABLE medical_claim AS SELECT 'c' || i AS claim_id, 'p' || (i % 40000) AS person_id,
                       DATE '2023-01-01' + CAST(i % 365 AS INTEGER) AS claim_line_start_date,
                       '10000000' || lpad(CAST(i % 25 AS VARCHAR), 2, '0') AS rendering_npi,
                       '12345678' || CAST(i % 4 AS VARCHAR) AS billing_tin,
                       CAST((i % 9973) * 0.37 + 0.01 AS DOUBLE) AS allowed_amount,  -- DOUBLE, as the contract types it
                       CAST(1.0 + (i % 3) * 0.1 AS DOUBLE) AS service_unit_quantity
                       FROM range(491520) t(i)""")
        entities_from_claims(con, 2023)
        return (con.execute("SELECT * FROM mips_eligibility ORDER BY ALL").fetchall(),
                con.execute("SELECT * FROM entity_input ORDER BY ALL").fetchall())

    one, four = eligibility(1), eligibility(4)
    assert len(one[0]) == 4 * 25 + 4 and len(one[1]) == 4 * 25 + 4
    assert one == four
