"""Flat clinical tables (``mips run --clinical-dir DIR``): a warehouse export of EHR data as CSV or Parquet files
named after the Tuva Project's clinical input layer, plus the fields eCQMs need.

transforms/clinical_tables.py validates them and maps them, set-based, into the same ``fhir_resource`` and
``ehr_attribution`` tables a FHIR folder becomes, so one eCQM engine reads both. docs/inputs.md documents this
input from here (schemas/docs.py).

Grain of every table: one row per (record id, code). A record with several codes (an HbA1c coded in LOINC and in
a local system) is several rows with the same id; a blood-pressure panel's systolic and diastolic readings are rows
of the panel's observation_id with component_code_type / component_code set. The record's other fields are taken
from its first row (lowest row number).
"""
from __future__ import annotations

from dataclasses import dataclass

# Tuva's code types (source_code_type / normalized_code_type values) -> FHIR code system URLs. A code type may also
# be given as the URL itself.
CODE_TYPE_SYSTEMS: tuple[tuple[str, str], ...] = (
    ("icd-10-cm", "http://hl7.org/fhir/sid/icd-10-cm"),
    ("icd-9-cm", "http://hl7.org/fhir/sid/icd-9-cm"),
    ("icd-10-pcs", "http://www.cms.gov/Medicare/Coding/ICD10"),
    ("snomed-ct", "http://snomed.info/sct"),
    ("loinc", "http://loinc.org"),
    ("rxnorm", "http://www.nlm.nih.gov/research/umls/rxnorm"),
    ("ndc", "http://hl7.org/fhir/sid/ndc"),
    ("cpt", "http://www.ama-assn.org/go/cpt"),
    ("hcpcs", "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"),
    ("cvx", "http://hl7.org/fhir/sid/cvx"),
)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str          # id | text | date | number | boolean | code_type | code
    description: str
    required: bool = False
    tuva: bool = True  # the Tuva clinical input layer has this column (else: an eCQM addition, documented)
    allowed: tuple[str, ...] = ()  # allowed values (lower case) of a text column
    default: str | None = None     # the value of an empty cell or an absent column (a Tuva table has no status)


@dataclass(frozen=True)
class ClinicalTable:
    name: str
    id_column: str
    becomes: str       # the FHIR resource type it maps to
    description: str
    fields: tuple[Field, ...]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


def _code(prefix: str = "", what: str = "the record's code", required: bool = True, tuva: bool = True):
    return (Field(f"{prefix}source_code_type" if not prefix else f"{prefix}_code_type", "code_type",
                  f"code system of {what}: a Tuva code type ({', '.join(t for t, _ in CODE_TYPE_SYSTEMS)}) or "
                  "the code system URL", required=False, tuva=tuva),
            Field(f"{prefix}source_code" if not prefix else f"{prefix}_code", "code", what, required=required,
                  tuva=tuva))


_ENCOUNTER_STATUS = ("planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
                     "entered-in-error", "unknown")
_EVENT_STATUS = ("preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error",
                 "unknown")
_OBSERVATION_STATUS = ("registered", "preliminary", "final", "amended", "corrected", "cancelled",
                       "entered-in-error", "unknown")
_REQUEST_STATUS = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
_REQUEST_INTENT = ("proposal", "plan", "directive", "order", "original-order", "reflex-order", "filler-order",
                   "instance-order", "option")
_CLINICAL_STATUS = ("active", "recurrence", "relapse", "inactive", "remission", "resolved")
_VERIFICATION_STATUS = ("unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error")
_DISPENSE_STATUS = ("preparation", "in-progress", "cancelled", "on-hold", "completed", "entered-in-error",
                    "stopped", "declined", "unknown")

_PATIENT_ID = Field("patient_id", "id", "the patient (patient.patient_id)", required=True)
_PATIENT_ID_X = Field("patient_id", "id", "the patient (patient.patient_id)", required=True, tuva=False)
_ENCOUNTER_ID_X = Field("encounter_id", "id", "the encounter it belongs to (encounter.encounter_id)", tuva=False)


def _ids(name: str, what: str) -> Field:
    """A reference column: one id per row; a record's rows give the list (FHIR basedOn, partOf, reasonReference)."""
    return Field(name, "id", f"{what}: one id per row, a record's rows list them all", tuva=False)


def _x(*fields: Field) -> tuple[Field, ...]:
    """The same fields marked as eCQM additions (Tuva has no such column)."""
    return tuple(Field(**{**f.__dict__, "tuva": False}) for f in fields)


def _category(system_name: str) -> tuple[Field, ...]:
    return _code("category", f"a category code of any system (one per row); `category` above is the {system_name} "
                 "code alone", required=False, tuva=False)


def _open(what: str) -> Field:
    return Field("open_period", "boolean", f"true when {what} is a period that has not ended (a FHIR Period with a start "
                 "and no end), not a point in time", tuva=False)


_REASON_CODE = _code("reason", "a reason code (FHIR reasonCode; one per row)", required=False, tuva=False)
_ENCOUNTER_ID = Field("encounter_id", "id", "the encounter it belongs to (encounter.encounter_id)")
_RECORDED = Field("recorded_date", "date", "when it was recorded (FHIR recordedDate / US Quality Core 'recorded')")
_REASON = _code("status_reason", "the reason it was not done (negation: 'patient refused')", required=False,
                tuva=False)

CLINICAL_TABLES: tuple[ClinicalTable, ...] = (
    ClinicalTable("patient", "patient_id", "Patient", "one row per patient", (
        Field("patient_id", "id", "patient id (becomes person_id, the FHIR Patient.id)", required=True),
        Field("sex", "text", "administrative gender (FHIR Patient.gender)",
              allowed=("male", "female", "other", "unknown")),
        Field("birth_date", "date", "date of birth", required=True),
        Field("death_date", "date", "date of death"),
        Field("sex_code", "text", "sex as the US Core sex extension codes it (SNOMED CT 248152002 female, 248153007 "
              "male; what USCoreCommon sex() and the sex-based eCQM criteria read)", tuva=False),
        Field("race_code", "text", "CDC race codes (urn:oid:2.16.840.1.113883.6.238, e.g. 2106-3) of the US Core race "
              "extension, separated by ';' (a supplemental data element)", tuva=False),
    )),
    ClinicalTable("encounter", "encounter_id", "Encounter", "one row per (encounter, encounter type code)", (
        Field("encounter_id", "id", "encounter id", required=True),
        _PATIENT_ID,
        Field("encounter_start_date", "date", "start (date, or dateTime with time zone); Tuva requires it, FHIR does "
              "not: an encounter without one has an unknown start", tuva=True),
        Field("encounter_end_date", "date", "end (date, or dateTime with time zone)"),
        Field("status", "text", "FHIR Encounter.status (finished when empty: Tuva's encounter has no status)",
              tuva=False, allowed=_ENCOUNTER_STATUS, default="finished"),
        Field("class_code", "text", "FHIR Encounter.class code (v3 ActCode: AMB, IMP, EMER, VR, HH ...)", tuva=False),
        Field("class_code_type", "code_type", "code system of class_code (v3 ActCode when empty)", tuva=False),
        *_code(what="the encounter type code (FHIR Encounter.type): CPT, SNOMED CT, HCPCS ...", tuva=False),
        *_code("discharge_disposition", "the discharge disposition (FHIR Encounter.hospitalization."
               "dischargeDisposition; Tuva's column, with a code type added)", required=False),
        Field("rendering_npi", "id", "NPI of the clinician who rendered it (attributes the encounter, as a FHIR "
              "participant Practitioner does)", tuva=False),
        Field("attending_provider_id", "id", "the attending provider's NPI (Tuva's column): attributes the "
              "encounter when rendering_npi is empty"),
        Field("billing_tin", "id", "TIN it is billed under (attributes the encounter, as a FHIR serviceProvider "
              "Organization does)", tuva=False),
        *_REASON_CODE,
        _ids("reason_reference_id", "a condition or procedure id that is the reason for the encounter (FHIR "
             "reasonReference)"),
        _ids("diagnosis_condition_id", "a condition id that is a diagnosis of the encounter (FHIR "
             "Encounter.diagnosis.condition)"),
        Field("diagnosis_rank", "number", "the rank of the row's diagnosis_condition_id (1 = primary; FHIR "
              "Encounter.diagnosis.rank)", tuva=False),
        *_code("diagnosis_use", "the role of the row's diagnosis (FHIR Encounter.diagnosis.use: billing, AD "
               "admission ...)", required=False, tuva=False),
        _ids("location_id", "a location (location.location_id) where the encounter took place (FHIR "
             "Encounter.location.location)"),
    )),
    ClinicalTable("location", "location_id", "Location",
                  "one row per (location, type code); not a patient's record: it becomes a FHIR Location for each "
                  "patient whose encounter names it", (
        Field("location_id", "id", "location id", required=True),
        Field("name", "text", "name of the location"),
        *_code("type", "a location type code (FHIR Location.type, e.g. SNOMED CT 35971002 ambulatory care site; one "
               "per row)", required=False, tuva=False),
    )),
    ClinicalTable("condition", "condition_id", "Condition", "one row per (condition, code)", (
        Field("condition_id", "id", "condition id", required=True), _PATIENT_ID, _ENCOUNTER_ID,
        _RECORDED,
        Field("onset_date", "date", "onset (its start when onset_end_date is given)"),
        Field("onset_end_date", "date", "end of the onset period (FHIR onsetPeriod.end)", tuva=False),
        _open("the onset"),
        Field("resolved_date", "date", "abatement (resolved)"),
        Field("status", "text", "clinical status (FHIR Condition.clinicalStatus)", allowed=_CLINICAL_STATUS),
        Field("verification_status", "text", "FHIR Condition.verificationStatus", tuva=False,
              allowed=_VERIFICATION_STATUS),
        Field("category", "text", "FHIR Condition.category (problem-list-item, encounter-diagnosis, "
              "health-concern)", tuva=False, allowed=("problem-list-item", "encounter-diagnosis", "health-concern")),
        *_category("HL7 condition-category"),
        *_code(),
        *_code("body_site", "a body site code (FHIR bodySite; one per row)", required=False, tuva=False),
        *_code("severity", "the severity (FHIR severity)", required=False, tuva=False),
    )),
    ClinicalTable("procedure", "procedure_id", "Procedure", "one row per (procedure, code)", (
        Field("procedure_id", "id", "procedure id", required=True), _PATIENT_ID, _ENCOUNTER_ID,
        Field("procedure_date", "date", "when it was performed (its start when an end is given)"),
        Field("procedure_end_date", "date", "end of the performed period", tuva=False),
        _open("the performance"),
        Field("status", "text", "FHIR Procedure.status (not-done with a status reason is a negation; completed "
              "when empty)", tuva=False, allowed=_EVENT_STATUS, default="completed"),
        _RECORDED.__class__(**{**_RECORDED.__dict__, "tuva": False}),
        *_code(), *_REASON,
        *_code("category", "the procedure's category (FHIR Procedure.category)", required=False, tuva=False),
        *_REASON_CODE,
    )),
    ClinicalTable("observation", "observation_id", "Observation",
                  "one row per (observation, code) and per component (e.g. systolic / diastolic of a BP panel)", (
        Field("observation_id", "id", "observation id", required=True), _PATIENT_ID, _ENCOUNTER_ID,
        Field("observation_date", "date", "when it was observed (its start when an end is given)"),
        Field("observation_end_date", "date", "end of the effective period", tuva=False),
        _open("the effective time"),
        Field("status", "text", "FHIR Observation.status (cancelled with a not-done reason is a negation; final "
              "when empty)", tuva=False, allowed=_OBSERVATION_STATUS, default="final"),
        Field("category", "text", "FHIR Observation.category code (vital-signs, laboratory, survey, exam ...)",
              tuva=False),
        *_category("HL7 observation-category"),
        Field("issued_date", "date", "when the result was issued", tuva=False),
        *_code(what="the observation's code (required, except on a component row, which has component_code)",
               required=False),
        Field("result", "number", "numeric result (FHIR valueQuantity.value); of the component on a component row"),
        Field("value_text", "text", "a result that is not a number or a code ('positive', true; FHIR valueString)",
              tuva=False),
        Field("source_units", "text", "UCUM unit of the result"),
        *_code("value", "a coded result (FHIR valueCodeableConcept)", required=False, tuva=False),
        *_code("component", "the component's code (a row of a component, e.g. LOINC 8480-6 systolic)",
               required=False, tuva=False),
        *_code("data_absent_reason", "why the value is missing (FHIR dataAbsentReason)", required=False, tuva=False),
        *_code("not_done_reason", "why it was not done (US Quality Core notDoneReason)", required=False, tuva=False),
        _RECORDED.__class__(**{**_RECORDED.__dict__, "tuva": False}),
        _ids("based_on_id", "an order id it fulfils (FHIR basedOn)"),
        _ids("part_of_id", "a procedure or event id it is part of (FHIR partOf)"),
    )),
    ClinicalTable("lab_result", "lab_result_id", "Observation",
                  "one row per (lab result, code); an Observation of category laboratory", (
        Field("lab_result_id", "id", "lab result id", required=True), _PATIENT_ID, _ENCOUNTER_ID,
        Field("status", "text", "FHIR Observation.status", required=True, allowed=_OBSERVATION_STATUS),
        Field("collection_date", "date", "specimen collection (FHIR effectiveDateTime)"),
        Field("result_date", "date", "result (FHIR issued; the effective time when no collection date)"),
        *_code(), Field("result", "number", "numeric result"), Field("source_units", "text", "UCUM unit"),
    )),
    ClinicalTable("medication", "medication_id", "MedicationRequest",
                  "one row per (medication, code); a MedicationDispense when it has a dispensing date, else a "
                  "MedicationRequest", (
        Field("medication_id", "id", "medication id", required=True), _PATIENT_ID, _ENCOUNTER_ID,
        Field("prescribing_date", "date", "ordered (FHIR MedicationRequest.authoredOn)"),
        Field("dispensing_date", "date", "dispensed (FHIR MedicationDispense.whenHandedOver)"),
        Field("status", "text", "FHIR MedicationRequest.status (or MedicationDispense.status; completed when "
              "empty)", tuva=False, allowed=tuple(dict.fromkeys(_REQUEST_STATUS + _DISPENSE_STATUS)),
              default="completed"),
        Field("intent", "text", "FHIR MedicationRequest.intent (order when not given)", tuva=False,
              allowed=_REQUEST_INTENT),
        Field("do_not_perform", "boolean", "an order not to give it (FHIR doNotPerform)", tuva=False),
        *_code(), *_REASON,
        Field("days_supply", "number", "days of supply"),
        Field("quantity", "number", "quantity"), Field("quantity_unit", "text", "unit of the quantity"),
        Field("refills", "number", "refills allowed (FHIR numberOfRepeatsAllowed)", tuva=False),
        Field("days_supply_unit", "text", "UCUM unit of days_supply (d when empty)", tuva=False),
        Field("quantity_code", "text", "UCUM code of the quantity (quantity_unit when empty)", tuva=False),
        Field("validity_start_date", "date", "start of the prescription's validity (FHIR dispenseRequest."
              "validityPeriod.start)", tuva=False),
        *_category("medicationrequest-category"),
        *_REASON_CODE,
        # dosage instructions: the n-th row of the record that has any dose_ / timing_ / bounds_ value is the n-th
        # FHIR dosageInstruction (CumulativeMedicationDuration reads the first for doses per day)
        Field("dose_quantity", "number", "dose per administration (FHIR dosageInstruction.doseAndRate.doseQuantity; "
              "for a dose range, its high end)", tuva=False),
        Field("dose_unit", "text", "UCUM unit of dose_quantity", tuva=False),
        Field("frequency", "number", "administrations per period (FHIR timing.repeat.frequency)", tuva=False),
        Field("frequency_max", "number", "at most this many per period (FHIR timing.repeat.frequencyMax)", tuva=False),
        Field("period", "number", "the period of frequency (FHIR timing.repeat.period)", tuva=False),
        Field("period_unit", "text", "unit of period (FHIR timing.repeat.periodUnit)", tuva=False,
              allowed=("s", "min", "h", "d", "wk", "mo", "a")),
        Field("times_of_day", "text", "times of administration, separated by ';' (FHIR timing.repeat.timeOfDay: "
              "08:00:00;20:00:00)", tuva=False),
        Field("timing_event_date", "date", "the first scheduled administration (FHIR timing.event)", tuva=False),
        Field("bounds_start_date", "date", "start of the dosage's bounds (FHIR timing.repeat.boundsPeriod.start)",
              tuva=False),
        Field("bounds_end_date", "date", "end of the dosage's bounds (boundsPeriod.end)", tuva=False),
        Field("bounds_duration", "number", "the dosage's duration from authoredOn (FHIR timing.repeat."
              "boundsDuration), instead of bounds dates", tuva=False),
        Field("bounds_duration_unit", "text", "UCUM unit of bounds_duration", tuva=False,
              allowed=("h", "d", "wk", "mo", "a")),
    )),
    ClinicalTable("immunization", "immunization_id", "Immunization", "one row per (immunization, vaccine code)", (
        Field("immunization_id", "id", "immunization id", required=True), _PATIENT_ID, _ENCOUNTER_ID,
        Field("occurrence_date", "date", "when it was given"),
        Field("status", "text", "FHIR Immunization.status (not-done with a status reason is a negation)",
              required=True, allowed=("completed", "entered-in-error", "not-done")),
        _RECORDED.__class__(**{**_RECORDED.__dict__, "tuva": False}),
        *_code(what="the vaccine code (CVX)"), *_REASON,
    )),
    ClinicalTable("service_request", "service_request_id", "ServiceRequest",
                  "one row per (order, code): an eCQM addition (Tuva has no orders table)", (
        Field("service_request_id", "id", "order id", required=True, tuva=False),
        Field(_PATIENT_ID.name, "id", _PATIENT_ID.description, required=True, tuva=False),
        Field("authored_on", "date", "when it was ordered", tuva=False),
        Field("status", "text", "FHIR ServiceRequest.status", required=True, tuva=False, allowed=_REQUEST_STATUS),
        Field("intent", "text", "FHIR ServiceRequest.intent", required=True, tuva=False, allowed=_REQUEST_INTENT),
        Field("do_not_perform", "boolean", "an order not to do it (negation)", tuva=False),
        _ENCOUNTER_ID_X,
        *_code("category", "the order's category", required=False, tuva=False),
        *_code(tuva=False), *_REASON_CODE,
        *_code("do_not_perform_reason", "why not (US Quality Core doNotPerformReason)", required=False, tuva=False),
    )),
    ClinicalTable("device_request", "device_request_id", "DeviceRequest",
                  "one row per (device order, code): an eCQM addition (Tuva has no orders table)", (
        Field("device_request_id", "id", "device order id", required=True, tuva=False),
        Field(_PATIENT_ID.name, "id", _PATIENT_ID.description, required=True, tuva=False),
        Field("authored_on", "date", "when it was ordered", tuva=False),
        Field("status", "text", "FHIR DeviceRequest.status", required=True, tuva=False, allowed=_REQUEST_STATUS),
        Field("intent", "text", "FHIR DeviceRequest.intent", required=True, tuva=False, allowed=_REQUEST_INTENT),
        Field("do_not_perform", "boolean", "an order not to supply it (negation)", tuva=False),
        *_code(tuva=False),
        *_code("do_not_perform_reason", "why not (US Quality Core doNotPerformReason)", required=False, tuva=False),
    )),

    ClinicalTable("medication_administration", "medication_administration_id", "MedicationAdministration",
                  "one row per (administration, medication code): an eCQM addition (Tuva's medication has no "
                  "administrations)", (
        Field("medication_administration_id", "id", "administration id", required=True, tuva=False),
        _PATIENT_ID_X, _ENCOUNTER_ID_X,
        Field("status", "text", "FHIR MedicationAdministration.status (not-done with a status reason is a negation)",
              required=True, tuva=False, allowed=("in-progress", "not-done", "on-hold", "completed",
                                                   "entered-in-error", "stopped", "unknown")),
        Field("administration_date", "date", "when it was given (its start when an end is given)", tuva=False),
        Field("administration_end_date", "date", "end of the administration period", tuva=False),
        _open("the administration"),
        *_x(_RECORDED), *_code(what="the medication code (RxNorm, CVX ...)", tuva=False), *_REASON,
    )),
    ClinicalTable("allergy_intolerance", "allergy_intolerance_id", "AllergyIntolerance",
                  "one row per (allergy or intolerance, code): an eCQM addition (Tuva has no allergy table)", (
        Field("allergy_intolerance_id", "id", "allergy id", required=True, tuva=False),
        _PATIENT_ID_X,
        Field("clinical_status", "text", "FHIR AllergyIntolerance.clinicalStatus", tuva=False,
              allowed=("active", "inactive", "resolved")),
        Field("verification_status", "text", "FHIR AllergyIntolerance.verificationStatus", tuva=False,
              allowed=("unconfirmed", "confirmed", "refuted", "entered-in-error")),
        Field("onset_date", "date", "onset (its start when onset_end_date is given)", tuva=False),
        Field("onset_end_date", "date", "end of the onset period", tuva=False), _open("the onset"),
        Field("last_occurrence_date", "date", "last known reaction (FHIR lastOccurrence)", tuva=False),
        *_x(_RECORDED), *_code(what="the substance or allergy code", tuva=False),
    )),
    ClinicalTable("communication", "communication_id", "Communication",
                  "one row per (communication, code): an eCQM addition (e.g. a report to the treating clinician)", (
        Field("communication_id", "id", "communication id", required=True, tuva=False),
        _PATIENT_ID_X, _ENCOUNTER_ID_X,
        Field("status", "text", "FHIR Communication.status (not-done with a status reason is a negation)",
              required=True, tuva=False, allowed=_EVENT_STATUS),
        Field("sent_date", "date", "when it was sent", tuva=False),
        Field("received_date", "date", "when it was received", tuva=False),
        *_x(_RECORDED),
        *_code(what="the topic code (FHIR Communication.topic)", required=False, tuva=False),
        *_code("category", "a category code (one per row)", required=False, tuva=False),
        *_REASON_CODE, *_REASON,
    )),
    ClinicalTable("task", "task_id", "Task",
                  "one row per (task, code): an eCQM addition (e.g. a referral that was rejected)", (
        Field("task_id", "id", "task id", required=True, tuva=False),
        _PATIENT_ID_X,
        Field("status", "text", "FHIR Task.status", required=True, tuva=False,
              allowed=("draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress",
                       "on-hold", "failed", "completed", "entered-in-error")),
        Field("intent", "text", "FHIR Task.intent", tuva=False, allowed=("unknown",) + _REQUEST_INTENT),
        Field("authored_on", "date", "when it was created", tuva=False),
        Field("execution_start_date", "date", "start of its execution (FHIR executionPeriod.start)", tuva=False),
        Field("execution_end_date", "date", "end of its execution", tuva=False),
        *_code(what="the task's code", required=False, tuva=False),
        *_REASON_CODE, *_REASON,
        _ids("based_on_id", "an order id it carries out (FHIR basedOn)"),
        Field("focus_id", "id", "the order it acts on (FHIR focus)", tuva=False),
    )),
    ClinicalTable("diagnostic_report", "diagnostic_report_id", "DiagnosticReport",
                  "one row per (report, code): an eCQM addition (e.g. a mammography report)", (
        Field("diagnostic_report_id", "id", "report id", required=True, tuva=False),
        _PATIENT_ID_X, _ENCOUNTER_ID_X,
        Field("status", "text", "FHIR DiagnosticReport.status", required=True, tuva=False,
              allowed=("registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
                       "cancelled", "entered-in-error", "unknown")),
        Field("report_date", "date", "the time the report is about (its start when an end is given; FHIR "
              "effective[x])", tuva=False),
        Field("report_end_date", "date", "end of the effective period", tuva=False), _open("the effective time"),
        Field("issued_date", "date", "when it was issued", tuva=False),
        *_code(what="the report's code", tuva=False),
        *_code("category", "a category code (one per row)", required=False, tuva=False),
    )),
    ClinicalTable("adverse_event", "adverse_event_id", "AdverseEvent",
                  "one row per (adverse event, code): an eCQM addition (e.g. a statin-associated muscle symptom)", (
        Field("adverse_event_id", "id", "event id", required=True, tuva=False),
        _PATIENT_ID_X,
        Field("event_date", "date", "when it happened (FHIR AdverseEvent.date)", tuva=False),
        *_x(_RECORDED), *_code(what="the event code (FHIR AdverseEvent.event)", tuva=False),
    )),
    ClinicalTable("claim", "claim_id", "Claim",
                  "one row per (claim, position): row i carries the claim's i-th diagnosis and its i-th item; an "
                  "eCQM addition for the diagnoses billed for an encounter (CQMCommon claimDiagnosis: principal "
                  "diagnosis, present on admission)", (
        Field("claim_id", "id", "claim id", required=True, tuva=False),
        _PATIENT_ID_X,
        Field("status", "text", "FHIR Claim.status", required=True, tuva=False,
              allowed=("active", "cancelled", "draft", "entered-in-error")),
        Field("use", "text", "FHIR Claim.use", tuva=False, allowed=("claim", "preauthorization", "predetermination")),
        Field("diagnosis_sequence", "number", "the row's diagnosis: its sequence number (FHIR Claim.diagnosis."
              "sequence)", tuva=False),
        *_code("diagnosis", "the row's diagnosis code (FHIR diagnosisCodeableConcept)", required=False, tuva=False),
        Field("diagnosis_condition_id", "id", "the row's diagnosis as a condition id instead of a code (FHIR "
              "diagnosisReference)", tuva=False),
        *_code("diagnosis_type", "the row's diagnosis type (FHIR Claim.diagnosis.type, e.g. ex-diagnosistype "
               "principal)", required=False, tuva=False),
        *_code("on_admission", "the row's diagnosis present-on-admission indicator (FHIR Claim.diagnosis."
               "onAdmission)", required=False, tuva=False),
        Field("item_sequence", "number", "the row's item: its sequence number (FHIR Claim.item.sequence)", tuva=False),
        Field("item_encounter_ids", "text", "the encounter ids the row's item bills, separated by ';' (FHIR "
              "Claim.item.encounter)", tuva=False),
        Field("item_diagnosis_sequences", "text", "the diagnosis sequence numbers the row's item bills, separated "
              "by ';' (FHIR Claim.item.diagnosisSequence)", tuva=False),
        Field("item_procedure_sequences", "text", "the procedure sequence numbers of the row's item, separated by "
              "';' (FHIR Claim.item.procedureSequence)", tuva=False),
    )),
    ClinicalTable("coverage", "coverage_id", "Coverage",
                  "one row per (coverage, type code): an eCQM addition (the payer supplemental data element)", (
        Field("coverage_id", "id", "coverage id", required=True, tuva=False),
        _PATIENT_ID_X,
        Field("status", "text", "FHIR Coverage.status", required=True, tuva=False,
              allowed=("active", "cancelled", "draft", "entered-in-error")),
        Field("coverage_start_date", "date", "start of the coverage period", tuva=False),
        Field("coverage_end_date", "date", "end of the coverage period", tuva=False),
        *_code(what="the payer type code (FHIR Coverage.type: Source of Payment Typology)", required=False, tuva=False),
    )),
)
CLINICAL_TABLE_NAMES = tuple(t.name for t in CLINICAL_TABLES)

# What a FHIR folder holds that no flat table carries, and why it changes no eCQM result (docs/inputs.md).
NOT_CARRIED = (
    ("Practitioner, Organization", "they only attribute encounters: their NPI and TIN are the encounter's "
                                   "rendering_npi and billing_tin"),
    ("Medication", "a medicationReference's Medication code is the medication row's own code"),
    ("MeasureReport and other types no measure reads", "the engine reads none of them"),
    ("MedicationStatement", "no 2026 eCQM reads it"),
    ("codings without a system or a code; other elements the engine does not read (Encounter.length, "
     "AllergyIntolerance.criticality, ServiceRequest.occurrence, the US Quality Core notDoneValueSet extension ...)",
     "the engine reads none of them; a record left with no code at all is rejected (`required`)"),
)

# (rule, what it rejects or sets aside) as docs/inputs.md lists them.
CLINICAL_RULES = (
    ("missing column", "the run stops with one line naming the file and the column (a required column is absent)"),
    ("required", "rejected: a required value is empty"),
    ("invalid_date", "rejected: a date or dateTime that is not one (2026-02-30, 2026-13-01, 'yesterday')"),
    ("invalid_number", "rejected: a number or boolean column that does not hold one"),
    ("unknown_value", "rejected: a status, intent, sex or category not among the FHIR codes the column allows"),
    ("unknown_code_type", "rejected: a code type that is neither a Tuva code type nor a URL"),
    ("code without a system", "out of scope: a row whose code has no code type (the code cannot be matched to a "
                              "value set); the record's other rows are kept"),
    ("no patient", "out of scope: a row whose patient_id is not in patient"),
    ("no encounter", "out of scope: a location row whose location_id no accepted encounter names (a location "
                     "belongs to the patients whose encounters took place there)"),
    ("duplicate_patient", "rejected: a patient_id again (the first row is kept)"),
    ("conflicting_patient", "rejected: a row of a record (same id) naming another patient than its first row"),
)
