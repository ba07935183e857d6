"""The numbers of the HTML score report, as tables: one SQL query per section, for one TIN and year.

``con`` has the published output tables as views (mips.catalog.create_views). Every function returns a
pandas frame; the report only lays them out. What-if figures are estimates and say so.
"""
from __future__ import annotations

import duckdb
import pandas as pd


def _df(con, sql: str, params) -> pd.DataFrame:
    return con.execute(sql, params).df()


def tins(con: duckdb.DuckDBPyConnection, performance_year: int) -> list[str]:
    # a virtual group's or APM entity's row is shown on its members' pages, not as a TIN of its own
    return [r[0] for r in con.execute("SELECT DISTINCT tin FROM final_scores WHERE performance_year = ? "
                                      "AND level IN ('group', 'individual') ORDER BY 1", [performance_year]).fetchall()]


def final_scores(con, performance_year: int, tin: str) -> pd.DataFrame:
    """Group and individual final scores of the TIN side by side (group first)."""
    return _df(con, """
        SELECT level, npi, final_score, performance_threshold, quality_score, cost_score, ia_score, pi_score,
               quality_weight, cost_weight, ia_weight, pi_weight, payment_adjustment_percent,
               payment_adjustment_low_percent, payment_adjustment_high_percent, payment_adjustment_basis,
               part_b_allowed_charges, payment_adjustment_usd, payment_year, scaling_factor, mips_eligible,
               explanation, unconfirmed_rules, virtual_group_id, apm_entity_id
        FROM final_scores WHERE performance_year = ? AND tin = ? AND level IN ('group', 'individual')
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


# ---------------------------------------------------------------- eligibility, reporting paths, certainty

def has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM (SELECT view_name AS n FROM duckdb_views() UNION ALL "
                            "SELECT table_name FROM duckdb_tables()) WHERE n = ?", [name]).fetchone()[0])


def eligibility(con, performance_year: int, tin: str) -> pd.DataFrame:
    """The TIN's MIPS eligibility as the run determined it (mips_eligibility: a run with claims), group first:
    each determination segment's coverage, volume and threshold result, which segment decided, and how certain
    the determination is ('final', 'provisional', 'estimate'). Empty when the run had no claims."""
    if not has_table(con, "mips_eligibility"):
        return pd.DataFrame()
    return _df(con, """
        SELECT level, npi, allowed_charges, beneficiaries, services,
               segment_1_covered, segment_1_beneficiaries, segment_1_services, segment_1_allowed_charges,
               segment_1_exceeds_low_volume_threshold,
               segment_2_covered, segment_2_beneficiaries, segment_2_services, segment_2_allowed_charges,
               segment_2_exceeds_low_volume_threshold,
               determined_by, determination, exceeds_low_volume_threshold, mips_eligible, opt_in_eligible, reason
        FROM mips_eligibility WHERE performance_year = ? AND tin = ?
        ORDER BY level = 'individual', npi""", [performance_year, tin])


def pooled_entities(con, performance_year: int, tin: str) -> pd.DataFrame:
    """The virtual groups and APM entities whose score the TIN's group or clinicians carry (final_scores
    virtual_group_id / apm_entity_id), each with its own final score row and how many of the TIN's rows carry it."""
    return _df(con, """
        WITH carried AS (
            SELECT 'virtual_group' AS level, virtual_group_id AS id, count(*) AS rows_of_tin,
                   string_agg(CASE WHEN npi IS NULL THEN 'group' ELSE 'NPI ' || npi END, ', ' ORDER BY npi NULLS FIRST) AS carried_by
            FROM final_scores WHERE performance_year = ? AND tin = ? AND level IN ('group', 'individual')
              AND virtual_group_id IS NOT NULL GROUP BY ALL
            UNION ALL
            SELECT 'apm_entity', apm_entity_id, count(*),
                   string_agg(CASE WHEN npi IS NULL THEN 'group' ELSE 'NPI ' || npi END, ', ' ORDER BY npi NULLS FIRST)
            FROM final_scores WHERE performance_year = ? AND tin = ? AND level IN ('group', 'individual')
              AND apm_entity_id IS NOT NULL GROUP BY ALL)
        SELECT c.level, c.id, c.rows_of_tin, c.carried_by, f.final_score, f.performance_threshold, f.quality_score,
               f.cost_score, f.ia_score, f.pi_score, f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight,
               f.payment_adjustment_percent, f.payment_adjustment_low_percent, f.payment_adjustment_high_percent,
               f.payment_adjustment_basis, f.explanation, f.unconfirmed_rules
        FROM carried c LEFT JOIN final_scores f ON f.performance_year = ? AND f.level = c.level AND f.tin = c.id
        ORDER BY c.level, c.id""", [performance_year, tin, performance_year, tin, performance_year])


def mvp_participants(con, performance_year: int, tin: str) -> pd.DataFrame:
    """The TIN's MVP registrations (group, its clinicians, its subgroups, and the APM entities its clinicians are
    scored as) with their MVP scores (mvp_scores)."""
    if not has_table(con, "mvp_scores"):
        return pd.DataFrame()
    return _df(con, """
        SELECT participant_type, tin, npi, subgroup_id, mvp_id, mvp_title, scored, reason, members, quality_score,
               cost_score, ia_score, pi_score, quality_weight, cost_weight, ia_weight, pi_weight,
               quality_measures_counted, outcome_requirement_met, population_health_measure_id,
               population_health_points, final_score, payment_adjustment_percent, payment_adjustment_low_percent,
               payment_adjustment_high_percent, payment_adjustment_basis, unconfirmed_rules
        FROM mvp_scores WHERE performance_year = ? AND (tin = ? OR (participant_type = 'apm_entity' AND tin IN (
            SELECT apm_entity_id FROM final_scores WHERE performance_year = ? AND tin = ? AND apm_entity_id IS NOT NULL)))
        ORDER BY participant_type, npi NULLS FIRST, subgroup_id NULLS FIRST, mvp_id""",
               [performance_year, tin, performance_year, tin])


def unconfirmed_rules(con, performance_year: int, tin: str) -> pd.DataFrame:
    """Each unconfirmed rule value the TIN's scores rest on (final, category and MVP rows, and the virtual groups and
    APM entities they carry), with how many of those rows rest on it and the value's source in the rules data."""
    from transforms.scoring import load_rules

    mvp = ("UNION ALL SELECT 'MVP ' || mvp_id, unconfirmed_rules FROM mvp_scores WHERE performance_year = $py "
           "AND (tin = $tin OR (participant_type = 'apm_entity' AND tin IN (SELECT id FROM pooled)))"
           ) if has_table(con, "mvp_scores") else ""
    frame = _df(con, f"""
        WITH pooled AS (
            SELECT virtual_group_id AS id FROM final_scores WHERE performance_year = $py AND tin = $tin
              AND virtual_group_id IS NOT NULL
            UNION SELECT apm_entity_id FROM final_scores WHERE performance_year = $py AND tin = $tin
              AND apm_entity_id IS NOT NULL),
        rows AS (
            SELECT level || ' final score' AS what, unconfirmed_rules FROM final_scores
            WHERE performance_year = $py AND (tin = $tin OR (level IN ('virtual_group', 'apm_entity')
                                                            AND tin IN (SELECT id FROM pooled)))
            UNION ALL
            SELECT category || ' category', unconfirmed_rules FROM category_scores
            WHERE performance_year = $py AND (tin = $tin OR (level IN ('virtual_group', 'apm_entity')
                                                            AND tin IN (SELECT id FROM pooled)))
            {mvp})
        SELECT trim(rule) AS rule, count(*) AS rows_resting_on_it,
               string_agg(DISTINCT what, ', ' ORDER BY what) AS used_by
        FROM rows, unnest(string_split(unconfirmed_rules, ',')) AS t(rule)
        WHERE unconfirmed_rules IS NOT NULL AND trim(rule) <> ''
        GROUP BY 1 ORDER BY 1""", {"py": int(performance_year), "tin": tin})
    rules = load_rules(performance_year)
    frame["source"] = [rules.leaf(r).source if r in rules else "" for r in frame["rule"]]
    frame["value"] = [repr(rules[r]) if r in rules else "" for r in frame["rule"]]
    return frame
