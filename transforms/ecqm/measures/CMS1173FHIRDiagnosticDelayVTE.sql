-- 514 / CMS1173v1 Diagnostic Delay of Venous Thromboembolism in Primary Care (inverse), episode-based (Encounter).
-- CQL: cql/CMS1173FHIRDiagnosticDelayVTE.cql (library version 1.1.000).
WITH enc AS (  -- finished encounters with their value-set memberships
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts, e.reason_reference_ids,
           has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1001')
             OR has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1087') AS outpatient,
           has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.666.5.307') AS inpatient
    FROM ecqm_resource e
    WHERE e.resource_type = 'Encounter' AND e.status = 'finished'
), pcp_symptom AS (  -- "Qualifying Performed PCP Visits With VTE Symptom"
    SELECT e.* FROM enc e
    WHERE e.outpatient
      AND point_during_day(e.end_ts, mp_start() - INTERVAL 210 DAY, mp_end())
      AND (has_vs(e.person_id, 'Encounter', e.resource_id, 'reasonCode', '2.16.840.1.113762.1.4.1206.51')
           OR EXISTS (SELECT 1 FROM ecqm_blk_condition b
                      WHERE b.person_id = e.person_id AND b.is_verified
                        AND list_contains(e.reason_reference_ids, b.resource_id)
                        AND has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113762.1.4.1206.51')))
), vte_encounter AS (  -- "Qualifying Performed VTE Encounters"
    SELECT e.* FROM enc e
    WHERE (e.outpatient OR e.inpatient)
      AND point_during_day(e.start_ts, mp_start() - INTERVAL 180 DAY, mp_end())
      AND (has_vs(e.person_id, 'Encounter', e.resource_id, 'reasonCode', '2.16.840.1.113762.1.4.1206.49')
           OR EXISTS (SELECT 1 FROM ecqm_resource c  -- isConfirmedCondition(): verificationStatus ~ confirmed
                      WHERE c.person_id = e.person_id AND c.resource_type = 'Condition'
                        AND list_contains(e.reason_reference_ids, c.resource_id)
                        AND has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113762.1.4.1206.49')
                        AND has_coding(c.person_id, 'Condition', c.resource_id, 'verificationStatus',
                                       'http://terminology.hl7.org/CodeSystem/condition-ver-status', 'confirmed')))
), imaging AS (  -- "Qualifying VTE Imaging Diagnostic Report"
    SELECT d.person_id, d.start_ts, iv_hi(d.end_ts, d.has_timing) AS end_ts
    FROM in_vs('DiagnosticReport', ['2.16.840.1.113762.1.4.1206.47']) d
    WHERE d.status IN ('final', 'amended', 'corrected')
), anticoagulant AS (  -- "AntiCoagulant Therapy Ordered"
    SELECT m.person_id, m.recorded_ts AS authored_on
    FROM in_vs('MedicationRequest', ['2.16.840.1.113762.1.4.1206.19']) m
    WHERE m.status IN ('active', 'completed') AND m.intent = 'order'
), qualified AS (  -- "Qualified VTE Encounters": imaging starting during day of the encounter, an anticoagulant
    -- ordered 12 hours or less before or after it, and a symptomatic PCP visit starting 30 days or less on or before it
    SELECT DISTINCT v.person_id, v.resource_id, v.start_ts, v.end_ts
    FROM vte_encounter v
    JOIN imaging i ON i.person_id = v.person_id AND point_during_day(i.start_ts, v.start_ts, v.end_ts)
    WHERE EXISTS (SELECT 1 FROM anticoagulant a WHERE a.person_id = v.person_id
                    AND ((a.authored_on >= i.start_ts - INTERVAL 12 HOUR AND a.authored_on < i.start_ts)
                         OR (a.authored_on > i.end_ts AND a.authored_on <= i.end_ts + INTERVAL 12 HOUR)))
      AND EXISTS (SELECT 1 FROM pcp_symptom p WHERE p.person_id = v.person_id
                    AND p.start_ts BETWEEN i.start_ts - INTERVAL 30 DAY AND i.start_ts)
), in_period AS (  -- "Qualified VTE Encounters During Measurement Period"
    SELECT * FROM qualified WHERE point_during_day(start_ts, mp_start(), mp_end())
), windowed AS (  -- each qualified encounter with its 90-day look-back window [start - 90 days, end]
    SELECT q.*, q.start_ts - INTERVAL 90 DAY AS w_lo, q.end_ts AS w_hi FROM qualified q
), hospice_or_palliative AS (  -- hospice services or palliative care within the window (day of)
    SELECT w.person_id, w.resource_id FROM windowed w
    JOIN in_vs('Encounter', ['2.16.840.1.113883.3.666.5.307']) e ON e.person_id = w.person_id
    WHERE e.status = 'finished'
      AND (has_coding(e.person_id, 'Encounter', e.resource_id, 'dischargeDisposition', 'http://snomed.info/sct', '428361000124107')
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'dischargeDisposition', 'http://snomed.info/sct', '428371000124100'))
      AND point_during_day(iv_hi(e.end_ts, e.has_timing), w.w_lo, w.w_hi)
    UNION ALL  -- Hospice Encounter / Palliative Care Encounter (no status test in the CQL)
    SELECT w.person_id, w.resource_id FROM windowed w
    JOIN in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.1003', '2.16.840.1.113883.3.464.1003.101.12.1090']) e
      ON e.person_id = w.person_id
    WHERE overlaps_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), w.w_lo, w.w_hi)
    UNION ALL  -- Hospice care [MDS] "Yes" (no status test)
    SELECT w.person_id, w.resource_id FROM windowed w
    JOIN with_code('Observation', 'http://loinc.org', '45755-6') o ON o.person_id = w.person_id
    WHERE has_coding(o.person_id, 'Observation', o.resource_id, 'value', 'http://snomed.info/sct', '373066001')
      AND overlaps_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), w.w_lo, w.w_hi)
    UNION ALL  -- FACIT-Pal, final / amended / corrected
    SELECT w.person_id, w.resource_id FROM windowed w
    JOIN with_code('Observation', 'http://loinc.org', '71007-9') o ON o.person_id = w.person_id
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND overlaps_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), w.w_lo, w.w_hi)
    UNION ALL  -- Hospice Care Ambulatory order (active / completed) authored during day of the window
    SELECT w.person_id, w.resource_id FROM windowed w
    JOIN in_vs('ServiceRequest', ['2.16.840.1.113762.1.4.1108.15']) s ON s.person_id = w.person_id
    WHERE s.status IN ('active', 'completed') AND point_during_day(s.recorded_ts, w.w_lo, w.w_hi)
    UNION ALL  -- Hospice Care Ambulatory / Palliative Care Intervention procedures (no status test)
    SELECT w.person_id, w.resource_id FROM windowed w
    JOIN in_vs('Procedure', ['2.16.840.1.113762.1.4.1108.15', '2.16.840.1.113883.3.464.1003.198.12.1135']) r
      ON r.person_id = w.person_id
    WHERE overlaps_day(r.start_ts, iv_hi(r.end_ts, r.has_timing), w.w_lo, w.w_hi)
    UNION ALL  -- verified Hospice / Palliative Care Diagnosis, "onset" read as the prevalence interval (docs/ecqm.md)
    SELECT w.person_id, w.resource_id FROM windowed w
    JOIN ecqm_blk_condition b ON b.person_id = w.person_id
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.464.1003.1165', '2.16.840.1.113883.3.464.1003.1167']) c
      ON c.person_id = b.person_id AND c.resource_id = b.resource_id
    WHERE b.is_verified AND overlaps_day(b.prev_lo, b.prev_hi, w.w_lo, w.w_hi)
), repeat_vte AS (  -- another qualified VTE encounter starting 6 months or less before this one starts
    SELECT DISTINCT c.person_id, c.resource_id FROM qualified c JOIN qualified p ON p.person_id = c.person_id
    WHERE p.start_ts >= c.start_ts - INTERVAL 6 MONTH AND p.start_ts < c.start_ts
), delayed AS (  -- "Qualifying Delayed VTE Encounter": starts 2-30 days after a symptomatic PCP visit ends
    SELECT DISTINCT q.person_id, q.resource_id FROM in_period q JOIN pcp_symptom p ON p.person_id = q.person_id
    WHERE point_during_day(q.start_ts, p.end_ts + INTERVAL 2 DAY, p.end_ts + INTERVAL 30 DAY)
)
SELECT 'Group_1' AS population_group, q.person_id, 'Encounter/' || q.resource_id AS episode,
       age_at(pt.birth_date, CAST(q.start_ts AS DATE)) >= 18 AS initial_population,
       TRUE AS denominator,
       EXISTS (SELECT 1 FROM hospice_or_palliative h WHERE h.person_id = q.person_id AND h.resource_id = q.resource_id)
         OR EXISTS (SELECT 1 FROM repeat_vte r WHERE r.person_id = q.person_id AND r.resource_id = q.resource_id)
           AS denominator_exclusion,
       NULL AS denominator_exception,
       EXISTS (SELECT 1 FROM delayed d WHERE d.person_id = q.person_id AND d.resource_id = q.resource_id) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM in_period q
JOIN ecqm_blk_patient pt USING (person_id)
