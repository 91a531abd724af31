"""Auditors and administrators browse, export and verify the whole audit log."""

from django.db import migrations

ROLES = ["Auditors", "Administrators"]


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="wagtail_correspondence", model="auditchainhead")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="view_audit_log",
        defaults={"name": "Can browse, export and verify the whole audit log"})
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(permission)


class Migration(migrations.Migration):

    dependencies = [
        ('wagtail_correspondence', '0016_retention_and_legal_hold'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='auditchainhead',
            options={'permissions': [('view_audit_log', 'Can browse, export and verify the whole audit log')], 'verbose_name': 'audit chain head'},
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
