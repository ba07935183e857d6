-- 102 / CMS129v15 Prostate Cancer: Avoidance of Overuse of Bone Scan for Staging Low Risk Prostate Cancer Patients,
-- patient-based. CQL: cql/CMS129FHIRProstCaBoneScanUse.cql (library version 1.1.000).
WITH prostate_cancer AS (  -- "Prostate Cancer Diagnosis": verified, overlapping day of MP (the draft CQL reads
    -- onset.toInterval(), the engine the prevalence interval: docs/ecqm.md, "Condition timing")
    SELECT c.person_id, c.resource_id, c.prev_lo FROM conditions_in_vs(['2.16.840.1.113883.3.526.3.319']) c
    WHERE overlaps_day(c.prev_lo, c.prev_hi, mp_start(), mp_end())
), first_treatment AS (  -- "First Prostate Cancer Treatment during day of Measurement Period" (First by start; CQL
    -- sorts a missing start first)
    SELECT person_id, start_ts FROM (
        SELECT p.person_id, p.start_ts,
               row_number() OVER (PARTITION BY p.person_id ORDER BY p.start_ts ASC NULLS FIRST, p.resource_id) AS n
        FROM in_vs('Procedure', ['2.16.840.1.113883.3.526.3.398']) p
        WHERE p.status = 'completed' AND point_during_day(iv_hi(p.end_ts, p.has_timing), mp_start(), mp_end()))
    WHERE n = 1
), last_staging AS (  -- Last tumor staging (SNOMED 254292007) starting before the first treatment starts (by start)
    SELECT person_id, resource_id, start_ts FROM (
        SELECT o.person_id, o.resource_id, o.start_ts,
               row_number() OVER (PARTITION BY o.person_id ORDER BY o.start_ts DESC NULLS LAST, o.resource_id DESC) AS n
        FROM with_code('Observation', 'http://snomed.info/sct', '254292007') o
        JOIN first_treatment t ON t.person_id = o.person_id AND o.start_ts < t.start_ts
        WHERE o.status IN ('final', 'amended', 'corrected'))
    WHERE n = 1
), low_staging AS (  -- "Most Recent Prostate Cancer Staging Tumor Size T1a to T2a"
    SELECT s.* FROM last_staging s
    WHERE EXISTS (SELECT 1 FROM ecqm_coding v WHERE v.person_id = s.person_id AND v.resource_type = 'Observation'
                    AND v.resource_id = s.resource_id AND v.element = 'value' AND v.code_system = 'http://snomed.info/sct'
                    AND v.code IN ('1228892002', '1228895000', '1228899006', '1228931008'))
), last_psa AS (  -- "Most Recent PSA Test Result is Low": the last PSA starting before the staging, < 10 ng/mL
    SELECT person_id, value_num, value_unit FROM (
        SELECT o.person_id, o.value_num, o.value_unit,
               row_number() OVER (PARTITION BY o.person_id ORDER BY o.start_ts DESC NULLS LAST, o.resource_id DESC) AS n
        FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.401']) o
        JOIN low_staging s ON s.person_id = o.person_id AND o.start_ts < s.start_ts
        WHERE o.status IN ('final', 'amended', 'corrected'))
    WHERE n = 1
), last_gleason AS (  -- "Most Recent Gleason Score is Low": the last Gleason score (LOINC 35266-6) starting before the
    -- first treatment, an integer <= 6 (value as FHIR.integer: a valueInteger, which has no unit)
    SELECT person_id, value_num, value_unit FROM (
        SELECT o.person_id, o.value_num, o.value_unit,
               row_number() OVER (PARTITION BY o.person_id ORDER BY o.start_ts DESC NULLS LAST, o.resource_id DESC) AS n
        FROM with_code('Observation', 'http://loinc.org', '35266-6') o
        JOIN first_treatment t ON t.person_id = o.person_id AND o.start_ts < t.start_ts
        WHERE o.status IN ('final', 'amended', 'corrected'))
    WHERE n = 1
), bone_scan AS (  -- "Bone Scan Study Performed": starts after the start of a prostate cancer diagnosis, ends in MP
    SELECT DISTINCT o.person_id, o.resource_id FROM in_vs('Observation', ['2.16.840.1.113883.3.526.3.320']) o
    JOIN prostate_cancer c ON c.person_id = o.person_id AND o.start_ts > c.prev_lo
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND point_during_day(iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
), exception AS (
    -- "Has Diagnosis of Pain related to Prostate Cancer": verified, starting after the cancer's start
    SELECT p.person_id FROM conditions_in_vs(['2.16.840.1.113883.3.526.3.451']) p
    JOIN prostate_cancer c ON c.person_id = p.person_id AND p.prev_lo > c.prev_lo
    UNION
    -- "Has Salvage Therapy Performed after Prostate Cancer Diagnosis": completed, starting after the cancer's onset
    SELECT s.person_id FROM in_vs('Procedure', ['2.16.840.1.113883.3.526.3.399']) s
    JOIN prostate_cancer c ON c.person_id = s.person_id AND s.start_ts > c.prev_lo
    WHERE s.status = 'completed'
    UNION
    -- "Has Bone Scan Study Performed with Documented Reason": its value ~ SNOMED 433611000124109
    SELECT b.person_id FROM bone_scan b
    WHERE has_coding(b.person_id, 'Observation', b.resource_id, 'value', 'http://snomed.info/sct', '433611000124109')
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       EXISTS (SELECT 1 FROM prostate_cancer c WHERE c.person_id = p.person_id) AS initial_population,
       EXISTS (SELECT 1 FROM first_treatment t WHERE t.person_id = p.person_id)
         AND EXISTS (SELECT 1 FROM low_staging s WHERE s.person_id = p.person_id)
         AND coalesce((SELECT l.value_num < 10 AND coalesce(l.value_unit, 'ng/mL') = 'ng/mL'
                       FROM last_psa l WHERE l.person_id = p.person_id), FALSE)
         AND coalesce((SELECT g.value_num <= 6 AND g.value_unit IS NULL
                       FROM last_gleason g WHERE g.person_id = p.person_id), FALSE) AS denominator,
       NULL AS denominator_exclusion,
       EXISTS (SELECT 1 FROM exception x WHERE x.person_id = p.person_id) AS denominator_exception,
       NOT EXISTS (SELECT 1 FROM bone_scan b WHERE b.person_id = p.person_id) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
