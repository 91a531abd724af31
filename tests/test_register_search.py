"""Register search at scale: matches come from the search index (a subquery, never a capped
list of ids from the whole register), inside the user's scope; entries the index may not have
yet (changed within SEARCH_INDEX_LAG_MINUTES) are found as text; older entries are found only
through the index. On the tests' SQLite database, through Wagtail's SQLite index;
tests/test_search_backend.py runs the PostgreSQL query."""

import datetime

import pytest
from django.utils import timezone
from wagtail.search.backends import get_search_backend

from wagtail_correspondence.models import Correspondence, Direction
from wagtail_correspondence.services.register_access import search_entries, visible_entries

API = "/api/correspondence/v1/correspondence/"


# The department tree and officer of conftest, under this module's shorter names.
org = pytest.fixture(name="org")(lambda billing_and_claims: billing_and_claims)
officer = pytest.fixture(name="officer")(lambda billing_officer: billing_officer)


def entry(reference, subject, department, body="", indexed=True, age_days=30):
    created = Correspondence.objects.create(reference=reference, subject=subject, body=body, department=department,
                                            direction=Direction.INBOUND)
    if indexed:
        get_search_backend().add(created)
    else:
        get_search_backend().delete(created)
    # Older than the index lag: only the index can find it (update() leaves auto_now alone).
    Correspondence.objects.filter(pk=created.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=age_days))
    return created


def found(user, query):
    return set(search_entries(visible_entries(user), query).values_list("reference", flat=True))


def test_search_finds_through_the_index_within_scope(officer, org):
    entry("B-1", "Refund of my premium", org["billing"])
    entry("B-2", "Address change", org["billing"], body="Please refund the difference")
    entry("B-3", "Refunds requested twice", org["billing"])  # stemmed: refunds ~ refund
    entry("B-4", "Invoice question", org["billing"])
    entry("C-1", "Refund for the claim", org["claims"])  # outside the officer's scope
    assert found(officer, "refund") >= {"B-1", "B-2"}
    assert "C-1" not in found(officer, "refund") and "B-4" not in found(officer, "refund")
    # Every word must match.
    assert found(officer, "refund premium") == {"B-1"}
    # A word beginning finds the words it starts (autocomplete fields: reference, subject).
    assert {"B-1", "B-3"} <= found(officer, "Refu")


def test_old_entries_missing_from_the_index_are_not_found_as_text(officer, org):
    entry("B-1", "Refund of my premium", org["billing"], indexed=False)
    assert found(officer, "refund") == set()


def test_entries_changed_recently_are_found_before_the_index_has_them(officer, org, settings):
    recent = entry("B-1", "Refund of my premium", org["billing"], indexed=False, age_days=0)
    Correspondence.objects.filter(pk=recent.pk).update(updated_at=timezone.now())
    assert found(officer, "refund") == {"B-1"}
    assert found(officer, "efun") == {"B-1"}  # as text: any part of a word
    settings.WAGTAIL_CORRESPONDENCE = {**getattr(settings, "WAGTAIL_CORRESPONDENCE", {}),
                                       "REGISTER": {"SEARCH_INDEX_LAG_MINUTES": 0}}
    assert found(officer, "refund") == set()


def test_matches_are_not_capped_to_the_first_thousands_of_the_register(officer, org, monkeypatch):
    """The old search took at most 5,000 candidates from the whole register, then applied the
    scope: an officer whose entries were not among them found nothing. On the database
    backends the index is a subquery now; only other backends take a list, of at most
    SEARCH_CANDIDATES ids."""
    from wagtail_correspondence import search_backend

    monkeypatch.setattr(search_backend, "SEARCH_CANDIDATES", 2)
    entry("B-1", "Refund", org["billing"])  # the oldest match: last in any list of candidates
    for number in range(6):
        entry(f"C-{number}", "Refund", org["claims"])
    assert found(officer, "refund") == {"B-1"}
    matches = search_backend.index_matches(Correspondence, "refund")
    assert Correspondence.objects.filter(pk__in=matches[0]).count() == 7  # every match, not the first two


def test_a_failing_search_backend_falls_back_to_text(officer, org, monkeypatch):
    from wagtail_correspondence import search_backend

    entry("B-1", "Refund of my premium", org["billing"], indexed=False)

    def broken(*args, **kwargs):
        raise ConnectionError("search cluster down")

    monkeypatch.setattr(search_backend, "index_matches", broken)
    assert found(officer, "refund") == {"B-1"}


def test_api_and_admin_search_use_the_index(client, officer, org):
    entry("B-1", "Refund of my premium", org["billing"])
    entry("B-2", "Invoice", org["billing"])
    client.force_login(officer)
    listing = client.get(API, {"q": "refund"}).json()
    assert [item["reference"] for item in listing["results"]] == ["B-1"] and listing["count"] == 1
    from django.urls import reverse

    page = client.get(reverse("correspondence_register_entries_modeladmin_index"), {"q": "refund"})
    assert 'data-entry="B-1"' in page.content.decode() and 'data-entry="B-2"' not in page.content.decode()


def test_references_and_customer_ids_are_found_as_identifiers(officer, org):
    """Reference numbers are not words to the index: they are matched as identifiers, whole or
    by their beginning, in any case, on entries of any age."""
    old = entry("IN-2026-000123", "Letter", org["billing"], indexed=False)
    Correspondence.objects.filter(pk=old.pk).update(customer_id="C-1004")
    entry("IN-2026-000999", "Letter", org["claims"], indexed=False)  # outside the scope
    assert found(officer, "IN-2026-000123") == {"IN-2026-000123"}
    assert found(officer, "in-2026-0001") == {"IN-2026-000123"}
    assert found(officer, "IN-2026") == {"IN-2026-000123"}
    assert found(officer, "c-1004") == {"IN-2026-000123"}
    assert found(officer, "2026-000123") == set()  # not a beginning, and not in the index


@pytest.mark.parametrize("query", ['"', 'refund"', "'", "AND", "NEAR(", "*", "a OR", "^x", "-", ":", "{x}", "\\"])
def test_any_typed_query_answers_and_finds_as_text_when_the_index_cannot_parse_it(client, officer, org, query):
    """A lone quote is an FTS5 syntax error: the index's answer is then left out and the word is
    matched as text, instead of a 500 (the list's own query would have failed)."""
    entry("B-1", 'Asked for a "refund"', org["billing"])
    client.force_login(officer)
    assert client.get(API, {"q": query}).status_code == 200
    assert client.get("/admin/correspondence/register/entries/", {"q": query}).status_code == 200
    if query == 'refund"':
        assert found(officer, query) == {"B-1"}  # found as text in every entry
