#!/usr/bin/env python3
"""Real-process test of crust-node: prints its peer id, listens on a random
TCP port reachable over 127.0.0.1 and ::1, keeps its identity across runs,
refuses a group-readable key file and bad option values or commands, stops
on 'quit', keeps running after a wrong command, and prints JSON lines with
--json. Two and more nodes talking: crust_node_network_test.py. Every wait
is bounded."""

import json
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile

NODE = sys.argv[1]
TIMEOUT = 10
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def start(env, *args):
    return subprocess.Popen([NODE, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, text=True, bufsize=0)


def read_banner(proc):
    """The two lines crust-node prints before serving (bounded wait). Reads
    the raw descriptor: a buffered readline could swallow the second line
    while select() waits for more."""
    import selectors
    import time
    fd = proc.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    data = b""
    deadline = time.monotonic() + TIMEOUT
    while data.count(b"\n") < 2:
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(timeout=left):
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return [line.strip() for line in data.decode().splitlines()[:2]]


def stop(proc):
    try:
        proc.stdin.write("quit\n")
        proc.stdin.flush()
    except BrokenPipeError:
        pass
    try:
        return proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def connects(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(TIMEOUT)
            s.connect((host, port))
            return True
    except OSError:
        return False


with tempfile.TemporaryDirectory() as home:
    env = dict(os.environ, XDG_DATA_HOME=home, HOME=home)
    key = os.path.join(home, "crust", "node.key")

    node = start(env)
    banner = read_banner(node)
    check(len(banner) == 2, f"two banner lines: {banner}")
    m1 = re.fullmatch(r"peer-id ([0-9a-f]{64})", banner[0] if banner else "")
    m2 = re.fullmatch(r"listening tcp (\d+)",
                      banner[1] if len(banner) > 1 else "")
    check(m1 is not None, "peer id is 64 lower-case hex characters")
    check(m2 is not None and int(m2.group(1)) > 0, "a TCP port is printed")
    if m2:
        port = int(m2.group(1))
        check(connects("127.0.0.1", port), f"accepts on 127.0.0.1:{port}")
        if socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"):
            check(connects("::1", port), f"accepts on [::1]:{port}")
    check(stop(node) == 0, "stops with exit code 0 on 'quit'")
    check(os.path.exists(key), "key file created in $XDG_DATA_HOME/crust")
    if os.path.exists(key):
        mode = stat.S_IMODE(os.stat(key).st_mode)
        check(mode == 0o600, f"key file mode is 0600 (got {oct(mode)})")

    again = start(env)
    banner2 = read_banner(again)
    check(stop(again) == 0, "second run stops cleanly")
    check(bool(banner2) and m1 is not None and banner2[0] == banner[0],
          "same peer id on the second run")

    if os.path.exists(key):
        os.chmod(key, 0o644)
        refused = start(env)
        try:
            _, err = refused.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            refused.kill()
            _, err = refused.communicate()
        check(refused.returncode not in (0, None),
              "refuses a group-readable key file")
        check(key in err and "0644" in err,
              f"error names the file and the mode: {err.strip()}")
        os.chmod(key, 0o600)

    bad = start(env, "--crust.tcp-port=70000")
    try:
        _, err = bad.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        bad.kill()
        _, err = bad.communicate()
    check(bad.returncode == 2, "exit code 2 for an out-of-range port")
    check("crust.tcp-port" in err, f"error names the option: {err.strip()}")

    bad_level = start(env, "--crust.log-level=loud")
    try:
        _, err = bad_level.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        bad_level.kill()
        _, err = bad_level.communicate()
    check(bad_level.returncode == 2, "exit code 2 for an unknown log level")
    check("crust.log-level" in err, f"error names the option: {err.strip()}")

    # crust.log-level takes effect: debug shows more on stderr than error.
    def stderr_lines(level):
        proc = start(env, f"--crust.log-level={level}")
        read_banner(proc)
        stop(proc)
        return proc.stderr.read().splitlines()
    quiet, chatty = stderr_lines("error"), stderr_lines("debug")
    check(len(quiet) == 0 and len(chatty) > 0,
          f"log level applies ({len(quiet)} lines at error, "
          f"{len(chatty)} at debug)")

    def run_with_input(args, text):
        proc = start(env, *args)
        try:
            out, err = proc.communicate(text, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        return proc.returncode, out, err

    # A wrong command prints an error; the node keeps running.
    rc, out, _ = run_with_input([], "frobnicate\nsend\npeers\nquit\n")
    check("error: unknown command 'frobnicate'" in out
          and "error: send: missing PEER" in out and "ok peers 0" in out
          and rc == 0,
          f"wrong commands print errors, the node goes on (exit {rc}): "
          f"{out.splitlines()[2:6]}")

    # --json: every line is a JSON object with an "event".
    rc, out, _ = run_with_input(["--json"], "peers\n")
    events = []
    for line in out.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            events.append({"unparsable": line})
    kinds = [e.get("event") for e in events]
    check(kinds[:1] == ["identity"] and "listener_started" in kinds
          and kinds[-1] == "stopping" and rc == 0
          and all("event" in e for e in events),
          f"--json prints JSON events only (exit {rc}): {kinds}")
    check(bool(events) and m1 is not None
          and events[0].get("peer") == m1.group(1),
          "the JSON identity is the same peer id")

    # Commands as arguments are checked before the node starts.
    for args, what in ((["frobnicate"], "unknown command"),
                       (["peers", "--json"], "options come first")):
        rc, _, err = run_with_input(args, "")
        check(rc == 2 and what in err,
              f"exit code 2 for {args}: {err.strip()}")
    recv_file = os.path.join(home, "not-a-dir")
    with open(recv_file, "w") as f:
        f.write("x")
    rc, _, err = run_with_input([f"--recv-dir={recv_file}"], "")
    check(rc == 2 and "recv-dir" in err,
          f"exit code 2 for a --recv-dir that is a file: {err.strip()}")

print(f"crust_node_test: {'FAILED' if failures else 'passed'}")
sys.exit(1 if failures else 0)
