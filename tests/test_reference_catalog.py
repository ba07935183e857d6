"""The compiled CMS reference catalog: normalisation rules on tiny hand-made sources, bad sources, determinism,
and (marked ``shared``) a recompile from ../shared compared with the committed tables plus spot checks of the
facts in ../shared/spec/scoring-rules.md."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mips.errors import PipelineError
from mips.paths import PROJECT_ROOT, REFERENCE_DIR, SHARED_REFERENCE
from mips.reference_compiler import catalog
from schemas.reference import CATALOG_TABLES, catalog_markdown

# ------------------------------------------------------------------------------------------------ helpers


def _q(py: int, mid: str, **kw) -> dict:
    return {"measureId": mid, "category": "quality", "title": f"measure {mid}", "measureType": "process",
            "isHighPriority": False, "isInverse": False, "metricType": "singlePerformanceRate",
            "submissionMethods": ["claims", "registry"], "firstPerformanceYear": py, "lastPerformanceYear": None} | kw


def _write_source(root: Path, measures: dict[int, list], benchmarks: dict[int, list] | None = None,
                  exclusions: dict[int, list] | None = None, averages: dict[int, list] | None = None) -> Path:
    for py, rows in measures.items():
        (root / "measures" / str(py)).mkdir(parents=True, exist_ok=True)
        (root / "measures" / str(py) / "measures-data.json").write_text(json.dumps(rows))
    for py, rows in (benchmarks or {}).items():
        (root / "benchmarks").mkdir(parents=True, exist_ok=True)
        (root / "benchmarks" / f"{py}.json").write_text(json.dumps(rows))
    for name, per_year in (("benchmark-exclusion-reasons.json", exclusions), ("cost-national-averages.json", averages)):
        for py, rows in (per_year or {}).items():
            (root / "benchmarks" / str(py)).mkdir(parents=True, exist_ok=True)
            (root / "benchmarks" / str(py) / name).write_text(json.dumps(rows))
    return root


def _build(source: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    catalog.build_catalog(con, source)
    return con


def _bounds(con, py: int, mid: str, method: str) -> list[tuple]:
    return con.execute("SELECT decile, lower_bound, is_implied, source_percentile FROM benchmarks "
                       "WHERE performance_year = ? AND measure_id = ? AND submission_method = ? ORDER BY decile",
                       [py, mid, method]).fetchall()


def _set(con, py: int, mid: str, method: str) -> dict:
    cur = con.execute("SELECT * FROM benchmark_sets WHERE performance_year = ? AND measure_id = ? "
                      "AND submission_method = ?", [py, mid, method])
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone()))


def _pct(values: list[float]) -> dict:
    return dict(zip(["1", "10", "20", "30", "40", "50", "60", "70", "80", "90", "99"], values))


# ------------------------------------------------------------------------------------------------ the mapping itself


def test_percentile_to_decile_table_is_the_spec_table():
    # scoring-rules.md §3.2: direct 1->p1, 2->p10 ... 10->p90; inverse 1->p99, 2->p90 ... 10->p10.
    direct = {1: 1, 2: 10, 3: 20, 4: 30, 5: 40, 6: 50, 7: 60, 8: 70, 9: 80, 10: 90}
    inverse = {1: 99, 2: 90, 3: 80, 4: 70, 5: 60, 6: 50, 7: 40, 8: 30, 9: 20, 10: 10}
    assert {d: p for inv, p, d in catalog.PERCENTILE_DECILES if not inv} == direct
    assert {d: p for inv, p, d in catalog.PERCENTILE_DECILES if inv} == inverse


# ------------------------------------------------------------------------------------------------ decile lists (PY2017-2022)


def test_nine_value_deciles_are_deciles_2_to_10_with_implied_decile_1(tmp_path):
    # §3.1: 9 values = inclusive lower bounds of deciles 2..10; decile 1 starts at 0 (direct) or 100 (inverse).
    src = _write_source(tmp_path, {2019: [_q(2019, "100"), _q(2019, "101", isInverse=True)]}, {2019: [
        {"measureId": "100", "submissionMethod": "claims", "benchmarkYear": 2017, "performanceYear": 2019,
         "isToppedOut": False, "isToppedOutByProgram": False, "deciles": [10, 20, 30, 40, 50, 60, 70, 80, 90]},
        {"measureId": "101", "submissionMethod": "registry", "benchmarkYear": 2017, "performanceYear": 2019,
         "isToppedOut": True, "isToppedOutByProgram": True, "deciles": [90, 80, 70, 60, 50, 40, 30, 20, 0]},
    ]})
    con = _build(src)
    direct = _bounds(con, 2019, "100", "claims")
    assert direct[0] == (1, 0.0, True, None)                       # implied, direct -> 0
    assert [b for _, b, _, _ in direct[1:]] == [10, 20, 30, 40, 50, 60, 70, 80, 90]   # deciles 2..10 in order
    inverse = _bounds(con, 2019, "101", "registry")
    assert inverse[0] == (1, 100.0, True, None)                    # implied, inverse -> 100
    assert inverse[-1][:2] == (10, 0.0)
    s = _set(con, 2019, "101", "registry")
    assert (s["is_inverse"], s["is_inverse_source"], s["benchmark_source_format"], s["source_value_count"]) == \
        (True, "measure", "deciles", 9)
    assert (s["is_topped_out"], s["is_topped_out_by_program"]) == (True, True)
    assert s["is_ordered"] and _set(con, 2019, "100", "claims")["is_ordered"]
    # 2 benchmarks x 10 deciles = 20 rows, each decile once per benchmark
    assert con.execute("SELECT count(*), count(DISTINCT (measure_id, decile)) FROM benchmarks").fetchone() == (20, 20)


def test_implied_decile_1_never_cuts_into_decile_2_of_a_non_percentage_measure(tmp_path):
    # PY2018 ACEP32-like inverse nonProportion measure (minutes): decile 2 starts at 281 > 100, so the implied
    # decile-1 bound is 281 (decile 1 empty), not 100; a direct one starting below 0 gets its own bound.
    src = _write_source(tmp_path, {2018: [_q(2018, "ACEP32", isInverse=True, metricType="nonProportion"),
                                          _q(2018, "ACEP50", metricType="nonProportion")]}, {2018: [
        _bench(measureId="ACEP32", performanceYear=2018, deciles=[281, 212, 189, 177, 169, 158, 148, 140, 129]),
        _bench(measureId="ACEP50", performanceYear=2018, deciles=[-0.75, -0.5, -0.3, -0.2, 0, 0.1, 0.2, 0.4, 0.6])]})
    con = _build(src)
    assert _bounds(con, 2018, "ACEP32", "claims")[:2] == [(1, 281.0, True, None), (2, 281.0, False, None)]
    assert _bounds(con, 2018, "ACEP50", "claims")[:2] == [(1, -0.75, True, None), (2, -0.75, False, None)]


def test_ten_value_deciles_are_deciles_1_to_10_with_nothing_implied(tmp_path):
    # §3.1: cost and non-proportion measures have 10 values = deciles 1..10 (cost descends: lower cost is better).
    cost = {"measureId": "COST_X_1", "category": "cost", "title": "x", "metricType": "costScore", "isInverse": True,
            "submissionMethods": ["administrativeClaims"]}
    vals = [8232.91, 6109.03, 5500, 5000, 4600, 4200, 3900, 3600, 3400, 3121.99]
    src = _write_source(tmp_path, {2022: [cost]}, {2022: [
        {"measureId": "COST_X_1", "submissionMethod": "administrativeClaims", "benchmarkYear": 2022,
         "performanceYear": 2022, "isToppedOut": False, "isToppedOutByProgram": False, "deciles": vals}]})
    con = _build(src)
    assert _bounds(con, 2022, "COST_X_1", "administrativeClaims") == [(d, v, False, None) for d, v in enumerate(vals, 1)]
    s = _set(con, 2022, "COST_X_1", "administrativeClaims")
    assert (s["category"], s["is_inverse"], s["source_value_count"]) == ("cost", True, 10)


def test_inverse_is_inferred_from_descending_values_when_the_measure_is_unknown(tmp_path):
    # PY2017 has benchmarks of retired measures with no measure record: descending values mean inverse.
    src = _write_source(tmp_path, {2017: [_q(2017, "001")]}, {2017: [
        {"measureId": "022", "submissionMethod": "claims", "benchmarkYear": 2015, "performanceYear": 2017,
         "deciles": [100, 35, 25.71, 20.31, 16.22, 13.04, 10, 7.41, 4]},
        {"measureId": "040", "submissionMethod": "claims", "benchmarkYear": 2015, "performanceYear": 2017,
         "deciles": [1, 5, 10, 20, 30, 40, 50, 60, 70]}]})
    con = _build(src)
    s022, s040 = _set(con, 2017, "022", "claims"), _set(con, 2017, "040", "claims")
    assert (s022["is_inverse"], s022["is_inverse_source"], s022["category"]) == (True, "inferred", "quality")
    assert (s040["is_inverse"], s040["is_inverse_source"]) == (False, "inferred")
    # the PY2017 files of 2015 data carry no topped-out flags: kept NULL, not invented
    assert (s022["is_topped_out"], s022["is_topped_out_by_program"]) == (None, None)
    assert _bounds(con, 2017, "022", "claims")[0][:2] == (1, 100.0)


# ------------------------------------------------------------------------------------------------ percentiles (PY2023+)


def test_percentiles_map_to_deciles_as_in_the_spec_examples(tmp_path):
    # §3.2 examples (CMS 2023 source CSV): 110 eCQM direct decile1 = p1 = 0.19, decile2 = p10 = 5.33,
    # decile10 = p90 = 82.04, p99 = 100 unused; 001 eCQM inverse decile1 = p99 = 99.52, decile2 = p90 = 93.33,
    # decile10 = p10 = 17.07, p1 = 6.25 unused. Middle values are filler.
    b110 = _pct([0.19, 5.33, 12, 20, 30, 40, 50, 60, 70, 82.04, 100])
    b001 = _pct([6.25, 17.07, 22.5, 27.32, 32.26, 38.165, 46.15, 57.6, 75, 93.33, 99.52])
    common = {"submissionMethod": "electronicHealthRecord", "benchmarkYear": 2023, "performanceYear": 2023,
              "isToppedOut": False, "isToppedOutByProgram": False, "metricType": "singlePerformanceRate"}
    src = _write_source(tmp_path, {2023: [_q(2023, "110"), _q(2023, "001", isInverse=True)]}, {2023: [
        common | {"measureId": "110", "isInverse": False, "percentiles": b110},
        common | {"measureId": "001", "isInverse": True, "percentiles": b001}]})
    con = _build(src)
    d110 = _bounds(con, 2023, "110", "electronicHealthRecord")
    assert d110[0] == (1, 0.19, False, 1)
    assert d110[1] == (2, 5.33, False, 10)
    assert d110[9] == (10, 82.04, False, 90)
    assert 100.0 not in [b for _, b, _, _ in d110]                 # p99 plays no part for a direct measure
    d001 = _bounds(con, 2023, "001", "electronicHealthRecord")
    assert d001[0] == (1, 99.52, False, 99)
    assert d001[1] == (2, 93.33, False, 90)
    assert d001[9] == (10, 17.07, False, 10)
    assert 6.25 not in [b for _, b, _, _ in d001]                  # p1 plays no part for an inverse measure
    s = _set(con, 2023, "001", "electronicHealthRecord")
    assert (s["percentile_1"], s["percentile_99"], s["benchmark_source_format"], s["is_inverse_source"]) == \
        (6.25, 99.52, "percentiles", "benchmark")


def test_median_sd_cost_benchmark_gives_7_5_points_at_the_median(tmp_path):
    # §3.5: p10 = m-1.5s ... p99 = m+2.75s, p1 a 0 placeholder. m = 1000, s = 100.
    m, s = 1000.0, 100.0
    pct = _pct([0] + [m + k * s for k in (-1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 2.25, 2.5, 2.75)])
    # a real percentile benchmark: p30/p40 alone would give m = 35, s = 10, but p10 misses by 2.5 s
    other = _pct([0, 5, 20, 30, 40, 50, 60, 70, 80, 90, 99])
    cost = {"category": "cost", "title": "x", "metricType": "costScore", "isInverse": True,
            "submissionMethods": ["administrativeClaims"]}
    common = {"submissionMethod": "administrativeClaims", "benchmarkYear": 2024, "performanceYear": 2024,
              "isToppedOut": False, "isToppedOutByProgram": False, "isInverse": True, "metricType": "costScore"}
    src = _write_source(tmp_path, {2024: [cost | {"measureId": "COST_A_1"}, cost | {"measureId": "COST_B_1"}]},
                        {2024: [common | {"measureId": "COST_A_1", "percentiles": pct},
                                common | {"measureId": "COST_B_1", "percentiles": other}]})
    con = _build(src)
    a = _set(con, 2024, "COST_A_1", "administrativeClaims")
    assert (a["benchmark_source_format"], a["median"], a["sd"]) == ("median_sd", m, s)
    b = _set(con, 2024, "COST_B_1", "administrativeClaims")
    assert (b["benchmark_source_format"], b["median"], b["sd"]) == ("percentiles", None, None)
    # inverse interpolation (§3.1) of a cost equal to the median: decile 7 starts at p40 = m + 0.5s,
    # decile 8 at p30 = m - 0.5s, so points = 7 + (L7 - m) / (L7 - L8) = 7 + 50/100 = 7.5 (= PT/10).
    bounds = {d: v for d, v, _, _ in _bounds(con, 2024, "COST_A_1", "administrativeClaims")}
    assert bounds[7] >= m > bounds[8]
    assert 7 + (bounds[7] - m) / (bounds[7] - bounds[8]) == pytest.approx(7.5)


def test_defined_topped_out_and_flat_benchmarks_are_flagged(tmp_path):
    # §2.1: defined topped-out = fixed 84..100 (inverse 0..16); flat = 1/10/.../99 (deciles 4..10 at 30..90).
    dto = _pct([84, 86, 88, 90, 92, 94, 96, 98, 99, 100, 100])
    dto_inv = _pct([0, 0, 1, 2, 4, 6, 8, 10, 12, 14, 16])
    flat = _pct([1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99])
    ordinary = _pct([1, 10, 20, 30, 40, 50, 60, 70, 80, 91, 99])   # one value off: not flat
    common = {"submissionMethod": "registry", "benchmarkYear": 2023, "performanceYear": 2025,
              "metricType": "singlePerformanceRate", "isToppedOutByProgram": False}
    ms = [_q(2025, "143"), _q(2025, "406", isInverse=True), _q(2025, "001", isInverse=True), _q(2025, "236"),
          _q(2025, "999"), _q(2025, "998")]
    src = _write_source(tmp_path, {2025: ms}, {2025: [
        common | {"measureId": "143", "isInverse": False, "isToppedOut": True, "percentiles": dto},
        common | {"measureId": "406", "isInverse": True, "isToppedOut": True, "percentiles": dto_inv},
        common | {"measureId": "001", "isInverse": True, "isToppedOut": False, "percentiles": flat},
        common | {"measureId": "236", "isInverse": False, "isToppedOut": False, "percentiles": flat},
        common | {"measureId": "999", "isInverse": False, "isToppedOut": False, "percentiles": ordinary},
        # the inverse fixed set on a direct measure is not the defined topped-out benchmark
        common | {"measureId": "998", "isInverse": False, "isToppedOut": False, "percentiles": dto_inv}]})
    con = _build(src)
    flags = {r[0]: r[1:] for r in con.execute(
        "SELECT measure_id, is_defined_topped_out, is_flat FROM benchmark_sets").fetchall()}
    assert flags == {"143": (True, False), "406": (True, False), "001": (False, True), "236": (False, True),
                     "999": (False, False), "998": (False, False)}
    # inverse flat 001: decile 10 = p10 = 10 (<= 10 % earns decile 10), decile 1 = p99 = 99
    b001 = {d: v for d, v, _, _ in _bounds(con, 2025, "001", "registry")}
    assert (b001[1], b001[2], b001[10]) == (99, 90, 10)
    # the flags are repeated on every decile row
    assert con.execute("SELECT count(*) FROM benchmarks WHERE is_defined_topped_out").fetchone()[0] == 20


# ------------------------------------------------------------------------------------------------ measures, PI, IA, cost


def test_measure_tables_from_measures_data(tmp_path):
    py = 2025
    rows = [
        _q(py, "001", measureType="intermediateOutcome", isInverse=True, isHighPriority=True,
           metricType="multiPerformanceRate", overallAlgorithm="weightedAverage",
           strata=[{"name": "age1", "description": "18-64"}, {"description": "65+ (no name in source)"}],
           isSevenPointCapRemoved=True, sevenPointCapRemoved=["claims", "registry"], measureSets=[]),
        _q(py, "321", measureType="patientEngagementExperience", submissionMethods=["certifiedSurveyVendor"]),
        {"measureId": "PI_EP_1", "category": "pi", "title": "e-Prescribing", "metricType": "proportion",
         "objective": "electronicPrescribing", "isRequired": True, "isBonus": False, "reportingCategory": "required",
         "exclusion": ["PI_LVPP_1"], "substitutes": [], "measureSets": []},
        {"measureId": "PI_LVPP_1", "category": "pi", "title": "exclusion", "metricType": "boolean",
         "reportingCategory": "exclusion", "isRequired": False, "isBonus": False, "exclusion": None},
        {"measureId": "IA_PCMH", "category": "ia", "title": "PCMH", "metricType": "boolean", "weight": None},
        {"measureId": "IA_AHE_1", "category": "ia", "title": "x", "metricType": "boolean",
         "subcategoryId": "achievingHealthEquity"},
        {"measureId": "COST_KA_1", "category": "cost", "title": "knee", "metricType": "costScore", "isInverse": True,
         "submissionMethods": ["administrativeClaims"], "dataDisplayFormat": "currency"},
    ]
    old = [{"measureId": "PI_EP_1", "category": "pi", "metricType": "proportion", "weight": 10,
            "exclusion": "PI_LVPP_1", "reportingCategory": "required"},
           {"measureId": "ACI_EP_1", "category": "aci", "metricType": "proportion", "weight": 0,
            "reportingCategory": "base", "substitutes": ["ACI_TRANS_EP_1"], "measureSets": ["transition"]},
           {"measureId": "IA_X", "category": "ia", "weight": "high", "subcategoryId": "populationManagement",
            "cehrtEligible": True}]
    con = _build(_write_source(tmp_path, {py: rows, 2019: old}))
    q = con.execute("SELECT measure_id, is_outcome, is_patient_experience, is_inverse, strata_count, "
                    "submission_methods, measure_sets, is_seven_point_cap_removed, seven_point_cap_removed_methods "
                    "FROM quality_measures ORDER BY 1").fetchall()
    assert q == [("001", True, False, True, 2, "claims,registry", None, True, "claims,registry"),
                 ("321", False, True, False, 0, "certifiedSurveyVendor", None, None, None)]
    assert con.execute("SELECT stratum_index, stratum_name, description FROM quality_measure_strata").fetchall() == \
        [(1, "age1", "18-64"), (2, None, "65+ (no name in source)")]
    pi = con.execute("SELECT performance_year, measure_id, source_category, is_exclusion, weight, "
                     "exclusion_measure_ids, substitutes, measure_sets FROM pi_measures ORDER BY 1, 2").fetchall()
    assert pi == [(2019, "ACI_EP_1", "aci", False, 0.0, None, "ACI_TRANS_EP_1", "transition"),
                  (2019, "PI_EP_1", "pi", False, 10.0, "PI_LVPP_1", None, None),   # PY2019-2020: exclusion is a string
                  (2025, "PI_EP_1", "pi", False, None, "PI_LVPP_1", None, None),   # PY2021+: a list
                  (2025, "PI_LVPP_1", "pi", True, None, None, None, None)]
    ia = con.execute("SELECT performance_year, activity_id, weight, is_pcmh, subcategory, is_cehrt_eligible "
                     "FROM ia_activities ORDER BY 1, 2").fetchall()
    assert ia == [(2019, "IA_X", "high", False, "populationManagement", True),
                  (2025, "IA_AHE_1", None, False, "achievingHealthEquity", None),   # PY2025+: no weights
                  (2025, "IA_PCMH", None, True, None, None)]
    assert con.execute("SELECT measure_id, is_inverse, submission_methods, data_display_format FROM cost_measures"
                       ).fetchall() == [("COST_KA_1", True, "administrativeClaims", "currency")]
    # the index has every record of both years (7 + 3), PY2017-style 'aci' filed under 'pi'
    assert con.execute("SELECT category, count(*) FROM measures GROUP BY 1 ORDER BY 1").fetchall() == \
        [("cost", 1), ("ia", 3), ("pi", 4), ("quality", 2)]


def test_exclusion_reasons_and_national_averages(tmp_path):
    src = _write_source(
        tmp_path, {2024: [_q(2024, "102")]},
        exclusions={2024: [{"measureId": "102", "submissionMethod": "registry", "performanceYear": 2024,
                            "benchmarkYear": 2024, "reasonCodes": ["BR-009", "BR-022"],
                            "reasonDescriptions": ["too few entities", "capped"]}]},
        averages={2024: [{"measureId": "COST_ACOPD_1", "performanceYear": 2024, "benchmarkYear": 2024,
                          "groupNationalAverage": 4926.81, "individualNationalAverage": 4900.5}]})
    con = _build(src)
    # one row per reason code (2), one row per level (group, individual)
    assert con.execute("SELECT reason_code, reason_description FROM benchmark_exclusions").fetchall() == \
        [("BR-009", "too few entities"), ("BR-022", "capped")]
    assert con.execute("SELECT level, national_average, benchmark_year FROM cost_national_averages").fetchall() == \
        [("group", 4926.81, 2024), ("individual", 4900.5, 2024)]
    # a year with no benchmark file still compiles: the benchmark tables are just empty
    assert con.execute("SELECT count(*) FROM benchmarks").fetchone()[0] == 0


# ------------------------------------------------------------------------------------------------ bad sources


def _bench(**kw) -> dict:
    return {"measureId": "100", "submissionMethod": "claims", "benchmarkYear": 2019, "performanceYear": 2019,
            "deciles": [10, 20, 30, 40, 50, 60, 70, 80, 90]} | kw


@pytest.mark.parametrize("bad, message", [
    ({"deciles": [1, 2, 3, 4, 5, 6, 7, 8]}, "9 or 10 numbers"),
    ({"deciles": [1, 2, 3, 4, 5, 6, 7, 8, "x"]}, "non-numeric"),
    ({"deciles": [1, 2, 3, 4, 5, 6, 7, 8, True]}, "non-numeric"),
    ({"deciles": None}, "neither deciles nor percentiles"),
    ({"deciles": None, "percentiles": {"1": 1, "10": 2}}, "exactly the keys"),
    ({"deciles": None, "percentiles": _pct([1] * 10 + [None])}, "non-numeric"),
    ({"performanceYear": 2020}, "not 2019"),
    ({"submissionMethod": ""}, "no submissionMethod"),
])
def test_bad_benchmark_records_stop_with_a_one_line_message(tmp_path, bad, message):
    src = _write_source(tmp_path, {2019: [_q(2019, "100")]}, {2019: [_bench(**bad)]})
    with pytest.raises(PipelineError, match=message) as err:
        _build(src)
    assert "2019.json" in str(err.value) and "\n" not in str(err.value)


def test_duplicate_benchmark_breaks_the_grain(tmp_path):
    src = _write_source(tmp_path, {2019: [_q(2019, "100")]}, {2019: [_bench(), _bench()]})
    with pytest.raises(PipelineError, match="benchmark_sets: duplicate key"):
        _build(src)


@pytest.mark.parametrize("rows, message", [
    ([_q(2019, "100"), _q(2019, "100")], "measures: duplicate key"),
    ([{"category": "quality", "title": "no id"}], "record 0 has no measureId"),
    ([{"measureId": "X", "category": "mvp"}], "unknown category 'mvp'"),
    ([_q(2019, "100", isInverse="yes")], "wrong type"),
    ({"not": "a list"}, "expected a JSON list"),
])
def test_bad_measure_records(tmp_path, rows, message):
    with pytest.raises(PipelineError, match=message):
        _build(_write_source(tmp_path, {2019: rows}))


def test_unreadable_or_missing_source(tmp_path):
    with pytest.raises(PipelineError, match="reference source folder not found"):
        _build(tmp_path / "nowhere")
    with pytest.raises(PipelineError, match="no measures/<PY>/measures-data.json"):
        _build(tmp_path)
    (tmp_path / "measures" / "2019").mkdir(parents=True)
    (tmp_path / "measures" / "2019" / "measures-data.json").write_text("[{,")
    with pytest.raises(PipelineError, match="not valid JSON"):
        _build(tmp_path)


def test_exclusion_reason_codes_need_matching_descriptions(tmp_path):
    src = _write_source(tmp_path, {2024: [_q(2024, "102")]}, exclusions={2024: [
        {"measureId": "102", "submissionMethod": "registry", "reasonCodes": ["BR-009", "BR-022"],
         "reasonDescriptions": ["only one"]}]})
    with pytest.raises(PipelineError, match="reasonCodes"):
        _build(src)


# ------------------------------------------------------------------------------------------------ files and the script


def test_compile_is_deterministic_and_ordered_by_key(tmp_path):
    src = _write_source(tmp_path / "src", {2019: [_q(2019, "200"), _q(2019, "100", isInverse=True)]},
                        {2019: [_bench(measureId="200"), _bench(measureId="100", deciles=[9, 8, 7, 6, 5, 4, 3, 2, 1])]})
    counts = catalog.compile_catalog(src, tmp_path / "a")
    catalog.compile_catalog(src, tmp_path / "b")
    assert counts["benchmarks"] == 20 and counts["quality_measures"] == 2
    for spec in CATALOG_TABLES:
        a, b = (tmp_path / d / f"{spec.name}.parquet" for d in ("a", "b"))
        assert a.read_bytes() == b.read_bytes(), spec.name
    con = duckdb.connect()
    rows = con.execute(f"SELECT measure_id, decile FROM '{tmp_path / 'a' / 'benchmarks.parquet'}'").fetchall()
    assert rows == sorted(rows)                               # written in key order
    cols = [d[0] for d in con.execute(f"SELECT * FROM '{tmp_path / 'a' / 'benchmarks.parquet'}' LIMIT 0").description]
    assert cols == [c.name for c in next(s for s in CATALOG_TABLES if s.name == "benchmarks").columns]
    assert not list((tmp_path / "a").glob(".*tmp"))          # no temporary files left behind


def test_script_prints_tables_and_fails_cleanly(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location("compile_reference", PROJECT_ROOT / "scripts" / "compile_reference.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    src = _write_source(tmp_path / "src", {2019: [_q(2019, "100")]}, {2019: [_bench()]})
    assert script.main(["--source", str(src), "--out", str(tmp_path / "out"), "--catalog-only"]) == 0
    out = capsys.readouterr().out
    assert "benchmarks" in out and "10 rows" in out and "quality_measures" in out
    assert script.main(["--source", str(tmp_path / "missing"), "--out", str(tmp_path / "out2")]) == 1
    assert "reference source folder not found" in capsys.readouterr().err


def test_docs_are_generated_from_the_specs():
    assert (PROJECT_ROOT / "docs" / "reference-tables.md").read_text() == catalog_markdown()


# ------------------------------------------------------------------------------------------------ property


_values = st.lists(st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda v: round(v, 2)),
                   min_size=11, max_size=11).map(sorted)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=_values, inverse=st.booleans(), shape=st.sampled_from(["percentiles", "deciles9", "deciles10"]))
def test_every_benchmark_has_ten_ordered_deciles_from_its_own_values(tmp_path_factory, values, inverse, shape):
    # Invariants of §3.1/§3.2 whatever the source shape: deciles 1..10 once each; bounds rise with the decile for
    # direct measures and fall for inverse ones; every bound is a source value, or the implied decile-1 end.
    root = tmp_path_factory.mktemp("prop")
    py = 2024 if shape == "percentiles" else 2019
    record = {"measureId": "100", "submissionMethod": "registry", "performanceYear": py, "benchmarkYear": py - 2}
    if shape == "percentiles":   # CMS percentiles rise with the key whatever the direction
        record |= {"isInverse": inverse, "percentiles": _pct(values)}
    else:                        # CMS decile lists run from the worst value to the best
        n = 9 if shape == "deciles9" else 10
        record |= {"deciles": (sorted(values, reverse=True) if inverse else values)[:n]}
    src = _write_source(root, {py: [_q(py, "100", isInverse=inverse)]}, {py: [record]})
    con = _build(src)
    rows = _bounds(con, py, "100", "registry")
    assert [d for d, _, _, _ in rows] == list(range(1, 11))
    bounds = [b for _, b, _, _ in rows]
    assert bounds == (sorted(bounds, reverse=True) if inverse else sorted(bounds))
    assert _set(con, py, "100", "registry")["is_ordered"]
    implied = [b for _, b, is_implied, _ in rows if is_implied]
    assert len(implied) == (1 if shape == "deciles9" else 0)
    assert set(bounds) - set(implied) <= set(values)
    assert implied in ([], [100.0 if inverse else 0.0])     # values here lie in 0..100
    if shape == "percentiles":
        assert rows[0][3] == (99 if inverse else 1)


def test_out_of_order_source_values_are_flagged_not_fixed(tmp_path):
    # PY2017 AQI18-like: the measure says inverse, the values ascend. Kept as is, is_ordered = false.
    src = _write_source(tmp_path, {2017: [_q(2017, "AQI18", isInverse=True)]}, {2017: [
        _bench(measureId="AQI18", performanceYear=2017, deciles=[0, 91.06, 94.97, 98.84, 99.64, 100, 100, 100, 100])]})
    con = _build(src)
    assert _set(con, 2017, "AQI18", "claims")["is_ordered"] is False
    assert [b for _, b, _, _ in _bounds(con, 2017, "AQI18", "claims")][:3] == [100, 0, 91.06]


# ------------------------------------------------------------------------------------------------ against ../shared

needs_shared = pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="../shared/reference/qpp-measures-data absent")


@pytest.fixture(scope="module")
def ref():
    """The committed tables, as DuckDB views ref.<table>."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA ref")
    for spec in CATALOG_TABLES:
        con.execute(f"CREATE VIEW ref.{spec.name} AS SELECT * FROM '{REFERENCE_DIR / (spec.name + '.parquet')}'")
    return con


@pytest.mark.shared
@needs_shared
def test_committed_tables_equal_a_fresh_compile_of_shared(tmp_path, ref):
    counts = catalog.compile_catalog(SHARED_REFERENCE, tmp_path)
    for spec in CATALOG_TABLES:
        fresh = f"'{tmp_path / (spec.name + '.parquet')}'"
        n = ref.execute(f"SELECT count(*) FROM ref.{spec.name}").fetchone()[0]
        assert n == counts[spec.name], f"{spec.name}: committed {n} rows, source gives {counts[spec.name]}"
        diff = ref.execute(f"SELECT count(*) FROM ((SELECT * FROM ref.{spec.name} EXCEPT ALL SELECT * FROM {fresh}) "
                           f"UNION ALL (SELECT * FROM {fresh} EXCEPT ALL SELECT * FROM ref.{spec.name}))").fetchone()[0]
        assert diff == 0, f"data/reference/{spec.name}.parquet is stale: run scripts/compile_reference.py"
        types = ref.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ref.{spec.name})").fetchall()
        assert types == [(c.name, c.type) for c in spec.columns]


@pytest.mark.shared
@needs_shared
def test_benchmark_values_equal_the_source_json(ref):
    # Independent of the compiler's SQL: every source value is at the decile the spec assigns it.
    direct = {1: 1, 10: 2, 20: 3, 30: 4, 40: 5, 50: 6, 60: 7, 70: 8, 80: 9, 90: 10}
    inverse = {99: 1, 90: 2, 80: 3, 70: 4, 60: 5, 50: 6, 40: 7, 30: 8, 20: 9, 10: 10}
    got = {}
    for py, mid, method, decile, bound in ref.execute(
            "SELECT performance_year, measure_id, submission_method, decile, lower_bound FROM ref.benchmarks").fetchall():
        got[(py, mid, method, decile)] = bound
    checked = 0
    for py in range(2017, 2027):
        measures = {m["measureId"]: m for m in json.loads((SHARED_REFERENCE / "measures" / str(py) / "measures-data.json").read_text())}
        for b in json.loads((SHARED_REFERENCE / "benchmarks" / f"{py}.json").read_text()):
            key = (py, b["measureId"], b["submissionMethod"])
            if "percentiles" in b:
                mapping = inverse if b["isInverse"] else direct
                for p, d in mapping.items():
                    assert got[key + (d,)] == b["percentiles"][str(p)], key
            else:
                first = 1 if len(b["deciles"]) == 10 else 2
                for i, v in enumerate(b["deciles"]):
                    assert got[key + (first + i,)] == v, key
                if first == 2:
                    m = measures.get(b["measureId"])
                    inv = m["isInverse"] if m else b["deciles"][0] > b["deciles"][-1]
                    implied = max(100, b["deciles"][0]) if inv else min(0, b["deciles"][0])
                    assert got[key + (1,)] == implied, key
            checked += 1
    assert checked == ref.execute("SELECT count(*) FROM ref.benchmark_sets").fetchone()[0] == 4043


@pytest.mark.shared
@needs_shared
def test_benchmark_counts_per_year_match_the_spec(ref):
    # scoring-rules.md §7: PY2017 572, 2018 480, 2019 449, 2020 386 (package 5.5.4); 2023 385, 2024 358, 2025 380,
    # 2026 293 (git HEAD = this snapshot). The spec's 2021 (367) and 2022 (260) come from the older 5.5.4 package;
    # this snapshot (v11.1.0) has 368 and 372 (2022 adds the cost benchmarks), so those two are pinned to the snapshot.
    counts = dict(ref.execute("SELECT performance_year, count(*) FROM ref.benchmark_sets GROUP BY 1").fetchall())
    assert counts == {2017: 572, 2018: 480, 2019: 449, 2020: 386, 2021: 368, 2022: 372,
                      2023: 385, 2024: 358, 2025: 380, 2026: 293}
    # every benchmark has exactly deciles 1..10
    assert ref.execute("SELECT count(*) FROM ref.benchmarks").fetchone()[0] == 10 * sum(counts.values())


@pytest.mark.shared
@needs_shared
def test_only_three_source_benchmarks_are_out_of_order(ref):
    # PY2017 AQI18 is inverse by its measure but ascends; PY2018 CAHPS_9 and PY2020 ACRAD25 jump back once.
    assert ref.execute("SELECT performance_year, measure_id, submission_method FROM ref.benchmark_sets "
                       "WHERE NOT is_ordered ORDER BY 1").fetchall() == [
        (2017, "AQI18", "registry"), (2018, "CAHPS_9", "certifiedSurveyVendor"), (2020, "ACRAD25", "registry")]


@pytest.mark.shared
@needs_shared
def test_topped_out_counts_match_the_spec(ref):
    # §7: isToppedOut / isToppedOutByProgram counts, (T,T) and (T,F): 2023 71/24, 2024 73/25, 2025 64/42, 2026 58/46.
    rows = ref.execute("""
        SELECT performance_year,
               count(*) FILTER (WHERE is_topped_out AND is_topped_out_by_program),
               count(*) FILTER (WHERE is_topped_out AND NOT is_topped_out_by_program)
        FROM ref.benchmark_sets WHERE performance_year >= 2023 GROUP BY 1 ORDER BY 1""").fetchall()
    assert rows == [(2023, 71, 24), (2024, 73, 25), (2025, 64, 42), (2026, 58, 46)]


@pytest.mark.shared
@needs_shared
def test_flat_and_defined_topped_out_lists_match_the_spec(ref):
    def flat(py):
        return set(ref.execute("SELECT measure_id || ' ' || submission_method FROM ref.benchmark_sets "
                               "WHERE is_flat AND performance_year = ?", [py]).fetchall())
    wi = {f"{m} cmsWebInterface" for m in ("001", "236", "110", "112", "113", "134", "226", "318")}
    cr = {f"{m} {s}" for m in ("001", "236") for s in ("claims", "registry")}
    # §7 flat 1/10/.../99 lists: 2023-2024 {001, 236 claims/registry/WI, WI 110/112/113/134/226/318}
    assert flat(2023) == flat(2024) == {(x,) for x in cr | wi}
    # 2025 {001, 236 claims/registry, 001SSP, 112SSP, 134SSP, 236SSP}; 2026 {001, 236 claims/registry, 112SSP, 113SSP}
    assert flat(2025) == {(x,) for x in cr | {f"{m}SSP registry" for m in ("001", "112", "134", "236")}}
    assert flat(2026) == {(x,) for x in cr | {"112SSP registry", "113SSP registry"}}
    # §2.1 defined topped-out measures; all carry isToppedOut = true, isToppedOutByProgram = false
    dto = dict(ref.execute("SELECT performance_year, list(DISTINCT measure_id ORDER BY measure_id) FROM ref.benchmark_sets "
                           "WHERE is_defined_topped_out GROUP BY 1").fetchall())
    y2025 = ["143", "249", "250", "360", "364", "395", "396", "397", "405", "406", "424", "430", "440", "463", "477"]
    assert dto == {2025: y2025, 2026: sorted(set(y2025) - {"424"} | {"144", "320", "350", "351"})}
    assert ref.execute("SELECT count(*) FROM ref.benchmark_sets WHERE is_defined_topped_out "
                       "AND NOT (is_topped_out AND NOT is_topped_out_by_program)").fetchone()[0] == 0


@pytest.mark.shared
@needs_shared
def test_spec_examples_of_decile_bounds(ref):
    def bounds(py, mid, method):
        return [b for (b,) in ref.execute("SELECT lower_bound FROM ref.benchmarks WHERE performance_year = ? AND "
                                          "measure_id = ? AND submission_method = ? ORDER BY decile",
                                          [py, mid, method]).fetchall()]
    # §3.2: 110 eCQM decile1 = 0.19, decile2 = 5.33, decile10 = 82.04; 001 eCQM decile1 = 99.52, decile2 = 93.33,
    # decile10 = 17.07 (PY2023, percentiles of CMS's 2023 source CSV)
    b110, b001 = bounds(2023, "110", "electronicHealthRecord"), bounds(2023, "001", "electronicHealthRecord")
    assert (b110[0], b110[1], b110[9]) == (0.19, 5.33, 82.04)
    assert (b001[0], b001[1], b001[9]) == (99.52, 93.33, 17.07)
    # §3.1: COST_ACOPD_1 PY2022 has 10 values, deciles 1..10, descending from 8232.91 to 3121.99
    acopd = bounds(2022, "COST_ACOPD_1", "administrativeClaims")
    assert (acopd[0], acopd[1], acopd[9]) == (8232.91, 6109.03, 3121.99) and acopd == sorted(acopd, reverse=True)
    # §2.1: PY2020 claims 001 flat inverse [100, 79.99, 70 ... 10] plus implied decile 1 = 100; PY2022 uses 80
    assert bounds(2020, "001", "claims") == [100, 100, 79.99, 70, 60, 50, 40, 30, 20, 10]
    assert bounds(2022, "001", "claims")[2] == 80
    # PY2017 claims 001 (inverse, 9 values): [100, 35, 25.71, ...] are deciles 2..10 after the implied 100
    assert bounds(2017, "001", "claims")[:3] == [100, 100, 35]


@pytest.mark.shared
@needs_shared
def test_cost_benchmarks_from_py2024_are_median_sd(ref):
    # §3.5: every PY2024-2026 cost benchmark is median/SD-built; PY2025+ also the admin-claims quality measures
    # 479/480/484/492; PY2023 none. A cost at the median interpolates to 7.5 points on all of them.
    rows = ref.execute("""
        SELECT performance_year, category, benchmark_source_format, count(*) FROM ref.benchmark_sets
        WHERE metric_type = 'costScore' AND performance_year >= 2023 GROUP BY ALL ORDER BY ALL""").fetchall()
    assert rows == [(2023, "cost", "percentiles", 24), (2023, "quality", "percentiles", 4),
                    (2024, "cost", "median_sd", 28), (2024, "quality", "percentiles", 4),
                    (2025, "cost", "median_sd", 33), (2025, "quality", "median_sd", 4),
                    (2026, "cost", "median_sd", 35), (2026, "quality", "median_sd", 4)]
    points = ref.execute("""
        SELECT min(7 + (l7.lower_bound - s.median) / (l7.lower_bound - l8.lower_bound)),
               max(7 + (l7.lower_bound - s.median) / (l7.lower_bound - l8.lower_bound))
        FROM ref.benchmark_sets s
        JOIN ref.benchmarks l7 USING (performance_year, measure_id, submission_method)
        JOIN ref.benchmarks l8 USING (performance_year, measure_id, submission_method)
        WHERE s.benchmark_source_format = 'median_sd' AND l7.decile = 7 AND l8.decile = 8""").fetchone()
    assert points == pytest.approx((7.5, 7.5), abs=0.01)


@pytest.mark.shared
@needs_shared
def test_measure_catalog_spot_checks(ref):
    # §2.2 cost measures per PY: 2017-2018 2; 2019 10; 2020-2021 20; 2022-2023 25; 2024 29; 2025-2026 35
    assert dict(ref.execute("SELECT performance_year, count(*) FROM ref.cost_measures GROUP BY 1").fetchall()) == \
        {2017: 2, 2018: 2, 2019: 10, 2020: 20, 2021: 20, 2022: 25, 2023: 25, 2024: 29, 2025: 35, 2026: 35}
    # §2.3: PY2024 IA weights medium 75 / high 30 (+ IA_PCMH without weight); PY2025-2026 no weights at all
    ia = ref.execute("SELECT performance_year, weight, count(*) FROM ref.ia_activities WHERE performance_year >= 2024 "
                     "GROUP BY ALL ORDER BY 1, 2 NULLS FIRST").fetchall()
    assert ia == [(2024, None, 1), (2024, "high", 30), (2024, "medium", 75), (2025, None, 104), (2026, None, 95)]
    # PY2017 PI is ACI: base measures required (§2.4)
    assert ref.execute("SELECT count(*) FROM ref.pi_measures WHERE performance_year = 2017 AND source_category <> 'aci'"
                       ).fetchone()[0] == 0
    # 001 is an inverse intermediate-outcome, high-priority measure every year it exists
    assert ref.execute("SELECT DISTINCT measure_type, is_inverse, is_high_priority, is_outcome FROM ref.quality_measures "
                       "WHERE measure_id = '001'").fetchall() == [("intermediateOutcome", True, True, True)]
    # the measures index has every record of measures-data.json: e.g. PY2017 1024 (894 quality, 35 aci, 93 ia, 2 cost)
    assert ref.execute("SELECT category, count(*) FROM ref.measures WHERE performance_year = 2017 GROUP BY 1 ORDER BY 1"
                       ).fetchall() == [("cost", 2), ("ia", 93), ("pi", 35), ("quality", 894)]
    assert ref.execute("""SELECT count(*) FROM ref.measures m
                          LEFT JOIN (SELECT performance_year, measure_id FROM ref.quality_measures UNION ALL
                                     SELECT performance_year, measure_id FROM ref.pi_measures UNION ALL
                                     SELECT performance_year, activity_id FROM ref.ia_activities UNION ALL
                                     SELECT performance_year, measure_id FROM ref.cost_measures) d
                          USING (performance_year, measure_id) WHERE d.measure_id IS NULL""").fetchone()[0] == 0
    # cost national averages: group and individual per measure; PY2026 has no file in the source
    assert dict(ref.execute("SELECT performance_year, count(*) FROM ref.cost_national_averages GROUP BY 1").fetchall()) == \
        {2023: 48, 2024: 56, 2025: 70}


@pytest.mark.shared
@needs_shared
def test_committed_tables_pass_their_pandera_contracts(ref):
    # The TableSpec's pandera schema: exact columns in order, types, non-null columns, unique grain key.
    import pandas as pd
    import pyarrow as pa
    to_pandas = {pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(),
                 pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}.get
    for spec in CATALOG_TABLES:
        frame = ref.sql(f"SELECT * FROM ref.{spec.name}").to_arrow_table().to_pandas(types_mapper=to_pandas)
        spec.pandera_schema().validate(frame)
