"""Four-eyes review: the review workflow's approval task becomes a FourEyesReviewTask.

The existing group approval task is converted in place (a row of the new table under the same
id, and its content type switched), so it keeps its name, its groups, its place in every
workflow and its task states, including reviews in progress, which then follow the four-eyes
rule too. Converted: the group approval tasks of every workflow that reviews fragments, layouts
or the template library, and of the "Legal review" workflow.

Permissions are left as they are: ``publish_fragment``, ``publish_layout`` and the library's
``publish_page`` still allow withdrawing (unpublishing) content, and, with
WAGTAIL_CORRESPONDENCE["FOUR_EYES"] set to False, publishing directly; with four-eyes on,
publishing itself is refused to everyone outside the workflow whatever they hold.
"""

import django.db.models.deletion
from django.db import migrations, models

APP = "wagtail_correspondence"
REVIEW_WORKFLOW = "Legal review"
REVIEWED_SNIPPETS = ["fragment", "layout"]
REVIEWED_PAGES = ["templatelibrarypage", "templatefolderpage", "lettertemplatepage"]


def review_workflow_ids(apps):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowContentType = apps.get_model("wagtailcore", "WorkflowContentType")
    WorkflowPage = apps.get_model("wagtailcore", "WorkflowPage")
    snippet_types = ContentType.objects.filter(app_label=APP, model__in=REVIEWED_SNIPPETS)
    page_types = ContentType.objects.filter(app_label=APP, model__in=REVIEWED_PAGES)
    ids = set(Workflow.objects.filter(name=REVIEW_WORKFLOW).values_list("pk", flat=True))
    ids |= set(WorkflowContentType.objects.filter(content_type__in=snippet_types).values_list("workflow_id", flat=True))
    ids |= set(WorkflowPage.objects.filter(page__content_type__in=page_types).values_list("workflow_id", flat=True))
    return ids


def group_approval_tasks(apps):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Task = apps.get_model("wagtailcore", "Task")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    plain_type = ContentType.objects.filter(app_label="wagtailcore", model="groupapprovaltask").first()
    task_ids = WorkflowTask.objects.filter(workflow_id__in=review_workflow_ids(apps)).values_list("task_id", flat=True)
    return Task.objects.filter(pk__in=list(task_ids), content_type=plain_type)


def convert_review_tasks(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    FourEyesReviewTask = apps.get_model(APP, "FourEyesReviewTask")
    four_eyes_type, _ = ContentType.objects.get_or_create(app_label=APP, model="foureyesreviewtask")
    for task in group_approval_tasks(apps):
        # raw: only the new table's row; the task and group approval rows stay as they are.
        FourEyesReviewTask(groupapprovaltask_ptr_id=task.pk).save_base(raw=True, force_insert=True)
        type(task).objects.filter(pk=task.pk).update(content_type=four_eyes_type)


def restore_group_approval_tasks(apps, schema_editor):
    # The rows of the new table go with it (the reverse of CreateModel, next).
    ContentType = apps.get_model("contenttypes", "ContentType")
    Task = apps.get_model("wagtailcore", "Task")
    FourEyesReviewTask = apps.get_model(APP, "FourEyesReviewTask")
    plain_type, _ = ContentType.objects.get_or_create(app_label="wagtailcore", model="groupapprovaltask")
    Task.objects.filter(pk__in=list(FourEyesReviewTask.objects.values_list("pk", flat=True))).update(
        content_type=plain_type)


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0020_task_leases")]

    operations = [
        migrations.CreateModel(
            name="FourEyesReviewTask",
            fields=[
                ("groupapprovaltask_ptr", models.OneToOneField(
                    auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True,
                    primary_key=True, serialize=False, to="wagtailcore.groupapprovaltask")),
            ],
            options={"verbose_name": "four-eyes approval task", "verbose_name_plural": "four-eyes approval tasks"},
            bases=("wagtailcore.groupapprovaltask",),
        ),
        migrations.RunPython(convert_review_tasks, restore_group_approval_tasks),
    ]
