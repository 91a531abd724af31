"""API throttling: past the rate, 429 with Retry-After; counted per user, and per client
address for anonymous requests (which a forged X-Forwarded-For does not change)."""

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from wagtail_correspondence import roles

API = "/api/correspondence/v1/"


@pytest.fixture
def low_rates(monkeypatch):
    """DRF reads the rates once, at import, into the throttle class: lowered there for the test,
    from an empty cache (the counts of other tests live in it too)."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "2/minute"})
    cache.clear()
    yield
    cache.clear()


def token_for(user):
    return f"Token {Token.objects.create(user=user).key}"


def test_the_configured_rates_are_the_ones_applied():
    assert SimpleRateThrottle.THROTTLE_RATES == settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert SimpleRateThrottle.THROTTLE_RATES == {"anon": "120/minute", "user": "1200/minute",
                                                 "service": "60000/minute"}


@pytest.mark.usefixtures("low_rates")
def test_a_user_over_the_rate_gets_429_with_retry_after(client, make_user):
    alice = token_for(make_user("alice", roles.AGENTS))
    bob = token_for(make_user("bob", roles.AGENTS))
    assert [client.get(API + "me/", HTTP_AUTHORIZATION=alice).status_code for _ in range(3)] == [200] * 3
    response = client.get(API + "me/", HTTP_AUTHORIZATION=alice)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"].lower()
    # Every endpoint shares the user's count.
    assert client.get(API + "fragments/", HTTP_AUTHORIZATION=alice).status_code == 429
    # Per user: another one from the same address is not affected.
    assert client.get(API + "me/", HTTP_AUTHORIZATION=bob).status_code == 200
    # The same user through the admin's session is the same user.
    client.force_login(make_user("carol", roles.AGENTS))
    assert [client.get(API + "me/").status_code for _ in range(4)] == [200, 200, 200, 429]


@pytest.mark.usefixtures("low_rates")
def test_api_integration_accounts_have_their_own_higher_rate(client, make_user, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "service", "6/minute")
    crm = token_for(make_user("crm", roles.AGENTS, roles.API_INTEGRATIONS))
    person = token_for(make_user("dora", roles.AGENTS))
    # The integration passes the people's rate (3) and stops at its own (6).
    assert [client.get(API + "me/", HTTP_AUTHORIZATION=crm).status_code for _ in range(7)] == [200] * 6 + [429]
    # Its count is its own: a person on the same address still has the full people's rate.
    assert [client.get(API + "me/", HTTP_AUTHORIZATION=person).status_code for _ in range(4)] == [200] * 3 + [429]


def test_the_integration_role_grants_no_permission(make_user, db):
    from django.contrib.auth.models import Group

    role = Group.objects.get(name=roles.API_INTEGRATIONS)
    assert not role.permissions.exists()
    assert not make_user("bare-integration", roles.API_INTEGRATIONS).has_perm("wagtail_correspondence.add_letter")


@pytest.mark.usefixtures("low_rates")
def test_anonymous_requests_are_counted_per_address(client, db, monkeypatch):
    # The delivery receipts are the API's one door open to anonymous callers (the schema and its
    # docs want a login; refused callers are not counted, DRF checks permissions first): an
    # unsigned notice is refused (403), and counted per address, at a rate lowered here.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "sns_receipts", "2/minute")
    receipts = API + "delivery-receipts/sns/"

    def post(**meta):
        return client.post(receipts, data="{}", content_type="application/json", **meta).status_code

    assert [post(REMOTE_ADDR="203.0.113.7") for _ in range(2)] == [403, 403]
    assert post(REMOTE_ADDR="203.0.113.7") == 429
    assert post(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1") == 429
    assert post(REMOTE_ADDR="198.51.100.20") == 403


@pytest.mark.usefixtures("low_rates")
def test_sns_receipts_have_a_rate_of_their_own(client, db, monkeypatch):
    """Amazon's bursts of receipts do not meet the anonymous rate (2 a minute here); they have
    their own, which holds when set."""
    post = lambda: client.post(API + "delivery-receipts/sns/", data="{}", content_type="text/plain")  # noqa: E731
    assert [post().status_code for _ in range(4)] == [403] * 4  # refused as unsigned, never throttled
    rates = {"user": "3/minute", "anon": "2/minute", "sns_receipts": "3/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    assert [post().status_code for _ in range(4)] == [403, 403, 403, 429]
