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
CREATE OR REPLACE TEMP MACRO has_coding(pid, rtype, rid, elem, sys, cd) AS
    EXISTS (SELECT 1 FROM ecqm_coding c WHERE c.person_id = pid AND c.resource_type = rtype AND c.resource_id = rid
                                           AND c.element = elem AND c.code_system = sys AND c.code = cd);
CREATE OR REPLACE TEMP MACRO has_vs(pid, rtype, rid, elem, oid) AS
    EXISTS (SELECT 1 FROM ecqm_vs_hit h WHERE h.person_id = pid AND h.resource_type = rtype AND h.resource_id = rid
                                           AND h.element = elem AND h.value_set_oid = oid);

-- Patients with their age at the end of the measurement period (CQL AgeInYearsAt(date from end of MP))
CREATE OR REPLACE TEMP TABLE ecqm_blk_patient AS
SELECT person_id, birth_date, gender, age_at(birth_date, mp_end_date()) AS age_end FROM ecqm_patient;

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

-- "Has Advanced Illness in Year Before or During Measurement Period" or "Has Dementia Medications in Year Before
-- or During Measurement Period" (CumulativeMedicationDuration MedicationRequestPeriod: from the bounds start, else
-- authoredOn, for days supplied * (1 + refills) days, else to the bounds end)
CREATE OR REPLACE TEMP TABLE ecqm_blk_advanced_illness AS
SELECT DISTINCT person_id FROM (
    SELECT person_id FROM conditions_in_vs(['2.16.840.1.113883.3.464.1003.110.12.1082'])  -- Advanced Illness
    WHERE point_during_day(prev_lo, mp_start() - INTERVAL 1 YEAR, mp_end())
    UNION ALL
    SELECT person_id FROM (
        SELECT m.person_id,
               CAST(coalesce(m.bounds_start_ts, m.recorded_ts) AS DATE) AS start_d,
               CASE WHEN m.days_supply IS NOT NULL
                    THEN CAST(coalesce(m.bounds_start_ts, m.recorded_ts) AS DATE)
                         + CAST(round(m.days_supply * (1 + coalesce(m.refills, 0))) - 1 AS INTEGER)
                    ELSE CAST(m.bounds_end_ts AS DATE) END AS end_d
        FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.464.1003.196.12.1510']) m  -- Dementia Medications
        WHERE m.status = 'active' AND is_order_intent(m.intent))
    WHERE overlaps_day(start_d, end_d, mp_start() - INTERVAL 1 YEAR, mp_end())
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

-- CumulativeMedicationDuration (us-cql-ig 2.0.0-ballot) medicationRequestPeriod(): one row per MedicationRequest with
-- its period as dates. Start = dosageInstruction boundsPeriod start, else authoredOn; end = start + days supplied *
-- (1 + refills) - 1 days (days supplied = expectedSupplyDuration), else the bounds end; (start_d, end_d) NULL when
-- neither is known (the function returns null). Not computed: the validityPeriod start fallback and the quantity /
-- (dose * doses per day) estimate of days supplied (the IR does not carry dose and frequency yet).
CREATE OR REPLACE TEMP TABLE ecqm_blk_med_request_period AS
WITH m AS (
    SELECT person_id, resource_id,
           CAST(coalesce(bounds_start_ts, recorded_ts) AS DATE) AS start_d, days_supply, refills, bounds_end_ts
    FROM ecqm_resource WHERE resource_type = 'MedicationRequest'
)
SELECT person_id, resource_id,
       CASE WHEN start_d IS NOT NULL AND (days_supply IS NOT NULL OR bounds_end_ts IS NOT NULL) THEN start_d END AS start_d,
       CASE WHEN start_d IS NULL THEN NULL
            WHEN days_supply IS NOT NULL
            THEN start_d + CAST(round(days_supply * (1 + coalesce(refills, 0))) - 1 AS INTEGER)
            ELSE CAST(bounds_end_ts AS DATE) END AS end_d
FROM m;

-- CQL `X.element is not null` / `exists X.element` for a coded element (any coding with a system), e.g. a request's
-- reasonCode or its US Quality Core doNotPerformReason extension. Pass qualified columns, as for has_coding.
-- (The subquery's alias is one no caller uses: an argument like c.person_id would otherwise bind to it.)
CREATE OR REPLACE TEMP MACRO has_coding_element(pid, rtype, rid, elem) AS
    EXISTS (SELECT 1 FROM ecqm_coding _hce_ WHERE _hce_.person_id = pid AND _hce_.resource_type = rtype
                                              AND _hce_.resource_id = rid AND _hce_.element = elem);
