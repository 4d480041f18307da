"""A LAN of crust-node hosts in network namespaces, for the netlab tests
that need whole nodes on separate hosts (beacon_lan_test.py,
rudp_fallback_test.py).

The lab: a bridge namespace `<prefix>-br` (br0, multicast snooping off) and
one host namespace `<prefix>-<name>` per host, each with a veth `eth0` into
br0 and an address on a /24 that exists only inside the lab. Nothing is
linked to the root namespace; IPv6 is off except on `lo`. The prefix is
fresh per run; the run is recorded in /run/netlab like the other netlab
runs, so a later run removes what a SIGKILLed one left. `run_test` tears it
down on exit, on error and on SIGINT/SIGTERM/SIGHUP, and checks with
`ip netns list` that nothing is left.

Exit codes of `run_test`: 0 pass, 1 fail, 2 usage, 77 skipped (not root, no
namespaces), 128 + N on signal N (after the teardown)."""

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
CMD_TIMEOUT = 20.0      # any ip, nft or tc command


class LabError(RuntimeError):
    pass


class Interrupted(BaseException):
    def __init__(self, signum):
        super().__init__(f"signal {signum}")
        self.signum = signum


def run(argv, check=True, timeout=CMD_TIMEOUT, stdin=None):
    try:
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, input=stdin)
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: no answer in {timeout} s")
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def namespaces():
    out = run(["ip", "netns", "list"])
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def skip_reason(needs=()):
    """Why the lab cannot be built here (None if it can); `needs` names
    further programs the test uses (e.g. "nft")."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_SYS_ADMIN)"
    for program in ("ip",) + tuple(needs):
        if shutil.which(program) is None:
            return f"'{program}' not found"
    probe = "llprobe-" + secrets.token_hex(4)
    try:
        try:
            run(["ip", "netns", "add", probe])
        except LabError as e:
            return f"cannot create a network namespace: {e}"
        run(["ip", "-n", probe, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", probe, "link", "add", "v0", "type", "veth",
             "peer", "name", "v1"])
        if "nft" in needs:
            run(["ip", "netns", "exec", probe, "nft", "add", "table", "inet",
                 "probe"])
    except LabError as e:
        return f"no bridge, veth or nftables inside a namespace: {e}"
    finally:
        run(["ip", "netns", "del", probe], check=False)
    return None


class LanLab:
    """A bridge namespace and one namespace per host, a veth each."""

    def __init__(self, tag, lan, hosts):
        self.prefix = tag + secrets.token_hex(3)
        self.lan = lan                 # "10.77.0": hosts get .2, .3, ...
        self.host_names = tuple(hosts)
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
        run(["ip", "-n", br, "link", "add", "br0", "type", "bridge",
             "mcast_snooping", "0"])
        run(["ip", "-n", br, "link", "set", "br0", "up"])
        for n, name in enumerate(self.host_names):
            ns = f"{self.prefix}-{name}"
            address = f"{self.lan}.{n + 2}"
            self._add_namespace(ns)
            port = f"p{name}"
            run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth",
                 "peer", "name", port, "netns", br])
            run(["ip", "-n", br, "link", "set", port, "master", "br0"])
            run(["ip", "-n", br, "link", "set", port, "up"])
            run(["ip", "-n", ns, "addr", "add", f"{address}/24", "dev",
                 "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            self.hosts[name] = (ns, address)
        self._wait_links()

    def _add_namespace(self, ns):
        self._namespaces.append(ns)   # first: a signal may come any time
        run(["ip", "netns", "add", ns])
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
             "net.ipv6.conf.default.disable_ipv6=1"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def _wait_links(self):
        deadline = time.monotonic() + 10
        for name, (ns, _) in self.hosts.items():
            while True:
                out = run(["ip", "-n", ns, "-br", "link", "show", "dev",
                           "eth0"])
                if "LOWER_UP" in out:
                    break
                if time.monotonic() > deadline:
                    raise LabError(f"host {name}: eth0 not up: {out.strip()}")
                time.sleep(0.05)

    def address(self, host):
        return self.hosts[host][1]

    def ping(self, src, dst):
        ns, _ = self.hosts[src]
        done = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c1",
                               "-W2", self.hosts[dst][1]],
                              capture_output=True, timeout=CMD_TIMEOUT)
        return done.returncode == 0

    def nft(self, host, script):
        """Runs an nft script (`nft -f -`) inside `host`'s namespace."""
        ns, _ = self.hosts[host]
        run(["ip", "netns", "exec", ns, "nft", "-f", "-"], stdin=script)

    def teardown(self):
        for ns in reversed(self._namespaces):
            out = run(["ip", "netns", "pids", ns], check=False)
            for word in out.split():
                try:
                    os.kill(int(word), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            run(["ip", "netns", "del", ns], check=False)
        self._namespaces = []
        if self._registered:
            try:
                os.unlink(os.path.join(netlab.REGISTRY, self.prefix))
            except OSError:
                pass
            self._registered = False

    def leftovers(self):
        return [ns for ns in namespaces() if ns.startswith(self.prefix + "-")]


class NodeTest:
    """Checks and crust-node processes of one test in a LanLab; a scenario
    subclasses it and defines `run()`."""

    timeout = 15.0          # any single wait
    run_deadline = 90.0     # the whole test, checked between steps

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
        if time.monotonic() - self.started > self.run_deadline:
            raise LabError(f"the test took over {self.run_deadline} s")

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
        self.require(node.start_up(self.timeout),
                     f"{node.name} starts (identity, listener)")

    def quit(self, node):
        code = node.quit(self.timeout)
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

    def run(self):
        raise NotImplementedError


def run_test(argv, usage, make_lab, test_class, needs=()):
    """main() of a LanLab test: argv[1] is crust-node."""
    if len(argv) < 2 or argv[1].startswith("-"):
        print(f"usage: {usage}", file=sys.stderr)
        return 2
    binary = os.path.abspath(argv[1])
    keep_logs = "--keep-logs" in argv[2:]

    def interrupt(signum, frame):
        raise Interrupted(signum)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        reason = skip_reason(needs)
    except Interrupted as e:
        return 128 + e.signum
    if reason:
        print(f"skipped: {reason}", flush=True)
        return SKIP
    if not os.access(binary, os.X_OK):
        print(f"FAIL crust-node not found or not executable: {binary}")
        return 1

    lab = make_lab()
    workdir = tempfile.mkdtemp(prefix=f"{lab.prefix}-")
    test = test_class(lab, binary, workdir)
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
