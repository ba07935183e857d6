"""Tables the ingest step writes: what was rejected, how every file reconciles, soft findings."""
from schemas.tables import Column, TableSpec

REJECTS = TableSpec(
    name="rejects",
    grain="one row per (source file, row, column, rule) a row failed; a row can fail several rules",
    key=("source_file", "row_number", "column", "rule"),
    description="Input rows that were not used, with the reason. Holds no patient data: the reason never quotes a value.",
    columns=(
        Column("performance_year", "INTEGER", "performance year of the run", nullable=False),
        Column("source_file", "VARCHAR", "input file as given on the command line", nullable=False),
        Column("table_name", "VARCHAR", "input contract the file was read as", nullable=False),
        Column("row_number", "BIGINT", "data row in the file (1 = first row after the header)", nullable=False),
        Column("column", "VARCHAR", "column that failed; null for a whole-row rule"),
        Column("rule", "VARCHAR", "name of the rule (pandera check name)", nullable=False),
        Column("reason", "VARCHAR", "why, in words; never the value itself", nullable=False),
    ),
)

INGEST_SUMMARY = TableSpec(
    name="ingest_summary",
    grain="one row per input file",
    key=("source_file",),
    description="Reconciliation of every input file: input_rows = accepted_rows + out_of_scope_rows + rejected_rows.",
    columns=(
        Column("performance_year", "INTEGER", "performance year of the run", nullable=False),
        Column("source_file", "VARCHAR", "input file as given", nullable=False),
        Column("table_name", "VARCHAR", "input contract", nullable=False),
        Column("input_rows", "BIGINT", "data rows in the file", nullable=False),
        Column("accepted_rows", "BIGINT", "rows used downstream", nullable=False),
        Column("out_of_scope_rows", "BIGINT", "valid rows MIPS does not count here (see ingest_out_of_scope for why)",
               nullable=False),
        Column("rejected_rows", "BIGINT", "rows rejected (see rejects)", nullable=False),
        Column("rejected_percent", "DOUBLE", "100 * rejected_rows / input_rows", nullable=False),
    ),
)

INGEST_WARNINGS = TableSpec(
    name="ingest_warnings",
    grain="one row per (input table, soft rule) that found something",
    key=("table_name", "rule"),
    description="Soft findings: rows kept, but worth a look (e.g. a claim's NPI missing from the roster).",
    columns=(
        Column("performance_year", "INTEGER", "performance year of the run", nullable=False),
        Column("table_name", "VARCHAR", "input table", nullable=False),
        Column("rule", "VARCHAR", "soft rule", nullable=False),
        Column("rows_affected", "BIGINT", "rows (or persons/clinicians, as the description says) concerned",
               nullable=False),
        Column("description", "VARCHAR", "what the finding means", nullable=False),
    ),
)

INGEST_OUT_OF_SCOPE = TableSpec(
    name="ingest_out_of_scope",
    grain="one row per (source file, reason) that set valid rows aside",
    key=("source_file", "reason"),
    description="Valid input rows that MIPS does not count (e.g. institutional claims, a non-Medicare payer for the "
                "claims source, a line outside the performance year, a FHIR resource type no measure reads), counted "
                "by reason. They are neither rejected nor used; summed per file they give ingest_summary.out_of_scope_rows.",
    columns=(
        Column("performance_year", "INTEGER", "performance year of the run", nullable=False),
        Column("source_file", "VARCHAR", "input file as given", nullable=False),
        Column("table_name", "VARCHAR", "input contract (or resource type) the rows were read as", nullable=False),
        Column("reason", "VARCHAR", "why these rows are out of scope, in words; never a value", nullable=False),
        Column("rows", "BIGINT", "rows set aside for this reason", nullable=False),
    ),
)
