"""Import files from the bank: `manage.py import_bank_file PATH [PATH...]` (pain.002, camt.054, camt.053).

Each file is imported on its own (one transaction each); a refused file is named with the reason and
the command exits non-zero after trying the others. The same file again is reported and changes nothing.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.models import BankFileSource
from billing.services import import_bank_file
from flex.audit.trail import Actor
from flex.refusals import Refused


class Command(BaseCommand):
    help = "Import the bank's pain.002 / camt.054 / camt.053 files and book what they say."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    def handle(self, *args, paths, **options):
        refused = []
        for path in paths:
            try:
                content = path.read_bytes()
            except OSError as error:
                refused.append(f"{path}: {error.strerror}")
                continue
            try:
                result = import_bank_file(
                    content, file_name=path.name, actor=Actor.system("import_bank_file"), source=BankFileSource.COMMAND
                )
            except Refused as refusal:
                refused.append(f"{path}: {refusal.refusal}")
                continue
            self.stdout.write(f"{path}: {result.message}")
        if refused:
            raise CommandError("\n".join(refused))
