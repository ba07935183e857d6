-- Counting levels: individual = TIN + rendering NPI; group = TIN, with instances re-formed over all the TIN's
-- claims (each claim result is repeated per level). part_key names one patient inside one
-- (level, source, unit, measure, stratum): a 64-bit hash, so later steps group on one integer.
CREATE OR REPLACE TEMP TABLE m_unit_claims AS
SELECT v.level, r.claim_key, c.person_id, c.dos, r.measure_id, r.stratum, m.counting_class, r.result, r.result_rank,
       hash(v.level, c.source, c.tin, CASE WHEN v.level = 'individual' THEN c.npi END, r.measure_id, r.stratum, c.person_id) AS part_key
FROM m_claim_results r
JOIN m_claims c USING (claim_key)
JOIN m_measures m USING (measure_id)
CROSS JOIN (VALUES {levels_values}) v(level)
-- flu season class: only January-March and October-December dates of service open an instance
WHERE m.counting_class <> 'flu_season' OR month(c.dos) IN (1, 2, 3, 10, 11, 12);
