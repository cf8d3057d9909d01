import pytest

from tests.signup import signup_world


@pytest.fixture
def signup(transactional_db, settings):
    """Sign-up journeys run with real commits: the jobs enqueued on commit run (eagerly) as in production."""
    return signup_world(settings)
