"""Traffic: CBR timing and size, receiver loss/duplicate/reorder accounting, bulk flows."""

from __future__ import annotations

import pytest

from mipshop.sim.traffic import (
    HEADER,
    VOIP_INTERVAL,
    VOIP_PAYLOAD,
    BulkSource,
    CBRSource,
    FlowReceiver,
    decode_payload,
    encode_payload,
    voip_call,
)
from mipshop.wire.ipv6 import IPv6Packet, encode_packet

from .builders import A, B, two_hosts


def test_payload_layout() -> None:
    data = encode_payload(3, 7, 1.25, 160)
    assert len(data) == 160 and HEADER.size == 16
    assert decode_payload(data) == (3, 7, 1.25)
    assert data[16:] == bytes(144)


def test_cbr_defaults_are_g711_at_20_ms() -> None:
    net, a, b, _ia, _ib = two_hosts(delay=0.005)
    sizes: list[int] = []

    def send(packet: IPv6Packet) -> None:
        sizes.append(len(encode_packet(packet)))
        a.send(packet)

    receiver = FlowReceiver(b, 5004)
    source = CBRSource(net, send, src=A, dst=B, start=1.0, count=10)
    net.run()
    assert (VOIP_INTERVAL, VOIP_PAYLOAD) == (0.020, 160)
    assert source.sent == 10 and sizes == [40 + 8 + 160] * 10
    assert [a.sent for a in receiver.arrivals] == pytest.approx([1.0 + n * 0.02
                                                                 for n in range(10)])
    assert [a.delay for a in receiver.arrivals] == pytest.approx([0.005] * 10)
    assert {a.link for a in receiver.arrivals} == {"ab"}


def test_cbr_stop_time_is_inclusive_and_stop_cancels() -> None:
    net, a, b, _ia, _ib = two_hosts()
    receiver = FlowReceiver(b, 5004, flow=0)
    source = CBRSource(net, a.send, src=A, dst=B, start=1.0, stop=1.1)
    other = CBRSource(net, a.send, src=A, dst=B, flow=9, start=1.0)
    net.kernel.schedule_at(1.05, other.stop)
    net.run()
    assert source.sent == 6
    assert other.sent == 3  # 1.00, 1.02, 1.04
    assert len(receiver.arrivals) == 6


def test_receiver_filters_by_flow() -> None:
    net, a, b, _ia, _ib = two_hosts()
    only = FlowReceiver(b, 5004, flow=1)
    CBRSource(net, a.send, src=A, dst=B, flow=1, count=3)
    CBRSource(net, a.send, src=A, dst=B, flow=2, count=4)
    net.run()
    assert [x.seq for x in only.arrivals] == [0, 1, 2]


def test_loss_is_accounted_against_what_was_sent() -> None:
    net, a, b, _ia, _ib = two_hosts(delay=0.01, loss=0.2)
    receiver = FlowReceiver(b, 5004)
    source = CBRSource(net, a.send, src=A, dst=B, count=500)
    net.run()
    report = receiver.report(source.sent)
    assert report.sent == 500
    assert report.lost == net.drops["loss"] == 500 - report.received
    assert 60 < report.lost < 140
    assert report.duplicates == report.reordered == 0


def test_duplicates_and_reordering_are_detected() -> None:
    net, a, b, _ia, _ib = two_hosts(delay=0.001)
    receiver = FlowReceiver(b, 5004)

    def twice_and_late(packet: IPv6Packet) -> None:
        seq = decode_payload(packet.payload.data)[1]  # type: ignore[union-attr]
        if seq % 5 == 0:
            a.send(packet)
            a.send(packet)
        elif seq % 5 == 1:
            net.kernel.schedule(0.05, a.send, packet)  # overtaken by the next two packets
        else:
            a.send(packet)

    source = CBRSource(net, twice_and_late, src=A, dst=B, count=20)
    net.run()
    report = receiver.report(source.sent)
    assert (report.received, report.lost, report.duplicates, report.reordered) == (20, 0, 4, 4)


def test_bulk_flow_fills_the_bottleneck() -> None:
    net, a, b, _ia, _ib = two_hosts(delay=0.01, bandwidth=80_000.0)
    receiver = FlowReceiver(b, 6001, ack=b.send)
    bulk = BulkSource(net, a.send, a, src=A, dst=B, window=4, stop=10.0)
    net.run(until=12.0)
    per_packet = (40 + 8 + 1200) * 8 / 80_000.0  # 0.1248 s on the wire
    assert bulk.timed_out == 0
    assert bulk.acked == len(receiver.arrivals) == bulk.sent
    assert abs(bulk.sent - (10.0 / per_packet + 4)) <= 2


def test_bulk_flow_survives_loss_through_timeouts() -> None:
    net, a, b, _ia, _ib = two_hosts(delay=0.01, bandwidth=1e6, loss=0.1)
    receiver = FlowReceiver(b, 6001, ack=b.send)
    bulk = BulkSource(net, a.send, a, src=A, dst=B, window=8, timeout=0.2, stop=5.0)
    net.run(until=6.0)
    assert bulk.timed_out > 0 and bulk.acked > 0
    assert bulk.acked + bulk.timed_out == bulk.sent
    assert receiver.report(bulk.sent).lost <= bulk.timed_out


def test_voip_call_runs_both_ways() -> None:
    net, a, b, _ia, _ib = two_hosts(delay=0.02)
    fwd, at_b, back, at_a = voip_call(net, (a, a.send, A), (b, b.send, B), stop=0.999)
    net.run()
    assert fwd.sent == back.sent == 50
    assert len(at_b.arrivals) == len(at_a.arrivals) == 50
    assert at_b.report(fwd.sent).delay.p50 == pytest.approx(0.02)
