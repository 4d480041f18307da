#!/usr/bin/env python3
"""The crust matrix: one crust-node per site, a connection attempt from
every site to every other, and what came of it (connected or not, the path,
the time to connect). docs/netlab.md.

crust has no NAT traversal yet, so what connects is what direct TCP alone
reaches: public listeners, and the UPnP site once crust-node mapped its
port through miniupnpd (--crust.nat.upnp).

    crust_matrix.py --crust-node PATH [--emulator PATH] [--full]
        [--rtt 50ms] [--sites DESCRIPTION] [--endpoints a,b,...]
        [--out PREFIX]
"""

import argparse
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import matrix_report  # noqa: E402
import netlab  # noqa: E402
import node_driver  # noqa: E402

# Longest wait for one connect (a SYN into a NAT is dropped: this is what a
# failed attempt costs).
CONNECT_TIMEOUT_S = 4
START_TIMEOUT_S = 20
MAPPING_TIMEOUT_S = 25

FULL_SITES = ("pub1:public pub2:public fc:full-cone rc:restricted "
              "prc:port-restricted sym:symmetric upnp:upnp natpmp:natpmp "
              "dbl:double-nat noudp:udp-blocked")
FAST_ENDPOINTS = ["pub1", "pub2", "prc", "sym", "upnp", "natpmp", "noudp"]


EXPECTED_TEXT = {True: "connected", False: "not connected",
                 None: "either: depends on earlier traffic"}


def expected(listener_kind):
    """Whether a direct TCP connect reaches a listener of this kind: True,
    False, or None where it depends on the past. A full cone forwards every
    inbound flow to its host; a restricted cone those from addresses its
    host sent to in the last 5 minutes (an earlier attempt, another test)."""
    if listener_kind == "restricted":
        return None
    return listener_kind in ("public", "upnp", "natpmp", "full-cone")


class SiteNode:
    """crust-node in one host of the lab (through a wrapper that enters the
    host's namespace, so node_driver runs it unchanged)."""

    def __init__(self, lab, host, binary, name, extra_args):
        wrapper = os.path.join(lab.workdir, f"crust-node-{name}")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nexec ip netns exec {host.ns} {binary} "
                    '"$@"\n')
        os.chmod(wrapper, 0o755)
        self.host = host
        self.name = name
        self.node = node_driver.Node(
            wrapper, lab.workdir, name,
            f"--command-timeout={CONNECT_TIMEOUT_S}s",
            "--crust.handshake-timeout=5s", *extra_args)
        self.advertised = None   # (address, port) others dial
        self.via = None


def start_nodes(lab, binary, endpoints):
    nodes = {}
    for name in endpoints:
        site = lab.site(name)
        extra = (["--crust.nat.upnp"]
                 if site.kind in netlab.topology.PORT_MAPPING_KINDS else [])
        nodes[name] = SiteNode(lab, site.hosts[0], binary, name, extra)
    for name, sn in nodes.items():
        if not sn.node.start_up(START_TIMEOUT_S):
            raise netlab.LabError(f"crust-node in {name} did not start: "
                                  f"{sn.node.stderr_text()[-500:]}")
        sn.advertised = (lab.site(name).public_address, sn.node.port)
    for name, sn in nodes.items():
        if lab.site(name).kind not in netlab.topology.PORT_MAPPING_KINDS:
            continue
        ev = sn.node.wait_for(lambda e: e.get("event") in
                              ("port_mapped", "port_mapping_failed"),
                              MAPPING_TIMEOUT_S)
        if ev and ev["event"] == "port_mapped":
            address, _, port = ev["external"].rpartition(":")
            sn.advertised = (address, int(port))
            sn.via = f"{ev['method']} mapping"
        else:
            sn.via = f"mapping failed: {ev and ev.get('error')}"
    return nodes


def attempt(dialer, listener):
    """One connect; the matrix cell."""
    address, port = listener.advertised
    mark = dialer.node.mark()
    started = time.monotonic()
    result = dialer.node.command(
        f"connect {listener.node.peer}@{address}:{port}",
        timeout=CONNECT_TIMEOUT_S + 5)
    ms = round((time.monotonic() - started) * 1000)
    connected = bool(result and result.get("event") == "ok")
    cell = {"connected": connected, "path": None, "ms": None,
            "dialed": f"{address}:{port}"}
    if connected:
        ev = dialer.node.wait_event("connect_success", 2, start=mark,
                                    peer=listener.node.peer)
        if ev is None or not ev.get("initiated"):
            # Not this attempt's doing: a dial of the listener's from an
            # earlier round (its SYNs are retried after the command timed
            # out) got through first, and crust kept that connection.
            cell.update(connected=False, error="the peer's own dial "
                        "connected first")
        else:
            cell.update(path=f"direct {ev.get('transport', 'tcp').upper()}",
                        ms=ms, via=listener.via)
        listener_mark = listener.node.mark()
        dialer.node.command(f"disconnect {listener.node.peer}")
        # Both ends forget the connection before the next attempt.
        listener.node.wait_event("lost_peer", 5, start=listener_mark,
                                 peer=dialer.node.peer)
    else:
        cell["error"] = (result or {}).get("error", {}).get("code",
                                                            "no answer")
    return cell


def rounds(names):
    """Ordered pairs in rounds where nobody dials twice, is dialled twice,
    or dials the one dialling it."""
    n = len(names)
    out = []
    for k in range(1, n):
        pairs = [(names[i], names[(i + k) % n]) for i in range(n)]
        if 2 * k == n:
            out.append(pairs[: n // 2])
            out.append(pairs[n // 2:])
        else:
            out.append(pairs)
    return out


def run(lab, binary, endpoints, log=print):
    nodes = start_nodes(lab, binary, endpoints)
    cells = {a: {} for a in endpoints}
    for pairs in rounds(endpoints):
        threads = []
        for a, b in pairs:
            def one(a=a, b=b):
                cells[a][b] = attempt(nodes[a], nodes[b])
            t = threading.Thread(target=one, daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join(CONNECT_TIMEOUT_S + 30)
        for a, b in pairs:
            cell = cells[a].get(b)
            want = expected(lab.site(b).kind)
            got = bool(cell and cell["connected"])
            if cell is not None:
                cell["expected"] = want
            verdict = "ok  " if want in (None, got) else "FAIL"
            log(f"{verdict} {a:6} -> {b:6}: {matrix_report.cell_text(cell)}"
                f" (expected {EXPECTED_TEXT[want]})")
    for sn in nodes.values():
        sn.node.quit(5)
        sn.node.kill()
    return {"endpoints": list(endpoints),
            "kinds": {n: lab.site(n).kind for n in endpoints},
            "mappings": {n: nodes[n].via for n in endpoints if nodes[n].via},
            "cells": cells}


def mismatches(matrix):
    bad = []
    for a, row in matrix["cells"].items():
        for b, cell in row.items():
            if cell is None or cell.get("expected") not in (None,
                                                            cell["connected"]):
                bad.append((a, b))
    for a in matrix["endpoints"]:
        for b in matrix["endpoints"]:
            if a != b and b not in matrix["cells"][a]:
                bad.append((a, b))
    return bad


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crust-node", required=True)
    parser.add_argument("--emulator")
    parser.add_argument("--rtt", default="0",
                        help="RTT between two sites (needs --emulator)")
    parser.add_argument("--full", action="store_true",
                        help="every site (default: seven of them)")
    parser.add_argument("--sites", default=FULL_SITES,
                        help="topology description (docs/netlab.md)")
    parser.add_argument("--endpoints",
                        help="comma-separated sites to run crust-node in")
    parser.add_argument("--out", default="crust-matrix",
                        help="writes PREFIX.json, PREFIX.md, PREFIX.svg")
    args = parser.parse_args()
    reason = netlab.skip_reason()
    if reason:
        print(f"skipped: {reason}")
        return 77
    netlab.install_signal_handlers()
    description = args.sites
    if args.rtt not in ("0", "0ms"):
        description += f" rtt={args.rtt}"
    with netlab.Lab(description, emulator=args.emulator) as lab:
        if args.endpoints:
            endpoints = args.endpoints.split(",")
        elif args.full or args.sites != FULL_SITES:
            endpoints = [n for n in lab.sites if lab.site(n).kind
                         not in netlab.topology.TWO_HOST_KINDS]
        else:
            endpoints = FAST_ENDPOINTS
        matrix = run(lab, args.crust_node, endpoints)
    matrix["rtt"] = args.rtt
    title = f"crust direct connections (RTT {args.rtt})"
    for path in matrix_report.write_all(args.out, matrix, title):
        print(f"wrote {path}")
    bad = mismatches(matrix)
    print(f"crust matrix: {sum(len(r) for r in matrix['cells'].values()) - len(bad)}"
          f" of {sum(len(r) for r in matrix['cells'].values())} cells as "
          "expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
