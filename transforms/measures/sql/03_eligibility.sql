-- Eligibility (claims-measure-logic.md "Eligibility (per claim)"): options are alternatives; within one option
-- every condition holds. Driven from the procedure-code join, which is the selective one.

-- A line passes a code entry's modifier lists. Modifier convention: a line whose code carries a performance
-- modifier (1P/2P/3P/8P) matches only an entry that lists that modifier, for every year and every code role.
CREATE OR REPLACE MACRO m_modifiers_pass(line_mods, modifiers, modifier_exclusions) AS
    (len(modifiers) = 0 OR list_has_any(line_mods, modifiers))
    AND NOT list_has_any(line_mods, modifier_exclusions)
    AND len(list_intersect(list_distinct(list_filter(line_mods, lambda m: m IN ('1P', '2P', '3P', '8P'))), modifiers))
        = len(list_distinct(list_filter(line_mods, lambda m: m IN ('1P', '2P', '3P', '8P'))));

-- Completed months of age: a month counts once the day of the month of birth is reached (born the 30th is not
-- a month older on the 28th of February; born 29 February turns a year older on 1 March in other years).
CREATE OR REPLACE MACRO m_age_months(birth, on_date) AS
    (year(on_date) - year(birth)) * 12 + (month(on_date) - month(birth))
    - CASE WHEN day(on_date) < day(birth) THEN 1 ELSE 0 END;

CREATE OR REPLACE MACRO m_pos_pass(pos, places, exclusions) AS
    (len(places) = 0 OR coalesce(list_contains(places, pos), FALSE))
    AND NOT coalesce(list_contains(exclusions, pos), FALSE);

-- Lines that satisfy a procedure entry of an option (kept: the visit class counts them).
CREATE OR REPLACE TEMP TABLE m_proc_hits AS
SELECT l.claim_key, l.line_key, c.measure_id, c.eligibility_option
FROM m_lines l
JOIN m_elig_codes c ON c.code = l.code AND c.code_role = 'procedure'
WHERE m_pos_pass(l.pos, c.places_of_service, c.places_of_service_exclusions)
  AND m_modifiers_pass(l.mods, c.modifiers, c.modifier_exclusions);

-- Candidate (claim, option) pairs passing age and sex. Age in completed months at the date of service:
-- an integer maxAge N includes the whole year N ("75" = under 76); minAge 0.5 = six months.
CREATE OR REPLACE TEMP TABLE m_cand AS
SELECT h.claim_key, h.measure_id, h.eligibility_option,
       o.stratum, o.option_group, o.diagnosis_code_count, o.diagnosis_exclusion_code_count,
       o.additional_diagnosis_code_count, o.additional_procedure_code_count
FROM (SELECT DISTINCT claim_key, measure_id, eligibility_option FROM m_proc_hits) h
JOIN m_elig_opts o USING (measure_id, eligibility_option)
JOIN m_claims c USING (claim_key)
WHERE (o.min_age IS NULL OR m_age_months(c.birth_date, c.dos) >= o.min_age * 12)
  AND (o.max_age IS NULL OR
       CASE WHEN o.max_age = floor(o.max_age) THEN m_age_months(c.birth_date, c.dos) < (o.max_age + 1) * 12
            ELSE m_age_months(c.birth_date, c.dos) <= o.max_age * 12 END)
  AND (o.sex_code IS NULL OR o.sex_code = c.sex_code);

-- Diagnosis roles of candidate options matched against the claim's diagnoses.
CREATE OR REPLACE TEMP TABLE m_dx_hits AS
SELECT k.claim_key, k.measure_id, k.eligibility_option, c.code_role, d.code
FROM m_cand k
JOIN m_dx d USING (claim_key)
JOIN m_elig_codes c ON c.measure_id = k.measure_id AND c.eligibility_option = k.eligibility_option AND c.code = d.code
WHERE c.code_role IN ('diagnosis', 'diagnosis_exclusion', 'additional_diagnosis')
  AND (k.diagnosis_code_count + k.diagnosis_exclusion_code_count + k.additional_diagnosis_code_count) > 0;

CREATE OR REPLACE TEMP TABLE m_dx_counts AS
SELECT claim_key, measure_id, eligibility_option,
       count(DISTINCT code) FILTER (WHERE code_role = 'diagnosis') AS n_dx,
       count(DISTINCT code) FILTER (WHERE code_role = 'diagnosis_exclusion') AS n_excl,
       count(DISTINCT code) FILTER (WHERE code_role = 'additional_diagnosis') AS n_add,
       count(DISTINCT code) FILTER (WHERE code_role IN ('diagnosis', 'additional_diagnosis')) AS n_dx_or_add
FROM m_dx_hits
GROUP BY ALL;

-- Additional procedure codes: every one on a line of the claim (same place-of-service and modifier rules).
CREATE OR REPLACE TEMP TABLE m_apc_counts AS
SELECT k.claim_key, k.measure_id, k.eligibility_option, count(DISTINCT c.code) AS n_apc
FROM m_cand k
JOIN m_lines l USING (claim_key)
JOIN m_elig_codes c ON c.measure_id = k.measure_id AND c.eligibility_option = k.eligibility_option
                   AND c.code_role = 'additional_procedure' AND c.code = l.code
WHERE k.additional_procedure_code_count > 0
  AND m_pos_pass(l.pos, c.places_of_service, c.places_of_service_exclusions)
  AND m_modifiers_pass(l.mods, c.modifiers, c.modifier_exclusions)
GROUP BY ALL;

-- Eligible (claim, option): at least one diagnosis code, none of the exclusion codes, and where listed an
-- additional diagnosis that is a second, different code (some d1 in diagnosis, d2 in additional, d1 <> d2,
-- i.e. both non-empty and at least two distinct codes among them); all additional procedure codes.
CREATE OR REPLACE TEMP TABLE m_elig AS
SELECT k.claim_key, k.measure_id, k.eligibility_option, k.stratum, k.option_group
FROM m_cand k
LEFT JOIN m_dx_counts d USING (claim_key, measure_id, eligibility_option)
LEFT JOIN m_apc_counts a USING (claim_key, measure_id, eligibility_option)
WHERE (k.diagnosis_code_count = 0 OR coalesce(d.n_dx, 0) >= 1)
  AND coalesce(d.n_excl, 0) = 0
  AND (k.additional_diagnosis_code_count = 0
       OR (coalesce(d.n_add, 0) >= 1 AND (k.diagnosis_code_count = 0 OR coalesce(d.n_dx_or_add, 0) >= 2)))
  AND coalesce(a.n_apc, 0) = k.additional_procedure_code_count;
