"""Erasing a person with every copy of their data: live rows, row history, audit trail (PRIV-5).

The request arrives from a lower layer through `accounts.erasure.erase_person()` (a signal, because
billing, which finds that an applicant is a child, may not import this app) and is handled here
synchronously, inside the caller's transaction: either all of it happens or none of it.

What is erased for a subject (a subscriber and their login):

1. Live rows. The subscriber, the user and every row that cascades from them (address, application
   with its checks and add-ons, admin log entries of the login) are deleted. Rows that only point at
   them and are kept (a disclosure to a partner, an audit event the person acted in) lose the link,
   as the models say (SET_NULL), and lose every field the personal-data register marks as personal
   data to delete or anonymise; fields under legal hold stay. This is the register at work: a model
   added later with a link to a subscriber, an application or a login is covered without a change
   here, once the register has classified its fields.
2. Row history. In every pghistory event table (whichever app, whichever model): every event of a
   deleted row, and every event that points at one (a kept row's history from when it named the
   person).
3. History context. A context left without events is deleted; the metadata of the others, and of
   the context still open in this transaction, loses every value that names the person (the actor
   label of a logged-in applicant is their e-mail).
4. Audit trail and admin log entries about a deleted row (they name it by content type and id).
   The audit trail is otherwise append-only; erasure is its one lawful exception (AVG art. 17 and,
   for a child, PRIV-5), so the erasure is itself recorded: one audit event with the rule and the
   number of rows per table, no personal data, attached to what may be kept (the refusal record).
5. The login's sessions.

`privacy.search.find_personal_data()` is the proof: after an erasure it finds none of the person's
values in any table (tests/privacy/test_child_erasure.py).

What this does not do: anonymise someone whose records are under legal hold (invoices, PRIV-6): a
person with a subscription cannot be erased this way (the subscription PROTECTs its subscriber and
the whole erasure fails, nothing changed).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models, router, transaction
from django.db.models.deletion import Collector

from flex.audit.trail import Actor, record
from privacy import register
from privacy.search import MIN_NEEDLE_LENGTH, compact

ERASED = "[erased]"
CLEARED = {register.Erasure.DELETE, register.Erasure.ANONYMISE}  # in a kept row; legal hold stays
# Tables that name a row by content type and id rather than by a foreign key: an entry about an erased
# row is erased with it.
POINTERS = [("audit.AuditEvent", "target_type", "target_id"), ("admin.LogEntry", "content_type", "object_id")]


def handle_erasure_request(sender, *, subscriber, user, rule: str, receipt: models.Model, actor: Actor, **kwargs):
    """Receiver of `accounts.erasure.erasure_requested` (connected in PrivacyConfig.ready)."""
    return erase(subscriber, user, rule=rule, receipt=receipt, actor=actor)


def erase(subscriber, user, *, rule: str, receipt: models.Model, actor: Actor) -> dict[str, int]:
    """Erase the subject and every copy of their data; returns the rows erased per table."""
    roots = [row for row in (subscriber, user) if row is not None and row.pk is not None]
    if not roots:
        return {}
    using = router.db_for_write(type(roots[0]))
    erased: Counter[str] = Counter()
    with transaction.atomic(using=using):
        collector = Collector(using=using, origin=roots[0])
        for root in roots:
            collector.collect([root])
        doomed = _doomed_rows(collector)
        if receipt._meta.concrete_model in doomed and receipt.pk in doomed[receipt._meta.concrete_model]:
            raise ValueError("the receipt of an erasure must outlive it")
        kept = _kept_links(collector, doomed)
        needles = _needles(doomed, kept)

        _clear_personal_fields(kept, erased)  # before the delete: this update's history names the person too
        _, deleted = collector.delete()
        erased.update(deleted)
        contexts = _erase_history(doomed, erased)
        _erase_pointers(doomed, erased)
        erased_logins = doomed.get(get_user_model()._meta.concrete_model, set())
        _erase_sessions(erased_logins, erased)
        _clear_contexts(contexts, needles, erased)

        if getattr(actor.user, "pk", None) in erased_logins or any(_names(actor.label, n) for n in needles):
            actor = Actor.system("privacy.erasure")  # the person erased is no longer named, even as actor
        record(
            actor,
            "erase_personal_data",
            receipt,
            rule=rule,
            reason="personal data erased with its row history and audit trail",
            erased=dict(sorted(erased.items())),
        )
    return dict(erased)


def _doomed_rows(collector: Collector) -> dict[type[models.Model], set[Any]]:
    """Primary keys of every row the collector will delete, per concrete model."""
    doomed: dict[type[models.Model], set[Any]] = defaultdict(set)
    for model, instances in collector.data.items():
        doomed[model._meta.concrete_model].update(instance.pk for instance in instances)
    for queryset in collector.fast_deletes:
        doomed[queryset.model._meta.concrete_model].update(queryset.values_list("pk", flat=True))
    return doomed


def _kept_links(collector: Collector, doomed: dict[type[models.Model], set[Any]]) -> dict[type[models.Model], set[Any]]:
    """Rows that point at the subject and are kept (the link is set to NULL or a default)."""
    kept: dict[type[models.Model], set[Any]] = defaultdict(set)
    for (field, _value), batches in collector.field_updates.items():
        model = field.model._meta.concrete_model
        for batch in batches:
            if isinstance(batch, models.QuerySet):
                kept[model].update(batch.values_list("pk", flat=True))
            else:
                kept[model].update(instance.pk for instance in batch)
    return {model: pks - doomed.get(model, set()) for model, pks in kept.items() if pks - doomed.get(model, set())}


def _personal_fields(model: type[models.Model]) -> list[models.Field]:
    fields = []
    for field in model._meta.concrete_fields:
        entry = register.entry_for(model, field.name)
        if entry is not None and entry.personal and not field.is_relation:
            fields.append(field)
    return fields


# Categories whose values identify a person; a contract status or an audit timestamp does not.
IDENTIFYING = {
    register.Category.IDENTITY,
    register.Category.CONTACT,
    register.Category.ADDRESS,
    register.Category.FINANCIAL,
    register.Category.ONLINE,
    register.Category.CREDENTIALS,
}


def _identifying_fields(model: type[models.Model], *, kept: bool) -> list[models.Field]:
    """Fields whose values are the subject's own (a value from a fixed list names nobody); for a kept
    row, only the ones erasure clears."""
    fields = []
    for field in _personal_fields(model):
        entry = register.entry_for(model, field.name)
        if entry.category in IDENTIFYING and not field.choices and (not kept or entry.erasure in CLEARED):
            fields.append(field)
    return fields


def _needles(doomed: dict[type[models.Model], set[Any]], kept: dict[type[models.Model], set[Any]]) -> set[str]:
    """The subject's own values, read through the register: what a copy elsewhere would contain."""
    needles: set[str] = set()
    for rows, is_kept in ((doomed, False), (kept, True)):
        for model, pks in rows.items():
            fields = _identifying_fields(model, kept=is_kept)
            if not fields or not pks:
                continue
            for values in model._base_manager.filter(pk__in=pks).values_list(*[f.attname for f in fields]):
                for value in values:
                    if isinstance(value, str) and len(compact(value)) >= MIN_NEEDLE_LENGTH:
                        needles.add(value)
    return needles


def _names(text: str, needle: str) -> bool:
    return needle.lower() in text.lower() or compact(needle) in compact(text)


def _cleared(field: models.Field) -> Any:
    if isinstance(field, models.JSONField):
        return field.get_default()
    if field.null:
        return None
    if isinstance(field, (models.CharField, models.TextField)):
        return ""
    return field  # a date or number that cannot be empty: it stays, without the link it names nobody


def _clear_personal_fields(kept: dict[type[models.Model], set[Any]], erased: Counter[str]) -> None:
    """A kept row loses the personal fields the register says to delete or anonymise (not legal hold)."""
    for model, pks in kept.items():
        updates = {}
        for field in _personal_fields(model):
            entry = register.entry_for(model, field.name)
            value = _cleared(field)
            if entry.erasure in CLEARED and value is not field:
                updates[field.name] = value
        if updates:
            erased[f"{model._meta.label} (cleared)"] += model._base_manager.filter(pk__in=pks).update(**updates)


def _event_models() -> list[type[models.Model]]:
    from pghistory.models import Event

    return [
        model
        for model in apps.get_models()
        if issubclass(model, Event) and model._meta.managed and getattr(model, "pgh_tracked_model", None)
    ]


def _erase_history(doomed: dict[type[models.Model], set[Any]], erased: Counter[str]) -> set[Any]:
    """Delete every event of a deleted row and every event pointing at one; returns their contexts."""
    contexts: set[Any] = set()
    for event_model in _event_models():
        condition = models.Q()
        tracked = event_model.pgh_tracked_model._meta.concrete_model
        if doomed.get(tracked):
            pk_copy = tracked._meta.pk.name
            if any(f.name == pk_copy for f in event_model._meta.concrete_fields):
                condition |= models.Q(**{f"{pk_copy}__in": doomed[tracked]})
        for field in event_model._meta.concrete_fields:
            if field.name == "pgh_context" or not field.is_relation:  # pgh_obj: the event of a deleted row
                continue
            target = field.related_model._meta.concrete_model
            if doomed.get(target):
                condition |= models.Q(**{f"{field.attname}__in": doomed[target]})
        if not condition:
            continue
        events = event_model._base_manager.filter(condition)
        contexts.update(c for c in events.values_list("pgh_context_id", flat=True) if c is not None)
        count = events._raw_delete(events.db)
        if count:
            erased[event_model._meta.label] += count
    return contexts


def _erase_pointers(doomed: dict[type[models.Model], set[Any]], erased: Counter[str]) -> None:
    """Audit events and admin log entries about a deleted row."""
    installed = {model._meta.label: model for model in apps.get_models()}
    for label, type_field, id_field in POINTERS:
        model = installed.get(label)
        if model is None:
            continue
        condition = models.Q()
        for target, pks in doomed.items():
            types = {
                ContentType.objects.get_for_model(target, for_concrete_model=True),
                *[ContentType.objects.get_for_model(m, for_concrete_model=False) for m in _proxies_of(target)],
            }
            condition |= models.Q(**{f"{type_field}__in": types, f"{id_field}__in": [str(pk) for pk in pks]})
        if condition:
            count = model._base_manager.filter(condition)._raw_delete(router.db_for_write(model))
            if count:
                erased[label] += count


def _proxies_of(model: type[models.Model]) -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.proxy and m._meta.concrete_model is model]


def _erase_sessions(user_pks: set[Any], erased: Counter[str]) -> None:
    """The login's sessions (their data names the user); only the database session store keeps rows."""
    user_ids = {str(pk) for pk in user_pks}
    if not user_ids or settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return
    from django.contrib.sessions.models import Session

    theirs = [s.pk for s in Session.objects.iterator() if str(s.get_decoded().get("_auth_user_id")) in user_ids]
    if theirs:
        erased[Session._meta.label] += Session.objects.filter(pk__in=theirs).delete()[0]


def _clear_contexts(contexts: set[Any], needles: set[str], erased: Counter[str]) -> None:
    """History contexts: delete those left without events; elsewhere drop the values naming the person."""
    import pghistory
    from pghistory import runtime
    from pghistory.models import Context

    open_context = getattr(runtime._tracker, "value", None)  # the context of this very transaction
    if open_context is not None:
        contexts.add(open_context.id)
        scrubbed = _scrub(open_context.metadata, needles)
        if scrubbed != open_context.metadata:
            pghistory.context(**scrubbed)  # later statements of this transaction carry the clean metadata
    if not contexts:
        return
    still_used: set[Any] = set()
    for event_model in _event_models():
        still_used.update(
            event_model._base_manager.filter(pgh_context_id__in=contexts).values_list("pgh_context_id", flat=True)
        )
    unused = Context.objects.filter(pk__in=contexts - still_used)
    count = unused._raw_delete(unused.db)
    if count:
        erased[Context._meta.label] += count
    for context in Context.objects.filter(pk__in=contexts & still_used):
        scrubbed = _scrub(context.metadata, needles)
        if scrubbed != context.metadata:
            Context.objects.filter(pk=context.pk).update(metadata=scrubbed)
            erased[f"{Context._meta.label} (cleared)"] += 1


def _scrub(value: Any, needles: set[str]) -> Any:
    if isinstance(value, dict):
        return {key: _scrub(item, needles) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, needles) for item in value]
    if isinstance(value, str) and any(_names(value, needle) for needle in needles):
        return ERASED
    return value
