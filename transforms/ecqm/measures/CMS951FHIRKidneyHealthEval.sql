-- 488 / CMS951v4 Kidney Health Evaluation, patient-based.
-- CQL: cql/CMS951FHIRKidneyHealthEval.cql (library version 1.1.000).
WITH dx AS (  -- diabetes / CKD stage 5 / ESRD conditions neither refuted nor entered in error, with their
    -- prevalence interval: the CQL's `onset.toInterval()` read as in CMS69 / CMS159 (docs/ecqm.md); "overlaps before"
    -- the period cannot hold for an onset dateTime otherwise
    SELECT b.person_id, b.prev_lo, b.prev_hi,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.464.1003.103.12.1001') AS diabetes,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.526.3.1002')
             OR has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.526.3.353') AS ckd5_esrd
    FROM ecqm_blk_condition b
    WHERE NOT has_coding(b.person_id, 'Condition', b.resource_id, 'verificationStatus',
                         'http://terminology.hl7.org/CodeSystem/condition-ver-status', 'refuted')
      AND NOT has_coding(b.person_id, 'Condition', b.resource_id, 'verificationStatus',
                         'http://terminology.hl7.org/CodeSystem/condition-ver-status', 'entered-in-error')
), outpatient_visit AS (  -- "Has Outpatient Visit During Measurement Period"
    SELECT DISTINCT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1008',  -- Outpatient Consultation
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1080']) e  -- Telephone Visits
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), lab AS (  -- laboratory results, final / amended / corrected, effective during day of the period
    SELECT o.person_id, o.resource_id, o.start_ts, iv_hi(o.end_ts, o.has_timing) AS end_ts, o.has_value,
           o.value_num IS NOT NULL OR o.value_unit IS NOT NULL AS quantity_value,
           has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113883.3.6929.3.1000') AS egfr,
           has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113883.3.6929.3.1007') AS uacr,
           has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113762.1.4.1178.88') AS albumin,
           has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113762.1.4.1178.87') AS creatinine,
           has_vs(o.person_id, 'Observation', o.resource_id, 'value', '2.16.840.1.113762.1.4.1248.272') AS undetectable
    FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected')
      AND during_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
), kidney_panel AS (  -- "Kidney Panel Performed During Measurement Period"
    SELECT DISTINCT g.person_id FROM lab g
    WHERE g.egfr AND g.has_value
      AND (EXISTS (SELECT 1 FROM lab u WHERE u.person_id = g.person_id AND u.uacr AND (u.quantity_value OR u.undetectable))
           -- urine albumin within 4 days of a urine creatinine test (both with a value)
           OR EXISTS (SELECT 1 FROM lab a JOIN lab c ON c.person_id = a.person_id
                      WHERE a.person_id = g.person_id AND a.albumin AND a.has_value AND c.creatinine AND c.has_value
                        AND a.start_ts >= c.start_ts - INTERVAL 4 DAY AND a.end_ts <= c.end_ts + INTERVAL 4 DAY))
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) BETWEEN 18 AND 85
         AND EXISTS (SELECT 1 FROM dx d WHERE d.person_id = p.person_id AND d.diabetes  -- overlaps before day of the period
                       AND CAST(d.prev_lo AS DATE) < mp_start_date() AND CAST(d.prev_hi AS DATE) >= mp_start_date())
         AND v.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       EXISTS (SELECT 1 FROM dx d WHERE d.person_id = p.person_id AND d.ckd5_esrd
                 AND overlaps_day(d.prev_lo, d.prev_hi, mp_start(), mp_end()))
         OR h.person_id IS NOT NULL OR pc.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       k.person_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN outpatient_visit v USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN ecqm_blk_palliative pc USING (person_id)
LEFT JOIN kidney_panel k USING (person_id)
