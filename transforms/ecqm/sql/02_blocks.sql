-- Shared building blocks of the eCQMs: interval tests with CQL's semantics, the measurement period, value-set and
-- direct-code retrieves, condition prevalence, and the exclusion libraries (Hospice, PalliativeCare,
-- AdvancedIllnessandFrailty) as one row per patient who meets them. Every measure's SQL may use them.
--
-- Intervals are (lo, hi) TIMESTAMP pairs. CQL's closed null boundary (FHIRHelpers.ToInterval of a Period without
-- an end, prevalenceInterval of an active condition without onset) is -infinity / infinity; an unknown boundary
-- (an open null one) is SQL NULL, so a comparison that depends on it is NULL, i.e. not met, as in CQL.

-- the measurement period: Interval[{mp_start}, {mp_end_excl}) ; 'day of' compares dates
CREATE OR REPLACE TEMP MACRO mp_start() AS TIMESTAMP '{mp_start}';
CREATE OR REPLACE TEMP MACRO mp_end() AS TIMESTAMP '{mp_end_excl}' - INTERVAL 1 MILLISECOND;
CREATE OR REPLACE TEMP MACRO mp_start_date() AS DATE '{mp_start_date}';
CREATE OR REPLACE TEMP MACRO mp_end_date() AS DATE '{mp_end_date}';

-- CQL AgeInYearsAt(d): whole years from the birth date to d
CREATE OR REPLACE TEMP MACRO age_at(birth, d) AS date_sub('year', birth, d);
-- the high boundary of a resource's timing interval: no end = closed null = infinity; no timing at all = NULL
CREATE OR REPLACE TEMP MACRO iv_hi(end_ts, has_timing) AS
    CASE WHEN has_timing THEN coalesce(end_ts, 'infinity'::TIMESTAMP) END;
-- FHIRCommon latest(): the end when the interval has one, else the start
CREATE OR REPLACE TEMP MACRO latest_ts(start_ts, end_ts) AS coalesce(end_ts, start_ts);
-- X during day of P / X overlaps day of P / X starts (ends) during day of P, at day precision
CREATE OR REPLACE TEMP MACRO during_day(lo, hi, p_lo, p_hi) AS
    CAST(lo AS DATE) >= CAST(p_lo AS DATE) AND CAST(hi AS DATE) <= CAST(p_hi AS DATE);
CREATE OR REPLACE TEMP MACRO overlaps_day(lo, hi, p_lo, p_hi) AS
    CAST(lo AS DATE) <= CAST(p_hi AS DATE) AND CAST(hi AS DATE) >= CAST(p_lo AS DATE);
CREATE OR REPLACE TEMP MACRO point_during_day(t, p_lo, p_hi) AS
    CAST(t AS DATE) >= CAST(p_lo AS DATE) AND CAST(t AS DATE) <= CAST(p_hi AS DATE);
-- X overlaps P at CQL's millisecond precision (P closed at both ends)
CREATE OR REPLACE TEMP MACRO overlaps_ms(lo, hi, p_lo, p_hi) AS lo <= p_hi AND hi >= p_lo;

-- request intents CQL's Status library accepts as an order
CREATE OR REPLACE TEMP MACRO is_order_intent(intent) AS
    intent IN ('order', 'original-order', 'reflex-order', 'filler-order', 'instance-order');

-- [Type: "Value Set"]: resources of a type whose primary code is in any of the value sets (OIDs)
CREATE OR REPLACE TEMP MACRO in_vs(rtype, oids) AS TABLE
    SELECT r.* FROM ecqm_resource r
    WHERE r.resource_type = rtype
      AND EXISTS (SELECT 1 FROM ecqm_vs_hit h
                  WHERE h.person_id = r.person_id AND h.resource_type = r.resource_type AND h.resource_id = r.resource_id
                    AND h.element = 'code' AND list_contains(oids, h.value_set_oid));
-- [Type: code ~ "Direct code"]: resources of a type with the code (system URL, code) as primary code
CREATE OR REPLACE TEMP MACRO with_code(rtype, sys, cd) AS TABLE
    SELECT r.* FROM ecqm_resource r
    WHERE r.resource_type = rtype
      AND EXISTS (SELECT 1 FROM ecqm_coding c
                  WHERE c.person_id = r.person_id AND c.resource_type = r.resource_type AND c.resource_id = r.resource_id
                    AND c.element = 'code' AND c.code_system = sys AND c.code = cd);
-- element ~ code / element in "Value Set" of one resource (e.g. Observation.value, Procedure.reasonCode).
-- Pass qualified columns (o.person_id, not person_id): a macro's argument is bound inside its subquery.
-- The subqueries' aliases (_hc_, _hv_) are names no caller uses: an argument like c.person_id would otherwise bind to
-- the macro's own table when the caller's alias is the same letter, and match every patient.
CREATE OR REPLACE TEMP MACRO has_coding(pid, rtype, rid, elem, sys, cd) AS
    EXISTS (SELECT 1 FROM ecqm_coding _hc_ WHERE _hc_.person_id = pid AND _hc_.resource_type = rtype
                                             AND _hc_.resource_id = rid AND _hc_.element = elem
                                             AND _hc_.code_system = sys AND _hc_.code = cd);
CREATE OR REPLACE TEMP MACRO has_vs(pid, rtype, rid, elem, oid) AS
    EXISTS (SELECT 1 FROM ecqm_vs_hit _hv_ WHERE _hv_.person_id = pid AND _hv_.resource_type = rtype
                                             AND _hv_.resource_id = rid AND _hv_.element = elem AND _hv_.value_set_oid = oid);

-- Patients with their age at the end of the measurement period (CQL AgeInYearsAt(date from end of MP)) and
-- USCoreCommon sex() (the US Core sex extension's code)
CREATE OR REPLACE TEMP TABLE ecqm_blk_patient AS
SELECT person_id, birth_date, gender, sex, age_at(birth_date, mp_end_date()) AS age_end FROM ecqm_patient;

-- Conditions passing FHIRCommon verified() with FHIRCommon prevalenceInterval() as (prev_lo, prev_hi):
-- active/recurrence/relapse: [onset start, abatement end] (a missing end is the closed null: infinity; a missing
-- onset: -infinity); otherwise [onset, abatement] when abated, else Interval[onset, null) whose end is unknown (NULL).
CREATE OR REPLACE TEMP TABLE ecqm_blk_condition AS
WITH c AS (
    SELECT r.*,
           has_coding(r.person_id, 'Condition', r.resource_id, 'clinicalStatus',
                      'http://terminology.hl7.org/CodeSystem/condition-clinical', 'active')
           OR has_coding(r.person_id, 'Condition', r.resource_id, 'clinicalStatus',
                         'http://terminology.hl7.org/CodeSystem/condition-clinical', 'recurrence')
           OR has_coding(r.person_id, 'Condition', r.resource_id, 'clinicalStatus',
                         'http://terminology.hl7.org/CodeSystem/condition-clinical', 'relapse') AS is_active,
           NOT EXISTS (SELECT 1 FROM ecqm_coding v WHERE v.person_id = r.person_id AND v.resource_type = 'Condition'
                          AND v.resource_id = r.resource_id AND v.element = 'verificationStatus')
           OR EXISTS (SELECT 1 FROM ecqm_coding v WHERE v.person_id = r.person_id AND v.resource_type = 'Condition'
                        AND v.resource_id = r.resource_id AND v.element = 'verificationStatus'
                        AND v.code_system = 'http://terminology.hl7.org/CodeSystem/condition-ver-status'
                        AND v.code IN ('confirmed', 'unconfirmed', 'provisional', 'differential')) AS is_verified
    FROM ecqm_resource r WHERE r.resource_type = 'Condition'
)
SELECT person_id, resource_id, is_active, is_verified,
       coalesce(start_ts, '-infinity'::TIMESTAMP) AS prev_lo,
       CASE WHEN is_active THEN coalesce(abatement_ts, 'infinity'::TIMESTAMP) ELSE abatement_ts END AS prev_hi
FROM c;

-- verified conditions whose code is in any of the value sets, with their prevalence interval
CREATE OR REPLACE TEMP MACRO conditions_in_vs(oids) AS TABLE
    SELECT b.* FROM ecqm_blk_condition b JOIN in_vs('Condition', oids) r USING (person_id, resource_id)
    WHERE b.is_verified;

-- Hospice."Has Hospice Services"
CREATE OR REPLACE TEMP TABLE ecqm_blk_hospice AS
SELECT DISTINCT person_id FROM (
    SELECT person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.666.5.307']) e  -- Encounter Inpatient
    WHERE e.status = 'finished'
      AND (has_coding(e.person_id, 'Encounter', e.resource_id, 'dischargeDisposition', 'http://snomed.info/sct', '428361000124107')
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'dischargeDisposition', 'http://snomed.info/sct', '428371000124100'))
      AND point_during_day(iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.1003']) e  -- Hospice Encounter
    WHERE e.status = 'finished' AND overlaps_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM with_code('Observation', 'http://loinc.org', '45755-6') o  -- Hospice care [MDS]
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND has_coding(o.person_id, 'Observation', o.resource_id, 'value', 'http://snomed.info/sct', '373066001')
      AND overlaps_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM in_vs('ServiceRequest', ['2.16.840.1.113883.3.526.3.1584']) s  -- Hospice Care Ambulatory
    WHERE s.status IN ('active', 'completed') AND is_order_intent(s.intent)
      AND point_during_day(s.recorded_ts, mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.526.3.1584']) p
    WHERE p.status = 'completed' AND overlaps_day(p.start_ts, iv_hi(p.end_ts, p.has_timing), mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.1165'])  -- Hospice Diagnosis
    WHERE overlaps_day(prev_lo, prev_hi, mp_start(), mp_end())
);

-- PalliativeCare."Has Palliative Care in the Measurement Period"
CREATE OR REPLACE TEMP TABLE ecqm_blk_palliative AS
SELECT DISTINCT person_id FROM (
    SELECT person_id FROM with_code('Observation', 'http://loinc.org', '71007-9') o  -- FACIT-Pal
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND overlaps_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.1167'])  -- Palliative Care Diagnosis
    WHERE overlaps_day(prev_lo, prev_hi, mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1090']) e  -- Palliative Care Encounter
    WHERE e.status = 'finished' AND overlaps_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.198.12.1135']) p  -- Palliative Care Intervention
    WHERE p.status = 'completed' AND overlaps_day(p.start_ts, iv_hi(p.end_ts, p.has_timing), mp_start(), mp_end())
);

-- AdvancedIllnessandFrailty."Has Criteria Indicating Frailty"
CREATE OR REPLACE TEMP TABLE ecqm_blk_frailty AS
SELECT DISTINCT person_id FROM (
    SELECT person_id FROM in_vs('DeviceRequest', ['2.16.840.1.113883.3.464.1003.118.12.1300']) d  -- Frailty Device
    WHERE d.status IN ('active', 'completed') AND is_order_intent(d.intent)
      AND point_during_day(d.recorded_ts, mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM with_code('Observation', 'http://loinc.org', '98181-1') o  -- Medical equipment used
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND has_vs(o.person_id, 'Observation', o.resource_id, 'value', '2.16.840.1.113883.3.464.1003.118.12.1300')
      AND point_during_day(iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.113.12.1074'])  -- Frailty Diagnosis
    WHERE overlaps_day(prev_lo, prev_hi, mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1088']) e  -- Frailty Encounter
    WHERE e.status = 'finished' AND overlaps_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
    UNION ALL
    SELECT person_id FROM in_vs('Observation', ['2.16.840.1.113883.3.464.1003.113.12.1075']) o  -- Frailty Symptom
    WHERE o.status IN ('preliminary', 'final', 'amended', 'corrected')
      AND overlaps_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
);

-- CumulativeMedicationDuration MedicationRequestPeriod as (start_d, end_d) DATEs: from the bounds start, else
-- authoredOn, else the validity start; for (days supply, else quantity / (dose * doses per day)) * (1 + refills)
-- days, else to the bounds end; NULL when neither (a division by zero doses per day is NULL too)
CREATE OR REPLACE TEMP MACRO mrp_start(bounds_start_ts, authored_ts, validity_start_ts) AS
    CAST(coalesce(bounds_start_ts, authored_ts, validity_start_ts) AS DATE);
CREATE OR REPLACE TEMP MACRO mrp_total_days(days_supply, supply_quantity, dose_value, doses_per_day, refills) AS
    coalesce(days_supply, supply_quantity / nullif(dose_value * doses_per_day, 0)) * (1 + coalesce(refills, 0));
CREATE OR REPLACE TEMP MACRO mrp_end(start_d, total_days, bounds_end_ts) AS
    CASE WHEN start_d IS NULL THEN NULL
         WHEN total_days IS NOT NULL THEN start_d + CAST(trunc(total_days - 1) AS INTEGER)
         WHEN bounds_end_ts IS NOT NULL THEN CAST(bounds_end_ts AS DATE) END;

-- "Has Advanced Illness in Year Before or During Measurement Period" or "Has Dementia Medications in Year Before
-- or During Measurement Period"
CREATE OR REPLACE TEMP TABLE ecqm_blk_advanced_illness AS
SELECT DISTINCT person_id FROM (
    SELECT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.110.12.1082'])  -- Advanced Illness
    WHERE point_during_day(prev_lo, mp_start() - INTERVAL 1 YEAR, mp_end())
    UNION ALL
    SELECT person_id FROM (
        SELECT m.person_id, mrp_start(m.bounds_start_ts, m.recorded_ts, m.validity_start_ts) AS start_d,
               mrp_end(mrp_start(m.bounds_start_ts, m.recorded_ts, m.validity_start_ts),
                       mrp_total_days(m.days_supply, m.supply_quantity, m.dose_value, m.doses_per_day, m.refills),
                       m.bounds_end_ts) AS end_d
        FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.464.1003.196.12.1510']) m  -- Dementia Medications
        WHERE m.status = 'active' AND is_order_intent(m.intent))
    WHERE start_d IS NOT NULL AND overlaps_day(start_d, end_d, mp_start() - INTERVAL 1 YEAR, mp_end())
);

-- AdvancedIllnessandFrailty."Is Age 66 or Older Living Long Term in a Nursing Home" (without the age test): the
-- last housing status assessment ending on or before the end of the period says 'lives in nursing home'
CREATE OR REPLACE TEMP TABLE ecqm_blk_nursing_home AS
SELECT last_status.person_id FROM (
    SELECT o.person_id, o.resource_id,
           row_number() OVER (PARTITION BY o.person_id ORDER BY iv_hi(o.end_ts, o.has_timing) DESC, o.resource_id DESC) AS n
    FROM with_code('Observation', 'http://loinc.org', '71802-3') o  -- Housing status
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND CAST(iv_hi(o.end_ts, o.has_timing) AS DATE) <= mp_end_date()) last_status
WHERE last_status.n = 1
  AND has_coding(last_status.person_id, 'Observation', last_status.resource_id, 'value', 'http://snomed.info/sct', '160734000');

-- AdultOutpatientEncounters 5.1.000 "Qualifying Encounters": a finished encounter of the outpatient value sets
-- during day of the measurement period (one row per patient)
CREATE OR REPLACE TEMP TABLE ecqm_blk_adult_outpatient AS
SELECT DISTINCT e.person_id
FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                         '2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                         '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                         '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                         '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                         '2.16.840.1.113883.3.464.1003.101.12.1089',  -- Virtual Encounter
                         '2.16.840.1.113883.3.464.1003.101.12.1080']) e  -- Telephone Visits
WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end());

-- CQL `convert q to days` of a duration quantity (UCUM: mo = 30.4375 d, a = 365.25 d); NULL for another unit
CREATE OR REPLACE TEMP MACRO ucum_days(v, unit) AS
    v * CASE WHEN unit IN ('d', 'day', 'days') THEN 1.0 WHEN unit IN ('wk', 'week', 'weeks') THEN 7.0
             WHEN unit IN ('h', 'hour', 'hours') THEN 1.0 / 24 WHEN unit IN ('min', 'minute', 'minutes') THEN 1.0 / 1440
             WHEN unit IN ('mo', 'month', 'months') THEN 30.4375 WHEN unit IN ('a', 'year', 'years') THEN 365.25 END;

-- CumulativeMedicationDuration (us-cql-ig 2.0.0-ballot) MedicationRequestPeriod() / medicationRequestPeriod(): one
-- row per MedicationRequest with its period as dates (statuses are the measure's to test), by the mrp_* macros above
-- (start = bounds start, else authoredOn, else validity start; total days = (days supply, else quantity / (dose *
-- doses per day)) * (1 + refills); end = start + total days - 1, else the bounds end); (start_d, end_d) NULL when the
-- function returns null. Same name and columns as helper m1's block of the same purpose.
CREATE OR REPLACE TEMP TABLE ecqm_blk_med_request_period AS
WITH m AS (
    SELECT person_id, resource_id, mrp_start(bounds_start_ts, recorded_ts, validity_start_ts) AS start_date,
           mrp_total_days(days_supply, supply_quantity, dose_value, doses_per_day, refills) AS total_days, bounds_end_ts
    FROM ecqm_resource WHERE resource_type = 'MedicationRequest')
SELECT person_id, resource_id, total_days,
       CASE WHEN mrp_end(start_date, total_days, bounds_end_ts) IS NOT NULL THEN start_date END AS start_d,
       mrp_end(start_date, total_days, bounds_end_ts) AS end_d
FROM m;

-- AHAOverall 5.1.000 (CMS135, CMS144) ------------------------------------------------------------------------------
-- AHAOverall: the first of the collapsed dosage timing bounds of each MedicationRequest, sorted by start
-- (First((collapse(dosageInstruction.timing.repeat.bounds ... TimingBoundToInterval(authoredOn, DoseTime))) sort by
-- start)): bounds that overlap or meet (within 1 ms) merge into one interval
CREATE OR REPLACE TEMP TABLE ecqm_blk_first_dosage_interval AS
WITH b AS (
    SELECT person_id, resource_id, start_ts, end_ts,
           max(end_ts) OVER (PARTITION BY person_id, resource_id ORDER BY start_ts, end_ts
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_end
    FROM ecqm_dosage_bounds WHERE start_ts IS NOT NULL),
islands AS (
    SELECT *, sum(CASE WHEN prior_end IS NULL OR start_ts > prior_end + INTERVAL 1 MILLISECOND THEN 1 ELSE 0 END)
                  OVER (PARTITION BY person_id, resource_id ORDER BY start_ts, end_ts ROWS UNBOUNDED PRECEDING) AS island
    FROM b)
SELECT person_id, resource_id, min(start_ts) AS start_ts, max(end_ts) AS end_ts
FROM islands WHERE island = 1 GROUP BY person_id, resource_id;

-- AHAOverall "Outpatient Encounter" value sets and "Heart Failure Outpatient Encounter": a finished outpatient
-- encounter during day of the period that a verified heart failure condition's prevalence overlaps (day of)
CREATE OR REPLACE TEMP TABLE ecqm_blk_aha_hf_encounter AS
SELECT DISTINCT e.person_id, e.resource_id AS encounter_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1014',  -- Care Services in Long Term Residential Facility
                         '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                         '2.16.840.1.113883.3.464.1003.101.12.1012',  -- Nursing Facility Visit
                         '2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                         '2.16.840.1.113883.3.464.1003.101.12.1008']) e  -- Outpatient Consultation
JOIN conditions_in_vs(['2.16.840.1.113883.3.526.3.376']) hf  -- Heart Failure
  ON hf.person_id = e.person_id AND overlaps_day(hf.prev_lo, hf.prev_hi, e.start_ts, iv_hi(e.end_ts, e.has_timing))
WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end());

-- AHAOverall "Heart Failure Outpatient Encounter with History of Moderate or Severe LVSD": a heart failure outpatient
-- encounter ending after the start of a "Moderate or Severe LVSD Findings" item (an ejection fraction <= 40 %
-- final/amended/corrected by its effective start; a verified Moderate or Severe LVSD condition, or LVSD SNOMED
-- 134401001 with severity in "Moderate or Severe", by its prevalence start)
CREATE OR REPLACE TEMP TABLE ecqm_blk_aha_lvsd_encounter AS
WITH finding AS (
    SELECT o.person_id, o.start_ts AS finding_start
    FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.1134']) o  -- Ejection Fraction
    WHERE o.status IN ('final', 'amended', 'corrected') AND o.value_num <= 40 AND coalesce(o.value_unit, '%') = '%'
    UNION ALL
    SELECT c.person_id, c.prev_lo FROM ecqm_blk_condition c
    WHERE c.is_verified
      AND (has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.526.3.1090')
           OR (has_coding(c.person_id, 'Condition', c.resource_id, 'code', 'http://snomed.info/sct', '134401001')
               AND has_vs(c.person_id, 'Condition', c.resource_id, 'severity', '2.16.840.1.113883.3.526.3.1092'))))
SELECT DISTINCT e.* FROM ecqm_blk_aha_hf_encounter e
JOIN finding f ON f.person_id = e.person_id AND f.finding_start < e.end_ts;

-- AHAOverall "Is Adult With Two Qualifying Outpatient Encounters and One Heart Failure Outpatient Encounter During
-- the Measurement Period": age 18+ at the start of the period, two distinct finished outpatient encounters or
-- patient provider interactions during day of the period, and a heart failure outpatient encounter
CREATE OR REPLACE TEMP TABLE ecqm_blk_aha_initial_population AS
SELECT p.person_id FROM ecqm_blk_patient p
WHERE age_at(p.birth_date, mp_start_date()) >= 18
  AND (SELECT count(DISTINCT e.resource_id)
       FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1014', '2.16.840.1.113883.3.464.1003.101.12.1016',
                                '2.16.840.1.113883.3.464.1003.101.12.1012', '2.16.840.1.113883.3.464.1003.101.12.1001',
                                '2.16.840.1.113883.3.464.1003.101.12.1008',
                                '2.16.840.1.113883.3.526.3.1012']) e  -- Patient Provider Interaction
       WHERE e.person_id = p.person_id AND e.status = 'finished'
         AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())) >= 2
  AND EXISTS (SELECT 1 FROM ecqm_blk_aha_hf_encounter h WHERE h.person_id = p.person_id);

-- AHAOverall "Has Heart Transplant" / "Has Heart Transplant Complications" / "Has Left Ventricular Assist Device" /
-- "Has Left Ventricular Assist Device Complications", each relative to an LVSD heart failure encounter
CREATE OR REPLACE TEMP TABLE ecqm_blk_aha_exclusion AS
SELECT DISTINCT person_id FROM (
    SELECT p.person_id FROM in_vs('Procedure', ['2.16.840.1.113762.1.4.1178.33']) p  -- Heart Transplant
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = p.person_id AND p.start_ts < e.end_ts  -- starts before end of
    WHERE p.status = 'completed'
    UNION ALL
    SELECT p.person_id FROM in_vs('Procedure', ['2.16.840.1.113762.1.4.1178.61']) p  -- LVAD Placement
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = p.person_id
     AND CAST(p.start_ts AS DATE) < CAST(e.end_ts AS DATE)  -- starts before day of end of
    WHERE p.status = 'completed'
    UNION ALL
    -- complications: Coalesce(start of prevalenceInterval(), recordedDate) on or before the encounter's end date
    SELECT c.person_id FROM conditions_in_vs(['2.16.840.1.113762.1.4.1178.56',   -- Heart Transplant Complications
                                              '2.16.840.1.113762.1.4.1178.58']) c  -- LVAD Complications
    JOIN ecqm_resource r ON r.person_id = c.person_id AND r.resource_type = 'Condition' AND r.resource_id = c.resource_id
    JOIN ecqm_blk_aha_lvsd_encounter e ON e.person_id = c.person_id
     AND CAST(coalesce(c.prev_lo, r.recorded_ts) AS DATE) <= CAST(e.end_ts AS DATE)
);

-- AHAOverall (and other measures' `not exists ["TaskRejected"] ... focus.references(request) and code ~ "Fulfill"`):
-- requests a rejected fulfilment Task points at (one row per rejected request)
CREATE OR REPLACE TEMP TABLE ecqm_blk_rejected_request AS
SELECT DISTINCT t.person_id, t.focus_id AS request_id FROM ecqm_resource t
WHERE t.resource_type = 'Task' AND t.status = 'rejected' AND t.focus_id IS NOT NULL
  AND has_coding(t.person_id, 'Task', t.resource_id, 'code', 'http://hl7.org/fhir/CodeSystem/task-code', 'fulfill');

-- FHIRCommon / USQualityCoreCommon isVerified() of an AllergyIntolerance: no verification status, or confirmed /
-- unconfirmed (one row per verified AllergyIntolerance)
CREATE OR REPLACE TEMP TABLE ecqm_blk_verified_allergy AS
SELECT a.person_id, a.resource_id FROM ecqm_resource a
WHERE a.resource_type = 'AllergyIntolerance'
  AND (NOT EXISTS (SELECT 1 FROM ecqm_coding v WHERE v.person_id = a.person_id AND v.resource_type = 'AllergyIntolerance'
                     AND v.resource_id = a.resource_id AND v.element = 'verificationStatus')
       OR has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'verificationStatus',
                     'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', 'confirmed')
       OR has_coding(a.person_id, 'AllergyIntolerance', a.resource_id, 'verificationStatus',
                     'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', 'unconfirmed'));

-- CQL `A overlaps after day of B`: A overlaps B and ends after B ends, at day precision
CREATE OR REPLACE TEMP MACRO overlaps_after_day(lo, hi, p_lo, p_hi) AS
    overlaps_day(lo, hi, p_lo, p_hi) AND CAST(hi AS DATE) > CAST(p_hi AS DATE);

-- CumulativeMedicationDuration (us-cql-ig 2.0.0-ballot) medicationDispensePeriod(): one row per MedicationDispense
-- with its period as dates (statuses are the measure's to test). Start = date of whenHandedOver, else whenPrepared;
-- total_days = Coalesce(daysSupply converted to days, quantity / (dose * doses per day)); end = start + total_days - 1
-- days; (start_d, end_d) NULL when the function returns null.
CREATE OR REPLACE TEMP TABLE ecqm_blk_med_dispense_period AS
WITH m AS (
    SELECT person_id, resource_id, CAST(start_ts AS DATE) AS start_date,
           coalesce(ucum_days(days_supply, supply_duration_unit),
                    supply_quantity / nullif(dose_value * doses_per_day, 0)) AS total_days
    FROM ecqm_resource WHERE resource_type = 'MedicationDispense')
SELECT person_id, resource_id, total_days,
       CASE WHEN start_date IS NOT NULL AND total_days IS NOT NULL THEN start_date END AS start_d,
       CASE WHEN start_date IS NOT NULL AND total_days IS NOT NULL
            THEN start_date + CAST(trunc(total_days - 1) AS INTEGER) END AS end_d
FROM m;

-- CQL `X.element is not null` / `exists X.element` for a coded element (any coding with a system), e.g. a request's
-- reasonCode or its US Quality Core doNotPerformReason extension. Pass qualified columns, as for has_coding.
-- (The subquery's alias is one no caller uses: an argument like c.person_id would otherwise bind to it.)
CREATE OR REPLACE TEMP MACRO has_coding_element(pid, rtype, rid, elem) AS
    EXISTS (SELECT 1 FROM ecqm_coding _hce_ WHERE _hce_.person_id = pid AND _hce_.resource_type = rtype
                                              AND _hce_.resource_id = rid AND _hce_.element = elem);

-- AHAOverall 5.1.000 "Moderate or Severe LVSD Findings" (CMS145; the same items ecqm_blk_aha_lvsd_encounter tests):
-- one row per finding with Coalesce(prevalenceInterval(), effective.toInterval())'s start: an ejection fraction
-- <= 40 % (final/amended/corrected) by its effective start; a verified Moderate or Severe LVSD condition, or LVSD
-- SNOMED 134401001 whose severity is in "Moderate or Severe", by its prevalence start
CREATE OR REPLACE TEMP TABLE ecqm_blk_aha_lvsd_finding AS
SELECT o.person_id, o.start_ts AS finding_start
FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.1134']) o  -- Ejection Fraction
WHERE o.status IN ('final', 'amended', 'corrected') AND o.value_num <= 40 AND coalesce(o.value_unit, '%') = '%'
UNION ALL
SELECT c.person_id, c.prev_lo FROM ecqm_blk_condition c
WHERE c.is_verified
  AND (has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.526.3.1090')
       OR (has_coding(c.person_id, 'Condition', c.resource_id, 'code', 'http://snomed.info/sct', '134401001')
           AND has_vs(c.person_id, 'Condition', c.resource_id, 'severity', '2.16.840.1.113883.3.526.3.1092')));

-- CumulativeMedicationDuration (us-cql-ig 2.0.0-ballot) rolloutIntervals() ------------------------------------------
-- A list of Date intervals, sorted by start, laid end to end: each interval keeps its length (duration in days) and
-- starts on its own start or the day after the previous rolled-out interval ends, whichever is later:
--     S(i) = Max({end of R(i-1) + 1 day, start of X(i)}),  R(i) = Interval[S(i), S(i) + duration in days of X(i)].
-- Set-based, without recursion: with n(k) = the days interval k covers and C(i) = n(1) + ... + n(i), the day after
-- R(i) ends is T(i) = max over j <= i of (start of X(j) + n(j) + ... + n(i)) = C(i) + max over j <= i of
-- (start of X(j) - C(j-1)), a running maximum. Intervals tied on their start may be taken in any order: what they
-- cover together is the same. Input: the relation named `tbl` (a CTE of the calling query) with columns person_id,
-- list_key (which list the interval belongs to, e.g. a drug class), lo, hi (DATE; rows without a lo, or with
-- hi < lo, are not intervals and are left out). Output: (person_id, list_key, lo, hi), one row per input interval.
CREATE OR REPLACE TEMP MACRO rollout_intervals(tbl) AS TABLE
WITH k AS (  -- one fixed order (equal intervals numbered once), so both running windows see the same order
    SELECT person_id, list_key, lo, hi, date_diff('day', lo, hi) + 1 AS n_days,
           row_number() OVER (PARTITION BY person_id, list_key ORDER BY lo, hi) AS k
    FROM query_table(tbl) WHERE lo IS NOT NULL AND hi >= lo
), x AS (
    SELECT *, sum(n_days) OVER (PARTITION BY person_id, list_key ORDER BY k ROWS UNBOUNDED PRECEDING) AS cum_days
    FROM k
), t AS (
    SELECT *, cum_days + max(date_diff('day', DATE '1970-01-01', lo) - (cum_days - n_days))
                             OVER (PARTITION BY person_id, list_key ORDER BY k ROWS UNBOUNDED PRECEDING) AS next_free
    FROM x
)
SELECT person_id, list_key, CAST(DATE '1970-01-01' + CAST(next_free - n_days AS INTEGER) AS DATE) AS lo,
       CAST(DATE '1970-01-01' + CAST(next_free - 1 AS INTEGER) AS DATE) AS hi
FROM t;

-- CumulativeMedicationDuration cumulativeDuration(): the days a list of Date intervals covers (collapse per day:
-- overlapping or adjacent intervals merge; then the sum of (difference in days between start and end) + 1). Input:
-- the relation named `tbl` with person_id, list_key, lo, hi (DATE; rows without lo or hi, or with hi < lo, are left
-- out, as CQL's collapse leaves out nulls). Output: (person_id, list_key, days), one row per list with an interval.
CREATE OR REPLACE TEMP MACRO cumulative_duration(tbl) AS TABLE
WITH x AS (
    SELECT person_id, list_key, lo, hi,
           max(hi) OVER (PARTITION BY person_id, list_key ORDER BY lo, hi
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_hi
    FROM query_table(tbl) WHERE lo IS NOT NULL AND hi IS NOT NULL AND hi >= lo
), islands AS (
    SELECT *, sum(CASE WHEN prior_hi IS NULL OR lo > prior_hi + 1 THEN 1 ELSE 0 END)
                  OVER (PARTITION BY person_id, list_key ORDER BY lo, hi ROWS UNBOUNDED PRECEDING) AS island
    FROM x
)
SELECT person_id, list_key, sum(days) AS days
FROM (SELECT person_id, list_key, island, date_diff('day', min(lo), max(hi)) + 1 AS days FROM islands GROUP BY ALL)
GROUP BY ALL;

-- CQMCommon 5.1.000 claimDiagnosis(encounter): one row per diagnosis of the active claims (use 'claim') with an item
-- referencing the encounter, whose sequence is among those items' diagnosisSequence (CQL pools the items and the
-- diagnoses of all such claims). is_principal: CD.type.includesCode("Principal Diagnosis") (ex-diagnosistype
-- 'principal'), CQMCommon principalDiagnosis().
CREATE OR REPLACE TEMP TABLE ecqm_blk_encounter_claim_diagnosis AS
WITH item AS (
    SELECT person_id, encounter_id, claim_id, diagnosis_sequences FROM ecqm_claim_item
    WHERE claim_status = 'active' AND claim_use = 'claim' AND encounter_id IS NOT NULL
), billed_sequence AS (
    SELECT DISTINCT person_id, encounter_id, unnest(diagnosis_sequences) AS sequence FROM item
)
SELECT c.person_id, c.encounter_id, d.claim_id, d.diagnosis_index, d.sequence, d.condition_id, d.diagnosis_codings,
       d.on_admission_codings,
       list_contains(d.type_codings, {'code_system': 'http://terminology.hl7.org/CodeSystem/ex-diagnosistype',
                                      'code': 'principal'}) AS is_principal
FROM (SELECT DISTINCT person_id, encounter_id, claim_id FROM item) c
JOIN ecqm_claim_diagnosis d ON d.person_id = c.person_id AND d.claim_id = c.claim_id
JOIN billed_sequence s ON s.person_id = c.person_id AND s.encounter_id = c.encounter_id AND s.sequence = d.sequence;

-- CQMCommon 5.1.000 hasPrincipalDiagnosisOf(encounter, valueSet): (person_id, encounter_id) of the encounters whose
-- principal claim diagnosis is in any of the value sets, by its own codes or by the code of the Condition it
-- references (getCondition()). CQL's `singleton from` fails on an encounter with two principal claim diagnoses; here
-- either may qualify it.
CREATE OR REPLACE TEMP MACRO principal_diagnosis_in_vs(oids) AS TABLE
SELECT DISTINCT d.person_id, d.encounter_id FROM ecqm_blk_encounter_claim_diagnosis d
WHERE d.is_principal
  AND (EXISTS (SELECT 1 FROM (SELECT unnest(d.diagnosis_codings) AS c) u
               JOIN ref.ecqm_value_set_codes v ON v.code_system = u.c.code_system AND v.code = u.c.code
               WHERE list_contains(oids, v.value_set_oid))
       OR EXISTS (SELECT 1 FROM ecqm_vs_hit _pd_ WHERE _pd_.person_id = d.person_id AND _pd_.resource_type = 'Condition'
                    AND _pd_.resource_id = d.condition_id AND _pd_.element = 'code'
                    AND list_contains(oids, _pd_.value_set_oid)));

-- CQMCommon 5.1.000 GetLocation(Encounter.location.location).type in "Value Set": (person_id, encounter_id) of the
-- encounters with a location entry whose Location's type is in any of the value sets. The Location is the one of
-- that id in the patient's record, or a shared one (person_id NULL: read from NDJSON or a many-patient Bundle).
CREATE OR REPLACE TEMP MACRO encounter_location_in_vs(oids) AS TABLE
SELECT DISTINCT l.person_id, l.encounter_id FROM ecqm_encounter_location l
WHERE EXISTS (SELECT 1 FROM ecqm_vs_hit _lv_ WHERE _lv_.resource_type = 'Location' AND _lv_.resource_id = l.location_id
                AND (_lv_.person_id = l.person_id OR _lv_.person_id IS NULL) AND _lv_.element = 'type'
                AND list_contains(oids, _lv_.value_set_oid));
