import pytest

from tests.signup import signup_world


@pytest.fixture
def signup(transactional_db, settings):
    """Sign-up journeys run with real commits, as in production (and as tests/billing does)."""
    return signup_world(settings)
