"""The partner API's documentation page works offline and under the Content-Security-Policy: Swagger
UI comes from the project's static files (drf-spectacular-sidecar) and lists the operations."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_the_operations_from_the_project_alone(live_server, page):
    outside = []
    page.on("request", lambda request: request.url.startswith(live_server.url) or outside.append(request.url))
    page.goto(f"{live_server.url}/api/docs/")
    page.get_by_text("/api/v1/device-units/").first.wait_for()
    page.get_by_text("/api/v1/webhooks/payments/").first.wait_for()
    assert outside == []
    assert page.locator(".swagger-ui").count() == 1
