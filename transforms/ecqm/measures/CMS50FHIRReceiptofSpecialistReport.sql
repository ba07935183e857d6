-- 374 / CMS50v14 Closing the Referral Loop: Receipt of Specialist Report, patient-based.
-- CQL: cql/CMS50FHIRReceiptofSpecialistReport.cql (library version 1.1.000).
WITH encounter_or_intervention AS (
    -- "Has Encounter during Measurement Period": finished, during day of the period
    SELECT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.526.3.1285',            -- Ophthalmological Services
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1022',  -- Preventive Care Initial, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1024']) e  -- Preventive Care Established, 0 to 17
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
    UNION ALL  -- "Has Intervention during Measurement Period": completed, performed during day of the period
    SELECT p.person_id FROM ecqm_resource p
    WHERE p.resource_type = 'Procedure' AND p.status = 'completed'
      AND during_day(p.start_ts, iv_hi(p.end_ts, p.has_timing), mp_start(), mp_end())
      AND (has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.526.3.1023')  -- Behavioral/Neuropsych Assessment
           OR has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.526.3.1492')  -- Psych Visit Diagnostic Evaluation
           OR EXISTS (SELECT 1 FROM ecqm_coding c
                      WHERE c.person_id = p.person_id AND c.resource_type = 'Procedure' AND c.resource_id = p.resource_id
                        AND c.element = 'code' AND c.code_system = 'http://www.ama-assn.org/go/cpt'
                        AND c.code IN ('96156', '96136', '96138', '90839', '96112')))
), first_referral AS (  -- "First Referral during First 10 Months of Measurement Period", sorted by date of authoredOn
    SELECT * FROM (
        SELECT r.person_id, r.resource_id, r.recorded_ts AS authored_on,
               -- CQL sorts by the date only; among referrals of one day the earlier authoredOn comes first
               row_number() OVER (PARTITION BY r.person_id ORDER BY CAST(r.recorded_ts AS DATE), r.recorded_ts,
                                                                    r.resource_id) AS n
        FROM in_vs('ServiceRequest', ['2.16.840.1.113883.3.464.1003.101.12.1046']) r  -- Referral
        WHERE r.status IN ('active', 'completed') AND r.intent = 'order'
          AND CAST(r.recorded_ts AS DATE) BETWEEN mp_start_date() AND make_date(year(mp_start_date()), 10, 31))
    WHERE n = 1
), report_received AS (  -- "Referring Clinician Receives Consultant Report to Close Referral Loop"
    SELECT DISTINCT f.person_id
    FROM first_referral f
    JOIN with_code('Task', 'http://hl7.org/fhir/CodeSystem/task-code', 'fulfill') t ON t.person_id = f.person_id
    WHERE (t.focus_id = f.resource_id OR list_contains(t.based_on_ids, f.resource_id))
      AND t.status = 'completed'
      AND iv_hi(t.end_ts, t.has_timing) > f.authored_on  -- executionPeriod ends after the referral's authoredOn
      AND point_during_day(iv_hi(t.end_ts, t.has_timing), mp_start(), mp_end())
      AND has_vs(t.person_id, 'Task', t.resource_id, 'reasonCode', '2.16.840.1.113883.3.464.1003.121.12.1006')  -- Consultant Report
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       EXISTS (SELECT 1 FROM encounter_or_intervention x WHERE x.person_id = p.person_id)
         AND f.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator, NULL AS denominator_exclusion, NULL AS denominator_exception,
       r.person_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN first_referral f USING (person_id)
LEFT JOIN report_received r USING (person_id)
