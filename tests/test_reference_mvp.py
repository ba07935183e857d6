"""The compiled MIPS Value Pathways tables (data/reference/mvps, mvp_measures): the compile on tiny hand-made
sources, bad sources, determinism, and (marked ``shared``) a recompile of ../shared compared with the committed
tables plus spot checks against the source JSON."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from mips.errors import PipelineError
from mips.paths import REFERENCE_DIR, SHARED_REFERENCE
from mips.reference_compiler import mvp as compiler
from schemas.reference_mvp import MVP_TABLES


def _mvp(mid: str, **kw) -> dict:
    base = {"mvpId": mid, "clinicalTopic": "Topic", "title": f"MVP {mid}", "description": "d",
            "specialtiesMostApplicableTo": ["Cardiology", "Internal Medicine"], "clinicalTopics": "Topic",
            "qualityMeasureIds": ["001", "047"], "iaMeasureIds": ["IA_EPA_1"], "costMeasureIds": ["TPCC_1"],
            "foundationPiMeasureIds": ["PI_EP_1"], "foundationQualityMeasureIds": ["479", "484"],
            "administrativeClaimsMeasureIds": [], "hasCahps": False, "hasOutcomeAdminClaims": False}
    return base | kw


def _source(root: Path, mvps: dict[int, list], measures: dict[int, list] | None = None) -> Path:
    for py, rows in mvps.items():
        (root / "mvp" / str(py)).mkdir(parents=True, exist_ok=True)
        (root / "mvp" / str(py) / "mvp.json").write_text(json.dumps(rows))
    for py, rows in (measures or {}).items():
        (root / "measures" / str(py)).mkdir(parents=True, exist_ok=True)
        (root / "measures" / str(py) / "measures-data.json").write_text(json.dumps(rows))
    return root


_MEASURES = [{"measureId": "001", "category": "quality", "measureType": "intermediateOutcome", "isHighPriority": True},
             {"measureId": "047", "category": "quality", "measureType": "process", "isHighPriority": True},
             {"measureId": "479", "category": "quality", "measureType": "outcome", "isHighPriority": True},
             {"measureId": "IA_EPA_1", "category": "ia"}, {"measureId": "TPCC_1", "category": "cost"},
             {"measureId": "PI_EP_1", "category": "pi"}]


def test_one_row_per_listed_measure_with_its_role_and_catalog_facts(tmp_path):
    src = _source(tmp_path, {2024: [_mvp("G0053"), _mvp("M0004", qualityMeasureIds=["047"])]}, {2024: _MEASURES})
    con = duckdb.connect()
    counts = compiler.build_mvp_tables(con, src)
    # G0053: 2 quality + 1 IA + 1 cost + 1 PI + 2 population health = 7 rows; M0004: 1 quality + 5 = 6 rows
    assert counts == {"mvps": 2, "mvp_measures": 13}
    rows = con.execute("SELECT role, measure_id, category, position, is_outcome, in_catalog FROM mvp_measures "
                       "WHERE mvp_id = 'G0053' ORDER BY role, position").fetchall()
    assert rows == [("cost", "TPCC_1", "cost", 1, None, True), ("foundational_pi", "PI_EP_1", "pi", 1, None, True),
                    ("ia", "IA_EPA_1", "ia", 1, None, True),
                    ("population_health", "479", "quality", 1, True, True),
                    ("population_health", "484", "quality", 2, None, False),   # 484 is not in this tiny catalog
                    ("quality", "001", "quality", 1, True, True), ("quality", "047", "quality", 2, False, True)]
    # has_outcome_measure: G0053 lists 001 (intermediate outcome); M0004 lists only the process measure 047
    assert con.execute("SELECT mvp_id, has_outcome_measure, quality_measure_count, specialties FROM mvps ORDER BY 1"
                       ).fetchall() == [("G0053", True, 2, "Cardiology,Internal Medicine"), ("M0004", False, 1, "Cardiology,Internal Medicine")]


def test_an_outcome_administrative_claims_measure_counts_as_the_mvps_outcome(tmp_path):
    # G0055-like: no outcome among qualityMeasureIds, but 479 is listed as an administrative claims outcome measure
    src = _source(tmp_path, {2023: [_mvp("G0055", qualityMeasureIds=["047"], administrativeClaimsMeasureIds=["479"],
                                         hasOutcomeAdminClaims=True)]}, {2023: _MEASURES})
    con = duckdb.connect()
    compiler.build_mvp_tables(con, src)
    assert con.execute("SELECT has_outcome_measure, has_outcome_admin_claims FROM mvps").fetchone() == (True, True)


@pytest.mark.parametrize("rows, message", [
    ([{"title": "no id"}], "record 0 has no mvpId"),
    ([_mvp("G0053", qualityMeasureIds="001")], "field qualityMeasureIds is not a list"),
    ([_mvp("G0053"), _mvp("G0053")], "duplicate key"),
    ([_mvp("G0053", hasCahps="yes")], "wrong type"),
])
def test_bad_sources_stop_with_a_one_line_message(tmp_path, rows, message):
    src = _source(tmp_path, {2023: rows}, {2023: _MEASURES})
    with pytest.raises(PipelineError, match=message):
        compiler.build_mvp_tables(duckdb.connect(), src)


def test_missing_source_folder(tmp_path):
    with pytest.raises(PipelineError, match="reference source folder not found"):
        compiler.compile_mvp(tmp_path / "absent", tmp_path / "out")


def test_compile_is_deterministic(tmp_path):
    src = _source(tmp_path / "src", {2025: [_mvp("M0001"), _mvp("G0053")]}, {2025: _MEASURES})
    compiler.compile_mvp(src, tmp_path / "a")
    compiler.compile_mvp(src, tmp_path / "b")
    for spec in MVP_TABLES:
        assert (tmp_path / "a" / f"{spec.name}.parquet").read_bytes() == (tmp_path / "b" / f"{spec.name}.parquet").read_bytes()
    # rows in key order: G0053 before M0001
    assert duckdb.sql(f"SELECT mvp_id FROM '{tmp_path / 'a' / 'mvps.parquet'}'").fetchall() == [("G0053",), ("M0001",)]


# ------------------------------------------------------------------------------------------------ against ../shared

needs_shared = pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="../shared/reference/qpp-measures-data absent")


@pytest.mark.shared
@needs_shared
def test_committed_mvp_tables_equal_a_fresh_compile_of_shared(tmp_path):
    counts = compiler.compile_mvp(SHARED_REFERENCE, tmp_path)
    con = duckdb.connect()
    for spec in MVP_TABLES:
        committed, fresh = f"'{REFERENCE_DIR / (spec.name + '.parquet')}'", f"'{tmp_path / (spec.name + '.parquet')}'"
        assert con.execute(f"SELECT count(*) FROM {committed}").fetchone()[0] == counts[spec.name]
        diff = con.execute(f"SELECT count(*) FROM ((SELECT * FROM {committed} EXCEPT ALL SELECT * FROM {fresh}) UNION ALL "
                           f"(SELECT * FROM {fresh} EXCEPT ALL SELECT * FROM {committed}))").fetchone()[0]
        assert diff == 0, f"data/reference/{spec.name}.parquet is stale: run scripts/compile_reference.py"
        types = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {committed})").fetchall()
        assert types == [(c.name, c.type) for c in spec.columns]


@pytest.mark.shared
@needs_shared
def test_mvp_tables_match_the_source_json():
    con = duckdb.connect()
    ref = lambda name: f"'{REFERENCE_DIR / (name + '.parquet')}'"  # noqa: E731
    # MVPs per year, as the source lists them: 12 (2023), 16 (2024), 21 (2025), 27 (2026)
    assert dict(con.execute(f"SELECT performance_year, count(*) FROM {ref('mvps')} GROUP BY 1").fetchall()) == \
        {2023: 12, 2024: 16, 2025: 21, 2026: 27}
    for py in (2023, 2024, 2025, 2026):
        for m in json.loads((SHARED_REFERENCE / "mvp" / str(py) / "mvp.json").read_text()):
            got = con.execute(f"SELECT measure_id FROM {ref('mvp_measures')} WHERE performance_year = ? AND mvp_id = ? "
                              "AND role = 'quality' ORDER BY position", [py, m["mvpId"]]).fetchall()
            assert [g[0] for g in got] == m["qualityMeasureIds"]
    # every listed id is a measure or activity of its year (checked against measures-data.json by the compile)
    assert con.execute(f"SELECT count(*) FROM {ref('mvp_measures')} WHERE NOT in_catalog").fetchone()[0] == 0
    # G0055 Advancing Care for Heart Disease: 492 is its outcome administrative claims measure every year
    assert con.execute(f"SELECT DISTINCT measure_id, is_outcome FROM {ref('mvp_measures')} WHERE mvp_id = 'G0055' "
                       "AND role = 'administrative_claims_quality'").fetchall() == [("492", True)]
    # MVPs whose quality list has no outcome measure (then a high-priority measure fills the outcome slot)
    assert con.execute(f"SELECT performance_year, mvp_id FROM {ref('mvps')} WHERE NOT has_outcome_measure ORDER BY 1, 2"
                       ).fetchall() == [(2024, "M0004"), (2026, "M1500"), (2026, "M1501")]
    # the foundational population health measures are 479 and 484 in every MVP of every year
    assert con.execute(f"SELECT DISTINCT measure_id FROM {ref('mvp_measures')} WHERE role = 'population_health' "
                       "ORDER BY 1").fetchall() == [("479",), ("484",)]


@pytest.mark.shared
@needs_shared
def test_committed_mvp_tables_pass_their_pandera_contracts():
    import pandas as pd
    import pyarrow as pa
    to_pandas = {pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(),
                 pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}.get
    for spec in MVP_TABLES:
        frame = duckdb.sql(f"SELECT * FROM '{REFERENCE_DIR / (spec.name + '.parquet')}'").to_arrow_table().to_pandas(
            types_mapper=to_pandas)
        spec.pandera_schema().validate(frame)
