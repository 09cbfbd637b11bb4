"""Floods of 100,000 messages from distinct sources: memory kept, answers sent, time per message.

Method
------
Each flood feeds 100,000 decoded packets to a fresh sans-IO entity, 1 ms of virtual time apart
(``Entity.receive``, due timers fired in between), and reports:

- ``memory_kb``: what the entity holds afterwards that it did not before (``tracemalloc``, in a
  separate pass: tracing slows Python down);
- ``answers``: packets the entity sent in reply (reflection);
- ``us_per_message``: the best of ``--repeats`` untraced passes, per message.

Floods:

- ``ha_forged_bu``: BUs with a real SPI and a wrong authenticator, each from another source
  (each may earn a signed BA 146);
- ``ha_unknown_mh``: an unknown MH type from each source (a Binding Error each);
- ``ha_refresh``: 100,000 authentic refreshes from one mobile node, 0.4 s apart (each re-arms
  the binding's lifetime timer);
- ``par_rtsolpr``: RtSolPrs with a source link-layer address, each from another address;
- ``nar_una``: UNAs, each from another address;
- ``cn_hao``: packets with a Home Address option and no binding, each from another source (a
  Binding Error each);
- ``nar_scaling``: a NAR with 10, 4,000 and 20,000 handovers in progress, microseconds per HI
  and per data packet (that goes to no prepared address: the lookup is the cost).

The script runs against older trees too (the floods use only what they had), which is how the
"before" column of the README was measured.

Progress: one line on standard error as each flood ends.

Usage: ``python bench/flood.py [--json] [--repeats R] [--messages N]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.entity import Entity
from mipshop.protocol.fmipv6.config import FastHandoverRouterConfig
from mipshop.protocol.mipv6.config import (
    CorrespondentConfig,
    HomeAgentConfig,
    MobilityCredentials,
)
from mipshop.protocol.mipv6.correspondent import CorrespondentNode
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation, unix_to_ntp
from mipshop.protocol.mipv6.signalling import protect_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.icmpv6 import NeighborAdvertisement, RouterSolicitationForProxy
from mipshop.wire.ipv6 import IPv6Packet
from mipshop.wire.mh import BindingUpdate, UnknownMobilityMessage
from mipshop.wire.mh_options import AlternateCareOfAddress
from mipshop.wire.nd_options import LinkLayerAddress, LLAOptionCode, TargetLinkLayerAddress

WALL = 1_700_000_000.0
HOME = IPv6Network("2001:db8:1::/64")
HA = IPv6Address("2001:db8:1::1")
HOA = IPv6Address("2001:db8:1::100")
VISITED = IPv6Network("2001:db8:2::/64")
LINK = IPv6Network("2001:db8:10::/64")
ROUTER = IPv6Address("2001:db8:10::1")
CN = IPv6Address("2001:db8:100::10")
CREDS = MobilityCredentials(identifier=b"mn@example.com", home_address=HOA,
                            security_association=SecurityAssociation(spi=1000, key=b"k" * 16))


def _source(prefix: IPv6Network, i: int) -> IPv6Address:
    return IPv6Address(int(prefix.network_address) | (0x1_0000_0000 + i))


def _mac(i: int) -> bytes:
    return b"\x02\x01" + i.to_bytes(4, "big")


def _home_agent() -> Entity:
    """A home agent with its defaults (bounds finite in newer trees, none in older ones)."""
    return HomeAgent("ha", random.Random(1), HomeAgentConfig(
        router=RouterConfig(interface="eth0", address=HA, prefix=HOME), credentials=(CREDS,),
        wall_clock_offset=WALL, dad_duration=0.0))


def _bu(*, src: IPv6Address, at: float, sequence: int, creds: MobilityCredentials
        ) -> IPv6Packet:
    bu = BindingUpdate(sequence=sequence, lifetime=600, ack=True, home_registration=True,
                       options=(AlternateCareOfAddress(address=src),))
    bu = protect_mn_ha(bu, creds, timestamp=unix_to_ntp(WALL + at), care_of_address=src,
                       home_address=HOA)
    return IPv6Packet(src=src, dst=HA, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=HOA),)),))


def ha_forged_bu(n: int) -> tuple[Entity, Iterator[IPv6Packet]]:
    forged = replace(CREDS, security_association=SecurityAssociation(spi=1000, key=b"x"))
    template = _bu(src=_source(VISITED, 0), at=1.0, sequence=1, creds=forged)
    return _home_agent(), (replace(template, src=_source(VISITED, i)) for i in range(n))


def ha_unknown_mh(n: int) -> tuple[Entity, Iterator[IPv6Packet]]:
    message = UnknownMobilityMessage(mh_type=200, data=bytes(10))
    return _home_agent(), (IPv6Packet(src=_source(VISITED, i), dst=HA, payload=message)
                           for i in range(n))


def ha_refresh(n: int) -> tuple[Entity, Iterator[IPv6Packet]]:
    # 0.4 s apart (within MAX_UPDATE_RATE): every one is accepted and re-arms the timer.
    return _home_agent(), (_bu(src=_source(VISITED, 1), at=1.0 + i * 0.4,
                               sequence=(i + 1) & 0xFFFF, creds=CREDS) for i in range(n))


def _router() -> Entity:
    return AccessRouter("ar", random.Random(1), RouterConfig(address=ROUTER, prefix=LINK),
                        fast_handover=FastHandoverRouterConfig())


def par_rtsolpr(n: int) -> tuple[Entity, Iterator[IPv6Packet]]:
    return _router(), (IPv6Packet(
        src=_source(LINK, i), dst=ROUTER, hop_limit=255,
        payload=RouterSolicitationForProxy(identifier=i & 0xFFFF, options=(
            LinkLayerAddress(option_code=LLAOptionCode.SOURCE, address=_mac(i)),)))
        for i in range(n))


def nar_una(n: int) -> tuple[Entity, Iterator[IPv6Packet]]:
    return _router(), (IPv6Packet(
        src=_source(LINK, i), dst=IPv6Address("ff02::1"), hop_limit=255,
        payload=NeighborAdvertisement(target=_source(LINK, i), options=(
            TargetLinkLayerAddress(address=_mac(i)),))) for i in range(n))


def cn_hao(n: int) -> tuple[Entity, Iterator[IPv6Packet]]:
    cn = CorrespondentNode("cn", random.Random(1), CorrespondentConfig(address=CN))
    return cn, (IPv6Packet(src=_source(VISITED, i), dst=CN, payload=None, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=_source(HOME, i)),)),))
        for i in range(n))


FLOODS: dict[str, Callable[[int], tuple[Entity, Iterator[IPv6Packet]]]] = {
    "ha_forged_bu": ha_forged_bu, "ha_unknown_mh": ha_unknown_mh, "ha_refresh": ha_refresh,
    "par_rtsolpr": par_rtsolpr, "nar_una": nar_una, "cn_hao": cn_hao,
}


def _feed(entity: Entity, packets: Iterator[IPv6Packet], step: float) -> int:
    """Receive every packet ``step`` apart, firing due timers; return the answers sent."""
    answers, now = 0, 1.0
    for packet in packets:
        deadline = entity.next_deadline()
        if deadline is not None and deadline <= now:
            entity.handle_timer(now)
        entity.receive(packet, "eth0", now)
        for action in entity.pull_actions():
            if isinstance(action, Transmit) and action.packet.dst == packet.src:
                answers += 1
        now += step
    return answers


def run(name: str, n: int, repeats: int) -> dict[str, float]:
    """One flood: memory kept, answers, microseconds per message."""
    build = FLOODS[name]
    step = 0.4 if name == "ha_refresh" else 0.001
    best = float("inf")
    answers = 0
    for _ in range(repeats):
        entity, packets = build(n)
        packets = iter(list(packets))  # built before the clock starts
        gc.collect()
        started = time.perf_counter()
        answers = _feed(entity, packets, step)
        best = min(best, time.perf_counter() - started)
    entity, packets = build(n)
    packets = iter(list(packets))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    _feed(entity, packets, step)
    del packets
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {"memory_kb": round(kept / 1024), "answers": answers,
            "us_per_message": round(best / n * 1e6, 1)}


def nar_scaling(sizes: tuple[int, ...] = (10, 4000, 20000)) -> dict[str, dict[str, float]]:
    """A NAR with N handovers in progress: microseconds per HI and per data packet."""
    from mipshop.protocol.fmipv6 import config as fast
    from mipshop.wire.ipv6 import UDPDatagram
    from mipshop.wire.mh import HandoverInitiate
    from mipshop.wire.mh_options import (
        IPv6AddressPrefixCode,
        IPv6AddressPrefixOption,
        MHLinkLayerAddress,
        MHLinkLayerAddressCode,
    )

    par, prefix = IPv6Address("2001:db8:9::1"), IPv6Network("2001:db8:9::/64")
    neighbor = fast.NeighborRouter(access_points=(bytes(6),), link_layer_address=bytes(6),
                                   address=par, prefix=prefix)
    options: dict[str, Any] = {"proxy_lifetime": 1e6, "buffer_packets": 1}
    def sign(hi: HandoverInitiate, now: float) -> HandoverInitiate:
        return hi

    if hasattr(fast, "RouterKey"):  # newer trees authenticate HIs (RFC 5568 §10)
        from mipshop.protocol.fmipv6.security import RouterAuthenticator

        sa = SecurityAssociation(spi=4242, key=bytes(20))
        options["router_keys"] = (fast.RouterKey(peer=par, security_association=sa),)
        signer = RouterAuthenticator((fast.RouterKey(peer=ROUTER, security_association=sa),))

        def sign(hi: HandoverInitiate, now: float) -> HandoverInitiate:
            return signer.sign(hi, source=par, destination=ROUTER, now=now)
    if "max_handovers" in fast.FastHandoverRouterConfig.__dataclass_fields__:
        options["max_handovers"] = max(sizes)
    nar = AccessRouter("nar", random.Random(1), RouterConfig(address=ROUTER, prefix=LINK),
                       fast_handover=fast.FastHandoverRouterConfig(neighbors=(neighbor,),
                                                                   **options))
    data = IPv6Packet(src=CN, dst=IPv6Address("2001:db8:10::beef"),
                      payload=UDPDatagram(src_port=1, dst_port=2, data=b"x"))
    out: dict[str, dict[str, float]] = {}
    done = 0
    for size in sizes:
        his = [IPv6Packet(src=par, dst=ROUTER, payload=sign(HandoverInitiate(
            sequence=i & 0xFFFF, code=0, buffer=True, options=(
                IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                        prefix_length=128, address=_source(LINK, i)),
                MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                   address=_mac(i)))), 1.0 + i * 1e-5))
            for i in range(done, size)]
        started = time.perf_counter()
        for i, packet in enumerate(his):
            nar.receive(packet, "eth0", 1.0 + (done + i) * 1e-5)
            nar.pull_actions()
        hi_us = (time.perf_counter() - started) / max(len(his), 1) * 1e6
        done = size
        started = time.perf_counter()
        for _ in range(1000):
            nar.receive(data, "eth0", 5.0)
            nar.pull_actions()
        out[str(size)] = {"hi_us": round(hi_us, 1),
                          "data_packet_us": round((time.perf_counter() - started) * 1e3, 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every flood; print a table or, with ``--json``, one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.messages < 1:
        print("bench/flood.py: --repeats and --messages must be >= 1", file=sys.stderr)
        return 2
    result: dict[str, Any] = {}
    started = time.perf_counter()
    for name in FLOODS:
        result[name] = run(name, args.messages, args.repeats)
        # Progress on standard error (the JSON goes to standard output).
        print(f"bench/flood.py: {name}: {result[name]['us_per_message']} us a message "
              f"[{time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
    result["nar_scaling"] = nar_scaling()
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'flood':<14} {'memory KB':>10} {'answers':>8} {'us/msg':>7}")
    for name in FLOODS:
        row = result[name]
        print(f"{name:<14} {row['memory_kb']:>10,} {row['answers']:>8,} "
              f"{row['us_per_message']:>7}")
    print("NAR with N handovers in progress: N, us per HI, us per data packet")
    for size, row in result["nar_scaling"].items():
        print(f"  {size:>6} {row['hi_us']:>9} {row['data_packet_us']:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
