import os

import pytest

from wagtail_correspondence.customers import reset_customer_source

from . import factories


@pytest.fixture(autouse=True)
def _fresh_customer_source():
    reset_customer_source()
    yield
    reset_customer_source()


@pytest.fixture
def customer_dictionary(db):
    return factories.dictionary()


@pytest.fixture
def standard_layout(db):
    return factories.layout()


@pytest.fixture
def make_user(db):
    return factories.user


@pytest.fixture(scope="session")
def artifacts_dir():
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artifacts")
    os.makedirs(path, exist_ok=True)
    return path
