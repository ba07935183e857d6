"""One scorer for `mips score` and `mips run`: input tables in, measure_scores / category_scores /
final_scores out (DuckDB tables cast by their TableSpecs). Individual (npi set) and group (npi
NULL) entities are scored side by side.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from mips.errors import PipelineError
from schemas.scoring import CATEGORY_SCORES, FINAL_SCORES, MEASURE_SCORES
from transforms.scoring.cost import score_cost
from transforms.scoring.final import category_rows_sql, final_rows_sql, score_final
from transforms.scoring.ia import score_ia
from transforms.scoring.pi import pi_measure_id_sql, score_pi
from transforms.scoring.quality import score_quality
from transforms.scoring.reference import prepare_reference
from transforms.scoring._sql import lit_list
from transforms.scoring.rules import Rules, load_rules
from transforms.scoring.virtual_groups import stage_virtual_groups
from transforms.scoring.apm import apply_apm_ia, stage_apm
from transforms.scoring.facility import apply_facility_based
from transforms.scoring.cahps import stage_cahps
from transforms.scoring.selection import select_final_scores
from transforms.scoring.app import score_app_reporters, stage_app_reporters
from transforms.scoring.pooled_submissions import cahps_relation, check_all_used, replace_with_own, stage_submissions

# Columns each input table must offer (missing optional columns are read as NULL).
INPUT_COLUMNS = {
    "entity": {"tin": "VARCHAR", "npi": "VARCHAR", "small_practice": "BOOLEAN", "rural": "BOOLEAN", "hpsa": "BOOLEAN",
               "non_patient_facing": "BOOLEAN", "hospital_based": "BOOLEAN", "pcmh": "BOOLEAN", "pi_hardship": "BOOLEAN",
               "asc_based": "BOOLEAN", "clinician_type": "VARCHAR", "euc_quality": "BOOLEAN", "euc_cost": "BOOLEAN",
               "euc_ia": "BOOLEAN", "in_disaster_area": "BOOLEAN",
               "complex_patient_bonus": "DOUBLE", "average_hcc_risk_score": "DOUBLE", "dual_eligible_proportion": "DOUBLE",
               "prior_quality_achievement_percent": "DOUBLE", "facility_based": "BOOLEAN",
               "hvbp_total_performance_score": "DOUBLE",
               "part_b_allowed_charges": "DOUBLE", "mips_eligible": "BOOLEAN", "medicare_beneficiaries": "BIGINT"},
    "quality": {"tin": "VARCHAR", "npi": "VARCHAR", "measure_id": "VARCHAR", "collection_type": "VARCHAR",
                "eligible_population": "BIGINT", "eligible_population_exclusion": "BIGINT",
                "eligible_population_exception": "BIGINT", "performance_met": "BIGINT", "performance_not_met": "BIGINT",
                "stratum": "VARCHAR", "end_to_end_reported": "BOOLEAN"},
    "pi": {"tin": "VARCHAR", "npi": "VARCHAR", "measure_id": "VARCHAR", "numerator": "BIGINT", "denominator": "BIGINT",
           "value": "BOOLEAN", "exclusion_claimed": "BOOLEAN"},
    "ia": {"tin": "VARCHAR", "npi": "VARCHAR", "activity_id": "VARCHAR"},
    "cost": {"tin": "VARCHAR", "npi": "VARCHAR", "measure_id": "VARCHAR", "measure_value": "DOUBLE", "case_count": "BIGINT",
             "change_vs_prior_year": "VARCHAR"},
}


_COLLECTION_TYPES = {
    "claims": "claims", "medicarepartbclaims": "claims", "partbclaims": "claims", "medicareclaims": "claims",
    "registry": "registry", "mipscqm": "registry", "mipscqms": "registry", "cqm": "registry", "qcdr": "registry",
    "qualifiedregistry": "registry", "qualifiedclinicaldataregistry": "registry",
    "mipsclinicalqualitymeasure": "registry", "mipsclinicalqualitymeasures": "registry",
    "electronichealthrecord": "electronicHealthRecord", "ehr": "electronicHealthRecord",
    "ecqm": "electronicHealthRecord", "ecqms": "electronicHealthRecord",
    "electronicclinicalqualitymeasure": "electronicHealthRecord", "electronicclinicalqualitymeasures": "electronicHealthRecord",
    "cmswebinterface": "cmsWebInterface", "webinterface": "cmsWebInterface",
    "certifiedsurveyvendor": "certifiedSurveyVendor", "cahps": "certifiedSurveyVendor",
    "administrativeclaims": "administrativeClaims",
}


# The grain of each input (as schemas/inputs.py): a repeated key would be scored twice.
INPUT_KEYS = {"entity": ("tin", "npi"), "quality": ("tin", "npi", "measure_id", "collection_type", "stratum"),
              "pi": ("tin", "npi", "measure_id"), "ia": ("tin", "npi", "activity_id"), "cost": ("tin", "npi", "measure_id")}


def _columns(con, relation: str | None) -> set[str] | None:
    if relation is None:
        return None
    try:
        return {d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}
    except duckdb.CatalogException:
        return None


def _stage(con, kind: str, relation: str | None, target: str) -> None:
    """Copy an input table into ``target`` with the declared columns (absent table -> empty = not submitted)."""
    spec = INPUT_COLUMNS[kind]
    present = _columns(con, relation)
    if present is None:
        cols = ", ".join(f'NULL::{t} AS "{c}"' for c, t in spec.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT {cols} LIMIT 0")
        return
    cols = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' if c in present else f'NULL::{t} AS "{c}"' for c, t in spec.items())
    if "subgroup_id" in present:  # a subgroup's own rows are scored only in its MVP (transforms/scoring/mvp.py)
        relation = f"(SELECT * FROM {relation} WHERE nullif(trim(subgroup_id), '') IS NULL)"
    # Empty text is "no NPI" (a group row), whatever reader produced the table.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {target} AS
                    SELECT * REPLACE (nullif(trim(npi), '') AS npi, nullif(trim(tin), '') AS tin) FROM (SELECT {cols} FROM {relation})""")
    if kind == "quality":
        # Spellings of CMS submission methods users write ('EHR', 'MIPS CQM') and unpadded ids ('1' -> '001'),
        # before the duplicate check: '1'/'MIPS CQM' and '001'/'registry' are the same row, not two strata.
        con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        SELECT * REPLACE (
            CASE WHEN regexp_matches(trim(measure_id), '^[0-9]{{1,2}}$') THEN lpad(trim(measure_id), 3, '0')
                 ELSE trim(measure_id) END AS measure_id,
            CASE regexp_replace(lower(collection_type), '[^a-z]', '', 'g')
                {" ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _COLLECTION_TYPES.items())}
                ELSE trim(collection_type) END AS collection_type,
            nullif(trim(stratum), '') AS stratum)
        FROM {target}""")
    key = ", ".join(INPUT_KEYS[kind])
    missing_tin, duplicates = con.execute(f"""
        SELECT (SELECT count(*) FROM {target} WHERE tin IS NULL),
               (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {target} GROUP BY {key}) WHERE n > 1)""").fetchone()
    if missing_tin:
        raise PipelineError(f"{kind} input: {missing_tin} row(s) without a tin")
    if kind == "entity":
        # A proportion above 1 or a negative risk score is a unit mistake (percent for proportion), not data.
        bad_hcc, bad_dual = con.execute(f"""
            SELECT count(*) FILTER (WHERE average_hcc_risk_score < 0),
                   count(*) FILTER (WHERE dual_eligible_proportion < 0 OR dual_eligible_proportion > 1) FROM {target}""").fetchone()
        if bad_hcc:
            raise PipelineError(f"entity input: {bad_hcc} row(s) with a negative average_hcc_risk_score")
        if bad_dual:
            raise PipelineError(f"entity input: {bad_dual} row(s) with dual_eligible_proportion outside 0..1 "
                                "(a proportion, not a percent)")
        bad_tps = con.execute(f"""SELECT count(*) FROM {target}
                                  WHERE hvbp_total_performance_score < 0 OR hvbp_total_performance_score > 100""").fetchone()[0]
        if bad_tps:
            raise PipelineError(f"entity input: {bad_tps} row(s) with hvbp_total_performance_score outside 0..100")
    if duplicates:
        raise PipelineError(f"{kind} input: {duplicates} duplicate row(s) for the same ({key})")


def check_scaling_factors(rules, scaling_factor: float | None, exceptional_scaling_factor: float | None) -> None:
    """§414.1405(b)(3): 0 < SF <= 3; the exceptional factor is at most 1 (spec §4.2)."""
    sf_max = float(rules["payment.scaling_factor_max"])
    if scaling_factor is not None and not (0 < scaling_factor <= sf_max):
        raise PipelineError(f"--scaling-factor must be above 0 and at most {sf_max:g} (got {scaling_factor:g})")
    if exceptional_scaling_factor is not None and not (0 <= exceptional_scaling_factor <= 1):
        raise PipelineError(f"--exceptional-scaling-factor must be between 0 and 1 (got {exceptional_scaling_factor:g})")


def score_entities(con: duckdb.DuckDBPyConnection, *, performance_year: int, entity: str = "entity_input",
                   quality: str = "quality_input", pi: str = "pi_input", ia: str = "ia_input", cost: str = "cost_input",
                   scaling_factor: float | None = None, exceptional_scaling_factor: float | None = None,
                   benchmarks: str | None = None, quality_measures: str | None = None,
                   ia_activities: str | None = None, virtual_groups: str | None = "virtual_group_input",
                   apm: str | None = "apm_participation_input",
                   facility_conversion: str | None = "facility_score_conversion_input",
                   cahps: str | None = "cahps_input", rules: Rules | None = None,
                   entity_submissions: str | None = "pooled_entity_submission_input") -> None:
    """Create DuckDB tables measure_scores, category_scores, final_scores for one performance year.

    Entities are every (tin, npi) in the entity table or any category input; a missing input table
    means that category was not submitted. ``benchmarks``/``quality_measures``/``ia_activities``
    name hand-made reference tables (tests); by default the compiled reference is used. ``virtual_groups``
    names the virtual group membership table and ``apm`` the APM participation table (absent = none). ``rules``: the
    year's rules with a reporting path's values in place (MVP scoring); by default the year's rule file.
    """
    rules = rules if rules is not None else load_rules(performance_year)
    check_scaling_factors(rules, scaling_factor, exceptional_scaling_factor)
    prepare_reference(con, performance_year, benchmarks=benchmarks, quality_measures=quality_measures,
                      ia_activities=ia_activities)
    for kind, rel in (("entity", entity), ("quality", quality), ("pi", pi), ("ia", ia), ("cost", cost)):
        _stage(con, kind, rel, f"_sc_in_{kind}")
    # a PI id written with the other year's prefix (ACI_/PI_) is read with this year's (pi_measure_id_sql)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sc_in_pi AS SELECT * REPLACE ({pi_measure_id_sql(rules)} AS measure_id) "
                "FROM _sc_in_pi")
    # a virtual group's or APM entity's own submission (rule pooled_entity.own_submission)
    stage_submissions(con, performance_year, entity_submissions, _columns, rules)
    # virtual groups (§414.1315): their rows are built from the member TINs' staged inputs
    other_years = stage_virtual_groups(con, rules, virtual_groups, _columns)
    replace_with_own(con, "(SELECT virtual_group_id AS pool_id, tin FROM _sc_vg_members)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sc_vg_other_years AS SELECT {int(other_years)} AS n")
    # APM entities, QPs (rules apm.*): APM entities' rows are built from their participants' TINs
    stage_apm(con, rules, apm, _columns)
    # CAHPS for MIPS summary survey measures, scored on their benchmarks (rules cahps.*)
    check_all_used(con)
    stage_cahps(con, rules, cahps_relation(con, cahps, _columns), _columns)
    special = " OR ".join(f"coalesce(e.{f}, FALSE)" for f in rules["ia.special_status_flags"])
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_entities AS
    WITH keys AS (
        SELECT tin, npi FROM _sc_in_entity UNION SELECT tin, npi FROM _sc_in_quality UNION SELECT tin, npi FROM _sc_in_pi
        UNION SELECT tin, npi FROM _sc_in_ia UNION SELECT tin, npi FROM _sc_in_cost)
    SELECT CASE WHEN k.tin IN (SELECT virtual_group_id FROM _sc_vg_members) THEN 'virtual_group'
                WHEN k.tin IN (SELECT pool_id FROM _sc_apm_pool) THEN 'apm_entity'
                WHEN k.npi IS NULL THEN 'group' ELSE 'individual' END AS level, k.tin, k.npi,
           coalesce(e.small_practice, FALSE) AS small_practice, coalesce(e.rural, FALSE) AS rural,
           coalesce(e.hpsa, FALSE) AS hpsa, coalesce(e.non_patient_facing, FALSE) AS non_patient_facing,
           coalesce(e.hospital_based, FALSE) AS hospital_based, coalesce(e.pcmh, FALSE) AS pcmh,
           coalesce(e.asc_based, FALSE) AS asc_based, coalesce(e.euc_quality, FALSE) AS euc_quality,
           coalesce(e.euc_cost, FALSE) AS euc_cost, coalesce(e.euc_ia, FALSE) AS euc_ia,
           coalesce(e.in_disaster_area, FALSE) AS in_disaster_area, lower(trim(e.clinician_type)) AS clinician_type,
           -- PI of an individual of a listed clinician type is reweighted (rule pi.reweighted_clinician_types)
           k.npi IS NOT NULL AND coalesce(list_contains({lit_list(rules['pi.reweighted_clinician_types'])},
                                                      lower(trim(e.clinician_type))), FALSE) AS reweighted_clinician_type,
           coalesce(e.pi_hardship, FALSE) AS pi_hardship, e.complex_patient_bonus, e.average_hcc_risk_score,
           e.dual_eligible_proportion, e.prior_quality_achievement_percent,
           e.part_b_allowed_charges, e.mips_eligible, ({special}) AS special_status,
           e.facility_based, e.hvbp_total_performance_score
    FROM (SELECT DISTINCT tin, npi FROM keys WHERE tin IS NOT NULL) k
    LEFT JOIN (
        -- Small practice is a TIN-level status (15 or fewer clinicians billing under the TIN): an individual
        -- whose own row leaves it empty takes the group row's value.
        SELECT k2.tin, k2.npi, i.* EXCLUDE (tin, npi, small_practice),
               coalesce(i.small_practice, CASE WHEN k2.npi IS NOT NULL THEN g.small_practice END) AS small_practice
        FROM (SELECT DISTINCT tin, npi FROM keys WHERE tin IS NOT NULL) k2
        LEFT JOIN (SELECT * FROM _sc_in_entity QUALIFY row_number() OVER (PARTITION BY tin, npi) = 1) i
          ON i.tin = k2.tin AND i.npi IS NOT DISTINCT FROM k2.npi
        LEFT JOIN (SELECT tin, small_practice FROM _sc_in_entity WHERE npi IS NULL
                   QUALIFY row_number() OVER (PARTITION BY tin) = 1) g ON g.tin = k2.tin) e
      ON e.tin = k.tin AND e.npi IS NOT DISTINCT FROM k.npi
    """)
    # QPs (rule apm.qp_excluded) and whose score a member carries: an APM participant its APM entity's (first), a
    # virtual group member TIN and its TIN/NPIs the virtual group's (§414.1315(a)(2))
    con.execute("""CREATE OR REPLACE TEMP TABLE _sc_entities AS
                   SELECT e.*, e.level = 'individual' AND EXISTS (SELECT 1 FROM _sc_apm a WHERE a.qp_excluded
                          AND a.tin = e.tin AND a.npi = e.npi) AS qp_excluded FROM _sc_entities e""")
    con.execute("""
    CREATE OR REPLACE TEMP TABLE _sc_score_as AS
    SELECT DISTINCT ON (level, tin, npi) level, tin, npi, pool_level, pool_id FROM (
        SELECT e.level, e.tin, e.npi, 'apm_entity' AS pool_level, a.apm_entity_id AS pool_id, 1 AS priority
        FROM _sc_entities e JOIN _sc_apm a ON a.pooled AND a.tin = e.tin AND a.npi = e.npi WHERE e.level = 'individual'
        UNION ALL
        SELECT e.level, e.tin, e.npi, 'virtual_group', m.virtual_group_id, 2
        FROM _sc_entities e JOIN _sc_vg_members m ON m.tin = e.tin WHERE e.level IN ('group', 'individual'))
    ORDER BY priority""")
    for kind in ("quality", "pi", "ia", "cost"):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _sc_{kind} AS
                        SELECT e.level, e.small_practice, i.* FROM _sc_in_{kind} i
                        JOIN _sc_entities e ON e.tin = i.tin AND e.npi IS NOT DISTINCT FROM i.npi""")
    score_quality(con, rules)
    score_cost(con, rules)
    score_ia(con, rules)
    apply_apm_ia(con, rules)
    score_pi(con, rules)
    apply_facility_based(con, rules, facility_conversion, _columns)
    score_final(con, rules, scaling_factor=scaling_factor, exceptional_scaling_factor=exceptional_scaling_factor)

    py = int(performance_year)
    measure_cols = [c for c in MEASURE_SCORES.column_names if c != "performance_year"]
    union = " UNION ALL ".join(f"SELECT {', '.join(measure_cols)} FROM {t}"
                               for t in ("_sc_quality_measure_scores", "_sc_cost_measure_scores"))
    con.execute(f"CREATE OR REPLACE TABLE measure_scores AS "
                f"{MEASURE_SCORES.select_sql(f'(SELECT {py} AS performance_year, * FROM ({union}))')}")
    con.execute(f"CREATE OR REPLACE TABLE category_scores AS "
                f"{CATEGORY_SCORES.select_sql(f'(SELECT {py} AS performance_year, * FROM ({category_rows_sql(rules)}))')}")
    final_sql = final_rows_sql(rules, scaling_factor, exceptional_scaling_factor)
    con.execute(f"CREATE OR REPLACE TABLE final_scores AS "
                f"{FINAL_SCORES.select_sql(f'(SELECT {py} AS performance_year, * FROM ({final_sql}))')}")
    # the APP reported by individuals and groups (PY2021 on, rules app.*): their rows join the tables above
    if stage_app_reporters(con, rules, apm, _columns):
        score_app_reporters(con, rules, scaling_factor=scaling_factor, exceptional_scaling_factor=exceptional_scaling_factor)
    # which of each TIN/NPI's final scores sets its adjustment (rules final_score_selection.*)
    select_final_scores(con, rules, scaling_factor=scaling_factor, exceptional_scaling_factor=exceptional_scaling_factor)


def score_frames(*, performance_year: int, entities: pd.DataFrame | None = None, quality: pd.DataFrame | None = None,
                 pi: pd.DataFrame | None = None, ia: pd.DataFrame | None = None, cost: pd.DataFrame | None = None,
                 scaling_factor: float | None = None, exceptional_scaling_factor: float | None = None,
                 **reference_frames: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Notebook one-liner: score pandas frames, get {'measure_scores', 'category_scores', 'final_scores'} frames.

    ``reference_frames`` may hold benchmarks / quality_measures / ia_activities frames (scoring's own columns).
    """
    con = duckdb.connect()
    try:
        names = {}
        for key, frame in (("entity", entities), ("quality", quality), ("pi", pi), ("ia", ia), ("cost", cost)):
            if frame is not None:
                con.register(f"_frame_{key}", frame)
                names[key] = f"_frame_{key}"
            else:
                names[key] = None
        refs = {}
        for key in ("benchmarks", "quality_measures", "ia_activities"):
            if reference_frames.get(key) is not None:
                con.register(f"_frame_{key}", reference_frames[key])
                refs[key] = f"_frame_{key}"
        score_entities(con, performance_year=performance_year, scaling_factor=scaling_factor,
                       exceptional_scaling_factor=exceptional_scaling_factor, **names, **refs)
        return {t: con.execute(f"SELECT * FROM {t}").df() for t in ("measure_scores", "category_scores", "final_scores")}
    finally:
        con.close()


def score_from_claims(con: duckdb.DuckDBPyConnection, *, performance_year: int, opt_in: bool = False,
                      scaling_factor: float | None = None, exceptional_scaling_factor: float | None = None,
                      entities_built: bool = False) -> list[str]:
    """The `mips run` path: entities (both levels) and eligibility from medical_claim + clinician_roster,
    quality from measure_results when present, pi/ia/cost inputs when ingested; then the same scorer
    as `mips score`. Returns the names of the tables created, to publish with their TableSpecs
    (schemas.scoring: MIPS_ELIGIBILITY + SCORING_TABLES).

    ``entities_built``: entity_input and mips_eligibility were made already by
    ``entities_from_claims(con, performance_year, opt_in=opt_in)`` (the run does that step, which reads every
    claim line, on all of DuckDB's threads, and the scoring proper on one)."""
    from transforms.scoring.eligibility import entities_from_claims, quality_input_from_measure_results

    if not entities_built:
        entities_from_claims(con, performance_year, opt_in=opt_in)
    quality = None
    if _columns(con, "measure_results") is not None:
        quality_input_from_measure_results(con, performance_year)  # with the quality counts given (--quality) added
        quality = "quality_input"
    elif _columns(con, "quality_input") is not None:  # only the quality counts given to the run
        quality = "quality_input"
    score_entities(con, performance_year=performance_year, entity="entity_input", quality=quality,
                   scaling_factor=scaling_factor, exceptional_scaling_factor=exceptional_scaling_factor)
    return ["mips_eligibility", "measure_scores", "category_scores", "final_scores", "payment_adjustments"]


def scoring_warnings(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, str]]:
    """What a reader of the scores must know, as (table, rule, entities affected, description):
    categories scored 0 for want of input (not reweighted), improvement activities not in the year's
    inventory, and adjustments that are estimates or ranges. Counts and ids only, no patient data."""
    out: list[tuple[str, str, int, str]] = []
    zero = {"quality": ("no quality input", "no quality measures submitted: quality scored 0 and keeps its weight"),
            "ia": ("no improvement activities input", "no improvement activities attested: IA scored 0 and keeps its weight"),
            "pi": ("no Promoting Interoperability input",
                   "no PI data and no reweighting status (hardship, special status): PI scored 0 and keeps its weight")}
    counts = dict(con.execute("""
        SELECT category, count(*) FROM category_scores
        WHERE NOT reweighted AND reason IN ('no quality measures submitted', 'no improvement activities attested',
                                            'no Promoting Interoperability data submitted')
        GROUP BY category""").fetchall())
    for category, (rule, text) in zero.items():
        if counts.get(category):
            out.append(("category_scores", rule, int(counts[category]), text))
    if "_sc_ia_category" in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}:
        n, ids = con.execute("""SELECT count(*), string_agg(DISTINCT unknown_ids, ', ') FROM _sc_ia_category
                                WHERE unknown_activities > 0""").fetchone()
        if n:
            out.append(("category_scores", "improvement activity not in the year's inventory", int(n),
                        f"0 points for activity id(s) {ids}"))
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "_sc_vg_other_years" in tables:
        n = con.execute("SELECT n FROM _sc_vg_other_years").fetchone()[0]
        if n:
            out.append(("final_scores", "virtual group membership of another year", int(n),
                        "membership rows whose performance_year is not the one scored: not used"))
        n = con.execute("SELECT count(*) FROM final_scores WHERE level = 'virtual_group' AND complex_patient_bonus_basis IS NULL"
                        ).fetchone()[0]
        if n:
            out.append(("final_scores", "virtual group complex patient bonus", int(n),
                        "not computed for a virtual group: a member TIN lacks average_hcc_risk_score or "
                        "medicare_beneficiaries (rule pooled_entity.virtual_group_complex_patient_bonus): bonus 0"))
    if "_sc_facility" in tables:
        n = con.execute("SELECT count(*) FROM _sc_facility WHERE fb_quality IS NULL").fetchone()[0]
        if n:
            out.append(("category_scores", "facility-based score not computable", int(n),
                        "facility-based entities with a Hospital VBP score but no conversion row of the year "
                        "(--facility-conversion): their own quality and cost scores are used"))
    if "_sc_apm_dropped" in tables:
        dropped, other = con.execute("SELECT n, other_years FROM _sc_apm_dropped").fetchone()
        if dropped:
            out.append(("measure_scores", "quality measure outside the APM Performance Pathway set", int(dropped),
                        "rows of an APM entity's quality input not in its APP measure set (rule apm.app_quality_measures; "
                        "a Shared Savings Program ACO from PY2025: app.app_plus_quality_measures): "
                        "not scored"))
        if other:
            out.append(("final_scores", "APM participation of another year", int(other),
                        "participation rows whose performance_year is not the one scored: not used"))
        if "_app_dropped" in tables:
            n = con.execute("SELECT n FROM _app_dropped").fetchone()[0]
            if n:
                out.append(("measure_scores", "quality measure outside the APP measure set", int(n),
                            "quality rows of individuals and groups reporting the APM Performance Pathway that are not "
                            "in its set (apm.app_quality_measures / app.app_plus_quality_measures): not scored in the "
                            "APP (still scored in traditional MIPS)"))
        n = con.execute("SELECT count(*) FROM _sc_entities WHERE qp_excluded").fetchone()[0]
        if n:
            out.append(("final_scores", "excluded from MIPS (QP)", int(n),
                        "Qualifying APM Participants (and Partial QPs not electing MIPS): no MIPS payment adjustment"))
    n = con.execute("SELECT count(*) FROM final_scores WHERE complex_patient_bonus_basis = 'not computable'").fetchone()[0]
    if n:
        out.append(("final_scores", "complex patient bonus not computed", int(n),
                    "average HCC risk score / dual-eligible proportion given, but the year's formula constants are not "
                    "known (rule final.complex_patient_bonus_formula): bonus 0; give complex_patient_bonus"))
    from transforms.scoring.eligibility import eligibility_warnings
    out += eligibility_warnings(con)  # determination segments the run's claims do not cover
    for basis, text in (("range", "payment adjustment is a range: the year's scaling factor is not published; "
                                  "pass --scaling-factor for an exact figure"),
                        ("estimate", "payment adjustment is an estimate: the scaling factor comes from a secondary source")):
        n = con.execute("SELECT count(*) FROM final_scores WHERE payment_adjustment_basis = ?", [basis]).fetchone()[0]
        if n:
            out.append(("final_scores", f"payment adjustment {basis}", int(n), text))
    return out
