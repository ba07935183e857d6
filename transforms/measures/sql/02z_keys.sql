-- Integer keys of the claims (claims and encounters alike), their patients and their counting units, so the steps
-- that touch one row per claim and measure group and sort on integers. Each index follows the order of what it
-- stands for, so ordering by indexes orders by the output key:
--   m_units: one row per counting unit; unit_idx in (source, level, tin, npi) order (group units have npi NULL)
--   m_persons: one row per patient; person_idx in person_id order
--   m_claim_keys: one row per claim; claim_idx in claim_key order (the last tie-break of "which claim decides")
--   (date of service, age and sex inputs, claim_id and npi ride along: later steps and measure_instances read them here)
CREATE OR REPLACE TEMP TABLE m_units AS
SELECT CAST(row_number() OVER (ORDER BY source, level, tin, npi NULLS FIRST) AS INTEGER) AS unit_idx, *
FROM (SELECT DISTINCT source, 'individual' AS level, tin, npi FROM m_claims
      UNION ALL
      SELECT DISTINCT source, 'group' AS level, tin, NULL::VARCHAR AS npi FROM m_claims);

CREATE OR REPLACE TEMP TABLE m_persons AS
SELECT CAST(row_number() OVER (ORDER BY person_id) AS INTEGER) AS person_idx, person_id
FROM (SELECT DISTINCT person_id FROM m_claims);

CREATE OR REPLACE TEMP TABLE m_claim_keys AS
SELECT c.claim_key, row_number() OVER (ORDER BY c.claim_key) AS claim_idx, c.dos, c.birth_date, c.sex_code, c.claim_id, c.npi,
       p.person_idx, ui.unit_idx AS individual_unit, ug.unit_idx AS group_unit
FROM m_claims c
JOIN m_persons p ON p.person_id = c.person_id
JOIN m_units ui ON ui.level = 'individual' AND ui.source = c.source AND ui.tin = c.tin AND ui.npi = c.npi
JOIN m_units ug ON ug.level = 'group' AND ug.source = c.source AND ug.tin = c.tin;

DROP TABLE m_claims;  -- everything later reads m_claim_keys

-- Which line restrictions (m_restrictions) each distinct place of service and modifiers passes: one bit each.
CREATE OR REPLACE TEMP TABLE m_line_profiles AS
SELECT p.profile, coalesce(bit_or(CAST(1 AS UBIGINT) << r.restr_bit) FILTER (
           WHERE m_line_meets_entry(p.plain, p.pos, p.mods, r.unrestricted, r.places_of_service,
                                    r.places_of_service_exclusions, r.modifiers, r.modifier_exclusions)), 0) AS pass_mask,
       count(DISTINCT (p.pos, p.mods)) AS variants  -- 1 unless two of them share a profile key (the engine checks)
FROM (SELECT profile, pos, list_filter([m1, m2, m3, m4, m5], lambda x: x IS NOT NULL) AS mods,
             NOT coalesce(list_has_any([m1, m2, m3, m4, m5], ['1P', '2P', '3P', '8P']), FALSE) AS plain  -- no performance modifier
      FROM (SELECT DISTINCT * FROM m_line_profiles)) p
LEFT JOIN m_restrictions r ON TRUE  -- (a year without line restrictions: every mask 0)
GROUP BY p.profile;

-- Lines with the patient's age (completed months at the claim's date of service) and sex, so the eligibility
-- join needs no other table, and the claim's date, patient and units, which every later step carries along
-- instead of joining back; lines of claims outside the reporting period drop out here.
CREATE OR REPLACE TEMP TABLE m_lines AS
SELECT k.claim_idx, l.line_key, l.code, p.pass_mask, m_age_months(k.birth_date, k.dos) AS age_months, k.sex_code,
       k.dos, k.person_idx, k.individual_unit, k.group_unit
FROM ({source_lines}) l  -- the sources' m_lines_<source> views
JOIN m_claim_keys k USING (claim_key)
JOIN m_line_profiles p USING (profile);

-- Diagnoses of the claims in the period, by claim_idx (each source's view is distinct on claim and code already).
CREATE OR REPLACE TEMP TABLE m_dx AS
SELECT k.claim_idx, d.dx_idx FROM ({source_dx}) d JOIN m_claim_keys k USING (claim_key);
