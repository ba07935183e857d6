-- Encounters source: an encounter plays the role of a claim (its conditions are its diagnoses, its procedures
-- are its lines); date of service = encounter start date.
INSERT INTO m_claims
SELECT 'encounters', encounter_id, billing_tin, rendering_npi, min(person_id), min(encounter_start_date)
FROM encounter
WHERE encounter_id IS NOT NULL AND billing_tin IS NOT NULL AND rendering_npi IS NOT NULL
GROUP BY encounter_id, billing_tin, rendering_npi
HAVING min(encounter_start_date) BETWEEN DATE '{period_start}' AND DATE '{period_end}';

INSERT INTO m_lines
SELECT 'encounters', e.encounter_id, e.billing_tin, e.rendering_npi, CAST(p.procedure_id AS VARCHAR),
       p.source_code, e.place_of_service_code,
       list_filter([p.modifier_1, p.modifier_2, p.modifier_3, p.modifier_4, p.modifier_5], lambda x: x IS NOT NULL)
FROM {procedure} p
JOIN encounter e ON e.encounter_id = p.encounter_id
SEMI JOIN m_claims c ON c.source = 'encounters' AND c.claim_id = e.encounter_id AND c.tin = e.billing_tin AND c.npi = e.rendering_npi
WHERE p.source_code IS NOT NULL;

INSERT INTO m_dx
SELECT DISTINCT 'encounters', e.encounter_id, e.billing_tin, e.rendering_npi, replace(d.source_code, '.', '')
FROM {condition} d
JOIN encounter e ON e.encounter_id = d.encounter_id
SEMI JOIN m_claims c ON c.source = 'encounters' AND c.claim_id = e.encounter_id AND c.tin = e.billing_tin AND c.npi = e.rendering_npi
WHERE d.source_code IS NOT NULL;

INSERT INTO m_persons
SELECT 'encounters', person_id, min(birth_date),
       CASE min(CASE sex WHEN 'female' THEN 'F' WHEN 'male' THEN 'M' END)
            WHEN max(CASE sex WHEN 'female' THEN 'F' WHEN 'male' THEN 'M' END) THEN min(CASE sex WHEN 'female' THEN 'F' WHEN 'male' THEN 'M' END) END
FROM {patient}
GROUP BY person_id;
