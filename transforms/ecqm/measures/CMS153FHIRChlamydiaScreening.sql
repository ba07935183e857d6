-- 310 / CMS153v14 Chlamydia Screening in Women, patient-based, two age stratifiers (reported in `strata`; QPP
-- scores one rate). CQL: cql/CMS153FHIRChlamydiaScreening.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounters": finished, during day of the period
    SELECT DISTINCT e.person_id
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1022',  -- Preventive Care Initial, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1024',  -- Preventive Care Established, 0 to 17
                             '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                             '2.16.840.1.113883.3.464.1003.101.12.1080',  -- Telephone Visits
                             '2.16.840.1.113883.3.464.1003.101.12.1089']) e  -- Virtual Encounter
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), sr_order AS (  -- service requests ordered (active / completed, order intents) with their authoredOn
    SELECT r.person_id, r.resource_id, r.recorded_ts AS authored_on
    FROM ecqm_resource r
    WHERE r.resource_type = 'ServiceRequest' AND r.status IN ('active', 'completed') AND is_order_intent(r.intent)
), indicator AS (  -- the initial population's evidence of sexual activity, one row per kind met
    SELECT o.person_id, 'assessment' AS kind  -- "Have you ever had vaginal intercourse" = Yes, by the end of the period
    FROM with_code('Observation', 'http://loinc.org', '64728-9') o
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND has_coding(o.person_id, 'Observation', o.resource_id, 'value', 'http://snomed.info/sct', '373066001')
      AND iv_hi(o.end_ts, o.has_timing) <= mp_end()
    UNION ALL  -- verified diagnoses overlapping the period (as the prevalence interval, docs/ecqm.md)
    SELECT b.person_id, 'diagnosis' FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.464.1003.111.12.1018', '2.16.840.1.113883.3.464.1003.120.12.1003',
                             '2.16.840.1.113883.3.464.1003.111.12.1012']) c USING (person_id, resource_id)
    WHERE b.is_verified AND overlaps_ms(b.prev_lo, b.prev_hi, mp_start(), mp_end())
    UNION ALL  -- active contraceptive whose medicationRequestPeriod() overlaps the period
    SELECT m.person_id, 'active_contraceptive'
    FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.464.1003.196.12.1080']) m
    JOIN ecqm_blk_med_request_period mp USING (person_id, resource_id)
    WHERE m.status = 'active' AND is_order_intent(m.intent)
      AND mp.start_d <= mp_end_date() AND mp.end_d >= mp_start_date()
    UNION ALL  -- contraceptive ordered during day of the period
    SELECT m.person_id, 'ordered_contraceptive'
    FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.464.1003.196.12.1080']) m
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
      AND point_during_day(m.recorded_ts, mp_start(), mp_end())
    UNION ALL  -- Pap / pregnancy-period / STI lab orders ("... But Not Pregnancy") during day of the period
    SELECT s.person_id, 'lab_not_pregnancy' FROM sr_order s
    WHERE point_during_day(s.authored_on, mp_start(), mp_end())
      AND (has_vs(s.person_id, 'ServiceRequest', s.resource_id, 'code', '2.16.840.1.113883.3.464.1003.108.12.1017')
           OR has_vs(s.person_id, 'ServiceRequest', s.resource_id, 'code', '2.16.840.1.113883.3.464.1003.111.12.1007')
           OR has_vs(s.person_id, 'ServiceRequest', s.resource_id, 'code', '2.16.840.1.113883.3.464.1003.110.12.1051'))
    UNION ALL  -- pregnancy test ordered during day of the period
    SELECT s.person_id, 'pregnancy_test' FROM sr_order s
    WHERE point_during_day(s.authored_on, mp_start(), mp_end())
      AND has_vs(s.person_id, 'ServiceRequest', s.resource_id, 'code', '2.16.840.1.113883.3.464.1003.111.12.1011')
    UNION ALL  -- diagnostic study during pregnancy ordered during day of the period
    SELECT s.person_id, 'diagnostic_study' FROM sr_order s
    WHERE point_during_day(s.authored_on, mp_start(), mp_end())
      AND has_vs(s.person_id, 'ServiceRequest', s.resource_id, 'code', '2.16.840.1.113883.3.464.1003.111.12.1008')
    UNION ALL  -- completed procedure indicating sexual activity, performed during day of the period
    SELECT r.person_id, 'procedure' FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.111.12.1017']) r
    WHERE r.status = 'completed' AND during_day(r.start_ts, iv_hi(r.end_ts, r.has_timing), mp_start(), mp_end())
), pregnancy_test_exclusion AS (  -- "Has Pregnancy Test Exclusion": a pregnancy test ordered in the period with an
    -- x-ray order or an isotretinoin order 0-6 days after its day
    SELECT s.person_id FROM sr_order s
    WHERE has_vs(s.person_id, 'ServiceRequest', s.resource_id, 'code', '2.16.840.1.113883.3.464.1003.111.12.1011')
      AND s.authored_on BETWEEN mp_start() AND mp_end()
      AND (EXISTS (SELECT 1 FROM sr_order x WHERE x.person_id = s.person_id
                     AND has_vs(x.person_id, 'ServiceRequest', x.resource_id, 'code', '2.16.840.1.113883.3.464.1003.198.12.1034')
                     AND CAST(x.authored_on AS DATE) BETWEEN CAST(s.authored_on AS DATE) AND CAST(s.authored_on AS DATE) + 6)
           OR EXISTS (SELECT 1 FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.464.1003.196.12.1143']) m
                      WHERE m.person_id = s.person_id AND m.status IN ('active', 'completed') AND is_order_intent(m.intent)
                        AND CAST(m.recorded_ts AS DATE) BETWEEN CAST(s.authored_on AS DATE) AND CAST(s.authored_on AS DATE) + 6))
), screened AS (  -- "Numerator": a chlamydia screening result with a value, latest() during day of the period
    SELECT DISTINCT o.person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.464.1003.110.12.1052']) o
    WHERE o.status IN ('final', 'amended', 'corrected') AND o.has_value
      AND point_during_day(latest_ts(o.start_ts, o.end_ts), mp_start(), mp_end())
), facts AS (
    SELECT p.person_id, age_at(p.birth_date, mp_end_date()) AS age, x.sex,
           list(DISTINCT i.kind) FILTER (WHERE i.kind IS NOT NULL) AS kinds
    FROM ecqm_blk_patient p JOIN ecqm_patient x USING (person_id)
    LEFT JOIN indicator i USING (person_id)
    GROUP BY ALL
)
SELECT 'Group_1' AS population_group, f.person_id, NULL AS episode,
       f.age BETWEEN 16 AND 24 AND f.sex = '248152002' AND q.person_id IS NOT NULL
         AND len(coalesce(f.kinds, [])) > 0 AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL
         OR (EXISTS (SELECT 1 FROM pregnancy_test_exclusion t WHERE t.person_id = f.person_id)
             -- no other evidence than the pregnancy test itself
             AND NOT list_has_any(coalesce(f.kinds, []), ['assessment', 'diagnosis', 'active_contraceptive',
                                                          'ordered_contraceptive', 'lab_not_pregnancy',
                                                          'diagnostic_study', 'procedure'])) AS denominator_exclusion,
       NULL AS denominator_exception,
       s.person_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion,
       CASE WHEN f.age BETWEEN 16 AND 20 THEN 'Stratification_1_1'
            WHEN f.age BETWEEN 21 AND 24 THEN 'Stratification_1_2' END AS strata
FROM facts f
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN screened s USING (person_id)
