"""MIPS eligibility from claims and the `mips run` adapters .

- ``mips_eligibility(con, performance_year)`` -> table mips_eligibility: low-volume threshold from
  medical_claim allowed charges, beneficiaries and services (per TIN/NPI and per TIN), clinician
  type and newly enrolled from clinician_roster.
- ``entities_from_claims(con, performance_year)`` -> table entity_input: every TIN/NPI and TIN of
  medical_claim in the year, both levels side by side, with roster flags and eligibility.
- ``quality_input_from_measure_results(con, performance_year)`` -> table quality_input.
"""
from __future__ import annotations

from schemas.scoring import MIPS_ELIGIBILITY
from transforms.claims_scope import part_b_professional_filter
from transforms.scoring._sql import lit_list
from transforms.scoring.rules import load_rules


def _has_table(con, name: str) -> bool:
    return con.execute("SELECT count(*) FROM (SELECT table_name AS n FROM duckdb_tables() UNION ALL "
                       "SELECT view_name FROM duckdb_views()) WHERE n = ?", [name]).fetchone()[0] > 0


def mips_eligibility(con, performance_year: int) -> None:
    rules = load_rules(performance_year)
    lvt = rules["eligibility.low_volume_threshold"]
    types = [t.lower() for t in rules["eligibility.clinician_types"]]
    py = int(performance_year)
    roster = "clinician_roster" if _has_table(con, "clinician_roster") else \
        "(SELECT NULL::VARCHAR AS tin, NULL::VARCHAR AS npi, NULL::VARCHAR AS clinician_type, NULL::DATE AS medicare_enrollment_date LIMIT 0)"
    services = f"coalesce(sum(greatest(coalesce(service_unit_quantity, 1), 1)), 0)"
    # an exact sum (to a millionth of a dollar): a DOUBLE sum's last bits depend on the order and the chunks in which
    # DuckDB adds the rows, which differ between runs of other layouts (a TIN-sharded run), not on the rows
    charges = "CAST(sum(CAST(allowed_amount AS DECIMAL(38, 6))) AS DOUBLE)"
    above = [f"allowed_charges > {float(lvt['allowed_charges'])}", f"beneficiaries > {int(lvt['beneficiaries'])}"]
    if lvt.get("services") is not None:
        above.append(f"services > {int(lvt['services'])}")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_volume AS
    WITH c AS (
        SELECT billing_tin AS tin, rendering_npi AS npi, person_id, allowed_amount, service_unit_quantity
        FROM medical_claim
        WHERE claim_line_start_date >= DATE '{py}-01-01' AND claim_line_start_date < DATE '{py + 1}-01-01'
          AND billing_tin IS NOT NULL
          AND {part_b_professional_filter(con)})  -- Medicare Part B professional lines only (42 CFR 414.1305)
    SELECT 'individual' AS level, tin, npi, coalesce({charges}, 0) AS allowed_charges,
           count(DISTINCT person_id) AS beneficiaries, {services} AS services
    FROM c WHERE npi IS NOT NULL GROUP BY tin, npi
    UNION ALL
    SELECT 'group', tin, NULL, coalesce({charges}, 0), count(DISTINCT person_id), {services}
    FROM c GROUP BY tin
    """)
    con.execute(f"""
    CREATE OR REPLACE TABLE mips_eligibility AS {MIPS_ELIGIBILITY.select_sql(f'''(
    WITH v AS (
        SELECT v.*, r.clinician_type, r.medicare_enrollment_date,
               CASE WHEN v.level = 'group' THEN NULL ELSE list_contains({lit_list(types)}, lower(r.clinician_type)) END AS eligible_clinician_type,
               CASE WHEN v.level = 'group' THEN NULL ELSE r.medicare_enrollment_date >= DATE '{py}-01-01' END AS newly_enrolled,
               {' AND '.join(above)} AS exceeds_low_volume_threshold
        FROM _sc_volume v LEFT JOIN {roster} r ON r.tin = v.tin AND r.npi = v.npi)
    SELECT {py} AS performance_year, level, tin, npi, allowed_charges, beneficiaries, services, clinician_type,
           eligible_clinician_type, newly_enrolled, exceeds_low_volume_threshold,
           exceeds_low_volume_threshold AND coalesce(eligible_clinician_type, TRUE) AND NOT coalesce(newly_enrolled, FALSE) AS mips_eligible,
           concat_ws('; ',
               CASE WHEN NOT exceeds_low_volume_threshold THEN 'at or below the low-volume threshold' END,
               CASE WHEN eligible_clinician_type = FALSE THEN 'clinician type not MIPS eligible' END,
               CASE WHEN eligible_clinician_type IS NULL AND level = 'individual' THEN 'clinician type unknown (assumed eligible)' END,
               CASE WHEN newly_enrolled THEN 'newly enrolled in Medicare' END) AS reason
    FROM v)''')}
    """)


def entities_from_claims(con, performance_year: int, *, opt_in: bool = False) -> None:
    """Create entity_input with one row per TIN/NPI and per TIN found in medical_claim in the year.

    A not-eligible entity is kept only when ``opt_in`` (it is scored because it opted in).
    Group flags: a TIN is small practice / rural / ... when any roster clinician of it says so.
    """
    mips_eligibility(con, performance_year)
    roster = "clinician_roster" if _has_table(con, "clinician_roster") else \
        ("(SELECT NULL::VARCHAR AS tin, NULL::VARCHAR AS npi, NULL::BOOLEAN AS small_practice, NULL::BOOLEAN AS rural, "
         "NULL::BOOLEAN AS hpsa, NULL::BOOLEAN AS non_patient_facing, NULL::BOOLEAN AS hospital_based LIMIT 0)")
    con.execute(f"""
    CREATE OR REPLACE TABLE entity_input AS
    WITH r AS (
        SELECT tin, npi, small_practice, rural, hpsa, non_patient_facing, hospital_based FROM {roster}
        UNION ALL
        SELECT tin, NULL, bool_or(small_practice), bool_or(rural), bool_or(hpsa),
               -- a group is non-patient-facing / hospital-based only when most of its clinicians are (>75% [R])
               avg(non_patient_facing::INT) > 0.75, avg(hospital_based::INT) > 0.75
        FROM {roster} GROUP BY tin)
    SELECT m.tin, m.npi, r.small_practice, r.rural, r.hpsa, r.non_patient_facing, r.hospital_based,
           NULL::BOOLEAN AS pcmh, NULL::BOOLEAN AS pi_hardship, NULL::DOUBLE AS complex_patient_bonus,
           NULL::DOUBLE AS prior_quality_achievement_percent, m.allowed_charges AS part_b_allowed_charges, m.mips_eligible
    FROM mips_eligibility m LEFT JOIN r ON r.tin = m.tin AND r.npi IS NOT DISTINCT FROM m.npi
    WHERE m.mips_eligible OR {'TRUE' if opt_in else 'FALSE'}
    ORDER BY m.tin, m.npi NULLS FIRST
    """)


def quality_input_from_measure_results(con, performance_year: int) -> None:
    """Map the measure engine's measure_results to quality_input rows (group level -> npi NULL)."""
    con.execute("""
    CREATE OR REPLACE TABLE quality_input AS
    SELECT tin, CASE WHEN level = 'group' THEN NULL ELSE npi END AS npi, measure_id, collection_type,
           eligible_population::BIGINT AS eligible_population,
           eligible_population_exclusion::BIGINT AS eligible_population_exclusion,
           eligible_population_exception::BIGINT AS eligible_population_exception,
           performance_met::BIGINT AS performance_met, performance_not_met::BIGINT AS performance_not_met,
           stratum, FALSE AS end_to_end_reported
    FROM measure_results WHERE performance_year = $py
      AND computed  -- facility measures run without facility events have no counts to score
    """, {"py": int(performance_year)})
