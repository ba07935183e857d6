-- 226 / CMS138v14 Preventive Care and Screening: Tobacco Use: Screening and Cessation Intervention, patient-based,
-- three population groups (Group_1 screening, Group_2 intervention for tobacco users, Group_3 both; MIPS strata in
-- data/ecqm/group_strata.csv). CQL: cql/CMS138FHIRTobaccoScrnCessation.cql (library version 1.1.000).
WITH preventive_visit AS (  -- "Preventive Visit During Measurement Period"
    SELECT DISTINCT e.person_id FROM ecqm_resource e
    WHERE e.resource_type = 'Encounter' AND e.status = 'finished'
      AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND (EXISTS (SELECT 1 FROM ecqm_vs_hit h
                   WHERE h.person_id = e.person_id AND h.resource_type = 'Encounter' AND h.resource_id = e.resource_id
                     AND h.element = 'code' AND h.value_set_oid IN (
                         '2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                         '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Services Established, 18 and Up
                         '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Services Initial, 18 and Up
                         '2.16.840.1.113883.3.464.1003.101.12.1024',  -- Preventive Care, Established, 0 to 17
                         '2.16.840.1.113883.3.464.1003.101.12.1022',  -- Preventive Care Services, Initial, 0 to 17
                         '2.16.840.1.113883.3.464.1003.101.12.1027',  -- Preventive Care Services Group Counseling
                         '2.16.840.1.113883.3.464.1003.101.12.1026',  -- Preventive Care Services Individual Counseling
                         '2.16.840.1.113883.3.464.1003.1006'))        -- Nutrition Services
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'code', 'http://www.ama-assn.org/go/cpt', '99429')
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'code', 'http://www.ama-assn.org/go/cpt', '99024'))
), qualifying_visit AS (  -- "Qualifying Visit During Measurement Period": number of distinct encounters
    SELECT e.person_id, count(*) AS visits FROM ecqm_resource e
    WHERE e.resource_type = 'Encounter' AND e.status = 'finished'
      AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND (EXISTS (SELECT 1 FROM ecqm_vs_hit h
                   WHERE h.person_id = e.person_id AND h.resource_type = 'Encounter' AND h.resource_id = e.resource_id
                     AND h.element = 'code' AND h.value_set_oid IN (
                         '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                         '2.16.840.1.113883.3.526.3.1011',            -- Occupational Therapy Evaluation
                         '2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                         '2.16.840.1.113883.3.526.3.1285',            -- Ophthalmological Services
                         '2.16.840.1.113883.3.526.3.1022',            -- Physical Therapy Evaluation
                         '2.16.840.1.113883.3.526.3.1492',            -- Psych Visit Diagnostic Evaluation
                         '2.16.840.1.113883.3.526.3.1496',            -- Psych Visit Psychotherapy
                         '2.16.840.1.113883.3.526.3.1141',            -- Psychoanalysis
                         '2.16.840.1.113883.3.526.3.1530',            -- Speech and Hearing Evaluation
                         '2.16.840.1.113883.3.464.1003.101.12.1080',  -- Telephone Visits
                         '2.16.840.1.113883.3.464.1003.101.12.1089'))  -- Virtual Encounter
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'code', 'http://www.ama-assn.org/go/cpt', '96158')
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'code', 'http://www.ama-assn.org/go/cpt', '96156'))
    GROUP BY e.person_id
), most_recent_screening AS (
    -- Last([USCore.SmokingStatusProfile] final, effective during day of the period, sorted by start of effective).
    -- The profile's observations: code in "Tobacco Use Screening" and the profile's required category
    -- 'social-history' (docs/ecqm.md).
    SELECT * FROM (
        SELECT o.person_id, o.resource_id,
               row_number() OVER (PARTITION BY o.person_id ORDER BY o.start_ts DESC NULLS LAST, o.resource_id DESC) AS n
        FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.1278']) o
        WHERE o.status = 'final'
          AND has_coding(o.person_id, 'Observation', o.resource_id, 'category',
                         'http://terminology.hl7.org/CodeSystem/observation-category', 'social-history')
          AND during_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end()))
    WHERE n = 1
), screening_result AS (  -- "Most Recent Tobacco Use Screening Indicates Tobacco User / Non User"
    SELECT s.person_id,
           has_vs(s.person_id, 'Observation', s.resource_id, 'value', '2.16.840.1.113883.3.526.3.1170') AS tobacco_user,
           has_vs(s.person_id, 'Observation', s.resource_id, 'value', '2.16.840.1.113883.3.526.3.1189') AS non_user
    FROM most_recent_screening s
), cessation_intervention AS (  -- in the period or the six months before it
    -- "Tobacco Cessation Counseling Given": a completed counseling procedure ...
    SELECT p.person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.526.3.509']) p
    WHERE p.status = 'completed'
      AND during_day(p.start_ts, iv_hi(p.end_ts, p.has_timing), mp_start() - INTERVAL 6 MONTH, mp_end())
    UNION ALL  -- ... or a verified "Tobacco abuse counseling" (ICD-10-CM Z71.6) condition whose onset starts then
    SELECT b.person_id FROM ecqm_blk_condition b
    JOIN with_code('Condition', 'http://hl7.org/fhir/sid/icd-10-cm', 'Z71.6') c USING (person_id, resource_id)
    WHERE b.is_verified AND point_during_day(c.start_ts, mp_start() - INTERVAL 6 MONTH, mp_end())
    UNION ALL  -- "Tobacco Cessation Pharmacotherapy Ordered", not rejected by a TaskRejected with code 'fulfill'
    SELECT m.person_id FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.526.3.1190']) m
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
      AND point_during_day(m.recorded_ts, mp_start() - INTERVAL 6 MONTH, mp_end())
      AND NOT EXISTS (SELECT 1 FROM with_code('Task', 'http://hl7.org/fhir/CodeSystem/task-code', 'fulfill') t
                      WHERE t.person_id = m.person_id AND t.focus_id = m.resource_id)
    UNION ALL  -- "Active Pharmacotherapy for Tobacco Cessation": its medicationRequestPeriod() during day of the window
    SELECT m.person_id FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.526.3.1190']) m
    JOIN ecqm_blk_med_request_period mp USING (person_id, resource_id)
    WHERE m.status = 'active' AND is_order_intent(m.intent)
      AND during_day(mp.start_d, mp.end_d, mp_start() - INTERVAL 6 MONTH, mp_end())
), facts AS (
    SELECT p.person_id,
           age_at(p.birth_date, mp_start_date()) >= 12
             AND (coalesce(q.visits, 0) >= 2 OR pv.person_id IS NOT NULL) AS initial_population,
           coalesce(s.tobacco_user, FALSE) AS tobacco_user, coalesce(s.non_user, FALSE) AS non_user,
           EXISTS (SELECT 1 FROM cessation_intervention c WHERE c.person_id = p.person_id) AS intervention,
           h.person_id IS NOT NULL AS hospice
    FROM ecqm_blk_patient p
    LEFT JOIN qualifying_visit q USING (person_id)
    LEFT JOIN preventive_visit pv USING (person_id)
    LEFT JOIN screening_result s USING (person_id)
    LEFT JOIN ecqm_blk_hospice h USING (person_id)
)
SELECT g.population_group, f.person_id, NULL AS episode, f.initial_population,
       CASE g.population_group WHEN 'Group_2' THEN f.tobacco_user ELSE TRUE END AS denominator,
       f.hospice AS denominator_exclusion,
       NULL AS denominator_exception,
       CASE g.population_group
            WHEN 'Group_1' THEN f.non_user OR f.tobacco_user
            WHEN 'Group_2' THEN f.intervention
            ELSE f.non_user OR (f.tobacco_user AND f.intervention) END AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM facts f
CROSS JOIN (VALUES ('Group_1'), ('Group_2'), ('Group_3')) g(population_group)
