"""Write a direct-debit batch's pain.008 file to a path: `export_direct_debits --latest --output PATH`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.models import DirectDebitBatch
from billing.services import NoBatchFileError, export_batch_file


class Command(BaseCommand):
    help = "Write the pain.008 file of the latest direct-debit batch (or of --batch MESSAGE_ID) to --output."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--latest", action="store_true", help="the batch with the latest collection date")
        which.add_argument("--batch", metavar="MESSAGE_ID", help="the batch with this message id")
        parser.add_argument("--output", required=True, type=Path, help="where to write the file")

    def handle(self, *args, latest, batch, output, **options):
        chosen = None
        if batch:
            chosen = DirectDebitBatch.objects.filter(message_id=batch).first()
            if chosen is None:
                raise CommandError(f"no direct-debit batch with message id {batch}")
        if output.is_dir():
            raise CommandError(f"{output} is a directory; give a file name")
        try:
            written = export_batch_file(output, batch=chosen)
        except NoBatchFileError as missing:
            raise CommandError(f"{missing}: the daily job writes one when SEPA invoices fall due") from None
        self.stdout.write(
            f"{output}: {written.message_id}, {written.transaction_count} collections "
            f"({written.first_count} FRST, {written.recurring_count} RCUR), {written.control_sum} EUR, "
            f"{written.file_version}, sha256 {written.file_sha256}"
        )
