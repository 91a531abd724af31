"""A project's URLs as the README's first draft had them: Wagtail's admin and the API, without
the portal and without sending Wagtail's Site history to the audit log (tests/test_url_checks.py)."""

from django.urls import include, path
from wagtail.admin import urls as wagtailadmin_urls

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("api/correspondence/v1/", include("wagtail_correspondence.api.urls")),
]
