-- 438 / CMS347v9 Statin Therapy for the Prevention and Treatment of Cardiovascular Disease, patient-based, four
-- groups (disjoint risk populations: ASCVD; LDL-C >= 190 or familial hypercholesterolemia; diabetes 40-75; 10-year
-- risk >= 20 %), one MIPS performance rate (data/ecqm/group_strata.csv maps all four to it).
-- CQL: cql/CMS347FHIRStatinPreventionTxCVD.cql (library version 1.1.000).
WITH verified_condition AS (  -- verified conditions with their prevalence interval: the draft CQL reads
    -- onset.toInterval(), the engine the prevalence interval as CMS's test cases do (docs/ecqm.md, "Condition timing")
    SELECT b.person_id, b.resource_id, b.prev_lo, b.prev_hi FROM ecqm_blk_condition b WHERE b.is_verified
), condition_hit AS (  -- verified conditions with the value sets (or direct code) they are in
    SELECT v.*, h.value_set_oid FROM verified_condition v
    JOIN ecqm_vs_hit h ON h.person_id = v.person_id AND h.resource_type = 'Condition' AND h.resource_id = v.resource_id
                      AND h.element = 'code'
    UNION ALL
    SELECT v.*, 'I22.2' FROM verified_condition v  -- "Subsequent non-ST elevation (NSTEMI) myocardial infarction"
    WHERE has_coding(v.person_id, 'Condition', v.resource_id, 'code', 'http://hl7.org/fhir/sid/icd-10-cm', 'I22.2')
), qualifying_encounter AS (  -- "Qualifying Encounter During Day of Measurement Period"
    SELECT e.person_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1008',  -- Outpatient Consultation
                             '2.16.840.1.113883.3.526.3.1576',            -- Outpatient Encounters for Preventive Care
                             '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.12.1026',  -- Preventive Care Individual Counseling
                             '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                             '2.16.840.1.113883.3.464.1003.101.11.1150',  -- Preventive Care Services Other
                             '2.16.840.1.113762.1.4.1248.276']) e         -- Telemedicine Services
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), ascvd AS (  -- "ASCVD Diagnosis or Procedure before End of Measurement Period"
    SELECT person_id FROM condition_hit
    WHERE value_set_oid IN ('2.16.840.1.113762.1.4.1108.101',   -- Myocardial Infarction
                            'I22.2',
                            '2.16.840.1.113762.1.4.1047.44',    -- Cerebrovascular Disease Stroke or TIA
                            '2.16.840.1.113762.1.4.1047.21',    -- Atherosclerosis and Peripheral Arterial Disease
                            '2.16.840.1.113762.1.4.1047.46',    -- Ischemic Heart Disease or Other Related Diagnoses
                            '2.16.840.1.113762.1.4.1047.47')    -- Stable and Unstable Angina
      AND CAST(prev_lo AS DATE) <= mp_end_date()
    UNION
    SELECT p.person_id FROM in_vs('Procedure', ['2.16.840.1.113762.1.4.1045.67',    -- PCI
                                                '2.16.840.1.113883.3.666.5.694',    -- CABG Surgeries
                                                '2.16.840.1.113883.3.117.1.7.1.204',  -- Carotid Intervention
                                                '2.16.840.1.113762.1.4.1138.566']) p  -- CABG or PCI Procedure
    WHERE p.status = 'completed' AND CAST(p.start_ts AS DATE) <= mp_end_date()
), ldl_190 AS (  -- "LDL Result Greater Than or Equal To 190" (a result in mg/dL; another unit is not compared)
    SELECT DISTINCT o.person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.1573']) o
    WHERE o.status IN ('final', 'amended', 'corrected', 'appended')
      AND o.value_num >= 190 AND coalesce(o.value_unit, 'mg/dL') = 'mg/dL'
      AND CAST(o.start_ts AS DATE) <= mp_end_date()
), hypercholesterolemia AS (  -- "Hypercholesterolemia Diagnosis": starts on or before day of end of MP
    SELECT DISTINCT person_id FROM condition_hit
    WHERE value_set_oid = '2.16.840.1.113762.1.4.1047.100' AND CAST(prev_lo AS DATE) <= mp_end_date()
), diabetes AS (  -- "Has Diabetes Diagnosis": overlaps day of MP
    SELECT DISTINCT person_id FROM condition_hit
    WHERE value_set_oid = '2.16.840.1.113883.3.464.1003.103.12.1001' AND overlaps_day(prev_lo, prev_hi, mp_start(), mp_end())
), high_risk AS (  -- "Ten Year CVD Risk is High": >= 20 % during day of MP
    SELECT DISTINCT o.person_id FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected')
      AND (has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '99055-6')
           OR has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://loinc.org', '79423-0'))
      AND o.value_num >= 20 AND coalesce(o.value_unit, '%') = '%'
      AND during_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
), excluded AS (  -- "Denominator Exclusions": breastfeeding or rhabdomyolysis overlapping day of MP
    SELECT DISTINCT person_id FROM condition_hit
    WHERE value_set_oid IN ('2.16.840.1.113762.1.4.1047.73', '2.16.840.1.113762.1.4.1047.102')
      AND overlaps_day(prev_lo, prev_hi, mp_start(), mp_end())
), statin_request AS (  -- Low / Moderate / High Intensity Statin Therapy requests
    SELECT m.* FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.526.3.1574', '2.16.840.1.113883.3.526.3.1575',
                                                '2.16.840.1.113883.3.526.3.1572']) m
), exception AS (  -- "Denominator Exceptions"
    SELECT a.person_id FROM in_vs('AllergyIntolerance', ['2.16.840.1.113762.1.4.1110.42']) a  -- "Has Allergy to Statin"
    WHERE has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'clinicalStatus',
                     'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'active')
      AND overlaps_day(a.start_ts, iv_hi(a.end_ts, a.has_timing), mp_start(), mp_end())
    UNION SELECT person_id FROM ecqm_blk_hospice
    UNION SELECT person_id FROM ecqm_blk_palliative
    UNION  -- hepatitis A/B or liver disease, statin associated muscle symptoms, ESRD: overlapping day of MP
    SELECT person_id FROM condition_hit
    WHERE value_set_oid IN ('2.16.840.1.113883.3.464.1003.110.12.1024',  -- Hepatitis A
                            '2.16.840.1.113883.3.67.1.101.1.269',        -- Hepatitis B
                            '2.16.840.1.113762.1.4.1047.42',             -- Liver Disease
                            '2.16.840.1.113762.1.4.1108.85',             -- Statin Associated Muscle Symptoms
                            '2.16.840.1.113883.3.526.3.353')             -- End Stage Renal Disease
      AND overlaps_day(prev_lo, prev_hi, mp_start(), mp_end())
    UNION  -- "Has Adverse Reaction to Statin": Coalesce(date, recordedDate) during day of MP
    SELECT a.person_id FROM in_vs('AdverseEvent', ['2.16.840.1.113762.1.4.1110.42']) a
    WHERE point_during_day(coalesce(a.start_ts, a.recorded_ts), mp_start(), mp_end())
    UNION  -- "Has Medical Reason for Not Ordering Statin Therapy": a statin not requested (doNotPerform) for a
           -- medical reason, authored during day of a qualifying encounter
    SELECT s.person_id FROM statin_request s
    JOIN qualifying_encounter q ON q.person_id = s.person_id AND point_during_day(s.recorded_ts, q.start_ts, q.end_ts)
    WHERE s.do_not_perform AND s.status IN ('active', 'completed')
      AND has_vs(s.person_id, 'MedicationRequest', s.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1007')
), statin AS (  -- "Numerator": a statin order authored during day of MP, or a statin whose request period overlaps it
    SELECT s.person_id FROM statin_request s
    WHERE NOT coalesce(s.do_not_perform, FALSE)
      AND point_during_day(s.recorded_ts, mp_start(), mp_end()) AND s.status IN ('active', 'completed')
      -- the CQL's intent list, as written ('filter-order', not 'filler-order')
      AND s.intent IN ('order', 'original-order', 'reflex-order', 'filter-order', 'instance-order')
    UNION
    SELECT s.person_id FROM statin_request s
    JOIN ecqm_blk_med_request_period mp ON mp.person_id = s.person_id AND mp.resource_id = s.resource_id
    WHERE NOT coalesce(s.do_not_perform, FALSE) AND s.status IN ('active', 'completed')
      AND overlaps_day(mp.start_d, mp.end_d, mp_start(), mp_end())
), patient AS (
    SELECT p.person_id,
           EXISTS (SELECT 1 FROM qualifying_encounter q WHERE q.person_id = p.person_id) AS has_encounter,
           a.person_id IS NOT NULL AS has_ascvd, l.person_id IS NOT NULL AS has_ldl, hc.person_id IS NOT NULL AS has_hchol,
           d.person_id IS NOT NULL AS has_diabetes, r.person_id IS NOT NULL AS has_high_risk,
           age_at(p.birth_date, mp_start_date()) AS age_start,  -- AgeInYearsAt(date from start of MP)
           x.person_id IS NOT NULL AS denominator_exclusion,
           EXISTS (SELECT 1 FROM exception e WHERE e.person_id = p.person_id) AS denominator_exception,
           EXISTS (SELECT 1 FROM statin s WHERE s.person_id = p.person_id) AS numerator
    FROM ecqm_blk_patient p
    LEFT JOIN (SELECT DISTINCT person_id FROM ascvd) a USING (person_id)
    LEFT JOIN ldl_190 l USING (person_id)
    LEFT JOIN hypercholesterolemia hc USING (person_id)
    LEFT JOIN diabetes d USING (person_id)
    LEFT JOIN high_risk r USING (person_id)
    LEFT JOIN excluded x USING (person_id)
)
SELECT g.population_group, p.person_id, NULL AS episode,
       p.has_encounter AND CASE g.population_group
           WHEN 'Group_1' THEN p.has_ascvd                                       -- "Initial Population 1"
           WHEN 'Group_2' THEN p.age_start BETWEEN 20 AND 75 AND (p.has_ldl OR p.has_hchol) AND NOT p.has_ascvd
           WHEN 'Group_3' THEN p.age_start BETWEEN 40 AND 75 AND p.has_diabetes
                               AND NOT p.has_ascvd AND NOT p.has_ldl AND NOT p.has_hchol
           ELSE p.age_start BETWEEN 40 AND 75 AND p.has_high_risk
                AND NOT (p.has_ascvd OR p.has_hchol OR p.has_ldl OR p.has_diabetes) END AS initial_population,
       TRUE AS denominator, p.denominator_exclusion, p.denominator_exception, p.numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM patient p CROSS JOIN (VALUES ('Group_1'), ('Group_2'), ('Group_3'), ('Group_4')) g(population_group)
