"""Medicare Part B scope of the claims source: which valid claim lines and enrollment spans MIPS counts.

CMS computes the claims quality measures and the low-volume threshold from Medicare Part B (fee-for-service)
professional claims only (42 CFR 414.1305, definitions of "low-volume threshold" and "covered professional
services"; claims-measure-logic.md). Valid rows outside that scope are not rejected: ``mark_out_of_scope`` moves
them out of the contract table with a reason, so input rows = accepted + out of scope + rejected per file.

- Institutional claim lines (Part A and outpatient facility claims, Tuva claim_type ``institutional``),
  DME lines (claim_type ``dme`` or CMS claim type code 81/82), other claim types, and lines of a payer other
  than Medicare are out of scope of ``medical_claim``.
- Enrollment spans of a payer other than Medicare are out of scope of ``eligibility``.
- A line with no TIN at all (neither billing_tin nor rendering_tin; transforms/sources/tuva.py has already
  copied rendering_tin into an empty billing_tin) cannot be attributed to a TIN: out of scope.
- An empty payer or claim type is taken as Medicare / professional: our own contract is Medicare Part B
  professional lines, where the columns are optional.
- Quality-data-code lines (CPT II, G-codes) carry a zero or nominal charge: nothing here looks at amounts, so
  they stay in.
- The EHR source (patient, encounter, ...) is all-payer, as MIPS CQMs and eCQMs require: nothing here touches it.
"""
from __future__ import annotations

import duckdb

from schemas.inputs import PART_B_PROFESSIONAL_SQL
from transforms.ingest import mark_out_of_scope

MEDICARE = "medicare"

# (reason, predicate over medical_claim t), applied in this order: a line leaves for the first reason it meets.
CLAIM_LINE_RULES = (
    ("institutional claim line: MIPS claims measures and the low-volume threshold count Medicare Part B "
     "professional lines", "t.claim_type = 'institutional'"),
    ("DME claim line (claim type dme or CMS claim type code 72, 81 or 82, DMEPOS): not a Part B professional line",
     "t.claim_type = 'dme' OR t.claim_type_code IN ('72', '81', '82')"),
    ("claim type other than professional (e.g. undetermined): not a Part B professional line",
     "coalesce(t.claim_type, 'professional') <> 'professional'"),
    ("payer is not Medicare: claims measures and the low-volume threshold count Medicare Part B only",
     f"coalesce(t.payer, '{MEDICARE}') <> '{MEDICARE}'"),
    # Tuva's CCLF connector maps CCLF6 (DME) lines as claim_type professional with no TIN at all.
    ("no billing_tin or rendering_tin: the line cannot be attributed to a MIPS TIN (Tuva's CCLF connector "
     "delivers DME (CCLF6) lines this way)", "t.billing_tin IS NULL"),
)

ELIGIBILITY_RULES = (
    ("enrollment span of a payer other than Medicare: claims measures count Medicare beneficiaries",
     f"coalesce(t.payer, '{MEDICARE}') <> '{MEDICARE}'"),
)


def _columns(con, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                      "AND table_schema = 'main'", [table]).fetchall()}


def part_b_professional_filter(con: duckdb.DuckDBPyConnection, table: str = "medical_claim") -> str:
    """SQL predicate (over the table's columns, unqualified) keeping Part B professional Medicare lines, for a
    step that reads a medical_claim table which may not have been scoped (e.g. built by hand in a notebook)."""
    columns = _columns(con, table)
    if {"claim_type", "claim_type_code", "payer"} <= columns:
        return PART_B_PROFESSIONAL_SQL
    parts = []
    if "claim_type" in columns:
        parts.append("coalesce(claim_type, 'professional') = 'professional'")
    if "payer" in columns:
        parts.append(f"coalesce(payer, '{MEDICARE}') = '{MEDICARE}'")
    return "(" + " AND ".join(parts or ["TRUE"]) + ")"


def apply_part_b_scope(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Move the valid claim lines and enrollment spans MIPS claims counting does not use out of scope.

    Returns rows moved per reason (counts only)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    moved: dict[str, int] = {}
    for table, rules in (("medical_claim", CLAIM_LINE_RULES), ("eligibility", ELIGIBILITY_RULES)):
        if table not in tables:
            continue
        for reason, predicate in rules:
            n = mark_out_of_scope(con, table, reason, predicate)
            if n:
                moved[reason] = moved.get(reason, 0) + n
    return moved
