"""Capacity of the sans-IO agents: registrations (and handovers) per second against the codec floor.

Method
------
For N = 1,000, 10,000 and 100,000 distinct mobile nodes, in one run:

- **home_agent**: a home agent configured with N MN-HA security associations (each naming its
  home address) receives one authenticated home-registration Binding Update from each node, as
  bytes (Home Address option, Alternate CoA, MN-ID, timestamp, authenticator: RFC 4285). Per BU
  the **agent** rate covers ``HomeAgent.receive`` (decode, authenticate, register, build the
  authenticated BA) and the encoding of every packet it asks to send. The **codec** rate is the
  bare round trip on the same packets: ``decode_packet`` of the same BU bytes and
  ``encode_packet`` of the same BA packet (taken from the agent's own answers in a warm-up run),
  the floor any agent built on this codec must pay. Only the answer's encoding counts on
  either side: what else the agent builds (the unsolicited Neighbor Advertisement for a new
  home address, RFC 6275 §10.4.1, events, route claims) is processing, its encoding the
  runtime's.
- **par**: an access router (PAR) with N handover keys, each bound to its owner's PCoA, receives
  one Fast Binding Update (BADF-signed, RFC 5568 §6.4.5) from each node and answers with an HI to
  one of four NARs (authenticated per router pair); codec: decode the FBU, encode the HI.
- **nar**: an access router (NAR) receives one authenticated HI per node from its PAR and answers
  with a HAck, proxying and preparing a buffer for each; codec: decode the HI, encode the HAck.

``bytes_per_binding``: the memory the agent keeps per node after the N messages (binding cache
entry, timers, replay state; fast binding record; NAR handover record), measured with
``tracemalloc`` in a separate pass (tracing slows Python down, so it is never on while timing),
divided by N. Rates are the best of ``--repeats`` passes (a fresh agent each), with
:func:`time.perf_counter` (or ``--cpu-time``); agent and codec are timed in the same process,
interleaved.

Target: the home agent's rate at least half its codec floor at every N.

``--cpu-time`` times both sides with :func:`time.process_time` (the CPU time of this
process) instead of the wall clock: on a machine shared with other jobs, the time slices
given to them no longer count (cache and memory contention still do).

``--gc-tuned`` first applies the garbage collector setting of ``mipshop daemon``
(:func:`mipshop.net.collector.tune_collector`: fewer young collections), to both sides.

``--auth-cost`` measures instead, for the home agent at each N, the RFC 4285 work a
registration does that the codec floor does not (on the same packets, decoded beforehand,
each step timed alone over the N packets, best of ``--repeats``), in microseconds a
registration: ``verify`` (locate the Mobility Header as received, read the MN-ID, timestamp and
authentication options, look the SPI up, HMAC-SHA1 over care-of address, home address and the
received octets, compare in constant time: RFC 4285 §5.1.1), ``replay`` (the timestamp check
and record, §6), ``sign`` (the BA's three options and authenticator, §5.1, from the BA
template) and ``hmac`` (the two HMAC-SHA1 computations alone); ``agent`` and ``codec`` as
timed by the normal run. The codec floor is not changed: ``with_auth`` is only what the
ratio would be if the floor also paid for ``verify + replay + sign``.

``--agents home_agent`` measures only the named workloads (comma-separated).

Progress: one line on standard error as each workload and N is built and measured.

Usage: ``python bench/agent.py [--json] [--gc-tuned] [--cpu-time] [--auth-cost] [--repeats R]
[--sizes 1000,10000,100000] [--agents home_agent,par,nar]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from mipshop.net.collector import tune_collector
from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.entity import Entity, ReceivedHeader
from mipshop.protocol.fmipv6.config import (
    FastHandoverRouterConfig,
    HandoverKey,
    NeighborRouter,
    RouterKey,
)
from mipshop.protocol.fmipv6.security import RouterAuthenticator, sign_badf
from mipshop.protocol.mipv6.config import HomeAgentConfig, MobilityCredentials
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.protocol.mipv6.mn_ha_auth import (
    ReplayChecker,
    SecurityAssociation,
    hmac_sha1,
    unix_to_ntp,
)
from mipshop.protocol.mipv6.signalling import (
    binding_care_of_address,
    protect_mn_ha,
    protected_acknowledgement,
    read_mn_ha,
    verify_mn_ha,
)
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet, decode_packet, encode_packet, mobility_header_bytes
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingUpdate,
    FastBindingUpdate,
    HandoverAcknowledge,
    HandoverInitiate,
    encode_mh,
    mh_authenticator_input,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    IPv6AddressPrefixCode,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
)

WALL_CLOCK = 1_700_000_000.0
HOME_PREFIX = IPv6Network("2001:db8:1::/64")
HA_ADDRESS = IPv6Address("2001:db8:1::1")
VISITED = IPv6Network("2001:db8:2::/64")
PAR_PREFIX = IPv6Network("2001:db8:10::/64")
PAR_ADDRESS = IPv6Address("2001:db8:10::1")
#: Four NARs: an HI sequence number is 16 bits per NAR, and 100,000 handovers must be pending.
NAR_PREFIXES = tuple(IPv6Network(f"2001:db8:2{k}::/64") for k in range(4))
NAR_ADDRESSES = tuple(IPv6Address(int(p.network_address) | 1) for p in NAR_PREFIXES)
START = 10.0
#: The clock both sides are timed with: the wall clock, or the process's CPU time
#: (``--cpu-time``).
CLOCK: Callable[[], float] = time.perf_counter


def _address(prefix: IPv6Network, index: int) -> IPv6Address:
    return IPv6Address(int(prefix.network_address) | (0x1_0000 + index))


def _mac(index: int) -> bytes:
    return b"\x02\x01" + index.to_bytes(4, "big")


def _pair_key(own: IPv6Address, peer: IPv6Address) -> RouterKey:
    return RouterKey(peer=peer, security_association=SecurityAssociation(
        spi=4242, key=bytes(range(20))))


@dataclass
class Workload:
    """N input packets (bytes) for a fresh agent, and the codec's share of the same work."""

    make_agent: Callable[[], Entity]
    interface: str
    inputs: list[bytes]
    #: The answer's class (BA, HI, HAck): the one packet per input whose encoding counts.
    answer: type
    #: The answer (decoded) the agent sent for each input in a warm-up run: the codec floor
    #: encodes the same packets.
    replies: list[IPv6Packet]


def _run_agent(workload: Workload) -> tuple[float, Entity]:
    agent = workload.make_agent()
    receive, pull, interface = agent.receive, agent.pull_actions, workload.interface
    gc.collect()
    clock = CLOCK
    started = clock()
    now = START
    answer = workload.answer
    for data in workload.inputs:
        now += 1e-6
        receive(data, interface, now)
        for action in pull():
            if action.__class__ is Transmit and (
                    action.packet.payload.__class__ is answer):  # type: ignore[union-attr]
                encode_packet(action.packet)  # type: ignore[union-attr]
    return clock() - started, agent


def _run_codec(workload: Workload) -> float:
    gc.collect()
    clock = CLOCK
    started = clock()
    for data, reply in zip(workload.inputs, workload.replies, strict=True):
        decode_packet(data)
        encode_packet(reply)
    return clock() - started


def _replies(workload: Workload, agent_check: Callable[[Entity], None]) -> list[IPv6Packet]:
    """One warm-up pass: the agent's answer to each input, checked."""
    agent = workload.make_agent()
    now = START
    replies: list[IPv6Packet] = []
    for data in workload.inputs:
        now += 1e-6
        agent.receive(data, workload.interface, now)
        sent = [a.packet for a in agent.pull_actions() if isinstance(a, Transmit)
                and isinstance(a.packet.payload, workload.answer)]
        assert len(sent) == 1, sent
        replies.append(sent[0])
    agent_check(agent)
    return replies


def _memory_per_node(workload: Workload) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        elapsed, agent = _run_agent(workload)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del agent, elapsed
    return (after - before) / len(workload.inputs)


# -- the three workloads ---------------------------------------------------------------------


def home_agent_workload(n: int) -> Workload:
    """N authenticated home registrations, one per mobile node."""
    credentials = tuple(MobilityCredentials(
        identifier=f"mn{i}@example.com".encode(),
        security_association=SecurityAssociation(spi=1000 + i, key=i.to_bytes(16, "big")),
        home_address=_address(HOME_PREFIX, i)) for i in range(n))
    config = HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA_ADDRESS, prefix=HOME_PREFIX),
        credentials=credentials, wall_clock_offset=WALL_CLOCK, dad_duration=0.0,
        **_capacity_field(HomeAgentConfig, "max_bindings", n))
    inputs = []
    for i, creds in enumerate(credentials):
        hoa, coa = _address(HOME_PREFIX, i), _address(VISITED, i)
        bu = BindingUpdate(sequence=i & 0xFFFF, lifetime=600, ack=True, home_registration=True,
                           options=(AlternateCareOfAddress(address=coa),))
        bu = protect_mn_ha(bu, creds, timestamp=unix_to_ntp(WALL_CLOCK + START),
                           care_of_address=coa, home_address=hoa)
        inputs.append(encode_packet(IPv6Packet(src=coa, dst=HA_ADDRESS, payload=bu,
                                               extension_headers=(DestinationOptions(
                                                   options=(HomeAddressOption(home_address=hoa),
                                                            )),))))

    def make() -> Entity:
        return HomeAgent("ha", random.Random(1), config)

    workload = Workload(make, "home", inputs, BindingAcknowledgement, [])

    def check(agent: Entity) -> None:
        assert len(agent.cache) == n, agent.counters  # type: ignore[attr-defined]

    workload.replies = _replies(workload, check)
    return workload


def _capacity_field(cls: type, name: str, n: int) -> dict[str, Any]:
    """``{name: n}`` when the configuration has that bound (older trees may not)."""
    fields = getattr(cls, "__dataclass_fields__", {})
    return {name: n} if name in fields else {}


def _neighbors() -> tuple[NeighborRouter, ...]:
    return tuple(NeighborRouter(access_points=(bytes([2, 0xA0 + k, 0, 0, 0, 1]),),
                                link_layer_address=bytes([0, 0, 0x5E, 0, 2, k]),
                                address=address, prefix=prefix)
                 for k, (address, prefix) in enumerate(zip(NAR_ADDRESSES, NAR_PREFIXES,
                                                           strict=True)))


def par_workload(n: int) -> Workload:
    """N FBUs, one per mobile node, each key bound to its owner's PCoA (RFC 5568 §10)."""
    keys = tuple(HandoverKey(spi=10_000 + i, key=i.to_bytes(20, "big"),
                             previous_care_of_address=_address(PAR_PREFIX, i)) for i in range(n))
    neighbors = _neighbors()
    fast = FastHandoverRouterConfig(
        neighbors=neighbors, handover_keys=keys,
        router_keys=tuple(_pair_key(PAR_ADDRESS, nb.address) for nb in neighbors),
        **_capacity_field(FastHandoverRouterConfig, "max_pending_handovers", n))
    router = RouterConfig(interface="eth0", address=PAR_ADDRESS, prefix=PAR_PREFIX)
    inputs = []
    for i, key in enumerate(keys):
        pcoa = _address(PAR_PREFIX, i)
        ncoa = _address(NAR_PREFIXES[i % 4], i)
        fbu = FastBindingUpdate(sequence=1, lifetime=40, ack=True, home_registration=True,
                                options=(AlternateCareOfAddress(address=ncoa),
                                         MHLinkLayerAddress(
                                             option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                             address=_mac(i))))
        fbu = sign_badf(fbu, key, care_of_address=ncoa, par_address=PAR_ADDRESS)
        inputs.append(encode_packet(IPv6Packet(src=pcoa, dst=PAR_ADDRESS, payload=fbu,
                                               extension_headers=(DestinationOptions(
                                                   options=(HomeAddressOption(home_address=pcoa),
                                                            )),))))

    def make() -> Entity:
        return AccessRouter("par", random.Random(1), router, fast_handover=fast)

    workload = Workload(make, "eth0", inputs, HandoverInitiate, [])

    def check(agent: Entity) -> None:
        fmip = agent.fast_handover  # type: ignore[attr-defined]
        assert len(fmip.par.awaiting) == n, agent.counters

    workload.replies = _replies(workload, check)
    return workload


def nar_workload(n: int) -> Workload:
    """N authenticated HIs (Code 0, buffering), one per mobile node, from the PAR."""
    nar_address, nar_prefix = NAR_ADDRESSES[0], NAR_PREFIXES[0]
    par = NeighborRouter(access_points=(b"\x02\xa9\x00\x00\x00\x01",),
                         link_layer_address=b"\x00\x00\x5e\x00\x02\x09", address=PAR_ADDRESS,
                         prefix=PAR_PREFIX)
    fast = FastHandoverRouterConfig(
        neighbors=(par,), router_keys=(_pair_key(nar_address, PAR_ADDRESS),),
        **_capacity_field(FastHandoverRouterConfig, "max_handovers", n))
    router = RouterConfig(interface="eth0", address=nar_address, prefix=nar_prefix)
    signer = RouterAuthenticator((_pair_key(PAR_ADDRESS, nar_address),),
                                 wall_clock_offset=0.0)
    inputs = []
    for i in range(n):
        hi = HandoverInitiate(sequence=i & 0xFFFF, code=0, buffer=True, options=(
            IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS,
                                    prefix_length=128, address=_address(PAR_PREFIX, i)),
            IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                    prefix_length=128, address=_address(nar_prefix, i)),
            MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                               address=_mac(i))))
        hi = signer.sign(hi, source=PAR_ADDRESS, destination=nar_address, now=START)
        inputs.append(encode_packet(IPv6Packet(src=PAR_ADDRESS, dst=nar_address, payload=hi)))

    def make() -> Entity:
        return AccessRouter("nar", random.Random(1), router, fast_handover=fast)

    workload = Workload(make, "eth0", inputs, HandoverAcknowledge, [])

    def check(agent: Entity) -> None:
        fmip = agent.fast_handover  # type: ignore[attr-defined]
        assert len(fmip.nar.handovers) == n, agent.counters

    workload.replies = _replies(workload, check)
    return workload


WORKLOADS: dict[str, Callable[[int], Workload]] = {
    "home_agent": home_agent_workload, "par": par_workload, "nar": nar_workload}


def measure(sizes: list[int], repeats: int, agents: tuple[str, ...] = tuple(WORKLOADS)
            ) -> dict[str, dict[str, dict[str, float]]]:
    """The JSON object: per workload, per N, agent and codec rates and bytes per node."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    started = time.perf_counter()
    for name in agents:
        build = WORKLOADS[name]
        out[name] = {}
        for n in sizes:
            _progress(f"{name} N={n:,}: building", started)
            workload = build(n)
            agent_best = codec_best = float("inf")
            for _ in range(repeats):
                agent_best = min(agent_best, _run_agent(workload)[0])
                codec_best = min(codec_best, _run_codec(workload))
            out[name][str(n)] = {
                "agent": round(n / agent_best),
                "codec": round(n / codec_best),
                "bytes_per_binding": round(_memory_per_node(workload)),
            }
            row = out[name][str(n)]
            _progress(f"{name} N={n:,}: agent {row['agent']:,}/s, codec {row['codec']:,}/s "
                      f"(ratio {row['agent'] / row['codec']:.2f})", started)
            del workload
            gc.collect()
    return out


def _progress(what: str, started: float) -> None:
    """One progress line on standard error (the JSON goes to standard output)."""
    print(f"bench/agent.py: {what} [{time.perf_counter() - started:.0f} s]", file=sys.stderr,
          flush=True)


def auth_cost(sizes: list[int], repeats: int) -> dict[str, dict[str, dict[str, float]]]:
    """``--auth-cost``: per N, the home agent's RFC 4285 work a registration, in µs."""
    out: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    for n in sizes:
        out[str(n)] = _auth_row(n, repeats)
        _progress(f"auth cost N={n:,} done", started)
        gc.collect()
    return {"home_agent": out}


def _auth_row(n: int, repeats: int) -> dict[str, float]:
    """One N of :func:`auth_cost`: the steps timed alone over the workload's packets."""
    workload = home_agent_workload(n)
    agent = workload.make_agent()
    by_spi = {c.security_association.spi: c
              for c in agent.agent_config.credentials}  # type: ignore[attr-defined]
    window = next(iter(by_spi.values())).security_association.replay_window
    packets = [decode_packet(data) for data in workload.inputs]
    rows = []
    for data, packet, reply in zip(workload.inputs, packets, workload.replies, strict=True):
        bu = packet.payload
        hoa = packet.home_address
        coa = binding_care_of_address(packet, bu)  # type: ignore[arg-type]
        protection = read_mn_ha(bu)  # type: ignore[arg-type]
        creds = by_spi[protection.authentication.spi]  # type: ignore[union-attr]
        ba = reply.payload
        key = creds.security_association.key
        macs = (packed(coa, hoa) + mh_authenticator_input(mobility_header_bytes(data), 12),
                packed(coa, hoa) + mh_authenticator_input(encode_mh(ba), 12))
        rows.append((data, bu, hoa, coa, creds, protection.timestamp, ba, key, macs))

    def verify() -> None:
        for data, bu, hoa, coa, _c, _t, _ba, _k, _m in rows:
            header = ReceivedHeader(mobility_header_bytes(data))
            header.message = bu
            protection = read_mn_ha(bu)
            creds = by_spi[protection.authentication.spi]  # type: ignore[union-attr]
            if not verify_mn_ha(bu, creds, care_of_address=coa, home_address=hoa,
                                encoded=header, protection=protection):
                raise AssertionError("the workload's BU does not verify")

    def replay() -> None:
        checker = ReplayChecker(wall_clock_offset=WALL_CLOCK)
        for _d, _bu, _h, _coa, creds, timestamp, _ba, _k, _m in rows:
            checker.accept(creds.identifier, timestamp, START, window=window)

    def sign() -> None:
        for _d, _bu, hoa, coa, creds, timestamp, ba, _k, _m in rows:
            protected_acknowledgement(ba.status, ba.sequence, ba.lifetime, creds,
                                      timestamp=timestamp, care_of_address=coa,
                                      home_address=hoa)

    def hmacs() -> None:
        for _d, _bu, _h, _coa, _c, _t, _ba, key, (bu_mac, ba_mac) in rows:
            hmac_sha1(key, bu_mac)
            hmac_sha1(key, ba_mac)

    times = {"verify": verify, "replay": replay, "sign": sign, "hmac": hmacs}
    best = dict.fromkeys(["agent", "codec", *times], float("inf"))
    for _ in range(repeats):
        best["agent"] = min(best["agent"], _run_agent(workload)[0])
        best["codec"] = min(best["codec"], _run_codec(workload))
        for name, run in times.items():
            gc.collect()
            started = CLOCK()
            run()
            best[name] = min(best[name], CLOCK() - started)
    row = {name: round(1e6 * value / n, 2) for name, value in best.items()}
    auth = best["verify"] + best["replay"] + best["sign"]
    row["auth"] = round(1e6 * auth / n, 2)
    row["ratio"] = round(best["codec"] / best["agent"], 3)
    row["with_auth"] = round((best["codec"] + auth) / best["agent"], 3)
    return row


def packed(care_of_address: IPv6Address, home_address: IPv6Address) -> bytes:
    """The two addresses that begin the MN-HA authenticator's input (RFC 4285 §5.1)."""
    return care_of_address.packed + home_address.packed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table, or the JSON object with ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (best kept)")
    parser.add_argument("--gc-tuned", action="store_true",
                        help="the garbage collector setting of mipshop daemon")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with the process's CPU time instead of the wall clock")
    parser.add_argument("--agents", default=",".join(WORKLOADS),
                        help="comma-separated subset of " + ",".join(WORKLOADS))
    parser.add_argument("--auth-cost", action="store_true",
                        help="the home agent's RFC 4285 work per registration, in µs (JSON)")
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated numbers of mobile nodes")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        print(f"bench/agent.py: --sizes must be integers, got {args.sizes!r}", file=sys.stderr)
        return 2
    agents = tuple(args.agents.split(","))
    if not set(agents) <= set(WORKLOADS):
        print(f"bench/agent.py: --agents must name some of {','.join(WORKLOADS)}",
              file=sys.stderr)
        return 2
    if args.repeats < 1 or not sizes or min(sizes) < 1:
        print("bench/agent.py: --repeats and every size must be >= 1", file=sys.stderr)
        return 2
    if args.gc_tuned:
        tune_collector()
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    if args.auth_cost:
        print(json.dumps(auth_cost(sizes, args.repeats)))
        return 0
    result = measure(sizes, args.repeats, agents)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'agent':<11} {'N':>7} {'agent/s':>10} {'codec/s':>10} {'ratio':>6} {'B/node':>7}")
    for name, rows in result.items():
        for n, row in rows.items():
            ratio = row["agent"] / row["codec"]
            print(f"{name:<11} {n:>7} {row['agent']:>10,} {row['codec']:>10,} {ratio:>6.2f} "
                  f"{row['bytes_per_binding']:>7,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
