from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from wagtail_correspondence import wagtail_reports
from wagtail_correspondence.api import urls as correspondence_api_urls
from wagtail_correspondence.portal import urls as correspondence_portal_urls

from . import views


# Django's own admin is not routed: nothing in the product needs it, and its views would show
# a staff user every model it manages without the policies the Wagtail admin applies.
urlpatterns = [
    # Wagtail's site history shows any admin user the log of every object type they hold a
    # permission on (officers would read the history of entries outside their scope): it
    # goes to the plugin's audit log, for auditors only.
    path("admin/reports/site-history/", RedirectView.as_view(
        pattern_name="wagtail_correspondence_audit:index", query_string=True)),
    path("admin/reports/site-history/results/", RedirectView.as_view(
        pattern_name="wagtail_correspondence_audit:results", query_string=True)),
    # Wagtail's reports that export columns, formula-safe (spreadsheet cells never formulas);
    # before Wagtail's admin URLs, whose names they keep.
    path("admin/", include(wagtail_reports.urlpatterns)),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/correspondence/v1/", include(correspondence_api_urls)),
    path("portal/", include(correspondence_portal_urls)),
    # Browsers ask for /favicon.ico on their own (sandboxed previews too): answer with the admin's.
    path("favicon.ico", views.favicon),
]

if settings.DEBUG:
    from django.conf.urls.static import static
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [
    # The site's own landing, not Wagtail's "Welcome to your new Wagtail site!" page.
    path("", views.landing, name="landing"),
    path("", include(wagtail_urls)),
]
