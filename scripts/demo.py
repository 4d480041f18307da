#!/usr/bin/env python3
"""A small local crust demo: three crust-node processes on loopback with
fresh key files. Node 2 and node 3 connect to node 1, node 3 to node 2; they
exchange messages and a file; node 2 disconnects node 3; everybody quits.
Prints what happens; exits 0 only if every expected event arrived in time.

Usage: demo.py CRUST_NODE"""

import hashlib
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node_driver import Nodes  # noqa: E402

TIMEOUT = 10
problems = []


def say(text):
    print(text, flush=True)


def expect(cond, what):
    if not cond:
        problems.append(what)
        say(f"  !! {what}")
    return cond


def label(nodes, peer):
    for i, node in enumerate(nodes, 1):
        if node.peer == peer:
            return f"node {i}"
    return peer[:8]


def main():
    if len(sys.argv) != 2:
        say(__doc__)
        return 2
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="crust-demo-") as work, \
            Nodes(binary, work) as group:
        say("crust demo: three nodes on 127.0.0.1, each with a fresh key in "
            f"{work}")
        n = [group.start(f"node{i}",
                         f"--recv-dir={os.path.join(work, f'inbox{i}')}")
             for i in (1, 2, 3)]
        for i, node in enumerate(n, 1):
            if not expect(node.start_up(), f"node {i} starts"):
                say(node.stderr_text())
                return 1
            say(f"node {i}: peer id {node.peer[:16]}…, "
                f"listening on TCP port {node.port}")

        say("\n-- connecting")
        for a, b in ((2, 1), (3, 1), (3, 2)):
            dialler, target = n[a - 1], n[b - 1]
            mark = target.mark()
            res = dialler.command("connect " + target.contact("127.0.0.1"))
            ok = res is not None and res["event"] == "ok"
            expect(ok, f"node {a} connects to node {b}: {res}")
            ev = target.wait_event("connect_success", TIMEOUT, mark,
                                   peer=dialler.peer)
            if ok and expect(ev is not None,
                             f"node {b} sees node {a} connect"):
                say(f"node {a} -> node {b}: connected; node {b} sees "
                    f"node {a} from {ev['remote']}")

        say("\n-- messages")
        marks = [node.mark() for node in n]
        talks = [(1, 2, "hello node 2, this is node 1"),
                 (2, 3, "hi node 3, node 2 here"),
                 (3, 1, "greetings node 1 from node 3"),
                 (1, 3, "node 1 says: messages are end-to-end encrypted")]
        for a, b, text in talks:
            res = n[a - 1].command(f"send {n[b - 1].peer[:8]} {text}")
            expect(res is not None and res["event"] == "ok",
                   f"node {a} sends to node {b}: {res}")
        for a, b, text in talks:
            msg = n[b - 1].wait_event("new_message", TIMEOUT, marks[b - 1],
                                      peer=n[a - 1].peer, text=text)
            if expect(msg is not None,
                      f"node {b} receives the message of node {a}"):
                say(f"node {b} <- node {a}: \"{msg['text']}\"")

        say("\n-- a file")
        path = os.path.join(work, "greeting.txt")
        content = ("crust moves files too.\n" * 2000).encode()
        with open(path, "wb") as f:
            f.write(content)
        digest = hashlib.sha256(content).hexdigest()
        mark = n[0].mark()
        res = n[2].command(f"send-file {n[0].peer[:8]} {path}")
        expect(res is not None and res["event"] == "ok",
               f"node 3 sends a file: {res}")
        got = n[0].wait_event("file_received", TIMEOUT, mark,
                              peer=n[2].peer)
        if expect(got is not None and got["sha256"] == digest,
                  "node 1 receives the file intact"):
            say(f"node 1 <- node 3: {got['name']}, {got['size']} bytes, "
                f"sha256 {digest[:16]}… matches, saved as {got['path']}")

        say("\n-- peers")
        for i, node in enumerate(n, 1):
            res = node.command("peers")
            peers = (res or {}).get("peers", [])
            expect(len(peers) == 2, f"node {i} has two peers: {peers}")
            names = ", ".join(
                f"{label(n, p['peer'])} ({p['remote']}, "
                f"{'dialled' if p['initiated'] else 'accepted'})"
                for p in peers)
            say(f"node {i} is connected to {names}")

        say("\n-- disconnecting")
        mark = n[2].mark()
        res = n[1].command(f"disconnect {n[2].peer[:8]}")
        expect(res is not None and res["event"] == "ok",
               f"node 2 disconnects node 3: {res}")
        lost = n[2].wait_event("lost_peer", TIMEOUT, mark, peer=n[1].peer)
        if expect(lost is not None, "node 3 sees node 2 go"):
            say(f"node 2 closed its connection to node 3; node 3 reports: "
                f"{lost['error']['message']}")

        say("\n-- quitting")
        for i, node in enumerate(n, 1):
            rc = node.quit(TIMEOUT)
            expect(rc == 0, f"node {i} exits with 0 (got {rc})")
        for i, node in enumerate(n, 1):
            expect(not node.bad_lines,
                   f"node {i} printed only JSON events: {node.bad_lines[:2]}")
        say("all three nodes stopped")

    if problems:
        say(f"\ndemo FAILED: {len(problems)} problem(s)")
        for p in problems:
            say(f"  - {p}")
        return 1
    say("\ndemo passed")
    return 0


if __name__ == "__main__":
    t0 = time.monotonic()
    rc = main()
    print(f"({time.monotonic() - t0:.1f}s)")
    sys.exit(rc)
