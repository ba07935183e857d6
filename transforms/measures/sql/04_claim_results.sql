-- Matching results (claims-measure-logic.md "Matching results"): a performance option matches a claim when every
-- code it lists is on the same claim: line codes with the modifier rules (and the modifier convention), ICD-10
-- quality codes against the claim's diagnoses. Only claims eligible for the measure are looked at.
CREATE OR REPLACE TEMP TABLE m_elig_claims AS
SELECT DISTINCT claim_key, measure_id FROM m_elig;

CREATE OR REPLACE TEMP TABLE m_perf_hits AS
SELECT e.claim_key, e.measure_id, c.performance_option, c.code_index
FROM m_elig_claims e
JOIN m_lines l USING (claim_key)
JOIN m_perf_codes c ON c.measure_id = e.measure_id AND c.code = l.code AND c.code_kind = 'procedure'
WHERE m_modifiers_pass(l.mods, c.modifiers, c.modifier_exclusions)
UNION
SELECT e.claim_key, e.measure_id, c.performance_option, c.code_index
FROM m_elig_claims e
JOIN m_dx d USING (claim_key)
JOIN m_perf_codes c ON c.measure_id = e.measure_id AND c.code = d.code AND c.code_kind = 'diagnosis';

CREATE OR REPLACE TEMP TABLE m_perf_match AS
SELECT h.claim_key, h.measure_id, h.performance_option, o.stratum, o.option_group, o.performance_result
FROM m_perf_hits h
JOIN m_perf_opts o USING (measure_id, performance_option)
GROUP BY ALL
HAVING count(DISTINCT h.code_index) = any_value(o.code_count);

-- One row per (claim, measure, stratum): the most advantageous result among the options of the option groups
-- the claim is eligible through (a claim eligible only through group 01 is judged only by group 01 results).
-- rank 1 is best: normal met > exclusion > exception > not met; inverse not met > exception > exclusion > met.
CREATE OR REPLACE TEMP TABLE m_claim_results AS
WITH groups AS (
    SELECT DISTINCT claim_key, measure_id, stratum, option_group FROM m_elig
), ranked AS (
    SELECT g.claim_key, g.measure_id, g.stratum, p.performance_result AS result,
           CASE WHEN p.performance_result IS NULL THEN 9
                WHEN NOT m.is_inverse THEN list_position(['performance_met', 'eligible_population_exclusion', 'eligible_population_exception', 'performance_not_met'], p.performance_result)
                ELSE list_position(['performance_not_met', 'eligible_population_exception', 'eligible_population_exclusion', 'performance_met'], p.performance_result)
           END AS result_rank
    FROM groups g
    JOIN m_measures m USING (measure_id)
    LEFT JOIN m_perf_match p
      ON p.claim_key = g.claim_key AND p.measure_id = g.measure_id
     AND p.stratum IS NOT DISTINCT FROM g.stratum AND p.option_group IS NOT DISTINCT FROM g.option_group
)
SELECT claim_key, measure_id, stratum, min_by(result, result_rank) AS result, min(result_rank) AS result_rank
FROM ranked
GROUP BY ALL;
