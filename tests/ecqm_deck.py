"""Test helper: a CMS eCQM deck folder (tests/<Measure>/<patientId>/<Type>-<id>.json) as ``fhir_resource``.

Only for unit tests of the engine: the public path reads FHIR files through transforms/fhir_files.py. The folder of
one case holds one patient's record, so every resource in it belongs to that folder's Patient (the folder name is
the Patient.id in the deck). MeasureReports are the expected results, not input.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from mips.paths import SHARED_ECQM

DECK_TESTS = SHARED_ECQM / "tests"


def load_deck(con: duckdb.DuckDBPyConnection, measure_folder: str | Path) -> None:
    folder = Path(measure_folder) if Path(measure_folder).is_absolute() else DECK_TESTS / measure_folder
    glob = (folder / "*" / "*.json").as_posix()
    con.execute(f"""
        CREATE OR REPLACE TABLE fhir_resource AS
        SELECT filename AS source_file, 1::BIGINT AS source_row,
               regexp_extract(filename, '([^/]+)/[^/]+$', 1) AS person_id,
               json ->> '$.resourceType' AS resource_type, json ->> '$.id' AS resource_id, json AS resource
        FROM read_json_objects('{glob}', filename = true, format = 'auto')
        WHERE json ->> '$.resourceType' <> 'MeasureReport'
    """)
