-- 240 / CMS117v14 Childhood Immunization Status, patient-based. CQL: cql/CMS117FHIRChildImmunStatus.cql (1.1.000)
-- with Hospice 7.1.000 and Status 2.1.000 (isImmunizationAdministered / isProcedurePerformed: status completed).
-- Each antigen's doses are the dates of its completed Immunizations (occurrence) and Procedures (performed start) in
-- the antigen's window; the CQL's chains of doses "1 day or more after" the previous one are N distinct dates.
WITH pt AS (
    SELECT person_id, birth_date, birth_date + INTERVAL 42 DAY AS d42, birth_date + INTERVAL 180 DAY AS d180,
           birth_date + INTERVAL 1 YEAR AS bday1, birth_date + INTERVAL 2 YEAR AS bday2
    FROM ecqm_blk_patient
), given AS (  -- completed immunizations and procedures with their earliest date, by the value sets / codes they carry
    SELECT r.person_id, r.resource_type, r.resource_id, CAST(r.start_ts AS DATE) AS dose_date
    FROM ecqm_resource r
    WHERE r.resource_type IN ('Immunization', 'Procedure') AND r.status = 'completed' AND r.start_ts IS NOT NULL
), dose AS (  -- (antigen, window) per value set: '42d' = [birth + 42 days, 2nd birthday], '2y' = [birth, 2nd birthday],
              -- '1to2' = [1st birthday, 2nd birthday], '180d' = [birth + 180 days, 2nd birthday], 'laiv' = 2nd birthday
    SELECT g.person_id, a.antigen, a.win, g.dose_date
    FROM given g
    JOIN ecqm_vs_hit h ON h.person_id = g.person_id AND h.resource_type = g.resource_type
                      AND h.resource_id = g.resource_id AND h.element = 'code'
    JOIN (VALUES
        ('2.16.840.1.113883.3.464.1003.196.12.1214', 'Immunization', 'dtap', '42d'),   -- DTaP Vaccine
        ('2.16.840.1.113883.3.464.1003.110.12.1022', 'Procedure', 'dtap', '42d'),   -- DTaP Vaccine Administered
        ('2.16.840.1.113883.3.464.1003.196.12.1219', 'Immunization', 'ipv', '42d'),    -- Inactivated Polio Vaccine (IPV)
        ('2.16.840.1.113883.3.464.1003.110.12.1045', 'Procedure', 'ipv', '42d'),
        ('2.16.840.1.113883.3.464.1003.196.12.1224', 'Immunization', 'mmr', '1to2'),   -- MMR Vaccine
        ('2.16.840.1.113883.3.464.1003.110.12.1031', 'Procedure', 'mmr', '1to2'),
        ('2.16.840.1.113883.3.464.1003.110.12.1083', 'Immunization', 'hib3', '42d'),   -- Hib Vaccine (3 dose schedule)
        ('2.16.840.1.113883.3.464.1003.110.12.1084', 'Procedure', 'hib3', '42d'),
        ('2.16.840.1.113883.3.464.1003.110.12.1085', 'Immunization', 'hib4', '42d'),   -- Hib Vaccine (4 dose schedule)
        ('2.16.840.1.113883.3.464.1003.110.12.1086', 'Procedure', 'hib4', '42d'),
        ('2.16.840.1.113883.3.464.1003.196.12.1216', 'Immunization', 'hepb', '2y'),    -- Hepatitis B Vaccine
        ('2.16.840.1.113883.3.464.1003.110.12.1042', 'Procedure', 'hepb', '2y'),
        ('2.16.840.1.113883.3.464.1003.196.12.1170', 'Immunization', 'vzv', '1to2'),   -- Varicella Zoster Vaccine (VZV)
        ('2.16.840.1.113883.3.464.1003.110.12.1040', 'Procedure', 'vzv', '1to2'),
        ('2.16.840.1.113883.3.464.1003.196.12.1221', 'Immunization', 'pcv', '42d'),    -- Pneumococcal Conjugate Vaccine
        ('2.16.840.1.113883.3.464.1003.110.12.1046', 'Procedure', 'pcv', '42d'),
        ('2.16.840.1.113883.3.464.1003.196.12.1215', 'Immunization', 'hepa', '1to2'),  -- Hepatitis A Vaccine
        ('2.16.840.1.113883.3.464.1003.110.12.1041', 'Procedure', 'hepa', '1to2'),
        ('2.16.840.1.113883.3.464.1003.110.12.1048', 'Procedure', 'rota2', '42d'),  -- Rotavirus Vaccine (2 dose schedule) Administered
        ('2.16.840.1.113883.3.464.1003.196.12.1223', 'Immunization', 'rota3', '42d'),  -- Rotavirus Vaccine (3 dose schedule)
        ('2.16.840.1.113883.3.464.1003.110.12.1047', 'Procedure', 'rota3', '42d'),
        ('2.16.840.1.113883.3.464.1003.196.12.1218', 'Immunization', 'flu', '180d'),   -- Child Influenza Vaccine
        ('2.16.840.1.113883.3.464.1003.110.12.1044', 'Procedure', 'flu', '180d'),
        ('2.16.840.1.113883.3.464.1003.110.12.1087', 'Immunization', 'laiv', 'laiv'),  -- Influenza Virus LAIV Vaccine
        ('2.16.840.1.113883.3.464.1003.110.12.1088', 'Procedure', 'laiv', 'laiv')
    ) a(oid, rtype, antigen, win)  -- the resource type the CQL retrieves the value set from
      ON a.oid = h.value_set_oid AND a.rtype = g.resource_type
    UNION ALL
    -- [Immunization: "rotavirus, live, monovalent vaccine"] (CVX 119): the 2-dose rotavirus immunization
    SELECT g.person_id, 'rota2', '42d', g.dose_date FROM given g
    WHERE g.resource_type = 'Immunization'
      AND has_coding(g.person_id, 'Immunization', g.resource_id, 'code', 'http://hl7.org/fhir/sid/cvx', '119')
), dose_in_window AS (
    SELECT DISTINCT d.person_id, d.antigen, d.dose_date FROM dose d JOIN pt p USING (person_id)
    WHERE CASE d.win WHEN '42d' THEN d.dose_date BETWEEN p.d42 AND p.bday2
                     WHEN '2y' THEN d.dose_date BETWEEN p.birth_date AND p.bday2
                     WHEN '1to2' THEN d.dose_date BETWEEN p.bday1 AND p.bday2
                     WHEN '180d' THEN d.dose_date BETWEEN p.d180 AND p.bday2
                     WHEN 'laiv' THEN d.dose_date = CAST(p.bday2 AS DATE) END
), dates AS (  -- distinct dose dates per antigen (Hib and rotavirus: both schedules together, and the later schedule)
    SELECT person_id,
           count(DISTINCT dose_date) FILTER (WHERE antigen = 'dtap') AS dtap,
           count(DISTINCT dose_date) FILTER (WHERE antigen = 'ipv') AS ipv,
           count(DISTINCT dose_date) FILTER (WHERE antigen = 'mmr') AS mmr,
           count(DISTINCT dose_date) FILTER (WHERE antigen IN ('hib3', 'hib4')) AS hib,
           count(*) FILTER (WHERE antigen = 'hib4') AS hib4,
           count(DISTINCT dose_date) FILTER (WHERE antigen = 'hepb') AS hepb,
           count(DISTINCT dose_date) FILTER (WHERE antigen = 'vzv') AS vzv,
           count(DISTINCT dose_date) FILTER (WHERE antigen = 'pcv') AS pcv,
           count(DISTINCT dose_date) FILTER (WHERE antigen = 'hepa') AS hepa,
           count(DISTINCT dose_date) FILTER (WHERE antigen IN ('rota2', 'rota3')) AS rota,
           count(*) FILTER (WHERE antigen = 'rota3') AS rota3,
           count(DISTINCT dose_date) FILTER (WHERE antigen = 'flu') AS flu,
           count(*) FILTER (WHERE antigen = 'laiv') AS laiv
    FROM dose_in_window GROUP BY person_id
), hepb_after_newborn AS (
    -- "Meets HepB Vaccination Requirement": two hepatitis B doses on different days, both after the day of a completed
    -- newborn intramuscular vaccine procedure (ICD-10-PCS 3E0234Z) in the first 7 days of life
    SELECT DISTINCT n.person_id FROM given n JOIN pt p USING (person_id)
    WHERE n.resource_type = 'Procedure'
      AND has_coding(n.person_id, 'Procedure', n.resource_id, 'code', 'http://www.cms.gov/Medicare/Coding/ICD10', '3E0234Z')
      AND n.dose_date BETWEEN p.birth_date AND p.birth_date + INTERVAL 7 DAY
      AND (SELECT count(DISTINCT h.dose_date) FROM dose_in_window h
           WHERE h.person_id = n.person_id AND h.antigen = 'hepb' AND h.dose_date > n.dose_date) >= 2
), condition_in_first_two_years AS (
    -- verified conditions whose onset starts (date) during day of the first two years, by the antigen they stand for
    SELECT DISTINCT c.person_id, k.what
    FROM ecqm_blk_condition c
    JOIN ecqm_resource r ON r.person_id = c.person_id AND r.resource_type = 'Condition' AND r.resource_id = c.resource_id
    JOIN pt p ON p.person_id = c.person_id
    JOIN ecqm_coding cd ON cd.person_id = c.person_id AND cd.resource_type = 'Condition' AND cd.resource_id = c.resource_id
                       AND cd.element = 'code'
    LEFT JOIN ecqm_vs_hit h ON h.person_id = cd.person_id AND h.resource_type = 'Condition' AND h.resource_id = cd.resource_id
                           AND h.element = 'code'
    JOIN (VALUES
        ('2.16.840.1.113883.3.464.1003.120.12.1007', NULL, 'exclusion'),  -- Severe Combined Immunodeficiency
        ('2.16.840.1.113883.3.464.1003.120.12.1001', NULL, 'exclusion'),  -- Disorders of the Immune System
        ('2.16.840.1.113883.3.464.1003.120.12.1003', NULL, 'exclusion'),  -- HIV
        ('2.16.840.1.113883.3.464.1003.108.12.1009', NULL, 'exclusion'),  -- Malignant Neoplasm of Lymphatic ... Tissue
        ('2.16.840.1.113883.3.464.1003.199.12.1056', NULL, 'exclusion'),  -- Intussusception
        ('2.16.840.1.113883.3.464.1003.199.12.1031', NULL, 'dtap'),       -- Anaphylactic Reaction to DTaP Vaccine
        ('2.16.840.1.113883.3.464.1003.1164', NULL, 'dtap'),              -- Encephalitis Due to DTP Vaccine
        (NULL, '471321000124106', 'ipv'),
        (NULL, '471331000124109', 'mmr'),
        ('2.16.840.1.113883.3.464.1003.110.12.1053', NULL, 'measles'),
        ('2.16.840.1.113883.3.464.1003.110.12.1032', NULL, 'mumps'),
        ('2.16.840.1.113883.3.464.1003.110.12.1037', NULL, 'rubella'),
        (NULL, '433621000124101', 'hib'),
        (NULL, '428321000124101', 'hepb'),
        ('2.16.840.1.113883.3.464.1003.110.12.1025', NULL, 'hepb'),       -- Hepatitis B
        ('2.16.840.1.113883.3.464.1003.110.12.1039', NULL, 'vzv'),        -- Varicella Zoster
        (NULL, '471341000124104', 'vzv'),
        (NULL, '471141000124102', 'pcv'),
        ('2.16.840.1.113883.3.464.1003.110.12.1024', NULL, 'hepa'),       -- Hepatitis A
        (NULL, '471311000124103', 'hepa'),
        (NULL, '428331000124103', 'rota'),
        (NULL, '471361000124100', 'flu')
    ) k(oid, snomed, what) ON (k.oid IS NOT NULL AND k.oid = h.value_set_oid)
                            OR (k.snomed IS NOT NULL AND cd.code_system = 'http://snomed.info/sct' AND cd.code = k.snomed)
    WHERE c.is_verified AND CAST(r.start_ts AS DATE) BETWEEN p.birth_date AND p.bday2
), encounter AS (  -- "Qualifying Encounters": finished, during day of the measurement period
    SELECT e.person_id FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                                                '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                                                '2.16.840.1.113883.3.464.1003.101.12.1024',  -- Preventive Care, Established 0-17
                                                '2.16.840.1.113883.3.464.1003.101.12.1022',  -- Preventive Care, Initial 0-17
                                                '2.16.840.1.113883.3.464.1003.101.12.1089',  -- Virtual Encounter
                                                '2.16.840.1.113883.3.464.1003.101.12.1080']) e  -- Telephone Visits
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
    UNION
    SELECT e.person_id FROM with_code('Encounter', 'http://www.ama-assn.org/go/cpt', '99211') e
    WHERE e.status = 'finished' AND during_day(e.start_ts, iv_hi(e.end_ts, e.has_timing), mp_start(), mp_end())
), flags AS (
    SELECT p.person_id, coalesce(d.dtap, 0) AS dtap, coalesce(d.ipv, 0) AS ipv, coalesce(d.mmr, 0) AS mmr,
           coalesce(d.hib, 0) AS hib, coalesce(d.hib4, 0) AS hib4, coalesce(d.hepb, 0) AS hepb,
           coalesce(d.vzv, 0) AS vzv, coalesce(d.pcv, 0) AS pcv, coalesce(d.hepa, 0) AS hepa,
           coalesce(d.rota, 0) AS rota, coalesce(d.rota3, 0) AS rota3, coalesce(d.flu, 0) AS flu,
           coalesce(d.laiv, 0) AS laiv,
           list(c.what) FILTER (WHERE c.what IS NOT NULL) AS cond
    FROM pt p LEFT JOIN dates d USING (person_id) LEFT JOIN condition_in_first_two_years c USING (person_id)
    GROUP BY ALL
)
SELECT 'Group_1' AS population_group, b.person_id, NULL AS episode,
       b.age_end = 2 AND EXISTS (SELECT 1 FROM encounter e WHERE e.person_id = b.person_id) AS initial_population,
       TRUE AS denominator,
       EXISTS (SELECT 1 FROM ecqm_blk_hospice h WHERE h.person_id = b.person_id)
         OR list_contains(coalesce(f.cond, []), 'exclusion') AS denominator_exclusion,
       NULL AS denominator_exception,
       (f.dtap >= 4 OR list_contains(coalesce(f.cond, []), 'dtap'))
       AND (f.ipv >= 3 OR list_contains(coalesce(f.cond, []), 'ipv'))
       AND (f.mmr >= 1 OR list_contains(coalesce(f.cond, []), 'mmr')
            OR (list_contains(coalesce(f.cond, []), 'measles') AND list_contains(coalesce(f.cond, []), 'mumps')
                AND list_contains(coalesce(f.cond, []), 'rubella')))
       -- Hib: at least one 4-dose-schedule dose needs 4 dose days, else 3
       AND ((f.hib4 > 0 AND f.hib >= 4) OR (f.hib4 = 0 AND f.hib >= 3) OR list_contains(coalesce(f.cond, []), 'hib'))
       AND (f.hepb >= 3 OR EXISTS (SELECT 1 FROM hepb_after_newborn n WHERE n.person_id = b.person_id)
            OR list_contains(coalesce(f.cond, []), 'hepb'))
       AND (f.vzv >= 1 OR list_contains(coalesce(f.cond, []), 'vzv'))
       AND (f.pcv >= 4 OR list_contains(coalesce(f.cond, []), 'pcv'))
       AND (f.hepa >= 1 OR list_contains(coalesce(f.cond, []), 'hepa'))
       -- rotavirus: a 3-dose-schedule dose needs 3 dose days, else 2
       AND ((f.rota3 > 0 AND f.rota >= 3) OR (f.rota3 = 0 AND f.rota >= 2) OR list_contains(coalesce(f.cond, []), 'rota'))
       -- influenza: two dose days, or an LAIV dose on the 2nd birthday and any influenza dose
       AND (f.flu >= 2 OR (f.laiv > 0 AND f.flu >= 1) OR list_contains(coalesce(f.cond, []), 'flu')) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM ecqm_blk_patient b
JOIN flags f USING (person_id)
