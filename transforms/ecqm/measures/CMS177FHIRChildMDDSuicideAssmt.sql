-- 382 / CMS177v14 Child and Adolescent Major Depressive Disorder (MDD): Suicide Risk Assessment, episode-based
-- (Encounter). CQL: cql/CMS177FHIRChildMDDSuicideAssmt.cql (library version 1.1.000).
WITH mdd_encounter AS (  -- "Major Depressive Disorder Encounter": a finished visit during day of the period whose
    -- reasonReference is a Major Depressive Disorder Active condition (any verification status: the CQL has none)
    -- or whose reasonCode is in that value set
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1008',  -- Outpatient Consultation
                             '2.16.840.1.113883.3.526.3.1492',            -- Psych Visit Diagnostic Evaluation
                             '2.16.840.1.113883.3.526.3.1018',            -- Psych Visit for Family Psychotherapy
                             '2.16.840.1.113883.3.526.3.1496',            -- Psych Visit Psychotherapy
                             '2.16.840.1.113883.3.526.3.1141',            -- Psychoanalysis
                             '2.16.840.1.113883.3.526.3.1187',            -- Group Psychotherapy
                             '2.16.840.1.113883.3.464.1003.101.12.1080']) e  -- Telephone Visits
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND (has_vs(e.person_id, 'Encounter', e.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1491')
           OR EXISTS (SELECT 1 FROM in_vs('Condition', ['2.16.840.1.113883.3.526.3.1491']) c
                      WHERE c.person_id = e.person_id AND list_contains(e.reason_reference_ids, c.resource_id)))
), assessed AS (  -- a completed suicide risk assessment procedure, or a final / amended / corrected observation
    -- coded SNOMED 225337009, during the encounter's period (timestamps)
    SELECT DISTINCT m.person_id, m.resource_id FROM mdd_encounter m
    JOIN with_code('Procedure', 'http://snomed.info/sct', '225337009') p ON p.person_id = m.person_id
    WHERE p.status = 'completed' AND p.start_ts >= m.start_ts AND iv_hi(p.end_ts, p.has_timing) <= m.end_ts
    UNION
    SELECT DISTINCT m.person_id, m.resource_id FROM mdd_encounter m
    JOIN with_code('Observation', 'http://snomed.info/sct', '225337009') o ON o.person_id = m.person_id
    WHERE o.status IN ('final', 'corrected', 'amended')
      AND o.start_ts >= m.start_ts AND iv_hi(o.end_ts, o.has_timing) <= m.end_ts
)
SELECT 'Group_1' AS population_group, m.person_id, 'Encounter/' || m.resource_id AS episode,
       age_at(p.birth_date, mp_start_date()) BETWEEN 6 AND 16 AS initial_population,
       TRUE AS denominator, NULL AS denominator_exclusion, NULL AS denominator_exception,
       a.resource_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM mdd_encounter m
JOIN ecqm_blk_patient p USING (person_id)
LEFT JOIN assessed a USING (person_id, resource_id)
