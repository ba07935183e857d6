"""Output tables of the MIPS scorer: grain and typed columns in one place."""
from __future__ import annotations

from schemas.tables import Column, TableSpec

_ENTITY = (
    Column("performance_year", "INTEGER", "MIPS performance year", nullable=False),
    Column("level", "VARCHAR", "'individual' (TIN/NPI), 'group' (TIN), 'virtual_group' or 'apm_entity' (--virtual-groups, --apm), "
           "'individual_app' / 'group_app' (the APM Performance Pathway reported by an individual / a group)", nullable=False),
    Column("tin", "VARCHAR", "taxpayer identification number; the virtual group's or APM entity's identifier for those levels",
           nullable=False),
    Column("npi", "VARCHAR", "clinician NPI; NULL for the group level"),
)

MEASURE_SCORES = TableSpec(
    name="measure_scores",
    grain="one row per (performance_year, level, tin, npi, category, measure_id, stratum)",
    key=("performance_year", "level", "tin", "npi", "category", "measure_id", "stratum"),
    columns=_ENTITY + (
        Column("category", "VARCHAR", "'quality' or 'cost'", nullable=False),
        Column("measure_id", "VARCHAR", "CMS measure id ('001', 'TPCC_1')", nullable=False),
        Column("stratum", "VARCHAR", "stratum of a multi-strata measure; NULL otherwise"),
        Column("collection_type", "VARCHAR", "benchmark submission method scored (the best one if several were sent)"),
        Column("eligible_population", "BIGINT", "quality: eligible population; cost: attributed cases"),
        Column("performance_met", "BIGINT", "quality: performance met"),
        Column("performance_not_met", "BIGINT", "quality: performance not met"),
        Column("performance_rate", "DOUBLE", "quality: 100 * met / (met + not met)"),
        Column("measure_value", "DOUBLE", "cost: the measure value (USD)"),
        Column("data_completeness_percent", "DOUBLE", "quality: 100 * reported / eligible population"),
        Column("meets_data_completeness", "BOOLEAN", "quality: at or above the year's data completeness threshold"),
        Column("meets_case_minimum", "BOOLEAN", "case minimum met"),
        Column("has_benchmark", "BOOLEAN", "a benchmark exists for the measure and collection type"),
        Column("is_inverse", "BOOLEAN", "lower value is better"),
        Column("topped_out", "BOOLEAN", "the 7-point topped-out cap applies"),
        Column("decile", "INTEGER", "decile the value falls in (1..10); NULL when not benchmarked"),
        Column("partial_decile_score", "DOUBLE", "interpolated fraction inside the decile (CMS partialDecileScore, 4 dp)"),
        Column("decile_score", "DOUBLE", "decile + partial, before floors and caps (CMS decileScore)"),
        Column("measure_class", "VARCHAR", "'class 1' benchmarked, 'class 2' no benchmark / case minimum, 'class 3' fails data completeness"),
        Column("achievement_points", "DOUBLE", "points after floors and caps"),
        Column("high_priority_bonus", "DOUBLE", "outcome/high-priority bonus earned by the measure (before the category cap)"),
        Column("end_to_end_bonus", "DOUBLE", "end-to-end electronic reporting bonus (before the category cap)"),
        Column("bonus_points", "DOUBLE", "high_priority_bonus + end_to_end_bonus"),
        Column("is_outcome", "BOOLEAN", "outcome, intermediate outcome, patient-reported outcome or patient experience measure"),
        Column("is_high_priority", "BOOLEAN", "high-priority measure"),
        Column("selected", "BOOLEAN", "counted in the category score (quality: among the top measures; cost: scored)"),
        Column("explanation", "VARCHAR", "how the points were reached", nullable=False),
        Column("unconfirmed_rules", "VARCHAR", "unconfirmed rule values these points rest on (data/rules paths, "
               "comma-separated); NULL when none"),
    ),
    description="Points of every quality and cost measure an entity submitted, with how they were reached.",
)

CATEGORY_SCORES = TableSpec(
    name="category_scores",
    grain="one row per (performance_year, level, tin, npi, category)",
    key=("performance_year", "level", "tin", "npi", "category"),
    columns=_ENTITY + (
        Column("category", "VARCHAR", "quality, pi, ia or cost", nullable=False),
        Column("score_percent", "DOUBLE", "category score 0..100; NULL when reweighted"),
        Column("weight_percent", "DOUBLE", "weight in the final score after redistribution", nullable=False),
        Column("reweighted", "BOOLEAN", "the category's weight was redistributed", nullable=False),
        Column("reason", "VARCHAR", "why reweighted, or why the score is 0"),
        Column("points_earned", "DOUBLE", "category points (quality: achievement + bonuses; pi, ia: points; cost: measure points)"),
        Column("points_possible", "DOUBLE", "denominator of the category score"),
        Column("bonus_points", "DOUBLE", "bonus points inside the category (after caps)"),
        Column("explanation", "VARCHAR", "how the score was reached", nullable=False),
        Column("unconfirmed_rules", "VARCHAR", "rule values of this category's year the score rests on that are not "
               "confirmed by a primary source (data/rules paths, comma-separated); NULL when none"),
    ),
    description="Score and weight of each performance category for each entity.",
)

FINAL_SCORES = TableSpec(
    name="final_scores",
    grain="one row per (performance_year, level, tin, npi)",
    key=("performance_year", "level", "tin", "npi"),
    columns=_ENTITY + (
        Column("quality_score", "DOUBLE", "quality category score 0..100 (NULL when reweighted)"),
        Column("cost_score", "DOUBLE", "cost category score 0..100 (NULL when reweighted)"),
        Column("ia_score", "DOUBLE", "improvement activities score 0..100 (NULL when reweighted)"),
        Column("pi_score", "DOUBLE", "Promoting Interoperability score 0..100 (NULL when reweighted)"),
        Column("quality_weight", "DOUBLE", "weight percent after redistribution", nullable=False),
        Column("cost_weight", "DOUBLE", "weight percent after redistribution", nullable=False),
        Column("ia_weight", "DOUBLE", "weight percent after redistribution", nullable=False),
        Column("pi_weight", "DOUBLE", "weight percent after redistribution", nullable=False),
        Column("weighted_score", "DOUBLE", "sum of score x weight before final-score bonuses"),
        Column("small_practice_bonus", "DOUBLE", "final-score small practice bonus (PY2018)"),
        Column("complex_patient_bonus", "DOUBLE", "complex patient bonus applied (given, or computed from the average HCC "
               "risk score and dual-eligible proportion by the year's formula; capped at the year's maximum)"),
        Column("complex_patient_bonus_basis", "VARCHAR", "'input' (complex_patient_bonus given), 'computed' (from "
               "average_hcc_risk_score / dual_eligible_proportion), 'not computable' (the year's formula constants are "
               "not known: bonus 0), 'not applicable' (no bonus this year: PY2017) or NULL (no bonus input)"),
        Column("final_score", "DOUBLE", "MIPS final score 0..100", nullable=False),
        Column("performance_threshold", "DOUBLE", "the year's performance threshold", nullable=False),
        Column("additional_performance_threshold", "DOUBLE", "exceptional performance threshold (PY2017-2022)"),
        Column("applicable_percent", "DOUBLE", "maximum negative adjustment", nullable=False),
        Column("scaling_factor", "DOUBLE", "budget-neutrality scaling factor applied to positive adjustments; "
               "NULL when not published and not given (see payment_adjustment_basis)"),
        Column("exceptional_scaling_factor", "DOUBLE", "scaling factor of the exceptional adjustment (PY2017-2022); "
               "NULL when not published and not given"),
        Column("base_adjustment_percent", "DOUBLE", "MIPS payment adjustment factor (percent); NULL when it needs a "
               "scaling factor that is not known (basis 'range')"),
        Column("exceptional_adjustment_percent", "DOUBLE", "additional adjustment for exceptional performance (percent); "
               "NULL when its factor is not known"),
        Column("payment_adjustment_percent", "DOUBLE", "total payment adjustment (percent); NULL when basis is 'range' "
               "(read payment_adjustment_low/high_percent)"),
        Column("payment_adjustment_low_percent", "DOUBLE", "lowest total adjustment over the factors' possible values",
               nullable=False),
        Column("payment_adjustment_high_percent", "DOUBLE", "highest total adjustment over the factors' possible values",
               nullable=False),
        Column("payment_adjustment_basis", "VARCHAR", "'exact' (no factor needed, or factors given / published by CMS), "
               "'estimate' (a factor from a secondary source) or 'range' (a factor not published: low..high)",
               nullable=False),
        Column("part_b_allowed_charges", "DOUBLE", "Part B allowed charges the adjustment applies to (USD)"),
        Column("payment_adjustment_usd", "DOUBLE", "dollar effect: charges x adjustment (NULL when basis is 'range')"),
        Column("payment_year", "INTEGER", "MIPS payment year (PY + 2)", nullable=False),
        Column("mips_eligible", "BOOLEAN", "MIPS eligible (NULL when unknown, e.g. score-only mode)"),
        Column("explanation", "VARCHAR", "how the final score and the adjustment were reached", nullable=False),
        Column("unconfirmed_rules", "VARCHAR", "unconfirmed rule values this row's final score or adjustment depends on "
               "(data/rules paths, comma-separated; the categories' own are in category_scores); NULL when none"),
        Column("virtual_group_id", "VARCHAR", "the virtual group whose scores and final score this row carries (a member "
               "TIN or TIN/NPI, §414.1315(a)(2), or the virtual group itself); NULL otherwise"),
        Column("apm_entity_id", "VARCHAR", "the APM entity whose scores and final score this row carries (a participant "
               "TIN/NPI scored as its APM entity, or the APM entity itself); NULL otherwise"),
    ),
    description="Final score and payment adjustment of each entity, individual and group side by side.",
)

MIPS_ELIGIBILITY = TableSpec(
    name="mips_eligibility",
    grain="one row per (performance_year, level, tin, npi)",
    key=("performance_year", "level", "tin", "npi"),
    columns=_ENTITY + (
        Column("allowed_charges", "DOUBLE", "Part B allowed charges in the performance year (USD; the payment adjustment applies to these)"),
        Column("beneficiaries", "BIGINT", "distinct Part B beneficiaries seen in the performance year"),
        Column("services", "BIGINT", "covered professional services in the performance year (sum of service units, at least 1 per line)"),
        Column("segment_1_covered", "BOOLEAN", "the run's Part B claims cover every month of determination segment 1 (rule eligibility.determination_segments)"),
        Column("segment_1_allowed_charges", "DOUBLE", "Part B allowed charges in segment 1 (USD); NULL when the segment is not covered or nothing was billed in it"),
        Column("segment_1_beneficiaries", "BIGINT", "distinct Part B beneficiaries in segment 1"),
        Column("segment_1_services", "BIGINT", "covered professional services in segment 1"),
        Column("segment_1_exceeds_low_volume_threshold", "BOOLEAN", "above every low-volume threshold criterion in segment 1"),
        Column("segment_2_covered", "BOOLEAN", "the run's Part B claims cover every month of determination segment 2 (rule eligibility.determination_segments)"),
        Column("segment_2_allowed_charges", "DOUBLE", "Part B allowed charges in segment 2 (USD); NULL when the segment is not covered or nothing was billed in it"),
        Column("segment_2_beneficiaries", "BIGINT", "distinct Part B beneficiaries in segment 2"),
        Column("segment_2_services", "BIGINT", "covered professional services in segment 2"),
        Column("segment_2_exceeds_low_volume_threshold", "BOOLEAN", "above every low-volume threshold criterion in segment 2"),
        Column("determined_by", "VARCHAR", "which segment(s) decided the low-volume threshold: 'segments 1 and 2', one "
               "segment (and why only one), or the performance year's claims when the run covers no segment"),
        Column("determination", "VARCHAR", "'final' (CMS's rule applied to covered segments), 'provisional' (one "
               "segment covered, above the threshold there; the other could still exclude) or 'estimate' (from the "
               "performance year's claims: no segment covered)", nullable=False),
        Column("clinician_type", "VARCHAR", "roster clinician type (individual level)"),
        Column("eligible_clinician_type", "BOOLEAN", "clinician type is a MIPS eligible clinician type that year"),
        Column("newly_enrolled", "BOOLEAN", "first enrolled in Medicare during the performance year"),
        Column("exceeds_low_volume_threshold", "BOOLEAN", "above every low-volume threshold criterion in every "
               "segment that decides (determined_by)"),
        Column("mips_eligible", "BOOLEAN", "required to participate in MIPS", nullable=False),
        Column("opt_in_eligible", "BOOLEAN", "not required, but exceeds at least eligibility.opt_in criteria in every "
               "deciding segment, so may opt in (PY2019 on; FALSE before)", nullable=False),
        Column("reason", "VARCHAR", "why not eligible, and how certain the determination is"),
    ),
    description="MIPS eligibility from claims as CMS determines it: the low-volume threshold over the two "
                "determination segments (rule eligibility.determination_segments), clinician type, newly enrolled, "
                "opt-in eligibility.",
)

PAYMENT_ADJUSTMENTS = TableSpec(
    name="payment_adjustments",
    grain="one row per (performance_year, tin, npi): the final score CMS pays the TIN/NPI on, among all its scores",
    key=("performance_year", "tin", "npi"),
    columns=(
        Column("performance_year", "INTEGER", "MIPS performance year", nullable=False),
        Column("tin", "VARCHAR", "taxpayer identification number", nullable=False),
        Column("npi", "VARCHAR", "clinician NPI", nullable=False),
        Column("score_path", "VARCHAR", "whose final score applies: 'individual', 'group', 'virtual_group', "
               "'apm_entity', 'subgroup', or 'excluded_qp' (a Qualifying APM Participant: no adjustment)", nullable=False),
        Column("reporting", "VARCHAR", "how that score was reported: 'traditional' (traditional MIPS), 'mvp' (a MIPS "
               "Value Pathway), 'app' (the APM Performance Pathway) or 'apm_scoring_standard' (PY2017-2020)",
               nullable=False),
        Column("score_entity", "VARCHAR", "the scored entity: TIN/NPI, TIN, virtual group id, APM Entity id, MVP id "
               "(with the subgroup id)", nullable=False),
        Column("final_score", "DOUBLE", "the final score used, 0..100", nullable=False),
        Column("selection_reason", "VARCHAR", "why this score: it overrides the others (rule "
               "final_score_selection.overrides), or is the highest (final_score_selection.highest_of) or the only one; "
               "whether an individual's automatic extreme and uncontrollable circumstances score competed or yielded "
               "(final_score_selection.automatic_euc_individual)",
               nullable=False),
        Column("candidate_count", "INTEGER", "final scores this TIN/NPI has that the year's rules let CMS pay on",
               nullable=False),
        Column("candidates", "VARCHAR", "each of them: path (reporting, entity) score, in the order of the rule",
               nullable=False),
        Column("payment_adjustment_percent", "DOUBLE", "payment adjustment of the final score used (percent); NULL "
               "when the basis is 'range'"),
        Column("payment_adjustment_low_percent", "DOUBLE", "lowest adjustment over the factors' possible values",
               nullable=False),
        Column("payment_adjustment_high_percent", "DOUBLE", "highest adjustment over the factors' possible values",
               nullable=False),
        Column("payment_adjustment_basis", "VARCHAR", "'exact', 'estimate' or 'range' (as final_scores)", nullable=False),
        Column("part_b_allowed_charges", "DOUBLE", "the TIN/NPI's Part B allowed charges (its individual entity row)"),
        Column("payment_adjustment_usd", "DOUBLE", "charges x adjustment (NULL when charges are unknown or a range)"),
        Column("payment_year", "INTEGER", "MIPS payment year (PY + 2)", nullable=False),
        Column("unconfirmed_rules", "VARCHAR", "unconfirmed rule values the chosen score and the choice rest on "
               "(data/rules paths, comma-separated); NULL when none"),
    ),
    description="The payment adjustment of each clinician (TIN/NPI): which of its individual, group, virtual group, "
                "APM Entity, subgroup, MVP and APP final scores CMS uses, by the year's hierarchy, and why.",
)

SCORING_TABLES = (MEASURE_SCORES, CATEGORY_SCORES, FINAL_SCORES, PAYMENT_ADJUSTMENTS)

# ---- MIPS Value Pathways (PY2023 on): transforms/scoring/mvp.py, `mips score --mvp-registrations` ----

_MVP_PARTICIPANT = (
    Column("performance_year", "INTEGER", "MIPS performance year", nullable=False),
    Column("participant_type", "VARCHAR", "'individual' (TIN/NPI), 'group' (TIN), 'subgroup' (TIN + subgroup_id) or "
           "'apm_entity', as registered", nullable=False),
    Column("tin", "VARCHAR", "taxpayer identification number (a subgroup's affiliated group); an APM entity's "
           "apm_entity_id (as in final_scores)", nullable=False),
    Column("npi", "VARCHAR", "clinician NPI of an individual participant; NULL otherwise"),
    Column("subgroup_id", "VARCHAR", "subgroup id of a subgroup participant; NULL otherwise"),
    Column("mvp_id", "VARCHAR", "CMS MVP id (G0053, M0001 ...)", nullable=False),
)
_MVP_KEY = ("performance_year", "participant_type", "tin", "npi", "subgroup_id", "mvp_id")

MVP_SCORES = TableSpec(
    name="mvp_scores",
    grain="one row per (performance_year, participant_type, tin, npi, subgroup_id, mvp_id) registered",
    key=_MVP_KEY,
    columns=_MVP_PARTICIPANT + (
        Column("mvp_title", "VARCHAR", "CMS title of the MVP (NULL when the id is not offered that year)"),
        Column("scored", "BOOLEAN", "the registration was scored (false: see reason)", nullable=False),
        Column("reason", "VARCHAR", "why the registration was not scored (e.g. a subgroup whose affiliated group is not above the low-volume threshold in determination segment 1, rule mvp.subgroup_eligibility)"),
        Column("members", "INTEGER", "subgroup: clinicians (NPIs) in the subgroup membership file; APM entity: its "
               "participants (TIN/NPIs) scored as the entity in the APM participation input"),
        Column("quality_score", "DOUBLE", "MVP quality score 0..100: the MVP's 4 best measures (one outcome, else high "
               "priority, where the MVP has one) plus the population health measure when it is scored"),
        Column("cost_score", "DOUBLE", "cost score 0..100 on the MVP's cost measures (NULL when reweighted)"),
        Column("ia_score", "DOUBLE", "improvement activities score 0..100 on the MVP's activities (NULL when reweighted)"),
        Column("pi_score", "DOUBLE", "foundational Promoting Interoperability score 0..100 (a subgroup's is its "
               "affiliated group's; NULL when reweighted)"),
        Column("quality_weight", "DOUBLE", "weight percent after redistribution"),
        Column("cost_weight", "DOUBLE", "weight percent after redistribution"),
        Column("ia_weight", "DOUBLE", "weight percent after redistribution"),
        Column("pi_weight", "DOUBLE", "weight percent after redistribution"),
        Column("quality_measures_counted", "INTEGER", "MVP quality measures counted (at most the year's "
               "mvp.quality_measures_required)"),
        Column("outcome_requirement_met", "BOOLEAN", "an outcome measure (a high-priority one where the MVP has no "
               "outcome measure) is among those counted"),
        Column("population_health_measure_id", "VARCHAR", "the population health measure counted (479, 484); NULL "
               "when none was scored"),
        Column("population_health_points", "DOUBLE", "its achievement points (out of 10)"),
        Column("final_score", "DOUBLE", "MVP final score 0..100 (NULL when not scored)"),
        Column("payment_adjustment_percent", "DOUBLE", "payment adjustment of this final score (percent); NULL when "
               "the basis is 'range' or not scored"),
        Column("payment_adjustment_low_percent", "DOUBLE", "lowest adjustment over the factors' possible values"),
        Column("payment_adjustment_high_percent", "DOUBLE", "highest adjustment over the factors' possible values"),
        Column("payment_adjustment_basis", "VARCHAR", "'exact', 'estimate' or 'range' (as final_scores)"),
        Column("explanation", "VARCHAR", "how each category and the final score were reached", nullable=False),
        Column("unconfirmed_rules", "VARCHAR", "unconfirmed rule values (data/rules paths, mvp.* included) the "
               "score rests on; NULL when none"),
    ),
    description="MVP final score of each registered MVP participant (individual, group or subgroup), with its "
                "category scores, the population health measure and the payment adjustment.",
)

MVP_MEASURE_SCORES = TableSpec(
    name="mvp_measure_scores",
    grain="one row per (performance_year, participant_type, tin, npi, subgroup_id, mvp_id, category, measure_id, stratum)",
    key=_MVP_KEY + ("category", "measure_id", "stratum"),
    columns=_MVP_PARTICIPANT + (
        Column("category", "VARCHAR", "'quality' or 'cost'", nullable=False),
        Column("measure_id", "VARCHAR", "CMS measure id", nullable=False),
        Column("stratum", "VARCHAR", "stratum of a multi-strata measure; NULL otherwise"),
        Column("mvp_role", "VARCHAR", "the measure's role in the MVP: quality, administrative_claims_quality, "
               "population_health or cost", nullable=False),
        Column("data_from", "VARCHAR", "whose data scored it: 'participant', or 'affiliated group' for a subgroup's "
               "cost, population health and administrative claims measures", nullable=False),
        Column("collection_type", "VARCHAR", "collection type scored"),
        Column("performance_rate", "DOUBLE", "quality: 100 * met / (met + not met)"),
        Column("measure_value", "DOUBLE", "cost: the measure value (USD)"),
        Column("meets_data_completeness", "BOOLEAN", "quality: data completeness met"),
        Column("meets_case_minimum", "BOOLEAN", "case minimum met"),
        Column("has_benchmark", "BOOLEAN", "a benchmark exists"),
        Column("decile", "INTEGER", "decile reached (1..10)"),
        Column("measure_class", "VARCHAR", "'class 1' benchmarked, 'class 2' no benchmark / case minimum, 'class 3' "
               "fails data completeness"),
        Column("achievement_points", "DOUBLE", "points after floors and caps"),
        Column("is_outcome", "BOOLEAN", "outcome measure"),
        Column("is_high_priority", "BOOLEAN", "high-priority measure"),
        Column("selected", "BOOLEAN", "counted in the MVP category score", nullable=False),
        Column("explanation", "VARCHAR", "how the points were reached and why the measure counts or not", nullable=False),
        Column("unconfirmed_rules", "VARCHAR", "unconfirmed rule values these points rest on; NULL when none"),
    ),
    description="Points of every MVP quality and cost measure of each MVP participant, and whether it counts.",
)

MVP_TABLES = (MVP_SCORES, MVP_MEASURE_SCORES)
