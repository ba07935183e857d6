"""FHIR resources (``fhir_resource``, as transforms/fhir_files.py loads a folder) -> the flat clinical tables
(schemas/clinical.py), set-based in DuckDB: ``mips convert fhir-to-tables`` and ``mips generate --format tables``.

The inverse of transforms/clinical_tables.py for every element the eCQM engine reads: loading the written tables
with ``--clinical-dir`` gives the engine the same input as the FHIR folder (tests/test_clinical_tables.py checks
measure_populations row for row over every deck measure). What no flat column carries is listed in
``schemas.clinical.NOT_CARRIED`` and in docs/inputs.md.

Grain: one row per (record, position): row i of a record holds the i-th coding of each coded element, the i-th id
of each reference list and the i-th dosage instruction; its single-valued fields are repeated on every row.
Codings without a system or a code are left out (the FHIR load counted them out of scope).
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from schemas.clinical import CLINICAL_TABLES, NOT_CARRIED  # noqa: F401  (NOT_CARRIED: documented here)

_MACROS = r"""
CREATE OR REPLACE TEMP MACRO _f2t_codings(j, path) AS
    list_filter(CAST(json_extract(j, path) AS JSON[]), lambda c: c ->> '$.system' IS NOT NULL AND c ->> '$.code' IS NOT NULL);
CREATE OR REPLACE TEMP MACRO _f2t_ref(s) AS regexp_extract(s, '([^/:]+)$', 1);
CREATE OR REPLACE TEMP MACRO _f2t_refs(j, path) AS
    list_transform(CAST(json_extract_string(j, path) AS VARCHAR[]), lambda r: regexp_extract(r, '([^/:]+)$', 1));
CREATE OR REPLACE TEMP MACRO _f2t_ext(j, name) AS list_filter(CAST(json_extract(j, '$.extension[*]') AS JSON[]),
    lambda e: e ->> '$.url' LIKE '%/us-quality-core-' || name)[1];
"""


def _pair(prefix: str, lst: str) -> list[tuple[str, str]]:
    """The (code type, code) columns of the i-th coding of list ``lst``."""
    t, c = ("source_code_type", "source_code") if not prefix else (f"{prefix}_code_type", f"{prefix}_code")
    return [(t, f"{lst}[i] ->> '$.system'"), (c, f"{lst}[i] ->> '$.code'")]


# table -> (resource types, {list name: list expression over j}, [(column, expression over j, the lists and i)])
def _specs() -> dict[str, tuple[tuple[str, ...], dict[str, str], list[tuple[str, str]]]]:
    recorded = ("recorded_date", "_f2t_ext(j, 'recorded') ->> '$.valueDateTime'")
    enc = ("encounter_id", "_f2t_ref(coalesce(j ->> '$.encounter.reference', j ->> '$.context.reference'))")
    reason = {"reason": "_f2t_codings(j, '$.reasonCode[*].coding[*]')"}
    return {
        "patient": (("Patient",), {}, [
            ("patient_id", "pid"), ("sex", "j ->> '$.gender'"), ("birth_date", "j ->> '$.birthDate'"),
            ("death_date", "j ->> '$.deceasedDateTime'"),
            ("sex_code", "(SELECT coalesce(e ->> '$.valueCode', e ->> '$.valueCoding.code') FROM unnest(CAST("
                         "json_extract(j, '$.extension[*]') AS JSON[])) t(e) WHERE e ->> '$.url' = "
                         "'http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex' LIMIT 1)"),
            ("race_code", "(SELECT string_agg(DISTINCT p ->> '$.valueCoding.code', ';') FROM unnest(CAST(json_extract("
                          "j, '$.extension[*]') AS JSON[])) t(e), unnest(CAST(json_extract(e, '$.extension[*]') AS "
                          "JSON[])) u(p) WHERE e ->> '$.url' = 'http://hl7.org/fhir/us/core/StructureDefinition/"
                          "us-core-race' AND p ->> '$.url' IN ('ombCategory', 'detailed') AND p ->> "
                          "'$.valueCoding.system' = 'urn:oid:2.16.840.1.113883.6.238')"),
        ]),
        "encounter": (("Encounter",), {
            "code": "_f2t_codings(j, '$.type[*].coding[*]')", **reason,
            "rref": "_f2t_refs(j, '$.reasonReference[*].reference')",
            "dx": "CAST(json_extract(j, '$.diagnosis[*]') AS JSON[])",
            "loc": "_f2t_refs(j, '$.location[*].location.reference')",
        }, [
            ("encounter_id", "rid"), ("patient_id", "pid"), ("encounter_start_date", "j ->> '$.period.start'"),
            ("encounter_end_date", "j ->> '$.period.end'"), ("status", "j ->> '$.status'"),
            ("class_code", "j ->> '$.class.code'"),
            ("class_code_type", "nullif(j ->> '$.class.system', 'http://terminology.hl7.org/CodeSystem/v3-ActCode')"), *_pair("", "code"),
            ("discharge_disposition_code_type", "j ->> '$.hospitalization.dischargeDisposition.coding[0].system'"),
            ("discharge_disposition_code", "j ->> '$.hospitalization.dischargeDisposition.coding[0].code'"),
            ("rendering_npi", "named_npi"), ("billing_tin", "named_tin"),
            *_pair("reason", "reason"), ("reason_reference_id", "rref[i]"),
            ("diagnosis_condition_id", "_f2t_ref(dx[i] ->> '$.condition.reference')"),
            ("diagnosis_rank", "dx[i] ->> '$.rank'"),
            ("diagnosis_use_code_type", "dx[i] ->> '$.use.coding[0].system'"),
            ("diagnosis_use_code", "dx[i] ->> '$.use.coding[0].code'"), ("location_id", "loc[i]"),
        ]),
        "location": (("Location",), {"type": "_f2t_codings(j, '$.type[*].coding[*]')"}, [
            ("location_id", "rid"), ("name", "j ->> '$.name'"), *_pair("type", "type"),
        ]),
        "claim": (("Claim",), {
            "dx": "CAST(json_extract(j, '$.diagnosis[*]') AS JSON[])", "item": "CAST(json_extract(j, '$.item[*]') AS JSON[])",
        }, [
            ("claim_id", "rid"), ("patient_id", "pid"), ("status", "j ->> '$.status'"), ("use", "j ->> '$.use'"),
            ("diagnosis_sequence", "dx[i] ->> '$.sequence'"),
            ("diagnosis_code_type", "_f2t_codings(dx[i], '$.diagnosisCodeableConcept.coding[*]')[1] ->> '$.system'"),
            ("diagnosis_code", "_f2t_codings(dx[i], '$.diagnosisCodeableConcept.coding[*]')[1] ->> '$.code'"),
            ("diagnosis_condition_id", "_f2t_ref(dx[i] ->> '$.diagnosisReference.reference')"),
            ("diagnosis_type_code_type", "_f2t_codings(dx[i], '$.type[*].coding[*]')[1] ->> '$.system'"),
            ("diagnosis_type_code", "_f2t_codings(dx[i], '$.type[*].coding[*]')[1] ->> '$.code'"),
            ("on_admission_code_type", "_f2t_codings(dx[i], '$.onAdmission.coding[*]')[1] ->> '$.system'"),
            ("on_admission_code", "_f2t_codings(dx[i], '$.onAdmission.coding[*]')[1] ->> '$.code'"),
            ("item_sequence", "item[i] ->> '$.sequence'"),
            ("item_encounter_ids", "nullif(array_to_string(_f2t_refs(item[i], '$.encounter[*].reference'), ';'), '')"),
            ("item_diagnosis_sequences", "nullif(array_to_string(CAST(json_extract_string(item[i], "
                                         "'$.diagnosisSequence[*]') AS VARCHAR[]), ';'), '')"),
            ("item_procedure_sequences", "nullif(array_to_string(CAST(json_extract_string(item[i], "
                                         "'$.procedureSequence[*]') AS VARCHAR[]), ';'), '')"),
        ]),
        "condition": (("Condition",), {
            "code": "_f2t_codings(j, '$.code.coding[*]')", "cat": "_f2t_codings(j, '$.category[*].coding[*]')",
            "site": "_f2t_codings(j, '$.bodySite[*].coding[*]')", "sev": "_f2t_codings(j, '$.severity.coding[*]')",
        }, [
            ("condition_id", "rid"), ("patient_id", "pid"), enc, ("recorded_date", "j ->> '$.recordedDate'"),
            ("onset_date", "coalesce(j ->> '$.onsetDateTime', j ->> '$.onsetPeriod.start')"),
            ("onset_end_date", "j ->> '$.onsetPeriod.end'"), ("open_period", "CASE WHEN json_exists(j, '$.onsetPeriod') AND j ->> '$.onsetPeriod.end' IS NULL THEN true END"),
            ("resolved_date", "coalesce(j ->> '$.abatementDateTime', j ->> '$.abatementPeriod.end')"),
            ("status", "j ->> '$.clinicalStatus.coding[0].code'"),
            ("verification_status", "j ->> '$.verificationStatus.coding[0].code'"),
            *_pair("category", "cat"), *_pair("", "code"), *_pair("body_site", "site"), *_pair("severity", "sev"),
        ]),
        "procedure": (("Procedure",), {
            "code": "_f2t_codings(j, '$.code.coding[*]')", **reason,
            "sr": "_f2t_codings(j, '$.statusReason.coding[*]')", "cat": "_f2t_codings(j, '$.category.coding[*]')",
        }, [
            ("procedure_id", "rid"), ("patient_id", "pid"), enc,
            ("procedure_date", "coalesce(j ->> '$.performedDateTime', j ->> '$.performedPeriod.start')"),
            ("procedure_end_date", "j ->> '$.performedPeriod.end'"), ("open_period", "CASE WHEN json_exists(j, '$.performedPeriod') AND j ->> '$.performedPeriod.end' IS NULL THEN true END"), ("status", "j ->> '$.status'"), recorded,
            *_pair("", "code"), *_pair("status_reason", "sr"), *_pair("category", "cat"), *_pair("reason", "reason"),
        ]),
        "medication": (("MedicationRequest", "MedicationDispense"), {
            "code": "_f2t_codings(coalesce(j -> '$.medicationCodeableConcept', med -> '$.code'), '$.coding[*]')",
            **reason, "cat": "_f2t_codings(j, '$.category[*].coding[*]')",
            "sr": "_f2t_codings(coalesce(j -> '$.statusReason', j -> '$.statusReasonCodeableConcept'), '$.coding[*]')",
            "dose": "CAST(json_extract(j, '$.dosageInstruction[*]') AS JSON[])",
        }, [
            ("medication_id", "rid"), ("patient_id", "pid"), enc,
            ("prescribing_date", "j ->> '$.authoredOn'"),
            ("dispensing_date", "CASE WHEN rtype = 'MedicationDispense' "
                                "THEN coalesce(j ->> '$.whenHandedOver', j ->> '$.whenPrepared') END"),
            ("status", "j ->> '$.status'"), ("intent", "j ->> '$.intent'"),
            ("do_not_perform", "j ->> '$.doNotPerform'"), *_pair("", "code"), *_pair("status_reason", "sr"),
            ("days_supply", "coalesce(j ->> '$.dispenseRequest.expectedSupplyDuration.value', j ->> '$.daysSupply.value')"),
            ("days_supply_unit", "coalesce(j ->> '$.dispenseRequest.expectedSupplyDuration.code', "
                                 "j ->> '$.dispenseRequest.expectedSupplyDuration.unit', j ->> '$.daysSupply.code', "
                                 "j ->> '$.daysSupply.unit')"),
            ("quantity", "coalesce(j ->> '$.dispenseRequest.quantity.value', j ->> '$.quantity.value')"),
            ("quantity_unit", "coalesce(j ->> '$.dispenseRequest.quantity.unit', j ->> '$.quantity.unit')"),
            ("quantity_code", "coalesce(j ->> '$.dispenseRequest.quantity.code', j ->> '$.quantity.code')"),
            ("refills", "j ->> '$.dispenseRequest.numberOfRepeatsAllowed'"),
            ("validity_start_date", "j ->> '$.dispenseRequest.validityPeriod.start'"),
            *_pair("category", "cat"), *_pair("reason", "reason"),
            ("dose_quantity", "coalesce(dose[i] ->> '$.doseAndRate[0].doseRange.high.value', "
                              "dose[i] ->> '$.doseAndRate[0].doseQuantity.value')"),
            ("dose_unit", "coalesce(dose[i] ->> '$.doseAndRate[0].doseRange.high.code', "
                          "dose[i] ->> '$.doseAndRate[0].doseQuantity.code', dose[i] ->> '$.doseAndRate[0].doseQuantity.unit')"),
            ("frequency", "dose[i] ->> '$.timing.repeat.frequency'"),
            ("frequency_max", "dose[i] ->> '$.timing.repeat.frequencyMax'"),
            ("period", "dose[i] ->> '$.timing.repeat.period'"),
            ("period_unit", "dose[i] ->> '$.timing.repeat.periodUnit'"),
            ("times_of_day", "array_to_string(CAST(json_extract_string(dose[i], '$.timing.repeat.timeOfDay[*]') "
                             "AS VARCHAR[]), ';')"),
            ("timing_event_date", "(SELECT x FROM unnest(CAST(json_extract_string(dose[i], '$.timing.event[*]') AS "
                                  "VARCHAR[])) t(x) ORDER BY CAST(x AS TIMESTAMPTZ) LIMIT 1)"),
            ("bounds_start_date", "dose[i] ->> '$.timing.repeat.boundsPeriod.start'"),
            ("bounds_end_date", "dose[i] ->> '$.timing.repeat.boundsPeriod.end'"),
            ("bounds_duration", "dose[i] ->> '$.timing.repeat.boundsDuration.value'"),
            ("bounds_duration_unit", "coalesce(dose[i] ->> '$.timing.repeat.boundsDuration.code', "
                                     "dose[i] ->> '$.timing.repeat.boundsDuration.unit')"),
        ]),
        "immunization": (("Immunization",), {
            "code": "_f2t_codings(j, '$.vaccineCode.coding[*]')", "sr": "_f2t_codings(j, '$.statusReason.coding[*]')",
        }, [
            ("immunization_id", "rid"), ("patient_id", "pid"), enc, ("occurrence_date", "j ->> '$.occurrenceDateTime'"),
            ("status", "j ->> '$.status'"), ("recorded_date", "j ->> '$.recorded'"), *_pair("", "code"),
            *_pair("status_reason", "sr"),
        ]),
        "service_request": (("ServiceRequest",), {
            "code": "_f2t_codings(j, '$.code.coding[*]')", **reason, "cat": "_f2t_codings(j, '$.category[*].coding[*]')",
            "dnp": "_f2t_codings(_f2t_ext(j, 'doNotPerformReason'), '$.valueCodeableConcept.coding[*]')",
        }, [
            ("service_request_id", "rid"), ("patient_id", "pid"), ("authored_on", "j ->> '$.authoredOn'"),
            ("status", "j ->> '$.status'"), ("intent", "j ->> '$.intent'"), ("do_not_perform", "j ->> '$.doNotPerform'"),
            enc, *_pair("category", "cat"), *_pair("", "code"), *_pair("reason", "reason"),
            *_pair("do_not_perform_reason", "dnp"),
        ]),
        "device_request": (("DeviceRequest",), {
            "code": "_f2t_codings(j, '$.codeCodeableConcept.coding[*]')",
            "dnp": "_f2t_codings(_f2t_ext(j, 'doNotPerformReason'), '$.valueCodeableConcept.coding[*]')",
        }, [
            ("device_request_id", "rid"), ("patient_id", "pid"), ("authored_on", "j ->> '$.authoredOn'"),
            ("status", "j ->> '$.status'"), ("intent", "j ->> '$.intent'"),
            ("do_not_perform", "list_filter(CAST(json_extract(j, '$.modifierExtension[*]') AS JSON[]), lambda e: "
                               "e ->> '$.url' LIKE '%DeviceRequest.doNotPerform')[1] ->> '$.valueBoolean'"),
            *_pair("", "code"), *_pair("do_not_perform_reason", "dnp"),
        ]),
        "medication_administration": (("MedicationAdministration",), {
            "code": "_f2t_codings(coalesce(j -> '$.medicationCodeableConcept', med -> '$.code'), '$.coding[*]')",
            "sr": "_f2t_codings(j, '$.statusReason[*].coding[*]')",
        }, [
            ("medication_administration_id", "rid"), ("patient_id", "pid"), enc, ("status", "j ->> '$.status'"),
            ("administration_date", "coalesce(j ->> '$.effectiveDateTime', j ->> '$.effectivePeriod.start')"),
            ("administration_end_date", "j ->> '$.effectivePeriod.end'"), ("open_period", "CASE WHEN json_exists(j, '$.effectivePeriod') AND j ->> '$.effectivePeriod.end' IS NULL THEN true END"), recorded, *_pair("", "code"),
            *_pair("status_reason", "sr"),
        ]),
        "allergy_intolerance": (("AllergyIntolerance",), {"code": "_f2t_codings(j, '$.code.coding[*]')"}, [
            ("allergy_intolerance_id", "rid"), ("patient_id", "pid"),
            ("clinical_status", "j ->> '$.clinicalStatus.coding[0].code'"),
            ("verification_status", "j ->> '$.verificationStatus.coding[0].code'"),
            ("onset_date", "coalesce(j ->> '$.onsetDateTime', j ->> '$.onsetPeriod.start')"),
            ("onset_end_date", "j ->> '$.onsetPeriod.end'"), ("open_period", "CASE WHEN json_exists(j, '$.onsetPeriod') AND j ->> '$.onsetPeriod.end' IS NULL THEN true END"), ("last_occurrence_date", "j ->> '$.lastOccurrence'"),
            ("recorded_date", "j ->> '$.recordedDate'"), *_pair("", "code"),
        ]),
        "communication": (("Communication",), {
            "code": "_f2t_codings(j, '$.topic.coding[*]')", **reason,
            "cat": "_f2t_codings(j, '$.category[*].coding[*]')", "sr": "_f2t_codings(j, '$.statusReason.coding[*]')",
        }, [
            ("communication_id", "rid"), ("patient_id", "pid"), enc, ("status", "j ->> '$.status'"),
            ("sent_date", "j ->> '$.sent'"), ("received_date", "j ->> '$.received'"), recorded, *_pair("", "code"),
            *_pair("category", "cat"), *_pair("reason", "reason"), *_pair("status_reason", "sr"),
        ]),
        "task": (("Task",), {
            "code": "_f2t_codings(j, '$.code.coding[*]')", "reason": "_f2t_codings(j, '$.reasonCode.coding[*]')",
            "sr": "_f2t_codings(j, '$.statusReason.coding[*]')", "based": "_f2t_refs(j, '$.basedOn[*].reference')",
        }, [
            ("task_id", "rid"), ("patient_id", "pid"), ("status", "j ->> '$.status'"), ("intent", "j ->> '$.intent'"),
            ("authored_on", "j ->> '$.authoredOn'"), ("execution_start_date", "j ->> '$.executionPeriod.start'"),
            ("execution_end_date", "j ->> '$.executionPeriod.end'"), *_pair("", "code"), *_pair("reason", "reason"),
            *_pair("status_reason", "sr"), ("based_on_id", "based[i]"),
            ("focus_id", "_f2t_ref(j ->> '$.focus.reference')"),
        ]),
        "diagnostic_report": (("DiagnosticReport",), {
            "code": "_f2t_codings(j, '$.code.coding[*]')", "cat": "_f2t_codings(j, '$.category[*].coding[*]')",
        }, [
            ("diagnostic_report_id", "rid"), ("patient_id", "pid"), enc, ("status", "j ->> '$.status'"),
            ("report_date", "coalesce(j ->> '$.effectiveDateTime', j ->> '$.effectivePeriod.start')"),
            ("report_end_date", "j ->> '$.effectivePeriod.end'"), ("open_period", "CASE WHEN json_exists(j, '$.effectivePeriod') AND j ->> '$.effectivePeriod.end' IS NULL THEN true END"), ("issued_date", "j ->> '$.issued'"),
            *_pair("", "code"), *_pair("category", "cat"),
        ]),
        "adverse_event": (("AdverseEvent",), {"code": "_f2t_codings(j, '$.event.coding[*]')"}, [
            ("adverse_event_id", "rid"), ("patient_id", "pid"), ("event_date", "j ->> '$.date'"),
            ("recorded_date", "j ->> '$.recordedDate'"), *_pair("", "code"),
        ]),
        "coverage": (("Coverage",), {"code": "_f2t_codings(j, '$.type.coding[*]')"}, [
            ("coverage_id", "rid"), ("patient_id", "pid"), ("status", "j ->> '$.status'"),
            ("coverage_start_date", "j ->> '$.period.start'"), ("coverage_end_date", "j ->> '$.period.end'"),
            *_pair("", "code"),
        ]),
    }


_OBSERVATION = """
WITH o AS (
    SELECT person_id AS pid, resource_id AS rid, resource AS j,
           _f2t_codings(j, '$.code.coding[*]') AS code, _f2t_codings(j, '$.category[*].coding[*]') AS cat,
           _f2t_codings(j, '$.valueCodeableConcept.coding[*]') AS val,
           _f2t_codings(j, '$.dataAbsentReason.coding[*]') AS dar,
           _f2t_codings(_f2t_ext(j, 'notDoneReason'), '$.valueCodeableConcept.coding[*]') AS ndr,
           _f2t_refs(j, '$.basedOn[*].reference') AS based, _f2t_refs(j, '$.partOf[*].reference') AS part
    FROM fhir_resource WHERE resource_type = 'Observation'
), n AS (
    SELECT *, unnest(range(1, CAST(greatest(1, len(code), len(cat), len(val), len(dar), len(ndr), len(based), len(part)) AS BIGINT) + 1)) AS i
    FROM o
)
SELECT rid AS observation_id, pid AS patient_id, _f2t_ref(j ->> '$.encounter.reference') AS encounter_id,
       coalesce(j ->> '$.effectiveDateTime', j ->> '$.effectiveInstant', j ->> '$.effectivePeriod.start') AS observation_date,
       j ->> '$.effectivePeriod.end' AS observation_end_date,
       CASE WHEN json_exists(j, '$.effectivePeriod') AND j ->> '$.effectivePeriod.end' IS NULL THEN true END AS open_period,
       j ->> '$.status' AS status, NULL AS category,
       cat[i] ->> '$.system' AS category_code_type, cat[i] ->> '$.code' AS category_code, j ->> '$.issued' AS issued_date,
       code[i] ->> '$.system' AS source_code_type, code[i] ->> '$.code' AS source_code,
       coalesce(j ->> '$.valueQuantity.value', j ->> '$.valueInteger') AS result,
       coalesce(j ->> '$.valueQuantity.code', j ->> '$.valueQuantity.unit') AS source_units,
       coalesce(j ->> '$.valueString', j ->> '$.valueBoolean') AS value_text,
       val[i] ->> '$.system' AS value_code_type, val[i] ->> '$.code' AS value_code,
       NULL AS component_code_type, NULL AS component_code,
       dar[i] ->> '$.system' AS data_absent_reason_code_type, dar[i] ->> '$.code' AS data_absent_reason_code,
       ndr[i] ->> '$.system' AS not_done_reason_code_type, ndr[i] ->> '$.code' AS not_done_reason_code,
       _f2t_ext(j, 'recorded') ->> '$.valueDateTime' AS recorded_date, based[i] AS based_on_id, part[i] AS part_of_id,
       i AS _i
FROM n
UNION ALL
SELECT rid, pid, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       coalesce(comp ->> '$.valueQuantity.value', comp ->> '$.valueInteger'),
       coalesce(comp ->> '$.valueQuantity.code', comp ->> '$.valueQuantity.unit'), NULL, NULL, NULL,
       c ->> '$.system', c ->> '$.code', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 100000 + ci
FROM (SELECT person_id AS pid, resource_id AS rid, unnest(CAST(json_extract(resource, '$.component[*]') AS JSON[])) AS comp,
             unnest(range(CAST(json_array_length(resource, '$.component') AS BIGINT))) AS ci
      FROM fhir_resource WHERE resource_type = 'Observation' AND json_exists(resource, '$.component')),
     unnest(_f2t_codings(comp, '$.code.coding[*]')) u(c)
"""


def table_sql(name: str) -> str:
    """The SELECT of flat table ``name`` from ``fhir_resource`` (and ``fhir_named_attribution`` for encounters)."""
    if name == "observation":
        return _OBSERVATION
    types, lists, columns = _specs()[name]
    in_types = ", ".join(f"'{t}'" for t in types)
    list_cols = "".join(f", {expr} AS {alias}" for alias, expr in lists.items())
    lengths = ", ".join(f"len({alias})" for alias in lists) or "1"
    med = ("LEFT JOIN fhir_resource m ON m.resource_type = 'Medication' AND m.person_id = r.person_id "
           "AND m.resource_id = _f2t_ref(r.resource ->> '$.medicationReference.reference')"
           if name in ("medication", "medication_administration") else "")
    attribution = ("LEFT JOIN fhir_named_attribution a ON a.person_id = r.person_id AND a.encounter_id = r.resource_id"
                   if name == "encounter" else "")
    base = (f"SELECT r.person_id AS pid, r.resource_id AS rid, r.resource_type AS rtype, r.resource AS j, "
            f"{'m.resource' if med else 'NULL::JSON'} AS med, "
            f"{'a.named_tin, a.named_npi' if attribution else 'NULL AS named_tin, NULL AS named_npi'} "
            f"FROM fhir_resource r {med} {attribution} WHERE r.resource_type IN ({in_types})")
    select = ", ".join(f'{expr} AS "{col}"' for col, expr in columns)
    return (f"WITH b AS ({base}), l AS (SELECT *{list_cols} FROM b), "
            f"n AS (SELECT *, unnest(range(1, CAST(greatest(1, {lengths}) AS BIGINT) + 1)) AS i FROM l) "
            f"SELECT {select}, i AS _i, pid AS _pid FROM n")


def write_tables(con: duckdb.DuckDBPyConnection, dest: str | Path, fmt: str = "csv") -> dict[str, int]:
    """Write every flat table that has rows from ``fhir_resource`` into ``dest`` (<table>.csv or .parquet); rows per
    table written."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(fmt)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    con.execute(_MACROS)
    if "fhir_named_attribution" not in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}:
        con.execute("CREATE TEMP TABLE fhir_named_attribution AS SELECT NULL::VARCHAR AS person_id, "
                    "NULL::VARCHAR AS encounter_id, NULL::VARCHAR AS named_tin, NULL::VARCHAR AS named_npi LIMIT 0")
    written: dict[str, int] = {}
    for table in CLINICAL_TABLES:
        if table.name == "lab_result":   # lab Observations are written to observation, which carries every element
            continue
        sql = table_sql(table.name)
        produced = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM ({sql})").fetchall()}
        columns = ", ".join(f'"{f.name}"' for f in table.fields if f.name in produced)
        if table.name == "location":   # each patient's copy of a Location: the first patient's is written
            con.execute(f"CREATE OR REPLACE TEMP TABLE _f2t_out AS SELECT {columns} FROM ({sql}) "
                        f"QUALIFY _pid = min(_pid) OVER (PARTITION BY location_id) ORDER BY location_id, _i")
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _f2t_out AS SELECT {columns} FROM ({sql}) "
                        f"ORDER BY patient_id, \"{table.id_column}\", _i")
        rows = con.execute("SELECT count(*) FROM _f2t_out").fetchone()[0]
        if rows == 0 and table.name != "patient":
            continue
        target = (dest / f"{table.name}.{fmt}").as_posix().replace("'", "''")
        con.execute(f"COPY _f2t_out TO '{target}' ({'FORMAT csv, HEADER true' if fmt == 'csv' else 'FORMAT parquet'})")
        written[table.name] = int(rows)
    con.execute("DROP TABLE _f2t_out")
    return written
