-- 318 / CMS139v14 Falls: Screening for Future Fall Risk, patient-based.
-- CQL: cql/CMS139FHIRFallRiskScreening.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounter": finished, during day of the period
    SELECT DISTINCT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.526.3.1285',            -- Ophthalmological Services
                             '2.16.840.1.113883.3.464.1003.101.12.1026',  -- Preventive Care Individual Counseling
                             '2.16.840.1.113883.3.464.1003.101.12.1013',  -- Discharge Services Nursing Facility
                             '2.16.840.1.113883.3.464.1003.101.12.1012',  -- Nursing Facility Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1014',  -- Care Services in Long Term Residential Facility
                             '2.16.840.1.113883.3.464.1003.101.12.1066',  -- Audiology Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1080',  -- Telephone Visits
                             '2.16.840.1.113883.3.464.1003.101.12.1089',  -- Virtual Encounter
                             '2.16.840.1.113883.3.526.3.1022',            -- Physical Therapy Evaluation
                             '2.16.840.1.113883.3.526.3.1011']) e         -- Occupational Therapy Evaluation
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), screened AS (  -- "Numerator": a Falls Screening assessment performed, effective during day of the period
    SELECT DISTINCT o.person_id
    FROM in_vs('Observation', ['2.16.840.1.113883.3.464.1003.118.12.1028']) o
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND during_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) >= 65 AND q.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       s.person_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN screened s USING (person_id)
