"""Drives crust-node processes through their --json output (Python 3,
standard library only). Used by scripts/demo.py and tests/apps/*.py.

Each Node runs one crust-node with a fresh key file in a work directory,
reads its JSON lines on a thread, and offers bounded waits: every wait takes
a timeout and returns None when it passes. docs/crust-node.md describes the
events. Commands run one at a time in crust-node and each prints exactly one
"ok" or "error" event, so the n-th result answers the n-th command."""

import json
import os
import signal
import subprocess
import threading
import time

DEFAULT_TIMEOUT = 10.0


class Node:
    def __init__(self, binary, workdir, name, *args, listen=True,
                 key_file=None, stdin=True, commands=()):
        self.name = name
        self.key_file = key_file or os.path.join(workdir, name + ".key")
        self.stderr_path = os.path.join(workdir, name + ".stderr")
        argv = [binary, "--json", f"--crust.key-file={self.key_file}",
                "--crust.log-level=warn", *args]
        # Tests and demos keep the LAN beacon off the real LAN unless they
        # ask for it (crust-node's default is every LAN interface).
        if not any(a.startswith("--crust.beacon=") for a in args):
            argv.append("--crust.beacon=off")
        if not listen:
            argv.append("--no-listen")
        if not stdin:
            argv.append("--no-stdin")
        argv.extend(commands)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self._stderr, bufsize=0)
        self.events = []        # every parsed line, in order
        self.bad_lines = []     # lines that were not JSON objects
        self._cond = threading.Condition()
        self._closed = False
        # Results already claimed by command() (the startup listen and the
        # command arguments answer first).
        self._results_claimed = (1 if listen else 0) + len(commands)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.peer = None
        self.port = None

    # -- reading ------------------------------------------------------------

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            try:
                event = json.loads(line)
                if not isinstance(event, dict) or "event" not in event:
                    raise ValueError("not an event object")
            except ValueError:
                with self._cond:
                    self.bad_lines.append(line)
                continue
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_for(self, match, timeout=DEFAULT_TIMEOUT, start=0):
        """The first event from index `start` on for which `match` is true,
        or None once `timeout` seconds passed (or the output ended)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[start:]:
                    if match(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(left)

    def wait_event(self, kind, timeout=DEFAULT_TIMEOUT, start=0, **fields):
        """The first event of kind `kind` whose fields equal `fields`."""
        def match(ev):
            return ev.get("event") == kind and all(
                ev.get(k) == v for k, v in fields.items())
        return self.wait_for(match, timeout, start)

    def mark(self):
        """Index of the next event: pass as `start` to see only later ones."""
        with self._cond:
            return len(self.events)

    # -- commands -----------------------------------------------------------

    def send_line(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def command(self, line, timeout=DEFAULT_TIMEOUT):
        """Runs one command; its ok/error event, or None on timeout."""
        n = self._results_claimed
        self._results_claimed += 1
        self.send_line(line)
        return self.nth_result(n, timeout)

    def nth_result(self, n, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                seen = 0
                for ev in self.events:
                    if ev.get("event") in ("ok", "error"):
                        if seen == n:
                            return ev
                        seen += 1
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(left)

    def start_up(self, timeout=DEFAULT_TIMEOUT):
        """Waits for the identity and, if listening, the port. True if both
        arrived in time."""
        ident = self.wait_event("identity", timeout)
        if ident is None:
            return False
        self.peer = ident["peer"]
        listening = self.wait_event("listener_started", timeout)
        if listening is None:
            return False
        self.port = listening["port"]
        return True

    def contact(self, host):
        """PEERID@host:port of this node, brackets around IPv6."""
        where = f"[{host}]" if ":" in host else host
        return f"{self.peer}@{where}:{self.port}"

    # -- ending -------------------------------------------------------------

    def quit(self, timeout=DEFAULT_TIMEOUT):
        """Sends quit and closes stdin; the exit code, or None if the
        process had to be killed."""
        self.send_line("quit")
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGCONT)
            except OSError:
                pass
            self.proc.kill()
        try:
            self.proc.wait(timeout=DEFAULT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=DEFAULT_TIMEOUT)
        self._stderr.close()

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""


class Nodes:
    """Starts nodes and kills whatever is left when the block ends."""

    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = workdir
        self.all = []

    def start(self, name, *args, **kwargs):
        node = Node(self.binary, self.workdir, name, *args, **kwargs)
        self.all.append(node)
        return node

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for node in self.all:
            node.kill()
        return False


def has_ipv6_loopback():
    """True if ::1 can be bound here."""
    import socket
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# -- test scaffolding (tests/apps/*.py) ------------------------------------------

failures = []


def check(cond, what):
    """Prints one ok/FAIL line; a failure is remembered for the summary."""
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def code_of(event):
    """The error code of an error event, or None."""
    return ((event or {}).get("error") or {}).get("code")


def run_scenarios(name, scenarios, only=()):
    """Runs each scenario (a function of a scratch directory) unless `only`
    names others, prints the summary and returns the exit code."""
    import tempfile
    with tempfile.TemporaryDirectory() as work:
        for scenario, run in scenarios.items():
            if only and scenario not in only:
                continue
            print(f"-- {scenario}", flush=True)
            t0 = time.monotonic()
            try:
                run(work)
            except Exception as e:  # a crash of the test is a failure too
                check(False, f"{scenario} raised {type(e).__name__}: {e}")
            print(f"   ({time.monotonic() - t0:.1f}s)", flush=True)
    print(f"{name}: {'FAILED' if failures else 'passed'}"
          f" ({len(failures)} failures)")
    return 1 if failures else 0
