-- 005 / CMS135v14 Heart Failure (HF): ACE Inhibitor or ARB or ARNI Therapy for Left Ventricular Systolic Dysfunction
-- (LVSD), patient-based. CQL: cql/CMS135FHIRACEIorARBorARNIforHF.cql (1.1.000) with AHAOverall 5.1.000 (shared
-- blocks ecqm_blk_aha_*: the LVSD heart failure encounters, the initial population and the exclusions).
WITH request AS (  -- [MedicationRequest: medication in "ACE Inhibitor or ARB or ARNI"]
    SELECT m.*, r.person_id IS NOT NULL AS rejected
    FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.526.3.1139']) m
    LEFT JOIN ecqm_blk_rejected_request r ON r.person_id = m.person_id AND r.request_id = m.resource_id
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
), numerator AS (
    -- "Has ACEI or ARB or ARNI Ordered": authored during day of an LVSD heart failure encounter, not rejected
    SELECT m.person_id FROM request m
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = m.person_id
     AND point_during_day(m.recorded_ts, e.start_ts, e.end_ts)
    WHERE NOT coalesce(m.do_not_perform, FALSE) AND NOT m.rejected
    UNION
    -- "Is Currently Taking ACEI or ARB or ARNI": the first collapsed dosage period overlaps after day of the encounter
    SELECT m.person_id FROM request m
    JOIN ecqm_blk_first_dosage_interval d ON d.person_id = m.person_id AND d.resource_id = m.resource_id
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = m.person_id
     AND overlaps_after_day(d.start_ts, d.end_ts, e.start_ts, e.end_ts)
    WHERE NOT coalesce(m.do_not_perform, FALSE) AND NOT m.rejected
), exception AS (
    -- "Has Medical or Patient Reason for Not Ordering ACEI or ARB or ARNI": not requested (doNotPerform) during day
    -- of the encounter, with a medical or patient reason
    SELECT m.person_id FROM request m
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = m.person_id
     AND point_during_day(m.recorded_ts, e.start_ts, e.end_ts)
    WHERE m.do_not_perform AND NOT m.rejected
      AND (has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1007')
           OR has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1008')
           OR has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1140'))
    UNION
    -- "Has Allergy or Intolerance to ACEI or ARB or ARNI Ingredient": [onset start, lastOccurrence] overlaps after
    -- day of the encounter (a missing bound is the closed null: the interval runs on), verified
    SELECT a.person_id FROM ecqm_resource a
    JOIN ecqm_blk_verified_allergy v ON v.person_id = a.person_id AND v.resource_id = a.resource_id
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = a.person_id
     AND overlaps_after_day(coalesce(a.start_ts, '-infinity'::TIMESTAMP), coalesce(a.last_occurrence_ts, 'infinity'::TIMESTAMP),
                            e.start_ts, e.end_ts)
    WHERE a.resource_type = 'AllergyIntolerance'
      AND (has_vs(a.person_id, 'AllergyIntolerance', a.resource_id, 'code', '2.16.840.1.113883.3.526.3.1489')
           OR has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'code', 'http://snomed.info/sct', '372733002')
           OR has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'code', 'http://snomed.info/sct', '372913009')
           OR has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'code', 'http://snomed.info/sct', '786886009'))
    UNION
    -- "Has Diagnosis of Allergy or Intolerance to ACEI or ARB": prevalence overlaps after day of the encounter
    SELECT c.person_id FROM conditions_in_vs(['2.16.840.1.113883.3.526.3.1211', '2.16.840.1.113883.3.526.3.1212']) c
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = c.person_id
     AND overlaps_after_day(c.prev_lo, c.prev_hi, e.start_ts, e.end_ts)
    UNION
    -- "Has Diagnosis of Pregnancy": a verified pregnancy condition whose prevalence starts 9 months or less before or on
    -- the start of the encounter, or a pregnancy status observation (LOINC 82810-3) with a value in "Pregnancy"
    SELECT c.person_id FROM conditions_in_vs(['2.16.840.1.113883.3.526.3.378']) c
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = c.person_id
     AND c.prev_lo BETWEEN e.start_ts - INTERVAL 9 MONTH AND e.start_ts
    UNION
    SELECT o.person_id FROM with_code('Observation', 'http://loinc.org', '82810-3') o
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = o.person_id
     AND o.start_ts BETWEEN e.start_ts - INTERVAL 9 MONTH AND e.start_ts
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND has_vs(o.person_id, 'Observation', o.resource_id, 'value', '2.16.840.1.113883.3.526.3.378')
    UNION
    -- "Has Diagnosis of Renal Failure Due to ACEI": prevalence overlaps day of the encounter
    SELECT c.person_id FROM ecqm_blk_condition c
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = c.person_id AND overlaps_day(c.prev_lo, c.prev_hi, e.start_ts, e.end_ts)
    WHERE c.is_verified AND has_coding(c.person_id, 'Condition', c.resource_id, 'code', 'http://snomed.info/sct', '422593004')
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       ip.person_id IS NOT NULL AS initial_population,
       EXISTS (SELECT 1 FROM ecqm_blk_aha_lvsd_encounter e WHERE e.person_id = p.person_id) AS denominator,
       x.person_id IS NOT NULL AS denominator_exclusion,
       EXISTS (SELECT 1 FROM exception c WHERE c.person_id = p.person_id) AS denominator_exception,
       EXISTS (SELECT 1 FROM numerator n WHERE n.person_id = p.person_id) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN ecqm_blk_aha_initial_population ip USING (person_id)
LEFT JOIN ecqm_blk_aha_exclusion x USING (person_id)
