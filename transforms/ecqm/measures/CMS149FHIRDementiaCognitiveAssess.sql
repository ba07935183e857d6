-- 281 / CMS149v14 Dementia: Cognitive Assessment, patient-based.
-- The deck has no CQL for this measure: the logic follows CMS149FHIRDementiaCognitiveAssess.cql 1.0.000 of
-- raleigh-g-thompson/dqm-content-cms-2025 (a fork of cqframework/dqm-content-cms-2025, commit
-- 2709b5133e449c6911a4cfde497bbc4779ef75cc, input/cql/), the same US Quality Core refactor as the deck's CQL.
WITH assess_encounter AS (  -- "Encounter to Assess Cognition": finished, during day of the measurement period
    SELECT e.person_id, e.resource_id AS encounter_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', [
        '2.16.840.1.113883.3.526.3.1492',            -- Psych Visit Diagnostic Evaluation
        '2.16.840.1.113883.3.464.1003.101.12.1012',  -- Nursing Facility Visit
        '2.16.840.1.113883.3.464.1003.101.12.1014',  -- Care Services in Long Term Residential Facility
        '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
        '2.16.840.1.113883.3.526.3.1496',            -- Psych Visit Psychotherapy
        '2.16.840.1.113883.3.526.3.1023',            -- Behavioral or Neuropsych Assessment
        '2.16.840.1.113883.3.526.3.1011',            -- Occupational Therapy Evaluation
        '2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
        '2.16.840.1.113883.3.464.1003.101.12.1008']) e  -- Outpatient Consultation
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), qualifying_encounter AS (  -- "Qualifying Encounter During Measurement Period": those and Patient Provider Interaction
    SELECT person_id, encounter_id FROM assess_encounter
    UNION
    SELECT e.person_id, e.resource_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.526.3.1012']) e
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), dementia_encounter AS (
    -- "Dementia Encounter During Measurement Period": a verified dementia condition whose prevalence overlaps day of
    -- the encounter and that has no abatement or one ending after the day of the end of the period
    SELECT DISTINCT e.* FROM assess_encounter e
    JOIN conditions_in_vs(['2.16.840.1.113883.3.526.3.1005']) d  -- Dementia & Mental Degenerations
      ON d.person_id = e.person_id AND overlaps_day(d.prev_lo, d.prev_hi, e.start_ts, e.end_ts)
    JOIN ecqm_resource r ON r.person_id = d.person_id AND r.resource_type = 'Condition' AND r.resource_id = d.resource_id
    WHERE (NOT coalesce(r.has_abatement, FALSE) OR CAST(r.abatement_ts AS DATE) > mp_end_date())
      -- Interval[start of onset, end of abatement] with both ends null (no onset start, no abatement) has no point
      -- type to take a minimum or maximum of: CQL engines read it as unknown, so it overlaps nothing (CMS's case
      -- 'DementiaDxNullOnsetPeriodStart': an onsetPeriod without a start is not in the initial population)
      AND NOT (r.start_ts IS NULL AND r.abatement_ts IS NULL)
), assessment AS (
    -- "Assessment of Cognition Using Standardized Tools or Alternate Methods": a standardized tool or cognitive
    -- assessment with a value, final/amended/corrected, starting 12 months or less on or before the day of the end of
    -- a dementia encounter
    SELECT DISTINCT o.person_id
    FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.1006', '2.16.840.1.113883.3.526.3.1332']) o
    JOIN dementia_encounter e ON e.person_id = o.person_id
     AND CAST(o.start_ts AS DATE) >= CAST(e.end_ts AS DATE) - INTERVAL 12 MONTH
     AND CAST(o.start_ts AS DATE) <= CAST(e.end_ts AS DATE)
    WHERE o.has_value AND o.status IN ('final', 'amended', 'corrected')
), not_done AS (
    -- "Patient Reason for Not Performing Assessment of Cognition ...": an ObservationCancelled of those codes with a
    -- notDoneReason in "Patient Reason", issued during day of a dementia encounter
    SELECT DISTINCT o.person_id
    FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.1006', '2.16.840.1.113883.3.526.3.1332']) o
    JOIN dementia_encounter e ON e.person_id = o.person_id AND point_during_day(o.issued_ts, e.start_ts, e.end_ts)
    WHERE o.status = 'cancelled'
      AND has_vs(o.person_id, 'Observation', o.resource_id, 'notDoneReason', '2.16.840.1.113883.3.526.3.1008')
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       EXISTS (SELECT 1 FROM dementia_encounter d WHERE d.person_id = p.person_id)
         AND (SELECT count(*) FROM qualifying_encounter q WHERE q.person_id = p.person_id) >= 2 AS initial_population,
       TRUE AS denominator,
       NULL AS denominator_exclusion,
       EXISTS (SELECT 1 FROM not_done n WHERE n.person_id = p.person_id) AS denominator_exception,
       EXISTS (SELECT 1 FROM assessment a WHERE a.person_id = p.person_id) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
