"""The topology description of the NAT laboratory: parsing and addressing
(Python 3 standard library only). docs/netlab.md describes the format.

A description is a list of whitespace-separated tokens:

    NAME:KIND[/KEY=VALUE...]   a site of that kind, with its own link options
    KEY=VALUE                  a link option for every site without its own

Link options (each site's link to the internet; a path between two sites
crosses two links): delay=12.5ms (one way), jitter=1ms, loss=0.5%,
reorder=1%, rtt=50ms (shorthand for delay=rtt/4, so two sites see that
RTT). With no option at all a site is joined to the internet by a plain
veth; with any (even delay=0ms), by two TAP devices and the userspace WAN
emulator.

Example: "pub:public fc:full-cone sym:symmetric rtt=50ms"."""

import ipaddress
import re

# What each kind is; docs/netlab.md has the table.
SITE_KINDS = {
    "public": "a host on the internet, no NAT",
    "full-cone": "EIM + endpoint-independent filtering",
    "restricted": "EIM + address-dependent filtering",
    "port-restricted": "EIM + address-and-port-dependent filtering "
                       "(plain masquerade)",
    "symmetric": "endpoint-dependent mapping, random ports",
    "upnp": "port-restricted with miniupnpd (UPnP IGD + NAT-PMP) on its LAN",
    "natpmp": "port-restricted with miniupnpd serving NAT-PMP only",
    "double-nat": "port-restricted home NAT behind a port-restricted "
                  "carrier NAT (100.64.0.0/10)",
    "udp-blocked": "port-restricted NAT whose firewall drops outbound UDP",
    "hairpin": "two hosts behind one port-restricted NAT that hairpins",
    "no-hairpin": "two hosts behind one port-restricted NAT that does not "
                  "hairpin",
}

# Kinds whose router runs miniupnpd.
PORT_MAPPING_KINDS = ("upnp", "natpmp")

# Kinds with two hosts behind the router.
TWO_HOST_KINDS = ("hairpin", "no-hairpin")

# The internet segment. miniupnpd 2.3 refuses a WAN address in any reserved
# range (RFC 1918, 100.64/10, TEST-NETs, 198.18/15, ...), so the lab's
# internet uses a public-looking range; it exists only on the lab's bridge,
# which has no link to the root namespace or to any real network.
INTERNET = ipaddress.ip_network("100.128.0.0/16")
CARRIER = ipaddress.ip_network("100.64.0.0/10")

LINK_OPTIONS = ("delay", "jitter", "loss", "reorder", "rtt")
_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")


class TopologyError(ValueError):
    pass


def parse_duration_ms(text):
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(ms|s|us)", text)
    if not m:
        raise TopologyError(f"bad duration '{text}' (e.g. 12.5ms, 1s)")
    value = float(m.group(1))
    return value * {"ms": 1.0, "s": 1000.0, "us": 0.001}[m.group(2)]


def parse_percent(text):
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)%", text)
    if not m or float(m.group(1)) > 100:
        raise TopologyError(f"bad percentage '{text}' (e.g. 0.5%)")
    return float(m.group(1))


class Link:
    """Impairment of one site's link, the same in both directions."""

    def __init__(self, delay_ms=0.0, jitter_ms=0.0, loss_pct=0.0,
                 reorder_pct=0.0, emulated=False):
        # Any option given, even delay=0ms, puts the emulator on the link.
        self.emulated = emulated
        self.delay_ms = delay_ms
        self.jitter_ms = jitter_ms
        self.loss_pct = loss_pct
        self.reorder_pct = reorder_pct

    def impaired(self):
        return self.emulated

    def apply(self, key, value):
        self.emulated = True
        if key == "rtt":
            self.delay_ms = parse_duration_ms(value) / 4
        elif key == "delay":
            self.delay_ms = parse_duration_ms(value)
        elif key == "jitter":
            self.jitter_ms = parse_duration_ms(value)
        elif key == "loss":
            self.loss_pct = parse_percent(value)
        elif key == "reorder":
            self.reorder_pct = parse_percent(value)
        else:
            raise TopologyError(f"unknown link option '{key}' "
                                f"(one of {', '.join(LINK_OPTIONS)})")

    def to_json(self):
        return {"delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms,
                "loss_pct": self.loss_pct, "reorder_pct": self.reorder_pct}


class SiteSpec:
    """One site of the description, with its addresses (index >= 1)."""

    def __init__(self, name, kind, index, link):
        self.name = name
        self.kind = kind
        self.index = index
        self.link = link

    @property
    def wan_address(self):
        """The site's address on the internet (host or outer router)."""
        return str(INTERNET.network_address + (self.index << 8) + 1)

    @property
    def lan_prefix(self):
        return f"10.{self.index}.0"

    @property
    def carrier_prefix(self):
        base = CARRIER.network_address + (self.index << 8)
        return str(base).rsplit(".", 1)[0]

    def host_count(self):
        if self.kind == "public":
            return 1
        return 2 if self.kind in TWO_HOST_KINDS else 1


def parse(description):
    """The SiteSpecs of a description, in order."""
    defaults = Link()
    sites = []
    names = set()
    for token in description.split():
        if ":" not in token:
            key, sep, value = token.partition("=")
            if not sep:
                raise TopologyError(f"'{token}' is neither NAME:KIND nor "
                                    "KEY=VALUE")
            defaults.apply(key, value)
            continue
        name, _, rest = token.partition(":")
        kind, *options = rest.split("/")
        if not _NAME.match(name):
            raise TopologyError(f"site name '{name}': 1-8 characters, a "
                                "lower-case letter then letters or digits")
        if name in names:
            raise TopologyError(f"site '{name}' given twice")
        if kind not in SITE_KINDS:
            raise TopologyError(f"site '{name}': unknown kind '{kind}' "
                                f"(one of {', '.join(SITE_KINDS)})")
        names.add(name)
        sites.append((name, kind, options))
    if not sites:
        raise TopologyError("no site in the description")
    if len(sites) > 200:
        raise TopologyError("at most 200 sites")
    specs = []
    for index, (name, kind, options) in enumerate(sites, start=1):
        link = Link(defaults.delay_ms, defaults.jitter_ms, defaults.loss_pct,
                    defaults.reorder_pct, defaults.emulated)
        for option in options:
            key, sep, value = option.partition("=")
            if not sep:
                raise TopologyError(f"site '{name}': option '{option}' is "
                                    "not KEY=VALUE")
            link.apply(key, value)
        specs.append(SiteSpec(name, kind, index, link))
    return specs
