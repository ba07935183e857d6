"""Ages for claims measures as CMS's claims calculation computes them: a 29 February birthday is reached on
28 February in a common year (issue 14; claims-measure-logic.md "Eligibility (per claim)" item 1: age at the
claim's date of service within [minAge, maxAge], maxAge 74 meaning "under 75").

Each test puts two patients born on 29 February of a leap year at one age limit of a measure, in a common
performance year: one seen on 28 February of the year they reach the limit, one on 27 February. Counts are
(eligible_population, exclusion, exception, met, not_met) of the individual row."""
from __future__ import annotations

from datetime import date

from tests.measure_fixtures import claim, counts, new_db, person
from transforms.measures import compute_measures


def run(con, year: int) -> None:
    compute_measures(con, performance_year=year, period_start=date(year, 1, 1), period_end=date(year, 12, 31))


def test_001_py2022_min_age_18_reached_on_28_february():
    # 001 (PY2022): ages 18-75, diabetes. Born 2004-02-29: 18 on 2022-02-28 (2022 is a common year).
    con = new_db()
    person(con, "on28", "2004-02-29")
    person(con, "on27", "2004-02-29")
    claim(con, "a", "on28", "2022-02-28", ["99213", "3046F"], ["E119"])  # 18 years: eligible, met (poor control)
    claim(con, "b", "on27", "2022-02-27", ["99213", "3046F"], ["E119"])  # 17 years 11 months: below minAge 18
    run(con, 2022)
    assert counts(con, "001") == (1, 0, 0, 1, 0)
    assert {r[0] for r in con.execute("SELECT person_id FROM measure_instances WHERE measure_id = '001'").fetchall()} \
        == {"on28"}


def test_047_py2021_min_age_65_reached_on_28_february():
    # 047 advance care plan (PY2021): age >= 65. Born 1956-02-29: 65 on 2021-02-28.
    con = new_db()
    person(con, "on28", "1956-02-29")
    person(con, "on27", "1956-02-29")
    claim(con, "a", "on28", "2021-02-28", ["99213", "1123F"])  # 65: eligible, met (1123F)
    claim(con, "b", "on27", "2021-02-27", ["99213", "1123F"])  # 64: not eligible
    run(con, 2021)
    assert counts(con, "047") == (1, 0, 0, 1, 0)


def test_113_py2022_min_age_50_reached_on_28_february():
    # 113 colorectal cancer screening (PY2022): ages 50-75. Born 1972-02-29: 50 on 2022-02-28.
    con = new_db()
    person(con, "on28", "1972-02-29")
    person(con, "on27", "1972-02-29")
    claim(con, "a", "on28", "2022-02-28", ["99213", "3017F"])  # 50: eligible, met (3017F)
    claim(con, "b", "on27", "2022-02-27", ["99213", "3017F"])  # 49: not eligible
    run(con, 2022)
    assert counts(con, "113") == (1, 0, 0, 1, 0)


def test_112_py2023_max_age_74_left_on_28_february():
    # 112 breast cancer screening (PY2023): women 51-74 ("under 75"). Born 1948-02-29: 75 on 2023-02-28, so
    # the visit that day is above maxAge; the day before she is still 74.
    con = new_db()
    person(con, "on28", "1948-02-29", "female")
    person(con, "on27", "1948-02-29", "female")
    claim(con, "a", "on28", "2023-02-28", ["99213", "G2098"])  # 75: not eligible
    claim(con, "b", "on27", "2023-02-27", ["99213", "G2098"])  # 74: eligible (G2098 is option 1 of 112)
    run(con, 2023)
    assert counts(con, "112")[0] == 1
    assert {r[0] for r in con.execute("SELECT person_id FROM measure_instances WHERE measure_id = '112'").fetchall()} \
        == {"on27"}


def test_leap_year_birthday_on_29_february_itself_and_1_march_unchanged():
    # In a leap performance year the birthday is 29 February itself: 28 February is the day before.
    # 047 (PY2020 is a leap year), born 1955-02-28 is 65 on 2020-02-28; born 1955-03-01 is not on 2020-02-29.
    con = new_db()
    person(con, "feb28", "1955-02-28")
    person(con, "mar1", "1955-03-01")
    claim(con, "a", "feb28", "2020-02-28", ["99213", "1123F"])  # 65: eligible
    claim(con, "b", "mar1", "2020-02-29", ["99213", "1123F"])   # 64 until 1 March: not eligible
    run(con, 2020)
    assert counts(con, "047")[0] == 1
