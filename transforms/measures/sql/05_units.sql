-- Counting levels: individual = TIN + rendering NPI; group = TIN, with instances re-formed over all the TIN's
-- claims (the claim rows are repeated with unit_npi NULL). part_key names one patient inside one unit/measure/stratum.
CREATE OR REPLACE TEMP TABLE m_unit_claims AS
SELECT v.level, r.source, r.tin, CASE WHEN v.level = 'individual' THEN r.npi END AS unit_npi,
       r.npi AS claim_npi, r.claim_id, r.person_id, r.dos, r.measure_id, r.stratum, r.counting_class,
       r.result, r.result_rank,
       concat_ws('|', v.level, r.source, r.tin, CASE WHEN v.level = 'individual' THEN r.npi ELSE '' END,
                 r.measure_id, coalesce(r.stratum, ''), r.person_id) AS part_key
FROM m_claim_results r
CROSS JOIN (VALUES {levels_values}) v(level)
-- flu season class: only January-March and October-December dates of service open an instance
WHERE r.counting_class <> 'flu_season' OR month(r.dos) IN (1, 2, 3, 10, 11, 12);
