-- 379 / CMS74v15 Primary Caries Prevention Intervention as Offered by Dentists, patient-based, with three age
-- stratifiers (reported in `strata`; QPP scores one rate). CQL: cql/CMS74FHIRDentalCariesPrevention.cql (1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounters": a finished Clinical Oral Evaluation during day of the period
    SELECT DISTINCT e.person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.125.12.1003']) e
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), fluoride_days AS (  -- "Numerator": completed fluoride varnish applications ending during day of the period, on
    -- two or more distinct days
    SELECT r.person_id, count(DISTINCT CAST(iv_hi(r.end_ts, r.has_timing) AS DATE)) AS days
    FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.125.12.1002']) r
    WHERE r.status = 'completed' AND point_during_day(iv_hi(r.end_ts, r.has_timing), mp_start(), mp_end())
    GROUP BY r.person_id
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) BETWEEN 1 AND 20 AND q.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       coalesce(f.days, 0) >= 2 AS numerator,
       NULL AS numerator_exclusion,
       CASE WHEN age_at(p.birth_date, mp_start_date()) BETWEEN 1 AND 5 THEN 'Stratification_1_1'
            WHEN age_at(p.birth_date, mp_start_date()) BETWEEN 6 AND 12 THEN 'Stratification_1_2'
            WHEN age_at(p.birth_date, mp_start_date()) BETWEEN 13 AND 20 THEN 'Stratification_1_3' END AS strata
FROM ecqm_blk_patient p
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN fluoride_days f USING (person_id)
