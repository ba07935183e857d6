-- The engine's IR from fhir_resource (one row per FHIR resource: source_file, source_row, person_id, resource_type,
-- resource_id, resource JSON). Timestamps are UTC: a dateTime with an offset is converted, a date is midnight UTC,
-- a partial date (YYYY or YYYY-MM) is its first day. A value that is not a date is NULL (the file layer rejects it).
CREATE OR REPLACE TEMP MACRO ecqm_ts(s) AS
    CASE WHEN s IS NULL THEN NULL
         WHEN length(s) = 4 THEN try_cast(s || '-01-01' AS TIMESTAMP)
         WHEN length(s) = 7 THEN try_cast(s || '-01' AS TIMESTAMP)
         WHEN length(s) = 10 THEN try_cast(s AS TIMESTAMP)
         ELSE try_cast(s AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END;
-- the id tail of a reference ('Encounter/123' -> '123', 'urn:uuid:x' -> 'x')
CREATE OR REPLACE TEMP MACRO ecqm_ref_id(s) AS CASE WHEN s IS NULL THEN NULL ELSE regexp_extract(s, '([^/:]+)$', 1) END;

CREATE OR REPLACE TEMP TABLE _ecqm_patient AS
SELECT person_id, try_cast(resource ->> '$.birthDate' AS DATE) AS birth_date, resource ->> '$.gender' AS gender,
       -- USCoreCommon sex(): the us-core-sex extension's code (valueCode in US Core 6.1, valueCoding in later versions)
       (SELECT coalesce(e ->> '$.valueCode', e ->> '$.valueCoding.code')
        FROM unnest(CAST(json_extract(resource, '$.extension[*]') AS JSON[])) t(e)
        WHERE e ->> '$.url' = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex' LIMIT 1) AS sex,
       ecqm_ts(resource ->> '$.deceasedDateTime') AS deceased_ts,
       -- USCoreCommon race() ombCategory union detailed (the SDE Race codes)
       coalesce((SELECT list(DISTINCT p ->> '$.valueCoding.code')
                 FROM unnest(CAST(json_extract(resource, '$.extension[*]') AS JSON[])) t(e),
                      unnest(CAST(json_extract(e, '$.extension[*]') AS JSON[])) u(p)
                 WHERE e ->> '$.url' = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race'
                   AND p ->> '$.url' IN ('ombCategory', 'detailed')
                   AND p ->> '$.valueCoding.system' = 'urn:oid:2.16.840.1.113883.6.238'), []) AS race_codes,
       row_number() OVER (PARTITION BY person_id ORDER BY source_file, source_row) AS n
FROM fhir_resource WHERE resource_type = 'Patient';
CREATE OR REPLACE TABLE ecqm_patient AS {patient_select};

-- later copies of a resource (same patient, type and id; the first is kept, by source_file, source_row): the file
-- layer rejects them, a hand-made fhir_resource may hold them. Found on the keys alone, so that the typed rows below
-- need no window over all resources (which carried every row's columns through a sort).
CREATE OR REPLACE TEMP TABLE _ecqm_later_copy AS
SELECT source_file, source_row FROM (
    SELECT f.source_file, f.source_row,
           row_number() OVER (PARTITION BY f.person_id, f.resource_type, f.resource_id ORDER BY f.source_file, f.source_row) AS n
    FROM fhir_resource f
    JOIN (SELECT person_id, resource_type, resource_id FROM fhir_resource WHERE resource_type <> 'Patient'
          GROUP BY ALL HAVING count(*) > 1) d
      ON f.person_id IS NOT DISTINCT FROM d.person_id AND f.resource_type = d.resource_type
     AND f.resource_id IS NOT DISTINCT FROM d.resource_id)
WHERE n > 1;

-- Every `resource ->> '$.path'` and `json_exists(resource, '$.key')` of this statement is read from one parse of
-- the resource (ir.py rewrites them to j[i] / list_contains(keys, ...), j = json_extract_string(resource, [paths])).
-- a view: read once, straight into ecqm_resource (a temp table would be written and read again)
CREATE OR REPLACE TEMP VIEW _ecqm_resource AS
WITH r AS (
    SELECT source_file, source_row, person_id, resource_type, resource_id, resource,
           json_extract_string(resource, {resource_paths}) AS j, json_keys(resource) AS keys,
           -- the US Quality Core 'recorded' extension, as USQualityCoreCommon.recorded() reads it
           list_filter(CAST(json_extract(resource, '$.extension[*]') AS JSON[]), lambda e: e ->> '$.url' IN (
               'http://fhir.org/guides/astp/us-quality-core/StructureDefinition/us-quality-core-recorded',
               -- the same extension under the IG's earlier canonical base (the deck uses both)
               'http://fhir.org/guides/onc/us-quality-core/StructureDefinition/us-quality-core-recorded'))[1]
               ->> '$.valueDateTime' AS recorded_ext
    FROM fhir_resource WHERE resource_type <> 'Patient'
      AND NOT EXISTS (SELECT 1 FROM _ecqm_later_copy d
                      WHERE d.source_file = fhir_resource.source_file AND d.source_row = fhir_resource.source_row)
), t AS (
    SELECT *,
        CASE resource_type
            WHEN 'Encounter' THEN resource ->> '$.period.start'
            WHEN 'Condition' THEN coalesce(resource ->> '$.onsetDateTime', resource ->> '$.onsetPeriod.start')
            WHEN 'Observation' THEN coalesce(resource ->> '$.effectiveDateTime', resource ->> '$.effectiveInstant', resource ->> '$.effectivePeriod.start')
            WHEN 'DiagnosticReport' THEN coalesce(resource ->> '$.effectiveDateTime', resource ->> '$.effectivePeriod.start')
            WHEN 'Procedure' THEN coalesce(resource ->> '$.performedDateTime', resource ->> '$.performedPeriod.start')
            WHEN 'MedicationAdministration' THEN coalesce(resource ->> '$.effectiveDateTime', resource ->> '$.effectivePeriod.start')
            WHEN 'MedicationDispense' THEN coalesce(resource ->> '$.whenHandedOver', resource ->> '$.whenPrepared')
            WHEN 'Immunization' THEN resource ->> '$.occurrenceDateTime'
            WHEN 'Communication' THEN coalesce(resource ->> '$.sent', resource ->> '$.received')
            WHEN 'Coverage' THEN resource ->> '$.period.start'
            WHEN 'AllergyIntolerance' THEN coalesce(resource ->> '$.onsetDateTime', resource ->> '$.onsetPeriod.start')
            WHEN 'AdverseEvent' THEN resource ->> '$.date'
            WHEN 'Task' THEN resource ->> '$.executionPeriod.start'
            ELSE resource ->> '$.authoredOn' END AS start_s,
        CASE resource_type
            WHEN 'Encounter' THEN resource ->> '$.period.end'
            WHEN 'Condition' THEN coalesce(resource ->> '$.onsetDateTime', resource ->> '$.onsetPeriod.end')
            WHEN 'Observation' THEN coalesce(resource ->> '$.effectiveDateTime', resource ->> '$.effectiveInstant', resource ->> '$.effectivePeriod.end')
            WHEN 'DiagnosticReport' THEN coalesce(resource ->> '$.effectiveDateTime', resource ->> '$.effectivePeriod.end')
            WHEN 'Procedure' THEN coalesce(resource ->> '$.performedDateTime', resource ->> '$.performedPeriod.end')
            WHEN 'MedicationAdministration' THEN coalesce(resource ->> '$.effectiveDateTime', resource ->> '$.effectivePeriod.end')
            WHEN 'MedicationDispense' THEN coalesce(resource ->> '$.whenHandedOver', resource ->> '$.whenPrepared')
            WHEN 'Immunization' THEN resource ->> '$.occurrenceDateTime'
            WHEN 'Communication' THEN coalesce(resource ->> '$.sent', resource ->> '$.received')
            WHEN 'Coverage' THEN resource ->> '$.period.end'
            WHEN 'AllergyIntolerance' THEN coalesce(resource ->> '$.onsetDateTime', resource ->> '$.onsetPeriod.end')
            WHEN 'AdverseEvent' THEN resource ->> '$.date'
            WHEN 'Task' THEN resource ->> '$.executionPeriod.end'
            ELSE resource ->> '$.authoredOn' END AS end_s,
        CASE resource_type
            WHEN 'Encounter' THEN json_exists(resource, '$.period')
            WHEN 'Condition' THEN json_exists(resource, '$.onsetDateTime') OR json_exists(resource, '$.onsetPeriod')
            WHEN 'Observation' THEN json_exists(resource, '$.effectiveDateTime') OR json_exists(resource, '$.effectivePeriod')
                                    OR json_exists(resource, '$.effectiveInstant')
            WHEN 'Procedure' THEN json_exists(resource, '$.performedDateTime') OR json_exists(resource, '$.performedPeriod')
            WHEN 'DiagnosticReport' THEN json_exists(resource, '$.effectiveDateTime') OR json_exists(resource, '$.effectivePeriod')
            WHEN 'Task' THEN json_exists(resource, '$.executionPeriod')
            ELSE TRUE END AS has_timing
    FROM r
), p AS (
SELECT person_id, resource_type, resource_id,
       resource ->> '$.status' AS status,
       resource ->> '$.intent' AS intent,
       try_cast(resource ->> '$.doNotPerform' AS BOOLEAN) AS do_not_perform,
       ecqm_ts(start_s) AS start_ts,
       ecqm_ts(end_s) AS end_ts,
       has_timing,
       CASE WHEN resource_type = 'Condition'
            THEN ecqm_ts(coalesce(resource ->> '$.abatementDateTime', resource ->> '$.abatementPeriod.end')) END AS abatement_ts,
       resource_type = 'Condition' AND (json_exists(resource, '$.abatementDateTime') OR json_exists(resource, '$.abatementPeriod')
                                        OR json_exists(resource, '$.abatementAge') OR json_exists(resource, '$.abatementRange')
                                        OR json_exists(resource, '$.abatementString') OR json_exists(resource, '$.abatementBoolean'))
           AS has_abatement,
       ecqm_ts(CASE resource_type WHEN 'Condition' THEN resource ->> '$.recordedDate'
                                  WHEN 'MedicationRequest' THEN resource ->> '$.authoredOn'
                                  WHEN 'ServiceRequest' THEN resource ->> '$.authoredOn'
                                  WHEN 'DeviceRequest' THEN resource ->> '$.authoredOn'
                                  WHEN 'Task' THEN resource ->> '$.authoredOn'
                                  WHEN 'Immunization' THEN resource ->> '$.recorded'
                                  WHEN 'AdverseEvent' THEN resource ->> '$.recordedDate'
                                  ELSE recorded_ext END) AS recorded_ts,
       CASE WHEN resource_type IN ('Observation', 'DiagnosticReport') THEN ecqm_ts(resource ->> '$.issued') END AS issued_ts,
       try_cast(coalesce(resource ->> '$.valueQuantity.value', resource ->> '$.valueInteger') AS DOUBLE) AS value_num,
       coalesce(resource ->> '$.valueQuantity.code', resource ->> '$.valueQuantity.unit') AS value_unit,
       len(list_filter(keys, lambda k: k LIKE 'value%')) > 0 AS has_value,
       ecqm_ref_id(coalesce(resource ->> '$.encounter.reference', resource ->> '$.context.reference')) AS encounter_id,
       resource ->> '$.class.code' AS class_code,
       CASE WHEN resource_type = 'Task' THEN ecqm_ref_id(resource ->> '$.focus.reference') END AS focus_id,
       CASE WHEN json_exists(resource, '$.basedOn')
            THEN list_transform(CAST(json_extract_string(resource, '$.basedOn[*].reference') AS VARCHAR[]), lambda x: ecqm_ref_id(x))
            END AS based_on_ids,
       CASE WHEN json_exists(resource, '$.reasonReference')
            THEN list_transform(CAST(json_extract_string(resource, '$.reasonReference[*].reference') AS VARCHAR[]),
                                lambda x: ecqm_ref_id(x))
            END AS reason_reference_ids,
       CASE WHEN json_exists(resource, '$.partOf')
            THEN list_transform(CAST(json_extract_string(resource, '$.partOf[*].reference') AS VARCHAR[]), lambda x: ecqm_ref_id(x))
            END AS part_of_ids,
       CASE WHEN resource_type = 'MedicationRequest' AND json_exists(resource, '$.dosageInstruction')
            -- a list function, not a subquery over unnest: DuckDB decorrelates that by joining on the JSON text
            THEN list_min(list_transform(CAST(json_extract_string(resource, '$.dosageInstruction[*].timing.event[*]')
                                              AS VARCHAR[]), lambda x: ecqm_ts(x))) END AS first_timing_event_ts,
       ecqm_ref_id(resource ->> '$.medicationReference.reference') AS medication_id,
       try_cast(coalesce(resource ->> '$.dispenseRequest.expectedSupplyDuration.value',
                         resource ->> '$.daysSupply.value') AS DOUBLE) AS days_supply,  -- MedicationDispense.daysSupply
       try_cast(coalesce(resource ->> '$.dispenseRequest.quantity.value', resource ->> '$.quantity.value') AS DOUBLE) AS supply_quantity,
       try_cast(resource ->> '$.dispenseRequest.numberOfRepeatsAllowed' AS INTEGER) AS refills,
       ecqm_ts(resource ->> '$.dosageInstruction[0].timing.repeat.boundsPeriod.start') AS bounds_start_ts,
       ecqm_ts(resource ->> '$.dosageInstruction[0].timing.repeat.boundsPeriod.end') AS bounds_end_ts,
       ecqm_ts(resource ->> '$.dispenseRequest.validityPeriod.start') AS validity_start_ts,
       try_cast(coalesce(resource ->> '$.dosageInstruction[0].doseAndRate[0].doseRange.high.value',
                         resource ->> '$.dosageInstruction[0].doseAndRate[0].doseQuantity.value') AS DOUBLE) AS dose_value,
       -- CumulativeMedicationDuration ToDaily(frequency, period): events per day by the period's unit
       coalesce(
           try_cast(coalesce(resource ->> '$.dosageInstruction[0].timing.repeat.frequencyMax',
                             resource ->> '$.dosageInstruction[0].timing.repeat.frequency') AS DOUBLE)
           * (24.0 / try_cast(resource ->> '$.dosageInstruction[0].timing.repeat.period' AS DOUBLE))
           * CASE resource ->> '$.dosageInstruction[0].timing.repeat.periodUnit'
                 WHEN 'h' THEN 1.0 WHEN 'min' THEN 60.0 WHEN 's' THEN 3600.0 WHEN 'd' THEN 1.0 / 24
                 WHEN 'wk' THEN 1.0 / (24 * 7) WHEN 'mo' THEN 1.0 / (24 * 30) WHEN 'a' THEN 1.0 / (24 * 365) END,
           CAST(coalesce(json_array_length(resource, '$.dosageInstruction[0].timing.repeat.timeOfDay'), 0) AS DOUBLE)
       ) AS doses_per_day,
       coalesce(resource ->> '$.dispenseRequest.expectedSupplyDuration.code',
                resource ->> '$.dispenseRequest.expectedSupplyDuration.unit',
                resource ->> '$.daysSupply.code', resource ->> '$.daysSupply.unit') AS supply_duration_unit,
       resource ->> '$.dispenseRequest.quantity.unit' AS supply_quantity_unit,
       resource ->> '$.dispenseRequest.quantity.code' AS supply_quantity_code,
       CASE WHEN resource_type = 'Task' THEN ecqm_ref_id(resource ->> '$.focus.reference') END AS focus_id,
       CASE WHEN resource_type = 'AllergyIntolerance' THEN ecqm_ts(resource ->> '$.lastOccurrence') END AS last_occurrence_ts,
       CASE WHEN resource_type = 'Communication' THEN ecqm_ts(resource ->> '$.sent') END AS sent_ts,
       source_file, source_row
FROM t)
SELECT * FROM p;
CREATE OR REPLACE TABLE ecqm_resource AS {resource_select};

-- codings of each coded element (paths: transforms/ecqm/ir.py CODE_PATHS); codings without a system are skipped
-- (the file layer counts them as out of scope).
CREATE OR REPLACE TEMP TABLE _ecqm_coding AS
WITH c AS (
{coding_union}
)
SELECT DISTINCT person_id, resource_type, resource_id, element, c ->> '$.system' AS code_system, c ->> '$.code' AS code
FROM c WHERE c ->> '$.system' IS NOT NULL AND c ->> '$.code' IS NOT NULL;
-- a medicationReference gets the referenced Medication's code as its own 'code': the Medication of the patient's
-- own record, or a shared one (person_id NULL: a Bulk Data export's Medication.ndjson names no patient)
INSERT INTO _ecqm_coding
SELECT DISTINCT r.person_id, r.resource_type, r.resource_id, 'code', m.code_system, m.code
FROM ecqm_resource r
JOIN _ecqm_coding m ON (m.person_id = r.person_id OR m.person_id IS NULL) AND m.resource_type = 'Medication'
                   AND m.resource_id = r.medication_id
                   AND m.element = 'code'
WHERE r.medication_id IS NOT NULL;
CREATE OR REPLACE TABLE ecqm_coding AS {coding_select};

CREATE OR REPLACE TEMP TABLE _ecqm_component AS
SELECT person_id, resource_id, CAST(i - 1 AS INTEGER) AS component_index, c ->> '$.system' AS code_system, c ->> '$.code' AS code,
       try_cast(comp ->> '$.valueQuantity.value' AS DOUBLE) AS value_num,
       coalesce(comp ->> '$.valueQuantity.code', comp ->> '$.valueQuantity.unit') AS value_unit
FROM (SELECT person_id, resource_id, unnest(json_extract(resource, '$.component[*]')) AS comp,
             generate_subscripts(json_extract(resource, '$.component[*]'), 1) AS i
      FROM fhir_resource WHERE resource_type = 'Observation' AND json_exists(resource, '$.component'))
CROSS JOIN unnest(json_extract(comp, '$.code.coding[*]')) AS u(c)
WHERE c ->> '$.system' IS NOT NULL AND c ->> '$.code' IS NOT NULL;
CREATE OR REPLACE TABLE ecqm_component AS {component_select};

-- the one value-set join every measure shares (of the value sets the measures run read: build_ir value_set_oids)
CREATE OR REPLACE TEMP VIEW _ecqm_vs_hit AS
SELECT DISTINCT c.person_id, c.resource_type, c.resource_id, c.element, v.value_set_oid
FROM ecqm_coding c JOIN {value_set_codes} v ON v.code_system = c.code_system AND v.code = c.code;
CREATE OR REPLACE TABLE ecqm_vs_hit AS {vs_hit_select};

-- each dosage instruction's timing bound of a MedicationRequest as an interval (AHAOverall TimingBoundToInterval):
-- a boundsPeriod as FHIRHelpers.ToInterval reads it (no end = the closed null, infinity), a boundsDuration
-- [authoredOn, authoredOn + duration)
CREATE OR REPLACE TEMP TABLE _ecqm_dosage_bounds AS
WITH d AS (
    SELECT person_id, resource_id, CAST(i - 1 AS INTEGER) AS dosage_index,
           ecqm_ts(resource ->> '$.authoredOn') AS authored,
           json_extract(dosage, '$.timing.repeat') AS rep
    FROM (SELECT person_id, resource_id, resource, unnest(json_extract(resource, '$.dosageInstruction[*]')) AS dosage,
                 generate_subscripts(json_extract(resource, '$.dosageInstruction[*]'), 1) AS i
          FROM fhir_resource WHERE resource_type = 'MedicationRequest' AND json_exists(resource, '$.dosageInstruction'))
)
SELECT person_id, resource_id, dosage_index,
       CASE WHEN json_exists(rep, '$.boundsPeriod') THEN ecqm_ts(rep ->> '$.boundsPeriod.start') ELSE authored END AS start_ts,
       CASE WHEN json_exists(rep, '$.boundsPeriod')
            THEN coalesce(ecqm_ts(rep ->> '$.boundsPeriod.end'), 'infinity'::TIMESTAMP)
            ELSE authored + CASE coalesce(rep ->> '$.boundsDuration.code', rep ->> '$.boundsDuration.unit')
                   WHEN 'h' THEN to_hours(CAST(try_cast(rep ->> '$.boundsDuration.value' AS DOUBLE) AS BIGINT))
                   WHEN 'd' THEN to_days(CAST(try_cast(rep ->> '$.boundsDuration.value' AS DOUBLE) AS INTEGER))
                   WHEN 'wk' THEN to_weeks(CAST(try_cast(rep ->> '$.boundsDuration.value' AS DOUBLE) AS INTEGER))
                   WHEN 'mo' THEN to_months(CAST(try_cast(rep ->> '$.boundsDuration.value' AS DOUBLE) AS INTEGER))
                   WHEN 'a' THEN to_years(CAST(try_cast(rep ->> '$.boundsDuration.value' AS DOUBLE) AS INTEGER)) END
                 - INTERVAL 1 MILLISECOND END AS end_ts
FROM d WHERE json_exists(rep, '$.boundsPeriod') OR json_exists(rep, '$.boundsDuration');
CREATE OR REPLACE TABLE ecqm_dosage_bounds AS {dosage_bounds_select};

-- the resources of a type whose JSON text contains `needle` (a cheap text test before any parse), only the copy
-- ecqm_resource kept of each (joined on the kept copy's file and row: the filtered side is the small one)
CREATE OR REPLACE TEMP MACRO ecqm_kept_with(rtype, needle) AS TABLE
    SELECT f.person_id, f.resource_id, f.resource
    FROM (SELECT * FROM fhir_resource WHERE resource_type = rtype AND contains(CAST(resource AS VARCHAR), needle)) f
    JOIN ecqm_resource k ON k.source_file = f.source_file AND k.source_row = f.source_row AND k.resource_type = rtype;
-- the codings (with a system and a code) of a JSON list of Coding objects, as a list of (code_system, code)
CREATE OR REPLACE TEMP MACRO ecqm_codings(codings) AS
    list_transform(list_filter(codings, lambda c: c ->> '$.system' IS NOT NULL AND c ->> '$.code' IS NOT NULL),
                   lambda c: {'code_system': c ->> '$.system', 'code': c ->> '$.code'});

-- each Encounter.location entry (CQMCommon GetLocation(): the Location it references). Only encounters whose text
-- names a location are parsed again.
CREATE OR REPLACE TEMP TABLE _ecqm_encounter_location AS
SELECT person_id, resource_id AS encounter_id, CAST(i - 1 AS INTEGER) AS location_index,
       ecqm_ref_id(loc ->> '$.location.reference') AS location_id, loc ->> '$.status' AS status,
       ecqm_ts(loc ->> '$.period.start') AS start_ts, ecqm_ts(loc ->> '$.period.end') AS end_ts
FROM (SELECT person_id, resource_id, unnest(json_extract(resource, '$.location[*]')) AS loc,
             generate_subscripts(json_extract(resource, '$.location[*]'), 1) AS i
      FROM ecqm_kept_with('Encounter', '"location"'));
CREATE OR REPLACE TABLE ecqm_encounter_location AS {encounter_location_select};

-- each Claim item with each encounter it bills (CQMCommon claimDiagnosis() / principalProcedure() match on it)
CREATE OR REPLACE TEMP TABLE _ecqm_claim_item AS
WITH item AS (
    SELECT person_id, resource_id AS claim_id, resource ->> '$.status' AS claim_status, resource ->> '$.use' AS claim_use,
           unnest(json_extract(resource, '$.item[*]')) AS item, generate_subscripts(json_extract(resource, '$.item[*]'), 1) AS i
    FROM ecqm_kept_with('Claim', '"item"')
), e AS (
    SELECT *, list_transform(CAST(json_extract_string(item, '$.encounter[*].reference') AS VARCHAR[]),
                             lambda x: ecqm_ref_id(x)) AS encounter_ids
    FROM item
)
SELECT person_id, claim_id, claim_status, claim_use, CAST(i - 1 AS INTEGER) AS item_index,
       try_cast(item ->> '$.sequence' AS INTEGER) AS item_sequence,
       unnest(CASE WHEN len(encounter_ids) = 0 THEN [NULL::VARCHAR] ELSE encounter_ids END) AS encounter_id,
       list_transform(CAST(json_extract_string(item, '$.diagnosisSequence[*]') AS VARCHAR[]),
                      lambda x: try_cast(x AS INTEGER)) AS diagnosis_sequences,
       list_transform(CAST(json_extract_string(item, '$.procedureSequence[*]') AS VARCHAR[]),
                      lambda x: try_cast(x AS INTEGER)) AS procedure_sequences
FROM e;
CREATE OR REPLACE TABLE ecqm_claim_item AS {claim_item_select};

-- each Claim diagnosis: its codings or the Condition it references, its types and its present-on-admission codings
CREATE OR REPLACE TEMP TABLE _ecqm_claim_diagnosis AS
SELECT person_id, claim_id, CAST(i - 1 AS INTEGER) AS diagnosis_index, try_cast(d ->> '$.sequence' AS INTEGER) AS sequence,
       ecqm_ref_id(d ->> '$.diagnosisReference.reference') AS condition_id,
       ecqm_codings(json_extract(d, '$.diagnosisCodeableConcept.coding[*]')) AS diagnosis_codings,
       ecqm_codings(json_extract(d, '$.type[*].coding[*]')) AS type_codings,
       ecqm_codings(json_extract(d, '$.onAdmission.coding[*]')) AS on_admission_codings
FROM (SELECT person_id, resource_id AS claim_id, unnest(json_extract(resource, '$.diagnosis[*]')) AS d,
             generate_subscripts(json_extract(resource, '$.diagnosis[*]'), 1) AS i
      FROM ecqm_kept_with('Claim', '"diagnosis"'));
CREATE OR REPLACE TABLE ecqm_claim_diagnosis AS {claim_diagnosis_select};
