"""Cost category: decile points per cost measure (inverse benchmarks; PY2024+ median/SD cut points
arrive already as decile bounds), case minimums, simple average (scoring-rules.md §2.2, §3.1, §3.5).

Input ``_sc_cost`` (level, tin, npi, measure_id, measure_value, case_count); output
``_sc_cost_measure_scores`` and ``_sc_cost_category`` (no row = no measure scored = reweighted).
"""
from __future__ import annotations

from transforms.scoring._sql import lit, lit_list, unconfirmed_list_sql
from transforms.scoring.rules import Rules


def _case_minimum_sql(minimums: dict) -> str:
    whens = []
    default = minimums.get("default", 20)
    for key, val in minimums.items():
        if key == "default":
            continue
        if isinstance(val, dict):
            for m in val["measures"]:
                whens.append(f"WHEN {lit(m)} THEN {int(val['value'])}")
        else:
            whens.append(f"WHEN {lit(key)} THEN {int(val)}")
    return f"CASE c.measure_id {' '.join(whens)} ELSE {int(default)} END" if whens else str(int(default))


def score_cost(con, rules: Rules) -> None:
    below = float(rules["cost.below_lowest_decile_points"])
    unconfirmed = unconfirmed_list_sql(rules, {
        "cost.case_minimums": "TRUE", "cost.below_lowest_decile_points": "meets_case_minimum AND has_benchmark AND decile IS NULL",
        "cost.measures_not_scored": "not_scored_this_year"})
    # measures of the year's inventory CMS did not score (rule cost.measures_not_scored, e.g. COST_SPH_1 in PY2022-2023)
    not_scored = list(rules["cost.measures_not_scored"] or [])
    py = rules.performance_year
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_c1 AS
    SELECT c.*, {_case_minimum_sql(rules['cost.case_minimums'])} AS case_minimum,
           EXISTS (SELECT 1 FROM _sc_benchmark_bounds b WHERE b.measure_id = c.measure_id) AS has_benchmark,
           list_contains({lit_list(not_scored)}, c.measure_id) AS not_scored_this_year
    FROM _sc_cost c
    """)
    # Cost benchmarks are inverse (lower cost is better): decile = highest d with value <= L[d].
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_cost_measure_scores AS
    WITH hit AS (
        SELECT c.level, c.tin, c.npi, c.measure_id, max(b.decile) AS decile
        FROM _sc_c1 c JOIN _sc_benchmark_bounds b ON b.measure_id = c.measure_id
         AND ((b.is_inverse AND c.measure_value <= b.lower_bound) OR (NOT b.is_inverse AND c.measure_value >= b.lower_bound))
        GROUP BY ALL),
    pts AS (
        SELECT c.*, h.decile, lo.lower_bound AS bound_low, hi.lower_bound AS bound_next, lo.is_inverse, lo.collection_type,
               CASE WHEN h.decile IS NULL OR h.decile = 10 OR hi.lower_bound IS NULL OR hi.lower_bound = lo.lower_bound THEN 0.0
                    WHEN lo.is_inverse THEN round((lo.lower_bound - c.measure_value) / (lo.lower_bound - hi.lower_bound), 4)
                    ELSE round((c.measure_value - lo.lower_bound) / (hi.lower_bound - lo.lower_bound), 4) END AS partial_decile_score
        FROM _sc_c1 c
        LEFT JOIN hit h ON h.level = c.level AND h.tin = c.tin AND h.npi IS NOT DISTINCT FROM c.npi AND h.measure_id = c.measure_id
        LEFT JOIN _sc_benchmark_bounds lo ON lo.measure_id = c.measure_id AND lo.decile = h.decile
        LEFT JOIN _sc_benchmark_bounds hi ON hi.measure_id = c.measure_id AND hi.decile = h.decile + 1),
    s AS (
        SELECT *, coalesce(case_count, 0) >= case_minimum AS meets_case_minimum,
               CASE WHEN decile IS NOT NULL THEN decile + partial_decile_score END AS decile_score
        FROM pts)
    SELECT level, tin, npi, 'cost' AS category, measure_id, NULL::VARCHAR AS stratum,
           coalesce(collection_type, 'administrativeClaims') AS collection_type,
           case_count AS eligible_population, NULL::BIGINT AS performance_met, NULL::BIGINT AS performance_not_met,
           NULL::DOUBLE AS performance_rate, measure_value, NULL::DOUBLE AS data_completeness_percent,
           NULL::BOOLEAN AS meets_data_completeness, meets_case_minimum, has_benchmark, is_inverse, FALSE AS topped_out,
           decile, CASE WHEN decile IS NOT NULL THEN partial_decile_score END AS partial_decile_score, decile_score,
           CASE WHEN meets_case_minimum AND has_benchmark AND NOT not_scored_this_year THEN 'class 1' ELSE 'class 2' END
               AS measure_class,
           CASE WHEN meets_case_minimum AND has_benchmark AND NOT not_scored_this_year
                THEN coalesce(decile_score, {below}) END AS achievement_points,
           0.0 AS high_priority_bonus, 0.0 AS end_to_end_bonus, 0.0 AS bonus_points,
           NULL::BOOLEAN AS is_outcome, NULL::BOOLEAN AS is_high_priority,
           meets_case_minimum AND has_benchmark AND NOT not_scored_this_year AS selected,
           CASE WHEN not_scored_this_year
                THEN printf('%s is not scored in performance year %d (rule cost.measures_not_scored)', measure_id, {py})
                WHEN NOT has_benchmark THEN printf('no cost benchmark for %s: not scored', measure_id)
                WHEN NOT meets_case_minimum THEN printf('%d cases below the case minimum %d: not scored', coalesce(case_count, 0), case_minimum)
                WHEN decile IS NULL THEN printf('cost %.2f worse than the decile 1 bound: %s points', measure_value, {lit(str(below))})
                WHEN decile = 10 THEN printf('cost %.2f in decile 10 (bound %s): 10 points', measure_value, bound_low::VARCHAR)
                ELSE printf('cost %.2f in decile %d [%s, %s): partial %.4f -> %.4f points', measure_value, decile,
                            bound_low::VARCHAR, bound_next::VARCHAR, partial_decile_score, decile_score) END AS explanation,
           {unconfirmed} AS unconfirmed_rules
    FROM s
    """)
    per_measure = float(rules["cost.points_per_measure"])  # §414.1380(a)(1)(ii): 1 to 10 points per measure
    # cost improvement (rules cost_improvement.method, cost.improvement_max_percentage_points): null method = barred
    imp_max = float(rules["cost.improvement_max_percentage_points"] or 0) if rules["cost_improvement.method"] else 0.0
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_cost_category AS
    WITH m AS (
        SELECT s.*, lower(trim(c.change_vs_prior_year)) AS change FROM _sc_cost_measure_scores s
        JOIN _sc_cost c ON c.level = s.level AND c.tin = s.tin AND c.npi IS NOT DISTINCT FROM s.npi AND c.measure_id = s.measure_id
        WHERE s.selected),
    g AS (
        SELECT level, tin, npi, sum(achievement_points ORDER BY achievement_points) AS achieved, {per_measure} * count(*) AS denominator, count(*) AS scored,
               count(change) AS compared, count(*) FILTER (WHERE change = 'improved') AS improved,
               count(*) FILTER (WHERE change = 'declined') AS declined
        FROM m GROUP BY ALL)
    SELECT *, CASE WHEN compared > 0 THEN greatest(0.0, {imp_max} * (improved - declined) / compared) ELSE 0.0 END
              AS improvement_pp,
           least(100.0, 100.0 * achieved / denominator + improvement_pp) AS score_percent
    FROM g
    """)
