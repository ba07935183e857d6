"""A virtual group's or APM entity's own submission (rule ``pooled_entity.own_submission``).

CMS scores what the entity submitted for all its clinicians (an APM Entity reporting the APP quality measures for
its participants, a virtual group reporting as one). Score-only mode otherwise builds the entity's rows from its
members' TIN rows (transforms/scoring/virtual_groups.py). Input: pooled_entity_submission_input (performance_year,
entity_id, category quality|pi|ia|cahps, measure_id and the category's columns). For each entity and category it
submitted, its rows replace the pooled ones; the pooled rows stay for the categories it did not submit; cahps rows
are the entity's CAHPS for MIPS survey (``_sc_pooled_cahps``, scored as measure 321 by transforms/scoring/cahps.py).
"""
from __future__ import annotations

from mips.errors import PipelineError
from transforms.scoring.pi import pi_measure_id_sql
from transforms.scoring.rules import Rules

_QUALITY = ("measure_id, collection_type, stratum, eligible_population, eligible_population_exclusion, "
            "eligible_population_exception, performance_met, performance_not_met, end_to_end_reported")
_PI = "measure_id, numerator, denominator, value, exclusion_claimed"
_COLUMNS = {"collection_type": "VARCHAR", "stratum": "VARCHAR", "eligible_population": "BIGINT",
            "eligible_population_exclusion": "BIGINT", "eligible_population_exception": "BIGINT",
            "performance_met": "BIGINT", "performance_not_met": "BIGINT", "end_to_end_reported": "BOOLEAN",
            "numerator": "BIGINT", "denominator": "BIGINT", "value": "BOOLEAN", "exclusion_claimed": "BOOLEAN",
            "score": "DOUBLE", "reliable": "BOOLEAN"}


def stage_submissions(con, performance_year: int, relation: str | None, columns_of, rules: Rules) -> None:
    """``_sc_own`` (this year's rows, typed), ``_sc_own_used`` (entity_id, category) and ``_sc_pooled_cahps`` empty.
    A pi row's measure id is read as the PI input's is (``pi_measure_id_sql``: ACI_/PI_ by the year's rules)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _sc_own_used (entity_id VARCHAR, category VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE _sc_pooled_cahps (tin VARCHAR, ssm_id VARCHAR, score DOUBLE, reliable BOOLEAN)")
    present = columns_of(con, relation)
    if present is None:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _sc_own AS SELECT NULL::VARCHAR AS entity_id,
                        NULL::VARCHAR AS category, NULL::VARCHAR AS measure_id,
                        {', '.join(f'NULL::{t} AS {c}' for c, t in _COLUMNS.items())} LIMIT 0""")
        return
    missing = {"performance_year", "entity_id", "category", "measure_id"} - present
    if missing:
        raise PipelineError(f"entity submission input: missing column(s) {', '.join(sorted(missing))}")
    from transforms.scoring.engine import _COLLECTION_TYPES  # the spellings the quality input accepts

    cols = ", ".join(f"CAST({c} AS {t}) AS {c}" if c in present else f"NULL::{t} AS {c}" for c, t in _COLUMNS.items())
    spelled = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _COLLECTION_TYPES.items())
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_own AS
    SELECT upper(trim(entity_id)) AS entity_id, lower(trim(category)) AS category,
           CASE WHEN lower(trim(category)) = 'quality' AND regexp_matches(trim(measure_id), '^[0-9]{{1,2}}$')
                THEN lpad(trim(measure_id), 3, '0')
                WHEN lower(trim(category)) = 'pi' THEN {pi_measure_id_sql(rules)}
                ELSE upper(trim(measure_id)) END AS measure_id, {cols}
    FROM {relation} WHERE performance_year = {int(performance_year)}""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _sc_own AS SELECT * REPLACE (
                        CASE regexp_replace(lower(collection_type), '[^a-z]', '', 'g') {spelled}
                             ELSE trim(collection_type) END AS collection_type, nullif(trim(stratum), '') AS stratum)
                    FROM _sc_own""")
    bad_q, bad_c = con.execute("""
        SELECT count(*) FILTER (WHERE category = 'quality' AND (collection_type IS NULL OR eligible_population IS NULL
                                OR performance_met IS NULL OR performance_not_met IS NULL)),
               count(*) FILTER (WHERE category = 'cahps' AND (score IS NULL OR score < 0 OR score > 100))
        FROM _sc_own""").fetchall()[0]
    if bad_q:
        raise PipelineError(f"entity submission input: {bad_q} quality row(s) without collection_type, "
                            "eligible_population, performance_met or performance_not_met")
    if bad_c:
        raise PipelineError(f"entity submission input: {bad_c} cahps row(s) without a score in 0..100")


def replace_with_own(con, members: str) -> None:
    """For each pooled entity of ``members`` (pool_id, tin, ...) and each category it submitted itself, its own rows
    replace the rows pooled from its members (rule pooled_entity.own_submission); its cahps rows are kept."""
    con.execute(f"""INSERT INTO _sc_own_used
                    SELECT DISTINCT entity_id, category FROM _sc_own
                    WHERE entity_id IN (SELECT pool_id FROM {members})""")
    for category, columns in (("quality", _QUALITY), ("pi", _PI), ("ia", "measure_id AS activity_id")):
        used = (f"(SELECT entity_id FROM _sc_own_used WHERE category = '{category}' "
                f"AND entity_id IN (SELECT pool_id FROM {members}))")
        con.execute(f"DELETE FROM _sc_in_{category} WHERE npi IS NULL AND tin IN {used}")
        con.execute(f"""INSERT INTO _sc_in_{category} BY NAME
                        SELECT entity_id AS tin, NULL AS npi, {columns} FROM _sc_own
                        WHERE category = '{category}' AND entity_id IN {used}""")
    con.execute(f"""INSERT INTO _sc_pooled_cahps
                    SELECT entity_id, measure_id, score, coalesce(reliable, TRUE) FROM _sc_own
                    WHERE category = 'cahps' AND entity_id IN (SELECT pool_id FROM {members})""")


def check_all_used(con) -> None:
    """Every submitting entity is a virtual group or APM entity of the year: else a one-line error naming it."""
    unknown = con.execute("""SELECT DISTINCT entity_id FROM _sc_own
                             WHERE entity_id NOT IN (SELECT entity_id FROM _sc_own_used) ORDER BY 1 LIMIT 3""").fetchall()
    if unknown:
        raise PipelineError(f"entity submission input: {', '.join(r[0] for r in unknown)} is neither a virtual group "
                            "(--virtual-groups) nor a pooled APM entity (--apm) of this performance year")


def cahps_relation(con, cahps: str | None, columns_of) -> str | None:
    """The CAHPS relation to score: the TINs' surveys (``cahps``) and the pooled entities' own."""
    n = con.execute("SELECT count(*) FROM _sc_pooled_cahps").fetchall()[0][0]
    if not n:
        return cahps
    present = columns_of(con, cahps)
    if present is None:
        return "_sc_pooled_cahps"
    reliable = "CAST(reliable AS BOOLEAN)" if "reliable" in present else "NULL::BOOLEAN"
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _sc_all_cahps AS
                    SELECT CAST(tin AS VARCHAR) AS tin, CAST(ssm_id AS VARCHAR) AS ssm_id, CAST(score AS DOUBLE) AS score,
                           {reliable} AS reliable FROM {cahps}
                    UNION ALL SELECT * FROM _sc_pooled_cahps""")
    return "_sc_all_cahps"
