"""Final score and payment adjustment (scoring-rules.md §2.5, §2.6, §4).

Weights with the year's redistribution scenario (small-practice variants first), final-score
bonuses, cap, fewer-than-two-categories rule; payment adjustment on the linear scale with the
PT/4 cliff, the scaling factor and (PY2017-2022) the exceptional adjustment.
Input: _sc_entities and the _sc_*_category tables; output _sc_category_scores, _sc_final_scores.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from transforms.scoring._sql import lit, lit_list, same_entity, unconfirmed_list_sql
from transforms.scoring.apm import apply_apm_weights
from transforms.scoring.rules import Rules

CATEGORIES = ("quality", "cost", "ia", "pi")


def _scenario_table(con, rules: Rules) -> None:
    rows = []
    std = rules["final.weights"]
    rows.append((False, "", *(float(std[c]) for c in CATEGORIES), rules.leaf("final.weights").source, "final.weights"))
    for key, leaf in rules.under("final.redistribution").items():
        sp = key.startswith("small_practice:")
        combo = "+".join(sorted(key.split(":", 1)[-1].split("+")))
        rows.append((sp, combo, *(float(leaf.value[c]) for c in CATEGORIES), leaf.source, leaf.path))
    frame = pd.DataFrame(rows, columns=["small_practice", "reweighted_key", *CATEGORIES, "source", "rule"])
    con.register("_sc_frame", frame)
    con.execute("CREATE OR REPLACE TEMP TABLE _sc_weight_scenarios AS SELECT * FROM _sc_frame")
    con.unregister("_sc_frame")


@dataclass(frozen=True)
class Factor:
    """A budget-neutrality factor of the payment year: its value when known, else the range it may take.

    ``basis``: 'given' (--scaling-factor), 'published' (a confirmed rule value), 'estimate' (a rule value
    from a secondary source) or 'range' (no value: ``low``..``high`` from the rule's range, see the source).
    """
    point: float | None
    low: float | None
    high: float | None
    basis: str
    rule: str


def resolve_factor(rules: Rules, given: float | None, rule: str) -> Factor:
    """The scaling factor (rule ``payment.scaling_factor``) or exceptional factor to use, and how sure it is."""
    if given is not None:
        return Factor(float(given), float(given), float(given), "given", rule)
    leaf = rules.leaf(rule)
    if leaf.value is not None:
        v = float(leaf.value)
        return Factor(v, v, v, "estimate" if leaf.unconfirmed else "published", rule)
    rng = rules[rule + "_range"]
    if rng is None:
        return Factor(None, None, None, "none", rule)
    return Factor(None, float(rng["low"]), float(rng["high"]), "range", rule)


def _base_sql(pt: float, ap: float, fs: str, sf: float | None) -> str:
    positive = "NULL::DOUBLE" if sf is None else f"{ap} * ({fs} - {pt}) / (100 - {pt}) * {sf}"
    return (f"CASE WHEN {fs} = {pt} THEN 0.0 WHEN {fs} > {pt} THEN {positive} "
            f"WHEN {fs} > {pt} / 4 THEN -{ap} * ({pt} - {fs}) / {pt} ELSE -{ap} END")


def _exceptional_sql(rules: Rules, fs: str, esf: float | None) -> str:
    apt = rules["payment.additional_performance_threshold"]
    exc = rules["payment.exceptional_adjustment"]
    if apt is None or exc is None:
        return "0.0"
    value = "NULL::DOUBLE" if esf is None else (
        f"({exc['min_percent']} + ({exc['max_percent']} - {exc['min_percent']}) * ({fs} - {apt}) / (100 - {apt})) * {float(esf)}")
    return f"CASE WHEN {fs} >= {apt} THEN {value} ELSE 0.0 END"


def adjustment_sql(rules: Rules, fs: str, scaling_factor: float | None = None,
                   exceptional_scaling_factor: float | None = None) -> tuple[str, str]:
    """SQL expressions (MIPS payment adjustment factor, exceptional adjustment), in percent, of final score ``fs``.

    §414.1405(b): linear from -AP at 0 to 0 at PT, -AP at or below PT/4 (the cliff), linear from 0 at PT
    to AP x SF at 100; PY2017-2022 add (0.5 + 9.5 (FS - APT) / (100 - APT)) x ESF at or above APT (spec §4.2).
    A factor that is neither given nor known (rule value null) makes the positive side NULL: see
    ``adjustment_range_sql`` for the range it then falls in.
    """
    sf = resolve_factor(rules, scaling_factor, "payment.scaling_factor")
    esf = resolve_factor(rules, exceptional_scaling_factor, "payment.exceptional_scaling_factor")
    pt = float(rules["payment.performance_threshold"])
    ap = float(rules["payment.applicable_percent"])
    return _base_sql(pt, ap, fs, sf.point), _exceptional_sql(rules, fs, esf.point)


def adjustment_range_sql(rules: Rules, fs: str, scaling_factor: float | None = None,
                         exceptional_scaling_factor: float | None = None) -> tuple[str, str]:
    """SQL expressions (lowest, highest) total adjustment in percent over the factors' ranges."""
    sf = resolve_factor(rules, scaling_factor, "payment.scaling_factor")
    esf = resolve_factor(rules, exceptional_scaling_factor, "payment.exceptional_scaling_factor")
    pt = float(rules["payment.performance_threshold"])
    ap = float(rules["payment.applicable_percent"])
    low = f"({_base_sql(pt, ap, fs, sf.low)}) + ({_exceptional_sql(rules, fs, esf.low)})"
    high = f"({_base_sql(pt, ap, fs, sf.high)}) + ({_exceptional_sql(rules, fs, esf.high)})"
    return low, high


def adjustment_basis_rank_sql(rules: Rules, fs: str, scaling_factor: float | None = None,
                              exceptional_scaling_factor: float | None = None) -> str:
    """SQL: 0 exact, 1 estimate, 2 range, for final score ``fs``. No factor is needed at or below the threshold; a
    factor given or published by CMS is exact, one from a secondary source an estimate, an unknown one a range
    (spec §4.2)."""
    sf = resolve_factor(rules, scaling_factor, "payment.scaling_factor")
    esf = resolve_factor(rules, exceptional_scaling_factor, "payment.exceptional_scaling_factor")
    pt = float(rules["payment.performance_threshold"])
    apt = rules["payment.additional_performance_threshold"]
    exceptional = f"{fs} >= {float(apt)}" if apt is not None else "FALSE"
    rank = {"given": 0, "published": 0, "none": 0, "estimate": 1, "range": 2}
    return (f"CASE WHEN {fs} <= {pt} THEN 0 ELSE greatest({rank[sf.basis]}, "
            f"CASE WHEN {exceptional} THEN {rank[esf.basis]} ELSE 0 END) END")


def complex_patient_bonus_sql(formula: dict | None) -> str:
    """SQL over an entity's average_hcc_risk_score / dual_eligible_proportion: the complex patient bonus by the
    year's formula (rule ``final.complex_patient_bonus_formula``), before the cap; NULL when it cannot be computed.

    - ``average_hcc`` (PY2018-2021): hcc_multiplier x the average HCC risk score of the beneficiaries seen
      (x1 PY2018-2019, doubled PY2020-2021), §414.1380(c)(3).
    - ``standardized_hcc_dual`` (PY2022 on): multiplier x (the HCC indicator's standard deviations above the national
      median + the dual-eligible proportion's), an indicator below its median adding 0; NULL while any constant is
      not known (the rule data says which), so the bonus is never guessed.
    """
    if not formula:
        return "NULL::DOUBLE"
    method = formula.get("method")
    if method == "average_hcc":
        return f"{float(formula['hcc_multiplier'])} * average_hcc_risk_score"
    if method == "standardized_hcc_dual":
        keys = ("multiplier", "hcc_median", "hcc_sd", "dual_median", "dual_sd")
        if any(formula.get(k) is None for k in keys):
            return "NULL::DOUBLE"
        m, hm, hs, dm, ds = (float(formula[k]) for k in keys)
        return (f"CASE WHEN average_hcc_risk_score IS NULL AND dual_eligible_proportion IS NULL THEN NULL ELSE {m} * ("
                f"coalesce(greatest(0.0, (average_hcc_risk_score - {hm}) / {hs}), 0.0) + "
                f"coalesce(greatest(0.0, (dual_eligible_proportion - {dm}) / {ds}), 0.0)) END")
    raise ValueError(f"unknown complex patient bonus method {method!r}")


def score_final(con, rules: Rules, *, scaling_factor: float | None, exceptional_scaling_factor: float | None) -> None:
    _scenario_table(con, rules)
    std = rules["final.weights"]
    pt = float(rules["payment.performance_threshold"])
    ap = float(rules["payment.applicable_percent"])
    sp_final = float(rules["final.small_practice_final_bonus"] or 0)
    cpb_max = float(rules["final.complex_patient_bonus_max"] or 0)
    cap = float(rules["final.cap"])
    cpb_computed = complex_patient_bonus_sql(rules["final.complex_patient_bonus_formula"])
    no_cpb_year = rules["final.complex_patient_bonus_formula"] is None  # PY2017: no complex patient bonus
    pi_flags = [f for f in rules["pi.reweight_flags"]]
    pi_flag_sql = " OR ".join([f"coalesce(e.{f}, FALSE)" for f in pi_flags] + ["e.reweighted_clinician_type"])
    # cost weight 0 in the standard weights (PY2017), or cost reweighted for every clinician (PY2020-2021 COVID-19 EUC)
    cost_all_reweighted = float(std["cost"]) == 0 or bool(rules["cost.reweighted_for_all_clinicians"])

    # Extreme and uncontrollable circumstances (rules euc.*): the automatic policy for individuals and applications.
    auto = rules["euc.automatic_individual"] or {}
    auto_categories = set(auto.get("categories") or [])
    auto_sql = {"all_individuals": "e.level = 'individual'",
                "individuals_in_disaster_area": "e.level = 'individual' AND coalesce(e.in_disaster_area, FALSE)",
                }.get(auto.get("applies_to"), "FALSE")
    auto_reason = {"all_individuals": "automatic extreme and uncontrollable circumstances policy (COVID-19), no data submitted",
                   "individuals_in_disaster_area": "automatic extreme and uncontrollable circumstances policy "
                                                   "(designated disaster area), no data submitted"}.get(auto.get("applies_to"))
    void = bool(rules["euc.submission_voids_reweighting"])
    allowed = set(rules["euc.application_categories"])

    def auto_has(category: str) -> str:
        return f"({auto_sql})" if category in auto_categories else "FALSE"

    def app(category: str) -> str:
        return f"coalesce(e.euc_{category}, FALSE)" if category in allowed else "FALSE"

    # Which categories are reweighted, per entity.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_status AS
    SELECT e.*,
           coalesce(q.score_percent, 0) AS q_score, c.score_percent AS c_score, coalesce(i.score_percent, 0) AS ia_score,
           coalesce(p.score_percent, 0) AS pi_score,
           q.level IS NOT NULL AS q_sent, p.level IS NOT NULL AS pi_sent, i.level IS NOT NULL AS ia_sent,
           {auto_sql} AS auto_euc,
           -- reweighted: automatic EUC (individuals; a category with data is scored), an approved EUC application
           -- (voided by submitted data from PY2019), cost without a scored measure, PI statuses and clinician types
           ({auto_has('quality')} AND q.level IS NULL) OR ({app('quality')} AND NOT (q.level IS NOT NULL AND {lit(void)})) AS q_rw,
           {lit(cost_all_reweighted)} OR c.level IS NULL OR {auto_has('cost')} OR {app('cost')} AS c_rw,
           ({auto_has('ia')} AND i.level IS NULL) OR ({app('ia')} AND NOT (i.level IS NOT NULL AND {lit(void)})) AS ia_rw,
           p.level IS NULL AND ({pi_flag_sql} OR {auto_has('pi')}) AS pi_rw,
           CASE WHEN q.level IS NULL AND {auto_has('quality')} THEN {lit(auto_reason)}
                WHEN {app('quality')} THEN 'approved extreme and uncontrollable circumstances application' END AS q_rw_reason,
           CASE WHEN {lit(cost_all_reweighted)} OR c.level IS NULL THEN NULL
                WHEN {auto_has('cost')} THEN {lit(auto_reason)}
                WHEN {app('cost')} THEN 'approved extreme and uncontrollable circumstances application' END AS c_euc_reason,
           CASE WHEN i.level IS NULL AND {auto_has('ia')} THEN {lit(auto_reason)}
                WHEN {app('ia')} THEN 'approved extreme and uncontrollable circumstances application' END AS ia_rw_reason,
           CASE WHEN p.level IS NULL AND coalesce(e.pi_hardship, FALSE) THEN 'PI hardship exception'
                WHEN p.level IS NULL AND e.reweighted_clinician_type
                     THEN 'clinician type ' || e.clinician_type || ': PI reweighted (rule pi.reweighted_clinician_types)'
                WHEN p.level IS NULL AND ({pi_flag_sql}) THEN 'special status / small practice: PI reweighted'
                WHEN p.level IS NULL AND {auto_has('pi')} THEN {lit(auto_reason)} END AS pi_rw_reason
    FROM _sc_entities e
    LEFT JOIN _sc_quality_category q ON {same_entity('q', 'e')}
    LEFT JOIN _sc_cost_category c ON {same_entity('c', 'e')}
    LEFT JOIN _sc_ia_category i ON {same_entity('i', 'e')}
    LEFT JOIN _sc_pi_category p ON {same_entity('p', 'e')}
    """)
    # Weights: the listed scenario (small-practice variant first), else share the freed weight proportionally.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_weights AS
    WITH k AS (
        SELECT *, concat_ws('+', CASE WHEN c_rw THEN 'cost' END, CASE WHEN ia_rw THEN 'ia' END, CASE WHEN pi_rw THEN 'pi' END,
                        CASE WHEN q_rw THEN 'quality' END) AS rw_key FROM _sc_status),
    pick AS (
        SELECT k.*, coalesce(sp.quality, ns.quality) AS wq, coalesce(sp.cost, ns.cost) AS wc,
               coalesce(sp.ia, ns.ia) AS wia, coalesce(sp.pi, ns.pi) AS wpi,
               coalesce(sp.source, ns.source) AS w_source, coalesce(sp.rule, ns.rule) AS w_rule
        FROM k
        LEFT JOIN _sc_weight_scenarios sp ON sp.small_practice AND k.small_practice AND sp.reweighted_key = k.rw_key AND k.rw_key <> ''
        LEFT JOIN _sc_weight_scenarios ns ON NOT ns.small_practice AND ns.reweighted_key = k.rw_key)
    SELECT *,
           -- proportional fallback when the year lists no scenario for this combination ([?] rule final.redistribution_fallback)
           wq IS NULL AS w_fallback
    FROM pick
    """)
    # nullif: every category reweighted leaves no weight to share (all weights 0 -> fewer than two -> threshold)
    remaining = (f"nullif(CASE WHEN q_rw THEN 0 ELSE {std['quality']} END + CASE WHEN ia_rw THEN 0 ELSE {std['ia']} END"
                 f" + CASE WHEN c_rw THEN 0 ELSE {std['cost']} END + CASE WHEN pi_rw THEN 0 ELSE {std['pi']} END, 0)")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_weights2 AS
    SELECT * REPLACE (
        coalesce(wq, CASE WHEN q_rw THEN 0 ELSE coalesce(100.0 * {std['quality']} / {remaining}, 0) END) AS wq,
        coalesce(wc, CASE WHEN c_rw THEN 0 ELSE 100.0 * {std['cost']} / {remaining} END) AS wc,
        coalesce(wia, CASE WHEN ia_rw THEN 0 ELSE coalesce(100.0 * {std['ia']} / {remaining}, 0) END) AS wia,
        coalesce(wpi, CASE WHEN pi_rw THEN 0 ELSE 100.0 * {std['pi']} / {remaining} END) AS wpi,
        coalesce(w_source, 'proportional redistribution [?]') AS w_source,
        coalesce(w_rule, 'final.redistribution_fallback') AS w_rule)
    FROM _sc_weights
    """)
    apply_apm_weights(con)  # an APM entity's weights: the APM scoring standard or the APP (rules apm.*)
    base_sql, excep_sql = adjustment_sql(rules, "final_score", scaling_factor, exceptional_scaling_factor)
    low_sql, high_sql = adjustment_range_sql(rules, "final_score", scaling_factor, exceptional_scaling_factor)
    sf = resolve_factor(rules, scaling_factor, "payment.scaling_factor")
    esf = resolve_factor(rules, exceptional_scaling_factor, "payment.exceptional_scaling_factor")
    apt = rules["payment.additional_performance_threshold"]
    exceptional_applies = f"final_score >= {float(apt)}" if apt is not None else "FALSE"
    # How sure the adjustment is: no factor needed below the threshold; a factor given or published by CMS is
    # exact, one from a secondary source an estimate, an unknown one a range (spec §4.2).
    basis = adjustment_basis_rank_sql(rules, "final_score", scaling_factor, exceptional_scaling_factor)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_final AS
    WITH s AS (
        SELECT *, (wq > 0)::INT + (wc > 0)::INT + (wia > 0)::INT + (wpi > 0)::INT AS n_weighted,
               q_sent OR pi_sent OR ia_sent AS data_submitted,
               (CASE WHEN q_rw THEN 0 ELSE coalesce(q_score, 0) * wq END + CASE WHEN c_rw THEN 0 ELSE coalesce(c_score, 0) * wc END
                + CASE WHEN ia_rw THEN 0 ELSE coalesce(ia_score, 0) * wia END + CASE WHEN pi_rw THEN 0 ELSE coalesce(pi_score, 0) * wpi END) / 100.0 AS weighted_score
        FROM _sc_weights2),
    c AS (
        -- the bonus CMS reports (input) wins; else computed from average HCC / dual proportion by the year's formula
        SELECT *, {cpb_computed} AS cpb_computed FROM s),
    b AS (
        SELECT *, CASE WHEN small_practice AND data_submitted THEN {sp_final} ELSE 0 END AS sp_bonus,
               CASE WHEN data_submitted THEN least(greatest(coalesce(complex_patient_bonus, cpb_computed, 0), 0), {cpb_max})
                    ELSE 0 END AS cpb,
               CASE WHEN complex_patient_bonus IS NOT NULL THEN 'input'
                    WHEN cpb_computed IS NOT NULL THEN 'computed'
                    WHEN (average_hcc_risk_score IS NOT NULL OR dual_eligible_proportion IS NOT NULL) AND {lit(no_cpb_year)}
                         THEN 'not applicable'
                    WHEN average_hcc_risk_score IS NOT NULL OR dual_eligible_proportion IS NOT NULL THEN 'not computable'
               END AS cpb_basis
        FROM c),
    own AS (
        SELECT *, CASE WHEN n_weighted < 2 THEN {pt} ELSE least({cap}, weighted_score + sp_bonus + cpb) END AS final_score FROM b),
    f AS (
        -- §414.1315(a)(2) (rules virtual_group.*): a member TIN of a virtual group, and each of its TIN/NPIs, takes the
        -- virtual group's category scores, weights and final score; its adjustment applies to its own charges
        SELECT o.* REPLACE (
            CASE WHEN v.tin IS NULL THEN o.q_score ELSE v.q_score END AS q_score,
            CASE WHEN v.tin IS NULL THEN o.c_score ELSE v.c_score END AS c_score,
            CASE WHEN v.tin IS NULL THEN o.ia_score ELSE v.ia_score END AS ia_score,
            CASE WHEN v.tin IS NULL THEN o.pi_score ELSE v.pi_score END AS pi_score,
            CASE WHEN v.tin IS NULL THEN o.q_rw ELSE v.q_rw END AS q_rw,
            CASE WHEN v.tin IS NULL THEN o.c_rw ELSE v.c_rw END AS c_rw,
            CASE WHEN v.tin IS NULL THEN o.ia_rw ELSE v.ia_rw END AS ia_rw,
            CASE WHEN v.tin IS NULL THEN o.pi_rw ELSE v.pi_rw END AS pi_rw,
            CASE WHEN v.tin IS NULL THEN o.q_rw_reason ELSE v.q_rw_reason END AS q_rw_reason,
            CASE WHEN v.tin IS NULL THEN o.c_euc_reason ELSE v.c_euc_reason END AS c_euc_reason,
            CASE WHEN v.tin IS NULL THEN o.ia_rw_reason ELSE v.ia_rw_reason END AS ia_rw_reason,
            CASE WHEN v.tin IS NULL THEN o.pi_rw_reason ELSE v.pi_rw_reason END AS pi_rw_reason,
            CASE WHEN v.tin IS NULL THEN o.wq ELSE v.wq END AS wq,
            CASE WHEN v.tin IS NULL THEN o.wc ELSE v.wc END AS wc,
            CASE WHEN v.tin IS NULL THEN o.wia ELSE v.wia END AS wia,
            CASE WHEN v.tin IS NULL THEN o.wpi ELSE v.wpi END AS wpi,
            CASE WHEN v.tin IS NULL THEN o.w_source ELSE v.w_source END AS w_source,
            CASE WHEN v.tin IS NULL THEN o.w_rule ELSE v.w_rule END AS w_rule,
            CASE WHEN v.tin IS NULL THEN o.w_fallback ELSE v.w_fallback END AS w_fallback,
            CASE WHEN v.tin IS NULL THEN o.n_weighted ELSE v.n_weighted END AS n_weighted,
            CASE WHEN v.tin IS NULL THEN o.weighted_score ELSE v.weighted_score END AS weighted_score,
            CASE WHEN v.tin IS NULL THEN o.sp_bonus ELSE v.sp_bonus END AS sp_bonus,
            CASE WHEN v.tin IS NULL THEN o.cpb ELSE v.cpb END AS cpb,
            CASE WHEN v.tin IS NULL THEN o.cpb_basis ELSE v.cpb_basis END AS cpb_basis,
            CASE WHEN v.tin IS NULL THEN o.final_score ELSE v.final_score END AS final_score),
            CASE WHEN o.level = 'virtual_group' THEN o.tin WHEN v.level = 'virtual_group' THEN v.tin END AS virtual_group_id,
            CASE WHEN o.level = 'apm_entity' THEN o.tin WHEN v.level = 'apm_entity' THEN v.tin END AS apm_entity_id,
            coalesce(v.level, o.level) AS score_level, coalesce(v.tin, o.tin) AS score_tin,
            CASE WHEN v.tin IS NULL THEN o.npi END AS score_npi,
            -- the entity's own final score, before a pooled entity's replaces it (transforms/scoring/selection.py)
            o.final_score AS own_final_score
        FROM own o
        LEFT JOIN _sc_score_as m ON m.level = o.level AND m.tin = o.tin AND m.npi IS NOT DISTINCT FROM o.npi
        LEFT JOIN own v ON v.level = m.pool_level AND v.tin = m.pool_id),
    adj AS (
        -- a QP is excluded from MIPS (rule apm.qp_excluded): no adjustment
        SELECT *,
               CASE WHEN qp_excluded THEN 0.0 ELSE {base_sql} END AS base_adjustment_percent,
               CASE WHEN qp_excluded THEN 0.0 ELSE {excep_sql} END AS exceptional_adjustment_percent
        FROM f)
    SELECT *, base_adjustment_percent + exceptional_adjustment_percent AS payment_adjustment_percent,
           CASE WHEN qp_excluded THEN 0.0 ELSE {low_sql} END AS payment_adjustment_low_percent,
           CASE WHEN qp_excluded THEN 0.0 ELSE {high_sql} END AS payment_adjustment_high_percent,
           CASE WHEN qp_excluded THEN 'exact' ELSE ['exact', 'estimate', 'range'][({basis}) + 1] END AS payment_adjustment_basis,
           {exceptional_applies} AS exceptional_applies
    FROM adj
    """)


def _unconfirmed_sql(rules: Rules, conditions: dict[str, str]) -> str:
    return unconfirmed_list_sql(rules, conditions)


def category_unconfirmed(rules: Rules, section: str) -> list[str]:
    """The unconfirmed rule values of a category's section that apply this year (null = does not apply)."""
    return [p for p, leaf in rules.leaves.items() if p.startswith(section + ".") and leaf.unconfirmed and leaf.value is not None]


def final_rows_sql(rules: Rules, scaling_factor, exceptional_scaling_factor) -> str:
    """SELECT over _sc_final giving the final_scores columns (without performance_year)."""
    pt = float(rules["payment.performance_threshold"])
    apt = rules["payment.additional_performance_threshold"]
    sf = resolve_factor(rules, scaling_factor, "payment.scaling_factor")
    esf = resolve_factor(rules, exceptional_scaling_factor, "payment.exceptional_scaling_factor")
    factor_text = {"given": "given", "published": "published by CMS", "estimate": "estimate from a secondary source",
                   "range": "not published", "none": "none"}
    sf_text = (f"scaling factor {sf.point:g} ({factor_text[sf.basis]})" if sf.point is not None
               else f"scaling factor not published: {sf.low:g} to {sf.high:g}")
    esf_text = "" if esf.basis == "none" else (
        f"exceptional factor {esf.point:g} ({factor_text[esf.basis]})" if esf.point is not None
        else f"exceptional factor not published: {esf.low:g} to {esf.high:g}")
    unconfirmed = _unconfirmed_sql(rules, {
        "payment.performance_threshold": "TRUE", "payment.applicable_percent": "TRUE",
        "payment.scaling_factor": f"final_score > {pt} AND {lit(sf.basis in ('estimate', 'range'))}",
        "payment.scaling_factor_range": f"final_score > {pt} AND {lit(sf.basis == 'range')}",
        "payment.additional_performance_threshold": "TRUE" if apt is not None else "FALSE",
        "payment.exceptional_adjustment": "exceptional_applies",
        "payment.exceptional_scaling_factor": f"exceptional_applies AND {lit(esf.basis in ('estimate', 'range'))}",
        "payment.exceptional_scaling_factor_range": f"exceptional_applies AND {lit(esf.basis == 'range')}",
        "final.fewer_than_two_categories": "n_weighted < 2",
        "final.small_practice_final_bonus": "sp_bonus > 0",
        "final.complex_patient_bonus_max": "cpb > 0",
        "final.complex_patient_bonus_formula": "cpb_basis IN ('computed', 'not computable')",
        "final.cap": f"weighted_score + sp_bonus + cpb > {float(rules['final.cap'])}",
        "cost.reweighted_for_all_clinicians": lit(bool(rules["cost.reweighted_for_all_clinicians"])),
        "pi.reweight_flags": "pi_rw AND NOT reweighted_clinician_type AND NOT auto_euc",
        "pi.reweighted_clinician_types": "pi_rw AND reweighted_clinician_type",
        "euc.automatic_individual": "auto_euc AND (q_rw OR c_rw OR ia_rw OR pi_rw)",
        "euc.application_categories": ("coalesce(euc_quality, FALSE) OR coalesce(euc_cost, FALSE) OR "
                                       "coalesce(euc_ia, FALSE)"),
        "euc.submission_voids_reweighting": ("coalesce(euc_quality, FALSE) OR coalesce(euc_cost, FALSE) OR "
                                             "coalesce(euc_ia, FALSE)"),
        **{path: "virtual_group_id IS NOT NULL" for path in rules.leaves if path.startswith("virtual_group.")},
        "apm.qp_excluded": "qp_excluded", "apm.partial_qp_may_elect": "qp_excluded",
        **{path: "apm_entity_id IS NOT NULL" for path in ("apm.scoring_standard_weights", "apm.app_weights",
                                                          "apm.app_quality_measures", "apm.entity_ia_percent",
                                                          "apm.entity_pooling")},
        "pooled_entity.own_submission": ("EXISTS (SELECT 1 FROM _sc_own_used u "
                                         "WHERE u.entity_id = coalesce(virtual_group_id, apm_entity_id))"),
        "pooled_entity.virtual_group_complex_patient_bonus": "virtual_group_id IS NOT NULL AND cpb_basis = 'computed'",
        # an ACO's quality set from PY2025 (transforms/scoring/apm.py)
        "app.app_plus_quality_measures": "apm_entity_id IS NOT NULL" if rules["app.app_plus_quality_measures"] else "FALSE",
    })
    cpb_max = float(rules["final.complex_patient_bonus_max"] or 0)
    formula = rules["final.complex_patient_bonus_formula"] or {}
    cpb_text = {"average_hcc": f"{formula.get('hcc_multiplier')} x average HCC risk score",
                "standardized_hcc_dual": "standard deviations above the national medians"}.get(formula.get("method"), "")
    # the weights' own rule (standard weights or the redistribution scenario used)
    scenario_rules = [leaf.path for leaf in [rules.leaf("final.weights"), rules.leaf("final.redistribution_fallback"),
                                             *rules.under("final.redistribution").values(),
                                             rules.leaf("apm.scoring_standard_weights"), rules.leaf("apm.app_weights")]
                      if leaf.unconfirmed and leaf.value is not None]
    weights_unconfirmed = f"CASE WHEN list_contains({lit_list(scenario_rules)}, w_rule) THEN w_rule END"
    return f"""
    SELECT level, tin, npi,
           CASE WHEN q_rw THEN NULL ELSE q_score END AS quality_score, CASE WHEN c_rw THEN NULL ELSE c_score END AS cost_score,
           CASE WHEN ia_rw THEN NULL ELSE ia_score END AS ia_score, CASE WHEN pi_rw THEN NULL ELSE pi_score END AS pi_score,
           wq AS quality_weight, wc AS cost_weight, wia AS ia_weight, wpi AS pi_weight,
           weighted_score, sp_bonus AS small_practice_bonus, cpb AS complex_patient_bonus,
           cpb_basis AS complex_patient_bonus_basis, final_score,
           {pt} AS performance_threshold, {lit(apt)} AS additional_performance_threshold,
           {float(rules['payment.applicable_percent'])} AS applicable_percent,
           {lit(sf.point)}::DOUBLE AS scaling_factor, {lit(esf.point)}::DOUBLE AS exceptional_scaling_factor,
           base_adjustment_percent, exceptional_adjustment_percent, payment_adjustment_percent,
           payment_adjustment_low_percent, payment_adjustment_high_percent, payment_adjustment_basis,
           part_b_allowed_charges, part_b_allowed_charges * payment_adjustment_percent / 100.0 AS payment_adjustment_usd,
           {int(rules['payment.payment_year'])} AS payment_year, CASE WHEN qp_excluded THEN FALSE ELSE mips_eligible END AS mips_eligible,
           concat_ws('; ',
               CASE WHEN qp_excluded THEN 'Qualifying APM Participant: excluded from MIPS, no MIPS payment adjustment (rule apm.qp_excluded); '
                                          || 'the scores below are for information' END,
               CASE WHEN level = 'apm_entity' THEN 'APM entity ' || tin || ': its participants scored as one entity ('
                         || coalesce(w_rule, '') || ')'
                    WHEN apm_entity_id IS NOT NULL THEN 'participant of APM entity ' || apm_entity_id
                         || ': the APM entity''s scores and final score apply' END,
               CASE WHEN level = 'virtual_group' THEN 'virtual group ' || tin || ': its member TINs scored as one entity (§414.1315)'
                    WHEN virtual_group_id IS NOT NULL THEN 'member of virtual group ' || virtual_group_id
                         || ': the virtual group''s scores and final score apply (§414.1315(a)(2))' END,
               printf('weights Q/C/IA/PI %s/%s/%s/%s (%s)', round(wq, 2)::VARCHAR, round(wc, 2)::VARCHAR,
                      round(wia, 2)::VARCHAR, round(wpi, 2)::VARCHAR, w_source),
               CASE WHEN n_weighted < 2 THEN printf('fewer than two weighted categories: final score = performance threshold %s', {pt}::VARCHAR)
                    ELSE printf('weighted %.4f + small practice bonus %s + complex patient bonus %s, cap 100 -> %.4f',
                                weighted_score, sp_bonus::VARCHAR, round(cpb, 4)::VARCHAR, final_score) END,
               CASE WHEN final_score = {pt} THEN printf('at the threshold %s: 0%%', {pt}::VARCHAR)
                    WHEN final_score > {pt} AND base_adjustment_percent IS NULL
                         THEN printf('above threshold %s: +%.4f%% to +%.4f%% (%s)', {pt}::VARCHAR,
                                     payment_adjustment_low_percent, payment_adjustment_high_percent, {lit(sf_text)})
                    WHEN final_score > {pt} THEN printf('above threshold %s: +%.4f%% (%s)', {pt}::VARCHAR,
                                                          base_adjustment_percent, {lit(sf_text)})
                    WHEN final_score > {pt} / 4 THEN printf('below threshold %s: %.4f%% on the linear scale', {pt}::VARCHAR, base_adjustment_percent)
                    ELSE printf('at or below PT/4 = %s: maximum negative adjustment %.4f%%', ({pt} / 4)::VARCHAR, base_adjustment_percent) END,
               CASE cpb_basis
                    WHEN 'not applicable' THEN 'no complex patient bonus this performance year'
                    WHEN 'computed' THEN 'complex patient bonus ' || round(cpb, 4)::VARCHAR || ' computed ({cpb_text}) from average HCC risk score '
                         || coalesce(round(average_hcc_risk_score, 4)::VARCHAR, 'none') || ' and dual-eligible proportion '
                         || coalesce(round(dual_eligible_proportion, 4)::VARCHAR, 'none') || ', cap {cpb_max:g}'
                    WHEN 'not computable' THEN 'complex patient bonus NOT computed: the year''s formula constants are not known '
                                               || '(rule final.complex_patient_bonus_formula); give complex_patient_bonus' END,
               CASE WHEN exceptional_applies AND exceptional_adjustment_percent IS NULL
                    THEN printf('plus an exceptional performance adjustment (%s)', {lit(esf_text)})
                    WHEN exceptional_adjustment_percent > 0
                    THEN printf('exceptional performance adjustment +%.4f%% (%s)', exceptional_adjustment_percent, {lit(esf_text)}) END,
               CASE payment_adjustment_basis WHEN 'estimate' THEN 'adjustment is an ESTIMATE (factor from a secondary source)'
                    WHEN 'range' THEN 'adjustment is a RANGE: the factor is not published; pass --scaling-factor' END,
               CASE WHEN mips_eligible = FALSE THEN 'not MIPS eligible: scored because it opted in' END
           ) AS explanation,
           nullif(concat_ws(', ', {unconfirmed}, {weights_unconfirmed}), '') AS unconfirmed_rules,
           virtual_group_id, apm_entity_id
    FROM _sc_final"""


def category_rows_sql(rules: Rules) -> str:
    """SELECT over _sc_final + category tables giving category_scores columns (without performance_year)."""
    ia_max = float(rules["ia.max_points"])
    listed = {c: lit(", ".join(category_unconfirmed(rules, c)) or None) for c in CATEGORIES}
    fb_listed = ", ".join(p for p in ("facility_based.hvbp_fiscal_year_offset", "facility_based.method",
                                      "facility_based.comparison") if rules.leaf(p).unconfirmed) or None
    all_cost_reason = ("cost reweighted to 0% for every clinician this year (COVID-19 extreme and uncontrollable "
                       "circumstances, rule cost.reweighted_for_all_clinicians)")
    return f"""SELECT x.* REPLACE (CASE WHEN m.pool_id IS NOT NULL
                 THEN 'scored as ' || replace(m.pool_level, '_', ' ') || ' ' || m.pool_id || ': ' || x.explanation
                 ELSE x.explanation END AS explanation),
                 nullif(concat_ws(', ', CASE WHEN NOT reweighted THEN CASE category WHEN 'quality' THEN {listed['quality']}::VARCHAR
                 WHEN 'cost' THEN {listed['cost']}::VARCHAR WHEN 'ia' THEN {listed['ia']}::VARCHAR
                 ELSE {listed['pi']}::VARCHAR END END,
                 CASE WHEN fb.used AND x.category IN ('quality', 'cost') THEN {lit(fb_listed)} END), '') AS unconfirmed_rules FROM (
    SELECT f.level, f.tin, f.npi, 'quality' AS category, CASE WHEN f.q_rw THEN NULL ELSE coalesce(q.score_percent, 0) END
               AS score_percent, f.wq AS weight_percent,
           f.q_rw AS reweighted, CASE WHEN f.q_rw THEN f.q_rw_reason WHEN q.level IS NULL THEN 'no quality measures submitted' END AS reason,
           q.achieved + q.hp_bonus + q.e2e_bonus + q.sp_bonus AS points_earned, q.denominator AS points_possible,
           q.hp_bonus + q.e2e_bonus + q.sp_bonus AS bonus_points,
           CASE WHEN f.q_rw THEN 'reweighted: ' || f.q_rw_reason WHEN q.level IS NULL THEN 'no quality measures submitted: 0'
                WHEN q.facility_note IS NOT NULL THEN q.facility_note ELSE
           printf('achievement %.4f + high-priority bonus %s + end-to-end bonus %s + small practice bonus %s over denominator %s%s = %.4f%%',
                  q.achieved, round(q.hp_bonus, 4)::VARCHAR, round(q.e2e_bonus, 4)::VARCHAR, q.sp_bonus::VARCHAR, q.denominator::VARCHAR,
                  CASE WHEN q.improvement_pp > 0 THEN printf(' + improvement %.4f pp', q.improvement_pp) ELSE '' END,
                  q.score_percent)
           || CASE WHEN NOT coalesce(q.has_required_hp, FALSE) THEN '; no outcome/high-priority measure: that required measure scores 0' ELSE '' END
           END AS explanation
    FROM _sc_final f LEFT JOIN _sc_quality_category q ON q.level = f.score_level AND q.tin = f.score_tin AND q.npi IS NOT DISTINCT FROM f.score_npi
    UNION ALL
    SELECT f.level, f.tin, f.npi, 'cost', CASE WHEN f.c_rw THEN NULL ELSE c.score_percent END, f.wc, f.c_rw,
           CASE WHEN f.c_rw AND {lit(bool(rules['cost.reweighted_for_all_clinicians']))} THEN {lit(all_cost_reason)}
                WHEN f.c_rw AND f.c_euc_reason IS NOT NULL THEN f.c_euc_reason
                WHEN f.c_rw AND c.level IS NOT NULL THEN 'cost weight is 0 this year'
                WHEN f.c_rw THEN 'no cost measure met its case minimum with a benchmark' END,
           c.achieved, c.denominator, 0.0,
           CASE WHEN c.level IS NULL THEN 'not scored: reweighted'
                WHEN c.facility_note IS NOT NULL THEN c.facility_note || CASE WHEN f.c_rw THEN '; weight 0' ELSE '' END
                ELSE printf('average of %d scored cost measures: %.4f / %s%s = %.4f%%', c.scored, c.achieved, c.denominator::VARCHAR,
                            CASE WHEN c.improvement_pp > 0 THEN printf(' + improvement %.4f pp ((%d improved - %d declined) / %d compared)',
                                                                       c.improvement_pp, c.improved, c.declined, c.compared)
                                 ELSE '' END, c.score_percent)
                     || CASE WHEN f.c_rw THEN '; weight 0' ELSE '' END END
    FROM _sc_final f LEFT JOIN _sc_cost_category c ON c.level = f.score_level AND c.tin = f.score_tin AND c.npi IS NOT DISTINCT FROM f.score_npi
    UNION ALL
    SELECT f.level, f.tin, f.npi, 'ia', CASE WHEN f.ia_rw THEN NULL ELSE coalesce(i.score_percent, 0) END, f.wia, f.ia_rw,
           CASE WHEN f.ia_rw THEN f.ia_rw_reason WHEN i.level IS NULL THEN 'no improvement activities attested' END,
           coalesce(i.points_earned, 0), {ia_max}, 0.0,
           CASE WHEN f.ia_rw THEN 'reweighted: ' || f.ia_rw_reason ELSE coalesce(i.explanation, 'no improvement activities attested: 0') END
    FROM _sc_final f LEFT JOIN _sc_ia_category i ON i.level = f.score_level AND i.tin = f.score_tin AND i.npi IS NOT DISTINCT FROM f.score_npi
    UNION ALL
    SELECT f.level, f.tin, f.npi, 'pi', CASE WHEN f.pi_rw THEN NULL ELSE coalesce(p.score_percent, 0) END, f.wpi, f.pi_rw,
           CASE WHEN f.pi_rw THEN f.pi_rw_reason WHEN p.level IS NULL THEN 'no Promoting Interoperability data submitted'
                ELSE p.reason END,
           p.points_earned, p.points_possible, p.bonus_points,
           CASE WHEN f.pi_rw THEN 'reweighted: ' || f.pi_rw_reason WHEN p.level IS NULL THEN 'no PI data submitted: 0'
                ELSE p.explanation END
    FROM _sc_final f LEFT JOIN _sc_pi_category p ON p.level = f.score_level AND p.tin = f.score_tin AND p.npi IS NOT DISTINCT FROM f.score_npi
    ) x LEFT JOIN _sc_score_as m ON m.level = x.level AND m.tin = x.tin AND m.npi IS NOT DISTINCT FROM x.npi
    LEFT JOIN _sc_facility fb ON fb.level = coalesce(m.pool_level, x.level) AND fb.tin = coalesce(m.pool_id, x.tin)
         AND fb.npi IS NOT DISTINCT FROM CASE WHEN m.pool_id IS NULL THEN x.npi END
    """
