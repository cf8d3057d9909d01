from django.core.management.base import BaseCommand, CommandError

from privacy.search import find_personal_data


class Command(BaseCommand):
    help = (
        "Search every table of the database (row history, audit trail and sessions included) for a "
        "person's values, and say where each one is and how the personal-data register classifies it."
    )

    def add_arguments(self, parser):
        kinds = {
            "--name": "a name as it may be written, e.g. 'Sam Jansen'",
            "--email": "an e-mail address",
            "--iban": "an IBAN, with or without spaces",
            "--phone": "a phone number, in any punctuation",
            "--address": "street and house number, e.g. 'Herengracht 10', or the street alone",
            "--postcode": "a postcode, with or without the space",
            "--ip": "an IP address",
            "--value": "any other value",
        }
        for option, help_text in kinds.items():
            parser.add_argument(option, action="append", default=[], help=f"{help_text} (repeatable)")

    def handle(self, *args, **options):
        needles = [
            value
            for key in ("name", "email", "iban", "phone", "address", "postcode", "ip", "value")
            for value in options[key]
        ]
        if not needles:
            raise CommandError("Give at least one value to look for, e.g. --email someone@example.nl")
        try:
            findings = find_personal_data(needles)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not findings:
            self.stdout.write(f"Found nowhere: {', '.join(repr(n) for n in needles)}")
            return
        for needle in needles:
            mine = [f for f in findings if f.needle == needle.strip()]
            self.stdout.write(f"{needle!r}: {len(mine)} place(s)" if mine else f"{needle!r}: found nowhere")
            for finding in mine:
                where = f"{finding.table}.{finding.column} row {finding.row}"
                about = f"{finding.model}.{finding.field}: {finding.classification}" if finding.model else "no model"
                self.stdout.write(f"  {where}  ({about})")
        unknown = [f for f in findings if not f.classification.startswith("personal")]
        if unknown:
            self.stdout.write(
                f"{len(unknown)} finding(s) in a column the register does not call personal data, or in a "
                "table without a model: a copy the register does not know about (privacy/register.py)."
            )
