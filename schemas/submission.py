"""What a QPP submission needs beyond the measure results, published with each period from the inputs
(pi_input, ia_input, clinician_roster), so `mips export qpp` reads only the output folder."""
from __future__ import annotations

from schemas.tables import Column, TableSpec

_ENTITY = (
    Column("performance_year", "INTEGER", "MIPS performance year", nullable=False),
    Column("level", "VARCHAR", "'individual' (TIN/NPI) or 'group' (TIN)", nullable=False),
    Column("tin", "VARCHAR", "taxpayer identification number", nullable=False),
    Column("npi", "VARCHAR", "clinician NPI; NULL for the group level"),
)

PI_MEASUREMENTS = TableSpec(
    name="pi_measurements",
    grain="one row per (performance_year, level, tin, npi, measure_id) of the accepted pi_input rows",
    key=("performance_year", "level", "tin", "npi", "measure_id"),
    description="Promoting Interoperability numerators, denominators, attestations and exclusions as given, "
                "with the PI performance period.",
    columns=_ENTITY + (
        Column("measure_id", "VARCHAR", "PI measure or exclusion id (PI_EP_1, PI_LVPP_1)", nullable=False),
        Column("numerator", "BIGINT", "numerator of a proportion measure"),
        Column("denominator", "BIGINT", "denominator of a proportion measure"),
        Column("value", "BOOLEAN", "answer of a yes/no measure"),
        Column("exclusion_claimed", "BOOLEAN", "the measure's exclusion is claimed"),
        Column("period_start", "DATE", "first day of the PI performance period"),
        Column("period_end", "DATE", "last day of the PI performance period"),
    ),
)

IA_ATTESTATIONS = TableSpec(
    name="ia_attestations",
    grain="one row per (performance_year, level, tin, npi, activity_id) of the accepted ia_input rows",
    key=("performance_year", "level", "tin", "npi", "activity_id"),
    description="Improvement activities attested, with the days they were performed.",
    columns=_ENTITY + (
        Column("activity_id", "VARCHAR", "IA activity id", nullable=False),
        Column("start_date", "DATE", "first day the activity was performed"),
        Column("end_date", "DATE", "last day the activity was performed"),
    ),
)

SUBMISSION_ENTITIES = TableSpec(
    name="submission_entities",
    grain="one row per (performance_year, level, tin, npi) on the roster: each clinician and each TIN",
    key=("performance_year", "level", "tin", "npi"),
    description="Per entity, the roster's CEHRT ID and end-to-end reporting flag a QPP submission carries. "
                "A TIN's values come from its clinicians' rows.",
    columns=_ENTITY + (
        Column("clinicians", "BIGINT", "roster rows behind the entity (1 for an individual)", nullable=False),
        Column("cehrt_id", "VARCHAR", "the CEHRT ID; NULL when none or (group) when the clinicians give several"),
        Column("cehrt_ids_given", "BIGINT", "distinct CEHRT IDs on the entity's roster rows (a group needs one)",
               nullable=False),
        Column("end_to_end_reporting", "BOOLEAN", "quality data reported end to end (group: every clinician's)",
               nullable=False),
    ),
)

SUBMISSION_TABLES = (PI_MEASUREMENTS, IA_ATTESTATIONS, SUBMISSION_ENTITIES)
