-- 366 / CMS136v15 Follow-Up Care for Children Prescribed ADHD Medication (ADD), patient-based, two groups:
-- Group_1 Initiation Phase ("Numerator 1": a follow-up visit 30 days or less after the IPSD), Group_2 Continuation and
-- Maintenance Phase ("Numerator 2": that visit, on ADHD medication 210 days or more, and two more visits 31-300 days
-- after the IPSD). CQL: cql/CMS136FHIRChildADHDMedFollowUp.cql (library version 1.1.000) with
-- CumulativeMedicationDuration medicationRequestPeriod(), rolloutIntervals(), cumulativeDuration() and CQMCommon
-- hasPrincipalDiagnosisOf() / GetLocation(). Dates compare at day precision (see docs/ecqm.md, 366).
WITH adhd_class_order AS (  -- [MedicationRequest: <class>].isMedicationOrder(), one row per (order, drug class)
    SELECT h.person_id, h.resource_id, h.value_set_oid AS drug_class
    FROM ecqm_vs_hit h
    WHERE h.resource_type = 'MedicationRequest' AND h.element = 'code'
      AND h.value_set_oid IN ('2.16.840.1.113883.3.464.1003.1170',          -- Atomoxetine
                              '2.16.840.1.113883.3.464.1003.1171',          -- Clonidine
                              '2.16.840.1.113883.3.464.1003.1172',          -- Dexmethylphenidate
                              '2.16.840.1.113883.3.464.1003.1173',          -- Dextroamphetamine
                              '2.16.840.1.113883.3.464.1003.1174',          -- Lisdexamfetamine
                              '2.16.840.1.113883.3.464.1003.1176',          -- Methylphenidate
                              '2.16.840.1.113883.3.464.1003.196.11.1252',   -- Guanfacine Medications
                              '2.16.840.1.113883.3.464.1003.1260')          -- Viloxazine
    UNION ALL  -- "methamphetamine hydrochloride 5 MG Oral Tablet"
    SELECT c.person_id, c.resource_id, 'RXNORM 977860' FROM ecqm_coding c
    WHERE c.resource_type = 'MedicationRequest' AND c.element = 'code'
      AND c.code_system = 'http://www.nlm.nih.gov/research/umls/rxnorm' AND c.code = '977860'
), adhd_order AS (  -- with its status and medicationRequestPeriod() (dates; NULL when the function returns null)
    SELECT o.person_id, o.resource_id, o.drug_class, r.status, p.start_d, p.end_d
    FROM adhd_class_order o
    JOIN ecqm_resource r ON r.person_id = o.person_id AND r.resource_type = 'MedicationRequest' AND r.resource_id = o.resource_id
    JOIN ecqm_blk_med_request_period p ON p.person_id = o.person_id AND p.resource_id = o.resource_id
    WHERE r.status IN ('active', 'completed') AND is_order_intent(r.intent)
), adhd_request AS (  -- the union of the class retrieves: each order once
    SELECT DISTINCT person_id, resource_id, status, start_d, end_d FROM adhd_order
), new_order AS (  -- "ADHD Medication Prescribed During Intake Period and Not Previously on ADHD Medication": period
    -- starting in the Intake Period [March 1 of the year before, the last day of February], and no active ADHD order
    -- (isMedicationActive) whose period overlaps Interval[start - 120 days, start)
    SELECT o.person_id, o.start_d FROM adhd_request o
    WHERE o.start_d BETWEEN make_date(year(mp_start_date()) - 1, 3, 1) AND make_date(year(mp_start_date()), 3, 1) - 1
      AND NOT EXISTS (SELECT 1 FROM adhd_request a
                      WHERE a.person_id = o.person_id AND a.status = 'active'
                        AND a.start_d <= o.start_d - 1 AND a.end_d >= o.start_d - 120)
), ipsd AS (  -- "IPSD" = "First ADHD Medication Prescribed During Intake Period": the earliest such start (a Date)
    SELECT person_id, min(start_d) AS ipsd FROM new_order GROUP BY person_id
), qualifying_encounter AS (  -- "Qualifying Encounter": finished, ToDateInterval(period) during day of [IPSD - 6 months, IPSD]
    SELECT DISTINCT i.person_id FROM ipsd i
    JOIN in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.464.1003.101.12.1024',  -- Preventive Care, Established Office Visit, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1022']) e  -- Preventive Care Services, Initial Office Visit, 0 to 17
      ON e.person_id = i.person_id
    WHERE e.status = 'finished'
      AND CAST(e.start_ts AS DATE) >= CAST(i.ipsd - INTERVAL 6 MONTH AS DATE)
      AND CAST(iv_hi(e.end_ts, e.has_timing) AS DATE) <= i.ipsd
), inpatient_stay AS (  -- "Inpatient Stay with Qualifying Diagnosis": finished "Encounter Inpatient" whose principal
    -- (claim) diagnosis is in "Mental Behavioral and Neurodevelopmental Disorders", by its start date
    SELECT e.person_id, CAST(e.start_ts AS DATE) AS start_d
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.666.5.307']) e
    JOIN principal_diagnosis_in_vs(['2.16.840.1.113883.3.464.1003.105.12.1203']) pd
      ON pd.person_id = e.person_id AND pd.encounter_id = e.resource_id
    WHERE e.status = 'finished'
), inpatient_after_ipsd AS (  -- the latest phase an inpatient stay falls in: starts N days or less after day of IPSD,
    -- i.e. in (IPSD, IPSD + N days] (30: initiation phase; 300: continuation and maintenance phase)
    SELECT i.person_id, bool_or(s.start_d <= i.ipsd + 30) AS in_initiation, bool_or(s.start_d <= i.ipsd + 300) AS in_continuation
    FROM ipsd i JOIN inpatient_stay s ON s.person_id = i.person_id AND s.start_d > i.ipsd
    GROUP BY i.person_id
), ambulatory_psych_management AS (  -- "Psychotherapy and Pharmacologic Management" at a location of type "Ambulatory"
    SELECT * FROM encounter_location_in_vs(['2.16.840.1.113883.3.464.1003.122.12.1003'])
), numerator_encounter AS (  -- "Qualifying Numerator Encounter".isEncounterPerformed(), by its start date
    SELECT e.person_id, CAST(e.start_ts AS DATE) AS start_d
    FROM ecqm_resource e
    WHERE e.resource_type = 'Encounter' AND e.status = 'finished'
      AND (EXISTS (SELECT 1 FROM ecqm_vs_hit h
                   WHERE h.person_id = e.person_id AND h.resource_type = 'Encounter' AND h.resource_id = e.resource_id
                     AND h.element = 'code'
                     AND h.value_set_oid IN ('2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                                             '2.16.840.1.113883.3.464.1003.101.12.1027',  -- Preventive Care Services Group Counseling
                                             '2.16.840.1.113883.3.464.1003.101.12.1054',  -- Behavioral Health Follow up Visit
                                             '2.16.840.1.113883.3.464.1003.101.12.1026',  -- Preventive Care Services Individual Counseling
                                             '2.16.840.1.113883.3.464.1003.101.12.1008',  -- Outpatient Consultation
                                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                                             '2.16.840.1.113883.3.464.1003.101.12.1022',  -- Preventive Care Services, Initial Office Visit, 0 to 17
                                             '2.16.840.1.113883.3.464.1003.101.12.1024',  -- Preventive Care, Established Office Visit, 0 to 17
                                             '2.16.840.1.113883.3.526.3.1492',            -- Psych Visit Diagnostic Evaluation
                                             '2.16.840.1.113883.3.526.3.1496',            -- Psych Visit Psychotherapy
                                             '2.16.840.1.113883.3.464.1003.101.12.1080'))  -- Telephone Visits
           OR (has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1055')
               AND EXISTS (SELECT 1 FROM ambulatory_psych_management a
                           WHERE a.person_id = e.person_id AND a.encounter_id = e.resource_id)))
), follow_up AS (  -- per patient with an IPSD: "Encounter During Initiation Phase" (starts 30 days or less after day
    -- of IPSD) and the distinct start dates of "Encounter 31 to 300 Days into Continuation and Maintenance Phase"
    SELECT i.person_id, bool_or(n.start_d > i.ipsd AND n.start_d <= i.ipsd + 30) AS initiation_visit,
           list(DISTINCT n.start_d) FILTER (WHERE n.start_d BETWEEN i.ipsd + 31 AND i.ipsd + 300) AS continuation_dates
    FROM ipsd i JOIN numerator_encounter n ON n.person_id = i.person_id
    GROUP BY i.person_id
), virtual_dates AS (  -- "Virtual Encounter 31 to 300 Days into Continuation and Maintenance Phase": distinct dates
    SELECT i.person_id, list(DISTINCT CAST(e.start_ts AS DATE)) AS dates
    FROM ipsd i JOIN in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1089']) e ON e.person_id = i.person_id
    WHERE e.status = 'finished' AND CAST(e.start_ts AS DATE) BETWEEN i.ipsd + 31 AND i.ipsd + 300
    GROUP BY i.person_id
), class_period AS (  -- each class's medicationRequestPeriod() list, to roll out (patients with an IPSD only)
    SELECT o.person_id, o.drug_class AS list_key, o.start_d AS lo, o.end_d AS hi
    FROM adhd_order o SEMI JOIN ipsd i ON i.person_id = o.person_id
), rolled_out AS (
    SELECT * FROM rollout_intervals('class_period')
), on_medication AS (  -- "ADHD Medications Taken on IPSD or During Continuation and Maintenance Phase": the rolled-out
    -- intervals of all classes, each intersected with Interval[IPSD, IPSD + 300 days]
    SELECT r.person_id, 'ADHD medication' AS list_key, greatest(r.lo, i.ipsd) AS lo, least(r.hi, i.ipsd + 300) AS hi
    FROM rolled_out r JOIN ipsd i ON i.person_id = r.person_id
    WHERE r.lo <= i.ipsd + 300 AND r.hi >= i.ipsd
), medication_days AS (  -- "ADHD Cumulative Medication Duration"
    SELECT person_id, days FROM cumulative_duration('on_medication')
), narcolepsy AS (  -- "Narcolepsy Exclusion": verified, onset starting on or before the end of the period
    SELECT DISTINCT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.114.12.1011'])
    WHERE prev_lo <= mp_end()
), patient AS (
    SELECT p.person_id,
           -- age 6 at the start of the Intake Period, at most 12 at its end; a Qualifying Encounter; an IPSD
           age_at(p.birth_date, make_date(year(mp_start_date()) - 1, 3, 1)) >= 6
             AND age_at(p.birth_date, make_date(year(mp_start_date()), 3, 1) - 1) <= 12
             AND q.person_id IS NOT NULL AS base_population,
           coalesce(s.in_initiation, FALSE) AS inpatient_initiation,
           coalesce(s.in_continuation, FALSE) AS inpatient_continuation,
           coalesce(d.days >= 210, FALSE) AS on_medication_210_days,
           h.person_id IS NOT NULL OR n.person_id IS NOT NULL AS denominator_exclusion,
           coalesce(f.initiation_visit, FALSE) AS initiation_visit,
           -- Count of the distinct dates >= 2, or a C&M visit date and a virtual encounter date that differ
           coalesce(len(f.continuation_dates) >= 2, FALSE)
             OR coalesce(len(f.continuation_dates) >= 1 AND len(v.dates) >= 1
                         AND len(list_distinct(list_concat(f.continuation_dates, v.dates))) >= 2, FALSE)
             AS continuation_visits
    FROM ecqm_blk_patient p
    JOIN ipsd i ON i.person_id = p.person_id
    LEFT JOIN qualifying_encounter q ON q.person_id = p.person_id
    LEFT JOIN inpatient_after_ipsd s ON s.person_id = p.person_id
    LEFT JOIN medication_days d ON d.person_id = p.person_id
    LEFT JOIN ecqm_blk_hospice h ON h.person_id = p.person_id
    LEFT JOIN narcolepsy n ON n.person_id = p.person_id
    LEFT JOIN follow_up f ON f.person_id = p.person_id
    LEFT JOIN virtual_dates v ON v.person_id = p.person_id
)
SELECT 'Group_1' AS population_group, person_id, NULL AS episode,
       base_population AND NOT inpatient_initiation AS initial_population, TRUE AS denominator,
       denominator_exclusion, NULL AS denominator_exception, initiation_visit AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM patient
UNION ALL
SELECT 'Group_2', person_id, NULL,
       base_population AND on_medication_210_days AND NOT inpatient_continuation, TRUE,
       denominator_exclusion, NULL, initiation_visit AND continuation_visits, NULL, NULL
FROM patient
