"""CAHPS for MIPS (quality measure 321): summary survey measure (SSM) scores in, one quality measure out.

Rules ``cahps.*``: each reliable SSM with a benchmark is scored on its own benchmark (the CAHPS_n rows of the
year's benchmarks, collection type certifiedSurveyVendor) as any quality measure is (deciles, partial decile,
the year's floor); the measure's achievement points are the average of the scored SSMs' points, and its
performance rate, as reported, the average of their scores. It then takes part in the quality category as
a patient experience measure (the year's high-priority bonus rules apply to it).

Input: the CAHPS relation (cahps_input: tin, ssm_id, score, reliable; a group-level survey) and
``_sc_benchmark_bounds``. Output ``_sc_cahps_ssm`` (one row per (tin, ssm_id)) and, in the quality steps,
rows of ``_sc_q_points`` for measure ``cahps.measure_id``.
"""
from __future__ import annotations

from mips.errors import PipelineError
from transforms.scoring._sql import lit
from transforms.scoring.rules import Rules


def stage_cahps(con, rules: Rules, relation: str | None, columns_of) -> None:
    """Score each SSM into ``_sc_cahps_ssm``; a surveyed TIN gets a TIN-level entity row if it has none."""
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_cahps_ssm (tin VARCHAR, ssm_id VARCHAR, score DOUBLE,
                   reliable BOOLEAN, has_benchmark BOOLEAN, decile INTEGER, points DOUBLE, note VARCHAR)""")
    present = columns_of(con, relation)
    if present is None:
        return
    missing = {"tin", "ssm_id", "score"} - present
    if missing:
        raise PipelineError(f"CAHPS input: missing column(s) {', '.join(sorted(missing))}")
    bad = con.execute(f"SELECT count(*) FROM {relation} WHERE score < 0 OR score > 100").fetchall()[0][0]
    if bad:
        raise PipelineError(f"CAHPS input: {bad} row(s) with a summary survey measure score outside 0..100")
    reliable = "coalesce(CAST(reliable AS BOOLEAN), TRUE)" if "reliable" in present else "TRUE"
    floor, below = rules["quality.benchmark_floor_points"], float(rules["quality.below_lowest_decile_points"])
    floored = f"greatest(raw, {float(floor)})" if floor is not None else "raw"
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_cahps_ssm AS
    WITH s AS (
        SELECT trim(tin) AS tin, upper(trim(ssm_id)) AS ssm_id, CAST(score AS DOUBLE) AS score, {reliable} AS reliable
        FROM {relation}),
    b AS (SELECT * FROM _sc_benchmark_bounds WHERE collection_type = 'certifiedSurveyVendor'),
    hit AS (
        SELECT s.tin, s.ssm_id, max(b.decile) AS decile FROM s JOIN b ON b.measure_id = s.ssm_id AND s.score >= b.lower_bound
        GROUP BY ALL),
    p AS (
        SELECT s.*, EXISTS (SELECT 1 FROM b WHERE b.measure_id = s.ssm_id) AS has_benchmark, h.decile,
               lo.lower_bound AS bound_low, hi.lower_bound AS bound_next
        FROM s LEFT JOIN hit h ON h.tin = s.tin AND h.ssm_id = s.ssm_id
        LEFT JOIN b lo ON lo.measure_id = s.ssm_id AND lo.decile = h.decile
        LEFT JOIN b hi ON hi.measure_id = s.ssm_id AND hi.decile = h.decile + 1),
    r AS (
        SELECT *, CASE WHEN decile IS NULL THEN {below} WHEN decile = 10 OR bound_next IS NULL OR bound_next = bound_low
                       THEN decile ELSE decile + round((score - bound_low) / (bound_next - bound_low), 4) END AS raw
        FROM p)
    SELECT tin, ssm_id, score, reliable, has_benchmark, decile,
           CASE WHEN reliable AND has_benchmark THEN {floored} END AS points,
           CASE WHEN NOT reliable THEN ssm_id || ' not reliable: not scored'
                WHEN NOT has_benchmark THEN ssm_id || ' has no benchmark: not scored'
                ELSE printf('%s %.2f -> %.4f', ssm_id, score, {floored}) END AS note
    FROM r""")
    con.execute("""INSERT INTO _sc_in_entity BY NAME
                   SELECT DISTINCT c.tin, NULL AS npi FROM _sc_cahps_ssm c
                   WHERE NOT EXISTS (SELECT 1 FROM _sc_in_entity e WHERE e.tin = c.tin AND e.npi IS NULL)""")


def append_cahps_points(con, rules: Rules) -> None:
    """Add the CAHPS measure of each surveyed TIN to ``_sc_q_points`` (measure class 'cahps'): average SSM points."""
    measure = rules["cahps.measure_id"]
    nob = rules["quality.no_benchmark_or_case_minimum_points"]
    con.execute(f"""
    INSERT INTO _sc_q_points BY NAME
    SELECT any_value(e.level) AS level, c.tin, NULL AS npi, {lit(measure)} AS measure_id, 'certifiedSurveyVendor' AS collection_type,
           NULL AS stratum, avg(c.score ORDER BY c.score) FILTER (WHERE c.points IS NOT NULL) AS performance_rate,
           coalesce(avg(c.points ORDER BY c.points), CASE WHEN any_value(e.small_practice) THEN {float(nob['small_practice'])}
                                        ELSE {float(nob['standard'])} END) AS achievement_points,
           'cahps' AS measure_class, TRUE AS meets_case_minimum, TRUE AS meets_data_completeness,
           count(c.points) > 0 AS has_benchmark, FALSE AS is_admin, TRUE AS is_outcome, TRUE AS is_high_priority,
           FALSE AS topped_out, FALSE AS end_to_end_reported, FALSE AS new_floor_applied, any_value(e.small_practice) AS small_practice,
           printf('CAHPS for MIPS: %d of %d summary survey measures scored (rule cahps.scoring): %s; average %s points',
                  count(c.points), count(*), string_agg(c.note, ', ' ORDER BY c.ssm_id),
                  coalesce(round(avg(c.points ORDER BY c.points), 4)::VARCHAR, 'none: no benchmark/reliable measure')) AS strata_note
    -- a group's survey, or a virtual group's or APM entity's own (transforms/scoring/pooled_submissions.py)
    FROM _sc_cahps_ssm c JOIN _sc_entities e ON e.npi IS NULL AND e.tin = c.tin
    GROUP BY c.tin""")
