"""The EHR generator (transforms/generate/ehr.py, `mips generate --patients`): FHIR NDJSON a run reads as is."""
from __future__ import annotations

import json

import duckdb
import pytest

from mips.cli import main
from transforms import ingest
from transforms.fhir_files import load_fhir_dir
from transforms.generate.ehr import RESOURCE_TYPES, VALUE_SETS, build_ehr, write_ndjson

# A few real codes of each value set (Office Visit CPT, Diabetes and Essential Hypertension SNOMED CT,
# HbA1c LOINC); the generator must draw only from the table it is given.
CODES = [(VALUE_SETS["office_visit"], "http://www.ama-assn.org/go/cpt", "99213"),
         (VALUE_SETS["office_visit"], "http://www.ama-assn.org/go/cpt", "99214"),
         (VALUE_SETS["diabetes"], "http://snomed.info/sct", "44054006"),
         (VALUE_SETS["hba1c"], "http://loinc.org", "4548-4"),
         (VALUE_SETS["hypertension"], "http://snomed.info/sct", "59621000")]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    con = duckdb.connect()
    con.execute("CREATE TABLE vs (value_set_oid VARCHAR, code_system VARCHAR, code VARCHAR)")
    con.executemany("INSERT INTO vs VALUES (?, ?, ?)", CODES)
    out = tmp_path_factory.mktemp("ehr")
    views = build_ehr(con, performance_year=2026, patients=500, seed=3, value_set_codes="vs").views
    counts = {rtype: write_ndjson(con, view, out / f"{rtype}.ndjson") for rtype, view in views.items()}
    return out, counts


def test_every_generated_resource_is_accepted_and_attributed(generated):
    out, counts = generated
    con = duckdb.connect()
    ingest._ensure_ingest_tables(con)
    load = load_fhir_dir(con, out)  # no defaults: every encounter names its clinician and TIN
    by_type = {t: (n, ok) for t, n, ok, _, _ in load.by_type}
    assert {t: n for t, (n, _) in by_type.items()} == counts
    assert all(n == ok for n, ok in by_type.values())  # nothing rejected or out of scope
    assert counts["Patient"] == 500 and load.encounters == counts["Encounter"]
    assert (load.encounters_defaulted_tin, load.encounters_defaulted_npi) == (0, 0)
    assert load.codings_without_system == 0 and load.datetimes_without_zone == 0
    # the attribution follows the generated clinicians: 1 clinician per 2,000 patients, at least 2, one TIN
    assert con.execute("SELECT count(DISTINCT npi), count(DISTINCT tin) FROM ehr_attribution").fetchone() == (2, 1)


def test_codes_come_from_the_value_sets_given(generated):
    out, _ = generated
    con = duckdb.connect()
    rows = con.execute(f"""
        SELECT DISTINCT json_extract_string(j, '$.resourceType'), c->>'$.system', c->>'$.code'
        FROM (SELECT CAST(line AS JSON) AS j FROM read_csv('{out}/*.ndjson', columns={{'line': 'VARCHAR'}},
              header=false, auto_detect=false, delim='\x1f', quote='', escape='')),
             unnest(json_extract(j, ['$.type[0].coding[0]', '$.code.coding[0]'])) t(c)
        WHERE c IS NOT NULL ORDER BY 1, 2, 3""").fetchall()
    allowed = {(s, c) for _, s, c in CODES} | {("http://loinc.org", "85354-9"),
                                              ("http://snomed.info/sct", "428191000124101")}
    assert {(s, c) for _, s, c in rows} <= allowed
    assert {t for t, _, _ in rows} == {"Encounter", "Condition", "Observation", "Procedure"}


def test_same_seed_same_files(generated, tmp_path):
    out, _ = generated
    con = duckdb.connect()
    con.execute("CREATE TABLE vs (value_set_oid VARCHAR, code_system VARCHAR, code VARCHAR)")
    con.executemany("INSERT INTO vs VALUES (?, ?, ?)", CODES)
    views = build_ehr(con, performance_year=2026, patients=500, seed=3, value_set_codes="vs").views
    write_ndjson(con, views["Observation"], tmp_path / "Observation.ndjson")
    first = sorted((out / "Observation.ndjson").read_text().splitlines())
    assert sorted((tmp_path / "Observation.ndjson").read_text().splitlines()) == first
    # blood pressure readings carry systolic and diastolic components in mmHg
    bp = [json.loads(line) for line in first if '"85354-9"' in line]
    assert bp and all([c["code"]["coding"][0]["code"] for c in r["component"]] == ["8480-6", "8462-4"] for r in bp)


def test_a_missing_value_set_is_a_clear_error():
    con = duckdb.connect()
    con.execute("CREATE TABLE vs AS SELECT * FROM (VALUES ('1.2.3', 'http://loinc.org', 'x')) t(value_set_oid, code_system, code)")
    with pytest.raises(ValueError, match="not in vs"):
        build_ehr(con, performance_year=2026, patients=10, value_set_codes="vs")


@pytest.mark.parametrize("argv, message", [
    (["--performance-year", "2026"], "give --claim-lines (claims) and/or --patients (EHR as FHIR)"),
    (["--performance-year", "2026", "--patients", "0"], "--patients must be at least 1"),
])
def test_generate_arguments(tmp_path, capsys, argv, message):
    assert main(["generate", *argv, "--output", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_generated_practice_runs_through_mips_run_without_defaults(tmp_path):
    # mips generate --patients writes Bulk Data NDJSON that mips run --fhir reads with nothing rejected and every
    # encounter attributed by its own participant and serviceProvider (no --default-tin / --default-npi); with
    # --ehr-format both, the same practice as flat clinical tables, whose run gives the same measure_populations.
    assert main(["generate", "--performance-year", "2026", "--patients", "300", "--ehr-format", "both",
                 "--format", "parquet", "--output", str(tmp_path / "in")]) == 0
    assert sorted(p.name for p in (tmp_path / "in" / "fhir").iterdir()) == sorted(f"{t}.ndjson" for t in RESOURCE_TYPES)
    assert sorted(p.name for p in (tmp_path / "in" / "clinical").iterdir()) == [
        "condition.parquet", "encounter.parquet", "observation.parquet", "patient.parquet", "procedure.parquet"]
    populations = {}
    for name, option, folder in (("fhir", "--fhir", "fhir"), ("tables", "--clinical-dir", "clinical")):
        out = tmp_path / f"out_{name}"
        assert main(["run", "--performance-year", "2026", option, str(tmp_path / "in" / folder), "--without-prefect",
                     "--output", str(out)]) == 0
        con = duckdb.connect()
        rejected, out_of_scope = con.execute(
            f"SELECT sum(rejected_rows), sum(out_of_scope_rows) FROM read_parquet('{out}/ingest_summary/**/*.parquet')"
        ).fetchone()
        assert (rejected, out_of_scope) == (0, 0)
        populations[name] = con.execute(f"""
            SELECT measure_id, * EXCLUDE (source, measure_id)
            FROM read_parquet('{out}/measure_populations/**/*.parquet', hive_partitioning = true)
            ORDER BY ALL""").fetchall()
    # 001 (diabetics), 236 (hypertensives) and the measures the office visits open, at both levels, per patient
    assert len(populations["fhir"]) > 300
    assert {r[0] for r in populations["fhir"]} >= {"001", "236"}
    assert populations["tables"] == populations["fhir"]


def test_generate_tables_only_writes_no_fhir(tmp_path, capsys):
    assert main(["generate", "--performance-year", "2026", "--patients", "20", "--ehr-format", "tables",
                 "--output", str(tmp_path / "in")]) == 0
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["clinical"]
    assert (tmp_path / "in" / "clinical" / "patient.csv").read_text().count("\n") == 21   # header + 20 patients
    assert "flat clinical tables (csv)" in capsys.readouterr().out
