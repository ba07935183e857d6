"""The counting classes of the claims measure engine, each with its SQL fragments, in one place.

A counting class says what one eligible instance of a measure is (docs/spec/claims-measure-logic.md,
"Counting classes"); each measure's class is data (data/claims_spec/measure_counting_class.csv, compiled
into ref.claims_measures). The engine's SQL files (sql/05_units.sql, sql/06_instances.sql,
sql/08_instances_view.sql) take their class-specific parts from here:

- ``opens_instance``: which claim results may open an instance (a condition on the date of service ``dos``);
- ``instance_ord``: for a class decided straight from its claim results, the integer that tells one
  patient's instances apart, over ``dos`` (in the order of the instance key's text); None for a class whose
  instance needs the patient's other claims or lines (episodes, windows, visits, ...): its own SQL step
  makes it from the materialised ``m_unit_claims``, in the work tables it lists;
- ``pick_offset``: which claim decides an instance when several give the same result (smaller first);
- ``instance_key``: the text after the person id in measure_instances.instance_key, over the instance's
  ``inst_ord`` and the part name ``inst_text`` of m_inst_parts.

A new class is one entry here plus, when it needs its own step, that step's SQL; the engine drops the
work tables listed here with its own (``work_tables``).
"""
from __future__ import annotations

from dataclasses import dataclass

_DAYS = "strftime(DATE '1970-01-01' + CAST(inst_ord AS INTEGER), '%Y-%m-%d')"


@dataclass(frozen=True)
class CountingClass:
    name: str
    instance: str                          # what one eligible instance is
    instance_ord: str | None = "0"         # SQL over dos; None: the class's own step assigns instances
    instance_key: str | None = None        # SQL over inst_ord, inst_text; None: '|' || inst_text when there is one
    opens_instance: str | None = None      # SQL over dos; None: every date of service
    pick_offset: str | None = None         # SQL over dos, period_start; None: 0
    work_tables: tuple[str, ...] = ()      # temporary tables of the class's own step


COUNTING_CLASSES = (
    CountingClass("patient", "one per patient in the period"),
    CountingClass("patient_intermediate_outcome", "one per patient, decided by the latest claim of the period",
                  pick_offset="1000 - (dos - DATE '{period_start}')"),
    CountingClass("procedure", "one per patient and date of service",
                  instance_ord="CAST(dos - DATE '1970-01-01' AS BIGINT)", instance_key=f"'|' || {_DAYS}"),
    CountingClass("visit", "one per qualifying claim line (claim, rendering NPI, line)", instance_ord=None,
                  work_tables=("m_visit_lines",)),
    CountingClass("episode", "one per episode: claims of a patient linked by a shared qualifying diagnosis",
                  instance_ord=None, work_tables=("m_ep_edges", "m_ep_label", "m_ep_label_next")),
    CountingClass("episode_30_day", "one per 30-day window opened by a date of service", instance_ord=None,
                  instance_key=f"'|' || {_DAYS}", pick_offset="dos - DATE '{period_start}'",
                  work_tables=("m_w_dates", "m_w_next", "m_w_starts", "m_w_assign")),
    CountingClass("flu_season", "one per patient and flu season (October to March)",
                  instance_ord="CAST(year(dos) - CASE WHEN month(dos) <= 3 THEN 1 ELSE 0 END AS BIGINT)",
                  instance_key="'|' || CAST(inst_ord AS VARCHAR)",
                  # (comparisons: DuckDB turns an IN list into a join over every claim result)
                  opens_instance="(month(dos) <= 3 OR month(dos) >= 10)"),
    CountingClass("second_encounter", "one per patient with at least two dates of service in the period",
                  instance_ord=None, work_tables=("m_first_dates",)),
    CountingClass("multiple_strata", "one per patient and stratum"),
    CountingClass("facility", "one per facility event (hospital discharge, ED visit) of the patient",
                  instance_ord=None),
)
BY_NAME = {c.name: c for c in COUNTING_CLASSES}
NAMES = tuple(BY_NAME)


def _qualified(sql: str, alias: str) -> str:
    return sql.replace("dos", f"{alias}.dos") if alias else sql


def _case(column: str, fragments: dict[str, str], default: str) -> str:
    """``CASE column WHEN 'class' THEN fragment ... ELSE default END``, or the default alone."""
    if not fragments:
        return default
    whens = " ".join(f"WHEN '{name}' THEN {sql}" for name, sql in fragments.items())
    return f"CASE {column} {whens} ELSE {default} END"


def sql_fragments(period_start: str) -> dict[str, str]:
    """The class-specific SQL the engine's files take as parameters (see the module's docstring)."""
    own_step = [c.name for c in COUNTING_CLASSES if c.instance_ord is None]
    return {
        "classes_with_own_step": ", ".join(f"'{name}'" for name in own_step),
        "opens_instance": _case("s.counting_class", {c.name: _qualified(c.opens_instance, "k")
                                                     for c in COUNTING_CLASSES if c.opens_instance}, "TRUE"),
        "instance_ord": _case("counting_class", {c.name: c.instance_ord for c in COUNTING_CLASSES
                                                 if c.instance_ord not in (None, "0")}, "0"),
        "pick_offset": _case("counting_class", {c.name: c.pick_offset.replace("{period_start}", period_start)
                                                for c in COUNTING_CLASSES if c.pick_offset}, "0"),
        "instance_key": _case("s.counting_class", {
            c.name: c.instance_key.replace("inst_ord", "i.inst_ord") for c in COUNTING_CLASSES if c.instance_key},
            "coalesce('|' || t.inst_text, '')"),
    }


def work_tables() -> tuple[str, ...]:
    """The temporary tables of the classes' own steps, for the engine to drop."""
    return tuple(t for c in COUNTING_CLASSES for t in c.work_tables)
