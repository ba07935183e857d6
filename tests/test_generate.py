"""The synthetic data generator (`mips generate`, transforms/generate).

What it promises: the same seed, size and year give identical files; exactly the requested
number of claim lines; every row valid under the input contracts unless bad rows are asked
for; TINs of every size class; and claims whose codes come from the year's compiled claims
specifications, so measures are met, not met, excluded, excepted and left unreported.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mips.cli import main
from schemas.inputs import CONTRACTS
from transforms import ingest
from transforms.generate import ENCOUNTER_TABLES, build_synthetic_inputs
from transforms.generate.entities import SMALL_PRACTICE_MAX
from transforms.reference import attach_reference

YEAR = 2024
LINES = 4000
SEED = 11
ALL_TABLES = ("medical_claim", "eligibility", "clinician_roster", "pi_input", "ia_input", "cost_input",
              "patient", "encounter", "condition", "procedure")


def npi_is_valid(npi: str) -> bool:
    """Independent Luhn check: '80840' + first nine digits, check digit = last digit."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):  # double every second digit from the right, starting with the rightmost
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


def generate(tmp: Path, *extra: str, lines: int = LINES, seed: int = SEED, year: int = YEAR) -> Path:
    out = tmp / f"out_{year}_{lines}_{seed}_{'_'.join(e.strip('-') for e in extra)}"
    assert main(["generate", "--performance-year", str(year), "--claim-lines", str(lines), "--seed", str(seed),
                 "--output", str(out), *extra]) == 0
    return out


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("gen"))


@pytest.fixture(scope="module")
def con(sample) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for name in ALL_TABLES:
        c.execute(f"CREATE VIEW {name} AS SELECT * FROM read_csv('{sample / (name + '.csv')}', all_varchar=true)")
    attach_reference(c)
    return c


@pytest.fixture(scope="module")
def built() -> duckdb.DuckDBPyConnection:
    """The generator's own tables (gen_claim knows each claim's measure and drawn result)."""
    c = duckdb.connect()
    attach_reference(c)
    build_synthetic_inputs(c, performance_year=YEAR, claim_lines=LINES, seed=SEED)
    return c


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


# ---------------------------------------------------------------- determinism and sizes

def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path, sample):
    again = generate(tmp_path)
    for name in ALL_TABLES:
        assert (again / f"{name}.csv").read_bytes() == (sample / f"{name}.csv").read_bytes(), name
    other = generate(tmp_path, seed=SEED + 1)
    assert (other / "medical_claim.csv").read_bytes() != (sample / "medical_claim.csv").read_bytes()


def test_parquet_holds_the_same_claim_lines_as_csv(tmp_path, sample):
    # Medicare claims do not depend on the format or on the EHR extract being written.
    out = generate(tmp_path, "--format", "parquet", "--no-encounters")
    c = duckdb.connect()
    cols = "claim_id, CAST(claim_line_number AS VARCHAR), hcpcs_code, rendering_npi, CAST(claim_line_start_date AS VARCHAR)"
    differing = c.execute(f"""
        SELECT count(*) FROM (
            (SELECT {cols} FROM read_parquet('{out / 'medical_claim.parquet'}')
             EXCEPT ALL SELECT {cols} FROM read_csv('{sample / 'medical_claim.csv'}', all_varchar=true))
            UNION ALL
            (SELECT {cols} FROM read_csv('{sample / 'medical_claim.csv'}', all_varchar=true)
             EXCEPT ALL SELECT {cols} FROM read_parquet('{out / 'medical_claim.parquet'}')))""").fetchall()[0][0]
    assert differing == 0
    assert not (out / "encounter.parquet").exists()  # --no-encounters writes no EHR extract


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.integers(min_value=1, max_value=1500), seed=st.integers(min_value=0, max_value=10**6))
def test_exactly_the_requested_claim_lines_for_any_size_and_seed(lines, seed):
    # Invariant: the claim crossing N is cut, so the file has N lines; claim ids stay unique per
    # claim and line numbers run 1..k within each claim.
    c = duckdb.connect()
    attach_reference(c)
    g = build_synthetic_inputs(c, performance_year=YEAR, claim_lines=lines, seed=seed, encounters=False)
    view = g.tables["medical_claim"]
    assert c.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0] == lines
    bad = c.execute(f"""SELECT count(*) FROM (SELECT claim_id, max(claim_line_number) AS k, count(*) AS n,
                                              count(DISTINCT claim_line_number) AS d FROM {view} GROUP BY 1)
                        WHERE k <> n OR d <> n""").fetchall()[0][0]
    assert bad == 0


def test_printed_summary_names_each_file_with_its_rows(tmp_path, capsys):
    out = generate(tmp_path, "--no-encounters", lines=300)
    printed = capsys.readouterr().out
    assert f"{out / 'medical_claim.csv'}  300 rows" in printed
    assert "person" not in printed.replace("performance", "")  # no patient data in the summary


# ---------------------------------------------------------------- contracts

def test_every_file_passes_validation_with_nothing_rejected(sample):
    # Bad rows are off by default: the project's own ingest must accept every row of every file.
    c = duckdb.connect()
    results = ingest.ingest_inputs(c, {name: sample / f"{name}.csv" for name in ALL_TABLES})
    assert {r.table_name: r.rejected_rows for r in results} == {name: 0 for name in ALL_TABLES}
    assert all(r.input_rows > 0 for r in results)


def test_columns_are_exactly_the_contracts(sample):
    for name in ALL_TABLES:
        header = (sample / f"{name}.csv").read_text().splitlines()[0].split(",")
        assert header == list(CONTRACTS[name].schema.columns), name


def test_npis_tins_dates_and_code_shapes(con):
    npis = [r[0] for r in rows(con, "SELECT DISTINCT rendering_npi FROM medical_claim UNION SELECT npi FROM clinician_roster")]
    assert npis and all(npi_is_valid(n) for n in npis)
    assert rows(con, "SELECT count(*) FROM clinician_roster WHERE NOT regexp_full_match(tin, '\\d{9}')")[0][0] == 0
    # every date of service inside the performance year
    assert rows(con, f"""SELECT min(claim_line_start_date), max(claim_line_start_date) FROM medical_claim""")[0] >= (f"{YEAR}-01-01",)
    assert rows(con, "SELECT max(claim_line_start_date) FROM medical_claim")[0][0] <= f"{YEAR}-12-31"
    assert rows(con, "SELECT max(encounter_start_date), min(encounter_start_date) FROM encounter")[0][1] >= f"{YEAR}-01-01"
    shapes = rows(con, """
        SELECT count(*) FILTER (WHERE NOT regexp_full_match(hcpcs_code, '\\d{5}|\\d{4}[FTU]|[A-Z]\\d{4}')),
               count(*) FILTER (WHERE NOT regexp_full_match(place_of_service_code, '\\d{2}')),
               count(*) FILTER (WHERE hcpcs_modifier_1 IS NOT NULL AND NOT regexp_full_match(hcpcs_modifier_1, '[0-9A-Z]{2}')),
               count(*) FILTER (WHERE diagnosis_code_1 IS NOT NULL
                                AND NOT regexp_full_match(diagnosis_code_1, '[A-Z][0-9][0-9A-Z](\\.[0-9A-Z]{1,4})?')),
               count(*) FILTER (WHERE payer <> 'medicare')
        FROM medical_claim""")[0]
    assert shapes == (0, 0, 0, 0, 0)


def test_claims_are_consistent_and_people_plausible(con):
    # A claim keeps one person, NPI, TIN and date on every line; 1-4 lines mostly (PY2024 has no
    # option with more than one additional procedure and two quality codes).
    assert rows(con, """SELECT count(*) FROM (SELECT claim_id FROM medical_claim GROUP BY 1
                        HAVING count(DISTINCT rendering_npi) > 1 OR count(DISTINCT billing_tin) > 1
                            OR count(DISTINCT person_id) > 1 OR count(DISTINCT claim_line_start_date) > 1)""")[0][0] == 0
    assert rows(con, "SELECT max(n) FROM (SELECT count(*) AS n FROM medical_claim GROUP BY claim_id)")[0][0] <= 4
    # eligibility spans cover the year; ages 0-95 with most 18-90
    ages = rows(con, f"""
        SELECT min(age), max(age), avg(CASE WHEN age BETWEEN 18 AND 90 THEN 1.0 ELSE 0 END),
               count(*) FILTER (WHERE CAST(enrollment_start_date AS DATE) > DATE '{YEAR}-01-01'
                                 OR coalesce(CAST(enrollment_end_date AS DATE), DATE '9999-12-31') < DATE '{YEAR}-12-31')
        FROM (SELECT *, date_diff('year', CAST(birth_date AS DATE), DATE '{YEAR}-01-01') AS age FROM eligibility)""")[0]
    assert ages[0] >= 0 and ages[1] <= 96 and ages[2] > 0.8
    # every span covers the whole year (babies are born before it: age on January 1 is at least 0)
    assert ages[3] == 0
    assert {r[0] for r in rows(con, "SELECT DISTINCT payer FROM encounter")} == {"medicare", "commercial", "medicaid"}
    assert {r[0] for r in rows(con, "SELECT DISTINCT gender FROM eligibility")} == {"male", "female"}


def test_tins_of_every_size(con):
    # solo (1 clinician), small (2..15) and large (> 15) practices; the roster's small_practice flag agrees.
    sizes = rows(con, "SELECT tin, count(*) AS n, bool_and(small_practice = 'true') FROM clinician_roster GROUP BY 1")
    assert any(n == 1 for _, n, _ in sizes)
    assert any(2 <= n <= SMALL_PRACTICE_MAX for _, n, _ in sizes)
    assert any(n > SMALL_PRACTICE_MAX for _, n, _ in sizes)
    assert all(flag == (n <= SMALL_PRACTICE_MAX) for _, n, flag in sizes)
    # every claim's NPI/TIN pair is on the roster
    assert rows(con, """SELECT count(*) FROM (SELECT DISTINCT rendering_npi, billing_tin FROM medical_claim) m
                        ANTI JOIN clinician_roster r ON r.npi = m.rendering_npi AND r.tin = m.billing_tin""")[0][0] == 0


def test_pi_ia_cost_ids_come_from_the_year_catalog(con):
    assert rows(con, f"""SELECT count(*) FROM pi_input p ANTI JOIN ref.pi_measures m
                         ON m.measure_id = p.measure_id AND m.performance_year = {YEAR}""")[0][0] == 0
    assert rows(con, f"""SELECT count(*) FROM ia_input p ANTI JOIN ref.ia_activities m
                         ON m.activity_id = p.activity_id AND m.performance_year = {YEAR}""")[0][0] == 0
    assert rows(con, f"""SELECT count(*) FROM cost_input p ANTI JOIN ref.cost_measures m
                         ON m.measure_id = p.measure_id AND m.performance_year = {YEAR}""")[0][0] == 0
    assert rows(con, "SELECT count(DISTINCT tin) FROM ia_input")[0][0] == rows(con, "SELECT count(DISTINCT tin) FROM clinician_roster")[0][0]


# ---------------------------------------------------------------- codes from the compiled specifications

def _claim_codes(con) -> str:
    """One row per claim: its line codes (with modifier) and diagnoses without dots."""
    return """(SELECT claim_id, list(hcpcs_code) AS codes, list(hcpcs_code || coalesce('-' || hcpcs_modifier_1, '')) AS coded,
                      list(DISTINCT replace(diagnosis_code_1, '.', '')) || list(DISTINCT replace(diagnosis_code_2, '.', '')) AS dx,
                      any_value(place_of_service_code) AS pos
               FROM medical_claim GROUP BY claim_id)"""


@pytest.mark.parametrize("measure_id", ["001", "236"])
def test_claims_carry_the_measures_eligibility_and_quality_codes_for_every_result(con, measure_id):
    # Claims eligible for the measure: a procedure code of an option and (001, 236) one of its diagnoses.
    eligible = f"""
        WITH c AS {_claim_codes(con)}
        SELECT DISTINCT c.* FROM c
        JOIN ref.claims_eligibility_codes p ON p.performance_year = {YEAR} AND p.measure_id = '{measure_id}'
             AND p.code_role = 'procedure' AND list_contains(c.codes, p.code)
        JOIN ref.claims_eligibility_codes d ON d.performance_year = {YEAR} AND d.measure_id = '{measure_id}'
             AND d.eligibility_option = p.eligibility_option AND d.code_role = 'diagnosis' AND list_contains(c.dx, d.code)"""
    assert rows(con, f"SELECT count(*) FROM ({eligible})")[0][0] >= 10
    # Each result appears through a performance option's codes (every code of the option on the claim,
    # with the modifier it lists); and some eligible claims carry no quality data code of the measure.
    by_result = dict(rows(con, f"""
        WITH e AS ({eligible}),
        opt AS (SELECT o.performance_option, o.performance_result,
                       list(q.code || CASE WHEN len(q.modifiers) > 0 THEN '-' || q.modifiers[1] ELSE '' END) AS need
                FROM ref.claims_performance_options o JOIN ref.claims_performance_codes q USING (performance_year, measure_id, performance_option)
                WHERE o.performance_year = {YEAR} AND o.measure_id = '{measure_id}' AND q.code_kind = 'procedure'
                GROUP BY ALL)
        SELECT performance_result, count(DISTINCT claim_id) FROM e JOIN opt ON list_has_all(e.coded, opt.need) GROUP BY 1"""))
    expected = {r[0] for r in rows(con, f"""SELECT DISTINCT performance_result FROM ref.claims_performance_options
                                            WHERE performance_year = {YEAR} AND measure_id = '{measure_id}'""")}
    assert set(by_result) == expected and all(n > 0 for n in by_result.values())
    qdcs = f"""SELECT list(code) FROM ref.claims_performance_codes WHERE performance_year = {YEAR} AND measure_id = '{measure_id}'"""
    unreported = rows(con, f"SELECT count(*) FROM ({eligible}) e WHERE NOT list_has_any(e.codes, ({qdcs}))")[0][0]
    assert unreported > 0


def test_every_line_code_and_diagnosis_is_in_the_years_specifications(con):
    # Procedure and quality data code lines come from the compiled tables of PY2024 only.
    spec_codes = f"""SELECT code FROM ref.claims_eligibility_codes WHERE performance_year = {YEAR}
                     UNION SELECT code FROM ref.claims_performance_codes WHERE performance_year = {YEAR}"""
    assert rows(con, f"SELECT count(*) FROM medical_claim WHERE hcpcs_code NOT IN ({spec_codes})")[0][0] == 0
    assert rows(con, f"SELECT count(*) FROM procedure WHERE source_code NOT IN ({spec_codes})")[0][0] == 0
    assert rows(con, f"""SELECT count(*) FROM condition WHERE replace(source_code, '.', '') NOT IN ({spec_codes})""")[0][0] == 0
    # ICD-10-CM written as CMS lists it, with the dot after the category
    assert rows(con, "SELECT count(*) FROM medical_claim WHERE length(diagnosis_code_1) > 3 AND diagnosis_code_1[4] <> '.'")[0][0] == 0


def test_each_claim_fits_its_option_age_sex_and_place_of_service(built):
    # Age at the date of service within [min_age, max_age] (max inclusive, "under max+1"), the
    # option's sex, and a place of service the procedure code accepts.
    misfits = built.execute(f"""
        SELECT count(*) FROM gen_claim c
        JOIN gen_option o USING (option_key)
        JOIN gen_person p ON p.person_id = c.person_id
        WHERE date_diff('year', p.birth_date, c.service_date)
              - CASE WHEN strftime(c.service_date, '%m%d') < strftime(p.birth_date, '%m%d') THEN 1 ELSE 0 END
              NOT BETWEEN o.min_age AND coalesce(o.max_age, 200)
           OR (o.sex IS NOT NULL AND o.sex <> p.sex)""").fetchall()[0][0]
    assert misfits == 0
    bad_pos = built.execute(f"""
        SELECT count(*) FROM gen_claim c
        JOIN gen_option o USING (option_key)
        JOIN ref.claims_eligibility_codes e ON e.performance_year = {YEAR} AND e.measure_id = o.measure_id
             AND e.eligibility_option = o.eligibility_option AND e.code_role = 'procedure' AND e.code = c.procedure_code
        WHERE list_contains(e.places_of_service_exclusions, c.place_of_service_code)
           OR (len(e.places_of_service) > 0 AND NOT list_contains(e.places_of_service, c.place_of_service_code))""").fetchall()[0][0]
    assert bad_pos == 0


def test_outcome_mix(built):
    # Drawn shares: met 45%, not met 20%, exclusion 7%, exception 8%, none 20% (a result a measure
    # lacks, e.g. no exception option, falls back to none). With ~2,000 claims each is present.
    mix = dict(built.execute("SELECT coalesce(CAST(result_code AS VARCHAR), 'none'), count(*) FROM gen_claim GROUP BY 1").fetchall())
    assert set(mix) == {"0", "1", "2", "3", "none"}
    total = sum(mix.values())
    assert 0.35 < mix["0"] / total < 0.55 and 0.15 < mix["none"] / total < 0.40


@pytest.mark.parametrize("year", range(2018, 2026))
def test_every_year_targets_all_but_facility_measures(tmp_path, year):
    # Issue 3: every measure of every year runs on generated data; each targeted measure gets
    # claims. Measures needing facility events are the only ones left out.
    c = duckdb.connect()
    attach_reference(c)
    g = build_synthetic_inputs(c, performance_year=year, claim_lines=3000, seed=year, encounters=False)
    all_measures = {r[0] for r in c.execute(
        f"SELECT measure_id FROM ref.claims_measures WHERE performance_year = {year}").fetchall()}
    facility = {r[0] for r in c.execute(
        f"SELECT measure_id FROM ref.claims_measures WHERE performance_year = {year} AND needs_facility_events").fetchall()}
    assert set(g.targeted_measures) == all_measures - facility
    assert {m for m, _ in g.untargeted_measures} == facility
    with_claims = {r[0] for r in c.execute(
        "SELECT DISTINCT measure_id FROM gen_claim WHERE population = 'medicare'").fetchall()}
    assert with_claims == set(g.targeted_measures)


# ---------------------------------------------------------------- bad rows on purpose, bad arguments

def test_bad_rows_are_rejected_and_stay_under_the_threshold(tmp_path):
    out = generate(tmp_path, "--bad-rows-percent", "2", lines=3000)
    c = duckdb.connect()
    results = ingest.ingest_inputs(c, {name: out / f"{name}.csv" for name in ALL_TABLES})
    spoiled = {r.table_name: r for r in results}
    for name in ("medical_claim", "eligibility", "patient", "encounter", "condition", "procedure"):
        assert 0 < spoiled[name].rejected_rows < 0.05 * spoiled[name].input_rows, name
    # ~2% of 3,000 lines spoiled one way each: a duplicate line adds a row, so the file has more than 3,000
    assert spoiled["medical_claim"].input_rows > 3000
    rules = {r[0] for r in c.execute("SELECT DISTINCT rule FROM _rejects WHERE table_name = 'medical_claim'").fetchall()}
    assert {"npi_check_digit", "iso_date"} <= rules and any("duplicate" in r or "unique" in r for r in rules)
    assert any("gender" in r[0] for r in c.execute("SELECT DISTINCT rule FROM _rejects WHERE table_name = 'eligibility'").fetchall())


@pytest.mark.parametrize("argv, message", [
    (["--performance-year", "2017", "--claim-lines", "10"], "no claims measure specifications for performance year 2017"),
    (["--performance-year", "2024", "--claim-lines", "0"], "--claim-lines must be at least 1"),
    (["--performance-year", "2024", "--claim-lines", "10", "--bad-rows-percent", "60"], "--bad-rows-percent"),
])
def test_bad_arguments_stop_with_one_line(tmp_path, capsys, argv, message):
    assert main(["generate", *argv, "--output", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_encounter_tables_only_with_encounters(tmp_path):
    out = generate(tmp_path, "--no-encounters", lines=200)
    assert not any((out / f"{name}.csv").exists() for name in ENCOUNTER_TABLES)
    assert (out / "medical_claim.csv").exists()
    c = duckdb.connect()
    assert c.execute(f"SELECT DISTINCT payer FROM read_csv('{out / 'eligibility.csv'}')").fetchall() == [("medicare",)]


def test_dates_are_iso(sample):
    first = (sample / "medical_claim.csv").read_text().splitlines()[1].split(",")
    assert date.fromisoformat(first[4]).year == YEAR


def test_files_come_out_in_key_order(con):
    # Rows are written in claim and line order without a sort (see claims._lines_from); a file out
    # of order would also make the output depend on thread timing.
    for table, key in [("medical_claim", "claim_id, CAST(claim_line_number AS INTEGER)"),
                       ("encounter", "encounter_id"), ("condition", "encounter_id, condition_id"),
                       ("procedure", "encounter_id, CAST(split_part(procedure_id, '-P', 2) AS INTEGER)"),
                       ("eligibility", "person_id"), ("clinician_roster", "tin, npi")]:
        out_of_order = rows(con, f"""SELECT count(*) FROM (SELECT ({key}) AS k, lag(({key})) OVER () AS previous FROM {table})
                                     WHERE k < previous""")[0][0]
        assert out_of_order == 0, table


def test_measure_engine_finds_every_targeted_measure_in_generated_data(sample):
    # Issue 3: "each measure the generator targets has a non-zero eligible population", from
    # claims and from encounters, with met and not-met results (the generator draws met 45%,
    # not met 20% of claims, so ~4,000 lines give every measure both).
    from transforms.measures import compute_measures

    c = duckdb.connect()
    ingest.ingest_inputs(c, {name: sample / f"{name}.csv" for name in ALL_TABLES})
    compute_measures(c, performance_year=YEAR, period_start=date(YEAR, 1, 1), period_end=date(YEAR, 12, 31))
    found = c.execute("""SELECT source, measure_id, sum(eligible_population), sum(performance_met), sum(performance_not_met)
                         FROM measure_results WHERE level = 'individual' GROUP BY ALL""").fetchall()
    targeted = {r[0] for r in c.execute(f"""SELECT measure_id FROM ref.claims_measures
                                            WHERE performance_year = {YEAR} AND NOT needs_facility_events""").fetchall()}
    for source in ("claims", "encounters"):
        counts = {m: (ep, met, not_met) for s, m, ep, met, not_met in found if s == source}
        assert set(counts) >= targeted, source
        assert all(ep > 0 and met > 0 and not_met > 0 for m, (ep, met, not_met) in counts.items() if m in targeted), source


def _tiny_reference(con) -> None:
    """One claims measure '999' of PY2024 with one eligibility option, and a facility measure '998'.

    Option 1: women 18-75; diagnosis E11.9 or E11.65, but E11.65 is also a diagnosis exclusion, so
    only E11.9 can be drawn; procedure 99213 anywhere but the office (POS 11 excluded).
    Performance options (group 00): met = 3044F; not met = 3044F with 8P; exclusion = diagnosis
    Z51.5 (hospice, a diagnosis-coded quality code); exception = G9999 with 1P.
    """
    con.execute("CREATE SCHEMA ref")
    con.execute("""CREATE TABLE ref.claims_measures AS SELECT * FROM (VALUES
        (2024, '999', false, NULL), (2024, '998', true, 'inpatient_discharge'))
        t(performance_year, measure_id, needs_facility_events, facility_event_type)""")
    con.execute("""CREATE TABLE ref.claims_eligibility_options AS SELECT 2024 AS performance_year, '999' AS measure_id,
        1 AS eligibility_option, NULL::VARCHAR AS stratum, '00' AS option_group, 18.0 AS min_age, 75.0 AS max_age,
        'F' AS sex_code, 2 AS diagnosis_code_count, 1 AS diagnosis_exclusion_code_count,
        0 AS additional_diagnosis_code_count, 1 AS procedure_code_count, 0 AS additional_procedure_code_count""")
    con.execute("""CREATE TABLE ref.claims_eligibility_codes AS SELECT 2024 AS performance_year, '999' AS measure_id,
        1 AS eligibility_option, code_role, code, CAST(pos AS VARCHAR[]) AS places_of_service,
        CAST(pos_x AS VARCHAR[]) AS places_of_service_exclusions, CAST([] AS VARCHAR[]) AS modifiers,
        CAST([] AS VARCHAR[]) AS modifier_exclusions
        FROM (VALUES ('diagnosis', 'E119', [], []), ('diagnosis', 'E1165', [], []),
                     ('diagnosis_exclusion', 'E1165', [], []), ('procedure', '99213', [], ['11'])) t(code_role, code, pos, pos_x)""")
    con.execute("""CREATE TABLE ref.claims_performance_options AS SELECT 2024 AS performance_year, '999' AS measure_id,
        performance_option, NULL::VARCHAR AS stratum, '00' AS option_group, performance_result
        FROM (VALUES (1, 'performance_met'), (2, 'performance_not_met'), (3, 'eligible_population_exclusion'),
                     (4, 'eligible_population_exception')) t(performance_option, performance_result)""")
    con.execute("""CREATE TABLE ref.claims_performance_codes AS SELECT 2024 AS performance_year, '999' AS measure_id,
        performance_option, 1 AS code_index, code, code_kind, CAST(mods AS VARCHAR[]) AS modifiers
        FROM (VALUES (1, '3044F', 'procedure', []), (2, '3044F', 'procedure', ['8P']), (3, 'Z515', 'diagnosis', []),
                     (4, 'G9999', 'procedure', ['1P'])) t(performance_option, code, code_kind, mods)""")
    con.execute("""CREATE TABLE ref.pi_measures AS SELECT 2024 AS performance_year, 'PI_EP_1' AS measure_id,
        'proportion' AS metric_type, false AS is_exclusion, NULL::VARCHAR AS exclusion_measure_ids,
        NULL::VARCHAR AS substitutes, 'mips' AS allowed_programs""")
    con.execute("CREATE TABLE ref.ia_activities AS SELECT 2024 AS performance_year, 'IA_EPA_1' AS activity_id, 'mips' AS allowed_programs")
    con.execute("CREATE TABLE ref.cost_measures AS SELECT 2024 AS performance_year, 'COST_X_1' AS measure_id, 'mips' AS allowed_programs")
    con.execute("""CREATE TABLE ref.cost_national_averages AS SELECT 2024 AS performance_year, 'COST_X_1' AS measure_id,
        'group' AS level, 5000.0 AS national_average""")


def test_a_hand_made_specification_decides_every_code(tmp_path):
    c = duckdb.connect()
    _tiny_reference(c)
    g = build_synthetic_inputs(c, performance_year=2024, claim_lines=400, seed=5, encounters=False)
    assert g.targeted_measures == ["999"]
    assert g.untargeted_measures == [("998", "needs facility events (inpatient_discharge)")]
    claims = c.execute(f"""
        SELECT claim_id, list(hcpcs_code || coalesce('-' || hcpcs_modifier_1, '') ORDER BY claim_line_number) AS lines,
               any_value(diagnosis_code_1) AS dx1, any_value(diagnosis_code_2) AS dx2, any_value(place_of_service_code) AS pos,
               any_value(person_id) AS person, any_value(claim_line_start_date) AS dos
        FROM {g.tables['medical_claim']} GROUP BY claim_id""").fetchall()
    assert sum(len(r[1]) for r in claims) == 400  # exactly the requested lines
    shapes = {tuple(r[1]) for r in claims}
    # Procedure line first, then the quality data code of the drawn result; exclusion (Z51.5) is a
    # diagnosis, not a line, so it and "no QDC" both give a lone 99213. (The last claim may be cut.)
    assert shapes <= {("99213", "3044F"), ("99213", "3044F-8P"), ("99213", "G9999-1P"), ("99213",)}
    assert len(shapes) == 4
    assert {r[2] for r in claims} == {"E11.9"}  # E11.65 is excluded by the option, so never drawn
    assert {r[3] for r in claims} == {None, "Z51.5"}
    assert all(r[3] is None or r[1] == ["99213"] for r in claims)  # hospice only on exclusion claims
    assert "11" not in {r[4] for r in claims}  # the procedure code excludes the office
    people = dict(c.execute(f"SELECT person_id, (gender, birth_date) FROM {g.tables['eligibility']}").fetchall())
    for _, _, _, _, _, person, dos in claims:
        sex, birth = people[person]
        age = dos.year - birth.year - ((dos.month, dos.day) < (birth.month, birth.day))
        assert sex == "female" and 18 <= age <= 75
