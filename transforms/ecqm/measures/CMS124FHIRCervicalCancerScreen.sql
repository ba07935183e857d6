-- 309 / CMS124v14 Cervical Cancer Screening, patient-based.
-- CQL: cql/CMS124FHIRCervicalCancerScreen.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounters" (the measure's own list: no Annual Wellness Visit)
    SELECT DISTINCT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.464.1003.101.12.1080',  -- Telephone Visits
                             '2.16.840.1.113883.3.464.1003.101.12.1089']) e  -- Virtual Encounter
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), absence_of_cervix AS (  -- "Absence of Cervix"
    SELECT p.person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.198.12.1014']) p  -- Hysterectomy with No Residual Cervix
    WHERE p.status = 'completed' AND iv_hi(p.end_ts, p.has_timing) <= mp_end()
    UNION
    -- verified "Congenital or Acquired Absence of Cervix" condition starting on or before the end of MP; the draft
    -- CQL reads onset.toInterval(), the engine the prevalence interval (docs/ecqm.md, "Condition timing")
    SELECT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.111.12.1016'])
    WHERE prev_lo <= mp_end()
), screening AS (
    -- "Cervical Cytology Within 3 Years": Pap test with a value, latest during day of [start of MP - 2 years, end of MP]
    SELECT o.person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.464.1003.108.12.1017']) o
    WHERE o.status IN ('final', 'amended', 'corrected') AND o.has_value
      AND point_during_day(latest_ts(o.start_ts, o.end_ts), mp_start() - INTERVAL 2 YEAR, mp_end())
    UNION ALL
    -- "HPV Test Within 5 Years for Women Age 30 and Older": age 30+ on the test's date, latest during day of
    -- [start of MP - 4 years, end of MP], with a value
    SELECT o.person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.464.1003.110.12.1059']) o
    JOIN ecqm_blk_patient pt ON pt.person_id = o.person_id
    WHERE o.status IN ('final', 'amended', 'corrected') AND o.has_value
      AND age_at(pt.birth_date, CAST(latest_ts(o.start_ts, o.end_ts) AS DATE)) >= 30
      AND point_during_day(latest_ts(o.start_ts, o.end_ts), mp_start() - INTERVAL 4 YEAR, mp_end())
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       p.age_end BETWEEN 24 AND 64 AND p.sex = '248152002' AND q.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL
         OR EXISTS (SELECT 1 FROM absence_of_cervix a WHERE a.person_id = p.person_id)
         OR pc.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       EXISTS (SELECT 1 FROM screening s WHERE s.person_id = p.person_id) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN ecqm_blk_palliative pc USING (person_id)
