"""One way to run a django-fsm transition so that a refusal always names its rule.

django-fsm-2 answers a failed condition with "conditions have not been met" and does not check
`permission=` when a transition is called. Flex transitions therefore declare their rule in
`custom={"rule": ...}`, take their conditions from `rules.py` through `rule_condition()`, and are run
through `perform()`, which raises the first failing rule's `Refused` and checks the permission.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django_fsm import FSMFieldMixin, Transition

from flex.refusals import Refusal, Refused

RuleCheck = Callable[[Any], Refusal | None]


def rule_condition(check: RuleCheck) -> Callable[[Any], bool]:
    """Turn a rules.py check (instance -> Refusal | None) into a django-fsm condition."""

    def condition(instance: Any) -> bool:
        return check(instance) is None

    condition.rule_check = check  # type: ignore[attr-defined]
    condition.__name__ = check.__name__
    return condition


def fsm_fields(model: type[models.Model] | models.Model) -> list[FSMFieldMixin]:
    return [f for f in model._meta.get_fields() if isinstance(f, FSMFieldMixin)]


def transitions_of(model: type[models.Model]) -> list[Transition]:
    """Every declared transition of the model, one per source state."""
    found = []
    for fsm_field in fsm_fields(model):
        for method in fsm_field.get_all_transitions(model):
            found.append(method)
    return found


def _meta(instance: models.Model, name: str):
    method = getattr(instance, name, None)
    meta = getattr(method, "_django_fsm", None)
    if meta is None:
        raise TypeError(f"{type(instance).__name__}.{name} is not a transition")
    return meta


def transition_label(instance: models.Model, name: str) -> str:
    """The human name of a transition, in the active language."""
    any_transition = next(iter(_meta(instance, name).transitions.values()))
    return str(any_transition.custom.get("label", name.replace("_", " ")))


def transition_rule(instance: models.Model, name: str) -> str:
    """The rule id a transition names (its `custom["rule"]`)."""
    return next(iter(_meta(instance, name).transitions.values())).custom["rule"]


def state_label(instance: models.Model, fsm_field: FSMFieldMixin) -> str:
    return str(dict(fsm_field.flatchoices).get(fsm_field.get_state(instance), fsm_field.get_state(instance)))


def refusal_of(instance: models.Model, name: str) -> Refusal | None:
    """Why `name` may not run now, as the first failing rule; None when it may."""
    meta = _meta(instance, name)
    state = meta.field.get_state(instance)
    any_transition = next(iter(meta.transitions.values()))
    rule = any_transition.custom["rule"]
    label = any_transition.custom.get("label", name.replace("_", " "))
    if not meta.has_transition(state):
        return Refusal(
            rule=rule,
            message=_("%(action)s is not possible while the %(thing)s is %(state)s.")
            % {
                "action": capfirst(label),
                "thing": instance._meta.verbose_name,
                "state": state_label(instance, meta.field),
            },
        )
    transition = meta.get_transition(state)
    for condition in transition.conditions:
        check = getattr(condition, "rule_check", None)
        refusal = check(instance) if check else None
        if check is None and not condition(instance):
            refusal = Refusal(rule=rule, message=_("%(action)s is not possible now.") % {"action": capfirst(label)})
        if refusal is not None:
            return refusal
    return None


def permission_of(model: type[models.Model] | models.Model, name: str) -> str | None:
    """The permission a staff member needs to trigger transition `name`, whatever the current state.

    Every transition names one (tests/admin/test_transition_permissions.py); a transition declared
    from several sources names the same permission for each, else this raises.
    """
    permissions = {t.permission for t in _meta(model, name).transitions.values()}
    if len(permissions) != 1:
        raise TypeError(f"{model._meta.label}.{name} names different permissions per source: {permissions}")
    return permissions.pop()


def may_perform(instance: models.Model, name: str, user: Any) -> bool:
    """Whether `user` holds the permission of transition `name`, independent of the current state.

    A transition that names no permission is refused to every staff member (fail closed); whether the
    state allows it is a rule, answered by `refusal_of()` with the rule id, never as a permission.
    """
    permission = permission_of(instance, name)
    if permission is None:
        return False
    any_transition = next(iter(_meta(instance, name).transitions.values()))
    return any_transition.has_perm(instance, user)


def staff_of(actor: Any) -> Any:
    """The staff user behind `actor`, whose transition permissions a service must check; None for a
    subscriber, a partner or a job (authorised by the service that serves them).

    django-fsm-2 does not check `permission=` when a transition is called, so every service that runs
    a transition passes `perform(..., user=staff_of(actor))`.
    """
    user = getattr(actor, "user", None)
    return user if user is not None and user.is_staff else None


def perform(instance: models.Model, name: str, *args: Any, user: Any = None, **kwargs: Any) -> Any:
    """Run transition `name` on `instance` (unsaved); raise `Refused` or `PermissionDenied`.

    `user` is the staff member acting, when there is one; partners and jobs act through services
    that authorise them by scope or by being the system.
    """
    if user is not None and not may_perform(instance, name, user):
        raise PermissionDenied(f"{user} may not {name.replace('_', ' ')} this {instance._meta.verbose_name}")
    refusal = refusal_of(instance, name)
    if refusal is not None:
        raise Refused(refusal)
    return getattr(instance, name)(*args, **kwargs)


def available_transitions(instance: models.Model, user: Any) -> list[Transition]:
    """Transitions this user may run on this instance now: the admin's buttons."""
    available = []
    for fsm_field in fsm_fields(instance):
        state = fsm_field.get_state(instance)
        for transition in fsm_field.get_all_transitions(type(instance)):
            if transition.source not in (state, "*", "+"):
                continue
            if refusal_of(instance, transition.name) is None and may_perform(instance, transition.name, user):
                available.append(transition)
    return available


def transition_and_save(
    model: type[models.Model], pk: Any, name: str, *args: Any, actor: Any, reason: str = "", **kwargs: Any
) -> models.Model:
    """Lock the row, run the transition as `actor`, save, and write the audit event, in one transaction.

    Staff act under their permissions; partners and jobs are authorised by the service that calls this.
    """
    from django.db import transaction

    from flex import clock
    from flex.audit.trail import history_context, record

    with transaction.atomic(), history_context(actor, name, reason):
        instance = model.objects.select_for_update().get(pk=pk)
        perform(instance, name, *args, user=staff_of(actor), **kwargs)
        if hasattr(instance, "status_changed_at"):
            instance.status_changed_at = clock.now()
        instance.save()
        rule = _meta(instance, name).transitions
        record(actor, name, instance, rule=next(iter(rule.values())).custom["rule"], reason=reason)
    return instance


def state_diagram(model: type[models.Model]) -> str:
    """A Mermaid state diagram of the model's state machines, drawn from the declared transitions, so
    the documentation cannot drift from the code. Each arrow names the transition and its rule."""
    lines = ["stateDiagram-v2"]
    for fsm_field in fsm_fields(model):
        lines.append(f"    [*] --> {fsm_field.default}")
        for state, label in fsm_field.flatchoices:
            lines.append(f"    {state} : {label}")
        for transition in fsm_field.get_all_transitions(model):
            sources = [transition.source] if transition.source not in ("*", "+") else []
            for source in sources:
                lines.append(f"    {source} --> {transition.target} : {transition.name} ({transition.custom['rule']})")
    return "\n".join(lines) + "\n"
