"""Retention policies per category, legal holds on register entries, and the subject access
export. Supervisors and administrators manage retention policies and place or lift legal
holds; auditors read the policies; only administrators export subject access requests (a
disclosure, not a reading)."""

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.comparison
from django.conf import settings
from django.db import migrations, models

APP = "wagtail_correspondence"
MANAGE = ["add_retentionpolicy", "change_retentionpolicy", "delete_retentionpolicy", "view_retentionpolicy"]

# role → {model: codenames}
GRANTS = {
    "Administrators": {"retentionpolicy": MANAGE,
                       "correspondence": ["set_legal_hold_correspondence", "export_subject_access"]},
    "Supervisors": {"retentionpolicy": MANAGE, "correspondence": ["set_legal_hold_correspondence"]},
    "Auditors": {"retentionpolicy": ["view_retentionpolicy"]},
}
NAMES = {
    "set_legal_hold_correspondence": "Can place and lift legal holds",
    "export_subject_access": "Can export everything held about a customer (subject access)",
}


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for role, models_ in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for model, codenames in models_.items():
            content_type, _ = ContentType.objects.get_or_create(app_label=APP, model=model)
            for codename in codenames:
                default = f"Can {codename.split('_', 1)[0]} retention policy"
                permission, _ = Permission.objects.get_or_create(
                    content_type=content_type, codename=codename, defaults={"name": NAMES.get(codename, default)})
                group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label=APP, codename__in=list(NAMES)).delete()
    Permission.objects.filter(content_type__app_label=APP, content_type__model="retentionpolicy").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('wagtail_correspondence', '0015_encryption_at_rest'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='correspondence',
            options={'ordering': ['-registered_at', '-pk'], 'permissions': [('assign_correspondence', 'Can assign register entries'), ('view_all_correspondence', 'Can see register entries of every department'), ('view_confidential_correspondence', 'Can see strictly confidential register entries'), ('restore_correspondence', 'Can restore earlier values of register entries'), ('export_correspondence', 'Can export the register'), ('set_legal_hold_correspondence', 'Can place and lift legal holds'), ('export_subject_access', 'Can export everything held about a customer (subject access)')], 'verbose_name': 'register entry', 'verbose_name_plural': 'register entries'},
        ),
        migrations.AddField(
            model_name='correspondence',
            name='legal_hold',
            field=models.BooleanField(db_index=True, default=False, editable=False, verbose_name='legal hold'),
        ),
        migrations.AddField(
            model_name='correspondence',
            name='legal_hold_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='legal hold placed at'),
        ),
        migrations.AddField(
            model_name='correspondence',
            name='legal_hold_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='legal hold placed by'),
        ),
        migrations.AddField(
            model_name='correspondence',
            name='legal_hold_reason',
            field=models.TextField(blank=True, editable=False, verbose_name='legal hold reason'),
        ),
        migrations.CreateModel(
            name='RetentionPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=150, verbose_name='name')),
                ('retain_years', models.PositiveSmallIntegerField(default=0, validators=[django.core.validators.MaxValueValidator(200)], verbose_name='years')),
                ('retain_days', models.PositiveIntegerField(default=0, help_text='Added to the years', validators=[django.core.validators.MaxValueValidator(36600)], verbose_name='days')),
                ('action', models.CharField(choices=[('anonymise', 'Anonymise (keep the record, remove personal data)'), ('purge', 'Purge (delete the entry)')], default='anonymise', max_length=20, verbose_name='then')),
                ('is_active', models.BooleanField(default=True, help_text='An inactive policy is ignored: the next policy up the category tree (or the default) applies', verbose_name='active')),
                ('category', models.ForeignKey(blank=True, help_text='Applies to this category and those below it; empty: the default policy for entries no other policy covers', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='retention_policies', to='wagtail_correspondence.category', verbose_name='category')),
            ],
            options={
                'verbose_name': 'retention policy',
                'verbose_name_plural': 'retention policies',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='RetentionRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(choices=[('anonymise', 'Anonymise (keep the record, remove personal data)'), ('purge', 'Purge (delete the entry)')], max_length=20, verbose_name='action')),
                ('applied_at', models.DateTimeField(verbose_name='applied at')),
                ('correspondence', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='retention_record', to='wagtail_correspondence.correspondence', verbose_name='entry')),
                ('policy', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='wagtail_correspondence.retentionpolicy', verbose_name='policy')),
            ],
            options={
                'verbose_name': 'retention record',
                'verbose_name_plural': 'retention records',
            },
        ),
        migrations.AddConstraint(
            model_name='retentionpolicy',
            constraint=models.UniqueConstraint(django.db.models.functions.comparison.Coalesce('category', models.Value(0)), name='unique_retention_policy_category', violation_error_message='This category already has a retention policy (or, without a category, there is a default policy already).'),
        ),
        migrations.RunPython(grant, revoke),
    ]
