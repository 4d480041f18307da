"""The nftables ruleset of one lab router, per NAT kind.

Every router has the interfaces "wan" and "lan" and one table, inet lab.
Its input chain has policy drop: a router must not accept unsolicited
packets to its own WAN address (../shared/docs/nat-traversal.md §8.1: an
accepted one leaves a conntrack entry that breaks the host's mapping).
The mapping is Linux masquerade (endpoint-independent, port-preserving)
except for "symmetric" (a random port per flow); the filtering is
conntrack's (address and port dependent) plus, for the cone kinds, a DNAT
of new inbound flows to the host."""

# Which packets of the WAN side the cone kinds let in (not ICMP: it belongs
# to the router).
_L4 = "meta l4proto { tcp, udp }"

# How long the restricted cone remembers an address the host sent to
# (RFC 4787 REQ-5 recommends 5 minutes for UDP mappings).
CONTACT_TIMEOUT = "300s"


def ruleset(kind, wan_address, hosts, miniupnpd=False):
    """The nft -f text for a router of `kind` (a topology kind, or
    "carrier" for the outer box of a double NAT). `hosts` are the LAN
    addresses behind it, the first being the one the cone kinds forward
    to."""
    sets = []
    input_rules = ["iif lo accept",
                   "ct state established,related accept",
                   # LAN-side services (UPnP, NAT-PMP, ping) only.
                   'iifname "lan" accept']
    forward_rules = ["ct state established,related accept"]
    prerouting = []
    postrouting = []

    if kind == "udp-blocked":
        forward_rules.append('iifname "lan" meta l4proto udp drop')
    forward_rules.append('iifname "lan" oifname "wan" accept')
    # What a DNAT of prerouting let in (cones, UPnP mappings, hairpin).
    forward_rules.append("ct status dnat accept")

    if kind == "full-cone":
        prerouting.append(f'iifname "wan" ip daddr {wan_address} {_L4} '
                          f"dnat ip to {hosts[0]}")
    elif kind == "restricted":
        sets.append("set contacted { type ipv4_addr; flags timeout; }")
        forward_rules.insert(0, f'iifname "lan" oifname "wan" update '
                                f"@contacted {{ ip daddr timeout "
                                f"{CONTACT_TIMEOUT} }}")
        prerouting.append(f'iifname "wan" ip daddr {wan_address} '
                          f"ip saddr @contacted {_L4} "
                          f"dnat ip to {hosts[0]}")
    elif kind == "hairpin":
        # Masquerade keeps a host's source port when it is free, so the
        # port a host sent from names the host a hairpinned packet is for.
        for n, host in enumerate(hosts):
            sets.append(f"set ports{n} {{ type inet_proto . inet_service; "
                        f"flags timeout; }}")
            forward_rules.insert(0, f'iifname "lan" ip saddr {host} {_L4} '
                                    f"update @ports{n} {{ meta l4proto . "
                                    f"th sport timeout {CONTACT_TIMEOUT} }}")
            prerouting.append(f'iifname "lan" ip daddr {wan_address} '
                              f"meta l4proto . th dport @ports{n} "
                              f"dnat ip to {host}")
        # The reply must come back through us, not straight across the LAN,
        # and the receiver sees the sender's external address (REQ-9).
        postrouting.append('iifname "lan" oifname "lan" ct status dnat '
                           f"snat ip to {wan_address}")

    if miniupnpd:
        forward_rules.append("jump miniupnpd")
        prerouting.append("jump prerouting_miniupnpd")
        postrouting.append("jump postrouting_miniupnpd")

    if kind == "symmetric":
        postrouting.append('oifname "wan" masquerade random,fully-random')
    else:
        postrouting.append('oifname "wan" masquerade')

    def chain(name, header, rules):
        body = "".join(f"    {rule}\n" for rule in rules)
        return f"  chain {name} {{\n    {header}\n{body}  }}\n"

    text = "table inet lab {\n"
    text += "".join(f"  {s}\n" for s in sets)
    text += chain("input", "type filter hook input priority 0; policy drop;",
                  input_rules)
    text += chain("forward",
                  "type filter hook forward priority 0; policy drop;",
                  forward_rules)
    text += chain("prerouting", "type nat hook prerouting priority dstnat;",
                  prerouting)
    text += chain("postrouting", "type nat hook postrouting priority srcnat;",
                  postrouting)
    if miniupnpd:
        # miniupnpd fills these (upnp_* keys of its config point here).
        for name in ("miniupnpd", "prerouting_miniupnpd",
                     "postrouting_miniupnpd"):
            text += f"  chain {name} {{\n  }}\n"
    text += "}\n"
    return text
