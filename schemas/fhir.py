"""FHIR R4 input (``mips run --fhir DIR``): what is read, the tables it becomes, and the rules it is held to.

transforms/fhir_files.py reads the folder; the eCQM engine reads ``fhir_resource`` and ``ehr_attribution``.
docs/inputs.md documents this input from here (schemas/docs.py).
"""
from __future__ import annotations

from schemas.tables import Column, TableSpec

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
TIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"

# Resource types a measure reads: the clinical types a measure can read and every type CMS's 2026 eCQM test decks use.
PATIENT_RESOURCE_TYPES = (
    "Patient", "Encounter", "Condition", "Observation", "Procedure", "MedicationRequest", "MedicationDispense",
    "MedicationAdministration", "MedicationStatement", "Immunization", "ImmunizationRecommendation",
    "ServiceRequest", "DiagnosticReport", "AllergyIntolerance", "Coverage", "DeviceRequest", "DeviceUseStatement",
    "Communication", "CommunicationRequest", "Claim", "ClaimResponse", "Task", "AdverseEvent", "CarePlan", "Goal",
    "NutritionOrder", "FamilyMemberHistory", "Specimen",
)
# Resources other resources point to (not owned by one patient): kept, with person_id NULL unless a
# one-patient folder or Bundle holds them.
SHARED_RESOURCE_TYPES = ("Organization", "Practitioner", "PractitionerRole", "Location", "Medication")

FHIR_RESOURCE = TableSpec(
    name="fhir_resource",
    grain="one row per accepted FHIR resource a measure may read",
    key=("source_file", "source_row"),
    description="The resources of a FHIR folder that passed validation and are in scope, as read (the eCQM "
                "engine's input). Work table of a run, not published (it holds patient data).",
    partition_by=(),
    columns=(
        Column("source_file", "VARCHAR", "file the resource came from", nullable=False),
        Column("source_row", "BIGINT", "line of an NDJSON file, entry of a Bundle, 1 for a one-resource file",
               nullable=False),
        Column("person_id", "VARCHAR", "Patient.id of the patient the resource belongs to; NULL for a shared "
               "resource (Organization, Practitioner, PractitionerRole, Location, Medication) read from NDJSON or "
               "a Bundle with several patients"),
        Column("resource_type", "VARCHAR", "resourceType", nullable=False),
        Column("resource_id", "VARCHAR", "id (a Bundle entry without one: its urn:uuid fullUrl)", nullable=False),
        Column("resource", "JSON", "the whole resource", nullable=False),
    ),
)

EHR_ATTRIBUTION = TableSpec(
    name="ehr_attribution",
    grain="one row per accepted FHIR Encounter, plus one row without an encounter per patient who has none (when "
          "defaults are given: some eCQMs need no encounter)",
    key=("person_id", "encounter_id"),
    description="The TIN and NPI each encounter is attributed to: the serviceProvider Organization's TIN identifier "
                f"({TIN_SYSTEM}) and the participant Practitioner's NPI ({NPI_SYSTEM}; a primary performer first, "
                "then an attender, then the first participant with one), else --default-tin / --default-npi.",
    partition_by=(),
    columns=(
        Column("person_id", "VARCHAR", "Patient.id", nullable=False),
        Column("encounter_id", "VARCHAR", "Encounter.id; NULL on the default row of a patient with no encounter"),
        Column("tin", "VARCHAR", "nine-digit TIN", nullable=False),
        Column("npi", "VARCHAR", "ten-digit NPI", nullable=False),
    ),
)

# (rule, what it rejects or sets aside) as docs/inputs.md lists them.
FHIR_RULES = (
    ("invalid_json", "rejected: the file (a .json) or the line (an .ndjson) is not valid JSON"),
    ("not_a_resource", "rejected: JSON without a resourceType (a Bundle entry without a resource included)"),
    ("bundle_in_ndjson", "rejected: a Bundle on an NDJSON line (Bulk Data files hold one resource per line)"),
    ("id_missing", "rejected: a resource without an id (a Bundle entry may use its urn:uuid fullUrl)"),
    ("wrong_type", "rejected: an element of the wrong JSON type (e.g. valueQuantity.value as a string, subject "
                   "not a Reference, a date as a number)"),
    ("impossible_date", "rejected: a date, dateTime or instant that is not one (2026-02-30, 25:00, 2026-13-01)"),
    ("duplicate_resource", "rejected: the same resource type and id again for the same patient (the first is kept)"),
    ("type not read", "out of scope: a resource type no measure reads (e.g. MeasureReport, Bundle)"),
    ("no patient", "out of scope: a resource that cannot be tied to a patient, or whose Patient is not in the input"),
    ("coding without a system", "out of scope, counted one by one (ingest_out_of_scope table_name 'coding'): the "
                                "coding is ignored, its resource kept"),
    ("datetime_without_time_zone", "warning (ingest_warnings): a dateTime with a time but no zone; kept"),
    ("attribution_identifier_invalid", "warning: a Practitioner NPI failing its check digit or an Organization TIN "
                                       "that is not nine digits attributes nothing"),
)
