-- 001 / CMS122v14 Diabetes: Glycemic Status Assessment Greater Than 9% (inverse), patient-based.
-- CQL: cql/CMS122FHIRDiabetesAssessGT9Pct.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounters"
    SELECT DISTINCT e.person_id FROM ecqm_resource e
    WHERE e.resource_type = 'Encounter' AND e.status = 'finished'
      AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND (EXISTS (SELECT 1 FROM ecqm_vs_hit h
                   WHERE h.person_id = e.person_id AND h.resource_type = 'Encounter' AND h.resource_id = e.resource_id
                     AND h.element = 'code' AND h.value_set_oid IN (
                         '2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                         '2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                         '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                         '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                         '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                         '2.16.840.1.113883.3.464.1003.1006',         -- Nutrition Services
                         '2.16.840.1.113883.3.464.1003.101.12.1080'))  -- Telephone Visits
           OR EXISTS (SELECT 1 FROM ecqm_coding c
                      WHERE c.person_id = e.person_id AND c.resource_type = 'Encounter' AND c.resource_id = e.resource_id
                        AND c.element = 'code'
                        AND ((c.code_system = 'http://www.ama-assn.org/go/cpt' AND c.code IN ('97802', '97803', '97804'))
                             OR (c.code_system = 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets'
                                 AND c.code IN ('G0270', 'G0271')))))
), diabetes AS (
    SELECT DISTINCT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.103.12.1001'])  -- Diabetes
    WHERE overlaps_day(prev_lo, prev_hi, mp_start(), mp_end())
), glycemic AS (  -- "Glycemic Status Assessment": HbA1c Laboratory Test or Glucose management indicator
    SELECT o.person_id, CAST(latest_ts(o.start_ts, o.end_ts) AS DATE) AS day,
           CASE WHEN coalesce(o.value_unit, '%') = '%' THEN o.value_num END AS value_pct, o.value_num IS NULL AS no_quantity,
           NOT o.has_value AS no_value
    FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected')
      AND (has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1013')
           OR has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '97506-0'))
      AND point_during_day(latest_ts(o.start_ts, o.end_ts), mp_start(), mp_end())
), most_recent_day AS (
    -- "Lowest Glycemic Status Assessment Reading on Most Recent Day" sorts by `value as Quantity` and CQL sorts
    -- nulls first: a reading without a quantity that day is the lowest one; it is "Without Result" when it has no
    -- value at all, and never "Elevated" (a coded value is not > 9 '%')
    SELECT person_id, bool_or(no_value) AS without_result,
           CASE WHEN NOT bool_or(no_quantity) THEN min(value_pct) END AS lowest
    FROM glycemic WHERE (person_id, day) IN (SELECT person_id, max(day) FROM glycemic GROUP BY person_id)
    GROUP BY person_id
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       p.age_end BETWEEN 18 AND 75 AND q.person_id IS NOT NULL AND d.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL
         OR (p.age_end >= 66 AND nh.person_id IS NOT NULL)
         OR (p.age_end >= 66 AND f.person_id IS NOT NULL AND ai.person_id IS NOT NULL)
         OR pc.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       coalesce(r.without_result OR r.lowest > 9, FALSE) OR r.person_id IS NULL AS numerator,
       NULL AS numerator_exclusion,
       NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN diabetes d USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN ecqm_blk_nursing_home nh USING (person_id)
LEFT JOIN ecqm_blk_frailty f USING (person_id)
LEFT JOIN ecqm_blk_advanced_illness ai USING (person_id)
LEFT JOIN ecqm_blk_palliative pc USING (person_id)
LEFT JOIN most_recent_day r USING (person_id)
