-- One propagation step: a diagnosis takes the smallest label of its claims, a claim the smallest of its diagnoses.
CREATE OR REPLACE TEMP TABLE m_ep_label_next AS
WITH dx_label AS (
    SELECT e.part_key, e.code, min(l.label) AS label
    FROM m_ep_edges e JOIN m_ep_label l USING (part_key, node)
    GROUP BY ALL
)
SELECT e.part_key, e.node, min(d.label) AS label
FROM m_ep_edges e JOIN dx_label d USING (part_key, code)
GROUP BY ALL;
