-- 008 / CMS144v14 Heart Failure (HF): Beta-Blocker Therapy for Left Ventricular Systolic Dysfunction (LVSD),
-- patient-based. CQL: cql/CMS144FHIRHFBetaBlockerForLVSD.cql (1.1.000) with AHAOverall 5.1.000 (shared blocks
-- ecqm_blk_aha_*: the LVSD heart failure encounters, the initial population and the exclusions).
WITH request AS (  -- [MedicationRequest: medication in "Beta Blocker Therapy for LVSD"]
    SELECT m.*, r.person_id IS NOT NULL AS rejected
    FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.526.3.1184']) m
    LEFT JOIN ecqm_blk_rejected_request r ON r.person_id = m.person_id AND r.request_id = m.resource_id
), numerator AS (
    -- "Has Beta Blocker Therapy for LVSD Ordered": authored during day of an LVSD heart failure encounter
    SELECT m.person_id FROM request m
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = m.person_id AND point_during_day(m.recorded_ts, e.start_ts, e.end_ts)
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
      AND NOT coalesce(m.do_not_perform, FALSE) AND NOT m.rejected
    UNION
    -- "Is Currently Taking Beta Blocker Therapy for LVSD": the first collapsed dosage period overlaps after day of it
    SELECT m.person_id FROM request m
    JOIN ecqm_blk_first_dosage_interval d ON d.person_id = m.person_id AND d.resource_id = m.resource_id
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = m.person_id
     AND overlaps_after_day(d.start_ts, d.end_ts, e.start_ts, e.end_ts)
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
      AND NOT coalesce(m.do_not_perform, FALSE) AND NOT m.rejected
), heart_rate AS (  -- [USCore.HeartRateProfile]: LOINC 8867-4, with each reading's effective interval
    SELECT o.person_id, o.resource_id, o.status, o.start_ts, iv_hi(o.end_ts, o.has_timing) AS end_ts,
           CASE WHEN coalesce(o.value_unit, '/min') = '/min' THEN o.value_num END AS rate
    FROM with_code('Observation', 'http://loinc.org', '8867-4') o
), rate_in_encounter AS (  -- heart rates during an LVSD encounter's period (millisecond precision)
    SELECT h.*, e.encounter_id FROM heart_rate h
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = h.person_id AND h.start_ts >= e.start_ts AND h.end_ts <= e.end_ts
), consecutive_low_rates AS (
    -- "Has Consecutive Heart Rates Less than 50": a final/amended/corrected rate < 50 /min during the encounter whose
    -- latest prior rate in the same encounter (ending before it starts; Last by start) is also < 50 /min
    SELECT DISTINCT h.person_id FROM rate_in_encounter h
    WHERE h.status IN ('final', 'amended', 'corrected') AND h.rate < 50
      AND (SELECT p.rate FROM rate_in_encounter p
           WHERE p.person_id = h.person_id AND p.encounter_id = h.encounter_id AND p.end_ts < h.start_ts
           ORDER BY p.start_ts DESC NULLS LAST, p.resource_id DESC LIMIT 1) < 50
), overlapping_condition AS (  -- verified conditions by value set, with the LVSD encounters they overlap
    SELECT h.value_set_oid, c.person_id,
           bool_or(overlaps_day(c.prev_lo, c.prev_hi, e.start_ts, e.end_ts)) AS overlaps_enc,
           bool_or(overlaps_after_day(c.prev_lo, c.prev_hi, e.start_ts, e.end_ts)) AS overlaps_after_enc
    FROM ecqm_blk_condition c
    JOIN ecqm_vs_hit h ON h.person_id = c.person_id AND h.resource_type = 'Condition' AND h.resource_id = c.resource_id
                      AND h.element = 'code'
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = c.person_id
    WHERE c.is_verified
    GROUP BY ALL
), exception AS (
    SELECT person_id FROM consecutive_low_rates
    UNION
    -- "Has Medical or Patient Reason for Not Ordering Beta Blocker for LVSD": not requested (doNotPerform) during day
    -- of the encounter, with a medical or patient reason
    SELECT m.person_id FROM request m
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = m.person_id AND point_during_day(m.recorded_ts, e.start_ts, e.end_ts)
    WHERE m.do_not_perform
      AND (has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1007')
           OR has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1008'))
    UNION
    -- arrhythmia, hypotension, asthma, bradycardia overlapping day of the encounter
    SELECT person_id FROM overlapping_condition
    WHERE overlaps_enc AND value_set_oid IN ('2.16.840.1.113883.3.526.3.366', '2.16.840.1.113883.3.526.3.370',
                                         '2.16.840.1.113883.3.526.3.362', '2.16.840.1.113883.3.526.3.412')
    UNION
    -- "Has Diagnosis of Allergy or Intolerance to Beta Blocker Therapy": overlapping after day of the encounter
    SELECT person_id FROM overlapping_condition
    WHERE overlaps_after_enc AND value_set_oid IN ('2.16.840.1.113883.3.526.3.1177', '2.16.840.1.113883.3.526.3.1178')
    UNION
    -- "Has Allergy or Intolerance to Beta Blocker Therapy Ingredient": verified, [onset start, lastOccurrence]
    -- overlapping after day of the encounter (missing bounds run on)
    SELECT a.person_id FROM ecqm_resource a
    JOIN ecqm_blk_verified_allergy v ON v.person_id = a.person_id AND v.resource_id = a.resource_id
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = a.person_id
     AND overlaps_after_day(coalesce(a.start_ts, '-infinity'::TIMESTAMP), coalesce(a.last_occurrence_ts, 'infinity'::TIMESTAMP),
                            e.start_ts, e.end_ts)
    WHERE a.resource_type = 'AllergyIntolerance'
      AND (has_vs(a.person_id, 'AllergyIntolerance', a.resource_id, 'code', '2.16.840.1.113883.3.526.3.1493')
           OR has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'code', 'http://snomed.info/sct', '373254001'))
    UNION
    -- "Atrioventricular Block without Cardiac Pacer": AV block overlapping the encounter, and neither a cardiac pacer in
    -- situ diagnosis overlapping after day of it nor a completed cardiac pacer procedure starting before its end
    SELECT b.person_id FROM overlapping_condition b
    WHERE b.overlaps_enc AND b.value_set_oid = '2.16.840.1.113883.3.526.3.367'
      AND NOT EXISTS (SELECT 1 FROM overlapping_condition s WHERE s.person_id = b.person_id AND s.overlaps_after_enc
                        AND s.value_set_oid = '2.16.840.1.113883.3.526.3.368')
      AND NOT EXISTS (SELECT 1 FROM in_vs('Procedure', ['2.16.840.1.113762.1.4.1178.53']) p
                      JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = p.person_id AND p.start_ts < e.end_ts
                      WHERE p.person_id = b.person_id AND p.status = 'completed')
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
