"""The counting-class registry (transforms/measures/counting_classes.py) is the one list the engine, the
reference schema and the compiled claims specification agree on, and the engine leaves no work table behind."""
from __future__ import annotations

import csv
from datetime import date

import duckdb

from mips.paths import DATA_DIR
from schemas.reference_claims import COUNTING_CLASSES as SCHEMA_CLASSES
from transforms.measures import counting_classes


def test_every_class_the_data_names_is_registered_once():
    assert counting_classes.NAMES == SCHEMA_CLASSES  # the reference schema's column description lists the same
    assert len(set(counting_classes.NAMES)) == len(counting_classes.NAMES)
    with open(DATA_DIR / "claims_spec" / "measure_counting_class.csv", newline="") as f:
        used = {row["counting_class"] for row in csv.DictReader(f)}
    assert used <= set(counting_classes.NAMES)


def test_fragments_are_built_from_the_registry():
    sql = counting_classes.sql_fragments("2024-01-01")
    # the classes whose instance needs the patient's other claims or lines have a step of their own
    assert sql["classes_with_own_step"] == "'visit', 'episode', 'episode_30_day', 'second_encounter', 'facility'"
    # flu season: January-March and October-December
    assert sql["opens_instance"] == ("CASE s.counting_class WHEN 'flu_season' THEN (month(k.dos) <= 3 OR "
                                     "month(k.dos) >= 10) ELSE TRUE END")
    assert "WHEN 'episode_30_day' THEN dos - DATE '2024-01-01'" in sql["pick_offset"]
    assert "{" not in "".join(sql.values())  # every placeholder filled
    assert set(counting_classes.work_tables()) >= {"m_ep_label", "m_w_assign", "m_first_dates", "m_visit_lines"}


def test_fragments_evaluate_as_the_classes_say():
    """A procedure instance is its date, a flu-season instance the season's first year (January 2024 belongs to
    the 2023-2024 season), a patient instance 0; the instance key text follows the same rule."""
    sql = counting_classes.sql_fragments("2024-01-01")
    con = duckdb.connect()
    rows = con.execute(f"""
        WITH c(counting_class, dos) AS (VALUES ('procedure', DATE '2024-03-05'), ('flu_season', DATE '2024-01-10'),
                                               ('flu_season', DATE '2024-10-10'), ('patient', DATE '2024-05-01'))
        SELECT counting_class, {sql['instance_ord']} AS inst_ord FROM c""").fetchall()
    assert rows == [("procedure", (date(2024, 3, 5) - date(1970, 1, 1)).days), ("flu_season", 2023),
                    ("flu_season", 2024), ("patient", 0)]
    keys = con.execute(f"""
        WITH s(counting_class, inst_ord, inst_text) AS (VALUES ('procedure', {(date(2024, 3, 5) - date(1970, 1, 1)).days},
                 NULL), ('flu_season', 2023, NULL), ('episode', 4, 'E11.9'), ('patient', 0, NULL))
        SELECT {sql['instance_key'].replace('s.counting_class', 'counting_class').replace('i.inst_ord', 'inst_ord')
                .replace('t.inst_text', 'inst_text')} FROM s""").fetchall()
    assert [k for (k,) in keys] == ["|2024-03-05", "|2023", "|E11.9", ""]
