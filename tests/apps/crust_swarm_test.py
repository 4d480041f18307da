#!/usr/bin/env python3
"""Real-process test of crust-swarm: an 8-node swarm on loopback connects
fully and delivers every message (asserted from its --json report), bad
options exit with 2 and a message, SIGINT stops the swarm, and no
crust-node is left running afterwards. Every wait is bounded.

Usage: crust_swarm_test.py CRUST_SWARM CRUST_NODE"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

SWARM = sys.argv[1]
NODE = sys.argv[2]
NODES = 8
MESSAGES = 3
# Generous for sanitizer builds on a busy machine; a release build needs a
# second or two.
BUDGET_S = 90
# The budget, plus crust-swarm's probe and its bounded shutdown.
RUN_TIMEOUT_S = BUDGET_S + 40
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def node_processes(marker):
    """Pids of crust-node processes with a key file under `marker` (the
    test's own temporary directory). crust-swarm itself and a child not yet
    past exec (still crust-swarm's command line) do not count."""
    key_arg = "--crust.key-file=" + marker
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(arg.startswith(key_arg) for arg in argv):
            pids.append(int(entry))
    return pids


def no_leftovers(marker, what):
    # Reaped children vanish at once; allow a moment for the kernel.
    deadline = time.monotonic() + 5
    while node_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = node_processes(marker)
    check(not left, f"{what}: no crust-node left running ({left})")
    for pid in left:
        os.kill(pid, signal.SIGKILL)


def run_swarm(env, *args, timeout=RUN_TIMEOUT_S):
    return subprocess.run([SWARM, *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_bad_options(env, work):
    bad = [
        (["--nodes", "1"], "--nodes"),
        (["--nodes", "65"], "--nodes"),
        (["--nodes=eight"], "--nodes"),
        (["--nodes"], "--nodes"),
        (["--budget", "0s"], "--budget"),
        (["--budget", "10parsecs"], "--budget"),
        (["--messages", "0"], "--messages"),
        (["--mode", "telepathy"], "--mode"),
        (["--beacon", "on"], "--beacon"),
        (["--json", os.path.join(work, "no-such-dir", "r.json")], "--json"),
        (["--node-binary", os.path.join(work, "no-such-node")],
         "--node-binary"),
        (["--frobnicate"], "--frobnicate"),
        (["stray"], "stray"),
        (["--no-live=yes"], "--no-live"),
    ]
    for args, named in bad:
        res = run_swarm(env, *args, timeout=20)
        check(res.returncode == 2 and named in res.stderr
              and res.stderr.startswith("crust-swarm: "),
              f"{' '.join(args)}: exit 2 naming {named} "
              f"(got {res.returncode}: {res.stderr.strip()[:120]!r})")
        check(res.stdout == "", f"{' '.join(args)}: nothing launched")
    res = run_swarm(env, "--help", timeout=20)
    check(res.returncode == 0 and "--nodes" in res.stdout
          and "--budget" in res.stdout, "--help: exit 0 with the options")
    res = run_swarm(env, "--node-binary", "/bin/true", timeout=30)
    check(res.returncode == 3 and "crust-node" in res.stdout + res.stderr,
          f"--node-binary /bin/true: exit 3, not a crust-node "
          f"(got {res.returncode})")


def check_report(report, mode):
    expected = NODES * (NODES - 1) * MESSAGES
    check(report["outcome"] == "passed",
          f"outcome passed (got {report['outcome']}: {report['failure']})")
    check(report["fully_connected"] is True, "fully_connected")
    ttf = report["time_to_full_connectivity_ms"]
    check(isinstance(ttf, int) and 0 < ttf <= BUDGET_S * 1000,
          f"time to full connectivity within the budget ({ttf} ms)")
    check(report["links"] == report["links_expected"] == NODES * (NODES - 1)
          // 2, f"every pair linked ({report['links']})")
    check(report["messages_expected"] == expected
          and report["messages_delivered"] == expected
          and report["messages_sent"] == expected,
          f"{expected} messages sent and delivered "
          f"({report['messages_sent']}, {report['messages_delivered']})")
    nodes = report["nodes"]
    check(len(nodes) == NODES, f"{NODES} nodes in the report")
    ids = {n["id"] for n in nodes}
    ports = {n["port"] for n in nodes}
    check(len(ids) == NODES and all(re.fullmatch("[0-9a-f]{64}", i)
                                    for i in ids), "distinct peer ids")
    check(len(ports) == NODES and all(0 < p < 65536 for p in ports),
          "distinct ports")
    kinds = {"beacon", "contact", "cache", "gossip", "inbound", "manual"}
    for n in nodes:
        i = n["index"]
        check(n["peers"] == NODES - 1, f"node {i}: {NODES - 1} peers")
        check(set(n["found_by"]) >= kinds
              and sum(n["found_by"].values()) == n["peers"],
              f"node {i}: found-by counts add up ({n['found_by']})")
        check(n["sent"] == n["received"] == (NODES - 1) * MESSAGES,
              f"node {i}: sent and received {(NODES - 1) * MESSAGES}")
        check(n["exit_status"] == "exit code 0" and n["stopped_by"] == "quit",
              f"node {i}: stopped by quit with exit code 0 "
              f"({n['exit_status']}, {n['stopped_by']})")
    total = {k: sum(n["found_by"][k] for n in nodes) for k in kinds}
    if mode == "discovery":
        check(total["manual"] == 0 and total["gossip"] > 0,
              f"discovery: peers found by gossip, none dialled by hand "
              f"({total})")
        check(all(n["found_by"]["contact"] + n["found_by"]["beacon"]
                  + n["found_by"]["cache"] >= 1 for n in nodes[1:]),
              "discovery: every non-seed node bootstrapped")
    else:
        check(total["manual"] == total["inbound"] == NODES * (NODES - 1) // 2,
              f"direct: each pair dialled once ({total})")


def test_swarm(env, work):
    report_path = os.path.join(work, "report.json")
    started = time.monotonic()
    res = run_swarm(env, "--nodes", str(NODES), "--messages", str(MESSAGES),
                    "--budget", f"{BUDGET_S}s", "--json", report_path,
                    "--node-binary", NODE)
    took = time.monotonic() - started
    print(res.stdout, end="")
    print(res.stderr, end="", file=sys.stderr)
    check(res.returncode == 0, f"8-node swarm exits 0 (got {res.returncode})")
    if not check(os.path.exists(report_path), "JSON report written"):
        return
    with open(report_path) as f:
        report = json.load(f)
    mode = report["mode"]
    check(mode in ("discovery", "direct"), f"mode reported ({mode})")
    check_report(report, mode)
    check("passed" in res.stdout, "summary says passed")
    print(f"swarm run: {mode} mode, fully connected after "
          f"{report['time_to_full_connectivity_ms']} ms, {took:.1f}s in all")
    no_leftovers(work, "after the swarm")
    check(not [d for d in os.listdir(work) if d.startswith("crust-swarm-")],
          "temporary directory removed")


def test_interrupt(env, work):
    report_path = os.path.join(work, "interrupted.json")
    proc = subprocess.Popen([SWARM, "--nodes", str(NODES), "--budget", "1h",
                             "--json", report_path, "--node-binary", NODE,
                             "--mode", "direct", "--messages", "1000"],
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # Interrupt while the nodes run: as soon as a few exist.
    deadline = time.monotonic() + 60
    while len(node_processes(work)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    check(len(node_processes(work)) >= 2, "nodes running before SIGINT")
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        check(False, "crust-swarm ends after SIGINT within 40 s")
    check(proc.returncode == 128 + signal.SIGINT,
          f"SIGINT: exit {128 + signal.SIGINT} (got {proc.returncode}; "
          f"{err.strip()[:200]!r})")
    try:
        with open(report_path) as f:
            report = json.load(f)
        check(report["outcome"] == "interrupted",
              f"report says interrupted ({report['outcome']})")
    except (OSError, ValueError) as e:
        check(False, f"report after SIGINT readable: {e}")
    no_leftovers(work, "after SIGINT")


def main():
    with tempfile.TemporaryDirectory(prefix="crust-swarm-test-") as work:
        # The swarm makes its directory (and so every node's key file)
        # under TMPDIR: its nodes are the processes naming `work`.
        env = dict(os.environ, TMPDIR=work)
        test_bad_options(env, work)
        test_swarm(env, work)
        test_interrupt(env, work)
        no_leftovers(work, "at the end")
    if failures:
        print(f"\n{len(failures)} check(s) failed:")
        for f in failures:
            print("  - " + f)
        return 1
    print("\ncrust-swarm test passed")
    return 0


if __name__ == "__main__":
    t0 = time.monotonic()
    rc = main()
    print(f"({time.monotonic() - t0:.1f}s)")
    sys.exit(rc)
