"""A frame sent to every interface of a shared link is one event, and reaches (besides the
radios that are off and the interfaces that left) only the interfaces that can take it: a
solicited-node group its holders, all-routers the routers (issue 15: each station's RS and
DAD NS reached every station of its access link, an event each, and a city's run grew with
the square of its nodes)."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from mipshop.sim.compare import _build
from mipshop.sim.frame import Frame
from mipshop.sim.network import Interface, Network, Node
from mipshop.sim.scenario import load_scenario
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram

CITY = load_scenario(Path(__file__).parents[2] / "examples" / "city.toml")
HOSTS = 12


def _solicited(address: IPv6Address) -> IPv6Address:
    return IPv6Address(int(IPv6Address("ff02::1:ff00:0")) | (int(address) & 0xFF_FFFF))


def _frame(dst: IPv6Address) -> Frame:
    return Frame.of(IPv6Packet(src=IPv6Address("2001:db8::1"), dst=dst,
                               payload=UDPDatagram(src_port=1, dst_port=9, data=b"x" * 8)))


@pytest.fixture
def air(monkeypatch: pytest.MonkeyPatch) -> tuple[Network, list[Interface], list[str]]:
    """Hosts h0..h11 (2001:db8::1..12) and a router on one shared link; ``heard`` lists the
    nodes that received a frame, in order."""
    net = Network(1)
    interfaces = []
    for k in range(HOSTS):
        node = net.add_node(f"h{k}")
        interface = node.add_interface("wlan0")
        interface.add_address(f"2001:db8::{k + 1:x}/64")
        interfaces.append(interface)
    router = net.add_router("r")
    interfaces.append(router.add_interface("wlan"))
    interfaces[-1].add_address("2001:db8::ff/64")
    net.shared_link("air", interfaces)
    heard: list[str] = []
    receive = Node.receive

    def recording(self: Node, interface: Interface, frame: Frame) -> None:
        heard.append(self.name)
        receive(self, interface, frame)

    monkeypatch.setattr(Node, "receive", recording)
    return net, interfaces, heard


@pytest.mark.parametrize(("group", "expected"), [
    (_solicited(IPv6Address("2001:db8::6")), ["h5"]),
    (IPv6Address("ff02::2"), ["r"]),
    (IPv6Address("ff02::1"), [f"h{k}" for k in range(1, HOSTS)] + ["r"]),
    (_solicited(IPv6Address("2001:db8::99")), []),
])
def test_one_event_and_only_the_takers(air: tuple[Network, list[Interface], list[str]],
                                       group: IPv6Address, expected: list[str]) -> None:
    net, interfaces, heard = air
    sender = interfaces[0]
    assert sender.link is not None
    sender.link.transmit(sender, _frame(group), None)
    before = net.kernel.events_processed
    net.run()
    assert net.kernel.events_processed - before == 1
    assert heard == expected
    # Nobody was asked to ignore it.
    assert all(i.node.counters["multicast.ignored"] == 0 for i in interfaces)


def test_radios_off_and_departed_receivers_still_get_it_in_join_order(
        air: tuple[Network, list[Interface], list[str]]) -> None:
    net, interfaces, heard = air
    sender = interfaces[0]
    link = sender.link
    assert link is not None
    off: list[str] = []
    interfaces[7].up = False
    interfaces[7].down_handler = lambda interface, frame: off.append(interface.node.name)
    link.transmit(sender, _frame(_solicited(IPv6Address("2001:db8::a"))), None)
    link.detach(interfaces[3])  # leaves while the frame is in flight
    net.run()
    assert heard == ["h9"]
    assert off == ["h7"]
    assert net.drops["receiver left the link"] == 1


def _events_per_node(nodes: int) -> float:
    world = _build(dataclasses.replace(CITY, mobile_nodes=nodes), "hmipv6", 1, capture=False)
    world.network.run(until=2.9)  # association, RS/RA, DAD, registrations; no call yet
    return world.network.kernel.events_processed / nodes


def test_a_city_start_costs_the_same_events_per_node_at_any_size() -> None:
    """200 nodes are one per access point, 1,600 are eight: with an event per station for
    every RS and DAD NS, the larger start cost 29.9 events a node against 22.6."""
    small, large = _events_per_node(200), _events_per_node(1_600)
    assert large < small * 1.05
