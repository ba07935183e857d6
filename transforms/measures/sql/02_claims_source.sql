-- Claims source: a claim is all lines with the same claim_id billed by the same TIN and rendering NPI;
-- its date of service is the earliest line from-date; only claims dated inside the reporting period count.
-- claim_key numbers the claims so every later join is on one integer.
INSERT INTO m_claims
SELECT {key_offset} + row_number() OVER (), 'claims', g.claim_id, g.tin, g.npi, g.person_id, g.dos, p.birth_date, p.sex_code
FROM (
    SELECT claim_id, billing_tin AS tin, rendering_npi AS npi, min(person_id) AS person_id, min(claim_line_start_date) AS dos
    FROM medical_claim
    WHERE claim_id IS NOT NULL AND billing_tin IS NOT NULL AND rendering_npi IS NOT NULL
    GROUP BY ALL
    HAVING min(claim_line_start_date) BETWEEN DATE '{period_start}' AND DATE '{period_end}'
) g
LEFT JOIN (
    -- age and sex from enrollment; a person whose spans disagree on sex gets none
    SELECT person_id, min(birth_date) AS birth_date,
           CASE WHEN count(DISTINCT g) = 1 THEN min(g) END AS sex_code
    FROM (SELECT person_id, birth_date, CASE gender WHEN 'female' THEN 'F' WHEN 'male' THEN 'M' END AS g FROM {eligibility})
    GROUP BY person_id
) p USING (person_id);

CREATE OR REPLACE TEMP TABLE m_raw AS
SELECT c.claim_key, l.claim_line_number, l.hcpcs_code, l.place_of_service_code,
       l.hcpcs_modifier_1, l.hcpcs_modifier_2, l.hcpcs_modifier_3, l.hcpcs_modifier_4, l.hcpcs_modifier_5,
       [{dx_columns}] AS dx
FROM medical_claim l
JOIN m_claims c ON c.source = 'claims' AND c.claim_id = l.claim_id AND c.tin = l.billing_tin AND c.npi = l.rendering_npi;

INSERT INTO m_lines
SELECT claim_key, CAST(claim_line_number AS VARCHAR), hcpcs_code, place_of_service_code,
       list_filter([hcpcs_modifier_1, hcpcs_modifier_2, hcpcs_modifier_3, hcpcs_modifier_4, hcpcs_modifier_5], lambda x: x IS NOT NULL)
FROM m_raw
WHERE hcpcs_code IS NOT NULL;

-- Diagnoses are claim-level: the union of every line's diagnosis codes.
INSERT INTO m_dx
SELECT DISTINCT claim_key, replace(code, '.', '')
FROM (SELECT claim_key, unnest(dx) AS code FROM m_raw)
WHERE code IS NOT NULL;

DROP TABLE m_raw;
