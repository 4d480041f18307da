#!/usr/bin/env python3
"""CTest entry of the NAT laboratory (docs/netlab.md). The fast subset:

1. builds the reference lab (two sites of each textbook kind, a UDP-blocking
   firewall, a hairpinning and a non-hairpinning NAT, a rendezvous) with
   50 ms RTT between sites through the WAN emulator, and checks that the
   emulator adds the delay it was asked for;
2. runs the reference hole-punch check for a representative set of pairs;
3. runs crust-node's direct-connection matrix among seven of its sites
   (including the UPnP and the NAT-PMP site, mapped through miniupnpd) and
   checks every cell;
4. checks that the topology builder rejects bad descriptions and that
   nothing of the lab is left behind.

NETLAB_FULL=1 runs every pair instead (reference: 107 pairs, crust: every
site). Exit 0 on success, 1 on failure, 77 (skipped) where namespaces cannot
be made. Results go to --out (JSON, Markdown, SVG)."""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import crust_matrix  # noqa: E402
import matrix_report  # noqa: E402
import netlab  # noqa: E402
import reference_check  # noqa: E402
import topology  # noqa: E402

SKIPPED = 77
RTT = "50ms"
CRUST_FAST_ENDPOINTS = ["pub1", "pub2", "prc1", "sym1", "upnp1", "natpmp1",
                        "noudp1"]

failures = []


def check(condition, what):
    print(f"{'ok  ' if condition else 'FAIL'} {what}", flush=True)
    if not condition:
        failures.append(what)


def check_parser():
    for bad in ("", "a:nonsense", "a:public a:public", "A:public",
                "a:public delay=fast", "a:public/loss=200%", "a:public x=1"):
        try:
            topology.parse(bad)
            check(False, f"description {bad!r} is refused")
        except topology.TopologyError:
            check(True, f"description {bad!r} is refused")
    specs = topology.parse("a:public b:symmetric/loss=1% rtt=40ms")
    check(specs[1].link.delay_ms == 10 and specs[1].link.loss_pct == 1
          and specs[0].link.delay_ms == 10, "link options parse")


def check_delay(lab):
    """One UDP round trip between two public hosts: 4 x the link delay."""
    probe = ("import socket,sys,time\n"
             "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
             "s.settimeout(2); best=1e9\n"
             "for i in range(20):\n"
             "  t=time.perf_counter(); s.sendto(b'x',(sys.argv[1],3478))\n"
             "  try: s.recv(100)\n"
             "  except OSError: pass\n"
             "  else: best=min(best,(time.perf_counter()-t)*1000)\n"
             "print(best)\n")
    echo = ("import socket\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "s.bind(('0.0.0.0',3478)); s.settimeout(30)\n"
            "try:\n"
            "  while True:\n"
            "    d,a=s.recvfrom(100); s.sendto(d,a)\n"
            "except OSError: pass\n")
    server = lab.site("pub2").hosts[0].spawn([sys.executable, "-c", echo])
    time.sleep(0.3)
    done = lab.site("pub1").hosts[0].run(
        [sys.executable, "-c", probe, lab.site("pub2").public_address],
        timeout=60)
    server.kill()
    rtt = float(done.stdout.strip() or "1e9")
    want = topology.parse_duration_ms(RTT)
    check(want <= rtt < want + 15,
          f"emulated RTT between two public sites is {rtt:.1f} ms "
          f"(asked {want:.0f} ms)")


def leftovers(prefix):
    out = subprocess.run(["ip", "netns", "list"], capture_output=True,
                         text=True, timeout=20).stdout
    return [line for line in out.splitlines() if line.startswith(prefix)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hole-punch", required=True)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--crust-node")
    parser.add_argument("--out", default="netlab-results")
    args = parser.parse_args()
    full = os.environ.get("NETLAB_FULL") == "1"
    reason = netlab.skip_reason()
    if reason:
        print(f"skipped: {reason}")
        return SKIPPED
    if not os.access("/usr/sbin/miniupnpd", os.X_OK):
        print("FAIL miniupnpd is not installed (scripts/install-deps.sh "
              "installs miniupnpd-nftables)")
        return 1
    netlab.install_signal_handlers()
    os.makedirs(args.out, exist_ok=True)
    started = time.monotonic()
    check_parser()
    description = reference_check.description(full, RTT)
    with netlab.Lab(description, emulator=args.emulator) as lab:
        prefix = lab.prefix
        print(lab.describe(), flush=True)
        check_delay(lab)
        pairs = (reference_check.all_pairs(lab) if full
                 else reference_check.FAST_PAIRS)
        rows = reference_check.run(lab, args.hole_punch, pairs)
        with open(os.path.join(args.out, "reference.json"), "w") as f:
            json.dump({"rtt": RTT, "pairs": rows}, f, indent=1)
        with open(os.path.join(args.out, "reference.md"), "w") as f:
            f.write(reference_check.markdown(rows) + "\n")
        for r in rows:
            if not r["ok"]:
                failures.append(f"reference {r['a']} x {r['b']}")
        print(f"reference check: {sum(r['ok'] for r in rows)} of {len(rows)}"
              " pairs as expected", flush=True)
        if args.crust_node:
            endpoints = [n for n in lab.sites if n != "rdv"
                         and lab.site(n).kind not in
                         topology.TWO_HOST_KINDS] if full \
                else CRUST_FAST_ENDPOINTS
            matrix = crust_matrix.run(lab, args.crust_node, endpoints)
            matrix["rtt"] = RTT
            matrix_report.write_all(os.path.join(args.out, "crust-matrix"),
                                    matrix,
                                    f"crust direct connections (RTT {RTT})")
            for site, method in (("upnp1", "upnp"), ("natpmp1", "natpmp")):
                via = matrix["mappings"].get(site)
                check(via == f"{method} mapping",
                      f"crust-node in {site} mapped its port through "
                      f"miniupnpd by {method} ({via})")
            for a, b in crust_matrix.mismatches(matrix):
                failures.append(f"crust {a} -> {b}")
            check(not crust_matrix.mismatches(matrix),
                  "every crust matrix cell as expected")
        else:
            print("note: no --crust-node, crust matrix not run")
    check(not leftovers(prefix), "no namespace of the lab is left")
    elapsed = time.monotonic() - started
    print(f"netlab: {'full matrix' if full else 'fast subset'} in "
          f"{elapsed:.0f} s; results in {args.out}")
    if failures:
        print("failed: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
