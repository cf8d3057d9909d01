"""Index shapes the admin's searches need on large tables (issue 13; flex/large_tables.py uses them).

Django compiles `icontains` to `UPPER(col::text) LIKE UPPER('%term%')` on PostgreSQL, which a plain
trigram index on `col` does not serve; a GIN `gin_trgm_ops` index on `UPPER(col)` does, for any part of
a name of three letters or more. GIN indexes and `pg_trgm` exist on PostgreSQL only: migrations create
them with `AddIndexOnPostgres`, and the embedded SQLite demo (small tables) goes without.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations
from django.db.models.functions import Upper


def trigram_index(field: str, *, name: str) -> GinIndex:
    return GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=name)


class AddIndexOnPostgres(migrations.AddIndex):
    """`AddIndex` that creates the index on PostgreSQL only (a GIN index has no SQLite form)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
