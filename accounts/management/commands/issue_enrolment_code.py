"""Print a one-time second-factor enrolment code for a staff member, for the first administrator of a
new installation (later codes are issued in the admin: Users → "Issue a second-factor enrolment code")."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import issue_enrolment_code
from flex.audit.trail import Actor


class Command(BaseCommand):
    help = "Print a one-time second-factor enrolment code for a staff member (audited)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No log-in with e-mail {email}.")
        try:
            code = issue_enrolment_code(user.pk, actor=Actor.system("issue_enrolment_code command"))
        except ValueError as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(code)
