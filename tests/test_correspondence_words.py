"""Correspondence users meet the library's words, not a website's: no "Pages" menu, no Promote
tab, no "site record" warning, no "seen by the public", and the site's own landing at /."""

import re

import pytest
from django.urls import reverse
from wagtail.models import Page, Site

from tests import factories
from wagtail_correspondence import roles
from wagtail_correspondence.models import LetterTemplatePage, TemplateFolderPage, TemplateLibraryPage
from wagtail_correspondence.services.setup import ensure_template_library


@pytest.fixture
def template_page(customer_dictionary, standard_layout):
    return factories.letter_template(customer_dictionary, standard_layout, [factories.fragment(customer_dictionary)])


def _menu(response):
    """The sidebar's main menu: Wagtail renders it as JSON props of the sidebar component."""
    props = re.search(r'id="wagtail-sidebar-props"[^>]*>(.*?)</script>', response.content.decode(), re.S)
    return props.group(1)


@pytest.mark.parametrize("model", [TemplateLibraryPage, TemplateFolderPage, LetterTemplatePage])
def test_library_pages_have_no_promote_or_page_settings_tab(model):
    tabs = [tab.heading for tab in model.get_edit_handler().children]
    assert "Promote" not in tabs and "Settings" not in tabs
    form_fields = model.get_edit_handler().get_form_class().base_fields
    assert not {"slug", "seo_title", "search_description", "show_in_menus", "go_live_at"} & set(form_fields)


def test_the_template_editor_speaks_of_templates_for_an_author(client, make_user, template_page):
    client.force_login(make_user("alice", roles.CONTENT_AUTHORS))
    response = client.get(reverse("wagtailadmin_pages:edit", args=[template_page.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Name of the template, as agents see it when they choose one" in html
    for words in ("seen by the public", "tab-label-promote", "For search engines", "Visible to all",
                  "Once live anyone can view"):
        assert words not in html, words


def test_a_new_folder_gets_its_slug_from_its_title_without_a_promote_tab(client, make_user):
    library = ensure_template_library()
    client.force_login(make_user("root", superuser=True))
    url = reverse("wagtailadmin_pages:add", args=["wagtail_correspondence", "templatefolderpage", library.pk])
    response = client.post(url, {"title": "Claims and refunds", "description": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TemplateFolderPage.objects.get(title="Claims and refunds").slug == "claims-and-refunds"


def test_the_menu_names_the_template_library_and_leads_to_it(client, make_user, template_page):
    library = ensure_template_library()
    client.force_login(make_user("alice", roles.CONTENT_AUTHORS))
    menu = _menu(client.get(reverse("wagtailadmin_home")))
    assert "Letter templates" in menu and f'"{reverse("letter_templates:index")}"' in menu
    assert '"Pages"' not in menu
    # The library's folders are one click further, from the list's header.
    listing = client.get(reverse("letter_templates:index")).content.decode()
    assert reverse("wagtailadmin_explore", args=[library.pk]) in listing


def test_a_site_that_also_serves_web_pages_keeps_wagtails_pages_entry(client, make_user, template_page):
    Site.objects.get(is_default_site=True).root_page.add_child(instance=Page(title="About us", slug="about-us"))
    client.force_login(make_user("root", superuser=True))
    menu = _menu(client.get(reverse("wagtailadmin_home")))
    assert '"Pages"' in menu and "Letter templates" in menu


def test_reports_speak_of_letter_templates_without_web_pages(client, make_user, template_page):
    client.force_login(make_user("root", superuser=True))
    menu = _menu(client.get(reverse("wagtailadmin_home")))
    assert "Locked letter templates" in menu
    for words in ('"Locked pages"', '"Aging pages"', '"Page types usage"'):
        assert words not in menu, words
    # Beside web pages, Wagtail's reports are back, under their own names (the relabelling
    # changed a copy, not the instance every request shares).
    Site.objects.get(is_default_site=True).root_page.add_child(instance=Page(title="About us", slug="about-us"))
    menu = _menu(client.get(reverse("wagtailadmin_home")))
    assert '"Locked pages"' in menu and '"Aging pages"' in menu and "Locked letter templates" not in menu


def test_the_dashboard_and_help_menu_do_not_send_users_to_wagtails_manual(client, make_user, template_page):
    client.force_login(make_user("alice", roles.CONTENT_AUTHORS))
    response = client.get(reverse("wagtailadmin_home"))
    html, menu = response.content.decode(), _menu(response)
    assert "editor guide" not in html.lower() and "Editor Guide" not in menu
    assert "What's new in Wagtail" not in menu and "What\\u0027s new in Wagtail" not in menu
    assert "Shortcuts" in menu


def test_the_library_has_no_site_record_warning_but_the_root_keeps_wagtails_help(client, make_user, template_page):
    library = ensure_template_library()
    client.force_login(make_user("root", superuser=True))
    html = client.get(reverse("wagtailadmin_explore", args=[library.pk])).content.decode()
    assert "Payment reminder" in html
    assert "no site" not in html and "not be accessible at any URL" not in html
    # Elsewhere Wagtail's notes stay: here, the root level's.
    assert "not be accessible at any URL" in client.get(reverse("wagtailadmin_explore_root")).content.decode()


def test_the_site_root_is_the_products_landing_not_wagtails_welcome(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Welcome to your new Wagtail site" not in html
    assert f'href="{reverse("wagtailadmin_home")}"' in html and "customer portal" in html


def test_the_home_page_in_the_tree_is_not_called_welcome_to_wagtail(db):
    assert Site.objects.get(is_default_site=True).root_page.title == "Home"


def test_the_dashboard_counts_letter_templates_not_pages(client, make_user, template_page):
    client.force_login(make_user("alice", roles.CONTENT_AUTHORS))
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert re.search(r"1 letter template\s*</a>", html)
    assert not re.search(r"\d+ Pages? <span", html)


def test_creating_in_the_library_offers_templates_and_folders_in_its_own_words(client, make_user, template_page):
    library = ensure_template_library()
    client.force_login(make_user("alice", roles.CONTENT_AUTHORS))
    html = client.get(reverse("wagtailadmin_pages:add_subpage", args=[library.pk])).content.decode()
    assert "Choose what to create." in html and "Letter template" in html and "Template folder" in html
    assert "Create a page in" not in html and "Pages using" not in html


def test_the_favicon_browsers_ask_for_is_answered(client, db):
    # Sandboxed previews and every admin page made browsers log a 404 for it.
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("wagtailadmin/images/favicon.ico")


def test_admin_pages_are_titled_for_the_product_not_wagtail(client, make_user):
    client.force_login(make_user("alice", roles.CONTENT_AUTHORS))
    title = re.search(r"<title>(.*?)</title>", client.get(reverse("wagtailadmin_home")).content.decode(), re.S)
    assert title.group(1).strip().endswith("- Correspondence"), title.group(1)
