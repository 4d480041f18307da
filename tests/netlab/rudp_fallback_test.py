#!/usr/bin/env python3
"""The TCP-favoured fallback across hosts (issue 5, Tests): two hosts on one
bridge, each in its own network namespace; nftables on host B blocks TCP to
B's port, and A's plain `connect` to B's contact reaches B over rUDP.
docs/netlab.md ("rUDP fallback across hosts") describes it.

The lab (lan_lab.py): a bridge namespace and host namespaces `<prefix>-a`,
`-b` on 10.78.0.2-3/24, no link to the root namespace; the prefix is
`rf<6 hex>`, fresh per run; torn down on exit, error and signal. The rules
live in table `inet crustfb` inside B's namespace only.

Checks (every wait bounded, every crust-node quit or killed at the end):
1. Control, no rule: the connect goes over TCP.
2. TCP dropped (`tcp dport P drop`, counted): the connect succeeds over
   rUDP after the head start (250 ms by default), the rule dropped SYNs,
   messages flow both ways, `peers` says rudp, disconnect is lost_peer.
3. TCP reset (`reject with tcp reset`): rUDP at once, without waiting for
   the head start to end.
4. TCP and UDP dropped: the connect fails with a clear error within the
   handshake timeout (plus margin), and both nodes keep serving.
5. With `--crust.no-rudp` on A and TCP dropped: the connect fails.

Usage: rudp_fallback_test.py CRUST_NODE [--keep-logs]
Exit: 0 pass, 1 fail, 2 usage, 77 skipped (not root, no namespaces or
nftables), 128 + N on signal N (after the teardown)."""

import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lan_lab import LanLab, NodeTest, run, run_test  # noqa: E402

HANDSHAKE = 4.0   # --crust.handshake-timeout of both nodes, seconds
TABLE = "crustfb"


class Test(NodeTest):
    def block(self, port, tcp_verdict, udp=False):
        """Replaces B's rules: TCP to `port` gets `tcp_verdict`; with `udp`
        UDP to it is dropped too."""
        rules = [f"tcp dport {port} counter {tcp_verdict}"]
        if udp:
            rules.append(f"udp dport {port} counter drop")
        body = "\n    ".join(rules)
        self.lab.nft("b", f"""
table inet {TABLE}
delete table inet {TABLE}
table inet {TABLE} {{
  chain input {{
    type filter hook input priority 0; policy accept;
    {body}
  }}
}}
""")

    def unblock(self):
        self.lab.nft("b", f"table inet {TABLE}\ndelete table inet {TABLE}\n")

    def tcp_drops(self):
        ns, _ = self.lab.hosts["b"]
        out = run(["ip", "netns", "exec", ns, "nft", "list", "table",
                   "inet", TABLE])
        m = re.search(r"tcp dport \d+ counter packets (\d+)", out)
        return int(m.group(1)) if m else 0

    def connect(self, a, b, what):
        """A connects to B's contact; returns (result, A's connect_success
        or None, seconds)."""
        mark = a.mark()
        self.b_mark = b.mark()   # B's events of this connect start here
        t0 = time.monotonic()
        res = a.command(f"connect {b.peer}@{self.lab.address('b')}:{b.port}",
                        HANDSHAKE * 2 + 5)
        took = time.monotonic() - t0
        up = None
        if res is not None and res.get("event") == "ok":
            up = a.wait_event("connect_success", self.timeout, start=mark,
                              peer=b.peer)
        print(f"     {what}: {res} in {took * 1000:.0f} ms", flush=True)
        return res, up, took

    def disconnect(self, a, b):
        mark = b.mark()
        res = a.command(f"disconnect {b.peer}", self.timeout)
        self.check(res is not None and res.get("event") == "ok",
                   f"a: disconnect b ({res})")
        self.check(b.wait_event("lost_peer", self.timeout, start=mark,
                                peer=a.peer) is not None,
                   "b: lost_peer of a after the disconnect")

    def exchange(self, a, b):
        """A message each way over the connection."""
        for src, dst, text in ((a, b, "over-rudp-a-to-b"),
                               (b, a, "over-rudp-b-to-a")):
            mark = dst.mark()
            res = src.command(f"send {dst.peer} {text}", self.timeout)
            self.check(res is not None and res.get("event") == "ok",
                       f"{src.name}: send to {dst.name} ({res})")
            got = dst.wait_event("new_message", self.timeout, start=mark,
                                 peer=src.peer)
            self.check(got is not None and got.get("text") == text,
                       f"{dst.name}: receives {text!r} ({got})")

    def run(self):
        lab = self.lab
        if shutil.which("ping"):
            self.require(lab.ping("a", "b"), "lab: host a pings host b")
        opts = [f"--crust.handshake-timeout={int(HANDSHAKE * 1000)}ms"]
        a = self.start("a", "a", *opts)
        b = self.start("b", "b", *opts)
        for node in (a, b):
            self.started_up(node)

        # 1. Control: TCP when nothing blocks it.
        res, up, _ = self.connect(a, b, "no rule")
        self.require(up is not None, "control: a connects to b")
        self.check(up.get("transport") == "tcp",
                   f"control: over tcp ({up.get('transport')})")
        self.disconnect(a, b)
        self.in_time()

        # 2. TCP dropped: rUDP after the head start.
        self.block(b.port, "drop")
        res, up, took = self.connect(a, b, "tcp dropped")
        self.require(up is not None,
                     f"tcp dropped: a connects to b anyway ({res})")
        self.check(up.get("transport") == "rudp",
                   f"tcp dropped: over rudp ({up.get('transport')})")
        self.check(took >= 0.25,
                   f"tcp dropped: not before the 250 ms head start "
                   f"({took * 1000:.0f} ms)")
        drops = self.tcp_drops()
        self.check(drops > 0, f"tcp dropped: the rule dropped {drops} "
                   "TCP packet(s) to b")
        b_up = b.wait_event("connect_success", self.timeout,
                            start=self.b_mark, peer=a.peer)
        self.check(b_up is not None and b_up.get("transport") == "rudp",
                   f"tcp dropped: b sees a over rudp ({b_up})")
        self.exchange(a, b)
        peers = a.command("peers", self.timeout)
        listed = (peers or {}).get("peers") or []
        self.check(any(p.get("peer") == b.peer and p.get("transport") ==
                       "rudp" for p in listed),
                   f"tcp dropped: a's peers lists b over rudp ({listed})")
        self.disconnect(a, b)
        self.in_time()

        # 3. TCP reset: rUDP at once.
        self.block(b.port, "reject with tcp reset")
        res, up, took = self.connect(a, b, "tcp reset")
        self.require(up is not None, f"tcp reset: a connects to b ({res})")
        self.check(up.get("transport") == "rudp",
                   f"tcp reset: over rudp ({up.get('transport')})")
        self.check(took < 2.0, f"tcp reset: within 2 s ({took * 1000:.0f} "
                   "ms; the refusal starts rUDP without the head start)")
        self.disconnect(a, b)
        self.in_time()

        # 4. Both blocked: a clear failure in bounded time.
        self.block(b.port, "drop", udp=True)
        res, up, took = self.connect(a, b, "tcp and udp dropped")
        code = ((res or {}).get("error") or {}).get("code")
        self.check(res is not None and res.get("event") == "error",
                   f"both dropped: the connect fails ({code})")
        self.check(took < HANDSHAKE + 3,
                   f"both dropped: within the handshake timeout plus 3 s "
                   f"({took * 1000:.0f} ms)")
        self.unblock()
        res, up, _ = self.connect(a, b, "unblocked again")
        self.check(up is not None and up.get("transport") == "tcp",
                   "both nodes still serve: a connects over tcp again")
        if up is not None:
            self.disconnect(a, b)
        self.in_time()

        # 5. rUDP off: TCP dropped is the end.
        self.quit(a)
        a_off = self.start("a", "a-no-rudp", *opts, "--crust.no-rudp",
                           key_file=a.key_file)
        self.started_up(a_off)
        self.block(b.port, "drop")
        res, up, took = self.connect(a_off, b, "no-rudp, tcp dropped")
        self.check(res is not None and res.get("event") == "error",
                   f"no-rudp: the connect fails ({res})")
        self.unblock()
        for node in (a_off, b):
            self.quit(node)


def main(argv):
    return run_test(argv, "rudp_fallback_test.py CRUST_NODE [--keep-logs]",
                    lambda: LanLab("rf", "10.78.0", ("a", "b")), Test,
                    needs=("nft",))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
