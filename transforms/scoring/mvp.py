"""MIPS Value Pathways (MVPs) and subgroups, PY2023 on: each registered MVP participant scored on its MVP.

An MVP participant (an individual TIN/NPI, a group TIN or a subgroup of a TIN) registers one MVP (a year's list in
``ref.mvps`` / ``ref.mvp_measures``, compiled from CMS's mvp.json). It is scored with the traditional scorer
(``score_entities``) on its MVP's measures and activities only, with the year's ``mvp.*`` rule values in place of the
traditional ones (quality measures required, IA points and special-status multiplier, category weights), and then:

- quality counts the MVP's best ``mvp.quality_measures_required`` measures, one of them an outcome measure where the
  MVP lists one, else a high-priority measure (``mvp.outcome_measure_required``), plus the foundational population
  health measure when it is scored (case minimum and benchmark); one without a score is left out of numerator and
  denominator (``mvp.population_health_no_benchmark``). Which one: the one named (at registration in PY2023, at
  submission from PY2024: ``mvp.population_health_selection``);
- the foundational Promoting Interoperability is traditional PI (``mvp.pi_foundational``);
- a subgroup is scored on its own quality and IA rows (``subgroup_id`` in the quality / IA inputs); its PI, cost and
  administrative claims measures (population health, outcome administrative claims) are its affiliated group's
  (``mvp.subgroup_pi``, ``mvp.subgroup_cost``, ``mvp.subgroup_administrative_claims``), and so are its statuses
  (``mvp.subgroup_statuses``);
- an APM entity (registration ``apm_entity_id``, PY2023 on) is scored at the APM entity level on the rows the
  traditional scorer built for it (``_sc_apm_rows_*``, transforms/scoring/apm.py: pooled from its participants' TINs
  by ``apm.entity_pooling``, or its own submission), with cost weighted 0 and the APM entity MVP weights
  (``mvp.apm_entity_category_weights``) and the MIPS APM participant's IA credit (``apm.participant_ia_min_percent``);
  its score competes for each of its participants in ``payment_adjustments`` (transforms/scoring/selection.py).

Registrations are checked first: the year offers MVPs, the MVP exists that year, the participant type is offered and
built, a subgroup has members and no clinician is in two subgroups of a TIN, a subgroup's affiliated group exceeds
the low-volume threshold in the determination segment that decides a subgroup's eligibility
(``mvp.subgroup_eligibility``: segment 1, §414.1318(a)(4); see ``_subgroup_eligibility``), and (PY2026 on) a group
attests a specialty composition that may report as a group (``mvp.group_registration_specialty``). A registration
that fails a check is kept, unscored, with its reason.

The scorer runs in its own DuckDB connection (its work tables and outputs do not touch the caller's) on one row per
participant: the participant's key stands in for the NPI there. Output in the caller's connection: ``mvp_scores``
and ``mvp_measure_scores`` (schemas/scoring.py).
"""
from __future__ import annotations

import dataclasses

import duckdb

from mips.errors import PipelineError
from schemas.scoring import MVP_MEASURE_SCORES, MVP_SCORES
from transforms.scoring._sql import lit, lit_list, same_entity
from transforms.scoring.engine import INPUT_COLUMNS, _columns
from transforms.scoring.final import category_rows_sql, final_rows_sql, score_final
from transforms.scoring.apm import CATEGORIES, apply_apm_ia
from transforms.scoring.rules import Rules, RuleValue, load_rules

# The traditional rule each MVP rule stands in for while an MVP participant is scored.
RULE_OVERRIDES = {
    "quality.required_measures": "mvp.quality_measures_required",
    "ia.activity_points": "mvp.ia_activity_points",
    "ia.special_status_multiplier": "mvp.ia_special_status_multiplier",
    "final.weights": "mvp.category_weights",
}
# Rule values the code knows how to apply (a new value in a rule file is a code change, said loudly).
KNOWN = {
    "mvp.outcome_measure_required": ("outcome_else_high_priority",),
    "mvp.quality_measure_scope": ("mvp_list",),
    "mvp.cost_measure_scope": ("mvp_list",),
    "mvp.pi_foundational": ("traditional",),
    "mvp.population_health_selection": ("registration", "submission"),
    "mvp.population_health_no_benchmark": ("excluded",),
    "mvp.subgroup_pi": ("affiliated_group",),
    "mvp.subgroup_cost": ("affiliated_group",),
    "mvp.subgroup_administrative_claims": ("affiliated_group",),
    "mvp.subgroup_statuses": ("affiliated_group",),
}
# participant types this scorer builds
BUILT_PARTICIPANT_TYPES = ("individual", "group", "subgroup", "apm_entity")
_QUALITY_ROLES = ("quality", "administrative_claims_quality", "population_health")
# the same id normalisation as the scorer's: '1' and '001' are one measure
_MEASURE_ID_SQL = ("CASE WHEN regexp_matches(trim({c}), '^[0-9]{{1,2}}$') THEN lpad(trim({c}), 3, '0') "
                   "ELSE upper(trim({c})) END")


def mvp_rules(rules: Rules) -> Rules:
    """The year's rules with the MVP values in place of the traditional ones they replace (RULE_OVERRIDES)."""
    leaves = dict(rules.leaves)
    for traditional, mvp in RULE_OVERRIDES.items():
        leaf = rules.leaf(mvp)
        leaves[traditional] = RuleValue(mvp, leaf.value, leaf.source, leaf.unconfirmed)
    return dataclasses.replace(rules, leaves=leaves)


def _check_rules(rules: Rules) -> None:
    if not rules["mvp.available"]:
        raise PipelineError(f"performance year {rules.performance_year} has no MIPS Value Pathways (they start with "
                            "PY2023, rule mvp.available): --mvp-registrations cannot be scored")
    for path, known in KNOWN.items():
        if rules[path] not in known:
            raise ValueError(f"PY{rules.performance_year} rule {path} = {rules[path]!r} is not known to the MVP scorer")
    eligibility = rules["mvp.subgroup_eligibility"]
    if eligibility is not None and (eligibility.get("level") != "affiliated_group"
                                    or eligibility.get("segment") not in (1, 2)):
        raise ValueError(f"PY{rules.performance_year} rule mvp.subgroup_eligibility = {eligibility!r} is not known to "
                         "the MVP scorer")


def _relation_or_empty(con, relation: str | None, kind: str, extra: dict[str, str] | None = None) -> str:
    """A SELECT over the caller's input with every column the scorer reads (absent ones NULL), plus subgroup_id."""
    spec = dict(INPUT_COLUMNS[kind]) | (extra or {})
    present = _columns(con, relation) or set()
    cols = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' if c in present else f'NULL::{t} AS "{c}"' for c, t in spec.items())
    if relation is None or _columns(con, relation) is None:
        return f"(SELECT {cols} LIMIT 0)"
    return f"(SELECT * REPLACE (nullif(trim(tin), '') AS tin, nullif(trim(npi), '') AS npi) FROM (SELECT {cols} FROM {relation}))"


# the entity input's column that gives CMS's own segment-1 determination of a TIN (QPP initial eligibility)
SEGMENT_INPUT_COLUMN = "segment_{segment}_exceeds_low_volume_threshold"


def _subgroup_eligibility(con, rules: Rules, registrations: str, entity: str | None) -> None:
    """_mvp_subgroup_eligibility: one row per TIN with a subgroup registration of the year, whether its affiliated
    group exceeds the low-volume threshold in the determination segment that decides a subgroup's eligibility (rule
    mvp.subgroup_eligibility: segment 1, at the group level, §414.1318(a)(1), (a)(4)), from where, and why.

    Where the figure comes from, first found first: the TIN's group row of the entity input
    (``segment_1_exceeds_low_volume_threshold``: CMS's own initial determination, as the QPP Participation Status
    shows it), else the run's claims when they cover every month of the segment (mips_eligibility's group row of the
    TIN; no Part B line of the TIN in the segment = not above). Otherwise it is not determined: the subgroup is scored,
    and its row and the run's warnings say so (never a silent "not eligible")."""
    empty = "CREATE OR REPLACE TEMP TABLE _mvp_subgroup_eligibility (tin VARCHAR, eligible BOOLEAN, basis VARCHAR, note VARCHAR)"
    rule = rules["mvp.subgroup_eligibility"]
    if rule is None or "tin" not in (_columns(con, registrations) or set()):
        con.execute(empty)
        return
    from transforms.scoring.eligibility import determination_segments

    py, segment = rules.performance_year, int(rule["segment"])
    _, start, end = next(s for s in determination_segments(py) if s[0] == segment)
    column = SEGMENT_INPUT_COLUMN.format(segment=segment)
    given = (f"""SELECT trim(tin) AS tin, bool_and(TRY_CAST({column} AS BOOLEAN)) AS given FROM {entity}
                 WHERE nullif(trim(npi), '') IS NULL AND {column} IS NOT NULL GROUP BY 1"""
             if entity is not None and column in (_columns(con, entity) or set()) else
             "SELECT NULL::VARCHAR AS tin, NULL::BOOLEAN AS given LIMIT 0")
    has_claims = _columns(con, "mips_eligibility") is not None
    claims = (f"""SELECT tin, segment_{segment}_covered AS covered, segment_{segment}_exceeds_low_volume_threshold AS exceeds,
                         segment_{segment}_allowed_charges AS allowed, segment_{segment}_beneficiaries AS beneficiaries,
                         segment_{segment}_services AS services
                  FROM mips_eligibility WHERE level = 'group' AND performance_year = {int(py)}"""
              if has_claims else
              "SELECT NULL::VARCHAR AS tin, NULL::BOOLEAN AS covered, NULL::BOOLEAN AS exceeds, NULL::DOUBLE AS allowed, "
              "NULL::BIGINT AS beneficiaries, NULL::BIGINT AS services LIMIT 0")
    seg = f"determination segment {segment} ({start}..{end})"
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _mvp_subgroup_eligibility AS
    WITH t AS (SELECT DISTINCT trim(tin) AS tin FROM {registrations}
               WHERE performance_year = {int(py)} AND lower(trim(participant_type)) = 'subgroup' AND trim(tin) IS NOT NULL),
    g AS ({given}), c AS ({claims})
    SELECT t.tin,
           CASE WHEN g.given IS NOT NULL THEN g.given WHEN c.covered THEN coalesce(c.exceeds, FALSE) END AS eligible,
           CASE WHEN g.given IS NOT NULL THEN 'entity input' WHEN c.covered THEN 'claims' ELSE 'not determined' END AS basis,
           CASE WHEN g.given IS NOT NULL
                THEN printf('affiliated group TIN %s %s the low-volume threshold in {seg}, as the entity input gives it '
                            '({column})', t.tin, CASE WHEN g.given THEN 'above' ELSE 'at or below' END)
                WHEN c.covered AND c.allowed IS NULL
                THEN printf('affiliated group TIN %s has no Part B claims in {seg} in the run''s claims', t.tin)
                WHEN c.covered
                THEN printf('affiliated group TIN %s %s the low-volume threshold in {seg} in the run''s claims '
                            '(%s USD allowed, %d beneficiaries, %d services)', t.tin,
                            CASE WHEN c.exceeds THEN 'above' ELSE 'at or below' END, printf('%.2f', c.allowed),
                            c.beneficiaries, c.services)
                ELSE printf('NOT DETERMINED for affiliated group TIN %s: %s, and the entity input gives no {column} for '
                            'it (CMS''s initial eligibility of the TIN); scored as if eligible', t.tin,
                            CASE WHEN NOT {str(has_claims).upper()} THEN 'the run has no Part B claims of {seg}'
                                 WHEN c.tin IS NULL THEN 'the run''s claims have no Part B line of the TIN in the performance year'
                                 ELSE 'the run''s claims do not cover every month of {seg}' END)
           END AS note
    FROM t LEFT JOIN g ON g.tin = t.tin LEFT JOIN c ON c.tin = t.tin""")


def _participants(con, rules: Rules, registrations: str, memberships: str | None) -> None:
    """_mvp_participants: one row per registration of the year, with its participant key and why it is not scored
    (a subgroup's eligibility from _mvp_subgroup_eligibility)."""
    py = rules.performance_year
    if memberships is not None and _columns(con, memberships) is not None:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _mvp_members AS
                        SELECT DISTINCT trim(tin) AS tin, trim(subgroup_id) AS subgroup_id, trim(npi) AS npi
                        FROM {memberships}""")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _mvp_members (tin VARCHAR, subgroup_id VARCHAR, npi VARCHAR)")
    if rules["mvp.subgroup_single_membership"]:
        twice = con.execute("""SELECT count(*), min(tin || ' NPI ' || npi) FROM (
                                   SELECT tin, npi FROM _mvp_members GROUP BY ALL HAVING count(DISTINCT subgroup_id) > 1)
                            """).fetchone()
        if twice[0]:
            raise PipelineError(f"subgroup membership: {twice[0]} clinician(s) in more than one subgroup of their TIN "
                                f"(first: TIN {twice[1]}); a clinician may be in one subgroup of a TIN "
                                "(rule mvp.subgroup_single_membership)")
    # an APM entity registers by its APM entity id, which stands in for the TIN (as in final_scores); its
    # participants scored as the entity (APM participation input, reporting apm_entity) are counted as its members
    reg_cols = _columns(con, registrations) or set()
    apm_id = "upper(trim(apm_entity_id))" if "apm_entity_id" in reg_cols else "NULL::VARCHAR"
    tin_sql = "trim(tin)" if "tin" in reg_cols else "NULL::VARCHAR"
    participants = ("SELECT apm_entity_id, count(DISTINCT tin || '/' || npi) AS n FROM _sc_apm WHERE pooled GROUP BY 1"
                    if _columns(con, "_sc_apm") is not None else
                    "SELECT NULL::VARCHAR AS apm_entity_id, 0 AS n LIMIT 0")
    offered = rules["mvp.participant_types"] or []
    specialty = rules["mvp.group_registration_specialty"]
    specialty_check = ("FALSE" if specialty is None else
                       f"NOT coalesce(list_contains({lit_list(specialty)}, r.specialty_composition), FALSE)")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _mvp_participants AS
    WITH r AS (
        SELECT lower(trim(participant_type)) AS participant_type,
               CASE WHEN lower(trim(participant_type)) = 'apm_entity' THEN {apm_id} ELSE {tin_sql} END AS tin,
               nullif(trim(npi), '') AS npi,
               nullif(trim(subgroup_id), '') AS subgroup_id, upper(trim(mvp_id)) AS mvp_id,
               nullif({_MEASURE_ID_SQL.format(c='population_health_measure_id')}, '') AS population_health_measure_id,
               lower(trim(specialty_composition)) AS specialty_composition
        FROM {registrations} WHERE performance_year = {int(py)}),
    m AS (SELECT tin, subgroup_id, count(*) AS members FROM _mvp_members GROUP BY ALL),
    se AS (SELECT * FROM _mvp_subgroup_eligibility),
    a AS ({participants})
    SELECT 'P' || row_number() OVER (ORDER BY r.participant_type, r.tin, r.npi NULLS FIRST, r.subgroup_id NULLS FIRST,
                                            r.mvp_id) AS participant_key,
           r.*, v.title AS mvp_title, coalesce(v.has_outcome_measure, FALSE) AS has_outcome_measure,
           CASE WHEN r.participant_type = 'subgroup' THEN coalesce(m.members, 0)
                WHEN r.participant_type = 'apm_entity' THEN coalesce(a.n, 0) END AS members,
           CASE WHEN r.participant_type = 'subgroup' THEN coalesce(se.basis, 'not determined') END AS eligibility_basis,
           CASE WHEN r.participant_type = 'subgroup' THEN se.note END AS eligibility_note,
           CASE WHEN v.mvp_id IS NULL THEN printf('MVP %s is not offered in performance year %d', r.mvp_id, {int(py)})
                WHEN NOT list_contains({lit_list(offered)}, r.participant_type)
                     THEN printf('participant type %s may not report an MVP in performance year %d (rule mvp.participant_types)',
                                 r.participant_type, {int(py)})
                WHEN NOT list_contains({lit_list(BUILT_PARTICIPANT_TYPES)}, r.participant_type)
                     THEN printf('participant type %s is not built: not scored', r.participant_type)
                WHEN r.participant_type = 'apm_entity' AND coalesce(a.n, 0) = 0
                     THEN printf('APM entity %s has no participant scored as the APM entity in the APM participation '
                                 'input (--apm, reporting apm_entity)', r.tin)
                WHEN r.participant_type = 'subgroup' AND coalesce(m.members, 0) = 0
                     THEN 'subgroup has no clinicians in the subgroup membership file (--subgroups)'
                WHEN r.participant_type = 'subgroup' AND se.eligible = FALSE
                     THEN se.note || ': a subgroup may report only when its affiliated group exceeds the low-volume '
                          || 'threshold in that segment (rule mvp.subgroup_eligibility, 42 CFR §414.1318(a)(1), (a)(4); '
                          || 'a group that only opts in may not report as subgroups, (a)(2)); its clinicians are paid on '
                          || 'their other scores'
                WHEN r.participant_type = 'group' AND {specialty_check}
                     THEN printf('a group reports an MVP only if it attests its specialty composition as %s '
                                 '(rule mvp.group_registration_specialty; got %s): report as subgroups or individuals',
                                 {lit(' or '.join(specialty or []))}, coalesce(r.specialty_composition, 'none'))
                WHEN r.population_health_measure_id IS NOT NULL AND NOT EXISTS (
                     SELECT 1 FROM ref.mvp_measures x WHERE x.performance_year = {int(py)} AND x.mvp_id = r.mvp_id
                       AND x.role = 'population_health' AND x.measure_id = r.population_health_measure_id)
                     THEN printf('%s is not a population health measure of MVP %s', r.population_health_measure_id, r.mvp_id)
           END AS reason
    FROM r
    LEFT JOIN ref.mvps v ON v.performance_year = {int(py)} AND v.mvp_id = r.mvp_id
    LEFT JOIN m ON m.tin = r.tin AND m.subgroup_id = r.subgroup_id
    LEFT JOIN se ON r.participant_type = 'subgroup' AND se.tin = r.tin
    LEFT JOIN a ON r.participant_type = 'apm_entity' AND a.apm_entity_id = r.tin
    """)
    # registrations of other years are not this run's: counted for the warnings, not scored
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _mvp_other_years AS
                    SELECT count(*) AS n, string_agg(DISTINCT performance_year::VARCHAR, ', ') AS years
                    FROM {registrations} WHERE performance_year IS DISTINCT FROM {int(py)}""")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _mvp_roles AS
    SELECT p.participant_key, x.role, x.category, x.measure_id, x.is_outcome, x.is_high_priority
    FROM _mvp_participants p JOIN ref.mvp_measures x ON x.performance_year = {int(py)} AND x.mvp_id = p.mvp_id
    WHERE p.reason IS NULL AND x.role IN ('quality', 'administrative_claims_quality', 'population_health', 'ia', 'cost')
    """)


def _inputs(con, rules: Rules, *, entity, quality, pi, ia, cost) -> dict[str, str]:
    """SQL (in ``con``) of each scorer input for the scored participants, keyed (tin, npi = participant key)."""
    sub = {"subgroup_id": "VARCHAR"}
    src = {k: _relation_or_empty(con, rel, k, sub if k in ("quality", "ia") else None)
           for k, rel in (("entity", entity), ("quality", quality), ("pi", pi), ("ia", ia), ("cost", cost))}
    # an APM entity's rows as the traditional scorer built them (transforms/scoring/apm.py); never a TIN of the
    # inputs (stage_apm refuses an APM entity id that is one)
    for k in src:
        if _columns(con, f"_sc_apm_rows_{k}") is not None:
            src[k] = f"({src[k]} UNION ALL BY NAME {_relation_or_empty(con, f'_sc_apm_rows_{k}', k, sub if k in ('quality', 'ia') else None)})"
    # whose rows: the participant's own ("own"), or its affiliated group's (a subgroup's PI, cost, admin claims)
    own = ("(p.participant_type = 'individual' AND i.npi = p.npi AND {nosub}) "
           "OR (p.participant_type = 'group' AND i.npi IS NULL AND {nosub}) "
           "OR (p.participant_type = 'subgroup' AND i.npi IS NULL AND {issub}) "
           "OR (p.participant_type = 'apm_entity' AND i.npi IS NULL AND {nosub})")
    group = "(i.npi IS NULL AND {nosub})"
    nosub, issub = "nullif(trim(i.subgroup_id), '') IS NULL", "trim(i.subgroup_id) = p.subgroup_id"
    own_rows = own.format(nosub=nosub, issub=issub)
    own_rows_nosub = own.format(nosub="TRUE", issub="FALSE")          # inputs without subgroup rows (PI, cost)
    group_rows = group.format(nosub="TRUE")
    scored = "SELECT * FROM _mvp_participants WHERE reason IS NULL"
    entity_cols = ", ".join(f"e.{c}" for c in INPUT_COLUMNS["entity"] if c not in ("tin", "npi", "clinician_type", "small_practice"))
    out = {
        # statuses: an individual's own row (small practice from its TIN's row when empty), a group's and a
        # subgroup's the TIN's row (rule mvp.subgroup_statuses)
        "entity": f"""
            SELECT p.tin, p.participant_key AS npi, {entity_cols},
                   CASE WHEN p.participant_type = 'individual' THEN e.clinician_type END AS clinician_type,
                   coalesce(e.small_practice, g.small_practice) AS small_practice
            FROM ({scored}) p
            LEFT JOIN {src['entity']} e ON e.tin = p.tin AND e.npi IS NOT DISTINCT FROM
                                           CASE WHEN p.participant_type = 'individual' THEN p.npi END
            LEFT JOIN (SELECT tin, any_value(small_practice) AS small_practice FROM {src['entity']}
                       WHERE npi IS NULL GROUP BY tin) g ON g.tin = p.tin""",
        # quality: the MVP's measures; a subgroup's administrative claims measures from its affiliated group
        "quality": f"""
            SELECT i.* EXCLUDE (tin, npi, subgroup_id, measure_id), p.tin, p.participant_key AS npi,
                   {_MEASURE_ID_SQL.format(c='i.measure_id')} AS measure_id
            FROM ({scored}) p JOIN {src['quality']} i ON i.tin = p.tin
            JOIN _mvp_roles x ON x.participant_key = p.participant_key AND x.measure_id = {_MEASURE_ID_SQL.format(c='i.measure_id')}
             AND x.role IN ('quality', 'administrative_claims_quality', 'population_health')
            WHERE CASE WHEN x.role <> 'quality' AND p.participant_type = 'subgroup' THEN {group.format(nosub=nosub)}
                       ELSE {own_rows} END
""",
        "pi": f"""
            SELECT i.* EXCLUDE (tin, npi), p.tin, p.participant_key AS npi
            FROM ({scored}) p JOIN {src['pi']} i ON i.tin = p.tin
            WHERE CASE WHEN p.participant_type = 'subgroup' THEN {group_rows} ELSE {own_rows_nosub} END""",
        "ia": f"""
            SELECT i.* EXCLUDE (tin, npi, subgroup_id), p.tin, p.participant_key AS npi
            FROM ({scored}) p JOIN {src['ia']} i ON i.tin = p.tin
            JOIN _mvp_roles x ON x.participant_key = p.participant_key AND x.role = 'ia' AND x.measure_id = upper(trim(i.activity_id))
            WHERE {own_rows}""",
        "cost": f"""
            SELECT i.* EXCLUDE (tin, npi), p.tin, p.participant_key AS npi
            FROM ({scored}) p JOIN {src['cost']} i ON i.tin = p.tin
            JOIN _mvp_roles x ON x.participant_key = p.participant_key AND x.role = 'cost' AND x.measure_id = upper(trim(i.measure_id))
            WHERE CASE WHEN p.participant_type = 'subgroup' THEN {group_rows} ELSE {own_rows_nosub} END""",
    }
    # what the participant sent that its MVP does not list: not counted, said in the explanation
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _mvp_outside AS
    SELECT p.participant_key,
           (SELECT string_agg(DISTINCT {_MEASURE_ID_SQL.format(c='i.measure_id')}, ', ') FROM {src['quality']} i
            WHERE i.tin = p.tin AND ({own_rows}) AND {_MEASURE_ID_SQL.format(c='i.measure_id')} NOT IN
                  (SELECT measure_id FROM _mvp_roles x WHERE x.participant_key = p.participant_key
                     AND x.role IN ('quality', 'administrative_claims_quality', 'population_health'))) AS quality_outside,
           (SELECT string_agg(DISTINCT upper(trim(i.activity_id)), ', ') FROM {src['ia']} i
            WHERE i.tin = p.tin AND ({own_rows}) AND upper(trim(i.activity_id)) NOT IN
                  (SELECT measure_id FROM _mvp_roles x WHERE x.participant_key = p.participant_key AND x.role = 'ia')) AS ia_outside
    FROM ({scored}) p""")
    return out


def _quality_selection(con, rules: Rules) -> None:
    """MVP quality in the scoring connection: replaces _sc_quality_category and the measure rows' ``selected``.

    From the traditional scorer's per-measure points (_sc_q_bonuses): the required outcome measure (high-priority
    where the MVP lists no outcome measure), the best others up to mvp.quality_measures_required, and the
    population health measure when scored (case minimum and benchmark) on top, out of its denominator otherwise.
    """
    required = int(rules["mvp.quality_measures_required"])
    selection = rules["mvp.population_health_selection"]
    per_measure = float(rules["quality.points_per_measure"])
    imp = rules["quality.improvement_scoring"]
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _mvp_q_pick AS
    WITH m AS (
        SELECT b.level, b.tin, b.npi, b.measure_id, x.role, p.has_outcome_measure,
               -- an outcome administrative claims measure without a score earns 0 (it still fills its slot)
               CASE WHEN b.is_admin AND NOT coalesce(b.meets_admin, FALSE) THEN 0.0 ELSE b.points END AS points,
               b.is_admin AND coalesce(b.meets_admin, FALSE) AS admin_scored,
               CASE WHEN p.has_outcome_measure THEN b.is_outcome ELSE b.is_hp END AS fills_outcome_slot,
               -- the population health measure that may count: the one named; none named counts none when it is
               -- chosen at registration (PY2023), the better scored one when at submission (rule
               -- mvp.population_health_selection)
               coalesce(b.measure_id = p.population_health_measure_id, FALSE)
                   OR (p.population_health_measure_id IS NULL AND {lit(selection == 'submission')}) AS ph_eligible
        FROM _sc_q_bonuses b
        JOIN _mvp_participants p ON p.participant_key = b.npi
        JOIN _mvp_roles x ON x.participant_key = b.npi AND x.measure_id = b.measure_id
         AND x.role IN ('quality', 'administrative_claims_quality', 'population_health')),
    req AS (
        SELECT *, CASE WHEN role <> 'population_health' AND fills_outcome_slot
                       THEN row_number() OVER (PARTITION BY npi, (role <> 'population_health' AND fills_outcome_slot)
                                               ORDER BY points DESC, measure_id) END AS outcome_rank
        FROM m),
    oth AS (
        SELECT *, CASE WHEN role <> 'population_health' AND coalesce(outcome_rank, 0) <> 1
                       THEN row_number() OVER (PARTITION BY npi, (role <> 'population_health' AND coalesce(outcome_rank, 0) <> 1)
                                               ORDER BY points DESC, measure_id) END AS other_rank,
                  CASE WHEN role = 'population_health' AND admin_scored AND ph_eligible
                       THEN row_number() OVER (PARTITION BY npi, (role = 'population_health' AND admin_scored AND ph_eligible)
                                               ORDER BY points DESC, measure_id) END AS ph_rank
        FROM req)
    SELECT *, coalesce(outcome_rank = 1, FALSE) OR coalesce(other_rank <= {required} - 1, FALSE)
              OR coalesce(ph_rank = 1, FALSE) AS mvp_selected
    FROM oth
    """)
    if imp:
        prev = f"greatest(e.prior_quality_achievement_percent, {imp['prior_floor_percent']})"
        imp_sql = f"""CASE WHEN e.prior_quality_achievement_percent IS NOT NULL AND c.counted >= {required}
                           THEN least({imp['max_percentage_points']}, greatest(0,
                                (100.0 * c.achieved / c.denominator - {prev}) / {prev} * 10)) ELSE 0 END"""
    else:
        imp_sql = "0"
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _mvp_q_category AS
    WITH c AS (
        SELECT level, tin, npi,
               count(*) FILTER (WHERE mvp_selected AND role <> 'population_health') AS counted,
               coalesce(sum(points ORDER BY points) FILTER (WHERE mvp_selected), 0) AS achieved,
               {required} * {per_measure} + {per_measure} * count(*) FILTER (WHERE mvp_selected AND role = 'population_health')
                   AS denominator,
               bool_or(outcome_rank = 1) AS has_required_hp,
               any_value(measure_id) FILTER (WHERE ph_rank = 1) AS ph_measure,
               any_value(points) FILTER (WHERE ph_rank = 1) AS ph_points
        FROM _mvp_q_pick GROUP BY ALL),
    d AS (
        SELECT c.*, q.sp_bonus, q.submitted, {imp_sql} AS improvement_pp
        FROM c JOIN _sc_quality_category q ON {same_entity('q', 'c')}
        JOIN _sc_entities e ON {same_entity('e', 'c')})
    SELECT level, tin, npi, achieved, denominator, 0.0 AS hp_bonus, 0.0 AS e2e_bonus, sp_bonus, improvement_pp,
           submitted, has_required_hp, counted, ph_measure, ph_points,
           least(100.0, 100.0 * (achieved + sp_bonus) / denominator + improvement_pp) AS score_percent
    FROM d
    """)
    # the MVP's quality category replaces the traditional one for the final score
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_quality_category AS
                   SELECT level, tin, npi, achieved, denominator, hp_bonus, e2e_bonus, sp_bonus, improvement_pp,
                          submitted, has_required_hp, score_percent,
                          -- facility-based scoring replaces traditional MIPS quality, not an MVP's
                          NULL::VARCHAR AS facility_note FROM _mvp_q_category""")


def score_mvps(con: duckdb.DuckDBPyConnection, *, performance_year: int,
               registrations: str = "mvp_registration_input", memberships: str | None = "subgroup_membership_input",
               entity: str | None = "entity_input", quality: str | None = "quality_input", pi: str | None = "pi_input",
               ia: str | None = "ia_input", cost: str | None = "cost_input",
               scaling_factor: float | None = None, exceptional_scaling_factor: float | None = None) -> None:
    """Create ``mvp_scores`` and ``mvp_measure_scores`` in ``con`` for the year's MVP registrations."""
    from transforms.reference import attach_reference
    from transforms.scoring.engine import score_entities

    rules = load_rules(performance_year)
    _check_rules(rules)
    if _columns(con, "ref.mvps") is None:
        attach_reference(con)
    if _columns(con, registrations) is None:
        raise PipelineError("MVP registrations: no registration table to score")
    _subgroup_eligibility(con, rules, registrations, entity)
    _participants(con, rules, registrations, memberships)
    inputs = _inputs(con, rules, entity=entity, quality=quality, pi=pi, ia=ia, cost=cost)
    r = mvp_rules(rules)
    work = duckdb.connect()
    try:
        for name in ("_mvp_participants", "_mvp_roles", "_mvp_outside"):
            work.register(f"_arrow{name}", con.sql(f"SELECT * FROM {name}").to_arrow_table())
            work.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM _arrow{name}")
        for kind, sql in inputs.items():
            work.register(f"_arrow_{kind}", con.sql(sql).to_arrow_table())
            work.execute(f"CREATE TEMP TABLE _mvp_in_{kind} AS SELECT * FROM _arrow_{kind}")
        score_entities(work, performance_year=performance_year, rules=r, entity="_mvp_in_entity",
                       quality="_mvp_in_quality", pi="_mvp_in_pi", ia="_mvp_in_ia", cost="_mvp_in_cost",
                       scaling_factor=scaling_factor, exceptional_scaling_factor=exceptional_scaling_factor)
        _quality_selection(work, r)
        _apm_entity_ia_and_weights(work, r)
        # the final score again, on the MVP's quality category
        score_final(work, r, scaling_factor=scaling_factor, exceptional_scaling_factor=exceptional_scaling_factor)
        work.execute(f"CREATE OR REPLACE TEMP TABLE _mvp_cat AS {category_rows_sql(r)}")
        work.execute(f"CREATE OR REPLACE TEMP TABLE _mvp_final AS {final_rows_sql(r, scaling_factor, exceptional_scaling_factor)}")
        _outputs(work, r)
        for table in ("mvp_scores", "mvp_measure_scores"):
            con.register(f"_arrow_{table}", work.sql(f"SELECT * FROM {table}").to_arrow_table())
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _arrow_{table}")
            con.unregister(f"_arrow_{table}")
    finally:
        work.close()


def _apm_entity_ia_and_weights(work, rules: Rules) -> None:
    """An APM entity's MVP in the scoring connection: the MIPS APM participant's IA credit (apply_apm_ia with the
    entity as a participant scored in MIPS: rule apm.participant_ia_min_percent) and the APM entity MVP weights, cost
    0 (rule mvp.apm_entity_category_weights; another reweighted category shares its weight proportionally)."""
    weights = rules["mvp.apm_entity_category_weights"]
    if weights is None or not work.execute(
            "SELECT count(*) FROM _mvp_participants WHERE reason IS NULL AND participant_type = 'apm_entity'").fetchall()[0][0]:
        return
    work.execute("""INSERT INTO _sc_apm BY NAME
                    SELECT tin AS apm_entity_id, tin, participant_key AS npi, FALSE AS qp_excluded, FALSE AS pooled,
                           TRUE AS traditional, FALSE AS aco
                    FROM _mvp_participants WHERE reason IS NULL AND participant_type = 'apm_entity'""")
    apply_apm_ia(work, rules)
    leaf = rules.leaf("mvp.apm_entity_category_weights")
    work.execute(f"""INSERT INTO _sc_apm_weights BY NAME
                     SELECT tin, participant_key AS npi, {', '.join(f'{float(weights[c])} AS {c}' for c in CATEGORIES)},
                            'mvp.apm_entity_category_weights' AS rule, {lit(leaf.source)} AS source
                     FROM _mvp_participants WHERE reason IS NULL AND participant_type = 'apm_entity'""")


def _renamed(expr: str) -> str:
    """The traditional rule paths a row names, as the MVP rules that stood in for them."""
    for traditional, mvp in {**RULE_OVERRIDES, "quality.require_outcome_or_high_priority": "mvp.outcome_measure_required"}.items():
        expr = f"replace({expr}, {lit(traditional)}, {lit(mvp)})"
    return expr


def _distinct_list(expr: str) -> str:
    """A comma list of rule paths, each once, sorted; NULL when empty."""
    return f"nullif(array_to_string(list_sort(list_distinct(string_split(nullif({expr}, ''), ', '))), ', '), '')"


def _outputs(work, rules: Rules) -> None:
    py = rules.performance_year
    mvp_unconfirmed = [p for p, leaf in rules.leaves.items()
                       if p.startswith("mvp.") and leaf.unconfirmed and leaf.value is not None
                       and p not in RULE_OVERRIDES.values()]
    subgroup_rules = [p for p in mvp_unconfirmed if p.startswith("mvp.subgroup_")]
    apm_entity_rules = [p for p in ("mvp.apm_entity_category_weights", "apm.participant_ia_min_percent",
                                    "apm.entity_pooling") if rules.leaf(p).unconfirmed and rules[p] is not None]
    general_rules = [p for p in mvp_unconfirmed if not p.startswith("mvp.subgroup_")
                     and p not in ("mvp.group_registration_specialty", "mvp.apm_entity_category_weights")]
    specialty_unconfirmed = (rules["mvp.group_registration_specialty"] is not None
                             and rules.leaf("mvp.group_registration_specialty").unconfirmed)
    # a subgroup's eligibility read from the run's claims rests on the year's segment dates and threshold
    claims_eligibility_rules = [p for p in ("eligibility.determination_segments", "eligibility.low_volume_threshold")
                                if rules.leaf(p).unconfirmed] + (["mvp.subgroup_eligibility"]
                                                                 if rules.leaf("mvp.subgroup_eligibility").unconfirmed else [])
    unconfirmed_sql = _distinct_list(
        f"concat_ws(', ', {_renamed('f.unconfirmed_rules')}, {_renamed('c.unconfirmed')}, "
        f"{lit(', '.join(general_rules) or None)}, "
        f"CASE WHEN p.participant_type = 'subgroup' THEN {lit(', '.join(subgroup_rules) or None)} END, "
        f"CASE WHEN p.participant_type = 'apm_entity' THEN {lit(', '.join(apm_entity_rules) or None)} END, "
        f"CASE WHEN p.participant_type = 'group' AND {lit(specialty_unconfirmed)} THEN 'mvp.group_registration_specialty' END, "
        f"CASE WHEN p.eligibility_basis = 'claims' THEN {lit(', '.join(claims_eligibility_rules) or None)} END)")
    work.execute(f"""
    CREATE OR REPLACE TEMP TABLE _mvp_scores AS
    WITH cat AS (
        SELECT npi, string_agg(printf('%s: %s', category, explanation), '; ' ORDER BY category) AS text,
               string_agg(unconfirmed_rules, ', ') AS unconfirmed
        FROM _mvp_cat GROUP BY npi)
    SELECT {py} AS performance_year, p.participant_type, p.tin, p.npi, p.subgroup_id, p.mvp_id, p.mvp_title,
           p.reason IS NULL AS scored, p.reason, p.members,
           f.quality_score, f.cost_score, f.ia_score, f.pi_score, f.quality_weight, f.cost_weight, f.ia_weight, f.pi_weight,
           coalesce(q.counted, CASE WHEN p.reason IS NULL THEN 0 END) AS quality_measures_counted,
           CASE WHEN p.reason IS NULL THEN coalesce(q.has_required_hp, FALSE) END AS outcome_requirement_met,
           q.ph_measure AS population_health_measure_id, q.ph_points AS population_health_points,
           f.final_score, f.payment_adjustment_percent, f.payment_adjustment_low_percent, f.payment_adjustment_high_percent,
           f.payment_adjustment_basis,
           CASE WHEN p.reason IS NOT NULL THEN 'not scored: ' || p.reason ELSE concat_ws('; ',
               printf('MVP %s (%s), %s', p.mvp_id, p.mvp_title, p.participant_type),
               CASE WHEN q.level IS NULL THEN 'no MVP quality measure submitted: quality 0' ELSE
               printf('quality: %d of %d MVP measures counted%s%s', q.counted, {int(rules['mvp.quality_measures_required'])},
                      CASE WHEN q.has_required_hp THEN '' WHEN p.has_outcome_measure
                           THEN ' (no outcome measure reported: that slot scores 0)'
                           ELSE ' (no high-priority measure reported: that slot scores 0; the MVP has no outcome measure)' END,
                      CASE WHEN q.ph_measure IS NOT NULL
                           THEN printf(', population health measure %s %.4f points (denominator %s)', q.ph_measure, q.ph_points,
                                       q.denominator::VARCHAR)
                           ELSE ', no population health measure scored (left out of the denominator)' END) END,
               CASE WHEN o.quality_outside IS NOT NULL THEN 'quality measures not in the MVP, not counted: ' || o.quality_outside END,
               CASE WHEN o.ia_outside IS NOT NULL THEN 'activities not in the MVP, not counted: ' || o.ia_outside END,
               CASE WHEN p.participant_type = 'subgroup'
                    THEN printf('subgroup of %d clinician(s): Promoting Interoperability, cost and administrative claims '
                                'measures are the affiliated group''s (TIN %s)', p.members, p.tin) END,
               CASE WHEN p.participant_type = 'subgroup'
                    THEN 'subgroup eligibility (rule mvp.subgroup_eligibility): ' || p.eligibility_note END,
               CASE WHEN p.participant_type = 'apm_entity'
                    THEN printf('APM entity %s of %d participant(s): scored at the APM entity level on its participants'' '
                                'pooled data or its own submission; cost weighted 0 (rule mvp.apm_entity_category_weights); '
                                'its score competes for each participant in payment_adjustments', p.tin, p.members) END,
               c.text, f.explanation) END AS explanation,
           CASE WHEN p.reason IS NULL THEN {unconfirmed_sql} END AS unconfirmed_rules
    FROM _mvp_participants p
    LEFT JOIN _mvp_final f ON f.npi = p.participant_key
    LEFT JOIN _mvp_q_category q ON q.npi = p.participant_key
    LEFT JOIN _mvp_outside o ON o.participant_key = p.participant_key
    LEFT JOIN cat c ON c.npi = p.participant_key
    """)
    work.execute(f"CREATE OR REPLACE TABLE mvp_scores AS {MVP_SCORES.select_sql('_mvp_scores')}")
    work.execute(f"""
    CREATE OR REPLACE TEMP TABLE _mvp_measures AS
    SELECT {py} AS performance_year, p.participant_type, p.tin, p.npi, p.subgroup_id, p.mvp_id,
           s.category, s.measure_id, s.stratum, x.role AS mvp_role,
           CASE WHEN p.participant_type = 'subgroup' AND x.role <> 'quality' THEN 'affiliated group' ELSE 'participant' END
               AS data_from,
           s.collection_type, s.performance_rate, s.measure_value, s.meets_data_completeness, s.meets_case_minimum,
           s.has_benchmark, s.decile, s.measure_class, s.achievement_points, s.is_outcome, s.is_high_priority,
           CASE WHEN s.category = 'quality' THEN coalesce(k.mvp_selected, FALSE) ELSE coalesce(s.selected, FALSE) END AS selected,
           CASE WHEN s.category = 'cost' THEN s.explanation ELSE concat_ws('; ',
               -- the traditional selection's words do not apply: the MVP's selection follows
               regexp_replace(regexp_replace(s.explanation, '; (selected|not selected)$', ''),
                              '; required outcome/high-priority measure \\(no bonus\\)', ''),
               CASE WHEN x.role = 'population_health' AND k.mvp_selected THEN 'population health measure: counted on top of the MVP measures'
                    WHEN x.role = 'population_health' AND NOT k.ph_eligible AND p.population_health_measure_id IS NULL
                         THEN 'population health measure not selected at registration: not counted (rule mvp.population_health_selection)'
                    WHEN x.role = 'population_health' AND NOT k.ph_eligible
                         THEN printf('population health measure %s was selected: not counted', p.population_health_measure_id)
                    WHEN x.role = 'population_health' AND k.admin_scored THEN 'population health measure: another one scored higher'
                    WHEN x.role = 'population_health' THEN 'population health measure without a score: left out of numerator and denominator (rule mvp.population_health_no_benchmark)'
                    WHEN k.outcome_rank = 1 AND p.has_outcome_measure THEN 'the required outcome measure: counted'
                    WHEN k.outcome_rank = 1 THEN 'the required high-priority measure (the MVP has no outcome measure): counted'
                    WHEN k.mvp_selected THEN 'among the best MVP measures: counted'
                    ELSE 'not among the best MVP measures: not counted' END) END AS explanation,
           {_distinct_list(_renamed('s.unconfirmed_rules'))} AS unconfirmed_rules
    FROM measure_scores s
    JOIN _mvp_participants p ON p.participant_key = s.npi
    JOIN _mvp_roles x ON x.participant_key = s.npi AND x.measure_id = s.measure_id AND x.category = s.category
    LEFT JOIN _mvp_q_pick k ON k.npi = s.npi AND k.measure_id = s.measure_id AND s.category = 'quality'
    """)
    work.execute(f"CREATE OR REPLACE TABLE mvp_measure_scores AS {MVP_MEASURE_SCORES.select_sql('_mvp_measures')}")


def mvp_warnings(con) -> list[tuple[str, str, int, str]]:
    """Registrations not scored, as (table, rule, count, description) for the run summary."""
    rows = con.execute("""SELECT reason, count(*) FROM mvp_scores WHERE NOT scored GROUP BY 1 ORDER BY 1""").fetchall()
    out = [("mvp_scores", "MVP registration not scored", int(n), reason) for reason, n in rows]
    undetermined = con.execute("""SELECT count(*), string_agg(DISTINCT tin, ', ' ORDER BY tin) FROM _mvp_participants
                                  WHERE reason IS NULL AND eligibility_basis = 'not determined'""").fetchone()
    if undetermined[0]:
        out.append(("mvp_scores", "subgroup eligibility not determined", int(undetermined[0]),
                    f"the affiliated group's low-volume determination in the segment that decides a subgroup's "
                    f"eligibility (rule mvp.subgroup_eligibility) is neither in the entity input nor in claims covering "
                    f"that segment, for TIN(s) {undetermined[1]}: scored as if eligible"))
    n, years = con.execute("SELECT n, years FROM _mvp_other_years").fetchone()
    if n:
        out.append(("mvp_scores", "MVP registration of another performance year", int(n),
                     f"registrations for performance year(s) {years} are not scored in this run"))
    return out
