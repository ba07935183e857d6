"""Improvement activities: medium/high weights (PY2025+ unweighted), special status doubling,
PCMH full credit, 40-point cap (scoring-rules.md §2.3).

Input ``_sc_ia`` (level, tin, npi, activity_id), ``_sc_ia_activities``, ``_sc_entities``;
output ``_sc_ia_category`` (one row per entity that attested an activity or is a PCMH).
"""
from __future__ import annotations

from transforms.scoring._sql import same_entity
from transforms.scoring.rules import Rules


def score_ia(con, rules: Rules) -> None:
    pts = rules["ia.activity_points"]
    mult = float(rules["ia.special_status_multiplier"])
    cap = float(rules["ia.max_points"])
    pcmh = bool(rules["ia.pcmh_full_credit"])
    if "unweighted" in pts:
        # PY2025+: every activity of the year's inventory earns the same points; an id not in the inventory earns 0
        base = f"CASE WHEN a.activity_id IS NOT NULL THEN {float(pts['unweighted'])} ELSE 0 END"
        known = "(a.activity_id IS NOT NULL)"
    else:
        base = f"CASE a.weight WHEN 'high' THEN {float(pts['high'])} WHEN 'medium' THEN {float(pts['medium'])} ELSE 0 END"
        known = "coalesce(a.weight IN ('high', 'medium'), FALSE)"
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_ia_category AS
    WITH act AS (
        SELECT i.level, i.tin, i.npi, i.activity_id, {known} AS known, coalesce(a.is_pcmh, FALSE) AS is_pcmh,
               ({base}) * CASE WHEN e.special_status THEN {mult} ELSE 1 END AS points
        FROM _sc_ia i
        JOIN _sc_entities e ON {same_entity('e', 'i')}
        LEFT JOIN _sc_ia_activities a ON a.activity_id = i.activity_id),
    ent AS (
        SELECT e.level, e.tin, e.npi, e.pcmh AS pcmh_flag, coalesce(bool_or(act.is_pcmh), FALSE) AS pcmh_attested,
               e.special_status,
               coalesce(sum(act.points ORDER BY act.points), 0) AS raw_points, count(act.activity_id) AS activities,
               count(act.activity_id) FILTER (WHERE NOT act.known) AS unknown_activities,
               string_agg(act.activity_id, ', ' ORDER BY act.activity_id) FILTER (WHERE NOT act.known) AS unknown_ids
        FROM _sc_entities e LEFT JOIN act ON {same_entity('e', 'act')}
        GROUP BY ALL)
    SELECT level, tin, npi, (pcmh_flag OR pcmh_attested) AND {pcmh} AS pcmh_credit,
           CASE WHEN pcmh_credit THEN {cap} ELSE least(raw_points, {cap}) END AS points_earned,
           {cap} AS points_possible,
           100.0 * CASE WHEN pcmh_credit THEN {cap} ELSE least(raw_points, {cap}) END / {cap} AS score_percent,
           concat_ws('; ',
               CASE WHEN pcmh_credit THEN 'PCMH / comparable specialty practice: full credit' END,
               printf('%d activities = %s points (cap %s)', activities, raw_points::VARCHAR, {cap}::VARCHAR),
               CASE WHEN special_status THEN 'special status: activity points doubled' END,
               CASE WHEN unknown_activities > 0 THEN printf('WARNING: %d activity id(s) not in the year''s inventory, 0 points: %s',
                                                           unknown_activities, unknown_ids) END
           ) AS explanation,
           activities, unknown_activities, unknown_ids
    FROM ent WHERE activities > 0 OR pcmh_credit
    """)
