"""Validating a pandas frame natively with a contract's pandera schema (small data, notebooks, tests).

Big files go through ``transforms.ingest``, which runs the same checks as DuckDB SQL; this is
the reference those SQL twins are tested against.
"""
from __future__ import annotations

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
    return text.astype(object).where(text.notna(), None)


def normalize_frame(contract: InputContract, frame: pd.DataFrame) -> pd.DataFrame:
    """Text as the ingest sees it: trimmed, '' -> null, codes upper-case, ICD-10 without dots."""
    out = {}
    for name, column in contract.schema.columns.items():
        if name in frame.columns:
            out[name] = _normalize(frame[name], column.metadata["normalize"])
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
