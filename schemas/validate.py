"""Validating a pandas frame natively with a contract's pandera schema (small data, notebooks, tests).

Big files go through ``transforms.ingest``, which runs the same checks as DuckDB SQL; this is
the reference those SQL twins are tested against.
"""
from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa

from schemas.inputs import InputContract


def _normalize(series: pd.Series, how: str) -> pd.Series:
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    if how == "upper":
        text = text.str.upper()
    elif how == "lower":
        text = text.str.lower()
    elif how == "icd10":
        text = text.str.upper().str.replace(".", "", regex=False)
    elif how == "tin":
        text = text.map(_tin, na_action="ignore")
    elif how == "date":
        text = text.map(_month_first_date, na_action="ignore")
    return text.astype(object).where(text.notna(), None)


# The same forgivable forms as transforms.ingest (docs/inputs.md says which are forgiven).
_TIN_DASHED = re.compile(r"\d{2}-\d{7}")
_TIN_EIGHT = re.compile(r"\d{8}")
_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DAY_FIRST = re.compile(r"(1[3-9]|[23]\d)/\d{1,2}/\d{4}")


def _tin(value: str) -> str:
    if _TIN_DASHED.fullmatch(value):
        return value.replace("-", "")
    return "0" + value if _TIN_EIGHT.fullmatch(value) else value


def _month_first_date(value: str) -> str:
    match = _SLASH_DATE.fullmatch(value)
    if not match:
        return value
    month, day, year = (int(g) for g in match.groups())
    try:
        return pd.Timestamp(year=year, month=month, day=day).strftime("%Y-%m-%d")
    except ValueError:
        return value


def normalize_frame(contract: InputContract, frame: pd.DataFrame) -> pd.DataFrame:
    """Text as the ingest sees it: trimmed, '' -> null, codes upper-case, ICD-10 without dots."""
    out = {}
    for name, column in contract.schema.columns.items():
        if name in frame.columns:
            how = column.metadata["normalize"]
            if how == "date" and frame[name].astype("string").str.strip().str.fullmatch(_DAY_FIRST.pattern).any():
                how = "text"  # a day-first column: no slash date of it is guessed
            out[name] = _normalize(frame[name], how)
        else:
            out[name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return pd.DataFrame(out, index=frame.index)


def failing_rows(contract: InputContract, frame: pd.DataFrame) -> set[int]:
    """Index labels of rows that fail any rule of the contract (pandera, lazy, all rules)."""
    normalized = normalize_frame(contract, frame)
    try:
        contract.schema.validate(normalized, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        return {int(i) for i in cases["index"].dropna()}
    return set()
