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
