"""The year's claims measure specifications, shaped for drawing claims.

Reads only the project's compiled tables (``ref.claims_*``, see schemas/reference_claims.py)
and builds small, integer-keyed tables (a handful of thousand rows) that turn a hash draw
into an equi-join:

- ``gen_option``: one row per targeted eligibility option: age, sex, how many procedure /
  diagnosis candidates it has and where they start, its additional procedure codes;
- ``gen_option_procedure`` / ``gen_place_of_service``: procedure codes each option accepts,
  with the places of service (and a modifier where the code requires one) that pass its lists;
- ``gen_diagnosis``: diagnosis and additional-diagnosis candidates of each option, minus its
  diagnosis exclusions and minus diagnosis-coded quality codes of the measure (those would
  turn every claim into an exclusion);
- ``gen_performance`` / ``gen_option_performance``: the performance options of each option's
  group by outcome, with their quality data codes (and modifier) in fixed columns.

Targeted: every measure of the year except those whose counting class needs facility events
(the generator writes no facility data). Options or performance options that cannot be
written as claim lines are dropped and counted by ``untargeted_summary``.
"""
from __future__ import annotations

import duckdb

from transforms.generate.claims import MAX_ADDITIONAL_PROCEDURES, MAX_QUALITY_CODES

# Places of service drawn when a procedure code lists none (office visits most often).
DEFAULT_PLACES_OF_SERVICE = ("11", "11", "11", "11", "11", "22", "19", "21", "23", "31", "32", "12", "02", "10")
RESULT_CODES = {"performance_met": 0, "performance_not_met": 1,
                "eligible_population_exclusion": 2, "eligible_population_exception": 3}


def build_option_tables(con: duckdb.DuckDBPyConnection, performance_year: int) -> None:
    py = int(performance_year)
    default_pos = "[" + ", ".join(f"'{p}'" for p in DEFAULT_PLACES_OF_SERVICE) + "]"
    results = " ".join(f"WHEN '{name}' THEN {code}" for name, code in RESULT_CODES.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_spec_option AS
        SELECT o.measure_id, o.eligibility_option, o.stratum, o.option_group,
               CAST(ceil(coalesce(o.min_age, 0)) AS INTEGER) AS min_age,
               CAST(floor(o.max_age) AS INTEGER) AS max_age,
               CASE o.sex_code WHEN 'M' THEN 'male' WHEN 'F' THEN 'female' END AS sex,
               o.diagnosis_code_count, o.additional_diagnosis_code_count, o.additional_procedure_code_count
        FROM ref.claims_eligibility_options o
        JOIN ref.claims_measures m USING (performance_year, measure_id)
        WHERE o.performance_year = {py} AND NOT m.needs_facility_events
    """)
    # Diagnosis-coded quality codes of a measure (exclusions such as hospice) must not be drawn as
    # the claim's qualifying diagnosis.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_spec_code AS
        SELECT c.measure_id, c.eligibility_option, c.code_role, c.code, c.modifiers,
               CASE WHEN len(c.places_of_service) > 0 THEN c.places_of_service
                    ELSE list_filter({default_pos}, lambda p: NOT list_contains(c.places_of_service_exclusions, p))
               END AS pos_choices
        FROM ref.claims_eligibility_codes c
        WHERE c.performance_year = {py}
          AND c.code_role IN ('procedure', 'additional_procedure', 'diagnosis', 'additional_diagnosis')
          AND NOT EXISTS (
              SELECT 1 FROM ref.claims_eligibility_codes x
              WHERE x.performance_year = c.performance_year AND x.measure_id = c.measure_id
                AND x.eligibility_option = c.eligibility_option AND x.code_role = 'diagnosis_exclusion'
                AND x.code = c.code AND c.code_role IN ('diagnosis', 'additional_diagnosis'))
          AND NOT EXISTS (
              SELECT 1 FROM ref.claims_performance_codes q
              WHERE q.performance_year = c.performance_year AND q.measure_id = c.measure_id
                AND q.code_kind = 'diagnosis' AND q.code = c.code AND c.code_role IN ('diagnosis', 'additional_diagnosis'))
          AND NOT (c.code_role = 'additional_diagnosis' AND EXISTS (
              SELECT 1 FROM ref.claims_eligibility_codes y
              WHERE y.performance_year = c.performance_year AND y.measure_id = c.measure_id
                AND y.eligibility_option = c.eligibility_option AND y.code_role = 'diagnosis' AND y.code = c.code))
    """)
    # An option is drawable when each requirement it states has a candidate left.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_option AS
        WITH counts AS (
            SELECT measure_id, eligibility_option,
                   count(*) FILTER (WHERE code_role = 'procedure' AND len(pos_choices) > 0) AS procedures,
                   count(*) FILTER (WHERE code_role = 'diagnosis') AS diagnoses,
                   count(*) FILTER (WHERE code_role = 'additional_diagnosis') AS additional_diagnoses,
                   list(struct_pack(code := code, modifier := modifiers[1]) ORDER BY code)
                       FILTER (WHERE code_role = 'additional_procedure') AS additional
            FROM gen_spec_code GROUP BY ALL
        ), drawable AS (
            SELECT o.*, c.procedures, c.diagnoses, c.additional_diagnoses, coalesce(c.additional, []) AS additional
            FROM gen_spec_option o JOIN counts c USING (measure_id, eligibility_option)
            WHERE c.procedures > 0
              AND (o.diagnosis_code_count = 0 OR c.diagnoses > 0)
              AND (o.additional_diagnosis_code_count = 0 OR c.additional_diagnoses > 0)
              AND o.additional_procedure_code_count = len(coalesce(c.additional, []))
              AND len(coalesce(c.additional, [])) <= {MAX_ADDITIONAL_PROCEDURES}
        )
        SELECT row_number() OVER (ORDER BY measure_id, eligibility_option) - 1 AS option_key,
               measure_id, eligibility_option, stratum, option_group, min_age, max_age, sex,
               procedures, diagnoses, additional_diagnoses, len(additional) AS additional_procedures,
               {", ".join(f"additional[{i}].code AS additional_code_{i}, additional[{i}].modifier AS additional_modifier_{i}"
                          for i in range(1, MAX_ADDITIONAL_PROCEDURES + 1))}
        FROM drawable
    """)
    # A claim for an option without a diagnosis requirement (screenings, visits) still carries a
    # diagnosis: one of the year's qualifying diagnoses of other options (the first code of each),
    # minus this option's exclusions and the measure's diagnosis-coded quality codes.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_background_diagnosis AS
        WITH pool AS (
            SELECT DISTINCT min(code) AS code FROM gen_spec_code WHERE code_role = 'diagnosis'
            GROUP BY measure_id, eligibility_option
        ), allowed AS (
            SELECT o.option_key, p.code FROM gen_option o CROSS JOIN pool p
            WHERE o.diagnoses = 0
              AND NOT EXISTS (SELECT 1 FROM ref.claims_eligibility_codes x
                              WHERE x.performance_year = {py} AND x.measure_id = o.measure_id
                                AND x.code_role = 'diagnosis_exclusion' AND x.code = p.code)
              AND NOT EXISTS (SELECT 1 FROM ref.claims_performance_codes q
                              WHERE q.performance_year = {py} AND q.measure_id = o.measure_id
                                AND q.code_kind = 'diagnosis' AND q.code = p.code)
        )
        SELECT option_key, row_number() OVER (PARTITION BY option_key ORDER BY code) - 1 AS background_rank,
               CASE WHEN len(code) > 3 THEN code[1:3] || '.' || code[4:] ELSE code END AS code,
               count(*) OVER (PARTITION BY option_key) AS backgrounds
        FROM allowed
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gen_option_procedure AS
        SELECT row_number() OVER (ORDER BY o.option_key, c.code) - 1 AS procedure_id, o.option_key,
               row_number() OVER (PARTITION BY o.option_key ORDER BY c.code) - 1 AS procedure_rank,
               c.code, c.modifiers[1] AS modifier, c.pos_choices, len(c.pos_choices) AS places_of_service
        FROM gen_option o JOIN gen_spec_code c USING (measure_id, eligibility_option)
        WHERE c.code_role = 'procedure' AND len(c.pos_choices) > 0
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gen_place_of_service AS
        SELECT procedure_id, CAST(generate_subscripts(pos_choices, 1) - 1 AS BIGINT) AS pos_rank,
               unnest(pos_choices) AS code
        FROM gen_option_procedure
    """)
    # ICD-10-CM written with its dot, as CMS lists it (the ingest removes it again).
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gen_diagnosis AS
        SELECT o.option_key, c.code_role AS role,
               row_number() OVER (PARTITION BY o.option_key, c.code_role ORDER BY c.code) - 1 AS diagnosis_rank,
               CASE WHEN len(c.code) > 3 THEN c.code[1:3] || '.' || c.code[4:] ELSE c.code END AS code
        FROM gen_option o JOIN gen_spec_code c USING (measure_id, eligibility_option)
        WHERE c.code_role IN ('diagnosis', 'additional_diagnosis')
    """)
    quality = ", ".join(f"codes[{i}].code AS quality_code_{i}, codes[{i}].modifier AS quality_modifier_{i}"
                        for i in range(1, MAX_QUALITY_CODES + 1))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_spec_performance AS
        SELECT p.measure_id, p.performance_option, p.stratum, p.option_group,
               CASE p.performance_result {results} END AS result_code,
               list(struct_pack(code := q.code, modifier := q.modifiers[1]) ORDER BY q.code_index)
                   FILTER (WHERE q.code_kind = 'procedure') AS codes,
               list(q.code ORDER BY q.code_index) FILTER (WHERE q.code_kind = 'diagnosis') AS diagnosis_codes
        FROM ref.claims_performance_options p
        JOIN ref.claims_performance_codes q USING (performance_year, measure_id, performance_option)
        WHERE p.performance_year = {py}
        GROUP BY ALL
        HAVING len(coalesce(codes, [])) <= {MAX_QUALITY_CODES} AND len(coalesce(diagnosis_codes, [])) <= 1
    """)
    # A performance option judges the eligibility options of its group (and stratum, where both name one).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_performance AS
        SELECT row_number() OVER (ORDER BY o.option_key, p.result_code, p.performance_option) - 1 AS perf_key,
               o.option_key, p.result_code, p.measure_id, p.performance_option,
               len(coalesce(p.codes, [])) AS quality_codes, {quality},
               CASE WHEN len(p.diagnosis_codes[1]) > 3
                    THEN p.diagnosis_codes[1][1:3] || '.' || p.diagnosis_codes[1][4:] ELSE p.diagnosis_codes[1] END
                   AS diagnosis_code
        FROM gen_option o JOIN gen_spec_performance p
          ON p.measure_id = o.measure_id AND coalesce(p.option_group, '') = coalesce(o.option_group, '')
         AND (p.stratum IS NULL OR o.stratum IS NULL OR p.stratum = o.stratum)
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gen_option_performance AS
        SELECT option_key, result_code, min(perf_key) AS first_perf_key, count(*) AS performances
        FROM gen_performance GROUP BY ALL
    """)


def targeted_measures(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT measure_id FROM gen_option ORDER BY 1").fetchall()]


def untargeted_summary(con: duckdb.DuckDBPyConnection, performance_year: int) -> list[tuple[str, str]]:
    """(measure_id, why) for each measure of the year the generator cannot target."""
    return con.execute(f"""
        SELECT m.measure_id,
               CASE WHEN m.needs_facility_events THEN 'needs facility events (' || coalesce(m.facility_event_type, '?') || ')'
                    ELSE 'no eligibility option can be written as a claim' END
        FROM ref.claims_measures m
        WHERE m.performance_year = {int(performance_year)}
          AND m.measure_id NOT IN (SELECT measure_id FROM gen_option)
        ORDER BY 1
    """).fetchall()
