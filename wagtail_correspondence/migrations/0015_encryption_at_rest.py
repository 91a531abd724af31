"""Customer data encrypted at rest: letter data and texts, batch rows, notes and portal
replies become encrypted fields; existing values are encrypted in place."""

from django.db import migrations

import wagtail_correspondence.models.fields

ENCRYPTED = {"letter": ["data", "data_overrides", "slot_values", "html", "email_html", "email_text", "sms_text"],
             "batchrow": ["data", "slots"], "note": ["text"], "portalresponse": ["text"]}


def encrypt_existing(apps, schema_editor):
    from wagtail_correspondence.encryption import reencrypt_rows

    for model_name in ENCRYPTED:
        reencrypt_rows(apps.get_model("wagtail_correspondence", model_name))


def decrypt_existing(apps, schema_editor):
    """Back to plain values, as the fields before this migration stored them."""
    import json

    from wagtail_correspondence.encryption import decrypt_text

    json_fields = {"data", "data_overrides", "slot_values", "slots"}
    for model_name, names in ENCRYPTED.items():
        model = apps.get_model("wagtail_correspondence", model_name)
        table = model._meta.db_table
        with schema_editor.connection.cursor() as cursor:
            for name in names:
                column = model._meta.get_field(name).column
                cursor.execute(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")
                for pk, value in cursor.fetchall():
                    plain = decrypt_text(value)
                    if name in json_fields:
                        plain = json.dumps(json.loads(plain))
                    cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [plain, pk])


class Migration(migrations.Migration):

    dependencies = [
        ('wagtail_correspondence', '0014_letter_department_scope'),
    ]

    operations = [
        migrations.AlterField(
            model_name='batchrow',
            name='data',
            field=wagtail_correspondence.models.fields.EncryptedJSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='batchrow',
            name='slots',
            field=wagtail_correspondence.models.fields.EncryptedJSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='letter',
            name='data',
            field=wagtail_correspondence.models.fields.EncryptedJSONField(blank=True, default=dict, help_text="The data the letter is rendered with: the customer record and the agent's changes", verbose_name='data'),
        ),
        migrations.AlterField(
            model_name='letter',
            name='data_overrides',
            field=wagtail_correspondence.models.fields.EncryptedJSONField(blank=True, help_text='Changes over the customer record, or the whole data when no customer was chosen', null=True, verbose_name='data entered by the agent'),
        ),
        migrations.AlterField(
            model_name='letter',
            name='email_html',
            field=wagtail_correspondence.models.fields.EncryptedTextField(blank=True, verbose_name='email HTML'),
        ),
        migrations.AlterField(
            model_name='letter',
            name='email_text',
            field=wagtail_correspondence.models.fields.EncryptedTextField(blank=True, verbose_name='email text'),
        ),
        migrations.AlterField(
            model_name='letter',
            name='html',
            field=wagtail_correspondence.models.fields.EncryptedTextField(blank=True, verbose_name='print HTML'),
        ),
        migrations.AlterField(
            model_name='letter',
            name='slot_values',
            field=wagtail_correspondence.models.fields.EncryptedJSONField(blank=True, default=dict, verbose_name='slot texts'),
        ),
        migrations.AlterField(
            model_name='letter',
            name='sms_text',
            field=wagtail_correspondence.models.fields.EncryptedTextField(blank=True, verbose_name='SMS text'),
        ),
        migrations.AlterField(
            model_name='note',
            name='text',
            field=wagtail_correspondence.models.fields.EncryptedTextField(verbose_name='text'),
        ),
        migrations.AlterField(
            model_name='portalresponse',
            name='text',
            field=wagtail_correspondence.models.fields.EncryptedTextField(blank=True, verbose_name='text'),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
