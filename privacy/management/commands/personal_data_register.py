import csv
import sys

from django.core.management.base import BaseCommand

from privacy import register


class Command(BaseCommand):
    help = "Print the personal-data register: every field of every model, classified."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["markdown", "csv"], default="markdown")
        parser.add_argument("--personal-only", action="store_true", help="Only fields that hold personal data.")

    def handle(self, *args, **options):
        rows = [row for row in register.rows() if row.personal or not options["personal_only"]]
        if options["format"] == "csv":
            writer = csv.writer(sys.stdout)
            writer.writerow(["model", "field", "personal", "category", "erasure", "note"])
            for row in rows:
                writer.writerow([row.model, row.field, row.personal, row.category, row.erasure, row.note])
            return
        if options["personal_only"]:
            self.stdout.write(register.as_markdown(rows), ending="")
        else:
            self.stdout.write(register.document(), ending="")
