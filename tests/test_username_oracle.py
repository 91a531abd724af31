"""Filters and fields that take a user answer an unknown name exactly as they answer a known
user the caller may not see: the same status, the same (empty) result, the same body. Before,
``?assignee=ghost`` answered 400 "No user named 'ghost'" and ``?assignee=<colleague>`` 200,
so anyone could test which usernames exist; the letters list offered every account of the
site in its "created by" filter.

Each case compares the answer for a name that exists (a user in another department, with
letters and entries the caller may not see; a user who cannot work entries) with the answer
for a name that does not."""

import copy
import re

import pytest

from wagtail_correspondence import roles
from wagtail_correspondence.models import Department
from wagtail_correspondence.services import letters as letter_service
from wagtail_correspondence.services import register as register_service

from . import factories

API = "/api/correspondence/v1/"
ENTRIES = "/admin/correspondence/register/entries/"
LETTERS = "/admin/correspondence/letters/"
REFERENCE = re.compile(r"\b(?:IN|OUT|INT)-\d{4}-\d{6}\b")


@pytest.fixture
def world(make_user, one_customer, customer_dictionary, standard_layout):
    billing = Department.add_root(instance=Department(name="Billing", code="billing"))
    legal = Department.add_root(instance=Department(name="Legal", code="legal"))
    users = {
        "officer": make_user("officer", roles.OFFICERS),  # may assign, in Billing
        "agent": make_user("agent", roles.AGENTS),  # may not assign, in Billing
        "stranger": make_user("stranger", roles.AGENTS, first_name="Stella"),  # in Legal
        "lawyer": make_user("lawyer", roles.OFFICERS),  # in Legal
        "auditor": make_user("auditor", roles.AUDITORS),  # exists, works no entries
    }
    billing.members.add(users["officer"], users["agent"])
    legal.members.add(users["stranger"], users["lawyer"])
    fragment = factories.fragment(customer_dictionary, key="short", html="<p>Dear {{ customer.first_name }},</p>")
    template = factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print"])
    for author in ("agent", "stranger"):
        letter_service.generate_letter(users[author], letter_service.LetterRequest(
            template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="print"))
    entries = {
        "billing": register_service.register_entry(users["officer"], subject="Billing question", kind="letter",
                                                   channel="post", department=billing),
        "legal": register_service.register_entry(users["lawyer"], subject="Claim", kind="letter", channel="post",
                                                 department=legal, assignee=users["stranger"]),
    }
    return users, entries


def same_api_answer(first, second):
    assert first.status_code == second.status_code, (first.status_code, second.status_code)
    assert first.json() == second.json(), (first.json(), second.json())
    return first


KNOWN_OUT_OF_SIGHT = ["stranger", "auditor"]
UNKNOWN = "ghost"


@pytest.mark.parametrize("known", KNOWN_OUT_OF_SIGHT)
@pytest.mark.parametrize("who", ["officer", "agent"])
def test_api_filters_answer_an_unknown_user_as_one_out_of_sight(client, world, who, known):
    users, _entries = world
    client.force_login(users[who])
    for url, name in [("correspondence/", "assignee"), ("letters/", "created_by")]:
        answer = same_api_answer(client.get(f"{API}{url}?{name}={known}"), client.get(f"{API}{url}?{name}={UNKNOWN}"))
        assert answer.status_code == 200 and answer.json()["count"] == 0


def test_api_filters_still_find_the_users_one_may_see(client, world):
    users, entries = world
    users["officer"].groups.add(*users["lawyer"].groups.all())
    Department.objects.get(code="legal").members.add(users["officer"])
    client.force_login(users["officer"])
    found = client.get(f"{API}correspondence/?assignee=stranger").json()
    assert entries["legal"].reference in [item["reference"] for item in found["results"]]


@pytest.mark.parametrize("known", KNOWN_OUT_OF_SIGHT + ["officer"])
def test_naming_someone_else_without_the_right_to_assign_says_nothing_about_the_name(client, world, known):
    users, entries = world
    client.force_login(users["agent"])
    url = f"{API}correspondence/{entries['billing'].reference}/assign/"
    answer = same_api_answer(client.post(url, {"assignee": known}, content_type="application/json"),
                             client.post(url, {"assignee": UNKNOWN}, content_type="application/json"))
    assert answer.status_code == 403
    taken = client.post(url, {"assignee": "me"}, content_type="application/json")  # her own: still allowed
    assert taken.status_code == 200 and taken.json()["assignee"] == "agent"


def test_assigners_learn_only_who_can_work_entries(client, world):
    """The auditor exists but works no entries: answered as a name that does not exist."""
    users, entries = world
    client.force_login(users["officer"])

    def message(response, name):
        assert response.status_code == 400, response.content
        return response.json()["assignee"][0].replace(name, "X")

    url = f"{API}correspondence/{entries['billing'].reference}/assign/"
    answers = {name: client.post(url, {"assignee": name}, content_type="application/json")
               for name in ("auditor", UNKNOWN)}
    assert message(answers["auditor"], "auditor") == message(answers[UNKNOWN], UNKNOWN)
    new = {"subject": "New", "kind": "letter", "channel": "post"}
    answers = {name: client.post(f"{API}correspondence/", {**new, "assignee": name}, content_type="application/json")
               for name in ("auditor", UNKNOWN)}
    assert message(answers["auditor"], "auditor") == message(answers[UNKNOWN], UNKNOWN)


# The admin -----------------------------------------------------------------------------

def listed(response):
    assert response.status_code == 200, response.status_code
    return sorted(set(REFERENCE.findall(response.content.decode())))


@pytest.mark.parametrize("known", KNOWN_OUT_OF_SIGHT)
def test_the_register_list_answers_an_unknown_user_as_one_out_of_sight(client, world, known):
    users, _entries = world
    client.force_login(users["officer"])
    missing_id = max(user.pk for user in users.values()) + 1000
    assert listed(client.get(ENTRIES, {"assignee": users[known].pk})) == listed(
        client.get(ENTRIES, {"assignee": missing_id})) == []
    assert listed(client.get(ENTRIES, {"assignee__username": known})) == listed(
        client.get(ENTRIES, {"assignee__username": UNKNOWN}))


def created_by_choices(html):
    select = re.search(r'<select name="created_by".*?</select>', html, re.S)
    return set(re.findall(r'<option value="(\d+)"', select.group())) if select else set()


@pytest.mark.parametrize("known", KNOWN_OUT_OF_SIGHT)
def test_the_letters_list_offers_and_accepts_only_authors_of_letters_one_may_see(client, world, known):
    users, _entries = world
    client.force_login(users["agent"])
    page = client.get(LETTERS).content.decode()
    assert created_by_choices(page) == {str(users["agent"].pk)}  # not every account of the site
    assert "Stella" not in page and "stranger" not in page
    missing_id = max(user.pk for user in users.values()) + 1000
    for url in (LETTERS, LETTERS + "results/"):
        known_answer = client.get(url, {"created_by": users[known].pk})
        unknown_answer = client.get(url, {"created_by": missing_id})
        assert known_answer.status_code == unknown_answer.status_code == 200
        assert listed(known_answer) == listed(unknown_answer)
        refused = [("Select a valid choice" in answer.content.decode()) for answer in (known_answer, unknown_answer)]
        assert refused[0] == refused[1], url
