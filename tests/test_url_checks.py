"""`manage.py check` names the URLs a project must route: the customer portal (E060) and
Wagtail's Site history sent to the audit log (W034)."""

from django.test import override_settings
from django.urls import clear_url_caches

from wagtail_correspondence import checks


def ids(found):
    return {message.id for message in found}


def test_the_reference_site_routes_both():
    assert not ids(checks.portal_is_routed(None)) | ids(checks.site_history_goes_to_the_audit_log(None))


def test_a_project_without_them_is_told():
    clear_url_caches()
    try:
        with override_settings(ROOT_URLCONF="tests.urlconf_bare"):
            assert ids(checks.portal_is_routed(None)) == {"wagtail_correspondence.E060"}
            [warning] = checks.site_history_goes_to_the_audit_log(None)
            assert warning.id == "wagtail_correspondence.W034" and "wagtail_correspondence_audit:index" in warning.hint
    finally:
        clear_url_caches()
