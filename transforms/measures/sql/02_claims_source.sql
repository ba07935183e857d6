-- Claims source: a claim is all lines with the same claim_id billed by the same TIN and rendering NPI;
-- its date of service is the earliest line from-date; only claims dated inside the reporting period count.
-- claim_key = 64-bit hash of (source, claim_id, TIN, NPI): lines and diagnoses get it without a join (lines of
-- claims outside the period drop out where they meet m_claims).
INSERT INTO m_claims
SELECT hash('claims', g.claim_id, g.tin, g.npi), 'claims', g.claim_id, g.tin, g.npi, g.person_id, g.dos, p.birth_date, p.sex_code
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

-- Lines and diagnoses are views, read once where 02z_keys.sql gives them the claim's integer key.
CREATE OR REPLACE TEMP VIEW m_lines_claims AS
SELECT hash('claims', claim_id, billing_tin, rendering_npi) AS claim_key,
       coalesce(CAST(claim_line_number AS VARCHAR), '') AS line_key, hcpcs_code AS code,
       m_line_profile(place_of_service_code, hcpcs_modifier_1, hcpcs_modifier_2, hcpcs_modifier_3, hcpcs_modifier_4,
                      hcpcs_modifier_5) AS profile
FROM medical_claim
SEMI JOIN m_line_codes k ON k.code = medical_claim.hcpcs_code
WHERE claim_id IS NOT NULL AND billing_tin IS NOT NULL AND rendering_npi IS NOT NULL;

-- The distinct places of service and modifiers of the lines (a few dozen): the line rules are checked on these.
INSERT INTO m_line_profiles
SELECT m_line_profile(place_of_service_code, hcpcs_modifier_1, hcpcs_modifier_2, hcpcs_modifier_3, hcpcs_modifier_4,
                      hcpcs_modifier_5), *
FROM (SELECT DISTINCT place_of_service_code, hcpcs_modifier_1, hcpcs_modifier_2, hcpcs_modifier_3, hcpcs_modifier_4,
                      hcpcs_modifier_5
      FROM medical_claim);

-- Diagnoses are claim-level: the union of every line's diagnosis codes (distinct here, before 02z_keys.sql joins
-- them to the claims: the join then meets one row per claim and code the measures look at).
CREATE OR REPLACE TEMP VIEW m_dx_claims AS
SELECT DISTINCT d.claim_key, k.dx_idx
FROM (SELECT hash('claims', claim_id, billing_tin, rendering_npi) AS claim_key, replace(unnest([{dx_columns}]), '.', '') AS code
      FROM medical_claim
      WHERE claim_id IS NOT NULL AND billing_tin IS NOT NULL AND rendering_npi IS NOT NULL) d
JOIN m_dx_codes k ON k.code = d.code;
