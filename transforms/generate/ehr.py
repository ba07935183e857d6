"""Synthetic EHR data at practice scale as FHIR R4 resources (Bulk Data NDJSON), codes from the eCQM value sets.

Set-based in DuckDB and deterministic (transforms/generate/rand.py): the same seed and size give the same
resources. One view per resource type, ``gen_fhir_<Type>``, with one column ``resource`` (JSON text).

What is generated (the clinical facts the first eCQMs read; the rates are plain constants below):
- Organizations (one per TIN, identifier urn:oid:2.16.840.1.113883.4.4) and Practitioners (valid NPIs,
  identifier http://hl7.org/fhir/sid/us-npi), about one clinician per 2,000 patients, 10 per TIN;
- Patients aged 18-85 at the start of the year, each with a primary clinician;
- Encounters in the performance year (finished, ambulatory), typed with codes of the "Office Visit" value set,
  attributed through participant (primary performer) and serviceProvider;
- Conditions: diabetes and essential hypertension from their value sets, onset before the year;
- Observations: HbA1c results (the "HbA1c Laboratory Test" value set, %) of most diabetic patients, and blood
  pressure panels (LOINC 85354-9 with systolic 8480-6 and diastolic 8462-4 components) at hypertensive
  patients' encounters;
- Procedures: "Documentation of current medications" (SNOMED CT 428191000124101) at most encounters.

The value-set codes come from the compiled ``ecqm_value_set_codes`` reference table (value_set_oid,
code_system, code); a value set missing from it is a clear error.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from transforms.generate.entities import npi_sql
from transforms.generate.rand import Draws

VALUE_SETS = {
    "office_visit": "2.16.840.1.113883.3.464.1003.101.12.1001",   # Office Visit
    "diabetes": "2.16.840.1.113883.3.464.1003.103.12.1001",       # Diabetes
    "hba1c": "2.16.840.1.113883.3.464.1003.198.12.1013",          # HbA1c Laboratory Test
    "hypertension": "2.16.840.1.113883.3.464.1003.104.12.1011",   # Essential Hypertension
}
MEDICATIONS_DOCUMENTED = ("http://snomed.info/sct", "428191000124101",
                          "Documentation of current medications (procedure)")
DIABETES_SHARE = 0.12
HYPERTENSION_SHARE = 0.30
HBA1C_SHARE = 0.85          # of diabetic patients with at least one HbA1c result in the year
BP_AT_ENCOUNTER_SHARE = 0.6  # of a hypertensive patient's encounters with a blood pressure reading
MEDS_DOCUMENTED_SHARE = 0.85
PATIENTS_PER_CLINICIAN = 2000
CLINICIANS_PER_TIN = 10
RESOURCE_TYPES = ("Organization", "Practitioner", "Patient", "Encounter", "Condition", "Observation", "Procedure")


@dataclass(frozen=True)
class GeneratedEhr:
    views: dict[str, str]   # resource type -> view with one column ``resource`` (JSON text)


def _instant(date_sql: str, minutes_sql: str = "540") -> str:
    """A FHIR dateTime with a zone: the date at a minute of the day, in UTC."""
    return (f"strftime(CAST({date_sql} AS TIMESTAMP) + to_minutes(CAST({minutes_sql} AS BIGINT)), "
            f"'%Y-%m-%dT%H:%M:%S') || '+00:00'")


def build_ehr(con: duckdb.DuckDBPyConnection, *, performance_year: int, patients: int, encounters_per_patient: float = 10.0,
              seed: int = 1, value_set_codes: str = "ref.ecqm_value_set_codes") -> GeneratedEhr:
    """Create the ``gen_fhir_*`` views for ``patients`` patients (about ``encounters_per_patient`` each)."""
    if patients < 1:
        raise ValueError("patients must be at least 1")
    d = Draws(seed)
    py = int(performance_year)
    oids = ", ".join(f"'{o}'" for o in VALUE_SETS.values())
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_vs AS
        SELECT value_set_oid, code_system, code,
               row_number() OVER (PARTITION BY value_set_oid ORDER BY code_system, code) - 1 AS k,
               count(*) OVER (PARTITION BY value_set_oid) AS n
        FROM {value_set_codes} WHERE value_set_oid IN ({oids})""")
    have = {r[0] for r in con.execute("SELECT DISTINCT value_set_oid FROM gen_vs").fetchall()}
    missing = [name for name, oid in VALUE_SETS.items() if oid not in have]
    if missing:
        raise ValueError(f"value set(s) {', '.join(missing)} not in {value_set_codes}")

    clinicians = max(2, -(-patients // PATIENTS_PER_CLINICIAN))
    tins = max(1, -(-clinicians // CLINICIANS_PER_TIN))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_clin AS
        SELECT c AS clinician_idx, c % {tins} AS tin_idx,
               {npi_sql(f"CAST(100000000 + ({d.hash('npi', '0')} % 200000000 + c * 7919) % 800000000 AS VARCHAR)")} AS npi,
               lpad(CAST(100000000 + (({d.hash('tin', '0')} % 800000000) + (c % {tins}) * 104729) % 800000000 AS VARCHAR),
                    9, '0') AS tin
        FROM range({clinicians}) t(c);
        CREATE OR REPLACE TEMP TABLE gen_pat AS
        SELECT p AS patient_idx, 'pt-' || p AS patient_id,
               DATE '{py}-01-01' - to_days(CAST(365.25 * (18 + {d.uniform('age', 'p')} * 67) AS INTEGER)) AS birth_date,
               CASE WHEN {d.uniform('sex', 'p')} < 0.52 THEN 'female' ELSE 'male' END AS gender,
               {d.integer('doctor', str(clinicians), 'p')} AS clinician_idx,
               {d.uniform('diabetes', 'p')} < {DIABETES_SHARE} AS diabetic,
               {d.uniform('htn', 'p')} < {HYPERTENSION_SHARE} AS hypertensive,
               {d.uniform('a1c', 'p')} < {HBA1C_SHARE} AS has_a1c,
               1 + {d.integer('visits', str(max(1, int(round(2 * encounters_per_patient - 1)))), 'p')} AS visits
        FROM range({patients}) t(p);
        CREATE OR REPLACE TEMP TABLE gen_enc AS
        SELECT p.patient_idx, p.patient_id, v AS visit, 'enc-' || p.patient_idx || '-' || v AS encounter_id,
               DATE '{py}-01-01' + to_days(CAST({d.integer('day', '365', 'p.patient_idx', 'v')} AS INTEGER)) AS day,
               480 + 15 * {d.integer('slot', '36', 'p.patient_idx', 'v')} AS minute,
               CASE WHEN {d.uniform('other_doc', 'p.patient_idx', 'v')} < 0.05
                    THEN {d.integer('doc2', str(clinicians), 'p.patient_idx', 'v')} ELSE p.clinician_idx END AS clinician_idx,
               {d.integer('enc_code', '1000003', 'p.patient_idx', 'v')} AS code_draw,
               p.hypertensive AND {d.uniform('bp', 'p.patient_idx', 'v')} < {BP_AT_ENCOUNTER_SHARE} AS has_bp,
               {d.uniform('meds', 'p.patient_idx', 'v')} < {MEDS_DOCUMENTED_SHARE} AS meds_documented
        FROM gen_pat p, range(p.visits) t(v)""")

    def code_of(name: str, draw: str) -> str:
        oid = VALUE_SETS[name]
        return (f"(SELECT {{'system': code_system, 'code': code}} FROM gen_vs g WHERE g.value_set_oid = '{oid}' "
                f"AND g.k = {draw} % g.n)")

    ref = "{'reference': 'Patient/' || patient_id}"
    views = {
        "Organization": f"""SELECT DISTINCT to_json({{'resourceType': 'Organization', 'id': 'org-' || tin_idx,
                               'identifier': [{{'system': 'urn:oid:2.16.840.1.113883.4.4', 'value': tin}}],
                               'name': 'Practice ' || tin_idx}}) AS resource FROM gen_clin""",
        "Practitioner": """SELECT to_json({'resourceType': 'Practitioner', 'id': 'dr-' || clinician_idx,
                              'identifier': [{'system': 'http://hl7.org/fhir/sid/us-npi', 'value': npi}]}) AS resource
                           FROM gen_clin""",
        "Patient": """SELECT to_json({'resourceType': 'Patient', 'id': patient_id, 'gender': gender,
                         'birthDate': strftime(birth_date, '%Y-%m-%d')}) AS resource FROM gen_pat""",
        "Encounter": f"""
            SELECT to_json({{'resourceType': 'Encounter', 'id': e.encounter_id, 'status': 'finished',
                    'class': {{'system': 'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'code': 'AMB'}},
                    'type': [{{'coding': [{{'system': v.code_system, 'code': v.code}}]}}],
                    'subject': {ref.replace('patient_id', 'e.patient_id')},
                    'participant': [{{'type': [{{'coding': [{{'system':
                        'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'code': 'PPRF'}}]}}],
                        'individual': {{'reference': 'Practitioner/dr-' || c.clinician_idx}}}}],
                    'serviceProvider': {{'reference': 'Organization/org-' || c.tin_idx}},
                    'period': {{'start': {_instant('e.day', 'e.minute')}, 'end': {_instant('e.day', 'e.minute + 20')}}}}})
                   AS resource
            FROM gen_enc e JOIN gen_clin c USING (clinician_idx)
            JOIN gen_vs v ON v.value_set_oid = '{VALUE_SETS['office_visit']}' AND v.k = e.code_draw % v.n""",
        "Condition": f"""
            SELECT to_json({{'resourceType': 'Condition', 'id': 'cond-' || kind || '-' || patient_idx,
                    'clinicalStatus': {{'coding': [{{'system': 'http://terminology.hl7.org/CodeSystem/condition-clinical',
                                                     'code': 'active'}}]}},
                    'verificationStatus': {{'coding': [{{'system':
                        'http://terminology.hl7.org/CodeSystem/condition-ver-status', 'code': 'confirmed'}}]}},
                    'category': [{{'coding': [{{'system': 'http://terminology.hl7.org/CodeSystem/condition-category',
                                                'code': 'problem-list-item'}}]}}],
                    'code': {{'coding': [{{'system': v.code_system, 'code': v.code}}]}},
                    'subject': {ref},
                    'onsetDateTime': {_instant(f"DATE '{py}-01-01' - to_days(CAST(30 + draw % 3000 AS INTEGER))")}}})
                   AS resource
            FROM (SELECT patient_idx, patient_id, 'diabetes' AS kind, {d.integer('dm_code', '1000003', 'patient_idx')} AS draw,
                         '{VALUE_SETS['diabetes']}' AS oid FROM gen_pat WHERE diabetic
                  UNION ALL
                  SELECT patient_idx, patient_id, 'hypertension', {d.integer('htn_code', '1000003', 'patient_idx')},
                         '{VALUE_SETS['hypertension']}' FROM gen_pat WHERE hypertensive) x
            JOIN gen_vs v ON v.value_set_oid = x.oid AND v.k = x.draw % v.n""",
        "Observation": f"""
            SELECT to_json({{'resourceType': 'Observation', 'id': 'a1c-' || p.patient_idx || '-' || r, 'status': 'final',
                    'category': [{{'coding': [{{'system': 'http://terminology.hl7.org/CodeSystem/observation-category',
                                                'code': 'laboratory'}}]}}],
                    'code': {{'coding': [{{'system': v.code_system, 'code': v.code}}]}},
                    'subject': {ref.replace('patient_id', 'p.patient_id')},
                    'effectiveDateTime': {_instant(f"DATE '{py}-01-01' + to_days(CAST({d.integer('a1c_day', '365', 'p.patient_idx', 'r')} AS INTEGER))", '480')},
                    'valueQuantity': {{'value': round(greatest(4.5, least(14.0, 5.0 + 6.0 *
                        ({d.uniform('a1c_1', 'p.patient_idx', 'r')} + {d.uniform('a1c_2', 'p.patient_idx', 'r')}) / 2.0)), 1),
                        'unit': '%', 'system': 'http://unitsofmeasure.org', 'code': '%'}}}})::VARCHAR AS resource
            FROM gen_pat p, range(1 + CAST({d.uniform('a1c_n', 'p.patient_idx')} < 0.4 AS INTEGER)) t(r)
            JOIN gen_vs v ON v.value_set_oid = '{VALUE_SETS['hba1c']}'
                          AND v.k = {d.integer('a1c_code', '1000003', 'p.patient_idx', 'r')} % v.n
            WHERE p.diabetic AND p.has_a1c
            UNION ALL
            SELECT to_json({{'resourceType': 'Observation', 'id': 'bp-' || e.encounter_id, 'status': 'final',
                    'category': [{{'coding': [{{'system': 'http://terminology.hl7.org/CodeSystem/observation-category',
                                                'code': 'vital-signs'}}]}}],
                    'code': {{'coding': [{{'system': 'http://loinc.org', 'code': '85354-9'}}]}},
                    'subject': {ref.replace('patient_id', 'e.patient_id')},
                    'encounter': {{'reference': 'Encounter/' || e.encounter_id}},
                    'effectiveDateTime': {_instant('e.day', 'e.minute + 5')},
                    'component': [
                        {{'code': {{'coding': [{{'system': 'http://loinc.org', 'code': '8480-6'}}]}},
                         'valueQuantity': {{'value': 105 + {d.integer('sys', '70', 'e.encounter_id')}, 'unit': 'mmHg',
                                           'system': 'http://unitsofmeasure.org', 'code': 'mm[Hg]'}}}},
                        {{'code': {{'coding': [{{'system': 'http://loinc.org', 'code': '8462-4'}}]}},
                         'valueQuantity': {{'value': 62 + {d.integer('dia', '40', 'e.encounter_id')}, 'unit': 'mmHg',
                                           'system': 'http://unitsofmeasure.org', 'code': 'mm[Hg]'}}}}]}})::VARCHAR
            FROM gen_enc e WHERE e.has_bp""",
        "Procedure": f"""
            SELECT to_json({{'resourceType': 'Procedure', 'id': 'meds-' || encounter_id, 'status': 'completed',
                    'code': {{'coding': [{{'system': '{MEDICATIONS_DOCUMENTED[0]}', 'code': '{MEDICATIONS_DOCUMENTED[1]}'}}]}},
                    'subject': {ref},
                    'encounter': {{'reference': 'Encounter/' || encounter_id}},
                    'performedDateTime': {_instant('day', 'minute + 10')}}}) AS resource
            FROM gen_enc WHERE meds_documented""",
    }
    for rtype, sql in views.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW gen_fhir_{rtype} AS SELECT CAST(resource AS VARCHAR) AS resource "
                    f"FROM ({sql})")
    return GeneratedEhr({rtype: f"gen_fhir_{rtype}" for rtype in views})


def write_ndjson(con: duckdb.DuckDBPyConnection, view: str, path) -> int:
    """Write a view's resources as NDJSON (one resource per line); returns the number of lines."""
    tmp = path.with_name(path.name + ".tmp")
    # one column, never quoted: JSON text holds no raw newline or \x1f
    rows = con.execute(f"COPY (SELECT resource FROM {view}) TO '{tmp.as_posix()}' "
                       "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x1f')").fetchall()[0][0]
    tmp.replace(path)
    return int(rows)
