import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_references(apps, schema_editor):
    """Every event recorded so far was on a shipment: it keeps that shipment's reference."""
    TrackingEvent = apps.get_model("devices", "TrackingEvent")
    Shipment = apps.get_model("devices", "Shipment")
    TrackingEvent.objects.update(
        reference=Subquery(Shipment.objects.filter(pk=OuterRef("shipment_id")).values("reference")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0006_partner_ownership"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='trackingevent',
            name='insert_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='trackingevent',
            name='update_update',
        ),
        migrations.AddField(
            model_name="trackingevent",
            name="reference",
            field=models.CharField(
                default="",
                help_text="The shipment reference the carrier named.",
                max_length=20,
                verbose_name="reference",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(copy_references, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="trackingevent",
            name="shipment",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty while held: the reference is not (yet) a shipment handed to this carrier.",
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="tracking_events",
                to="devices.shipment",
            ),
        ),
        migrations.AddIndex(
            model_name="trackingevent",
            index=models.Index(
                condition=models.Q(("shipment__isnull", True)),
                fields=["reference", "source"],
                name="held_tracking_event",
            ),
        ),
        migrations.AddField(
            model_name='trackingeventevent',
            name='reference',
            field=models.CharField(default='', help_text='The shipment reference the carrier named.', max_length=20, verbose_name='reference'),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name='trackingeventevent',
            name='shipment',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='Empty while held: the reference is not (yet) a shipment handed to this carrier.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='devices.shipment'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='trackingevent',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "devices_trackingeventevent" ("applied", "code", "event_id", "id", "occurred_at", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "received_at", "reference", "shipment_id", "source") VALUES (NEW."applied", NEW."code", NEW."event_id", NEW."id", NEW."occurred_at", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."received_at", NEW."reference", NEW."shipment_id", NEW."source"); RETURN NULL;', hash='61a877239bac1be87e12418efc4befb0c2166b56', operation='INSERT', pgid='pgtrigger_insert_insert_9812f', table='devices_trackingevent', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='trackingevent',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "devices_trackingeventevent" ("applied", "code", "event_id", "id", "occurred_at", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "received_at", "reference", "shipment_id", "source") VALUES (NEW."applied", NEW."code", NEW."event_id", NEW."id", NEW."occurred_at", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."received_at", NEW."reference", NEW."shipment_id", NEW."source"); RETURN NULL;', hash='d480964bf6cd3f457ecf2e6525f4802a3d9cf9f2', operation='UPDATE', pgid='pgtrigger_update_update_960e2', table='devices_trackingevent', when='AFTER')),
        ),
    ]
