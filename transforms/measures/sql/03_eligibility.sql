-- Eligibility (claims-measure-logic.md "Eligibility (per claim)"): options are alternatives; within one option
-- every condition holds. Driven from the procedure-code join, which is the selective one.

-- Candidate (claim, option) pairs: a line with a procedure code of the option, and the patient's age and sex at
-- the date of service (place-of-service and modifier rules: the line's pass_mask bit of the entry's restriction,
-- see 02z_keys.sql). The claim's date, patient and units ride along for the instance steps.
-- Age bounds in completed months come with the code entry (m_elig_codes). A claim with two lines of one option
-- gives two rows: every later step is indifferent to repeats (semi joins, distinct counts, min), which saves
-- de-duplicating tens of millions of rows.
CREATE OR REPLACE TEMP VIEW m_cand_all AS
SELECT l.claim_idx, c.opt_idx, c.ms_idx, c.og, c.needs_check, l.dos, l.person_idx, l.individual_unit, l.group_unit
FROM m_lines l
JOIN m_elig_codes c ON c.code = l.code AND c.code_role = 'procedure'
WHERE (l.pass_mask >> c.restr_bit) & 1 = 1
  AND (c.min_months IS NULL OR l.age_months >= c.min_months)
  AND (c.max_months_below IS NULL OR l.age_months < c.max_months_below)
  AND (c.sex_code IS NULL OR c.sex_code = l.sex_code);

-- Candidates whose option has diagnosis or additional procedure rules still to check.
CREATE OR REPLACE TEMP TABLE m_cand AS
SELECT claim_idx, opt_idx, ms_idx, og, dos, person_idx, individual_unit, group_unit FROM m_cand_all WHERE needs_check;

-- Diagnosis roles of the claim's diagnoses, for candidates whose option lists diagnoses (kept: episodes are
-- formed over the 'diagnosis' hits). Distinct, so each hit below is one (claim, option, role, diagnosis).
CREATE OR REPLACE TEMP TABLE m_dx_roles AS
SELECT DISTINCT k.dx_idx, c.opt_idx, c.code_role
FROM m_elig_codes c JOIN m_dx_codes k USING (code)
WHERE c.code_role IN ('diagnosis', 'diagnosis_exclusion', 'additional_diagnosis');

CREATE OR REPLACE TEMP TABLE m_dx_hits AS
SELECT d.claim_idx, c.opt_idx, c.code_role, d.dx_idx
FROM m_dx d
JOIN m_dx_roles c USING (dx_idx)
SEMI JOIN (SELECT claim_idx, opt_idx FROM m_cand JOIN m_elig_opts USING (opt_idx) WHERE needs_dx) k2 ON k2.claim_idx = d.claim_idx AND k2.opt_idx = c.opt_idx;

-- Hits are distinct (m_dx is, and so is m_dx_roles), so plain counts count distinct codes; two distinct codes among
-- the diagnosis and additional diagnosis hits = their smallest and largest differ.
CREATE OR REPLACE TEMP TABLE m_dx_counts AS
SELECT claim_idx, opt_idx,
       count(*) FILTER (WHERE code_role = 'diagnosis') AS n_dx,
       count(*) FILTER (WHERE code_role = 'diagnosis_exclusion') AS n_excl,
       count(*) FILTER (WHERE code_role = 'additional_diagnosis') AS n_add,
       min(dx_idx) FILTER (WHERE code_role IN ('diagnosis', 'additional_diagnosis'))
       < max(dx_idx) FILTER (WHERE code_role IN ('diagnosis', 'additional_diagnosis')) AS two_dx_or_add
FROM m_dx_hits
GROUP BY ALL;

-- Additional procedure codes: every one on a line of the claim (same place-of-service and modifier rules).
CREATE OR REPLACE TEMP TABLE m_apc_counts AS
SELECT k.claim_idx, k.opt_idx, count(DISTINCT c.code) AS n_apc
FROM (SELECT claim_idx, opt_idx FROM m_cand JOIN m_elig_opts USING (opt_idx) WHERE additional_procedure_code_count > 0) k
JOIN m_lines l USING (claim_idx)
JOIN m_elig_codes c ON c.opt_idx = k.opt_idx AND c.code_role = 'additional_procedure' AND c.code = l.code
WHERE (l.pass_mask >> c.restr_bit) & 1 = 1
GROUP BY ALL;

-- Eligible (claim, option): at least one diagnosis code, none of the exclusion codes, and where listed an
-- additional diagnosis that is a second, different code (some d1 in diagnosis, d2 in additional, d1 <> d2,
-- i.e. both non-empty and at least two distinct codes among them); all additional procedure codes.
-- Candidates of options with no such rules are eligible as they are.
CREATE OR REPLACE TEMP TABLE m_elig AS
SELECT claim_idx, opt_idx, ms_idx, og, dos, person_idx, individual_unit, group_unit FROM m_cand_all WHERE NOT needs_check
UNION ALL
SELECT k.claim_idx, k.opt_idx, k.ms_idx, k.og, k.dos, k.person_idx, k.individual_unit, k.group_unit
FROM m_cand k
JOIN m_elig_opts o USING (opt_idx)
LEFT JOIN m_dx_counts d USING (claim_idx, opt_idx)
LEFT JOIN m_apc_counts a USING (claim_idx, opt_idx)
WHERE (o.diagnosis_code_count = 0 OR coalesce(d.n_dx, 0) >= 1)
  AND coalesce(d.n_excl, 0) = 0
  AND (o.additional_diagnosis_code_count = 0
       OR (coalesce(d.n_add, 0) >= 1 AND (o.diagnosis_code_count = 0 OR coalesce(d.two_dx_or_add, FALSE))))
  AND coalesce(a.n_apc, 0) = o.additional_procedure_code_count;

-- Visit class: each eligible encounter line (a line satisfying the procedure codes of an option the claim is
-- eligible through) is an instance; inst_text names it (claim|npi|line).
CREATE OR REPLACE TEMP TABLE m_visit_lines AS
SELECT h.claim_idx, h.opt_idx, k.claim_id || '|' || k.npi || '|' || h.line_key AS inst_text
FROM (SELECT DISTINCT l.claim_idx, e.opt_idx, l.line_key
      FROM m_lines l
      JOIN m_elig_codes e ON e.code = l.code AND e.code_role = 'procedure'
      JOIN m_elig_opts o USING (opt_idx)
      WHERE o.counting_class = 'visit' AND (l.pass_mask >> e.restr_bit) & 1 = 1) h
JOIN m_claim_keys k USING (claim_idx);

DROP VIEW m_cand_all;
DROP TABLE m_cand;
DROP TABLE m_dx_counts;
DROP TABLE m_apc_counts;
