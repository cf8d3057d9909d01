"""History triggers stay linear in the rows of a transaction (issue 13).

pghistory's `_pgh_attach_context()` reads its context settings inside a PL/pgSQL block with an
EXCEPTION clause. Such a block is a subtransaction, and outside `pghistory.context()` the settings are
absent, so every row raised and rolled back a subtransaction; with Django's DEFERRABLE INITIALLY
DEFERRED foreign keys PostgreSQL then walks the queued constraint events on each rollback, and a bulk
insert grows quadratic. This version reads the settings with `missing_ok` (no exception, no
subtransaction) and does the same thing otherwise. pghistory installs its own version only in its
migrations 0004 and 0007 (PGHISTORY_INSTALL_CONTEXT_FUNC_ON_MIGRATE is off), so this one stays.

pgtrigger's `_pgtrigger_should_ignore()` has the same pattern but is re-created with every trigger;
for it the connection defines `pgtrigger.ignore` (flex/settings.py).
"""

from django.db import migrations

LINEAR_ATTACH_CONTEXT = """
CREATE OR REPLACE FUNCTION _pgh_attach_context()
RETURNS pghistory_context.id%TYPE AS $$
    DECLARE
        _pgh_context_id UUID := NULLIF(CURRENT_SETTING('pghistory.context_id', TRUE), '')::UUID;
        _pgh_context_metadata JSONB := NULLIF(CURRENT_SETTING('pghistory.context_metadata', TRUE), '')::JSONB;
    BEGIN
        IF _pgh_context_id IS NOT NULL AND _pgh_context_metadata IS NOT NULL THEN
            INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
                VALUES (_pgh_context_id, _pgh_context_metadata, NOW(), NOW())
                ON CONFLICT (id) DO UPDATE
                    SET metadata = EXCLUDED.metadata,
                        updated_at = EXCLUDED.updated_at
                    WHERE pghistory_context.metadata != EXCLUDED.metadata;
            RETURN _pgh_context_id;
        END IF;
        RETURN NULL;
    END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LINEAR_ATTACH_CONTEXT, params=None)


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from pghistory.models import Context

        Context.install_pgh_attach_context_func(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_subscriber_language"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [migrations.RunPython(install, restore)]
