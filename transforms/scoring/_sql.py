"""Small helpers to put rule values into SQL text as literals (rule values are data, never user rows)."""
from __future__ import annotations


def lit(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''") + "'"


def lit_list(values) -> str:
    values = list(values or [])
    return "[" + ", ".join(lit(v) for v in values) + "]::VARCHAR[]" if values else "[]::VARCHAR[]"


ENTITY_KEY = "level, tin, npi"
# Join on the entity key; npi is NULL for groups.
def same_entity(a: str, b: str) -> str:
    return f"{a}.level = {b}.level AND {a}.tin = {b}.tin AND {a}.npi IS NOT DISTINCT FROM {b}.npi"


def unconfirmed_list_sql(rules, conditions: dict[str, str]) -> str:
    """SQL: comma list of the rule paths whose SQL condition holds and whose value is unconfirmed in ``rules``
    (NULL when none): what a row rests on that no primary source confirms."""
    parts = [f"CASE WHEN {cond} THEN {lit(path)} END" for path, cond in conditions.items()
             if path in rules and rules.leaf(path).unconfirmed]
    return f"nullif(concat_ws(', ', {', '.join(parts)}), '')" if parts else "NULL::VARCHAR"
