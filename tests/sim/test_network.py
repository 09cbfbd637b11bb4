"""Nodes: longest prefix match, forwarding, multicast and claims, entity hosting, capture."""

from __future__ import annotations

import random
import sys
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.protocol.base.actions import (
    Claim,
    ConfigureAddress,
    ConfigureRoute,
    Deliver,
    Transmit,
)
from mipshop.protocol.base.entity import Entity
from mipshop.sim.network import Network, Node, Route, RoutingTable
from mipshop.wire.icmpv6 import EchoReply, EchoRequest
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, decode_packet, encode_packet
from mipshop.wire.pcap import read_pcap

from .builders import Sink, udp


class Echo(Entity):
    """Answers ICMPv6 Echo Requests (RFC 4443 §4.2) and logs what it saw."""

    def __init__(self, name: str, interface: str = "eth0") -> None:
        super().__init__(name, random.Random(0))
        self.interface = interface
        self.seen: list[tuple[float, IPv6Address]] = []

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        self.seen.append((self.now, packet.dst))
        request = packet.payload
        if isinstance(request, EchoRequest):
            self.act(Transmit(packet=IPv6Packet(
                src=packet.dst, dst=packet.src,
                payload=EchoReply(identifier=request.identifier,
                                  sequence=request.sequence, data=request.data)),
                interface=interface))
            self.emit("echo.answered", sequence=request.sequence)


class Scripted(Entity):
    """Performs the actions it is told to, on command, and ticks on a timer."""

    def __init__(self, name: str) -> None:
        super().__init__(name, random.Random(0))
        self.received: list[tuple[float, IPv6Packet]] = []

    def do(self, actions: list[object], now: float) -> None:
        self.now = now
        for action in actions:
            self.act(action)  # type: ignore[arg-type]

    def tick_every(self, period: float, count: int, now: float) -> None:
        self.now = now

        def tick(when: float) -> None:
            self.emit("tick")
            self.counters["ticks"] += 1
            if self.counters["ticks"] < count:
                self.schedule(period, tick)

        self.schedule(period, tick)

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        self.received.append((self.now, packet))


def chain(hops: int, *, delay: float = 0.001) -> tuple[Network, Node, Node, list[Node]]:
    """host a -- r1 -- r2 ... -- rN -- host b, one /64 per link, static routes."""
    net = Network(seed=3)
    a, b = net.add_node("a"), net.add_node("b")
    routers = [net.add_router(f"r{i + 1}") for i in range(hops)]
    path = [a, *routers, b]
    for index in range(len(path) - 1):
        left, right = path[index], path[index + 1]
        li = left.add_interface(f"to_{right.name}")
        ri = right.add_interface(f"to_{left.name}")
        li.add_address(f"2001:db8:{index}::1/64")
        ri.add_address(f"2001:db8:{index}::2/64")
        net.point_to_point(f"l{index}", li, ri, delay=delay)
    last = len(path) - 2
    a.add_route("::/0", "to_r1" if hops else "to_b")
    b.add_route("::/0", f"to_r{hops}" if hops else "to_a")
    for position, router in enumerate(routers, start=1):
        # Everything "left" of the router goes left, the rest right.
        left_name = path[position - 1].name
        right_name = path[position + 1].name
        router.add_route("::/0", f"to_{right_name}", f"2001:db8:{position}::2")
        for index in range(position - 1):
            router.add_route(f"2001:db8:{index}::/64", f"to_{left_name}",
                             f"2001:db8:{position - 1}::1")
    assert last >= 0
    return net, a, b, routers


def test_longest_prefix_match() -> None:
    net = Network()
    router = net.add_router("r")
    for name in ("w", "x", "y", "z"):
        router.add_interface(name)
    router.add_route("::/0", "w")
    router.add_route("2001:db8::/32", "x")
    router.add_route("2001:db8:1::/48", "y")
    router.add_route("2001:db8:1:2::/64", "z")
    cases = {
        "2001:db9::1": "w",
        "2001:db8:ff::1": "x",
        "2001:db8:1:ff::1": "y",
        "2001:db8:1:2::1": "z",
    }
    for address, interface in cases.items():
        route = router.lookup(IPv6Address(address))
        assert route is not None and route.interface == interface
    router.remove_route("2001:db8:1::/48", "y")
    assert router.lookup(IPv6Address("2001:db8:1:ff::1")).interface == "x"  # type: ignore[union-attr]
    assert Network().add_node("h").lookup(IPv6Address("::1")) is None


def test_forwarding_decrements_the_hop_limit_on_each_router() -> None:
    net, a, b, _routers = chain(3)
    sink = Sink(b)
    capture = net.capture()
    src = IPv6Address("2001:db8:0::1")
    dst = IPv6Address("2001:db8:3::2")
    net.kernel.schedule_at(0.0, a.send, udp(src, dst, 100, hop_limit=64))
    net.run()
    assert sink.tags == [0] and sink.arrivals[0][2] == "l3"
    assert sink.times == pytest.approx([0.004])
    assert [(link, data[7]) for _t, link, data in capture.records] == [
        ("l0", 64), ("l1", 63), ("l2", 62), ("l3", 61)]


def test_hop_limit_exhaustion_drops() -> None:
    net, a, b, _routers = chain(3)
    sink = Sink(b)
    net.kernel.schedule_at(0.0, a.send, udp(IPv6Address("2001:db8::1"),
                                            IPv6Address("2001:db8:3::2"), 100, hop_limit=2))
    net.run()
    assert sink.arrivals == [] and net.drops["hop limit exceeded"] == 1


def test_unroutable_and_unresolved_are_counted() -> None:
    net, a, _b, routers = chain(1)
    net.kernel.schedule_at(0.0, a.send, udp(IPv6Address("2001:db8::1"),
                                            IPv6Address("2001:db8:1::99"), 100))
    lonely = net.add_node("lonely")
    lonely.add_interface("eth0")
    net.kernel.schedule_at(0.0, lonely.send, udp(IPv6Address("2001:db8::1"),
                                                 IPv6Address("2001:db8:1::99"), 100))
    net.run()
    assert net.drops["address unresolved"] == 1  # r1 has no neighbour 2001:db8:1::99
    assert net.drops["no route"] == 1
    assert routers[0].counters["forwarded"] == 1


def test_captured_ping_writes_a_pcap_the_wire_layer_decodes(tmp_path: Path) -> None:
    net, a, b, _routers = chain(1, delay=0.005)
    b.host(Echo("echo", "to_r1"))
    capture = net.capture()
    src, dst = IPv6Address("2001:db8::1"), IPv6Address("2001:db8:1::2")
    for sequence in range(3):
        net.kernel.schedule_at(sequence * 1.0, a.send, IPv6Packet(
            src=src, dst=dst, payload=EchoRequest(identifier=7, sequence=sequence, data=b"x")))
    net.run()
    assert capture.write_pcap(tmp_path / "run.pcap") == 12
    paths = capture.write_per_link(tmp_path / "links")
    assert sorted(paths) == ["l0", "l1"]
    records = read_pcap(tmp_path / "run.pcap")
    kinds = [(round(r.timestamp, 6), type(decode_packet(r.data).payload).__name__)
             for r in records]
    assert kinds[:4] == [(0.0, "EchoRequest"), (0.005, "EchoRequest"),
                         (0.01, "EchoReply"), (0.015, "EchoReply")]
    per_link = read_pcap(paths["l1"])
    assert [decode_packet(r.data).payload.sequence for r in per_link] == [0, 0, 1, 1, 2, 2]
    answered = net.events_of("echo.answered")
    assert [(round(e.time, 9), e.node, e.event.fields["sequence"]) for e in answered] == [
        (0.01, "b", 0), (1.01, "b", 1), (2.01, "b", 2)]


def test_processing_time_delays_what_an_entity_handles() -> None:
    """A node's processing time: one message at a time, in order (echo requests 1 ms apart,
    arriving 10 ms later, each taking 3 ms); a data packet (10.5 ms) takes no time of its own
    but waits behind the message being handled; forwarding costs nothing (the router's
    processing time is not used)."""
    net, a, b, routers = chain(1, delay=0.005)
    echo = b.host(Echo("echo", "to_r1"))
    b.processing = 0.003
    routers[0].processing = 0.050
    src, dst = IPv6Address("2001:db8::1"), IPv6Address("2001:db8:1::2")
    seen: list[tuple[float, str]] = []
    echo.on_packet = lambda packet, interface: seen.append(  # type: ignore[method-assign]
        (round(echo.now, 9), "echo" if isinstance(packet.payload, EchoRequest) else "udp"))
    for sequence in range(3):
        net.kernel.schedule_at(sequence * 0.001, a.send, IPv6Packet(
            src=src, dst=dst, payload=EchoRequest(identifier=7, sequence=sequence, data=b"x")))
    net.kernel.schedule_at(0.0005, a.send, udp(src, dst, 100))
    net.run()
    assert seen == [(0.013, "echo"), (0.013, "udp"), (0.016, "echo"), (0.019, "echo")]


def test_an_address_configuration_holds_what_is_sent_with_it() -> None:
    """``configure_time``: packets sent with (or after) a new address's configuration leave
    that much later, in order; a link-local address costs nothing."""
    net, a, b, _routers = chain(1, delay=0.001)
    sink = Sink(b)
    agent = a.host(Scripted("agent"))
    a.configure_time = 0.040
    src, dst = IPv6Address("2001:db8::1"), IPv6Address("2001:db8:1::2")
    configure = ConfigureAddress(interface="to_r1", address=IPv6Address("2001:db8::99"))
    link_local = ConfigureAddress(interface="to_r1", address=IPv6Address("fe80::99"))
    net.kernel.schedule_at(0.0, a.call, agent, agent.do,
                           [link_local, Transmit(packet=udp(src, dst, 100, tag=1))])
    net.kernel.schedule_at(0.1, a.call, agent, agent.do,
                           [configure, Transmit(packet=udp(src, dst, 100, tag=2))])
    net.kernel.schedule_at(0.12, a.call, agent, agent.do,
                           [Transmit(packet=udp(src, dst, 100, tag=3))])
    net.kernel.schedule_at(0.2, a.call, agent, agent.do,
                           [Transmit(packet=udp(src, dst, 100, tag=4))])
    net.run()
    assert [(round(t, 6), tag) for t, tag, _link in sink.arrivals] == [
        (0.002, 1), (0.142, 2), (0.142, 3), (0.202, 4)]


def lan(count: int, routers: int = 1) -> tuple[Network, list[Node], list[Echo]]:
    net = Network()
    nodes = [net.add_router(f"r{i}") for i in range(routers)]
    nodes += [net.add_node(f"h{i}") for i in range(count)]
    ifaces = []
    entities = []
    for index, node in enumerate(nodes):
        iface = node.add_interface("eth0")
        iface.add_address(f"2001:db8::{index + 1:x}/64")
        iface.add_address(f"fe80::{index + 1:x}/64")
        ifaces.append(iface)
        entities.append(node.host(Echo(f"e{node.name}")))
    net.shared_link("lan", ifaces, delay=0.001)
    return net, nodes, entities  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("group", "takers"),
    [
        ("ff02::1", {"r0", "h0", "h1"}),  # all nodes
        ("ff02::2", {"r0"}),  # all routers
        ("ff02::1:ff00:3", {"h1"}),  # solicited-node of ...::3 (h1)
        ("ff02::1:ff00:99", set()),
        ("ff02::fb", {"r0", "h0", "h1"}),  # any other group: everyone on the link
    ],
)
def test_link_multicast_delivery(group: str, takers: set[str]) -> None:
    net, nodes, entities = lan(3)
    sender = nodes[-1]
    pkt = IPv6Packet(src=IPv6Address("fe80::4"), dst=IPv6Address(group), hop_limit=255,
                     payload=UDPDatagram(src_port=1, dst_port=2, data=b""))
    net.kernel.schedule_at(0.0, sender.send_on, sender.interfaces["eth0"],
                           encode_packet(pkt))
    net.run()
    got = {node.name for node, entity in zip(nodes, entities, strict=True) if entity.seen}
    assert got == takers


def test_entity_actions_configure_claim_route_and_deliver() -> None:
    net = Network()
    router = net.add_router("r")
    host = net.add_node("h")
    ri, hi = router.add_interface("eth0"), host.add_interface("eth0")
    ri.add_address("2001:db8::ff/64")
    net.point_to_point("l", ri, hi, delay=0.01)
    entity = host.host(Scripted("agent"))
    sink = Sink(host, 9)
    home = IPv6Address("2001:db8::99")
    net.at(1.0, entity, entity.do, [
        ConfigureAddress(interface="eth0", address=IPv6Address("2001:db8::1")),
        ConfigureRoute(prefix=IPv6Network("2001:db8:f::/48"), interface="eth0",
                       via=IPv6Address("2001:db8::ff")),
        Claim(address=home, proxy_interface="eth0"),
        Deliver(packet=udp(home, home, 100, tag=5)),
    ])
    net.run()
    assert hi.addresses == {IPv6Address("2001:db8::1"): 64}
    assert host.lookup(IPv6Address("2001:db8:f::1")).via == IPv6Address("2001:db8::ff")  # type: ignore[union-attr]
    assert host.lookup(IPv6Address("2001:db8::5")).connected  # type: ignore[union-attr]
    assert sink.tags == [5]
    # The router resolves the claimed address to the host (proxy ND) and the claimant gets it.
    net.kernel.schedule(0.0, router.send, udp(IPv6Address("2001:db8::ff"), home, 100, tag=1))
    net.run()
    assert [p.dst for _t, p in entity.received] == [home]
    net.at(net.now, entity, entity.do, [Claim(address=home, active=False)])
    net.kernel.schedule(0.1, router.send, udp(IPv6Address("2001:db8::ff"), home, 100, tag=2))
    net.run()
    assert len(entity.received) == 1 and net.drops["address unresolved"] == 1


def test_entity_timers_are_rearmed_after_every_input() -> None:
    net = Network()
    node = net.add_node("n")
    node.add_interface("eth0")
    entity = node.host(Scripted("timer"))
    net.at(0.5, entity, entity.tick_every, 0.25, 4)
    net.run()
    assert [(e.time, e.node, e.kind) for e in net.events] == [
        (0.75, "n", "tick"), (1.0, "n", "tick"), (1.25, "n", "tick"), (1.5, "n", "tick")]


def test_udp_to_a_bound_port_bypasses_entities_and_the_rest_reaches_them() -> None:
    net, nodes, entities = lan(2, routers=0)
    sink = Sink(nodes[1], 9)
    dst = IPv6Address("2001:db8::2")
    net.kernel.schedule_at(0.0, nodes[0].send_on, nodes[0].interfaces["eth0"],
                           encode_packet(
                               udp(IPv6Address("2001:db8::1"), dst, 100, port=9)))
    net.kernel.schedule_at(0.0, nodes[0].send_on, nodes[0].interfaces["eth0"],
                           encode_packet(
                               udp(IPv6Address("2001:db8::1"), dst, 100, port=10)))
    net.run()
    assert sink.tags == [0]
    assert [d for _t, d in entities[1].seen] == [dst]


@given(st.lists(st.tuples(st.integers(0, 2**16 - 1), st.integers(0, 24)), min_size=1,
                max_size=12, unique=True),
       st.lists(st.integers(0, 2**16 - 1), min_size=1, max_size=20))
def test_lookup_agrees_with_a_brute_force_longest_match(prefixes, destinations) -> None:
    net = Network()
    router = net.add_router("r")
    for index, (_bits, _length) in enumerate(prefixes):
        router.add_interface(f"i{index}")
    table = []
    for index, (bits, length) in enumerate(prefixes):
        network = IPv6Network((bits << 112, length), strict=False)
        if any(network == other for other, _ in table):
            continue
        router.add_route(network, f"i{index}")
        table.append((network, f"i{index}"))
    for top in destinations:
        address = IPv6Address((top << 112) | 0x1234)
        matches = [(n.prefixlen, -i, name) for i, (n, name) in enumerate(table) if address in n]
        expected = max(matches)[2] if matches else None
        route = router.lookup(address)
        assert (route.interface if route else None) == expected


def test_a_corrupted_datagram_for_a_bound_port_is_dropped_as_malformed() -> None:
    net, nodes, _entities = lan(2, routers=0)
    sink = Sink(nodes[1], 9)
    data = bytearray(encode_packet(udp(IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2"),
                                       100, port=9)))
    data[-1] ^= 0xFF  # breaks the UDP checksum
    net.kernel.schedule_at(0.0, nodes[0].send_on, nodes[0].interfaces["eth0"], bytes(data))
    net.run()
    assert sink.arrivals == [] and net.drops["malformed"] == 1


class _DictsOnly(RoutingTable):
    """The routing table that never keeps its routes in the scanned tuple."""

    __slots__ = ()
    FEW = 0


_PREFIXES = [IPv6Network(p) for p in (
    "::/0", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::/64", "2001:db8:1:0:8000::/65",
    "2001:db8:2::/64", "2001:db8:1::1/128", "2001:db8::/29")]
_ROUTE_OPS = st.lists(st.tuples(st.booleans(), st.integers(0, len(_PREFIXES) - 1),
                                st.sampled_from(("a", "b")), st.booleans()), max_size=14)


@given(_ROUTE_OPS, st.lists(st.integers(0, 2**128 - 1), min_size=1, max_size=8))
def test_a_small_routing_table_answers_as_the_dicts_do(
        ops: list[tuple[bool, int, str, bool]], destinations: list[int]) -> None:
    # A host's few routes are a scanned tuple (RoutingTable.FEW); the routes, their order,
    # each add's answer and every lookup must be those of the dicts, before and after the
    # table outgrows the tuple.
    small, dicts = RoutingTable(), _DictsOnly()
    probes = [p.network_address.packed for p in _PREFIXES]
    probes += [IPv6Address(d).packed for d in destinations]
    probes += [(int(p.network_address) | 1).to_bytes(16, "big") for p in _PREFIXES]
    for add, index, interface, connected in ops:
        prefix = _PREFIXES[index]
        if add:
            route = Route(prefix, interface, None, connected=connected)
            assert small.add(route) == dicts.add(route)
        else:
            small.remove(prefix, interface, connected)
            dicts.remove(prefix, interface, connected)
        assert small.routes() == dicts.routes()
        for packed in probes:
            assert small.lookup(packed) == dicts.lookup(packed)


def test_a_second_interface_does_not_share_the_first_ones_addresses() -> None:
    # A node with one interface keeps one set for its own and the interface's addresses; the
    # second interface must split them: each interface answers only for its own addresses,
    # the node for all of them.
    net = Network(1)
    node = net.add_node("h")
    first = node.add_interface("eth0")
    first.add_address("2001:db8:1::1/64")
    second = node.add_interface("eth1")
    second.add_address("2001:db8:2::1/64")
    one, two = IPv6Address("2001:db8:1::1").packed, IPv6Address("2001:db8:2::1").packed
    assert first.answers(one) and not first.answers(two)
    assert second.answers(two) and not second.answers(one)
    assert one in node._local and two in node._local
    first.remove_address("2001:db8:1::1")
    assert one not in node._local and two in node._local and not first.answers(one)


def test_a_node_that_keeps_changing_its_care_of_address_keeps_small_address_tables() -> None:
    # A mobile node swaps one address for another at every handover; its dictionary and set of
    # addresses must not keep the room of the deleted ones (a fresh table holds two entries in
    # its smallest size), and the dictionary keeps its order.
    net = Network(1)
    node = net.add_node("mn")
    interface = node.add_interface("wlan0")
    interface.add_address("fe80::1/64")
    previous = None
    for k in range(1, 40):
        if previous is not None:
            interface.remove_address(previous)
        previous = f"2001:db8:{k:x}::1"
        interface.add_address(f"{previous}/64")
    link_local, last = IPv6Address("fe80::1"), IPv6Address(previous)
    assert interface.addresses == {link_local: 64, last: 64}
    assert list(interface.addresses) == [link_local, last]
    # One tuple for the node and its interface, holding the two addresses and no room.
    assert interface.packed is node._local
    assert node._local == (link_local.packed, last.packed)
    assert sys.getsizeof(interface.packed) == sys.getsizeof((link_local.packed, last.packed))
    gone = IPv6Address("2001:db8:1::1").packed
    assert interface.answers(last.packed) and not interface.answers(gone)
    assert node.lookup(last) is not None


def test_a_udp_binding_or_claim_stays_on_its_own_node() -> None:
    # Nodes start with one shared empty mapping of claims and of UDP bindings; the first
    # binding or claim must give that node its own, never write into the shared one.
    net = Network(1)
    a, b, c = net.add_node("a"), net.add_node("b"), net.add_node("c")
    a.bind_udp(5004, lambda packet, now, link: None)
    b._claim(_HostedProbe(), Claim(address=IPv6Address("2001:db8::7")))  # type: ignore[arg-type]
    assert dict(a._udp) == {5004: a._udp[5004]} and not b._udp and not c._udp
    assert IPv6Address("2001:db8::7").packed in b._claims and not a._claims and not c._claims


class _HostedProbe:
    """Stands for a hosted entity in a claim (only its identity matters)."""
