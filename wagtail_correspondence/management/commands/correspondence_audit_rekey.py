from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from ...checkpoint_stores import CheckpointStoreError
from ...services.audit import AuditChainBroken, AuditUnverifiable
from ...services.audit_rekey import rekey


class Command(BaseCommand):
    help = ("Retire old audit keys: verify the whole audit chain and every checkpoint with the keys of "
            "WAGTAIL_CORRESPONDENCE['AUDIT_KEYS'], then re-seal every link with the first key, log the re-key and "
            "write a re-key checkpoint naming the retired keys. Refuses (exit 1, nothing changed, the refusal "
            "logged) when anything does not verify. Afterwards remove the old keys from AUDIT_KEYS.")

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS,
                            help="Database alias (default: the one DATABASE_URL names)")
        parser.add_argument("--from-development-key", action="store_true",
                            help="Also accept the key derived from SECRET_KEY, which sealed the log while no "
                                 "AUDIT_KEYS were configured, and retire it")

    def handle(self, *args, database, from_development_key, **options):
        try:
            result = rekey(using=database, from_development_key=from_development_key)
        except AuditChainBroken as exc:
            raise CommandError(f"Refused: the audit log is NOT intact: {exc}") from exc
        except (AuditUnverifiable, ImproperlyConfigured) as exc:
            raise CommandError(f"Refused: the audit log could not be verified: {exc}", returncode=2) from exc
        except CheckpointStoreError as exc:
            raise CommandError(f"The links were re-sealed but the re-key checkpoint could not be written ({exc}): "
                               f"keep the old keys listed and run this command again.") from exc
        self.stdout.write(self.style.SUCCESS(str(result)))
        if result.retired:
            self.stdout.write(f"Keep only the first key (id {result.key_id}) in AUDIT_KEYS now: the others are "
                              f"retired.")
