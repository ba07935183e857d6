"""Tuva Project input layer: ``medical_claim`` and ``eligibility`` as Tuva declares them (all columns; keys with
``data_source``, ``payer`` and ``plan``) are the claims contract with more columns, so ingest reads them directly.

One mapping remains: the TIN. Tuva's Medicare CCLF connector fills ``rendering_tin`` (CCLF5
CLM_RNDRG_PRVDR_TAX_NUM) and leaves ``billing_tin`` empty, so the billing TIN of a line is ``billing_tin``, else
``rendering_tin``. The choice is written into ``medical_claim.billing_tin`` here, once, so every later step
(measures, eligibility, scoring, any split of the work by TIN) uses the same TIN, and ``ingest_warnings`` says how many lines took
the rendering TIN.
"""
from __future__ import annotations

import duckdb

RULE = "billing_tin_from_rendering_tin"


def choose_billing_tin(con: duckdb.DuckDBPyConnection, table: str = "medical_claim") -> int:
    """Fill an empty billing_tin from rendering_tin; returns the lines that took the rendering TIN."""
    columns = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                         "AND table_schema = 'main'", [table]).fetchall()}
    if not {"billing_tin", "rendering_tin"} <= columns:
        return 0
    n = con.execute(f'SELECT count(*) FROM "{table}" WHERE billing_tin IS NULL AND rendering_tin IS NOT NULL'
                    ).fetchone()[0]
    if n:
        con.execute(f'UPDATE "{table}" SET billing_tin = rendering_tin WHERE billing_tin IS NULL')
        con.execute("INSERT INTO _ingest_warnings VALUES (?, ?, ?, ?)",
                    [table, RULE, int(n), "claim lines with no billing_tin: the TIN used is rendering_tin (as Tuva's "
                                          "CCLF connector delivers CCLF5's rendering provider TIN)"])
    return int(n)
