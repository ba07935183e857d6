"""Compiled MIPS Value Pathways (MVP) reference tables (data/reference/mvps.parquet, mvp_measures.parquet).

Compiled by ``scripts/compile_reference.py`` (``mips/reference_compiler/mvp.py``) from CMS qpp-measures-data's
``mvp/<PY>/mvp.json`` (PY2023 on). One row per MVP and year, and one row per measure or activity an MVP lists,
with the role it plays in the MVP; MVP scoring (transforms/scoring/mvp.py) joins on them.
"""
from __future__ import annotations

from schemas.tables import Column, TableSpec

_PY = Column("performance_year", "INTEGER", "MIPS performance year", nullable=False)
_MVP_ID = Column("mvp_id", "VARCHAR", "CMS MVP id (G0053, M0001 ...)", nullable=False)

# role in mvp_measures -> (source field of mvp.json, measure category)
MVP_ROLES: dict[str, tuple[str, str]] = {
    "quality": ("qualityMeasureIds", "quality"),
    "administrative_claims_quality": ("administrativeClaimsMeasureIds", "quality"),
    "population_health": ("foundationQualityMeasureIds", "quality"),
    "ia": ("iaMeasureIds", "ia"),
    "cost": ("costMeasureIds", "cost"),
    "foundational_pi": ("foundationPiMeasureIds", "pi"),
}

MVPS = TableSpec(
    name="mvps",
    grain="one row per (performance_year, mvp_id) in mvp/<PY>/mvp.json",
    key=("performance_year", "mvp_id"),
    description="The MIPS Value Pathways offered each performance year.",
    partition_by=(),
    columns=(
        _PY, _MVP_ID,
        Column("title", "VARCHAR", "CMS title", nullable=False),
        Column("clinical_topic", "VARCHAR", "CMS clinicalTopic"),
        Column("description", "VARCHAR", "CMS description"),
        Column("specialties", "VARCHAR", "comma-joined specialtiesMostApplicableTo, in source order"),
        Column("has_cahps", "BOOLEAN", "CAHPS for MIPS is a quality option of the MVP (CMS hasCahps)", nullable=False),
        Column("has_outcome_admin_claims", "BOOLEAN", "an outcome measure computed from administrative claims is a "
               "quality option of the MVP (CMS hasOutcomeAdminClaims)", nullable=False),
        Column("has_outcome_measure", "BOOLEAN", "the MVP lists an outcome measure (measureType outcome, "
               "intermediateOutcome or patientReportedOutcome in measures-data, or an outcome administrative "
               "claims measure): then the required outcome measure must be one of them", nullable=False),
        Column("quality_measure_count", "INTEGER", "quality measures listed (qualityMeasureIds)", nullable=False),
        Column("ia_activity_count", "INTEGER", "improvement activities listed (iaMeasureIds)", nullable=False),
        Column("cost_measure_count", "INTEGER", "cost measures listed (costMeasureIds)", nullable=False),
    ),
)

MVP_MEASURES = TableSpec(
    name="mvp_measures",
    grain="one row per (performance_year, mvp_id, role, measure_id) listed in mvp/<PY>/mvp.json",
    key=("performance_year", "mvp_id", "role", "measure_id"),
    description="The measures and activities of each MVP, by the role they play in it.",
    partition_by=(),
    columns=(
        _PY, _MVP_ID,
        Column("role", "VARCHAR", "'quality' (qualityMeasureIds), 'administrative_claims_quality' "
               "(administrativeClaimsMeasureIds: outcome measures CMS computes from claims), 'population_health' "
               "(foundationQualityMeasureIds), 'ia' (iaMeasureIds), 'cost' (costMeasureIds), 'foundational_pi' "
               "(foundationPiMeasureIds)", nullable=False),
        Column("measure_id", "VARCHAR", "CMS measure or activity id", nullable=False),
        Column("category", "VARCHAR", "'quality', 'ia', 'cost' or 'pi'", nullable=False),
        Column("position", "INTEGER", "1-based position in the source list", nullable=False),
        Column("measure_type", "VARCHAR", "quality: CMS measureType from the year's measures-data.json"),
        Column("is_outcome", "BOOLEAN", "quality: an outcome type (outcome, intermediateOutcome, patientReportedOutcome)"),
        Column("is_high_priority", "BOOLEAN", "quality: CMS isHighPriority"),
        Column("in_catalog", "BOOLEAN", "the id is a measure or activity of the year's measures-data.json", nullable=False),
    ),
)

MVP_TABLES: tuple[TableSpec, ...] = (MVPS, MVP_MEASURES)
