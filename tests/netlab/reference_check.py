#!/usr/bin/env python3
"""The reference check: validates the lab itself, independent of crust.
Runs hole_punch (plain simultaneous UDP punching through a rendezvous on a
public host) between pairs of sites and compares with the textbook result
(../shared/docs/nat-traversal.md §3 and §8.2; docs/netlab.md).

    reference_check.py --hole-punch PATH --emulator PATH [--full]
        [--pairs prc1:sym1,...] [--rtt 50ms] [--json FILE] [--markdown FILE]

Exit status 0 when every pair behaved as expected, 1 otherwise, 77 when the
lab cannot run here."""

import argparse
import itertools
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402

RENDEZVOUS_PORT = 3478
PUNCH_TIMEOUT_MS = 4000

# The textbook kinds: every pair among them (two sites of each kind, so
# that a kind meets itself too).
TEXTBOOK_KINDS = ["public", "full-cone", "restricted", "port-restricted",
                  "upnp", "symmetric"]
SHORT = {"public": "pub", "full-cone": "fc", "restricted": "rc",
         "port-restricted": "prc", "upnp": "upnp", "symmetric": "sym",
         "natpmp": "natpmp", "double-nat": "dbl", "udp-blocked": "noudp", "hairpin": "hp",
         "no-hairpin": "nohp"}
# Reaches a symmetric NAT with plain punching: the peer-reflexive address
# gets through because these filter on the address at most.
REACHES_SYMMETRIC = ("public", "full-cone", "restricted")

# A representative subset for the fast test: one of each outcome class.
FAST_PAIRS = [("pub1", "pub2"), ("pub1", "sym1"), ("fc1", "prc1"),
              ("rc1", "sym1"), ("prc1", "prc2"), ("upnp1", "prc1"),
              ("prc1", "sym1"), ("sym1", "sym2"), ("hp.h1", "hp.h2"),
              ("nohp.h1", "nohp.h2"), ("noudp1", "pub1")]


def expected(kind_a, kind_b, same_site=False):
    """Whether plain UDP punching connects the two kinds."""
    if "udp-blocked" in (kind_a, kind_b):
        return False
    if same_site:
        return kind_a == "hairpin"
    symmetric = [k == "symmetric" for k in (kind_a, kind_b)]
    if all(symmetric):
        return False
    if any(symmetric):
        other = kind_b if symmetric[0] else kind_a
        return other in REACHES_SYMMETRIC
    return True


def description(full, rtt):
    sites = ["rdv:public"]
    for kind in TEXTBOOK_KINDS:
        sites += [f"{SHORT[kind]}1:{kind}", f"{SHORT[kind]}2:{kind}"]
    if full:
        sites += ["dbl1:double-nat", "dbl2:double-nat"]
    sites += ["natpmp1:natpmp", "noudp1:udp-blocked", "hp:hairpin",
              "nohp:no-hairpin"]
    if rtt:
        sites.append(f"rtt={rtt}")
    return " ".join(sites)


def all_pairs(lab):
    names = [n for n in lab.sites if n != "rdv"
             and lab.site(n).kind not in netlab.topology.TWO_HOST_KINDS]
    pairs = list(itertools.combinations(names, 2))
    for site in lab.sites.values():
        if site.kind in netlab.topology.TWO_HOST_KINDS:
            pairs.append((f"{site.name}.h1", f"{site.name}.h2"))
    return pairs


def endpoint(lab, text):
    name, _, host = text.partition(".")
    site = lab.site(name)
    return site, site.hosts[int(host[1:]) - 1 if host else 0]


def punch(lab, binary, rendezvous, a, b, serial):
    """Runs both clients at once; (connected, ms, detail)."""
    names = (f"p{serial}a", f"p{serial}b")
    procs = []
    for (site, host), me, peer in ((a, names[0], names[1]),
                                   (b, names[1], names[0])):
        procs.append(host.spawn(
            [binary, "client", "--rendezvous",
             f"{rendezvous}:{RENDEZVOUS_PORT}", "--name", me, "--peer", peer,
             "--timeout-ms", str(PUNCH_TIMEOUT_MS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=PUNCH_TIMEOUT_MS / 1000 + 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        try:
            results.append(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            results.append({"result": "error", "stderr": err.strip()})
    connected = all(r.get("result") == "connected" for r in results)
    ms = max((r.get("ms", 0) for r in results), default=0)
    return connected, ms, results


def run(lab, binary, pairs, log=print):
    """Punches every pair; a list of result dicts."""
    rdv_host = lab.site("rdv").hosts[0]
    server = rdv_host.spawn([binary, "rendezvous", "--port",
                             str(RENDEZVOUS_PORT), "--max-seconds", "3600"],
                            stdout=subprocess.PIPE, text=True)
    if netlab.read_line(server, timeout=10).strip() != "ready":
        raise netlab.LabError("the rendezvous did not start")
    rows = []
    for serial, (a_text, b_text) in enumerate(pairs):
        a = endpoint(lab, a_text)
        b = endpoint(lab, b_text)
        same = a[0] is b[0]
        want = expected(a[0].kind, b[0].kind, same)
        started = time.monotonic()
        got, ms, detail = punch(lab, binary, rdv_host.address, a, b, serial)
        row = {"a": a_text, "b": b_text, "kind_a": a[0].kind,
               "kind_b": b[0].kind, "expected": want, "connected": got,
               "ms": ms if got else None,
               "wall_s": round(time.monotonic() - started, 2),
               "ok": want == got, "detail": detail}
        log(f"{'ok  ' if row['ok'] else 'FAIL'} {a_text:8} ({a[0].kind:15})"
            f" x {b_text:8} ({b[0].kind:15}): "
            f"{'connected' if got else 'not connected':13} "
            f"(expected {'connected' if want else 'not connected'})"
            + (f" in {ms} ms" if got else ""))
        rows.append(row)
    return rows


def markdown(rows):
    lines = ["| A | B | expected | result | time to connect |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['a']} ({r['kind_a']}) | {r['b']} ({r['kind_b']})"
                     f" | {'connected' if r['expected'] else 'not connected'}"
                     f" | {'connected' if r['connected'] else 'not connected'}"
                     f"{'' if r['ok'] else ' **UNEXPECTED**'}"
                     f" | {str(r['ms']) + ' ms' if r['ms'] is not None else '—'} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hole-punch", required=True)
    parser.add_argument("--emulator")
    parser.add_argument("--rtt", default="50ms",
                        help="RTT between two sites (0 for plain veths)")
    parser.add_argument("--full", action="store_true",
                        help="every pair instead of the fast subset")
    parser.add_argument("--pairs", help="comma-separated A:B pairs of sites "
                        "(SITE.h2 for a second host), instead of the fast "
                        "subset")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--markdown", help="write a table here")
    args = parser.parse_args()
    reason = netlab.skip_reason()
    if reason:
        print(f"skipped: {reason}")
        return 77
    netlab.install_signal_handlers()
    rtt = None if args.rtt in ("0", "0ms") else args.rtt
    with netlab.Lab(description(args.full, rtt),
                    emulator=args.emulator) as lab:
        if args.pairs:
            pairs = [tuple(p.split(":")) for p in args.pairs.split(",")]
        else:
            pairs = all_pairs(lab) if args.full else FAST_PAIRS
        rows = run(lab, args.hole_punch, pairs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rtt": args.rtt, "pairs": rows}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(rows) + "\n")
    bad = [r for r in rows if not r["ok"]]
    print(f"reference check: {len(rows) - len(bad)} of {len(rows)} pairs as "
          "expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
