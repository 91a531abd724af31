"""Key rotation: re-encrypt every encrypted value and file under the first configured key,
or report what is not under it yet (before an old key is removed)."""

from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction

from ..encryption import encrypted_fields, reencrypt_rows, stale_row_pks, under_first_key_bytes
from ..storage import walk


@dataclass
class RotationReport:
    rows: dict = field(default_factory=dict)  # "app_label.Model" -> rows rewritten (or stale)
    files: dict = field(default_factory=dict)  # storage alias -> files rewritten (or stale)

    @property
    def total_rows(self):
        return sum(self.rows.values())

    @property
    def total_files(self):
        return sum(self.files.values())


def encrypted_models():
    return [model for model in apps.get_models() if encrypted_fields(model)]


def encrypted_storages():
    """The aliases of ``STORAGES`` whose backend encrypts (see ``storage.py``)."""
    return {alias: storages[alias] for alias in settings.STORAGES
            if getattr(storages[alias], "encrypted", False)}


def rotate(check_only=False):
    """Rewrite (or, ``check_only``, count) the values and files not under the first key."""
    report = RotationReport()
    for model in encrypted_models():
        label = model._meta.label
        if check_only:
            report.rows[label] = len(stale_row_pks(model))
        else:
            with transaction.atomic():
                report.rows[label] = reencrypt_rows(model)
    for alias, storage in encrypted_storages().items():
        count = 0
        for name in walk(storage):
            if check_only:
                with storage._open_raw(name) as stored:
                    count += not under_first_key_bytes(stored.read())
            else:
                count += storage.rotate(name)
        report.files[alias] = count
    return report
