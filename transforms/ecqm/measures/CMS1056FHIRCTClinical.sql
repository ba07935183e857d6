-- 494 / CMS1056v3 Excessive Radiation Dose or Inadequate Image Quality for Diagnostic Computed Tomography (CT) in
-- Adults (Clinician Level) (inverse), patient-based. CQL: cql/CMS1056FHIRCTClinical.cql (library version 1.1.000)
-- with AlaraCommonFunctions 2.1.000.
WITH ct_scan AS (  -- "Patients with Qualifying CTScan": CT dose and image quality category (LOINC 96914-7) results,
    -- final / amended / corrected, effective ending during day of the period, patient 18+ at its start
    SELECT o.person_id, o.resource_id, o.has_value,
           -- AlaraCommon globalNoiseValue() / sizeAdjustedValue(): the component's value in its unit (singleton)
           (SELECT max(c.value_num) FROM ecqm_component c
            WHERE c.person_id = o.person_id AND c.resource_id = o.resource_id AND c.code_system = 'http://loinc.org'
              AND c.code = '96912-1' AND c.value_unit = '[hnsf''U]') AS global_noise,
           (SELECT max(c.value_num) FROM ecqm_component c
            WHERE c.person_id = o.person_id AND c.resource_id = o.resource_id AND c.code_system = 'http://loinc.org'
              AND c.code = '96913-9' AND c.value_unit = 'mGy.cm') AS size_adjusted_dose
    FROM with_code('Observation', 'http://loinc.org', '96914-7') o
    JOIN ecqm_blk_patient p ON p.person_id = o.person_id
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND point_during_day(iv_hi(o.end_ts, o.has_timing), mp_start(), mp_end())
      AND age_at(p.birth_date, mp_start_date()) >= 18
), with_values AS (  -- "Patients with Qualifying CTScan with Values"
    SELECT s.*, c.code AS category
    FROM ct_scan s
    LEFT JOIN ecqm_coding c ON c.person_id = s.person_id AND c.resource_type = 'Observation'
                           AND c.resource_id = s.resource_id AND c.element = 'value' AND c.code_system = 'http://loinc.org'
    WHERE s.global_noise IS NOT NULL AND s.size_adjusted_dose IS NOT NULL AND s.has_value
), thresholds(category, noise, dose) AS (  -- AlaraCommon ctScanQualifies(): (category, global noise, size-adjusted dose)
    VALUES ('LA31752-1', 64, 598), ('LA31753-9', 29, 644), ('LA31754-7', 29, 1260), ('LA31755-4', 55, 93),
           ('LA31756-2', 32, 576), ('LA31758-8', 55, 377), ('LA31759-6', 49, 377), ('LA31761-2', 49, 1282),
           ('LA31762-0', 115, 582), ('LA31763-8', 115, 1025), ('LA31764-6', 115, 1832), ('LA31765-3', 73, 320),
           ('LA31766-1', 25, 1260), ('LA31767-9', 25, 1260), ('LA31768-7', 29, 1637), ('LA31851-1', 25, 2520),
           ('LA31769-5', 25, 2285), ('LA31770-3', 25, 3092)
)
SELECT 'Group_1' AS population_group, p.person_id, NULL AS episode,
       EXISTS (SELECT 1 FROM ct_scan s WHERE s.person_id = p.person_id) AS initial_population,
       EXISTS (SELECT 1 FROM with_values v WHERE v.person_id = p.person_id) AS denominator,
       EXISTS (SELECT 1 FROM with_values v WHERE v.person_id = p.person_id AND v.category = 'LA31771-1')  -- Full Body
           AS denominator_exclusion,
       NULL AS denominator_exception,
       EXISTS (SELECT 1 FROM with_values v JOIN thresholds t USING (category)
               WHERE v.person_id = p.person_id AND (v.global_noise >= t.noise OR v.size_adjusted_dose >= t.dose))
           AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient p
