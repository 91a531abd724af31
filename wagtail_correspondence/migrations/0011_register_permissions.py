"""Register permissions for the roles. Officers register and work entries; supervisors also
see every department, restore earlier values, export, and manage routing and SLA; agents
work the entries of their department; auditors read everything and change nothing."""

from django.db import migrations

APP = "wagtail_correspondence"

WORK = ["add", "change", "view"]
MANAGE = ["add", "change", "delete", "view"]
READ = ["view"]

REGISTER_PERMISSIONS = {
    "Correspondence officers": {
        "correspondence": WORK + ["assign"], "note": ["add", "view"], "attachment": ["add", "view"],
        "category": READ, "routingrule": READ, "slapolicy": READ, "businesscalendar": READ, "slanotice": READ,
    },
    "Supervisors": {
        "correspondence": WORK + ["assign", "view_all", "view_confidential", "restore", "export"],
        "note": ["add", "view"], "attachment": ["add", "view"], "category": MANAGE, "routingrule": MANAGE,
        "slapolicy": MANAGE, "businesscalendar": MANAGE, "slanotice": READ,
    },
    "Agents": {
        "correspondence": ["change", "view"], "note": ["add", "view"], "attachment": ["add", "view"],
        "category": READ,
    },
    "Auditors": {
        "correspondence": READ + ["view_all", "view_confidential", "export"], "note": READ, "attachment": READ,
        "category": READ, "routingrule": READ, "slapolicy": READ, "businesscalendar": READ, "slanotice": READ,
    },
    "Administrators": {
        "correspondence": MANAGE + ["assign", "view_all", "view_confidential", "restore", "export"],
        "note": MANAGE, "attachment": MANAGE, "category": MANAGE, "routingrule": MANAGE, "slapolicy": MANAGE,
        "businesscalendar": MANAGE, "slanotice": READ,
    },
}


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for role, models in REGISTER_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for model, actions in models.items():
            content_type, _ = ContentType.objects.get_or_create(app_label=APP, model=model)
            for action in actions:
                permission, _ = Permission.objects.get_or_create(
                    content_type=content_type, codename=f"{action}_{model}",
                    defaults={"name": f"Can {action.replace('_', ' ')} {model}"})
                group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label=APP, content_type__model__in=[
        model for models in REGISTER_PERMISSIONS.values() for model in models]).delete()


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0010_register")]

    operations = [migrations.RunPython(grant, revoke)]
