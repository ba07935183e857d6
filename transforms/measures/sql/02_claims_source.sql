-- Claims source: a claim is all lines with the same claim_id billed by the same TIN and rendering NPI;
-- its date of service is the earliest line from-date; only claims dated inside the reporting period count.
INSERT INTO m_claims
SELECT 'claims', claim_id, billing_tin, rendering_npi, min(person_id), min(claim_line_start_date)
FROM medical_claim
WHERE claim_id IS NOT NULL AND billing_tin IS NOT NULL AND rendering_npi IS NOT NULL
GROUP BY claim_id, billing_tin, rendering_npi
HAVING min(claim_line_start_date) BETWEEN DATE '{period_start}' AND DATE '{period_end}';

INSERT INTO m_lines
SELECT 'claims', l.claim_id, l.billing_tin, l.rendering_npi, CAST(l.claim_line_number AS VARCHAR),
       l.hcpcs_code, l.place_of_service_code,
       list_filter([l.hcpcs_modifier_1, l.hcpcs_modifier_2, l.hcpcs_modifier_3, l.hcpcs_modifier_4, l.hcpcs_modifier_5], lambda x: x IS NOT NULL)
FROM medical_claim l
SEMI JOIN m_claims c ON c.source = 'claims' AND c.claim_id = l.claim_id AND c.tin = l.billing_tin AND c.npi = l.rendering_npi
WHERE l.hcpcs_code IS NOT NULL;

-- Diagnoses are claim-level: the union of every line's diagnosis codes.
INSERT INTO m_dx
SELECT DISTINCT 'claims', u.claim_id, u.billing_tin, u.rendering_npi, replace(u.code, '.', '')
FROM (
    UNPIVOT (SELECT claim_id, billing_tin, rendering_npi, COLUMNS('^diagnosis_code_[0-9]+$') FROM medical_claim)
    ON COLUMNS('^diagnosis_code_[0-9]+$') INTO NAME position VALUE code
) u
SEMI JOIN m_claims c ON c.source = 'claims' AND c.claim_id = u.claim_id AND c.tin = u.billing_tin AND c.npi = u.rendering_npi
WHERE u.code IS NOT NULL;

INSERT INTO m_persons
SELECT 'claims', person_id, min(birth_date),
       CASE min(CASE gender WHEN 'female' THEN 'F' WHEN 'male' THEN 'M' END)
            WHEN max(CASE gender WHEN 'female' THEN 'F' WHEN 'male' THEN 'M' END) THEN min(CASE gender WHEN 'female' THEN 'F' WHEN 'male' THEN 'M' END) END
FROM {eligibility}
GROUP BY person_id;
