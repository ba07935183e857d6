-- A line passes a code entry's modifier lists. Modifier convention: a line whose code carries a performance
-- modifier (1P/2P/3P/8P) matches only an entry that lists that modifier, for every year and every code role.
CREATE OR REPLACE MACRO m_modifiers_pass(line_mods, modifiers, modifier_exclusions) AS
    (len(modifiers) = 0 OR list_has_any(line_mods, modifiers))
    AND NOT list_has_any(line_mods, modifier_exclusions)
    AND len(list_intersect(list_distinct(list_filter(line_mods, lambda m: m IN ('1P', '2P', '3P', '8P'))), modifiers))
        = len(list_distinct(list_filter(line_mods, lambda m: m IN ('1P', '2P', '3P', '8P'))));

-- Completed months of age: a month counts once the day of the month of birth is reached (born the 30th is not
-- a month older on the 28th of February). Born 29 February: in a common year the birthday is reached on
-- 28 February, as CMS's claims calculation counts it (issue 14), not on 1 March.
CREATE OR REPLACE MACRO m_age_months(birth, on_date) AS
    (year(on_date) - year(birth)) * 12 + (month(on_date) - month(birth))
    - CASE WHEN day(on_date) < day(birth)
                AND NOT (month(birth) = 2 AND day(birth) = 29 AND month(on_date) = 2 AND day(on_date) = 28
                         AND NOT ((year(on_date) % 4 = 0 AND year(on_date) % 100 <> 0) OR year(on_date) % 400 = 0))
           THEN 1 ELSE 0 END;

-- A line's place of service and modifiers, as one key (02z_keys.sql checks that distinct ones never share it).
CREATE OR REPLACE MACRO m_line_profile(pos, m1, m2, m3, m4, m5) AS hash(pos, m1, m2, m3, m4, m5);

-- (claim_idx, ms_idx, option group) as one BIGINT: claim_idx < 2^38, ms_idx and og < 2^12 (the engine checks).
CREATE OR REPLACE MACRO m_match_key(claim_idx, ms_idx, og) AS
    CAST(claim_idx AS BIGINT) * 16777216 + CAST(ms_idx AS BIGINT) * 4096 + og;

CREATE OR REPLACE MACRO m_pos_pass(pos, places, exclusions) AS
    (len(places) = 0 OR coalesce(list_contains(places, pos), FALSE))
    AND NOT coalesce(list_contains(exclusions, pos), FALSE);

-- A line satisfies an eligibility code entry (procedure or additional procedure): place of service and modifier
-- rules. An unrestricted entry (no lists) passes every line without a performance modifier, so the list
-- functions run only for the few entries that have lists.
CREATE OR REPLACE MACRO m_line_meets_entry(line_plain, line_pos, line_mods, unrestricted, places, place_exclusions,
                                           modifiers, modifier_exclusions) AS
    CASE WHEN unrestricted THEN line_plain
         ELSE m_pos_pass(line_pos, places, place_exclusions) AND m_modifiers_pass(line_mods, modifiers, modifier_exclusions)
    END;

-- The year's claims specification (reference tables restricted to one performance year), with small integer
-- surrogate keys so the row-heavy steps join and group on integers, never on measure ids or option names.

-- One row per (measure, stratum) the year defines: ms_idx follows (measure_id, stratum) order, so ordering by it
-- orders by the output key.
CREATE OR REPLACE TEMP TABLE m_ms AS
SELECT CAST(row_number() OVER (ORDER BY s.measure_id, s.stratum NULLS FIRST) AS INTEGER) AS ms_idx,
       s.measure_id, s.stratum, m.counting_class, m.is_inverse, m.is_high_priority, m.measure_type,
       m.facility_event_type, m.facility_window_days
FROM (SELECT measure_id, stratum FROM ref.claims_eligibility_options WHERE performance_year = {performance_year}
      UNION
      SELECT measure_id, stratum FROM ref.claims_performance_options WHERE performance_year = {performance_year}) s
JOIN ref.claims_measures m ON m.performance_year = {performance_year} AND m.measure_id = s.measure_id;

CREATE OR REPLACE TEMP TABLE m_measures AS
SELECT * FROM ref.claims_measures WHERE performance_year = {performance_year};

-- option groups as integers (0 = none)
CREATE OR REPLACE TEMP TABLE m_option_groups AS
SELECT option_group, CAST(row_number() OVER (ORDER BY option_group) AS INTEGER) AS og
FROM (SELECT option_group FROM ref.claims_eligibility_options WHERE performance_year = {performance_year} AND option_group IS NOT NULL
      UNION
      SELECT option_group FROM ref.claims_performance_options WHERE performance_year = {performance_year} AND option_group IS NOT NULL);

-- One row per eligibility option: opt_idx identifies (measure_id, eligibility_option). Age at the date of service
-- in completed months (claims-measure-logic.md): min_months <= age < max_months_below, where an integer maxAge N
-- includes the whole year N ("75" = under 76 years) and minAge 0.5 is six months.
CREATE OR REPLACE TEMP TABLE m_elig_opts AS
SELECT CAST(row_number() OVER (ORDER BY o.measure_id, o.eligibility_option) AS INTEGER) AS opt_idx, o.*, s.ms_idx,
       coalesce(g.og, 0) AS og, s.counting_class,
       o.diagnosis_code_count + o.diagnosis_exclusion_code_count + o.additional_diagnosis_code_count > 0 AS needs_dx,
       o.diagnosis_code_count + o.diagnosis_exclusion_code_count + o.additional_diagnosis_code_count
       + o.additional_procedure_code_count > 0 AS needs_check,
       CAST(ceil(o.min_age * 12) AS INTEGER) AS min_months,
       CAST(CASE WHEN o.max_age = floor(o.max_age) THEN (o.max_age + 1) * 12 ELSE floor(o.max_age * 12) + 1 END AS INTEGER)
           AS max_months_below
FROM ref.claims_eligibility_options o
JOIN m_ms s ON s.measure_id = o.measure_id AND s.stratum IS NOT DISTINCT FROM o.stratum
LEFT JOIN m_option_groups g ON g.option_group = o.option_group
WHERE o.performance_year = {performance_year};

-- The year's line restrictions: each distinct set of place-of-service and modifier lists of a line code entry
-- (eligibility procedure and additional procedure codes; performance procedure codes, which have modifier lists
-- only). restr_bit numbers them from 0: a line's pass_mask has that bit on when the line passes the restriction
-- (02z_keys.sql works it out once per distinct place of service and modifiers of the input, with
-- m_line_meets_entry), so the row-heavy joins test a bit instead of evaluating list rules per line and entry.
-- unrestricted: no place-of-service and no modifier lists, so a line passes exactly when it carries no
-- performance modifier (the modifier convention).
CREATE OR REPLACE TEMP TABLE m_restrictions AS
SELECT CAST(row_number() OVER (ORDER BY places_of_service, places_of_service_exclusions, modifiers, modifier_exclusions) - 1
            AS INTEGER) AS restr_bit, *,
       len(places_of_service) = 0 AND len(places_of_service_exclusions) = 0
       AND len(modifiers) = 0 AND len(modifier_exclusions) = 0 AS unrestricted
FROM (SELECT places_of_service, places_of_service_exclusions, modifiers, modifier_exclusions
      FROM ref.claims_eligibility_codes
      WHERE performance_year = {performance_year} AND code_role IN ('procedure', 'additional_procedure')
      UNION
      SELECT []::VARCHAR[], []::VARCHAR[], modifiers, modifier_exclusions
      FROM ref.claims_performance_codes WHERE performance_year = {performance_year} AND code_kind = 'procedure');

CREATE OR REPLACE TEMP TABLE m_elig_codes AS
SELECT o.opt_idx, o.ms_idx, o.og, o.needs_check, o.min_months, o.max_months_below, o.sex_code, c.*, r.restr_bit
FROM ref.claims_eligibility_codes c
JOIN m_elig_opts o USING (measure_id, eligibility_option)
LEFT JOIN m_restrictions r ON c.code_role IN ('procedure', 'additional_procedure')
     AND r.places_of_service = c.places_of_service AND r.places_of_service_exclusions = c.places_of_service_exclusions
     AND r.modifiers = c.modifiers AND r.modifier_exclusions = c.modifier_exclusions
WHERE c.performance_year = {performance_year};

-- One row per performance option. result_rank: 1 is the most advantageous result (claims-measure-logic.md
-- "Most advantageous result"): normal met > exclusion > exception > not met; inverse not met > exception >
-- exclusion > met. full_mask has one bit per code the option lists (all must be on the claim).
CREATE OR REPLACE TEMP TABLE m_perf_opts AS
SELECT CAST(row_number() OVER (ORDER BY o.measure_id, o.performance_option) AS INTEGER) AS popt_idx, o.*, s.ms_idx,
       coalesce(g.og, 0) AS og,
       CAST(CASE WHEN NOT s.is_inverse
                 THEN list_position(['performance_met', 'eligible_population_exclusion', 'eligible_population_exception', 'performance_not_met'], o.performance_result)
                 ELSE list_position(['performance_not_met', 'eligible_population_exception', 'eligible_population_exclusion', 'performance_met'], o.performance_result)
            END AS TINYINT) AS result_rank
FROM ref.claims_performance_options o
JOIN m_ms s ON s.measure_id = o.measure_id AND s.stratum IS NOT DISTINCT FROM o.stratum
LEFT JOIN m_option_groups g ON g.option_group = o.option_group
WHERE o.performance_year = {performance_year};

-- (performance codes: the modifier rules only; their places_of_service are not a matching rule)
CREATE OR REPLACE TEMP TABLE m_perf_codes AS
SELECT o.popt_idx, c.*, o.code_count, r.restr_bit
FROM ref.claims_performance_codes c
JOIN m_perf_opts o USING (measure_id, performance_option)
LEFT JOIN m_restrictions r ON c.code_kind = 'procedure' AND len(r.places_of_service) = 0
     AND len(r.places_of_service_exclusions) = 0 AND r.modifiers = c.modifiers AND r.modifier_exclusions = c.modifier_exclusions
WHERE c.performance_year = {performance_year};

-- Codes the year's measures look at: lines and diagnoses with other codes never matter, so they are dropped
-- while the inputs are read. dx_idx follows code order (episode labels are the smallest code of the episode).
CREATE OR REPLACE TEMP TABLE m_line_codes AS
SELECT code FROM m_elig_codes WHERE code_role IN ('procedure', 'additional_procedure')
UNION SELECT code FROM m_perf_codes WHERE code_kind = 'procedure';
CREATE OR REPLACE TEMP TABLE m_dx_codes AS
SELECT code, CAST(row_number() OVER (ORDER BY code) AS INTEGER) AS dx_idx
FROM (SELECT code FROM m_elig_codes WHERE code_role IN ('diagnosis', 'diagnosis_exclusion', 'additional_diagnosis')
      UNION SELECT code FROM m_perf_codes WHERE code_kind = 'diagnosis');
