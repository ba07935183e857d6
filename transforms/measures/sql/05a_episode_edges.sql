-- Episode of a diagnosis: claims sharing a qualifying diagnosis belong to one episode. Edges claim -> qualifying
-- diagnosis (a 'diagnosis' code of an option the claim is eligible through); episodes are the connected components,
-- labelled by their smallest diagnosis code (dx_idx follows code order; propagated by the engine until stable).
CREATE OR REPLACE TEMP TABLE m_ep_edges AS
SELECT DISTINCT u.part_key, u.claim_idx AS node, h.dx_idx AS code
FROM m_unit_claims u
JOIN m_elig e ON e.claim_idx = u.claim_idx AND e.ms_idx = u.ms_idx
JOIN m_dx_hits h ON h.claim_idx = e.claim_idx AND h.opt_idx = e.opt_idx AND h.code_role = 'diagnosis'
WHERE u.counting_class = 'episode';

CREATE OR REPLACE TEMP TABLE m_ep_label AS
SELECT part_key, node, min(code) AS label FROM m_ep_edges GROUP BY ALL;
