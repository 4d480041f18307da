#!/usr/bin/env python3
"""Real crust-node processes on loopback (127.0.0.1 and ::1), driven through
--json: connect, text both ways, a file (hash checked), peers, stats,
disconnect and kill -9 and SIGSTOP of a peer (lost peer within the
configured budget), a wrong peer id, another network name, bans, connection
info, three nodes. Every wait is bounded; every process is killed at the
end whatever happens.

Usage: crust_node_network_test.py CRUST_NODE [SCENARIO ...]"""

import hashlib
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "scripts"))
from node_driver import (  # noqa: E402
    Nodes, check, code_of, has_ipv6_loopback, run_scenarios)

NODE = sys.argv[1]
ONLY = set(sys.argv[2:])
TIMEOUT = 10
# Fast liveness for the lost-peer tests: a peer is lost after 1 s of
# silence; the budget adds scheduling slack on a loaded machine.
FAST = ["--crust.heartbeat-interval=200ms", "--crust.inactivity-timeout=1s"]
SILENCE_BUDGET = 1.0 + 2.0
CLOSE_BUDGET = 2.0


def connect(dialler, target, host, nodes_ok=True):
    """dialler connects to target at host; both must report the peer."""
    mark_t = target.mark()
    res = dialler.command("connect " + target.contact(host), TIMEOUT)
    ok = check(res is not None and res["event"] == "ok"
               and res.get("peer") == target.peer,
               f"{dialler.name} connects to {target.name} over {host}: {res}")
    ev = target.wait_event("connect_success", TIMEOUT, mark_t,
                           peer=dialler.peer)
    check(ev is not None and ev["initiated"] is False,
          f"{target.name} reports {dialler.name} connected (accepted)")
    return ok


def all_lines_parse(nodes):
    for node in nodes.all:
        check(not node.bad_lines,
              f"{node.name}: every stdout line is a JSON event "
              f"(bad: {node.bad_lines[:3]})")


def quit_all(nodes):
    for node in nodes.all:
        if node.proc.poll() is None:
            rc = node.quit(TIMEOUT)
            check(rc == 0, f"{node.name} quits with exit code 0 (got {rc})")


# -- scenarios -----------------------------------------------------------------


def two_nodes(work, host):
    """Connect, text both ways, a file, peers, stats, disconnect."""
    recv = os.path.join(work, "recv-" + host.replace(":", "_"))
    with Nodes(NODE, work) as nodes:
        a = nodes.start("a-" + host, "--recv-dir=" + recv)
        b = nodes.start("b-" + host)
        if not check(a.start_up() and b.start_up(), "two nodes start"):
            return
        if not connect(b, a, host):
            return
        check(a.peer != b.peer, "the nodes have different ids")
        # Text both ways; `a` names `b` by a short prefix.
        mark = a.mark()
        res = b.command(f"send {a.peer} hello from b, with  spaces")
        check(res and res["event"] == "ok" and res["size"] == 26,
              f"b sends text: {res}")
        msg = a.wait_event("new_message", TIMEOUT, mark, peer=b.peer)
        check(msg is not None and msg["kind"] == "text"
              and msg["text"] == "hello from b, with  spaces"
              and msg["priority"] == 1,
              f"a receives the text verbatim: {msg}")
        mark = b.mark()
        res = a.command(f"send -p 3 {b.peer[:8]} hi b \u00e9")
        check(res and res["event"] == "ok", f"a sends to a prefix: {res}")
        msg = b.wait_event("new_message", TIMEOUT, mark, peer=a.peer)
        check(msg is not None and msg["text"] == "hi b \u00e9"
              and msg["priority"] == 3, f"b receives it: {msg}")
        # A file of 300 KiB of random bytes.
        path = os.path.join(work, "payload.bin")
        data = os.urandom(300 * 1024)
        with open(path, "wb") as f:
            f.write(data)
        digest = hashlib.sha256(data).hexdigest()
        mark = a.mark()
        res = b.command(f"send-file {a.peer} {path}")
        check(res and res["event"] == "ok" and res["sha256"] == digest
              and res["size"] == len(data), f"b sends a file: {res}")
        got = a.wait_event("file_received", TIMEOUT, mark, peer=b.peer)
        check(got is not None and got["sha256"] == digest
              and got["size"] == len(data) and got["name"] == "payload.bin",
              f"a receives the file with the same hash: "
              f"{ {k: v for k, v in (got or {}).items() if k != 'peer'} }")
        if got and got.get("saved"):
            with open(got["path"], "rb") as f:
                saved = f.read()
            check(hashlib.sha256(saved).hexdigest() == digest
                  and os.path.dirname(got["path"]) == recv,
                  f"the saved file has the same hash, in --recv-dir")
        else:
            check(False, "the file was saved")
        # Binary text is not printed as text.
        mark = a.mark()
        b.command(f"send {a.peer} tab\there")
        msg = a.wait_event("new_message", TIMEOUT, mark, peer=b.peer)
        check(msg is not None and msg["kind"] == "text",
              "a tab keeps a message text")
        # Peers and stats.
        res = a.command("peers")
        peers = (res or {}).get("peers", [])
        check(len(peers) == 1 and peers[0]["peer"] == b.peer
              and peers[0]["initiated"] is False
              and peers[0]["remote"].startswith("[" if ":" in host else host),
              f"a lists b with its address: {peers}")
        res = b.command("stats")
        conns = (res or {}).get("connections", [])
        check(len(conns) == 1 and conns[0]["messages_out"] >= 3
              and conns[0]["bytes_out"] > len(data),
              f"b's stats count what it sent: {conns[:1]}")
        # Disconnect: the other side loses the peer.
        mark = a.mark()
        t0 = time.monotonic()
        res = b.command(f"disconnect {a.peer[:10]}")
        check(res and res["event"] == "ok" and res["was_connected"] is True,
              f"b disconnects a: {res}")
        lost = a.wait_event("lost_peer", TIMEOUT, mark, peer=b.peer)
        took = time.monotonic() - t0
        check(lost is not None and took < CLOSE_BUDGET,
              f"a reports lost peer b after a disconnect in {took:.2f}s "
              f"({code_of(lost)})")
        res = a.command("peers")
        check(res is not None and res.get("peers") == [],
              "a has no peers left")
        res = b.command(f"send {a.peer} anyone?")
        check(code_of(res) == "peer_not_found",
              f"sending to a disconnected peer fails: {code_of(res)}")
        quit_all(nodes)
        all_lines_parse(nodes)


def kill_and_stop(work, host):
    """kill -9 (the OS closes the socket) and SIGSTOP (silence)."""
    with Nodes(NODE, work) as nodes:
        a = nodes.start("a-lost-" + host, *FAST)
        b = nodes.start("b-killed-" + host, *FAST)
        c = nodes.start("c-stopped-" + host, *FAST)
        if not check(a.start_up() and b.start_up() and c.start_up(),
                     "three fast-heartbeat nodes start"):
            return
        if not (connect(b, a, host) and connect(c, a, host)):
            return
        # Heartbeats keep an idle connection alive past the timeout.
        time.sleep(1.5)
        res = a.command("peers")
        check(len((res or {}).get("peers", [])) == 2,
              "idle connections survive the inactivity timeout "
              "(heartbeats)")
        mark = a.mark()
        t0 = time.monotonic()
        b.proc.kill()
        lost = a.wait_event("lost_peer", TIMEOUT, mark, peer=b.peer)
        took = time.monotonic() - t0
        check(lost is not None and took < SILENCE_BUDGET,
              f"kill -9: a reports lost peer in {took:.2f}s "
              f"({code_of(lost)})")
        mark = a.mark()
        t0 = time.monotonic()
        c.proc.send_signal(signal.SIGSTOP)
        try:
            lost = a.wait_event("lost_peer", TIMEOUT, mark, peer=c.peer)
            took = time.monotonic() - t0
        finally:
            c.proc.send_signal(signal.SIGCONT)
        check(lost is not None and code_of(lost) == "peer_silent"
              and 0.5 <= took < SILENCE_BUDGET,
              f"SIGSTOP: a reports the silent peer lost in {took:.2f}s "
              f"({code_of(lost)})")
        res = a.command("peers")
        check(res is not None and res.get("peers") == [],
              "a has no peers left")
        check(a.quit(TIMEOUT) == 0, "a quits cleanly")
        all_lines_parse(nodes)


def refusals(work, host):
    """A wrong peer id, another network name, bans."""
    with Nodes(NODE, work) as nodes:
        a = nodes.start("a-refuse-" + host)
        b = nodes.start("b-refuse-" + host)
        other = nodes.start("other-net-" + host,
                            "--crust.network-name=someone-else")
        if not check(a.start_up() and b.start_up() and other.start_up(),
                     "three nodes start"):
            return
        wrong = "ab" * 32
        where = f"[{host}]" if ":" in host else host
        res = b.command(f"connect {wrong}@{where}:{a.port}", 20)
        check(res is not None and res["event"] == "error"
              and code_of(res) == "peer_id_mismatch",
              f"connecting to a wrong peer id is refused: {code_of(res)} "
              f"{(res or {}).get('error', {}).get('message')}")
        res = other.command("connect " + a.contact(host), 20)
        check(res is not None and res["event"] == "error"
              and code_of(res) == "network_mismatch",
              f"another network name is refused: {code_of(res)} "
              f"{(res or {}).get('error', {}).get('message')}")
        res = a.command("peers")
        check(res is not None and res.get("peers") == [],
              "a has no peers after the refusals")
        # Ban by peer id: the connection ends at once, reconnecting fails.
        if connect(b, a, host):
            mark = b.mark()
            t0 = time.monotonic()
            res = a.command(f"ban {b.peer[:12]} 1h")
            check(res is not None and res["event"] == "ok"
                  and res["peers"] == [b.peer]
                  and res.get("duration_ms") == 3600000,
                  f"a bans b: {res}")
            lost = b.wait_event("lost_peer", TIMEOUT, mark, peer=a.peer)
            took = time.monotonic() - t0
            check(lost is not None and took < CLOSE_BUDGET,
                  f"the banned peer is disconnected at once ({took:.2f}s, "
                  f"{code_of(lost)})")
            res = b.command("connect " + a.contact(host), 20)
            check(res is not None and res["event"] == "error",
                  f"a banned peer cannot reconnect: {res}")
            res = a.command("bans")
            check(res is not None and len(res.get("peers", [])) == 1
                  and res["peers"][0]["expires"] is True,
                  f"bans lists it: {res}")
            res = a.command(f"unban {b.peer}")
            check(res is not None and res.get("was_banned") is True,
                  "unban lifts it")
            connect(b, a, host)
        # Ban by IP address.
        mark = b.mark()
        res = a.command(f"ban {host}")
        check(res is not None and res["event"] == "ok"
              and len(res.get("addresses", [])) == 1,
              f"a bans the address {host}: {res}")
        lost = b.wait_event("lost_peer", TIMEOUT, mark, peer=a.peer)
        check(lost is not None, "the peer at that address is disconnected")
        res = b.command("connect " + a.contact(host), 20)
        check(res is not None and res["event"] == "error",
              f"connections from a banned address are refused: "
              f"{code_of(res)}")
        quit_all(nodes)
        all_lines_parse(nodes)


def bad_commands(work):
    """Wrong commands print an error and the node keeps running."""
    with Nodes(NODE, work) as nodes:
        a = nodes.start("a-bad")
        if not check(a.start_up(), "a node starts"):
            return
        cases = [
            ("frobnicate", "bad_command"),
            ("send", "bad_command"),
            ("send zz hi", "bad_command"),
            ("send -p 300 abcd hi", "bad_command"),
            ("ban nowhere.example", "bad_command"),
            ("connect nonsense", None),          # the service's error
            ("connect-info crustinfo:xyz", "bad_connection_info"),
            (f"send {'cd' * 32} hi", "peer_not_found"),
            ("send abcd hi", "peer_not_found"),
            ("disconnect abcd", "peer_not_found"),
            ("send-file abcd /nonexistent/file", "file_io"),
        ]
        for line, code in cases:
            res = a.command(line)
            check(res is not None and res["event"] == "error"
                  and (code is None or code_of(res) == code)
                  and res["input"] == line and res["error"]["message"],
                  f"'{line}' -> {code_of(res)}: "
                  f"{(res or {}).get('error', {}).get('message')}")
        res = a.command("help")
        check(res is not None and res["event"] == "ok"
              and len(res.get("commands", [])) >= 14, "help lists commands")
        res = a.command("info")
        check(res is not None and res["event"] == "ok"
              and res.get("info", "").startswith("crustinfo:"),
              f"info prints connection info: {res}")
        res = a.command("peers")
        check(res is not None and res["event"] == "ok",
              "the node still runs after the errors")
        quit_all(nodes)
        all_lines_parse(nodes)


def connection_info(work):
    """Both sides exchange crustinfo: text and connect with it."""
    with Nodes(NODE, work) as nodes:
        a = nodes.start("a-info")
        b = nodes.start("b-info")
        if not check(a.start_up() and b.start_up(), "two nodes start"):
            return
        info_a = (a.command("info") or {}).get("info")
        info_b = (b.command("info") or {}).get("info")
        if not check(info_a and info_b, "both print their info"):
            return
        # Both connect at once; exactly one connection survives.
        na = a._results_claimed
        nb = b._results_claimed
        a._results_claimed += 1
        b._results_claimed += 1
        a.send_line("connect-info " + info_b)
        b.send_line("connect-info " + info_a)
        ra = a.nth_result(na, 20)
        rb = b.nth_result(nb, 20)
        check(ra is not None and ra["event"] == "ok" and ra["peer"] == b.peer,
              f"a connects with b's info: {ra}")
        check(rb is not None and rb["event"] == "ok" and rb["peer"] == a.peer,
              f"b connects with a's info: {rb}")
        time.sleep(0.5)
        for x, y in ((a, b), (b, a)):
            res = x.command("peers")
            peers = (res or {}).get("peers", [])
            check(len(peers) == 1 and peers[0]["peer"] == y.peer,
                  f"{x.name} has exactly one connection to {y.name}")
        quit_all(nodes)
        all_lines_parse(nodes)


def three_nodes(work, host):
    """2 and 3 connect to 1, 3 to 2; everybody talks to everybody."""
    with Nodes(NODE, work) as nodes:
        n = [nodes.start(f"n{i}-{host}") for i in (1, 2, 3)]
        if not check(all(x.start_up() for x in n), "three nodes start"):
            return
        ok = connect(n[1], n[0], host) and connect(n[2], n[0], host) \
            and connect(n[2], n[1], host)
        if not ok:
            return
        marks = [x.mark() for x in n]
        for i, x in enumerate(n):
            for j, y in enumerate(n):
                if i != j:
                    x.command(f"send {y.peer[:16]} from {i + 1} to {j + 1}")
        for j, y in enumerate(n):
            for i, x in enumerate(n):
                if i != j:
                    msg = y.wait_event("new_message", TIMEOUT, marks[j],
                                       peer=x.peer,
                                       text=f"from {i + 1} to {j + 1}")
                    check(msg is not None,
                          f"node {j + 1} got the message of node {i + 1}")
        for x in n:
            res = x.command("peers")
            check(len((res or {}).get("peers", [])) == 2,
                  f"{x.name} has two peers")
        quit_all(nodes)
        all_lines_parse(nodes)


def command_line_commands(work):
    """Commands as arguments run first, in order; stdin's end quits."""
    with Nodes(NODE, work) as nodes:
        a = nodes.start("a-args")
        if not check(a.start_up(), "a node starts"):
            return
        b = nodes.start("b-args", commands=[
            "connect " + a.contact("127.0.0.1"),
            f"send {a.peer[:8]} from the command line"])
        mark = a.mark()
        msg = a.wait_event("new_message", TIMEOUT, mark,
                           text="from the command line")
        check(msg is not None, "commands given as arguments run in order")
        b.proc.stdin.close()
        try:
            rc = b.proc.wait(TIMEOUT)
        except Exception:
            rc = None
        check(rc == 0, f"the end of stdin stops the node with 0 ({rc})")
        check(b.wait_event("stopping", 1) is not None,
              "the last line says the node stops")
        failing = nodes.start("c-args", commands=["send abcd nobody"])
        failing.proc.stdin.close()
        try:
            rc = failing.proc.wait(TIMEOUT)
        except Exception:
            rc = None
        check(rc == 1, f"a failed argument command gives exit code 1 ({rc})")
        # --no-stdin: the end of stdin does not stop the node; SIGTERM does.
        server = nodes.start("d-no-stdin", stdin=False)
        check(server.start_up(), "a --no-stdin node starts")
        server.proc.stdin.close()
        time.sleep(0.3)
        check(server.proc.poll() is None,
              "with --no-stdin the end of stdin does not stop the node")
        server.proc.send_signal(signal.SIGTERM)
        try:
            rc = server.proc.wait(TIMEOUT)
        except Exception:
            rc = None
        stop = server.wait_event("stopping", 1)
        check(rc == 0 and stop is not None and stop["reason"] == "signal",
              f"SIGTERM stops it with 0 ({rc}, {stop})")
        once = nodes.start("e-quit-arg", stdin=False, commands=["peers",
                                                                "quit"])
        try:
            rc = once.proc.wait(TIMEOUT)
        except Exception:
            rc = None
        check(rc == 0 and once.nth_result(1, 1) is not None,
              f"'quit' as an argument stops a --no-stdin node ({rc})")
        quit_all(nodes)
        all_lines_parse(nodes)


SCENARIOS = {
    "two_nodes": lambda w: [two_nodes(w, h) for h in HOSTS],
    "kill_and_stop": lambda w: [kill_and_stop(w, h) for h in HOSTS],
    "refusals": lambda w: [refusals(w, h) for h in HOSTS],
    "bad_commands": bad_commands,
    "connection_info": connection_info,
    "three_nodes": lambda w: [three_nodes(w, h) for h in HOSTS],
    "command_line": command_line_commands,
}

HOSTS = ["127.0.0.1"] + (["::1"] if has_ipv6_loopback() else [])
if "::1" not in HOSTS:
    print("note: no IPv6 loopback here; ::1 scenarios skipped")

sys.exit(run_scenarios("crust_node_network_test", SCENARIOS, ONLY))
