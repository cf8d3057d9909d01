from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.login_security import start_session
        from accounts.roles import ensure_staff_groups

        post_migrate.connect(ensure_staff_groups, dispatch_uid="accounts.ensure_staff_groups")
        user_logged_in.connect(start_session, dispatch_uid="accounts.start_session")
