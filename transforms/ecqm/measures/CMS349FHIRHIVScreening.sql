-- 475 / CMS349v8 HIV Screening, patient-based. CQL: cql/CMS349FHIRHIVScreening.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounters": finished, during day of the period
    SELECT DISTINCT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1022',  -- Preventive Care Initial, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1024',  -- Preventive Care Established, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1001']) e  -- Office Visit
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), hiv_diagnosis AS (  -- "Denominator Exclusions": verified HIV whose onset starts before the period's first day
    SELECT DISTINCT b.person_id FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.464.1003.120.12.1003']) c USING (person_id, resource_id)
    WHERE b.is_verified AND CAST(c.start_ts AS DATE) < mp_start_date()
), hiv_test AS (  -- "Has HIV Test Performed": a result with a value, final / amended / corrected, taken at age
    -- 15-65 and starting before the last day of the period
    SELECT DISTINCT o.person_id FROM ecqm_resource o JOIN ecqm_blk_patient p ON p.person_id = o.person_id
    WHERE o.resource_type = 'Observation' AND o.has_value AND o.status IN ('final', 'amended', 'corrected')
      AND (has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113762.1.4.1056.50')
           OR has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '75622-1'))
      AND age_at(p.birth_date, CAST(o.start_ts AS DATE)) BETWEEN 15 AND 65
      AND CAST(o.start_ts AS DATE) < mp_end_date()
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) BETWEEN 15 AND 65 AND q.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       d.person_id IS NOT NULL AS denominator_exclusion,
       coalesce(CAST(x.deceased_ts AS DATE) <= mp_end_date(), FALSE) AS denominator_exception,  -- "Patient Expired"
       t.person_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
JOIN ecqm_patient x USING (person_id)
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN hiv_diagnosis d USING (person_id)
LEFT JOIN hiv_test t USING (person_id)
