"""Leases of background work: a batch's lease (which worker holds it, until when) and the
scheduler's periodic jobs (when each is next due, who runs it now, how it last went)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0019_audit_keyed_seals")]

    operations = [
        migrations.CreateModel(
            name="BatchLease",
            fields=[
                ("batch", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                               related_name="lease", serialize=False,
                                               to="wagtail_correspondence.letterbatch", verbose_name="batch")),
                ("task_id", models.CharField(blank=True, max_length=64, verbose_name="task")),
                ("worker_id", models.CharField(blank=True, max_length=100, verbose_name="worker")),
                ("acquired_at", models.DateTimeField(blank=True, null=True, verbose_name="acquired at")),
                ("renewed_at", models.DateTimeField(blank=True, null=True, verbose_name="renewed at")),
                ("expires_at", models.DateTimeField(blank=True, db_index=True, null=True, verbose_name="expires at")),
                ("resumes", models.PositiveSmallIntegerField(default=0, verbose_name="automatic resumes")),
            ],
            options={"verbose_name": "batch lease", "verbose_name_plural": "batch leases"},
        ),
        migrations.CreateModel(
            name="ScheduledJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True, verbose_name="name")),
                ("next_run_at", models.DateTimeField(blank=True, null=True, verbose_name="next run")),
                ("held_by", models.CharField(blank=True, max_length=100, verbose_name="running in")),
                ("held_until", models.DateTimeField(blank=True, null=True, verbose_name="held until")),
                ("last_started_at", models.DateTimeField(blank=True, null=True, verbose_name="last started")),
                ("last_finished_at", models.DateTimeField(blank=True, null=True, verbose_name="last finished")),
                ("last_outcome", models.CharField(blank=True, choices=[("ok", "Succeeded"), ("failed", "Failed"),
                                                                       ("skipped", "Skipped")],
                                                  max_length=10, verbose_name="last outcome")),
                ("last_result", models.TextField(blank=True, verbose_name="last result")),
                ("runs", models.PositiveIntegerField(default=0, verbose_name="runs")),
                ("failures", models.PositiveIntegerField(default=0, verbose_name="failures")),
            ],
            options={"verbose_name": "scheduled job", "verbose_name_plural": "scheduled jobs", "ordering": ["name"]},
        ),
    ]
