"""Metrics on hand-built records: flows, handovers, percentiles and signalling load."""

from __future__ import annotations

import math
from ipaddress import IPv6Address

import pytest

from mipshop.measure import (
    Arrival,
    HandoverWindow,
    SignallingCount,
    flow_report,
    handover_report,
    handover_windows,
    message_type,
    percentile,
    signalling_load,
    summarize,
    summarize_handovers,
    uplink_handover_report,
)
from mipshop.sim.wifi import HandoffRecord, Scenario
from mipshop.wire.icmpv6 import EchoRequest, RouterSolicitation
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encapsulate, encode_packet
from mipshop.wire.mh import BindingAcknowledgement, BindingUpdate


def arrivals(spec: str, *, link: str = "l", interval: float = 0.02,
             delay: float = 0.01) -> list[Arrival]:
    """'0 1 3 3 2' -> arrivals of those sequence numbers, one per ``interval``."""
    out = []
    for index, token in enumerate(spec.split()):
        seq = int(token)
        out.append(Arrival(seq, seq * interval, index * interval + delay, link))
    return out


@pytest.mark.parametrize(
    ("spec", "sent", "received", "lost", "duplicates", "reordered"),
    [
        ("0 1 2 3", None, 4, 0, 0, 0),
        ("0 1 2 3", 6, 4, 2, 0, 0),  # two trailing losses only the sender knows
        ("0 2 3", None, 3, 1, 0, 0),
        ("0 1 1 2 2 2", None, 3, 0, 3, 0),
        ("0 2 1 3", None, 4, 0, 0, 1),
        ("3 2 1 0", None, 4, 0, 0, 3),
        ("0 3 1 3", 5, 3, 2, 1, 1),
        ("", 3, 0, 3, 0, 0),
    ],
)
def test_flow_report(spec, sent, received, lost, duplicates, reordered) -> None:
    report = flow_report(arrivals(spec), sent)
    assert (report.received, report.lost, report.duplicates, report.reordered) == (
        received, lost, duplicates, reordered)
    if report.sent:
        assert report.loss_ratio == lost / report.sent


def test_flow_delay_summary_counts_first_copies() -> None:
    records = [Arrival(0, 0.0, 0.010), Arrival(1, 0.02, 0.040), Arrival(1, 0.02, 0.5)]
    delay = flow_report(records).delay
    assert delay.count == 2 and delay.mean == pytest.approx(0.015)
    assert delay.maximum == pytest.approx(0.02)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),  # numpy.percentile([1,2,3,4], 50)
        ([1, 2, 3, 4], 0, 1.0),
        ([1, 2, 3, 4], 100, 4.0),
        ([10, 20, 30, 40, 50], 95, 48.0),
        ([15, 20, 35, 40, 50], 40, 29.0),
        ([7], 99, 7.0),
    ],
)
def test_percentile_type_7(values, q, expected) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_edges() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1], 101)
    empty = summarize([])
    assert empty.count == 0 and math.isnan(empty.mean)
    row = summarize([4, 1, 3, 2])
    assert (row.minimum, row.p50, row.maximum, row.mean) == (1, 2.5, 4, 2.5)


def voice(*pieces: tuple[str, str, float]) -> list[Arrival]:
    """Arrivals from (link, 'seq seq ...', extra delay) pieces; packets every 20 ms, 10 ms
    path delay, plus the extra delay."""
    out = []
    for link, spec, extra in pieces:
        for token in spec.split():
            seq = int(token)
            out.append(Arrival(seq, seq * 0.02, seq * 0.02 + 0.01 + extra, link))
    return out


# Handover: outage 0.105 .. 0.205 (seq 5 is sent at 0.10 and arrives at 0.11, inside it).
WINDOW = HandoverWindow(0.105, 0.205, "old", "new")


@pytest.mark.parametrize(
    ("records", "disruption", "lost", "duplicates", "buffered", "last", "first"),
    [
        # Plain break: 0-4 on old, 5-9 lost, 10.. on new.
        (voice(("old", "0 1 2 3 4", 0), ("new", "10 11 12", 0)), 0.12, 5, 0, 0, 4, 10),
        # Buffered at the new router: 5-9 held and flushed at 0.21, then 10.. as usual.
        (voice(("old", "0 1 2 3 4", 0), ("new", "10 11", 0)) + [
            Arrival(s, s * 0.02, 0.21, "new") for s in range(5, 10)], 0.21 - 0.09, 0, 0, 5, 4,
         5),
        # Forwarded twice (tunnel and direct): duplicates after the break.
        (voice(("old", "0 1 2 3 4", 0), ("new", "10 11 11 12 12", 0)), 0.12, 5, 2, 0, 4, 10),
        # No packet on the new link: no disruption figure.
        (voice(("old", "0 1 2 3 4", 0)), None, 0, 0, 0, 4, None),
    ],
)
def test_handover_report(records, disruption, lost, duplicates, buffered, last, first) -> None:
    report = handover_report(records, WINDOW, in_flight=0.01)
    if disruption is None:
        assert report.disruption is None and report.first_new is None
        assert report.last_old is None
    else:
        assert report.disruption == pytest.approx(disruption)
        assert report.last_old.seq == last and report.first_new.seq == first
    assert (report.lost, report.duplicates, report.buffered) == (lost, duplicates, buffered)


def test_handover_on_the_same_link_uses_the_end_of_the_outage() -> None:
    records = voice(("lan", "0 1 2 3 4 5", 0), ("lan", "11 12", 0))
    report = handover_report(records, HandoverWindow(0.105, 0.205, "lan", "lan"))
    assert report.last_old.seq == 5 and report.first_new.seq == 11  # type: ignore[union-attr]
    assert report.lost == 5 and report.disruption == pytest.approx(0.12)


def test_duplicates_respect_the_horizon() -> None:
    records = voice(("old", "0 1 2", 0), ("new", "8 9 9", 0), ("new", "20 20", 0))
    window = HandoverWindow(0.05, 0.15, "old", "new")
    assert handover_report(records, window).duplicates == 2
    assert handover_report(records, window, horizon=0.3).duplicates == 1


def test_handover_windows_from_station_records() -> None:
    done = HandoffRecord(Scenario.PREDICTIVE, "ap1", "ap2", "ap2", down=1.0, up=1.004)
    pending = HandoffRecord(Scenario.PREDICTIVE, "ap2", "ap1", "ap1")
    links = {"ap1": "bss1", "ap2": "bss2"}
    assert handover_windows([done, pending], links) == [
        HandoverWindow(1.0, 1.004, "bss1", "bss2")]


HA = IPv6Address("2001:db8:1::1")
COA = IPv6Address("2001:db8:2::10")
HOA = IPv6Address("2001:db8:1::10")


def test_message_types_and_signalling_load() -> None:
    bu = encode_packet(IPv6Packet(src=COA, dst=HA, payload=BindingUpdate(
        sequence=1, lifetime=100, home_registration=True, ack=True)))
    ba = encode_packet(IPv6Packet(src=HA, dst=COA, payload=BindingAcknowledgement(
        status=0, sequence=1, lifetime=100)))
    tunnelled_rs = encode_packet(encapsulate(
        IPv6Packet(src=HOA, dst=IPv6Address("ff02::2"), hop_limit=255,
                   payload=RouterSolicitation()), src=HA, dst=COA))
    echo = encode_packet(IPv6Packet(src=COA, dst=HA, payload=EchoRequest(
        identifier=1, sequence=1)))
    data = encode_packet(IPv6Packet(src=COA, dst=HA, payload=UDPDatagram(
        src_port=1, dst_port=2, data=b"x" * 100)))
    assert message_type(bu) == "binding_update"
    assert message_type(tunnelled_rs) == "router_solicitation"
    assert message_type(data) is None and message_type(b"\x60junk") is None
    records = [(0.0, "a", bu), (0.1, "b", bu), (0.2, "b", ba), (0.3, "a", tunnelled_rs),
               (0.4, "a", echo), (0.5, "a", data)]
    assert signalling_load(records) == {
        "binding_acknowledgement": SignallingCount(1, len(ba)),
        "binding_update": SignallingCount(2, 2 * len(bu)),
        "router_solicitation": SignallingCount(1, len(tunnelled_rs)),
    }
    assert signalling_load(records, links=["a"])["binding_update"] == SignallingCount(1, len(bu))
    assert "echo_request" in signalling_load(records, ignore=())


def test_summarize_handovers() -> None:
    records = voice(("old", "0 1 2 3 4", 0), ("new", "10 11 12", 0))
    done = handover_report(records, WINDOW)
    broken = handover_report(voice(("old", "0 1", 0)), WINDOW)
    summary = summarize_handovers([done, done, broken])
    assert (summary.handovers, summary.incomplete) == (3, 1)
    assert summary.disruption.count == 2 and summary.disruption.p50 == pytest.approx(0.12)
    assert summary.lost.maximum == 5 and summary.lost.minimum == 0


def test_uplink_disruption_is_the_longest_silence_at_the_receiver() -> None:
    """Sent every 20 ms, 10 ms path delay; outage 0.105 .. 0.205. The node goes on sending
    from its old address after the switch (seq 11-12 arrive), then falls silent while it
    registers (13-19 lost), and seq 20 on arrives: the disruption is that later silence."""
    records = voice(("x", "0 1 2 3 4 5 11 12 20 21 22", 0))
    report = uplink_handover_report(records, WINDOW, horizon=1.0)
    assert report.last_old is not None and report.first_new is not None
    assert (report.last_old.seq, report.first_new.seq) == (12, 20)
    assert report.disruption == pytest.approx(8 * 0.02)
    assert report.lost == 5 + 7  # 6-10 (radio away) and 13-19
    # The receiver's link plays no part; packets sent after the horizon do not count.
    relabelled = [Arrival(a.seq, a.sent, a.arrived, "cn") for a in records]
    again = uplink_handover_report(relabelled, WINDOW, horizon=1.0)
    assert (again.disruption, again.lost) == (report.disruption, report.lost)
    cut = uplink_handover_report(records, WINDOW, horizon=0.3)
    assert cut.first_new is not None and cut.first_new.seq == 11
    assert cut.disruption == pytest.approx(0.22 - 0.10)


def test_uplink_disruption_needs_packets_on_both_sides() -> None:
    assert uplink_handover_report(voice(("x", "11 12", 0)), WINDOW).disruption is None
    only_before = uplink_handover_report(voice(("x", "0 1 2", 0)), WINDOW)
    assert only_before.disruption is None and only_before.last_old is not None
