"""APM entities, the APM scoring standard (PY2017-2020), the APM Performance Pathway (PY2021 on) and QPs.

Input: the APM participation table (apm_participation_input: apm_entity_id, tin, npi, performance_year,
qp_status, partial_qp_elects_mips, mips_apm, shared_savings_or_next_generation_aco, reporting) and the
staged category inputs ``_sc_in_*``. Rules ``apm.*``:

- a Qualifying APM Participant (and a Partial QP that did not elect MIPS) is excluded from MIPS: its row
  keeps the scores it would have for information but its adjustment is 0 (``_sc_apm_excluded``);
- participants of a MIPS APM scored as the APM entity (``reporting`` apm_entity, the default) are pooled
  into one entity (level 'apm_entity', tin = apm_entity_id) from their TINs' rows, like a virtual group
  (rule ``apm.entity_pooling``); the entity's final score applies to each participant TIN/NPI;
- its weights: the APM scoring standard of the year and ACO kind (PY2017-2020) or the APP's (PY2021 on),
  cost 0; another reweighted category shares its weight proportionally (``_sc_apm_weights``);
- from PY2021 (APP) only the APP's quality measures are scored for the entity; rows of other measures are
  not used and counted (``_sc_apm_dropped``);
- IA: the APM entity earns ``apm.entity_ia_percent``; a MIPS APM participant scored in traditional MIPS (its
  TIN/NPI and its TIN) at least ``apm.participant_ia_min_percent`` (``apply_apm_ia``).
"""
from __future__ import annotations

from mips.errors import PipelineError
from transforms.scoring._sql import lit, lit_list
from transforms.scoring.rules import Rules
from transforms.scoring.pooled_submissions import replace_with_own
from transforms.scoring.virtual_groups import append_pooled_data, append_pooled_entities

CATEGORIES = ("quality", "cost", "ia", "pi")


def _empty(con) -> None:
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_apm (apm_entity_id VARCHAR, tin VARCHAR, npi VARCHAR,
                   qp_excluded BOOLEAN, pooled BOOLEAN, traditional BOOLEAN, aco BOOLEAN)""")
    con.execute("CREATE OR REPLACE TEMP TABLE _sc_apm_pool (pool_id VARCHAR, tin VARCHAR, tin_clinicians INTEGER)")
    # npi: NULL for an APM entity's own row; an APM entity's MVP participant key in the MVP scorer (mvp.py)
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_apm_weights (tin VARCHAR, npi VARCHAR, quality DOUBLE, cost DOUBLE,
                   ia DOUBLE, pi DOUBLE, rule VARCHAR, source VARCHAR)""")
    con.execute("CREATE OR REPLACE TEMP TABLE _sc_apm_dropped AS SELECT 0 AS n, 0 AS other_years")
    _keep_entity_rows(con)


def _keep_entity_rows(con) -> None:
    """``_sc_apm_rows_<kind>``: the APM entities' own rows (pooled from their participants' TINs, or their own
    submission), before the APP's measure filter: an APM entity's MVP (transforms/scoring/mvp.py, PY2023 on) is
    scored on them."""
    for kind in ("entity", *CATEGORIES):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _sc_apm_rows_{kind} AS SELECT * FROM _sc_in_{kind}
                        WHERE npi IS NULL AND tin IN (SELECT pool_id FROM _sc_apm_pool)""")


def stage_apm(con, rules: Rules, relation: str | None, columns_of) -> None:
    """Build ``_sc_apm`` (this year's participation), the APM entities' pooled rows, their weights and the
    APP measure-set filter. PipelineError for an APM entity id that is also a TIN or a virtual group id."""
    _empty(con)
    present = columns_of(con, relation)
    if present is None:
        return
    missing = {"apm_entity_id", "tin", "npi", "performance_year"} - present
    if missing:
        raise PipelineError(f"APM participation input: missing column(s) {', '.join(sorted(missing))}")
    col = lambda c, t: f"CAST({c} AS {t})" if c in present else f"NULL::{t}"
    py = rules.performance_year
    excluded = lit(bool(rules["apm.qp_excluded"]))
    may_elect = lit(bool(rules["apm.partial_qp_may_elect"]))
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_apm AS
    WITH r AS (
        SELECT upper(trim(apm_entity_id)) AS apm_entity_id, trim(tin) AS tin, trim(npi) AS npi,
               coalesce(lower(trim({col('qp_status', 'VARCHAR')})), 'not_qp') AS qp_status,
               coalesce({col('partial_qp_elects_mips', 'BOOLEAN')}, FALSE) AS elects,
               coalesce({col('mips_apm', 'BOOLEAN')}, TRUE) AS mips_apm,
               coalesce({col('shared_savings_or_next_generation_aco', 'BOOLEAN')}, FALSE) AS aco,
               coalesce(lower(trim({col('reporting', 'VARCHAR')})), 'apm_entity') AS reporting
        FROM {relation} WHERE performance_year = {py}),
    x AS (
        -- rules apm.qp_excluded, apm.partial_qp_may_elect
        SELECT *, {excluded} AND (qp_status = 'qp' OR (qp_status = 'partial_qp' AND NOT ({may_elect} AND elects)))
                  AS qp_excluded FROM r)
    SELECT apm_entity_id, tin, npi, qp_excluded, NOT qp_excluded AND mips_apm AND reporting = 'apm_entity' AS pooled,
           NOT qp_excluded AND mips_apm AND reporting = 'traditional' AS traditional, aco
    FROM x""")
    other_years = con.execute(f"SELECT count(*) FROM {relation} WHERE performance_year <> {py}").fetchone()[0]
    clash = con.execute("""SELECT DISTINCT a.apm_entity_id FROM _sc_apm a
                           JOIN (SELECT tin FROM _sc_in_entity UNION SELECT tin FROM _sc_in_quality UNION SELECT tin FROM _sc_in_pi
                                 UNION SELECT tin FROM _sc_in_ia UNION SELECT tin FROM _sc_in_cost
                                 UNION SELECT virtual_group_id FROM _sc_vg_members) t
                             ON t.tin = a.apm_entity_id LIMIT 3""").fetchall()
    if clash:
        raise PipelineError(f"APM participation input: apm_entity_id {', '.join(r[0] for r in clash)} is also a TIN or a "
                            "virtual group of the inputs; give the APM entity its own identifier")
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_apm_pool AS
                   SELECT apm_entity_id AS pool_id, tin, count(*)::INTEGER AS tin_clinicians FROM _sc_apm
                   WHERE pooled GROUP BY 1, 2""")
    pooling = rules["apm.entity_pooling"]
    append_pooled_data(con, "_sc_apm_pool", pooling)
    replace_with_own(con, "_sc_apm_pool")  # the APM entity's own submission, where it made one
    append_pooled_entities(con, "_sc_apm_pool", pooling)
    _keep_entity_rows(con)
    # each participant TIN/NPI gets its own row (the APM entity's score, or 0 adjustment for a QP)
    con.execute("""INSERT INTO _sc_in_entity BY NAME
                   SELECT DISTINCT a.tin, a.npi FROM _sc_apm a WHERE (a.pooled OR a.qp_excluded)
                   AND NOT EXISTS (SELECT 1 FROM _sc_in_entity e WHERE e.tin = a.tin AND e.npi = a.npi)""")
    dropped = 0
    app_measures = rules["apm.app_quality_measures"]
    if app_measures is not None:
        # the APP's fixed measure set (rule apm.app_quality_measures): other measures are not scored for the entity;
        # from PY2025 a Shared Savings Program ACO reports the APP Plus set instead (rules app.app_plus_quality_measures,
        # app.app_plus_required_for)
        plus, required = rules["app.app_plus_quality_measures"], rules["app.app_plus_required_for"] or []
        aco_plus = plus is not None and "shared_savings_program_aco" in required
        measure_set = (f"CASE WHEN tin IN (SELECT apm_entity_id FROM _sc_apm WHERE pooled GROUP BY 1 HAVING bool_or(aco)) "
                       f"THEN {lit_list(plus)} ELSE {lit_list(app_measures)} END" if aco_plus else lit_list(app_measures))
        outside = f"tin IN (SELECT pool_id FROM _sc_apm_pool) AND NOT list_contains({measure_set}, measure_id)"
        dropped = con.execute(f"SELECT count(*) FROM _sc_in_quality WHERE {outside}").fetchone()[0]
        con.execute(f"DELETE FROM _sc_in_quality WHERE {outside}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sc_apm_dropped AS SELECT {int(dropped)} AS n, {int(other_years)} AS other_years")
    _weights(con, rules)


def _weights(con, rules: Rules) -> None:
    standard, app = rules["apm.scoring_standard_weights"], rules["apm.app_weights"]
    if standard is not None:
        rule, leaf = "apm.scoring_standard_weights", rules.leaf("apm.scoring_standard_weights")
        aco, other = standard["shared_savings_or_next_generation_aco"], standard["other"]
        pick = {c: f"CASE WHEN bool_or(aco) THEN {float(aco[c])} ELSE {float(other[c])} END" for c in CATEGORIES}
    elif app is not None:
        rule, leaf = "apm.app_weights", rules.leaf("apm.app_weights")
        pick = {c: str(float(app[c])) for c in CATEGORIES}
    else:
        return
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_apm_weights AS
    SELECT apm_entity_id AS tin, NULL::VARCHAR AS npi, {', '.join(f'{pick[c]} AS {c}' for c in CATEGORIES)},
           {lit(rule)} AS rule,
           {lit(leaf.source)} AS source
    FROM _sc_apm WHERE pooled GROUP BY apm_entity_id""")


def apply_apm_weights(con) -> None:
    """The APM entity's weights (``_sc_apm_weights``) over ``_sc_weights2``: a reweighted category's weight is
    shared proportionally among the others (rule final.redistribution_fallback); none left -> all 0."""
    remaining = ("nullif(CASE WHEN w.q_rw THEN 0 ELSE a.quality END + CASE WHEN w.c_rw THEN 0 ELSE a.cost END"
                 " + CASE WHEN w.ia_rw THEN 0 ELSE a.ia END + CASE WHEN w.pi_rw THEN 0 ELSE a.pi END, 0)")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_weights2 AS
    SELECT w.* REPLACE (
        CASE WHEN a.tin IS NULL THEN w.wq WHEN w.q_rw THEN 0 ELSE coalesce(100.0 * a.quality / {remaining}, 0) END AS wq,
        CASE WHEN a.tin IS NULL THEN w.wc WHEN w.c_rw THEN 0 ELSE coalesce(100.0 * a.cost / {remaining}, 0) END AS wc,
        CASE WHEN a.tin IS NULL THEN w.wia WHEN w.ia_rw THEN 0 ELSE coalesce(100.0 * a.ia / {remaining}, 0) END AS wia,
        CASE WHEN a.tin IS NULL THEN w.wpi WHEN w.pi_rw THEN 0 ELSE coalesce(100.0 * a.pi / {remaining}, 0) END AS wpi,
        CASE WHEN a.tin IS NULL THEN w.w_source ELSE a.source END AS w_source,
        CASE WHEN a.tin IS NULL THEN w.w_rule ELSE a.rule END AS w_rule)
    FROM _sc_weights2 w
    LEFT JOIN _sc_apm_weights a ON a.tin = w.tin AND CASE WHEN a.npi IS NULL THEN w.level = 'apm_entity' ELSE w.npi = a.npi END""")


def apply_apm_ia(con, rules: Rules) -> None:
    """IA credit for APM participation (rules apm.entity_ia_percent, apm.participant_ia_min_percent): the score is
    the higher of the activities attested and the credit."""
    cap = float(rules["ia.max_points"])
    entity, participant = float(rules["apm.entity_ia_percent"]), float(rules["apm.participant_ia_min_percent"])
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_ia_category AS
    WITH credit AS (
        SELECT e.level, e.tin, e.npi,
               CASE WHEN e.level = 'apm_entity' THEN {entity} ELSE {participant} END AS credit_percent,
               CASE WHEN e.level = 'apm_entity' THEN 'APM entity: ' || {entity}::VARCHAR || '% IA credit (rule apm.entity_ia_percent)'
                    ELSE 'MIPS APM participant: at least ' || {participant}::VARCHAR
                         || '% IA credit (rule apm.participant_ia_min_percent)' END AS credit_text
        FROM _sc_entities e
        WHERE e.level = 'apm_entity'
           OR (e.level = 'individual' AND EXISTS (SELECT 1 FROM _sc_apm a WHERE a.traditional AND a.tin = e.tin AND a.npi = e.npi))
           OR (e.level = 'group' AND EXISTS (SELECT 1 FROM _sc_apm a WHERE a.traditional AND a.tin = e.tin)))
    SELECT coalesce(i.level, c.level) AS level, coalesce(i.tin, c.tin) AS tin, coalesce(i.npi, c.npi) AS npi,
           coalesce(i.pcmh_credit, FALSE) AS pcmh_credit,
           greatest(coalesce(i.score_percent, 0), coalesce(c.credit_percent, 0)) * {cap} / 100 AS points_earned,
           {cap} AS points_possible,
           greatest(coalesce(i.score_percent, 0), coalesce(c.credit_percent, 0)) AS score_percent,
           concat_ws('; ', c.credit_text, i.explanation,
                     CASE WHEN c.tin IS NOT NULL THEN 'the higher of the two counts' END) AS explanation,
           coalesce(i.activities, 0) AS activities, coalesce(i.unknown_activities, 0) AS unknown_activities, i.unknown_ids
    FROM _sc_ia_category i
    FULL JOIN credit c ON c.level = i.level AND c.tin = i.tin AND c.npi IS NOT DISTINCT FROM i.npi""")
