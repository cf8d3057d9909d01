import re
from pathlib import Path

import pytest
from django.apps import apps

from flex.fsm import fsm_fields, transitions_of
from flex.rulebook import RULES


def test_every_transition_names_a_rule_from_the_catalogue():
    models = [m for m in apps.get_models() if fsm_fields(m)]
    assert {m._meta.label for m in models} >= {"devices.DeviceUnit", "billing.Subscription"}
    for model in models:
        for transition in transitions_of(model):
            assert transition.custom.get("rule") in RULES, f"{model.__name__}.{transition.name} names no known rule"


CATALOGUE = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
SHARED_CATALOGUE = Path(__file__).resolve().parents[2] / "shared" / "RULES.md"


def catalogue_rows(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\| ([A-Z]+-\d+) \| .* \| ([^|]+) \|$", text, flags=re.MULTILINE))


def test_the_project_carries_every_rule_of_the_catalogue_with_its_source():
    rows = catalogue_rows(CATALOGUE.read_text())
    assert set(rows) == set(RULES), "docs/rules.md and flex/rulebook.py name different rules"


def test_the_projects_copy_of_the_catalogue_is_current():
    if not SHARED_CATALOGUE.exists():
        pytest.skip("no shared/RULES.md beside this checkout: nothing to compare the copy with")
    body = CATALOGUE.read_text().split("-->", 1)[1].strip()
    assert body == SHARED_CATALOGUE.read_text().strip(), "copy shared/RULES.md into docs/rules.md"
