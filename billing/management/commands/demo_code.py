"""Print the demo admin's second-factor code of the moment (sandbox mode only), for a demo without an
authenticator app at hand."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

from billing.management.commands.seed_demo import DEMO_TOTP_KEY, demo_totp_hex_key


class Command(BaseCommand):
    help = "Print the current code of the demo staff's TOTP key (sandbox mode only)."

    def handle(self, *args, **options):
        if not settings.FLEX_SANDBOX:
            raise CommandError("demo_code runs only in sandbox mode: the demo key has no place in production.")
        code = TOTP(bytes.fromhex(demo_totp_hex_key())).token()
        self.stdout.write(f"{code:06d}")
        self.stderr.write(f"(TOTP key {DEMO_TOTP_KEY}; a new code every 30 seconds)")
