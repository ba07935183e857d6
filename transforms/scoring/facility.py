"""Facility-based scoring (PY2019 on, §414.1380(e)): a facility-based clinician or group may take its quality and
cost scores from the Hospital VBP Program Total Performance Score (TPS) of its hospital, when that is better.

CMS's percentile method: the hospital's TPS percentile among Hospital VBP hospitals is mapped to the MIPS
quality (and cost) score at the same percentile of the MIPS distribution. Neither distribution is bundled,
so the mapping is an input (facility_score_conversion_input: performance_year, tps_at_least,
quality_score_percent, cost_score_percent, from CMS's facility-based scoring tables): an entity's TPS takes
the row with the highest ``tps_at_least`` at or below it.

Input: ``_sc_entities`` (facility_based, hvbp_total_performance_score), the conversion relation, and the
category tables ``_sc_quality_category`` / ``_sc_cost_category``. The facility scores replace the entity's
own when their weighted sum (rule ``facility_based.comparison``) is higher; the category rows then say so
(column ``facility_note``). ``_sc_facility`` keeps one row per facility-based entity with the comparison.
"""
from __future__ import annotations

from mips.errors import PipelineError
from transforms.scoring.rules import Rules


def apply_facility_based(con, rules: Rules, conversion: str | None, columns_of) -> None:
    for table in ("_sc_quality_category", "_sc_cost_category"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS facility_note VARCHAR")
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_facility (level VARCHAR, tin VARCHAR, npi VARCHAR,
                   tps DOUBLE, fb_quality DOUBLE, fb_cost DOUBLE, own_value DOUBLE, facility_value DOUBLE,
                   used BOOLEAN, status VARCHAR)""")
    asked = con.execute("""SELECT count(*) FROM _sc_entities
                           WHERE coalesce(facility_based, FALSE) AND hvbp_total_performance_score IS NOT NULL""").fetchall()[0][0]
    # fetchall: no pending result may stay on the connection (the final step registers a frame on it)
    if not asked:
        return
    py = rules.performance_year
    if not rules["facility_based.allowed"]:
        raise PipelineError(f"entity input: {asked} facility-based row(s) with a Hospital VBP score for PY{py}, but "
                            f"facility-based scoring starts with PY2019 (rule facility_based.allowed: "
                            f"{rules.leaf('facility_based.allowed').source})")
    present = columns_of(con, conversion)
    table = (f"(SELECT CAST(tps_at_least AS DOUBLE) AS tps_at_least, CAST(quality_score_percent AS DOUBLE) AS q, "
             f"CAST(cost_score_percent AS DOUBLE) AS c FROM {conversion} WHERE performance_year = {py})"
             if present else "(SELECT NULL::DOUBLE AS tps_at_least, NULL::DOUBLE AS q, NULL::DOUBLE AS c LIMIT 0)")
    weights = rules["final.weights"]
    wq = float(weights["quality"])
    # cost 0 % for everyone (PY2020-2021) leaves only quality to compare (rule cost.reweighted_for_all_clinicians)
    wc = 0.0 if rules["cost.reweighted_for_all_clinicians"] else float(weights["cost"])
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_facility AS
    WITH e AS (
        SELECT level, tin, npi, hvbp_total_performance_score AS tps FROM _sc_entities
        WHERE coalesce(facility_based, FALSE) AND hvbp_total_performance_score IS NOT NULL),
    conv AS (
        SELECT e.*, max_by(t.q, t.tps_at_least) AS fb_quality, max_by(t.c, t.tps_at_least) AS fb_cost
        FROM e LEFT JOIN {table} t ON t.tps_at_least <= e.tps GROUP BY ALL),
    cmp AS (
        -- rule facility_based.comparison: the quality and cost scores' contribution at the year's weights
        SELECT c.*, coalesce(q.score_percent, 0) * {wq} + coalesce(k.score_percent, 0) * {wc} AS own_value,
               c.fb_quality * {wq} + c.fb_cost * {wc} AS facility_value
        FROM conv c
        LEFT JOIN _sc_quality_category q ON q.level = c.level AND q.tin = c.tin AND q.npi IS NOT DISTINCT FROM c.npi
        LEFT JOIN _sc_cost_category k ON k.level = c.level AND k.tin = c.tin AND k.npi IS NOT DISTINCT FROM c.npi)
    SELECT level, tin, npi, tps, fb_quality, fb_cost, own_value, facility_value,
           coalesce(facility_value > own_value, FALSE) AS used,
           CASE WHEN fb_quality IS NULL THEN 'not computable: no conversion row of PY{py} at or below the TPS'
                WHEN facility_value > own_value THEN 'used' ELSE 'own scores better' END AS status
    FROM cmp""")
    note = ("printf('facility-based: FY%s Hospital VBP TPS %s -> %s %.4f%% (conversion input; rule facility_based.method); "
            "weighted %.4f > own %.4f', {fy}::VARCHAR, f.tps::VARCHAR, {what}, {value}, f.facility_value / 100, f.own_value / 100)")
    fy = py + int(rules["facility_based.hvbp_fiscal_year_offset"])
    for table, value, what, extra in (
            ("_sc_quality_category", "f.fb_quality", "'quality'",
             "0.0 AS achieved, 0.0 AS hp_bonus, 0.0 AS e2e_bonus, 0.0 AS sp_bonus, 0.0 AS improvement_pp, "
             "TRUE AS has_required_hp"),
            ("_sc_cost_category", "f.fb_cost", "'cost'", "0.0 AS achieved, 1 AS scored")):
        text = note.format(fy=fy, what=what, value=value)
        con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT * FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM _sc_facility f WHERE f.used AND f.level = t.level
                                                  AND f.tin = t.tin AND f.npi IS NOT DISTINCT FROM t.npi)
        UNION ALL BY NAME
        SELECT f.level, f.tin, f.npi, {value} AS score_percent, 100.0 AS denominator, {extra}, {text} AS facility_note
        FROM _sc_facility f WHERE f.used""")
