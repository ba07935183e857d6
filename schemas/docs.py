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
             "TIN/NPI is missing from the roster and persons with claims but no eligibility are warnings.", "",
             "### Formatting that is forgiven, and what is not", "",
             "Where the meaning is unambiguous the value is normalised and `ingest_warnings` counts it per file "
             "(rule `<kind>:<column>:<file>`); otherwise the row is rejected with a reason saying what was expected.",
             "",
             "| written | what happens |", "|---|---|",
             "| TIN `12-3456789` (EIN form) | read as `123456789`; counted as `tin_dash_removed` |",
             "| TIN of 8 digits (a spreadsheet dropped the leading zero) | read with the zero restored; counted as "
             "`tin_leading_zero_restored` |",
             "| TIN of 7 or fewer digits, or any other form | rejected (`nine_digit_tin`): which zeros were lost would "
             "be a guess |",
             "| NPI of 9 digits | rejected (`npi_check_digit`): NPIs begin with 1 or 2, so no leading zero can have "
             "been lost |",
             "| date `MM/DD/YYYY` (or `M/D/YYYY`) | read month first; counted as `date_month_first` |",
             "| a date column of a file holding any `DD/MM/YYYY` value with a day over 12 | the column is "
             "day-first: none of its slash dates is guessed, each is rejected (`iso_date`); counted as "
             "`date_day_first` |",
             "| any other date form (`2024/03/01`, `01-03-2024`) | rejected (`iso_date`) |", ""]
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
