"""Files generated from the code (docs pages, compiled translations) match the code they come from."""

import shutil
import subprocess
from pathlib import Path

import pytest

from flex.management.commands.state_diagrams import document as state_machines
from privacy.register import document as personal_data_register

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "flex/locale/nl/LC_MESSAGES/django.po"


@pytest.mark.parametrize(
    ("page", "generate"),
    [("personal-data-register.md", personal_data_register), ("state-machines.md", state_machines)],
)
def test_generated_docs_are_up_to_date(page, generate):
    assert (ROOT / "docs" / page).read_text() == generate(), f"docs/{page} is out of date: run `make docs`"


def test_state_machine_page_shows_every_transition_with_its_rule():
    page = (ROOT / "docs/state-machines.md").read_text()
    assert "pending_delivery --> active : activate (REG-7)" in page
    assert "inspecting --> in_stock : restock (PLAN-1)" in page


def test_every_dutch_message_is_translated(tmp_path):
    result = subprocess.run(
        [msgfmt(), "--statistics", "-o", tmp_path / "django.mo", PO], capture_output=True, text=True, check=True
    )
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, (
        f"{result.stderr.strip()}: translate them in {PO.relative_to(ROOT)} and run `make messages`"
    )
    assert int(result.stderr.split()[0]) > 200


def msgfmt() -> str:
    found = shutil.which("msgfmt")
    assert found, "gettext's msgfmt is needed to compile translations (apt-get install gettext)"
    return found


def test_compiled_translations_match_the_sources(tmp_path):
    subprocess.run([msgfmt(), "--check-format", "-o", tmp_path / "django.mo", PO], check=True)
    assert (tmp_path / "django.mo").read_bytes() == PO.with_suffix(".mo").read_bytes(), "run `make messages`"
