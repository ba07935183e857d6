-- 370 / CMS159v14 Depression Remission at Twelve Months, patient-based, one group with two age stratifiers
-- (Stratification_1_1 12-17, Stratification_1_2 18+ at the index assessment), which are the MIPS strata
-- adolescents / adults (data/ecqm/group_strata.csv). CQL: cql/CMS159FHIRDepRemissionat12Months.cql (1.1.000).
WITH depression_dx AS (  -- "Depression Diagnoses": verified. The CQL relates the encounter to the diagnosis'
    -- `onset.toInterval()`; CMS's cases (IPPPopStrat1Pass "Patientis12": onset in February, encounter in June) read
    -- it as the condition's prevalence interval (onset to abatement, active = ongoing), as for CMS69 (docs/ecqm.md)
    SELECT b.person_id, b.prev_lo AS onset_lo, b.prev_hi AS onset_hi
    FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.113883.3.67.1.101.3.2444',  -- Major Depression Including Remission (OID as the CQL spells it)
                             '2.16.840.1.113883.3.67.1.101.1.254']) r  -- Dysthymia
      USING (person_id, resource_id)
    WHERE b.is_verified
), depression_encounter AS (  -- "Depression Encounter": overlaps a diagnosis' onset, ends during day of the
    -- "Denominator Identification Period" [start of the period - 14 months, start - 2 months)
    SELECT e.person_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113762.1.4.1080.5']) e  -- Contact or Office Visit
    WHERE e.status = 'finished'
      AND CAST(iv_hi(e.end_ts, e.has_timing) AS DATE) >= CAST(mp_start() - INTERVAL 14 MONTH AS DATE)
      AND CAST(iv_hi(e.end_ts, e.has_timing) AS DATE) < CAST(mp_start() - INTERVAL 2 MONTH AS DATE)
      AND EXISTS (SELECT 1 FROM depression_dx d WHERE d.person_id = e.person_id
                    AND overlaps_ms(e.start_ts, iv_hi(e.end_ts, e.has_timing), d.onset_lo, d.onset_hi))
), phq AS (  -- PHQ-9 / PHQ-9M assessments, final / amended / corrected
    SELECT o.person_id, o.resource_id, o.start_ts, iv_hi(o.end_ts, o.has_timing) AS end_ts, o.value_num
    FROM in_vs('Observation', ['2.16.840.1.113883.3.67.1.101.1.263']) o
    WHERE o.status IN ('final', 'amended', 'corrected')
), index_assessment AS (  -- "Index Depression Assessment": the first PHQ > 9 from 7 days before a depression
    -- encounter to its end (during day of)
    SELECT person_id, CAST(start_ts AS DATE) AS index_date FROM (
        SELECT q.*, row_number() OVER (PARTITION BY q.person_id ORDER BY q.start_ts NULLS FIRST, q.resource_id) AS n
        FROM phq q
        WHERE q.value_num > 9
          AND EXISTS (SELECT 1 FROM depression_encounter e WHERE e.person_id = q.person_id
                        AND during_day(q.start_ts, q.end_ts, e.start_ts - INTERVAL 7 DAY, e.end_ts)))
    WHERE n = 1
), periods AS (  -- "Measure Assessment Period": 12 months after the index date, +/- 60 days (dates)
    SELECT person_id, index_date,
           CAST(index_date + INTERVAL 12 MONTH - INTERVAL 60 DAY AS DATE) AS map_lo,
           CAST(index_date + INTERVAL 12 MONTH + INTERVAL 60 DAY AS DATE) AS map_hi,
           CAST(mp_start() - INTERVAL 14 MONTH AS DATE) AS window_lo  -- start of the identification period
    FROM index_assessment
), remission AS (  -- "Numerator": the last PHQ starting during day of the assessment period is < 5
    SELECT person_id, value_num < 5 AS remitted FROM (
        SELECT q.person_id, q.value_num,
               row_number() OVER (PARTITION BY q.person_id ORDER BY q.start_ts DESC NULLS LAST, q.resource_id DESC) AS n
        FROM phq q JOIN periods p USING (person_id)
        WHERE CAST(q.start_ts AS DATE) BETWEEN p.map_lo AND p.map_hi)
    WHERE n = 1
), exclusion AS (  -- hospice or palliative care from the identification period to the end of the assessment period,
    -- death by then, or a mental health disorder diagnosed by then
    SELECT p.person_id FROM periods p
    JOIN in_vs('Encounter', ['2.16.840.1.113883.3.666.5.307']) e ON e.person_id = p.person_id  -- Encounter Inpatient
    WHERE e.status = 'finished'
      AND (has_coding(e.person_id, 'Encounter', e.resource_id, 'dischargeDisposition', 'http://snomed.info/sct', '428361000124107')
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'dischargeDisposition', 'http://snomed.info/sct', '428371000124100'))
      AND point_during_day(iv_hi(e.end_ts, e.has_timing), p.window_lo, p.map_hi)
    UNION ALL
    SELECT p.person_id FROM periods p
    JOIN in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.1003']) e ON e.person_id = p.person_id  -- Hospice Encounter
    WHERE e.status NOT IN ('cancelled', 'entered-in-error', 'unknown')
      AND overlaps_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), p.window_lo, p.map_hi)
    UNION ALL
    SELECT p.person_id FROM periods p
    JOIN with_code('Observation', 'http://loinc.org', '45755-6') o ON o.person_id = p.person_id  -- Hospice care [MDS]
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND has_coding(o.person_id, 'Observation', o.resource_id, 'value', 'http://snomed.info/sct', '373066001')
      AND overlaps_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), p.window_lo, p.map_hi)
    UNION ALL
    SELECT p.person_id FROM periods p
    JOIN in_vs('ServiceRequest', ['2.16.840.1.113883.3.526.3.1584']) s ON s.person_id = p.person_id  -- Hospice Care Ambulatory
    WHERE s.status IN ('active', 'completed') AND is_order_intent(s.intent)
      AND point_during_day(s.recorded_ts, p.window_lo, p.map_hi)
    UNION ALL
    SELECT p.person_id FROM periods p
    JOIN in_vs('Procedure', ['2.16.840.1.113883.3.526.3.1584']) r ON r.person_id = p.person_id
    WHERE r.status NOT IN ('not-done', 'entered-in-error', 'unknown')
      AND overlaps_day(r.start_ts, iv_hi(r.end_ts, r.has_timing), p.window_lo, p.map_hi)
    UNION ALL  -- Hospice Diagnosis / Palliative Care Diagnosis, verified, "onset" (read as the prevalence interval,
    -- as for the depression diagnoses) overlapping the window
    SELECT p.person_id FROM periods p
    JOIN ecqm_blk_condition b ON b.person_id = p.person_id
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.464.1003.1165', '2.16.840.1.113883.3.464.1003.1167']) c
      ON c.person_id = b.person_id AND c.resource_id = b.resource_id
    WHERE b.is_verified AND overlaps_day(b.prev_lo, b.prev_hi, p.window_lo, p.map_hi)
    UNION ALL
    SELECT p.person_id FROM periods p
    JOIN with_code('Observation', 'http://loinc.org', '71007-9') o ON o.person_id = p.person_id  -- FACIT-Pal
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND overlaps_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), p.window_lo, p.map_hi)
    UNION ALL
    SELECT p.person_id FROM periods p
    JOIN in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1090']) e ON e.person_id = p.person_id  -- Palliative Care Encounter
    WHERE e.status = 'finished' AND overlaps_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), p.window_lo, p.map_hi)
    UNION ALL
    SELECT p.person_id FROM periods p
    JOIN in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.198.12.1135']) r ON r.person_id = p.person_id  -- Palliative Care Intervention
    WHERE r.status NOT IN ('not-done', 'entered-in-error', 'unknown')
      AND overlaps_day(r.start_ts, iv_hi(r.end_ts, r.has_timing), p.window_lo, p.map_hi)
    UNION ALL  -- "Patient Expired" on or before the end of the assessment period
    SELECT p.person_id FROM periods p JOIN ecqm_patient x ON x.person_id = p.person_id
    WHERE CAST(x.deceased_ts AS DATE) <= p.map_hi
    UNION ALL  -- "Has Mental Health Disorder Diagnoses": verified, onset starting on or before the end of the period
    SELECT p.person_id FROM periods p
    JOIN ecqm_blk_condition b ON b.person_id = p.person_id
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.67.1.101.1.128',        -- Bipolar Disorder
                             '2.16.840.1.113883.3.67.1.101.1.246',        -- Personality Disorder Emotionally Labile
                             '2.16.840.1.113883.3.464.1003.105.12.1104',  -- Schizophrenia or Psychotic Disorder
                             '2.16.840.1.113883.3.464.1003.105.12.1152']) c  -- Pervasive Developmental Disorder
      ON c.person_id = b.person_id AND c.resource_id = b.resource_id
    WHERE b.is_verified AND CAST(c.start_ts AS DATE) <= p.map_hi
)
SELECT 'Group_1' AS population_group, x.person_id, NULL AS episode,
       age_at(pt.birth_date, x.index_date) >= 12 AS initial_population,
       TRUE AS denominator,
       EXISTS (SELECT 1 FROM exclusion e WHERE e.person_id = x.person_id) AS denominator_exclusion,
       NULL AS denominator_exception,
       coalesce(r.remitted, FALSE) AS numerator,
       NULL AS numerator_exclusion,
       CASE WHEN age_at(pt.birth_date, x.index_date) BETWEEN 12 AND 17 THEN 'Stratification_1_1'
            WHEN age_at(pt.birth_date, x.index_date) >= 18 THEN 'Stratification_1_2' END AS strata
FROM periods x
JOIN ecqm_blk_patient pt USING (person_id)
LEFT JOIN remission r USING (person_id)
