-- 305 / CMS137v14 Initiation and Engagement of Substance Use Disorder (SUD) Treatment, patient-based, two groups
-- (Group_1 "Numerator 1" initiation within 14 days, Group_2 "Numerator 2" engagement within 34 days), three age
-- stratifiers each. CQL: cql/CMS137FHIRSUDTxInitEngagement.cql (1.1.000) with Hospice 7.1.000, Status 2.1.000 and
-- CQMCommon encounterDiagnosis() (the Conditions an Encounter's reasonReference points at).
WITH qualifying_encounter AS (  -- "Qualifying Encounters": finished
    SELECT e.person_id, e.resource_id, e.start_ts, iv_hi(e.end_ts, e.has_timing) AS end_ts, e.reason_reference_ids,
           has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1010')
           OR has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1059')
               AS ed_or_detox  -- "Emergency Department or Detoxification Visit"
    FROM in_vs('Encounter', ['2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1010',  -- Emergency Department E/M Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1059',  -- Detoxification Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1004',  -- Initial Hospital Inpatient Visit
                             '2.16.840.1.113883.3.464.1003.101.12.1006',  -- Discharge ... Same Day Discharge
                             '2.16.840.1.113883.3.464.1003.101.12.1007',  -- Discharge Services Hospital Inpatient
                             '2.16.840.1.113883.3.464.1003.101.12.1080',  -- Telephone Visits
                             '2.16.840.1.113883.3.464.1003.101.12.1089']) e  -- Virtual Encounter
    WHERE e.status = 'finished'
), sud_condition AS (  -- verified SUD conditions with their onset start
    SELECT c.person_id, c.resource_id, r.start_ts AS onset_start
    FROM ecqm_blk_condition c
    JOIN ecqm_resource r ON r.person_id = c.person_id AND r.resource_type = 'Condition' AND r.resource_id = c.resource_id
    WHERE c.is_verified
      AND has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.464.1003.106.12.1001')
), first_episode AS (
    -- "First SUD Episode During Measurement Period": the earliest (by start date) qualifying encounter during the
    -- period in which a verified SUD diagnosis's onset starts, that onset starting 47 days or more before the day of
    -- the end of the period
    SELECT person_id, resource_id AS episode_id, CAST(start_ts AS DATE) AS episode_date FROM (
        SELECT e.*, row_number() OVER (PARTITION BY e.person_id ORDER BY CAST(e.start_ts AS DATE), e.start_ts, e.resource_id) AS n
        FROM qualifying_encounter e
        WHERE e.start_ts >= mp_start() AND e.end_ts <= mp_end()
          AND EXISTS (SELECT 1 FROM sud_condition s WHERE s.person_id = e.person_id
                        AND s.onset_start >= e.start_ts AND s.onset_start <= e.end_ts
                        AND CAST(s.onset_start AS DATE) <= mp_end_date() - INTERVAL 47 DAY))
    WHERE n = 1
), encounter_with_sud_dx AS (  -- encounterDiagnosis().code in "Substance Use Disorder"
    SELECT e.* FROM qualifying_encounter e
    WHERE EXISTS (SELECT 1 FROM ecqm_resource c WHERE c.person_id = e.person_id AND c.resource_type = 'Condition'
                    AND list_contains(e.reason_reference_ids, c.resource_id)
                    AND has_vs(c.person_id, 'Condition', c.resource_id, 'code', '2.16.840.1.113883.3.464.1003.106.12.1001'))
), procedure_kind AS (  -- completed procedures by value set
    SELECT p.person_id, p.resource_id, CAST(p.start_ts AS DATE) AS d,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.464.1003.106.12.1005')
           OR has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.526.3.1496') AS psychosocial,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.464.1003.1156') AS long_admin,
           has_vs(p.person_id, 'Procedure', p.resource_id, 'code', '2.16.840.1.113883.3.464.1003.1157') AS short_admin
    FROM ecqm_resource p WHERE p.resource_type = 'Procedure' AND p.status = 'completed'
), med_order AS (  -- SUD medication orders (active/completed, order intents) by authored date
    SELECT m.person_id, m.resource_id, CAST(m.recorded_ts AS DATE) AS d,
           has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'code', '2.16.840.1.113883.3.464.1003.1149') AS long_acting,
           has_vs(m.person_id, 'MedicationRequest', m.resource_id, 'code', '2.16.840.1.113883.3.464.1003.1150') AS short_acting
    FROM in_vs('MedicationRequest', ['2.16.840.1.113883.3.464.1003.1149', '2.16.840.1.113883.3.464.1003.1150']) m
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
), psychosocial_visit AS (  -- "Psychosocial Visit": SUD treatment / psychotherapy procedures, telehealth with SUD dx
    SELECT person_id, 'Procedure' AS rtype, resource_id, d FROM procedure_kind WHERE psychosocial
    UNION ALL
    SELECT e.person_id, 'Encounter', e.resource_id, CAST(e.start_ts AS DATE) FROM encounter_with_sud_dx e
    WHERE has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1080')
       OR has_vs(e.person_id, 'Encounter', e.resource_id, 'code', '2.16.840.1.113883.3.464.1003.101.12.1089')
), history AS (  -- "History of SUD Diagnosis or Treatment": starting 60 days or less before the day of the episode
    SELECT f.person_id FROM first_episode f JOIN procedure_kind p ON p.person_id = f.person_id
    WHERE (p.psychosocial OR p.long_admin OR p.short_admin)
      AND p.d >= f.episode_date - INTERVAL 60 DAY AND p.d < f.episode_date
    UNION
    SELECT f.person_id FROM first_episode f JOIN encounter_with_sud_dx e ON e.person_id = f.person_id
    WHERE NOT e.ed_or_detox
      AND CAST(e.start_ts AS DATE) >= f.episode_date - INTERVAL 60 DAY AND CAST(e.start_ts AS DATE) < f.episode_date
    UNION
    SELECT f.person_id FROM first_episode f JOIN med_order m ON m.person_id = f.person_id
    WHERE m.d >= f.episode_date - INTERVAL 60 DAY AND m.d < f.episode_date
), initiation AS (  -- treatment dates in [episode date, episode date + 14 days)
    -- "Treatment Initiation With Non Medication Intervention Dates" (not the episode encounter itself)
    SELECT f.person_id, v.d FROM first_episode f JOIN psychosocial_visit v ON v.person_id = f.person_id
    WHERE v.d >= f.episode_date AND v.d < f.episode_date + INTERVAL 14 DAY
      AND NOT (v.rtype = 'Encounter' AND v.resource_id = f.episode_id)
    UNION ALL
    -- "Treatment Initiation With Medication Order Dates": orders, and medication administration procedures
    SELECT f.person_id, m.d FROM first_episode f JOIN med_order m ON m.person_id = f.person_id
    WHERE m.d >= f.episode_date AND m.d < f.episode_date + INTERVAL 14 DAY
    UNION ALL
    SELECT f.person_id, p.d FROM first_episode f JOIN procedure_kind p ON p.person_id = f.person_id
    WHERE (p.long_admin OR p.short_admin) AND p.d >= f.episode_date AND p.d < f.episode_date + INTERVAL 14 DAY
), initiation_date AS (SELECT person_id, min(d) AS d FROM initiation GROUP BY person_id
), engagement AS (  -- within 34 days after the initiation date: (I, I + 34 days]
    -- "Has Treatment Engagement With Long Acting Medication": an order or an administration
    SELECT i.person_id FROM initiation_date i JOIN med_order m ON m.person_id = i.person_id
    WHERE m.long_acting AND m.d > i.d AND m.d <= i.d + INTERVAL 34 DAY
    UNION
    SELECT i.person_id FROM initiation_date i JOIN procedure_kind p ON p.person_id = i.person_id
    WHERE p.long_admin AND p.d > i.d AND p.d <= i.d + INTERVAL 34 DAY
    UNION
    -- "Has Two or More Treatment Engagements With Short Acting Medication or Non Medication Intervention": psychosocial
    -- visits, short-acting administrations and short-acting orders, counted as distinct resources
    SELECT i.person_id FROM initiation_date i
    JOIN (SELECT person_id, rtype, resource_id, d FROM psychosocial_visit
          UNION
          SELECT person_id, 'Procedure', resource_id, d FROM procedure_kind WHERE short_admin
          UNION
          SELECT person_id, 'MedicationRequest', resource_id, d FROM med_order WHERE short_acting) t
      ON t.person_id = i.person_id AND t.d > i.d AND t.d <= i.d + INTERVAL 34 DAY
    GROUP BY i.person_id HAVING count(*) >= 2
), patient AS (
    SELECT p.person_id, age_at(p.birth_date, mp_start_date()) AS age_start,
           age_at(p.birth_date, mp_start_date()) >= 13
             AND EXISTS (SELECT 1 FROM first_episode f WHERE f.person_id = p.person_id)
             AND NOT EXISTS (SELECT 1 FROM history h WHERE h.person_id = p.person_id) AS initial_population,
           EXISTS (SELECT 1 FROM ecqm_blk_hospice h WHERE h.person_id = p.person_id) AS hospice
    FROM ecqm_blk_patient p
)
SELECT g.grp AS population_group, p.person_id, NULL AS episode, p.initial_population, TRUE AS denominator,
       p.hospice AS denominator_exclusion, NULL AS denominator_exception,
       CASE g.grp WHEN 'Group_1' THEN EXISTS (SELECT 1 FROM initiation i WHERE i.person_id = p.person_id)
                  ELSE EXISTS (SELECT 1 FROM engagement e WHERE e.person_id = p.person_id) END AS numerator,
       NULL AS numerator_exclusion,
       CASE WHEN p.age_start BETWEEN 13 AND 17 THEN 'Stratification_' || g.n || '_1'
            WHEN p.age_start BETWEEN 18 AND 64 THEN 'Stratification_' || g.n || '_2'
            WHEN p.age_start >= 65 THEN 'Stratification_' || g.n || '_3' END AS strata
FROM patient p
CROSS JOIN (VALUES ('Group_1', '1'), ('Group_2', '2')) g(grp, n)
