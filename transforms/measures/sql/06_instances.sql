-- Instance per counting class (claims-measure-logic.md "Counting classes"); the class comes from the reference
-- table claims_measures, never from a measure id. inst_part is what, besides the patient, tells instances apart.
-- a view: streamed once into the pick below instead of materialising one row per claim, unit and measure
CREATE OR REPLACE TEMP VIEW m_inst_claims AS
SELECT u.part_key, u.level, u.measure_id, u.stratum, u.counting_class, u.claim_key, u.dos,
       CASE u.counting_class
           WHEN 'procedure' THEN strftime(u.dos, '%Y-%m-%d')
           WHEN 'flu_season' THEN CAST(year(u.dos) - CASE WHEN month(u.dos) <= 3 THEN 1 ELSE 0 END AS VARCHAR)
           WHEN 'episode' THEN coalesce(ep.label, '')
           WHEN 'episode_30_day' THEN strftime(w.window_start, '%Y-%m-%d')
           ELSE ''
       END AS inst_part,
       -- second encounter: the first date only qualifies; results come from later claims
       CASE WHEN f.first_dos = u.dos THEN 9 ELSE u.result_rank END AS result_rank
FROM m_unit_claims u
LEFT JOIN m_ep_label ep ON u.counting_class = 'episode' AND ep.part_key = u.part_key AND ep.node = u.claim_key
LEFT JOIN m_w_assign w ON u.counting_class = 'episode_30_day' AND w.part_key = u.part_key AND w.dos = u.dos
LEFT JOIN m_first_dates f ON u.counting_class = 'second_encounter' AND f.part_key = u.part_key
WHERE u.counting_class NOT IN ('visit', 'facility')
  AND (u.counting_class <> 'second_encounter' OR f.n_dates >= 2)
UNION ALL
-- visit: each eligible encounter line (a line satisfying the procedure codes of an option the claim is eligible through)
SELECT DISTINCT u.part_key, u.level, u.measure_id, u.stratum, u.counting_class, u.claim_key, u.dos,
       c.claim_id || '|' || c.npi || '|' || h.line_key, u.result_rank
FROM m_unit_claims u
JOIN m_claims c ON c.claim_key = u.claim_key
JOIN m_elig e ON e.claim_key = u.claim_key AND e.measure_id = u.measure_id AND e.stratum IS NOT DISTINCT FROM u.stratum
JOIN m_proc_hits h ON h.claim_key = e.claim_key AND h.measure_id = e.measure_id AND h.eligibility_option = e.eligibility_option
WHERE u.counting_class = 'visit'
{facility_union};

-- Which claim decides: the most advantageous result (patient, procedure, visit, episode, flu season, strata,
-- second encounter, facility); the most recent date with a result (intermediate outcome); the earliest result
-- inside the window (30-day episode). Ties: earlier date, then claim_key. The order is packed into one HUGEINT
-- (bits from the top: no result, date order, rank, date; low 64 bits: claim_key) so one min() picks the claim,
-- and rank, date and claim are read back from it; the unit and patient come back with the picked claim.
CREATE OR REPLACE TEMP TABLE m_inst_pick AS
SELECT part_key, inst_part, level, measure_id, stratum, counting_class, min(dos) AS instance_date,
       min(CAST(((CAST(result_rank = 9 AS BIGINT) * 262144
                  + CASE WHEN result_rank = 9 THEN 0
                         WHEN counting_class = 'patient_intermediate_outcome' THEN 200000 - (dos - DATE '1970-01-01')
                         WHEN counting_class = 'episode_30_day' THEN dos - DATE '1970-01-01'
                         ELSE 0 END) * 16 + result_rank) * 262144 + (dos - DATE '1970-01-01') AS HUGEINT)
           * CAST('18446744073709551616' AS HUGEINT) + CAST(claim_key AS HUGEINT)) AS pick
FROM m_inst_claims
GROUP BY part_key, inst_part, level, measure_id, stratum, counting_class;

CREATE OR REPLACE TEMP TABLE m_instances AS
WITH p AS (
    SELECT *, CAST(pick % CAST('18446744073709551616' AS HUGEINT) AS UBIGINT) AS claim_key,
           CAST((pick // CAST('18446744073709551616' AS HUGEINT)) // 262144 % 16 AS INTEGER) AS result_rank,
           DATE '1970-01-01' + CAST((pick // CAST('18446744073709551616' AS HUGEINT)) % 262144 AS INTEGER) AS decided_by_date
    FROM m_inst_pick
)
SELECT p.level, c.source, c.tin, CASE WHEN p.level = 'individual' THEN c.npi END AS npi, p.measure_id, p.stratum,
       c.person_id || CASE WHEN p.inst_part = '' THEN '' ELSE '|' || p.inst_part END AS instance_key,
       p.counting_class, c.person_id, p.instance_date,
       CASE WHEN p.result_rank = 9 THEN NULL
            WHEN m.is_inverse THEN ['performance_not_met', 'eligible_population_exception', 'eligible_population_exclusion', 'performance_met'][p.result_rank]
            ELSE ['performance_met', 'eligible_population_exclusion', 'eligible_population_exception', 'performance_not_met'][p.result_rank]
       END AS result,
       c.claim_id AS decided_by_claim_id, p.decided_by_date, c.npi AS decided_by_npi
FROM p
JOIN m_measures m USING (measure_id)
JOIN m_claims c USING (claim_key);
