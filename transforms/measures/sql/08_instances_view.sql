-- measure_instances: the compact instances (m_inst) with their names read back from the unit, measure, patient,
-- claim and instance-part tables. A view: the care-gap detail (tens of millions of rows on a big year) is decoded
-- and sorted once, when it is written, instead of being materialised twice. Rows come in (unit_idx, ms_idx,
-- person_idx, inst_ord) order = (source, level, tin, npi, measure_id, stratum, person_id, the instance's own part).
-- Every join is an equality on a column of m_inst: on expressions DuckDB misjudged the sizes and built its hash
-- table on the tens of millions of instances instead of on the small name tables.
--
-- The names of units, measures and results are dictionary-encoded (ENUM types made from the run's own values),
-- so the sort moves integers instead of strings, and the Parquet writer stores each as a string column straight
-- from its dictionary (mips/store.py). Only the patient and claim ids ride through the sort as text (an ENUM of
-- millions of ids costs more to build than it saves), and the instance key is put together after the sort.
CREATE OR REPLACE TEMP TYPE m_e_source AS ENUM (SELECT DISTINCT source FROM m_units WHERE source IS NOT NULL ORDER BY 1);
CREATE OR REPLACE TEMP TYPE m_e_level AS ENUM (SELECT DISTINCT level FROM m_units WHERE level IS NOT NULL ORDER BY 1);
CREATE OR REPLACE TEMP TYPE m_e_tin AS ENUM (SELECT DISTINCT tin FROM m_units WHERE tin IS NOT NULL ORDER BY 1);
CREATE OR REPLACE TEMP TYPE m_e_npi AS ENUM (
    SELECT npi FROM m_units WHERE npi IS NOT NULL UNION SELECT npi FROM m_claim_keys WHERE npi IS NOT NULL ORDER BY 1);
CREATE OR REPLACE TEMP TYPE m_e_measure AS ENUM (SELECT DISTINCT measure_id FROM m_ms WHERE measure_id IS NOT NULL ORDER BY 1);
CREATE OR REPLACE TEMP TYPE m_e_stratum AS ENUM (SELECT DISTINCT stratum FROM m_ms WHERE stratum IS NOT NULL ORDER BY 1);
CREATE OR REPLACE TEMP TYPE m_e_class AS ENUM (
    SELECT DISTINCT counting_class FROM m_ms WHERE counting_class IS NOT NULL ORDER BY 1);
CREATE OR REPLACE TEMP TYPE m_e_result AS ENUM (
    'eligible_population_exception', 'eligible_population_exclusion', 'performance_met', 'performance_not_met');

CREATE OR REPLACE TEMP TABLE m_unit_names AS
SELECT unit_idx, CAST(source AS m_e_source) AS source, CAST(level AS m_e_level) AS level, CAST(tin AS m_e_tin) AS tin,
       CAST(npi AS m_e_npi) AS npi
FROM m_units;

CREATE OR REPLACE TEMP TABLE m_ms_names AS
SELECT ms_idx, CAST(measure_id AS m_e_measure) AS measure_id, CAST(stratum AS m_e_stratum) AS stratum,
       CAST(counting_class AS m_e_class) AS counting_class, counting_class AS class_name, is_inverse
FROM m_ms;

CREATE OR REPLACE TEMP TABLE m_claim_names AS
SELECT claim_idx, claim_id, CAST(npi AS m_e_npi) AS npi FROM m_claim_keys;

CREATE OR REPLACE TEMP VIEW m_instances_named AS
SELECT {performance_year} AS performance_year, DATE '{period_start}' AS period_start, DATE '{period_end}' AS period_end,
       i.source, i.level, i.tin, i.npi, i.measure_id, i.stratum,
       -- counting_classes.py: the date (procedure, 30-day episode), the season (flu season), else the part's
       -- name: episode label (none: ''), visit line, facility event
       i.person_id || {instance_key} AS instance_key,
       i.counting_class, i.person_id, i.instance_date,
       CAST(CASE WHEN i.result_rank = 9 THEN NULL
                 WHEN i.is_inverse THEN ['performance_not_met', 'eligible_population_exception', 'eligible_population_exclusion', 'performance_met'][i.result_rank]
                 ELSE ['performance_met', 'eligible_population_exclusion', 'eligible_population_exception', 'performance_not_met'][i.result_rank]
            END AS m_e_result) AS result,
       i.decided_by_claim_id, i.decided_by_date, i.decided_by_npi
FROM (
-- the class's name as text for the instance key, taken from the ENUM after the sort: the sort then carries no text but
-- the patient, claim and part ids (on a big year it spills to disk; every byte of its rows counts)
SELECT *, CAST(counting_class AS VARCHAR) AS class_name FROM (
    SELECT u.source, u.level, u.tin, u.npi, s.measure_id, s.stratum, s.counting_class, s.is_inverse,
           p.person_id, m.inst_ord, m.instance_date, m.result_rank, k.claim_id AS decided_by_claim_id,
           m.decided_by_date, k.npi AS decided_by_npi, t.inst_text
    FROM m_inst m
    JOIN m_unit_names u USING (unit_idx)
    JOIN m_ms_names s USING (ms_idx)
    JOIN m_persons p USING (person_idx)
    JOIN m_claim_names k ON k.claim_idx = m.claim_idx
    LEFT JOIN m_inst_parts t ON t.counting_class = s.class_name AND t.inst_ord = m.inst_ord
    -- integer keys only: the projection above keeps this order (and so does COPY)
    ORDER BY m.unit_idx, m.ms_idx, m.person_idx, m.inst_ord
)) i;

-- m_claim_names carries what measure_instances reads of the claims: the wide m_claim_keys (a row per claim) would
-- only hold memory that the sort above needs when the view is written
DROP TABLE m_claim_keys;
