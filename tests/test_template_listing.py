"""The "Letter templates" list: every template with where it stands in its review, filters in
correspondence words, and only what the user may explore."""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from wagtail.models import WorkflowState

from tests import factories
from wagtail_correspondence import roles
from wagtail_correspondence.models import TemplateFolderPage

LIST = reverse("letter_templates:index")


@pytest.fixture
def people(make_user):
    return {"author": make_user("author", roles.CONTENT_AUTHORS),
            "reviewer": make_user("reviewer", roles.CONTENT_REVIEWERS),
            "agent": make_user("agent", roles.AGENTS)}


@pytest.fixture
def templates(customer_dictionary, standard_layout, people):
    fragment = factories.fragment(customer_dictionary)

    def make(title, **kwargs):
        return factories.letter_template(customer_dictionary, standard_layout, [fragment], title=title, **kwargs)

    live = make("Welcome letter", channels=["email"])
    draft = make("Renewal notice", publish=False)
    edited = make("Payment reminder", channels=["print", "sms"])
    edited.subject = "Reminder {{ customer.id }}"
    edited.save_revision(user=people["author"])
    in_review = make("Claim acknowledgement")
    in_review.save_revision(user=people["author"])
    in_review.get_workflow().start(in_review, people["author"])
    returned = make("Complaint reply")
    returned.save_revision(user=people["author"])
    state = returned.get_workflow().start(returned, people["author"])
    state.current_task_state.task.specific.on_action(state.current_task_state, people["reviewer"], "reject")
    returned.refresh_from_db()
    assert returned.current_workflow_state.status == WorkflowState.STATUS_NEEDS_CHANGES
    return {"live": live, "draft": draft, "edited": edited, "in_review": in_review, "returned": returned}


def rows(response):
    return {row.title: row for row in response.context["object_list"]}


def status_of(response, title):
    """The text of the table row of the template with this title."""
    soup = BeautifulSoup(response.content, "html.parser")
    [row] = [tr for tr in soup.select("tbody tr") if title in tr.get_text()]
    return " ".join(cell.get_text(" ", strip=True) for cell in row.select("td"))


def test_the_list_shows_each_templates_review_status_and_folder(client, people, templates):
    client.force_login(people["author"])
    response = client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Letter templates" in page and "Folder" in page
    assert set(rows(response)) == {"Welcome letter", "Renewal notice", "Payment reminder", "Claim acknowledgement",
                                   "Complaint reply"}
    assert " Live " in status_of(response, "Welcome letter")
    assert " Draft " in status_of(response, "Renewal notice")
    assert " Live + draft changes " in status_of(response, "Payment reminder")
    assert " In review " in status_of(response, "Claim acknowledgement")
    assert " Changes requested " in status_of(response, "Complaint reply")
    assert "Print, SMS" in status_of(response, "Payment reminder")
    # Counted in the product's words, with the library's folders one click away.
    words = BeautifulSoup(page, "html.parser").select_one("main").get_text(" ")
    assert "5 letter templates" in words and "page" not in words.replace("Page 1 of 1", "")
    # No bulk publishing past the review.
    assert "Bulk actions" not in page and "bulk-actions.js" not in page
    assert reverse("wagtailadmin_explore", args=[templates["live"].get_parent().pk]) in page


@pytest.mark.parametrize("status, expected", [
    ("in_review", {"Claim acknowledgement"}), ("changes_requested", {"Complaint reply"}),
    ("draft", {"Renewal notice"}), ("live", {"Welcome letter"}), ("live_draft", {"Payment reminder"}),
])
def test_the_status_filter_finds_templates_in_each_state(client, people, templates, status, expected):
    client.force_login(people["reviewer"])
    response = client.get(LIST, {"review_status": status})
    assert response.status_code == 200
    assert set(rows(response)) == expected


def test_the_channel_filter(client, people, templates):
    client.force_login(people["author"])
    assert set(rows(client.get(LIST, {"channel": "sms"}))) == {"Payment reminder"}
    assert set(rows(client.get(LIST, {"channel": "email"}))) == {
        "Welcome letter", "Renewal notice", "Claim acknowledgement", "Complaint reply"}


def test_a_bad_filter_value_is_an_error_naming_the_field_not_a_500(client, people, templates):
    client.force_login(people["author"])
    response = client.get(LIST, {"review_status": "bogus", "channel": "telegram"})
    assert response.status_code == 200
    errors = response.context["filters"].errors
    assert "review_status" in errors and "channel" in errors


@pytest.mark.parametrize("who", ["agent", "anonymous"])
def test_people_without_template_permissions_cannot_list_them(client, people, templates, who):
    if who != "anonymous":
        client.force_login(people[who])
    response = client.get(LIST)
    assert response.status_code in (302, 403)
    assert b"Welcome letter" not in response.content
    for response in (client.get(reverse("letter_templates:choose_parent")),
                     client.post(reverse("letter_templates:choose_parent"),
                                 {"parent_page": templates["live"].get_parent().pk})):
        assert response.status_code in (302, 403)
        assert not response.has_header("Location") or "/pages/add/" not in response["Location"]


def test_the_menu_leads_to_the_list(client, people, templates):
    client.force_login(people["author"])
    response = client.get(reverse("wagtailadmin_home"))
    assert LIST in response.content.decode()


def test_new_letter_template_starts_by_choosing_a_folder(client, people, templates):
    client.force_login(people["author"])
    listing = client.get(LIST).content.decode()
    choose = reverse("letter_templates:choose_parent")
    assert choose in listing and "New letter template" in listing
    library = templates["live"].get_parent()
    add_url = reverse("wagtailadmin_pages:add", args=["wagtail_correspondence", "lettertemplatepage", library.pk])
    # One place a template can go: straight to its form.
    assert client.get(choose)["Location"] == add_url
    folder = library.add_child(instance=TemplateFolderPage(title="Claims"))
    response = client.get(choose)
    assert response.status_code == 200
    options = [option.get_text() for option in
               BeautifulSoup(response.content, "html.parser").select("select[name=parent_page] option")]
    assert options == [library.title, f"{library.title} › Claims"], options
    response = client.post(choose, {"parent_page": folder.pk})
    assert response["Location"] == reverse("wagtailadmin_pages:add", args=[
        "wagtail_correspondence", "lettertemplatepage", folder.pk])
    # Somewhere templates cannot go (the site's root) is refused, naming the field.
    response = client.post(choose, {"parent_page": 1})
    assert response.status_code == 200 and "parent_page" in response.context["form"].errors
    response = client.post(choose, {"parent_page": library.pk})
    assert response.status_code == 302 and response["Location"] == add_url


def test_the_dashboard_search_finds_letter_templates(client, people, templates):
    client.force_login(people["author"])
    home = BeautifulSoup(client.get(reverse("wagtailadmin_home")).content, "html.parser")
    [form] = home.select("form[role=search]")
    assert form["action"] == LIST
    field = form.select_one("input[name=q]")
    assert field["placeholder"] == "Search letter templates"
    assert home.select_one(f"label[for={field['id']}]").get_text(strip=True) == "Search letter templates"
    assert "Search all pages" not in str(home)
    found = client.get(LIST, {"q": "Renewal"})
    assert set(rows(found)) == {"Renewal notice"}
