-- Counting levels: individual = TIN + rendering NPI; group = TIN, with instances re-formed over all the TIN's
-- claims (each claim result is repeated per level). part_key names one patient inside one counting unit, measure
-- and stratum, packed into one BIGINT: unit_idx * 2^40 + ms_idx * 2^28 + person_idx (the engine checks the
-- ranges), so later steps group and sort on one integer, and its order is the output key's order.
-- A view: the common classes stream from it straight into the instance pick.
CREATE OR REPLACE TEMP VIEW m_unit_claims_all AS
SELECT k.claim_idx, k.dos, k.person_idx, s.counting_class, k.ms_idx, k.result_rank, v.level,
       CAST(CASE WHEN v.level = 'individual' THEN k.individual_unit ELSE k.group_unit END AS BIGINT) * 1099511627776
       + CAST(k.ms_idx AS BIGINT) * 268435456 + k.person_idx AS part_key
FROM m_claim_results k
JOIN m_ms s USING (ms_idx)
CROSS JOIN (VALUES {levels_values}) v(level)
-- which dates of service open an instance (the flu season class: January-March and October-December);
-- the class-specific fragments come from transforms/measures/counting_classes.py
WHERE {opens_instance};

-- Classes whose instance depends on the patient's other claims (episodes, windows, second encounter) or on
-- lines and events (visit, facility): materialised, they are looked at several times.
CREATE OR REPLACE TEMP TABLE m_unit_claims AS
SELECT * FROM m_unit_claims_all
WHERE counting_class IN ({classes_with_own_step});
