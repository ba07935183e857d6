-- 012 / CMS143v14 Primary Open-Angle Glaucoma (POAG): Optic Nerve Evaluation, patient-based.
-- CQL: cql/CMS143FHIRPOAGOpticNerveEval.cql (library version 1.1.000).
WITH qualifying_encounter AS (  -- "Qualifying Encounter During Measurement Period": finished, not virtual
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.526.3.1285',            -- Ophthalmological Services
                             '2.16.840.1.113883.3.464.1003.101.12.1008',  -- Outpatient Consultation
                             '2.16.840.1.113883.3.464.1003.101.12.1012',  -- Nursing Facility Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1014']) e  -- Care Services in Long-Term Residential Facility
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
      AND NOT has_coding(e.person_id, 'Encounter', e.resource_id, 'class',
                         'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'VR')
), poag_encounter AS (  -- "Primary Open Angle Glaucoma Encounter": a verified POAG diagnosis overlapping day of it
    -- (the draft CQL reads onset.toInterval(), the engine the prevalence interval: docs/ecqm.md, "Condition timing")
    SELECT DISTINCT q.* FROM qualifying_encounter q
    JOIN conditions_in_vs(['2.16.840.1.113883.3.526.3.326']) c
      ON c.person_id = q.person_id AND overlaps_day(c.prev_lo, c.prev_hi, q.start_ts, q.end_ts)
), exam AS (  -- cup to disc ratio / optic disc exam results during day of a POAG encounter
    SELECT o.person_id,
           has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113883.3.526.3.1333') AS cup_to_disc,
           has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113883.3.526.3.1334') AS optic_disc
    FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.status IN ('final', 'amended', 'corrected') AND o.has_value
      AND EXISTS (SELECT 1 FROM poag_encounter e WHERE e.person_id = o.person_id
                    AND during_day(o.start_ts, iv_hi(o.end_ts, o.has_timing), e.start_ts, e.end_ts))
), not_done AS (  -- ObservationCancelled with a medical reason, issued during day of a POAG encounter
    SELECT o.person_id FROM ecqm_resource o
    WHERE o.resource_type = 'Observation' AND o.status = 'cancelled'
      AND (has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113883.3.526.3.1333')
           OR has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113883.3.526.3.1334'))
      AND has_vs(o.person_id, 'Observation', o.resource_id, 'notDoneReason', '2.16.840.1.113883.3.526.3.1007')
      AND EXISTS (SELECT 1 FROM poag_encounter e WHERE e.person_id = o.person_id
                    AND point_during_day(o.issued_ts, e.start_ts, e.end_ts))
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       age_at(p.birth_date, mp_start_date()) >= 18
         AND EXISTS (SELECT 1 FROM poag_encounter e WHERE e.person_id = p.person_id) AS initial_population,
       TRUE AS denominator,
       NULL AS denominator_exclusion,
       EXISTS (SELECT 1 FROM not_done n WHERE n.person_id = p.person_id) AS denominator_exception,
       EXISTS (SELECT 1 FROM exam x WHERE x.person_id = p.person_id AND x.cup_to_disc)
         AND EXISTS (SELECT 1 FROM exam x WHERE x.person_id = p.person_id AND x.optic_disc) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
