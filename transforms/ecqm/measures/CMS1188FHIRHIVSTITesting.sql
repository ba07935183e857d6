-- 205 / CMS1188v3 Sexually Transmitted Infection (STI) Testing for People with HIV, patient-based.
-- CQL: cql/CMS1188FHIRHIVSTITesting.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Has Qualifying Encounter During Measurement Period": finished, during day of it
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
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), hiv AS (  -- verified HIV diagnosis whose onset starts on or before the last day of the period
    SELECT DISTINCT b.person_id FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.464.1003.120.12.1003']) r USING (person_id, resource_id)
    WHERE b.is_verified AND CAST(r.start_ts AS DATE) <= mp_end_date()
), tested AS (  -- chlamydia, gonorrhea and syphilis results with a value, final / amended / corrected,
    -- effective.latest() during day of the period
    SELECT o.person_id,
           bool_or(has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113883.3.464.1003.110.12.1052')) AS chlamydia,
           bool_or(has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113762.1.4.1258.1')) AS gonorrhea,
           bool_or(has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113762.1.4.1248.389')) AS syphilis
    FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.has_value AND o.status IN ('final', 'amended', 'corrected')
      AND point_during_day(latest_ts(o.start_ts, o.end_ts), mp_start(), mp_end())
    GROUP BY o.person_id
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) >= 13 AND q.person_id IS NOT NULL AND h.person_id IS NOT NULL
           AS initial_population,
       TRUE AS denominator, NULL AS denominator_exclusion, NULL AS denominator_exception,
       coalesce(t.chlamydia AND t.gonorrhea AND t.syphilis, FALSE) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN hiv h USING (person_id)
LEFT JOIN tested t USING (person_id)
