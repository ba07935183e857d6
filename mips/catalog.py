"""The analysts' catalog: ``<output>/catalog.duckdb`` with one view per output table.

Each view reads that table's Parquet files of every published period
(``read_parquet('<output>/<table>/**/*.parquet', hive_partitioning=true)``), so it always shows
what the store has switched in. The file is built under a temporary name and moved over the
old one with ``os.replace``: a reader that has it open keeps the old file and is never blocked.
``table_docs`` holds the grain and column descriptions of every known table.
"""
from __future__ import annotations

import fcntl
import importlib
import os
import uuid
from pathlib import Path

import duckdb

from schemas.tables import TableSpec

CATALOG_FILE = "catalog.duckdb"
# Modules whose TableSpecs are output tables (a module not written yet is skipped).
SPEC_MODULES = ("schemas.ingest", "schemas.measures", "schemas.ecqm", "schemas.scoring", "mips.store")


def known_specs() -> dict[str, TableSpec]:
    """Every output TableSpec the code declares, by table name."""
    specs: dict[str, TableSpec] = {}
    for name in SPEC_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        for value in vars(module).values():
            if isinstance(value, TableSpec) and "performance_year" in value.partition_by:
                specs.setdefault(value.name, value)
    return dict(sorted(specs.items()))


def table_names(root: Path) -> list[str]:
    """Tables with at least one published period under ``root``."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_"))
                  and any(f.exists() for f in p.glob("performance_year=*/*.parquet")))


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(root: Path, table: str) -> str:
    pattern = (Path(root).resolve() / table).as_posix() + "/**/*.parquet"
    return (f'CREATE OR REPLACE VIEW "{table}" AS SELECT performance_year, * EXCLUDE (performance_year) '
            f"FROM read_parquet({_lit(pattern)}, hive_partitioning = true, union_by_name = true, "
            "hive_types = {'performance_year': INTEGER})")


def create_views(con: duckdb.DuckDBPyConnection, root: Path) -> list[str]:
    """Create one view per published table of ``root`` in ``con``, plus ``table_docs``.

    A declared table with no published period (e.g. measure_populations after a claims-only run) gets an empty
    view with its declared columns, so every documented query runs and answers "no rows" instead of failing.
    Returns the published tables."""
    tables = table_names(root)
    for table in tables:
        con.execute(view_sql(root, table))
    for name, spec in known_specs().items():
        if name not in tables:
            columns = ", ".join(f'CAST(NULL AS {c.type}) AS "{c.name}"' for c in spec.columns)
            con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT {columns} WHERE FALSE')
    rows = [(spec.name, spec.grain, i + 1, c.name, c.type, c.description)
            for spec in known_specs().values() for i, c in enumerate(spec.columns)]
    con.execute("CREATE OR REPLACE TABLE table_docs (table_name VARCHAR, grain VARCHAR, position INTEGER, "
                "column_name VARCHAR, column_type VARCHAR, description VARCHAR)")
    if rows:
        con.executemany("INSERT INTO table_docs VALUES (?, ?, ?, ?, ?, ?)", rows)
    return tables


def _catalog_lock(root: Path) -> int:
    """Take the kernel lock builders of the catalog share (blocking: a build takes well under a second)."""
    from mips.fs import private_mkdir

    fd = os.open(private_mkdir(Path(root) / ".locks") / "catalog.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def remove_catalog_leftovers(root: Path) -> None:
    """Half-built catalog files of killed builds (no build is going on while we hold the lock)."""
    fd = _catalog_lock(root)
    try:
        for leftover in Path(root).glob(".catalog-*.duckdb*"):
            leftover.unlink(missing_ok=True)
    finally:
        os.close(fd)


def build_catalog(root: Path) -> Path:
    """(Re)build ``<root>/catalog.duckdb`` and swap it in atomically. Returns its path.

    Builds of different periods take turns (a kernel lock on ``.locks/catalog.lock``), so the last
    swap always lists every published table; the builder removes what killed builds left behind.
    """
    from mips.fs import make_private, private_mkdir

    root = private_mkdir(Path(root))
    final = root / CATALOG_FILE
    fd = _catalog_lock(root)
    try:
        for leftover in root.glob(".catalog-*.duckdb*"):
            leftover.unlink(missing_ok=True)  # a build killed before its swap
        tmp = root / f".catalog-{uuid.uuid4().hex}.duckdb"
        try:
            con = duckdb.connect(str(tmp))
            try:
                create_views(con, root)
            finally:
                con.close()
            make_private(tmp)
            os.replace(tmp, final)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)
    finally:
        os.close(fd)
    return final


# ---------------------------------------------------------------- docs/outputs.md (generated: python -m mips.catalog)

EXAMPLE_QUERIES = (
    ("Measures below data completeness, by TIN (group level)", """\
SELECT performance_year, tin, count(*) AS measures,
       string_agg(measure_id, ', ' ORDER BY measure_id) AS measure_ids
FROM measure_results
WHERE level = 'group' AND computed AND NOT meets_data_completeness
GROUP BY ALL ORDER BY ALL"""),
    ("Final score and payment adjustment by year (groups)", """\
SELECT performance_year, tin, final_score, payment_adjustment_percent
FROM final_scores
WHERE level = 'group'
ORDER BY performance_year, tin"""),
    ("Unreported instances per clinician (no quality data code: the care gaps to close)", """\
SELECT performance_year, tin, npi, measure_id,
       count(*) FILTER (WHERE result IS NULL) AS unreported, count(*) AS instances
FROM measure_instances
WHERE level = 'individual'
GROUP BY ALL
ORDER BY unreported DESC, performance_year, tin, npi, measure_id
LIMIT 20"""),
    ("A patient's eCQM MeasureReport (populations per group, as CMS's test decks give them)", """\
SELECT measure_id, population_group, person_id, sum(initial_population) AS ip, sum(denominator) AS den,
       sum(denominator_exclusion) AS denex, sum(denominator_exception) AS denexcep, sum(numerator) AS numer
FROM measure_populations
WHERE level = 'group' AND performance_year = 2026
GROUP BY ALL ORDER BY ALL
LIMIT 20"""),
    ("Which run made each year's outputs", """\
SELECT performance_year, run_id, period_start, period_end, finished_at, code_version, rules_version
FROM run_manifest ORDER BY performance_year"""),
)

_LAYOUT = """\
# Output tables

Every run of a reporting period publishes all of that period's tables at once under the output
folder (default `out/`), one Parquet partition per performance year:

    out/<table>/performance_year=<PY>/data.parquet      what analysts read (a link into the current version)
    out/run_manifest/performance_year=<PY>/run_manifest.json
    out/catalog.duckdb                                  one view per table, rebuilt after each run
    out/.periods/<PY>/current -> v-<run id>-...         the published version of the period (do not edit)
    out/.locks/<PY>.lock                                held (flock) by the run of that period while it goes on
    out/_failed_run/<PY>/                               rejects of the last run stopped by the rejection threshold

Read a table over every published year with DuckDB:

    SELECT * FROM read_parquet('out/final_scores/**/*.parquet', hive_partitioning = true);

or with pandas / pyarrow (`pandas.read_parquet('out/final_scores')` reads the hive partitions),
or open the catalog (`duckdb -readonly out/catalog.duckdb`, or `duckdb.connect('out/catalog.duckdb',
read_only=True)` from Python), or use `mips sql`:

    mips sql --output out "select performance_year, count(*) from final_scores group by 1"

A new run of a period replaces that period's partition of every table in one atomic switch
(other years are untouched); a failed or killed run leaves the previous outputs as they were.
The same inputs and code give byte-identical data files; only `run_manifest` carries timestamps.
The partition files are symbolic links (the output folder needs a file system with symlinks, as
local Linux/macOS disks and NFS have); copy the folder with `cp -rL` to get plain files.
`table_docs` in the catalog lists the columns below. The catalog stores absolute paths: after
moving the output folder, the next run (or `python -c "from mips.catalog import build_catalog;
build_catalog('NEW/PATH')"`) rebuilds it; `mips sql` needs no rebuild.

## Example queries

"""


def outputs_markdown() -> str:
    parts = [_LAYOUT]
    for title, sql in EXAMPLE_QUERIES:
        parts.append(f"### {title}\n\n```sql\n{sql};\n```\n\n")
    parts.append("## Tables\n\nGenerated from the TableSpecs (`python -m mips.catalog > docs/outputs.md`). "
                 "Every table is partitioned by `performance_year` (the folder name; first column in the catalog "
                 "views).\n\n")
    parts += [spec.markdown() + "\n" for spec in known_specs().values()]
    return "".join(parts).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(outputs_markdown(), end="")
