-- 239 / CMS155v14 Weight Assessment and Counseling for Nutrition and Physical Activity for Children/Adolescents,
-- patient-based, three groups (Group_1 BMI percentile, height and weight; Group_2 nutrition counseling; Group_3
-- physical activity counseling), each with two age stratifiers (3-11, 12-17).
-- CQL: cql/CMS155FHIRWgtAssessCounseling.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounters"
    SELECT DISTINCT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1026',  -- Preventive Care Services Individual Counseling
                             '2.16.840.1.113883.3.464.1003.101.12.1024',  -- Preventive Care Established, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1022',  -- Preventive Care Initial, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1027',  -- Preventive Care Services Group Counseling
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.464.1003.101.12.1080']) e  -- Telephone Visits
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), pregnancy AS (  -- "Pregnancy Diagnosis Which Overlaps Measurement Period" (millisecond precision; the draft CQL reads
    -- onset.toInterval(), the engine the prevalence interval: docs/ecqm.md, "Condition timing")
    SELECT DISTINCT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.526.3.378'])
    WHERE overlaps_ms(prev_lo, prev_hi, mp_start(), mp_end())
), vitals AS (  -- US Core body height (8302-2), body weight (29463-7), pediatric BMI for age (59576-9) with a value,
    -- final/amended/corrected, during day of MP
    SELECT o.person_id,
           bool_or(has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '8302-2')) AS height,
           bool_or(has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '29463-7')) AS weight,
           bool_or(has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '59576-9')) AS bmi_percentile
    FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected') AND o.has_value
      AND during_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
    GROUP BY o.person_id
), counseling AS (  -- completed counseling interventions during day of MP
    SELECT p.person_id,
           bool_or(has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.464.1003.195.12.1003')) AS nutrition,
           bool_or(has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.464.1003.118.12.1035')) AS activity
    FROM ecqm_resource p
    WHERE p.resource_type = 'Procedure' AND p.status = 'completed'
      AND during_day(p.start_ts, iv_hi(p.end_ts, p.has_timing), mp_start(), mp_end())
    GROUP BY p.person_id
), patient AS (
    SELECT p.person_id, p.age_end,
           p.age_end BETWEEN 3 AND 17 AND q.person_id IS NOT NULL AS initial_population,
           h.person_id IS NOT NULL OR pg.person_id IS NOT NULL AS denominator_exclusion,
           coalesce(v.bmi_percentile AND v.height AND v.weight, FALSE) AS numerator_1,
           coalesce(c.nutrition, FALSE) AS numerator_2, coalesce(c.activity, FALSE) AS numerator_3
    FROM ecqm_blk_patient p
    LEFT JOIN qualifying_encounter q USING (person_id)
    LEFT JOIN ecqm_blk_hospice h USING (person_id)
    LEFT JOIN pregnancy pg USING (person_id)
    LEFT JOIN vitals v USING (person_id)
    LEFT JOIN counseling c USING (person_id)
)
SELECT g.population_group, p.person_id, NULL AS episode, p.initial_population, TRUE AS denominator,
       p.denominator_exclusion, NULL AS denominator_exception,
       CASE g.n WHEN 1 THEN p.numerator_1 WHEN 2 THEN p.numerator_2 ELSE p.numerator_3 END AS numerator,
       NULL AS numerator_exclusion,
       CASE WHEN p.age_end BETWEEN 3 AND 11 THEN 'Stratification_' || g.n || '_1'
            WHEN p.age_end BETWEEN 12 AND 17 THEN 'Stratification_' || g.n || '_2' END AS strata
FROM patient p CROSS JOIN (VALUES (1, 'Group_1'), (2, 'Group_2'), (3, 'Group_3')) g(n, population_group)
