"""What committing each accepted Binding Update before its BA costs a home agent.

Method
------
One home agent (sans-IO, authenticated BUs, RFC 4285) takes ``--count`` home registrations
from as many distinct mobile nodes (one security association each), and the runtime's
:class:`~mipshop.net.persistence.Journal` carries out each BU's actions: the timestamp and the
binding are written and committed before the BA would leave. Three runs, interleaved
``--repeats`` times with the best kept: no store (the baseline), a store with SQLite's
``synchronous=NORMAL`` (the default: survives the daemon being killed) and one with ``FULL``
(an fsync per commit: survives a power cut). The agent's own decode, checks and BA encoding
are in all three, so the ratios show what persistence adds per registration.

Usage: ``python bench/persistence.py [--count N] [--repeats N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

from mipshop.net.persistence import Journal, StateStore
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.mipv6.config import HomeAgentConfig, MobilityCredentials
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation, unix_to_ntp
from mipshop.protocol.mipv6.signalling import protect_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import BindingUpdate
from mipshop.wire.mh_options import AlternateCareOfAddress

PREFIX = IPv6Network("2001:db8:1::/64")
HA = IPv6Address("2001:db8:1::1")
COA = IPv6Address("2001:db8:10::1")
WALL = 1_700_000_000.0


def workload(count: int) -> tuple[tuple[MobilityCredentials, ...], list[bytes]]:
    """``count`` mobile nodes' credentials and one authenticated home registration each."""
    creds, packets = [], []
    for i in range(count):
        hoa = IPv6Address(int(PREFIX.network_address) + 0x100 + i)
        c = MobilityCredentials(identifier=f"mn{i}@example.com".encode(), home_address=hoa,
                                security_association=SecurityAssociation(
                                    spi=1000 + i, key=i.to_bytes(16, "big")))
        creds.append(c)
        bu = BindingUpdate(sequence=1, lifetime=600, ack=True, home_registration=True,
                           options=(AlternateCareOfAddress(address=COA),))
        bu = protect_mn_ha(bu, replace(c, home_address=None), timestamp=unix_to_ntp(WALL + 1),
                           care_of_address=COA, home_address=hoa)
        packets.append(encode_packet(IPv6Packet(
            src=COA, dst=HA, payload=bu, extension_headers=(
                DestinationOptions(options=(HomeAddressOption(home_address=hoa),)),))))
    return tuple(creds), packets


def run(creds: tuple[MobilityCredentials, ...], packets: list[bytes],
        store: StateStore | None) -> float:
    """Seconds per registration through the agent and the journal."""
    agent = HomeAgent("ha", random.Random(1), HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA, prefix=PREFIX), credentials=creds,
        wall_clock_offset=WALL, dad_duration=0.0))
    agent.start(0.0)
    agent.pull_actions()
    journal = Journal(store, lambda action: None, lambda what, exc: None)
    start = time.perf_counter()
    for packet in packets:
        agent.receive(packet, "home", 1.0)
        journal.run(agent.pull_actions())
    elapsed = time.perf_counter() - start
    assert len(agent.cache) == len(packets)
    return elapsed / len(packets)


def main() -> None:
    """Print the per-registration cost with and without the state file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    creds, packets = workload(args.count)
    best = {"none": float("inf"), "normal": float("inf"), "full": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for mode in best:
                if mode == "none":
                    best[mode] = min(best[mode], run(creds, packets, None))
                    continue
                with StateStore(Path(tmp) / f"{mode}-{repeat}.sqlite", role="ha",
                                synchronous=mode) as store:
                    best[mode] = min(best[mode], run(creds, packets, store))
    result = {mode: {"us_per_registration": value * 1e6,
                     "ratio_to_no_store": value / best["none"]}
              for mode, value in best.items()}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for mode, row in result.items():
        print(f"{mode:7} {row['us_per_registration']:8.1f} us/registration "
              f"x{row['ratio_to_no_store']:.2f} of no store")


if __name__ == "__main__":
    main()
