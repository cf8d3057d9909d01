"""The test suite's settings: Flex's own, in sandbox mode (the suite drives the sandbox partners) and
with a fast password hasher. tests/test_settings_and_seed.py proves what production uses instead."""

import os

os.environ.setdefault("FLEX_SANDBOX", "1")

from flex.settings import *  # noqa: F403
from flex.settings import AUTHENTICATION_BACKENDS as PRODUCTION_AUTHENTICATION_BACKENDS  # noqa: F401 - for tests
from flex.settings import PASSWORD_HASHERS as PRODUCTION_PASSWORD_HASHERS

# Argon2 takes ~100 MB and tens of milliseconds per hash by design; thousands of factory users would
# spend minutes on it. Log-in tests that concern hashing override this with PRODUCTION_PASSWORD_HASHERS.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PRODUCTION_PASSWORD_HASHERS]

# django-axes refuses `authenticate()` without a request, and the test client's `login()` passes none.
# Log-ins through the pages (which always pass the request) are still counted and locked out.
AUTHENTICATION_BACKENDS = ["tests.login_backend.AxesBackendForTestClient", "django.contrib.auth.backends.ModelBackend"]
