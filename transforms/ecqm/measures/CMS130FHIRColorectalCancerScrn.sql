-- 113 / CMS130v14 Colorectal Cancer Screening, patient-based, one group, two age stratifiers (46-49, 50-75).
-- CQL: cql/CMS130FHIRColorectalCancerScrn.cql (library version 1.1.000) with AdultOutpatientEncounters 5.1.000.
WITH malignant_neoplasm AS (  -- "Malignant Neoplasm": prevalence starts on or before day of end of MP
    SELECT DISTINCT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.108.12.1001'])  -- Malignant Neoplasm of Colon
    WHERE CAST(prev_lo AS DATE) <= mp_end_date()
), total_colectomy AS (  -- "Total Colectomy Performed": performed ends on or before day of end of MP
    SELECT DISTINCT p.person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.198.12.1019']) p
    WHERE p.status = 'completed' AND CAST(iv_hi(p.end_ts, p.has_timing) AS DATE) <= mp_end_date()
), screening AS (
    -- "Fecal Occult Blood Test Performed": a lab result with a value, latest during day of MP
    SELECT o.person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.464.1003.198.12.1011']) o
    WHERE o.status IN ('final', 'amended', 'corrected') AND o.has_value
      AND point_during_day(latest_ts(o.start_ts, o.end_ts), mp_start(), mp_end())
    UNION ALL
    -- "Stool DNA with FIT Test Performed": with a value, latest during day of [start of MP - 2 years, end of MP]
    SELECT o.person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.464.1003.108.12.1039']) o
    WHERE o.status IN ('final', 'amended', 'corrected') AND o.has_value
      AND point_during_day(latest_ts(o.start_ts, o.end_ts), mp_start() - INTERVAL 2 YEAR, mp_end())
    UNION ALL
    -- "Flexible Sigmoidoscopy Performed": ends during day of [start of MP - 4 years, end of MP]
    SELECT p.person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.198.12.1010']) p
    WHERE p.status = 'completed'
      AND point_during_day(iv_hi(p.end_ts, p.has_timing), mp_start() - INTERVAL 4 YEAR, mp_end())
    UNION ALL
    -- "CT Colonography Performed": diagnostic study (category imaging), ends during day of [start of MP - 4 years, end of MP]
    SELECT o.person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.464.1003.108.12.1038']) o
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND has_coding(o.person_id, 'Observation', o.resource_id, 'category',
                     'http://terminology.hl7.org/CodeSystem/observation-category', 'imaging')
      AND point_during_day(iv_hi(o.end_ts, o.has_timing), mp_start() - INTERVAL 4 YEAR, mp_end())
    UNION ALL
    -- "Colonoscopy Performed": ends during day of [start of MP - 9 years, end of MP]
    SELECT p.person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.108.12.1020']) p
    WHERE p.status = 'completed'
      AND point_during_day(iv_hi(p.end_ts, p.has_timing), mp_start() - INTERVAL 9 YEAR, mp_end())
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       p.age_end BETWEEN 46 AND 75 AND q.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL
         OR mn.person_id IS NOT NULL
         OR tc.person_id IS NOT NULL
         OR (p.age_end >= 66 AND f.person_id IS NOT NULL AND ai.person_id IS NOT NULL)
         OR (p.age_end >= 66 AND nh.person_id IS NOT NULL)
         OR pc.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       EXISTS (SELECT 1 FROM screening s WHERE s.person_id = p.person_id) AS numerator,
       NULL AS numerator_exclusion,
       CASE WHEN p.age_end BETWEEN 46 AND 49 THEN 'Stratification_1_1'
            WHEN p.age_end BETWEEN 50 AND 75 THEN 'Stratification_1_2' END AS strata
FROM ecqm_blk_patient p
LEFT JOIN ecqm_blk_adult_outpatient q USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN malignant_neoplasm mn USING (person_id)
LEFT JOIN total_colectomy tc USING (person_id)
LEFT JOIN ecqm_blk_frailty f USING (person_id)
LEFT JOIN ecqm_blk_advanced_illness ai USING (person_id)
LEFT JOIN ecqm_blk_nursing_home nh USING (person_id)
LEFT JOIN ecqm_blk_palliative pc USING (person_id)
