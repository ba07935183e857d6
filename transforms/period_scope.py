"""Period scope of claims: which valid claim lines a performance year's run counts, and sanity checks
that stop a run of the wrong period's data before it publishes.

- ``scope_claims_to_period``: Medicare Part B claim lines dated outside the performance year, or
  after the run date, are moved out of scope with a reason (``transforms.ingest.mark_out_of_scope``),
  so ``ingest_out_of_scope`` counts them per file. Lines of the low-volume threshold's determination
  segments (the first segment starts October 1 two years before the performance year, September 1 in
  PY2017-2018: rule eligibility.determination_segments, 42 CFR 414.1305 "MIPS determination period") are
  kept aside in ``medical_claim_outside_period`` for the eligibility determination
  (transforms.scoring.eligibility), and do not count as out of period. EHR tables keep their look-back history: measures need years of it.
- ``out_of_period_share``: how many of a run's valid claim lines fell outside the year.
- ``claims_without_eligibility``: claim lines whose person has no eligibility row.

Pure SQL over the run's tables; the performance year and the run date are explicit arguments.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from transforms.ingest import mark_out_of_scope

CLAIMS_TABLE = "medical_claim"
KEPT_FOR_ELIGIBILITY = "medical_claim_outside_period"
BEFORE_YEAR = "date of service before the performance year"
AFTER_YEAR = "date of service after the performance year"
AFTER_RUN = "date of service after the run date"
OUT_OF_PERIOD_REASONS = (BEFORE_YEAR, AFTER_YEAR, AFTER_RUN)


def determination_start(performance_year: int) -> date:
    """First day of the MIPS determination period's first segment (rule eligibility.determination_segments:
    October 1 of PY - 2 from PY2019, September 1 of PY - 2 in PY2017-2018)."""
    from transforms.scoring.eligibility import determination_segments

    return min(start for _, start, _ in determination_segments(performance_year))


def _has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
                            [name]).fetchone()[0])


def scope_claims_to_period(con: duckdb.DuckDBPyConnection, performance_year: int, run_date: date) -> dict[str, int]:
    """Move claim lines outside ``performance_year`` (or after ``run_date``) out of scope; returns rows per reason.

    The date of service is ``claim_line_start_date`` (what the measures count by). A line after the
    run date is in the future: a data error or a mistyped year, never a service to count.
    """
    if not _has_table(con, CLAIMS_TABLE):
        return {}
    py = int(performance_year)
    first, last = date(py, 1, 1), date(py, 12, 31)
    moved = {
        BEFORE_YEAR: mark_out_of_scope(
            con, CLAIMS_TABLE, BEFORE_YEAR, f"t.claim_line_start_date < DATE '{first}'",
            # the determination segments need these to tell the low-volume threshold
            keep_in=KEPT_FOR_ELIGIBILITY),
        AFTER_YEAR: mark_out_of_scope(con, CLAIMS_TABLE, AFTER_YEAR, f"t.claim_line_start_date > DATE '{last}'"),
        AFTER_RUN: mark_out_of_scope(con, CLAIMS_TABLE, AFTER_RUN, f"t.claim_line_start_date > DATE '{run_date}'"),
    }
    if _has_table(con, KEPT_FOR_ELIGIBILITY):
        # only the determination period is worth keeping; older lines are counted out of scope all the same
        con.execute(f"DELETE FROM {KEPT_FOR_ELIGIBILITY} WHERE claim_line_start_date < DATE "
                    f"'{determination_start(py)}'")
    return {reason: rows for reason, rows in moved.items() if rows}


@dataclass(frozen=True)
class PeriodShare:
    out_of_period: int   # valid claim lines set aside as outside the year or after the run date, except those
    #                      kept for the eligibility determination segments (medical_claim_outside_period) when the
    #                      year has lines of its own
    valid: int           # valid claim lines (accepted + out_of_period)

    @property
    def percent(self) -> float:
        return 100.0 * self.out_of_period / self.valid if self.valid else 0.0


def out_of_period_share(con: duckdb.DuckDBPyConnection) -> PeriodShare:
    """Valid claim lines of the run and how many were out of period (all claims files together)."""
    if not _has_table(con, CLAIMS_TABLE):
        return PeriodShare(0, 0)
    reasons = ", ".join("'" + r + "'" for r in OUT_OF_PERIOD_REASONS)
    out = con.execute(f"""SELECT coalesce(sum("rows"), 0) FROM _out_of_scope
                          WHERE table_name = '{CLAIMS_TABLE}' AND reason IN ({reasons})""").fetchone()[0]
    accepted = con.execute(f"SELECT count(*) FROM {CLAIMS_TABLE}").fetchone()[0]
    # Lines of the determination segments before the year are what the eligibility determination asks for, not
    # a sign of another year's file: beside the year's own lines they count neither way. With no line in the year
    # at all they are another year's claims, and count as out of period.
    kept = con.execute(f"SELECT count(*) FROM {KEPT_FOR_ELIGIBILITY}").fetchone()[0] \
        if _has_table(con, KEPT_FOR_ELIGIBILITY) and accepted else 0
    return PeriodShare(int(out) - int(kept), int(out) - int(kept) + int(accepted))


@dataclass(frozen=True)
class MissingEligibility:
    lines: int      # accepted claim lines whose person has no eligibility row
    persons: int    # distinct such persons
    total: int      # accepted claim lines

    @property
    def percent(self) -> float:
        return 100.0 * self.lines / self.total if self.total else 0.0


def claims_without_eligibility(con: duckdb.DuckDBPyConnection) -> MissingEligibility:
    """Claim lines (and persons) with no eligibility row: their age and sex are unknown, so measures
    limited by age or sex cannot count them. Counts only, never the persons."""
    if not (_has_table(con, CLAIMS_TABLE) and _has_table(con, "eligibility")):
        return MissingEligibility(0, 0, 0)
    lines, persons, total = con.execute(f"""
        SELECT count(*) FILTER (WHERE NOT known), count(DISTINCT person_id) FILTER (WHERE NOT known), count(*)
        FROM (SELECT c.person_id, EXISTS (SELECT 1 FROM eligibility e WHERE e.person_id = c.person_id) AS known
              FROM {CLAIMS_TABLE} c)""").fetchone()
    return MissingEligibility(int(lines), int(persons), int(total))
