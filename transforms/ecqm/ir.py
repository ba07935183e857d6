"""FHIR resources (``fhir_resource``) -> the engine's IR tables (schemas/ecqm.py), by sql/01_ir.sql.

``CODE_PATHS`` is data: which JSON path of which resource type feeds which coded element of ``ecqm_coding``.
Element 'code' is the type's primary code path in the US Quality Core model info (``primaryCodePath``), the
element a CQL retrieve ``[Type: "Value Set"]`` filters on.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb

from schemas.ecqm import (ECQM_CLAIM_DIAGNOSIS, ECQM_CLAIM_ITEM, ECQM_CODING, ECQM_COMPONENT, ECQM_DOSAGE_BOUNDS,
                          ECQM_ENCOUNTER_LOCATION, ECQM_PATIENT, ECQM_RESOURCE, ECQM_VS_HIT)

SQL_DIR = Path(__file__).parent / "sql"

# (resource_type, element, JSON path to a list of Coding objects); '*' = every type.
CODE_PATHS: tuple[tuple[str, str, str], ...] = (
    ("Encounter", "code", "$.type[*].coding[*]"),
    ("Encounter", "class", "$.class"),
    ("Encounter", "dischargeDisposition", "$.hospitalization.dischargeDisposition.coding[*]"),
    ("Encounter", "reasonCode", "$.reasonCode[*].coding[*]"),
    ("Condition", "code", "$.code.coding[*]"),
    ("Condition", "category", "$.category[*].coding[*]"),
    ("Condition", "clinicalStatus", "$.clinicalStatus.coding[*]"),
    ("Condition", "verificationStatus", "$.verificationStatus.coding[*]"),
    ("Condition", "bodySite", "$.bodySite[*].coding[*]"),
    ("Condition", "severity", "$.severity.coding[*]"),
    ("Observation", "code", "$.code.coding[*]"),
    ("Observation", "category", "$.category[*].coding[*]"),
    ("Observation", "value", "$.valueCodeableConcept.coding[*]"),
    ("Observation", "dataAbsentReason", "$.dataAbsentReason.coding[*]"),
    ("Procedure", "code", "$.code.coding[*]"),
    ("Procedure", "category", "$.category.coding[*]"),
    ("Procedure", "reasonCode", "$.reasonCode[*].coding[*]"),
    ("Procedure", "statusReason", "$.statusReason.coding[*]"),
    ("MedicationRequest", "code", "$.medicationCodeableConcept.coding[*]"),
    ("MedicationRequest", "category", "$.category[*].coding[*]"),
    ("MedicationRequest", "reasonCode", "$.reasonCode[*].coding[*]"),
    ("MedicationRequest", "statusReason", "$.statusReason.coding[*]"),
    ("MedicationDispense", "code", "$.medicationCodeableConcept.coding[*]"),
    ("MedicationDispense", "statusReason", "$.statusReasonCodeableConcept.coding[*]"),
    ("MedicationAdministration", "code", "$.medicationCodeableConcept.coding[*]"),
    ("MedicationAdministration", "statusReason", "$.statusReason[*].coding[*]"),
    ("MedicationStatement", "code", "$.medicationCodeableConcept.coding[*]"),
    ("Medication", "code", "$.code.coding[*]"),
    ("Immunization", "code", "$.vaccineCode.coding[*]"),
    ("Immunization", "statusReason", "$.statusReason.coding[*]"),
    ("ServiceRequest", "code", "$.code.coding[*]"),
    ("ServiceRequest", "category", "$.category[*].coding[*]"),
    ("ServiceRequest", "reasonCode", "$.reasonCode[*].coding[*]"),
    ("DeviceRequest", "code", "$.codeCodeableConcept.coding[*]"),
    ("DiagnosticReport", "code", "$.code.coding[*]"),
    ("DiagnosticReport", "category", "$.category[*].coding[*]"),
    ("AllergyIntolerance", "code", "$.code.coding[*]"),
    ("AllergyIntolerance", "clinicalStatus", "$.clinicalStatus.coding[*]"),
    ("AllergyIntolerance", "verificationStatus", "$.verificationStatus.coding[*]"),
    ("Communication", "code", "$.topic.coding[*]"),
    ("Communication", "category", "$.category[*].coding[*]"),
    ("Communication", "reasonCode", "$.reasonCode[*].coding[*]"),
    ("Communication", "statusReason", "$.statusReason.coding[*]"),
    ("Coverage", "code", "$.type.coding[*]"),
    ("Task", "code", "$.code.coding[*]"),
    ("Task", "statusReason", "$.statusReason.coding[*]"),
    ("Task", "reasonCode", "$.reasonCode.coding[*]"),
    ("AdverseEvent", "code", "$.event.coding[*]"),
    ("ImagingStudy", "code", "$.procedureCode[*].coding[*]"),
    ("CarePlan", "code", "$.category[*].coding[*]"),
    ("Goal", "code", "$.category[*].coding[*]"),
    ("FamilyMemberHistory", "code", "$.relationship.coding[*]"),
    ("DeviceUseStatement", "code", "$.device.type.coding[*]"),
    ("Device", "code", "$.type.coding[*]"),
    ("Location", "type", "$.type[*].coding[*]"),  # CQMCommon GetLocation(...).type in "Ambulatory" (CMS136)
)

# (resource_type, element, extension name): the codings of a US Quality Core extension's valueCodeableConcept, e.g.
# USQualityCoreCommon notDoneReason(ObservationCancelled). The extension is read under both canonical bases the deck
# uses (http://fhir.org/guides/astp/... as the CQL names it, and http://fhir.org/guides/onc/...), like 'recorded'.
EXTENSION_CODE_PATHS: tuple[tuple[str, str, str], ...] = (
    ("Observation", "notDoneReason", "us-quality-core-notDoneReason"),
    ("ServiceRequest", "doNotPerformReason", "us-quality-core-doNotPerformReason"),
    ("DeviceRequest", "doNotPerformReason", "us-quality-core-doNotPerformReason"),
)
_QUALITY_CORE_BASES = ("http://fhir.org/guides/astp/us-quality-core/StructureDefinition/",
                       "http://fhir.org/guides/onc/us-quality-core/StructureDefinition/")


def _split_path(path: str) -> tuple[str, str | None]:
    """'$.type[*].coding[*]' -> ('$.type', '$[*].coding[*]'); '$.class' -> ('$.class', None): the part of a path one
    multi-path json_extract can read (no wildcard), and the rest, read from that small value."""
    if "[*]" not in path:
        return path, None
    head, rest = path.split("[*]", 1)
    if head.endswith("]") or head == "$":
        raise ValueError(f"unsupported coding path {path}")
    return head, "$[*]" + rest


def _coding_union() -> str:
    """Every coding of CODE_PATHS and EXTENSION_CODE_PATHS as (person_id, resource_type, resource_id, element, c).

    Each resource's JSON is parsed once per type (one json_extract of all its paths' wildcard-free heads); the
    wildcards are then read from those small values. A json_extract per path parsed each resource once per path."""
    by_type: dict[str, list[tuple[str, str]]] = {}
    for rtype, element, path in CODE_PATHS:
        by_type.setdefault(rtype, []).append((element, path))
    ctes, parts = [], []
    for t, (rtype, elements) in enumerate(by_type.items()):
        heads = list(dict.fromkeys(_split_path(path)[0] for _, path in elements))
        ctes.append(f"    _ct{t} AS MATERIALIZED (SELECT person_id, resource_type, resource_id, "
                    f"json_extract(resource, [{', '.join(repr(h) for h in heads)}]) AS v "
                    f"FROM fhir_resource WHERE resource_type = '{rtype}')")
        for element, path in elements:
            head, tail = _split_path(path)
            value = f"v[{heads.index(head) + 1}]"
            expr = f"unnest(json_extract({value}, '{tail}'))" if tail else value
            parts.append(f"    SELECT person_id, resource_type, resource_id, '{element}' AS element, {expr} AS c FROM _ct{t}")
    for rtype, element, name in EXTENSION_CODE_PATHS:
        urls = ", ".join(f"'{base}{name}'" for base in _QUALITY_CORE_BASES)
        parts.append(f"    SELECT person_id, resource_type, resource_id, '{element}' AS element, "
                     f"unnest(json_extract(ext, '$.valueCodeableConcept.coding[*]')) AS c FROM ("
                     f"SELECT person_id, resource_type, resource_id, unnest(json_extract(resource, '$.extension[*]')) AS ext "
                     f"FROM fhir_resource WHERE resource_type = '{rtype}' AND json_exists(resource, '$.extension')) "
                     f"WHERE ext ->> '$.url' IN ({urls})")
    return "SELECT * FROM (WITH\n" + ",\n".join(ctes) + "\n" + "\n    UNION ALL\n".join(parts) + ")"


_EXTRACT = re.compile(r"resource ->> '(\$[^']*)'")
_EXISTS = re.compile(r"json_exists\(resource, '\$\.([A-Za-z]+)'\)")


def _one_parse(sql: str) -> str:
    """The _ecqm_resource statement with its JSON reads taken from one parse per resource: DuckDB parses the JSON
    text again for every `->>`; one json_extract_string over the list of paths parses it once."""
    start = sql.index("CREATE OR REPLACE TEMP VIEW _ecqm_resource AS")
    end = sql.index(";\n", start)
    statement = sql[start:end]
    paths = list(dict.fromkeys(_EXTRACT.findall(statement)))
    statement = _EXTRACT.sub(lambda m: f"j[{paths.index(m.group(1)) + 1}]", statement)
    statement = _EXISTS.sub(lambda m: f"list_contains(keys, '{m.group(1)}')", statement)
    statement = statement.replace("{resource_paths}", "[" + ", ".join(f"'{p}'" for p in paths) + "]")
    return sql[:start] + statement + sql[end:]


def build_ir(con: duckdb.DuckDBPyConnection, value_set_oids: list[str] | None = None) -> None:
    """Create ecqm_patient, ecqm_resource, ecqm_coding, ecqm_component and ecqm_vs_hit from fhir_resource.

    ``value_set_oids``: ecqm_vs_hit holds the hits of these value sets only (those the measures run read); None: of
    every compiled value set."""
    sql = _one_parse((SQL_DIR / "01_ir.sql").read_text(encoding="utf-8"))
    if value_set_oids is None:
        codes = "ref.ecqm_value_set_codes"
    else:
        oids = ", ".join("'" + oid.replace("'", "''") + "'" for oid in value_set_oids) or "NULL"
        codes = f"(SELECT * FROM ref.ecqm_value_set_codes WHERE value_set_oid IN ({oids}))"
    sql = sql.replace("{value_set_codes}", codes)
    sql = sql.replace("{coding_union}", _coding_union())
    sql = sql.replace("{patient_select}", ECQM_PATIENT.select_sql("(SELECT * FROM _ecqm_patient WHERE n = 1)"))
    # the three large IR tables are not sorted by their key: only joins read them, and sorting millions of rows of
    # text keys cost more than the joins (benchmarks/bench_fhir_ingest.py --measures all)
    sql = sql.replace("{resource_select}", ECQM_RESOURCE.select_sql("_ecqm_resource",
                                                                    ordered=False))
    sql = sql.replace("{coding_select}", ECQM_CODING.select_sql("_ecqm_coding", ordered=False))
    sql = sql.replace("{component_select}", ECQM_COMPONENT.select_sql("_ecqm_component"))
    sql = sql.replace("{vs_hit_select}", ECQM_VS_HIT.select_sql("_ecqm_vs_hit", ordered=False))
    sql = sql.replace("{dosage_bounds_select}", ECQM_DOSAGE_BOUNDS.select_sql("_ecqm_dosage_bounds"))
    sql = sql.replace("{encounter_location_select}", ECQM_ENCOUNTER_LOCATION.select_sql("_ecqm_encounter_location"))
    sql = sql.replace("{claim_item_select}", ECQM_CLAIM_ITEM.select_sql("_ecqm_claim_item"))
    sql = sql.replace("{claim_diagnosis_select}", ECQM_CLAIM_DIAGNOSIS.select_sql("_ecqm_claim_diagnosis"))
    con.execute(sql)
    for name in ("_ecqm_patient", "_ecqm_later_copy", "_ecqm_resource", "_ecqm_coding", "_ecqm_component", "_ecqm_vs_hit",
                 "_ecqm_dosage_bounds", "_ecqm_encounter_location", "_ecqm_claim_item", "_ecqm_claim_diagnosis"):
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = 'temp' "
                           "AND table_name = ?", [name]).fetchone()
        if kind:
            con.execute(f"DROP {'VIEW' if kind[0] == 'VIEW' else 'TABLE'} temp.{name}")
