import json
import logging
import os

import pytest
from django_tasks.signals import task_finished

from wagtail_correspondence import roles
from wagtail_correspondence.customers import reset_customer_source

from . import factories, live_server
from .world import batches, entries, letters, library, world  # noqa: F401 (the access-control world's fixtures)


def _report_failed_task(sender, task_result, **kwargs):
    """The immediate task backend keeps a task's exception in its result and says nothing: a
    journey that waits for an email or a batch check would only time out. Logged here, the
    traceback is in the report of the test it broke (pytest's captured log)."""
    if task_result.errors:
        logging.getLogger("tests.tasks").error("Task %s%s failed:\n%s", task_result.task.name,
                                               tuple(task_result.args), task_result.errors[-1].traceback)


task_finished.connect(_report_failed_task)
live_server.install()  # before pytest-django starts it: one request at a time


@pytest.fixture(scope="session")
def moto_server():
    """S3 and SNS as AWS answers them, on loopback, for the whole run; reset per test."""
    from .aws import MotoServer

    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch):
    from .aws import CREDENTIALS

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    moto_server.reset()
    return moto_server


@pytest.fixture(autouse=True)
def _own_archive(settings, tmp_path):
    """Each test archives into a folder of its own: reference numbers start again with every
    test database, and the archive refuses to overwrite a different letter."""
    settings.STORAGES = {**settings.STORAGES, **{name: {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / name), "base_url": None}} for name in ("archive", "print")}}


@pytest.fixture(autouse=True)
def _fresh_customer_source():
    reset_customer_source()
    yield
    reset_customer_source()


@pytest.fixture(scope="session")
def _migrated_data(django_db_setup, django_db_blocker):
    from django.db import connection

    with django_db_blocker.unblock():
        return connection.creation.serialize_db_to_string()


@pytest.fixture(autouse=True)
def _migrated_data_present(request, django_db_blocker):
    """Transactional tests (browser journeys, concurrency) end with a flush that also empties
    what the migrations created: roles, Wagtail's root page and site, the review workflow.
    Every database test starts by putting it back if it is gone.

    Not ``serialized_rollback``: while Playwright's sync API runs, test code sees another
    ``connections["default"]`` object (asgiref's Local follows the greenlet's context), one
    without the contents pytest-django stored, so that option silently does nothing here."""
    uses_db = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in ("db", "transactional_db", "live_server"))
    if uses_db:
        snapshot = request.getfixturevalue("_migrated_data")
        from django.contrib.auth.models import Group
        from django.contrib.contenttypes.models import ContentType
        from django.core.cache import cache
        from django.core.management import call_command
        from django.db import connection

        with django_db_blocker.unblock():
            if not Group.objects.exists():
                # The flush re-created content types and permissions (post_migrate) under new
                # ids: empty the tables without that, then load the snapshot, as Django does.
                call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
                connection.creation.deserialize_db_from_string(snapshot)
                ContentType.objects.clear_cache()  # it still maps the flushed ids
                cache.clear()
    yield


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: what one test counted (the dashboard's volumes,
    cached per scope) is no answer for the next test's data."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def customers(settings, tmp_path):
    """Installs a customer data source holding the given records; call it again to replace them."""

    def install(*records):
        path = tmp_path / "customers.json"
        path.write_text(json.dumps(list(records)))
        settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CUSTOMER_DATA_SOURCE": {
            "BACKEND": "wagtail_correspondence.customers.JSONFileCustomerSource", "OPTIONS": {"path": str(path)}}}

    return install


@pytest.fixture
def one_customer(customers):
    """The sample customer, C-1001, as the only record of the customer data source."""
    customers(factories.SAMPLE_DATA)


@pytest.fixture
def customer_dictionary(db):
    return factories.dictionary()


@pytest.fixture
def standard_layout(db):
    return factories.layout()


@pytest.fixture
def make_user(db):
    return factories.user


@pytest.fixture
def billing_and_claims(db):
    """Head office, with Billing and Claims below it (the register's scope tests)."""
    from wagtail_correspondence.models import Department

    head = Department.add_root(name="Head office", code="head")
    billing = head.add_child(name="Billing", code="billing")
    head = Department.objects.get(pk=head.pk)
    claims = head.add_child(name="Claims", code="claims")
    return {"billing": billing, "claims": claims}


@pytest.fixture
def billing_officer(billing_and_claims, make_user):
    """An officer of Billing: Billing's entries in scope, Claims' not."""
    from wagtail_correspondence import roles

    user = make_user("officer", roles.OFFICERS)
    billing_and_claims["billing"].members.add(user)
    return user


@pytest.fixture
def agent(make_user):
    return make_user("agent", roles.AGENTS)


@pytest.fixture(scope="session")
def artifacts_dir():
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artifacts")
    os.makedirs(path, exist_ok=True)
    return path
