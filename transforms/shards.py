"""TIN shards of a period run: which ingested rows each shard's measures and scores need, and which output rows
each shard owns.

Every measure and score is computed per TIN or per TIN/NPI, so a run splits by TIN with no cross-talk. A TIN's
shard is a stable hash: the first 15 hex digits of the MD5 of the nine-digit TIN, as an integer, modulo the number of
shards (``int(hashlib.md5(tin.encode()).hexdigest()[:15], 16) % shards``: the same on every machine, DuckDB
version and run, unlike DuckDB's ``hash()``).

How each ingested table is split (``SHARD_RULES``; a table the run holds without a rule stops the split, so a new
input cannot be silently dropped or duplicated):

- rows of a TIN (claim lines after the billing TIN is chosen, encounters of the claims-coded extract, roster, PI,
  IA, cost): to the shard of their TIN;
- rows of an encounter (conditions, procedures of the extract): with their encounter;
- person-level rows that are not per TIN (eligibility, facility events, the extract's patients): to every shard
  whose rows name the person;
- EHR (FHIR or flat clinical tables): a patient's whole record (every resource, every attribution row) to the
  shard of each TIN the patient is attributed to; shared resources (Organization, Practitioner, ...) to every
  shard; a patient attributed to no TIN to shard 0.

A shard may so hold a patient attributed to a TIN of another shard; it computes that TIN's rows too, and
``owned_rows_sql`` keeps only the rows of its own TINs (rows with no TIN: shard 0), so every output row comes
from exactly one shard.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from schemas.tables import TableSpec


def shard_of_sql(tin: str, shards: int) -> str:
    """SQL of the shard (0 .. shards-1) of a TIN expression; NULL for a NULL TIN."""
    return f"(CAST(('0x' || left(md5({tin}), 15)) AS BIGINT) % {int(shards)})"


@dataclass(frozen=True)
class ShardRule:
    """How one ingested table is split: by its TIN column, with the encounters of another table, with the persons
    of other tables, or as EHR records."""
    table: str
    tin: str | None = None                    # the row's TIN column: one shard per row
    encounters_of: str | None = None          # rows of an encounter: where that table's encounter went
    persons_of: tuple[str, ...] = ()          # person-level rows: to every shard whose rows of these tables name the person
    ehr_record: bool = False                  # a patient's whole record, by the patient's attributed TINs
    shared_when_no_person: bool = False       # rows without a person (shared FHIR resources): to every shard


SHARD_RULES: tuple[ShardRule, ...] = (
    ShardRule("medical_claim", tin="billing_tin"),                 # after transforms.sources.tuva.choose_billing_tin
    ShardRule("medical_claim_outside_period", tin="billing_tin"),  # low-volume determination segments
    ShardRule("encounter", tin="billing_tin"),
    ShardRule("clinician_roster", tin="tin"),
    ShardRule("pi_input", tin="tin"),
    ShardRule("ia_input", tin="tin"),
    ShardRule("cost_input", tin="tin"),
    ShardRule("condition", encounters_of="encounter"),
    ShardRule("procedure", encounters_of="encounter"),
    ShardRule("eligibility", persons_of=("medical_claim", "medical_claim_outside_period")),
    ShardRule("patient", persons_of=("encounter",)),
    ShardRule("facility_event", persons_of=("medical_claim", "encounter")),
    ShardRule("ehr_attribution", ehr_record=True),
    ShardRule("fhir_resource", ehr_record=True, shared_when_no_person=True),
)
RULES = {r.table: r for r in SHARD_RULES}
MANIFEST = "tables.json"  # in each shard folder: the tables and their DuckDB column types


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _tables(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                      "AND NOT internal ORDER BY table_name").fetchall()]


def shard_inputs(con: duckdb.DuckDBPyConnection, folder: Path, shards: int,
                 staying: frozenset[str] | set[str] = frozenset()) -> dict[str, list[int]]:
    """Write each shard's part of the run's ingested tables to ``folder/<k>/<table>.parquet`` (k = 0 .. shards-1;
    every shard gets every table, maybe empty) with ``folder/<k>/tables.json`` naming the tables and column types.
    Tables whose names start with an underscore (the ingest's bookkeeping) and the tables named in ``staying`` (the
    run's own outputs so far: rejects, ingest_summary, ...) stay with the run. Returns each table's row count per
    shard."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    tables = [t for t in _tables(con) if not t.startswith("_") and t not in staying]
    unknown = [t for t in tables if t not in RULES]
    if unknown:
        raise ValueError(f"no shard rule for table(s) {', '.join(unknown)} (transforms/shards.py SHARD_RULES)")
    present = set(tables)
    shard = lambda tin: shard_of_sql(tin, shards)  # noqa: E731
    # the patients of the EHR and the shards of their attributed TINs (unattributed patients: shard 0)
    con.execute("CREATE OR REPLACE TEMP TABLE _shard_ehr_persons (person_id VARCHAR, shard BIGINT)")
    if "ehr_attribution" in present:
        con.execute(f"INSERT INTO _shard_ehr_persons SELECT DISTINCT person_id, {shard('tin')} FROM ehr_attribution")
    if "fhir_resource" in present:
        con.execute("""INSERT INTO _shard_ehr_persons SELECT DISTINCT person_id, 0 FROM fhir_resource f
                       WHERE person_id IS NOT NULL AND NOT EXISTS
                             (SELECT 1 FROM _shard_ehr_persons p WHERE p.person_id = f.person_id)""")
    counts: dict[str, list[int]] = {}
    listed: dict[str, list] = {}
    all_shards = f"(SELECT range AS shard FROM range({int(shards)}))"
    for table in sorted(tables, key=lambda t: (RULES[t].tin is None, RULES[t].encounters_of is not None, t)):
        rule = RULES[table]
        if rule.tin:
            assigned = f"SELECT t.*, {shard(f't.{_q(rule.tin)}')} AS _shard FROM {_q(table)} t"
        elif rule.encounters_of:
            source = rule.encounters_of
            assigned = (f"SELECT t.*, e._shard FROM {_q(table)} t JOIN (SELECT DISTINCT encounter_id, "
                        f"{shard('billing_tin')} AS _shard FROM {_q(source)}) e USING (encounter_id)")
            if source not in present:
                assigned = f"SELECT t.*, CAST(NULL AS BIGINT) AS _shard FROM {_q(table)} t WHERE false"
        elif rule.persons_of:
            sources = [s for s in rule.persons_of if s in present]
            persons = " UNION ".join(
                f"SELECT DISTINCT person_id, {shard(_q(RULES[s].tin))} AS _shard FROM {_q(s)}" for s in sources)
            assigned = (f"SELECT t.*, p._shard FROM {_q(table)} t JOIN ({persons}) p USING (person_id)" if sources
                        else f"SELECT t.*, CAST(NULL AS BIGINT) AS _shard FROM {_q(table)} t WHERE false")
        else:  # an EHR record
            assigned = f"SELECT t.*, p.shard AS _shard FROM {_q(table)} t JOIN _shard_ehr_persons p USING (person_id)"
            if rule.shared_when_no_person:
                assigned += (f" UNION ALL SELECT t.*, s.shard FROM {_q(table)} t CROSS JOIN {all_shards} s "
                             "WHERE t.person_id IS NULL")
        types = con.execute(f"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                            "AND schema_name = 'main' ORDER BY column_index", [table]).fetchall()
        con.execute(f"CREATE OR REPLACE TEMP TABLE _shard_rows AS {assigned}")
        per_shard = dict(con.execute("SELECT _shard, count(*) FROM _shard_rows GROUP BY 1").fetchall())
        counts[table] = [int(per_shard.get(k, 0)) for k in range(shards)]
        for k in range(shards):
            target = Path(folder) / str(k)
            target.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY (SELECT * EXCLUDE (_shard) FROM _shard_rows WHERE _shard = {k}) TO "
                        f"{sql_literal((target / f'{table}.parquet').as_posix())} (FORMAT parquet)")
        listed[table] = [list(t) for t in types]
        con.execute("DROP TABLE _shard_rows")
    for k in range(shards):  # every shard gets its folder and manifest, also when it has no rows at all
        target = Path(folder) / str(k)
        target.mkdir(parents=True, exist_ok=True)
        (target / MANIFEST).write_text(json.dumps(listed, indent=1) + "\n")
    con.execute("DROP TABLE _shard_ehr_persons")
    return counts


def load_shard_inputs(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    """Create the shard's tables from ``shard_inputs``'s files, with the run's column types; returns row counts."""
    manifest = Path(folder) / MANIFEST
    listed = json.loads(manifest.read_text()) if manifest.exists() else {}
    counts = {}
    for table, types in listed.items():
        casts = ", ".join(f"CAST({_q(c)} AS {t}) AS {_q(c)}" for c, t in types)
        path = sql_literal((Path(folder) / f"{table}.parquet").as_posix())
        con.execute(f"CREATE OR REPLACE TABLE {_q(table)} AS SELECT {casts} FROM read_parquet({path})")
        counts[table] = int(con.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0])
    return counts


def owned_rows_sql(con: duckdb.DuckDBPyConnection, relation: str, shard: int, shards: int) -> str:
    """The rows of an output relation this shard owns: those of its TINs (a row without a TIN: shard 0's).
    An output without a ``tin`` column cannot be split; it is refused (a new output needs a rule here)."""
    columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_q(relation)}").fetchall()}
    if "tin" not in columns:
        raise ValueError(f"output {relation} has no tin column; a sharded run cannot tell which shard owns its rows")
    return (f"SELECT * FROM {_q(relation)} WHERE coalesce({shard_of_sql('tin', shards)}, 0) = {int(shard)}")


def write_owned_outputs(con: duckdb.DuckDBPyConnection, outputs: dict[str, TableSpec], folder: Path, shard: int,
                        shards: int) -> dict[str, int]:
    """Write the rows this shard owns of each output to ``folder/<table>.parquet`` (cast to its spec, unsorted:
    the merge sorts once); returns the row counts."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for name, spec in sorted(outputs.items()):
        path = folder / f"{name}.parquet"
        owned = owned_rows_sql(con, name, shard, shards)
        con.execute(f"COPY ({spec.select_sql(f'({owned})', ordered=False)}) TO "
                    f"{sql_literal(path.as_posix())} (FORMAT parquet)")
        rows = int(con.execute(f"SELECT count(*) FROM read_parquet({sql_literal(path.as_posix())})").fetchone()[0])
        written[name] = rows
    return written


def merge_outputs(con: duckdb.DuckDBPyConnection, specs: dict[str, TableSpec], folders: list[Path]) -> dict[str, int]:
    """Create each output as a view over every shard's part, cast and in key order (spec.select_sql): the same rows
    in the same order as an unsharded run's table, sorted once, when published. Returns the row counts."""
    counts = {}
    for name, spec in sorted(specs.items()):
        files = [Path(f) / f"{name}.parquet" for f in folders if (Path(f) / f"{name}.parquet").exists()]
        listed = "[" + ", ".join(sql_literal(p.as_posix()) for p in files) + "]"
        for kind in ("VIEW", "TABLE"):
            con.execute(f"DROP {kind} IF EXISTS {_q(name)}")
        con.execute(f"CREATE VIEW {_q(name)} AS {spec.select_sql(f'read_parquet({listed})')}")
        counts[name] = int(con.execute(f"SELECT count(*) FROM read_parquet({listed})").fetchone()[0])
    return counts
