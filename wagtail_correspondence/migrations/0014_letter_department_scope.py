"""Letters belong to a department: users who may view letters see those of their department
subtree; supervisors, auditors and administrators see every department's letters."""

import django.db.models.deletion
from django.db import migrations, models

WIDE_SCOPE_ROLES = ["Supervisors", "Auditors", "Administrators"]


def grant_and_backfill(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    Letter = apps.get_model("wagtail_correspondence", "Letter")
    Department = apps.get_model("wagtail_correspondence", "Department")
    content_type, _ = ContentType.objects.get_or_create(app_label="wagtail_correspondence", model="letter")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="view_all_letters",
        defaults={"name": "Can view the letters of every department"})
    for group in Group.objects.filter(name__in=WIDE_SCOPE_ROLES):
        group.permissions.add(permission)
    # Existing letters: the department of the entry they answer, else of their register
    # entry, else the first department of the user who wrote them (as new letters get).
    for letter in Letter.objects.filter(department__isnull=True).select_related("in_reply_to"):
        department_id = letter.in_reply_to.department_id if letter.in_reply_to_id else None
        if department_id is None:
            entry = apps.get_model("wagtail_correspondence", "Correspondence").objects.filter(
                letter_id=letter.pk).values_list("department_id", flat=True).first()
            department_id = entry
        if department_id is None and letter.created_by_id:
            department_id = Department.objects.filter(members__pk=letter.created_by_id).order_by(
                "path").values_list("pk", flat=True).first()
        if department_id is not None:
            Letter.objects.filter(pk=letter.pk).update(department_id=department_id)


class Migration(migrations.Migration):

    dependencies = [
        ('wagtail_correspondence', '0013_audit_chain'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='letter',
            options={'ordering': ['-created_at', '-pk'], 'permissions': [('view_all_letters', 'Can view the letters of every department')], 'verbose_name': 'letter', 'verbose_name_plural': 'letters'},
        ),
        migrations.AddField(
            model_name='letter',
            name='department',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='letters', to='wagtail_correspondence.department', verbose_name='department'),
        ),
        migrations.RunPython(grant_and_backfill, migrations.RunPython.noop),
    ]
