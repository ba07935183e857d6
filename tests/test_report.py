"""`mips report` on the demo: the page's content, and (where Chromium is installed) the page in headless Chromium."""
from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from mips.cli import main
from mips.paths import SAMPLE_DIR
from mips.period import find_inputs, run_period_steps

TIN = "901391249"  # the sample's 12-clinician TIN


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report_out")
    run_period_steps(performance_year=2024, files=find_inputs(SAMPLE_DIR), output_root=out)
    dest = tmp_path_factory.mktemp("report")
    assert main(["report", "--output", str(out), "--performance-year", "2024", "--dest", str(dest),
                 "--tin", TIN, "-q"]) == 0
    page = dest / "2024" / f"report-{TIN}.html"
    return out, page, page.read_text()


def _one(out: Path, sql: str):
    con = duckdb.connect()
    for table in ("final_scores", "measure_scores", "category_scores", "rejects"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{out}/{table}/**/*.parquet', "
                    "hive_partitioning = true)")
    return con.execute(sql).fetchall()


def test_the_page_shows_the_score_the_adjustment_and_every_clinician(report):
    out, _, html = report
    [(final, threshold, adj, usd, charges)] = _one(out, f"""
        SELECT final_score, performance_threshold, payment_adjustment_percent, payment_adjustment_usd,
               part_b_allowed_charges FROM final_scores WHERE level = 'group' AND tin = '{TIN}'""")
    assert f"MIPS performance year 2024: TIN {TIN}" in html
    assert f">{final:,.2f}</div>" in html and f"threshold {threshold:,.2f}" in html
    assert f"{adj:+.3f}%" in html
    dollars = ("-" if usd < 0 else "") + f"${abs(usd):,.0f}"
    assert f"{dollars} on ${charges:,.0f} of Part B allowed charges" in html
    assert "final_scores.part_b_allowed_charges" in html  # where the dollars come from
    npis = [n for (n,) in _one(out, f"SELECT npi FROM final_scores WHERE level = 'individual' AND tin = '{TIN}' "
                                    "ORDER BY npi")]
    assert len(npis) == 12
    assert re.findall(r'<section class="clinician" id="npi-(\d+)">', html) == npis
    # categories with their weights, group first
    for category, score, weight in _one(out, f"""SELECT category, score_percent, weight_percent FROM category_scores
                                               WHERE level = 'group' AND tin = '{TIN}' AND score_percent IS NOT NULL"""):
        assert f"<td>{category}</td><td class=\"num\">{score:,.2f}</td><td class=\"num\">{weight:,.2f}</td>" in html


def test_the_charts_are_inside_the_file_and_nothing_is_fetched(report):
    _, _, html = report
    # score vs threshold, categories, deciles (group), heat map, rejects, and one decile chart per clinician
    assert html.count("<svg") >= 5 + 1
    assert "Data completeness % by clinician and measure" in html and "Rejected rows by rule" in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?://", html)
    assert "<script" not in html  # static: no JavaScript at all
    assert "Only performance year 2024 is published" in html  # one year: the trend says so


def test_deciles_marks_and_what_if_numbers(report):
    out, _, html = report
    # topped-out measures carry the 7-point-cap mark
    assert "topped out: 7-point cap" in html and "black tick: 7-point cap" in html
    # an independent what-if for 039 (group, not inverse): patients = ceil(next bound x (met + not met) - met)
    con = duckdb.connect()
    [(met, not_met, decile, bounds)] = con.execute(f"""
        SELECT s.performance_met, s.performance_not_met, s.decile,
               [b.decile_1_lower_bound, b.decile_2_lower_bound, b.decile_3_lower_bound, b.decile_4_lower_bound,
                b.decile_5_lower_bound, b.decile_6_lower_bound, b.decile_7_lower_bound, b.decile_8_lower_bound,
                b.decile_9_lower_bound, b.decile_10_lower_bound]
        FROM read_parquet('{out}/measure_scores/**/*.parquet', hive_partitioning = true) s
        JOIN read_parquet('{out}/benchmark_reference/**/*.parquet', hive_partitioning = true) b
          ON b.measure_id = s.measure_id AND b.submission_method = s.collection_type
        WHERE s.level = 'group' AND s.tin = '{TIN}' AND s.measure_id = '039'""").fetchall()
    next_bound = bounds[decile]  # decile d + 1, 0-based list
    needed = math.ceil(next_bound / 100 * (met + not_met) - met)
    assert re.search(rf"<td>039</td><td class=\"num\">[\d.]+</td><td class=\"num\">{decile}</td>\s*"
                     rf"<td class=\"num\">{next_bound:,.2f}</td><td class=\"num\">{needed} more met</td>", html)
    # 001 is inverse: fewer met patients (an HbA1c brought under 9%) reach the next decile
    assert re.search(r"<td>001</td>.*?fewer met \(inverse\)", html, re.S)


def test_rejects_by_rule(report):
    out, _, html = report
    for table, rule, rows in _one(out, """SELECT table_name, rule, count(DISTINCT (source_file, row_number))
                                          FROM rejects GROUP BY ALL"""):
        assert f"<tr><td>{table}</td><td>{rule}</td><td class=\"num\">{rows:,}</td></tr>" in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed here (apt-get install chromium); "
                                             "the page's content is checked by the tests above without it")
def test_the_page_in_headless_chromium(report, tmp_path):
    _, page, html = report
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=180).stdout
    # the browser parsed the whole page: every clinician section and every chart are in its DOM
    assert dom.count('class="clinician"') == 12 and dom.count("<svg") == html.count("<svg")
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=180)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
