"""Which source revision each translation was made from (models/translation_state.py).

Existing data is filled in only where it is certain: a translation source captured after its
source's last approval captured the live revision; a variant revision written after that
capture translates it. The rest keeps the rule by dates until translated again."""

import django.db.models.deletion
from django.db import migrations, models


def record_what_is_certain(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    TranslationSource = apps.get_model("wagtail_localize", "TranslationSource")
    TranslationLog = apps.get_model("wagtail_localize", "TranslationLog")
    TranslationCapture = apps.get_model("wagtail_correspondence", "TranslationCapture")
    TranslatedRevision = apps.get_model("wagtail_correspondence", "TranslatedRevision")
    for source in TranslationSource.objects.all():
        content_type = ContentType.objects.get(pk=source.specific_content_type_id)
        try:
            model = apps.get_model(content_type.app_label, content_type.model)
        except LookupError:
            continue
        if not any(field.name == "live_revision" for field in model._meta.get_fields()):
            continue
        row = model.objects.filter(translation_key=source.object_id, locale_id=source.locale_id).values(
            "live_revision_id", "last_published_at").first()
        if row is None or row["live_revision_id"] is None or (
                row["last_published_at"] and row["last_published_at"] > source.last_updated_at):
            continue  # approved again since the capture: which revision it read is not known
        TranslationCapture.objects.get_or_create(translation_source_id=source.pk,
                                                 defaults={"source_revision_id": row["live_revision_id"]})
        for log in TranslationLog.objects.filter(source=source, revision__isnull=False,
                                                 created_at__gte=source.last_updated_at):
            TranslatedRevision.objects.get_or_create(revision_id=log.revision_id,
                                                     defaults={"source_revision_id": row["live_revision_id"]})


class Migration(migrations.Migration):

    dependencies = [
        ('wagtail_correspondence', '0041_translation_aware_blocks'),
        ('wagtail_localize', '0016_rename_page_revision_translationlog_revision'),
        ('wagtailcore', '0098_apitoken'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='TranslatedRevision',
            fields=[
                ('revision', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='translated_from', serialize=False, to='wagtailcore.revision')),
                ('source_revision', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='wagtailcore.revision')),
            ],
            options={
                'verbose_name': 'translated revision',
            },
        ),
        migrations.CreateModel(
            name='TranslationCapture',
            fields=[
                ('translation_source', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='wagtail_localize.translationsource')),
                ('source_revision', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='wagtailcore.revision')),
            ],
            options={
                'verbose_name': 'translation capture',
            },
        ),
        migrations.RunPython(record_what_is_certain, migrations.RunPython.noop),
    ]
