-- measure_instances: the compact instances (m_inst) with their names read back from the unit, measure, patient,
-- claim and instance-part tables. A view: the care-gap detail (tens of millions of rows on a big year) is decoded
-- and sorted once, when it is written, instead of being materialised twice. Rows come in (unit_idx, ms_idx,
-- person_idx, inst_ord) order = (source, level, tin, npi, measure_id, stratum, person_id, the instance's own part).
-- Every join is an equality on a column of m_inst: on expressions DuckDB misjudged the sizes and built its hash
-- table on the tens of millions of instances instead of on the small name tables.
CREATE OR REPLACE TEMP VIEW m_instances_named AS
SELECT {performance_year} AS performance_year, DATE '{period_start}' AS period_start, DATE '{period_end}' AS period_end,
       u.source, u.level, u.tin, u.npi, s.measure_id, s.stratum,
       -- counting_classes.py: the date (procedure, 30-day episode), the season (flu season), else the part's
       -- name: episode label (none: ''), visit line, facility event
       p.person_id || {instance_key} AS instance_key,
       s.counting_class, p.person_id, i.instance_date,
       CASE WHEN i.result_rank = 9 THEN NULL
            WHEN s.is_inverse THEN ['performance_not_met', 'eligible_population_exception', 'eligible_population_exclusion', 'performance_met'][i.result_rank]
            ELSE ['performance_met', 'eligible_population_exclusion', 'eligible_population_exception', 'performance_not_met'][i.result_rank]
       END AS result,
       k.claim_id AS decided_by_claim_id, i.decided_by_date, k.npi AS decided_by_npi,
       i.unit_idx AS _unit_idx, i.ms_idx AS _ms_idx, i.person_idx AS _person_idx, i.inst_ord AS _inst_ord
FROM m_inst i
JOIN m_units u USING (unit_idx)
JOIN m_ms s USING (ms_idx)
JOIN m_persons p USING (person_idx)
JOIN m_claim_keys k ON k.claim_idx = i.claim_idx
LEFT JOIN m_inst_parts t ON t.counting_class = s.counting_class AND t.inst_ord = i.inst_ord;
