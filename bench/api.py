"""Letter preview over HTTP: latency and throughput against gunicorn. Prints figures; asserts nothing.

    .venv/bin/python bench/api.py [--clients 1,4,16] [--seconds 10] [--workers 2]

Loads the demo content (``correspondence_demo``: templates, customers) into a throwaway SQLite
database, starts gunicorn (``--workers`` sync workers, the test settings: DEBUG off, nothing
leaves the machine) on a free loopback port, and, for each number of clients, keeps that many
keep-alive connections busy for ``--seconds`` with ``POST letters/preview/`` for the demo's
*Payment reminder* and customer C-1004 (every output: print document, email HTML and text, SMS).

The floor, measured the same way in the same run, is ``GET me/``: the same server, the same
authentication, throttling and middleware, no letter. A preview's cost beyond it is the letter.
The token's user is in the *API integrations* role, so the people's rate limit does not stop
the run. Requires gunicorn (``pip install -e .[bench]``).
"""

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.mkdtemp(prefix="correspondence-bench-api-"))
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.test",
       "DATABASE_URL": f"sqlite:///{WORK}/bench.sqlite3",
       "PYTHONPATH": os.pathsep.join([str(ROOT / "site"), str(ROOT)])}
API = "/api/correspondence/v1/"
# The demo loads with the development settings (it refuses to run without DEBUG), its files and
# emails in the work folder, not the reference site's.
LOAD_ENV = {**ENV, "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev", "MEDIA_ROOT": str(WORK / "media"),
            "PRIVATE_STORAGE_ROOT": str(WORK / "private"), "EMAIL_FILE_PATH": str(WORK / "mail")}


def prepare():
    """Migrate, load the demo, and return (token, template id) for an integration account."""
    manage = [sys.executable, str(ROOT / "site" / "manage.py")]
    subprocess.run(manage + ["migrate", "--noinput", "-v0"], env=LOAD_ENV, check=True)
    subprocess.run(manage + ["correspondence_demo"], env=LOAD_ENV, check=True, stdout=subprocess.DEVNULL)
    script = (
        "from django.contrib.auth.models import Group, User\n"
        "from rest_framework.authtoken.models import Token\n"
        "from wagtail_correspondence import roles\n"
        "from wagtail_correspondence.models import LetterTemplatePage\n"
        "agent = User.objects.get(username='agent')\n"
        "agent.groups.add(Group.objects.get(name=roles.API_INTEGRATIONS))\n"
        "token, _ = Token.objects.get_or_create(user=agent)\n"
        "print(token.key, LetterTemplatePage.objects.live().get(title='Payment reminder').pk)\n")
    output = subprocess.run(manage + ["shell", "-c", script], env=ENV, check=True, capture_output=True, text=True)
    token, template_id = output.stdout.split()[-2:]
    return token, int(template_id)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(workers):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if gunicorn is None:
        sys.exit("gunicorn is not installed: .venv/bin/pip install -e '.[bench]'")
    port = free_port()
    server = subprocess.Popen(
        [gunicorn, "correspondence_site.wsgi:application", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--chdir", str(ROOT / "site"), "--log-level", "warning"], env=ENV)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit("gunicorn did not start")


def run_clients(port, clients, seconds, method, path, body, token):
    """``clients`` threads, each on its own keep-alive connection, for ``seconds``."""
    latencies, failures = [], []
    lock = threading.Lock()
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    payload = json.dumps(body).encode() if body is not None else None
    deadline = time.perf_counter() + seconds

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            content = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    failures.append((response.status, content[:200]))
        with lock:
            latencies.extend(mine)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return latencies, failures, elapsed


def summary(latencies, elapsed):
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return {"requests": len(ordered), "per_second": len(ordered) / elapsed,
            "p50_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, gunicorn with {options.workers} sync "
          f"workers, SQLite, {options.seconds:g} s per measurement")
    token, template_id = prepare()
    server, port = start_server(options.workers)
    preview = {"template": template_id, "customer_id": "C-1004", "channel": "email"}
    try:
        # One request each first: imports, caches and the template's first compile are not the figure.
        for method, path, body in (("GET", API + "me/", None), ("POST", API + "letters/preview/", preview)):
            _, failures, _ = run_clients(port, 1, 0.5, method, path, body, token)
            if failures:
                sys.exit(f"{method} {path} failed: {failures[0]}")
        print(f"{'clients':>7}  {'request':<16} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}  {'p95 / floor p95':>15}")
        for clients in [int(count) for count in options.clients.split(",")]:
            floor = summary(*run_clients(port, clients, options.seconds, "GET", API + "me/", None, token)[::2])
            latencies, failures, elapsed = run_clients(port, clients, options.seconds, "POST",
                                                       API + "letters/preview/", preview, token)
            if failures:
                print(f"  {len(failures)} previews failed, e.g. {failures[0]}")
            figures = summary(latencies, elapsed)
            for name, row in (("GET me/ (floor)", floor), ("POST preview", figures)):
                ratio = f"{row['p95_ms'] / floor['p95_ms']:.1f}x" if row is figures else ""
                print(f"{clients:>7}  {name:<16} {row['per_second']:>8.1f} {row['p50_ms']:>8.1f} "
                      f"{row['p95_ms']:>8.1f}  {ratio:>15}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
