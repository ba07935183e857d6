-- Episode of a diagnosis: claims sharing a qualifying diagnosis belong to one episode. Edges claim -> qualifying
-- diagnosis (a 'diagnosis' code of an option the claim is eligible through); episodes are the connected components,
-- labelled by their smallest diagnosis code (propagated by the engine until stable).
CREATE OR REPLACE TEMP TABLE m_ep_edges AS
SELECT DISTINCT u.part_key, u.claim_key AS node, h.code
FROM m_unit_claims u
JOIN m_elig e ON e.claim_key = u.claim_key AND e.measure_id = u.measure_id AND e.stratum IS NOT DISTINCT FROM u.stratum
JOIN m_dx_hits h ON h.claim_key = e.claim_key AND h.measure_id = e.measure_id
                AND h.eligibility_option = e.eligibility_option AND h.code_role = 'diagnosis'
WHERE u.counting_class = 'episode';

CREATE OR REPLACE TEMP TABLE m_ep_label AS
SELECT part_key, node, min(code) AS label FROM m_ep_edges GROUP BY ALL;
