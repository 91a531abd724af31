from django.db import migrations, models

CHUNK = 2000


def key_existing_seals(apps, schema_editor):
    """Seal the links written before keyed seals with the first audit key (AUDIT_KEYS, or the
    development key derived from SECRET_KEY): set CORRESPONDENCE_AUDIT_KEYS before migrating.

    The old SHA-256 chain is verified first, link by link, and only what verifies is sealed: a
    break already in it (an edited, deleted or missing entry, a changed link, a cut end) is
    left unsealed from that link on, so that a key never vouches for a chain that was broken
    before it existed. `correspondence_verify_audit` then names that break, as it did before.
    The chain hashes themselves do not change."""
    from wagtail_correspondence.audit_keys import keyring
    from wagtail_correspondence.models.audit import GENESIS_HASH
    from wagtail_correspondence.services.audit import link_hash, log_models

    using = schema_editor.connection.alias
    seal_model = apps.get_model("wagtail_correspondence", "AuditSeal")
    head_model = apps.get_model("wagtail_correspondence", "AuditChainHead")
    key = keyring().first
    models_by_kind = log_models(apps)
    seals = seal_model.objects.using(using).order_by("sequence")
    previous, length, broken = GENESIS_HASH, 0, None
    while broken is None:
        batch = list(seals.filter(sequence__gt=length)[:CHUNK])
        if not batch:
            break
        entries = {kind: model.objects.using(using).in_bulk([item.log_id for item in batch if item.log_model == kind])
                   for kind, model in models_by_kind.items()}
        keyed = []
        for item in batch:
            entry = entries[item.log_model].get(item.log_id)
            if item.sequence != length + 1:
                broken = f"link #{length + 1} is missing"
            elif item.previous_hash != previous:
                broken = f"link #{item.sequence} does not follow the one before"
            elif entry is None:
                broken = f"link #{item.sequence}: its log entry was deleted"
            elif link_hash(previous, item.log_model, entry) != item.entry_hash:
                broken = f"link #{item.sequence}: its log entry was edited"
            if broken:
                break
            item.key_id, item.mac = key.id, key.seal_mac(item.sequence, item.entry_hash)
            keyed.append(item)
            previous, length = item.entry_hash, item.sequence
        seal_model.objects.using(using).bulk_update(keyed, ["key_id", "mac"])
    head = head_model.objects.using(using).filter(pk=1).first()
    if head is not None and broken is None:
        if head.sequence == length and head.last_hash == previous:
            head.key_id, head.mac = key.id, key.head_mac(length, previous)
            head.save(using=using, update_fields=["key_id", "mac"])
        else:
            broken = f"the end was cut: {head.sequence} links were written, {length} remain"
    if broken:
        print(f"\n  The audit chain was already broken before keyed seals ({broken}): links #1 to #{length} are "
              f"sealed, the rest is left unsealed as evidence. correspondence_verify_audit names the break.")


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0018_agents_do_not_browse_categories")]

    operations = [
        migrations.AddField(
            model_name="auditchainhead",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="mac",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="auditseal",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16, verbose_name="key id"),
        ),
        migrations.AddField(
            model_name="auditseal",
            name="mac",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="seal (HMAC)"),
        ),
        migrations.RunPython(key_existing_seals, migrations.RunPython.noop),
    ]
