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
    )),
    ClinicalTable("encounter", "encounter_id", "Encounter", "one row per (encounter, encounter type code)", (
        Field("encounter_id", "id", "encounter id", required=True),
        _PATIENT_ID,
        Field("encounter_start_date", "date", "start (date, or dateTime with time zone)", required=True),
        Field("encounter_end_date", "date", "end (date, or dateTime with time zone)"),
        Field("status", "text", "FHIR Encounter.status (finished when empty: Tuva's encounter has no status)",
              tuva=False, allowed=_ENCOUNTER_STATUS, default="finished"),
        Field("class_code", "text", "FHIR Encounter.class code (v3 ActCode: AMB, IMP, EMER, VR, HH ...)", tuva=False),
        *_code(what="the encounter type code (FHIR Encounter.type): CPT, SNOMED CT, HCPCS ...", tuva=False),
        *_code("discharge_disposition", "the discharge disposition (FHIR Encounter.hospitalization."
               "dischargeDisposition; Tuva's column, with a code type added)", required=False),
        Field("rendering_npi", "id", "NPI of the clinician who rendered it (attributes the encounter, as a FHIR "
              "participant Practitioner does)", tuva=False),
        Field("attending_provider_id", "id", "the attending provider's NPI (Tuva's column): attributes the "
              "encounter when rendering_npi is empty"),
        Field("billing_tin", "id", "TIN it is billed under (attributes the encounter, as a FHIR serviceProvider "
              "Organization does)", tuva=False),
    )),
    ClinicalTable("condition", "condition_id", "Condition", "one row per (condition, code)", (
        Field("condition_id", "id", "condition id", required=True), _PATIENT_ID, _ENCOUNTER_ID,
        _RECORDED,
        Field("onset_date", "date", "onset"),
        Field("resolved_date", "date", "abatement (resolved)"),
        Field("status", "text", "clinical status (FHIR Condition.clinicalStatus)", allowed=_CLINICAL_STATUS),
        Field("verification_status", "text", "FHIR Condition.verificationStatus", tuva=False,
              allowed=_VERIFICATION_STATUS),
        Field("category", "text", "FHIR Condition.category (problem-list-item, encounter-diagnosis, "
              "health-concern)", tuva=False, allowed=("problem-list-item", "encounter-diagnosis", "health-concern")),
        *_code(),
    )),
    ClinicalTable("procedure", "procedure_id", "Procedure", "one row per (procedure, code)", (
        Field("procedure_id", "id", "procedure id", required=True), _PATIENT_ID, _ENCOUNTER_ID,
        Field("procedure_date", "date", "when it was performed (its start when an end is given)"),
        Field("procedure_end_date", "date", "end of the performed period", tuva=False),
        Field("status", "text", "FHIR Procedure.status (not-done with a status reason is a negation; completed "
              "when empty)", tuva=False, allowed=_EVENT_STATUS, default="completed"),
        _RECORDED.__class__(**{**_RECORDED.__dict__, "tuva": False}),
        *_code(), *_REASON,
    )),
    ClinicalTable("observation", "observation_id", "Observation",
                  "one row per (observation, code) and per component (e.g. systolic / diastolic of a BP panel)", (
        Field("observation_id", "id", "observation id", required=True), _PATIENT_ID, _ENCOUNTER_ID,
        Field("observation_date", "date", "when it was observed (its start when an end is given)"),
        Field("observation_end_date", "date", "end of the effective period", tuva=False),
        Field("status", "text", "FHIR Observation.status (cancelled with a not-done reason is a negation; final "
              "when empty)", tuva=False, allowed=_OBSERVATION_STATUS, default="final"),
        Field("category", "text", "FHIR Observation.category code (vital-signs, laboratory, survey, exam ...)",
              tuva=False),
        Field("issued_date", "date", "when the result was issued", tuva=False),
        *_code(what="the observation's code (required, except on a component row, which has component_code)",
               required=False),
        Field("result", "number", "numeric result (FHIR valueQuantity.value); of the component on a component row"),
        Field("source_units", "text", "UCUM unit of the result"),
        *_code("value", "a coded result (FHIR valueCodeableConcept)", required=False, tuva=False),
        *_code("component", "the component's code (a row of a component, e.g. LOINC 8480-6 systolic)",
               required=False, tuva=False),
        *_code("data_absent_reason", "why the value is missing (FHIR dataAbsentReason)", required=False, tuva=False),
        *_code("not_done_reason", "why it was not done (US Quality Core notDoneReason)", required=False, tuva=False),
        _RECORDED.__class__(**{**_RECORDED.__dict__, "tuva": False}),
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
        *_code("category", "the order's category", required=False, tuva=False),
        *_code(tuva=False),
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
)
CLINICAL_TABLE_NAMES = tuple(t.name for t in CLINICAL_TABLES)

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
    ("duplicate_patient", "rejected: a patient_id again (the first row is kept)"),
    ("conflicting_patient", "rejected: a row of a record (same id) naming another patient than its first row"),
)
