-- 009 / CMS128v14 Anti-depressant Medication Management, patient-based, two groups: Group_1 "Numerator 1" (84 days of
-- treatment within 114 days of the IPSD), Group_2 "Numerator 2" (180 days within 231 days).
-- CQL: cql/CMS128FHIRAntidepressantMgmt.cql (library version 1.1.000) with CumulativeMedicationDuration.
WITH dispense AS (  -- [MedicationDispense: "Antidepressant Medication"].isMedicationDispensed() with its period
    SELECT d.person_id, d.resource_id, p.start_d, p.end_d
    FROM in_vs('MedicationDispense', ['2.16.840.1.113883.3.464.1003.196.12.1213']) d
    JOIN ecqm_blk_med_dispense_period p ON p.person_id = d.person_id AND p.resource_id = d.resource_id
    WHERE d.status IN ('completed', 'in-progress', 'on-hold')
), ipsd AS (  -- "IPSD": the first dispense period start in day of the Intake Period [May 1 of the year before, April 30]
    SELECT person_id, min(start_d) AS ipsd FROM dispense
    WHERE start_d BETWEEN make_date(year(mp_start()) - 1, 5, 1) AND make_date(year(mp_start()), 4, 30)
    GROUP BY person_id
), major_depression AS (  -- "Has IPSD and Major Depression Diagnosis": onset start within 60 days of the IPSD
    SELECT DISTINCT i.person_id FROM ipsd i
    JOIN conditions_in_vs(['2.16.840.1.113883.3.464.1003.105.12.1007']) c ON c.person_id = i.person_id
    JOIN ecqm_resource r ON r.person_id = c.person_id AND r.resource_type = 'Condition' AND r.resource_id = c.resource_id
    WHERE CAST(r.start_ts AS DATE) BETWEEN i.ipsd - INTERVAL 60 DAY AND i.ipsd + INTERVAL 60 DAY
), qualifying_encounter AS (  -- "Qualifying Encounters": finished, start date within 60 days of the IPSD
    SELECT DISTINCT i.person_id FROM ipsd i
    JOIN in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1012',  -- Nursing Facility Visit
                             '2.16.840.1.113883.3.526.3.1492',            -- Psych Visit Diagnostic Evaluation
                             '2.16.840.1.113883.3.526.3.1496',            -- Psych Visit Psychotherapy
                             '2.16.840.1.113883.3.464.1003.101.12.1080',  -- Telephone Visits
                             '2.16.840.1.113883.3.464.1003.101.12.1089']) e  -- Virtual Encounter
      ON e.person_id = i.person_id
    WHERE e.status = 'finished' AND CAST(e.start_ts AS DATE) BETWEEN i.ipsd - INTERVAL 60 DAY AND i.ipsd + INTERVAL 60 DAY
), prior_antidepressant AS (  -- an active antidepressant order whose request period overlaps [IPSD - 105 days, IPSD)
    SELECT DISTINCT i.person_id FROM ipsd i
    JOIN in_vs('MedicationRequest', ['2.16.840.1.113883.3.464.1003.196.12.1213']) m ON m.person_id = i.person_id
    JOIN ecqm_blk_med_request_period p ON p.person_id = m.person_id AND p.resource_id = m.resource_id
    WHERE m.status = 'active' AND is_order_intent(m.intent)
      AND p.start_d <= i.ipsd - INTERVAL 1 DAY AND p.end_d >= i.ipsd - INTERVAL 105 DAY
), treatment_window(population_group, window_days, required_days) AS (VALUES ('Group_1', 114, 84), ('Group_2', 231, 180)
), clipped AS (  -- each dispense period intersected with [IPSD, IPSD + window days] (a null period intersects to
    -- null, which collapse leaves out; DuckDB's greatest/least would skip the NULL bound instead)
    SELECT w.population_group AS list_key, d.person_id, greatest(d.start_d, i.ipsd) AS lo,
           least(d.end_d, CAST(i.ipsd + to_days(w.window_days) AS DATE)) AS hi
    FROM dispense d JOIN ipsd i USING (person_id) CROSS JOIN treatment_window w
    WHERE d.start_d IS NOT NULL AND d.end_d IS NOT NULL
), duration AS (  -- CumulativeMedicationDuration cumulativeDuration(): collapsed per day, days summed (shared block)
    SELECT list_key AS population_group, person_id, days FROM cumulative_duration('clipped')
)
SELECT w.population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, i.ipsd) >= 18 AND md.person_id IS NOT NULL AND q.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL OR pa.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       coalesce(d.days >= w.required_days, FALSE) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
JOIN ipsd i USING (person_id)
CROSS JOIN treatment_window w
LEFT JOIN major_depression md USING (person_id)
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN prior_antidepressant pa USING (person_id)
LEFT JOIN duration d ON d.person_id = p.person_id AND d.population_group = w.population_group
