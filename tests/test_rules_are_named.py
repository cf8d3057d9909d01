from django.apps import apps

from flex.fsm import fsm_fields, transitions_of
from flex.rulebook import RULES


def test_every_transition_names_a_rule_from_the_catalogue():
    models = [m for m in apps.get_models() if fsm_fields(m)]
    assert {m._meta.label for m in models} >= {"devices.DeviceUnit", "billing.Subscription"}
    for model in models:
        for transition in transitions_of(model):
            assert transition.custom.get("rule") in RULES, f"{model.__name__}.{transition.name} names no known rule"
