"""Claims and encounters whose codes come from the year's claims measure specifications.

Every claim is drawn in one set-based pass (no loop over rows):

1. an *episode* picks a clinician (uniformly: large TINs bill more), one of the clinician's
   measures (each clinician reports a run of ``MEASURES_PER_CLINICIAN`` consecutive measures of
   the year, so every measure has clinicians and each clinician has a case mix), one eligibility
   option of that measure, and a person whose sex and age fit the option;
2. an episode has one or two claims (the second 14-73 days later: follow-up visits make the
   second-encounter, episode and 30-day counting classes eligible too);
3. each claim picks an outcome (met / not met / exclusion / exception / none), a procedure
   code with a place of service and modifier the option accepts, a diagnosis (and additional
   diagnosis) the option accepts (options without a diagnosis requirement get a background
   diagnosis that none of their exclusions lists), and the quality data codes of a performance option of the
   same measure, option group and outcome. Lines: the procedure, any additional procedures,
   then the quality data codes.

The option tables (``gen_option`` ...) are built by ``transforms.generate.specs`` from the
compiled reference tables. Claims are first drawn as narrow integer keys (cheap to draw and
to cut at exactly N lines), then resolved to codes once, into ``gen_claim`` stored in claim
order. Line codes sit in fixed columns (``additional_code_1..``, ``quality_code_1..``), so the
line tables are one ordered scan of ``gen_claim`` with a per-claim range, not a join.
"""
from __future__ import annotations

import duckdb

from transforms.generate.rand import Draws

MEASURES_PER_CLINICIAN = 6
SECOND_CLAIM_SHARE = 0.3
MAX_ADDITIONAL_PROCEDURES = 1  # the compiled specs list at most one (PY2018-2024); options needing more are skipped
MAX_QUALITY_CODES = 2          # the compiled performance options have at most two codes (PY2018-2025)
# Outcome mix of a claim; "none" (no quality data code: unreported) takes the rest.
# Cumulative shares, in the result-code order of ``specs.RESULT_CODES`` (met, not met, exclusion, exception).
OUTCOME_CUTS = (0.45, 0.65, 0.72, 0.80)
POPULATIONS = {"medicare": 0, "other": 1}
_BLOCK = 8192  # episodes per block when numbering lines to cut the file at exactly N lines

_ENCOUNTER_TYPES = ("CASE c.place_of_service_code WHEN '11' THEN 'office visit' WHEN '02' THEN 'telehealth'"
                    " WHEN '10' THEN 'telehealth' WHEN '21' THEN 'inpatient' WHEN '23' THEN 'emergency department'"
                    " WHEN '22' THEN 'outpatient' WHEN '19' THEN 'outpatient'"
                    " WHEN '31' THEN 'skilled nursing' WHEN '32' THEN 'nursing facility' ELSE 'other' END")


def build_pick_tables(con: duckdb.DuckDBPyConnection) -> int:
    """Small lookup tables that turn a hash draw into an equi-join; returns the number of measures."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gen_option_population AS
        SELECT h.population, o.option_key, o.measure_id,
               coalesce(sum(h.persons) FILTER (WHERE h.sex = 'female'), 0) AS female_persons,
               min(h.first_pos) FILTER (WHERE h.sex = 'female') AS female_first_pos,
               coalesce(sum(h.persons) FILTER (WHERE h.sex = 'male'), 0) AS male_persons,
               min(h.first_pos) FILTER (WHERE h.sex = 'male') AS male_first_pos
        FROM gen_option o
        JOIN gen_age_histogram h
          ON h.age >= o.min_age AND (o.max_age IS NULL OR h.age + 1 <= o.max_age)
         AND (o.sex IS NULL OR o.sex = h.sex)
        GROUP BY ALL
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gen_option_pick AS
        SELECT population, measure_id, option_key, female_persons, female_first_pos, male_persons, male_first_pos,
               row_number() OVER (PARTITION BY population, measure_id ORDER BY option_key) - 1 AS option_rank,
               count(*) OVER (PARTITION BY population, measure_id) AS options
        FROM gen_option_population
        WHERE female_persons + male_persons > 0
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gen_measure_pick AS
        SELECT measure_id, row_number() OVER (ORDER BY measure_id) - 1 AS measure_rank
        FROM (SELECT DISTINCT measure_id FROM gen_option)
    """)
    return con.execute("SELECT count(*) FROM gen_measure_pick").fetchall()[0][0]


def _episodes_sql(population: str, count: int, n_measures: int, draws: Draws) -> str:
    per = min(MEASURES_PER_CLINICIAN, n_measures)
    d = draws
    base = "episode_hash"
    return f"""
        WITH e0 AS (
            SELECT e, {d.row_hash(str(POPULATIONS[population]), 'e')} AS episode_hash FROM range({count}) r(e)
        ), e AS (
            SELECT e, episode_hash,
                   {d.integer('clinician', '(SELECT count(*) FROM gen_clinician)', base=base)} AS clinician_idx
            FROM e0
        ), m AS (
            SELECT e.*, mp.measure_id
            FROM e JOIN gen_measure_pick mp
              ON mp.measure_rank = (e.clinician_idx * {per} + {d.integer('measure', str(per), base=base)}) % {n_measures}
        ), o AS (
            SELECT m.*, op.option_key,
                   {d.integer('person', 'op.female_persons + op.male_persons', base=base)} AS person_draw,
                   op.female_persons, op.female_first_pos, op.male_first_pos
            FROM m JOIN gen_option_pick op
              ON op.population = '{population}' AND op.measure_id = m.measure_id
             AND op.option_rank = {d.integer('option', 'op.options', base=base)}
        )
        SELECT e, clinician_idx, option_key,
               CASE WHEN person_draw < female_persons THEN female_first_pos + person_draw
                    ELSE male_first_pos + person_draw - female_persons END AS person_rank,
               CASE WHEN {d.uniform('second_claim', base=base)} < {SECOND_CLAIM_SHARE} THEN 2 ELSE 1 END AS claims
        FROM o
    """


def _claim_keys_sql(episodes: str, population: str, performance_year: int, draws: Draws) -> str:
    """One narrow, integer-keyed row per claim: which procedure, place of service, diagnoses and
    performance option it carries (resolved to codes by ``_resolve_sql``)."""
    py = int(performance_year)
    d = draws
    # One base hash per claim and per episode; each draw re-mixes it with its own salt.
    claim, episode = "c0.claim_hash", "c0.episode_hash"
    outcome = d.uniform("outcome", base=claim)
    result = "CASE " + " ".join(f"WHEN {outcome} < {cut} THEN {code}"
                                for code, cut in enumerate(OUTCOME_CUTS)) + f" ELSE {len(OUTCOME_CUTS)} END"
    days = f"(DATE '{py}-12-31' - DATE '{py}-01-01' + 1)"
    return f"""
        WITH c0 AS (
            SELECT *, {d.row_hash(str(POPULATIONS[population]), 'e', 'k')} AS claim_hash,
                   {d.row_hash(str(POPULATIONS[population]), 'e')} AS episode_hash
            -- a select-list UNNEST streams; a lateral CROSS JOIN unnest would be planned as a join
            FROM (SELECT ep.*, unnest(range(ep.claims)) AS k FROM {episodes} ep)
        ), c AS (
            SELECT c0.e, c0.k, 2 * c0.e + c0.k + 1 AS claim_seq, c0.clinician_idx, c0.person_rank, c0.option_key,
                   least(DATE '{py}-01-01' + CAST({d.integer('day', days, base=episode)} AS INTEGER)
                         + CAST(c0.k * (14 + {d.integer('follow_up', '60', base=episode)}) AS INTEGER),
                         DATE '{py}-12-31') AS service_date,
                   {result} AS result_code,
                   {d.integer('procedure', 'o.procedures', base=claim)} AS procedure_rank,
                   CASE WHEN o.diagnoses > 0 THEN {d.integer('diagnosis', 'o.diagnoses', base=claim)} END AS diagnosis_rank,
                   {d.hash('background_diagnosis', base=claim)} AS background_draw,
                   CASE WHEN o.additional_diagnoses > 0
                        THEN {d.integer('additional_diagnosis', 'o.additional_diagnoses', base=claim)} END AS additional_rank,
                   {d.hash('performance', base=claim)} AS performance_draw,
                   {d.hash('pos', base=claim)} AS pos_draw,
                   o.additional_procedures
            FROM c0 JOIN gen_option o ON o.option_key = c0.option_key
        ), p AS (
            SELECT c.*, op.first_perf_key + CAST(c.performance_draw % op.performances AS BIGINT) AS perf_key
            FROM c LEFT JOIN gen_option_performance op
              ON op.option_key = c.option_key AND op.result_code = c.result_code
        )
        SELECT p.e, p.k, p.claim_seq, p.clinician_idx, p.person_rank, p.option_key, p.service_date,
               pr.procedure_id, CAST(p.pos_draw % pr.places_of_service AS BIGINT) AS pos_rank,
               p.diagnosis_rank, p.additional_rank, p.perf_key,
               CASE WHEN p.diagnosis_rank IS NULL THEN CAST(p.background_draw % bg.backgrounds AS BIGINT) END
                   AS background_rank,
               1 + p.additional_procedures + coalesce(gp.quality_codes, 0) AS line_count
        FROM p
        JOIN gen_option_procedure pr ON pr.option_key = p.option_key AND pr.procedure_rank = p.procedure_rank
        LEFT JOIN gen_performance gp ON gp.perf_key = p.perf_key
        LEFT JOIN (SELECT DISTINCT option_key, backgrounds FROM gen_background_diagnosis) bg ON bg.option_key = p.option_key
    """


def _resolve_sql(keys: str, population: str, draws: Draws) -> str:
    """Codes, clinician and person of each claim key row, stored in claim_seq order."""
    additional = ", ".join(f"o.additional_code_{i}, o.additional_modifier_{i}"
                           for i in range(1, MAX_ADDITIONAL_PROCEDURES + 1))
    quality = ", ".join(f"gp.quality_code_{i}, gp.quality_modifier_{i}" for i in range(1, MAX_QUALITY_CODES + 1))
    return f"""
        SELECT '{population}' AS population, k.claim_seq, k.line_count, k.service_date, k.option_key,
               o.measure_id, gp.result_code,
               round(40 + 260 * {draws.uniform('amount', 'k.claim_seq')}, 2) AS charge,
               p.person_id, p.payer, cl.npi, cl.tin,
               pos.code AS place_of_service_code, pr.code AS procedure_code, pr.modifier AS procedure_modifier,
               o.additional_procedures, {additional},
               coalesce(gp.quality_codes, 0) AS quality_codes, {quality},
               coalesce(dx.code, bg.code) AS diagnosis, adx.code AS additional_diagnosis,
               gp.diagnosis_code AS quality_diagnosis
        FROM {keys} k
        JOIN gen_option o ON o.option_key = k.option_key
        JOIN gen_person p ON p.person_rank = k.person_rank
        JOIN gen_clinician cl ON cl.clinician_idx = k.clinician_idx
        JOIN gen_option_procedure pr ON pr.procedure_id = k.procedure_id
        JOIN gen_place_of_service pos ON pos.procedure_id = k.procedure_id AND pos.pos_rank = k.pos_rank
        LEFT JOIN gen_performance gp ON gp.perf_key = k.perf_key
        LEFT JOIN gen_diagnosis dx
          ON dx.option_key = k.option_key AND dx.role = 'diagnosis' AND dx.diagnosis_rank = k.diagnosis_rank
        LEFT JOIN gen_diagnosis adx
          ON adx.option_key = k.option_key AND adx.role = 'additional_diagnosis' AND adx.diagnosis_rank = k.additional_rank
        LEFT JOIN gen_background_diagnosis bg ON bg.option_key = k.option_key AND bg.background_rank = k.background_rank
    """


def build_claims(con: duckdb.DuckDBPyConnection, *, performance_year: int, claim_lines: int,
                 other_payer_encounter_share: float, draws: Draws, n_measures: int) -> None:
    """``gen_claim``: one row per claim (Medicare) or encounter-only visit (other payers), stored
    in ``claim_seq`` order; Medicare claims hold exactly ``claim_lines`` lines (``line_count``) in all.

    Episodes are drawn until their lines reach ``claim_lines``; the claim that crosses the
    total keeps only the lines that fit (a cut claim just loses trailing quality data codes).
    ``claim_seq`` = 2 x episode + claim of the episode + 1 (+ an offset for other payers):
    unique, in episode order, and known without numbering the whole table.
    """
    if n_measures == 0:
        raise ValueError("no claims measure options for this performance year")
    episodes = max(50, int(claim_lines / 2.3) + 50)  # ~1.3 claims x ~2 lines per episode; grown below if short
    while True:
        con.execute(f"CREATE OR REPLACE TEMP TABLE gen_episode AS "
                    f"{_episodes_sql('medicare', episodes, n_measures, draws)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE gen_claim_key AS "
                    f"{_claim_keys_sql('gen_episode', 'medicare', performance_year, draws)}")
        total = con.execute("SELECT coalesce(sum(line_count), 0) FROM gen_claim_key").fetchall()[0][0]
        if total >= claim_lines or episodes > 4 * claim_lines + 1000:
            break
        episodes = int(episodes * 1.5) + 100
    if total < claim_lines:
        raise ValueError("the measure options cannot produce the requested claim lines")
    # The claim that holds line number ``claim_lines``: block totals (a small aggregate), then a
    # running sum inside that one block; no sort of the whole table.
    cut_seq, cut_lines = con.execute(f"""
        WITH blocks AS (
            SELECT e // {_BLOCK} AS block, sum(line_count) AS lines FROM gen_claim_key GROUP BY ALL
        ), before AS (
            SELECT block, sum(lines) OVER (ORDER BY block) - lines AS lines_before, lines FROM blocks
        ), cut_block AS (
            SELECT block, lines_before FROM before WHERE lines_before < {claim_lines} AND lines_before + lines >= {claim_lines}
        ), inside AS (
            SELECT k.claim_seq, k.line_count,
                   b.lines_before + sum(k.line_count) OVER (ORDER BY k.claim_seq) - k.line_count AS lines_before
            FROM gen_claim_key k JOIN cut_block b ON k.e // {_BLOCK} = b.block
        )
        SELECT claim_seq, {claim_lines} - lines_before FROM inside
        WHERE lines_before < {claim_lines} AND lines_before + line_count >= {claim_lines}
    """).fetchall()[0]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_claim_key_medicare AS
        SELECT * REPLACE (CASE WHEN claim_seq = {cut_seq} THEN {cut_lines} ELSE line_count END AS line_count)
        FROM gen_claim_key WHERE claim_seq <= {cut_seq}
    """)
    used_episodes = con.execute("SELECT count(DISTINCT e) FROM gen_claim_key_medicare").fetchall()[0][0]
    other_episodes = 0
    if other_payer_encounter_share > 0:
        other_episodes = int(round(used_episodes * other_payer_encounter_share / (1 - other_payer_encounter_share)))
    con.execute(f"CREATE OR REPLACE TEMP TABLE gen_episode_other AS "
                f"{_episodes_sql('other', other_episodes, n_measures, draws)}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_claim_key_other AS
        SELECT * REPLACE ({cut_seq} + claim_seq AS claim_seq)
        FROM ({_claim_keys_sql('gen_episode_other', 'other', performance_year, draws)})
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_claim AS
        SELECT * FROM (
            {_resolve_sql('gen_claim_key_medicare', 'medicare', draws)}
            UNION ALL
            {_resolve_sql('gen_claim_key_other', 'other', draws)}
        ) ORDER BY claim_seq
    """)
    for table in ("gen_claim_key", "gen_claim_key_medicare", "gen_claim_key_other", "gen_episode", "gen_episode_other"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _line_code_sql(field: str) -> str:
    """Line j (0-based) of a claim: the procedure, its additional procedures, then the quality data codes."""
    if field == "billable":
        return "j <= c.additional_procedures"
    first = "c.procedure_code" if field == "code" else "c.procedure_modifier"
    name = "code" if field == "code" else "modifier"
    additional = " ".join(f"WHEN {i} THEN c.additional_{name}_{i}" for i in range(1, MAX_ADDITIONAL_PROCEDURES + 1))
    quality = " ".join(f"WHEN {i} THEN c.quality_{name}_{i}" for i in range(1, MAX_QUALITY_CODES + 1))
    return (f"CASE WHEN j = 0 THEN {first} WHEN j <= c.additional_procedures THEN CASE j {additional} END"
            f" ELSE CASE j - c.additional_procedures {quality} END END")


def _lines_from(where: str = "TRUE") -> str:
    """Each claim's line indexes j (0-based), in claim and line order.

    A scan of ``gen_claim`` (stored in claim_seq order) with a select-list UNNEST: a streaming
    projection that keeps the scan's order, so 10 million lines need no sort. (A lateral
    ``CROSS JOIN unnest(...)`` would be planned as a join and lose the order.) The tests check
    the files come out sorted.
    """
    return f"(SELECT c.*, unnest(range(c.line_count)) AS j FROM gen_claim c WHERE {where}) c"


def _diagnosis_columns(count: int) -> list[str]:
    """The claim's diagnoses packed left: the option's diagnosis, additional diagnosis, then a
    diagnosis-coded quality code (an exclusion such as hospice written as ICD-10-CM)."""
    d = ["c.diagnosis", "c.additional_diagnosis", "c.quality_diagnosis"]
    first = f"coalesce({d[0]}, {d[1]}, {d[2]})"
    second = (f"CASE WHEN {d[0]} IS NOT NULL THEN coalesce({d[1]}, {d[2]})"
              f" WHEN {d[1]} IS NOT NULL THEN {d[2]} END")
    third = f"CASE WHEN {d[0]} IS NOT NULL AND {d[1]} IS NOT NULL THEN {d[2]} END"
    return [first, second, third] + ["CAST(NULL AS VARCHAR)"] * (count - 3)


def medical_claim_sql(draws: Draws, max_diagnoses: int = 25) -> str:
    """Medicare Part B claim lines (Tuva input layer), one row per line, in claim and line order."""
    diagnoses = ",\n".join(f"{e} AS diagnosis_code_{i}" for i, e in enumerate(_diagnosis_columns(max_diagnoses), 1))
    modifiers = ",\n".join(f"CAST(NULL AS VARCHAR) AS hcpcs_modifier_{i}" for i in range(2, 6))
    # Quality data code lines carry no charge, as CMS asks; the procedure lines a plausible one.
    amount = f"CASE WHEN {_line_code_sql('billable')} THEN c.charge ELSE 0.0 END"
    return f"""
        SELECT 'CL' || lpad(CAST(c.claim_seq AS VARCHAR), 10, '0') AS claim_id,
               CAST(j + 1 AS INTEGER) AS claim_line_number,
               'professional' AS claim_type, c.person_id,
               c.service_date AS claim_line_start_date, c.service_date AS claim_line_end_date,
               c.place_of_service_code, {_line_code_sql('code')} AS hcpcs_code,
               {_line_code_sql('modifier')} AS hcpcs_modifier_1,
               {modifiers},
               c.npi AS rendering_npi, c.tin AS billing_tin, 'icd-10-cm' AS diagnosis_code_type,
               {diagnoses},
               {amount} AS allowed_amount, round(0.8 * {amount}, 2) AS paid_amount,
               1.0 AS service_unit_quantity, 'medicare' AS payer
        FROM {_lines_from("c.population = 'medicare'")}
    """


def _encounter_id() -> str:
    return "'EN' || lpad(CAST(c.claim_seq AS VARCHAR), 10, '0')"


def encounter_sql() -> str:
    """One encounter per claim (Medicare patients are in the EHR too) and per other-payer visit."""
    return f"""
        SELECT {_encounter_id()} AS encounter_id, c.person_id, {_ENCOUNTER_TYPES} AS encounter_type,
               c.service_date AS encounter_start_date, c.service_date AS encounter_end_date,
               c.place_of_service_code, c.npi AS rendering_npi, c.tin AS billing_tin, c.payer
        FROM gen_claim c
    """


def condition_sql() -> str:
    """One row per diagnosis of each encounter, in the order the claim lists them."""
    code = _diagnosis_columns(3)
    return f"""
        SELECT {_encounter_id()} || '-D' || CAST(j + 1 AS VARCHAR) AS condition_id, c.person_id,
               {_encounter_id()} AS encounter_id, c.service_date AS recorded_date,
               'icd-10-cm' AS source_code_type,
               CASE j WHEN 0 THEN {code[0]} WHEN 1 THEN {code[1]} ELSE {code[2]} END AS source_code
        FROM (SELECT c.*, unnest(range(CAST(c.diagnosis IS NOT NULL AS INTEGER)
                                       + CAST(c.additional_diagnosis IS NOT NULL AS INTEGER)
                                       + CAST(c.quality_diagnosis IS NOT NULL AS INTEGER))) AS j
              FROM gen_claim c) c
    """


def procedure_sql() -> str:
    """One row per line of each encounter: procedures and quality data codes with their modifier."""
    modifiers = ", ".join(f"CAST(NULL AS VARCHAR) AS modifier_{i}" for i in range(2, 6))
    return f"""
        SELECT {_encounter_id()} || '-P' || CAST(j + 1 AS VARCHAR) AS procedure_id, c.person_id,
               {_encounter_id()} AS encounter_id, c.service_date AS procedure_date, 'hcpcs' AS source_code_type,
               {_line_code_sql('code')} AS source_code, {_line_code_sql('modifier')} AS modifier_1, {modifiers},
               c.npi AS practitioner_id
        FROM {_lines_from()}
    """
