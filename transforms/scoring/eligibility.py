"""MIPS eligibility from claims and the `mips run` adapters .

- ``mips_eligibility(con, performance_year)`` -> table mips_eligibility: low-volume threshold from
  medical_claim allowed charges, beneficiaries and services (per TIN/NPI and per TIN), clinician
  type and newly enrolled from clinician_roster.
- ``entities_from_claims(con, performance_year)`` -> table entity_input: every TIN/NPI and TIN of
  medical_claim in the year, both levels side by side, with roster flags and eligibility.
- ``quality_input_from_measure_results(con, performance_year)`` -> table quality_input.
"""
from __future__ import annotations

from datetime import date

from schemas.scoring import MIPS_ELIGIBILITY
from transforms.claims_scope import part_b_professional_filter
from transforms.scoring._sql import lit_list
from transforms.scoring.rules import load_rules


def _has_table(con, name: str) -> bool:
    return con.execute("SELECT count(*) FROM (SELECT table_name AS n FROM duckdb_tables() UNION ALL "
                       "SELECT view_name FROM duckdb_views()) WHERE n = ?", [name]).fetchone()[0] > 0


def _criteria_sql(lvt: dict) -> tuple[str, int]:
    """(SQL count of the low-volume criteria a volume row exceeds, how many criteria the year has)."""
    parts = [f"(allowed_charges > {float(lvt['allowed_charges'])})::INT",
             f"(beneficiaries > {int(lvt['beneficiaries'])})::INT"]
    if lvt.get("services") is not None:  # the services criterion exists from PY2019
        parts.append(f"(services > {int(lvt['services'])})::INT")
    return " + ".join(parts), len(parts)


def determination_segments(performance_year: int) -> list[tuple[int, date, date]]:
    """The year's MIPS determination segments (segment, first day, last day) from the rules data."""
    rules = load_rules(performance_year)
    return [(int(s["segment"]), date.fromisoformat(str(s["start"])), date.fromisoformat(str(s["end"])))
            for s in rules["eligibility.determination_segments"]]


def _segment_coverage(con, performance_year: int, lines: str) -> dict[int, bool]:
    """Table _sc_segment_coverage: per segment, the months with at least one Part B line of the run and the
    months of the segment. A segment is covered when every month has lines (a run of one calendar year's
    claims covers neither segment). Returns {segment: covered}."""
    values = ", ".join(f"({n}, DATE '{s}', DATE '{e}')" for n, s, e in determination_segments(performance_year))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sc_segments AS SELECT * FROM (VALUES {values}) t(segment, seg_start, seg_end)")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _sc_segment_coverage AS
    SELECT s.segment, s.seg_start, s.seg_end,
           count(DISTINCT date_trunc('month', l.claim_line_start_date)) AS months_with_claims,
           datediff('month', s.seg_start, s.seg_end) + 1 AS months
    FROM _sc_segments s LEFT JOIN {lines} l ON l.claim_line_start_date BETWEEN s.seg_start AND s.seg_end
    GROUP BY ALL ORDER BY s.segment""")
    return {int(n): m == total for n, m, total in
            con.execute("SELECT segment, months_with_claims, months FROM _sc_segment_coverage").fetchall()}


def _volume_sql(where: str, by_segment: bool = False) -> str:
    """Allowed charges, distinct beneficiaries and services per TIN/NPI and per TIN of _sc_claim_lines rows."""
    seg, key = ("s.segment, ", "s.segment, ") if by_segment else ("", "")
    join = "JOIN _sc_segments s ON c.claim_line_start_date BETWEEN s.seg_start AND s.seg_end" if by_segment else ""
    # Sums of DOUBLEs depend on the order DuckDB's threads add them in, so two runs of the same input could differ
    # in the last bits; exact DECIMAL sums make reruns give the same rows.
    services = "coalesce(sum(greatest(coalesce(service_unit_quantity, 1), 1)::DECIMAL(38, 6)), 0)::DOUBLE"
    allowed = "coalesce(sum(allowed_amount::DECIMAL(38, 6)), 0)::DOUBLE"
    return f"""
        SELECT {seg}'individual' AS level, tin, npi, {allowed} AS allowed_charges,
               count(DISTINCT person_id) AS beneficiaries, {services} AS services
        FROM _sc_claim_lines c {join} WHERE {where} AND npi IS NOT NULL GROUP BY {key}tin, npi
        UNION ALL
        SELECT {seg}'group', tin, NULL, {allowed}, count(DISTINCT person_id), {services}
        FROM _sc_claim_lines c {join} WHERE {where} GROUP BY {key}tin"""


def mips_eligibility(con, performance_year: int) -> None:
    """Table mips_eligibility: the low-volume threshold as CMS determines it, over the two determination
    segments of the rules data (eligibility.determination_segments; 42 CFR 414.1305 "MIPS determination
    period"), from medical_claim and the earlier lines kept in medical_claim_outside_period.

    Rule eligibility.segment_rule (exceed_in_every_billed_segment): an entity must exceed the threshold in
    every segment in which it billed Part B (qpp.cms.gov: below in either segment is exempt; a TIN/NPI new in
    segment 2 is decided on segment 2). A segment the run's claims do not cover (a month without any line)
    is not used: with one segment covered the result is 'provisional' when above the threshold there, with
    none it is an 'estimate' from the performance year's own claims. Never a silent "not eligible".
    """
    rules = load_rules(performance_year)
    lvt = rules["eligibility.low_volume_threshold"]
    opt_in = rules["eligibility.opt_in"]
    if rules["eligibility.segment_rule"] != "exceed_in_every_billed_segment":
        raise ValueError(f"unknown eligibility.segment_rule {rules['eligibility.segment_rule']!r}")
    types = [t.lower() for t in rules["eligibility.clinician_types"]]
    py = int(performance_year)
    roster = "clinician_roster" if _has_table(con, "clinician_roster") else \
        "(SELECT NULL::VARCHAR AS tin, NULL::VARCHAR AS npi, NULL::VARCHAR AS clinician_type, NULL::DATE AS medicare_enrollment_date LIMIT 0)"
    criteria, n = _criteria_sql(lvt)
    # every Part B professional line of the run: the year's, and the determination segments' before it
    sources = ["medical_claim"] + (["medical_claim_outside_period"] if _has_table(con, "medical_claim_outside_period") else [])
    con.execute("CREATE OR REPLACE TEMP TABLE _sc_claim_lines AS " + " UNION ALL ".join(
        f"""SELECT billing_tin AS tin, rendering_npi AS npi, person_id, allowed_amount, service_unit_quantity,
                   claim_line_start_date FROM {src}
            WHERE billing_tin IS NOT NULL
              AND {part_b_professional_filter(con, src)}  -- Medicare Part B professional lines only (42 CFR 414.1305)
        """ for src in sources))
    covered = _segment_coverage(con, py, "_sc_claim_lines")
    # the performance year's own volume: who the run scores, and the estimate when no segment is covered
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _sc_volume AS SELECT *, {criteria} AS criteria_exceeded FROM ({_volume_sql(
        f"claim_line_start_date >= DATE '{py}-01-01' AND claim_line_start_date < DATE '{py + 1}-01-01'")})""")
    # per segment, only the covered ones (a segment missing months would undercount)
    covered_list = ", ".join(str(s) for s, ok in covered.items() if ok) or "NULL"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _sc_segment_volume AS SELECT *, {criteria} AS criteria_exceeded FROM ({_volume_sql(
        f"s.segment IN ({covered_list})", by_segment=True)})""")
    segment_columns = ",\n".join(
        f"""s{s}.level IS NOT NULL AS b{s}, {str(bool(covered.get(s))).upper()} AS segment_{s}_covered,
            s{s}.allowed_charges AS segment_{s}_allowed_charges, s{s}.beneficiaries AS segment_{s}_beneficiaries,
            s{s}.services AS segment_{s}_services, s{s}.criteria_exceeded AS k{s},
            s{s}.criteria_exceeded = {n} AS segment_{s}_exceeds_low_volume_threshold""" for s in (1, 2))
    segment_joins = "\n".join(
        f"""LEFT JOIN _sc_segment_volume s{s} ON s{s}.segment = {s} AND s{s}.level = v.level AND s{s}.tin = v.tin
                                             AND s{s}.npi IS NOT DISTINCT FROM v.npi""" for s in (1, 2))
    opt_in_sql = "FALSE" if not opt_in else (
        f"NOT exceeds_low_volume_threshold AND fewest_criteria >= {int(opt_in['min_criteria_exceeded'])} "
        "AND coalesce(eligible_clinician_type, TRUE) AND NOT coalesce(newly_enrolled, FALSE)")
    body = f"""(
    WITH v AS (
        SELECT v.*, r.clinician_type, r.medicare_enrollment_date, {segment_columns},
               CASE WHEN v.level = 'group' THEN NULL ELSE list_contains({lit_list(types)}, lower(r.clinician_type)) END AS eligible_clinician_type,
               CASE WHEN v.level = 'group' THEN NULL ELSE r.medicare_enrollment_date >= DATE '{py}-01-01' END AS newly_enrolled
        FROM _sc_volume v LEFT JOIN {roster} r ON r.tin = v.tin AND r.npi = v.npi
        {segment_joins}),
    d AS (
        SELECT *,
               -- above the threshold in every covered segment it billed in (rule eligibility.segment_rule)
               CASE WHEN b1 AND b2 THEN k1 = {n} AND k2 = {n} WHEN b1 THEN k1 = {n} WHEN b2 THEN k2 = {n}
                    ELSE criteria_exceeded = {n} END AS exceeds_low_volume_threshold,
               CASE WHEN b1 AND b2 THEN least(k1, k2) WHEN b1 THEN k1 WHEN b2 THEN k2 ELSE criteria_exceeded END AS fewest_criteria,
               CASE WHEN b1 AND b2 THEN 'segments 1 and 2'
                    WHEN b1 THEN 'segment 1' || CASE WHEN segment_2_covered THEN ' (no Part B billing in segment 2)'
                                                     ELSE ' (segment 2 not covered by the run''s claims)' END
                    WHEN b2 THEN 'segment 2' || CASE WHEN segment_1_covered THEN ' (no Part B billing in segment 1)'
                                                     ELSE ' (segment 1 not covered by the run''s claims)' END
                    ELSE 'performance-year claims (no determination segment covered by the run''s claims)' END AS determined_by
        FROM v),
    e AS (
        SELECT *,
               CASE WHEN NOT (b1 OR b2) THEN 'estimate'
                    WHEN segment_1_covered AND segment_2_covered THEN 'final'
                    -- at or below the threshold in one billed segment exempts whatever the other segment holds
                    WHEN NOT exceeds_low_volume_threshold THEN 'final'
                    ELSE 'provisional' END AS determination,
               exceeds_low_volume_threshold AND coalesce(eligible_clinician_type, TRUE)
                   AND NOT coalesce(newly_enrolled, FALSE) AS mips_eligible
        FROM d)
    SELECT {py} AS performance_year, *, {opt_in_sql} AS opt_in_eligible,
           concat_ws('; ',
               CASE WHEN NOT exceeds_low_volume_threshold THEN 'at or below the low-volume threshold in ' || determined_by END,
               CASE WHEN eligible_clinician_type = FALSE THEN 'clinician type not MIPS eligible' END,
               CASE WHEN eligible_clinician_type IS NULL AND level = 'individual' THEN 'clinician type unknown (assumed eligible)' END,
               CASE WHEN newly_enrolled THEN 'newly enrolled in Medicare' END,
               CASE determination WHEN 'estimate' THEN 'ESTIMATE: the run''s claims cover no determination segment'
                                  WHEN 'provisional' THEN 'PROVISIONAL: a determination segment is not covered by the run''s claims'
               END) AS reason
    FROM e)"""
    con.execute(f"CREATE OR REPLACE TABLE mips_eligibility AS {MIPS_ELIGIBILITY.select_sql(body)}")
    # every Part B line of the run, copied: on a big year it holds memory the publish's sort of measure_instances needs
    con.execute("DROP TABLE _sc_claim_lines")


def eligibility_warnings(con) -> list[tuple[str, str, int, str]]:
    """(table, rule, rows affected, description) for each determination segment the run's claims do not cover:
    what the run summary says instead of a silent "not eligible". Counts and dates only."""
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not {"_sc_segment_coverage", "mips_eligibility"} <= names:
        return []
    provisional, estimate = con.execute("""SELECT count(*) FILTER (WHERE determination = 'provisional'),
                                                  count(*) FILTER (WHERE determination = 'estimate') FROM mips_eligibility""").fetchone()
    out = []
    for segment, start, end, months, total in con.execute("SELECT * FROM _sc_segment_coverage ORDER BY segment").fetchall():
        if months < total:
            out.append(("mips_eligibility", f"determination segment {segment} not covered", int(provisional + estimate),
                        f"the claims cover {months} of the {total} months of segment {segment} ({start}..{end}): "
                        f"{provisional} eligibility row(s) provisional, {estimate} estimated from the performance "
                        f"year's claims; give the Part B claims of {start}..{end} for CMS's determination"))
    return out


def entities_from_claims(con, performance_year: int, *, opt_in: bool = False) -> None:
    """Create entity_input with one row per TIN/NPI and per TIN found in medical_claim in the year.

    A not-eligible entity is kept only when ``opt_in`` (it opted in) and it is opt-in eligible
    (mips_eligibility.opt_in_eligible: rule eligibility.opt_in, PY2019 on).
    Group flags: a TIN is small practice / rural / ... when any roster clinician of it says so.
    """
    given = _set_aside_given(con, "entity_input")  # --entities of `mips run`: merged into the claims' entities below
    mips_eligibility(con, performance_year)
    roster = "clinician_roster" if _has_table(con, "clinician_roster") else \
        ("(SELECT NULL::VARCHAR AS tin, NULL::VARCHAR AS npi, NULL::BOOLEAN AS small_practice, NULL::BOOLEAN AS rural, "
         "NULL::BOOLEAN AS hpsa, NULL::BOOLEAN AS non_patient_facing, NULL::BOOLEAN AS hospital_based, "
         "NULL::VARCHAR AS clinician_type LIMIT 0)")
    con.execute(f"""
    CREATE OR REPLACE TABLE entity_input AS
    WITH r AS (
        SELECT tin, npi, small_practice, rural, hpsa, non_patient_facing, hospital_based, clinician_type FROM {roster}
        UNION ALL
        SELECT tin, NULL, bool_or(small_practice), bool_or(rural), bool_or(hpsa),
               -- a group is non-patient-facing / hospital-based only when most of its clinicians are (>75% [R])
               avg(non_patient_facing::INT) > 0.75, avg(hospital_based::INT) > 0.75,
               NULL  -- clinician type is an individual's (PI reweighting by type, rule pi.reweighted_clinician_types)
        FROM {roster} GROUP BY tin)
    SELECT m.tin, m.npi, r.small_practice, r.rural, r.hpsa, r.non_patient_facing, r.hospital_based, r.clinician_type,
           NULL::BOOLEAN AS pcmh, NULL::BOOLEAN AS pi_hardship, NULL::DOUBLE AS complex_patient_bonus,
           NULL::DOUBLE AS prior_quality_achievement_percent, m.allowed_charges AS part_b_allowed_charges, m.mips_eligible
    FROM mips_eligibility m LEFT JOIN r ON r.tin = m.tin AND r.npi IS NOT DISTINCT FROM m.npi
    WHERE m.mips_eligible OR {'m.opt_in_eligible' if opt_in else 'FALSE'}
    ORDER BY m.tin, m.npi NULLS FIRST
    """)
    if given:
        _merge_given_entities(con)


def _set_aside_given(con, table: str) -> bool:
    """A score input of the same name the run ingested (`mips run --entities` / `--quality`) is kept as
    ``_given_<table>`` before the claims' table of that name is built; True when there is one. Idempotent: a
    second call finds it set aside already."""
    if _has_table(con, f"_given_{table}"):
        return True
    if not _has_table(con, table):
        return False
    con.execute(f'ALTER TABLE "{table}" RENAME TO "_given_{table}"')
    return True


def _merge_given_entities(con) -> None:
    """entity_input = the claims' entities with the given entity input's values where it has them (EUC and hardship
    applications, complex patient inputs, facility-based and the Hospital VBP score, statuses, charges: the file
    wins over the claims and the roster, as CMS's own figures would), plus the given entities the claims did not
    make MIPS eligible, scored as `mips score` scores them, with mips_eligible and the Part B allowed charges of
    mips_eligibility where the claims have them (as pi/ia/cost rows of such an entity are scored)."""
    derived = [d[0] for d in con.execute("SELECT * FROM entity_input LIMIT 0").description]
    given = [d[0] for d in con.execute("SELECT * FROM _given_entity_input LIMIT 0").description]
    from_eligibility = {"mips_eligible": "m.mips_eligible", "part_b_allowed_charges": "m.allowed_charges"}
    cols = []
    for c in derived:
        if c in ("tin", "npi"):
            continue
        fallback = f"coalesce(d.{c}, {from_eligibility[c]})" if c in from_eligibility else f"d.{c}"
        cols.append(f"coalesce(g.{c}, {fallback}) AS {c}" if c in given else f"{fallback} AS {c}")
    cols += [f"g.{c}" for c in given if c not in derived]
    con.execute(f"""
    CREATE OR REPLACE TABLE entity_input AS
    SELECT coalesce(d.tin, g.tin) AS tin, CASE WHEN d.tin IS NULL THEN g.npi ELSE d.npi END AS npi, {', '.join(cols)}
    FROM entity_input d FULL JOIN _given_entity_input g ON g.tin = d.tin AND g.npi IS NOT DISTINCT FROM d.npi
    LEFT JOIN mips_eligibility m ON d.tin IS NULL AND m.tin = g.tin AND m.npi IS NOT DISTINCT FROM g.npi
    ORDER BY 1, 2 NULLS FIRST""")


def quality_input_from_measure_results(con, performance_year: int) -> None:
    """Map the measure engine's measure_results to quality_input rows (group level -> npi NULL), with the quality
    counts given to the run (`mips run --quality`: registry or other submissions) added; a measure given there that
    the run also computed (same tin, npi, measure_id, collection_type and stratum) is an error, not scored twice."""
    given = _set_aside_given(con, "quality_input")
    con.execute("""
    CREATE OR REPLACE TABLE quality_input AS
    SELECT tin, CASE WHEN level = 'group' THEN NULL ELSE npi END AS npi, measure_id, collection_type,
           eligible_population::BIGINT AS eligible_population,
           eligible_population_exclusion::BIGINT AS eligible_population_exclusion,
           eligible_population_exception::BIGINT AS eligible_population_exception,
           performance_met::BIGINT AS performance_met, performance_not_met::BIGINT AS performance_not_met,
           stratum, FALSE AS end_to_end_reported
    FROM measure_results WHERE performance_year = $py
      AND computed  -- facility measures run without facility events have no counts to score
    """, {"py": int(performance_year)})
    if not given:
        return
    both = con.execute("""
        SELECT count(*), string_agg(DISTINCT g.measure_id, ', ' ORDER BY g.measure_id) FROM _given_quality_input g
        JOIN quality_input q ON q.tin = g.tin AND q.npi IS NOT DISTINCT FROM nullif(trim(g.npi), '')
         AND q.measure_id = g.measure_id AND q.collection_type = g.collection_type
         AND q.stratum IS NOT DISTINCT FROM nullif(trim(g.stratum), '')""").fetchone()
    if both[0]:
        from mips.errors import PipelineError
        raise PipelineError(f"quality_input: {both[0]} row(s) give measure(s) {both[1]} that the run computed from its "
                            "claims or EHR data for the same TIN/NPI and collection type; give each measure once")
    con.execute("CREATE OR REPLACE TABLE quality_input AS SELECT * FROM quality_input UNION ALL BY NAME "
                "SELECT * FROM _given_quality_input")
