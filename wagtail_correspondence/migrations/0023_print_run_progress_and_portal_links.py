"""Letters and portal: portal links record the address of the site a letter was generated
from; print runs are merged by a background task (status, progress, lease); the roles that
send print runs hold "add_printrun": supervisors (the print room) and administrators."""

from django.db import migrations, models

APP = "wagtail_correspondence"
PRINT_RUN_SENDERS = ["Supervisors", "Administrators"]


def grant_print_runs(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label=APP, model="printrun")
    permission, _ = Permission.objects.get_or_create(content_type=content_type, codename="add_printrun",
                                                     defaults={"name": "Can add print run"})
    for role in PRINT_RUN_SENDERS:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(permission)


def revoke_print_runs(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=PRINT_RUN_SENDERS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label=APP, codename="add_printrun"))


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0022_batch_routes_and_data_rules")]
    operations = [
        migrations.AddField(
            model_name="dispatch",
            name="link_origin",
            field=models.CharField(blank=True, max_length=200, verbose_name="link origin"),
        ),
        migrations.AddField(
            model_name='printrun',
            name='error',
            field=models.TextField(blank=True, verbose_name='error'),
        ),
        migrations.AddField(
            model_name='printrun',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='finished at'),
        ),
        migrations.AddField(
            model_name='printrun',
            name='lease_expires_at',
            field=models.DateTimeField(blank=True, db_index=True, null=True, verbose_name='lease expires at'),
        ),
        migrations.AddField(
            model_name='printrun',
            name='letters_merged',
            field=models.PositiveIntegerField(default=0, verbose_name='letters merged'),
        ),
        migrations.AddField(
            model_name='printrun',
            name='resumes',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='automatic resumes'),
        ),
        migrations.AddField(
            model_name='printrun',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='started at'),
        ),
        migrations.AddField(
            model_name='printrun',
            name='status',
            field=models.CharField(
                choices=[('queued', 'Waiting for a worker'), ('running', 'Merging letters'),
                         ('done', 'Sent to the print room'), ('failed', 'Failed')],
                db_index=True, default='done', max_length=20, verbose_name='status'),
        ),
        migrations.AddField(
            model_name='printrun',
            name='task_id',
            field=models.CharField(blank=True, max_length=64, verbose_name='task'),
        ),
        migrations.AddField(
            model_name='printrun',
            name='worker_id',
            field=models.CharField(blank=True, max_length=100, verbose_name='worker'),
        ),
        migrations.AlterField(
            model_name='printrun',
            name='letter_count',
            field=models.PositiveIntegerField(default=0, verbose_name='letters'),
        ),
        migrations.AlterField(
            model_name='printrun',
            name='manifest_path',
            field=models.CharField(blank=True, max_length=255, verbose_name='manifest'),
        ),
        migrations.AlterField(
            model_name='printrun',
            name='page_count',
            field=models.PositiveIntegerField(default=0, verbose_name='pages'),
        ),
        migrations.AlterField(
            model_name='printrun',
            name='pdf_path',
            field=models.CharField(blank=True, max_length=255, verbose_name='merged PDF'),
        ),
        migrations.AlterField(
            model_name='printrun',
            name='pdf_sha256',
            field=models.CharField(blank=True, max_length=64, verbose_name='SHA-256 of the PDF'),
        ),
        migrations.AlterField(
            model_name='printrun',
            name='sheet_count',
            field=models.PositiveIntegerField(default=0, verbose_name='sheets'),
        ),
        migrations.RunPython(grant_print_runs, revoke_print_runs),
    ]
