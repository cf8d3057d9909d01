from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.portal import views as portal_views

admin.site.site_header = "Flex back office"
admin.site.site_title = "Flex back office"
admin.site.index_title = "Operations"


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico on every page, the admin's too."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs):
        return static("flex/favicon.svg")  # at request time: the manifest exists only after collectstatic


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:dashboard", permanent=False)),
    path("favicon.ico", FaviconView.as_view()),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", portal_views.set_language, name="set_language"),
    path("portal/", include(("flex.portal_urls", "portal"))),
    path("api/v1/", include(("flex.api.urls", "v1"))),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    # Split view: the page loads its init script from the project too (no inline script, no CDN). Swagger UI
    # sets inline styles on its own elements, so this one page may use inline styles; scripts stay 'self'.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

# The sandbox partners' pages exist only in sandbox mode (FLEX_SANDBOX): in production nobody can pay
# an invoice or confirm an identity on a page Flex serves itself.
if settings.FLEX_SANDBOX and any(partner.implementation == "sandbox" for partner in settings.FLEX_PARTNERS.values()):
    urlpatterns.append(path("sandbox/", include(("flex.sandbox", "sandbox"))))

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()

handler404 = "flex.api.errors.not_found"
