"""The test harness itself: delivery rules, delays, claims, timers, loss and records."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

from mipshop.protocol.base.actions import Claim, ConfigureAddress, Deliver, Transmit
from mipshop.protocol.base.entity import Entity
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from tests.harness import Network

A = IPv6Address("2001:db8:a::1")
B = IPv6Address("2001:db8:b::1")
SHARED = IPv6Address("2001:db8:b::99")


class Host(Entity):
    """Configures its addresses at start, echoes UDP to port 7, delivers the rest."""

    def __init__(self, name: str, addresses: tuple[IPv6Address, ...]) -> None:
        super().__init__(name, random.Random(0))
        self.addresses = addresses
        self.ticks: list[float] = []

    def start(self, now: float) -> None:
        self.now = now
        for address in self.addresses:
            self.act(ConfigureAddress(interface="eth0", address=address))

    def send(self, dst: IPv6Address, data: bytes, port: int = 9) -> None:
        self.act(Transmit(packet=IPv6Packet(src=self.addresses[0], dst=dst, payload=UDPDatagram(
            src_port=1, dst_port=port, data=data)), interface="eth0"))

    def tick_in(self, now: float, delay: float) -> None:
        self.now = now  # commands carry the time, as every entity command does
        self.schedule(delay, self.ticks.append)

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        payload = packet.payload
        if isinstance(payload, UDPDatagram) and payload.dst_port == 7:
            self.send(packet.src, payload.data)
        else:
            self.act(Deliver(packet=packet))


def network():
    net = Network(router_delay=0.1)
    net.add_link("la", 0.01)
    net.add_link("lb", 0.02)
    net.add_route("2001:db8:a::/64", "la")
    net.add_route("2001:db8:b::/64", "lb")
    a, b = Host("a", (A,)), Host("b", (B, SHARED))
    net.add_node(a, {"eth0": "la"})
    net.add_node(b, {"eth0": "lb"})
    net.start(a)
    net.start(b)
    return net, a, b


def test_routed_delivery_adds_both_link_delays_and_the_router_delay():
    net, a, _b = network()
    net.at(1.0, lambda now: a.send(B, b"x", port=7))
    net.run_until(2)
    assert [round(d.time, 6) for d in net.delivered] == [1.26]  # 2 x (0.01 + 0.1 + 0.02)
    assert net.delivered[0].node == "a" and net.delivered[0].packet.payload.data == b"x"
    assert [(round(r.time, 6), r.link, r.sender) for r in net.log] == [
        (1.0, "la", "a"), (1.13, "lb", "b")]


def test_a_claim_beats_a_configured_address_and_can_be_released():
    net, a, _b = network()
    c = Host("c", ())
    net.add_node(c, {"eth0": "lb"})
    net.at(0.5, lambda now: c.act(Claim(address=SHARED, proxy_interface="eth0")))
    net.at(1.0, lambda now: a.send(SHARED, b"1"))
    net.at(2.0, lambda now: c.act(Claim(address=SHARED, active=False, proxy_interface="eth0")))
    net.at(3.0, lambda now: a.send(SHARED, b"2"))
    net.run_until(4)
    assert [(d.node, d.packet.payload.data) for d in net.delivered] == [("c", b"1"), ("b", b"2")]


def test_loss_unreachable_and_leaving_the_link_are_recorded_as_drops():
    net, a, _b = network()
    undo = net.drop_if(lambda packet, record: packet.payload.data == b"lost")
    net.at(1.0, lambda now: a.send(B, b"lost"))
    net.at(1.5, lambda now: undo())
    net.at(2.0, lambda now: a.send(IPv6Address("2001:db8:c::1"), b"nowhere"))
    net.at(3.0, lambda now: a.send(B, b"late"))
    net.at(3.05, lambda now: net.connect("b", "eth0", None))
    net.run_until(4)
    assert [d.reason for d in net.drops] == ["lost", "unreachable", "receiver left the link"]
    assert not net.delivered and len(net.log) == 3


def test_entity_timers_fire_on_virtual_time():
    net, a, _b = network()
    net.at(1.0, lambda now: a.tick_in(now, 2.5))
    net.at(1.0, lambda now: a.tick_in(now, 0.5))
    net.run_until(10)
    assert a.ticks == [1.5, 3.5]
