-- 117 / CMS131v14 Diabetes: Eye Exam, patient-based.
-- CQL: cql/CMS131FHIRDiabetesEyeExam.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounters" (the measure's own list, with Ophthalmological Services)
    SELECT DISTINCT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.526.3.1285',            -- Ophthalmological Services
                             '2.16.840.1.113883.3.464.1003.101.12.1080']) e  -- Telephone Visits
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), verified_condition AS (  -- verified conditions with their prevalence interval: the draft CQL reads
    -- onset.toInterval(), the engine the prevalence interval as CMS's test cases do (docs/ecqm.md, "Condition timing")
    SELECT b.person_id, b.resource_id, b.prev_lo, b.prev_hi FROM ecqm_blk_condition b WHERE b.is_verified
), diabetes AS (  -- a verified Diabetes diagnosis overlapping day of MP
    SELECT DISTINCT v.person_id FROM verified_condition v
    WHERE has_vs(v.person_id, 'Condition', v.resource_id, 'code', '2.16.840.1.113883.3.464.1003.103.12.1001')
      AND overlaps_day(v.prev_lo, v.prev_hi, mp_start(), mp_end())
), bilateral_absence_of_eyes AS (  -- "Bilateral Absence of Eyes": starts on or before day of end of MP
    SELECT DISTINCT v.person_id FROM verified_condition v
    WHERE has_coding(v.person_id, 'Condition', v.resource_id, 'code', 'http://snomed.info/sct', '15665641000119103')
      AND CAST(v.prev_lo AS DATE) <= mp_end_date()
), retinopathy AS (  -- "Diabetic Retinopathy Overlapping Measurement Period"
    SELECT DISTINCT v.person_id FROM verified_condition v
    WHERE has_vs(v.person_id, 'Condition', v.resource_id, 'code', '2.16.840.1.113883.3.526.3.327')
      AND overlaps_day(v.prev_lo, v.prev_hi, mp_start(), mp_end())
), exam AS (  -- physical exams performed: final/amended/corrected with category 'exam'; effective.toInterval()
    SELECT o.person_id, o.resource_id, o.start_ts AS lo, iv_hi(o.end_ts, o.has_timing) AS hi
    FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected')
      AND has_coding(o.person_id, 'Observation', o.resource_id, 'category',
                     'http://terminology.hl7.org/CodeSystem/observation-category', 'exam')
), findings AS (
    SELECT p.person_id,
           -- "Retinal Exam in Measurement Period" / "... or Year Prior"
           bool_or(has_vs(x.person_id, 'Observation', x.resource_id, 'code', '2.16.840.1.113883.3.464.1003.115.12.1088')
                   AND during_day(x.lo, x.hi, mp_start(), mp_end())) AS retinal_exam_mp,
           bool_or(has_vs(x.person_id, 'Observation', x.resource_id, 'code', '2.16.840.1.113883.3.464.1003.115.12.1088')
                   AND during_day(x.lo, x.hi, mp_start() - INTERVAL 1 YEAR, mp_end())) AS retinal_exam_mp_or_prior,
           -- "Autonomous Eye Exam in Measurement Period"
           bool_or(has_coding(x.person_id, 'Observation', x.resource_id, 'code', 'http://loinc.org', '105914-6')
                   AND has_vs(x.person_id, 'Observation', x.resource_id, 'value', '2.16.840.1.113883.3.464.1004.2616')
                   AND during_day(x.lo, x.hi, mp_start(), mp_end())) AS autonomous_exam,
           -- "Has Left/Right Eye Retinopathy": severity level in "Diabetic Retinopathy Severity Level" during day of MP
           bool_or(has_coding(x.person_id, 'Observation', x.resource_id, 'code', 'http://loinc.org', '71490-7')
                   AND has_vs(x.person_id, 'Observation', x.resource_id, 'value', '2.16.840.1.113883.3.464.1003.1266')
                   AND during_day(x.lo, x.hi, mp_start(), mp_end())) AS left_retinopathy,
           bool_or(has_coding(x.person_id, 'Observation', x.resource_id, 'code', 'http://loinc.org', '71491-5')
                   AND has_vs(x.person_id, 'Observation', x.resource_id, 'value', '2.16.840.1.113883.3.464.1003.1266')
                   AND during_day(x.lo, x.hi, mp_start(), mp_end())) AS right_retinopathy,
           -- "Has Left/Right Eye No Retinopathy in Year Prior": 'No apparent retinopathy' during day of the year before MP
           bool_or(has_coding(x.person_id, 'Observation', x.resource_id, 'code', 'http://loinc.org', '71490-7')
                   AND has_coding(x.person_id, 'Observation', x.resource_id, 'value', 'http://loinc.org', 'LA18643-9')
                   AND during_day(x.lo, x.hi, mp_start() - INTERVAL 1 YEAR, mp_end() - INTERVAL 1 YEAR)) AS left_none_prior,
           bool_or(has_coding(x.person_id, 'Observation', x.resource_id, 'code', 'http://loinc.org', '71491-5')
                   AND has_coding(x.person_id, 'Observation', x.resource_id, 'value', 'http://loinc.org', 'LA18643-9')
                   AND during_day(x.lo, x.hi, mp_start() - INTERVAL 1 YEAR, mp_end() - INTERVAL 1 YEAR)) AS right_none_prior
    FROM ecqm_blk_patient p JOIN exam x ON x.person_id = p.person_id
    GROUP BY p.person_id
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       p.age_end BETWEEN 18 AND 75 AND q.person_id IS NOT NULL AND d.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL
         OR (p.age_end >= 66 AND f.person_id IS NOT NULL AND ai.person_id IS NOT NULL)
         OR (p.age_end >= 66 AND nh.person_id IS NOT NULL)
         OR pc.person_id IS NOT NULL
         OR ba.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       coalesce((r.person_id IS NOT NULL AND x.retinal_exam_mp)
                OR (r.person_id IS NULL AND x.retinal_exam_mp_or_prior)
                OR x.autonomous_exam
                OR (x.left_retinopathy AND x.right_retinopathy)
                OR (x.left_retinopathy AND x.right_none_prior)
                OR (x.right_retinopathy AND x.left_none_prior)
                OR (x.left_none_prior AND x.right_none_prior), FALSE) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN diabetes d USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN ecqm_blk_frailty f USING (person_id)
LEFT JOIN ecqm_blk_advanced_illness ai USING (person_id)
LEFT JOIN ecqm_blk_nursing_home nh USING (person_id)
LEFT JOIN ecqm_blk_palliative pc USING (person_id)
LEFT JOIN bilateral_absence_of_eyes ba USING (person_id)
LEFT JOIN retinopathy r USING (person_id)
LEFT JOIN findings x USING (person_id)
