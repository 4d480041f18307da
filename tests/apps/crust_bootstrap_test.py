#!/usr/bin/env python3
"""Bootstrap with real crust-node processes on loopback: contacts, the
bootstrap cache across a restart, a corrupt cache file set aside, the
connect-back test of a node that cannot be reached, a node that does not
accept bootstraps, and discovery by the LAN beacon on loopback. Every wait is
bounded; every process is killed at the end whatever happens.

Usage: crust_bootstrap_test.py CRUST_NODE [SCENARIO ...]"""

import glob
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "scripts"))
from node_driver import Nodes, check, code_of, run_scenarios  # noqa: E402

NODE = sys.argv[1]
ONLY = set(sys.argv[2:])
TIMEOUT = 15
BUDGET = ["--crust.bootstrap-budget=5s"]


def started(node):
    return check(node.start_up(TIMEOUT), f"{node.name} starts")


def cache_of(work, name):
    return os.path.join(work, name + ".bootstrap_cache.json")


def contacts(*nodes):
    return "--crust.contacts=[" + ",".join(
        f'"{n.contact("127.0.0.1")}"' for n in nodes) + "]"


def read_cache(path):
    """The peer ids in a cache file, most recent first, or why not."""
    try:
        with open(path) as f:
            return [p["peer"] for p in json.load(f)["peers"]]
    except (OSError, ValueError, KeyError) as e:
        return f"unreadable: {e}"


def wait_for_cache(path, want, timeout=TIMEOUT):
    """Polls the cache file (bounded) until it lists `want`; its last
    content."""
    deadline = time.monotonic() + timeout
    while True:
        got = read_cache(path)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def free_tcp_port():
    """A loopback TCP port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- scenarios -----------------------------------------------------------------


def contact_then_cache(work):
    """Bootstrap from a contact, then meet a peer by gossip; after a restart
    without contacts, bootstrap from the cache, which holds the peer met but
    never the contact."""
    with Nodes(NODE, work) as nodes:
        seed = nodes.start("seed1")
        if not started(seed):
            return
        x = nodes.start("x1", contacts(seed), *BUDGET)
        if not started(x):
            return
        res = x.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "ok",
              f"x bootstraps off the seed: {res}")
        b = nodes.start("b1", contacts(seed), *BUDGET)
        if not started(b):
            return
        res = b.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "ok"
              and res.get("peer") == seed.peer
              and res.get("source") == "contact",
              f"bootstrap from the contact: {res}")
        acc = seed.wait_event("bootstrap_accept", TIMEOUT, peer=b.peer)
        check(acc is not None and acc["client"] is False,
              "the seed reports a node bootstrapped off it")
        learned = b.command("learned", TIMEOUT)
        check(learned is not None and learned["event"] == "ok"
              and [p["peer"] for p in learned["peers"]] == [x.peer],
              f"b learned x from the seed's gossip: {learned}")
        b.command("connect-learned", TIMEOUT)
        ev = b.wait_event("connect_success", TIMEOUT, peer=x.peer)
        check(ev is not None and ev.get("found") == "gossip",
              f"b connects to x, found by gossip: {ev}")
        # x's gossip (its listening endpoints) reaches b just after the
        # connection; the cache writes its file a moment after a change.
        cached = wait_for_cache(cache_of(work, "b1"), [x.peer])
        check(b.quit(TIMEOUT) == 0, "b quits")
        check(cached == [x.peer],
              f"b's cache holds x and not the hard-coded contact: {cached}")
        # Same identity, no contacts: only the cache knows a peer.
        b2 = nodes.start("b1-again", *BUDGET, key_file=b.key_file)
        if not started(b2):
            return
        res = b2.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "ok"
              and res.get("peer") == x.peer
              and res.get("source") == "cache",
              f"after a restart, bootstrap from the cache: {res}")


def corrupt_cache(work):
    """A corrupt cache is set aside; the node still bootstraps."""
    with Nodes(NODE, work) as nodes:
        seed = nodes.start("seed2")
        if not started(seed):
            return
        with open(cache_of(work, "c2"), "w") as f:
            f.write('{"format": "crust-bootstrap-cache", "peers": [tru')
        c = nodes.start("c2", contacts(seed), *BUDGET)
        if not started(c):
            return
        res = c.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "ok"
              and res.get("source") == "contact",
              f"bootstrap from the contact despite the corrupt cache: {res}")
        aside = glob.glob(cache_of(work, "c2") + ".corrupt-*")
        check(len(aside) == 1, f"the corrupt file was set aside: {aside}")
        if aside:
            with open(aside[0]) as f:
                check(f.read().endswith("[tru"), "the set-aside file is kept "
                      "as it was")


def unreachable_and_refusing(work):
    """A node the seed cannot connect back to is denied; so is everyone by
    a seed that does not accept bootstraps; a client needs no connect
    back."""
    with Nodes(NODE, work) as nodes:
        seed = nodes.start("seed3")
        if not started(seed):
            return
        # Not listening: it advertises no address the seed could test.
        d = nodes.start("d3", contacts(seed), *BUDGET, listen=False)
        check(d.wait_event("identity", TIMEOUT) is not None, "d3 starts")
        res = d.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "error"
              and code_of(res) == "not_reachable",
              f"an unreachable node is denied with not_reachable: {res}")
        # Listening, but advertising an address where nobody answers.
        port = free_tcp_port()
        u = nodes.start("u3", contacts(seed), *BUDGET,
                        f'--crust.advertise=["127.0.0.1:{port}"]')
        if not started(u):
            return
        t0 = time.monotonic()
        res = u.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "error"
              and code_of(res) == "not_reachable",
              f"a node advertising an unreachable address is denied: {res}")
        check(time.monotonic() - t0 < 3.0 + 2.0,
              "within the 3 s reachability timeout (plus slack)")
        e = nodes.start("e3", contacts(seed), "--crust.client", *BUDGET,
                        listen=False)
        ident = e.wait_event("identity", TIMEOUT)
        check(ident is not None, "e3 starts")
        e.peer = (ident or {}).get("peer")
        res = e.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "ok",
              f"the same as a client is granted: {res}")
        acc = seed.wait_event("bootstrap_accept", TIMEOUT, peer=e.peer)
        check(acc is not None and acc["client"] is True,
              "the seed reports a client")
        closed = nodes.start("closed3", "--crust.refuse-bootstrap")
        if not started(closed):
            return
        f = nodes.start("f3", contacts(closed), *BUDGET)
        if not started(f):
            return
        res = f.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "error"
              and code_of(res) == "not_accepting",
              f"a seed that does not accept bootstraps denies: {res}")


def lan_beacon(work):
    """With no contacts and no cache, the beacon (on loopback) finds the
    seed; another network name does not."""
    port = free_udp_port()
    beacon = ["--crust.beacon=loopback", f"--crust.beacon-port={port}"]
    with Nodes(NODE, work) as nodes:
        seed = nodes.start("seed4", *beacon)
        if not started(seed):
            return
        g = nodes.start("g4", *beacon, *BUDGET)
        if not started(g):
            return
        res = g.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "ok"
              and res.get("peer") == seed.peer and res.get("source") == "lan",
              f"the beacon finds the seed: {res}")
        h = nodes.start("h4", *beacon, *BUDGET,
                        "--crust.network-name=another-network")
        if not started(h):
            return
        res = h.command("bootstrap", TIMEOUT)
        check(res is not None and res["event"] == "error"
              and code_of(res) == "no_candidates",
              f"another network finds nobody: {res}")


SCENARIOS = {
    "contact_then_cache": contact_then_cache,
    "corrupt_cache": corrupt_cache,
    "unreachable_and_refusing": unreachable_and_refusing,
    "lan_beacon": lan_beacon,
}

sys.exit(run_scenarios("crust_bootstrap_test", SCENARIOS, ONLY))
