"""Markdown documentation generated from the contracts, so the docs cannot drift from the code.

    .venv/bin/python -m schemas.docs > docs/inputs.md
"""
from __future__ import annotations

from schemas import clinical, fhir
from schemas.inputs import CONTRACTS


def inputs_markdown() -> str:
    parts = ["# Input contracts", "",
             "Generated from `schemas/inputs.py` by `python -m schemas.docs`; do not edit by hand.", "",
             "CSV (UTF-8, comma-delimited, with a header row, ISO dates `YYYY-MM-DD`) or Parquet. Column names "
             "are matched case-insensitively; columns not listed are ignored; optional columns may be absent. "
             "Values are trimmed and empty values are null; codes are upper-cased and ICD-10-CM codes may be "
             "written with or without the dot. A row that breaks a rule is rejected (see `rejects/`) and the "
             "others are used; a file that cannot be read at all stops the run with a one-line message.", "",
             "Rules every file gets: required columns present and non-empty; each value of the column's type; "
             "no two rows with the same key (the first is kept, later ones are rejected as `duplicate_key`); "
             "rows with too few or too many fields are rejected as `malformed_row`. Across files: a claim line "
             "or encounter dated before the patient's birth is rejected (`service_before_birth`); claims whose "
             "TIN/NPI is missing from the roster and persons with claims but no eligibility are warnings.", "",
             "### Formatting that is forgiven, and what is not", "",
             "Where the meaning is unambiguous the value is normalised and `ingest_warnings` counts it per file "
             "(rule `<kind>:<column>:<file>`); otherwise the row is rejected with a reason saying what was expected.",
             "",
             "| written | what happens |", "|---|---|",
             "| TIN `12-3456789` (EIN form) | read as `123456789`; counted as `tin_dash_removed` |",
             "| TIN of 8 digits (a spreadsheet dropped the leading zero) | read with the zero restored; counted as "
             "`tin_leading_zero_restored` |",
             "| TIN of 7 or fewer digits, or any other form | rejected (`nine_digit_tin`): which zeros were lost would "
             "be a guess |",
             "| NPI of 9 digits | rejected (`npi_check_digit`): NPIs begin with 1 or 2, so no leading zero can have "
             "been lost |",
             "| date `MM/DD/YYYY` (or `M/D/YYYY`) | read month first; counted as `date_month_first` |",
             "| a date column of a file holding any `DD/MM/YYYY` value with a day over 12 | the column is "
             "day-first: none of its slash dates is guessed, each is rejected (`iso_date`); counted as "
             "`date_day_first` |",
             "| any other date form (`2024/03/01`, `01-03-2024`) | rejected (`iso_date`) |", ""]
    for contract in CONTRACTS.values():
        schema = contract.schema
        parts += [f"## `{contract.name}`", "", schema.description or "", "",
                  f"Key: {', '.join(contract.key)}.", "",
                  "| column | type | required | rules | description |", "|---|---|---|---|---|"]
        for name, column in schema.columns.items():
            rules = ", ".join(f"`{c.name}`" for c in column.checks) or ""
            required = "yes" if column.metadata["required"] else ""
            parts.append(f"| {name} | {column.metadata['type']} | {required} | {rules} | {column.description} |")
        if schema.checks:
            parts += ["", "Row rules: " + ", ".join(f"`{c.name}` ({c.error})" for c in schema.checks) + "."]
        parts.append("")
    return "\n".join(parts + fhir_markdown() + clinical_markdown())


def fhir_markdown() -> list[str]:
    """The FHIR R4 input (``mips run --fhir DIR``), from schemas/fhir.py."""
    parts = ["## FHIR R4 (`--fhir DIR`)", "",
             "A folder read recursively: `*.json` files holding one resource or a Bundle (each entry a resource), "
             "and `*.ndjson` Bulk Data files, one resource per line (blank lines are skipped but keep the line "
             "numbers). Hidden files and folders and files with other extensions are not read (a note counts them). "
             "Every resource read is accepted, out of scope or rejected: `ingest_summary` has one row per file "
             "(table_name `fhir_resource`), rejects name the file, the line (NDJSON) or entry (Bundle) or 1, the "
             "element (e.g. `Observation.effectiveDateTime`), the rule and a reason that never quotes a value.", "",
             "The rejection threshold (`--max-rejected-percent`) applies per resource type across the whole "
             "folder, not per file; text that is not a resource at all counts against the whole FHIR input.", "",
             "Which patient a resource belongs to:", "",
             "- a folder (its `.json` files) or a Bundle holding exactly one Patient is that patient's record: "
             "every resource in it belongs to that patient, even where its own reference is missing or names "
             "another id (a patient `$everything` export; CMS's eCQM test decks);",
             "- otherwise (NDJSON, Bundles or folders with several patients) the `subject`, `patient`, "
             "`beneficiary` or `for` reference decides (`Patient/<id>`, an absolute URL ending so, or a Bundle "
             "entry's `urn:uuid` fullUrl).", "",
             "Resource types read: " + ", ".join(f"`{t}`" for t in fhir.PATIENT_RESOURCE_TYPES) + "; and, kept "
             "for references, " + ", ".join(f"`{t}`" for t in fhir.SHARED_RESOURCE_TYPES) + ". Other types are out "
             "of scope.", "",
             "| rule | what it does |", "|---|---|"]
    parts += [f"| `{rule}` | {what} |" for rule, what in fhir.FHIR_RULES]
    parts += ["", "### Attribution", "",
              f"- An Encounter's clinician is the NPI of its participant Practitioner (identifier system "
              f"`{fhir.NPI_SYSTEM}`; a primary performer `PPRF` first, then an attender `ATND`, then the first "
              "participant that has one; a participant may also carry the identifier itself).",
              f"- Its TIN is the TIN identifier (`{fhir.TIN_SYSTEM}`, dashes dropped) of its serviceProvider "
              "Organization (or of a serviceProvider reference carrying the identifier).",
              "- Only an Encounter's participant and serviceProvider attribute: identifiers anywhere else (a "
              "payer Organization of a Coverage, a requester of a ServiceRequest) do not.",
              "- Encounters that name neither take `--default-tin TIN` / `--default-npi NPI`; without them the run "
              "stops with one line saying how many encounters name no TIN or NPI.",
              "- Levels, as for claims: `individual` is (TIN, NPI), `group` is the TIN. An episode-based measure's "
              "episode goes to its encounter's TIN/NPI; a patient-based measure's patient to the TIN/NPIs of the "
              "patient's encounters in the measurement period (see docs/ecqm.md, Attribution).", "",
              "What a FHIR folder becomes (work tables of the run, read by the eCQM engine, not published):",
              "", fhir.FHIR_RESOURCE.markdown(), "", fhir.EHR_ATTRIBUTION.markdown(), ""]
    return parts


def clinical_markdown() -> list[str]:
    """The flat clinical tables (``mips run --clinical-dir DIR``), from schemas/clinical.py."""
    parts = ["## Flat clinical tables (`--clinical-dir DIR`, or `clinical/` in an input folder)", "",
             "EHR data as a warehouse exports it: one `.csv` (with a header) or `.parquet` file per table in one "
             "folder. The tables Tuva's clinical input layer has keep its names (`patient`, `encounter`, `location`, "
             "`condition`, `procedure`, `observation`, `lab_result`, `medication`, `immunization`) and its column "
             "names where Tuva has the field; the eCQM tables Tuva lacks (`service_request`, `device_request`, "
             "`medication_administration`, `allergy_intolerance`, `communication`, `task`, `diagnostic_report`, "
             "`adverse_event`, `claim`, `coverage`) have documented names. `patient` is required, the others optional; other "
             "columns a file holds (Tuva's full column set) are ignored. Columns marked *eCQM* are not in Tuva's input "
             "layer: they carry what eCQMs read (status, intent, negation with its reason, periods, coded values, "
             "components, dosage instructions, references between records).", "",
             "Grain: one row per (record id, position). Row i of a record carries its i-th code, its i-th value of "
             "every other list (categories, reason codes, body sites, basedOn / partOf / reasonReference ids, "
             "Encounter diagnoses and locations, a claim's diagnoses and items, a medication's dosage instructions), "
             "and may repeat the record's single-valued "
             "fields, which are taken from the first row that has them. A record with two codes is two rows with the "
             "same id; a blood-pressure panel's systolic and diastolic readings are rows of its observation_id with "
             "`component_code_type` / `component_code` set; the record's code must be on one of its rows.", "",
             "These tables become the same FHIR R4 resources (`fhir_resource`) a FHIR folder does, so the same "
             "eCQM engine computes both. `mips convert fhir-to-tables --fhir DIR --dest OUT [--format csv|parquet]` "
             "writes a FHIR folder as these tables (and `mips generate --ehr-format tables|both` a generated "
             "practice). The proof: every development case of all 49 eCQM test decks, converted (half the measures "
             "as CSV, half as Parquet), gives the FHIR run's measure_populations row for row, for every measure "
             "(tests/test_clinical_tables.py); no measure or case differs. The one deck record the tables cannot take "
             "is a CMS145 MedicationRequest (patient folder 4a3086cd) whose medication is only a US Quality Core "
             "notDoneValueSet extension, with no code: it is rejected (`required`), and since no value set can "
             "match a record with no code, the FHIR run does not count it either. Dates are `YYYY-MM-DD` (or FHIR's "
             "partial `YYYY-MM`, `YYYY`, read as their first day) or a dateTime with its zone "
             "(`2026-03-01T09:00:00+00:00`). Code types are Tuva's ("
             + ", ".join(f"`{t}`" for t, _ in clinical.CODE_TYPE_SYSTEMS) + ") or a code system URL.", "",
             "Not carried by the flat tables (none changes an eCQM result):", "",
             *[f"- {what}: {why}." for what, why in clinical.NOT_CARRIED], "",
             "The claims-coded encounter extract (`--patient --encounter --condition --procedure`, the `patient` / "
             "`encounter` / `condition` / `procedure` contracts above) is a different input, kept under its own "
             "top-level file names for registries that send it: the clinical tables live in their own folder "
             "(`--clinical-dir`, `clinical/`), so the names never collide (README, *Inputs*).", "",
             "Attribution: an encounter's `rendering_npi` (a valid NPI) and `billing_tin` (nine digits, dashes "
             "dropped) attribute it as a FHIR participant and serviceProvider do; encounters naming neither take "
             "`--default-tin` / `--default-npi`, and without them the run stops with one line. A patient with no "
             "encounter is attributed to the defaults.", "",
             "Every row is accepted, out of scope or rejected (ingest_summary table_name `clinical.<table>`):", "",
             "| rule | what |", "|---|---|"]
    parts += [f"| `{rule}` | {what} |" for rule, what in clinical.CLINICAL_RULES]
    parts.append("")
    for table in clinical.CLINICAL_TABLES:
        parts += [f"### `{table.name}` (becomes FHIR {table.becomes})", "", f"Grain: {table.description}.", "",
                  "| column | kind | required | allowed values | description |", "|---|---|---|---|---|"]
        for f in table.fields:
            required = "yes" if f.required else (f"default `{f.default}`" if f.default else "")
            parts.append(f"| {f.name} | {f.kind} | {required} | {', '.join(f.allowed)} | "
                         f"{'' if f.tuva else '*eCQM* '}{f.description} |")
        parts.append("")
    return parts


if __name__ == "__main__":
    print(inputs_markdown(), end="")
