"""Keep a worker running: run a manage.py command (by default the task worker, ``db_worker
--queue-name '*'``) as a child process and start it again whenever it exits, after a pause
that doubles while it keeps dying quickly (``--min-backoff`` up to ``--max-backoff``; a run
of ``--stable-after`` seconds resets it). For ``make demo`` and machines without systemd
(where ``Restart=always`` does the same).

SIGTERM or Ctrl+C stops the child (SIGTERM: it finishes the task in hand), then the
supervisor; a child still running ``--stop-timeout`` seconds later gets SIGTERM again (the
worker abandons its task, which the recovery job resumes), then SIGKILL. The child runs in
a session of its own, so that Ctrl+C in the terminal reaches it only through the supervisor,
and on Linux it is sent SIGTERM if the supervisor dies, so no worker is left orphaned.

    manage.py correspondence_supervise
    manage.py correspondence_supervise -- db_worker --queue-name default --interval 2
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from ..stopping import StopSignals
from .correspondence_sla_sweep import positive_seconds

DEFAULT_CHILD = ["db_worker", "--queue-name", "*"]
PR_SET_PDEATHSIG = 1

try:  # loaded before any fork: the child only calls it
    import ctypes

    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except (ImportError, OSError):
    _LIBC = None


def _child_setup(parent_pid):
    def setup():
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the supervisor died before prctl took effect
            os._exit(1)
    return setup


def manage_command():
    """How to run another manage.py command the way this one was run."""
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0].endswith("manage.py") else None
    if script and os.path.exists(script):
        return [sys.executable, script], {}
    env = {"DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
           "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    return [sys.executable, "-m", "django"], env


def child_arguments(arguments, number):
    arguments = list(arguments) or list(DEFAULT_CHILD)
    if arguments[0] == "db_worker":
        # The reloader would run the real worker in a grandchild, out of the supervisor's sight.
        if not any(arg in ("--reload", "--no-reload") for arg in arguments):
            arguments.append("--no-reload")
        # A name that says where the worker runs (shown on the batch page): host, supervisor, run.
        if not any(arg == "--worker-id" or arg.startswith("--worker-id=") for arg in arguments):
            arguments += ["--worker-id", f"{socket.gethostname()[:40]}-{os.getpid()}-{number}"]
    return arguments


def describe_exit(code):
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


class Command(BaseCommand):
    help = ("Run the task worker (or another manage.py command given after --) as a child process and restart it "
            "whenever it dies, with a growing pause; SIGTERM or Ctrl+C stops the child, then the supervisor.")

    def add_arguments(self, parser):
        parser.add_argument("--min-backoff", type=positive_seconds, default=1.0, metavar="SECONDS",
                            help="Pause before the first restart (default 1)")
        parser.add_argument("--max-backoff", type=positive_seconds, default=60.0, metavar="SECONDS",
                            help="Longest pause between restarts (default 60)")
        parser.add_argument("--stable-after", type=positive_seconds, default=60.0, metavar="SECONDS",
                            help="A child that ran this long starts again after --min-backoff (default 60)")
        parser.add_argument("--stop-timeout", type=positive_seconds, default=10.0, metavar="SECONDS",
                            help="How long a stopping child may take before it is told again, then killed (default 10)")
        parser.add_argument("child", nargs=argparse.REMAINDER,
                            help="The manage.py command to run and its options, after -- (default: db_worker "
                                 "--queue-name '*')")

    def handle(self, *args, child=None, min_backoff=1.0, max_backoff=60.0, stable_after=60.0, stop_timeout=10.0,
               **options):
        arguments = list(child or [])
        if arguments[:1] == ["--"]:
            arguments = arguments[1:]
        prefix, extra_env = manage_command()
        env = {**os.environ, **extra_env}
        self.process = None
        delay, number = min_backoff, 0
        with StopSignals(on_stop=self._forward_stop) as stop:
            try:
                while not stop.requested:
                    number += 1
                    command = child_arguments(arguments, number)
                    started = time.monotonic()
                    self.process = subprocess.Popen(prefix + command, env=env, stdin=subprocess.DEVNULL,
                                                    start_new_session=True, preexec_fn=_child_setup(os.getpid()))
                    self._say(f"started {' '.join(command)} as pid {self.process.pid}")
                    code = self._wait(stop, stop_timeout)
                    if stop.requested:
                        self._say(f"pid {self.process.pid} stopped ({describe_exit(code)})")
                        break
                    ran = time.monotonic() - started
                    if ran >= stable_after:
                        delay = min_backoff
                    self._say(f"pid {self.process.pid} exited with {describe_exit(code)} after {ran:.1f} s; "
                              f"restarting in {delay:g} s")
                    stop.wait(delay)
                    delay = min(delay * 2, max_backoff)
            except KeyboardInterrupt:  # a second Ctrl+C: do not wait for the task in hand
                if self.process is not None and self.process.poll() is None:
                    self.process.kill()
                    self.process.wait()
        self._say("supervisor stopped")

    def _forward_stop(self, signum):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def _wait(self, stop, stop_timeout):
        """Wait for the child; once a stop is asked for, escalate if it takes too long."""
        escalation = [signal.SIGTERM, signal.SIGKILL]
        deadline = None
        while True:
            try:
                return self.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            if not stop.requested:
                continue
            now = time.monotonic()
            if deadline is None:
                deadline = now + stop_timeout
            elif now >= deadline and escalation:
                signum = escalation.pop(0)
                self._say(f"pid {self.process.pid} still running {stop_timeout:g} s after the stop; sending "
                          f"{signum.name}")
                self.process.send_signal(signum)
                deadline = now + stop_timeout

    def _say(self, message):
        self.stdout.write(f"supervisor: {message}")
        self.stdout.flush()
