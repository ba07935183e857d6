-- 476 / CMS771v7 Urinary Symptom Score Change 6-12 Months After Diagnosis of Benign Prostatic Hyperplasia,
-- patient-based. CQL: cql/CMS771FHIRUrinarySymptomScoreBPH.cql (library version 1.1.000).
WITH valid_condition AS (  -- verificationStatusIsNotInvalid(): no status, or not unconfirmed / refuted / entered in error
    SELECT b.person_id, b.resource_id, r.start_ts AS onset_start, b.prev_lo, b.prev_hi
    FROM ecqm_blk_condition b
    JOIN ecqm_resource r ON r.person_id = b.person_id AND r.resource_type = 'Condition' AND r.resource_id = b.resource_id
    WHERE NOT EXISTS (SELECT 1 FROM ecqm_coding v
                      WHERE v.person_id = b.person_id AND v.resource_type = 'Condition' AND v.resource_id = b.resource_id
                        AND v.element = 'verificationStatus'
                        AND v.code_system = 'http://terminology.hl7.org/CodeSystem/condition-ver-status'
                        AND v.code IN ('unconfirmed', 'refuted', 'entered-in-error'))
), initial_bph AS (  -- "Initial BPH Diagnosis Starts Within 6 Months Before the Measurement Period" (N40.1): the
    -- first whose onset starts during [start of the period - 6 months, start of the period]
    SELECT person_id, onset_start FROM (
        SELECT c.person_id, c.onset_start,
               row_number() OVER (PARTITION BY c.person_id ORDER BY c.onset_start, c.resource_id) AS n
        FROM valid_condition c
        JOIN with_code('Condition', 'http://hl7.org/fhir/sid/icd-10-cm', 'N40.1') x USING (person_id, resource_id)
        WHERE c.onset_start BETWEEN mp_start() - INTERVAL 6 MONTH AND mp_start())
    WHERE n = 1
), office_visit AS (  -- "Has Qualifying Encounter": finished, not virtual, during day of the period
    SELECT DISTINCT e.person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001']) e
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND NOT has_coding(e.person_id, 'Encounter', e.resource_id, 'class',
                         'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'VR')
), assessment AS (  -- final / amended / corrected assessments with a value, at effective.earliest()
    SELECT o.person_id, o.resource_id, coalesce(o.start_ts, o.end_ts) AS earliest, o.value_num,
           has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '80976-4') AS ipss,
           has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '80883-2') AS auasi,
           has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '81090-3') AS qol
    FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected') AND o.has_value
), uss AS (  -- "Urinary Symptom Score Assessment": IPSS, or AUASI plus the last quality-of-life answer that day
    SELECT person_id, earliest, value_num AS score FROM assessment WHERE ipss
    UNION ALL
    SELECT a.person_id, a.earliest,
           a.value_num + (SELECT q.value_num FROM assessment q
                          WHERE q.person_id = a.person_id AND q.qol AND CAST(q.earliest AS DATE) = CAST(a.earliest AS DATE)
                          ORDER BY q.earliest DESC NULLS LAST, q.resource_id DESC LIMIT 1)
    FROM assessment a WHERE a.auasi
), first_uss AS (  -- "... Within 1 Month After Initial BPH Diagnosis": First, 1 month or less on or after its day
    SELECT person_id, score FROM (
        SELECT u.person_id, u.score, row_number() OVER (PARTITION BY u.person_id ORDER BY u.earliest) AS n
        FROM uss u JOIN initial_bph b USING (person_id)
        WHERE CAST(u.earliest AS DATE) BETWEEN CAST(b.onset_start AS DATE)
                                           AND CAST(CAST(b.onset_start AS DATE) + INTERVAL 1 MONTH AS DATE))
    WHERE n = 1
), follow_up_uss AS (  -- "... 6 to 12 Months After Initial BPH Diagnosis": Last, difference in months in [6, 12]
    SELECT person_id, score, earliest FROM (
        SELECT u.person_id, u.score, u.earliest,
               row_number() OVER (PARTITION BY u.person_id ORDER BY u.earliest DESC) AS n
        FROM uss u JOIN initial_bph b USING (person_id)
        WHERE date_diff('month', b.onset_start, u.earliest) BETWEEN 6 AND 12)  -- CQL difference: boundaries crossed
    WHERE n = 1
), excluded AS (
    -- "Urinary Retention Diagnosis Starts Within 1 Year After Initial BPH Diagnosis" (on or after its day)
    SELECT c.person_id FROM valid_condition c
    JOIN in_vs('Condition', ['2.16.840.1.113762.1.4.1248.372']) r USING (person_id, resource_id)
    JOIN initial_bph b ON b.person_id = c.person_id
    WHERE CAST(c.onset_start AS DATE) BETWEEN CAST(b.onset_start AS DATE)
                                          AND CAST(CAST(b.onset_start AS DATE) + INTERVAL 1 YEAR AS DATE)
    UNION ALL  -- the initial BPH diagnosis starts during a hospitalization or 31 days after it
    SELECT b.person_id FROM initial_bph b
    JOIN in_vs('Encounter', ['2.16.840.1.113762.1.4.1248.360']) e ON e.person_id = b.person_id
    WHERE e.status = 'finished'
      AND b.onset_start BETWEEN e.start_ts AND iv_hi(e.end_ts, e.has_timing) + INTERVAL 31 DAY
    UNION ALL  -- morbid obesity overlapping the period (as its prevalence interval, docs/ecqm.md), starting on or
    -- before the follow-up score
    SELECT c.person_id FROM valid_condition c
    JOIN in_vs('Condition', ['2.16.840.1.113762.1.4.1248.368']) r USING (person_id, resource_id)
    JOIN follow_up_uss f ON f.person_id = c.person_id
    WHERE overlaps_ms(c.prev_lo, c.prev_hi, mp_start(), mp_end()) AND c.prev_lo <= f.earliest
    UNION ALL  -- a BMI >= 40 kg/m2 during day of the period, on or before the follow-up score
    SELECT o.person_id FROM with_code('Observation', 'http://loinc.org', '39156-5') o
    JOIN follow_up_uss f ON f.person_id = o.person_id
    WHERE o.status IN ('final', 'amended', 'corrected') AND o.value_num >= 40 AND coalesce(o.value_unit, 'kg/m2') = 'kg/m2'
      AND point_during_day(coalesce(o.start_ts, o.end_ts), mp_start(), mp_end())
      AND coalesce(o.start_ts, o.end_ts) <= f.earliest
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       p.sex = '248153007' AND v.person_id IS NOT NULL AND b.person_id IS NOT NULL AS initial_population,
       fu.person_id IS NOT NULL AND lu.person_id IS NOT NULL AS denominator,
       EXISTS (SELECT 1 FROM excluded x WHERE x.person_id = p.person_id) AS denominator_exclusion,
       NULL AS denominator_exception,
       coalesce(fu.score - lu.score >= 3, FALSE) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_patient p
LEFT JOIN office_visit v USING (person_id)
LEFT JOIN initial_bph b USING (person_id)
LEFT JOIN first_uss fu USING (person_id)
LEFT JOIN follow_up_uss lu USING (person_id)
