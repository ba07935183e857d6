"""DuckDB's memory limit and spill folder of a run (mips/db.py): `--memory-limit` on `mips run` and `mips score`,
MIPS_DUCKDB_MEMORY_LIMIT and MIPS_DUCKDB_TEMP_DIRECTORY reach the DuckDB connections the run opens."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

import mips.period
from mips import db
from mips.cli import main
from tests.test_flow import make_inputs


def duckdb_reads(limit: str) -> str:
    """current_setting('memory_limit') as DuckDB shows ``limit`` (it prints its own units, e.g. 953.6 MiB)."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{limit}'")
    return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def setting(con, name: str) -> str:
    return con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


@pytest.fixture
def no_configuration(monkeypatch):
    monkeypatch.delenv(db.MEMORY_LIMIT_VARIABLE, raising=False)
    monkeypatch.delenv(db.TEMP_DIRECTORY_VARIABLE, raising=False)


@pytest.fixture
def opened(monkeypatch):
    """The memory limit and temp directory of every work database the period steps open."""
    seen = []
    real = mips.period.connect

    def recording(*args, **kwargs):
        con = real(*args, **kwargs)
        seen.append((setting(con, "memory_limit"), setting(con, "temp_directory")))
        return con
    monkeypatch.setattr(mips.period, "connect", recording)
    return seen


def test_the_default_limit_and_spill_folder_are_the_work_folders(tmp_path, no_configuration):
    con = db.connect(tmp_path / "work")
    assert setting(con, "memory_limit") == duckdb_reads(db.DEFAULT_MEMORY_LIMIT)
    assert setting(con, "temp_directory") == (tmp_path / "work" / "spill").as_posix()


def test_the_environment_sets_the_limit_and_an_argument_overrides_it(tmp_path, no_configuration, monkeypatch):
    monkeypatch.setenv(db.MEMORY_LIMIT_VARIABLE, "1GB")
    assert setting(db.connect(tmp_path / "a"), "memory_limit") == duckdb_reads("1GB")
    assert setting(db.connect(), "memory_limit") == duckdb_reads("1GB")
    assert setting(db.connect(tmp_path / "b", memory_limit="700MB"), "memory_limit") == duckdb_reads("700MB")


def test_a_bad_limit_is_refused_in_one_line(tmp_path, no_configuration, monkeypatch, capsys):
    with pytest.raises(ValueError, match="not a DuckDB memory limit"):
        db.check_memory_limit("3XB")
    # on the command line: argparse's usage error (exit 2), before anything runs
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--performance-year", "2024", "--output", str(tmp_path / "out"), "--memory-limit", "lots"])
    assert exit_info.value.code == 2
    assert "--memory-limit: 'lots' is not a DuckDB memory limit" in capsys.readouterr().err
    # in the environment: the run fails in one line naming the variable, and leaves no lock behind
    files = make_inputs(tmp_path / "in")
    monkeypatch.setenv(db.MEMORY_LIMIT_VARIABLE, "lots")
    code = main(["run", "--performance-year", "2024", "--medical-claim", str(files["medical_claim"]),
                 "--eligibility", str(files["eligibility"]), "--output", str(tmp_path / "out"), "--without-prefect"])
    err = capsys.readouterr().err
    assert code == 2 and f"{db.MEMORY_LIMIT_VARIABLE}: 'lots' is not a DuckDB memory limit" in err
    assert len(err.strip().splitlines()) == 1
    assert not list((tmp_path / "out").glob(".locks/*"))


def test_mips_run_memory_limit_reaches_the_runs_duckdb_and_is_restored_after(tmp_path, no_configuration, opened,
                                                                             monkeypatch):
    files = make_inputs(tmp_path / "in")
    code = main(["run", "--performance-year", "2024", "--medical-claim", str(files["medical_claim"]),
                 "--eligibility", str(files["eligibility"]), "--output", str(tmp_path / "out"), "--without-prefect",
                 "--memory-limit", "1GB", "--quiet"])
    assert code == 0
    assert [limit for limit, _ in opened] == [duckdb_reads("1GB")]
    assert db.MEMORY_LIMIT_VARIABLE not in os.environ  # the command's setting ends with the command
    # and the sharded path opens one DuckDB per shard, each with the same limit
    opened.clear()
    from mips import sharded
    shard_limits = []
    real = sharded.connect

    def recording(*args, **kwargs):
        con = real(*args, **kwargs)
        shard_limits.append(setting(con, "memory_limit"))
        return con
    monkeypatch.setattr(sharded, "connect", recording)
    assert main(["run", "--performance-year", "2024", "--medical-claim", str(files["medical_claim"]),
                 "--eligibility", str(files["eligibility"]), "--output", str(tmp_path / "out2"),
                 "--without-prefect", "--shards", "2", "--memory-limit", "1GB", "--quiet"]) == 0
    assert [limit for limit, _ in opened] == [duckdb_reads("1GB")]
    assert shard_limits == [duckdb_reads("1GB")] * 2


def test_mips_score_takes_the_memory_limit_too(tmp_path, no_configuration, opened):
    (tmp_path / "ent.csv").write_text("tin,npi,small_practice\n123456789,,false\n")
    (tmp_path / "ia.csv").write_text("tin,npi,activity_id\n123456789,,IA_PCMH\n")
    code = main(["score", "--performance-year", "2024", "--entities", str(tmp_path / "ent.csv"),
                 "--ia", str(tmp_path / "ia.csv"), "--output", str(tmp_path / "out"), "--memory-limit", "800MB"])
    assert code == 0
    assert [limit for limit, _ in opened] == [duckdb_reads("800MB")]
    assert db.MEMORY_LIMIT_VARIABLE not in os.environ


def test_spill_goes_to_the_configured_folder_and_is_removed_after(tmp_path, no_configuration, monkeypatch):
    """A sort bigger than a 50 MB limit spills: to MIPS_DUCKDB_TEMP_DIRECTORY (a folder of the connection's own)
    when set, and DuckDB removes that folder when the connection closes."""
    root = tmp_path / "fast-disk"
    monkeypatch.setenv(db.TEMP_DIRECTORY_VARIABLE, str(root))
    con = db.connect(tmp_path / "work", memory_limit="50MB")
    spill = Path(setting(con, "temp_directory"))
    assert spill.parent == root and spill.name.startswith("mips-spill-")
    assert oct(root.stat().st_mode & 0o777) == oct(0o700)  # spilled pages hold patient ids
    con.execute("SET threads = 1")
    con.execute("CREATE TABLE small AS SELECT range AS v FROM range(1000)")
    assert not spill.exists()  # DuckDB makes the folder when it first spills
    con.execute("CREATE TABLE sorted AS SELECT md5(range::VARCHAR) AS k, range AS v FROM range(1000000) ORDER BY k")
    assert con.execute("SELECT count(*) FROM sorted").fetchone()[0] == 1_000_000
    assert spill.is_dir() and any(spill.iterdir())
    con.close()
    assert not spill.exists()
    assert not (tmp_path / "work" / "spill").exists()
