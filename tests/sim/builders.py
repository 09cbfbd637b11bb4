"""Small topologies and packets the simulator tests share."""

from __future__ import annotations

from ipaddress import IPv6Address

from mipshop.sim.network import Interface, Network, Node
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet

A = IPv6Address("2001:db8:a::1")
B = IPv6Address("2001:db8:b::1")


def udp(src: IPv6Address, dst: IPv6Address, size: int, *, port: int = 9,
        tag: int = 0, hop_limit: int = 64) -> IPv6Packet:
    """A UDP packet of exactly ``size`` bytes (IPv6 header included), tagged in its payload."""
    data = tag.to_bytes(4, "big") + bytes(size - 48 - 4)
    packet = IPv6Packet(src=src, dst=dst, hop_limit=hop_limit,
                        payload=UDPDatagram(src_port=1, dst_port=port, data=data))
    assert len(encode_packet(packet)) == size
    return packet


class Sink:
    """Records (arrival time, tag, link) of UDP packets bound on a node's port."""

    def __init__(self, node: Node, port: int = 9) -> None:
        self.arrivals: list[tuple[float, int, str | None]] = []
        node.bind_udp(port, self._on)

    def _on(self, packet: IPv6Packet, now: float, link: str | None) -> None:
        assert isinstance(packet.payload, UDPDatagram)
        self.arrivals.append((now, int.from_bytes(packet.payload.data[:4], "big"), link))

    @property
    def tags(self) -> list[int]:
        return [tag for _t, tag, _l in self.arrivals]

    @property
    def times(self) -> list[float]:
        return [t for t, _tag, _l in self.arrivals]


def two_hosts(**link: float | int | None) -> tuple[Network, Node, Node, Interface, Interface]:
    """Hosts a (A) and b (B) on one point-to-point link ``ab`` with the given parameters."""
    net = Network(seed=1)
    a, b = net.add_node("a"), net.add_node("b")
    ia, ib = a.add_interface("eth0"), b.add_interface("eth0")
    ia.add_address(f"{A}/64")
    ib.add_address(f"{B}/64")
    a.add_route("::/0", "eth0", B)
    b.add_route("::/0", "eth0", A)
    net.point_to_point("ab", ia, ib, **link)  # type: ignore[arg-type]
    return net, a, b, ia, ib
