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
