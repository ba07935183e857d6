-- 130 / CMS68v15 Documentation of Current Medications in the Medical Record, episode-based (Encounter).
-- CQL: cql/CMS68FHIRDocumentationCurrentMeds.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounter During Day of Measurement Period"
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.600.1.1834']) e  -- Encounter to Document Medications
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), documented AS (  -- "Numerator": completed, starts during day of the encounter, has an end
    SELECT DISTINCT q.person_id, q.resource_id
    FROM qualifying_encounter q
    JOIN with_code('Procedure', 'http://snomed.info/sct', '428191000124101') p ON p.person_id = q.person_id
    WHERE p.status = 'completed' AND p.end_ts IS NOT NULL AND p.end_ts <> 'infinity'::TIMESTAMP
      AND point_during_day(p.start_ts, q.start_ts, q.end_ts)
), not_documented AS (  -- "Denominator Exceptions": not done for an acute health crisis, recorded that day
    SELECT DISTINCT q.person_id, q.resource_id
    FROM qualifying_encounter q
    JOIN with_code('Procedure', 'http://snomed.info/sct', '428191000124101') p ON p.person_id = q.person_id
    WHERE p.status = 'not-done' AND point_during_day(p.recorded_ts, q.start_ts, q.end_ts)
      AND has_coding(p.person_id, 'Procedure', p.resource_id, 'reasonCode', 'http://snomed.info/sct', '705016005')
)
SELECT 'Group_1' AS population_group, q.person_id, 'Encounter/' || q.resource_id AS episode,
       TRUE AS initial_population, TRUE AS denominator, NULL AS denominator_exclusion,
       x.resource_id IS NOT NULL AS denominator_exception,
       n.resource_id IS NOT NULL AS numerator, NULL AS numerator_exclusion, NULL AS strata
FROM qualifying_encounter q
LEFT JOIN documented n USING (person_id, resource_id)
LEFT JOIN not_documented x USING (person_id, resource_id)
