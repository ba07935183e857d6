-- 128 / CMS69v14 Preventive Care and Screening: Body Mass Index (BMI) Screening and Follow-Up Plan, patient-based.
-- CQL: cql/CMS69FHIRPCSBMIScreenAndFollowUp.cql (library version 1.1.000).
WITH qe AS (  -- "Qualifying Encounter During Day Of Measurement Period": not virtual, finished
    SELECT e.person_id, e.resource_id, e.start_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.600.1.1751']) e  -- Encounter to Evaluate BMI
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND NOT has_coding(e.person_id, 'Encounter', e.resource_id, 'class',
                         'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'VR')
), pregnant AS (  -- "Is Pregnant During Measurement Period"
    -- a Pregnancy or Other Related Diagnoses condition (any verification status, as the CQL has no verified()). The
    -- CQL tests `onset.toInterval() overlaps day of "Measurement Period"`; CMS's cases expect an active diagnosis
    -- with onset before the period to exclude (DENEXPass "PregnancyOnset1YearAgo"), i.e. the condition's
    -- prevalence interval (onset to abatement; active = ongoing) overlapping the period (docs/ecqm.md).
    SELECT b.person_id FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.600.1.1623']) c USING (person_id, resource_id)
    WHERE overlaps_day(b.prev_lo, b.prev_hi, mp_start(), mp_end())
    UNION ALL  -- [USCore.ObservationPregnancyStatusProfile] (code LOINC 82810-3) valued in the same value set
    SELECT o.person_id FROM with_code('Observation', 'http://loinc.org', '82810-3') o
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND overlaps_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
      AND has_vs(o.person_id, 'Observation', o.resource_id, 'value', '2.16.840.1.113883.3.600.1.1623')
), bmi AS (  -- "BMI During Measurement Period": [USCore.BMIProfile] (LOINC 39156-5), value > 0 kg/m2
    SELECT o.person_id, o.value_num AS value
    FROM with_code('Observation', 'http://loinc.org', '39156-5') o
    WHERE o.status IN ('final', 'amended', 'corrected') AND coalesce(o.value_unit, 'kg/m2') = 'kg/m2' AND o.value_num > 0
      AND during_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
), bmi_facts AS (
    SELECT person_id, bool_or(value >= 25) AS high, bool_or(value < 18.5) AS low,
           bool_or(value >= 18.5 AND value < 25) AS normal
    FROM bmi GROUP BY person_id
), cond AS (  -- conditions with their onset (start) and prevalence interval, any verification status
    SELECT b.person_id, b.resource_id, r.start_ts AS onset_start, b.prev_lo, b.prev_hi,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113762.1.4.1047.502') AS overweight,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.526.3.1563') AS underweight,
           has_coding(b.person_id, 'Condition', b.resource_id, 'category',
                      'http://hl7.org/fhir/us/core/CodeSystem/condition-category', 'health-concern') AS health_concern
    FROM ecqm_blk_condition b JOIN ecqm_resource r ON r.person_id = b.person_id AND r.resource_type = 'Condition'
                                                  AND r.resource_id = b.resource_id
), ordered AS (  -- service / medication requests of the follow-up value sets, with their authoredOn
    SELECT r.person_id, r.resource_id, r.resource_type, r.recorded_ts AS authored_on,
           has_vs(r.person_id, r.resource_type, r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1525')  -- Follow Up for Above Normal BMI
             OR has_vs(r.person_id, r.resource_type, r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1527')  -- Referrals Where Weight Assessment May Occur
             OR has_vs(r.person_id, r.resource_type, r.resource_id, 'code', '2.16.840.1.113883.3.526.3.1561') AS for_high,  -- Medications for Above Normal BMI
           has_vs(r.person_id, r.resource_type, r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1528')  -- Follow Up for Below Normal BMI
             OR has_vs(r.person_id, r.resource_type, r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1527')
             OR has_vs(r.person_id, r.resource_type, r.resource_id, 'code', '2.16.840.1.113883.3.526.3.1562') AS for_low,  -- Medications for Below Normal BMI
           has_vs(r.person_id, r.resource_type, r.resource_id, 'reasonCode', '2.16.840.1.113762.1.4.1047.502') AS reason_overweight,
           has_vs(r.person_id, r.resource_type, r.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1563') AS reason_underweight
    FROM ecqm_resource r
    -- a refused request (doNotPerform with a refusal reason) is a ServiceNotRequested / MedicationNotRequested, not
    -- an order (as in CMS22; docs/ecqm.md)
    WHERE NOT (coalesce(r.do_not_perform, FALSE)
               AND (has_coding_element(r.person_id, r.resource_type, r.resource_id, 'doNotPerformReason')
                    OR has_coding_element(r.person_id, r.resource_type, r.resource_id, 'reasonCode')))
      AND ((r.resource_type = 'ServiceRequest'
           AND (has_vs(r.person_id, 'ServiceRequest', r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1525')
                OR has_vs(r.person_id, 'ServiceRequest', r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1527')
                OR has_vs(r.person_id, 'ServiceRequest', r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1528')))
       OR (r.resource_type = 'MedicationRequest'
           AND (has_vs(r.person_id, 'MedicationRequest', r.resource_id, 'code', '2.16.840.1.113883.3.526.3.1561')
                OR has_vs(r.person_id, 'MedicationRequest', r.resource_id, 'code', '2.16.840.1.113883.3.526.3.1562'))))
), performed AS (  -- follow-up procedures, with the start of performed
    SELECT p.person_id, p.resource_id, p.status, p.start_ts, iv_hi(p.end_ts, p.has_timing) AS end_ts,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.600.1.1525') AS for_high,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.600.1.1528') AS for_low,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'reasonCode', '2.16.840.1.113762.1.4.1047.502') AS reason_overweight,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1563') AS reason_underweight
    FROM ecqm_resource p
    WHERE p.resource_type = 'Procedure'
      AND (has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.600.1.1525')
           OR has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.600.1.1528'))
), high_intervention AS (  -- "High BMI Interventions Ordered" union "... Performed", starting during day of the period
    SELECT o.person_id FROM ordered o
    WHERE o.for_high AND point_during_day(o.authored_on, mp_start(), mp_end())
      AND (o.reason_overweight
           OR EXISTS (SELECT 1 FROM cond c WHERE c.person_id = o.person_id AND c.overweight
                        AND CAST(c.onset_start AS DATE) <= CAST(o.authored_on AS DATE)))
    UNION ALL
    SELECT p.person_id FROM performed p
    WHERE p.for_high AND point_during_day(p.start_ts, mp_start(), mp_end())
      AND (p.reason_overweight
           OR EXISTS (SELECT 1 FROM cond c WHERE c.person_id = p.person_id AND c.overweight
                        AND CAST(c.prev_lo AS DATE) <= CAST(p.start_ts AS DATE)
                        AND NOT (CAST(c.prev_hi AS DATE) < CAST(p.start_ts AS DATE))))
), low_intervention AS (  -- "Low BMI Interventions Ordered" union "... Performed", starting during day of the period
    SELECT o.person_id FROM ordered o
    WHERE o.for_low AND point_during_day(o.authored_on, mp_start(), mp_end())
      AND (o.reason_underweight
           OR EXISTS (SELECT 1 FROM cond c WHERE c.person_id = o.person_id AND c.underweight
                        AND CAST(c.onset_start AS DATE) <= CAST(o.authored_on AS DATE)))
    UNION ALL
    SELECT p.person_id FROM performed p
    WHERE p.for_low AND point_during_day(p.start_ts, mp_start(), mp_end())
      AND ((p.reason_underweight AND p.status = 'completed')
           OR (during_day(p.start_ts, p.end_ts, mp_start(), mp_end())
               AND EXISTS (SELECT 1 FROM cond c WHERE c.person_id = p.person_id AND c.underweight AND c.health_concern
                             AND CAST(c.prev_lo AS DATE) <= CAST(p.start_ts AS DATE)
                             AND NOT (CAST(c.prev_hi AS DATE) < CAST(p.start_ts AS DATE)))))
), no_follow_up_reason AS (  -- "Medical Reason For Not Documenting A Follow Up Plan For Low Or High BMI"
    SELECT r.person_id FROM ecqm_resource r JOIN qe q ON q.person_id = r.person_id
    WHERE r.resource_type = 'ServiceRequest' AND r.status = 'completed' AND r.do_not_perform  -- ServiceNotRequested
      AND (has_vs(r.person_id, 'ServiceRequest', r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1527')
           OR has_vs(r.person_id, 'ServiceRequest', r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1525')
           OR has_vs(r.person_id, 'ServiceRequest', r.resource_id, 'code', '2.16.840.1.113883.3.600.1.1528'))
      AND CAST(r.recorded_ts AS DATE) = CAST(q.start_ts AS DATE)
      AND has_vs(r.person_id, 'ServiceRequest', r.resource_id, 'doNotPerformReason', '2.16.840.1.113883.3.526.3.1007')
    UNION ALL
    SELECT r.person_id FROM ecqm_resource r JOIN qe q ON q.person_id = r.person_id
    WHERE r.resource_type = 'MedicationRequest' AND r.status = 'completed' AND r.do_not_perform  -- MedicationNotRequested
      AND (has_vs(r.person_id, 'MedicationRequest', r.resource_id, 'code', '2.16.840.1.113883.3.526.3.1561')
           OR has_vs(r.person_id, 'MedicationRequest', r.resource_id, 'code', '2.16.840.1.113883.3.526.3.1562'))
      AND CAST(r.recorded_ts AS DATE) = CAST(q.start_ts AS DATE)
      AND has_vs(r.person_id, 'MedicationRequest', r.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1007')
), no_bmi_reason AS (  -- "Medical Reason Or Patient Reason For Not Performing BMI Exam" (ObservationCancelled)
    SELECT o.person_id FROM with_code('Observation', 'http://loinc.org', '39156-5') o JOIN qe q ON q.person_id = o.person_id
    WHERE CAST(iv_hi(o.end_ts, o.has_timing) AS DATE) = CAST(q.start_ts AS DATE)
      AND (has_vs(o.person_id, 'Observation', o.resource_id, 'notDoneReason', '2.16.840.1.113883.3.526.3.1582')  -- Patient Declined
           OR has_vs(o.person_id, 'Observation', o.resource_id, 'notDoneReason', '2.16.840.1.113883.3.526.3.1007'))  -- Medical Reason
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       EXISTS (SELECT 1 FROM qe q WHERE q.person_id = p.person_id AND age_at(p.birth_date, CAST(q.start_ts AS DATE)) >= 18)
           AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL OR pc.person_id IS NOT NULL
         OR EXISTS (SELECT 1 FROM pregnant x WHERE x.person_id = p.person_id) AS denominator_exclusion,
       EXISTS (SELECT 1 FROM no_follow_up_reason x WHERE x.person_id = p.person_id)
         OR EXISTS (SELECT 1 FROM no_bmi_reason x WHERE x.person_id = p.person_id) AS denominator_exception,
       (coalesce(b.high, FALSE) AND EXISTS (SELECT 1 FROM high_intervention x WHERE x.person_id = p.person_id))
         OR (coalesce(b.low, FALSE) AND EXISTS (SELECT 1 FROM low_intervention x WHERE x.person_id = p.person_id))
         OR coalesce(b.normal AND NOT b.high AND NOT b.low, FALSE) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN ecqm_blk_palliative pc USING (person_id)
LEFT JOIN bmi_facts b USING (person_id)
