-- 317 / CMS22v14 Preventive Care and Screening: Screening for High Blood Pressure and Follow-Up Documented,
-- episode-based (Encounter). CQL: cql/CMS22FHIRPCSBPScreeningFollowUp.cql (library version 1.1.000).
WITH qe AS (  -- "Qualifying Encounter during Measurement Period": ends during day of the period, finished, not virtual
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.600.1920']) e  -- Encounter to Screen for Blood Pressure
    WHERE e.status = 'finished' AND point_during_day(iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND NOT has_coding(e.person_id, 'Encounter', e.resource_id, 'class',
                         'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'VR')
), bp AS (  -- [USCore.BloodPressureProfile] (LOINC 85354-9), final/amended/corrected, with systolic and diastolic
    SELECT o.person_id, o.resource_id, o.start_ts, iv_hi(o.end_ts, o.has_timing) AS end_ts,
           max(c.value_num) FILTER (WHERE c.code = '8480-6' AND coalesce(c.value_unit, 'mm[Hg]') = 'mm[Hg]') AS sbp,
           max(c.value_num) FILTER (WHERE c.code = '8462-4' AND coalesce(c.value_unit, 'mm[Hg]') = 'mm[Hg]') AS dbp
    FROM with_code('Observation', 'http://loinc.org', '85354-9') o
    LEFT JOIN ecqm_component c ON c.person_id = o.person_id AND c.resource_id = o.resource_id
                              AND c.code_system = 'http://loinc.org'
    WHERE o.status IN ('final', 'amended', 'corrected')
      -- an observation that also codes itself as a single systolic or diastolic measurement is not a blood
      -- pressure panel reading (CMS's case "SystolicNoDiastolic"; docs/ecqm.md)
      AND NOT has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '8480-6')
      AND NOT has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '8462-4')
    GROUP BY ALL
), last_bp AS (  -- per encounter: Last(BP whose effective ends during day of the encounter, by start of effective)
    SELECT * FROM (
        SELECT q.person_id, q.resource_id, b.sbp, b.dbp,
               row_number() OVER (PARTITION BY q.person_id, q.resource_id
                                  ORDER BY b.start_ts DESC NULLS LAST, b.resource_id DESC) AS n
        FROM qe q JOIN bp b ON b.person_id = q.person_id AND point_during_day(b.end_ts, q.start_ts, q.end_ts))
    WHERE n = 1
), prior_bp AS (  -- per encounter: Last(BP ending 1 year or less before or on the start of the encounter)
    SELECT * FROM (
        SELECT q.person_id, q.resource_id, b.sbp, b.dbp,
               row_number() OVER (PARTITION BY q.person_id, q.resource_id
                                  ORDER BY b.start_ts DESC NULLS LAST, b.resource_id DESC) AS n
        FROM qe q JOIN bp b ON b.person_id = q.person_id
                          AND b.end_ts BETWEEN q.start_ts - INTERVAL 1 YEAR AND q.start_ts)
    WHERE n = 1
), category AS (  -- the encounter's reading category (CQL three-valued logic: a missing value is unknown)
    SELECT q.person_id, q.resource_id, q.start_ts, q.end_ts,
           coalesce(l.sbp >= 1 AND l.sbp < 120 AND l.dbp >= 1 AND l.dbp < 80, FALSE) AS normal,
           coalesce(l.sbp BETWEEN 120 AND 129 AND l.dbp >= 1 AND l.dbp < 80, FALSE) AS elevated,
           -- "Encounter with Hypertensive Reading Within Year Prior"
           coalesce(p.sbp > 0 AND p.dbp > 0 AND (p.sbp >= 130 OR p.dbp >= 80), FALSE) AS prior_htn,
           coalesce(l.sbp > 0 AND l.dbp > 0 AND (l.sbp >= 130 OR l.dbp >= 80), FALSE) AS htn_any,
           coalesce((l.sbp BETWEEN 130 AND 139 OR l.dbp BETWEEN 80 AND 89) AND NOT (l.sbp >= 140 OR l.dbp >= 90), FALSE)
               AS htn_130_139,
           coalesce(l.sbp > 0 AND l.dbp > 0 AND (l.sbp >= 140 OR l.dbp >= 90), FALSE) AS htn_140
    FROM qe q LEFT JOIN last_bp l USING (person_id, resource_id) LEFT JOIN prior_bp p USING (person_id, resource_id)
), enc AS (
    SELECT c.*, c.htn_any AND NOT c.prior_htn AS first_htn, c.htn_130_139 AND c.prior_htn AS second_130,
           c.htn_140 AND c.prior_htn AS second_140
    FROM category c
), request AS (  -- service and medication requests with what the interventions test
    SELECT r.person_id, r.resource_type, r.resource_id, r.status, r.intent, r.recorded_ts AS authored_on,
           coalesce(r.do_not_perform, FALSE) AS not_requested,
           coalesce(r.do_not_perform, FALSE)
             AND (has_coding_element(r.person_id, r.resource_type, r.resource_id, 'doNotPerformReason')
                  OR has_coding_element(r.person_id, r.resource_type, r.resource_id, 'reasonCode')) AS refused,
           list(h.value_set_oid) FILTER (WHERE h.element = 'code') AS code_vs,
           -- the decline reason: reasonCode as the CQL reads it, or the doNotPerformReason extension where the
           -- deck's ServiceNotRequested resources carry it (docs/ecqm.md)
           list(h.value_set_oid) FILTER (WHERE h.element = 'reasonCode') AS reason_vs,
           list(h.value_set_oid) FILTER (WHERE h.element IN ('reasonCode', 'doNotPerformReason')) AS decline_vs,
           has_coding(r.person_id, r.resource_type, r.resource_id, 'code', 'http://loinc.org', '34534-8')
             OR has_coding(r.person_id, r.resource_type, r.resource_id, 'code', 'http://loinc.org', '11524-6') AS ekg
    FROM ecqm_resource r
    LEFT JOIN ecqm_vs_hit h ON h.person_id = r.person_id AND h.resource_type = r.resource_type AND h.resource_id = r.resource_id
    WHERE r.resource_type IN ('ServiceRequest', 'MedicationRequest')
    GROUP BY ALL
), req AS (
    SELECT *, coalesce(code_vs, []) AS cvs, coalesce(reason_vs, []) AS rvs, coalesce(decline_vs, []) AS dvs,
           point_during_day(authored_on, mp_start(), mp_end()) AS in_period
    FROM request
), kinds AS (
    SELECT *,
           resource_type = 'ServiceRequest' AND list_contains(cvs, '2.16.840.1.113762.1.4.1108.125') AS fu_6_months,
           resource_type = 'ServiceRequest' AND list_contains(cvs, '2.16.840.1.113883.3.526.3.1578') AS fu_4_weeks,
           resource_type = 'ServiceRequest' AND (ekg OR list_contains(cvs, '2.16.840.1.113883.3.600.1482')) AS lab_ecg,
           resource_type = 'ServiceRequest'
             AND list_has_any(cvs, ['2.16.840.1.113883.3.526.3.1581', '2.16.840.1.113883.3.600.1510',
                                    '2.16.840.1.113883.3.600.1515', '2.16.840.1.113883.3.600.1518',
                                    '2.16.840.1.113883.3.526.3.1583']) AS non_pharm,
           resource_type = 'ServiceRequest' AND list_contains(cvs, '2.16.840.1.113883.3.526.3.1580') AS referral_pcp,
           resource_type = 'MedicationRequest' AND list_contains(cvs, '2.16.840.1.113883.3.526.1577') AS htn_med,
           list_contains(dvs, '2.16.840.1.113883.3.526.3.1582') AS reason_declined,
           is_order_intent(intent) AS order_intent
    FROM req
), positive AS (  -- [ServiceRequest: ...] / [MedicationRequest: ...]: every request but a refused one (doNotPerform
    -- with a refusal reason). CMS's cases count doNotPerform requests without a reason as orders
    -- ("2EncsSecondDeclined") and refused ones not ("2HTN130DeclinedLabOthersBoth130"); docs/ecqm.md
    SELECT * FROM kinds WHERE NOT refused
), ordered AS (
    SELECT person_id,
           bool_or(lab_ecg AND order_intent AND in_period) AS lab_ecg_in_period,
           bool_or(non_pharm AND order_intent AND in_period) AS non_pharm_in_period,
           bool_or(htn_med AND in_period AND status IN ('active', 'completed')) AS med_in_period
    FROM positive GROUP BY person_id
), declined AS (  -- the ServiceNotRequested / MedicationNotRequested retrieves: doNotPerform requests
    SELECT person_id, authored_on,
           referral_pcp AND status IN ('active', 'completed', 'on-hold') AND reason_declined AS referral,
           fu_6_months AND status IN ('active', 'completed', 'on-hold') AND reason_declined AS fu6,
           fu_4_weeks AND status IN ('active', 'completed', 'on-hold') AND reason_declined AS fu4,
           non_pharm AND status IN ('active', 'completed', 'on-hold') AND reason_declined AS non_pharm,
           lab_ecg AND status IN ('active', 'completed', 'on-hold') AND reason_declined AS lab_ecg,
           htn_med AND status IN ('active', 'completed') AS med
    FROM kinds WHERE not_requested
), numer AS (
    SELECT e.person_id, e.resource_id,
           e.normal
           -- elevated: 6-month rescreen and a non-pharmacological intervention that day, or a referral that day
           OR (e.elevated AND ((EXISTS (SELECT 1 FROM positive k WHERE k.person_id = e.person_id AND k.fu_6_months
                                          AND k.intent = 'order' AND point_during_day(k.authored_on, e.start_ts, e.end_ts))
                                AND EXISTS (SELECT 1 FROM positive k WHERE k.person_id = e.person_id AND k.non_pharm
                                              AND k.order_intent AND point_during_day(k.authored_on, e.start_ts, e.end_ts)))
                               OR ref.day_referral))
           -- first hypertensive reading: 4-week rescreen that day with a non-pharmacological intervention in the
           -- period, or a referral that day
           OR (e.first_htn AND ((EXISTS (SELECT 1 FROM positive k WHERE k.person_id = e.person_id AND k.fu_4_weeks
                                           AND k.order_intent AND k.in_period
                                           AND point_during_day(k.authored_on, e.start_ts, e.end_ts))
                                 AND coalesce(o.non_pharm_in_period, FALSE))
                                OR ref.day_referral))
           -- second reading 130-139 / 80-89: 6-month rescreen that day with a lab/ECG and a non-pharmacological
           -- intervention in the period, or a referral that day
           OR (e.second_130 AND ((EXISTS (SELECT 1 FROM positive k WHERE k.person_id = e.person_id AND k.fu_6_months
                                            AND k.intent = 'order' AND k.in_period
                                            AND point_during_day(k.authored_on, e.start_ts, e.end_ts))
                                  AND coalesce(o.lab_ecg_in_period AND o.non_pharm_in_period, FALSE))
                                 OR ref.day_referral))
           -- second reading >= 140 / 90: 4-week rescreen that day with a lab/ECG, a non-pharmacological
           -- intervention and an antihypertensive medication in the period, or a referral that day
           OR (e.second_140 AND ((EXISTS (SELECT 1 FROM positive k WHERE k.person_id = e.person_id AND k.fu_4_weeks
                                            AND k.order_intent AND k.in_period
                                            AND point_during_day(k.authored_on, e.start_ts, e.end_ts))
                                  AND coalesce(o.lab_ecg_in_period AND o.non_pharm_in_period AND o.med_in_period, FALSE))
                                 OR ref.day_referral)) AS met
    FROM enc e
    LEFT JOIN ordered o ON o.person_id = e.person_id
    -- "Referral to Alternate or Primary Healthcare Professional for Hypertensive Reading" authored that day
    CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM positive k WHERE k.person_id = e.person_id AND k.referral_pcp
                                         AND k.order_intent
                                         AND list_contains(k.rvs, '2.16.840.1.113762.1.4.1047.514')
                                         AND point_during_day(k.authored_on, e.start_ts, e.end_ts)) AS day_referral) ref
), excep AS (
    SELECT e.person_id, e.resource_id,
           -- "Encounter with Medical Reason for Not Obtaining or Patient Declined Blood Pressure Measurement"
           EXISTS (SELECT 1 FROM ecqm_resource o
                   JOIN ecqm_coding c ON c.person_id = o.person_id AND c.resource_type = 'Observation'
                                     AND c.resource_id = o.resource_id AND c.element = 'code'
                                     AND c.code_system = 'http://loinc.org' AND c.code IN ('85354-9', '8480-6', '8462-4')
                   WHERE o.person_id = e.person_id AND o.resource_type = 'Observation'
                     AND point_during_day(o.issued_ts, e.start_ts, e.end_ts)
                     AND (has_vs(o.person_id, 'Observation', o.resource_id, 'notDoneReason', '2.16.840.1.113883.3.526.3.1582')
                          OR has_vs(o.person_id, 'Observation', o.resource_id, 'notDoneReason', '2.16.840.1.113883.3.526.3.1007')))
           -- "Encounter with Order for Hypertension Follow Up Declined by Patient": declined that day
           OR EXISTS (SELECT 1 FROM declined d
                      WHERE d.person_id = e.person_id AND point_during_day(d.authored_on, e.start_ts, e.end_ts)
                        AND ((e.elevated AND (d.referral OR d.fu6 OR d.non_pharm))
                             OR (e.first_htn AND (d.fu4 OR d.referral OR d.non_pharm))
                             OR (e.second_130 AND (d.referral OR d.fu6 OR d.lab_ecg OR d.non_pharm))
                             OR (e.second_140 AND (d.referral OR d.fu4 OR d.med OR d.lab_ecg OR d.non_pharm)))) AS met
    FROM enc e
), hypertension AS (  -- "Denominator Exclusions": verified hypertension starting on or before the encounter's day
    SELECT DISTINCT q.person_id, q.resource_id
    FROM qe q JOIN ecqm_blk_condition b ON b.person_id = q.person_id
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.600.263']) c ON c.person_id = b.person_id AND c.resource_id = b.resource_id
    -- CQL: "starts before or on day of" the encounter; CMS's cases (HypertensionDuringEnc: onset 15 minutes after
    -- the encounter starts, same day, not excluded) compare the timestamps (docs/ecqm.md)
    WHERE b.is_verified AND b.prev_lo <= q.start_ts
)
SELECT 'Group_1' AS population_group, q.person_id, 'Encounter/' || q.resource_id AS episode,
       age_at(p.birth_date, mp_start_date()) >= 18 AS initial_population,
       TRUE AS denominator,
       h.resource_id IS NOT NULL AS denominator_exclusion,
       x.met AS denominator_exception,
       n.met AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM qe q
JOIN ecqm_blk_patient p USING (person_id)
LEFT JOIN hypertension h USING (person_id, resource_id)
LEFT JOIN numer n USING (person_id, resource_id)
LEFT JOIN excep x USING (person_id, resource_id)
