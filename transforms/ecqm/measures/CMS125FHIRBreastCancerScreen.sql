-- 112 / CMS125v14 Breast Cancer Screening, patient-based, one group, two age stratifiers (42-51, 52-74).
-- CQL: cql/CMS125FHIRBreastCancerScreen.cql (library version 1.1.000) with AdultOutpatientEncounters 5.1.000.
WITH mastectomy_condition AS (  -- verified conditions whose prevalence starts on or before the end of MP
    SELECT c.person_id, c.resource_id,
           has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1070')
             OR (has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1071')
                 AND has_coding(c.person_id, 'Condition', c.resource_id, 'bodySite', 'http://snomed.info/sct', '24028007'))
             AS is_right,  -- "Right Mastectomy Diagnosis": Status Post Right Mastectomy, or unspecified laterality on the right
           has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1069')
             OR (has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1071')
                 AND has_coding(c.person_id, 'Condition', c.resource_id, 'bodySite', 'http://snomed.info/sct', '7771000'))
             AS is_left,  -- "Left Mastectomy Diagnosis"
           has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1068')
             AS is_bilateral  -- "Bilateral Mastectomy Diagnosis": History of bilateral mastectomy
    FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.198.12.1070', '2.16.840.1.113883.3.464.1003.198.12.1069',
                           '2.16.840.1.113883.3.464.1003.198.12.1071', '2.16.840.1.113883.3.464.1003.198.12.1068']) c
    WHERE c.prev_lo <= mp_end()
), mastectomy_procedure AS (  -- completed procedures ending on or before the end of MP
    SELECT p.person_id,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1134') AS is_right,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1133') AS is_left,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1005') AS is_bilateral
    FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.198.12.1134',   -- Unilateral Mastectomy Right
                             '2.16.840.1.113883.3.464.1003.198.12.1133',   -- Unilateral Mastectomy Left
                             '2.16.840.1.113883.3.464.1003.198.12.1005']) p  -- Bilateral Mastectomy
    WHERE p.status = 'completed' AND iv_hi(p.end_ts, p.has_timing) <= mp_end()
), mastectomy AS (
    SELECT person_id, bool_or(is_right) AS has_right, bool_or(is_left) AS has_left, bool_or(is_bilateral) AS has_bilateral
    FROM (SELECT person_id, is_right, is_left, is_bilateral FROM mastectomy_condition
          UNION ALL SELECT person_id, is_right, is_left, is_bilateral FROM mastectomy_procedure)
    GROUP BY person_id
), mammogram AS (
    -- "Numerator": a Mammography diagnostic study (Observation, final/amended/corrected, category imaging) or a
    -- complete Mammography DiagnosticReport, ending during day of [October 1 two years before the MP, end of MP]
    SELECT o.person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.464.1003.108.12.1018']) o
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND has_coding(o.person_id, 'Observation', o.resource_id, 'category',
                     'http://terminology.hl7.org/CodeSystem/observation-category', 'imaging')
      AND point_during_day(iv_hi(o.end_ts, o.has_timing), make_date(year(mp_start()) - 2, 10, 1), mp_end())
    UNION ALL
    SELECT d.person_id FROM in_vs('DiagnosticReport', ['2.16.840.1.113883.3.464.1003.108.12.1018']) d
    WHERE d.status IN ('final', 'amended', 'corrected', 'appended')
      AND point_during_day(iv_hi(d.end_ts, d.has_timing), make_date(year(mp_start()) - 2, 10, 1), mp_end())
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       p.age_end BETWEEN 42 AND 74 AND p.sex = '248152002' AND q.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL
         OR coalesce(m.has_right AND m.has_left, FALSE)
         OR coalesce(m.has_bilateral, FALSE)
         OR (p.age_end >= 66 AND f.person_id IS NOT NULL AND ai.person_id IS NOT NULL)
         OR (p.age_end >= 66 AND nh.person_id IS NOT NULL)
         OR pc.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       EXISTS (SELECT 1 FROM mammogram s WHERE s.person_id = p.person_id) AS numerator,
       NULL AS numerator_exclusion,
       CASE WHEN p.age_end BETWEEN 42 AND 51 THEN 'Stratification_1_1'
            WHEN p.age_end BETWEEN 52 AND 74 THEN 'Stratification_1_2' END AS strata
FROM ecqm_blk_patient p
LEFT JOIN ecqm_blk_adult_outpatient q USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN mastectomy m USING (person_id)
LEFT JOIN ecqm_blk_frailty f USING (person_id)
LEFT JOIN ecqm_blk_advanced_illness ai USING (person_id)
LEFT JOIN ecqm_blk_nursing_home nh USING (person_id)
LEFT JOIN ecqm_blk_palliative pc USING (person_id)
