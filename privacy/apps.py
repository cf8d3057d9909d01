from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"

    def ready(self):
        from accounts.erasure import erasure_requested
        from privacy.erasure import handle_erasure_request

        # Synchronous: the erasure runs inside the transaction of whoever asked for it (PRIV-5).
        erasure_requested.connect(handle_erasure_request, dispatch_uid="privacy.erasure")
