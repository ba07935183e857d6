"""Markdown documentation generated from the contracts, so the docs cannot drift from the code.

    .venv/bin/python -m schemas.docs > docs/inputs.md
"""
from __future__ import annotations

from schemas.inputs import CONTRACTS


def inputs_markdown() -> str:
    parts = ["# Input contracts", "",
             "Generated from `schemas/inputs.py` by `python -m schemas.docs`; do not edit by hand.", "",
             "CSV (UTF-8, comma-delimited, with a header row, ISO dates `YYYY-MM-DD`) or Parquet. Column names "
             "are matched case-insensitively; columns not listed are ignored; optional columns may be absent. "
             "Values are trimmed and empty values are null; codes are upper-cased and ICD-10-CM codes may be "
             "written with or without the dot. A row that breaks a rule is rejected (see `rejects/`) and the "
             "others are used; a file that cannot be read at all stops the run with a one-line message.", "",
             "Rules every file gets: required columns present and non-empty; each value of the column's type; "
             "no two rows with the same key (the first is kept, later ones are rejected as `duplicate_key`); "
             "rows with too few or too many fields are rejected as `malformed_row`. Across files: a claim line "
             "or encounter dated before the patient's birth is rejected (`service_before_birth`); claims whose "
             "TIN/NPI is missing from the roster and persons with claims but no eligibility are warnings.", ""]
    for contract in CONTRACTS.values():
        schema = contract.schema
        parts += [f"## `{contract.name}`", "", schema.description or "", "",
                  f"Key: {', '.join(contract.key)}.", "",
                  "| column | type | required | rules | description |", "|---|---|---|---|---|"]
        for name, column in schema.columns.items():
            rules = ", ".join(f"`{c.name}`" for c in column.checks) or ""
            required = "yes" if column.metadata["required"] else ""
            parts.append(f"| {name} | {column.metadata['type']} | {required} | {rules} | {column.description} |")
        if schema.checks:
            parts += ["", "Row rules: " + ", ".join(f"`{c.name}` ({c.error})" for c in schema.checks) + "."]
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    print(inputs_markdown(), end="")
