-- 340 / CMS1157v2 HIV Annual Retention in Care, patient-based.
-- CQL: cql/CMS1157FHIRHIVRetention.cql (library version 1.1.000).
WITH visit AS (  -- the measure's encounter value sets
    SELECT e.* FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
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
), hiv AS (  -- verified HIV diagnoses with the start of their onset
    SELECT b.person_id, r.start_ts AS onset_start FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.464.1003.120.12.1003']) r USING (person_id, resource_id)
    WHERE b.is_verified
), hiv_encounter AS (  -- "Encounter During Measurement Period With HIV": finished, during day of the period, with an
    -- HIV diagnosis starting on or before its day
    SELECT v.person_id, v.resource_id, v.start_ts, iv_hi(v.end_ts, v.has_timing) AS end_ts FROM visit v
    WHERE v.status = 'finished' AND during_day(v.start_ts, iv_hi(v.end_ts, v.has_timing), mp_start(), mp_end())
      AND EXISTS (SELECT 1 FROM hiv h WHERE h.person_id = v.person_id
                    AND CAST(h.onset_start AS DATE) <= CAST(v.start_ts AS DATE))
), viral_load AS (  -- HIV viral load tests, final / amended / corrected, during day of the period
    SELECT o.person_id, o.start_ts, iv_hi(o.end_ts, o.has_timing) AS end_ts
    FROM in_vs('Observation', ['2.16.840.1.113762.1.4.1248.377']) o
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND during_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
), retained AS (  -- "Numerator": an HIV encounter and a viral load test 90 days or more apart (day of), or two HIV
    -- encounters, the second starting 90 days or more after the first ends
    SELECT e.person_id FROM hiv_encounter e JOIN viral_load l ON l.person_id = e.person_id
    WHERE CAST(l.start_ts AS DATE) >= CAST(e.end_ts AS DATE) + 90 OR CAST(e.start_ts AS DATE) >= CAST(l.end_ts AS DATE) + 90
    UNION ALL
    SELECT a.person_id FROM hiv_encounter a JOIN hiv_encounter b ON b.person_id = a.person_id AND b.resource_id <> a.resource_id
    WHERE CAST(b.start_ts AS DATE) >= CAST(a.end_ts AS DATE) + 90
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       EXISTS (SELECT 1 FROM hiv h WHERE h.person_id = p.person_id
                 AND CAST(h.onset_start AS DATE) <= mp_start_date() + 240)
         -- "Has Qualifying Encounter During First 240 Days" (no status test in this measure's CQL)
         AND EXISTS (SELECT 1 FROM visit v WHERE v.person_id = p.person_id
                       AND during_day(v.start_ts, iv_hi(v.end_ts, v.has_timing), mp_start(), mp_start() + INTERVAL 240 DAY))
           AS initial_population,
       TRUE AS denominator, NULL AS denominator_exclusion, NULL AS denominator_exception,
       EXISTS (SELECT 1 FROM retained r WHERE r.person_id = p.person_id) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
