#!/usr/bin/env python3
"""LAN beacon across hosts (issue 4, Tests): three hosts on one bridge, each
in its own network namespace, discover each other by crust's LAN beacon
alone (no contacts, no bootstrap cache), and a node of another network name
discovers nobody. docs/netlab.md ("LAN beacon across hosts") describes it.

The lab: a bridge namespace `<prefix>-br` (br0, multicast snooping off) and
host namespaces `<prefix>-a`, `-b`, `-c`, each with a veth `eth0` into br0
and an address 10.77.0.2-4/24 that exists only inside the lab. Nothing is
linked to the root namespace; IPv6 is off except on `lo`. The prefix is
`bl<6 hex>`, fresh per run; the run is recorded in /run/netlab like the
other netlab runs, so a later run removes what a SIGKILLed one left.
Teardown runs on exit, on error and on SIGINT/SIGTERM/SIGHUP, and is checked
with `ip netns list`.

Checks (every wait bounded, every crust-node quit or killed at the end):
1. B's `bootstrap` (no contacts, no cache) is granted by A, found by the
   beacon: the `ok` has source "lan" and peer A; C (another network) is not
   a candidate; A reports `bootstrap_accept` of B as a node.
2. C (`--crust.network-name=other-net`) bootstraps: `no_candidates`; A and
   B see no bootstrap_accept and no connection from C. Control: C2, of
   C's network, started on host B, is then found by C's bootstrap (source
   "lan"; A and B are not candidates).
3. A restarted with `--crust.beacon=off` (same key): B's bootstrap fails
   with `no_candidates`, though a plain `connect` to A over the lab LAN
   works: the discovery in 1 came from the beacon.
Each node must quit with exit code 0 and no sanitizer report on stderr
(the test also runs against an ASan+UBSan crust-node).

Usage: beacon_lan_test.py CRUST_NODE [--keep-logs]
Exit: 0 pass, 1 fail, 2 usage, 77 skipped (not root, no namespaces),
128 + N on signal N (after the teardown)."""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
sys.path.insert(0, HERE)
import netlab  # noqa: E402  (the registry of runs and stale-run cleanup)
import node_driver  # noqa: E402

SKIP = 77
TIMEOUT = 15.0          # any single wait
BOOTSTRAP_WAIT = 20.0   # one bootstrap: budget 10 s plus margin
RUN_DEADLINE = 90.0     # the whole test, checked between steps
LAN = "10.77.0"
HOSTS = ("a", "b", "c")
CMD_TIMEOUT = 20.0      # any ip command


class LabError(RuntimeError):
    pass


class Interrupted(BaseException):
    def __init__(self, signum):
        super().__init__(f"signal {signum}")
        self.signum = signum


def _run(argv, check=True, timeout=CMD_TIMEOUT):
    try:
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: no answer in {timeout} s")
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def namespaces():
    out = _run(["ip", "netns", "list"])
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def skip_reason():
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_SYS_ADMIN)"
    if shutil.which("ip") is None:
        return "'ip' not found (apt-get install iproute2)"
    probe = "blprobe-" + secrets.token_hex(4)
    try:
        try:
            _run(["ip", "netns", "add", probe])
        except LabError as e:
            return f"cannot create a network namespace: {e}"
        _run(["ip", "-n", probe, "link", "add", "br0", "type", "bridge"])
        _run(["ip", "-n", probe, "link", "add", "v0", "type", "veth",
              "peer", "name", "v1"])
    except LabError as e:
        return f"no bridge or veth inside a namespace: {e}"
    finally:
        _run(["ip", "netns", "del", probe], check=False)
    return None


class LanLab:
    """A bridge namespace and one namespace per host, a veth each."""

    def __init__(self):
        self.prefix = "bl" + secrets.token_hex(3)
        self.bridge_ns = f"{self.prefix}-br"
        self.hosts = {}            # name -> (namespace, address)
        self._namespaces = []
        self._registered = False

    def build(self):
        netlab.remove_stale_runs()
        os.makedirs(netlab.REGISTRY, exist_ok=True)
        with open(os.path.join(netlab.REGISTRY, self.prefix), "w") as f:
            f.write(str(os.getpid()))
        self._registered = True
        self._add_namespace(self.bridge_ns)
        br = self.bridge_ns
        # Snooping off: the bridge floods multicast like broadcast, so the
        # beacon does not depend on IGMP reports having been seen.
        _run(["ip", "-n", br, "link", "add", "br0", "type", "bridge",
              "mcast_snooping", "0"])
        _run(["ip", "-n", br, "link", "set", "br0", "up"])
        for n, name in enumerate(HOSTS):
            ns = f"{self.prefix}-{name}"
            address = f"{LAN}.{n + 2}"
            self._add_namespace(ns)
            port = f"p{name}"
            _run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth",
                  "peer", "name", port, "netns", br])
            _run(["ip", "-n", br, "link", "set", port, "master", "br0"])
            _run(["ip", "-n", br, "link", "set", port, "up"])
            _run(["ip", "-n", ns, "addr", "add", f"{address}/24", "dev",
                  "eth0"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            self.hosts[name] = (ns, address)
        self._wait_links()

    def _add_namespace(self, ns):
        self._namespaces.append(ns)   # first: a signal may come any time
        _run(["ip", "netns", "add", ns])
        _run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
              "net.ipv6.conf.default.disable_ipv6=1"])
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def _wait_links(self):
        deadline = time.monotonic() + 10
        for name, (ns, _) in self.hosts.items():
            while True:
                out = _run(["ip", "-n", ns, "-br", "link", "show", "dev",
                            "eth0"])
                if "LOWER_UP" in out:
                    break
                if time.monotonic() > deadline:
                    raise LabError(f"host {name}: eth0 not up: {out.strip()}")
                time.sleep(0.05)

    def ping(self, src, dst):
        ns, _ = self.hosts[src]
        done = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c1",
                               "-W2", self.hosts[dst][1]],
                              capture_output=True, timeout=CMD_TIMEOUT)
        return done.returncode == 0

    def teardown(self):
        for ns in reversed(self._namespaces):
            out = _run(["ip", "netns", "pids", ns], check=False)
            for word in out.split():
                try:
                    os.kill(int(word), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            _run(["ip", "netns", "del", ns], check=False)
        self._namespaces = []
        if self._registered:
            try:
                os.unlink(os.path.join(netlab.REGISTRY, self.prefix))
            except OSError:
                pass
            self._registered = False

    def leftovers(self):
        return [ns for ns in namespaces() if ns.startswith(self.prefix + "-")]


class Test:
    def __init__(self, lab, binary, workdir):
        self.lab = lab
        self.binary = binary
        self.workdir = workdir
        self.nodes = []
        self.failures = []
        self.started = time.monotonic()

    def check(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            self.failures.append(what)
        return cond

    def require(self, cond, what):
        """A check the later steps depend on: stop the test if it fails."""
        if not self.check(cond, what):
            raise LabError(f"cannot go on: {what}")

    def in_time(self):
        if time.monotonic() - self.started > RUN_DEADLINE:
            raise LabError(f"the test took over {RUN_DEADLINE} s")

    def start(self, host, name, *args, key_file=None):
        ns, _ = self.lab.hosts[host]
        wrapper = os.path.join(self.workdir, f"crust-node-{name}")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nexec ip netns exec {ns} {self.binary} "
                    '"$@"\n')
        os.chmod(wrapper, 0o755)
        node = node_driver.Node(
            wrapper, self.workdir, name, "--crust.bootstrap-cache=off",
            "--command-timeout=15s", *args, key_file=key_file)
        self.nodes.append(node)
        return node

    def started_up(self, node):
        self.require(node.start_up(TIMEOUT),
                     f"{node.name} starts (identity, listener)")

    def quit(self, node):
        code = node.quit(TIMEOUT)
        node.kill()  # joins the reader, closes the log (no-op if gone)
        self.check(code == 0, f"{node.name} quits with 0 (got {code})")
        self.check_stderr(node)

    def check_stderr(self, node):
        text = node.stderr_text()
        bad = [line for line in text.splitlines()
               if "Sanitizer" in line or "runtime error:" in line]
        self.check(not bad, f"{node.name}: no sanitizer report on stderr"
                   + (f" ({bad[0]})" if bad else ""))

    def kill_all(self):
        for node in self.nodes:
            node.kill()

    def dump(self):
        for node in self.nodes:
            tail = node.stderr_text().strip()[-1500:]
            events = node.events[-12:]
            print(f"--- {node.name}: last events", flush=True)
            for ev in events:
                print(f"    {ev}")
            if tail:
                print(f"--- {node.name}: stderr (tail)\n{tail}")

    # -- the scenario -----------------------------------------------------

    def run(self):
        lab = self.lab
        for dst in ("b", "c"):
            if shutil.which("ping"):
                self.require(lab.ping("a", dst),
                             f"lab: host a pings host {dst} over the bridge")
        beacon = ["--crust.beacon=lan"]
        a = self.start("a", "a", *beacon)
        b = self.start("b", "b", *beacon)
        c = self.start("c", "c", *beacon, "--crust.network-name=other-net")
        for node in (a, b, c):
            self.started_up(node)
        self.in_time()

        # 1. Discovery by the beacon alone.
        t0 = time.monotonic()
        res = b.command("bootstrap", BOOTSTRAP_WAIT)
        ms = round((time.monotonic() - t0) * 1000)
        self.require(res is not None and res.get("event") == "ok",
                     f"b: bootstrap succeeds ({ms} ms): {res}")
        self.check(res.get("source") == "lan",
                   f"b: the grant came from a LAN beacon answer "
                   f"(source {res.get('source')!r})")
        self.check(res.get("peer") == a.peer,
                   "b: granted by a's node")
        self.check(str(res.get("remote", "")).startswith(
            lab.hosts["a"][1] + ":"),
                   f"b: a reached at its lab address ({res.get('remote')})")
        candidates = res.get("candidates") or []
        self.check(all(cand.get("source") == "lan" for cand in candidates),
                   "b: every candidate came from the beacon")
        self.check(all(cand.get("peer") != c.peer for cand in candidates),
                   "b: c (another network) is not a candidate")
        acc = a.wait_event("bootstrap_accept", TIMEOUT, peer=b.peer)
        self.check(acc is not None and acc.get("client") is False,
                   f"a: bootstrap_accept of b as a node: {acc}")
        self.check(b.wait_event("bootstrap_connect", TIMEOUT, peer=a.peer)
                   is not None, "b: bootstrap_connect to a")
        self.in_time()

        # 2. Another network name discovers nobody.
        res = c.command("bootstrap", BOOTSTRAP_WAIT)
        code = ((res or {}).get("error") or {}).get("code")
        self.check(res is not None and res.get("event") == "error"
                   and code == "no_candidates",
                   f"c (other-net): bootstrap fails with no_candidates: "
                   f"{res}")
        self.check(c.wait_event("bootstrap_failed", 2) is not None,
                   "c: bootstrap_failed event")
        time.sleep(0.5)   # let a late connection from c show up, if any
        for node in (a, b):
            seen = [ev for ev in node.events
                    if ev.get("peer") == c.peer and ev.get("event") in
                    ("bootstrap_accept", "connect_success")]
            self.check(not seen, f"{node.name}: no bootstrap_accept or "
                       f"connection from c ({seen})")
        self.check(not any(ev.get("event") == "connect_success"
                           for ev in c.events),
                   "c: connected to nobody")
        self.in_time()

        # 2b. The control: a node of c's network on host b is found by c's
        # beacon, so c's requests do cross the bridge and the network name
        # is what kept a and b out.
        c2 = self.start("b", "c2", *beacon, "--crust.network-name=other-net")
        self.started_up(c2)
        res = c.command("bootstrap", BOOTSTRAP_WAIT)
        self.check(res is not None and res.get("event") == "ok"
                   and res.get("source") == "lan"
                   and res.get("peer") == c2.peer,
                   f"c: bootstrap finds c2 (other-net, on host b) by the "
                   f"beacon: {res}")
        peers = {cand.get("peer") for cand in (res or {}).get("candidates")
                 or []}
        self.check(a.peer not in peers and b.peer not in peers,
                   "c: neither a nor b is a candidate")
        self.in_time()

        # 3. Without a's beacon, b finds nothing, though a is reachable.
        mark = b.mark()
        self.quit(a)
        self.check(b.wait_event("lost_peer", TIMEOUT, start=mark,
                                peer=a.peer) is not None,
                   "b: loses a when a quits")
        a_off = self.start("a", "a-off", "--crust.beacon=off",
                           key_file=a.key_file)
        self.started_up(a_off)
        self.check(a_off.peer == a.peer, "a-off has a's identity")
        res = b.command("bootstrap", BOOTSTRAP_WAIT)
        code = ((res or {}).get("error") or {}).get("code")
        self.check(res is not None and res.get("event") == "error"
                   and code == "no_candidates",
                   f"b: with a's beacon off, bootstrap fails with "
                   f"no_candidates: {res}")
        res = b.command(f"connect {a_off.peer}@{lab.hosts['a'][1]}:"
                        f"{a_off.port}", TIMEOUT)
        self.check(res is not None and res.get("event") == "ok",
                   f"b: a plain connect to a-off over the lab LAN works: "
                   f"{res}")
        self.in_time()
        for node in (b, c, c2, a_off):
            self.quit(node)


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        print("usage: beacon_lan_test.py CRUST_NODE [--keep-logs]",
              file=sys.stderr)
        return 2
    binary = os.path.abspath(argv[1])
    keep_logs = "--keep-logs" in argv[2:]

    def interrupt(signum, frame):
        raise Interrupted(signum)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        reason = skip_reason()
    except Interrupted as e:
        return 128 + e.signum
    if reason:
        print(f"skipped: {reason}", flush=True)
        return SKIP
    if not os.access(binary, os.X_OK):
        print(f"FAIL crust-node not found or not executable: {binary}")
        return 1

    lab = LanLab()
    workdir = tempfile.mkdtemp(prefix=f"{lab.prefix}-")
    test = Test(lab, binary, workdir)
    rc = 1
    started = time.monotonic()
    try:
        lab.build()
        print(f"lab {lab.prefix}: bridge {lab.bridge_ns}, hosts "
              + ", ".join(f"{ns} {addr}" for ns, addr in lab.hosts.values()),
              flush=True)
        test.run()
        rc = 1 if test.failures else 0
    except Interrupted as e:
        print(f"interrupted ({e}): tearing down", flush=True)
        rc = 128 + e.signum
    except (LabError, subprocess.SubprocessError, OSError) as e:
        print(f"FAIL {e}", flush=True)
        rc = 1
    finally:
        # No signal may cut the teardown short.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT,
                                                  signal.SIGTERM,
                                                  signal.SIGHUP})
        if rc != 0:
            test.dump()
        test.kill_all()
        lab.teardown()
        left = lab.leftovers()
        if left:
            print(f"FAIL namespaces left after teardown: {left}")
            rc = 1
        else:
            print(f"ok   teardown: no {lab.prefix}-* namespace left "
                  "(ip netns list)")
        if keep_logs or rc == 1:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    took = time.monotonic() - started
    if rc == 0:
        print(f"passed in {took:.1f} s")
    elif rc == 1:
        print(f"failed ({len(test.failures)} check(s)) in {took:.1f} s: "
              + "; ".join(test.failures))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
