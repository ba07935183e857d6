"""The values every year's rule file (data/rules/<PY>.yaml) must have, and their kinds.

``load_rules`` checks a file against this schema, so a year that lacks a value fails when it is
loaded with the path it lacks, not later inside a scorer. Kinds: ``number``, ``int``, ``bool``,
``str``, ``list``, ``mapping``; a trailing ``?`` allows ``null`` (a rule that does not apply that year).
"""
from __future__ import annotations

REQUIRED: dict[str, str] = {
    # MIPS Value Pathways and subgroups (PY2023 on; null before): transforms/scoring/mvp.py
    "mvp.available": "bool",                          # the year offers MVP reporting
    "mvp.participant_types": "list?",                 # who may register an MVP
    "mvp.quality_measures_required": "int?",          # quality measures counted from the MVP's list
    "mvp.outcome_measure_required": "str?",           # outcome_else_high_priority
    "mvp.quality_measure_scope": "str?",              # mvp_list: measures outside the MVP do not count
    "mvp.population_health_selection": "str?",        # registration (named then) or submission
    "mvp.population_health_no_benchmark": "str?",     # excluded: no score -> out of numerator and denominator
    "mvp.ia_activity_points": "mapping?",             # {medium, high} or {unweighted}
    "mvp.ia_special_status_multiplier": "number?",
    "mvp.cost_measure_scope": "str?",                 # mvp_list
    "mvp.pi_foundational": "str?",                    # traditional: PI scored as in traditional MIPS
    "mvp.category_weights": "mapping?",
    "mvp.apm_entity_category_weights": "mapping?",   # an APM Entity's MVP (cost 0, PY2023 on)
    "mvp.subgroup_pi": "str?",                        # affiliated_group
    "mvp.subgroup_cost": "str?",                      # affiliated_group
    "mvp.subgroup_administrative_claims": "str?",     # affiliated_group
    "mvp.subgroup_statuses": "str?",                  # affiliated_group
    "mvp.subgroup_single_membership": "bool?",
    "mvp.subgroup_eligibility": "mapping?",           # {level: affiliated_group, segment: 1}: whose volume, which segment
    "mvp.group_registration_specialty": "list?",      # specialty compositions a registering group may attest
    # payment (§414.1405, spec §4)
    "payment.payment_year": "int",
    "payment.performance_threshold": "number",
    "payment.applicable_percent": "number",
    "payment.scaling_factor_max": "number",
    "payment.scaling_factor": "number?",            # CMS's budget-neutrality factor of the payment year, when known
    "payment.scaling_factor_range": "mapping?",     # {low, high} when the factor is not known
    "payment.additional_performance_threshold": "number?",
    "payment.exceptional_adjustment": "mapping?",
    "payment.exceptional_scaling_factor": "number?",
    "payment.exceptional_scaling_factor_range": "mapping?",
    # final score (spec §2.5, §2.6)
    "final.weights": "mapping",
    "final.redistribution_fallback": "str",
    "final.fewer_than_two_categories": "str",
    "final.small_practice_final_bonus": "number?",
    "final.complex_patient_bonus_max": "number?",
    "final.complex_patient_bonus_formula": "mapping?",  # how the bonus is computed from average HCC / dual proportion
    "final.cap": "number",
    # quality (spec §2.1, §3)
    "quality.data_completeness_percent": "number",
    "quality.case_minimum": "int",
    "quality.case_minimum_basis": "str",
    "quality.admin_claims_case_minimums": "mapping?",
    "quality.class_precedence": "str",
    "quality.require_outcome_or_high_priority": "bool",
    "quality.required_measures": "int",
    "quality.points_per_measure": "number",
    "quality.benchmark_floor_points": "number?",
    "quality.new_measure_floor": "mapping?",
    "quality.below_lowest_decile_points": "number",
    "quality.zero_rate_points": "number?",
    "quality.no_benchmark_or_case_minimum_points": "mapping",
    "quality.fails_data_completeness_points": "mapping",
    "quality.topped_out_cap": "number?",
    "quality.topped_out_basis": "any?",
    "quality.topped_out_cap_exempt_collection_types": "list?",
    "quality.high_priority_bonus": "mapping?",
    "quality.end_to_end_bonus": "mapping?",
    "quality.outcome_measure_types": "list",
    "quality.cap_total_at_denominator": "bool",
    "quality.small_practice_bonus": "number?",
    "quality.improvement_scoring": "mapping?",
    # cost (spec §2.2)
    "cost.case_minimums": "mapping",
    "cost.reweighted_for_all_clinicians": "bool",
    "cost.points_per_measure": "number",
    "cost.measures_not_scored": "list",               # cost measures of the inventory CMS did not score that year
    "cost.below_lowest_decile_points": "number",
    "cost.improvement_max_percentage_points": "number?",
    # improvement activities (spec §2.3)
    "ia.activity_points": "mapping",
    "ia.special_status_multiplier": "number",
    "ia.max_points": "number",
    "ia.pcmh_full_credit": "bool",
    "ia.pcmh_activity_ids": "list",
    "ia.special_status_flags": "list",
    # promoting interoperability (spec §2.4)
    "pi.reweight_flags": "list",
    "pi.reweighted_clinician_types": "list",  # an individual of these types has PI reweighted unless it submits PI
    "pi.cap": "number",
    "pi.model": "str",
    "pi.required": "list",
    "pi.measures": "list",
    "pi.groups": "list",
    "pi.exclusion_redistribution": "list",
    # extreme and uncontrollable circumstances (EUC) and hardship
    "euc.application_categories": "list",            # categories an approved EUC application reweights
    "euc.submission_voids_reweighting": "bool",       # data submitted in the category voids the application's reweighting
    "euc.automatic_individual": "mapping?",           # the automatic EUC policy for individuals, when CMS applied one
    # eligibility
    "eligibility.determination_segments": "list",     # [{segment, start, end}]: the two 12-month segments of claims
    "eligibility.segment_rule": "str",                # how the segments combine (exceed_in_every_billed_segment)
    "eligibility.opt_in": "mapping?",                 # {min_criteria_exceeded}: who may opt in (PY2019 on)
    "eligibility.low_volume_threshold": "mapping",
    "eligibility.clinician_types": "list",
    "eligibility.newly_enrolled_rule": "str",
    # reporting paths, one contiguous block per path
    # virtual groups (§414.1315, PY2018 on): null where the year has none
    "virtual_group.allowed": "bool",
    "virtual_group.max_tin_clinicians": "int?",            # NPIs billing under a member TIN, at most
    "virtual_group.min_tins": "int?",                      # TINs a virtual group combines, at least
    "virtual_group.small_practice_max_clinicians": "int?", # the virtual group is a small practice at or below
    "virtual_group.special_status_share_percent": "number?",  # a status holds when more than this % of NPIs have it
    "virtual_group.special_status_flags": "list?",         # the statuses derived that way from member TINs
    "virtual_group.ia_min_clinician_share_percent": "number?",  # an activity counts when TINs with >= this % of NPIs attest it (0 = any)
    "virtual_group.cost_aggregation": "str?",              # how member TINs' cost values combine
    # APM entities, the APM scoring standard (PY2017-2020), the APM Performance Pathway (PY2021 on), QPs
    "apm.qp_excluded": "bool",                     # a Qualifying APM Participant has no MIPS adjustment
    "apm.partial_qp_may_elect": "bool",            # a Partial QP is excluded unless it elects MIPS
    "apm.scoring_standard_weights": "mapping?",    # {shared_savings_or_next_generation_aco|other: {quality, cost, ia, pi}}
    "apm.app_weights": "mapping?",                 # {quality, cost, ia, pi} of the APM Performance Pathway
    "apm.app_quality_measures": "list?",           # the APP's fixed quality measure set
    "apm.entity_ia_percent": "number",             # IA score of an APM entity (scoring standard / APP)
    "apm.participant_ia_min_percent": "number",    # least IA score of a MIPS APM participant scored in traditional MIPS
    "apm.entity_pooling": "mapping",               # how score-only mode pools participant TINs into the APM entity
    # facility-based measurement (§414.1380(e), PY2019 on)
    "facility_based.allowed": "bool",
    "facility_based.hvbp_fiscal_year_offset": "int?",  # Hospital VBP fiscal year = performance year + this
    "facility_based.method": "str?",                   # TPS -> quality / cost scores
    "facility_based.comparison": "str?",               # when the facility-based scores replace the own
    # CAHPS for MIPS
    "cahps.measure_id": "str",                          # the quality measure the survey scores as
    "cahps.scoring": "str",                             # how the summary survey measures make its points
    # cost improvement scoring (cap: cost.improvement_max_percentage_points)
    "cost_improvement.method": "str?",                  # null in the years the law bars it
    # which of a TIN/NPI's final scores sets its payment adjustment: transforms/scoring/selection.py
    "final_score_selection.overrides": "list",          # paths whose score applies whatever the others (first wins)
    "final_score_selection.highest_of": "list",         # paths whose highest score applies otherwise (ties: list order)
    # the individual's score under the automatic EUC policy with no data (the threshold): competes in highest_of, or
    # yields_to_group (a group, virtual group or APM entity score applies instead); null without an automatic policy
    "final_score_selection.automatic_euc_individual": "str?",
    # the APM Performance Pathway for individuals and groups (PY2021 on) and APP Plus (PY2025 on): transforms/scoring/app.py
    "app.individual_group_reporting": "bool",           # individuals and groups in a MIPS APM may report the APP
    "app.app_plus_quality_measures": "list?",           # the APP Plus quality measure set of the year
    "app.app_plus_required_for": "list?",               # APM Entity kinds that must report APP Plus
    # a virtual group's or APM entity's own submission, its complex patient bonus: transforms/scoring/pooled_submissions.py
    "pooled_entity.own_submission": "str",              # replaces_pooled_rows_per_category
    "pooled_entity.virtual_group_complex_patient_bonus": "str?",  # how members' HCC / dual values combine
}

# Values a PI model needs besides the above.
BY_PI_MODEL: dict[str, dict[str, str]] = {
    "base_performance_bonus": {"pi.base_score": "number", "pi.rate_band_rounding": "str"},
    "performance_points": {"pi.rate_rounding": "str"},
}
OPTIONAL: dict[str, str] = {"pi.cehrt_2015_bonus": "number?",
                            "quality.scored_stratum": "mapping?"}  # the one stratum CMS scores of a split measure
# Leaves under these prefixes are open-ended (one per scenario), each a {quality, cost, ia, pi} mapping.
OPEN_PREFIXES = ("final.redistribution.",)

_KINDS = {
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "list": lambda v: isinstance(v, list),
    "mapping": lambda v: isinstance(v, dict),
    "any": lambda v: v is not None,
}


def problems(leaves: dict) -> list[str]:
    """What is wrong with a year's leaves (``{path: RuleValue}``) against the schema; empty when none."""
    out = []
    model = leaves["pi.model"].value if "pi.model" in leaves else None
    expected = dict(REQUIRED)
    expected.update(BY_PI_MODEL.get(model, {}))
    if model is not None and model not in BY_PI_MODEL:
        out.append(f"pi.model {model!r} is not one of {', '.join(BY_PI_MODEL)}")
    for path, kind in expected.items():
        if path not in leaves:
            out.append(f"missing {path}")
            continue
        value = leaves[path].value
        nullable = kind.endswith("?")
        if value is None:
            if not nullable:
                out.append(f"{path} is null")
            continue
        if not _KINDS[kind.rstrip("?")](value):
            out.append(f"{path} should be {kind.rstrip('?')}, not {type(value).__name__}")
    allowed = set(expected) | set(OPTIONAL) | {p for m in BY_PI_MODEL.values() for p in m}
    for path in leaves:
        if path not in allowed and not path.startswith(OPEN_PREFIXES):
            out.append(f"unknown rule {path} (add it to transforms/scoring/rules_schema.py)")
    for path, leaf in leaves.items():
        if path.startswith(OPEN_PREFIXES) and not (isinstance(leaf.value, dict)
                                                   and set(leaf.value) == {"quality", "cost", "ia", "pi"}):
            out.append(f"{path} should map quality, cost, ia and pi to weights")
    if "payment.scaling_factor" in leaves and "payment.scaling_factor_range" in leaves:
        if leaves["payment.scaling_factor"].value is None and leaves["payment.scaling_factor_range"].value is None:
            out.append("payment.scaling_factor and payment.scaling_factor_range are both null: give one")
    return out
