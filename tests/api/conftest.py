import pytest

from billing import services
from tests.signup import signup_world, submitted


@pytest.fixture
def shipment(transactional_db, settings, travel):
    """Ordered at the warehouse on 24 November; the partners report from 27 November on."""
    travel("2026-11-24T09:00:00+01:00")
    world = signup_world(settings)
    application = submitted(world)
    services.accept_application(application.pk, actor=world.reviewer)
    application.refresh_from_db()
    travel("2026-11-27T09:00:00+01:00")
    return application.shipment
