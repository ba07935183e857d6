-- Matching results (claims-measure-logic.md "Matching results"): a performance option matches a claim when every
-- code it lists is on the same claim: line codes with the modifier rules (and the modifier convention), ICD-10
-- quality codes against the claim's diagnoses. Each option's codes set one bit each; all bits = all codes there.
-- Driven from the quality codes (a few per claim); claims that are not eligible drop out at the join below.
-- match_key packs (claim_idx, ms_idx, og) into one BIGINT (m_match_key; the engine checks the ranges): the join of
-- every eligible claim below is on one integer.
CREATE OR REPLACE TEMP TABLE m_perf_match AS
SELECT m_match_key(h.claim_idx, o.ms_idx, o.og) AS match_key, min(o.result_rank) AS result_rank
FROM (
    SELECT claim_idx, popt_idx
    FROM (SELECT l.claim_idx, c.popt_idx, c.code_count, c.code_index
          FROM m_lines l
          JOIN m_perf_codes c ON c.code = l.code AND c.code_kind = 'procedure'
          WHERE (l.pass_mask >> c.restr_bit) & 1 = 1  -- the modifier rules (02z_keys.sql)
          UNION ALL
          SELECT d.claim_idx, c.popt_idx, c.code_count, c.code_index
          FROM m_dx d
          JOIN m_dx_codes k USING (dx_idx)
          JOIN m_perf_codes c ON c.code = k.code AND c.code_kind = 'diagnosis')
    GROUP BY claim_idx, popt_idx
    HAVING bit_or(CAST(1 AS BIGINT) << (code_index - 1)) = (CAST(1 AS BIGINT) << any_value(code_count)) - 1
) h
JOIN m_perf_opts o USING (popt_idx)
GROUP BY ALL;

-- Results of eligible claims: the most advantageous result among the options of the option groups the claim is
-- eligible through (a claim eligible only through group 01 is judged only by group 01 results); 9 = no quality
-- data code. A view with one row per eligible (claim, option): the instance pick takes the minimum anyway, so
-- a claim's repeats cost nothing there and are not grouped away here.
CREATE OR REPLACE TEMP VIEW m_claim_results AS
SELECT e.claim_idx, e.ms_idx, e.dos, e.person_idx, e.individual_unit, e.group_unit,
       CAST(coalesce(p.result_rank, 9) AS TINYINT) AS result_rank
FROM m_elig e
LEFT JOIN m_perf_match p ON p.match_key = m_match_key(e.claim_idx, e.ms_idx, e.og);

DROP TABLE m_lines;  -- lines and diagnoses are not read again
DROP TABLE m_dx;
