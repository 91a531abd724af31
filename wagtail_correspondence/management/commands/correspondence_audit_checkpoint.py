from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from ...checkpoint_stores import CheckpointStoreError
from ...services.audit import AuditChainBroken, write_checkpoint


class Command(BaseCommand):
    help = ("Write a checkpoint of the audit chain's head (link number and hash, signed with the first audit key) "
            "as a new object to the checkpoint store (WAGTAIL_CORRESPONDENCE['AUDIT_CHECKPOINTS']; S3 with Object "
            "Lock in production). Run it on a schedule: a chain recomputed after a checkpoint disagrees with it.")

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS,
                            help="Database alias (default: the one DATABASE_URL names)")

    def handle(self, *args, database, **options):
        try:
            checkpoint = write_checkpoint(using=database)
        except AuditChainBroken as exc:
            raise CommandError(f"No checkpoint written: {exc}") from exc
        except (CheckpointStoreError, ImproperlyConfigured) as exc:
            raise CommandError(f"No checkpoint written: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Written: {checkpoint}."))
