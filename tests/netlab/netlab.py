"""Builds and tears down the NAT laboratory: network namespaces for an
"internet" bridge and the sites on it (Python 3 standard library; needs
root, iproute2 and nftables). topology.py parses the description,
nat_rules.py writes each router's ruleset, docs/netlab.md explains both.

Every run names its namespaces "<prefix>-..." with a fresh random prefix,
so parallel runs never collide, and records itself in /run/netlab so that
a later run can remove what a killed one left. No namespace of the lab has
a link to the root namespace: veths are created inside the namespaces, and
the WAN emulator only holds TAP file descriptors.

    with Lab("pub:public sym:symmetric rtt=50ms", emulator=path) as lab:
        lab.site("sym").hosts[0].run(["ping", "-c1", lab.site("pub")...])
"""

import errno
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import nat_rules
import topology

REGISTRY = "/run/netlab"
COMMAND_TIMEOUT = 20.0


class LabError(RuntimeError):
    pass


def skip_reason():
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_SYS_ADMIN)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"'{tool}' not found (apt-get install iproute2 nftables)"
    probe = "netlab-probe-" + secrets.token_hex(4)
    try:
        _run(["ip", "netns", "add", probe])
    except LabError as e:
        return f"cannot create a network namespace: {e}"
    try:
        _run(["ip", "netns", "exec", probe, "nft", "add", "table", "inet",
              "probe"])
    except LabError as e:
        return f"nftables does not work in a namespace: {e}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True,
                       timeout=COMMAND_TIMEOUT)
    return None


def _run(argv, input_text=None, timeout=COMMAND_TIMEOUT):
    try:
        done = subprocess.run(argv, input=input_text, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: no answer in {timeout} s")
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def _pid_alive(pid):
    """True if `pid` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _namespaces():
    out = _run(["ip", "netns", "list"])
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def remove_stale_runs():
    """Removes the namespaces of runs whose process is gone (killed with
    SIGKILL, say). Runs still alive are left alone."""
    if not os.path.isdir(REGISTRY):
        return []
    removed = []
    for entry in os.listdir(REGISTRY):
        path = os.path.join(REGISTRY, entry)
        try:
            with open(path) as f:
                pid = int(f.read().strip() or "0")
        except (OSError, ValueError):
            continue
        if pid and _pid_alive(pid):
            continue
        for ns in _namespaces():
            if ns.startswith(entry + "-"):
                _kill_namespace_processes(ns)
                subprocess.run(["ip", "netns", "del", ns],
                               capture_output=True, timeout=COMMAND_TIMEOUT)
                removed.append(ns)
        try:
            os.unlink(path)
        except OSError:
            pass
    return removed


def _kill_namespace_processes(ns):
    try:
        out = _run(["ip", "netns", "pids", ns])
    except LabError:
        return
    for word in out.split():
        try:
            os.kill(int(word), signal.SIGKILL)
        except (OSError, ValueError):
            pass


class Host:
    """A machine of a site: a namespace with one interface, eth0."""

    def __init__(self, lab, ns, address, site):
        self.lab = lab
        self.ns = ns
        self.address = address
        self.site = site

    def argv(self, argv):
        return ["ip", "netns", "exec", self.ns, *argv]

    def run(self, argv, timeout=COMMAND_TIMEOUT, check=True):
        done = subprocess.run(self.argv(argv), capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise LabError(f"{self.ns}: {' '.join(argv)}: "
                           f"{done.stderr.strip()}")
        return done

    def spawn(self, argv, **popen_args):
        return self.lab.spawn(self.argv(argv), **popen_args)


class Site:
    def __init__(self, spec):
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.hosts = []
        self.router_ns = None   # the NAT next to the hosts (None: public)
        self.carrier_ns = None  # double NAT only
        self.miniupnpd = None

    @property
    def public_address(self):
        """The site's address on the internet."""
        return self.spec.wan_address


class Lab:
    def __init__(self, description, emulator=None, workdir=None,
                 miniupnpd="/usr/sbin/miniupnpd"):
        self.specs = topology.parse(description)
        self.description = description
        self.emulator = emulator
        self.miniupnpd_path = miniupnpd
        self.prefix = "nl" + secrets.token_hex(3)
        self.inet_ns = f"{self.prefix}-inet"
        self.sites = {}
        self._namespaces = []
        self._processes = []
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"{self.prefix}-")
        self._registered = False

    # -- life -----------------------------------------------------------------

    def __enter__(self):
        try:
            self.build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False

    def site(self, name):
        return self.sites[name]

    def build(self):
        remove_stale_runs()
        os.makedirs(REGISTRY, exist_ok=True)
        with open(os.path.join(REGISTRY, self.prefix), "w") as f:
            f.write(str(os.getpid()))
        self._registered = True
        self._add_namespace(self.inet_ns)
        self._ns_run(self.inet_ns, ["ip", "link", "add", "br0", "type",
                                    "bridge"])
        self._ns_run(self.inet_ns, ["ip", "link", "set", "br0", "up"])
        for spec in self.specs:
            self.sites[spec.name] = self._build_site(spec)
        self._check_links()

    def teardown(self):
        for proc in reversed(self._processes):
            if proc.poll() is None:
                try:
                    proc.terminate()
                except OSError:
                    pass
        deadline = time.monotonic() + 3
        for proc in self._processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                try:
                    proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    pass
        self._processes = []
        for ns in reversed(self._namespaces):
            _kill_namespace_processes(ns)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True,
                           timeout=COMMAND_TIMEOUT)
        self._namespaces = []
        if self._registered:
            try:
                os.unlink(os.path.join(REGISTRY, self.prefix))
            except OSError:
                pass
            self._registered = False
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def spawn(self, argv, **popen_args):
        """Starts a process that teardown ends."""
        popen_args.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, **popen_args)
        self._processes.append(proc)
        return proc

    # -- pieces ---------------------------------------------------------------

    def _add_namespace(self, ns):
        _run(["ip", "netns", "add", ns])
        self._namespaces.append(ns)
        # IPv6 only on lo (crust-node listens on [::]); no router
        # solicitations or DAD on the lab's links.
        self._ns_run(ns, ["sysctl", "-q", "-w",
                          "net.ipv6.conf.default.disable_ipv6=1"])
        self._ns_run(ns, ["ip", "link", "set", "lo", "up"])

    def _ns_run(self, ns, argv, input_text=None):
        return _run(["ip", "netns", "exec", ns, *argv], input_text)

    def _veth(self, ns_a, if_a, ns_b, if_b):
        _run(["ip", "-n", ns_a, "link", "add", if_a, "type", "veth", "peer",
              "name", if_b, "netns", ns_b])

    def _address(self, ns, ifname, cidr):
        _run(["ip", "-n", ns, "addr", "add", cidr, "dev", ifname])
        _run(["ip", "-n", ns, "link", "set", ifname, "up"])

    def _to_internet(self, spec, ns, ifname):
        """Joins `ns` to the internet bridge as `ifname`, through the WAN
        emulator if the site's link is impaired."""
        port = f"s{spec.index}"
        if spec.link.impaired():
            if not self.emulator:
                raise LabError(f"site {spec.name}: an impaired link needs "
                               "the wan_emulator program")
            _run(["ip", "-n", ns, "tuntap", "add", "mode", "tap", "name",
                  ifname])
            _run(["ip", "-n", self.inet_ns, "tuntap", "add", "mode", "tap",
                  "name", port])
            self._start_emulator(spec, ns, ifname, port)
        else:
            self._veth(ns, ifname, self.inet_ns, port)
        _run(["ip", "-n", self.inet_ns, "link", "set", port, "master",
              "br0"])
        _run(["ip", "-n", self.inet_ns, "link", "set", port, "up"])
        self._address(ns, ifname, f"{spec.wan_address}/"
                                  f"{topology.INTERNET.prefixlen}")

    def _start_emulator(self, spec, ns, ifname, port):
        link = spec.link
        argv = [self.emulator, "--a", f"{ns}:{ifname}",
                "--b", f"{self.inet_ns}:{port}",
                "--delay-ms", str(link.delay_ms),
                "--jitter-ms", str(link.jitter_ms),
                "--loss-pct", str(link.loss_pct),
                "--reorder-pct", str(link.reorder_pct),
                "--seed", str(spec.index)]
        log = open(os.path.join(self.workdir, f"wan-{spec.name}.log"), "w")
        proc = self.spawn(argv, stdout=subprocess.PIPE, stderr=log,
                          text=True)
        log.close()
        line = read_line(proc, timeout=10)
        if line.strip() != "ready":
            raise LabError(f"wan_emulator for {spec.name} did not start "
                           f"({line.strip() or 'no output'}; see "
                           f"{self.workdir}/wan-{spec.name}.log)")

    def _router(self, ns, wan_cidr, lan_prefix, kind, hosts, upnp):
        self._ns_run(ns, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        wan_address = wan_cidr.split("/")[0]
        self._ns_run(ns, ["nft", "-f", "-"],
                     nat_rules.ruleset(kind, wan_address, hosts, upnp))
        self._address(ns, "lan", f"{lan_prefix}.1/24")

    def _build_site(self, spec):
        site = Site(spec)
        base = f"{self.prefix}-{spec.name}"
        if spec.kind == "public":
            ns = f"{base}-h1"
            self._add_namespace(ns)
            self._to_internet(spec, ns, "eth0")
            site.hosts.append(Host(self, ns, spec.wan_address, site))
            return site

        wan_cidr = f"{spec.wan_address}/{topology.INTERNET.prefixlen}"
        lan = spec.lan_prefix
        host_addresses = [f"{lan}.{n + 2}" for n in range(spec.host_count())]
        router = f"{base}-r"
        self._add_namespace(router)
        site.router_ns = router
        if spec.kind == "double-nat":
            carrier = f"{base}-c"
            self._add_namespace(carrier)
            site.carrier_ns = carrier
            self._to_internet(spec, carrier, "wan")
            cgn = spec.carrier_prefix
            self._veth(carrier, "lan", router, "wan")
            self._router(carrier, wan_cidr, cgn, "carrier", [f"{cgn}.2"],
                         False)
            self._address(router, "wan", f"{cgn}.2/24")
            _run(["ip", "-n", router, "route", "add", "default", "via",
                  f"{cgn}.1"])
        else:
            self._to_internet(spec, router, "wan")
        if len(host_addresses) > 1:
            # Several hosts: the router's "lan" is a bridge over their veths.
            _run(["ip", "-n", router, "link", "add", "lan", "type",
                  "bridge"])
        for n, address in enumerate(host_addresses, start=1):
            ns = f"{base}-h{n}"
            self._add_namespace(ns)
            if len(host_addresses) > 1:
                self._veth(ns, "eth0", router, f"lanh{n}")
                _run(["ip", "-n", router, "link", "set", f"lanh{n}",
                      "master", "lan"])
                _run(["ip", "-n", router, "link", "set", f"lanh{n}", "up"])
            else:
                self._veth(ns, "eth0", router, "lan")
            self._address(ns, "eth0", f"{address}/24")
            site.hosts.append(Host(self, ns, address, site))
        if spec.kind == "double-nat":
            self._router(router, f"{spec.carrier_prefix}.2/24", lan,
                         "port-restricted", host_addresses, False)
        else:
            self._router(router, wan_cidr, lan, spec.kind, host_addresses,
                         spec.kind in topology.PORT_MAPPING_KINDS)
        for host in site.hosts:
            _run(["ip", "-n", host.ns, "route", "add", "default", "via",
                  f"{lan}.1"])
        if spec.kind in topology.PORT_MAPPING_KINDS:
            site.miniupnpd = self._start_miniupnpd(site, spec)
        return site

    def _start_miniupnpd(self, site, spec):
        if not os.access(self.miniupnpd_path, os.X_OK):
            raise LabError(f"{self.miniupnpd_path} not found (apt-get "
                           "install miniupnpd-nftables)")
        conf = os.path.join(self.workdir, f"miniupnpd-{spec.name}.conf")
        with open(conf, "w") as f:
            f.write(miniupnpd_config(spec))
        log = open(os.path.join(self.workdir, f"miniupnpd-{spec.name}.log"),
                   "w")
        pidfile = os.path.join(self.workdir, f"miniupnpd-{spec.name}.pid")
        proc = self.spawn(["ip", "netns", "exec", site.router_ns,
                           self.miniupnpd_path, "-d", "-f", conf, "-P",
                           pidfile], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        # Ready once its NAT-PMP socket (and for UPnP, its HTTP port) is
        # open (bounded wait).
        probes = [["ss", "-Huln", f"sport = :{NATPMP_PORT}"]]
        if spec.kind == "upnp":
            probes.append(["ss", "-Htln", f"sport = :{UPNP_HTTP_PORT}"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(f"miniupnpd of {spec.name} exited "
                               f"({proc.returncode}); see {log.name}")
            if all(self._ns_run(site.router_ns, probe).strip()
                   for probe in probes):
                return proc
            time.sleep(0.1)
        raise LabError(f"miniupnpd of {spec.name} did not listen in 10 s")

    def _check_links(self):
        """Waits (bounded) until every site answers on the internet, so
        that a test starts on a working lab."""
        deadline = time.monotonic() + 10
        for site in self.sites.values():
            top = site.carrier_ns or site.router_ns or site.hosts[0].ns
            while True:
                done = subprocess.run(
                    ["ip", "netns", "exec", top, "ip", "-br", "link", "show",
                     "dev", "eth0" if site.kind == "public" else "wan"],
                    capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
                if "LOWER_UP" in done.stdout or " UP " in done.stdout:
                    break
                if time.monotonic() > deadline:
                    raise LabError(f"site {site.name}: its link did not come "
                                   f"up: {done.stdout.strip()}")
                time.sleep(0.05)

    def describe(self):
        lines = [f"lab {self.prefix}: {self.description}"]
        for site in self.sites.values():
            hosts = ", ".join(f"{h.ns} {h.address}" for h in site.hosts)
            lines.append(f"  {site.name:8} {site.kind:16} "
                         f"{site.public_address:15} {hosts}")
        return "\n".join(lines)


UPNP_HTTP_PORT = 2189
NATPMP_PORT = 5351  # RFC 6886


def miniupnpd_config(spec):
    """miniupnpd.conf for a "upnp" or "natpmp" site: its rules go into the
    router's own inet lab table (nat_rules.py makes the chains)."""
    return "\n".join([
        "ext_ifname=wan",
        f"listening_ip=lan",
        f"http_port={UPNP_HTTP_PORT}",
        f"enable_upnp={'yes' if spec.kind == 'upnp' else 'no'}",
        "enable_natpmp=yes",
        "secure_mode=yes",
        "system_uptime=yes",
        f"uuid=6e61746c-6162-4000-8000-{spec.index:012x}",
        "upnp_table_name=lab",
        "upnp_nat_table_name=lab",
        "upnp_forward_chain=miniupnpd",
        "upnp_nat_chain=prerouting_miniupnpd",
        "upnp_nat_postrouting_chain=postrouting_miniupnpd",
        f"allow 1024-65535 {spec.lan_prefix}.0/24 1024-65535",
        "deny 0-65535 0.0.0.0/0 0-65535",
        "",
    ])


def read_line(proc, timeout):
    """One line of a child's stdout within `timeout` seconds ('' if none)."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if sel.select(timeout):
            return proc.stdout.readline()
        return ""
    finally:
        sel.close()


def install_signal_handlers():
    """SIGTERM (and SIGHUP) unwind like Ctrl-C, so `with Lab(...)` tears
    the lab down on every way out."""
    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_interrupt)
