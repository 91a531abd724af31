"""Letter permissions for the roles: agents and officers build letters, supervisors and
auditors read them, administrators do everything. Frozen here; later changes get their own
migration."""

from django.db import migrations

APP = "wagtail_correspondence"

LETTER_PERMISSIONS = {
    "Agents": {"letter": ["add", "change", "view"]},
    "Correspondence officers": {"letter": ["add", "change", "view"]},
    "Supervisors": {"letter": ["view"]},
    "Auditors": {"letter": ["view"], "letterfragmentpin": ["view"], "referencesequence": ["view"]},
    "Administrators": {"letter": ["add", "change", "delete", "view"], "letterfragmentpin": ["view"],
                       "referencesequence": ["view"]},
}


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for role, models in LETTER_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for model, actions in models.items():
            content_type, _ = ContentType.objects.get_or_create(app_label=APP, model=model)
            for action in actions:
                permission, _ = Permission.objects.get_or_create(
                    content_type=content_type, codename=f"{action}_{model}",
                    defaults={"name": f"Can {action} {model}"})
                group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label=APP,
                              content_type__model__in=["letter", "letterfragmentpin", "referencesequence"]).delete()


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0003_letters")]

    operations = [migrations.RunPython(grant, revoke)]
