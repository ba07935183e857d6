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

# option -> input contract (schemas/inputs.py)
FILES = {"entities": "entity_input", "quality": "quality_input", "pi": "pi_input", "ia": "ia_input", "cost": "cost_input",
         "mvp_registrations": "mvp_registration_input", "subgroups": "subgroup_membership_input",
         "virtual_groups": "virtual_group_input", "apm": "apm_participation_input",
         "facility_conversion": "facility_score_conversion_input", "cahps": "cahps_input"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from transforms.scoring.rules import available_years

    years = available_years()
    parser.add_argument("--performance-year", type=int, required=True,
                        help=f"MIPS performance year with a rule file in data/rules ({years[0]}-{years[-1]})")
    parser.add_argument("--entities", type=Path, required=True,
                        help="ENT.csv: tin, npi (empty = group), small_practice, rural, hpsa, non_patient_facing, "
                             "hospital_based, asc_based, clinician_type, pcmh, pi_hardship, euc_quality, euc_cost, euc_ia, "
                             "in_disaster_area, complex_patient_bonus (or average_hcc_risk_score and "
                             "dual_eligible_proportion: the bonus is computed by the year's formula), "
                             "prior_quality_achievement_percent, part_b_allowed_charges, facility_based, "
                             "hvbp_total_performance_score")
    parser.add_argument("--quality", type=Path, help="Q.csv: quality measure counts per entity")
    parser.add_argument("--pi", type=Path, help="PI.csv: Promoting Interoperability numerators/denominators/answers")
    parser.add_argument("--ia", type=Path, help="IA.csv: improvement activities attested")
    parser.add_argument("--cost", type=Path, help="COST.csv: cost measure values and case counts")
    parser.add_argument("--mvp-registrations", type=Path,
                        help="MVP.csv: MIPS Value Pathway registrations (PY2023 on): performance_year, participant_type "
                             "(individual, group, subgroup), tin, npi, subgroup_id, mvp_id, population_health_measure_id, "
                             "specialty_composition; each is scored on its MVP into mvp_scores/ and mvp_measure_scores/. "
                             "A subgroup's own quality and IA rows carry its subgroup_id in --quality / --ia")
    parser.add_argument("--subgroups", type=Path,
                        help="SUBGROUPS.csv: subgroup membership (tin, subgroup_id, npi), for subgroup registrations")
    parser.add_argument("--virtual-groups", type=Path,
                        help="VG.csv (PY2018 on): virtual_group_id, tin, performance_year, tin_clinicians; the member TINs' "
                             "rows of the other files are scored as one virtual group, whose final score applies to each "
                             "member TIN and TIN/NPI")
    parser.add_argument("--apm", type=Path,
                        help="APM.csv: apm_entity_id, tin, npi, performance_year, qp_status, partial_qp_elects_mips, "
                             "mips_apm, shared_savings_or_next_generation_aco, reporting; QPs get no MIPS adjustment, "
                             "participants are scored as their APM entity (APM scoring standard to PY2020, APM "
                             "Performance Pathway from PY2021) or in traditional MIPS with the APM IA credit")
    parser.add_argument("--facility-conversion", type=Path,
                        help="FBC.csv (PY2019 on): performance_year, tps_at_least, quality_score_percent, cost_score_percent: "
                             "CMS's Hospital VBP score to MIPS quality/cost conversion; entities with facility_based and "
                             "hvbp_total_performance_score take those scores when better")
    parser.add_argument("--cahps", type=Path,
                        help="CAHPS.csv: tin, ssm_id (CAHPS_1..12), score, reliable: CAHPS for MIPS summary survey "
                             "measures, scored as quality measure 321")
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
    if warnings:
        lines += ["", "Warnings:"] + [f"  {table}: {rule}: {n:,} ({text})" for table, rule, n, text in warnings]
    lines += ["", f"Outputs in {output}:"] + [f"  {name}/ ({rows:,} rows)" for name, rows in written.items()]
    return "\n".join(lines)


def run(args) -> int:
    """Score through the period steps of `mips run`: the period lock, input checksums, the
    validated ingest with the rejection threshold, the shared scorer, and one atomic publish with the run manifest."""
    from mips.period import (LEVELS, SCORE_INPUTS, SOURCES, Period, finish_run, ingest_step, input_provenance,
                             one_line_failure, publish_step, run_parameters, scores_step, single_thread, start_run,
                             validate_step)
    from transforms.scoring import load_rules
    from transforms.scoring.engine import check_scaling_factors, scoring_warnings

    # Year and factors first: a bad option fails before any file is read.
    check_scaling_factors(load_rules(args.performance_year), args.scaling_factor, args.exceptional_scaling_factor)
    if args.subgroups is not None and args.mvp_registrations is None:
        raise PipelineError("--subgroups needs --mvp-registrations (subgroups report MVPs)")
    if args.mvp_registrations is not None:
        from transforms.scoring.mvp import _check_rules
        _check_rules(load_rules(args.performance_year))  # a year without MVPs fails before any file is read
    if not 0 <= args.max_rejected_percent <= 100:
        raise PipelineError(f"--max-rejected-percent must be between 0 and 100 (got {args.max_rejected_percent:g})")
    from mips import progress
    if progress.mode() == "normal":
        progress.configure("quiet")  # score-only prints its summary (and a failure in one line); steps with --verbose
    files = {contract: getattr(args, option) for option, contract in FILES.items() if getattr(args, option) is not None}
    parameters = {**run_parameters(SOURCES, LEVELS, args.max_rejected_percent, False, args.scaling_factor,
                                   args.exceptional_scaling_factor), "mode": "score"}
    run = start_run(Period.of(args.performance_year), files, args.output, parameters=parameters,
                    known_inputs=SCORE_INPUTS)
    try:
        input_provenance(run)
        ingest_step(run)
        validate_step(run, args.max_rejected_percent)  # a file over the threshold fails, nothing is published
        scores_step(run)
        warnings = scoring_warnings(run.con)
        if args.mvp_registrations is not None:
            from schemas.scoring import MVP_TABLES
            from transforms.scoring.engine import _columns
            from transforms.scoring.mvp import mvp_warnings, score_mvps
            present = {c: (c if _columns(run.con, c) is not None else None) for c in FILES.values()}
            with single_thread(run.con):  # as scores_step: sums of doubles in one order, reproducible
                score_mvps(run.con, performance_year=args.performance_year,
                           memberships=present["subgroup_membership_input"], entity=present["entity_input"],
                           quality=present["quality_input"], pi=present["pi_input"], ia=present["ia_input"],
                           cost=present["cost_input"], scaling_factor=args.scaling_factor,
                           exceptional_scaling_factor=args.exceptional_scaling_factor)
            run.outputs.update({spec.name: spec for spec in MVP_TABLES})
            mvp_notes = mvp_warnings(run.con)
            run.warnings = list(run.warnings) + mvp_notes
            warnings += mvp_notes
        publish_step(run)  # scores, rejects and ingest summary switched in at once, with the run manifest
        print(summary(run.con, args.performance_year, run.ingest, dict(run.published.rows), args.output, warnings))
        return 0
    except Exception as error:
        raise one_line_failure(run, error) from None
    finally:
        finish_run(run)
