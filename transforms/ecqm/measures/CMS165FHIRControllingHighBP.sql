-- 236 / CMS165v14 Controlling High Blood Pressure, patient-based.
-- CQL: cql/CMS165FHIRControllingHighBP.cql (library version 1.1.000) with AdultOutpatientEncounters 5.1.000.
WITH qualifying_encounter AS (  -- AdultOutpatientEncounters."Qualifying Encounters"
    SELECT DISTINCT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.464.1003.101.12.1089',  -- Virtual Encounter
                             '2.16.840.1.113883.3.464.1003.101.12.1080']) e  -- Telephone Visits
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), hypertension AS (  -- "Essential Hypertension Diagnosis": overlaps the first six months (millisecond precision)
    SELECT DISTINCT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.104.12.1011'])
    WHERE overlaps_ms(prev_lo, prev_hi, mp_start(), mp_start() + INTERVAL 6 MONTH - INTERVAL 1 MILLISECOND)
), pregnancy_or_renal AS (  -- "Pregnancy or Renal Diagnosis"
    SELECT DISTINCT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.526.3.378',   -- Pregnancy
                                                     '2.16.840.1.113883.3.526.3.353',   -- End Stage Renal Disease
                                                     '2.16.840.1.113883.3.464.1003.109.12.1029',  -- Kidney Transplant Recipient
                                                     '2.16.840.1.113883.3.526.3.1002'])  -- CKD Stage 5
    WHERE overlaps_ms(prev_lo, prev_hi, mp_start(), mp_end())
), esrd AS (  -- "End Stage Renal Disease Procedures" or "End Stage Renal Disease Encounter"
    SELECT person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.109.12.1012',  -- Kidney Transplant
                                              '2.16.840.1.113883.3.464.1003.109.12.1013']) p  -- Dialysis Services
    WHERE p.status = 'completed' AND iv_hi(p.end_ts, p.has_timing) <= mp_end()
    UNION
    SELECT person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.109.12.1014']) e  -- ESRD Monthly Outpatient
    WHERE e.status = 'finished' AND e.start_ts <= mp_end()
), acute_encounter AS (  -- Encounter Inpatient or Emergency Department Evaluation and Management Visit, performed
    SELECT person_id, start_ts, iv_hi(end_ts, has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.666.5.307', '2.16.840.1.113883.3.464.1003.101.12.1010'])
    WHERE status = 'finished'
), bp AS (  -- [USCore.BloodPressureProfile] performed, latest in the period
    SELECT o.person_id, o.resource_id, o.encounter_id, latest_ts(o.start_ts, o.end_ts) AS taken
    FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected')
      AND point_during_day(latest_ts(o.start_ts, o.end_ts), mp_start(), mp_end())
      AND has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '85354-9')
), qualifying_bp AS (  -- "Qualifying Blood Pressure Reading": not during an acute encounter, or its own encounter is not acute
    SELECT b.* FROM bp b
    WHERE NOT EXISTS (SELECT 1 FROM acute_encounter a
                      WHERE a.person_id = b.person_id AND point_during_day(b.taken, a.start_ts, a.end_ts))
       OR EXISTS (SELECT 1 FROM ecqm_resource e
                  WHERE e.person_id = b.person_id AND e.resource_type = 'Encounter' AND e.resource_id = b.encounter_id
                    AND e.class_code NOT IN ('EMER', 'IMP', 'ACUTE', 'NONAC', 'PRENC', 'SS'))
), readings AS (  -- systolic and diastolic of each reading (singleton from the component)
    SELECT b.person_id, CAST(b.taken AS DATE) AS day,
           max(c.value_num) FILTER (WHERE c.code_system = 'http://loinc.org' AND c.code = '8480-6'
                                     AND coalesce(c.value_unit, 'mm[Hg]') = 'mm[Hg]') AS systolic,
           max(c.value_num) FILTER (WHERE c.code_system = 'http://loinc.org' AND c.code = '8462-4'
                                     AND coalesce(c.value_unit, 'mm[Hg]') = 'mm[Hg]') AS diastolic
    FROM qualifying_bp b LEFT JOIN ecqm_component c ON c.person_id = b.person_id AND c.resource_id = b.resource_id
    GROUP BY b.person_id, b.resource_id, b.taken
), lowest AS (  -- lowest reading on the most recent day; CQL sorts a missing value first, so it is the lowest
    SELECT person_id,
           CASE WHEN count(*) = count(systolic) THEN min(systolic) END AS systolic,
           CASE WHEN count(*) = count(diastolic) THEN min(diastolic) END AS diastolic
    FROM readings WHERE (person_id, day) IN (SELECT person_id, max(day) FROM readings GROUP BY person_id)
    GROUP BY person_id
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       p.age_end BETWEEN 18 AND 85 AND ht.person_id IS NOT NULL AND q.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL OR pr.person_id IS NOT NULL OR es.person_id IS NOT NULL
         OR (p.age_end BETWEEN 66 AND 80 AND f.person_id IS NOT NULL AND ai.person_id IS NOT NULL)
         OR (p.age_end >= 81 AND f.person_id IS NOT NULL)
         OR (p.age_end >= 66 AND nh.person_id IS NOT NULL)
         OR pc.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       coalesce(l.systolic < 140 AND l.diastolic < 90, FALSE) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN hypertension ht USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN pregnancy_or_renal pr USING (person_id)
LEFT JOIN (SELECT DISTINCT person_id FROM esrd) es USING (person_id)
LEFT JOIN ecqm_blk_frailty f USING (person_id)
LEFT JOIN ecqm_blk_advanced_illness ai USING (person_id)
LEFT JOIN ecqm_blk_nursing_home nh USING (person_id)
LEFT JOIN ecqm_blk_palliative pc USING (person_id)
LEFT JOIN lowest l USING (person_id)
