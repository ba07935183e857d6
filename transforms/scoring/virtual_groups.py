"""Virtual groups (§414.1315, PY2018 on): member TINs scored as one entity across the categories.

A virtual group combines two or more TINs of a solo practitioner or of a group of at most 10 clinicians
(rule ``virtual_group.max_tin_clinicians``); every clinician billing under a member TIN is in it, and the
virtual group's final score and adjustment apply to each member TIN and TIN/NPI (§414.1315(a)(2)).

Input: the membership table (virtual_group_input: virtual_group_id, tin, performance_year, tin_clinicians)
and the staged category inputs ``_sc_in_*``. Output:

- ``_sc_vg_members`` (one row per member TIN of the year: virtual_group_id, tin, tin_clinicians);
- the virtual group's own rows appended to ``_sc_in_quality/pi/ia/cost`` and ``_sc_in_entity`` under
  ``tin = virtual_group_id``, ``npi`` NULL, built from its member TINs' data:
  quality counts and PI numerators/denominators are summed (the virtual group's pooled rates), an
  improvement activity counts when the TINs attesting it hold the year's share of the clinicians, cost values
  are combined per ``virtual_group.cost_aggregation``; statuses hold when more than the year's share of the
  clinicians have them; small practice when the whole virtual group has at most the year's clinicians;
- member TINs without an entity row get one, so each has a final_scores row carrying the virtual group's score.

A member TIN contributes its TIN-level rows (npi empty) of a category; a TIN with none there contributes its
TIN/NPI rows (a solo practitioner reporting as an individual).
"""
from __future__ import annotations

from mips.errors import PipelineError
from transforms.scoring.rules import Rules


def _empty_members(con) -> None:
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_vg_members
                   (virtual_group_id VARCHAR, tin VARCHAR, tin_clinicians INTEGER)""")


def _member_rows(kind: str, members: str) -> str:
    """Rows of ``_sc_in_<kind>`` a member TIN contributes, with its pooled entity (``members``: pool_id, tin,
    tin_clinicians)."""
    return f"""SELECT m.pool_id, m.tin_clinicians, i.* FROM _sc_in_{kind} i
               JOIN {members} m ON m.tin = i.tin
               WHERE i.npi IS NULL OR NOT EXISTS (SELECT 1 FROM _sc_in_{kind} g WHERE g.tin = i.tin AND g.npi IS NULL)"""


def stage_virtual_groups(con, rules: Rules, relation: str | None, columns_of) -> int:
    """Build ``_sc_vg_members`` and the virtual groups' rows (see the module doc). Returns the number of
    membership rows of other performance years (not used). PipelineError, naming the virtual group and
    the TIN, for a membership the year's rules do not allow."""
    _empty_members(con)
    present = columns_of(con, relation)
    if present is None:
        return 0
    missing = {"virtual_group_id", "tin", "performance_year", "tin_clinicians"} - present
    if missing:
        raise PipelineError(f"virtual group input: missing column(s) {', '.join(sorted(missing))}")
    py = rules.performance_year
    other_years, this_year = con.execute(f"""
        SELECT count(*) FILTER (WHERE performance_year <> {py}), count(*) FILTER (WHERE performance_year = {py})
        FROM {relation}""").fetchone()
    if this_year and not rules["virtual_group.allowed"]:
        raise PipelineError(f"virtual group input: {this_year} membership row(s) for PY{py}, but virtual groups start "
                            f"with PY2018 (rule virtual_group.allowed: {rules.leaf('virtual_group.allowed').source})")
    if not this_year:
        return int(other_years)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_vg_members AS
    SELECT upper(trim(virtual_group_id)) AS virtual_group_id, trim(tin) AS tin, CAST(tin_clinicians AS INTEGER) AS tin_clinicians
    FROM {relation} WHERE performance_year = {py}""")
    max_size = int(rules["virtual_group.max_tin_clinicians"])
    too_big = con.execute(f"""SELECT virtual_group_id, tin, tin_clinicians FROM _sc_vg_members
                              WHERE tin_clinicians > {max_size} ORDER BY 1, 2 LIMIT 3""").fetchall()
    if too_big:
        listed = "; ".join(f"virtual group {v}: TIN {t} has {n} clinicians" for v, t, n in too_big)
        raise PipelineError(f"virtual group input: {listed}; only solo practitioners and groups of {max_size} or fewer "
                            f"clinicians may join a virtual group (rule virtual_group.max_tin_clinicians, §414.1315(a)(1))")
    min_tins = int(rules["virtual_group.min_tins"])
    too_small = con.execute(f"""SELECT virtual_group_id, count(*) FROM _sc_vg_members GROUP BY 1
                                HAVING count(*) < {min_tins} ORDER BY 1 LIMIT 3""").fetchall()
    if too_small:
        listed = ", ".join(f"{v} ({n} TIN)" for v, n in too_small)
        raise PipelineError(f"virtual group input: {listed}: a virtual group combines at least {min_tins} TINs "
                            f"(rule virtual_group.min_tins)")
    clash = con.execute("""SELECT DISTINCT m.virtual_group_id FROM _sc_vg_members m
                           JOIN (SELECT tin FROM _sc_in_entity UNION SELECT tin FROM _sc_in_quality UNION SELECT tin FROM _sc_in_pi
                                 UNION SELECT tin FROM _sc_in_ia UNION SELECT tin FROM _sc_in_cost) t
                             ON t.tin = m.virtual_group_id LIMIT 3""").fetchall()
    if clash:
        raise PipelineError(f"virtual group input: virtual_group_id {', '.join(r[0] for r in clash)} is also a TIN of the "
                            "inputs; give the virtual group its own identifier")
    con.execute("CREATE OR REPLACE TEMP VIEW _sc_vg_pool AS SELECT virtual_group_id AS pool_id, tin, tin_clinicians "
                "FROM _sc_vg_members")
    pooling = {k: rules[f"virtual_group.{k}"] for k in ("ia_min_clinician_share_percent", "cost_aggregation",
                                                         "special_status_share_percent", "special_status_flags",
                                                         "small_practice_max_clinicians")}
    pooling["complex_patient_bonus"] = rules["pooled_entity.virtual_group_complex_patient_bonus"]
    append_pooled_data(con, "_sc_vg_pool", pooling)
    append_pooled_entities(con, "_sc_vg_pool", pooling)
    return int(other_years)


def append_pooled_data(con, members: str, pooling: dict) -> None:
    """Append each pooled entity's category rows (tin = pool_id, npi NULL) built from its member TINs' rows.
    ``members``: a relation (pool_id, tin, tin_clinicians); ``pooling``: the year's rule values
    (ia_min_clinician_share_percent, cost_aggregation). Virtual groups and APM entities pool alike."""
    con.execute(f"""
    INSERT INTO _sc_in_quality BY NAME
    SELECT pool_id AS tin, NULL AS npi, measure_id, collection_type, stratum,
           sum(eligible_population) AS eligible_population,
           sum(eligible_population_exclusion) AS eligible_population_exclusion,
           sum(eligible_population_exception) AS eligible_population_exception,
           sum(performance_met) AS performance_met, sum(performance_not_met) AS performance_not_met,
           bool_and(coalesce(end_to_end_reported, FALSE)) AS end_to_end_reported
    FROM ({_member_rows('quality', members)}) GROUP BY pool_id, measure_id, collection_type, stratum""")
    # PI: pooled numerators and denominators; a yes/no measure or an exclusion holds for the virtual group only
    # when every member TIN that reported it says so.
    con.execute(f"""
    INSERT INTO _sc_in_pi BY NAME
    SELECT pool_id AS tin, NULL AS npi, measure_id, sum(numerator) AS numerator, sum(denominator) AS denominator,
           bool_and(value) AS value, bool_and(exclusion_claimed) AS exclusion_claimed
    FROM ({_member_rows('pi', members)}) GROUP BY pool_id, measure_id""")
    share = float(pooling["ia_min_clinician_share_percent"])
    # 0: one clinician performing it is enough (any member TIN attesting it); else the attesting TINs' share of NPIs
    need = "count(*) >= 1" if share == 0 else f"100.0 * sum(a.tin_clinicians) >= {share} * any_value(s.vg_clinicians)"
    con.execute(f"""
    INSERT INTO _sc_in_ia BY NAME
    WITH size AS (SELECT pool_id, sum(tin_clinicians) AS vg_clinicians FROM {members} GROUP BY 1),
    tin_activity AS (SELECT DISTINCT pool_id, tin, tin_clinicians, activity_id FROM ({_member_rows('ia', members)}))
    SELECT a.pool_id AS tin, NULL AS npi, a.activity_id
    FROM tin_activity a JOIN size s USING (pool_id)
    GROUP BY a.pool_id, a.activity_id
    HAVING {need}""")
    method = pooling["cost_aggregation"]
    if method != "case_weighted_mean":
        raise ValueError(f"unknown cost_aggregation {method!r}")
    # the pooled mean of the episodes: each TIN's value weighted by its cases (a plain mean when a count is missing)
    con.execute(f"""
    INSERT INTO _sc_in_cost BY NAME
    SELECT pool_id AS tin, NULL AS npi, measure_id,
           CASE WHEN count(case_count) = count(*) AND sum(case_count) > 0
                THEN sum(measure_value * case_count) / sum(case_count) ELSE avg(measure_value) END AS measure_value,
           CASE WHEN count(case_count) = count(*) THEN sum(case_count) END AS case_count
    FROM ({_member_rows('cost', members)}) GROUP BY pool_id, measure_id""")


def append_pooled_entities(con, members: str, pooling: dict) -> None:
    """Append each pooled entity's entity row (statuses from its members' NPIs, summed charges) and a TIN-level
    entity row for each member TIN that has none (``members``: pool_id, tin, tin_clinicians; ``pooling``:
    special_status_share_percent, special_status_flags, small_practice_max_clinicians)."""
    share = float(pooling["special_status_share_percent"])
    flags = list(pooling["special_status_flags"])
    small_max = int(pooling["small_practice_max_clinicians"])
    # a TIN's status: its TIN-level entity row, else true when all its TIN/NPI rows have it
    status = ", ".join(
        f"100.0 * sum(m.tin_clinicians) FILTER (WHERE coalesce(g.{f}, i.{f}, FALSE)) > {share} * sum(m.tin_clinicians) AS {f}"
        for f in flags)
    # the complex patient bonus inputs of the pooled entity (rule pooled_entity.virtual_group_complex_patient_bonus):
    # each member TIN's average HCC risk score and dual-eligible proportion (its TIN row, else its TIN/NPI rows')
    # weighted by its Medicare beneficiaries; NULL unless every member TIN gives both
    cpb = pooling.get("complex_patient_bonus")
    if cpb not in (None, "beneficiary_weighted_mean"):
        raise ValueError(f"unknown complex patient bonus aggregation {cpb!r}")
    weighted = lambda col: (f"CASE WHEN count(*) = count(coalesce(g.{col}, i.{col}) * coalesce(g.medicare_beneficiaries, "
                            f"i.medicare_beneficiaries)) AND sum(coalesce(g.medicare_beneficiaries, i.medicare_beneficiaries)) > 0 "
                            f"THEN sum(coalesce(g.{col}, i.{col}) * coalesce(g.medicare_beneficiaries, i.medicare_beneficiaries)) "
                            f"/ sum(coalesce(g.medicare_beneficiaries, i.medicare_beneficiaries)) END AS {col},")
    cpb_cols = (weighted("average_hcc_risk_score") + weighted("dual_eligible_proportion")) if cpb else ""
    person = lambda col: (f"CASE WHEN count(*) = count({col} * medicare_beneficiaries) AND sum(medicare_beneficiaries) > 0 "
                          f"THEN sum({col} * medicare_beneficiaries) / sum(medicare_beneficiaries) END AS {col}")
    con.execute(f"""
    INSERT INTO _sc_in_entity BY NAME
    SELECT m.pool_id AS tin, NULL AS npi, sum(m.tin_clinicians) <= {small_max} AS small_practice,
           {status + ',' if status else ''} {cpb_cols}
           sum(coalesce(g.part_b_allowed_charges, i.part_b_allowed_charges)) AS part_b_allowed_charges
    FROM {members} m
    LEFT JOIN (SELECT * FROM _sc_in_entity WHERE npi IS NULL) g ON g.tin = m.tin
    LEFT JOIN (SELECT tin, {', '.join(f'bool_and({f}) AS {f}' for f in flags) + ',' if flags else ''}
                      sum(part_b_allowed_charges) AS part_b_allowed_charges, sum(medicare_beneficiaries) AS medicare_beneficiaries,
                      {person('average_hcc_risk_score')}, {person('dual_eligible_proportion')}
               FROM _sc_in_entity WHERE npi IS NOT NULL GROUP BY tin) i ON i.tin = m.tin AND g.tin IS NULL
    GROUP BY m.pool_id""")
    # every member TIN gets a row in final_scores (the virtual group's score applies to it)
    con.execute(f"""
    INSERT INTO _sc_in_entity BY NAME
    SELECT DISTINCT m.tin, NULL AS npi FROM {members} m
    WHERE NOT EXISTS (SELECT 1 FROM _sc_in_entity e WHERE e.tin = m.tin AND e.npi IS NULL)""")
