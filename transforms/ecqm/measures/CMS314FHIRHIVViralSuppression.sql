-- 338 / CMS314v3 HIV Viral Suppression, patient-based.
-- CQL: cql/CMS314FHIRHIVViralSuppression.cql (library version 1.1.000).
WITH early_encounter AS (  -- "Has Qualifying Encounter During First 240 Days of Measurement Period": finished
    SELECT DISTINCT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1008',  -- Outpatient Consultation
                             '2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                             '2.16.840.1.113762.1.4.1248.375',            -- Face-to-Face Interaction
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1022',  -- Preventive Care Initial, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1024',  -- Preventive Care Established, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1080',  -- Telephone Visits
                             '2.16.840.1.113883.3.464.1003.101.11.1150']) e  -- Preventive Care Services Other
    WHERE e.status = 'finished'
      AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_start() + INTERVAL 240 DAY)
), hiv AS (  -- verified HIV diagnosis whose onset starts before the day 90 days after the period starts
    SELECT DISTINCT b.person_id FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.464.1003.120.12.1003']) r USING (person_id, resource_id)
    WHERE b.is_verified AND CAST(r.start_ts AS DATE) < mp_start_date() + 90
), last_viral_load AS (  -- "Most Recent Viral Load Test During Measurement Period": Last by effective.earliest(),
    -- final / amended / corrected, effective.latest() during day of the period
    SELECT * FROM (
        SELECT o.person_id, o.resource_id, o.value_num, o.value_unit,
               row_number() OVER (PARTITION BY o.person_id
                                  ORDER BY coalesce(o.start_ts, o.end_ts) DESC NULLS LAST, o.resource_id DESC) AS n
        FROM in_vs('Observation', ['2.16.840.1.113762.1.4.1248.377']) o
        WHERE o.status IN ('final', 'amended', 'corrected')
          AND point_during_day(latest_ts(o.start_ts, o.end_ts), mp_start(), mp_end()))
    WHERE n = 1
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       h.person_id IS NOT NULL AND e.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator, NULL AS denominator_exclusion, NULL AS denominator_exception,
       coalesce(l.value_num < 200 AND coalesce(l.value_unit, '{copies}/mL') = '{copies}/mL', FALSE)
         OR coalesce(has_coding(l.person_id, 'Observation', l.resource_id, 'value', 'http://snomed.info/sct', '260988000')
                     OR has_coding(l.person_id, 'Observation', l.resource_id, 'value', 'http://snomed.info/sct', '260415000'),
                     FALSE) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN hiv h USING (person_id)
LEFT JOIN early_encounter e USING (person_id)
LEFT JOIN last_viral_load l USING (person_id)
