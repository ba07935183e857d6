"""Synthetic MIPS inputs for a seed, a size and a performance year (``mips generate``).

``build_synthetic_inputs`` creates one DuckDB view per input contract (schemas/inputs.py),
named ``synthetic_<contract>``, with exactly the contract's columns in its order and types:
medical_claim, eligibility, clinician_roster, pi_input, ia_input, cost_input and, with
encounters, patient, encounter, condition, procedure. Everything is set-based SQL over
``range()`` with hash draws (``rand.Draws``): the same seed, size and year give the same rows.

Codes come from the year's compiled claims specifications (``ref.claims_*``), so claims and
encounters meet, miss, are excluded from or excepted from the measures, or carry no quality
data code at all. ``bad_rows_percent`` > 0 spoils that share of rows on purpose (``faults``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from schemas.inputs import CONTRACTS
from transforms.generate import claims, entities, faults, practice, specs
from transforms.generate.rand import Draws

CLAIM_TABLES = ("medical_claim", "eligibility", "clinician_roster", "pi_input", "ia_input", "cost_input")
ENCOUNTER_TABLES = ("patient", "encounter", "condition", "procedure")
OTHER_PAYER_ENCOUNTER_SHARE = 1 / 3  # of EHR encounters: commercial and Medicaid patients besides Medicare's


@dataclass(frozen=True)
class GeneratedInputs:
    performance_year: int
    seed: int
    tables: dict[str, str]  # contract name -> DuckDB view of its rows
    targeted_measures: list[str]
    untargeted_measures: list[tuple[str, str]] = field(default_factory=list)  # (measure_id, why)


def output_table(name: str) -> str:
    return f"synthetic_{name}"


def build_synthetic_inputs(con: duckdb.DuckDBPyConnection, *, performance_year: int, claim_lines: int,
                           seed: int = 1, encounters: bool = True,
                           bad_rows_percent: float = 0.0) -> GeneratedInputs:
    """Create the ``synthetic_*`` views; ``claim_lines`` Medicare claim lines exactly (plus the
    duplicate lines ``bad_rows_percent`` adds). Needs the ``ref`` views (transforms.reference)."""
    if claim_lines < 1:
        raise ValueError("claim_lines must be at least 1")
    if not 0 <= bad_rows_percent <= 50:
        raise ValueError("bad_rows_percent must be between 0 and 50")
    draws = Draws(seed)
    sizes = entities.Sizes.for_claim_lines(claim_lines)
    specs.build_option_tables(con, performance_year)
    entities.build_practices(con, performance_year=performance_year, sizes=sizes, draws=draws)
    entities.build_persons(con, performance_year=performance_year, sizes=sizes, draws=draws)
    n_measures = claims.build_pick_tables(con)
    if n_measures == 0:
        raise ValueError(f"the compiled claims specifications hold no measure for performance year {performance_year}")
    claims.build_claims(con, performance_year=performance_year, claim_lines=claim_lines,
                        other_payer_encounter_share=OTHER_PAYER_ENCOUNTER_SHARE if encounters else 0.0,
                        draws=draws, n_measures=n_measures)

    sources = {
        "medical_claim": claims.medical_claim_sql(draws),
        # Without the EHR extract only Medicare beneficiaries exist.
        "eligibility": entities.eligibility_sql(performance_year, medicare_only=not encounters),
        "clinician_roster": entities.roster_sql(),
        "pi_input": practice.pi_input_sql(performance_year, draws),
        "ia_input": practice.ia_input_sql(performance_year, draws),
        "cost_input": practice.cost_input_sql(performance_year, draws),
    }
    if encounters:
        sources.update({
            "patient": entities.patient_sql(),
            "encounter": claims.encounter_sql(),
            "condition": claims.condition_sql(),
            "procedure": claims.procedure_sql(),
        })
    # Views, not tables: the big ones are computed once, when COPY writes their file. Each source
    # comes out in its key's order (small ones sort; claim lines stream from the ordered claim
    # table) and the wrappers (casts, faults) keep that order.
    tables = {}
    for name, sql in sources.items():
        view = output_table(name)
        spoiled = faults.spoil_sql(con, name, _contract_select(con, name, sql), seed=seed, percent=bad_rows_percent)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {spoiled}")
        tables[name] = view
    return GeneratedInputs(performance_year=performance_year, seed=seed, tables=tables,
                           targeted_measures=specs.targeted_measures(con),
                           untargeted_measures=specs.untargeted_summary(con, performance_year))


def _contract_select(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> str:
    """The contract's columns in its order and types (a column the generator does not fill is NULL)."""
    produced = {d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description}
    cols = []
    for column_name, column in CONTRACTS[name].schema.columns.items():
        value = f'"{column_name}"' if column_name in produced else "NULL"
        cols.append(f'CAST({value} AS {column.metadata["type"]}) AS "{column_name}"')
    return f"SELECT {', '.join(cols)} FROM ({sql}) src"
