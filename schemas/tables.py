"""Declarations of the tables the pipeline produces: grain and typed columns in one place.

Every output table is a ``TableSpec``. Its ``select_sql`` is the final step that builds
the table: it casts every column to its declared DuckDB type and orders rows by the
grain's key, so the same inputs always give the same rows in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandera.pandas as pa

# DuckDB type -> pandera dtype used when a TableSpec is checked as a pandas frame.
_PANDERA_DTYPES = {
    "VARCHAR": "string",
    "BIGINT": "Int64",
    "INTEGER": "Int32",
    "DOUBLE": "Float64",
    "BOOLEAN": "boolean",
    "DATE": "datetime64[ns]",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type: VARCHAR, BIGINT, INTEGER, DOUBLE, BOOLEAN, DATE
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    name: str
    grain: str  # "one row per ..."
    key: tuple[str, ...]  # columns that identify a row (the grain); nulls allowed where the grain says so
    columns: tuple[Column, ...]
    description: str = ""
    partition_by: tuple[str, ...] = field(default=("performance_year",))
    # The rows' order when it is not the key's: measure_instances puts a patient's instances together (person_id, then
    # instance_key), which sorting on the key alone would not do when one person id begins another ('P1|...' sorts
    # after 'P10|...'). Every producer (one engine, several, the shards' merge) orders by it through select_sql.
    order: tuple[str, ...] | None = None

    @property
    def row_order(self) -> tuple[str, ...]:
        return self.order or self.key

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name}")

    def select_sql(self, relation: str, *, ordered: bool = True) -> str:
        """SELECT that casts every declared column and orders by row_order (the key unless ``order`` says otherwise;
        nulls first).

        ``ordered=False`` leaves the rows unsorted: for a large work table that only joins read (the eCQM IR), where
        sorting millions of rows buys nothing and costs more than building it."""
        casts = ",\n    ".join(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in self.columns)
        if not ordered:
            return f"SELECT\n    {casts}\nFROM {relation}"
        order = ", ".join(f'"{k}" ASC NULLS FIRST' for k in self.row_order)
        return f"SELECT\n    {casts}\nFROM {relation}\nORDER BY {order}"

    def create_sql(self) -> str:
        cols = ", ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f'CREATE TABLE "{self.name}" ({cols})'

    def pandera_schema(self) -> pa.DataFrameSchema:
        """A pandera schema for checking a pandas copy of this table (columns, types, nulls, unique key)."""
        return pa.DataFrameSchema(
            {
                c.name: pa.Column(_PANDERA_DTYPES.get(c.type, None), nullable=c.nullable, description=c.description)
                for c in self.columns
            },
            strict=True,
            ordered=True,
            unique=list(self.key),
            name=self.name,
            description=f"{self.description} Grain: {self.grain}.",
        )

    def markdown(self) -> str:
        """Documentation block for the README / docs."""
        lines = [f"### `{self.name}`", "", self.description, "", f"Grain: {self.grain}.", "",
                 "| column | type | description |", "|---|---|---|"]
        lines += [f"| {c.name} | {c.type} | {c.description} |" for c in self.columns]
        return "\n".join(lines) + "\n"
