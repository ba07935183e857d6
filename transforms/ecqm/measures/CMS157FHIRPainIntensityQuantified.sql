-- 143 / CMS157v14 Oncology: Medical and Radiation - Pain Intensity Quantified, episode-based (Encounter), two groups
-- (Group_1 chemotherapy visits, Group_2 radiation treatment management visits). CQL:
-- cql/CMS157FHIRPainIntensityQuantified.cql (1.1.000). The cancer diagnosis's `onset.toInterval() overlaps day of` the
-- visit is read as its prevalence interval (docs/ecqm.md "Condition timing"); the CQL does not test verification.
WITH cancer AS (
    SELECT c.person_id, c.prev_lo, c.prev_hi FROM ecqm_blk_condition c
    WHERE has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.526.3.1010')
), chemo AS (  -- "Chemotherapy Within 31 Days Prior and During Measurement Period": completed or in progress
    SELECT p.person_id, p.resource_id, p.start_ts, iv_hi(p.end_ts, p.has_timing) AS end_ts
    FROM in_vs('Procedure', ['2.16.840.1.113883.3.526.3.1027']) p
    WHERE p.status IN ('completed', 'in-progress')
      AND p.start_ts >= mp_start() - INTERVAL 31 DAY AND iv_hi(p.end_ts, p.has_timing) <= mp_end()
), visit AS (  -- finished visits during day of the period that a cancer diagnosis overlaps (day of)
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts,
           has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.526.3.1026') AS radiation,
           has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1001')
           OR has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.1444.5.215') AS face_to_face,
           has_coding(e.person_id, 'Encounter', e.resource_id, 'code', 'http://www.ama-assn.org/go/cpt', '77427') AS five_treatments
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.1444.5.215',            -- Audio Visual Telehealth Encounter
                             '2.16.840.1.113883.3.526.3.1026']) e         -- Radiation Treatment Management
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND EXISTS (SELECT 1 FROM cancer c WHERE c.person_id = e.person_id
                    AND overlaps_day(c.prev_lo, c.prev_hi, e.start_ts, iv_hi(e.end_ts, e.has_timing)))
), chemo_visit AS (
    -- "Face to Face or Telehealth Encounter with Ongoing Chemotherapy": a chemotherapy starting 30 days or less on or
    -- before the day of the visit's end and another starting 30 days or less on or after it, not the same day as the
    -- first (their intervals do not start and end on the same days)
    SELECT v.* FROM visit v
    WHERE v.face_to_face
      AND EXISTS (SELECT 1 FROM chemo b JOIN chemo a ON a.person_id = b.person_id
                  WHERE b.person_id = v.person_id
                    AND CAST(b.start_ts AS DATE) BETWEEN CAST(v.end_ts AS DATE) - INTERVAL 30 DAY AND CAST(v.end_ts AS DATE)
                    AND CAST(a.start_ts AS DATE) BETWEEN CAST(v.end_ts AS DATE) AND CAST(v.end_ts AS DATE) + INTERVAL 30 DAY
                    AND NOT (CAST(a.start_ts AS DATE) = CAST(b.start_ts AS DATE)
                             AND CAST(a.end_ts AS DATE) = CAST(b.end_ts AS DATE)))
), pain AS (  -- "Standard Pain Assessment with Result": a standardized pain assessment with a value (no status test)
    SELECT o.person_id, o.start_ts, iv_hi(o.end_ts, o.has_timing) AS end_ts
    FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.1028']) o
    WHERE o.has_value
)
SELECT 'Group_1' AS population_group, v.person_id, 'Encounter/' || v.resource_id AS episode,
       TRUE AS initial_population, TRUE AS denominator, NULL AS denominator_exclusion, NULL AS denominator_exception,
       -- "Numerator 1": assessed during day of the visit
       EXISTS (SELECT 1 FROM pain p WHERE p.person_id = v.person_id
                 AND during_day(p.start_ts, p.end_ts, v.start_ts, v.end_ts)) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM chemo_visit v
UNION ALL
SELECT 'Group_2', v.person_id, 'Encounter/' || v.resource_id,
       TRUE, TRUE, NULL, NULL,
       -- "Numerator 2": for a 5-treatment management visit (CPT 77427), assessed ending 6 days or less on or before
       -- the day of its start; otherwise during day of the visit
       EXISTS (SELECT 1 FROM pain p WHERE p.person_id = v.person_id
                 AND CASE WHEN v.five_treatments
                          THEN CAST(p.end_ts AS DATE) BETWEEN CAST(v.start_ts AS DATE) - INTERVAL 6 DAY AND CAST(v.start_ts AS DATE)
                          ELSE during_day(p.start_ts, p.end_ts, v.start_ts, v.end_ts) END),
       NULL, NULL
FROM visit v
WHERE v.radiation
