"""The steps of one reporting period's run, as plain functions (the Prefect flow wraps these).

Each step takes the run's DuckDB connection and explicit period arguments and leaves its
tables in the connection; ``publish`` writes them under the output folder.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from mips.db import connect
from mips.errors import RejectionThresholdExceeded
from mips.outputs import write_partition
from schemas.ingest import INGEST_SUMMARY, INGEST_WARNINGS, REJECTS
from transforms import ingest


@dataclass(frozen=True)
class Period:
    performance_year: int
    start: date
    end: date

    @classmethod
    def of_year(cls, performance_year: int) -> "Period":
        return cls(performance_year, date(performance_year, 1, 1), date(performance_year, 12, 31))


@dataclass
class RunReport:
    period: Period
    output_root: Path
    ingest: list[ingest.IngestResult] = field(default_factory=list)
    warnings: list[tuple[str, str, int, str]] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        p = self.period
        lines = [f"MIPS pipeline, performance year {p.performance_year} ({p.start} to {p.end})", "",
                 "Input files (every row is accepted or rejected with a reason):"]
        width = max([len(r.source_file) for r in self.ingest] + [4])
        lines.append(f"  {'file':<{width}}  {'table':<16} {'input':>10} {'accepted':>10} {'rejected':>10}")
        for r in self.ingest:
            lines.append(f"  {r.source_file:<{width}}  {r.table_name:<16} {r.input_rows:>10,} {r.accepted_rows:>10,} "
                         f"{r.rejected_rows:>10,}  ({100 * r.rejected_fraction:.2f}%)")
        if self.warnings:
            lines += ["", "Warnings (rows kept):"]
            lines += [f"  {table}: {rule}: {count:,} ({description})" for table, rule, count, description in self.warnings]
        for section in self.sections:
            lines += ["", section]
        lines += ["", f"Outputs in {self.output_root}:"]
        lines += [f"  {name}/ ({rows:,} rows)" for name, rows in self.written.items()]
        return "\n".join(lines)


def ingest_step(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> list[ingest.IngestResult]:
    return ingest.ingest_inputs(con, files)


def ingest_outputs(con: duckdb.DuckDBPyConnection, period: Period) -> dict:
    ingest.ingest_tables(con, period.performance_year)
    return {REJECTS: "rejects", INGEST_SUMMARY: "ingest_summary", INGEST_WARNINGS: "ingest_warnings"}


def publish(con: duckdb.DuckDBPyConnection, tables: dict, output_root: Path, period: Period) -> dict[str, int]:
    """Write each (TableSpec -> DuckDB relation) as that table's partition for the period."""
    return {spec.name: write_partition(con, spec, relation, output_root, period.performance_year)
            for spec, relation in tables.items()}


def run_period(*, performance_year: int, period_start: date, period_end: date, files: dict[str, Path],
               output_root: Path, max_rejected_percent: float = 5.0, work_dir: Path | None = None) -> RunReport:
    period = Period(performance_year, period_start, period_end)
    output_root = Path(output_root)
    work_dir = Path(work_dir or output_root / ".work" / str(performance_year))
    con = connect(work_dir)
    try:
        report = RunReport(period, output_root)
        report.ingest = ingest_step(con, files)
        report.warnings = con.execute("SELECT table_name, rule, rows_affected, description FROM _ingest_warnings "
                                      "ORDER BY 1, 2").fetchall()
        report.written.update(publish(con, ingest_outputs(con, period), output_root, period))
        over = ingest.files_over_threshold(con, max_rejected_percent)
        if over:
            listed = ", ".join(f"{f} ({pct}% rejected)" for f, pct in over)
            raise RejectionThresholdExceeded(
                f"more than {max_rejected_percent}% of rows rejected in: {listed}; see {output_root}/rejects/")
        return report
    finally:
        con.close()
        shutil.rmtree(work_dir, ignore_errors=True)  # the work database is scratch; outputs are the Parquet tables
