"""Agents work entries (and pick their category in the entry's form) but do not browse the
register's settings: the category list is for officers, supervisors, auditors and
administrators, like routing rules and SLA policies (docs/security.md)."""

from django.db import migrations


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    agents = Group.objects.filter(name="Agents").first()
    if agents is not None:
        agents.permissions.remove(*Permission.objects.filter(
            content_type__app_label="wagtail_correspondence", codename="view_category"))


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    agents = Group.objects.filter(name="Agents").first()
    if agents is not None:
        agents.permissions.add(*Permission.objects.filter(
            content_type__app_label="wagtail_correspondence", codename="view_category"))


class Migration(migrations.Migration):

    dependencies = [
        ("wagtail_correspondence", "0017_audit_log_permission"),
    ]

    operations = [
        migrations.RunPython(revoke, grant),
    ]
