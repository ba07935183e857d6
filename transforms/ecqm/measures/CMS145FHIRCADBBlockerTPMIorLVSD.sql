-- 007 / CMS145v14 Coronary Artery Disease (CAD): Beta-Blocker Therapy, Prior Myocardial Infarction (MI) or Left
-- Ventricular Systolic Dysfunction (LVEF <=40%), patient-based, two groups (Group_1: LVSD, Group_2: prior MI).
-- The deck has no CQL for this measure: the logic follows CMS145FHIRCADBBlockerTPMIorLVSD.cql 1.0.000 of
-- cqframework/dqm-content-cms-2025 (commit 48789225980d5ac2021d99e074a50ead67115e2c, input/cql/), the same US Quality
-- Core refactor as the deck's CQL, with AHAOverall 5.1.000 "Moderate or Severe LVSD Findings" (ecqm_blk_aha_lvsd_finding).
WITH qualifying_encounter AS (  -- "Qualifying Encounter During Measurement Period" (with Patient Provider Interaction)
    SELECT e.person_id, e.resource_id FROM in_vs('Encounter', [
        '2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
        '2.16.840.1.113883.3.464.1003.101.12.1008',  -- Outpatient Consultation
        '2.16.840.1.113883.3.464.1003.101.12.1012',  -- Nursing Facility Visit
        '2.16.840.1.113883.3.464.1003.101.12.1014',  -- Care Services in Long Term Residential Facility
        '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
        '2.16.840.1.113883.3.526.3.1012']) e        -- Patient Provider Interaction
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), outpatient_encounter AS (  -- "Outpatient Encounter During Measurement Period": the five outpatient value sets
    SELECT e.person_id, e.resource_id AS encounter_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001', '2.16.840.1.113883.3.464.1003.101.12.1008',
                             '2.16.840.1.113883.3.464.1003.101.12.1014', '2.16.840.1.113883.3.464.1003.101.12.1016',
                             '2.16.840.1.113883.3.464.1003.101.12.1012']) e
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), cad_encounter AS (  -- "Qualifying CAD Encounter"
    -- "Coronary Artery Disease Encounter": a verified CAD (no MI) condition whose prevalence overlaps day of it
    SELECT e.* FROM outpatient_encounter e
    WHERE EXISTS (SELECT 1 FROM conditions_in_vs(['2.16.840.1.113883.3.526.3.369']) c
                  WHERE c.person_id = e.person_id AND overlaps_day(c.prev_lo, c.prev_hi, e.start_ts, e.end_ts))
    UNION
    -- "History of Cardiac Surgery Prior to Encounter": a completed cardiac surgery starting before its end
    SELECT e.* FROM outpatient_encounter e
    WHERE EXISTS (SELECT 1 FROM in_vs('Procedure', ['2.16.840.1.113883.3.526.3.371']) s
                  WHERE s.person_id = e.person_id AND s.status = 'completed' AND s.start_ts < e.end_ts)
), initial_population AS (
    SELECT p.person_id FROM ecqm_blk_patient p
    WHERE age_at(p.birth_date, mp_start_date()) >= 18
      AND (SELECT count(DISTINCT q.resource_id) FROM qualifying_encounter q WHERE q.person_id = p.person_id) >= 2
      AND EXISTS (SELECT 1 FROM cad_encounter c WHERE c.person_id = p.person_id)
), visit AS (  -- the encounters each group's criteria refer to, by group
    -- Group_1 "Qualifying CAD Encounter and History of Moderate or Severe LVSD": an LVSD finding starts before its end
    SELECT 'Group_1' AS grp, e.* FROM cad_encounter e
    WHERE EXISTS (SELECT 1 FROM ecqm_blk_aha_lvsd_finding f WHERE f.person_id = e.person_id AND f.finding_start < e.end_ts)
    UNION ALL
    -- Group_2 "Qualifying CAD Encounter and Prior MI": a verified MI whose prevalence starts 3 years or less before
    -- the day of its start (Interval[start - 3 years, start) at day precision), and no LVSD finding at all
    SELECT 'Group_2', e.* FROM cad_encounter e
    WHERE EXISTS (SELECT 1 FROM conditions_in_vs(['2.16.840.1.113883.3.526.3.403']) mi
                  WHERE mi.person_id = e.person_id
                    AND CAST(mi.prev_lo AS DATE) >= CAST(e.start_ts AS DATE) - INTERVAL 3 YEAR
                    AND CAST(mi.prev_lo AS DATE) < CAST(e.start_ts AS DATE))
      AND NOT EXISTS (SELECT 1 FROM ecqm_blk_aha_lvsd_finding f WHERE f.person_id = e.person_id)
), request AS (  -- beta blocker MedicationRequests: "Beta Blocker Therapy for LVSD" (Group_1), "Beta Blocker Therapy" (Group_2)
    SELECT 'Group_1' AS grp, m.* FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.526.3.1184']) m
    UNION ALL
    SELECT 'Group_2', m.* FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.526.3.1174']) m
), numerator AS (
    -- "Has Beta Blocker (for LVSD) Ordered" (authoredDuringDayOfEncounter): authored during day of a visit,
    -- active/completed, order intent, doNotPerform not true
    SELECT DISTINCT m.grp, m.person_id FROM request m
    JOIN visit v ON v.grp = m.grp AND v.person_id = m.person_id AND point_during_day(m.recorded_ts, v.start_ts, v.end_ts)
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent) AND NOT coalesce(m.do_not_perform, FALSE)
    UNION
    -- "Is Currently Taking Beta Blocker (for LVSD)": the first collapsed dosage bounds interval overlaps after day of
    -- a visit, active/completed, order intent (a doNotPerform request is a MedicationNotRequested, not a request)
    SELECT m.grp, m.person_id FROM request m
    JOIN ecqm_blk_first_dosage_interval d ON d.person_id = m.person_id AND d.resource_id = m.resource_id
    JOIN visit v ON v.grp = m.grp AND v.person_id = m.person_id
     AND overlaps_after_day(d.start_ts, d.end_ts, v.start_ts, v.end_ts)
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent) AND NOT coalesce(m.do_not_perform, FALSE)
), condition_hit AS (  -- verified conditions of the exception value sets, with how they relate to each group's visits
    SELECT v.grp, h.value_set_oid, c.person_id,
           bool_or(overlaps_day(c.prev_lo, c.prev_hi, v.start_ts, v.end_ts)) AS overlaps_visit,
           bool_or(overlaps_after_day(c.prev_lo, c.prev_hi, v.start_ts, v.end_ts)) AS overlaps_after_visit
    FROM ecqm_blk_condition c
    JOIN ecqm_vs_hit h ON h.person_id = c.person_id AND h.resource_type = 'Condition' AND h.resource_id = c.resource_id
                      AND h.element = 'code'
                      AND h.value_set_oid IN ('2.16.840.1.113883.3.526.3.366', '2.16.840.1.113883.3.526.3.362',
                                              '2.16.840.1.113883.3.526.3.412', '2.16.840.1.113883.3.526.3.370',
                                              '2.16.840.1.113883.3.526.3.1177', '2.16.840.1.113883.3.526.3.1178',
                                              '2.16.840.1.113883.3.526.3.367', '2.16.840.1.113883.3.526.3.368')
    JOIN visit v ON v.person_id = c.person_id
    WHERE c.is_verified
    GROUP BY ALL
), heart_rate AS (  -- [HeartRateProfile] (LOINC 8867-4) during a visit's period (millisecond precision)
    SELECT v.grp, v.encounter_id, o.person_id, o.resource_id, o.status, o.start_ts, iv_hi(o.end_ts, o.has_timing) AS end_ts,
           CASE WHEN coalesce(o.value_unit, '/min') = '/min' THEN o.value_num END AS rate
    FROM with_code('Observation', 'http://loinc.org', '8867-4') o
    JOIN visit v ON v.person_id = o.person_id AND o.start_ts >= v.start_ts AND iv_hi(o.end_ts, o.has_timing) <= v.end_ts
    WHERE o.status IN ('final', 'amended', 'corrected')
), exception AS (
    -- arrhythmia, asthma, bradycardia, hypotension overlapping day of a visit
    SELECT grp, person_id FROM condition_hit
    WHERE overlaps_visit AND value_set_oid IN ('2.16.840.1.113883.3.526.3.366', '2.16.840.1.113883.3.526.3.362',
                                               '2.16.840.1.113883.3.526.3.412', '2.16.840.1.113883.3.526.3.370')
    UNION
    -- "Has Consecutive Heart Rates Less than 50": a rate < 50 /min during a visit whose latest earlier rate (Last by
    -- start, ending before it starts) during the same visit is also < 50 /min
    SELECT h.grp, h.person_id FROM heart_rate h
    WHERE h.rate < 50
      AND (SELECT p.rate FROM heart_rate p
           WHERE p.grp = h.grp AND p.person_id = h.person_id AND p.encounter_id = h.encounter_id AND p.end_ts < h.start_ts
           ORDER BY p.start_ts DESC NULLS LAST, p.resource_id DESC LIMIT 1) < 50
    UNION
    -- "Has Allergy or Intolerance to Beta Blocker Therapy Ingredient" (overlapsAfterDayOfEncounter of an
    -- AllergyIntolerance): Interval[start of onset, lastOccurrence] overlaps after day of a visit (a missing bound
    -- is the closed null: it runs on), clinicalStatus missing or active, verificationStatus missing or confirmed
    SELECT v.grp, a.person_id FROM ecqm_resource a
    JOIN visit v ON v.person_id = a.person_id
     AND overlaps_after_day(coalesce(a.start_ts, '-infinity'::TIMESTAMP), coalesce(a.last_occurrence_ts, 'infinity'::TIMESTAMP),
                            v.start_ts, v.end_ts)
    WHERE a.resource_type = 'AllergyIntolerance'
      AND (has_vs(a.person_id, 'AllergyIntolerance', a.resource_id, 'code', '2.16.840.1.113883.3.526.3.1493')
           OR has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'code', 'http://snomed.info/sct', '373254001'))
      AND (NOT EXISTS (SELECT 1 FROM ecqm_coding s WHERE s.person_id = a.person_id AND s.resource_type = 'AllergyIntolerance'
                         AND s.resource_id = a.resource_id AND s.element = 'clinicalStatus')
           OR has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'clinicalStatus',
                         'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'active'))
      AND (NOT EXISTS (SELECT 1 FROM ecqm_coding s WHERE s.person_id = a.person_id AND s.resource_type = 'AllergyIntolerance'
                         AND s.resource_id = a.resource_id AND s.element = 'verificationStatus')
           OR has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'verificationStatus',
                         'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', 'confirmed'))
    UNION
    -- "Has Diagnosis of Allergy or Intolerance to Beta Blocker Therapy": overlapping after day of a visit
    SELECT grp, person_id FROM condition_hit
    WHERE overlaps_after_visit AND value_set_oid IN ('2.16.840.1.113883.3.526.3.1177', '2.16.840.1.113883.3.526.3.1178')
    UNION
    -- "Has Medical or Patient Reason for Not Ordering Beta Blocker ...": [MedicationNotRequested: medication in "Beta
    -- Blocker Therapy for LVSD"] (both groups: the CQL names the LVSD value set in Group_2's definition too),
    -- authored during day of a visit, active/completed, order intent, reasonCode in Medical or Patient Reason
    SELECT v.grp, m.person_id FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.526.3.1184']) m
    JOIN visit v ON v.person_id = m.person_id AND point_during_day(m.recorded_ts, v.start_ts, v.end_ts)
    WHERE m.do_not_perform AND m.status IN ('active', 'completed') AND is_order_intent(m.intent)
      AND (has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1007')
           OR has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'reasonCode', '2.16.840.1.113883.3.526.3.1008'))
    UNION
    -- atrioventricular block overlapping day of a visit, without a cardiac pacer in situ diagnosis overlapping day of
    -- a visit and without a cardiac pacer procedure starting before a visit's end (completed, in Group_2 only)
    SELECT b.grp, b.person_id FROM condition_hit b
    WHERE b.overlaps_visit AND b.value_set_oid = '2.16.840.1.113883.3.526.3.367'
      AND NOT EXISTS (SELECT 1 FROM condition_hit s WHERE s.grp = b.grp AND s.person_id = b.person_id AND s.overlaps_visit
                        AND s.value_set_oid = '2.16.840.1.113883.3.526.3.368')
      AND NOT EXISTS (SELECT 1 FROM in_vs('Procedure', ['2.16.840.1.113762.1.4.1178.53']) p
                      JOIN visit v ON v.grp = b.grp AND v.person_id = p.person_id AND p.start_ts < v.end_ts
                      WHERE p.person_id = b.person_id AND (b.grp = 'Group_1' OR p.status = 'completed'))
)
SELECT g.grp AS population_group, p.person_id, NULL AS episode,
       ip.person_id IS NOT NULL AS initial_population,
       EXISTS (SELECT 1 FROM visit v WHERE v.grp = g.grp AND v.person_id = p.person_id) AS denominator,
       NULL AS denominator_exclusion,
       EXISTS (SELECT 1 FROM exception x WHERE x.grp = g.grp AND x.person_id = p.person_id) AS denominator_exception,
       EXISTS (SELECT 1 FROM numerator n WHERE n.grp = g.grp AND n.person_id = p.person_id) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
CROSS JOIN (VALUES ('Group_1'), ('Group_2')) g(grp)
LEFT JOIN initial_population ip USING (person_id)
