"""What encryption at rest costs. Prints figures; asserts nothing about time.

    .venv/bin/python bench/encryption.py [--values 2000] [--files 200]

1. field values: encrypting and decrypting a letter's data (the sample customer record, about
   1 KB of JSON) and its print HTML (about 20 KB), per value, the way the model fields do;
2. files: writing and reading a 100 KB PDF-sized file through the plain and the encrypting
   file system storage, per file;
3. rotation: ``correspondence_rotate_keys``' service over ``--values`` letter-like rows and
   ``--files`` files on a throwaway SQLite database, with a new key first: rows and files per
   second, and the ``--check`` pass that follows (what verifying before dropping an old key
   costs).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database):
    sys.path[:0] = [str(ROOT / "site"), str(ROOT)]
    os.environ["DJANGO_SETTINGS_MODULE"] = "correspondence_site.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    import django

    django.setup()


def timed(function, repeat):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def per_value(args):
    from django.core.serializers.json import DjangoJSONEncoder

    from wagtail_correspondence.encryption import decrypt_text, encrypt_text
    from tests.factories import SAMPLE_DATA

    data = json.dumps(SAMPLE_DATA, cls=DjangoJSONEncoder)
    html = "<p>" + "Dear customer, " * 1300 + "</p>"
    print("1. field values (median of 200)")
    for name, text in (("letter data", data), ("print HTML", html)):
        token = encrypt_text(text)
        encrypt = timed(lambda text=text: encrypt_text(text), 200)
        decrypt = timed(lambda token=token: decrypt_text(token), 200)
        print(f"   {name:12} {len(text):>6} bytes plain, {len(token):>6} stored: "
              f"encrypt {encrypt * 1e6:7.1f} µs, decrypt {decrypt * 1e6:7.1f} µs")


def per_file(args):
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage

    from wagtail_correspondence.storage import EncryptedFileSystemStorage

    content = os.urandom(100 * 1024)
    print("2. files of 100 KB (median of 50)")
    with tempfile.TemporaryDirectory() as plain_dir, tempfile.TemporaryDirectory() as encrypted_dir:
        for label, storage in (("plain", FileSystemStorage(location=plain_dir)),
                               ("encrypted", EncryptedFileSystemStorage(location=encrypted_dir))):
            names = []

            def write(storage=storage, names=names):
                names.append(storage.save("bench.pdf", ContentFile(content)))

            def read(storage=storage, names=names):
                with storage.open(names[0]) as handle:
                    handle.read()

            write_time = timed(write, 50)
            read_time = timed(read, 50)
            print(f"   {label:9} write {write_time * 1e3:6.2f} ms, read {read_time * 1e3:6.2f} ms")


def rotation(args):
    from cryptography.fernet import Fernet
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages
    from django.core.management import call_command
    from django.db import connection

    from wagtail_correspondence.encryption import encrypt_text
    from wagtail_correspondence.models import Correspondence, Note
    from wagtail_correspondence.services.key_rotation import rotate
    from tests.factories import SAMPLE_DATA

    call_command("migrate", verbosity=0)
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "ENCRYPTION_KEYS": old}
    # Notes stand in for any encrypted row: one entry, many notes the size of a letter's data.
    entry = Correspondence.objects.create(subject="bench", reference="BENCH-1")
    token = encrypt_text(json.dumps(SAMPLE_DATA))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {Note._meta.db_table} (correspondence_id, text, created_at) "
                           f"VALUES (%s, %s, CURRENT_TIMESTAMP)", [(entry.pk, token)] * args.values)
    letters = storages["letters"]
    for number in range(args.files):
        letters.save(f"bench/{number}.pdf", ContentFile(os.urandom(100 * 1024)))
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "ENCRYPTION_KEYS": f"{new},{old}"}
    start = time.perf_counter()
    report = rotate()
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    check = rotate(check_only=True)
    checked = time.perf_counter() - start
    print(f"3. rotation of {report.total_rows} rows and {report.total_files} files of 100 KB: {elapsed:.2f} s; "
          f"the check afterwards {checked:.2f} s, {check.total_rows + check.total_files} left under the old key")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", type=int, default=2000)
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        os.environ["PRIVATE_STORAGE_ROOT"] = workdir
        setup_django(Path(workdir) / "bench.sqlite3")
        print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
        per_value(args)
        per_file(args)
        rotation(args)


if __name__ == "__main__":
    main()
