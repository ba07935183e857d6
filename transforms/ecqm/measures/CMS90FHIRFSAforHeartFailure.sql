-- 377 / CMS90v15 Functional Status Assessments for Heart Failure, patient-based.
-- CQL: cql/CMS90FHIRFSAforHeartFailure.cql (library version 1.1.000).
WITH instrument(instrument, loinc) AS (  -- the CQL's "Date <instrument> ... Completed": every listed score of an
    -- instrument on the same day (PROMIS-10, PROMIS-29, VR-12 / VR-36 oblique / orthogonal, MLHFQ, KCCQ-12, KCCQ
    -- domains, KCCQ total)
    VALUES ('PROMIS10', '71969-0'), ('PROMIS10', '71971-6'),
           ('PROMIS29', '71955-9'), ('PROMIS29', '71957-5'), ('PROMIS29', '71959-1'), ('PROMIS29', '71961-7'),
           ('PROMIS29', '71963-3'), ('PROMIS29', '71965-8'), ('PROMIS29', '71967-4'),
           ('VR12_OBLIQUE', '72026-8'), ('VR12_OBLIQUE', '72025-0'),
           ('VR12_ORTHOGONAL', '72028-4'), ('VR12_ORTHOGONAL', '72027-6'),
           ('VR36_OBLIQUE', '71990-6'), ('VR36_OBLIQUE', '71989-8'),
           ('VR36_ORTHOGONAL', '72008-6'), ('VR36_ORTHOGONAL', '72007-8'),
           ('MLHFQ', '85618-7'), ('MLHFQ', '85609-6'),
           ('KCCQ12', '86923-0'), ('KCCQ12', '86924-8'),
           ('KCCQ_DOMAIN', '72189-4'), ('KCCQ_DOMAIN', '72194-4'), ('KCCQ_DOMAIN', '72190-2'),
           ('KCCQ_DOMAIN', '72191-0'), ('KCCQ_DOMAIN', '72195-1'), ('KCCQ_DOMAIN', '72196-9'),
           ('KCCQ_TOTAL', '71940-1')
), scored AS (  -- assessments performed (final / amended / corrected) with a value, by day of effective start
    SELECT DISTINCT o.person_id, i.instrument, i.loinc, CAST(o.start_ts AS DATE) AS day
    FROM ecqm_resource o
    JOIN ecqm_coding c ON c.person_id = o.person_id AND c.resource_type = 'Observation' AND c.resource_id = o.resource_id
                      AND c.element = 'code' AND c.code_system = 'http://loinc.org'
    JOIN instrument i ON i.loinc = c.code
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected') AND o.has_value
), completed AS (  -- days on which every score of an instrument was recorded
    SELECT s.person_id, s.instrument, s.day FROM scored s
    JOIN (SELECT instrument, count(*) AS scores FROM instrument GROUP BY instrument) n USING (instrument)
    GROUP BY s.person_id, s.instrument, s.day, n.scores
    HAVING count(DISTINCT s.loinc) = n.scores
), encounter AS (  -- "Qualifying Encounters": finished office / telephone / virtual visits during day of the period
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001', '2.16.840.1.113883.3.464.1003.101.12.1080',
                             '2.16.840.1.113883.3.464.1003.101.12.1089']) e
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), assessed AS (  -- "Has Encounter with Initial and Follow Up ... Assessments": an encounter ending 180 days or more
    -- before the last day of the period, an instrument completed 14 days or less on or before that day, and the same
    -- instrument completed again 30-180 days later
    SELECT DISTINCT e.person_id FROM encounter e
    JOIN completed a ON a.person_id = e.person_id
    JOIN completed f ON f.person_id = a.person_id AND f.instrument = a.instrument
    WHERE CAST(e.end_ts AS DATE) <= mp_end_date() - 180
      AND a.day BETWEEN CAST(e.end_ts AS DATE) - 14 AND CAST(e.end_ts AS DATE)
      AND f.day BETWEEN a.day + 30 AND a.day + 180
), two_visits AS (  -- a qualifying encounter followed by another starting 1 day or more after its day
    SELECT DISTINCT a.person_id FROM encounter a JOIN encounter b ON b.person_id = a.person_id
    WHERE CAST(b.start_ts AS DATE) >= CAST(a.end_ts AS DATE) + 1
), condition AS (  -- verified conditions, their `onset.toInterval()` read as the prevalence interval (docs/ecqm.md:
    -- "overlaps before" the period cannot hold for an onset point otherwise)
    SELECT b.person_id, b.prev_lo, b.prev_hi,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.526.3.376') AS heart_failure,
           has_coding(b.person_id, 'Condition', b.resource_id, 'code', 'http://snomed.info/sct', '702956004') AS severe_cognitive
    FROM ecqm_blk_condition b WHERE b.is_verified
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) >= 18
         AND EXISTS (SELECT 1 FROM condition c WHERE c.person_id = p.person_id AND c.heart_failure  -- overlaps before
                       AND CAST(c.prev_lo AS DATE) < mp_start_date() AND CAST(c.prev_hi AS DATE) >= mp_start_date())
         AND t.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL
         OR EXISTS (SELECT 1 FROM condition c WHERE c.person_id = p.person_id AND c.severe_cognitive
                      AND overlaps_day(c.prev_lo, c.prev_hi, mp_start(), mp_end())) AS denominator_exclusion,
       NULL AS denominator_exception,
       a.person_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN two_visits t USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN assessed a USING (person_id)
