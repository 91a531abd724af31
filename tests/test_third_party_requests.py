"""No admin page makes the browser contact anyone but the site: no Gravatar avatars (they
send an MD5 hash of each staff member's email address to gravatar.com), no version check
against releases.wagtail.org, no stylesheet, script, image or font from elsewhere. Links a
person may follow (the editor guide) are not requests and are allowed.

Checked by reading every resource URL of the HTML (src, srcset, link href, CSS url(), SVG
image/use, the JSON that Wagtail's sidebar is built from) for each role, and by a browser
that records the host of every request it makes (tests/e2e/test_no_third_party_requests.py)."""

import json
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.core import checks
from django.urls import reverse

from wagtail_correspondence import roles
from wagtail_correspondence.models import Department
from wagtail_correspondence.services import register as register_service

from . import factories

SITE_HOSTS = {None, "testserver", "localhost", "127.0.0.1"}  # None: a path on the site
# Attributes that make a browser fetch on its own (a <link> of any rel: preconnect and
# dns-prefetch contact the host too).
RESOURCE_ATTRIBUTES = {"src", "srcset", "poster", "data", "background", "action", "formaction"}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)""")
# Keys of the sidebar's JSON whose value is a link followed by a click, not a fetch.
LINK_KEYS = {"url"}


class ResourceCollector(HTMLParser):
    """Every URL the page would fetch without a click: (where, url)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._json = None
        self._style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in RESOURCE_ATTRIBUTES:
                urls = [part.strip().split(" ")[0] for part in value.split(",")] if name == "srcset" else [value]
                self.found += [(f"<{tag} {name}>", url) for url in urls]
            elif name == "href" and tag in ("link", "image", "use", "feimage"):
                self.found.append((f"<{tag} href>", value))
            elif name in ("xlink:href",) and tag in ("image", "use"):
                self.found.append((f"<{tag} {name}>", value))
            elif name == "style":
                self.found += [(f"<{tag} style>", url) for url in CSS_URL.findall(value)]
            elif name == "content" and tag == "meta" and "url=" in value.lower():
                self.found.append(("<meta refresh>", value.lower().split("url=", 1)[1]))
        if tag == "script" and dict(attrs).get("type") == "application/json":
            self._json = []
        self._style = tag == "style"

    def handle_data(self, data):
        if self._json is not None:
            self._json.append(data)
        if self._style:
            self.found += [("<style>", url) for url in CSS_URL.findall(data)]

    def handle_endtag(self, tag):
        if tag == "script" and self._json is not None:
            self._walk(json.loads("".join(self._json)), "script json")
            self._json = None
        self._style = False

    def _walk(self, value, where, key=""):
        if isinstance(value, dict):
            for child_key, child in value.items():
                self._walk(child, where, child_key)
        elif isinstance(value, list):
            for child in value:
                self._walk(child, where, key)
        elif isinstance(value, str) and key not in LINK_KEYS and re.match(r"^(https?:)?//", value):
            self.found.append((f"{where} {key}", value))


def outside_requests(html):
    collector = ResourceCollector()
    collector.feed(html)
    return [(where, url) for where, url in collector.found
            if urlsplit(url.strip()).hostname not in SITE_HOSTS and not url.startswith(("data:", "#", "blob:"))]


def test_the_collector_sees_what_a_browser_would_fetch():
    html = """<link rel="preconnect" href="https://fonts.example"><img src="//www.gravatar.com/avatar/x">
    <img srcset="/a.png 1x, https://cdn.example/b.png 2x"><div style="background: url('https://t.example/p')"></div>
    <a href="https://guide.wagtail.org/">guide</a><svg><use href="https://sprites.example/#i"></use></svg>
    <script type="application/json">{"avatarUrl": "//www.gravatar.com/avatar/y", "url": "https://guide.example"}</script>
    <style>body { background: url(/static/ok.png) }</style>"""
    hosts = sorted(urlsplit(url).hostname for _where, url in outside_requests(html))
    assert hosts == ["cdn.example", "fonts.example", "sprites.example", "t.example", "www.gravatar.com",
                     "www.gravatar.com"]


@pytest.fixture
def people(make_user, customer_dictionary):
    department = Department.add_root(instance=Department(name="Customer Service", code="customer-service"))
    users = {
        "author": make_user("author", roles.CONTENT_AUTHORS),
        "reviewer": make_user("reviewer", roles.CONTENT_REVIEWERS),
        "agent": make_user("agent", roles.AGENTS),
        "officer": make_user("officer", roles.OFFICERS),
        "supervisor": make_user("supervisor", roles.SUPERVISORS),
        "auditor": make_user("auditor", roles.AUDITORS),
        "admin": make_user("admin", roles.ADMINISTRATORS),
        "superuser": make_user("root", superuser=True),
    }
    for name in ("agent", "officer", "supervisor"):
        department.members.add(users[name])
    # Other people's avatars appear in histories, assignments and the users list.
    fragment = factories.fragment(customer_dictionary, key="greeting")
    fragment.save_revision(user=users["author"])
    entry = register_service.register_entry(users["supervisor"], subject="A question", kind="letter",
                                            channel="post", department=department, assignee=users["officer"])
    return users, fragment, entry


def pages(fragment, entry):
    return ["/admin/", "/admin/account/", "/admin/users/",
            reverse("wagtailsnippets_wagtail_correspondence_fragment:list"),
            reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk]),
            reverse("wagtailsnippets_wagtail_correspondence_fragment:history", args=[fragment.pk]),
            "/admin/correspondence/letters/", "/admin/correspondence/register/entries/",
            f"/admin/correspondence/register/entries/inspect/{entry.pk}/", "/admin/correspondence/audit-log/"]


@pytest.mark.parametrize("role", ["author", "reviewer", "agent", "officer", "supervisor", "auditor", "admin",
                                  "superuser"])
def test_admin_pages_fetch_nothing_from_outside_the_site(client, people, role):
    users, fragment, entry = people
    client.force_login(users[role])
    rendered = 0
    for url in pages(fragment, entry):
        response = client.get(url)
        if response.status_code != 200:
            continue  # refused to this role: nothing rendered
        rendered += 1
        html = response.content.decode()
        assert not outside_requests(html), (url, outside_requests(html))
        assert "gravatar" not in html.lower(), url
        assert 'data-controller="w-upgrade' not in html, url  # the version check's panel
    assert rendered >= 3, role


def test_avatars_are_the_uploaded_picture_or_the_default_one(people):
    from wagtail.admin.templatetags.wagtailadmin_tags import avatar_url

    users, _fragment, _entry = people
    assert avatar_url(users["officer"]).startswith("/static/wagtailadmin/images/default-user-avatar")


def test_a_check_warns_while_a_setting_would_contact_third_parties(settings):
    def ids():
        return {message.id for message in checks.run_checks(tags=[checks.Tags.security])}

    assert not {"wagtail_correspondence.W030", "wagtail_correspondence.W031"} & ids()
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = "//www.gravatar.com/avatar"
    assert "wagtail_correspondence.W030" in ids()
    del settings.WAGTAIL_GRAVATAR_PROVIDER_URL  # Wagtail's default is Gravatar too
    del settings.WAGTAIL_ENABLE_UPDATE_CHECK
    assert {"wagtail_correspondence.W030", "wagtail_correspondence.W031"} <= ids()
