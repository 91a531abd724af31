"""Letters are scoped like register entries: a department subtree, ``view_all_letters`` for
wider scope, a clearance for letters about strictly confidential entries. The admin list, the
letter page, the PDF and the API agree."""

import copy

import pytest

from wagtail_correspondence import roles
from wagtail_correspondence.models import Confidentiality, Correspondence, Department
from wagtail_correspondence.services import letters as service
from wagtail_correspondence.services import register as register_service
from wagtail_correspondence.services.letter_access import can_view_letter, visible_letters

from . import factories

API = "/api/correspondence/v1/"
LETTERS = "/admin/correspondence/letters/"

pytestmark = pytest.mark.usefixtures("one_customer")


@pytest.fixture
def template(customer_dictionary, standard_layout):
    short = factories.fragment(customer_dictionary, key="short", html="<p>Dear {{ customer.first_name }},</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [short], channels=["print"])


@pytest.fixture
def tree(db):
    service_desk = Department.add_root(instance=Department(name="Customer Service", code="customer-service"))
    complaints = service_desk.add_child(instance=Department(name="Complaints", code="complaints"))
    legal = Department.add_root(instance=Department(name="Legal", code="legal"))
    return {"service": Department.objects.get(pk=service_desk.pk), "complaints": complaints, "legal": legal}


def member(make_user, name, role, department):
    user = make_user(name, role)
    department.members.add(user)
    return user


def write(user, template, in_reply_to=None):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    return service.generate_letter(user, service.LetterRequest(template=template, data=data, channel="print",
                                                               in_reply_to=in_reply_to))


def test_a_letter_belongs_to_its_writers_department_or_to_the_entry_it_answers(make_user, tree, template):
    complaints_agent = member(make_user, "agent", roles.AGENTS, tree["complaints"])
    letter = write(complaints_agent, template)
    assert letter.department == tree["complaints"]
    assert letter.register_entry.department == tree["complaints"]
    officer = member(make_user, "officer", roles.OFFICERS, tree["legal"])
    entry = register_service.register_entry(officer, subject="Claim", kind="letter", channel="post",
                                            department=tree["legal"])
    reply = write(complaints_agent, template, in_reply_to=entry)
    assert reply.department == tree["legal"]


def test_users_see_the_letters_of_their_department_subtree(client, make_user, tree, template):
    complaints_agent = member(make_user, "agent", roles.AGENTS, tree["complaints"])
    legal_agent = member(make_user, "legal-agent", roles.AGENTS, tree["legal"])
    service_officer = member(make_user, "officer", roles.OFFICERS, tree["service"])
    auditor = make_user("auditor", roles.AUDITORS)
    complaints_letter = write(complaints_agent, template)
    legal_letter = write(legal_agent, template)

    expectations = {
        complaints_agent: {complaints_letter},
        legal_agent: {legal_letter},
        service_officer: {complaints_letter},  # Complaints is below Customer Service
        auditor: {complaints_letter, legal_letter},  # view_all_letters
    }
    for user, expected in expectations.items():
        assert set(visible_letters(user)) == expected, user
        client.force_login(user)
        listed = client.get(LETTERS).content.decode()
        api = client.get(API + "letters/").json()
        assert api["count"] == len(expected), user
        assert {item["reference"] for item in api["results"]} == {letter.reference for letter in expected}
        for letter in (complaints_letter, legal_letter):
            allowed = letter in expected
            assert (letter.reference in listed) is allowed, (user, letter)
            assert (client.get(API + f"letters/{letter.reference}/").status_code == 200) is allowed
            assert client.get(API + f"letters/{letter.reference}/pdf/").status_code == (200 if allowed else 404)
            page = client.get(f"{LETTERS}inspect/{letter.pk}/")
            assert (page.status_code == 200) is allowed, (user, letter, page.status_code)
            assert client.get(f"{LETTERS}pdf/{letter.pk}/").status_code in ((200,) if allowed else (302, 403, 404))
        # Search through the API keeps to the scope as well.
        searched = client.get(API + "letters/", {"q": legal_letter.reference}).json()
        assert searched["count"] == (1 if legal_letter in expected else 0), user


def test_letters_about_strictly_confidential_entries_need_a_clearance(make_user, tree, template):
    writer = member(make_user, "officer", roles.OFFICERS, tree["complaints"])
    colleague = member(make_user, "colleague", roles.OFFICERS, tree["complaints"])
    supervisor = member(make_user, "supervisor", roles.SUPERVISORS, tree["service"])
    entry = register_service.register_entry(writer, subject="Harassment report", kind="letter", channel="post",
                                            department=tree["complaints"], confidentiality=Confidentiality.SECRET)
    reply = write(writer, template, in_reply_to=entry)
    assert can_view_letter(writer, reply)  # its writer
    assert not can_view_letter(colleague, reply)  # same department, no clearance
    assert can_view_letter(supervisor, reply)  # view_confidential_correspondence
    plain = write(writer, template)
    assert can_view_letter(colleague, plain)
    Correspondence.objects.filter(letter=plain).update(confidentiality=Confidentiality.SECRET)
    assert not can_view_letter(colleague, plain)


def test_users_without_letter_permissions_see_none(make_user, tree, template):
    letter = write(member(make_user, "agent", roles.AGENTS, tree["complaints"]), template)
    author = member(make_user, "author", roles.CONTENT_AUTHORS, tree["complaints"])
    assert not visible_letters(author).exists()
    assert not can_view_letter(author, letter)
    letter.refresh_from_db()
    inactive = member(make_user, "gone", roles.SUPERVISORS, tree["service"])
    inactive.is_active = False
    inactive.save()
    assert not can_view_letter(inactive, letter)
