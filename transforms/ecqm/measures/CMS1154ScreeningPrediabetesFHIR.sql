-- 515 / CMS1154v1 Screening for Abnormal Glucose Metabolism in Patients at Risk of Developing Diabetes,
-- patient-based. CQL: cql/CMS1154ScreeningPrediabetesFHIR.cql (library version 1.1.000).
-- As for CMS69/CMS159 (docs/ecqm.md), a diagnosis' `onset.toInterval()` is read as its prevalence interval: CMS's
-- case "DENEX-prediabetes-dayoftest-longago" (active prediabetes with onset in 2000) expects the exclusion.
WITH visits AS (
    SELECT e.person_id,
           bool_or(has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113762.1.4.1160.13')
                   AND point_during_day(iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())) AS preventive,
           count(*) FILTER (WHERE has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113762.1.4.1160.24')
                              AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())) AS office
    FROM ecqm_resource e
    WHERE e.resource_type = 'Encounter' AND e.status = 'finished'
    GROUP BY e.person_id
), most_recent_bmi AS (  -- "Most Recent BMI": First(BMI final/amended/corrected, sorted by start of effective desc)
    SELECT person_id, value_num, value_unit FROM (
        SELECT o.person_id, o.value_num, o.value_unit,
               row_number() OVER (PARTITION BY o.person_id ORDER BY o.start_ts DESC NULLS LAST, o.resource_id DESC) AS n
        FROM with_code('Observation', 'http://loinc.org', '39156-5') o
        WHERE o.status IN ('final', 'amended', 'corrected'))
    WHERE n = 1
), glycemic AS (  -- [LaboratoryResultObservation: "Glycemic Screening Tests"], final / amended / corrected
    SELECT o.person_id, CAST(o.start_ts AS DATE) AS lo, CAST(iv_hi(o.end_ts, o.has_timing) AS DATE) AS hi
    FROM in_vs('Observation', ['2.16.840.1.113762.1.4.1160.5']) o
    WHERE o.status IN ('final', 'amended', 'corrected')
), dx AS (  -- verified conditions of the exclusion value sets, with their prevalence interval
    SELECT b.person_id, b.prev_lo, b.prev_hi, r.start_ts AS onset_start,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.526.3.378') AS pregnancy,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.464.1003.110.12.1082')
             OR has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.526.3.1259') AS advanced_illness,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.464.1003.103.12.1001') AS diabetes,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113762.1.4.1222.419') AS prediabetes
    FROM ecqm_blk_condition b
    JOIN ecqm_resource r ON r.person_id = b.person_id AND r.resource_type = 'Condition' AND r.resource_id = b.resource_id
    WHERE b.is_verified
), excluded AS (
    -- "Has Pregnancy Observation During Measurement Period" (US Core pregnancy status, LOINC 82810-3; no status test)
    SELECT o.person_id FROM with_code('Observation', 'http://loinc.org', '82810-3') o
    WHERE has_vs(o.person_id, 'Observation', o.resource_id, 'value', '2.16.840.1.113883.3.526.3.378')
      AND overlaps_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
    UNION ALL  -- pregnancy diagnosis during the period
    SELECT person_id FROM dx WHERE pregnancy AND overlaps_day(prev_lo, prev_hi, mp_start(), mp_end())
    UNION ALL  -- advanced illness or limited life expectancy with onset before the end of the period
    SELECT person_id FROM dx WHERE advanced_illness AND CAST(onset_start AS DATE) < mp_end_date()
    UNION ALL  -- diabetes or prediabetes overlapping the look-back period [start - 2 years, start)
    SELECT person_id FROM dx
    WHERE (diabetes OR prediabetes)
      AND overlaps_day(prev_lo, prev_hi, mp_start() - INTERVAL 2 YEAR, mp_start() - INTERVAL 1 MILLISECOND)
    UNION ALL  -- a glycemic test during day of the look-back period
    SELECT person_id FROM glycemic
    WHERE during_day(lo, hi, mp_start() - INTERVAL 2 YEAR, mp_start() - INTERVAL 1 MILLISECOND)
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) BETWEEN 35 AND 70
         AND (coalesce(v.preventive, FALSE) OR coalesce(v.office, 0) >= 2)
         AND coalesce(CASE WHEN list_contains(x.race_codes, '2028-9') THEN b.value_num >= 23  -- Asian
                           ELSE b.value_num >= 25 END
                      AND coalesce(b.value_unit, 'kg/m2') = 'kg/m2', FALSE) AS initial_population,
       TRUE AS denominator,
       EXISTS (SELECT 1 FROM excluded e WHERE e.person_id = p.person_id) AS denominator_exclusion,
       NULL AS denominator_exception,
       EXISTS (SELECT 1 FROM glycemic g WHERE g.person_id = p.person_id AND during_day(g.lo, g.hi, mp_start(), mp_end()))
           AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
JOIN ecqm_patient x USING (person_id)
LEFT JOIN visits v USING (person_id)
LEFT JOIN most_recent_bmi b USING (person_id)
