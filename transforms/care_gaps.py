"""Care gaps from measure_instances: the patients each clinician can still act on, and what closes each gap.

A gap is an eligible instance of a clinician (level individual) whose result is not a good one:
no quality data code (not reported), performance not met, or, for an inverse measure, performance
met (the poor result: 001's HbA1c above 9%). What closes it is the quality data codes of the good
result from the year's CMS claims specification (performance met; for an inverse measure,
performance not met). eCQM instances get the value-set columns instead (filled by the eCQM step).
"""
from __future__ import annotations

import duckdb

from schemas.gaps import CARE_GAPS
from transforms.reference import attach_reference

_GOOD_CODES_SQL = """
    -- the good result's options of each measure (and stratum): codes of one option joined by ' + ',
    -- options by ' or '; a code with required modifiers is written code-modifier (1123F-8P)
    WITH codes AS (
        SELECT o.measure_id, o.stratum, o.performance_option, o.performance_result,
               string_agg(c.code || CASE WHEN len(c.modifiers) > 0 THEN '-' || array_to_string(c.modifiers, '-')
                                         ELSE '' END, ' + ' ORDER BY c.code_index) AS option_codes
        FROM ref.claims_performance_options o
        JOIN ref.claims_performance_codes c USING (performance_year, measure_id, performance_option)
        WHERE o.performance_year = {py}
        GROUP BY ALL
    )
    SELECT measure_id, stratum, performance_result,
           string_agg(DISTINCT option_codes, ' or ' ORDER BY option_codes) AS closing_codes
    FROM codes GROUP BY ALL
"""


def build_care_gaps(con: duckdb.DuckDBPyConnection, performance_year: int, *, tin: str | None = None,
                    npi: str | None = None, measure_id: str | None = None, source: str | None = None) -> int:
    """Create table ``care_gaps`` from ``measure_instances`` (and ``measure_reference`` when present);
    return its row count. The filters narrow it to one TIN, clinician, measure or source."""
    attach_reference(con)
    py = int(performance_year)
    filters = ["i.performance_year = ?", "i.level = 'individual'"]
    params: list = [py]
    for column, value in (("tin", tin), ("npi", npi), ("measure_id", measure_id), ("source", source)):
        if value is not None:
            filters.append(f"i.{column} = ?")
            params.append(value)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _good_codes AS {_GOOD_CODES_SQL.format(py=py)}")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _measures AS
        SELECT measure_id, title, is_inverse FROM ref.quality_measures WHERE performance_year = {py}""")
    gaps = f"""(
        SELECT i.performance_year, i.source, i.tin, i.npi, i.measure_id, m.title, i.stratum,
               coalesce(m.is_inverse, FALSE) AS is_inverse, i.instance_key, i.person_id,
               CASE WHEN i.result IS NULL THEN 'not reported (no quality data code)'
                    WHEN coalesce(m.is_inverse, FALSE) THEN 'poor result (inverse measure)'
                    ELSE 'performance not met' END AS gap,
               greatest(i.instance_date, i.decided_by_date) AS last_relevant_date, i.decided_by_claim_id,
               CASE WHEN i.source IN ('claims', 'encounters') THEN g.closing_codes END AS closing_quality_data_codes,
               CAST(NULL AS VARCHAR) AS ecqm_value_set, CAST(NULL AS VARCHAR) AS ecqm_result_needed
        FROM measure_instances i
        LEFT JOIN _measures m USING (measure_id)
        LEFT JOIN _good_codes g ON g.measure_id = i.measure_id AND g.stratum IS NOT DISTINCT FROM i.stratum
             AND g.performance_result = CASE WHEN coalesce(m.is_inverse, FALSE) THEN 'performance_not_met'
                                             ELSE 'performance_met' END
        WHERE {' AND '.join(filters)}
          AND (i.result IS NULL
               OR (NOT coalesce(m.is_inverse, FALSE) AND i.result = 'performance_not_met')
               OR (coalesce(m.is_inverse, FALSE) AND i.result = 'performance_met')))"""
    con.execute(f"CREATE OR REPLACE TABLE care_gaps AS {CARE_GAPS.select_sql(gaps)}", params)
    return con.execute("SELECT count(*) FROM care_gaps").fetchone()[0]
