"""The personal-data register classifies every field of every model and tells no lies."""

from django.apps import apps
from django.core.management import call_command

from privacy import register


def test_every_field_of_every_model_is_classified():
    missing = register.unclassified()
    assert missing == [], f"Classify these fields in privacy/register.py: {missing}"


def test_register_names_no_field_that_no_longer_exists():
    assert register.stale() == []


def test_a_new_field_would_be_reported(monkeypatch):
    """A developer adds `Subscriber.shoe_size` (and pghistory copies it) without classifying it."""
    subscriber = apps.get_model("accounts", "Subscriber")
    history = apps.get_model("accounts", "SubscriberEvent")
    real_field_names = register._field_names

    def with_shoe_size(model):
        return real_field_names(model) + (["shoe_size"] if model in (subscriber, history) else [])

    monkeypatch.setattr(register, "_field_names", with_shoe_size)
    assert sorted(register.unclassified()) == ["accounts.Subscriber.shoe_size", "accounts.SubscriberEvent.shoe_size"]


def test_history_tables_follow_the_model_they_track():
    history = apps.get_model("accounts", "SubscriberEvent")
    assert register.entry_for(history, "date_of_birth") == register.entry_for(
        apps.get_model("accounts", "Subscriber"), "date_of_birth"
    )


def test_personal_fields_say_what_erasure_does():
    for row in register.rows():
        if row.personal:
            assert row.category, row
            assert row.erasure != register.Erasure.NONE, row


def test_invoices_are_kept_under_legal_hold():
    invoice = apps.get_model("billing", "Invoice")
    held = [f.name for f in invoice._meta.concrete_fields if register.entry_for(invoice, f.name).personal]
    assert held
    assert {register.entry_for(invoice, name).erasure for name in held} == {register.Erasure.LEGAL_HOLD}


def test_register_prints_itself_as_a_table(capsys):
    call_command("personal_data_register", "--personal-only")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| model | field | personal | category | on erasure | note |"
    assert "| accounts.Subscriber | date_of_birth | yes | identity |" in "\n".join(lines)
    assert all("| no |" not in line for line in lines[2:])


def test_register_prints_as_csv(capsys):
    call_command("personal_data_register", "--format", "csv")
    out = capsys.readouterr().out
    assert out.startswith("model,field,personal,category,erasure,note")
    assert "accounts.Address,postcode,True,address,delete" in out
