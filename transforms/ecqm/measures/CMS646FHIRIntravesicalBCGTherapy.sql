-- 481 / CMS646v6 Intravesical Bacillus-Calmette-Guerin for Non-Muscle Invasive Bladder Cancer, patient-based.
-- CQL: cql/CMS646FHIRIntravesicalBCGTherapy.cql (library version 1.1.000).
WITH bladder_cancer AS (  -- "Bladder Cancer Diagnosis": verified, onset starting before the last day of the period
    SELECT b.person_id, r.start_ts AS onset_start
    FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.1.113762.1.4.1248.354']) r USING (person_id, resource_id)
    WHERE b.is_verified AND CAST(r.start_ts AS DATE) < mp_end_date()
), first_staging AS (  -- "First Bladder Cancer Staging Procedure": completed tumor staging starting on or before the
    -- day a bladder cancer diagnosis starts, the first by start of performed
    SELECT * FROM (
        SELECT p.person_id, p.resource_id, p.start_ts, iv_hi(p.end_ts, p.has_timing) AS end_ts,
               row_number() OVER (PARTITION BY p.person_id ORDER BY p.start_ts NULLS FIRST, p.resource_id) AS n
        FROM with_code('Procedure', 'http://snomed.info/sct', '254292007') p
        WHERE p.status = 'completed'
          AND EXISTS (SELECT 1 FROM bladder_cancer c WHERE c.person_id = p.person_id
                        AND CAST(p.start_ts AS DATE) <= CAST(c.onset_start AS DATE)))
    WHERE n = 1
), staged_in_window AS (  -- ... performed during day of [July 1 of the prior year, June 30 of the period]
    SELECT * FROM first_staging
    WHERE during_day(start_ts, end_ts, make_date(year(mp_start_date()) - 1, 7, 1), make_date(year(mp_start_date()), 6, 30))
), eligible_stage AS (  -- "Has Most Recent Bladder Cancer Tumor Staging is T1, Tis, Ta HG": an observation that is
    -- part of a procedure (getStagingProcedure() is not null), final / amended / corrected, valued cT1 / cTis / cTa
    -- or D09.0, while the first staging falls in the window. CMS's case "Cystectomy1DayBeforeStagingEdge" links the
    -- staging observation to the cystectomy and expects the initial population, so the reference is not required to
    -- be the staging procedure itself (docs/ecqm.md)
    SELECT DISTINCT o.person_id
    FROM ecqm_resource o JOIN staged_in_window s ON s.person_id = o.person_id AND len(o.part_of_ids) > 0
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected')
      AND (has_coding(o.person_id, 'Observation', o.resource_id, 'value', 'http://snomed.info/sct', '1228889001')
           OR has_coding(o.person_id, 'Observation', o.resource_id, 'value', 'http://snomed.info/sct', '1228884006')
           OR has_coding(o.person_id, 'Observation', o.resource_id, 'value', 'http://snomed.info/sct', '1228883000')
           OR has_coding(o.person_id, 'Observation', o.resource_id, 'value', 'http://hl7.org/fhir/sid/icd-10-cm', 'D09.0'))
), office_visit AS (  -- "Has Qualifying Encounter": finished, not virtual, during day of the period
    SELECT DISTINCT e.person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001']) e
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND NOT has_coding(e.person_id, 'Encounter', e.resource_id, 'class',
                         'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'VR')
), med_period AS (  -- medication orders with the start of their first dosage time: the first timing event, else the
    -- first dosage bounds period (dosageInstruction boundsPeriod)
    SELECT m.person_id, m.resource_id, coalesce(m.first_timing_event_ts, m.bounds_start_ts) AS first_start,
           has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'code', '2.16.840.1.113762.1.4.1248.364') AS immunosuppressive,
           has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'code', '2.16.840.1.113762.1.4.1248.355') AS chemotherapy
    FROM ecqm_resource m
    WHERE m.resource_type = 'MedicationRequest' AND m.status IN ('active', 'completed') AND m.intent = 'order'
), excluded AS (
    -- "Acute Tuberculosis Diagnosis": verified tuberculosis overlapping the staging and lasting after it (the
    -- condition's prevalence interval, docs/ecqm.md: an onset point can never "overlap after")
    SELECT s.person_id FROM first_staging s
    JOIN ecqm_blk_condition b ON b.person_id = s.person_id
    JOIN in_vs('Condition', ['2.16.840.1.113762.1.4.1248.351']) c ON c.person_id = b.person_id AND c.resource_id = b.resource_id
    WHERE b.is_verified AND overlaps_day(b.prev_lo, b.prev_hi, s.start_ts, s.end_ts)
      AND CAST(b.prev_hi AS DATE) > CAST(s.end_ts AS DATE)
    UNION ALL  -- "Immunosuppressive Drugs" whose first dosage time starts on or before the day of the staging
    SELECT s.person_id FROM first_staging s JOIN med_period m ON m.person_id = s.person_id
    WHERE m.immunosuppressive AND CAST(m.first_start AS DATE) <= CAST(s.start_ts AS DATE)
    UNION ALL  -- "Cystectomy Done" (completed) ending 6 months or less before the day of the staging
    SELECT s.person_id FROM first_staging s
    JOIN in_vs('Procedure', ['2.16.840.1.113762.1.4.1248.358']) p ON p.person_id = s.person_id
    WHERE p.status = 'completed'
      AND CAST(iv_hi(p.end_ts, p.has_timing) AS DATE) >= CAST(s.start_ts - INTERVAL 6 MONTH AS DATE)
      AND CAST(iv_hi(p.end_ts, p.has_timing) AS DATE) < CAST(s.start_ts AS DATE)
    UNION ALL  -- verified HIV, immunocompromised condition or mixed histology starting on or before the staging day
    SELECT s.person_id FROM first_staging s
    JOIN ecqm_blk_condition b ON b.person_id = s.person_id
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.464.1003.120.12.1003', '2.16.840.1.113762.1.4.1248.363',
                             '2.16.840.1.113762.1.4.1248.365']) c ON c.person_id = b.person_id AND c.resource_id = b.resource_id
    WHERE b.is_verified AND CAST(c.start_ts AS DATE) <= CAST(s.start_ts AS DATE)
    UNION ALL  -- chemotherapy ordered, its first dosage time starting 6 months or less before the staging
    SELECT s.person_id FROM first_staging s JOIN med_period m ON m.person_id = s.person_id
    WHERE m.chemotherapy AND m.first_start >= s.start_ts - INTERVAL 6 MONTH AND m.first_start < s.start_ts
    UNION ALL  -- combined radiotherapy (completed / in progress) starting 6 months or less before the staging
    SELECT s.person_id FROM first_staging s
    JOIN with_code('Procedure', 'http://snomed.info/sct', '169331000') p ON p.person_id = s.person_id
    WHERE p.status IN ('completed', 'in-progress')
      AND p.start_ts >= s.start_ts - INTERVAL 6 MONTH AND p.start_ts < s.start_ts
), bcg_not_available AS (  -- "BCG Not Available Within 6 Months After Bladder Cancer Staging": not given for
    -- unavailability, its effective (the end of the period: CMS's case "BCGNotAvailable" has a not-given period
    -- starting two days before the staging and ending the day after, and expects the exception) 6 months or less
    -- after the day of the staging
    SELECT DISTINCT s.person_id FROM first_staging s
    JOIN in_vs('MedicationAdministration', ['2.16.840.1.113762.1.4.1248.353']) a ON a.person_id = s.person_id
    WHERE has_vs(a.person_id, 'MedicationAdministration', a.resource_id, 'statusReason', '2.16.840.1.113762.1.4.1248.369')
      AND CAST(latest_ts(a.start_ts, a.end_ts) AS DATE) > CAST(s.start_ts AS DATE)
      AND CAST(latest_ts(a.start_ts, a.end_ts) AS DATE) <= CAST(s.start_ts + INTERVAL 6 MONTH AS DATE)
), bcg_given AS (  -- "First BCG Administered": in progress / completed, starting 6 months or less after the day of
    -- the staging and during day of the period
    SELECT DISTINCT s.person_id FROM first_staging s
    JOIN in_vs('MedicationAdministration', ['2.16.840.1.113762.1.4.1248.353']) a ON a.person_id = s.person_id
    WHERE a.status IN ('in-progress', 'completed')
      AND CAST(a.start_ts AS DATE) > CAST(s.start_ts AS DATE)
      AND CAST(a.start_ts AS DATE) <= CAST(s.start_ts + INTERVAL 6 MONTH AS DATE)
      AND point_during_day(a.start_ts, mp_start(), mp_end())
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       st.person_id IS NOT NULL AND v.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       EXISTS (SELECT 1 FROM excluded x WHERE x.person_id = p.person_id) AS denominator_exclusion,
       na.person_id IS NOT NULL AS denominator_exception,
       g.person_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN eligible_stage st USING (person_id)
LEFT JOIN office_visit v USING (person_id)
LEFT JOIN bcg_not_available na USING (person_id)
LEFT JOIN bcg_given g USING (person_id)
