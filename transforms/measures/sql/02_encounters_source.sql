-- Encounters source: an encounter plays the role of a claim (its conditions are its diagnoses, its procedures
-- are its lines); date of service = encounter start date. claim_key as for claims.
INSERT INTO m_claims
SELECT hash('encounters', g.encounter_id, g.tin, g.npi), 'encounters', g.encounter_id, g.tin, g.npi, g.person_id, g.dos, p.birth_date, p.sex_code
FROM (
    SELECT encounter_id, billing_tin AS tin, rendering_npi AS npi, min(person_id) AS person_id, min(encounter_start_date) AS dos
    FROM encounter
    WHERE encounter_id IS NOT NULL AND billing_tin IS NOT NULL AND rendering_npi IS NOT NULL
    GROUP BY ALL
    HAVING min(encounter_start_date) BETWEEN DATE '{period_start}' AND DATE '{period_end}'
) g
LEFT JOIN (
    SELECT person_id, min(birth_date) AS birth_date, CASE WHEN count(DISTINCT g) = 1 THEN min(g) END AS sex_code
    FROM (SELECT person_id, birth_date, CASE sex WHEN 'female' THEN 'F' WHEN 'male' THEN 'M' END AS g FROM {patient})
    GROUP BY person_id
) p USING (person_id);

CREATE OR REPLACE TEMP VIEW m_lines_encounters AS
SELECT hash('encounters', e.encounter_id, e.billing_tin, e.rendering_npi) AS claim_key,
       coalesce(CAST(p.procedure_id AS VARCHAR), '') AS line_key, p.source_code AS code,
       m_line_profile(e.place_of_service_code, p.modifier_1, p.modifier_2, p.modifier_3, p.modifier_4, p.modifier_5) AS profile
FROM {procedure} p
JOIN encounter e ON e.encounter_id = p.encounter_id
SEMI JOIN m_line_codes k ON k.code = p.source_code;

INSERT INTO m_line_profiles
SELECT m_line_profile(place_of_service_code, modifier_1, modifier_2, modifier_3, modifier_4, modifier_5), *
FROM (SELECT DISTINCT e.place_of_service_code, p.modifier_1, p.modifier_2, p.modifier_3, p.modifier_4, p.modifier_5
      FROM {procedure} p JOIN encounter e ON e.encounter_id = p.encounter_id);

CREATE OR REPLACE TEMP VIEW m_dx_encounters AS
SELECT DISTINCT hash('encounters', e.encounter_id, e.billing_tin, e.rendering_npi) AS claim_key, k.dx_idx
FROM {condition} d
JOIN encounter e ON e.encounter_id = d.encounter_id
JOIN m_dx_codes k ON k.code = replace(d.source_code, '.', '');
