-- measure_results: counts per unit, measure and stratum; rates in percent; data completeness and case minimum
-- against the year's rules.
CREATE OR REPLACE TEMP TABLE m_results AS
SELECT {performance_year} AS performance_year, DATE '{period_start}' AS period_start, DATE '{period_end}' AS period_end,
       i.source, i.level, i.tin, i.npi, i.measure_id, i.stratum,
       CASE i.source WHEN 'claims' THEN 'claims' ELSE 'registry' END AS collection_type,
       m.is_inverse, m.is_high_priority, m.measure_type,
       count(*) AS eligible_population,
       count(*) FILTER (WHERE i.result = 'eligible_population_exclusion') AS eligible_population_exclusion,
       count(*) FILTER (WHERE i.result = 'eligible_population_exception') AS eligible_population_exception,
       count(*) FILTER (WHERE i.result = 'performance_met') AS performance_met,
       count(*) FILTER (WHERE i.result = 'performance_not_met') AS performance_not_met,
       100.0 * count(i.result) / count(*) AS reporting_rate,
       CASE WHEN count(*) FILTER (WHERE i.result IN ('performance_met', 'performance_not_met')) > 0
            THEN 100.0 * count(*) FILTER (WHERE i.result = 'performance_met')
                 / count(*) FILTER (WHERE i.result IN ('performance_met', 'performance_not_met')) END AS performance_rate,
       100.0 * count(i.result) / count(*) >= {data_completeness_percent} AS meets_data_completeness,
       count(*) >= {case_minimum} AS meets_case_minimum,
       TRUE AS computed, CAST(NULL AS VARCHAR) AS not_computed_reason
FROM m_instances i
JOIN m_measures m USING (measure_id)
GROUP BY ALL
{not_computed_union};
