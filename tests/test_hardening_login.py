"""The login rate limit (django-axes), with the site's real settings: after AXES_FAILURE_LIMIT
failed logins for one username from one address, that pair is refused with a clear 429 (even
with the right password) until the cool-off has passed; other addresses and other usernames
are not affected; a forged X-Forwarded-For is no fresh address; the API has no password login
to go around it."""

import base64

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone

from wagtail_correspondence import roles

from . import factories

LOGIN = "/admin/login/"
ATTACKER = "203.0.113.7"
LOCKED_MESSAGE = "Account locked: too many login attempts"


@pytest.fixture(autouse=True)
def login_rate_limit(settings):
    """Off in the test settings (other tests check passwords without a request); on here,
    with every limit as base.py sets it."""
    settings.AXES_ENABLED = True


@pytest.fixture
def officer(make_user):
    return make_user("olga", roles.OFFICERS)


def attempt(client, username, password, address=ATTACKER, url=LOGIN, **headers):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def logged_in(response):
    return response.status_code == 302 and response["Location"] == "/admin/"


def fail_until_locked(client, username, address=ATTACKER, url=LOGIN, **headers):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = attempt(client, username, "wrong-password", address, url, **headers)
        assert response.status_code != 302
    return response


def test_the_limit_and_cool_off_are_the_documented_ones():
    # What docs/deployment.md promises when no environment variable changes it.
    assert (settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds()) == (5, 15 * 60)
    assert settings.AUTHENTICATION_BACKENDS[0].startswith("axes.backends.")
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_failed_logins_lock_the_username_from_that_address(client, officer):
    # One failure short of the limit, the right password still works and clears the count.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "olga", "wrong-password").status_code == 200
    assert logged_in(attempt(client, "olga", factories.PASSWORD))
    client.logout()

    fail_until_locked(client, "olga")
    response = attempt(client, "olga", factories.PASSWORD)
    assert response.status_code == 429 and LOCKED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # not logged in: sent to the login page

    # The owner of the account, elsewhere, is not locked out by someone guessing.
    assert logged_in(attempt(client, "olga", factories.PASSWORD, address="198.51.100.20"))


def test_another_username_from_the_same_address_is_not_locked(client, officer, make_user):
    make_user("victor", roles.OFFICERS)
    fail_until_locked(client, "olga")
    assert logged_in(attempt(client, "victor", factories.PASSWORD))


def test_the_lockout_ends_after_the_cool_off(client, officer):
    fail_until_locked(client, "olga")
    assert attempt(client, "olga", factories.PASSWORD).status_code == 429
    # The cool-off has passed (the attempt is dated back rather than the clock moved).
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME
                                 - timezone.timedelta(seconds=1))
    assert logged_in(attempt(client, "olga", factories.PASSWORD))


def test_a_forged_forwarded_for_header_is_no_new_address(client, officer):
    for number in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "olga", "wrong-password", HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")
    response = attempt(client, "olga", factories.PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.99")
    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_client_address_counts(client, officer, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    # What the client put in the header (left of the proxy's entry) changes nothing.
    for number in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "olga", "wrong-password", proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}, {ATTACKER}")
    assert attempt(client, "olga", factories.PASSWORD, proxy,
                   HTTP_X_FORWARDED_FOR=f"192.0.2.99, {ATTACKER}").status_code == 429
    # Another client behind the same proxy logs in.
    assert logged_in(attempt(client, "olga", factories.PASSWORD, proxy, HTTP_X_FORWARDED_FOR="198.51.100.20"))


def test_there_is_no_other_password_login(client, make_user):
    """Django's own admin is not routed: the Wagtail admin's login is the only one."""
    make_user("root", superuser=True)
    assert client.post("/django-admin/login/", {"username": "root", "password": factories.PASSWORD}).status_code == 404


def test_the_api_takes_no_password(client, officer):
    """No password login in the API: HTTP Basic with the right password is not accepted, so
    the API cannot be used to guess passwords past the limit."""
    credentials = base64.b64encode(f"olga:{factories.PASSWORD}".encode()).decode()
    response = client.get("/api/correspondence/v1/me/", HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert response.status_code == 401
    assert not AccessAttempt.objects.exists()  # not even seen as a login attempt
