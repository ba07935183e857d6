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
