"""Roles (groups with permissions) and the "Legal review" workflow for fragments and layouts.

The permission table is frozen here on purpose: later changes to roles get their own migration.
Permissions are created when missing because Django and Wagtail only add them after all
migrations have run.
"""

from django.db import migrations

APP = "wagtail_correspondence"

ROLE_PERMISSIONS = {
    "Content authors": {
        APP: {"fragment": ["add", "change", "view", "lock", "unlock"], "layout": ["add", "change", "view", "lock", "unlock"],
              "datadictionary": ["add", "change", "view"], "datafield": ["add", "change", "delete", "view"],
              "sampledataset": ["add", "change", "delete", "view"], "contentcategory": ["add", "change", "view"],
              "department": ["view"]},
        "wagtailimages": {"image": ["add", "change", "choose"]},
        "wagtaildocs": {"document": ["add", "choose"]},
        "wagtailadmin": {"admin": ["access"]},
    },
    "Content reviewers": {
        APP: {"fragment": ["change", "view", "publish", "lock", "unlock"],
              "layout": ["change", "view", "publish", "lock", "unlock"],
              "datadictionary": ["change", "view"], "datafield": ["add", "change", "delete", "view"],
              "sampledataset": ["add", "change", "delete", "view"], "contentcategory": ["view"],
              "department": ["view"]},
        "wagtailimages": {"image": ["choose"]},
        "wagtailadmin": {"admin": ["access"]},
    },
    "Agents": {
        APP: {"fragment": ["view"], "layout": ["view"], "datadictionary": ["view"], "department": ["view"]},
        "wagtailadmin": {"admin": ["access"]},
    },
    "Correspondence officers": {
        APP: {"datadictionary": ["view"], "department": ["view"]},
        "wagtailadmin": {"admin": ["access"]},
    },
    "Supervisors": {
        APP: {"fragment": ["view"], "layout": ["view"], "datadictionary": ["view"], "contentcategory": ["view"],
              "department": ["add", "change", "view"]},
        "wagtailadmin": {"admin": ["access"]},
    },
    "Auditors": {
        APP: {"fragment": ["view"], "layout": ["view"], "datadictionary": ["view"], "datafield": ["view"],
              "sampledataset": ["view"], "contentcategory": ["view"], "department": ["view"]},
        "wagtailadmin": {"admin": ["access"]},
    },
    "Administrators": {
        APP: {model: ["add", "change", "delete", "view"] + extra for model, extra in [
            ("fragment", ["publish", "lock", "unlock"]), ("layout", ["publish", "lock", "unlock"]),
            ("datadictionary", []), ("datafield", []), ("sampledataset", []), ("contentcategory", []),
            ("department", [])]},
        "wagtailimages": {"image": ["add", "change", "delete", "choose"]},
        "wagtaildocs": {"document": ["add", "change", "delete", "choose"]},
        "wagtailcore": {"workflow": ["add", "change", "delete"], "task": ["add", "change", "delete"]},
        "auth": {"user": ["add", "change", "delete", "view"], "group": ["add", "change", "delete", "view"]},
        "wagtailadmin": {"admin": ["access"]},
    },
}

REVIEW_WORKFLOW = "Legal review"
REVIEW_TASK = "Legal approval"
REVIEWED_MODELS = ["fragment", "layout"]


def get_permission(apps, app_label, model, action):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
    codename = f"{action}_{model}"
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=codename,
        defaults={"name": f"Can {action} {model}" if model != "admin" else "Can access Wagtail admin"},
    )
    return permission


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role, apps_perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, models in apps_perms.items():
            for model, actions in models.items():
                group.permissions.add(*[get_permission(apps, app_label, model, action) for action in actions])


def create_review_workflow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Group = apps.get_model("auth", "Group")
    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    WorkflowContentType = apps.get_model("wagtailcore", "WorkflowContentType")
    GroupApprovalTask = apps.get_model("wagtailcore", "GroupApprovalTask")

    task_type, _ = ContentType.objects.get_or_create(app_label="wagtailcore", model="groupapprovaltask")
    task = GroupApprovalTask.objects.filter(name=REVIEW_TASK).first()
    if task is None:
        task = GroupApprovalTask.objects.create(name=REVIEW_TASK, content_type=task_type, active=True)
    task.groups.add(Group.objects.get(name="Content reviewers"))
    workflow, created = Workflow.objects.get_or_create(name=REVIEW_WORKFLOW, defaults={"active": True})
    if created:
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    for model in REVIEWED_MODELS:
        content_type, _ = ContentType.objects.get_or_create(app_label=APP, model=model)
        WorkflowContentType.objects.update_or_create(content_type=content_type, defaults={"workflow": workflow})


def remove_review_workflow(apps, schema_editor):
    apps.get_model("wagtailcore", "Workflow").objects.filter(name=REVIEW_WORKFLOW).delete()
    apps.get_model("wagtailcore", "Task").objects.filter(name=REVIEW_TASK).delete()


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_correspondence", "0001_initial"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("wagtailimages", "0001_initial"),
        ("wagtaildocs", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_roles, remove_roles),
        migrations.RunPython(create_review_workflow, remove_review_workflow),
    ]
