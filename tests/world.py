"""A world to test access control in: a department tree, one user per role, register entries
inside and outside each user's scope (three of them strictly confidential), letters in and out
of scope, batches. Built with the services, described by hand below, and shared by the role
matrix (test_role_matrix.py) and the URL scope test (test_url_scope.py).

The expected sets are written by hand on purpose: computing them with
``services.register_access`` or ``services.letter_access`` would test those helpers against
themselves.
"""

import copy
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from wagtail_correspondence import roles
from wagtail_correspondence.models import (
    BusinessCalendar,
    Category,
    Confidentiality,
    Correspondence,
    Department,
    RoutingRule,
    SlaPolicy,
)
from wagtail_correspondence.services import batches as batch_service
from wagtail_correspondence.services import letters as letter_service
from wagtail_correspondence.services import register as register_service

from . import factories

ROLES = ["author", "reviewer", "agent", "officer", "supervisor", "auditor", "admin", "superuser"]
GROUPS = {"author": roles.CONTENT_AUTHORS, "reviewer": roles.CONTENT_REVIEWERS, "agent": roles.AGENTS,
          "officer": roles.OFFICERS, "supervisor": roles.SUPERVISORS, "auditor": roles.AUDITORS,
          "admin": roles.ADMINISTRATORS,
          # Not under test: colleagues who write letters, take entries, register them.
          "colleague": roles.AGENTS, "lawyer": roles.AGENTS, "registrar": roles.SUPERVISORS}
NOBODY = frozenset()

# The world, by name -------------------------------------------------------------------
#
#   Customer Service          supervisor
#     Complaints              author, reviewer, agent, officer, colleague (an agent)
#       Escalations
#     Billing
#   Legal                     admin, lawyer (an agent)
#
# auditor, superuser and registrar (a supervisor who registers the entries) belong nowhere.
MEMBERS = {"customer-service": ["supervisor"],
           "complaints": ["author", "reviewer", "agent", "officer", "colleague"],
           "legal": ["admin", "lawyer"]}

ENTRIES_BY_NAME = {
    # name: its department (each subject is "<Name> matter")
    "complaints": "complaints",
    "escalations": "escalations",
    "service": "customer-service",
    "billing": "billing",
    "legal": "legal",
    "agent_case": "legal",  # assigned to the agent
    "officer_registered": "legal",  # registered by the officer
    "secret": "complaints",  # strictly confidential, assigned to colleague
    "agent_secret": "complaints",  # strictly confidential, assigned to the agent
    "officer_secret": "complaints",  # strictly confidential, registered by the officer
}
ALL_ENTRIES = frozenset(ENTRIES_BY_NAME)
# The outbound register entries of the letters of the ``letters`` fixture.
LETTER_ENTRIES = frozenset({"dept_out", "subdept_out", "parent_out", "own_out", "other_out", "secret_out"})

# Who sees which register entry: their departments and below, what is assigned to them or
# registered by them; strictly confidential entries only with a clearance or when theirs.
SEES = {
    "author": NOBODY,
    "reviewer": NOBODY,
    "agent": frozenset({"complaints", "escalations", "agent_case", "agent_secret"}),
    "officer": frozenset({"complaints", "escalations", "officer_registered", "officer_secret"}),
    "supervisor": ALL_ENTRIES,
    "auditor": ALL_ENTRIES,
    "admin": ALL_ENTRIES,
    "superuser": ALL_ENTRIES,
}
# With the letters in the world, their outbound entries too.
SEES_WITH_LETTERS = {
    "author": NOBODY,
    "reviewer": NOBODY,
    "agent": SEES["agent"] | {"dept_out", "subdept_out", "own_out"},
    "officer": SEES["officer"] | {"dept_out", "subdept_out"},
    "supervisor": ALL_ENTRIES | LETTER_ENTRIES,
    "auditor": ALL_ENTRIES | LETTER_ENTRIES,
    "admin": ALL_ENTRIES | LETTER_ENTRIES,
    "superuser": ALL_ENTRIES | LETTER_ENTRIES,
}
RESTORABLE = frozenset({"complaints", "legal"})

ALL_LETTERS = frozenset({"dept", "subdept", "parent", "own", "other", "secret"})
# dept: by colleague, Complaints. subdept: by colleague, answering escalations (Escalations).
# parent: by colleague, answering service (Customer Service). own: by the agent, answering
# agent_case (Legal). other: by lawyer, Legal. secret: by colleague, Complaints, its register
# entry made strictly confidential.
READS_LETTERS = {
    "author": NOBODY,
    "reviewer": NOBODY,
    "agent": frozenset({"dept", "subdept", "own"}),
    "officer": frozenset({"dept", "subdept"}),
    "supervisor": ALL_LETTERS,
    "auditor": ALL_LETTERS,
    "admin": ALL_LETTERS,
    "superuser": ALL_LETTERS,
}
BATCHES = {
    "agent": frozenset({"agent_batch"}),
    "officer": NOBODY,
    "supervisor": frozenset({"agent_batch", "lawyer_batch"}),
    "auditor": frozenset({"agent_batch", "lawyer_batch"}),
    "admin": frozenset({"agent_batch", "lawyer_batch"}),
    "superuser": frozenset({"agent_batch", "lawyer_batch"}),
}
_RENDERED = {}


# The world ----------------------------------------------------------------------------

def _render_once(real):
    """Letters are rendered by the real PDF backend, once per process: their bytes, checksum
    and page count are real, and each later letter costs no renderer time (access control,
    not typesetting, is under test here)."""

    def render(html, metadata, **kwargs):
        if "pdf" not in _RENDERED:
            _RENDERED["pdf"] = real(html, metadata, **kwargs)
        return _RENDERED["pdf"]

    return render


@pytest.fixture
def world(db, one_customer, monkeypatch):
    cache.clear()  # the API throttles per user id, and ids repeat from test to test
    monkeypatch.setattr(letter_service, "render_pdf", _render_once(letter_service.render_pdf))
    service = Department.add_root(instance=Department(name="Customer Service", code="customer-service"))
    complaints = service.add_child(instance=Department(name="Complaints", code="complaints"))
    escalations = complaints.add_child(instance=Department(name="Escalations", code="escalations"))
    complaints = Department.objects.get(pk=complaints.pk)
    service = Department.objects.get(pk=service.pk)
    billing = service.add_child(instance=Department(name="Billing", code="billing"))
    legal = Department.add_root(instance=Department(name="Legal", code="legal"))
    departments = {department.code: Department.objects.get(pk=department.pk)
                   for department in (service, complaints, escalations, billing, legal)}
    users = {name: factories.user(name, group) for name, group in GROUPS.items()}
    users["superuser"] = factories.user("superuser", superuser=True)
    for code, members in MEMBERS.items():
        departments[code].members.add(*(users[name] for name in members))
    config = SimpleNamespace(
        rule=RoutingRule.objects.create(name="Refund rule", keywords="refund", department=departments["billing"]),
        sla=SlaPolicy.objects.create(name="Ten-day answers", response_time=10),
        category=Category.add_root(name="General questions", code="general"),
        calendar=BusinessCalendar.objects.create(name="Brussels office"))
    return SimpleNamespace(departments=departments, users=users, config=config)


@pytest.fixture
def entries(world):
    """The register entries of ``ENTRIES_BY_NAME``, as ``world.entries``."""
    users, departments = world.users, world.departments

    def register(name, by="registrar", **fields):
        return register_service.register_entry(
            users[by], subject=f"{name.replace('_', ' ').title()} matter", kind="letter", channel="post",
            department=departments[ENTRIES_BY_NAME[name]], **fields)

    entries = {
        "complaints": register("complaints"),
        "escalations": register("escalations"),
        "service": register("service"),
        "billing": register("billing"),
        "legal": register("legal"),
        "agent_case": register("agent_case", assignee=users["agent"]),
        "officer_registered": register("officer_registered", by="officer"),
        "secret": register("secret", assignee=users["colleague"], confidentiality=Confidentiality.SECRET),
        "agent_secret": register("agent_secret", assignee=users["agent"], confidentiality=Confidentiality.SECRET),
        "officer_secret": register("officer_secret", by="officer", confidentiality=Confidentiality.SECRET),
    }
    for name in RESTORABLE:  # an earlier version to restore
        entries[name] = register_service.update_entry(users["registrar"], entries[name], {"priority": "high"})
    world.entries = entries
    return entries


@pytest.fixture
def library(world):
    dictionary = factories.dictionary()
    layout = factories.layout()
    greeting = factories.fragment(dictionary, key="greeting")
    template = factories.letter_template(dictionary, layout, [greeting], channels=["print"])
    world.library = SimpleNamespace(dictionary=dictionary, layout=layout, fragment=greeting, template=template)
    return world.library


def write_letter(world, writer, in_reply_to=None):
    return letter_service.generate_letter(world.users[writer], letter_service.LetterRequest(
        template=world.library.template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="print",
        in_reply_to=in_reply_to))


@pytest.fixture
def letters(world, entries, library):
    written = {
        "dept": write_letter(world, "colleague"),
        "subdept": write_letter(world, "colleague", in_reply_to=world.entries["escalations"]),
        "parent": write_letter(world, "colleague", in_reply_to=world.entries["service"]),
        "own": write_letter(world, "agent", in_reply_to=world.entries["agent_case"]),
        "other": write_letter(world, "lawyer"),
        "secret": write_letter(world, "colleague"),
    }
    outbound = {f"{name}_out": Correspondence.objects.get(letter=letter) for name, letter in written.items()}
    outbound["secret_out"] = register_service.update_entry(
        world.users["registrar"], outbound["secret_out"], {"confidentiality": Confidentiality.SECRET})
    # The world as the table above says, before anything is checked against it.
    assert {name: letter.department.code for name, letter in written.items()} == {
        "dept": "complaints", "subdept": "escalations", "parent": "customer-service", "own": "legal",
        "other": "legal", "secret": "complaints"}
    world.letters = written
    world.entries.update(outbound)
    return written


@pytest.fixture
def batches(world, library):
    def upload(user):
        return batch_service.create_batch(world.users[user], world.library.template,
                                          SimpleUploadedFile("rows.csv", b"customer_id\nC-1001\n"),
                                          name=f"{user} batch")

    world.batches = {"agent_batch": upload("agent"), "lawyer_batch": upload("lawyer")}
    return world.batches
