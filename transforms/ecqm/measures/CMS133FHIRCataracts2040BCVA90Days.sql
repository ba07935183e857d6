-- 191 / CMS133v14 Cataracts: 20/40 or Better Visual Acuity within 90 Days Following Cataract Surgery, episode-based
-- (Procedure). CQL: cql/CMS133FHIRCataracts2040BCVA90Days.cql (library version 1.1.000).
WITH surgery AS (  -- "Cataract Surgery Between January and September of Measurement Period": completed, during day of
    -- MP, starting 92 days or more before the last day of MP
    SELECT p.person_id, p.resource_id, p.start_ts, iv_hi(p.end_ts, p.has_timing) AS end_ts
    FROM in_vs('Procedure', ['2.16.840.1.113883.3.526.3.1411']) p  -- Cataract Surgery
    WHERE p.status = 'completed' AND during_day(p.start_ts, iv_hi(p.end_ts, p.has_timing), mp_start(), mp_end())
      AND CAST(p.start_ts AS DATE) <= mp_end_date() - INTERVAL 92 DAY
), comorbid AS (  -- verified significant ocular conditions (55 value sets), with their prevalence interval (the draft
    -- CQL reads onset.toInterval(), the engine the prevalence interval: docs/ecqm.md, "Condition timing")
    SELECT DISTINCT c.person_id, c.resource_id, c.prev_lo, c.prev_hi FROM conditions_in_vs([
        '2.16.840.1.113883.3.526.3.1241',  -- Acute and Subacute Iridocyclitis
        '2.16.840.1.113883.3.526.3.1448',  -- Amblyopia
        '2.16.840.1.113883.3.526.3.1409',  -- Burn Confined to Eye and Adnexa
        '2.16.840.1.113883.3.526.3.1412',  -- Cataract Congenital
        '2.16.840.1.113883.3.526.3.1413',  -- Cataract Mature or Hypermature
        '2.16.840.1.113883.3.526.3.1414',  -- Cataract Posterior Polar
        '2.16.840.1.113883.3.526.3.1410',  -- Cataract Secondary to Ocular Disorders
        '2.16.840.1.113883.3.526.3.1428',  -- Central Corneal Ulcer
        '2.16.840.1.113883.3.526.3.1415',  -- Certain Types of Iridocyclitis
        '2.16.840.1.113883.3.526.3.1450',  -- Choroidal Degenerations
        '2.16.840.1.113883.3.526.3.1451',  -- Choroidal Detachment
        '2.16.840.1.113883.3.526.3.1452',  -- Choroidal Hemorrhage and Rupture
        '2.16.840.1.113883.3.526.3.1416',  -- Chronic Iridocyclitis
        '2.16.840.1.113883.3.526.3.1417',  -- Cloudy Cornea
        '2.16.840.1.113883.3.526.3.1418',  -- Corneal Edema
        '2.16.840.1.113883.3.526.3.1453',  -- Degeneration of Macula and Posterior Pole
        '2.16.840.1.113883.3.526.3.1454',  -- Degenerative Disorders of Globe
        '2.16.840.1.113883.3.526.3.1455',  -- Diabetic Macular Edema
        '2.16.840.1.113883.3.526.3.327',  -- Diabetic Retinopathy
        '2.16.840.1.113883.3.526.3.1419',  -- Disorders of Cornea Including Corneal Opacity
        '2.16.840.1.113883.3.526.3.1457',  -- Disorders of Optic Chiasm
        '2.16.840.1.113883.3.526.3.1458',  -- Disorders of Visual Cortex
        '2.16.840.1.113883.3.526.3.1459',  -- Disseminated Chorioretinitis and Disseminated Retinochoroiditis
        '2.16.840.1.113883.3.526.3.1460',  -- Focal Chorioretinitis and Focal Retinochoroiditis
        '2.16.840.1.113883.3.526.3.1423',  -- Glaucoma
        '2.16.840.1.113883.3.526.3.1461',  -- Glaucoma Associated with Congenital Anomalies and Dystrophies and Systemic Syndromes
        '2.16.840.1.113883.3.526.3.1462',  -- Hereditary Choroidal Dystrophies
        '2.16.840.1.113883.3.526.3.1424',  -- Hereditary Corneal Dystrophies
        '2.16.840.1.113883.3.526.3.1463',  -- Hereditary Retinal Dystrophies
        '2.16.840.1.113883.3.526.3.1426',  -- Hypotony of Eye
        '2.16.840.1.113883.3.526.3.1427',  -- Injury to Optic Nerve and Pathways
        '2.16.840.1.113883.3.526.3.1559',  -- Macular Scar of Posterior Polar
        '2.16.840.1.113883.3.526.3.1558',  -- Morgagnian Cataract
        '2.16.840.1.113883.3.526.3.1465',  -- Nystagmus and Other Irregular Eye Movements
        '2.16.840.1.113883.3.526.3.1430',  -- Open Wound of Eyeball
        '2.16.840.1.113883.3.526.3.1466',  -- Optic Atrophy
        '2.16.840.1.113883.3.526.3.1467',  -- Optic Neuritis
        '2.16.840.1.113883.3.526.3.1469',  -- Other Background Retinopathy and Retinal Vascular Changes
        '2.16.840.1.113883.3.526.3.1471',  -- Other Disorders of Optic Nerve
        '2.16.840.1.113883.3.526.3.1473',  -- Other Endophthalmitis
        '2.16.840.1.113883.3.526.3.1480',  -- Other Proliferative Retinopathy
        '2.16.840.1.113883.3.526.3.1468',  -- Other and Unspecified Forms of Chorioretinitis and Retinochoroiditis
        '2.16.840.1.113883.3.526.3.1432',  -- Pathologic Myopia
        '2.16.840.1.113883.3.526.3.1433',  -- Posterior Lenticonus
        '2.16.840.1.113883.3.526.3.1475',  -- Prior Penetrating Keratoplasty
        '2.16.840.1.113883.3.526.3.1477',  -- Purulent Endophthalmitis
        '2.16.840.1.113883.3.526.3.1478',  -- Retinal Detachment with Retinal Defect
        '2.16.840.1.113883.3.526.3.1479',  -- Retinal Vascular Occlusion
        '2.16.840.1.113883.3.526.3.1438',  -- Retrolental Fibroplasias
        '2.16.840.1.113762.1.4.1226.1',  -- Scleritis
        '2.16.840.1.113883.3.526.3.1482',  -- Separation of Retinal Layers
        '2.16.840.1.113883.3.526.3.1443',  -- Traumatic Cataract
        '2.16.840.1.113883.3.526.3.1444',  -- Uveitis
        '2.16.840.1.113883.3.526.3.1445',  -- Vascular Disorders of Iris and Ciliary Body
        '2.16.840.1.113883.3.526.3.1446'  -- Visual Field Defects
    ]) c
), excluded AS (  -- the condition overlaps before day of the surgery: starts on an earlier day and lasts into it
    SELECT DISTINCT s.person_id, s.resource_id FROM surgery s
    JOIN comorbid c ON c.person_id = s.person_id
     AND CAST(c.prev_lo AS DATE) < CAST(s.start_ts AS DATE) AND CAST(c.prev_hi AS DATE) >= CAST(s.start_ts AS DATE)
), acuity AS (  -- "Numerator": best corrected visual acuity (SNOMED 419775003 or the Snellen value set), final/amended/
    -- corrected, with a value in "Visual Acuity 20/40 or Better", starting 90 days or less after the day the surgery ends
    SELECT DISTINCT s.person_id, s.resource_id FROM surgery s
    JOIN ecqm_resource o ON o.person_id = s.person_id AND o.resource_type = 'Observation'
     AND CAST(o.start_ts AS DATE) > CAST(s.end_ts AS DATE)
     AND CAST(o.start_ts AS DATE) <= CAST(s.end_ts AS DATE) + INTERVAL 90 DAY
    WHERE o.status IN ('final', 'amended', 'corrected')
      AND (has_coding(o.person_id, 'Observation', o.resource_id, 'code', 'http://snomed.info/sct', '419775003')
           OR has_vs(o.person_id, 'Observation', o.resource_id, 'code', '2.16.840.1.113883.3.526.3.1560'))
      AND has_vs(o.person_id, 'Observation', o.resource_id, 'value', '2.16.840.1.113883.3.526.3.1483')
)
SELECT 'Group_1' AS population_group, s.person_id, 'Procedure/' || s.resource_id AS episode,
       age_at(p.birth_date, mp_start_date()) >= 18 AS initial_population,
       TRUE AS denominator,
       EXISTS (SELECT 1 FROM excluded x WHERE x.person_id = s.person_id AND x.resource_id = s.resource_id) AS denominator_exclusion,
       NULL AS denominator_exception,
       EXISTS (SELECT 1 FROM acuity a WHERE a.person_id = s.person_id AND a.resource_id = s.resource_id) AS numerator,
       NULL AS numerator_exclusion, NULL AS strata
FROM surgery s
JOIN ecqm_blk_patient p USING (person_id)
