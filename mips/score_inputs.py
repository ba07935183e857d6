"""THE list of score inputs: the numbers and memberships the scorer reads besides claims and EHR data.

`mips score` (all of them, ENT.csv required), `mips run` (options of the same names), the Prefect flow
(``inputs`` or an input folder), scheduled runs and `mips backfill` (an input folder: ``<name>.csv`` or
``<name>.parquet``) all read this one table, run the same checks (``check_score_inputs``) and go through
the same period steps (mips/period.py: validated ingest, rejection threshold, checksums in the manifest,
scores_step). A new score input is ONE entry here plus its contract in schemas/inputs.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mips.errors import PipelineError


@dataclass(frozen=True)
class ScoreInput:
    """One score input: its contract (schemas/inputs.py), command-line option, formats and meaning."""
    name: str
    option: str
    description: str
    formats: tuple[str, ...] = ("csv", "parquet")

    @property
    def dest(self) -> str:
        """The argparse attribute of the option (--virtual-groups -> virtual_groups)."""
        return self.option.lstrip("-").replace("-", "_")


SCORE_INPUT_TABLE = (
    ScoreInput("entity_input", "--entities",
               "ENT.csv: one row per TIN (npi empty) or TIN/NPI: small_practice, rural, hpsa, non_patient_facing, "
               "hospital_based, asc_based, clinician_type, pcmh, pi_hardship, EUC/hardship applications (euc_quality, "
               "euc_cost, euc_ia, in_disaster_area), complex patient inputs (complex_patient_bonus, or "
               "average_hcc_risk_score and dual_eligible_proportion: computed by the year's formula), "
               "prior_quality_achievement_percent, part_b_allowed_charges, facility_based, hvbp_total_performance_score "
               "(the Hospital VBP input), segment_1_exceeds_low_volume_threshold (a TIN's low-volume determination in "
               "segment 1, as CMS released it: may its subgroups report, PY2023 on). In `mips run` its values win over "
               "the claims' and roster's where given"),
    ScoreInput("quality_input", "--quality",
               "Q.csv: quality measure counts per entity (registry, eCQM, ... submissions); in `mips run` added to the "
               "measures computed from claims and EHR data (a measure given both ways is an error)"),
    ScoreInput("pi_input", "--pi", "PI.csv: Promoting Interoperability numerators/denominators/attestations"),
    ScoreInput("ia_input", "--ia", "IA.csv: improvement activities attested"),
    ScoreInput("cost_input", "--cost", "COST.csv: cost measure values and case counts"),
    ScoreInput("mvp_registration_input", "--mvp-registrations",
               "MVP.csv: MIPS Value Pathway registrations (PY2023 on): performance_year, participant_type (individual, "
               "group, subgroup, apm_entity), tin, npi, subgroup_id, apm_entity_id, mvp_id, population_health_measure_id, "
               "specialty_composition; each is scored on its MVP into mvp_scores/ and mvp_measure_scores/. A subgroup's "
               "own quality and IA rows carry its subgroup_id in the quality / IA inputs; an APM entity (apm_entity_id "
               "as in --apm) is scored on its participants' pooled data or its own submission (--entity-submissions)"),
    ScoreInput("subgroup_membership_input", "--subgroups",
               "SUBGROUPS.csv: subgroup membership (tin, subgroup_id, npi), for subgroup MVP registrations"),
    ScoreInput("virtual_group_input", "--virtual-groups",
               "VG.csv (PY2018 on): virtual_group_id, tin, performance_year, tin_clinicians; the member TINs' rows are "
               "scored as one virtual group, whose final score applies to each member TIN and TIN/NPI"),
    ScoreInput("apm_participation_input", "--apm",
               "APM.csv: apm_entity_id, tin, npi, performance_year, qp_status, partial_qp_elects_mips, mips_apm, "
               "shared_savings_or_next_generation_aco, reporting; QPs get no MIPS adjustment, participants are scored "
               "as their APM entity (APM scoring standard to PY2020, APM Performance Pathway from PY2021) or in "
               "traditional MIPS with the APM IA credit"),
    ScoreInput("facility_score_conversion_input", "--facility-conversion",
               "FBC.csv (PY2019 on): performance_year, tps_at_least, quality_score_percent, cost_score_percent: CMS's "
               "Hospital VBP score to MIPS quality/cost conversion; entities with facility_based and "
               "hvbp_total_performance_score (entity input) take those scores when better"),
    ScoreInput("cahps_input", "--cahps",
               "CAHPS.csv: tin, ssm_id (CAHPS_1..12), score, reliable: CAHPS for MIPS summary survey measures, scored "
               "as quality measure 321"),
    ScoreInput("pooled_entity_submission_input", "--entity-submissions",
               "SUB.csv: a virtual group's or APM entity's own submission: performance_year, entity_id, category "
               "(quality, pi, ia, cahps), measure_id and the category's columns; for each category it submits, its "
               "rows replace those pooled from its members' TINs"),
)
SCORE_INPUTS = tuple(i.name for i in SCORE_INPUT_TABLE)
# Score inputs that join TINs into one scored entity (or read a whole TIN's clinicians): a TIN-sharded run would
# score each shard's part of them, so `--shards` refuses them (mips/sharded.py).
POOLING_INPUTS = ("entity_input", "quality_input", "mvp_registration_input", "subgroup_membership_input",
                  "virtual_group_input", "apm_participation_input", "facility_score_conversion_input", "cahps_input",
                  "pooled_entity_submission_input")


def option_of(name: str) -> str:
    return next(i.option for i in SCORE_INPUT_TABLE if i.name == name)


def add_score_input_options(parser, *, skip: set[str] = frozenset(), required: set[str] = frozenset()) -> None:
    """One option per score input (those in ``skip`` are already options of the command)."""
    for item in SCORE_INPUT_TABLE:
        if item.name in skip:
            continue
        parser.add_argument(item.option, dest=item.dest, type=Path, required=item.name in required,
                            help=item.description)


def score_files_of(args) -> dict[str, Path]:
    """{contract: file} of the score input options given on the command line."""
    return {i.name: getattr(args, i.dest) for i in SCORE_INPUT_TABLE if getattr(args, i.dest, None) is not None}


def check_score_inputs(performance_year: int, files) -> None:
    """What a run refuses before reading any file, whichever command or flow runs it (same checks everywhere)."""
    given = set(files)
    if "subgroup_membership_input" in given and "mvp_registration_input" not in given:
        raise PipelineError(f"{option_of('subgroup_membership_input')} needs {option_of('mvp_registration_input')} "
                            "(subgroups report MVPs)")
    if "mvp_registration_input" in given:
        from transforms.scoring import load_rules
        from transforms.scoring.mvp import _check_rules

        _check_rules(load_rules(performance_year))  # a year without MVPs fails before any file is read
