-- Instance key per counting class (claims-measure-logic.md "Counting classes"); the class comes from the
-- reference table claims_measures, never from a measure id.
CREATE OR REPLACE TEMP TABLE m_inst_claims AS
SELECT u.*,
       CASE u.counting_class
           WHEN 'procedure' THEN u.person_id || '|' || strftime(u.dos, '%Y-%m-%d')
           WHEN 'flu_season' THEN u.person_id || '|' || CAST(year(u.dos) - CASE WHEN month(u.dos) <= 3 THEN 1 ELSE 0 END AS VARCHAR)
           WHEN 'episode' THEN u.person_id || '|' || coalesce(ep.label, '')
           WHEN 'episode_30_day' THEN u.person_id || '|' || strftime(w.window_start, '%Y-%m-%d')
           ELSE u.person_id
       END AS instance_key
FROM m_unit_claims u
LEFT JOIN m_ep_label ep ON u.counting_class = 'episode' AND ep.part_key = u.part_key AND ep.node = u.claim_id || '|' || u.claim_npi
LEFT JOIN m_w_assign w ON u.counting_class = 'episode_30_day' AND w.part_key = u.part_key AND w.dos = u.dos
WHERE u.counting_class NOT IN ('visit', 'facility')
UNION ALL
-- visit: each eligible encounter line (a line satisfying the procedure codes of an option the claim is eligible through)
SELECT DISTINCT u.*, u.claim_id || '|' || u.claim_npi || '|' || h.line_key
FROM m_unit_claims u
JOIN m_elig e ON e.source = u.source AND e.claim_id = u.claim_id AND e.tin = u.tin AND e.npi = u.claim_npi
             AND e.measure_id = u.measure_id AND e.stratum IS NOT DISTINCT FROM u.stratum
JOIN m_proc_hits h ON h.source = e.source AND h.claim_id = e.claim_id AND h.tin = e.tin AND h.npi = e.npi
                  AND h.measure_id = e.measure_id AND h.eligibility_option = e.eligibility_option
WHERE u.counting_class = 'visit'
{facility_union};

-- Second encounter: a patient seen at least twice (two dates); the first date only qualifies, results come from
-- later claims. Everything else: the claim's own result.
CREATE OR REPLACE TEMP TABLE m_inst_ranked AS
WITH c AS (
    SELECT *,
           min(dos) OVER (PARTITION BY part_key, instance_key) AS instance_date,
           count(DISTINCT dos) OVER (PARTITION BY part_key, instance_key) AS n_dates
    FROM m_inst_claims
), e AS (
    SELECT * EXCLUDE (result, result_rank),
           CASE WHEN counting_class = 'second_encounter' AND dos = instance_date THEN NULL ELSE result END AS result,
           CASE WHEN counting_class = 'second_encounter' AND dos = instance_date THEN 9 ELSE result_rank END AS result_rank
    FROM c
    WHERE counting_class <> 'second_encounter' OR n_dates >= 2
)
-- Which claim decides: the most advantageous result (patient, procedure, visit, episode, flu season, strata,
-- second encounter, facility); the most recent date with a result (intermediate outcome); the earliest result
-- inside the window (30-day episode).
SELECT *,
       row_number() OVER (
           PARTITION BY part_key, instance_key
           ORDER BY (result IS NULL),
                    CASE WHEN result IS NULL THEN 0
                         WHEN counting_class = 'patient_intermediate_outcome' THEN -epoch(dos)
                         WHEN counting_class = 'episode_30_day' THEN epoch(dos)
                         ELSE 0 END,
                    result_rank, dos, claim_id, claim_npi
       ) AS pick
FROM e;

CREATE OR REPLACE TEMP TABLE m_instances AS
SELECT level, source, tin, unit_npi AS npi, measure_id, stratum, instance_key, counting_class, person_id,
       instance_date, result, claim_id AS decided_by_claim_id, dos AS decided_by_date, claim_npi AS decided_by_npi
FROM m_inst_ranked
WHERE pick = 1;
