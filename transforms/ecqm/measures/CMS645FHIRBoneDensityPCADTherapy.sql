-- 462 / CMS645v9 Bone Density Evaluation for Patients with Prostate Cancer and Receiving Androgen Deprivation
-- Therapy, patient-based. CQL: cql/CMS645FHIRBoneDensityPCADTherapy.cql (library version 1.1.000).
WITH prostate_cancer AS (  -- "Prostate Cancer Diagnosis": verified, overlapping day of the period; its "onset" read
    -- as the prevalence interval (as for CMS69 / CMS159, docs/ecqm.md)
    SELECT b.person_id, b.prev_lo, b.prev_hi FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.526.3.319']) c USING (person_id, resource_id)
    WHERE b.is_verified AND overlaps_day(b.prev_lo, b.prev_hi, mp_start(), mp_end())
), adt_dates AS (  -- ADT medication orders (active / completed, order intents): "... Active Start Dates" = the
    -- earliest of the first timing event and the first dosage bounds period's start and end; "... Order Start
    -- Dates" = the earliest of authoredOn and that period's start and end (CQL Min ignores nulls)
    SELECT m.person_id, least(m.first_timing_event_ts, m.bounds_start_ts, m.bounds_end_ts) AS adt_ts
    FROM in_vs('MedicationRequest', ['2.16.840.1.113762.1.4.1248.352']) m
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
    UNION ALL
    SELECT m.person_id, least(m.recorded_ts, m.bounds_start_ts, m.bounds_end_ts)
    FROM in_vs('MedicationRequest', ['2.16.840.1.113762.1.4.1248.352']) m
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
), first_adt AS (  -- "First ADT in 3 Months Before to 9 Months After Start of Measurement Period", during day of a
    -- prostate cancer diagnosis
    SELECT a.person_id, min(a.adt_ts) AS adt_ts FROM adt_dates a
    WHERE point_during_day(a.adt_ts, mp_start() - INTERVAL 3 MONTH, mp_start() + INTERVAL 9 MONTH)
      AND EXISTS (SELECT 1 FROM prostate_cancer c WHERE c.person_id = a.person_id
                    AND point_during_day(a.adt_ts, c.prev_lo, c.prev_hi))
    GROUP BY a.person_id
), adt_order AS (  -- "Order for 12 Months of ADT ...": leuprolide 12-month order on or after the first ADT's day
    SELECT s.person_id, CAST(s.recorded_ts AS DATE) AS order_day
    FROM with_code('ServiceRequest', 'http://snomed.info/sct', '456381000124102') s
    JOIN first_adt f ON f.person_id = s.person_id
    WHERE s.status IN ('active', 'completed') AND s.intent = 'order'
      AND CAST(s.recorded_ts AS DATE) >= CAST(f.adt_ts AS DATE)
      AND point_during_day(s.recorded_ts, mp_start() - INTERVAL 3 MONTH, mp_start() + INTERVAL 9 MONTH)
), office_visit AS (
    SELECT DISTINCT e.person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001']) e
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), dexa AS (  -- "Has Baseline DEXA Scan ...": ordered or performed 3 months or less on or after the ADT order's day,
    -- or 2 years or less before it
    SELECT o.person_id FROM in_vs('ServiceRequest', ['2.16.840.1.113762.1.4.1248.359']) r
    JOIN adt_order o ON o.person_id = r.person_id
    WHERE r.status IN ('active', 'completed') AND r.intent = 'order'
      -- a refused request (doNotPerform with a reason) is a ServiceNotRequested, not an order (as in CMS22)
      AND NOT (coalesce(r.do_not_perform, FALSE)
               AND (has_coding_element(r.person_id, 'ServiceRequest', r.resource_id, 'doNotPerformReason')
                    OR has_coding_element(r.person_id, 'ServiceRequest', r.resource_id, 'reasonCode')))
      AND ((CAST(r.recorded_ts AS DATE) >= o.order_day AND CAST(r.recorded_ts AS DATE) <= CAST(o.order_day + INTERVAL 3 MONTH AS DATE))
           OR (CAST(r.recorded_ts AS DATE) < o.order_day AND CAST(r.recorded_ts AS DATE) >= CAST(o.order_day - INTERVAL 2 YEAR AS DATE)))
    UNION ALL
    SELECT o.person_id FROM in_vs('Observation', ['2.16.840.1.113762.1.4.1248.359']) x
    JOIN adt_order o ON o.person_id = x.person_id
    WHERE x.status IN ('final', 'amended', 'corrected')
      AND ((CAST(x.start_ts AS DATE) >= o.order_day AND CAST(x.start_ts AS DATE) <= CAST(o.order_day + INTERVAL 3 MONTH AS DATE))
           OR (CAST(iv_hi(x.end_ts, x.has_timing) AS DATE) < o.order_day
               AND CAST(iv_hi(x.end_ts, x.has_timing) AS DATE) >= CAST(o.order_day - INTERVAL 2 YEAR AS DATE)))
), refused AS (  -- "Denominator Exception": DEXA not ordered (doNotPerformReason) or not performed (notDoneReason)
    -- for Patient Declined, 3 months or less on or after the ADT order's day
    SELECT o.person_id FROM in_vs('ServiceRequest', ['2.16.840.1.113762.1.4.1248.359']) r
    JOIN adt_order o ON o.person_id = r.person_id
    WHERE r.do_not_perform
      AND has_vs(r.person_id, 'ServiceRequest', r.resource_id, 'doNotPerformReason', '2.16.840.1.113883.3.526.3.1582')
      AND CAST(r.recorded_ts AS DATE) BETWEEN o.order_day AND CAST(o.order_day + INTERVAL 3 MONTH AS DATE)
    UNION ALL
    SELECT o.person_id FROM in_vs('Observation', ['2.16.840.1.113762.1.4.1248.359']) x
    JOIN adt_order o ON o.person_id = x.person_id
    WHERE has_vs(x.person_id, 'Observation', x.resource_id, 'notDoneReason', '2.16.840.1.113883.3.526.3.1582')
      AND CAST(x.issued_ts AS DATE) BETWEEN o.order_day AND CAST(o.order_day + INTERVAL 3 MONTH AS DATE)
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       v.person_id IS NOT NULL AND EXISTS (SELECT 1 FROM adt_order o WHERE o.person_id = p.person_id) AS initial_population,
       TRUE AS denominator,
       NULL AS denominator_exclusion,
       EXISTS (SELECT 1 FROM refused r WHERE r.person_id = p.person_id) AS denominator_exception,
       EXISTS (SELECT 1 FROM dexa d WHERE d.person_id = p.person_id) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN office_visit v USING (person_id)
