"""Tables of the eCQM engine (transforms/ecqm): its clinical intermediate representation (IR) and its output.

The IR is what the measures' SQL reads; it is built from ``fhir_resource`` (one row per FHIR resource with its
owning patient, made by the FHIR file layer) by transforms/ecqm/sql/01_ir.sql:

- ``ecqm_patient``: one row per patient (birth date, sex);
- ``ecqm_resource``: one row per clinical resource with the type's status, intent, timing interval, recorded time,
  value and references normalised into typed columns;
- ``ecqm_coding``: one row per coding of a coded element (code, type, category, value, reasonCode ...), the long
  table every value-set and direct-code test joins on;
- ``ecqm_component``: one row per Observation.component (blood pressure readings);
- ``ecqm_vs_hit``: one row per (resource, element, value set) whose code is in the value set: the one value-set
  join all measures share.
- ``ecqm_dosage_bounds``, ``ecqm_encounter_location``, ``ecqm_claim_item``, ``ecqm_claim_diagnosis``: repeating
  elements a few measures read (dosage timing bounds; where an encounter took place; the claims billing an encounter
  and their diagnoses).

Timestamps are UTC (a FHIR dateTime with an offset is converted; a date without time is midnight UTC, which is
what the CMS measurement period [2026-01-01T00:00:00Z, 2027-01-01T00:00:00Z) is written in).

``measure_populations`` is the MeasureReport of every patient (or episode) and population group.
"""
from __future__ import annotations

from schemas.tables import Column, TableSpec

_PERSON = Column("person_id", "VARCHAR", "FHIR Patient.id owning the resource (identifier: never logged)", nullable=False)
_RTYPE = Column("resource_type", "VARCHAR", "FHIR resource type", nullable=False)
_RID = Column("resource_id", "VARCHAR", "FHIR resource id", nullable=False)

ECQM_PATIENT = TableSpec(
    name="ecqm_patient",
    grain="one row per patient (FHIR Patient)",
    key=("person_id",),
    description="Patients with what CQL's AgeInYearsAt and the sex stratifiers need.",
    partition_by=(),
    columns=(
        _PERSON,
        Column("birth_date", "DATE", "Patient.birthDate (NULL when absent or not a date)"),
        Column("gender", "VARCHAR", "Patient.gender"),
        Column("sex", "VARCHAR", "USCoreCommon Patient.sex(): the code of the US Core sex extension "
               "(http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex), e.g. SNOMED 248152002 female"),
        Column("deceased_ts", "TIMESTAMP", "Patient.deceasedDateTime, UTC (NULL when absent or deceasedBoolean)"),
        Column("race_codes", "VARCHAR[]", "USCoreCommon race(): CDC race codes (urn:oid:2.16.840.1.113883.6.238) of the "
               "us-core-race extension's ombCategory and detailed parts; empty when none"),
    ),
)

ECQM_RESOURCE = TableSpec(
    name="ecqm_resource",
    grain="one row per clinical FHIR resource of a patient (every type but Patient)",
    key=("person_id", "resource_type", "resource_id"),
    description="Type-specific FHIR elements normalised into columns the measures test: the timing interval "
                "(Encounter.period, Observation.effective[x], Procedure.performed[x], Condition onset..abatement, "
                "authoredOn of requests, occurrence of immunizations ...), status, intent, value and references.",
    partition_by=(),
    columns=(
        _PERSON, _RTYPE, _RID,
        Column("status", "VARCHAR", "status element (Encounter, Observation, Procedure, requests ...)"),
        Column("intent", "VARCHAR", "intent (MedicationRequest, ServiceRequest, DeviceRequest)"),
        Column("do_not_perform", "BOOLEAN", "doNotPerform (requests)"),
        Column("start_ts", "TIMESTAMP", "start of the type's timing interval, UTC; NULL = unknown (open) start"),
        Column("end_ts", "TIMESTAMP", "end of the timing interval, UTC; a dateTime gives start = end; NULL = no end"),
        Column("has_timing", "BOOLEAN", "the resource has its timing element at all (a Period with no start still counts)"),
        Column("abatement_ts", "TIMESTAMP", "Condition: end of abatement[x] (dateTime or Period.end)"),
        Column("has_abatement", "BOOLEAN", "Condition: abatement[x] present"),
        Column("recorded_ts", "TIMESTAMP", "recorded time: the US Quality Core 'recorded' extension (Procedure, "
               "Communication, MedicationAdministration), Condition.recordedDate, requests' and Tasks' authoredOn, "
               "Immunization.recorded, AdverseEvent.recordedDate"),
        Column("issued_ts", "TIMESTAMP", "Observation.issued / DiagnosticReport.issued, UTC (when an ObservationCancelled "
               "was recorded)"),
        Column("value_num", "DOUBLE", "valueQuantity.value (Observation)"),
        Column("value_unit", "VARCHAR", "valueQuantity.code, else .unit"),
        Column("has_value", "BOOLEAN", "the resource has a value[x] of any type"),
        Column("encounter_id", "VARCHAR", "id tail of the encounter / context reference"),
        Column("class_code", "VARCHAR", "Encounter.class.code"),
        Column("focus_id", "VARCHAR", "id tail of Task.focus (the request a TaskRejected rejects)"),
        Column("based_on_ids", "VARCHAR[]", "id tails of basedOn references (Task, Observation, Procedure ...)"),
        Column("reason_reference_ids", "VARCHAR[]", "id tails of reasonReference references (Encounter, requests ...)"),
        Column("part_of_ids", "VARCHAR[]", "id tails of partOf references (Observation, Procedure ...)"),
        Column("first_timing_event_ts", "TIMESTAMP", "MedicationRequest: earliest dosageInstruction[*].timing.event, UTC"),
        Column("medication_id", "VARCHAR", "id tail of medicationReference (MedicationRequest/Dispense/Administration)"),
        Column("days_supply", "DOUBLE", "MedicationRequest.dispenseRequest.expectedSupplyDuration.value; "
               "MedicationDispense.daysSupply.value"),
        Column("supply_quantity", "DOUBLE", "MedicationRequest.dispenseRequest.quantity.value; MedicationDispense.quantity.value"),
        Column("refills", "INTEGER", "MedicationRequest.dispenseRequest.numberOfRepeatsAllowed"),
        Column("bounds_start_ts", "TIMESTAMP", "dosageInstruction[0].timing.repeat.boundsPeriod.start"),
        Column("bounds_end_ts", "TIMESTAMP", "dosageInstruction[0].timing.repeat.boundsPeriod.end"),
        Column("validity_start_ts", "TIMESTAMP", "MedicationRequest.dispenseRequest.validityPeriod.start"),
        Column("dose_value", "DOUBLE", "dosageInstruction[0].doseAndRate[0]: doseRange.high, else doseQuantity.value"),
        Column("doses_per_day", "DOUBLE", "CumulativeMedicationDuration dosesPerDay: ToDaily(frequencyMax or frequency, "
               "period periodUnit), else the count of timeOfDay (0 when none: CQL's Count of an empty list)"),
        Column("supply_duration_unit", "VARCHAR", "dispenseRequest.expectedSupplyDuration (MedicationDispense.daysSupply) .code, else .unit"),
        Column("supply_quantity_unit", "VARCHAR", "dispenseRequest.quantity.unit (the FHIR unit element)"),
        Column("supply_quantity_code", "VARCHAR", "dispenseRequest.quantity.code (UCUM)"),
        Column("focus_id", "VARCHAR", "id tail of Task.focus (the request a TaskRejected rejects)"),
        Column("last_occurrence_ts", "TIMESTAMP", "AllergyIntolerance.lastOccurrence, UTC"),
        Column("sent_ts", "TIMESTAMP", "Communication.sent, UTC (start_ts falls back to received)"),
        Column("source_file", "VARCHAR", "input file of the resource", nullable=False),
        Column("source_row", "BIGINT", "line (NDJSON) or entry (Bundle) of the resource in its file"),
    ),
)

ECQM_CODING = TableSpec(
    name="ecqm_coding",
    grain="one row per (resource, coded element, code system, code): a coding with a system",
    key=("person_id", "resource_type", "resource_id", "element", "code_system", "code"),
    description="Codings of the coded elements measures test. element 'code' is the type's primary code path "
                "(Encounter.type, Observation.code, Condition.code, Procedure.code, medication[x] and the referenced "
                "Medication.code, Immunization.vaccineCode, DeviceRequest.code[x] ...); the others keep their FHIR "
                "names (category, value, reasonCode, statusReason, class, dischargeDisposition, clinicalStatus, "
                "verificationStatus).",
    partition_by=(),
    columns=(
        _PERSON, _RTYPE, _RID,
        Column("element", "VARCHAR", "coded element", nullable=False),
        Column("code_system", "VARCHAR", "Coding.system", nullable=False),
        Column("code", "VARCHAR", "Coding.code", nullable=False),
    ),
)

ECQM_COMPONENT = TableSpec(
    name="ecqm_component",
    grain="one row per (Observation, component position, component coding)",
    key=("person_id", "resource_id", "component_index", "code_system", "code"),
    description="Observation.component codes and quantities (blood pressure systolic/diastolic).",
    partition_by=(),
    columns=(
        _PERSON,
        Column("resource_id", "VARCHAR", "Observation id", nullable=False),
        Column("component_index", "INTEGER", "0-based position of the component", nullable=False),
        Column("code_system", "VARCHAR", "component.code coding system", nullable=False),
        Column("code", "VARCHAR", "component.code coding code", nullable=False),
        Column("value_num", "DOUBLE", "component.valueQuantity.value"),
        Column("value_unit", "VARCHAR", "component.valueQuantity.code, else .unit"),
    ),
)

ECQM_VS_HIT = TableSpec(
    name="ecqm_vs_hit",
    grain="one row per (resource, coded element, value set) with at least one of the element's codes in the value set",
    key=("person_id", "resource_type", "resource_id", "element", "value_set_oid"),
    description="The value-set join every measure shares: CQL `[Type: \"Value Set\"]` and `X in \"Value Set\"`.",
    partition_by=(),
    columns=(
        _PERSON, _RTYPE, _RID,
        Column("element", "VARCHAR", "coded element (see ecqm_coding)", nullable=False),
        Column("value_set_oid", "VARCHAR", "value set OID", nullable=False),
    ),
)

ECQM_DOSAGE_BOUNDS = TableSpec(
    name="ecqm_dosage_bounds",
    grain="one row per (MedicationRequest, dosageInstruction) with timing.repeat.boundsPeriod or boundsDuration",
    key=("person_id", "resource_id", "dosage_index"),
    description="Each dosage instruction's timing bound as an interval (AHAOverall TimingBoundToInterval): a "
                "boundsPeriod as it is (a missing end is the closed null: infinity), a boundsDuration from authoredOn.",
    partition_by=(),
    columns=(
        _PERSON,
        Column("resource_id", "VARCHAR", "MedicationRequest id", nullable=False),
        Column("dosage_index", "INTEGER", "0-based position of the dosageInstruction", nullable=False),
        Column("start_ts", "TIMESTAMP", "start of the bound, UTC (NULL = unknown)"),
        Column("end_ts", "TIMESTAMP", "end of the bound, UTC; 'infinity' when the period has no end"),
    ),
)

_CODINGS = "STRUCT(code_system VARCHAR, code VARCHAR)[]"

ECQM_ENCOUNTER_LOCATION = TableSpec(
    name="ecqm_encounter_location",
    grain="one row per Encounter.location entry",
    key=("person_id", "encounter_id", "location_index"),
    description="Where an encounter took place (Encounter.location[*]): the Location it references, read with "
                "CQMCommon GetLocation() (the Location resource's type codings are ecqm_coding element 'type').",
    partition_by=(),
    columns=(
        _PERSON,
        Column("encounter_id", "VARCHAR", "Encounter id", nullable=False),
        Column("location_index", "INTEGER", "0-based position of the entry in Encounter.location", nullable=False),
        Column("location_id", "VARCHAR", "id tail of location.reference (NULL when the entry has no reference)"),
        Column("status", "VARCHAR", "Encounter.location.status (planned | active | reserved | completed)"),
        Column("start_ts", "TIMESTAMP", "Encounter.location.period.start, UTC"),
        Column("end_ts", "TIMESTAMP", "Encounter.location.period.end, UTC"),
    ),
)

ECQM_CLAIM_ITEM = TableSpec(
    name="ecqm_claim_item",
    grain="one row per (Claim.item, encounter it references); an item without an encounter: one row with none",
    key=("person_id", "claim_id", "item_index", "encounter_id"),
    description="Claim items and the encounters they bill (Claim.item[*].encounter[*]), with the claim's status and "
                "use: what CQMCommon claimDiagnosis() / principalProcedure() match an Encounter on.",
    partition_by=(),
    columns=(
        _PERSON,
        Column("claim_id", "VARCHAR", "Claim id", nullable=False),
        Column("claim_status", "VARCHAR", "Claim.status (active | cancelled | draft | entered-in-error)"),
        Column("claim_use", "VARCHAR", "Claim.use (claim | preauthorization | predetermination)"),
        Column("item_index", "INTEGER", "0-based position of the item in Claim.item", nullable=False),
        Column("item_sequence", "INTEGER", "Claim.item.sequence"),
        Column("encounter_id", "VARCHAR", "id tail of one of the item's encounter references"),
        Column("diagnosis_sequences", "INTEGER[]", "Claim.item.diagnosisSequence (the Claim.diagnosis sequences the item "
               "bills); empty when none"),
        Column("procedure_sequences", "INTEGER[]", "Claim.item.procedureSequence; empty when none"),
    ),
)

ECQM_CLAIM_DIAGNOSIS = TableSpec(
    name="ecqm_claim_diagnosis",
    grain="one row per Claim.diagnosis entry",
    key=("person_id", "claim_id", "diagnosis_index"),
    description="Claim diagnoses (CQMCommon claimDiagnosis(): principal diagnosis, present on admission): the "
                "diagnosis as codings or as a reference to a Condition, its types and its onAdmission indicator.",
    partition_by=(),
    columns=(
        _PERSON,
        Column("claim_id", "VARCHAR", "Claim id", nullable=False),
        Column("diagnosis_index", "INTEGER", "0-based position of the entry in Claim.diagnosis", nullable=False),
        Column("sequence", "INTEGER", "Claim.diagnosis.sequence (what Claim.item.diagnosisSequence points at)"),
        Column("condition_id", "VARCHAR", "id tail of diagnosisReference (a Condition); NULL for a diagnosisCodeableConcept"),
        Column("diagnosis_codings", _CODINGS, "diagnosisCodeableConcept.coding (with a system); empty for a reference"),
        Column("type_codings", _CODINGS, "Claim.diagnosis.type[*].coding (e.g. ex-diagnosistype 'principal')"),
        Column("on_admission_codings", _CODINGS, "Claim.diagnosis.onAdmission.coding (present-on-admission indicator)"),
    ),
)

IR_TABLES = (ECQM_PATIENT, ECQM_RESOURCE, ECQM_CODING, ECQM_COMPONENT, ECQM_VS_HIT, ECQM_DOSAGE_BOUNDS,
             ECQM_ENCOUNTER_LOCATION, ECQM_CLAIM_ITEM, ECQM_CLAIM_DIAGNOSIS)

POPULATION_COLUMNS = ("initial_population", "denominator", "denominator_exclusion", "denominator_exception",
                      "numerator", "numerator_exclusion")

MEASURE_POPULATIONS = TableSpec(
    name="measure_populations",
    grain="one row per (performance_year, source, level, tin, npi, measure_id, population_group, person_id, episode) "
          "in the initial population of the group",
    key=("performance_year", "source", "level", "tin", "npi", "measure_id", "population_group", "person_id", "episode"),
    description="Each patient's (or episode's) eCQM populations, as the FHIR MeasureReport counts them: summed per "
                "(person_id, population_group) at one level, TIN and NPI they give the patient's MeasureReport. "
                "Populations follow the measure's CQL and the proportion-measure rules (denominator within the "
                "initial population; exclusions and the numerator within the denominator; a numerator member is not "
                "an exception). A population the group does not define is NULL. Carries patient ids: it stays in the "
                "output folder, never in logs.",
    columns=(
        Column("performance_year", "INTEGER", "MIPS performance year (= the eCQM measurement period)", nullable=False),
        Column("period_start", "DATE", "first day of the measurement period", nullable=False),
        Column("period_end", "DATE", "last day of the measurement period", nullable=False),
        Column("source", "VARCHAR", "'ehr' (eCQMs computed from clinical data)", nullable=False),
        Column("level", "VARCHAR", "'individual' (TIN + NPI) or 'group' (TIN)", nullable=False),
        Column("tin", "VARCHAR", "TIN the patient or episode is attributed to", nullable=False),
        Column("npi", "VARCHAR", "NPI (level individual); NULL for level group"),
        Column("measure_id", "VARCHAR", "MIPS quality measure id ('001')", nullable=False),
        Column("cms_id", "VARCHAR", "CMS eCQM id ('CMS122v14')", nullable=False),
        Column("population_group", "VARCHAR", "Measure.group.id ('Group_1')", nullable=False),
        Column("stratum", "VARCHAR", "MIPS performance-rate stratum this group is scored as (measures-data strata); NULL "
               "for a single-rate measure"),
        Column("strata", "VARCHAR", "the Measure's stratifier ids whose criteria the patient or episode meets, "
               "comma-joined ('Stratification_1_1'); NULL when the group has no stratifiers or none is met"),
        Column("person_id", "VARCHAR", "FHIR Patient.id", nullable=False),
        Column("episode", "VARCHAR", "episode-based measures: 'Encounter/<id>' or 'Procedure/<id>'; NULL for "
               "patient-based measures"),
        Column("initial_population", "INTEGER", "1 when in the initial population", nullable=False),
        Column("denominator", "INTEGER", "1 when in the denominator; NULL when the group does not define it"),
        Column("denominator_exclusion", "INTEGER", "1 when a denominator exclusion; NULL when not defined"),
        Column("denominator_exception", "INTEGER", "1 when a denominator exception; NULL when not defined"),
        Column("numerator", "INTEGER", "1 when in the numerator; NULL when not defined"),
        Column("numerator_exclusion", "INTEGER", "1 when a numerator exclusion; NULL when not defined"),
    ),
)
