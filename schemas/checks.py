"""Row checks declared once, run two ways.

Each check is a pandera ``Check`` (so the input contracts are ordinary pandera schemas that
validate a pandas frame natively) that also carries, in its ``statistics``, the DuckDB SQL
twin of the same predicate. Validation of real extracts runs the SQL twins in DuckDB: one
set-based pass over tens of millions of rows instead of pandera's pandas backend. A
property test (tests/test_schema_equivalence.py) checks that both give the same verdicts.

Conventions shared by both ways:
- values arrive as text, already normalized (trimmed; '' -> null; codes upper-case;
  ICD-10-CM without the dot) by ``normalize_sql`` / ``normalize_series``;
- a null passes every check (``ignore_na``); presence is the ``nullable`` rule's job.
"""
from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa

SQL_KEY = "sql"  # statistics key holding the SQL template; ``{col}`` is replaced by the column expression
REASON_KEY = "reason"  # statistics key holding a reason that never quotes the value


COVERS_TYPE_KEY = "covers_type"  # the check also proves the value has the column's type


def _check(name: str, series_fn, sql: str, reason: str, covers_type: bool = False) -> pa.Check:
    return pa.Check(series_fn, name=name, error=reason, ignore_na=True,
                    statistics={SQL_KEY: sql, REASON_KEY: reason, COVERS_TYPE_KEY: covers_type})


def pattern(name: str, regex: str, reason: str) -> pa.Check:
    """The whole value matches ``regex`` (anchored both ends in both engines)."""
    compiled = re.compile(regex)
    sql_regex = regex.replace("'", "''")
    return _check(name, lambda s: s.map(lambda v: compiled.fullmatch(v) is not None).astype(bool),
                  f"regexp_full_match({{col}}, '{sql_regex}')", reason)


def one_of(name: str, allowed: list[str], reason: str) -> pa.Check:
    values = ", ".join("'" + v.replace("'", "''") + "'" for v in allowed)
    allowed_set = set(allowed)
    return _check(name, lambda s: s.isin(allowed_set), f"{{col}} IN ({values})", reason)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_real_date(value: str) -> bool:
    if not _ISO_DATE.fullmatch(value):
        return False
    try:
        pd.Timestamp(value)
    except ValueError:
        return False
    return 1800 <= int(value[:4]) <= 2200


def iso_date() -> pa.Check:
    """A real calendar date written YYYY-MM-DD (2024-02-30 fails)."""
    return _check(
        "iso_date",
        lambda s: s.map(_is_real_date).astype(bool),
        # one try_cast: a value that does not cast is false (not null, which would pass)
        "(regexp_full_match({col}, '\\d{4}-\\d{2}-\\d{2}') AND coalesce(year(try_cast({col} AS DATE)) BETWEEN 1800 AND 2200, false))",
        "not a real date in YYYY-MM-DD form (MM/DD/YYYY is also read, unless the column is day-first)",
    )


_INTEGER = re.compile(r"[+-]?\d{1,18}")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def integer(minimum: int | None = None) -> pa.Check:
    def fn(s: pd.Series) -> pd.Series:
        ok = s.map(lambda v: _INTEGER.fullmatch(v) is not None).astype(bool)
        if minimum is not None:
            ok &= pd.to_numeric(s.where(ok), errors="coerce").fillna(minimum) >= minimum
        return ok
    sql = "regexp_full_match({col}, '[+-]?\\d{1,18}')"
    reason = "not a whole number"
    if minimum is not None:
        sql = f"({sql} AND try_cast({{col}} AS BIGINT) >= {minimum})"
        reason = f"not a whole number >= {minimum}"
    return _check("integer" if minimum is None else f"integer_at_least_{minimum}", fn, sql, reason, covers_type=True)


def number() -> pa.Check:
    return _check("number", lambda s: s.map(lambda v: _NUMBER.fullmatch(v) is not None).astype(bool),
                  "regexp_full_match({col}, '[+-]?(\\d+(\\.\\d*)?|\\.\\d+)')", "not a number")


TRUE_WORDS = ["true", "t", "yes", "y", "1"]
FALSE_WORDS = ["false", "f", "no", "n", "0"]


def boolean() -> pa.Check:
    """true/false, yes/no, y/n, t/f or 1/0 (values are lower-cased by normalization)."""
    return one_of("boolean", TRUE_WORDS + FALSE_WORDS, "not true/false, yes/no or 1/0")


def _npi_ok(value: str) -> bool:
    if not re.fullmatch(r"\d{10}", value):
        return False
    total = 24  # the doubled-and-summed digits of the card-issuer prefix 80840
    for position, char in enumerate(value[:9]):
        digit = int(char)
        if position % 2 == 0:  # 1st, 3rd, ... 9th digit are doubled (rightmost of the base first)
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10 == int(value[9])


def _npi_sql() -> str:
    """The check digit computed from the ten digits read once as a number: a lambda over a one-element list binds
    it, since DuckDB evaluates a repeated expression once per use (14 substr+casts cost 0.6 CPU s per million)."""
    terms = ["24"]
    for position in range(9):
        digit = f"(npi_number // {10 ** (9 - position)} % 10)"
        if position % 2 == 0:
            terms.append(f"((2 * {digit}) // 10 + (2 * {digit}) % 10)")
        else:
            terms.append(digit)
    total = " + ".join(terms)
    # TRY_CAST: a value that is not ten digits gives NULL inside the lambda, and the regex makes the whole false
    return (f"(regexp_full_match({{col}}, '\\d{{10}}') AND list_transform([TRY_CAST({{col}} AS BIGINT)], "
            f"lambda npi_number: (10 - ({total}) % 10) % 10 = npi_number % 10)[1])")


def npi() -> pa.Check:
    """Ten digits whose last is the Luhn check digit over '80840' + the first nine (CMS NPI standard)."""
    return _check("npi_check_digit", lambda s: s.map(_npi_ok).astype(bool), _npi_sql(),
                  "not a 10-digit NPI with a valid check digit")


def tin() -> pa.Check:
    return pattern("nine_digit_tin", r"\d{9}", "not a nine-digit TIN (NN-NNNNNNN and 8 digits are also read)")


def icd10cm() -> pa.Check:
    # ICD-10-CM without the dot: a letter, two characters (digit + digit/letter), up to 4 more.
    return pattern("icd10cm_code", r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}", "not an ICD-10-CM code")


def hcpcs() -> pa.Check:
    # CPT (5 digits), CPT II (4 digits + F), CPT III (4 digits + T), HCPCS Level II (letter + 4 digits).
    return pattern("hcpcs_code", r"(\d{5}|\d{4}[FTU]|[A-Z]\d{4})", "not a CPT/HCPCS code")


def place_of_service() -> pa.Check:
    return pattern("place_of_service_code", r"\d{2}", "not a two-digit place of service code")


def modifier() -> pa.Check:
    return pattern("hcpcs_modifier", r"[0-9A-Z]{2}", "not a two-character modifier")


# ---- checks across columns of one row (pandera frame-level checks) ----

def dates_in_order(first: str, second: str, name: str | None = None) -> pa.Check:
    """``second`` is on or after ``first`` where both are real dates."""
    rule = name or f"{second}_before_{first}"

    def fn(df: pd.DataFrame) -> pd.Series:
        a = pd.to_datetime(df[first].where(df[first].map(lambda v: isinstance(v, str) and _is_real_date(v))), errors="coerce")
        b = pd.to_datetime(df[second].where(df[second].map(lambda v: isinstance(v, str) and _is_real_date(v))), errors="coerce")
        return ~(a.notna() & b.notna() & (b < a))

    def as_date(c: str) -> str:
        return f"""CASE WHEN regexp_full_match("{c}", '\\d{{4}}-\\d{{2}}-\\d{{2}}') THEN try_cast("{c}" AS DATE) END"""

    sql = f"NOT coalesce(({as_date(second)}) < ({as_date(first)}), false)"
    return pa.Check(fn, name=rule, error=f"{second} is before {first}",
                    statistics={SQL_KEY: sql, REASON_KEY: f"{second} is before {first}", "columns": [first, second]})


def render_sql(check: pa.Check, column_expression: str) -> str:
    """The check's SQL predicate applied to a column expression (TRUE or NULL = passes)."""
    return check.statistics[SQL_KEY].replace("{col}", column_expression)


# Texts an export writes where a value was missing: as an identifier they would join unrelated rows into one
# patient, claim or encounter (the literal NULL as a person_id once became a patient). Empty after trimming
# is already null (normalization), so the required-value rule catches it.
PLACEHOLDER_IDS = ("NULL", "NONE", "NAN", "NAT", "<NA>", "N/A")


def not_placeholder() -> pa.Check:
    """An identifier is not a placeholder text such as NULL, null, None or NaN (any case)."""
    words = ", ".join("'" + w + "'" for w in PLACEHOLDER_IDS)
    return _check("placeholder_id", lambda s: ~s.map(lambda v: v.strip().upper() in PLACEHOLDER_IDS).astype(bool),
                  f"upper(trim({{col}})) NOT IN ({words})",
                  "is a placeholder (NULL, None, NaN ...), not an identifier")


INT32_MIN, INT32_MAX = -2147483648, 2147483647


def int32_range() -> pa.Check:
    """A whole number fits the column's 32-bit INTEGER type (checked before the cast, which would fail the run).
    Text that is not a whole number passes here: the integer rule gives it its own reason."""
    def fn(s: pd.Series) -> pd.Series:
        numbers = pd.to_numeric(s.where(s.map(lambda v: _INTEGER.fullmatch(v) is not None).astype(bool)),
                                errors="coerce")
        return (numbers.isna() | numbers.between(INT32_MIN, INT32_MAX)).astype(bool)
    return _check("integer_range", fn,
                  "(NOT regexp_full_match({col}, '[+-]?\\d{1,18}') OR "
                  f"try_cast({{col}} AS BIGINT) BETWEEN {INT32_MIN} AND {INT32_MAX})",
                  f"a whole number outside the range of this column ({INT32_MIN} to {INT32_MAX})")
