"""Quality category: benchmark -> achievement points per measure, floors and caps, top-measure
selection, bonuses, small practice bonus and improvement scoring (scoring-rules.md §2.1, §3).

Input: ``_sc_quality`` (one row per entity, measure, collection type, stratum, with level and the
entity's small_practice flag), ``_sc_benchmark_bounds``, ``_sc_quality_measures``.
Output: ``_sc_quality_measure_scores`` and ``_sc_quality_category``.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

from transforms.scoring._sql import lit, lit_list, same_entity, unconfirmed_list_sql
from transforms.scoring.rules import Rules

# The steps of the quality category in order: (step, table it creates, grain of that table).
STEPS: list[tuple[Callable, str, str]] = []


def quality_rules(rules: Rules) -> SimpleNamespace:
    """The year's quality rule values, and the SQL fragments built from them, shared by the steps."""
    r = rules
    dc = r["quality.data_completeness_percent"]
    cm = r["quality.case_minimum"]
    admin_cm = r["quality.admin_claims_case_minimums"] or {}
    admin_cm_sql = "CASE q.measure_id " + " ".join(f"WHEN {lit(k)} THEN {int(v)}" for k, v in admin_cm.items()) + f" ELSE {cm} END" \
        if admin_cm else str(cm)
    basis = r["quality.case_minimum_basis"]
    case_count = "q.eligible_population" if basis == "eligible_population" else "(q.performance_met + q.performance_not_met)"
    floor = r["quality.benchmark_floor_points"]
    below = r["quality.below_lowest_decile_points"]
    nob = r["quality.no_benchmark_or_case_minimum_points"]
    fdc = r["quality.fails_data_completeness_points"]
    cap = r["quality.topped_out_cap"]
    basis_to = r["quality.topped_out_basis"]
    exempt = r["quality.topped_out_cap_exempt_collection_types"] or []
    if cap is None or basis_to is None:
        topped = "FALSE"
    elif isinstance(basis_to, dict):
        topped = f"(list_contains({lit_list(basis_to['named_measures'])}, q.measure_id))"
    else:
        topped = "(coalesce(bm.is_topped_out_by_program, FALSE) AND NOT coalesce(bm.cap_removed, FALSE))"
    topped = f"({topped} AND NOT list_contains({lit_list(exempt)}, q.collection_type))"
    cm_first = r["quality.class_precedence"] == "case_minimum_first"
    hp = r["quality.high_priority_bonus"]
    e2e = r["quality.end_to_end_bonus"]
    outcome_types = r["quality.outcome_measure_types"]
    required = int(r["quality.required_measures"])
    per_measure = float(r["quality.points_per_measure"])
    need_hp = bool(r["quality.require_outcome_or_high_priority"])
    sp_bonus = float(r["quality.small_practice_bonus"] or 0)
    imp = r["quality.improvement_scoring"]
    new_floor = r.get("quality.new_measure_floor")
    zero_rate = r["quality.zero_rate_points"]
    # PY2018 engine: a 0% rate on a measure where higher is better earns zero_rate_points, not the floor
    zero_rate_sql = ("" if zero_rate is None else
                     f"CASE WHEN performance_rate = 0 AND NOT coalesce(bm_inverse, FALSE) THEN {float(zero_rate)} ELSE ")

    # the one stratum CMS scores of a multi-rate measure whose strata are reported separately (split), by measure
    scored_stratum = r.get("quality.scored_stratum") or {}
    scored_sql = ("CASE measure_id " + " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in scored_stratum.items())
                  + " END") if scored_stratum else "NULL"


    return SimpleNamespace(**{k: v for k, v in locals().items() if k != 'rules'})


def _combine_strata(con, q: SimpleNamespace) -> None:
    """_sc_q_measures_in: one row per (level, tin, npi, measure_id, collection_type, stratum); the strata of a measure
    CMS scores as one are combined into a row with stratum NULL.

    Strata of a multi-rate measure sent as several rows become one measure row, as CMS's overallAlgorithm says:
    simpleAverage -> mean of the strata rates; overallStratumOnly -> the 'overall' stratum; split -> each
    stratum stays its own row, except where the year's rules name the one stratum CMS scores
    (quality.scored_stratum: the other strata are reported, not scored); weightedAverage /
    sumNumerators / unknown -> pooled counts.
    """
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_q_measures_in AS
    WITH t0 AS (SELECT *, {q.scored_sql} AS scored_stratum FROM _sc_quality),
    t AS (
        SELECT q.* EXCLUDE (scored_stratum), m.overall_algorithm,
               100.0 * q.performance_met / nullif(q.performance_met + q.performance_not_met, 0) AS stratum_rate,
               count(*) OVER (PARTITION BY q.level, q.tin, q.npi, q.measure_id, q.collection_type) AS n_strata,
               bool_or(lower(q.stratum) = 'overall') OVER (PARTITION BY q.level, q.tin, q.npi, q.measure_id, q.collection_type) AS has_overall
        FROM t0 q LEFT JOIN _sc_quality_measures m USING (measure_id)
        WHERE q.scored_stratum IS NULL OR q.stratum IS NULL OR q.stratum = q.scored_stratum),
    keep AS (  -- rows scored as they are
        SELECT * FROM t WHERE n_strata = 1 OR overall_algorithm = 'split'
                           OR (overall_algorithm = 'overallStratumOnly' AND has_overall AND lower(stratum) = 'overall'))
    SELECT level, tin, npi, measure_id, collection_type, small_practice, stratum, eligible_population,
           eligible_population_exclusion, eligible_population_exception, performance_met, performance_not_met,
           end_to_end_reported, NULL::DOUBLE AS combined_rate, NULL::VARCHAR AS strata_note
    FROM keep
    UNION ALL
    SELECT level, tin, npi, measure_id, collection_type, any_value(small_practice), NULL,
           sum(eligible_population), sum(eligible_population_exclusion), sum(eligible_population_exception),
           sum(performance_met), sum(performance_not_met), bool_or(end_to_end_reported),
           CASE WHEN any_value(overall_algorithm) = 'simpleAverage'
                THEN avg(stratum_rate ORDER BY stratum_rate) END,
           printf('%d strata combined (%s)', count(*), coalesce(any_value(overall_algorithm), 'pooled counts'))
    FROM t
    WHERE n_strata > 1 AND coalesce(overall_algorithm, '') <> 'split'
      AND NOT (coalesce(overall_algorithm, '') = 'overallStratumOnly' AND has_overall)
    GROUP BY level, tin, npi, measure_id, collection_type
    """)


STEPS.append((_combine_strata, "_sc_q_measures_in",
              "one row per (level, tin, npi, measure_id, collection_type, stratum); the strata of a "
              "measure CMS scores as one are combined into a row with stratum NULL"))


def _rates_and_benchmarks(con, q: SimpleNamespace) -> None:
    """_sc_q_rates: one row per (level, tin, npi, measure_id, collection_type, stratum): performance rate, data
    completeness, case minimum, benchmark flags, the rate in the benchmark's unit.

    rates, data completeness, case minimum; benchmark bounds of each row.
    """
    admin_cm_sql, case_count, cm, outcome_types, topped = q.admin_cm_sql, q.case_count, q.cm, q.outcome_types, q.topped
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_q_rates_base AS
    SELECT q.*,
           q.collection_type = 'administrativeClaims' AS is_admin,
           -- rounded to 10 dp so a rate equal to a decile bound is not pushed across it by float noise
           round(coalesce(q.combined_rate, CASE WHEN q.performance_met + q.performance_not_met > 0
                THEN 100.0 * q.performance_met / (q.performance_met + q.performance_not_met) END), 10) AS performance_rate,
           CASE WHEN q.collection_type = 'administrativeClaims' THEN NULL
                WHEN q.eligible_population > 0 THEN 100.0 * (q.performance_met + q.performance_not_met
                     + coalesce(q.eligible_population_exclusion, 0) + coalesce(q.eligible_population_exception, 0))
                     / q.eligible_population END AS data_completeness_percent,
           {case_count} >= (CASE WHEN q.collection_type = 'administrativeClaims' THEN {admin_cm_sql} ELSE {cm} END)
               AS meets_case_minimum,
           coalesce(m.is_high_priority, FALSE) AS is_high_priority, m.first_performance_year,
           coalesce(list_contains({lit_list(outcome_types)}, m.measure_type), FALSE) AS is_outcome,
           bm.is_inverse AS bm_inverse, coalesce(bm.has_benchmark, FALSE) AS has_benchmark, {topped} AS topped_out,
           coalesce(bm.is_fraction, FALSE) AS bm_fraction
    FROM _sc_q_measures_in q
    LEFT JOIN _sc_quality_measures m USING (measure_id)
    LEFT JOIN (SELECT measure_id, collection_type, bool_or(is_inverse) AS is_inverse,
                      bool_or(is_topped_out_by_program) AS is_topped_out_by_program,
                      bool_or(is_seven_point_cap_removed) AS cap_removed, TRUE AS has_benchmark,
                      -- 479/480 (administrative claims) publish their benchmarks as proportions (0.1533 = 15.33 %):
                      -- every bound past decile 1 (implied 100 in PY2021-2022) is at most 1
                      bool_and(collection_type = 'administrativeClaims') AND max(lower_bound) FILTER (WHERE decile > 1) <= 1 AS is_fraction
               FROM _sc_benchmark_bounds GROUP BY ALL) bm
           ON bm.measure_id = q.measure_id AND bm.collection_type = q.collection_type
    """)
    # the rate in the benchmark's own unit (percent, or a proportion for 479/480)
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_q_rates AS
                    SELECT *, CASE WHEN bm_fraction THEN round(performance_rate / 100.0, 12) ELSE performance_rate END
                              AS benchmark_rate FROM _sc_q_rates_base""")


STEPS.append((_rates_and_benchmarks, "_sc_q_rates",
              "one row per (level, tin, npi, measure_id, collection_type, stratum): performance rate, "
              "data completeness, case minimum, benchmark flags, the rate in the benchmark's unit"))


def _deciles(con, q: SimpleNamespace) -> None:
    """_sc_q_deciles: one row per (level, tin, npi, measure_id, collection_type, stratum): the decile reached and its
    bounds.

    The highest decile whose lower bound the rate reaches (ties -> highest, §3.1), and the next bound.
    """
    con.execute("""
    CREATE OR REPLACE TEMP TABLE _sc_q_deciles AS
    WITH hit AS (
        SELECT q.rowid AS rid, max(b.decile) AS decile
        FROM _sc_q_rates q JOIN _sc_benchmark_bounds b
          ON b.measure_id = q.measure_id AND b.collection_type = q.collection_type
         AND q.benchmark_rate IS NOT NULL
         AND ((NOT b.is_inverse AND q.benchmark_rate >= b.lower_bound) OR (b.is_inverse AND q.benchmark_rate <= b.lower_bound))
        GROUP BY ALL)
    SELECT q.*, h.decile, lo.lower_bound AS bound_low, hi.lower_bound AS bound_next
    FROM (SELECT rowid AS rid, * FROM _sc_q_rates) q
    LEFT JOIN hit h USING (rid)
    LEFT JOIN _sc_benchmark_bounds lo ON lo.measure_id = q.measure_id AND lo.collection_type = q.collection_type AND lo.decile = h.decile
    LEFT JOIN _sc_benchmark_bounds hi ON hi.measure_id = q.measure_id AND hi.collection_type = q.collection_type AND hi.decile = h.decile + 1
    """)


STEPS.append((_deciles, "_sc_q_deciles",
              "one row per (level, tin, npi, measure_id, collection_type, stratum): the decile reached "
              "and its bounds"))


def _achievement_points(con, q: SimpleNamespace) -> None:
    """_sc_q_points: one row per (level, tin, npi, measure_id, collection_type, stratum): measure class and achievement
    points after floors and caps.


    """
    below, cap, cm_first, dc, fdc, floor = q.below, q.cap, q.cm_first, q.dc, q.fdc, q.floor
    new_floor, nob, zero_rate_sql, r = q.new_floor, q.nob, q.zero_rate_sql, q.r
    fails_dc = "(NOT coalesce(meets_data_completeness, FALSE))"
    below_cm = "(NOT meets_case_minimum)"
    if cm_first:
        measure_class = f"""CASE WHEN {below_cm} THEN 'class 2' WHEN {fails_dc} THEN 'class 3'
                                 WHEN NOT has_benchmark OR performance_rate IS NULL THEN 'class 2' ELSE 'class 1' END"""
    else:
        measure_class = f"""CASE WHEN {fails_dc} THEN 'class 3' WHEN {below_cm} THEN 'class 2'
                                 WHEN NOT has_benchmark OR performance_rate IS NULL THEN 'class 2' ELSE 'class 1' END"""
    floor_sql = f"greatest(raw_points, {floor})" if floor is not None else "raw_points"
    cap_sql = f"CASE WHEN topped_out THEN least(floored, {cap}) ELSE floored END" if cap is not None else "floored"
    # New measures (PY2022+): floor of 7 points in their first year, 5 in their second, when DC and case minimum are met.
    if new_floor:
        age = f"({r.performance_year} - first_performance_year)"
        # CY2022 PFS final rule (rule quality.new_measure_floor): data completeness met is enough, even below the
        # case minimum or without a benchmark; a file that still says so requires the case minimum too
        met = ("meets_data_completeness" if new_floor.get("requires") == "data_completeness"
               else "meets_case_minimum AND meets_data_completeness")
        new_floor_sql = (f"CASE WHEN {met} AND {age} = 0 THEN {new_floor['first_year']} "
                         f"WHEN {met} AND {age} = 1 THEN {new_floor['second_year']} END")
    else:
        new_floor_sql = "NULL"
    # 3. points.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_q_points AS
    WITH a AS (
        SELECT *,
               CASE WHEN is_admin THEN TRUE ELSE data_completeness_percent >= {dc} END AS meets_data_completeness,
               CASE WHEN decile IS NULL OR decile = 10 OR bound_next IS NULL OR bound_next = bound_low THEN 0.0
                    WHEN bm_inverse THEN round((bound_low - benchmark_rate) / (bound_low - bound_next), 4)
                    ELSE round((benchmark_rate - bound_low) / (bound_next - bound_low), 4) END AS partial_decile_score
        FROM _sc_q_deciles),
    b AS (
        SELECT *, {measure_class} AS measure_class,
               CASE WHEN decile IS NULL THEN NULL ELSE decile + partial_decile_score END AS decile_score
        FROM a),
    c AS (
        SELECT *, coalesce(decile_score, {below}) AS raw_points FROM b),
    d AS (
        SELECT *, {floor_sql} AS floored FROM c)
    , e AS (
        SELECT *, ({new_floor_sql})::DOUBLE AS new_measure_floor FROM d)
    SELECT * REPLACE (greatest(achievement_points, coalesce(new_measure_floor, 0)) AS achievement_points),
           achievement_points < coalesce(new_measure_floor, 0) AS new_floor_applied
    FROM (SELECT *,
           CASE measure_class
               WHEN 'class 1' THEN {zero_rate_sql}{cap_sql}{' END' if zero_rate_sql else ''}
               WHEN 'class 3' THEN CASE WHEN small_practice THEN {fdc['small_practice']} ELSE {fdc['standard']} END
               ELSE CASE WHEN small_practice THEN {nob['small_practice']} ELSE {nob['standard']} END
           END::DOUBLE AS achievement_points
    FROM e)
    """)


STEPS.append((_achievement_points, "_sc_q_points",
              "one row per (level, tin, npi, measure_id, collection_type, stratum): measure class and "
              "achievement points after floors and caps"))


def _best_collection_type(con, q: SimpleNamespace) -> None:
    """_sc_q_scored: one row per (level, tin, npi, measure_id, stratum): the collection type that scores best (CMS
    scores a measure once).

    one score per measure: best collection type (CMS scores a measure once); strata of a measure averaged.
    """
    con.execute("""
    CREATE OR REPLACE TEMP TABLE _sc_q_scored AS
    WITH best_ct AS (
        SELECT level, tin, npi, measure_id, collection_type,
               row_number() OVER (PARTITION BY level, tin, npi, measure_id
                                  ORDER BY avg(achievement_points ORDER BY achievement_points) DESC, collection_type) AS ct_rank
        FROM _sc_q_points GROUP BY level, tin, npi, measure_id, collection_type)
    SELECT q.* FROM _sc_q_points q JOIN best_ct b
      ON b.level = q.level AND b.tin = q.tin AND b.npi IS NOT DISTINCT FROM q.npi
     AND b.measure_id = q.measure_id AND b.collection_type = q.collection_type AND b.ct_rank = 1
    """)


STEPS.append((_best_collection_type, "_sc_q_scored",
              "one row per (level, tin, npi, measure_id, stratum): the collection type that scores best "
              "(CMS scores a measure once)"))


def _select_measures(con, q: SimpleNamespace) -> None:
    """_sc_q_selection: one row per (level, tin, npi, measure_id): points, outcome/high-priority status and whether the
    measure counts.

    selection: one outcome (else high-priority) measure required, then the best others (§2.1); administrative-
    claims measures are scored on top and add to the denominator.
    """
    need_hp, required = q.need_hp, q.required
    others = required - 1 if need_hp else required
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_q_selection AS
    WITH m AS (
        SELECT level, tin, npi, measure_id, any_value(is_admin) AS is_admin,
               avg(achievement_points ORDER BY achievement_points) AS points, bool_or(is_outcome) AS is_outcome,
               bool_or(is_high_priority OR is_outcome) AS is_hp,
               bool_and(meets_case_minimum AND meets_data_completeness) AS bonus_eligible_base,
               min(performance_rate) AS min_rate, bool_or(coalesce(end_to_end_reported, FALSE)) AS e2e
        FROM _sc_q_scored GROUP BY ALL),
    req AS (
        SELECT *, CASE WHEN {lit(need_hp)} AND is_hp AND NOT is_admin
                       THEN row_number() OVER (PARTITION BY level, tin, npi, (is_hp AND NOT is_admin)
                                               ORDER BY is_outcome DESC, points DESC, measure_id) END AS hp_rank
        FROM m),
    oth AS (
        SELECT *, CASE WHEN NOT is_admin AND coalesce(hp_rank, 0) <> 1
                       THEN row_number() OVER (PARTITION BY level, tin, npi, (NOT is_admin AND coalesce(hp_rank, 0) <> 1)
                                               ORDER BY points DESC, measure_id) END AS other_rank
        FROM req)
    SELECT *,
           CASE WHEN is_admin THEN meets_admin
                ELSE coalesce(hp_rank = 1, FALSE) OR coalesce(other_rank <= {others}, FALSE) END AS selected
    FROM (SELECT o.*, (SELECT bool_and(meets_case_minimum AND has_benchmark) FROM _sc_q_scored x
                       WHERE x.level = o.level AND x.tin = o.tin AND x.npi IS NOT DISTINCT FROM o.npi
                         AND x.measure_id = o.measure_id) AS meets_admin
          FROM oth o)
    """)


STEPS.append((_select_measures, "_sc_q_selection",
              "one row per (level, tin, npi, measure_id): points, outcome/high-priority status and "
              "whether the measure counts"))


def _bonuses(con, q: SimpleNamespace) -> None:
    """_sc_q_bonuses: one row per (level, tin, npi, measure_id): high-priority and end-to-end bonus points.

    bonuses per measure (PY2017-2021): +2 outcome/patient experience, +1 other HP, beyond the required one.
    """
    e2e, hp = q.e2e, q.hp
    if hp:
        pos = "AND coalesce(min_rate, 0) > 0" if hp.get("requires_positive_rate") else ""
        hp_sql = f"""CASE WHEN is_hp AND NOT is_admin AND coalesce(hp_rank, 0) <> 1 AND bonus_eligible_base {pos}
                          THEN CASE WHEN is_outcome THEN {hp['outcome']} ELSE {hp['other']} END ELSE 0 END"""
    else:
        hp_sql = "0"
    e2e_sql = f"CASE WHEN e2e AND NOT is_admin THEN {e2e['points']} ELSE 0 END" if e2e else "0"
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_q_bonuses AS
    SELECT *, ({hp_sql})::DOUBLE AS high_priority_bonus, ({e2e_sql})::DOUBLE AS end_to_end_bonus FROM _sc_q_selection
    """)


STEPS.append((_bonuses, "_sc_q_bonuses",
              "one row per (level, tin, npi, measure_id): high-priority and end-to-end bonus points"))


def _category_score(con, q: SimpleNamespace) -> None:
    """_sc_quality_category: one row per (level, tin, npi) that sent quality data: achievement, bonuses, denominator,
    score.

    Achievement of the selected measures + capped bonuses + small practice bonus over the denominator, plus
    improvement percentage points (§2.1), capped at 100.
    """
    e2e, hp, imp, per_measure, required, sp_bonus = q.e2e, q.hp, q.imp, q.per_measure, q.required, q.sp_bonus
    hp_cap = f"{hp['cap_percent_of_denominator']} / 100.0 * denominator" if hp else "0"
    e2e_cap = f"{e2e['cap_percent_of_denominator']} / 100.0 * denominator" if e2e else "0"
    if imp:
        prev = f"greatest(e.prior_quality_achievement_percent, {imp['prior_floor_percent']})"
        imp_sql = f"""CASE WHEN e.prior_quality_achievement_percent IS NOT NULL AND c.submitted >= {required}
                           THEN least({imp['max_percentage_points']}, greatest(0,
                                (100.0 * c.achieved / c.denominator - {prev}) / {prev} * 10)) ELSE 0 END"""
    else:
        imp_sql = "0"
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_quality_category AS
    WITH c AS (
        SELECT level, tin, npi,
               count(*) FILTER (WHERE NOT is_admin) AS submitted,
               coalesce(sum(points ORDER BY points) FILTER (WHERE selected), 0) AS achieved,
               {required} * {per_measure} + {per_measure} * count(*) FILTER (WHERE is_admin AND selected) AS denominator,
               sum(high_priority_bonus ORDER BY high_priority_bonus) AS hp_sum, sum(end_to_end_bonus ORDER BY end_to_end_bonus) AS e2e_sum,
               bool_or(hp_rank = 1) AS has_required_hp
        FROM _sc_q_bonuses GROUP BY ALL),
    d AS (
        SELECT c.*, least(hp_sum, {hp_cap}) AS hp_bonus, least(e2e_sum, {e2e_cap}) AS e2e_bonus,
               CASE WHEN e.small_practice THEN {sp_bonus} ELSE 0 END AS sp_bonus,
               {imp_sql} AS improvement_pp
        FROM c JOIN _sc_entities e ON {same_entity('e', 'c')})
    SELECT level, tin, npi, achieved, denominator, hp_bonus, e2e_bonus, sp_bonus, improvement_pp, submitted, has_required_hp,
           least(100.0, 100.0 * (achieved + hp_bonus + e2e_bonus + sp_bonus) / denominator + improvement_pp) AS score_percent
    FROM d
    """)


STEPS.append((_category_score, "_sc_quality_category",
              "one row per (level, tin, npi) that sent quality data: achievement, bonuses, denominator, "
              "score"))


def _measure_rows(con, q: SimpleNamespace) -> None:
    """_sc_quality_measure_scores: one row per (level, tin, npi, measure_id, stratum): the measure_scores columns with
    the explanation.

    measure rows with their explanation.
    """
    below, cap, dc, floor, zero_rate = q.below, q.cap, q.dc, q.floor, q.zero_rate
    zero_rate_applies = (f"q.measure_class = 'class 1' AND q.performance_rate = 0 AND NOT coalesce(q.bm_inverse, FALSE)"
                         if zero_rate is not None else "FALSE")
    unconfirmed = unconfirmed_list_sql(q.r, {
        "quality.data_completeness_percent": "NOT q.is_admin", "quality.case_minimum": "NOT q.is_admin",
        "quality.case_minimum_basis": "TRUE", "quality.admin_claims_case_minimums": "q.is_admin",
        "quality.class_precedence": "NOT q.meets_case_minimum AND NOT coalesce(q.meets_data_completeness, FALSE)",
        "quality.fails_data_completeness_points": "q.measure_class = 'class 3'",
        "quality.no_benchmark_or_case_minimum_points": "q.measure_class = 'class 2'",
        "quality.benchmark_floor_points": "q.measure_class = 'class 1' AND q.raw_points < q.floored",
        "quality.below_lowest_decile_points": "q.measure_class = 'class 1' AND q.decile IS NULL",
        "quality.topped_out_cap": "q.measure_class = 'class 1' AND q.topped_out",
        "quality.topped_out_basis": "q.topped_out",
        "quality.zero_rate_points": zero_rate_applies,
        "quality.new_measure_floor": "q.new_floor_applied",
        "quality.high_priority_bonus": "s.high_priority_bonus > 0",
        "quality.end_to_end_bonus": "s.end_to_end_bonus > 0",
        "quality.require_outcome_or_high_priority": "s.hp_rank = 1",
        "cahps.scoring": "q.measure_class = 'cahps'",
    })
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_quality_measure_scores AS
    SELECT q.level, q.tin, q.npi, 'quality' AS category, q.measure_id, q.stratum, q.collection_type,
           q.eligible_population, q.performance_met, q.performance_not_met, q.performance_rate,
           NULL::DOUBLE AS measure_value, q.data_completeness_percent, q.meets_data_completeness, q.meets_case_minimum,
           coalesce(q.has_benchmark, FALSE) AS has_benchmark, q.bm_inverse AS is_inverse, q.topped_out,
           q.decile, CASE WHEN q.decile IS NOT NULL THEN q.partial_decile_score END AS partial_decile_score,
           q.decile_score, q.measure_class, q.achievement_points,
           s.high_priority_bonus, s.end_to_end_bonus, s.high_priority_bonus + s.end_to_end_bonus AS bonus_points,
           q.is_outcome, q.is_high_priority, s.selected,
           concat_ws('; ', q.strata_note,
             CASE WHEN q.data_completeness_percent > 100 THEN 'more cases reported than the eligible population (check the counts)' END,
             CASE q.measure_class
               WHEN 'cahps' THEN NULL
               WHEN 'class 3' THEN printf('data completeness %.2f%% below %s%%: %s points%s',
                    coalesce(q.data_completeness_percent, 0), {lit(str(dc))}, q.achievement_points::VARCHAR,
                    CASE WHEN q.small_practice THEN ' (small practice)' ELSE '' END)
               WHEN 'class 2' THEN CASE
                    WHEN NOT q.meets_case_minimum THEN printf('case minimum not met (%d cases): %s points%s',
                         q.eligible_population, q.achievement_points::VARCHAR, CASE WHEN q.small_practice THEN ' (small practice)' ELSE '' END)
                    WHEN q.performance_rate IS NULL THEN printf('no performance met or not met: %s points', q.achievement_points::VARCHAR)
                    ELSE printf('no benchmark for %s / %s: %s points', q.measure_id, q.collection_type, q.achievement_points::VARCHAR) END
               ELSE CASE
                    WHEN q.decile IS NULL THEN printf('rate %.4f below the decile 1 bound: %s points', q.performance_rate, {lit(str(below))})
                    WHEN q.decile = 10 THEN printf('rate %.4f in decile 10 (lower bound %s): 10 points', q.performance_rate, q.bound_low::VARCHAR)
                    ELSE printf('rate %.4f in decile %d [%s, %s): partial %.4f -> decile score %.4f',
                         q.performance_rate, q.decile, q.bound_low::VARCHAR, q.bound_next::VARCHAR, q.partial_decile_score, q.decile_score) END
                 || CASE WHEN q.bm_fraction THEN printf(' (benchmark in proportions: %.6f)', q.benchmark_rate) ELSE '' END
                 || CASE WHEN {lit(zero_rate is not None)} AND q.performance_rate = 0 AND NOT coalesce(q.bm_inverse, FALSE)
                         THEN printf('; 0%% performance rate: %s points (no floor)', {lit(str(zero_rate))})
                         WHEN q.raw_points < q.floored THEN printf('; floor %s applied', {lit(str(floor))}) ELSE '' END
                 || CASE WHEN q.topped_out AND q.floored > {cap if cap is not None else 'NULL'} THEN printf('; topped-out cap %s applied', {lit(str(cap))}) ELSE '' END
             END,
             CASE WHEN q.new_floor_applied THEN printf('new measure (first year %s): floor %s applied',
                                                        q.first_performance_year::VARCHAR, q.new_measure_floor::VARCHAR) END,
             CASE WHEN s.high_priority_bonus > 0 THEN printf('high-priority bonus %s', s.high_priority_bonus::VARCHAR) END,
             CASE WHEN s.hp_rank = 1 THEN 'required outcome/high-priority measure (no bonus)' END,
             CASE WHEN s.end_to_end_bonus > 0 THEN printf('end-to-end bonus %s', s.end_to_end_bonus::VARCHAR) END,
             CASE WHEN q.is_admin THEN 'administrative claims measure: adds 10 to the denominator when scored' END,
             CASE WHEN s.selected THEN 'selected' ELSE 'not selected' END) AS explanation,
           {unconfirmed} AS unconfirmed_rules
    FROM _sc_q_scored q
    JOIN _sc_q_bonuses s ON s.level = q.level AND s.tin = q.tin AND s.npi IS NOT DISTINCT FROM q.npi AND s.measure_id = q.measure_id
    """)


STEPS.append((_measure_rows, "_sc_quality_measure_scores",
              "one row per (level, tin, npi, measure_id, stratum): the measure_scores columns with the "
              "explanation"))


def score_quality(con, rules: Rules) -> None:
    """Run the quality steps in order (STEPS): _sc_quality in, _sc_quality_measure_scores and
    _sc_quality_category out."""
    from transforms.scoring.cahps import append_cahps_points

    q = quality_rules(rules)
    for step, _table, _grain in STEPS:
        step(con, q)
        if step is _achievement_points:
            append_cahps_points(con, rules)  # CAHPS for MIPS: measure 321 from its summary survey measures
