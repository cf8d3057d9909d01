import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flex.settings")
application = get_wsgi_application()

from flex.partners import refuse_to_start_misconfigured  # noqa: E402 - needs the settings loaded above

refuse_to_start_misconfigured()
