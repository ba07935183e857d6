-- The year's claims specification (reference tables restricted to one performance year).
CREATE OR REPLACE TEMP TABLE m_measures AS
SELECT * FROM ref.claims_measures WHERE performance_year = {performance_year};
CREATE OR REPLACE TEMP TABLE m_elig_opts AS
SELECT * FROM ref.claims_eligibility_options WHERE performance_year = {performance_year};
CREATE OR REPLACE TEMP TABLE m_elig_codes AS
SELECT * FROM ref.claims_eligibility_codes WHERE performance_year = {performance_year};
CREATE OR REPLACE TEMP TABLE m_perf_opts AS
SELECT * FROM ref.claims_performance_options WHERE performance_year = {performance_year};
CREATE OR REPLACE TEMP TABLE m_perf_codes AS
SELECT * FROM ref.claims_performance_codes WHERE performance_year = {performance_year};

-- Codes the year's measures look at: lines and diagnoses with other codes never matter, so they are dropped
-- while the inputs are read.
CREATE OR REPLACE TEMP TABLE m_line_codes AS
SELECT code FROM m_elig_codes WHERE code_role IN ('procedure', 'additional_procedure')
UNION SELECT code FROM m_perf_codes WHERE code_kind = 'procedure';
CREATE OR REPLACE TEMP TABLE m_dx_codes AS
SELECT code FROM m_elig_codes WHERE code_role IN ('diagnosis', 'diagnosis_exclusion', 'additional_diagnosis')
UNION SELECT code FROM m_perf_codes WHERE code_kind = 'diagnosis';
