"""The numbers of the HTML score report, as tables: one SQL query per section, for one TIN and year.

``con`` has the published output tables as views (mips.catalog.create_views). Every function returns a
pandas frame; the report only lays them out. What-if figures are estimates and say so.
"""
from __future__ import annotations

import duckdb
import pandas as pd


def _df(con, sql: str, params: list) -> pd.DataFrame:
    return con.execute(sql, params).df()


def tins(con: duckdb.DuckDBPyConnection, performance_year: int) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT tin FROM final_scores WHERE performance_year = ? "
                                      "ORDER BY 1", [performance_year]).fetchall()]


def final_scores(con, performance_year: int, tin: str) -> pd.DataFrame:
    """Group and individual final scores of the TIN side by side (group first)."""
    return _df(con, """
        SELECT level, npi, final_score, performance_threshold, quality_score, cost_score, ia_score, pi_score,
               quality_weight, cost_weight, ia_weight, pi_weight, payment_adjustment_percent,
               part_b_allowed_charges, payment_adjustment_usd, payment_year, scaling_factor, mips_eligible,
               explanation
        FROM final_scores WHERE performance_year = ? AND tin = ?
        ORDER BY level = 'individual', npi""", [performance_year, tin])


def categories(con, performance_year: int, tin: str) -> pd.DataFrame:
    return _df(con, """
        SELECT level, npi, category, score_percent, weight_percent, reweighted, reason,
               score_percent * weight_percent / 100 AS final_score_points
        FROM category_scores WHERE performance_year = ? AND tin = ?
        ORDER BY level = 'individual', npi, category""", [performance_year, tin])


def measures_with_what_if(con, performance_year: int, tin: str) -> pd.DataFrame:
    """Each scored quality measure of the TIN's entities with its decile, benchmark and what-if.

    What-if (an estimate): the patients that would have to move from not met to met (for an inverse
    measure, from met to not met) for the rate to reach the next decile's lower bound, holding the
    patients counted as they are; the achievement points that decile starts at (7 at most when the
    topped-out cap applies); and the final-score points that gain is worth through the quality
    category (points / quality points possible x quality weight), when the measure is among those counted.
    """
    bounds = ", ".join(f"b.decile_{d}_lower_bound" for d in range(1, 11))
    return _df(con, f"""
        WITH m AS (
            SELECT s.level, s.npi, s.measure_id, s.stratum, s.collection_type, coalesce(r.title, s.measure_id) AS title,
                   s.is_inverse, s.performance_met, s.performance_not_met, s.performance_rate, s.decile,
                   s.decile_score, s.achievement_points, s.topped_out, s.selected, s.measure_class,
                   s.data_completeness_percent, s.meets_data_completeness, s.meets_case_minimum,
                   [{bounds}] AS bounds, q.points_possible, q.weight_percent AS quality_weight
            FROM measure_scores s
            LEFT JOIN measure_reference r USING (performance_year, measure_id)
            LEFT JOIN benchmark_reference b ON b.performance_year = s.performance_year
                 AND b.measure_id = s.measure_id AND b.submission_method = s.collection_type
            LEFT JOIN category_scores q ON q.performance_year = s.performance_year AND q.level = s.level
                 AND q.tin = s.tin AND q.npi IS NOT DISTINCT FROM s.npi AND q.category = 'quality'
            WHERE s.performance_year = ? AND s.tin = ? AND s.category = 'quality'
        ), w AS (
            SELECT *, CASE WHEN decile BETWEEN 1 AND 9 THEN list_extract(bounds, decile + 1) END AS next_bound,
                   coalesce(performance_met, 0) + coalesce(performance_not_met, 0) AS rated
            FROM m
        )
        SELECT level, npi, measure_id, stratum, title, collection_type, is_inverse, performance_rate, decile,
               decile_score, achievement_points, topped_out, selected, measure_class, data_completeness_percent,
               meets_data_completeness, meets_case_minimum, bounds, next_bound,
               CASE WHEN next_bound IS NULL OR rated = 0 THEN NULL
                    WHEN is_inverse THEN greatest(0, performance_met - floor(next_bound / 100.0 * rated))
                    ELSE greatest(0, ceil(next_bound / 100.0 * rated - performance_met)) END::BIGINT AS patients_needed,
               -- only a benchmarked measure that meets data completeness and the case minimum (class 1)
               -- earns points by its decile; the others need more reported patients first
               CASE WHEN next_bound IS NULL OR measure_class <> 'class 1' THEN NULL
                    ELSE greatest(0, least(decile + 1, CASE WHEN topped_out THEN 7 ELSE 10 END)
                                     - coalesce(achievement_points, 0)) END AS points_gained,
               CASE WHEN next_bound IS NULL OR measure_class <> 'class 1' OR NOT selected OR points_possible IS NULL
                         OR points_possible = 0 THEN NULL
                    ELSE greatest(0, least(decile + 1, CASE WHEN topped_out THEN 7 ELSE 10 END)
                                     - coalesce(achievement_points, 0)) / points_possible * quality_weight
               END AS final_score_points_gained
        FROM w ORDER BY level = 'individual', npi, measure_id, stratum""", [performance_year, tin])


def completeness_matrix(con, performance_year: int, tin: str) -> pd.DataFrame:
    """Data completeness of each clinician (rows) and measure (columns): the best source's rate."""
    return _df(con, """
        SELECT npi, measure_id, max(reporting_rate) AS data_completeness_percent,
               bool_or(meets_data_completeness) AS meets_data_completeness, sum(eligible_population) AS eligible
        FROM measure_results
        WHERE performance_year = ? AND tin = ? AND level = 'individual' AND computed
        GROUP BY ALL ORDER BY npi, measure_id""", [performance_year, tin])


def rejects_by_rule(con, performance_year: int) -> pd.DataFrame:
    """The run's rejected rows by input table and rule (rejects carry no TIN: the whole run's)."""
    return _df(con, """
        SELECT table_name, rule, count(DISTINCT (source_file, row_number)) AS rows_rejected
        FROM rejects WHERE performance_year = ? GROUP BY ALL ORDER BY rows_rejected DESC, table_name, rule""",
               [performance_year])


def trend(con, tin: str) -> pd.DataFrame:
    """The TIN's group final score and adjustment in every published year."""
    return _df(con, """
        SELECT performance_year, final_score, performance_threshold, payment_adjustment_percent
        FROM final_scores WHERE tin = ? AND level = 'group' ORDER BY performance_year""", [tin])
