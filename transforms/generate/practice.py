"""The small per-practice inputs of the other MIPS categories: PI, IA and cost, one set per TIN.

Measure and activity ids come from the year's compiled catalog (``ref.pi_measures``,
``ref.ia_activities``, ``ref.cost_measures``), so a new year needs no code. Rows are at the
group level (npi NULL), the way most practices report these categories.
"""
from __future__ import annotations

import duckdb

from transforms.generate.rand import Draws

_MIPS = "(allowed_programs IS NULL OR list_contains(string_split(allowed_programs, ','), 'mips'))"


def pi_input_sql(performance_year: int, draws: Draws) -> str:
    """Every required and bonus PI measure of the year per TIN (one of measures that substitute for each
    other): proportions with a numerator and denominator, yes/no measures answered; 5% of TINs claim
    the exclusion of a measure that has one."""
    py = int(performance_year)
    return f"""
        WITH m AS (
            SELECT measure_id, metric_type, exclusion_measure_ids IS NOT NULL AS has_exclusion
            FROM ref.pi_measures
            WHERE performance_year = {py} AND NOT coalesce(is_exclusion, false) AND {_MIPS}
              -- one option of measures that substitute for each other (PI_HIE_1 + PI_HIE_4, or PI_HIE_5, or
              -- PI_HIE_6; _PRE or _PROD): a submission may not hold both (the first in id order is kept)
              AND NOT coalesce(list_min(string_split(substitutes, ',')) < measure_id, false)
        ), x AS (
            SELECT t.tin, t.tin_idx, m.*,
                   {draws.uniform('pi_exclusion', 't.tin_idx', 'm.measure_id')} < 0.05 AND m.has_exclusion AS excluded,
                   50 + {draws.integer('pi_denominator', '2000', 't.tin_idx', 'm.measure_id')} AS denominator,
                   0.4 + 0.6 * {draws.uniform('pi_rate', 't.tin_idx', 'm.measure_id')} AS rate
            FROM gen_tin t CROSS JOIN m
        )
        SELECT tin, CAST(NULL AS VARCHAR) AS npi, measure_id,
               CASE WHEN metric_type <> 'boolean' AND NOT excluded THEN CAST(floor(denominator * rate) AS BIGINT) END
                   AS numerator,
               CASE WHEN metric_type <> 'boolean' AND NOT excluded THEN denominator END AS denominator,
               CASE WHEN metric_type = 'boolean' AND NOT excluded THEN rate > 0.45 END AS value,
               excluded AS exclusion_claimed,
               DATE '{py}-07-01' AS period_start, DATE '{py}-12-31' AS period_end
        FROM x ORDER BY tin, measure_id
    """


def ia_input_sql(performance_year: int, draws: Draws) -> str:
    """Two to four of the year's improvement activities per TIN, each done for 90+ days."""
    py = int(performance_year)
    return f"""
        WITH ranked AS (
            SELECT t.tin, t.tin_idx, a.activity_id,
                   row_number() OVER (PARTITION BY t.tin_idx
                                      ORDER BY {draws.hash('ia_order', 't.tin_idx', 'a.activity_id')}, a.activity_id) AS k
            FROM gen_tin t CROSS JOIN (SELECT activity_id FROM ref.ia_activities
                                       WHERE performance_year = {py} AND {_MIPS}) a
        )
        SELECT tin, CAST(NULL AS VARCHAR) AS npi, activity_id,
               DATE '{py}-01-01' + CAST({draws.integer('ia_start', '180', 'tin_idx', 'activity_id')} AS INTEGER) AS start_date,
               DATE '{py}-01-01' + CAST({draws.integer('ia_start', '180', 'tin_idx', 'activity_id')} AS INTEGER) + 120 AS end_date
        FROM ranked
        WHERE k <= 2 + {draws.integer('ia_count', '3', 'tin_idx')}
        ORDER BY tin, activity_id
    """


def cost_input_sql(performance_year: int, draws: Draws) -> str:
    """Three of the year's cost measures per TIN, valued around the national average where CMS
    publishes one (PY2023+), otherwise around $1,000, with 5-200 attributed cases."""
    py = int(performance_year)
    return f"""
        WITH m AS (
            SELECT c.measure_id, coalesce(n.national_average, 1000.0) AS average
            FROM ref.cost_measures c
            LEFT JOIN ref.cost_national_averages n
              ON n.performance_year = c.performance_year AND n.measure_id = c.measure_id AND n.level = 'group'
            WHERE c.performance_year = {py} AND {_MIPS.replace('allowed_programs', 'c.allowed_programs')}
        ), ranked AS (
            SELECT t.tin, t.tin_idx, m.*,
                   row_number() OVER (PARTITION BY t.tin_idx
                                      ORDER BY {draws.hash('cost_order', 't.tin_idx', 'm.measure_id')}, m.measure_id) AS k
            FROM gen_tin t CROSS JOIN m
        )
        SELECT tin, CAST(NULL AS VARCHAR) AS npi, measure_id,
               round(average * (0.7 + 0.6 * {draws.uniform('cost_value', 'tin_idx', 'measure_id')}), 2) AS measure_value,
               5 + {draws.integer('cost_cases', '196', 'tin_idx', 'measure_id')} AS case_count
        FROM ranked WHERE k <= 3 ORDER BY tin, measure_id
    """


def has_catalog(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'ref' AND view_name = ?",
                       [table]).fetchall()[0][0] > 0
