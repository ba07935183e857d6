"""TIN-sharded runs: `mips run --shards K` (transforms/shards.py splits, mips/sharded.py runs and merges, the flow puts
the shards on a Dask cluster through prefect-dask's DaskTaskRunner).

The promise: a sharded run publishes byte-identical Parquet to an unsharded run of the same inputs (every table
but the run manifest, which records the shards). The flow tests share one LocalCluster of 2 worker processes for
the module (starting one costs seconds) and the session's one Prefect test harness.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import duckdb
import pytest

from mips.cli import main
from mips.period import run_period_steps
from mips.sharded import run_sharded_steps
from mips.store import read_manifest
from tests.test_flow import make_inputs
from transforms.shards import load_shard_inputs, owned_rows_sql, shard_inputs, shard_of_sql

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def shard_of(tin: str, shards: int) -> int:
    """The documented rule, in Python: the first 15 hex digits of the TIN's MD5, modulo the shards."""
    return int(hashlib.md5(tin.encode()).hexdigest()[:15], 16) % shards


def tin_in_shard(shard: int, shards: int, start: int = 100000000) -> str:
    return next(f"{n:09d}" for n in range(start, start + 10_000) if shard_of(f"{n:09d}", shards) == shard)


def published(out: Path) -> dict[str, bytes]:
    """Each published table's Parquet bytes, but the run manifest's (it records the run's id, times and shards)."""
    files = {str(p.relative_to(out)): p.read_bytes() for p in out.glob("*/performance_year=*/*.parquet")}
    return {name: data for name, data in files.items() if not name.startswith("run_manifest/")}


def assert_same_parquet(unsharded: Path, sharded: Path) -> None:
    left, right = published(unsharded), published(sharded)
    assert len(left) >= 10 and sorted(left) == sorted(right)
    assert [name for name in left if left[name] != right[name]] == []


# ---------------------------------------------------------------- the split (tiny hand-made tables)

def test_the_shard_of_a_tin_is_the_documented_md5_rule():
    tins = ["123456789", "000000001", "901600707", "999999999"]
    con = duckdb.connect()
    for shards in (1, 2, 4, 7):
        sql = [con.execute(f"SELECT {shard_of_sql('?', shards)}", [t]).fetchone()[0] for t in tins]
        assert sql == [shard_of(t, shards) for t in tins]
    assert con.execute(f"SELECT {shard_of_sql('NULL', 4)}").fetchone()[0] is None


@pytest.fixture
def tiny_run():
    """Two shards; TIN A is in shard 0, TIN B in shard 1.
    Claims: P1 has a line at A and one at B, P2 one at B; P3 has eligibility but no claim.
    EHR: Q1 is attributed to A and to B, Q2 to B only, Q3 has resources but no attribution; ORG is a shared
    resource (no patient)."""
    a, b = tin_in_shard(0, 2), tin_in_shard(1, 2)
    con = duckdb.connect()
    con.execute(f"""
        CREATE TABLE medical_claim AS SELECT * FROM (VALUES ('L1', 'P1', '{a}', DATE '2024-03-01'),
            ('L2', 'P1', '{b}', DATE '2024-04-01'), ('L3', 'P2', '{b}', DATE '2024-05-01'))
            t(claim_id, person_id, billing_tin, claim_line_start_date);
        CREATE TABLE eligibility AS SELECT * FROM (VALUES ('P1', 'female'), ('P2', 'male'), ('P3', 'female'))
            t(person_id, gender);
        CREATE TABLE clinician_roster AS SELECT * FROM (VALUES ('{a}', '1234567893'), ('{b}', '1234567893'))
            t(tin, npi);
        CREATE TABLE ehr_attribution AS SELECT * FROM (VALUES ('Q1', 'E1', '{a}'), ('Q1', 'E2', '{b}'),
            ('Q2', 'E3', '{b}')) t(person_id, encounter_id, tin);
        CREATE TABLE fhir_resource AS SELECT person_id, resource_type, CAST(resource AS JSON) AS resource FROM (VALUES
            ('Q1', 'Patient', '{{"id": "Q1"}}'), ('Q1', 'Encounter', '{{"id": "E1"}}'), ('Q1', 'Encounter', '{{}}'),
            ('Q2', 'Patient', '{{}}'), ('Q3', 'Patient', '{{}}'), (NULL, 'Organization', '{{}}'))
            t(person_id, resource_type, resource);
        CREATE TABLE _rejects (source_file VARCHAR);   -- the ingest's bookkeeping: stays with the run
        CREATE TABLE rejects (source_file VARCHAR, tin VARCHAR);  -- an output of the run so far: stays""")
    return con, a, b


def test_split_sends_rows_by_tin_and_person_level_rows_where_the_person_is_named(tiny_run, tmp_path):
    con, a, b = tiny_run
    counts = shard_inputs(con, tmp_path, 2, staying={"rejects"})
    assert counts == {
        "medical_claim": [1, 2],      # L1 at A; L2 and L3 at B
        "clinician_roster": [1, 1],
        "eligibility": [1, 2],        # P1 in both (claims at A and B), P2 in shard 1; P3 (no claim) in none
        "ehr_attribution": [2, 3],    # Q1's whole record in both shards; Q2 in shard 1
        "fhir_resource": [5, 5],      # shard 0: Q1 (3), Q3 (unattributed: shard 0), ORG; shard 1: Q1 (3), Q2, ORG
    }
    shard1 = duckdb.connect()
    assert load_shard_inputs(shard1, tmp_path / "1") == {t: n[1] for t, n in counts.items()}
    # the run's column types come back (a DATE stays a date, JSON stays JSON)
    types = dict(shard1.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                "WHERE table_name IN ('medical_claim', 'fhir_resource')").fetchall())
    assert types["claim_line_start_date"] == "DATE" and types["resource"] == "JSON"
    assert shard1.execute("SELECT list(person_id ORDER BY person_id) FROM eligibility").fetchone()[0] == ["P1", "P2"]
    assert not {"_rejects", "rejects"} & {r[0] for r in shard1.execute("SHOW TABLES").fetchall()}


def test_a_table_without_a_shard_rule_stops_the_split(tiny_run, tmp_path):
    con, _, _ = tiny_run
    con.execute("CREATE TABLE mystery_input (tin VARCHAR)")
    with pytest.raises(ValueError, match="no shard rule for table.*mystery_input"):
        shard_inputs(con, tmp_path, 2, staying={"rejects"})


def test_a_shard_owns_the_rows_of_its_tins_and_shard_0_the_rows_without_one(tiny_run):
    con, a, b = tiny_run
    con.execute(f"CREATE TABLE scores AS SELECT * FROM (VALUES ('{a}', 1), ('{b}', 2), (NULL, 3)) t(tin, x)")
    owned = [sorted(r[0] for r in con.execute(f"SELECT x FROM ({owned_rows_sql(con, 'scores', k, 2)})").fetchall())
             for k in range(2)]
    assert owned == [[1, 3], [2]]
    with pytest.raises(ValueError, match="no tin column"):
        owned_rows_sql(con, "eligibility", 0, 2)


# ---------------------------------------------------------------- whole runs

def test_sharded_steps_with_an_empty_shard_publish_the_same_parquet(tmp_path):
    # test_flow's inputs: one TIN (123456789, in shard 1 of 2), so shard 0 has no TIN at all and nothing to compute
    inputs = make_inputs(tmp_path / "in", bad_npi_lines=0)
    assert shard_of("123456789", 2) == 1
    run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path / "plain")
    report = run_sharded_steps(performance_year=2024, files=inputs, output_root=tmp_path / "sharded", shards=2)
    assert_same_parquet(tmp_path / "plain", tmp_path / "sharded")
    assert read_manifest(tmp_path / "sharded", 2024)["parameters"]["shards"] == 2
    assert any("2 TIN shard(s)" in n for n in report.notes)


@pytest.fixture(scope="module")
def dask_address():
    """One LocalCluster of 2 single-threaded worker processes for the module's flow runs."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def sample_unsharded(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample-unsharded")
    assert main(["run", "--performance-year", "2024", "--input-dir", str(SAMPLE), "--output", str(out),
                 "--without-prefect", "--quiet"]) == 0
    return out


def test_claims_sample_on_a_dask_cluster_of_2_workers_in_4_shards_is_byte_identical(
        prefect_harness, dask_address, sample_unsharded, tmp_path, capsys):
    out = tmp_path / "sharded"
    assert main(["run", "--performance-year", "2024", "--input-dir", str(SAMPLE), "--output", str(out),
                 "--shards", "4", "--dask-address", dask_address]) == 0
    printed = capsys.readouterr().out
    assert_same_parquet(sample_unsharded, out)
    # the same reconciliation: every input row accepted, out of scope or rejected (864 rejects in the sample)
    summary = duckdb.connect().execute(f"SELECT sum(input_rows), sum(accepted_rows + out_of_scope_rows + rejected_rows), "
                         f"sum(rejected_rows) FROM read_parquet('{out}/ingest_summary/*/*.parquet')").fetchone()
    assert summary[0] == summary[1] and summary[2] == 864
    assert read_manifest(out, 2024)["parameters"]["shards"] == 4
    assert "4 TIN shard(s)" in printed


@pytest.fixture(scope="module")
def fhir_three_tins(tmp_path_factory):
    """A generated 200-patient practice (FHIR NDJSON) spread over three Organizations whose TINs fall in shards 0, 1
    and 2 of 4: shard 3 has no TIN. Encounters of every fifth patient go to several TINs, so such a patient's whole
    record goes to several shards."""
    folder = tmp_path_factory.mktemp("fhir-gen")
    assert main(["generate", "--performance-year", "2026", "--patients", "200", "--output", str(folder),
                 "--quiet"]) == 0
    fhir = folder / "fhir"
    tins = [tin_in_shard(k, 4) for k in range(3)]
    (fhir / "Organization.ndjson").write_text("".join(json.dumps(
        {"resourceType": "Organization", "id": f"org-{k}", "name": f"Practice {k}",
         "identifier": [{"system": "urn:oid:2.16.840.1.113883.4.4", "value": tin}]}) + "\n"
        for k, tin in enumerate(tins)))

    def provider(match: re.Match) -> str:
        patient, visit = int(match.group(1)), int(match.group(2))
        org = (patient + visit) % 3 if patient % 5 == 0 else patient % 3
        return match.group(0).replace('"Organization/org-0"', f'"Organization/org-{org}"')

    encounters = fhir / "Encounter.ndjson"
    encounters.write_text(re.sub(r'"id":"enc-(\d+)-(\d+)".*"Organization/org-0"', provider, encounters.read_text()))
    return fhir, tins


def test_fhir_input_on_the_dask_cluster_is_byte_identical_with_an_empty_shard(
        prefect_harness, dask_address, fhir_three_tins, tmp_path):
    fhir, tins = fhir_three_tins
    assert main(["run", "--performance-year", "2026", "--fhir", str(fhir), "--output", str(tmp_path / "plain"),
                 "--without-prefect", "--quiet"]) == 0
    assert main(["run", "--performance-year", "2026", "--fhir", str(fhir), "--output", str(tmp_path / "sharded"),
                 "--shards", "4", "--dask-address", dask_address, "--quiet"]) == 0
    assert_same_parquet(tmp_path / "plain", tmp_path / "sharded")
    # the three TINs are all in the results, patients attributed to several TINs counted under each, once
    results = duckdb.connect().execute(f"SELECT DISTINCT tin FROM read_parquet('{tmp_path}/sharded/measure_results/*/*.parquet') "
                         "ORDER BY tin").fetchall()
    assert [r[0] for r in results] == sorted(tins)
    assert {shard_of(t, 4) for t in tins} == {0, 1, 2}


def test_a_file_level_error_stops_a_sharded_run_with_one_line_before_any_shard(
        prefect_harness, dask_address, tmp_path, capfd):
    inputs = make_inputs(tmp_path / "in")
    inputs["medical_claim"].write_text("claim_id;person_id\nC1;P1\n")
    code = main(["run", "--performance-year", "2024", "--medical-claim", str(inputs["medical_claim"]),
                 "--eligibility", str(inputs["eligibility"]), "--output", str(tmp_path / "out"), "--shards", "4",
                 "--dask-address", dask_address])
    err = capfd.readouterr().err
    assert code != 0
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert errors == [f"mips run: error: {inputs['medical_claim']}: is delimited by semicolons, expected commas (CSV)"]
    assert "Traceback" not in err and "shard" not in err
    assert not list((tmp_path / "out").glob("*/performance_year=2024"))  # nothing published


@pytest.mark.parametrize("argv, message", [
    (["--shards", "0"], "--shards must be at least 1"),
    (["--dask-address", "tcp://127.0.0.1:1"], "give --shards K too"),
    (["--shards", "2", "--dask-address", "tcp://127.0.0.1:1", "--without-prefect"], "drop --without-prefect"),
])
def test_shard_options_are_checked_before_anything_runs(tmp_path, capsys, argv, message):
    inputs = make_inputs(tmp_path / "in")
    assert main(["run", "--performance-year", "2024", "--medical-claim", str(inputs["medical_claim"]),
                 "--eligibility", str(inputs["eligibility"]), "--output", str(tmp_path / "out"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_mips_run_help_documents_the_shard_options(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--shards K" in text and "--dask-address ADDRESS" in text and "Dask" in text


def test_without_an_address_the_flow_starts_a_local_cluster_of_one_single_threaded_process_per_shard_and_cpu():
    import os

    from flows.period import dask_task_runner

    local = dask_task_runner(4)
    assert local.address is None and local.cluster_class == "distributed.LocalCluster"
    assert local.cluster_kwargs["n_workers"] == min(4, os.cpu_count()) and local.cluster_kwargs["threads_per_worker"] == 1
    assert local.cluster_kwargs["processes"] is True
    assert dask_task_runner(1).cluster_kwargs["n_workers"] == 1
    remote = dask_task_runner(8, "tcp://scheduler:8786")
    assert remote.address == "tcp://scheduler:8786" and remote.cluster_class is None


def test_person_ids_that_prefix_each_other_keep_the_unsharded_order(tmp_path):
    # measure_instances is ordered by ..., stratum, person_id, then the instance's own part; instance_key is
    # person_id || '|' || part. Sorting on instance_key alone would put 'P10|2024-03-01' before 'P1|2024-05-01'
    # ('0' < '|'), while the person order puts P1 first. The sample's patients renamed P0, P1, ... P10, ... make
    # such pairs under one TIN and measure; the sharded merge must still give the unsharded bytes.
    folder = tmp_path / "in"
    folder.mkdir()
    renamed = "'P' || CAST(CAST(substr(person_id, 3) AS INTEGER) AS VARCHAR)"
    for name in ("medical_claim", "eligibility"):
        duckdb.sql(f"COPY (SELECT * REPLACE ({renamed} AS person_id) FROM read_csv('{SAMPLE / (name + '.csv')}', "
                   f"all_varchar = true)) TO '{folder / (name + '.csv')}' (HEADER)")
    inputs = {"medical_claim": folder / "medical_claim.csv", "eligibility": folder / "eligibility.csv"}
    run_period_steps(performance_year=2024, files=inputs, output_root=tmp_path / "plain")
    run_sharded_steps(performance_year=2024, files=inputs, output_root=tmp_path / "sharded", shards=2)
    pairs = duckdb.sql(f"""
        SELECT count(*) FROM (
            SELECT person_id, lead(person_id) OVER (PARTITION BY level, tin, npi, measure_id, stratum
                                                    ORDER BY person_id, instance_key) AS next_person, instance_key
            FROM read_parquet('{tmp_path}/plain/measure_instances/*/*.parquet'))
        WHERE starts_with(next_person, person_id) AND next_person <> person_id AND contains(instance_key, '|')""").fetchall()[0][0]
    assert pairs > 0  # the input does hold the case
    assert_same_parquet(tmp_path / "plain", tmp_path / "sharded")
