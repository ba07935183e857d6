-- measure_results: counts per unit, measure and stratum; rates in percent; data completeness and case minimum
-- against the year's rules. Results are counted by rank and named afterwards (rank 1 is met for a normal measure,
-- not met for an inverse one; 9 = no quality data code).
CREATE OR REPLACE TEMP TABLE m_results AS
WITH counts AS (
    SELECT unit_idx, ms_idx,
           count(*) AS eligible_population,
           count(*) FILTER (WHERE result_rank = 1) AS r1, count(*) FILTER (WHERE result_rank = 2) AS r2,
           count(*) FILTER (WHERE result_rank = 3) AS r3, count(*) FILTER (WHERE result_rank = 4) AS r4,
           count(*) FILTER (WHERE result_rank <> 9) AS reported
    FROM m_inst
    GROUP BY ALL
), named AS (
    SELECT u.source, u.level, u.tin, u.npi, s.measure_id, s.stratum, s.is_inverse, s.is_high_priority, s.measure_type,
           c.eligible_population, c.reported,
           CASE WHEN s.is_inverse THEN c.r3 ELSE c.r2 END AS eligible_population_exclusion,
           CASE WHEN s.is_inverse THEN c.r2 ELSE c.r3 END AS eligible_population_exception,
           CASE WHEN s.is_inverse THEN c.r4 ELSE c.r1 END AS performance_met,
           CASE WHEN s.is_inverse THEN c.r1 ELSE c.r4 END AS performance_not_met
    FROM counts c
    JOIN m_units u USING (unit_idx)
    JOIN m_ms s USING (ms_idx)
)
SELECT {performance_year} AS performance_year, DATE '{period_start}' AS period_start, DATE '{period_end}' AS period_end,
       source, level, tin, npi, measure_id, stratum,
       {collection_type} AS collection_type,  -- from the source registry (transforms/measures/registry.py)
       is_inverse, is_high_priority, measure_type,
       eligible_population, eligible_population_exclusion, eligible_population_exception,
       performance_met, performance_not_met,
       100.0 * reported / eligible_population AS reporting_rate,
       CASE WHEN performance_met + performance_not_met > 0
            THEN 100.0 * performance_met / (performance_met + performance_not_met) END AS performance_rate,
       100.0 * reported / eligible_population >= {data_completeness_percent} AS meets_data_completeness,
       eligible_population >= {case_minimum} AS meets_case_minimum,
       TRUE AS computed, CAST(NULL AS VARCHAR) AS not_computed_reason
FROM named
{not_computed_union};
