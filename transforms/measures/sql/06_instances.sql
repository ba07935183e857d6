-- Instance per counting class (claims-measure-logic.md "Counting classes"); the class comes from the reference
-- table claims_measures, never from a measure id. Besides part_key (unit, measure, stratum, patient), inst_ord
-- tells a patient's instances apart, as an integer in the order of the instance key's text: 0 (patient classes),
-- the date of service as days since 1970 (procedure), the season's first year (flu season), the episode's
-- smallest diagnosis code (dx_idx; 0 = no qualifying diagnosis), the window's first day (30-day episode), the
-- rank of claim|npi|line (visit) or of event_type|date (facility) in m_inst_parts.

-- Names of the instance parts that are not dates or years: episode labels (diagnosis codes), visit lines, events.
CREATE OR REPLACE TEMP TABLE m_inst_parts AS
SELECT 'episode' AS counting_class, code AS inst_text, CAST(dx_idx AS BIGINT) AS inst_ord FROM m_dx_codes
UNION ALL
SELECT 'visit', inst_text, row_number() OVER (ORDER BY inst_text)
FROM (SELECT DISTINCT inst_text FROM m_visit_lines)
{facility_parts};

CREATE OR REPLACE TEMP VIEW m_inst_claims AS
-- patient-like classes, procedure (date) and flu season: straight from the claim results
SELECT part_key, counting_class, claim_idx, dos, result_rank,
       {instance_ord} AS inst_ord  -- counting_classes.py: the date (procedure), the season's year (flu season), else 0
FROM m_unit_claims_all
WHERE counting_class NOT IN ({classes_with_own_step})
UNION ALL
SELECT u.part_key, u.counting_class, u.claim_idx, u.dos,
       -- second encounter: the first date only qualifies; results come from later claims
       CASE WHEN f.first_dos = u.dos THEN 9 ELSE u.result_rank END,
       CASE u.counting_class
           WHEN 'episode' THEN coalesce(ep.label, 0)
           WHEN 'episode_30_day' THEN CAST(w.window_start - DATE '1970-01-01' AS BIGINT)
           ELSE 0
       END
FROM m_unit_claims u
LEFT JOIN m_ep_label ep ON u.counting_class = 'episode' AND ep.part_key = u.part_key AND ep.node = u.claim_idx
LEFT JOIN m_w_assign w ON u.counting_class = 'episode_30_day' AND w.part_key = u.part_key AND w.dos = u.dos
LEFT JOIN m_first_dates f ON u.counting_class = 'second_encounter' AND f.part_key = u.part_key
WHERE u.counting_class IN ('episode', 'episode_30_day', 'second_encounter')
  AND (u.counting_class <> 'second_encounter' OR f.n_dates >= 2)
UNION ALL
SELECT DISTINCT u.part_key, u.counting_class, u.claim_idx, u.dos, u.result_rank, t.inst_ord
FROM m_unit_claims u
JOIN m_elig e ON e.claim_idx = u.claim_idx AND e.ms_idx = u.ms_idx
JOIN m_visit_lines v ON v.claim_idx = e.claim_idx AND v.opt_idx = e.opt_idx
JOIN m_inst_parts t ON t.counting_class = 'visit' AND t.inst_text = v.inst_text
WHERE u.counting_class = 'visit'
{facility_union};

-- Which claim decides: the most advantageous result (patient, procedure, visit, episode, flu season, strata,
-- second encounter, facility); the most recent date with a result (intermediate outcome); the earliest result
-- inside the window (30-day episode). Ties: earlier date, then claim_idx. The order is packed into one BIGINT
-- (from the top: no result 1 bit, date order 10, rank 4, date 10 as days from the period start, claim_idx 38) so
-- one min() picks the claim, and rank, date and claim are read back from it.
-- pick_offset (counting_classes.py): the latest claim decides an intermediate outcome; a window's claims in order
CREATE OR REPLACE TEMP TABLE m_inst AS
WITH picked AS (
    SELECT part_key, inst_ord, min(dos) AS instance_date,
           min((((CAST(result_rank = 9 AS BIGINT) * 1024
                  + CASE WHEN result_rank = 9 THEN 0
                         ELSE {pick_offset} END) * 16 + result_rank) * 1024 + (dos - DATE '{period_start}')) * 274877906944
               + claim_idx) AS pick
    FROM m_inst_claims
    GROUP BY part_key, inst_ord
)
SELECT CAST(part_key // 1099511627776 AS INTEGER) AS unit_idx, CAST(part_key // 268435456 % 4096 AS INTEGER) AS ms_idx,
       CAST(part_key % 268435456 AS INTEGER) AS person_idx, inst_ord, instance_date,
       pick % 274877906944 AS claim_idx,
       CAST(pick // 281474976710656 % 16 AS TINYINT) AS result_rank,
       DATE '{period_start}' + CAST(pick // 274877906944 % 1024 AS INTEGER) AS decided_by_date
FROM picked;
