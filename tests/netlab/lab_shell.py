#!/usr/bin/env python3
"""Builds a lab from a description and keeps it until Ctrl-C, or runs one
command and tears the lab down when it ends (docs/netlab.md).

    lab_shell.py "pub:public home:port-restricted sym:symmetric"
    lab_shell.py --emulator build/x/tests/netlab/wan_emulator \\
        "pub:public home:upnp rtt=50ms" -- sh -c 'env | grep NETLAB_'

The command gets NETLAB_<SITE>_NS (first host's namespace),
NETLAB_<SITE>_ADDR (its LAN or public address) and NETLAB_<SITE>_PUBLIC (the
site's address on the internet) for every site."""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("description")
    parser.add_argument("--emulator", help="path of wan_emulator (needed "
                        "for delay, jitter, loss or reorder)")
    parser.add_argument("--max-seconds", type=float, default=3600,
                        help="tear down after this long at most")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    reason = netlab.skip_reason()
    if reason:
        print(f"lab_shell: cannot run: {reason}", file=sys.stderr)
        return 77
    netlab.install_signal_handlers()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        with netlab.Lab(args.description, emulator=args.emulator) as lab:
            print(lab.describe(), flush=True)
            env = dict(os.environ)
            for site in lab.sites.values():
                key = site.name.upper()
                env[f"NETLAB_{key}_NS"] = site.hosts[0].ns
                env[f"NETLAB_{key}_ADDR"] = site.hosts[0].address
                env[f"NETLAB_{key}_PUBLIC"] = site.public_address
            if command:
                return subprocess.run(command, env=env,
                                      timeout=args.max_seconds).returncode
            print("lab is up; Ctrl-C tears it down", flush=True)
            time.sleep(args.max_seconds)
    except KeyboardInterrupt:
        print("lab_shell: interrupted, lab torn down", file=sys.stderr)
        return 130
    except (netlab.LabError, ValueError) as e:
        print(f"lab_shell: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
