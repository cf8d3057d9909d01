"""The admin is a window, not a back door.

`WindowAdmin` shows a model's rows; the only fields a person may change in its form are the ones
listed in `editable_fields` (free text that carries no contract rule, money, identity or state, such
as a phone number), and every such save writes an audit event with the actor and the changed fields.
Everything else changes through a button or action that calls a service (flex/transition_admin.py).
Nothing is deleted from the admin, by anyone, superusers included: the books and the law need the
rows, and a catalogue row is referenced by contracts. New rows are added only where `addable` says
so: catalogue data whose new row changes no existing contract (a new plan version, a new dated price);
where a rule governs the new row (a price change, a terms version), the add form asks the rule first
(`RefusalCheckingForm`, the refusal on its field) and the admin's save calls the service.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect

from flex.audit.trail import Actor, record
from flex.large_tables import LargeTableAdmin
from flex.refusals import Refusal, Refused


def every_field(model) -> list[str]:
    """The names of every field a form or a page could show, the primary key excepted."""
    opts = model._meta
    return [f.name for f in [*opts.fields, *opts.many_to_many] if not f.primary_key]


class WindowAdmin(LargeTableAdmin):
    # Free-text fields that carry no rule; each save of one is written to the audit trail.
    editable_fields: tuple[str, ...] = ()
    # Whether a person may add new rows here (all fields editable on the add page only).
    addable: bool = False

    def get_readonly_fields(self, request, obj=None):
        declared = list(super().get_readonly_fields(request, obj))
        if obj is None and self.addable:
            return declared
        return declared + [name for name in every_field(self.model) if name not in (*declared, *self.editable_fields)]

    def has_add_permission(self, request):
        return self.addable and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        # With nothing a person may edit, the page is a view: no Save button, and a forged POST is a 403.
        return bool(self.editable_fields) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A service that adds the row may still refuse what the form's check let through (another
        # person added a row in between): its refusal is shown, nothing is written.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refused:
            self.message_user(request, str(refused.refusal), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        changed = sorted(form.changed_data)
        action = "admin_change" if change else "admin_add"
        # Row-level history is labelled with the actor and the request by HistoryContextMiddleware.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if changed or not change:
                # Field names only: the values are personal data kept by the row's own history.
                record(Actor.of_user(request.user), action, obj, reason=", ".join(changed), fields=changed)


class WindowInline(admin.TabularInline):
    """A child table shown on its parent's page: read-only, never deleted; rows are added only while
    the parent is being added (e.g. the products of a new plan version)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return list(super().get_readonly_fields(request, obj))
        return list(self.fields or every_field(self.model))

    def has_add_permission(self, request, obj=None):
        return obj is None and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class RefusalCheckingForm(forms.ModelForm):
    """An add form that asks the service's rule before anything is written and shows a refusal on the
    field it names (with its rule id and article), as the portal does."""

    def refusal(self) -> Refusal | None:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if not self.errors and (refusal := self.refusal()):
            self.add_error(refusal.field if refusal.field in self.fields else None, str(refusal))
        return cleaned
