"""Where is this person's data? A search through every table of the database (PRIV-3, PRIV-5).

Given the values that identify someone (name, e-mail, IBAN, phone, street and house number, postcode,
IP address), `find_personal_data()` looks in every base table, not only the ones a model knows about:
row history (the pghistory event tables and `pghistory_context`), the audit trail, sessions, the
admin log, a library's tables. Every column that can hold text is searched (text, varchar, json,
jsonb, inet, arrays: all cast to text), so a copy that nobody classified is caught too.

The personal-data register drives the reading of the answer: each finding says which model and field
the column belongs to and how the register classifies it. A finding in a column the register calls
"not personal", or in a table no model describes, is a copy the register does not know about.

A value matches a column when it occurs in it ignoring case, or when both, stripped of spaces and
punctuation, do: "NL91 ABNA 0417 1643 00" finds "NL91ABNA0417164300", "06 1234 5678" finds
"06-12345678". Short values (under 4 characters once compacted) are refused: they would match half the
database and prove nothing.

On PostgreSQL the matching happens in the database, one scan per table; on the embedded SQLite of
`make run` every text cell is read and compared here. The search reads every row of every table: it is
the privacy officer's tool and the erasure tests'
proof, not something to run inside a request. `python manage.py find_personal_data` runs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from privacy import register

# PostgreSQL types whose text form can carry a person's value.
_TEXT_TYPES = {
    "character varying",
    "character",
    "text",
    "json",
    "jsonb",
    "inet",
    "cidr",
    "citext",
    "xml",
    "ARRAY",
    "USER-DEFINED",
}
MIN_NEEDLE_LENGTH = 4


def compact(value: str) -> str:
    """The value without spaces and punctuation, lower case: how two spellings of one IBAN compare."""
    return re.sub(r"[^0-9a-z@]", "", value.lower())


@dataclass(frozen=True)
class Finding:
    needle: str
    table: str
    column: str
    row: str  # the row's primary key (or its ctid when the table has none)
    model: str = ""  # app.Model owning the table, "" when no model does
    field: str = ""
    classification: str = ""  # what the register says about that field

    def __str__(self) -> str:
        where = f"{self.table}.{self.column} row {self.row}"
        about = f" ({self.model}.{self.field}: {self.classification})" if self.model else " (no model)"
        return f"{self.needle!r} in {where}{about}"


def find_personal_data(needles: Iterable[str]) -> list[Finding]:
    """Every place (table, column, row) where one of `needles` occurs, in every table of the database."""
    needles = sorted({needle.strip() for needle in needles if needle and needle.strip()})
    for needle in needles:
        if len(compact(needle)) < MIN_NEEDLE_LENGTH:
            raise ValueError(f"{needle!r} is too short to search for: it would match unrelated rows")
    if not needles:
        return []
    postgres = connection.vendor == "postgresql"
    columns_by_table = _text_columns() if postgres else _sqlite_text_columns()
    fields = _fields_by_column()
    findings: list[Finding] = []
    for table, columns in sorted(columns_by_table.items()):
        cells = _matching_cells(table, columns, needles) if postgres else _all_cells(table, columns)
        for row, column, text in cells:
            model, field, classification = fields.get((table, column), ("", "", ""))
            for needle in needles:
                if needle.lower() in text.lower() or compact(needle) in compact(text):
                    findings.append(Finding(needle, table, column, row, model, field, classification))
    return findings


def _text_columns() -> dict[str, list[str]]:
    """Base tables of the current schema and their text-like columns, from the catalogue."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name
              FROM information_schema.columns c
              JOIN information_schema.tables t
                ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = current_schema()
               AND t.table_type = 'BASE TABLE'
               AND c.data_type = ANY(%s)
             ORDER BY c.table_name, c.ordinal_position
            """,
            [sorted(_TEXT_TYPES)],
        )
        result: dict[str, list[str]] = {}
        for table, column in cursor.fetchall():
            result.setdefault(table, []).append(column)
        return result


def _sqlite_text_columns() -> dict[str, list[str]]:
    """The embedded default (`make run`, SQLite): every table's columns declared as text of some kind."""
    result: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table.startswith("sqlite_"):
                continue
            cursor.execute(f"PRAGMA table_info({connection.ops.quote_name(table)})")
            columns = [name for _cid, name, kind, *_rest in cursor.fetchall() if _is_text(kind)]
            if columns:
                result[table] = columns
    return result


def _is_text(declared: str) -> bool:
    declared = declared.lower()
    return any(word in declared for word in ("char", "text", "json", "clob")) or declared in ("", "inet")


def _all_cells(table: str, columns: list[str]):
    """SQLite has no regexp_replace: read the (small, demo) table and let the caller compare."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        pk = _primary_key(cursor, table)
        cursor.execute(f"SELECT {quote(pk) if pk else 'rowid'}, {', '.join(map(quote, columns))} FROM {quote(table)}")  # noqa: S608 - names from the catalogue, quoted
        for row in cursor.fetchall():
            for column, text in zip(columns, row[1:], strict=True):
                if text is not None:
                    yield str(row[0]), column, str(text)


def _primary_key(cursor, table: str) -> str | None:
    return connection.introspection.get_primary_key_column(cursor, table)


def _matching_cells(table: str, columns: list[str], needles: list[str]):
    """(row id, column, text) of every cell of `table` in which a needle occurs: one scan per table."""
    quote = connection.ops.quote_name
    likes = ["%" + _escape_like(needle) + "%" for needle in needles]
    compacts = ["%" + _escape_like(compact(needle)) + "%" for needle in needles]
    with connection.cursor() as cursor:
        pk = _primary_key(cursor, table)
        row_id = f"{quote(pk)}::text" if pk else "ctid::text"
        texts = [f"{quote(column)}::text" for column in columns]
        conditions = " OR ".join(
            f"({text} ILIKE ANY(%(likes)s)"
            f" OR regexp_replace(lower({text}), '[^0-9a-z@]', '', 'g') LIKE ANY(%(compacts)s))"
            for text in texts
        )
        cursor.execute(
            f"SELECT {row_id}, {', '.join(texts)} FROM {quote(table)} WHERE {conditions}",  # noqa: S608 - names from the catalogue, quoted
            {"likes": likes, "compacts": compacts},
        )
        for row in cursor.fetchall():
            for column, text in zip(columns, row[1:], strict=True):
                if text is not None:
                    yield str(row[0]), column, text


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


def _fields_by_column() -> dict[tuple[str, str], tuple[str, str, str]]:
    """(table, column) -> (model label, field name, the register's classification)."""
    result = {}
    for model in register.all_models():
        if model._meta.proxy or (not model._meta.managed and not model._meta.auto_created):
            continue
        for field in model._meta.concrete_fields:
            entry = register.entry_for(model, field.name)
            result[(model._meta.db_table, field.column)] = (model._meta.label, field.name, _classification(entry))
    return result


def _classification(entry: register.Entry | None) -> str:
    if entry is None:
        return "not in the register"
    if not entry.personal:
        return "not personal, says the register"
    return f"personal: {entry.category}, on erasure {entry.erasure}"
