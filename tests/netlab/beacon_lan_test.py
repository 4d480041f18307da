#!/usr/bin/env python3
"""LAN beacon across hosts (issue 4, Tests): three hosts on one bridge, each
in its own network namespace, discover each other by crust's LAN beacon
alone (no contacts, no bootstrap cache), and a node of another network name
discovers nobody. docs/netlab.md ("LAN beacon across hosts") describes it.

The lab (lan_lab.py): a bridge namespace and host namespaces `<prefix>-a`,
`-b`, `-c` on 10.77.0.2-4/24, no link to the root namespace; the prefix is
`bl<6 hex>`, fresh per run; torn down on exit, error and signal.

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
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lan_lab import LabError, LanLab, NodeTest, run_test  # noqa: E402,F401

BOOTSTRAP_WAIT = 20.0   # one bootstrap: budget 10 s plus margin


class Test(NodeTest):
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
        acc = a.wait_event("bootstrap_accept", self.timeout, peer=b.peer)
        self.check(acc is not None and acc.get("client") is False,
                   f"a: bootstrap_accept of b as a node: {acc}")
        self.check(b.wait_event("bootstrap_connect", self.timeout, peer=a.peer)
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
        self.check(b.wait_event("lost_peer", self.timeout, start=mark,
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
                        f"{a_off.port}", self.timeout)
        self.check(res is not None and res.get("event") == "ok",
                   f"b: a plain connect to a-off over the lab LAN works: "
                   f"{res}")
        self.in_time()
        for node in (b, c, c2, a_off):
            self.quit(node)



def main(argv):
    return run_test(argv, "beacon_lan_test.py CRUST_NODE [--keep-logs]",
                    lambda: LanLab("bl", "10.77.0", ("a", "b", "c")), Test)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
