"""Promoting Interoperability (ACI in PY2017): required objectives, measure points with CMS's
whole-number rounding (PY2019+) or base/performance/bonus (PY2017-2018), exclusions and their
point redistribution, public-health groups, bonuses, cap (scoring-rules.md §2.4).

The year's PI measures come from the rule data as four small tables (_sc_pi_units,
_sc_pi_members, _sc_pi_required, _sc_pi_redistribution); the entity rows are scored in SQL.
Input ``_sc_pi`` (level, tin, npi, measure_id, numerator, denominator, value, exclusion_claimed);
output ``_sc_pi_category`` (one row per entity that sent PI data).
"""
from __future__ import annotations

import pandas as pd

from transforms.scoring._sql import same_entity
from transforms.scoring.rules import Rules


def pi_measure_id_sql(rules: Rules, column: str = "measure_id") -> str:
    """SQL for ``column`` as a PI measure id of this year's rule data.

    ACI (PY2017) was renamed PI in PY2018 with the same suffixes (ACI_EP_1 = PI_EP_1): an id written with the other
    year's prefix is read with the prefix of the year's ``pi.measures`` rather than scored 0. Every PI input (the
    TIN/NPI rows and a pooled entity's own submission) goes through this one mapping.
    """
    ids = [m["measure_id"] for m in rules["pi.measures"]]
    prefix = "ACI_" if any(i.startswith("ACI_") for i in ids) else "PI_"
    other = "PI_" if prefix == "ACI_" else "ACI_"
    cleaned = f"upper(trim({column}))"
    return (f"CASE WHEN starts_with({cleaned}, '{other}') THEN '{prefix}' || substr({cleaned}, {len(other) + 1}) "
            f"ELSE {cleaned} END")


def _rule_tables(con, rules: Rules) -> None:
    units, members, required, redistribution = [], [], [], []
    for m in rules["pi.measures"]:
        units.append((m["measure_id"], m["metric"], float(m["points"]), bool(m["bonus"]), 1))
        members.append((m["measure_id"], m["measure_id"]))
    for g in rules["pi.groups"]:
        units.append((g["group"], "group", float(g["points"]), bool(g["bonus"]), int(g["yes_needed"])))
        members += [(g["group"], mid) for mid in g["members"]]
    for obj in rules["pi.required"]:
        for n, option in enumerate(obj["options"]):
            required += [(obj["objective"], n, unit) for unit in option]
    # Required measures worth no points (security risk analysis, ACI base measures) still have to be reported.
    defined = {u[0] for u in units}
    for unit in sorted({r[2] for r in required} - defined):
        units.append((unit, "required_only", 0.0, False, 1))
        members.append((unit, unit))
    for red in rules["pi.exclusion_redistribution"]:
        redistribution += [(red["excluded"], target, float(p)) for target, p in red["to"].items()]
    frames = {
        "_sc_pi_units": pd.DataFrame(units, columns=["unit_id", "metric", "points", "bonus", "yes_needed"]),
        "_sc_pi_members": pd.DataFrame(members, columns=["unit_id", "measure_id"]),
        "_sc_pi_required": pd.DataFrame(required, columns=["objective", "option_no", "unit_id"]),
        "_sc_pi_redistribution": pd.DataFrame(redistribution, columns=["excluded_unit", "target_unit", "points"]),
    }
    for name, frame in frames.items():
        if frame.empty:  # keep the columns' types for an empty rule list
            frame = frame.astype({"excluded_unit": "object", "target_unit": "object", "points": "float64"})
        con.register("_sc_frame", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _sc_frame")
        con.unregister("_sc_frame")


def score_pi(con, rules: Rules) -> None:
    _rule_tables(con, rules)
    cap = float(rules["pi.cap"])
    base = float(rules.get("pi.base_score") or 0)
    rounding = rules.get("pi.rate_rounding") or rules.get("pi.rate_band_rounding")
    if rounding == "whole_number":
        prop = "round(rate * (u.points + extra))"  # CMS engine: each measure's points to a whole number
    elif rounding == "whole_percent_band":
        # ACI PY2017-2018 (CMS engine): the rate rounded to a whole percent, then 10% bands: 1-10% -> band 1,
        # 11-20% -> band 2 ...; each band earns a tenth of the measure's points (2 per band for a 20-point measure)
        prop = "ceil(round(rate * 100) / 10.0) * (u.points + extra) / 10.0"
    elif rounding is None:
        prop = "rate * (u.points + extra)"
    else:
        raise ValueError(f"PY{rules.performance_year} PI rounding {rounding!r} is not known to the scorer")
    # A row for a CMS exclusion id (PI_LVPP_1, PI_EP_2_EX_1 ...) answered yes claims the exclusion of its measure.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE _sc_pi_norm AS
    SELECT p.level, p.tin, p.npi, coalesce(x.measure_id, p.measure_id) AS measure_id,
           max(p.numerator) FILTER (WHERE x.measure_id IS NULL) AS numerator,
           max(p.denominator) FILTER (WHERE x.measure_id IS NULL) AS denominator,
           bool_or(p.value) FILTER (WHERE x.measure_id IS NULL) AS value,
           bool_or(coalesce(p.exclusion_claimed, FALSE) OR (x.measure_id IS NOT NULL AND coalesce(p.value, FALSE))) AS exclusion_claimed
    FROM _sc_pi p LEFT JOIN (SELECT DISTINCT exclusion_id, measure_id FROM _sc_pi_exclusions) x ON x.exclusion_id = p.measure_id
    GROUP BY ALL
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_pi_unit_status AS
    WITH ent AS (SELECT DISTINCT level, tin, npi FROM _sc_pi_norm),
    per_measure AS (
        SELECT p.level, p.tin, p.npi, mb.unit_id, p.measure_id,
               coalesce(p.exclusion_claimed, FALSE) AS excluded,
               coalesce(p.value, FALSE) OR coalesce(p.numerator, 0) >= 1 AS yes,
               CASE WHEN p.denominator > 0 THEN least(1.0, p.numerator::DOUBLE / p.denominator) END AS rate
        FROM _sc_pi_norm p JOIN _sc_pi_members mb ON mb.measure_id = p.measure_id),
    unit AS (
        SELECT e.level, e.tin, e.npi, u.unit_id, u.metric, u.points, u.bonus, u.yes_needed,
               count(pm.measure_id) FILTER (WHERE pm.yes AND NOT pm.excluded) AS yes_count,
               count(pm.measure_id) FILTER (WHERE pm.excluded) AS excluded_count,
               max(pm.rate) FILTER (WHERE NOT pm.excluded) AS rate
        FROM ent e CROSS JOIN _sc_pi_units u
        LEFT JOIN per_measure pm ON {same_entity('pm', 'e')} AND pm.unit_id = u.unit_id
        GROUP BY ALL),
    flagged AS (
        SELECT *, yes_count = 0 AND excluded_count >= yes_needed AS is_excluded,
                  yes_count >= 1 AND yes_count + excluded_count >= yes_needed AS is_reported
        FROM unit),
    extra AS (
        SELECT f.level, f.tin, f.npi, r.target_unit AS unit_id, sum(r.points ORDER BY r.points) AS extra
        FROM flagged f JOIN _sc_pi_redistribution r ON r.excluded_unit = f.unit_id
        WHERE f.is_excluded GROUP BY ALL)
    SELECT f.*, coalesce(x.extra, 0) AS extra,
           CASE WHEN f.is_excluded OR NOT f.is_reported THEN 0
                WHEN f.metric = 'proportion' THEN {prop.replace('u.points', 'f.points').replace('extra', 'coalesce(x.extra, 0)')}
                ELSE f.points + coalesce(x.extra, 0) END AS unit_points
    FROM flagged f
    LEFT JOIN extra x ON {same_entity('x', 'f')} AND x.unit_id = f.unit_id
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_pi_category AS
    WITH opt AS (
        SELECT s.level, s.tin, s.npi, r.objective, r.option_no, bool_and(s.is_reported OR s.is_excluded) AS met
        FROM _sc_pi_required r JOIN _sc_pi_unit_status s ON s.unit_id = r.unit_id
        GROUP BY ALL),
    obj AS (
        SELECT level, tin, npi, objective, bool_or(met) AS met FROM opt GROUP BY ALL),
    req AS (
        SELECT level, tin, npi, bool_and(met) AS all_met,
               string_agg(objective, ', ' ORDER BY objective) FILTER (WHERE NOT met) AS missing
        FROM obj GROUP BY ALL),
    pts AS (
        SELECT level, tin, npi, sum(unit_points ORDER BY unit_points) FILTER (WHERE NOT bonus) AS performance_points,
               sum(unit_points ORDER BY unit_points) FILTER (WHERE bonus) AS bonus_points,
               string_agg(printf('%s %s', unit_id, unit_points::VARCHAR), ', ' ORDER BY unit_id)
                   FILTER (WHERE unit_points > 0) AS detail,
               string_agg(unit_id, ', ' ORDER BY unit_id) FILTER (WHERE is_excluded) AS excluded
        FROM _sc_pi_unit_status GROUP BY ALL)
    SELECT p.level, p.tin, p.npi,
           CASE WHEN coalesce(r.all_met, TRUE) THEN least({cap}, {base} + coalesce(p.performance_points, 0) + coalesce(p.bonus_points, 0))
                ELSE 0 END AS points_earned,
           {cap} AS points_possible,
           CASE WHEN coalesce(r.all_met, TRUE) THEN coalesce(p.bonus_points, 0) ELSE 0 END AS bonus_points,
           CASE WHEN coalesce(r.all_met, TRUE) THEN least({cap}, {base} + coalesce(p.performance_points, 0) + coalesce(p.bonus_points, 0))
                ELSE 0 END / {cap} * 100 AS score_percent,
           CASE WHEN NOT coalesce(r.all_met, TRUE) THEN 'required PI objective not reported: ' || r.missing END AS reason,
           concat_ws('; ',
               CASE WHEN NOT coalesce(r.all_met, TRUE) THEN 'required objective(s) missing -> category 0: ' || r.missing END,
               CASE WHEN {base} > 0 AND coalesce(r.all_met, TRUE) THEN 'base score {base:g}' END,
               'points: ' || coalesce(p.detail, 'none'),
               CASE WHEN p.excluded IS NOT NULL THEN 'exclusions claimed (points redistributed): ' || p.excluded END) AS explanation
    FROM pts p LEFT JOIN req r ON {same_entity('r', 'p')}
    """)
