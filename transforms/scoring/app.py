"""The APM Performance Pathway reported by individuals and groups (PY2021 on) and APP Plus (PY2025 on).

A MIPS APM participant may report the APP as an individual (its TIN/NPI) or its TIN as a group, besides any APM
Entity or traditional MIPS score (rule ``app.individual_group_reporting``). Input: the APM participation table's
``app_individual`` (this TIN/NPI reports the APP) and ``app_group`` (its TIN reports the APP as a group) flags, and
``app_measure_set`` ('app', or 'app_plus' from PY2025, rule ``app.app_plus_quality_measures``).

The APP score of each reporter is the scorer of traditional MIPS run on the reporter's own rows with the APP's
values in place (as an MVP is scored, transforms/scoring/mvp.py):

- quality: only the rows of the measure set (``apm.app_quality_measures`` or ``app.app_plus_quality_measures``);
  the others are not scored;
- weights: ``apm.app_weights`` (cost 0); a reweighted category's weight is shared proportionally
  (``final.redistribution_fallback``: the traditional scenarios do not apply to the APP);
- IA: ``apm.entity_ia_percent`` (100 %) automatically.

The APP rows are appended to measure_scores, category_scores and final_scores with level 'individual_app' /
'group_app', and compete in the final score selection (transforms/scoring/selection.py) with reporting 'app'.
"""
from __future__ import annotations

import dataclasses

import duckdb

from mips.errors import PipelineError
from transforms.scoring._sql import lit, lit_list
from transforms.scoring.rules import Rules, RuleValue

# APP value -> the traditional rule path it stands in for in the APP pass
RULE_OVERRIDES = {"final.weights": "apm.app_weights", "apm.participant_ia_min_percent": "apm.entity_ia_percent"}
LEVELS = {"individual": "individual_app", "group": "group_app"}


def app_rules(rules: Rules) -> Rules:
    """The year's rules with the APP's values in place (RULE_OVERRIDES), without the traditional redistribution."""
    leaves = {p: v for p, v in rules.leaves.items() if not p.startswith("final.redistribution.")}
    for traditional, app in RULE_OVERRIDES.items():
        leaf = rules.leaf(app)
        leaves[traditional] = RuleValue(app, leaf.value, leaf.source, leaf.unconfirmed)
    return dataclasses.replace(rules, leaves=leaves)


def stage_app_reporters(con, rules: Rules, relation: str | None, columns_of) -> int:
    """``_app_reporters`` (tin, npi NULL for a group, measure_set) of this year from the APM participation table;
    returns how many. PipelineError for APP reporting in a year without it or APP Plus before PY2025."""
    con.execute("CREATE OR REPLACE TEMP TABLE _app_reporters (tin VARCHAR, npi VARCHAR, measure_set VARCHAR)")
    present = columns_of(con, relation)
    if present is None or not ({"app_individual", "app_group"} & present):
        return 0
    col = lambda c, t: f"CAST({c} AS {t})" if c in present else f"NULL::{t}"
    py = rules.performance_year
    con.execute(f"""
    INSERT INTO _app_reporters
    WITH r AS (
        SELECT trim(tin) AS tin, trim(npi) AS npi, coalesce({col('app_individual', 'BOOLEAN')}, FALSE) AS individual,
               coalesce({col('app_group', 'BOOLEAN')}, FALSE) AS grp,
               coalesce(lower(trim({col('app_measure_set', 'VARCHAR')})), 'app') AS measure_set,
               lower(trim(coalesce({col('qp_status', 'VARCHAR')}, ''))) = 'qp' AS qp
        FROM {relation} WHERE performance_year = {py})
    SELECT tin, npi, measure_set FROM r WHERE individual
    UNION
    SELECT tin, NULL, min(measure_set) FROM r WHERE grp GROUP BY tin""")
    n, plus = con.execute("SELECT count(*), count(*) FILTER (WHERE measure_set = 'app_plus') FROM _app_reporters").fetchall()[0]
    if n and not rules["app.individual_group_reporting"]:
        raise PipelineError(f"APM participation input: {n} APP report(s) by individuals or groups for PY{py}, but the APM "
                            "Performance Pathway starts with PY2021 (rule app.individual_group_reporting)")
    if plus and rules["app.app_plus_quality_measures"] is None:
        raise PipelineError(f"APM participation input: {plus} APP Plus report(s) for PY{py}, but APP Plus starts with "
                            "PY2025 (rule app.app_plus_quality_measures)")
    bad = con.execute("SELECT count(*) FROM _app_reporters WHERE measure_set NOT IN ('app', 'app_plus')").fetchall()[0][0]
    if bad:
        raise PipelineError(f"APM participation input: {bad} row(s) with app_measure_set not 'app' or 'app_plus'")
    return int(n)


def score_app_reporters(con, rules: Rules, *, scaling_factor: float | None,
                        exceptional_scaling_factor: float | None) -> None:
    """Score ``_app_reporters`` on the APP (module doc) from the staged inputs ``_sc_in_*`` and append their rows
    (levels individual_app / group_app) to measure_scores, category_scores and final_scores."""
    from transforms.scoring.engine import score_entities

    app_set, plus_set = rules["apm.app_quality_measures"], rules["app.app_plus_quality_measures"]
    in_set = (f"list_contains(CASE r.measure_set WHEN 'app_plus' THEN {lit_list(plus_set or [])} "
              f"ELSE {lit_list(app_set or [])} END, i.measure_id)")
    mine = "i.tin = r.tin AND i.npi IS NOT DISTINCT FROM r.npi"
    inputs = {
        "entity": f"""SELECT r.tin, r.npi, e.* EXCLUDE (tin, npi) FROM _app_reporters r
                      LEFT JOIN _sc_in_entity e ON e.tin = r.tin AND e.npi IS NOT DISTINCT FROM r.npi""",
        "quality": f"SELECT i.* FROM _sc_in_quality i JOIN _app_reporters r ON {mine} WHERE {in_set}",
        "pi": f"SELECT i.* FROM _sc_in_pi i JOIN _app_reporters r ON {mine}",
        "ia": f"SELECT i.* FROM _sc_in_ia i JOIN _app_reporters r ON {mine}",
        "cost": f"SELECT i.* FROM _sc_in_cost i JOIN _app_reporters r ON {mine}",
        # every reporter earns the APP's IA credit: scored as a MIPS APM participant in 'traditional' reporting
        # with apm.entity_ia_percent as its least IA score (RULE_OVERRIDES)
        "apm": f"""SELECT '_APP_' AS apm_entity_id, r.tin, coalesce(r.npi, '') AS npi, {rules.performance_year}
                          AS performance_year, 'traditional' AS reporting FROM _app_reporters r""",
    }
    dropped = con.execute(f"""SELECT count(*) FROM _sc_in_quality i JOIN _app_reporters r ON {mine}
                              WHERE NOT {in_set}""").fetchall()[0][0]
    r = app_rules(rules)
    work = duckdb.connect()
    try:
        for kind, sql in {**inputs, "sets": "SELECT * FROM _app_reporters"}.items():
            work.register(f"_arrow_{kind}", con.sql(sql).to_arrow_table())
            work.execute(f"CREATE TEMP TABLE _app_in_{kind} AS SELECT * FROM _arrow_{kind}")
        score_entities(work, performance_year=rules.performance_year, rules=r, entity="_app_in_entity",
                       quality="_app_in_quality", pi="_app_in_pi", ia="_app_in_ia", cost="_app_in_cost",
                       apm="_app_in_apm", virtual_groups=None, cahps=None, facility_conversion=None,
                       scaling_factor=scaling_factor, exceptional_scaling_factor=exceptional_scaling_factor)
        names = lit(", ".join(p for p in ("apm.app_weights", "apm.app_quality_measures", "apm.entity_ia_percent",
                                          "app.individual_group_reporting")
                              if rules.leaf(p).unconfirmed))
        plus_name = lit("app.app_plus_quality_measures" if rules["app.app_plus_quality_measures"] is not None
                        and rules.leaf("app.app_plus_quality_measures").unconfirmed else None)
        for table in ("measure_scores", "category_scores", "final_scores"):
            level = f"CASE level WHEN 'individual' THEN '{LEVELS['individual']}' ELSE '{LEVELS['group']}' END"
            renamed = "unconfirmed_rules"
            for traditional, app in RULE_OVERRIDES.items():
                renamed = f"replace({renamed}, {lit(traditional)}, {lit(app)})"
            extra = {"final_scores": "explanation", "category_scores": "explanation", "measure_scores": None}[table]
            replace = [f"{level} AS level"]
            if "unconfirmed_rules" in {d[0] for d in work.execute(f"SELECT * FROM {table} LIMIT 0").description}:
                plus = (f"EXISTS (SELECT 1 FROM _app_in_sets s WHERE s.measure_set = 'app_plus' AND s.tin = {table}.tin "
                        f"AND s.npi IS NOT DISTINCT FROM {table}.npi)")
                replace.append(f"""nullif(concat_ws(', ', {renamed}, {names},
                                   CASE WHEN {plus} THEN {plus_name} END), '') AS unconfirmed_rules""")
            if extra:
                replace.append(f"'APM Performance Pathway reported as ' || level || ': ' || {extra} AS {extra}")
            con.register(f"_arrow_app_{table}",
                         work.sql(f"SELECT * REPLACE ({', '.join(replace)}) FROM {table} "
                                  f"WHERE level IN ('individual', 'group')").to_arrow_table())
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _arrow_app_{table}")
            con.unregister(f"_arrow_app_{table}")
    finally:
        work.close()
    con.execute(f"CREATE OR REPLACE TEMP TABLE _app_dropped AS SELECT {int(dropped)} AS n")
