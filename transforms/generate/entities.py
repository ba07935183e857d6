"""Practices, clinicians and people: TINs of mixed sizes, clinicians with valid NPIs, persons.

Sizes scale with the requested claim lines (``Sizes``); every value is a hash draw of the
seed and the row's index (``rand.Draws``), so the tables are deterministic for a seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from transforms.generate.rand import Draws

# Clinicians per TIN, cycled: solo practices (1), small (2-15) and large (> 15) side by side.
# The first six TINs already hold a solo, small and large practice for the minimum 40 clinicians.
TIN_SIZE_PATTERN = (1, 4, 1, 12, 2, 40, 1, 8, 3, 25, 1, 15, 6, 80, 2, 10, 1, 30)
SMALL_PRACTICE_MAX = 15  # "small practice": 15 or fewer clinicians in the TIN

CLINICIAN_TYPES = ("physician", "physician", "physician", "physician", "physician", "physician", "physician",
                   "nurse practitioner", "nurse practitioner", "physician assistant")
SPECIALTIES = ("Internal Medicine", "Family Practice", "Cardiology", "Ophthalmology", "Orthopedic Surgery",
               "Psychiatry", "Dermatology", "Emergency Medicine", "Gastroenterology", "Anesthesiology",
               "Urology", "Obstetrics/Gynecology", "Neurology", "Geriatric Medicine", "Nephrology")
NON_MEDICARE_PAYERS = ("commercial", "commercial", "medicaid")


@dataclass(frozen=True)
class Sizes:
    """How many of each entity a run of ``claim_lines`` lines gets (lines per clinician and
    per patient stay realistic: ~2,500 lines a clinician, ~10 a Medicare patient)."""
    clinicians: int
    medicare_persons: int
    other_persons: int

    @classmethod
    def for_claim_lines(cls, claim_lines: int) -> "Sizes":
        medicare = max(200, claim_lines // 10)
        return cls(clinicians=max(40, claim_lines // 2500), medicare_persons=medicare,
                   other_persons=max(100, medicare // 2))


def _lit(values) -> list[str]:
    return ["'" + v.replace("'", "''") + "'" for v in values]


def npi_sql(base9: str) -> str:
    """A 10-digit NPI from a 9-digit base string: base + Luhn check digit over '80840' + base."""
    terms = ["24"]  # the doubled-and-summed digits of the prefix 80840
    for position in range(9):
        digit = f"CAST(substr({base9}, {position + 1}, 1) AS INTEGER)"
        terms.append(f"((2 * {digit}) // 10 + (2 * {digit}) % 10)" if position % 2 == 0 else digit)
    return f"({base9} || CAST((10 - ({' + '.join(terms)}) % 10) % 10 AS VARCHAR))"


def build_practices(con: duckdb.DuckDBPyConnection, *, performance_year: int, sizes: Sizes, draws: Draws) -> None:
    """``gen_clinician``: one row per clinician (clinician_idx, tin, npi, tin size and roster fields)."""
    py = int(performance_year)
    pattern = "[" + ", ".join(str(s) for s in TIN_SIZE_PATTERN) + "]"
    # TIN numbers and NPI bases are affine maps of the index (coprime step), so they never collide.
    tin_offset = f"({draws.hash('tin_offset', '0')} % 900000000)"
    npi_offset = f"({draws.hash('npi_offset', '0')} % 200000000)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_tin AS
        WITH sized AS (
            SELECT t AS tin_idx, {pattern}[1 + t % {len(TIN_SIZE_PATTERN)}] AS pattern_size
            FROM range({sizes.clinicians}) r(t)
        ), placed AS (
            SELECT *, CAST(sum(pattern_size) OVER (ORDER BY tin_idx) - pattern_size AS BIGINT) AS first_clinician FROM sized
        )
        SELECT tin_idx, first_clinician,
               CAST(least(pattern_size, {sizes.clinicians} - first_clinician) AS BIGINT) AS tin_size,
               CAST(100000000 + ({tin_offset} + tin_idx * 104729) % 900000000 AS VARCHAR) AS tin,
               {draws.uniform('rural', 'tin_idx')} < 0.2 AS rural,
               {draws.uniform('hpsa', 'tin_idx')} < 0.1 AS hpsa
        FROM placed WHERE first_clinician < {sizes.clinicians}
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_clinician AS
        WITH c AS (
            SELECT t.*, t.first_clinician + k AS clinician_idx
            FROM gen_tin t, unnest(range(t.tin_size)) u(k)
        )
        SELECT clinician_idx, tin_idx, tin, tin_size,
               {npi_sql(f"CAST(100000000 + ({npi_offset} + clinician_idx * 7919) % 200000000 AS VARCHAR)")} AS npi,
               {draws.pick('clinician_type', _lit(CLINICIAN_TYPES), 'clinician_idx')} AS clinician_type,
               {draws.pick('specialty', _lit(SPECIALTIES), 'clinician_idx')} AS specialty,
               -- a few clinicians first enrolled in the performance year (newly enrolled)
               CASE WHEN {draws.uniform('new', 'clinician_idx')} < 0.03
                    THEN DATE '{py}-01-01' + CAST({draws.integer('enrolled_day', '300', 'clinician_idx')} AS INTEGER)
                    ELSE make_date({py - 1} - CAST({draws.integer('enrolled_years', '25', 'clinician_idx')} AS INTEGER), 1, 1)
                         + CAST({draws.integer('enrolled_day', '360', 'clinician_idx')} AS INTEGER)
               END::DATE AS medicare_enrollment_date,
               tin_size <= {SMALL_PRACTICE_MAX} AS small_practice, rural, hpsa,
               {draws.uniform('npf', 'clinician_idx')} < 0.03 AS non_patient_facing,
               {draws.uniform('hosp', 'clinician_idx')} < 0.05 AS hospital_based,
               {draws.uniform('apm', 'clinician_idx')} < 0.05 AS apm_participant
        FROM c
    """)


def build_persons(con: duckdb.DuckDBPyConnection, *, performance_year: int, sizes: Sizes, draws: Draws) -> None:
    """``gen_person``: one row per person, Medicare beneficiaries and other payers' patients.

    Age is drawn as the age on January 1 of the performance year (``age``); the birthday falls
    on January 2..December 31 of the birth year, so during the year the person is ``age`` or
    ``age + 1``: an option is compatible when ``age >= min_age`` and ``age + 1 <= max_age``.
    ``person_rank`` numbers persons by (population, sex, age), and ``person_id`` is made from it.
    """
    py = int(performance_year)
    u = draws.uniform
    medicare_age = (f"CASE WHEN {u('age_band', 'i')} < 0.01 THEN {draws.integer('age', '18', 'i')}"
                    f" WHEN {u('age_band', 'i')} < 0.15 THEN 18 + {draws.integer('age', '47', 'i')}"
                    # 65-95, peaked near 80 (the sum of two uniform draws)
                    f" ELSE 65 + CAST(floor(15.5 * ({u('age_a', 'i')} + {u('age_b', 'i')})) AS BIGINT) END")
    other_age = (f"CASE WHEN {u('age_band', 'i')} < 0.2 THEN {draws.integer('age', '18', 'i')}"
                 f" ELSE 18 + {draws.integer('age', '47', 'i')} END")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_person AS
        WITH p AS (
            SELECT i AS draw_idx,
                   CASE WHEN i < {sizes.medicare_persons} THEN 'medicare' ELSE 'other' END AS population,
                   CASE WHEN i < {sizes.medicare_persons} THEN 'medicare'
                        ELSE {draws.pick('payer', _lit(NON_MEDICARE_PAYERS), 'i')} END AS payer,
                   CASE WHEN {u('sex', 'i')} < 0.55 THEN 'female' ELSE 'male' END AS sex,
                   CASE WHEN i < {sizes.medicare_persons} THEN {medicare_age} ELSE {other_age} END AS age,
                   1 + {draws.integer('birthday', '364', 'i')} AS birthday_offset,
                   {draws.integer('enrolled_since', '6', 'i')} AS enrolled_years_before,
                   {u('dual', 'i')} AS dual_draw,
                   {u('span_end', 'i')} AS span_end_draw
            FROM range({sizes.medicare_persons + sizes.other_persons}) r(i)
        ), ranked AS (
            SELECT *, row_number() OVER (ORDER BY population, sex, age, draw_idx) - 1 AS person_rank FROM p
        )
        SELECT person_rank, population, payer, sex, age,
               'PT' || lpad(CAST(person_rank AS VARCHAR), 9, '0') AS person_id,
               CAST(make_date({py - 1} - age, 1, 1) + CAST(birthday_offset AS INTEGER) AS DATE) AS birth_date,
               enrolled_years_before, dual_draw, span_end_draw
        FROM ranked ORDER BY person_rank
    """)
    # Persons per (population, sex, age) and the first rank of each: persons of one population,
    # sex and age range are consecutive ranks, so a compatible person is one draw in a range.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gen_age_histogram AS
        SELECT population, sex, age, count(*) AS persons, min(person_rank) AS first_pos
        FROM gen_person GROUP BY ALL
    """)


def eligibility_sql(performance_year: int, medicare_only: bool = False) -> str:
    """One enrollment span per person covering the whole performance year (some open-ended)."""
    py = int(performance_year)
    where = "WHERE population = 'medicare'" if medicare_only else ""
    return f"""
        SELECT person_id, birth_date, sex AS gender,
               greatest(birth_date, make_date({py} - CAST(enrolled_years_before AS INTEGER), 1, 1)) AS enrollment_start_date,
               CASE WHEN span_end_draw < 0.2 THEN NULL ELSE DATE '{py}-12-31' END AS enrollment_end_date,
               CASE WHEN population <> 'medicare' THEN NULL
                    WHEN dual_draw < 0.85 THEN '00' WHEN dual_draw < 0.95 THEN '02' ELSE '04' END AS dual_status_code,
               CAST(NULL AS DATE) AS death_date,
               payer
        FROM gen_person
        {where}
        ORDER BY person_id
    """


def patient_sql() -> str:
    return "SELECT person_id, birth_date, sex, CAST(NULL AS DATE) AS death_date FROM gen_person ORDER BY person_id"


def roster_sql() -> str:
    return """
        SELECT tin, npi, clinician_type, specialty, medicare_enrollment_date, small_practice, rural, hpsa,
               non_patient_facing, hospital_based, apm_participant,
               -- one made-up CEHRT ID per TIN (the practice's EHR), in CMS's 15-character format;
               -- about three TINs in four report quality end to end from that EHR
               '0015C' || upper(substr(md5('cehrt' || tin), 1, 10)) AS cehrt_id,
               substr(md5('end-to-end' || tin), 1, 1) < 'c' AS end_to_end_reporting
        FROM gen_clinician ORDER BY tin, npi
    """
