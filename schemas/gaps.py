"""Care gaps: the patients a clinician can still act on, per measure (written by `mips gaps`)."""
from __future__ import annotations

from schemas.tables import Column, TableSpec

CARE_GAPS = TableSpec(
    name="care_gaps",
    grain="one row per (performance_year, source, tin, npi, measure_id, stratum, instance_key): an eligible "
          "instance of a clinician that is not (yet) a good result",
    key=("performance_year", "source", "tin", "npi", "measure_id", "stratum", "instance_key"),
    description="Eligible instances (measure_instances, level individual) with no quality data code, with "
                "performance not met, or, for an inverse measure, with the poor result (performance met: e.g. "
                "001's HbA1c above 9%). Exclusions and exceptions are not gaps. Holds patient ids: for the "
                "practice's own call-back lists, never for logs.",
    partition_by=(),
    columns=(
        Column("performance_year", "INTEGER", "MIPS performance year", nullable=False),
        Column("source", "VARCHAR", "claims, encounters (or ehr for eCQMs): where the instance was counted",
               nullable=False),
        Column("tin", "VARCHAR", "billing TIN", nullable=False),
        Column("npi", "VARCHAR", "the clinician", nullable=False),
        Column("measure_id", "VARCHAR", "CMS quality measure id", nullable=False),
        Column("title", "VARCHAR", "CMS title of the measure"),
        Column("stratum", "VARCHAR", "CMS stratum name of a multi-strata measure; NULL otherwise"),
        Column("is_inverse", "BOOLEAN", "a lower performance rate is better (the met result is the poor one)"),
        Column("instance_key", "VARCHAR", "the instance (person; person|date; ...) as measure_instances has it",
               nullable=False),
        Column("person_id", "VARCHAR", "the patient (identifier: never logged)", nullable=False),
        Column("gap", "VARCHAR", "not reported (no quality data code), performance not met, or poor "
               "result (inverse measure)", nullable=False),
        Column("last_relevant_date", "DATE", "date of the visit that reported the result, or of the instance's "
                                             "first eligible visit when unreported (measure_instances keeps no later "
                                             "visit of an unreported instance)"),
        Column("decided_by_claim_id", "VARCHAR", "claim (or encounter) that reported the result, or the first "
                                                 "eligible one when unreported"),
        Column("closing_quality_data_codes", "VARCHAR",
               "what closes the gap on a claims or registry measure: the quality data codes (with modifiers) of "
               "the good result, options separated by ' or ', codes of one option by ' + ' (CMS claims "
               "specification of the year)"),
        Column("ecqm_value_set", "VARCHAR", "eCQM: the value set (OID and name) of the result that closes the gap; "
                                            "NULL until eCQM results are computed"),
        Column("ecqm_result_needed", "VARCHAR", "eCQM: the result needed (e.g. 'most recent HbA1c <= 9%'); NULL "
                                                "until eCQM results are computed"),
    ),
)
