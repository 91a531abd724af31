"""The content library's admin pages render for an administrator."""

import pytest
from django.urls import reverse

from tests import factories


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("root", superuser=True))
    return client


def test_library_pages_render(admin_client, customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary)
    page = factories.letter_template(customer_dictionary, standard_layout, [greeting])
    urls = [
        reverse("wagtailsnippets_wagtail_correspondence_fragment:list"),
        reverse("wagtailsnippets_wagtail_correspondence_fragment:add"),
        reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[greeting.pk]),
        reverse("wagtailsnippets_wagtail_correspondence_fragment:history", args=[greeting.pk]),
        reverse("wagtailsnippets_wagtail_correspondence_fragment:usage", args=[greeting.pk]),
        reverse("wagtailsnippets_wagtail_correspondence_fragment:inspect", args=[greeting.pk]),
        reverse("wagtailsnippets_wagtail_correspondence_layout:edit", args=[standard_layout.pk]),
        reverse("wagtailsnippets_wagtail_correspondence_datadictionary:edit", args=[customer_dictionary.pk]),
        reverse("wagtailadmin_pages:edit", args=[page.pk]),
        reverse("wagtail_correspondence_department_modeladmin_index"),
        reverse("wagtail_correspondence_department_modeladmin_create"),
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_fragment_search_finds_by_title_and_key(admin_client, customer_dictionary):
    """Restricting the search to named fields answered 500 on SQLite's full-text tables."""
    factories.fragment(customer_dictionary, key="late-payment", title="Late payment reminder")
    factories.fragment(customer_dictionary, key="greeting")
    url = reverse("wagtailsnippets_wagtail_correspondence_fragment:list")
    for query in ("reminder", "late-payment"):
        response = admin_client.get(url, {"q": query})
        assert response.status_code == 200
        assert "Late payment reminder" in response.content.decode()
        assert "Greeting" not in response.content.decode()


def test_an_unknown_filter_on_a_register_list_is_said_not_a_500(admin_client):
    url = reverse("correspondence_register_routing-rules_modeladmin_index")
    response = admin_client.get(url, {"search": "x", "q": "refund"})
    assert response.status_code == 302 and response["Location"] == f"{url}?q=refund"
    assert "not available" in admin_client.get(response["Location"]).content.decode()
