"""CMS CCLF files read directly (issue 14 item 3): `mips run --cclf-dir DIR` reads CCLF5, CCLF8 and CCLF9 in
CMS's fixed-width layout (or delimited with CMS's field names), applies redeliveries, denials, adjustments and
cancellations as the CCLF Information Packet describes them, maps into medical_claim / eligibility and validates
as usual. The same claims given as a Tuva table (tests/tuva_shapes.py) give the same counts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from mips.errors import InputFileError
from mips.paths import PROJECT_ROOT
from mips.period import run_period_steps
from tests import tuva_shapes as tuva
from tests.tuva_shapes import NPI, TIN
from transforms.sources import cclf
from transforms.sources.cclf_layouts import CCLF5, CCLF8, CCLF9

M1, M2, M3, M3_OLD = "1EG4TE5MK71", "1EG4TE5MK72", "1EG4TE5MK73", "9ZZ9ZZ9ZZ93"


def cclf5(uniq: str, line: int, mbi: str, dos: str, code: str, allowed: str, *, control: str, adjustment: str = "0",
          effective: str = "2023-06-01", denied: str = "1", dx: str = "E119") -> dict:
    return {"CUR_CLM_UNIQ_ID": uniq, "CLM_LINE_NUM": f"{line:010d}", "BENE_MBI_ID": mbi, "CLM_TYPE_CD": "71",
            "CLM_FROM_DT": dos, "CLM_THRU_DT": dos, "RNDRG_PRVDR_TYPE_CD": "01", "CLM_PRVDR_SPCLTY_CD": "08",
            "CLM_FED_TYPE_SRVC_CD": "1", "CLM_POS_CD": "11", "CLM_LINE_FROM_DT": dos, "CLM_LINE_THRU_DT": dos,
            "CLM_LINE_HCPCS_CD": code, "CLM_LINE_CVRD_PD_AMT": allowed, "CLM_RNDRG_PRVDR_TAX_NUM": TIN,
            "RNDRG_PRVDR_NPI_NUM": NPI, "CLM_CARR_PMT_DNL_CD": denied, "CLM_PRCSG_IND_CD": "A",
            "CLM_ADJSMT_TYPE_CD": adjustment, "CLM_EFCTV_DT": effective, "CLM_IDR_LD_DT": effective,
            "CLM_CNTL_NUM": control, "CLM_LINE_ALOWD_CHRG_AMT": allowed, "CLM_LINE_SRVC_UNIT_QTY": "1.0000",
            "CLM_DGNS_1_CD": dx, "DGNS_PRCDR_ICD_IND": "0", "BENE_EQTBL_BIC_HICN_NUM": "~"}


def cclf8(mbi: str, birth: str, sex: str) -> dict:
    return {"BENE_MBI_ID": mbi, "BENE_DOB": birth, "BENE_SEX_CD": sex, "BENE_MDCR_STUS_CD": "10",
            "BENE_DUAL_STUS_CD": "NA", "BENE_DEATH_DT": "1000-01-01", "BENE_RNG_BGN_DT": "2023-01-01",
            "BENE_RNG_END_DT": "2023-12-31", "BENE_PART_B_ENRLMT_BGN_DT": "2015-01-01", "BENE_1ST_NAME": "NEVER",
            "BENE_LAST_NAME": "LOGGED"}


def fixed_width(path: Path, layout, records: list[dict]) -> Path:
    """CMS's layout: each field left-justified in its length, one record per line, no header."""
    path.write_text("".join("".join(r.get(name, "").ljust(n)[:n] for name, n in layout) + "\r\n" for r in records))
    return path


def delimited(path: Path, layout, records: list[dict]) -> Path:
    names = [name for name, _ in layout]
    path.write_text("|".join(names) + "\n" + "".join("|".join(r.get(n, "") for n in names) + "\n" for r in records))
    return path


D1 = [  # first monthly delivery
    cclf5("1001", 1, M1, "2023-04-03", "99213", "100.00", control="C1"),
    cclf5("1001", 2, M1, "2023-04-03", "3046F", "0.00", control="C1"),
    cclf5("1002", 1, M2, "2023-05-01", "99213", "80.00", control="C2"),
    cclf5("1002", 2, M2, "2023-05-01", "3044F", "0.00", control="C2"),
    cclf5("1003", 1, M3_OLD, "2023-05-15", "99213", "75.00", control="C3"),  # previous MBI: CCLF9 maps it to M3
    cclf5("1003", 2, M3_OLD, "2023-05-15", "1123F", "0.00", control="C3"),
    cclf5("1004", 1, M2, "2023-05-20", "99214", "120.00", control="C4"),    # cancelled in the second delivery
    cclf5("1005", 1, M1, "2023-05-22", "99213", "95.00", control="C5", denied="0"),  # denied
]
D2 = [  # second delivery: claim C2 cancelled and re-issued as an adjustment (3046F instead of 3044F); C4 cancelled
    cclf5("2002", 1, M2, "2023-05-01", "99213", "80.00", control="C2", adjustment="1", effective="2023-06-05"),
    cclf5("2002", 2, M2, "2023-05-01", "3044F", "0.00", control="C2", adjustment="1", effective="2023-06-05"),
    cclf5("2003", 1, M2, "2023-05-01", "99213", "90.00", control="C2", adjustment="2", effective="2023-06-06"),
    cclf5("2003", 2, M2, "2023-05-01", "3046F", "0.00", control="C2", adjustment="2", effective="2023-06-06"),
    cclf5("2004", 1, M2, "2023-05-20", "99214", "120.00", control="C4", adjustment="1", effective="2023-06-10"),
    cclf5("1001", 1, M1, "2023-04-03", "99213", "100.00", control="C1"),  # redelivered unchanged
]
BENEFICIARIES = [cclf8(M1, "1960-01-01", "2"), cclf8(M2, "1955-03-01", "1"), cclf8(M3, "1950-01-01", "2")]
XREF = [{"HICN_MBI_XREF_IND": "M", "CRNT_NUM": M3, "PRVS_NUM": M3_OLD, "PRVS_ID_EFCTV_DT": "2019-01-01",
         "PRVS_ID_OBSLT_DT": "2023-01-01"}]


def cclf_folder(folder: Path, write=fixed_width) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "P.A1234.ACO.ZC5Y23.D230601.T0100000", CCLF5, D1)
    write(folder / "P.A1234.ACO.ZC5Y23.D230701.T0100000", CCLF5, D2)
    write(folder / "P.A1234.ACO.ZC8Y23.D230601.T0100000", CCLF8, BENEFICIARIES)
    write(folder / "P.A1234.ACO.ZC8Y23.D230701.T0100000", CCLF8, BENEFICIARIES)
    write(folder / "P.A1234.ACO.ZC9Y23.D230701.T0100000", CCLF9, XREF)
    return folder


def same_claims_as_tuva(folder: Path) -> dict[str, Path]:
    """What should remain after the CCLF rules, as Tuva's connector would deliver it."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [tuva.physician_line("1001", 1, M1, "2023-04-03", "99213", ["E119"], "100.00"),
             tuva.physician_line("1001", 2, M1, "2023-04-03", "3046F", ["E119"], "0.00"),
             tuva.physician_line("1003", 1, M3, "2023-05-15", "99213", ["E119"], "75.00"),
             tuva.physician_line("1003", 2, M3, "2023-05-15", "1123F", ["E119"], "0.00"),
             tuva.physician_line("2003", 1, M2, "2023-05-01", "99213", ["E119"], "90.00"),
             tuva.physician_line("2003", 2, M2, "2023-05-01", "3046F", ["E119"], "0.00")]
    people = [tuva.enrollment(M1, "1960-01-01", "female", start="2023-01-01", end="2023-12-31"),
              tuva.enrollment(M2, "1955-03-01", "male", start="2023-01-01", end="2023-12-31"),
              tuva.enrollment(M3, "1950-01-01", "female", start="2023-01-01", end="2023-12-31")]
    return {"medical_claim": tuva.write(folder / "medical_claim.csv", tuva.MEDICAL_CLAIM_COLUMNS, lines),
            "eligibility": tuva.write(folder / "eligibility.csv", tuva.ELIGIBILITY_COLUMNS, people)}


def q(out: Path, sql: str) -> list[tuple]:
    for name in ("measure_results", "mips_eligibility", "ingest_summary", "ingest_out_of_scope", "rejects"):
        sql = sql.replace(f"{{{name}}}", f"read_parquet('{out}/{name}/**/*.parquet', hive_partitioning = true)")
    return duckdb.sql(sql).fetchall()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cclf")
    run_period_steps(performance_year=2023, files={"cclf": cclf_folder(base / "cclf")}, output_root=base / "out_cclf")
    run_period_steps(performance_year=2023, files=same_claims_as_tuva(base / "tuva"), output_root=base / "out_tuva")
    return base / "out_cclf", base / "out_tuva"


def test_every_cclf_line_is_accounted_for_with_cms_rules(runs):
    out, _ = runs
    summary = q(out, "SELECT regexp_extract(source_file, 'ZC\\d', 0), table_name, input_rows, accepted_rows, "
                     "out_of_scope_rows, rejected_rows FROM {ingest_summary} ORDER BY source_file")
    assert summary == [
        ("ZC5", "medical_claim", 8, 3, 5, 0),  # 1001-2, 1003 x2 kept; 1001-1 redelivered, 1002 x2 superseded,
        ("ZC5", "medical_claim", 6, 3, 3, 0),  # 1004 cancelled, 1005 denied | 2003 x2 + 1001-1 kept; 2002 x2, 2004
        ("ZC8", "eligibility", 3, 0, 3, 0),    # every beneficiary again in the later delivery
        ("ZC8", "eligibility", 3, 3, 0, 0),
        ("ZC9", "cclf9_mbi_crosswalk", 1, 1, 0, 0),
    ]
    reasons = dict(q(out, 'SELECT split_part(reason, \':\', 1), sum("rows") FROM {ingest_out_of_scope} GROUP BY 1'))
    assert reasons == {
        "CCLF line delivered again unchanged in a later file": 1,
        "denied claim (CLM_CARR_PMT_DNL_CD 0)": 1,
        "cancelled claim": 2,  # 1004 and its cancellation 2004
        "earlier version of an adjusted claim line": 4,  # 1002 x2 and the cancellation 2002 x2, replaced by 2003
        "beneficiary row of an earlier CCLF8 delivery (or repeated)": 3,
    }


def test_cclf_counts_match_the_same_claims_as_a_tuva_table(runs):
    from_cclf, from_tuva = runs
    measures = ("SELECT measure_id, stratum, level, tin, npi, eligible_population, eligible_population_exclusion, "
                "eligible_population_exception, performance_met, performance_not_met FROM {measure_results} "
                "WHERE source = 'claims' AND computed ORDER BY ALL")
    assert q(from_cclf, measures) == q(from_tuva, measures)
    assert q(from_cclf, measures)  # not two empty lists
    volume = "SELECT level, tin, npi, allowed_charges, beneficiaries, services FROM {mips_eligibility} ORDER BY ALL"
    # 100 + 75 + 90 allowed; 3 beneficiaries; 6 lines of 1 unit each (the engine counts every line's units)
    assert q(from_cclf, volume) == q(from_tuva, volume) == [("group", TIN, None, 265.0, 3, 6),
                                                            ("individual", TIN, NPI, 265.0, 3, 6)]
    accepted = "SELECT table_name, sum(accepted_rows) FROM {ingest_summary} GROUP BY 1 ORDER BY 1"
    assert [r for r in q(from_cclf, accepted) if r[0] != "cclf9_mbi_crosswalk"] == q(from_tuva, accepted)
    # 001: M1 met (3046F), M2 met after the adjustment replaced 3044F by 3046F; M3 (born 1950) has no diabetes QDC
    assert q(from_cclf, "SELECT eligible_population, performance_met FROM {measure_results} WHERE measure_id = '001' "
                        "AND level = 'individual'") == [(3, 2)]


def test_delimited_cclf_with_cms_field_names_reads_the_same(tmp_path, runs):
    from_cclf, _ = runs
    out = tmp_path / "out"
    run_period_steps(performance_year=2023, files={"cclf": cclf_folder(tmp_path / "in", delimited)}, output_root=out)
    sql = "SELECT input_rows, accepted_rows, out_of_scope_rows, rejected_rows FROM {ingest_summary} ORDER BY source_file"
    assert q(out, sql) == q(from_cclf, sql)


def test_a_record_of_the_wrong_length_is_a_file_error_naming_the_layout(tmp_path):
    folder = cclf_folder(tmp_path / "in")
    bad = folder / "P.A1234.ACO.ZC5Y23.D230601.T0100000"
    bad.write_bytes(bad.read_bytes().replace(b"\r\n", b"X\r\n", 1))  # one character too many on line 1
    con = duckdb.connect()
    with pytest.raises(InputFileError, match=r"line 1 .*not a CCLF5 record: CMS's fixed-width layout has \d+"):
        cclf.ingest_cclf(con, folder)


def test_a_folder_without_cclf5_says_what_is_missing(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    fixed_width(folder / "P.A1234.ACO.ZC8Y23.D230601.T0100000", CCLF8, BENEFICIARIES)
    done = subprocess.run([sys.executable, "-m", "mips.cli", "run", "--performance-year", "2023", "--cclf-dir",
                           str(folder), "--output", str(tmp_path / "out"), "--without-prefect"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "no CCLF5 (Part B physician claim lines) file" in done.stderr
    assert "Traceback" not in done.stderr
