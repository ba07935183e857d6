"""Which of a clinician's final scores sets its payment adjustment (rules ``final_score_selection.*``).

A TIN/NPI can hold several final scores in one year: as an individual, through its TIN's group score, its
virtual group's, its APM Entity's, a subgroup's, and each of these through traditional MIPS, an MVP or the APM
Performance Pathway. CMS pays each TIN/NPI on one of them:

- ``final_score_selection.overrides``: paths whose score applies whatever the others are, the first listed
  first (PY2017-2020: the APM Entity's under the APM scoring standard, §414.1370(f), then the virtual
  group's; from PY2021 only the virtual group's);
- ``final_score_selection.highest_of``: otherwise the highest score of these paths applies (PY2017-2020
  individual and group; PY2021-2022 also the APM Entity; PY2023 on also the subgroup); a tie goes to the path
  listed first.
- ``final_score_selection.automatic_euc_individual`` (years with an automatic EUC policy for individuals): an
  individual who sent no data gets the performance threshold under the policy; ``competes``: that score is one of
  the highest_of scores (a lower group or APM entity score does not apply: PY2021 [V]); ``yields_to_group``: it is
  set aside when the TIN/NPI has a group, virtual group or APM entity score.

Inputs (those present): ``_sc_final`` (with ``own_final_score``), ``_sc_vg_members``, ``_sc_apm`` (QPs: no
adjustment), ``mvp_scores`` (individual, group, subgroup and APM entity MVPs) with the subgroup membership, and ``final_scores`` rows of levels individual_app / group_app (the APP reported by individuals
and groups, transforms/scoring/app.py). Output: ``payment_adjustments``, one row per (performance_year, tin, npi).
"""
from __future__ import annotations

from schemas.scoring import PAYMENT_ADJUSTMENTS
from transforms.scoring._sql import lit, lit_list
from transforms.scoring.final import adjustment_basis_rank_sql, adjustment_range_sql, adjustment_sql
from transforms.scoring.rules import Rules


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} | \
           {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}


def select_final_scores(con, rules: Rules, *, scaling_factor: float | None = None,
                        exceptional_scaling_factor: float | None = None,
                        memberships: str | None = None) -> None:
    """Create ``payment_adjustments`` from the scores in ``con`` (see the module doc). ``memberships``: the
    subgroup membership table (tin, subgroup_id, npi) when subgroups registered MVPs."""
    tables = _tables(con)
    entity_kind = "apm_scoring_standard" if rules["apm.scoring_standard_weights"] is not None else "app"
    auto_euc = rules["final_score_selection.automatic_euc_individual"]
    if auto_euc not in (None, "competes", "yields_to_group"):
        raise ValueError(f"PY{rules.performance_year} rule final_score_selection.automatic_euc_individual = "
                         f"{auto_euc!r} is not known to the selection")
    candidates = [
        # an individual's own score (a pooled member's row carries the pool's: own_final_score is its own)
        """SELECT tin, npi, 'individual' AS path, 'traditional' AS reporting, tin || '/' || npi AS score_entity,
                  own_final_score AS final_score, unconfirmed_rules FROM _sc_final_rows WHERE level = 'individual'""",
        # the group's own score applies to each clinician of the TIN, when the group submitted data (a TIN row that
        # only stands for a pooled member, or an entity row without data, is no group score)
        """SELECT c.tin, c.npi, 'group', 'traditional', g.tin, g.own_final_score, g.unconfirmed_rules
           FROM _sel_clinicians c JOIN _sc_final_rows g ON g.level = 'group' AND g.tin = c.tin AND g.submitted""",
        """SELECT c.tin, c.npi, 'virtual_group', 'traditional', v.tin, v.final_score, v.unconfirmed_rules
           FROM _sel_clinicians c JOIN _sc_vg_members m ON m.tin = c.tin
           JOIN _sc_final_rows v ON v.level = 'virtual_group' AND v.tin = m.virtual_group_id""",
        f"""SELECT DISTINCT a.tin, a.npi, 'apm_entity', {lit(entity_kind)}, x.tin, x.final_score, x.unconfirmed_rules
            FROM _sc_apm a JOIN _sc_final_rows x ON x.level = 'apm_entity' AND x.tin = a.apm_entity_id WHERE a.pooled""",
    ]
    if "mvp_scores" in tables:
        candidates += [
            """SELECT tin, npi, 'individual', 'mvp', mvp_id, final_score, unconfirmed_rules FROM mvp_scores
               WHERE scored AND participant_type = 'individual'""",
            """SELECT c.tin, c.npi, 'group', 'mvp', m.mvp_id, m.final_score, m.unconfirmed_rules
               FROM _sel_clinicians c JOIN mvp_scores m ON m.scored AND m.participant_type = 'group' AND m.tin = c.tin""",
            # an APM entity's MVP (PY2023 on) applies to each participant scored as the entity, like its other scores
            """SELECT DISTINCT a.tin, a.npi, 'apm_entity', 'mvp', m.tin || ' ' || m.mvp_id, m.final_score, m.unconfirmed_rules
               FROM _sc_apm a JOIN mvp_scores m ON m.scored AND m.participant_type = 'apm_entity'
                 AND m.tin = a.apm_entity_id WHERE a.pooled"""]
        if memberships is not None:
            candidates.append(
                f"""SELECT trim(s.tin), trim(s.npi), 'subgroup', 'mvp', m.subgroup_id || ' ' || m.mvp_id, m.final_score,
                           m.unconfirmed_rules
                    FROM {memberships} s JOIN mvp_scores m ON m.scored AND m.participant_type = 'subgroup'
                      AND m.tin = trim(s.tin) AND m.subgroup_id = trim(s.subgroup_id)""")
    # the APP reported by individuals and groups (transforms/scoring/app.py): rows of level individual_app / group_app
    candidates += [
        """SELECT tin, npi, 'individual', 'app', tin || '/' || npi, final_score, unconfirmed_rules FROM final_scores
           WHERE level = 'individual_app'""",
        """SELECT c.tin, c.npi, 'group', 'app', g.tin, g.final_score, g.unconfirmed_rules
           FROM _sel_clinicians c JOIN final_scores g ON g.level = 'group_app' AND g.tin = c.tin"""]
    # the final scores with their rows' unconfirmed rules
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_final_rows AS
                   SELECT f.level, f.tin, f.npi, f.own_final_score, f.final_score, r.unconfirmed_rules,
                          f.q_sent OR f.pi_sent OR f.ia_sent AS submitted,
                          -- the individual's own score is the automatic EUC policy's: it sent no data at all
                          f.level = 'individual' AND coalesce(f.auto_euc, FALSE)
                              AND NOT (f.q_sent OR f.pi_sent OR f.ia_sent) AS auto_euc_no_data
                   FROM _sc_final f JOIN final_scores r ON r.level = f.level AND r.tin = f.tin
                        AND r.npi IS NOT DISTINCT FROM f.npi""")
    # every TIN/NPI the run knows: individual rows, APM participants, MVP individuals and subgroup members
    clinician_sources = ["SELECT tin, npi FROM _sc_final WHERE level = 'individual'", "SELECT tin, npi FROM _sc_apm"]
    if "mvp_scores" in tables:
        clinician_sources.append("SELECT tin, npi FROM mvp_scores WHERE participant_type = 'individual'")
        if memberships is not None:
            clinician_sources.append(f"SELECT trim(tin), trim(npi) FROM {memberships}")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _sel_clinicians AS
                    SELECT DISTINCT tin, npi FROM ({' UNION ALL '.join(clinician_sources)}) WHERE npi IS NOT NULL""")
    # a subgroup registration kept unscored (e.g. its affiliated group not eligible in the segment that decides a
    # subgroup's eligibility, rule mvp.subgroup_eligibility): its members' rows say why its score is not a candidate
    if "mvp_scores" in tables and memberships is not None:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _sel_subgroup_notes AS
                        SELECT trim(s.tin) AS tin, trim(s.npi) AS npi,
                               string_agg(printf('subgroup %s (MVP %s) not scored: %s', m.subgroup_id, m.mvp_id, m.reason),
                                          '; ' ORDER BY m.subgroup_id, m.mvp_id) AS note
                        FROM {memberships} s JOIN mvp_scores m ON NOT m.scored AND m.participant_type = 'subgroup'
                          AND m.tin = trim(s.tin) AND m.subgroup_id = trim(s.subgroup_id)
                        GROUP BY ALL""")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _sel_subgroup_notes (tin VARCHAR, npi VARCHAR, note VARCHAR)")
    overrides, highest = list(rules["final_score_selection.overrides"]), list(rules["final_score_selection.highest_of"])
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sel_candidates AS
    WITH c AS (
        SELECT c.*, coalesce(list_position({lit_list(overrides)}, path), 0) AS override_rank,
               coalesce(list_position({lit_list(highest)}, path), 0) AS highest_rank,
               path = 'individual' AND reporting = 'traditional' AND EXISTS (
                   SELECT 1 FROM _sc_final_rows f WHERE f.level = 'individual' AND f.tin = c.tin AND f.npi = c.npi
                     AND f.auto_euc_no_data) AS auto_euc_no_data
        FROM ({' UNION ALL '.join(candidates)}) c (tin, npi, path, reporting, score_entity, final_score, unconfirmed_rules)
        WHERE final_score IS NOT NULL AND npi IS NOT NULL)
    -- rule final_score_selection.automatic_euc_individual = yields_to_group: the automatic EUC score of an individual
    -- without data is set aside when a group, virtual group or APM entity score exists for the TIN/NPI
    SELECT *, {lit(auto_euc == 'yields_to_group')} AND auto_euc_no_data
              AND bool_or(path IN ('group', 'virtual_group', 'apm_entity')) OVER (PARTITION BY tin, npi) AS yielded
    FROM c""")
    leaf_o, leaf_h = rules.leaf("final_score_selection.overrides"), rules.leaf("final_score_selection.highest_of")
    leaf_a = rules.leaf("final_score_selection.automatic_euc_individual")
    fs = "final_score"
    base, exceptional = adjustment_sql(rules, fs, scaling_factor, exceptional_scaling_factor)
    low, high = adjustment_range_sql(rules, fs, scaling_factor, exceptional_scaling_factor)
    basis = adjustment_basis_rank_sql(rules, fs, scaling_factor, exceptional_scaling_factor)
    payment_year = int(rules["payment.payment_year"])
    qp = "EXISTS (SELECT 1 FROM _sc_apm a WHERE a.qp_excluded AND a.tin = p.tin AND a.npi = p.npi)"
    body = f"""
    WITH usable AS (
        -- a path the year's rules name neither as an override nor among the highest is not a score CMS pays on
        SELECT * FROM _sel_candidates WHERE (override_rank > 0 OR highest_rank > 0) AND NOT yielded),
    auto AS (
        SELECT tin, npi, bool_or(auto_euc_no_data) AS has_auto_euc, bool_or(yielded) AS auto_euc_yielded
        FROM _sel_candidates GROUP BY tin, npi),
    listed AS (
        SELECT tin, npi, count(*) AS candidate_count,
               string_agg(path || ' (' || reporting || ', ' || score_entity || ') ' || printf('%.4f', final_score), '; '
                          ORDER BY coalesce(nullif(override_rank, 0), 99), final_score DESC, highest_rank, reporting,
                                   score_entity) AS candidates,
               bool_or(override_rank > 0) AS has_override
        FROM usable GROUP BY tin, npi),
    picked AS (
        SELECT * FROM usable
        QUALIFY row_number() OVER (PARTITION BY tin, npi ORDER BY coalesce(nullif(override_rank, 0), 99),
                                   final_score DESC, highest_rank, reporting, score_entity) = 1),
    p AS (
        SELECT k.*, l.candidate_count, l.candidates, l.has_override, a.has_auto_euc, a.auto_euc_yielded,
               (SELECT any_value(part_b_allowed_charges) FROM final_scores i
                WHERE i.level = 'individual' AND i.tin = k.tin AND i.npi = k.npi) AS part_b_allowed_charges,
               (SELECT any_value(note) FROM _sel_subgroup_notes n WHERE n.tin = k.tin AND n.npi = k.npi) AS subgroup_note
        FROM picked k JOIN listed l USING (tin, npi) JOIN auto a USING (tin, npi)),
    adj AS (
        SELECT p.*, {qp} AS qp_excluded,
               CASE WHEN {qp} THEN 0.0 ELSE ({base}) + ({exceptional}) END AS payment_adjustment_percent,
               CASE WHEN {qp} THEN 0.0 ELSE {low} END AS payment_adjustment_low_percent,
               CASE WHEN {qp} THEN 0.0 ELSE {high} END AS payment_adjustment_high_percent,
               CASE WHEN {qp} THEN 'exact' ELSE ['exact', 'estimate', 'range'][({basis}) + 1] END AS payment_adjustment_basis
        FROM p)
    SELECT {rules.performance_year} AS performance_year, tin, npi,
           CASE WHEN qp_excluded THEN 'excluded_qp' ELSE path END AS score_path, reporting, score_entity, final_score,
           concat_ws('; ',
               CASE WHEN qp_excluded THEN 'Qualifying APM Participant: excluded from MIPS, no payment adjustment '
                                          || '(rule apm.qp_excluded); the score below is for information' END,
               CASE WHEN override_rank > 0
                    THEN replace(path, '_', ' ') || ' ' || score_entity || ': its score applies whatever the others '
                         || '(rule final_score_selection.overrides: ' || {lit(', '.join(overrides))} || ')'
                    WHEN candidate_count = 1 THEN 'the only final score of this TIN/NPI'
                    ELSE 'the highest of ' || candidate_count::VARCHAR || ' final scores (rule '
                         || 'final_score_selection.highest_of: ' || {lit(', '.join(highest))} || ')' END,
               CASE WHEN auto_euc_yielded
                    THEN 'the individual''s automatic extreme and uncontrollable circumstances score (no data submitted) '
                         || 'yields to the group or APM entity score (rule final_score_selection.automatic_euc_individual)'
                    WHEN has_auto_euc AND candidate_count > 1 AND NOT has_override
                    THEN 'the individual''s automatic extreme and uncontrollable circumstances score (the performance '
                         || 'threshold, no data submitted) competes (rule final_score_selection.automatic_euc_individual)' END,
               subgroup_note,
               CASE payment_adjustment_basis WHEN 'estimate' THEN 'adjustment is an ESTIMATE (factor from a secondary source)'
                    WHEN 'range' THEN 'adjustment is a RANGE: the factor is not published; pass --scaling-factor' END
           ) AS selection_reason,
           candidate_count, candidates, payment_adjustment_percent, payment_adjustment_low_percent,
           payment_adjustment_high_percent, payment_adjustment_basis, part_b_allowed_charges,
           part_b_allowed_charges * payment_adjustment_percent / 100.0 AS payment_adjustment_usd,
           {payment_year} AS payment_year,
           -- the chosen score's own unconfirmed rules, and the selection rule's when it decided between scores
           nullif(array_to_string(list_sort(list_distinct(list_filter(string_split(concat_ws(', ', unconfirmed_rules,
               CASE WHEN override_rank > 0 AND {lit(leaf_o.unconfirmed)} THEN 'final_score_selection.overrides' END,
               CASE WHEN candidate_count > 1 AND NOT has_override AND {lit(leaf_h.unconfirmed)}
                    THEN 'final_score_selection.highest_of' END,
               CASE WHEN (auto_euc_yielded OR (has_auto_euc AND candidate_count > 1 AND NOT has_override))
                         AND {lit(leaf_a.unconfirmed)} THEN 'final_score_selection.automatic_euc_individual' END
               ), ', '), lambda x: x <> ''))), ', '), '') AS unconfirmed_rules
    FROM adj"""
    con.execute(f"CREATE OR REPLACE TABLE {PAYMENT_ADJUSTMENTS.name} AS "
                f"{PAYMENT_ADJUSTMENTS.select_sql(f'({body})')}")
