-- 238 / CMS156v14 Use of High-Risk Medications in Older Adults (inverse), patient-based, three groups:
-- Group_1 "Numerator 1" (two orders of the same high-risk drug class), Group_2 "Numerator 2" (antipsychotics or
-- benzodiazepines without an appropriate diagnosis), Group_3 "Numerator 3" (total rate: either numerator).
-- CQL: cql/CMS156FHIRHighRiskMedsElderly.cql (library version 1.1.000) with CumulativeMedicationDuration.
WITH qualifying_encounter AS (  -- "Qualifying Encounters": period during the MP (millisecond precision)
    SELECT DISTINCT e.person_id FROM ecqm_resource e
    WHERE e.resource_type = 'Encounter' AND e.status = 'finished'
      AND e.start_ts >= mp_start() AND iv_hi(e.end_ts, e.has_timing) <= mp_end()
      AND (EXISTS (SELECT 1 FROM ecqm_vs_hit h
                   WHERE h.person_id = e.person_id AND h.resource_type = 'Encounter' AND h.resource_id = e.resource_id
                     AND h.element = 'code' AND h.value_set_oid IN (
                         '2.16.840.1.113883.3.464.1003.101.12.1001',  -- Office Visit
                         '2.16.840.1.113883.3.526.3.1285',            -- Ophthalmological Services
                         '2.16.840.1.113883.3.464.1003.101.12.1025',  -- Preventive Care Established, 18 and Up
                         '2.16.840.1.113883.3.464.1003.101.12.1013',  -- Discharge Services Nursing Facility
                         '2.16.840.1.113883.3.464.1003.101.12.1012',  -- Nursing Facility Visit
                         '2.16.840.1.113883.3.464.1003.101.12.1014',  -- Care Services in Long Term Residential Facility
                         '2.16.840.1.113883.3.464.1003.101.12.1023',  -- Preventive Care Initial, 18 and Up
                         '2.16.840.1.113883.3.526.3.1240',            -- Annual Wellness Visit
                         '2.16.840.1.113883.3.464.1003.101.12.1016',  -- Home Healthcare Services
                         '2.16.840.1.113883.3.464.1003.101.12.1080',  -- Telephone Visits
                         '2.16.840.1.113883.3.464.1003.101.12.1089'))  -- Virtual Encounter
           OR has_coding(e.person_id, 'Encounter', e.resource_id, 'code', 'http://www.ama-assn.org/go/cpt', '99211'))
), drug_class(drug_class, oid) AS (VALUES  -- value set retrieves of the measure, one drug class each
    ('antihistamines', '2.16.840.1.113883.3.464.1003.1043'),
    ('antiparkinsonian', '2.16.840.1.113883.3.464.1003.1049'),
    ('gi_antispasmodics', '2.16.840.1.113883.3.464.1003.1050'),
    ('dipyridamole', '2.16.840.1.113883.3.464.1003.1051'),
    ('guanfacine', '2.16.840.1.113883.3.464.1003.196.11.1252'),
    ('nifedipine', '2.16.840.1.113883.3.464.1003.1053'),
    ('antidepressants', '2.16.840.1.113883.3.464.1003.1054'),
    ('barbiturates', '2.16.840.1.113883.3.464.1003.1055'),
    ('meprobamate', '2.16.840.1.113883.3.464.1003.1057'),
    ('estrogens', '2.16.840.1.113883.3.464.1003.1058'),
    ('sulfonylureas', '2.16.840.1.113883.3.464.1003.1059'),
    ('desiccated_thyroid', '2.16.840.1.113883.3.464.1003.1060'),
    ('nonbenzodiazepine_hypnotics', '2.16.840.1.113883.3.464.1003.196.12.1480'),
    ('skeletal_muscle_relaxants', '2.16.840.1.113883.3.464.1003.1062'),
    ('pain_medications', '2.16.840.1.113883.3.464.1003.1063'),
    ('megestrol', '2.16.840.1.113883.3.464.1003.1247'),
    ('meperidine', '2.16.840.1.113883.3.464.1003.1248'),
    ('antiinfectives', '2.16.840.1.113883.3.464.1003.196.12.1481'),
    ('digoxin', '2.16.840.1.113883.3.464.1003.1065'),
    ('doxepin', '2.16.840.1.113883.3.464.1003.1067'),
    ('antipsychotics', '2.16.840.1.113883.3.464.1003.196.12.1523'),
    ('benzodiazepines', '2.16.840.1.113883.3.464.1003.196.12.1522')
), strength(code, strength_value, strength_unit) AS (VALUES  -- medicationStrengthPerUnit()
    ('393245', 0.05, 'mg/mL'), ('245273', 0.0625, 'mg'), ('204504', 0.1, 'mg/mL'), ('197604', 0.125, 'mg'),
    ('197606', 0.25, 'mg'), ('104208', 0.25, 'mg/mL'), ('966787', 3, 'mg'), ('966793', 6, 'mg'), ('1000048', 10, 'mg'),
    ('1000054', 10, 'mg/mL'), ('1000070', 25, 'mg'), ('1000076', 50, 'mg'), ('1000097', 75, 'mg'),
    ('1000058', 100, 'mg'), ('1000064', 150, 'mg')
), request AS (  -- every MedicationRequest of a class (before isMedicationOrder: moreThanOneOrder applies it)
    SELECT m.person_id, m.resource_id, c.drug_class FROM ecqm_vs_hit m JOIN drug_class c ON c.oid = m.value_set_oid
    WHERE m.resource_type = 'MedicationRequest' AND m.element = 'code'
    UNION
    SELECT c.person_id, c.resource_id, 'ergoloid' FROM ecqm_coding c  -- "ergoloid mesylates, USP 1 MG Oral Tablet"
    WHERE c.resource_type = 'MedicationRequest' AND c.element = 'code'
      AND c.code_system = 'http://www.nlm.nih.gov/research/umls/rxnorm' AND c.code = '318179'
), ordered AS (  -- isMedicationOrder(), with what moreThanOneOrder, medicationRequestPeriodInDays and averageDailyDose read
    SELECT q.person_id, q.resource_id, q.drug_class, m.recorded_ts AS authored, CAST(m.recorded_ts AS DATE) AS authored_date,
           m.recorded_ts BETWEEN mp_start() AND mp_end() AS authored_in_mp, m.refills,
           mp.start_d AS period_start,
           -- the measure's medicationRequestPeriodInDays(): expectedSupplyDuration converted to days
           coalesce(ucum_days(m.days_supply, m.supply_duration_unit),
                    m.supply_quantity / nullif(m.dose_value * m.doses_per_day, 0))
             * (1 + coalesce(m.refills, 0)) AS days_supplied,
           m.supply_quantity, m.supply_quantity_unit, coalesce(m.supply_quantity_code, m.supply_quantity_unit) AS quantity_ucum
    FROM request q
    JOIN ecqm_resource m ON m.person_id = q.person_id AND m.resource_type = 'MedicationRequest' AND m.resource_id = q.resource_id
    LEFT JOIN ecqm_blk_med_request_period mp ON mp.person_id = m.person_id AND mp.resource_id = m.resource_id
    WHERE m.status IN ('active', 'completed') AND is_order_intent(m.intent)
), daily_dose AS (  -- averageDailyDose() in mg/d of digoxin and doxepin orders (NULL when not computable)
    SELECT o.person_id, o.resource_id, o.drug_class,
           max(CASE WHEN o.days_supplied IS NOT NULL
                     AND ((s.strength_unit = 'mg' AND coalesce(o.quantity_ucum, '1') = '1')
                          OR (s.strength_unit = 'mg/mL' AND o.supply_quantity_unit = 'mL'))
                    THEN o.supply_quantity * s.strength_value / o.days_supplied END) AS mg_per_day
    FROM ordered o
    JOIN ecqm_coding c ON c.person_id = o.person_id AND c.resource_type = 'MedicationRequest' AND c.resource_id = o.resource_id
                      AND c.element = 'code' AND c.code_system = 'http://www.nlm.nih.gov/research/umls/rxnorm'
    JOIN strength s ON s.code = c.code
    WHERE o.drug_class IN ('digoxin', 'doxepin')
    GROUP BY ALL
), candidate AS (  -- the lists moreThanOneOrder runs on: digoxin > 0.125 mg/d and doxepin > 6 mg/d orders only
    SELECT o.* FROM ordered o
    WHERE o.drug_class NOT IN ('digoxin', 'doxepin')
       OR EXISTS (SELECT 1 FROM daily_dose d WHERE d.person_id = o.person_id AND d.resource_id = o.resource_id
                    AND d.drug_class = o.drug_class
                    AND d.mg_per_day > CASE o.drug_class WHEN 'digoxin' THEN 0.125 ELSE 6 END)
), more_than_one AS (  -- moreThanOneOrder(): the orders O1 with some O2 of the same list (O1 itself included)
    SELECT DISTINCT o1.person_id, o1.resource_id, o1.drug_class, o1.days_supplied
    FROM candidate o1 JOIN candidate o2 ON o2.person_id = o1.person_id AND o2.drug_class = o1.drug_class
    WHERE (o1.authored_in_mp AND o1.refills >= 1)
       OR (o1.authored_date <> o2.authored_date AND o1.authored_in_mp AND o2.authored_in_mp)
       OR (o1.authored_date = o2.authored_date AND o1.authored_in_mp
           AND o1.period_start <> o2.period_start
           AND o1.period_start BETWEEN mp_start_date() AND mp_end_date()
           AND o2.period_start BETWEEN mp_start_date() AND mp_end_date())
), numerator_1 AS (
    SELECT person_id FROM more_than_one  -- "Same High Risk Medications Ordered on Different Days", average daily dose
    WHERE drug_class NOT IN ('antiinfectives', 'antipsychotics', 'benzodiazepines')
    UNION
    SELECT person_id FROM more_than_one  -- "Two High Risk Medications with Prolonged Duration"
    WHERE drug_class = 'antiinfectives' GROUP BY person_id HAVING sum(days_supplied) > 90
), index_date AS (  -- "Antipsychotic / Benzodiazepine Index Prescription Start Date": first order authored in the MP
    SELECT person_id, drug_class, min(authored) AS index_ts FROM ordered
    WHERE drug_class IN ('antipsychotics', 'benzodiazepines') AND authored_in_mp
    GROUP BY ALL
), treated_diagnosis(drug_class, oid) AS (VALUES
    ('antipsychotics', '2.16.840.1.113883.3.464.1003.105.12.1205'),   -- Schizophrenia
    ('antipsychotics', '2.16.840.1.113883.3.67.1.101.1.128'),         -- Bipolar Disorder
    ('benzodiazepines', '2.16.840.1.113883.3.464.1003.105.12.1206'),  -- Seizure Disorder
    ('benzodiazepines', '2.16.840.1.113883.3.464.1003.105.12.1207'),  -- REM Sleep Behavior Disorder
    ('benzodiazepines', '2.16.840.1.113883.3.464.1003.105.12.1208'),  -- Benzodiazepine Withdrawal
    ('benzodiazepines', '2.16.840.1.113883.3.464.1003.105.12.1209'),  -- Alcohol Withdrawal
    ('benzodiazepines', '2.16.840.1.113883.3.464.1003.105.12.1210')   -- Generalized Anxiety Disorder
), appropriate_diagnosis AS (  -- a verified diagnosis overlapping [start of MP - 1 year, index date] (the draft CQL
    -- reads onset.toInterval(), the engine the prevalence interval: docs/ecqm.md, "Condition timing")
    SELECT DISTINCT i.person_id, i.drug_class
    FROM index_date i
    JOIN treated_diagnosis t ON t.drug_class = i.drug_class
    JOIN ecqm_vs_hit h ON h.person_id = i.person_id AND h.resource_type = 'Condition' AND h.element = 'code'
                      AND h.value_set_oid = t.oid
    JOIN ecqm_blk_condition b ON b.person_id = h.person_id AND b.resource_id = h.resource_id AND b.is_verified
    WHERE overlaps_ms(b.prev_lo, b.prev_hi, mp_start() - INTERVAL 1 YEAR, i.index_ts)
), numerator_2 AS (
    SELECT DISTINCT m.person_id FROM more_than_one m
    WHERE m.drug_class IN ('antipsychotics', 'benzodiazepines')
      AND NOT EXISTS (SELECT 1 FROM appropriate_diagnosis a WHERE a.person_id = m.person_id AND a.drug_class = m.drug_class)
), patient AS (
    SELECT p.person_id,
           p.age_end >= 65 AND q.person_id IS NOT NULL AS initial_population,
           h.person_id IS NOT NULL OR pc.person_id IS NOT NULL AS denominator_exclusion,
           n1.person_id IS NOT NULL AS numerator_1, n2.person_id IS NOT NULL AS numerator_2
    FROM ecqm_blk_patient p
    LEFT JOIN qualifying_encounter q USING (person_id)
    LEFT JOIN ecqm_blk_hospice h USING (person_id)
    LEFT JOIN ecqm_blk_palliative pc USING (person_id)
    LEFT JOIN numerator_1 n1 USING (person_id)
    LEFT JOIN numerator_2 n2 USING (person_id)
)
SELECT g.population_group, p.person_id, NULL AS episode, p.initial_population, TRUE AS denominator,
       p.denominator_exclusion, NULL AS denominator_exception,
       CASE g.population_group WHEN 'Group_1' THEN p.numerator_1
                               WHEN 'Group_2' THEN p.numerator_2
                               ELSE p.numerator_2 OR (p.numerator_1 AND NOT p.numerator_2) END AS numerator,  -- "Numerator 3"
       NULL AS numerator_exclusion, NULL AS strata
FROM patient p CROSS JOIN (VALUES ('Group_1'), ('Group_2'), ('Group_3')) g(population_group)
