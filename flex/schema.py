"""Schema changes that must also work on the embedded SQLite demo database.

Django adds a NOT NULL column on SQLite by rebuilding the table, and the rebuild re-creates every
index of the model state, including the PostgreSQL-only GIN trigram indexes (flex/indexes.py) that
SQLite cannot parse. `AddFieldInPlace` adds the column with `ALTER TABLE … ADD COLUMN … DEFAULT` on
SQLite instead (which SQLite allows for a constant default) and is a plain `AddField` elsewhere.
"""

from __future__ import annotations

from django.db import migrations


class AddFieldInPlace(migrations.AddField):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        definition, params = schema_editor.column_sql(model, field, include_default=True)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(model._meta.db_table)} ADD COLUMN {quote(field.column)} {definition}", params
        )
        return None
