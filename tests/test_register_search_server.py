"""Register search when the search index lives on a search server (OpenSearch or
Elasticsearch, through Wagtail's own backends) instead of the database: the server only
proposes candidates (at most ``SEARCH_CANDIDATES`` per word), the user's scope still decides
what is shown.

The real-server test needs a server: neither OpenSearch nor Elasticsearch is packaged for
Debian 12, and this machine reaches no registry of container images, so it runs only when
``TEST_OPENSEARCH_URL`` (OpenSearch 2) is set and skips, saying so, otherwise. The other
test stands a fake backend in for the server (``FakeSearchServerBackend``, named as such):
it answers as Wagtail's server backends do, with results that are a list and no queryset.
"""

import datetime
import os

import pytest
from django.utils import timezone

from wagtail_correspondence import search_backend
from wagtail_correspondence.models import Correspondence, Direction
from wagtail_correspondence.services.register_access import search_entries, visible_entries


SERVER = os.environ.get("TEST_OPENSEARCH_URL", "")


# The department tree and officer of conftest, under this module's shorter names.
org = pytest.fixture(name="org")(lambda billing_and_claims: billing_and_claims)
officer = pytest.fixture(name="officer")(lambda billing_officer: billing_officer)


def old_entry(reference, subject, department):
    entry = Correspondence.objects.create(reference=reference, subject=subject, department=department,
                                          direction=Direction.INBOUND)
    Correspondence.objects.filter(pk=entry.pk).update(updated_at=timezone.now() - datetime.timedelta(days=30))
    return entry


class FakeSearchServerBackend:
    """A stand-in for a search server's backend (no server can run here): ``search`` and
    ``autocomplete`` answer with a plain list of the entries whose subject holds the word,
    newest first, as a server's results are a list with no queryset behind them."""

    def __init__(self):
        self.asked = []

    def _results(self, word, queryset):
        self.asked.append(word)
        return [entry for entry in queryset.order_by("-pk") if word.lower() in entry.subject.lower()]

    def search(self, word, queryset, **kwargs):
        return self._results(word, queryset)

    def autocomplete(self, word, queryset, **kwargs):
        return self._results(word, queryset)


def test_a_search_server_proposes_candidates_and_the_scope_decides(officer, org, monkeypatch):
    fake = FakeSearchServerBackend()
    monkeypatch.setattr("wagtail.search.backends.get_search_backend", lambda *args, **kwargs: fake)
    billing = old_entry("B-1", "Refund of my premium", org["billing"])
    old_entry("C-1", "Refund for the claim", org["claims"])
    old_entry("B-2", "Invoice", org["billing"])
    found = set(search_entries(visible_entries(officer), "refund").values_list("reference", flat=True))
    assert found == {billing.reference} and fake.asked == ["refund", "refund"]

    # At most SEARCH_CANDIDATES ids per word come back from a server (the newest here): an
    # older match beyond them is not found, which is why the database backends use subqueries.
    monkeypatch.setattr(search_backend, "SEARCH_CANDIDATES", 1)
    old_entry("B-3", "Refund again", org["billing"])
    found = set(search_entries(visible_entries(officer), "refund").values_list("reference", flat=True))
    assert found == {"B-3"}


@pytest.mark.skipif(not SERVER, reason="No OpenSearch server: none is packaged for Debian 12 and no container "
                                       "image can be fetched here. Set TEST_OPENSEARCH_URL=http://host:9200 "
                                       "(OpenSearch 2, with opensearch-py installed) to run this test.")
def test_search_through_a_real_opensearch_server(officer, org, settings):
    pytest.importorskip("opensearchpy", reason="opensearch-py is not installed (pip install 'opensearch-py>=2,<3')")
    from wagtail.search.backends import get_search_backend

    settings.WAGTAILSEARCH_BACKENDS = {"default": {
        "BACKEND": "wagtail.search.backends.opensearch2", "URLS": [SERVER],
        "INDEX": "test_wagtail_correspondence", "AUTO_UPDATE": False}}
    backend = get_search_backend()
    backend.reset_index()
    entries = [old_entry("B-1", "Refund of my premium", org["billing"]),
               old_entry("C-1", "Refund for the claim", org["claims"]),
               old_entry("B-2", "Invoice", org["billing"])]
    index = backend.get_index_for_model(Correspondence)
    index.add_model(Correspondence)
    index.add_items(Correspondence, entries)
    index.refresh()
    found = set(search_entries(visible_entries(officer), "refund").values_list("reference", flat=True))
    assert found == {"B-1"}
    backend.reset_index()
