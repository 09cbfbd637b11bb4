"""Links: propagation delay, serialization, drop-tail queue and seeded loss, figured exactly."""

from __future__ import annotations

import random
import sys
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.sim.links import REFILL_AFTER
from mipshop.sim.network import Network
from mipshop.wire.ipv6 import encode_packet

from .builders import A, B, Sink, two_hosts, udp


def send_burst(net: Network, node, count: int, size: int, at: float = 0.0) -> None:
    for tag in range(count):
        net.kernel.schedule_at(at, node.send, udp(A, B, size, tag=tag))


@pytest.mark.parametrize(
    ("delay", "bandwidth", "size", "count", "expected"),
    [
        # 100 bytes at 8000 b/s = 0.1 s on the wire, then 10 ms of propagation.
        (0.01, 8000.0, 100, 3, [0.11, 0.21, 0.31]),
        (0.0, 8000.0, 100, 2, [0.1, 0.2]),
        (0.25, None, 100, 3, [0.25, 0.25, 0.25]),  # no bandwidth: no serialization, FIFO
        (0.001, 1e6, 1000, 2, [0.009, 0.017]),  # 1000 B at 1 Mb/s = 8 ms
    ],
)
def test_delay_and_serialization(delay, bandwidth, size, count, expected) -> None:
    net, a, b, _ia, _ib = two_hosts(delay=delay, bandwidth=bandwidth)
    sink = Sink(b)
    send_burst(net, a, count, size)
    net.run()
    assert sink.times == pytest.approx(expected)
    assert sink.tags == list(range(count))


@pytest.mark.parametrize(
    ("limit", "count", "delivered"),
    [
        (0, 3, [0]),  # only the frame that goes on the wire at once
        (1, 3, [0, 1]),  # one on the wire, one waiting, the third dropped
        (2, 5, [0, 1, 2]),
        (None, 5, [0, 1, 2, 3, 4]),
    ],
)
def test_drop_tail_queue(limit, count, delivered) -> None:
    net, a, b, _ia, _ib = two_hosts(delay=0.0, bandwidth=8000.0, queue_limit=limit)
    sink = Sink(b)
    send_burst(net, a, count, 100)
    net.run()
    assert sink.tags == delivered
    assert net.drops["queue"] == count - len(delivered)


def test_queue_drains_with_time() -> None:
    # With a one-frame queue, a frame sent once the first left the wire is accepted again.
    net, a, b, _ia, _ib = two_hosts(delay=0.0, bandwidth=8000.0, queue_limit=1)
    sink = Sink(b)
    send_burst(net, a, 3, 100, at=0.0)  # tags 0, 1 pass, 2 dropped
    net.kernel.schedule_at(0.1, a.send, udp(A, B, 100, tag=7))  # frame 1 just started
    net.run()
    assert sink.tags == [0, 1, 7]
    assert sink.times == pytest.approx([0.1, 0.2, 0.3])


def test_full_duplex_point_to_point() -> None:
    net, a, b, _ia, _ib = two_hosts(delay=0.01, bandwidth=8000.0)
    at_b, at_a = Sink(b), Sink(a)
    net.kernel.schedule_at(0.0, a.send, udp(A, B, 100, tag=1))
    net.kernel.schedule_at(0.0, b.send, udp(B, A, 100, tag=2))
    net.run()
    assert at_b.times == pytest.approx([0.11]) and at_a.times == pytest.approx([0.11])


def test_shared_medium_serializes_all_senders() -> None:
    net = Network(seed=1)
    hosts = [net.add_node(n) for n in "abc"]
    ifaces = [h.add_interface("eth0") for h in hosts]
    for index, iface in enumerate(ifaces):
        iface.add_address(f"2001:db8::{index + 1}/64")
    net.shared_link("lan", ifaces, delay=0.01, bandwidth=8000.0)
    sink = Sink(hosts[2])
    dst = IPv6Address("2001:db8::3")
    for index in (0, 1):
        src = IPv6Address(f"2001:db8::{index + 1}")
        net.kernel.schedule_at(0.0, hosts[index].send_on, ifaces[index],
                               encode_packet(udp(src, dst, 100, tag=index + 1)))
    net.run()
    assert sink.tags == [1, 2]
    assert sink.times == pytest.approx([0.11, 0.21])


@pytest.mark.parametrize("loss", [0.0, 0.3, 0.5, 1.0])
def test_loss_follows_the_links_own_seeded_stream(loss: float) -> None:
    net, a, b, _ia, _ib = two_hosts(delay=0.0, loss=loss)
    sink = Sink(b)
    for tag in range(200):
        net.kernel.schedule_at(tag * 0.001, a.send, udp(A, B, 100, tag=tag))
    net.run()
    # The link draws one number per frame from Random("<seed>/link/<name>").
    rng = random.Random("1/link/ab")
    expected = [tag for tag in range(200) if not (loss and rng.random() < loss)]
    assert sink.tags == expected
    assert net.drops["loss"] == 200 - len(expected)


def test_frames_in_flight_to_a_departed_receiver_are_dropped() -> None:
    net, a, b, _ia, ib = two_hosts(delay=0.5)
    sink = Sink(b)
    net.kernel.schedule_at(0.0, a.send, udp(A, B, 100))
    net.kernel.schedule_at(0.2, lambda: ib.link.detach(ib))  # type: ignore[union-attr]
    net.run()
    assert sink.arrivals == []
    assert net.drops["receiver left the link"] == 1


def test_a_link_that_stations_keep_joining_and_leaving_keeps_tables_of_its_size() -> None:
    # Visitors join an access link one at a time and leave; the link's tables must end as
    # small as fresh ones holding its residents, in the order they joined, still resolving.
    net = Network(seed=1)
    residents = [net.add_node(f"r{k}").add_interface("eth0") for k in range(3)]
    for k, iface in enumerate(residents):
        iface.add_address(f"2001:db8::{k + 1}/64")
    link = net.shared_link("lan", residents)
    # A link refills its tables at every REFILL_AFTER + 1-th address that leaves it (with
    # fewer held than that); each visitor has one: end on such a departure.
    for k in range(12 * (REFILL_AFTER + 1)):
        visitor = net.add_node(f"v{k}").add_interface("wlan0")
        visitor.add_address(f"2001:db8::1:{k:x}/64")
        link.attach(visitor)
        assert link.resolve(IPv6Address(f"2001:db8::1:{k:x}").packed) is visitor
        link.detach(visitor)
    assert list(link.interfaces) == residents
    for k, iface in enumerate(residents):
        assert link.resolve(IPv6Address(f"2001:db8::{k + 1}").packed) is iface
    assert link.resolve(IPv6Address("2001:db8::1:0").packed) is None
    tables = (link.interfaces, link._by_mac, link._owners, link._holders, link._tails)
    for table in tables:
        assert sys.getsizeof(table) == sys.getsizeof({k: v for k, v in table.items()})


def test_point_to_point_takes_two_ends() -> None:
    net, a, _b, _ia, _ib = two_hosts()
    with pytest.raises(ValueError):
        net.links["ab"].attach(a.add_interface("eth1"))


def reference_arrivals(sends: list[tuple[float, int]], delay: float, bandwidth: float,
                       limit: int | None) -> list[tuple[int, float]]:
    """A straightforward FIFO transmitter: the model the link implements, written out."""
    out = []
    wire_free = 0.0
    starts: list[float] = []  # start times of accepted frames
    for index, (time, size) in enumerate(sends):
        start = max(time, wire_free)
        waiting = sum(1 for s in starts if s > time)
        if start > time and limit is not None and waiting >= limit:
            continue
        starts.append(start)
        wire_free = start + size * 8 / bandwidth
        out.append((index, wire_free + delay))
    return sorted(out, key=lambda item: (item[1], item[0]))


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(48 + 4, 600)), min_size=1, max_size=25),
    st.sampled_from([None, 0, 1, 3]),
    st.sampled_from([0.0, 0.003]),
)
def test_link_matches_the_reference_fifo(sends, limit, delay) -> None:
    timed = sorted((ms / 1000, size) for ms, size in sends)
    net, a, b, _ia, _ib = two_hosts(delay=delay, bandwidth=100_000.0, queue_limit=limit)
    sink = Sink(b)
    for tag, (time, size) in enumerate(timed):
        net.kernel.schedule_at(time, a.send, udp(A, B, size, tag=tag))
    net.run()
    expected = reference_arrivals(timed, delay, 100_000.0, limit)
    assert sink.tags == [tag for tag, _t in expected]
    assert sink.times == pytest.approx([t for _tag, t in expected])
