"""`mips score`: score-only mode for numbers a practice already has.

Runs the period steps of `mips run` (mips/period.py) on ENT.csv and the optional category files: the period
lock, input checksums, the validated ingest with the rejection threshold (rejected rows are counted and
published; a file over the threshold fails and publishes nothing), the shared scorer, and one atomic publish of
measure_scores/, category_scores/, final_scores/, rejects/, ingest_summary/ ... with the run manifest.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from mips.db import MEMORY_LIMIT_HELP, memory_limit_argument
from mips.errors import PipelineError

NAME = "score"
HELP = "Score entities from numbers already at hand: final score and payment adjustment per TIN and TIN/NPI"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mips.score_inputs import add_score_input_options
    from transforms.scoring.rules import available_years

    years = available_years()
    parser.add_argument("--performance-year", type=int, required=True,
                        help=f"MIPS performance year with a rule file in data/rules ({years[0]}-{years[-1]})")
    # the one list of score inputs (mips/score_inputs.py), shared with `mips run` and the flow
    add_score_input_options(parser, required={"entity_input"})
    parser.add_argument("--scaling-factor", type=float,
                        help="budget-neutrality scaling factor for positive adjustments (0 < SF <= 3; default: the "
                             "rule file's payment.scaling_factor; where that is not published the adjustment is a range)")
    parser.add_argument("--exceptional-scaling-factor", type=float,
                        help="scaling factor of the exceptional performance adjustment, PY2017-2022 (0 <= ESF <= 1)")
    parser.add_argument("--output", type=Path, required=True, help="output folder")
    parser.add_argument("--memory-limit", type=memory_limit_argument, metavar="SIZE", help=MEMORY_LIMIT_HELP)
    parser.add_argument("--max-rejected-percent", type=float, default=5.0,
                        help="fail (publishing nothing) when more than this percent of any file's rows are rejected, "
                             "as mips run does (default 5)")


def adjustment_text(pct, low, high, basis) -> str:
    """The adjustment as the summary shows it: a number only when it is one."""
    if basis == "range" or pct is None:
        return f"{low:+.3f}..{high:+.3f}"
    return f"~{pct:+.3f}" if basis == "estimate" else f"{pct:+.3f}"


def summary(con, performance_year: int, ingest_results, written: dict[str, int], output: Path,
            warnings: list | None = None) -> str:
    lines = [f"MIPS score-only, performance year {performance_year}", "", "Input files:"]
    for r in ingest_results:
        lines.append(f"  {r.source_file}: {r.input_rows:,} rows, {r.accepted_rows:,} accepted, {r.rejected_rows:,} rejected")
    lines += ["", f"  {'level':<10} {'tin':<9} {'npi':<10} {'Q':>7} {'C':>7} {'IA':>7} {'PI':>7} {'final':>8} {'adj %':>16} {'adj USD':>12}"]
    fmt = lambda x, w, p=2: f"{x:>{w}.{p}f}" if x is not None else f"{'-':>{w}}"
    for row in con.execute("""SELECT level, tin, coalesce(npi, ''), quality_score, cost_score, ia_score, pi_score,
                                     final_score, payment_adjustment_percent, payment_adjustment_low_percent,
                                     payment_adjustment_high_percent, payment_adjustment_basis, payment_adjustment_usd
                              FROM final_scores ORDER BY tin, npi NULLS FIRST LIMIT 50""").fetchall():
        level, tin, npi, q, c, ia, pi, fs, adj, low, high, basis, usd = row
        lines.append(f"  {level:<10} {tin:<9} {npi:<10} {fmt(q, 7)} {fmt(c, 7)} {fmt(ia, 7)} {fmt(pi, 7)} {fmt(fs, 8)} "
                     f"{adjustment_text(adj, low, high, basis):>16} {fmt(usd, 12)}")
    total = con.execute("SELECT count(*) FROM final_scores").fetchone()[0]
    if total > 50:
        lines.append(f"  ... {total - 50:,} more entities in final_scores/")
    lines.append("  (adj %: ~x = estimate, a..b = range where the scaling factor is not published; "
                 "unconfirmed rule values per row in final_scores.unconfirmed_rules)")
    compare = con.execute("""
        SELECT g.tin, g.final_score, g.payment_adjustment_percent, g.payment_adjustment_low_percent,
               g.payment_adjustment_high_percent, g.payment_adjustment_basis, g.payment_adjustment_usd,
               count(i.npi), avg(i.final_score), sum(i.payment_adjustment_usd)
        FROM final_scores g JOIN final_scores i ON i.tin = g.tin AND i.level = 'individual'
        WHERE g.level = 'group' GROUP BY ALL ORDER BY g.tin LIMIT 50""").fetchall()
    if compare:
        lines += ["", "Group vs individual reporting:"]
        for tin, gfs, gadj, glow, ghigh, gbasis, gusd, n, ifs, iusd in compare:
            usd = "" if gusd is None or iusd is None else f"; USD group {gusd:,.2f} vs individuals {iusd:,.2f}"
            lines.append(f"  TIN {tin}: group final {gfs:.2f} ({adjustment_text(gadj, glow, ghigh, gbasis)}%) "
                         f"vs {n} individual(s) mean final {ifs:.2f}{usd}")
    if "mvp_scores" in written:
        lines += ["", "MIPS Value Pathways:",
                  f"  {'type':<10} {'tin':<9} {'npi/subgroup':<12} {'mvp':<6} {'Q':>7} {'C':>7} {'IA':>7} {'PI':>7} "
                  f"{'final':>8} {'adj %':>16}"]
        for row in con.execute("""SELECT participant_type, tin, coalesce(npi, subgroup_id, ''), mvp_id, scored, reason,
                                         quality_score, cost_score, ia_score, pi_score, final_score,
                                         payment_adjustment_percent, payment_adjustment_low_percent,
                                         payment_adjustment_high_percent, payment_adjustment_basis
                                  FROM mvp_scores ORDER BY tin, participant_type, 3, mvp_id LIMIT 50""").fetchall():
            kind, tin, who, mvp, scored, reason, q, c, ia, pi, fs, adj, low, high, basis = row
            if not scored:
                lines.append(f"  {kind:<10} {tin:<9} {who:<12} {mvp:<6} not scored: {reason}")
                continue
            lines.append(f"  {kind:<10} {tin:<9} {who:<12} {mvp:<6} {fmt(q, 7)} {fmt(c, 7)} {fmt(ia, 7)} {fmt(pi, 7)} "
                         f"{fmt(fs, 8)} {adjustment_text(adj, low, high, basis):>16}")
    if "payment_adjustments" in written:
        lines += ["", "Payment adjustment per clinician (the final score CMS uses, rule final_score_selection):",
                  f"  {'tin':<9} {'npi':<10} {'score used':<28} {'final':>8} {'adj %':>16}  from"]
        for tin, npi, path, reporting, fs, adj, low, high, basis, n in con.execute(
                """SELECT tin, npi, score_path, reporting, final_score, payment_adjustment_percent,
                          payment_adjustment_low_percent, payment_adjustment_high_percent, payment_adjustment_basis,
                          candidate_count FROM payment_adjustments ORDER BY tin, npi LIMIT 50""").fetchall():
            lines.append(f"  {tin:<9} {npi:<10} {path + ' (' + reporting + ')':<28} {fmt(fs, 8)} "
                         f"{adjustment_text(adj, low, high, basis):>16}  {n} score(s)")
    if warnings:
        lines += ["", "Warnings:"] + [f"  {table}: {rule}: {n:,} ({text})" for table, rule, n, text in warnings]
    lines += ["", f"Outputs in {output}:"] + [f"  {name}/ ({rows:,} rows)" for name, rows in written.items()]
    return "\n".join(lines)


def run(args) -> int:
    """Score through the period steps of `mips run`: the period lock, input checksums, the
    validated ingest with the rejection threshold, the shared scorer, and one atomic publish with the run manifest."""
    from mips.period import (LEVELS, SCORE_INPUTS, SOURCES, Period, finish_run, ingest_step, input_provenance,
                             one_line_failure, publish_step, run_parameters, scores_step, start_run, validate_step)
    from mips.score_inputs import check_score_inputs, score_files_of
    from transforms.scoring import load_rules
    from transforms.scoring.engine import check_scaling_factors

    # Year and factors first: a bad option fails before any file is read.
    check_scaling_factors(load_rules(args.performance_year), args.scaling_factor, args.exceptional_scaling_factor)
    files = score_files_of(args)
    check_score_inputs(args.performance_year, files)
    if not 0 <= args.max_rejected_percent <= 100:
        raise PipelineError(f"--max-rejected-percent must be between 0 and 100 (got {args.max_rejected_percent:g})")
    from mips import progress
    if progress.mode() == "normal":
        progress.configure("quiet")  # score-only prints its summary (and a failure in one line); steps with --verbose
    parameters = {**run_parameters(SOURCES, LEVELS, args.max_rejected_percent, False, args.scaling_factor,
                                   args.exceptional_scaling_factor), "mode": "score"}
    run = start_run(Period.of(args.performance_year), files, args.output, parameters=parameters,
                    known_inputs=SCORE_INPUTS)
    try:
        input_provenance(run)
        ingest_step(run)
        validate_step(run, args.max_rejected_percent)  # a file over the threshold fails, nothing is published
        before = len(run.warnings)  # the ingest's warnings are in the ingest summary; the summary shows the scores'
        scores_step(run)  # the scorer, MVPs and subgroups included: the same step as `mips run` and the flow
        warnings = run.warnings[before:]
        publish_step(run)  # scores, rejects and ingest summary switched in at once, with the run manifest
        print(summary(run.con, args.performance_year, run.ingest, dict(run.published.rows), args.output, warnings))
        return 0
    except Exception as error:
        raise one_line_failure(run, error) from None
    finally:
        finish_run(run)
