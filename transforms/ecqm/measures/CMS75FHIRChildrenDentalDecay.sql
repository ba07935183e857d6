-- 378 / CMS75v14 Children Who Have Dental Decay or Cavities (inverse), patient-based.
-- CQL: cql/CMS75FHIRChildrenDentalDecay.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounters": a finished Clinical Oral Evaluation during day of the period
    SELECT DISTINCT e.person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.125.12.1003']) e
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), caries AS (  -- "Numerator": a Dental Caries condition (any verification status) overlapping day of the period;
    -- its `onset.toInterval()` read as the prevalence interval (as for CMS69 / CMS159, docs/ecqm.md)
    SELECT DISTINCT b.person_id FROM ecqm_blk_condition b
    JOIN in_vs('Condition', ['2.16.840.1.113883.3.464.1003.125.12.1004']) c USING (person_id, resource_id)
    WHERE overlaps_day(b.prev_lo, b.prev_hi, mp_start(), mp_end())
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) BETWEEN 1 AND 20 AND q.person_id IS NOT NULL AS initial_population,
       TRUE AS denominator,
       h.person_id IS NOT NULL AS denominator_exclusion,
       NULL AS denominator_exception,
       c.person_id IS NOT NULL AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
LEFT JOIN qualifying_encounter q USING (person_id)
LEFT JOIN ecqm_blk_hospice h USING (person_id)
LEFT JOIN caries c USING (person_id)
