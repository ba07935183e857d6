"""The compiled eCQM reference (data/reference/ecqm_*.parquet): bad sources, the supplement, and (marked ``shared``)
a recompile from ../shared/ecqm compared with the committed tables."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from mips.errors import PipelineError
from mips.paths import REFERENCE_DIR, SHARED_ECQM, SHARED_REFERENCE
from mips.reference_compiler.ecqm import build_ecqm, compile_ecqm
from schemas.reference_ecqm import ECQM_TABLES


def _deck(root: Path, value_sets: list[dict], cql: str = "library X version '1'\n", measures: list[dict] = ()) -> Path:
    for sub in ("valuesets", "cql", "measures"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, vs in enumerate(value_sets):
        (root / "valuesets" / f"ValueSet-{i}.json").write_text(json.dumps(vs))
    (root / "cql" / "X.cql").write_text(cql)
    for m in measures:
        (root / "measures" / f"Measure-{m['name']}.json").write_text(json.dumps(m))
    return root


def _vs(oid: str, codes: list[tuple[str, str]], total: int | None = None) -> dict:
    return {"resourceType": "ValueSet", "url": f"http://cts.nlm.nih.gov/fhir/ValueSet/{oid}", "version": "1",
            "title": f"VS {oid}", "expansion": {"total": total if total is not None else len(codes),
                                                "contains": [{"system": s, "code": c} for s, c in codes]}}


def _supplement(path: Path, rows: list[str]) -> Path:
    path.write_text("value_set_oid,version,title,code_system,code,display,source\n" + "\n".join(rows) + "\n")
    return path


def test_expansions_direct_codes_supplement_and_truncation(tmp_path):
    deck = _deck(tmp_path / "deck", [_vs("1.2.3", [("http://loinc.org", "1-1"), ("http://loinc.org", "1-1"),
                                                   ("http://snomed.info/sct", "9")], total=5),
                                     _vs("4.5.6", [("http://loinc.org", "2-2")])],
                 cql="library X version '1'\ncodesystem \"LOINC\": 'http://loinc.org'\n"
                     "codesystem Bare: 'http://example.org/bare'\n"
                     "code \"A\": '1-1' from \"LOINC\" display 'a'\ncode \"B\": 'b' from Bare\n")
    sup = _supplement(tmp_path / "s.csv", ["9.9.9,2,Missing,http://loinc.org,7-7,x,published list P",
                                           "1.2.3,1,VS,http://loinc.org,8-8,x,published list Q",
                                           "1.2.3,1,VS,http://loinc.org,1-1,x,published list Q",
                                           "4.5.6,1,VS,http://loinc.org,3-3,x,ignored: the deck's expansion is complete"])
    con = duckdb.connect()
    counts = build_ecqm(con, deck, supplement=sup)
    # 1.2.3: the duplicate coding counts once, the supplement adds the one code it lacks (8-8), 3 of 5 -> still
    # incomplete; 4.5.6 is complete in the deck and keeps its one code; 9.9.9 comes from the supplement only
    assert counts["ecqm_value_set_codes"] == 5
    sets = con.execute("SELECT value_set_oid, code_count, is_complete, source FROM ecqm_value_sets ORDER BY 1").fetchall()
    assert sets[0][:3] == ("1.2.3", 3, False) and sets[0][3].endswith("; completed from published list Q")
    assert sets[1][:3] == ("4.5.6", 1, True) and sets[1][3].startswith("CMS eCQM test deck")
    assert sets[2] == ("9.9.9", 1, True, "published list P")
    assert con.execute("SELECT library, code_name, code_system, code FROM ecqm_direct_codes ORDER BY 2").fetchall() == [
        ("X", "A", "http://loinc.org", "1-1"), ("X", "B", "http://example.org/bare", "b")]


def test_codes_of_an_earlier_expansion_fill_a_paged_value_set_but_leave_it_incomplete(tmp_path):
    # 1.2.3: the deck has 2 of its 3 codes. Codes of an earlier published expansion (expansion 'earlier') are added
    # (4 codes compiled, more than the total) but cannot say the set is whole: codes added to the code systems since
    # may still be missing. 7.8.9: 1 of 2, and a code of the same expansion ('same' or empty) completes it.
    deck = _deck(tmp_path / "deck", [_vs("1.2.3", [("http://loinc.org", "1-1"), ("http://loinc.org", "2-2")], total=3),
                                     _vs("7.8.9", [("http://loinc.org", "5-5")], total=2)],
                 cql="library X version '1'\n")
    sup = tmp_path / "s.csv"
    sup.write_text("value_set_oid,version,title,code_system,code,display,source,expansion\n"
                   "1.2.3,1,VS,http://loinc.org,3-3,x,earlier list E,earlier\n"
                   "1.2.3,1,VS,http://loinc.org,4-4,x,earlier list E,earlier\n"
                   "7.8.9,1,VS,http://loinc.org,6-6,x,same list S,\n")
    con = duckdb.connect()
    build_ecqm(con, deck, supplement=sup)
    sets = con.execute("SELECT value_set_oid, code_count, expansion_total, is_complete, source FROM ecqm_value_sets "
                       "ORDER BY 1").fetchall()
    assert sets[0][:4] == ("1.2.3", 4, 3, False) and sets[0][4].endswith("; filled from an earlier expansion: earlier list E")
    assert sets[1][:4] == ("7.8.9", 2, 2, True) and sets[1][4].endswith("; completed from same list S")
    sup.write_text("value_set_oid,version,title,code_system,code,display,source,expansion\n"
                   "1.2.3,1,VS,http://loinc.org,3-3,x,list,older\n")
    with pytest.raises(PipelineError, match="line 2: expansion must be empty, 'same' or 'earlier'"):
        build_ecqm(duckdb.connect(), deck, supplement=sup)


@pytest.mark.parametrize("bad, message", [
    ({"resourceType": "ValueSet", "expansion": {}}, "ValueSet without url"),
])
def test_bad_value_set_files_stop_with_the_file_named(tmp_path, bad, message):
    deck = _deck(tmp_path, [bad])
    with pytest.raises(PipelineError, match=message):
        build_ecqm(duckdb.connect(), deck, supplement=tmp_path / "none.csv")


def test_undeclared_code_system_and_bad_supplement_are_errors(tmp_path):
    deck = _deck(tmp_path / "a", [], cql="library X version '1'\ncode \"A\": '1' from \"Nowhere\"\n")
    with pytest.raises(PipelineError, match="undeclared code system Nowhere"):
        build_ecqm(duckdb.connect(), deck, supplement=tmp_path / "none.csv")
    deck = _deck(tmp_path / "b", [])
    sup = _supplement(tmp_path / "s.csv", ["9.9.9,2,Missing,http://loinc.org,7-7,x,"])  # no source
    with pytest.raises(PipelineError, match="line 2 needs value_set_oid, code_system, code and source"):
        build_ecqm(duckdb.connect(), deck, supplement=sup)
    with pytest.raises(PipelineError, match="no valuesets/ folder"):
        build_ecqm(duckdb.connect(), tmp_path / "missing")


needs_deck = pytest.mark.skipif(not (SHARED_ECQM / "valuesets").is_dir() or not SHARED_REFERENCE.is_dir(),
                                reason="../shared/ecqm or qpp-measures-data absent")


@pytest.mark.shared
@needs_deck
def test_committed_ecqm_tables_equal_a_fresh_compile_of_shared(tmp_path):
    compile_ecqm(SHARED_ECQM, tmp_path, qpp_source=SHARED_REFERENCE)
    con = duckdb.connect()
    for spec in ECQM_TABLES:
        fresh, committed = (tmp_path / f"{spec.name}.parquet").as_posix(), (REFERENCE_DIR / f"{spec.name}.parquet").as_posix()
        diff = con.execute(f"SELECT count(*) FROM ((SELECT * FROM '{fresh}' EXCEPT ALL SELECT * FROM '{committed}') "
                           f"UNION ALL (SELECT * FROM '{committed}' EXCEPT ALL SELECT * FROM '{fresh}'))").fetchone()[0]
        assert diff == 0, f"{spec.name} differs from a fresh compile: run scripts/compile_reference.py"


@pytest.mark.shared
@needs_deck
def test_facts_of_the_compiled_ecqm_reference():
    con = duckdb.connect()
    ref = REFERENCE_DIR.as_posix()
    # the 427 value sets the deck's measures reference, one (Tobacco Use Screening) from the supplement
    assert con.execute(f"SELECT count(*) FROM '{ref}/ecqm_value_sets.parquet'").fetchone()[0] == 427
    assert sorted(r[0] for r in con.execute(
        f"SELECT code FROM '{ref}/ecqm_value_set_codes.parquet' WHERE value_set_oid = '2.16.840.1.113883.3.526.3.1278'"
    ).fetchall()) == ["39240-7", "68535-4", "68536-2", "72166-2"]
    # every one of the 49 MIPS eCQMs maps to its MIPS id; CMS122 -> 001, CMS165 -> 236, CMS68 -> 130
    rows = dict(con.execute(f"SELECT measure_name, measure_id FROM '{ref}/ecqm_measures.parquet'").fetchall())
    assert len(rows) == 49 and None not in rows.values()
    assert (rows["CMS122FHIRDiabetesAssessGT9Pct"], rows["CMS165FHIRControllingHighBP"],
            rows["CMS68FHIRDocumentationCurrentMeds"]) == ("001", "236", "130")
    # CMS68 is episode-based with an exception and no exclusion
    assert con.execute(f"""SELECT list(population_code ORDER BY population_code) FROM '{ref}/ecqm_measure_groups.parquet'
                           WHERE measure_name = 'CMS68FHIRDocumentationCurrentMeds'""").fetchone()[0] == [
        "denominator", "denominator-exception", "initial-population", "numerator"]
