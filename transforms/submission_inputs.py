"""Build the submission tables (schemas/submission.py) from a run's validated input tables."""
from __future__ import annotations

import duckdb

from schemas.submission import IA_ATTESTATIONS, PI_MEASUREMENTS, SUBMISSION_ENTITIES
from schemas.tables import TableSpec


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}


def build_submission_tables(con: duckdb.DuckDBPyConnection, performance_year: int) -> dict[str, TableSpec]:
    """Create whichever of pi_measurements, ia_attestations and submission_entities the inputs allow."""
    py = int(performance_year)
    present = _tables(con)
    made: dict[str, TableSpec] = {}
    level = "CASE WHEN nullif(npi, '') IS NULL THEN 'group' ELSE 'individual' END"
    if "pi_input" in present:
        con.execute(f"""CREATE OR REPLACE TABLE {PI_MEASUREMENTS.name} AS {PI_MEASUREMENTS.select_sql(f'''(
            SELECT {py} AS performance_year, {level} AS level, tin, nullif(npi, '') AS npi, measure_id, numerator,
                   denominator, value, exclusion_claimed, period_start, period_end
            FROM pi_input)''')}""")
        made[PI_MEASUREMENTS.name] = PI_MEASUREMENTS
    if "ia_input" in present:
        # a subgroup's own activities (MVP reporting, subgroup_id) are not the TIN's group attestations
        ia_columns = {d[0] for d in con.execute("SELECT * FROM ia_input LIMIT 0").description}
        not_subgroup = " WHERE subgroup_id IS NULL" if "subgroup_id" in ia_columns else ""
        con.execute(f"""CREATE OR REPLACE TABLE {IA_ATTESTATIONS.name} AS {IA_ATTESTATIONS.select_sql(f'''(
            SELECT {py} AS performance_year, {level} AS level, tin, nullif(npi, '') AS npi, activity_id,
                   start_date, end_date
            FROM ia_input{not_subgroup})''')}""")
        made[IA_ATTESTATIONS.name] = IA_ATTESTATIONS
    if "clinician_roster" in present:
        columns = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() "
                                             "WHERE table_name = 'clinician_roster'").fetchall()}
        cehrt = "cehrt_id" if "cehrt_id" in columns else "CAST(NULL AS VARCHAR)"
        e2e = "end_to_end_reporting" if "end_to_end_reporting" in columns else "CAST(NULL AS BOOLEAN)"
        con.execute(f"""CREATE OR REPLACE TABLE {SUBMISSION_ENTITIES.name} AS {SUBMISSION_ENTITIES.select_sql(f'''(
            WITH r AS (SELECT tin, npi, {cehrt} AS cehrt_id, coalesce({e2e}, FALSE) AS e2e FROM clinician_roster)
            SELECT {py} AS performance_year, 'individual' AS level, tin, npi, 1 AS clinicians, cehrt_id,
                   CASE WHEN cehrt_id IS NULL THEN 0 ELSE 1 END AS cehrt_ids_given, e2e AS end_to_end_reporting
            FROM r
            UNION ALL
            SELECT {py}, 'group', tin, NULL, count(*),
                   CASE WHEN count(DISTINCT cehrt_id) = 1 THEN min(cehrt_id) END, count(DISTINCT cehrt_id), bool_and(e2e)
            FROM r GROUP BY tin)''')}""")
        made[SUBMISSION_ENTITIES.name] = SUBMISSION_ENTITIES
    return made
