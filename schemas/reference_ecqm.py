"""Compiled eCQM reference tables (data/reference/ecqm_*.parquet): value sets, direct codes and measure structure.

Compiled by ``scripts/compile_reference.py`` (``mips/reference_compiler/ecqm.py``) from the CMS eCQM test deck
folder ``../shared/ecqm/`` (ValueSet expansions, CQL ``code`` declarations, Measure resources), the project's own
``data/ecqm/supplemental_value_set_codes.csv`` (expansions the deck lacks, each row with its published source) and
the compiled ``quality_measures`` (MIPS id of each eCQM through its eMeasureId).

Terminology licences: the codes in these tables come from SNOMED CT, ICD-10-CM/PCS, RxNorm, LOINC, CPT (AMA),
HCPCS, CVX, CDT (ADA), SOPT and other code systems; each keeps its own licence terms (CPT, CDT and SNOMED CT in
particular need a licence for production use). The deck's own content is CC0; check the code systems' terms
before shipping these code lists in a product.
"""
from __future__ import annotations

from schemas.tables import Column, TableSpec

_OID = Column("value_set_oid", "VARCHAR", "value set OID, e.g. '2.16.840.1.113883.3.464.1003.103.12.1001' "
              "(the tail of the canonical http://cts.nlm.nih.gov/fhir/ValueSet/<oid>)", nullable=False)
_MEASURE = Column("measure_name", "VARCHAR", "the deck's measure (FHIR library) name, e.g. 'CMS122FHIRDiabetesAssessGT9Pct'",
                  nullable=False)

ECQM_VALUE_SETS = TableSpec(
    name="ecqm_value_sets",
    grain="one row per value set (canonical URL) the deck's measures reference",
    key=("value_set_oid",),
    description="Value sets of the eCQMs: name, version and how complete the compiled expansion is.",
    partition_by=(),
    columns=(
        _OID,
        Column("url", "VARCHAR", "canonical URL", nullable=False),
        Column("version", "VARCHAR", "value set version (the date suffix of the deck's file name)"),
        Column("name", "VARCHAR", "ValueSet.name"),
        Column("title", "VARCHAR", "ValueSet.title (the name the CQL declares)"),
        Column("expansion_total", "BIGINT", "codes the expansion says it has (expansion.total)"),
        Column("code_count", "BIGINT", "codes compiled into ecqm_value_set_codes", nullable=False),
        Column("is_complete", "BOOLEAN", "FALSE when the deck's expansion is a first page only and no "
               "supplement of that expansion completes it (codes of an earlier expansion may make code_count exceed "
               "expansion_total without making it whole)",
               nullable=False),
        Column("source", "VARCHAR", "where the expansion comes from: the deck's file, or the supplement's published source",
               nullable=False),
    ),
)

ECQM_VALUE_SET_CODES = TableSpec(
    name="ecqm_value_set_codes",
    grain="one row per (value set, code system, code) of an expansion",
    key=("value_set_oid", "code_system", "code"),
    description="Value set expansions: CQL `in \"Value Set\"` is a match on (code system URL, code).",
    partition_by=(),
    columns=(
        _OID,
        Column("code_system", "VARCHAR", "code system URL as in the expansion (http://snomed.info/sct, http://loinc.org ...)",
               nullable=False),
        Column("code", "VARCHAR", "the code", nullable=False),
        Column("display", "VARCHAR", "display text"),
    ),
)

ECQM_DIRECT_CODES = TableSpec(
    name="ecqm_direct_codes",
    grain="one row per (CQL library, code declaration): the measures' and their libraries' direct-reference codes",
    key=("library", "code_name"),
    description="CQL `code \"name\": 'c' from \"System\"` declarations with the system resolved to its URL; "
                "`X ~ \"name\"` is a match on (code system URL, code).",
    partition_by=(),
    columns=(
        Column("library", "VARCHAR", "CQL library declaring the code", nullable=False),
        Column("code_name", "VARCHAR", "declared name", nullable=False),
        Column("code_system", "VARCHAR", "code system URL", nullable=False),
        Column("code", "VARCHAR", "the code", nullable=False),
        Column("display", "VARCHAR", "declared display"),
    ),
)

ECQM_MEASURES = TableSpec(
    name="ecqm_measures",
    grain="one row per eCQM of the deck (Measure resource)",
    key=("measure_name",),
    description="The eCQMs of the deck with their CMS and MIPS ids and measurement period.",
    partition_by=(),
    columns=(
        _MEASURE,
        Column("performance_year", "INTEGER", "MIPS performance year of the measurement period", nullable=False),
        Column("cms_id", "VARCHAR", "CMS eCQM id with version (quality_measures.e_measure_id, e.g. 'CMS122v14')"),
        Column("measure_id", "VARCHAR", "MIPS quality measure id ('001'); NULL when the eCQM is not a MIPS measure"),
        Column("title", "VARCHAR", "Measure.title"),
        Column("population_basis", "VARCHAR", "cqfm-populationBasis of the first group: 'boolean' (patient-based), "
               "'Encounter', 'Procedure' (episode-based)"),
        Column("scoring", "VARCHAR", "measure scoring (proportion ...)"),
        Column("improvement_notation", "VARCHAR", "'increase' or 'decrease' (inverse)"),
        Column("period_start", "DATE", "Measure.effectivePeriod.start"),
        Column("period_end", "DATE", "Measure.effectivePeriod.end"),
        Column("group_count", "INTEGER", "population groups (performance rates) of the Measure", nullable=False),
    ),
)

ECQM_MEASURE_GROUPS = TableSpec(
    name="ecqm_measure_groups",
    grain="one row per (measure, population group, population code) the Measure defines",
    key=("measure_name", "group_id", "population_code"),
    description="Populations of each group with the CQL definition that gives them; a code missing here is a "
                "population the group does not define (NULL in measure_populations).",
    partition_by=(),
    columns=(
        _MEASURE,
        Column("group_id", "VARCHAR", "Measure.group.id ('Group_1')", nullable=False),
        Column("group_index", "INTEGER", "1-based position of the group", nullable=False),
        Column("population_code", "VARCHAR", "initial-population, denominator, denominator-exclusion, "
               "denominator-exception, numerator, numerator-exclusion", nullable=False),
        Column("criteria_expression", "VARCHAR", "CQL definition name, e.g. 'Denominator Exclusions'"),
        Column("description", "VARCHAR", "the Measure's text for the population"),
    ),
)

ECQM_MEASURE_STRATIFIERS = TableSpec(
    name="ecqm_measure_stratifiers",
    grain="one row per (measure, population group, stratifier)",
    key=("measure_name", "group_id", "stratifier_id"),
    description="Stratifiers of each group (the criteria the MeasureReport's strata 'true'/'false' follow).",
    partition_by=(),
    columns=(
        _MEASURE,
        Column("group_id", "VARCHAR", "Measure.group.id", nullable=False),
        Column("stratifier_id", "VARCHAR", "Measure.group.stratifier.id ('Stratification_1_1')", nullable=False),
        Column("criteria_expression", "VARCHAR", "CQL definition name, e.g. 'Stratification 1'"),
        Column("description", "VARCHAR", "the Measure's text for the stratifier"),
    ),
)

ECQM_TABLES: tuple[TableSpec, ...] = (
    ECQM_VALUE_SETS, ECQM_VALUE_SET_CODES, ECQM_DIRECT_CODES, ECQM_MEASURES, ECQM_MEASURE_GROUPS,
    ECQM_MEASURE_STRATIFIERS,
)

LICENCE_NOTE = (
    "**Terminology licences.** The eCQM tables hold codes from SNOMED CT, ICD-10-CM/PCS, RxNorm, LOINC, CPT (AMA), "
    "HCPCS, CVX, CDT (ADA), SOPT and other code systems. The CMS test deck they are compiled from is CC0 for its own "
    "work, but each code system keeps its own licence terms (CPT, CDT and SNOMED CT in particular need a licence for "
    "production use). Fine for testing; check before shipping these code lists."
)
