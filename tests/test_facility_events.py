"""`mips run --facility-event` (issue 14 item 5): the facility measures 046, 407, 415 and 416 need hospital
discharge or ED events (claims-measure-logic.md, counting class "needs facility events"). A claim of the measure
dated event_date .. event_date + the measure's window (046: 30 days after discharge; 407, 415, 416: the event
day) belongs to that event's instance. One hand-made example per measure, PY2019 (the last year CMS's claims
specification has 046, 407 and 415), run through the command line. Counts are (eligible_population, exclusion,
exception, met, not_met) of the individual row."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from mips.paths import PROJECT_ROOT
from tests.tuva_shapes import NPI, TIN

HEADER = ["claim_id", "claim_line_number", "person_id", "claim_line_start_date", "place_of_service_code",
          "hcpcs_code", "hcpcs_modifier_1", "rendering_npi", "billing_tin", "diagnosis_code_1"]


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _claim(claim_id: str, person: str, dos: str, codes: list[str], dx: str = "", pos: str = "23") -> list[list]:
    rows = []
    for n, text in enumerate(codes, start=1):
        code, _, modifier = text.partition("-")
        rows.append([claim_id, n, person, dos, pos, code, modifier, NPI, TIN, dx])
    return rows


CLAIMS = (
    # 046 medication reconciliation after discharge (65+ option): discharge + visit within 30 days
    _claim("k46a", "p46a", "2019-02-10", ["99495", "1111F"], pos="11")         # 5 days after discharge: met
    + _claim("k46b", "p46b", "2019-03-20", ["99495", "1111F-8P"], pos="11")    # 19 days after: not met
    + _claim("k46c", "p46c", "2019-06-15", ["99495", "1111F"], pos="11")       # 45 days after: no instance
    # 407 MSSA bacteremia: inpatient visit with A41.01 on the day of the stay's event
    + _claim("k407a", "p407a", "2019-04-10", ["99221", "G9558"], "A41.01")     # met
    + _claim("k407b", "p407b", "2019-06-01", ["99221", "G9559"], "A41.01")     # exception
    # 415 adult ED head CT for minor blunt head trauma (18+): ED visit with S00.03XA on the event day
    + _claim("k415a", "p415a", "2019-07-01", ["99284", "G9529", "G9530"], "S00.03XA")  # met
    + _claim("k415b", "p415b", "2019-07-02", ["99284", "G9533", "G9530"], "S00.03XA")  # not met
    # 416 pediatric ED head CT (ages 2-17)
    + _claim("k416a", "p416a", "2019-08-01", ["99283", "G9593", "G9594"], "S00.03XA")  # met
)
PEOPLE = {"p46a": "1950-01-01", "p46b": "1950-01-01", "p46c": "1950-01-01", "p407a": "1960-01-01",
          "p407b": "1960-01-01", "p415a": "1970-01-01", "p415b": "1970-01-01", "p416a": "2010-01-01"}
EVENTS = [["p46a", "inpatient_discharge", "2019-02-05"], ["p46b", "inpatient_discharge", "03/01/2019"],
          ["p46c", "inpatient_discharge", "2019-05-01"], ["p407a", "mssa_stay", "2019-04-10"],
          ["p407b", "mssa_stay", "2019-06-01"], ["p415a", "ed_ct_scan", "2019-07-01"],
          ["p415b", "ed_ct_scan", "2019-07-02"], ["p416a", "ed_ct_scan", "2019-08-01"]]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("facility")
    claims = _write(base / "medical_claim.csv", HEADER, CLAIMS)
    people = _write(base / "eligibility.csv", ["person_id", "birth_date", "gender", "enrollment_start_date"],
                    [[p, b, "female", "2019-01-01"] for p, b in PEOPLE.items()])
    events = _write(base / "facility_event.csv", ["person_id", "event_type", "event_date"],
                    EVENTS + [["p46a", "er_visit", "2019-02-05"]])  # an unknown event type: rejected with a reason
    done = subprocess.run([sys.executable, "-m", "mips.cli", "run", "--performance-year", "2019", "--medical-claim",
                           str(claims), "--eligibility", str(people), "--facility-event", str(events), "--output",
                           str(base / "out"), "--without-prefect", "--max-rejected-percent", "20"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return base / "out"


def _counts(out: Path, measure: str) -> tuple:
    return duckdb.sql(f"""SELECT eligible_population, eligible_population_exclusion, eligible_population_exception,
                                 performance_met, performance_not_met, computed
                          FROM read_parquet('{out}/measure_results/**/*.parquet')
                          WHERE measure_id = '{measure}' AND level = 'individual' AND source = 'claims'""").fetchall()[0]


@pytest.mark.parametrize("measure,expected", [
    ("046", (2, 0, 0, 1, 1, True)),  # p46a met, p46b not met (1111F-8P); p46c's visit is 45 days after discharge
    ("407", (2, 0, 1, 1, 0, True)),  # p407a met (G9558), p407b exception (G9559)
    ("415", (2, 0, 0, 1, 1, True)),  # p415a met (G9529 + G9530), p415b not met (G9533 + G9530)
    ("416", (1, 0, 0, 1, 0, True)),  # p416a, 9 years old: met (G9593 + G9594)
])
def test_facility_event_option_computes_the_facility_measures(run_dir, measure, expected):
    assert _counts(run_dir, measure) == expected


def test_facility_event_file_is_validated_like_every_input(run_dir):
    summary = duckdb.sql(f"""SELECT input_rows, accepted_rows, rejected_rows FROM read_parquet(
        '{run_dir}/ingest_summary/**/*.parquet') WHERE table_name = 'facility_event'""").fetchall()[0]
    assert summary == (9, 8, 1)  # the er_visit row is rejected; 03/01/2019 is read month first
    rule = duckdb.sql(f"""SELECT rule FROM read_parquet('{run_dir}/rejects/**/*.parquet')
                          WHERE table_name = 'facility_event'""").fetchall()
    assert rule == [("facility_event_type",)]
    warning = duckdb.sql(f"""SELECT rows_affected FROM read_parquet('{run_dir}/ingest_warnings/**/*.parquet')
                             WHERE rule = 'date_month_first:event_date:facility_event.csv'""").fetchall()
    assert warning == [(1,)]
