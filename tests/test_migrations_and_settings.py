"""Real migrations on an empty database, migrations in step with models, production settings."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "site" / "manage.py")]


def run(args, env_overrides, check=True):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "SECRET_KEY", "DEBUG")}
    env.update(env_overrides)
    return subprocess.run(args, env=env, capture_output=True, text=True, check=check, cwd=ROOT, timeout=300)


@pytest.mark.migrations
def test_migrations_run_on_an_empty_database_and_create_roles_and_workflow(tmp_path):
    database = tmp_path / "empty.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev"}
    run(MANAGE + ["migrate", "--noinput", "-v0"], env)
    run(MANAGE + ["correspondence_setup"], env)
    with sqlite3.connect(database) as connection:
        groups = {name for (name,) in connection.execute("select name from auth_group")}
        workflows = connection.execute(
            "select ct.model, w.name from wagtailcore_workflowcontenttype wct "
            "join django_content_type ct on ct.id = wct.content_type_id "
            "join wagtailcore_workflow w on w.id = wct.workflow_id").fetchall()
        library = connection.execute(
            "select w.name from wagtailcore_workflowpage wp join wagtailcore_workflow w on w.id = wp.workflow_id "
            "join wagtailcore_page p on p.id = wp.page_id where p.slug = 'letter-templates'").fetchall()
        author_perms = {codename for (codename,) in connection.execute(
            "select p.codename from auth_group_permissions gp join auth_permission p on p.id = gp.permission_id "
            "join auth_group g on g.id = gp.group_id where g.name = 'Content authors'")}
    assert {"Content authors", "Content reviewers", "Agents", "Correspondence officers", "Supervisors", "Auditors",
            "Administrators", "Letter approvers"} <= groups
    assert sorted(workflows) == [("enclosure", "Legal review"), ("fragment", "Legal review"),
                                 ("layout", "Legal review")]
    assert library == [("Legal review",)]
    assert {"add_fragment", "change_fragment", "access_admin", "add_enclosure", "change_enclosure"} <= author_perms
    assert "publish_fragment" not in author_perms and "publish_enclosure" not in author_perms
    # Re-running is harmless.
    run(MANAGE + ["migrate", "--noinput", "-v0"], env)
    run(MANAGE + ["correspondence_setup"], env)


@pytest.mark.migrations
def test_migrations_and_demo_run_on_postgresql(tmp_path):
    """The production database: the real migrations, the demo and a generated letter."""
    import psycopg
    from django.conf import settings

    server = settings.DATABASES["postgres"]
    name = f"wc_migrations_{os.getpid()}"
    admin = dict(host=server["HOST"], port=server["PORT"] or 5432, user=server["USER"], dbname=server["NAME"],
                 password=server["PASSWORD"] or None, autocommit=True)
    with psycopg.connect(**admin) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://{server['USER']}@{server['HOST']}:{admin['port']}/{name}"
    env = {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev",
           "PRIVATE_STORAGE_ROOT": str(tmp_path), "MEDIA_ROOT": str(tmp_path / "media")}
    try:
        run(MANAGE + ["migrate", "--noinput", "-v0"], env)
        run(MANAGE + ["correspondence_demo"], env)  # with the register: ~200 entries and a few letters
        code = ("from django.contrib.auth import get_user_model; from wagtail_correspondence.models import "
                "LetterTemplatePage, Letter, Correspondence; from wagtail_correspondence.services import letters as s; "
                "agent = get_user_model().objects.get(username='agent'); "
                "page = LetterTemplatePage.objects.get(slug='payment-reminder', locale__language_code='en'); "
                "last = max(int(r[-6:]) for r in [*Correspondence.objects.filter(direction='outbound')"
                ".values_list('reference', flat=True), *Letter.objects.exclude(reference=None)"
                ".values_list('reference', flat=True)]); "
                "new = s.generate_letter(agent, s.LetterRequest(template=page, customer_id='C-1004')); "
                "unsealed = Letter.objects.filter(status='generated', pdf_sealed_by='').count(); "
                "print(Correspondence.objects.count() > 150, s.check_letter_pdf(new).ok, unsealed, last, "
                "new.reference)")
        result = run(MANAGE + ["shell", "-c", code], env)
        has_register, sealed, unsealed, last_outbound, reference = result.stdout.split()[-5:]
        assert has_register == "True", result.stdout + result.stderr
        # The demo made its seal: its letters and the one generated afterwards are sealed.
        assert (tmp_path / "demo-seal" / "seal.p12").exists()
        assert sealed == "True" and unsealed == "0", result.stdout + result.stderr
        # The outbound counter (letters, held ones included, and other outbound entries) goes on
        # without a gap.
        assert reference.endswith(f"-{int(last_outbound) + 1:06d}"), result.stdout + result.stderr
    finally:
        with psycopg.connect(**admin) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.migrations
def test_models_and_migrations_agree(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev"}
    result = run(MANAGE + ["makemigrations", "--check", "--dry-run", "wagtail_correspondence"], env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_a_missing_or_weak_secret_key():
    code = "import django; django.setup()"
    env = {"DJANGO_SETTINGS_MODULE": "correspondence_site.settings.production", "PYTHONPATH": f"{ROOT}/site:{ROOT}"}
    result = run([sys.executable, "-c", code], env, check=False)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
    result = run([sys.executable, "-c", code], {**env, "SECRET_KEY": "changeme"}, check=False)
    assert "SECRET_KEY must be set" in result.stderr
    result = run([sys.executable, "-c", code], {**env, "SECRET_KEY": "x" * 50, "DEBUG": "true"}, check=False)
    assert "DEBUG must be off" in result.stderr
    result = run([sys.executable, "-c", code + "; from django.conf import settings; print(settings.DEBUG)"],
                 {**env, "SECRET_KEY": "k" * 50}, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_settings_come_from_the_environment():
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['ENGINE'], settings.ALLOWED_HOSTS, settings.DEBUG)")
    env = {"DJANGO_SETTINGS_MODULE": "correspondence_site.settings.production", "PYTHONPATH": f"{ROOT}/site:{ROOT}",
           "SECRET_KEY": "k" * 50, "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db",
           "ALLOWED_HOSTS": "letters.example.org,api.example.org"}
    result = run([sys.executable, "-c", code], env)
    assert result.stdout.strip() == ("django.db.backends.postgresql ['letters.example.org', 'api.example.org'] "
                                     "False")
    result = run([sys.executable, "-c", code], {**env, "DEBUG": "maybe"}, check=False)
    assert "DEBUG must be true or false" in result.stderr
