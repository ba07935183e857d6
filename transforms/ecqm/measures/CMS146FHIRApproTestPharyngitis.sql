-- 066 / CMS146v14 Appropriate Testing for Pharyngitis, episode-based (Encounter), one group, three age stratifiers.
-- CQL: cql/CMS146FHIRApproTestPharyngitis.cql (library version 1.1.000) with Antibiotic.
WITH qualifying_encounter AS (  -- "Qualifying Encounters": finished, ending during day of [start of MP, end of MP - 3 days]
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts FROM ecqm_resource e
    WHERE e.resource_type = 'Encounter' AND e.status = 'finished'
      AND point_during_day(iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end() - INTERVAL 3 DAY)
      AND (EXISTS (SELECT 1 FROM ecqm_vs_hit h
                   WHERE h.person_id = e.person_id AND h.resource_type = 'Encounter' AND h.resource_id = e.resource_id
                     AND h.element = 'code' AND h.value_set_oid IN (
                         '2.16.840.1.113883.3.464.1003.101.12.1010',  -- Emergency Department E&M Visit
                         '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                         '2.16.840.1.113883.3.464.1003.101.12.1073',  -- Medical Disability Exam
                         '2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                         '2.16.840.1.113883.3.464.1003.101.12.1080',  -- Telephone Visits
                         '2.16.840.1.113883.3.464.1003.101.12.1089',  -- Virtual Encounter
                         '2.16.840.1.113883.3.464.1003.101.12.1008',  -- Outpatient Consultation
                         '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                         '2.16.840.1.113883.3.464.1003.101.12.1027',  -- Preventive Care Services Group Counseling
                         '2.16.840.1.113883.3.464.1003.101.12.1022',  -- Preventive Care Initial, 0 to 17
                         '2.16.840.1.113883.3.464.1003.101.12.1026',  -- Preventive Care Services Individual Counseling
                         '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                         '2.16.840.1.113883.3.464.1003.101.12.1024'))  -- Preventive Care Established, 0 to 17
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'code', 'http://www.ama-assn.org/go/cpt', '99429'))
), with_antibiotic AS (  -- "Encounter With Antibiotic Ordered Within Three Days": the encounter starts 3 days or less
    -- on or before the day an antibiotic (active/completed order) is authored
    SELECT DISTINCT q.* FROM qualifying_encounter q
    JOIN in_vs('MedicationRequest', ['2.16.840.1.113883.3.464.1003.196.12.1001']) m ON m.person_id = q.person_id
     AND CAST(q.start_ts AS DATE) BETWEEN CAST(m.recorded_ts AS DATE) - INTERVAL 3 DAY AND CAST(m.recorded_ts AS DATE)
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
), episode AS (  -- "Encounter With Pharyngitis or Tonsillitis With Antibiotic": a verified acute pharyngitis or
    -- tonsillitis starting during day of the encounter (the draft CQL reads onset.toInterval(), the engine the
    -- prevalence interval: docs/ecqm.md, "Condition timing")
    SELECT DISTINCT w.* FROM with_antibiotic w
    JOIN conditions_in_vs(['2.16.840.1.113883.3.464.1003.102.12.1011', '2.16.840.1.113883.3.464.1003.102.12.1012']) c
      ON c.person_id = w.person_id AND point_during_day(c.prev_lo, w.start_ts, w.end_ts)
), excluded AS (
    -- Antibiotic."Encounter with Comorbid Condition History": a verified comorbid condition starting (date) during
    -- [encounter start date - 1 year, encounter start date]
    SELECT DISTINCT u.person_id, u.resource_id FROM episode u
    JOIN conditions_in_vs(['2.16.840.1.113883.3.464.1003.102.12.1025']) c ON c.person_id = u.person_id
     AND CAST(c.prev_lo AS DATE) BETWEEN CAST(u.start_ts AS DATE) - INTERVAL 1 YEAR AND CAST(u.start_ts AS DATE)
    UNION
    -- "Encounter with Antibiotic Medication History": an active antibiotic order whose request period overlaps day
    -- of [encounter start date - 30 days, encounter start date - 1 day]
    SELECT DISTINCT u.person_id, u.resource_id FROM episode u
    JOIN in_vs('MedicationRequest', ['2.16.840.1.113883.3.464.1003.196.12.1001']) m ON m.person_id = u.person_id
    JOIN ecqm_blk_med_request_period p ON p.person_id = m.person_id AND p.resource_id = m.resource_id
    WHERE m.status = 'active' AND is_order_intent(m.intent)
      AND overlaps_day(p.start_d, p.end_d, CAST(u.start_ts AS DATE) - INTERVAL 30 DAY, CAST(u.start_ts AS DATE) - INTERVAL 1 DAY)
    UNION
    -- "Encounter with Competing Diagnosis History": a verified competing condition starting 3 days or less on or after
    -- the day the encounter starts
    SELECT DISTINCT u.person_id, u.resource_id FROM episode u
    JOIN conditions_in_vs(['2.16.840.1.113883.3.464.1003.102.12.1017']) c ON c.person_id = u.person_id
     AND CAST(c.prev_lo AS DATE) BETWEEN CAST(u.start_ts AS DATE) AND CAST(u.start_ts AS DATE) + INTERVAL 3 DAY
), strep_test AS (  -- "Numerator": a Group A Streptococcus result with a value starting during day of
    -- [end of the encounter - 3 days, end of the encounter + 3 days]
    SELECT DISTINCT u.person_id, u.resource_id FROM episode u
    JOIN in_vs('Observation', ['2.16.840.1.113883.3.464.1003.198.12.1012']) o ON o.person_id = u.person_id
     AND point_during_day(o.start_ts, u.end_ts - INTERVAL 3 DAY, u.end_ts + INTERVAL 3 DAY)
    WHERE o.status IN ('final', 'amended', 'corrected') AND o.has_value
)
SELECT 'Group_1' AS population_group, u.person_id, 'Encounter/' || u.resource_id AS episode,
       age_at(p.birth_date, mp_start_date()) >= 3 AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL
         OR EXISTS (SELECT 1 FROM excluded x WHERE x.person_id = u.person_id AND x.resource_id = u.resource_id)
         AS denominator_exclusion,
       NULL AS denominator_exception,
       EXISTS (SELECT 1 FROM strep_test s WHERE s.person_id = u.person_id AND s.resource_id = u.resource_id) AS numerator,
       NULL AS numerator_exclusion,
       CASE WHEN age_at(p.birth_date, mp_start_date()) BETWEEN 3 AND 17 THEN 'Stratification_1_1'
            WHEN age_at(p.birth_date, mp_start_date()) BETWEEN 18 AND 64 THEN 'Stratification_1_2'
            WHEN age_at(p.birth_date, mp_start_date()) >= 65 THEN 'Stratification_1_3' END AS strata
FROM episode u
JOIN ecqm_blk_patient p USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
