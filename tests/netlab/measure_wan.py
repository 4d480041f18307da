#!/usr/bin/env python3
"""Measures the WAN emulator: TCP throughput through two emulated links and
the accuracy of the delay it adds (docs/netlab.md quotes the figures).

    measure_wan.py --emulator PATH [--delay-ms 12.5] [--seconds 3]

Two public hosts, each on an emulated link with the given one-way delay, so
a round trip crosses an emulator four times: expected RTT = 4 x delay.
Prints one JSON object."""

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402

# Runs in a host: a TCP sink and a UDP echo on port 7000.
SERVER = r"""
import socket, sys, threading, time
def echo():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", 7000)); u.settimeout(60)
    try:
        while True:
            data, peer = u.recvfrom(2048); u.sendto(data, peer)
    except OSError:
        pass
threading.Thread(target=echo, daemon=True).start()
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 7000)); t.listen(); t.settimeout(60)
print("ready", flush=True)
try:
    while True:
        c, _ = t.accept(); c.settimeout(60)
        while c.recv(1 << 20):
            pass
        c.close()
except OSError:
    pass
"""

# Runs in the other host: argv = address, seconds, pings.
CLIENT = r"""
import json, socket, sys, time
addr, seconds, pings = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
rtts = []
for i in range(pings):
    t0 = time.perf_counter(); u.sendto(str(i).encode(), (addr, 7000))
    try:
        while u.recv(2048) != str(i).encode():
            pass
        rtts.append((time.perf_counter() - t0) * 1000)
    except socket.timeout:
        pass
    time.sleep(0.01)
c = socket.create_connection((addr, 7000), timeout=5)
chunk = b"x" * (1 << 20); sent = 0
t0 = time.perf_counter()
while time.perf_counter() - t0 < seconds:
    c.sendall(chunk); sent += len(chunk)
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
elapsed = time.perf_counter() - t0
print(json.dumps({"rtts": rtts, "bytes": sent, "seconds": elapsed}))
"""


def measure(emulator, delay_ms, seconds, pings=200):
    description = f"a:public b:public delay={delay_ms}ms"
    with netlab.Lab(description, emulator=emulator) as lab:
        server = lab.site("b").hosts[0].spawn(
            [sys.executable, "-c", SERVER], stdout=subprocess.PIPE,
            text=True)
        if netlab.read_line(server, 10).strip() != "ready":
            raise netlab.LabError("measurement server did not start")
        done = lab.site("a").hosts[0].run(
            [sys.executable, "-c", CLIENT, lab.site("b").public_address,
             str(seconds), str(pings)], timeout=seconds + pings * 3 + 30)
        raw = json.loads(done.stdout)
    rtts = sorted(raw["rtts"])
    expected = 4 * delay_ms
    excess = [r - expected for r in rtts]
    return {
        "delay_ms_per_link": delay_ms,
        "expected_rtt_ms": expected,
        "pings_answered": len(rtts), "pings_sent": pings,
        "rtt_min_ms": round(rtts[0], 3),
        "rtt_p50_ms": round(statistics.median(rtts), 3),
        "rtt_p99_ms": round(rtts[int(len(rtts) * 0.99) - 1], 3),
        "rtt_max_ms": round(rtts[-1], 3),
        "excess_mean_ms": round(statistics.mean(excess), 3),
        "excess_stdev_ms": round(statistics.pstdev(excess), 3),
        "tcp_mbit_s": round(raw["bytes"] * 8 / raw["seconds"] / 1e6, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--delay-ms", type=float, action="append",
                        help="one-way delay per link (repeatable; default "
                        "0 and 12.5)")
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    reason = netlab.skip_reason()
    if reason:
        print(f"skipped: {reason}")
        return 77
    netlab.install_signal_handlers()
    for delay in args.delay_ms or [0.0, 12.5]:
        print(json.dumps(measure(args.emulator, delay, args.seconds)),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
