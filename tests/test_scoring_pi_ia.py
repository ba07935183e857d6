"""Promoting Interoperability (scoring-rules.md §2.4) and improvement activities (§2.3)."""
from __future__ import annotations

from tests.test_scoring_support import TIN, entity, one, score


def pi_rows(*rows):
    out = []
    for measure_id, num, den, value, *excl in rows:
        out.append({"tin": TIN, "npi": None, "measure_id": measure_id, "numerator": num, "denominator": den,
                    "value": value, "exclusion_claimed": bool(excl and excl[0])})
    return out


ENGINE_2019 = [("PI_PPHI_1", None, None, True), ("PI_EP_1", 49, 115, None), ("PI_HIE_1", 1123, 1951, None),
               ("PI_HIE_4", 923, 951, None), ("PI_PEA_1", 861, 1809, None),
               ("PI_PHCDRR_1", None, None, True), ("PI_PHCDRR_2", None, None, True)]


def pi_score(year, rows, **ent):
    out = score(year, entities=[entity(**ent)], pi=pi_rows(*rows))
    return one(out["category_scores"], category="pi")


def test_cms_engine_example_whole_number_rounding_py2019():
    # §2.4 [V] engine v0.75.0: EP (49/115)*10 = 4, HIE_1 (1123/1951)*20 = 12, HIE_4 (923/951)*20 = 19,
    # PEA (861/1809)*40 = 19, public health 10 -> 64.
    pi = pi_score(2019, ENGINE_2019)
    assert pi.score_percent == 64
    assert "PI_EP_1 4.0" in pi.explanation and "PI_HIE_1 12.0" in pi.explanation


def test_required_measure_with_numerator_zero_gives_zero():
    # §2.4: a required measure with numerator 0 and no exclusion -> category 0.
    rows = [r if r[0] != "PI_HIE_4" else ("PI_HIE_4", 0, 951, None) for r in ENGINE_2019]
    pi = pi_score(2019, rows)
    assert pi.score_percent == 0 and "health_information_exchange" in pi.reason


def test_missing_security_risk_analysis_gives_zero():
    pi = pi_score(2019, [r for r in ENGINE_2019 if r[0] != "PI_PPHI_1"])
    assert pi.score_percent == 0 and "security_risk_analysis" in pi.reason


def test_e_prescribing_exclusion_redistributes_to_hie_py2019():
    # §2.4 [R]: e-Prescribing exclusion -> 5 + 5 to HIE Send and Receive: HIE_1 (1123/1951)*25 = 14.39 -> 14,
    # HIE_4 (923/951)*25 = 24.26 -> 24; PEA 19; public health 10 -> 67.
    rows = [r if r[0] != "PI_EP_1" else ("PI_EP_1", None, None, None, True) for r in ENGINE_2019]
    assert pi_score(2019, rows).score_percent == 67


def test_public_health_pair_required_from_py2022_and_bonus():
    # §2.4 [D][R]: PY2022 immunization (PHCDRR_1) and e-case reporting (PHCDRR_3) both required (10), syndromic bonus 5.
    base = [("PI_PPHI_1", None, None, True), ("PI_EP_1", 100, 100, None), ("PI_HIE_1", 100, 100, None),
            ("PI_HIE_4", 100, 100, None), ("PI_PEA_1", 100, 100, None), ("PI_PHCDRR_1", None, None, True)]
    assert pi_score(2022, base).score_percent == 0                       # PHCDRR_3 missing
    full = base + [("PI_PHCDRR_3", None, None, True)]
    assert pi_score(2022, full).score_percent == 100                     # 10+20+20+40+10
    # PY2023: 10 + 15 + 15 + 25 + PDMP 10 + public health 25 = 100; without PDMP (required from 2023) -> 0.
    assert pi_score(2023, full).score_percent == 0
    assert pi_score(2023, full + [("PI_EP_2", None, None, True)]).score_percent == 100


def test_hie_bidirectional_replaces_send_and_receive_py2021():
    # §2.4 [R]: PI_HIE_5 (40 points, yes/no) replaces HIE_1 + HIE_4 from PY2021: 10 + 40 + 40 + 10 = 100.
    rows = [("PI_PPHI_1", None, None, True), ("PI_EP_1", 100, 100, None), ("PI_HIE_5", None, None, True),
            ("PI_PEA_1", 100, 100, None), ("PI_PHCDRR_1", None, None, True), ("PI_PHCDRR_2", None, None, True)]
    assert pi_score(2021, rows).score_percent == 100


def test_aci_base_performance_bonus_py2017():
    # §2.4 [V]/[S]: base 50 with all required base measures; PEA_1 rate 45% -> 5 points; HIE_1 rate 10% -> 1 point;
    # HIE_2 rate 100% -> 10; registry bonus 5 -> 50 + 16 + 5 = 71.
    rows = [("ACI_PPHI_1", None, None, True), ("ACI_EP_1", 5, 10, None), ("ACI_PEA_1", 45, 100, None),
            ("ACI_HIE_1", 10, 100, None), ("ACI_HIE_2", 10, 10, None), ("ACI_PHCDRR_2", None, None, True)]
    assert pi_score(2017, rows).score_percent == 71
    # a base measure with numerator 0 -> 0
    rows0 = [r if r[0] != "ACI_EP_1" else ("ACI_EP_1", 0, 10, None) for r in rows]
    assert pi_score(2017, rows0).score_percent == 0


def test_pi_data_submitted_by_a_hospital_based_clinician_is_scored():
    # §2.4 [R]: automatic reweighting applies only when no PI data is submitted.
    pi = pi_score(2019, ENGINE_2019, hospital_based=True)
    assert not pi.reweighted and pi.score_percent == 64


def ia_score(year, activities, **ent):
    out = score(year, entities=[entity(**ent)], ia=[{"tin": TIN, "npi": None, "activity_id": a} for a in activities])
    return one(out["category_scores"], category="ia")


def test_ia_medium_and_high_weights_and_cap():
    # §2.3 [V]: medium 10, high 20, 40-point cap.
    assert ia_score(2024, ["IA_M1"]).score_percent == 25
    assert ia_score(2024, ["IA_M1", "IA_H1"]).score_percent == 75
    assert ia_score(2024, ["IA_H1", "IA_H2", "IA_M1"]).score_percent == 100     # 50 -> capped at 40


def test_ia_special_status_doubles():
    # §2.3 [V]: special status (rural, HPSA, small practice, non-patient-facing): medium 20, high 40.
    assert ia_score(2019, ["IA_M1"], rural=True).score_percent == 50
    assert ia_score(2019, ["IA_H1"], hpsa=True).score_percent == 100


def test_ia_pcmh_full_credit():
    # §2.3 [R]: PCMH -> 40 points without activities.
    out = score(2020, entities=[entity(pcmh=True)])
    assert one(out["category_scores"], category="ia").score_percent == 100


def test_ia_unweighted_from_py2025():
    # §2.3 [D][R]: PY2025+: 20 points per activity whatever its old weight; 40 with special status.
    assert ia_score(2025, ["IA_M1"]).score_percent == 50
    assert ia_score(2025, ["IA_M1", "IA_M2"]).score_percent == 100
    assert ia_score(2025, ["IA_M1"], small_practice=True).score_percent == 100


def test_ia_unknown_activity_earns_nothing():
    ia = ia_score(2024, ["IA_NOT_A_REAL_ONE"])
    assert ia.score_percent == 0 and "not in the year" in ia.explanation


def test_exclusion_sent_as_its_cms_id_py2019():
    # measures-data: PI_LVPP_1 is the e-Prescribing exclusion; a 'yes' row claims it -> same 67 as exclusion_claimed.
    rows = [r for r in ENGINE_2019 if r[0] != "PI_EP_1"] + [("PI_LVPP_1", None, None, True)]
    from transforms.scoring import score_frames
    import pandas as pd
    out = score_frames(performance_year=2019, entities=pd.DataFrame([entity()]), pi=pd.DataFrame(pi_rows(*rows)))
    assert one(out["category_scores"], category="pi").score_percent == 67
