-- 376 / CMS56v14 Functional Status Assessment for Total Hip Replacement, patient-based.
-- CQL: cql/CMS56FHIRFuncStatHipReplacement.cql (library version 1.1.000).
WITH instrument(instrument, loinc) AS (  -- the CQL's "Date <instrument> Total Assessment Completed": every listed
    -- score of an instrument on the same day (HOOS, HOOS JR, PROMIS-10, VR-12 oblique / orthogonal)
    VALUES ('HOOS', '72093-8'), ('HOOS', '72094-6'), ('HOOS', '72095-3'), ('HOOS', '72096-1'), ('HOOS', '72097-9'),
           ('HOOSJR', '82323-7'),
           ('PROMIS10', '71969-0'), ('PROMIS10', '71971-6'),
           ('VR12_OBLIQUE', '72026-8'), ('VR12_OBLIQUE', '72025-0'),
           ('VR12_ORTHOGONAL', '72028-4'), ('VR12_ORTHOGONAL', '72027-6')
), scored AS (  -- assessments performed (final / amended / corrected) with a value, by day of effective start
    SELECT DISTINCT o.person_id, i.instrument, i.loinc, CAST(o.start_ts AS DATE) AS day
    FROM ecqm_resource o
    JOIN ecqm_coding c ON c.person_id = o.person_id AND c.resource_type = 'Observation' AND c.resource_id = o.resource_id
                      AND c.element = 'code' AND c.code_system = 'http://loinc.org'
    JOIN instrument i ON i.loinc = c.code
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected') AND o.has_value
), completed AS (
    SELECT s.person_id, s.instrument, s.day FROM scored s
    JOIN (SELECT instrument, count(*) AS scores FROM instrument GROUP BY instrument) n USING (instrument)
    GROUP BY s.person_id, s.instrument, s.day, n.scores
    HAVING count(DISTINCT s.loinc) = n.scores
), tha AS (  -- "Total Hip Arthroplasty Procedure": completed, starting during day of [Nov 1 two years before the
    -- period, Oct 31 of the year before]
    SELECT p.person_id, p.resource_id, p.start_ts, iv_hi(p.end_ts, p.has_timing) AS end_ts
    FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.198.12.1006']) p
    WHERE p.status = 'completed'
      AND CAST(p.start_ts AS DATE) BETWEEN make_date(year(mp_start_date()) - 2, 11, 1) AND make_date(year(mp_start_date()) - 1, 10, 31)
), qualifying_encounter AS (  -- finished consultation / office / post-op (CPT 99024) / telephone / virtual visit
    -- during day of [Aug 1 of the year before the period, end of the period]
    SELECT DISTINCT e.person_id FROM ecqm_resource e
    WHERE e.resource_type = 'Encounter' AND e.status = 'finished'
      AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), make_date(year(mp_start_date()) - 1, 8, 1), mp_end())
      AND (has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1008')
           OR has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1001')
           OR has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1080')
           OR has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1089')
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'code', 'http://www.ama-assn.org/go/cpt', '99024'))
), condition AS (  -- conditions with their onset and prevalence interval (`onset.toInterval() overlaps` read as the
    -- prevalence interval, as for CMS69 / CMS159, docs/ecqm.md)
    SELECT b.person_id, b.is_verified, b.prev_lo, b.prev_hi, r.start_ts AS onset_start,
           has_coding(b.person_id, 'Condition', b.resource_id, 'code', 'http://snomed.info/sct', '702956004') AS severe_cognitive,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.464.1003.1178') AS fracture,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.464.1003.1180') AS neoplasm,
           has_vs(b.person_id, 'Condition', b.resource_id, 'code', '2.16.840.1.113883.3.464.1003.1182') AS mechanical
    FROM ecqm_blk_condition b
    JOIN ecqm_resource r ON r.person_id = b.person_id AND r.resource_type = 'Condition' AND r.resource_id = b.resource_id
), excluded AS (
    SELECT person_id FROM ecqm_blk_hospice
    UNION ALL  -- severe cognitive impairment (no verification test) overlapping the period
    SELECT person_id FROM condition WHERE severe_cognitive AND overlaps_day(prev_lo, prev_hi, mp_start(), mp_end())
    UNION ALL  -- verified lower body fracture starting 48 hours or less on or before the THA's start
    SELECT c.person_id FROM condition c JOIN tha t ON t.person_id = c.person_id
    WHERE c.fracture AND c.is_verified AND c.onset_start BETWEEN t.start_ts - INTERVAL 48 HOUR AND t.start_ts
    UNION ALL  -- partial arthroplasty or revision / removal procedure during day of the THA
    SELECT r.person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.1184', '2.16.840.1.113883.3.464.1003.1189']) r
    JOIN tha t ON t.person_id = r.person_id
    WHERE r.status = 'completed' AND during_day(r.start_ts, iv_hi(r.end_ts, r.has_timing), t.start_ts, t.end_ts)
    UNION ALL  -- verified malignant neoplasm of the lower limbs or mechanical complication overlapping day of the THA
    SELECT c.person_id FROM condition c JOIN tha t ON t.person_id = c.person_id
    WHERE (c.neoplasm OR c.mechanical) AND c.is_verified AND overlaps_day(c.prev_lo, c.prev_hi, t.start_ts, t.end_ts)
    UNION ALL  -- another completed primary THA starting within a year (day of) of this one's start
    SELECT t.person_id FROM tha t
    JOIN in_vs('Procedure', ['2.16.840.1.113883.3.464.1003.198.12.1006']) o ON o.person_id = t.person_id
    WHERE o.status = 'completed' AND o.resource_id <> t.resource_id
      AND point_during_day(o.start_ts, t.start_ts - INTERVAL 1 YEAR, t.start_ts + INTERVAL 1 YEAR)
    UNION ALL  -- death within 300 days of the THA's start
    SELECT t.person_id FROM tha t JOIN ecqm_patient x ON x.person_id = t.person_id
    WHERE CAST(x.deceased_ts AS DATE) BETWEEN CAST(t.start_ts AS DATE) AND CAST(t.start_ts AS DATE) + 300
), assessed AS (  -- an instrument completed 90 days or less before (or on) the THA's day, and again 300-425 days
    -- after the THA ends
    SELECT DISTINCT t.person_id FROM tha t
    JOIN completed a ON a.person_id = t.person_id
    JOIN completed f ON f.person_id = a.person_id AND f.instrument = a.instrument
    WHERE CAST(t.start_ts AS DATE) BETWEEN a.day AND a.day + 90
      AND f.day BETWEEN CAST(t.end_ts AS DATE) + 300 AND CAST(t.end_ts AS DATE) + 425
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       q.person_id IS NOT NULL AND EXISTS (SELECT 1 FROM tha t WHERE t.person_id = p.person_id)
         AND age_at(p.birth_date, mp_start_date()) >= 19 AS initial_population,
       TRUE AS denominator,
       EXISTS (SELECT 1 FROM excluded x WHERE x.person_id = p.person_id) AS denominator_exclusion,
       NULL AS denominator_exception,
       a.person_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN assessed a USING (person_id)
