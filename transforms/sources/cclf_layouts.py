"""CMS Claim and Claim Line Feed (CCLF) record layouts: field names in CMS's order with their lengths.

Source: CMS, "Claim and Claim Line Feed (CCLF) Information Packet" (ACO-OS, e.g. version 28.0, 11/26/2019,
document IDDOC.0301.28.0.1119) and "Medicare Shared Savings Program Claim and Claim Line Feed File Data Elements
Resource" (April 2021, version 2): Table 5 Part B Physicians File (CCLF5), Table 8 Beneficiary Demographics File
(CCLF8), Table 9 Beneficiary XREF File (CCLF9). Every field is fixed width, dates are YYYY-MM-DD in 10
characters, and a record is the fields one after another (no delimiter).

The CMS PDFs cannot be fetched on the project machines; the field order was taken from Tuva's CCLF connector
(tuva-health/medicare_cclf_connector, models/staging/stg_partb_physicians.sql, stg_beneficiary_demographics.sql,
stg_beneficiary_xref.sql, which name the fields as CMS does) and the lengths were cross-checked against two
independent public CCLF loaders (a CCLF test-data generator and an ACO data-platform loader found with the
project's code search). ``UNCONFIRMED`` says so; a file whose records do not have exactly one of the lengths below
is refused with a message rather than read with shifted fields.
"""
from __future__ import annotations

UNCONFIRMED = True  # lengths not yet checked against the CMS PDF itself (see the module docstring)

# (field, length). CCLF5 records of IP versions before the three last fields were added end after HCPCS_BETOS_CD.
CCLF5 = (
    ("CUR_CLM_UNIQ_ID", 13), ("CLM_LINE_NUM", 10), ("BENE_MBI_ID", 11), ("BENE_HIC_NUM", 11), ("CLM_TYPE_CD", 2),
    ("CLM_FROM_DT", 10), ("CLM_THRU_DT", 10), ("RNDRG_PRVDR_TYPE_CD", 3), ("RNDRG_PRVDR_FIPS_ST_CD", 2),
    ("CLM_PRVDR_SPCLTY_CD", 2), ("CLM_FED_TYPE_SRVC_CD", 1), ("CLM_POS_CD", 2), ("CLM_LINE_FROM_DT", 10),
    ("CLM_LINE_THRU_DT", 10), ("CLM_LINE_HCPCS_CD", 5), ("CLM_LINE_CVRD_PD_AMT", 15), ("CLM_LINE_PRMRY_PYR_CD", 1),
    ("CLM_LINE_DGNS_CD", 7), ("CLM_RNDRG_PRVDR_TAX_NUM", 10), ("RNDRG_PRVDR_NPI_NUM", 10), ("CLM_CARR_PMT_DNL_CD", 2),
    ("CLM_PRCSG_IND_CD", 2), ("CLM_ADJSMT_TYPE_CD", 2), ("CLM_EFCTV_DT", 10), ("CLM_IDR_LD_DT", 10),
    ("CLM_CNTL_NUM", 40), ("BENE_EQTBL_BIC_HICN_NUM", 11), ("CLM_LINE_ALOWD_CHRG_AMT", 17),
    ("CLM_LINE_SRVC_UNIT_QTY", 24), ("HCPCS_1_MDFR_CD", 2), ("HCPCS_2_MDFR_CD", 2), ("HCPCS_3_MDFR_CD", 2),
    ("HCPCS_4_MDFR_CD", 2), ("HCPCS_5_MDFR_CD", 2), ("CLM_DISP_CD", 2), ("CLM_DGNS_1_CD", 7), ("CLM_DGNS_2_CD", 7),
    ("CLM_DGNS_3_CD", 7), ("CLM_DGNS_4_CD", 7), ("CLM_DGNS_5_CD", 7), ("CLM_DGNS_6_CD", 7), ("CLM_DGNS_7_CD", 7),
    ("CLM_DGNS_8_CD", 7), ("DGNS_PRCDR_ICD_IND", 1), ("CLM_DGNS_9_CD", 7), ("CLM_DGNS_10_CD", 7),
    ("CLM_DGNS_11_CD", 7), ("CLM_DGNS_12_CD", 7), ("HCPCS_BETOS_CD", 3),
    ("CLM_RNDRG_PRVDR_NPI_NUM", 10), ("CLM_RFRG_PRVDR_NPI_NUM", 10), ("CLM_CNTRCTR_NUM", 5),
)
CCLF5_OPTIONAL_TAIL = 3  # the last three fields are absent from records of older IP versions

CCLF8 = (
    ("BENE_MBI_ID", 11), ("BENE_HIC_NUM", 11), ("BENE_FIPS_STATE_CD", 2), ("BENE_FIPS_CNTY_CD", 3),
    ("BENE_ZIP_CD", 5), ("BENE_DOB", 10), ("BENE_SEX_CD", 1), ("BENE_RACE_CD", 1), ("BENE_AGE", 3),
    ("BENE_MDCR_STUS_CD", 2), ("BENE_DUAL_STUS_CD", 2), ("BENE_DEATH_DT", 10), ("BENE_RNG_BGN_DT", 10),
    ("BENE_RNG_END_DT", 10), ("BENE_1ST_NAME", 30), ("BENE_MIDL_NAME", 15), ("BENE_LAST_NAME", 40),
    ("BENE_ORGNL_ENTLMT_RSN_CD", 1), ("BENE_ENTLMT_BUYIN_IND", 1), ("BENE_PART_A_ENRLMT_BGN_DT", 10),
    ("BENE_PART_B_ENRLMT_BGN_DT", 10), ("BENE_LINE_1_ADR", 45), ("BENE_LINE_2_ADR", 45), ("BENE_LINE_3_ADR", 40),
    ("BENE_LINE_4_ADR", 40), ("BENE_LINE_5_ADR", 40), ("BENE_LINE_6_ADR", 40), ("GEO_ZIP_PLC_NAME", 100),
    ("GEO_USPS_STATE_CD", 2), ("GEO_ZIP5_CD", 5), ("GEO_ZIP4_CD", 4),
)
CCLF8_OPTIONAL_TAIL = 0

CCLF9 = (
    ("HICN_MBI_XREF_IND", 1), ("CRNT_NUM", 11), ("PRVS_NUM", 11), ("PRVS_ID_EFCTV_DT", 10), ("PRVS_ID_OBSLT_DT", 10),
    ("BENE_RRB_NUM", 12),
)
CCLF9_OPTIONAL_TAIL = 0

LAYOUTS = {"cclf5": (CCLF5, CCLF5_OPTIONAL_TAIL), "cclf8": (CCLF8, CCLF8_OPTIONAL_TAIL),
           "cclf9": (CCLF9, CCLF9_OPTIONAL_TAIL)}


def record_lengths(kind: str) -> list[int]:
    """Record lengths a fixed-width file of this kind may have (full layout, then without the optional tail)."""
    fields, tail = LAYOUTS[kind]
    full = sum(n for _, n in fields)
    return [full] + ([full - sum(n for _, n in fields[-tail:])] if tail else [])
