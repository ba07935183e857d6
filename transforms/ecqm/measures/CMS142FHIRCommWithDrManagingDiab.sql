-- 019 / CMS142v14 Diabetic Retinopathy: Communication with the Physician Managing Ongoing Diabetes Care,
-- patient-based. CQL: cql/CMS142FHIRCommWithDrManagingDiab.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounter During Day of Measurement Period": finished, not virtual
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.526.3.1285',            -- Ophthalmological Services
                             '2.16.840.1.113883.3.464.1003.101.12.1008',  -- Outpatient Consultation
                             '2.16.840.1.113883.3.464.1003.101.12.1014',  -- Care Services in Long-Term Residential Facility
                             '2.16.840.1.113883.3.464.1003.101.12.1012']) e  -- Nursing Facility Visit
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND NOT has_coding(e.person_id, 'Encounter', e.resource_id, 'class',
                         'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'VR')
), retinopathy_encounter AS (  -- "Diabetic Retinopathy Encounter": a verified diabetic retinopathy diagnosis overlapping
    -- day of it (the draft CQL reads onset.toInterval(), the engine the prevalence interval: docs/ecqm.md)
    SELECT DISTINCT q.* FROM qualifying_encounter q
    JOIN conditions_in_vs(['2.16.840.1.113883.3.526.3.327']) c
      ON c.person_id = q.person_id AND overlaps_day(c.prev_lo, c.prev_hi, q.start_ts, q.end_ts)
), macular_exam AS (  -- "Macular Exam Performed": a result with a value during the encounter (millisecond precision)
    SELECT DISTINCT o.person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.1251']) o
    JOIN retinopathy_encounter e ON e.person_id = o.person_id
     AND o.start_ts >= e.start_ts AND iv_hi(o.end_ts, o.has_timing) <= e.end_ts
    WHERE o.status IN ('final', 'amended', 'corrected') AND o.has_value
), communication AS (  -- Communications by category: level of severity, macular edema absent / present
    SELECT m.*,
           has_vs(m.person_id, 'Communication', m.resource_id, 'category', '2.16.840.1.113883.3.526.3.1283') AS severity,
           has_vs(m.person_id, 'Communication', m.resource_id, 'category', '2.16.840.1.113883.3.526.2.1391') AS edema_absent,
           has_vs(m.person_id, 'Communication', m.resource_id, 'category', '2.16.840.1.113883.3.526.3.1320') AS edema_present,
           has_vs(m.person_id, 'Communication', m.resource_id, 'statusReason', '2.16.840.1.113883.3.526.3.1007')
             OR has_vs(m.person_id, 'Communication', m.resource_id, 'statusReason', '2.16.840.1.113883.3.526.3.1008')
             AS medical_or_patient_reason
    FROM ecqm_resource m WHERE m.resource_type = 'Communication'
), communicated AS (  -- completed, sent after the start of a retinopathy encounter and in the period
    SELECT m.person_id, bool_or(m.severity AND point_during_day(m.sent_ts, mp_start(), mp_end())) AS severity,
           bool_or(m.edema_absent AND point_during_day(m.sent_ts, mp_start(), mp_end())) AS edema_absent,
           -- "Macular Edema Presence Communicated" says `during "Measurement Period"` (millisecond precision)
           bool_or(m.edema_present AND m.sent_ts BETWEEN mp_start() AND mp_end()) AS edema_present
    FROM communication m
    JOIN retinopathy_encounter e ON e.person_id = m.person_id AND m.sent_ts > e.start_ts
    WHERE m.status = 'completed'
    GROUP BY m.person_id
), not_communicated AS (  -- CommunicationNotDone (status not-done) for a medical or patient reason
    SELECT m.person_id FROM communication m
    JOIN retinopathy_encounter e ON e.person_id = m.person_id
    WHERE m.status = 'not-done' AND m.medical_or_patient_reason
      AND ((m.severity AND point_during_day(m.recorded_ts, e.start_ts, e.end_ts))  -- recorded() during day of it
           OR ((m.edema_absent OR m.edema_present) AND point_during_day(m.sent_ts, e.start_ts, e.end_ts)))  -- sent
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) >= 18
         AND EXISTS (SELECT 1 FROM retinopathy_encounter e WHERE e.person_id = p.person_id) AS initial_population,
       EXISTS (SELECT 1 FROM macular_exam x WHERE x.person_id = p.person_id) AS denominator,
       NULL AS denominator_exclusion,
       EXISTS (SELECT 1 FROM not_communicated n WHERE n.person_id = p.person_id) AS denominator_exception,
       coalesce(c.severity AND (c.edema_absent OR c.edema_present), FALSE) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN communicated c USING (person_id)
