"""CMS Claim and Claim Line Feed (CCLF) files, read as CMS publishes them and mapped into the claims contract.

A folder (``mips run --cclf-dir DIR``) holds one or more monthly deliveries of:

- CCLF5, Part B physician claim lines (file names with ``ZC5``, as CMS names them, or ``CCLF5``);
- CCLF8, beneficiary demographics (``ZC8`` / ``CCLF8``);
- CCLF9, the MBI crosswalk (``ZC9`` / ``CCLF9``), where present: a beneficiary's previous MBIs map to the current one.

Each file is CMS's fixed-width layout (transforms/sources/cclf_layouts.py) or, as ACOs' loaders often write
them, a delimited file (``|``, tab or comma) whose header names CMS's fields. Deliveries are ordered by the
``D<YYMMDD>`` date in the file name (else by name).

Rules, as the CCLF Information Packet describes them (sections "Dropping Denied Claims" and "Calculating
Beneficiary-Level Expenditures" / claim adjustments), and as Tuva's connector applies them:

1. A line delivered again unchanged in a later file counts once (the later delivery is used).
2. Denied claims (CLM_CARR_PMT_DNL_CD = '0') are not Medicare-paid services.
3. Versions of a claim line share CLM_CNTL_NUM, the (current) MBI and CLM_LINE_NUM. The latest version
   (latest CLM_EFCTV_DT, then the highest CUR_CLM_UNIQ_ID, since CLM_ADJSMT_TYPE_CD is not used consistently
   to mark the final version) replaces the earlier ones; when the latest is a cancellation
   (CLM_ADJSMT_TYPE_CD = 1; 0 = original, 2 = adjustment) the line drops out with every version of it.
4. A beneficiary's CCLF8 row of the latest delivery is used.

Every CCLF line ends counted: the lines these rules set aside are out of scope of their CCLF file with the rule as
the reason, and the rest is mapped into medical_claim / eligibility (Tuva input-layer names, as Tuva's connector
maps them: claim_type professional, payer and plan 'medicare', rendering_tin from CLM_RNDRG_PRVDR_TAX_NUM) and
validated as usual, with row numbers that point at the CCLF file's own lines.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from mips.errors import InputFileError, PipelineError
from schemas.inputs import CONTRACTS
from transforms.sources.cclf_layouts import LAYOUTS, record_lengths

KINDS = {"cclf5": ("ZC5", "CCLF5"), "cclf8": ("ZC8", "CCLF8"), "cclf9": ("ZC9", "CCLF9")}
_DELIVERY_DATE = re.compile(r"\.D(\d{6})\.")
_SENTINEL_DATES = ("1000-01-01", "9999-12-31")  # CMS's placeholders for an empty date

REDELIVERED = "CCLF line delivered again unchanged in a later file: counted once (the later delivery is used)"
DENIED = "denied claim (CLM_CARR_PMT_DNL_CD 0): not a Medicare-paid service"
CANCELLED = ("cancelled claim: the latest version of the claim line is a cancellation (CLM_ADJSMT_TYPE_CD 1), "
             "so every version of it drops out")
SUPERSEDED = ("earlier version of an adjusted claim line: a later version (CLM_EFCTV_DT, then CUR_CLM_UNIQ_ID) "
              "replaces it")
EARLIER_BENEFICIARY_ROW = "beneficiary row of an earlier CCLF8 delivery (or repeated): the latest row is used"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def find_files(folder: Path) -> dict[str, list[Path]]:
    """CCLF5/8/9 files of a folder, each kind in delivery order; CCLF5 and CCLF8 are required."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError(f"CCLF folder {folder} not found")
    found: dict[str, list[Path]] = {kind: [] for kind in KINDS}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        name = path.name.upper()
        for kind, marks in KINDS.items():
            if any(mark in name for mark in marks):
                found[kind].append(path)
    for kind, what in (("cclf5", "CCLF5 (Part B physician claim lines)"), ("cclf8", "CCLF8 (beneficiary demographics)")):
        if not found[kind]:
            raise PipelineError(f"{folder}: no {what} file (CMS names it P.<ACO>.ACO.ZC{kind[-1]}...; "
                                f"a name with CCLF{kind[-1]} is read too)")
    return {kind: sorted(paths, key=_delivery_key) for kind, paths in found.items()}


def _delivery_key(path: Path) -> tuple[str, str]:
    match = _DELIVERY_DATE.search(path.name.upper())
    return (match.group(1) if match else "", path.name)


def all_files(folder: Path) -> list[Path]:
    return [p for paths in find_files(folder).values() for p in paths]


# ---------------------------------------------------------------- reading

def _load(con: duckdb.DuckDBPyConnection, path: Path, kind: str, delivery: int, table: str) -> int:
    """Append the file's records to ``table`` (one VARCHAR column per CMS field, '' and '~' as NULL)."""
    fields, _ = LAYOUTS[kind]
    names = [f for f, _ in fields]
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            first = handle.readline().rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputFileError(path, "is not text (a CCLF file is fixed-width or delimited text)") from None
    if not first.strip():
        raise InputFileError(path, "is empty")
    value = "NULLIF(NULLIF(trim({e}), ''), '~')"
    head = first.upper()
    if head.startswith(names[0]) or head.startswith(names[0].lower().upper()):
        delimiter = "|" if "|" in first else ("\t" if "\t" in first else ",")
        header = [h.strip().upper() for h in first.split(delimiter)]
        missing = [n for n in names[:3] if n not in header]
        if missing:
            raise InputFileError(path, f"header lacks CMS field(s) {', '.join(missing)} of {kind.upper()}")
        columns = "{" + ", ".join(f"{_lit(h or f'column{i}')}: 'VARCHAR'" for i, h in enumerate(header)) + "}"
        selects = [value.replace("{e}", f'"{n}"') if n in header else "NULL" for n in names]
        source = (f"(SELECT *, row_number() OVER () AS line_no FROM read_csv({_lit(path.as_posix())}, "
                  f"columns={columns}, header=true, auto_detect=false, delim={_lit(delimiter)}, quote='\"'))")
    else:
        lengths = record_lengths(kind)
        source = (f"(SELECT rtrim(line, chr(13)) AS line, row_number() OVER () AS line_no FROM read_csv("
                  f"{_lit(path.as_posix())}, columns={{'line': 'VARCHAR'}}, header=false, auto_detect=false, "
                  "delim=chr(31), quote='', escape='', strict_mode=false))")
        bad = con.execute(f"SELECT min(line_no), count(*) FROM {source} WHERE length(line) NOT IN "
                          f"({', '.join(map(str, lengths))}) AND trim(line) <> ''").fetchone()
        if bad[1]:
            raise InputFileError(path, f"line {bad[0]} (and {bad[1] - 1} more) is not a {kind.upper()} record: CMS's "
                                       f"fixed-width layout has {' or '.join(map(str, lengths))} characters per record")
        selects, start = [], 1
        for name, length in fields:
            selects.append(value.replace("{e}", f"substr(line, {start}, {length})"))
            start += length
        source = f"(SELECT * FROM {source} WHERE trim(line) <> '')"
    con.execute(f"""INSERT INTO {table} SELECT {_lit(str(path))}, {delivery}, line_no,
                    {', '.join(f'{s} AS "{n}"' for s, n in zip(selects, names))} FROM {source}""")
    return con.execute(f"SELECT count(*) FROM {table} WHERE source_file = ?", [str(path)]).fetchone()[0]


def _create(con, kind: str, table: str) -> None:
    fields, _ = LAYOUTS[kind]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (source_file VARCHAR, delivery INTEGER, line_no BIGINT, "
                + ", ".join(f'"{f}" VARCHAR' for f, _ in fields) + ")")


def _date(column: str) -> str:
    return f"""CASE WHEN "{column}" IN ({', '.join(map(_lit, _SENTINEL_DATES))}) THEN NULL ELSE "{column}" END"""


# ---------------------------------------------------------------- mapping

def _claims_sql() -> str:
    """CCLF5 records with their fate: NULL = kept, else the out-of-scope reason."""
    return f"""
    CREATE OR REPLACE TEMP TABLE _cclf5_fate AS
    WITH c AS (
        SELECT c.*, coalesce(x.crnt, c.BENE_MBI_ID) AS mbi,
               row_number() OVER (PARTITION BY {', '.join(f'c."{f}"' for f, _ in LAYOUTS['cclf5'][0])}
                                  ORDER BY c.delivery DESC, c.line_no DESC) AS copy_no
        FROM _cclf5 c LEFT JOIN _cclf_xref x ON x.prvs = c.BENE_MBI_ID),
    v AS (
        SELECT *, row_number() OVER w AS version_no,
               first_value(try_cast(CLM_ADJSMT_TYPE_CD AS INTEGER)) OVER w AS latest_adjustment
        FROM c WHERE copy_no = 1 AND coalesce(CLM_CARR_PMT_DNL_CD, '') NOT IN ('0', '00')
        WINDOW w AS (PARTITION BY coalesce(CLM_CNTL_NUM, CUR_CLM_UNIQ_ID), mbi, try_cast(CLM_LINE_NUM AS BIGINT)
                     ORDER BY CLM_EFCTV_DT DESC NULLS LAST, CUR_CLM_UNIQ_ID DESC))
    SELECT c.*, CASE WHEN c.copy_no > 1 THEN {_lit(REDELIVERED)}
                     WHEN coalesce(c.CLM_CARR_PMT_DNL_CD, '') IN ('0', '00') THEN {_lit(DENIED)}
                     WHEN v.latest_adjustment = 1 THEN {_lit(CANCELLED)}
                     WHEN v.version_no > 1 THEN {_lit(SUPERSEDED)} END AS reason
    FROM c LEFT JOIN v USING (source_file, line_no)"""


def _claim_columns() -> dict[str, str]:
    """medical_claim column -> expression over a kept CCLF5 record (Tuva's connector mapping)."""
    out = {
        "claim_id": "CUR_CLM_UNIQ_ID",
        "claim_line_number": "coalesce(CAST(try_cast(CLM_LINE_NUM AS BIGINT) AS VARCHAR), CLM_LINE_NUM)",
        "claim_type": "'professional'",
        "claim_type_code": "CLM_TYPE_CD",
        "person_id": "mbi",
        "claim_line_start_date": _date("CLM_LINE_FROM_DT"),
        "claim_line_end_date": _date("CLM_LINE_THRU_DT"),
        "place_of_service_code": "CLM_POS_CD",
        "hcpcs_code": "CLM_LINE_HCPCS_CD",
        "rendering_npi": "RNDRG_PRVDR_NPI_NUM",
        "rendering_tin": "CLM_RNDRG_PRVDR_TAX_NUM",
        "billing_tin": "NULL",
        "diagnosis_code_type": "CASE DGNS_PRCDR_ICD_IND WHEN '9' THEN 'icd-9-cm' ELSE 'icd-10-cm' END",
        "allowed_amount": "CLM_LINE_ALOWD_CHRG_AMT",
        "paid_amount": "CLM_LINE_CVRD_PD_AMT",
        "service_unit_quantity": "CLM_LINE_SRVC_UNIT_QTY",
        "payer": "'medicare'",
        "plan": "'medicare'",
        "data_source": "'medicare cclf'",
    }
    out.update({f"hcpcs_modifier_{i}": f"HCPCS_{i}_MDFR_CD" for i in range(1, 6)})
    out.update({f"diagnosis_code_{i}": f"CLM_DGNS_{i}_CD" for i in range(1, 13)})
    return out


def _eligibility_sql() -> str:
    return f"""
    CREATE OR REPLACE TEMP TABLE _cclf8_fate AS
    SELECT b.*, coalesce(x.crnt, b.BENE_MBI_ID) AS mbi,
           CASE WHEN row_number() OVER (PARTITION BY coalesce(x.crnt, b.BENE_MBI_ID)
                                        ORDER BY b.delivery DESC, b.line_no DESC) > 1
                THEN {_lit(EARLIER_BENEFICIARY_ROW)} END AS reason
    FROM _cclf8 b LEFT JOIN _cclf_xref x ON x.prvs = b.BENE_MBI_ID"""


def _eligibility_columns() -> dict[str, str]:
    return {
        "person_id": "mbi",
        "member_id": "mbi",
        "birth_date": _date("BENE_DOB"),
        "gender": "CASE BENE_SEX_CD WHEN '0' THEN 'unknown' WHEN '1' THEN 'male' WHEN '2' THEN 'female' "
                  "ELSE BENE_SEX_CD END",
        "enrollment_start_date": f"coalesce({_date('BENE_RNG_BGN_DT')}, {_date('BENE_PART_B_ENRLMT_BGN_DT')})",
        "enrollment_end_date": _date("BENE_RNG_END_DT"),
        "dual_status_code": "BENE_DUAL_STUS_CD",
        "death_date": _date("BENE_DEATH_DT"),
        "payer": "'medicare'",
        "plan": "'medicare'",
        "data_source": "'medicare cclf'",
    }


def _map_and_ingest(con, fate: str, table: str, columns: dict[str, str], work: Path, ingest_file) -> None:
    """Write the kept records as a contract file, validate it, and point every row back at its CCLF line."""
    contract = CONTRACTS[table]
    select = ", ".join(f'{columns.get(name, "NULL")} AS "{name}"' for name in contract.schema.columns)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _cclf_map AS
                    SELECT row_number() OVER (ORDER BY delivery, source_file, line_no) AS mapped_row, source_file,
                           line_no FROM {fate} WHERE reason IS NULL""")
    mapped = work / f"{table}.parquet"
    con.execute(f"""COPY (SELECT {select} FROM {fate} WHERE reason IS NULL ORDER BY delivery, source_file, line_no)
                    TO {_lit(mapped.as_posix())} (FORMAT parquet)""")
    if con.execute("SELECT count(*) FROM _cclf_map").fetchone()[0]:
        ingest_file(con, mapped, contract)
    else:  # every line set aside: an empty contract table
        con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT {select}, NULL::VARCHAR AS source_file, '
                    f"NULL::BIGINT AS source_row_number FROM {fate} WHERE FALSE")
    for target in (table, "_rejects"):
        number = "source_row_number" if target == table else "row_number"
        con.execute(f"""UPDATE "{target}" t SET source_file = m.source_file, {number} = m.line_no FROM _cclf_map m
                        WHERE t.source_file = ? AND t.{number} = m.mapped_row""", [str(mapped)])
    con.execute("DELETE FROM _ingest_summary WHERE source_file = ?", [str(mapped)])
    con.execute(f"""INSERT INTO _out_of_scope SELECT source_file, {_lit(table)}, reason, count(*) FROM {fate}
                    WHERE reason IS NOT NULL GROUP BY ALL""")
    con.execute(f"""
        INSERT INTO _ingest_summary
        SELECT f.source_file, {_lit(table)}, f.n, coalesce(a.n, 0), coalesce(r.n, 0), coalesce(o.n, 0)
        FROM (SELECT source_file, min(delivery) AS delivery, count(*) AS n FROM {fate} GROUP BY 1) f
        LEFT JOIN (SELECT source_file, count(*) AS n FROM "{table}" GROUP BY 1) a USING (source_file)
        LEFT JOIN (SELECT source_file, count(DISTINCT row_number) AS n FROM _rejects WHERE table_name = {_lit(table)}
                   GROUP BY 1) r USING (source_file)
        LEFT JOIN (SELECT source_file, count(*) AS n FROM {fate} WHERE reason IS NOT NULL GROUP BY 1) o
          USING (source_file)
        ORDER BY f.delivery, f.source_file""")


def ingest_cclf(con: duckdb.DuckDBPyConnection, folder: Path) -> list[str]:
    """Read a CCLF folder into the medical_claim and eligibility contract tables (validated, reconciled per
    CCLF file). Returns the CCLF files read, in delivery order."""
    from transforms import ingest

    files = find_files(folder)
    ingest._ensure_ingest_tables(con)
    for kind in KINDS:
        _create(con, kind, f"_{kind}")
    for kind, paths in files.items():
        for delivery, path in enumerate(paths, start=1):
            n = _load(con, path, kind, delivery, f"_{kind}")
            if kind == "cclf9":  # the crosswalk is read whole: every row is used as a mapping
                con.execute("INSERT INTO _ingest_summary VALUES (?, 'cclf9_mbi_crosswalk', ?, ?, 0, 0)",
                            [str(path), n, n])
    # previous MBI -> current MBI, from the latest delivery that names it
    con.execute("""CREATE OR REPLACE TEMP TABLE _cclf_xref AS
                   SELECT PRVS_NUM AS prvs, arg_max(CRNT_NUM, delivery * 1e9 + line_no) AS crnt FROM _cclf9
                   WHERE PRVS_NUM IS NOT NULL AND CRNT_NUM IS NOT NULL AND PRVS_NUM <> CRNT_NUM GROUP BY 1""")
    con.execute(_claims_sql())
    con.execute(_eligibility_sql())
    work = Path(tempfile.mkdtemp(prefix="cclf-"))
    try:
        _map_and_ingest(con, "_cclf5_fate", "medical_claim", _claim_columns(), work, ingest.ingest_file)
        _map_and_ingest(con, "_cclf8_fate", "eligibility", _eligibility_columns(), work, ingest.ingest_file)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name in ("_cclf5", "_cclf8", "_cclf9", "_cclf5_fate", "_cclf8_fate", "_cclf_map", "_cclf_xref"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return [str(p) for paths in files.values() for p in paths]
