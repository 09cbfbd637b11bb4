"""The NAR's handover buffer shared by flows (RFC 5568 §5.4; docs/decisions.md D28): the flow
key, longest-queue drop against tail drop, per-flow drop counts, the bounds."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mipshop.protocol.fmipv6.buffer import (
    FLOWS_REPORTED,
    BufferBudget,
    FlowKey,
    HandoverBuffer,
    flow_of,
)
from mipshop.wire.icmpv6 import EchoRequest
from mipshop.wire.ipv6 import IPv6Packet, RawPayload, UDPDatagram, encapsulate
from mipshop.wire.mh import BindingRefreshRequest

CN = IPv6Address("2001:db8:100::10")
HOME = IPv6Address("2001:db8:1::100")
PAR = IPv6Address("2001:db8:10::1")
NAR = IPv6Address("2001:db8:20::1")
NCOA = IPv6Address("2001:db8:20::ff:fe00:1")


def voice(seq: int) -> IPv6Packet:
    """A voice datagram CN -> home address, tunnelled PAR -> NCoA as the NAR receives it."""
    inner = IPv6Packet(src=CN, dst=HOME, payload=UDPDatagram(
        src_port=5004, dst_port=5004, data=seq.to_bytes(4, "big")))
    return encapsulate(inner, src=PAR, dst=NCOA)


def bulk(seq: int, port: int = 443) -> IPv6Packet:
    """A TCP segment CN -> home address (ports in its first four octets), tunnelled."""
    tcp = port.to_bytes(2, "big") + (50000).to_bytes(2, "big") + seq.to_bytes(4, "big")
    inner = IPv6Packet(src=CN, dst=HOME, payload=RawPayload(protocol=6, data=tcp + bytes(12)))
    return encapsulate(inner, src=PAR, dst=NCOA)


def _nested(packet: IPv6Packet, tunnels: int) -> IPv6Packet:
    """``packet`` inside ``tunnels`` more tunnels PAR -> NCoA."""
    for _ in range(tunnels):
        packet = encapsulate(packet, src=PAR, dst=NCOA)
    return packet


VOICE = FlowKey(CN, HOME, 17, 5004, 5004)
BULK = FlowKey(CN, HOME, 6, 443, 50000)


@pytest.mark.parametrize(("packet", "expected"), [
    (voice(1), VOICE),
    (bulk(1), BULK),
    # Two tunnels (PAR -> NAR around MAP -> NCoA): the innermost packet is the flow.
    (encapsulate(voice(1), src=NAR, dst=NCOA), VOICE),
    (IPv6Packet(src=CN, dst=HOME, payload=RawPayload(protocol=50, data=bytes(8))),
     FlowKey(CN, HOME, 50, 0, 0)),  # ESP: no ports
    (IPv6Packet(src=CN, dst=HOME, payload=RawPayload(protocol=6, data=b"\x01\x02")),
     FlowKey(CN, HOME, 6, 0, 0)),  # a truncated TCP header: no ports read
    (IPv6Packet(src=CN, dst=HOME, payload=EchoRequest(identifier=1, sequence=1)),
     FlowKey(CN, HOME, 58, 0, 0)),
    (IPv6Packet(src=CN, dst=HOME, payload=BindingRefreshRequest()),
     FlowKey(CN, HOME, 135, 0, 0)),
    (IPv6Packet(src=CN, dst=HOME, payload=None), FlowKey(CN, HOME, 59, 0, 0)),
    # Nested deeper than TUNNEL_DEPTH (5 tunnels): the flow is the fourth tunnel's, one
    # key for whatever it carries; crafted nesting costs the router no more than that.
    (_nested(voice(1), 4), FlowKey(PAR, NCOA, 41, 0, 0)),
])
def test_flow_of(packet: IPv6Packet, expected: FlowKey) -> None:
    assert flow_of(packet) == expected


def _voice_during_bulk(fair: bool, limit: int = 64) -> tuple[HandoverBuffer, list[int]]:
    """A bulk flow at 1 packet/ms that fills the buffer, a voice packet every 20 ms beside it
    for 400 ms; returns the buffer and the voice sequence numbers it queued."""
    buffer = HandoverBuffer(limit, fair=fair)
    for ms in range(400):
        if ms % 20 == 5:
            buffer.push(voice(ms // 20), ms / 1000)
        buffer.push(bulk(ms), ms / 1000)
    kept = [int.from_bytes(p.payload.payload.data, "big")
            for p in buffer.drain_burst() + [buffer.pop() for _ in range(len(buffer))]
            if flow_of(p) == VOICE]
    return buffer, kept


def test_a_bulk_flow_beside_voice_loses_its_own_packets_only() -> None:
    buffer, kept = _voice_during_bulk(fair=True)
    assert kept == list(range(20))  # every voice packet, in order
    assert buffer.drops == {BULK: 400 - (64 - 20)}
    assert buffer.overflow == buffer.drops[BULK]
    # The 17 voice packets that came once the buffer was full each took the room of the
    # oldest bulk packet (the first three came before).
    assert buffer.evicted == 17


def test_tail_drop_loses_voice_behind_the_bulk_flow() -> None:
    buffer, kept = _voice_during_bulk(fair=False)
    # The buffer fills with bulk after 64 ms; the voice packets after that are dropped.
    assert kept == [0, 1, 2]
    assert buffer.drops == {VOICE: 17, BULK: 400 - 61}
    assert buffer.evicted == 0


def test_longest_queue_drop_refuses_the_longest_flow_and_evicts_its_oldest() -> None:
    buffer = HandoverBuffer(4)
    for i in range(3):
        assert buffer.push(bulk(i), 0.0).accepted
    assert buffer.push(voice(0), 0.0).accepted
    # Full. Bulk (3 packets) is the longest: its arrival is refused.
    refused = buffer.push(bulk(3), 0.0)
    assert (refused.accepted, refused.dropped, refused.evicted) == (False, BULK, False)
    # Voice (1 packet) arrives: bulk's oldest packet (0) goes.
    made_room = buffer.push(voice(1), 0.0)
    assert (made_room.accepted, made_room.dropped, made_room.evicted) == (True, BULK, True)
    assert (buffer.held(BULK), buffer.held(VOICE)) == (2, 2)
    # Equal shares: an arrival of either flow is now refused.
    assert not buffer.push(voice(2), 0.0).accepted
    assert not buffer.push(bulk(4), 0.0).accepted
    order = [(flow_of(p), p.payload.payload) for p in buffer.drain_burst()]
    assert [flow for flow, _payload in order] == [BULK, BULK, VOICE, VOICE]
    assert buffer.drops == {BULK: 3, VOICE: 1} and buffer.overflow == 4


def test_a_spent_budget_makes_room_inside_the_buffer_not_across_buffers() -> None:
    budget = BufferBudget(3)
    first, second = HandoverBuffer(10, budget=budget), HandoverBuffer(10, budget=budget)
    for i in range(3):
        first.push(bulk(i), 0.0)
    # The budget is spent: the second buffer has nothing to take room from.
    assert not second.push(voice(0), 0.0).accepted
    # The first buffer's voice packet takes the room of its own bulk flow.
    assert first.push(voice(0), 0.0).evicted
    assert budget.used == 3 == len(first)
    first.clear()
    assert budget.used == 0 and first.held(BULK) == 0


def test_drops_are_counted_for_a_bounded_number_of_flows() -> None:
    buffer = HandoverBuffer(0)
    for port in range(FLOWS_REPORTED + 10):
        buffer.push(bulk(0, port=port), 0.0)
    assert len(buffer.drops) == FLOWS_REPORTED + 1
    assert buffer.drops[None] == 10 and buffer.overflow == FLOWS_REPORTED + 10


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=8),
       st.lists(st.tuples(st.integers(min_value=0, max_value=3), st.booleans()), max_size=80))
def test_sharing_rule_and_bounds_hold_for_any_arrivals(
        limit: int, steps: list[tuple[int, bool]]) -> None:
    """Against a plain model: a full buffer drops an arrival only from a flow holding at least
    as much as any other, and otherwise the oldest packet of a longest flow; packets leave in
    arrival order; the bound and the budget hold."""
    budget = BufferBudget(limit)
    buffer = HandoverBuffer(limit, budget=budget)
    model: list[tuple[int, int]] = []  # (port, arrival number), in arrival order
    for number, (port, drain) in enumerate(steps):
        if drain:
            packet = buffer.pop()
            if model:
                assert packet is not None and flow_of(packet).src_port == model.pop(0)[0]
            else:
                assert packet is None
            continue
        held = {p: sum(1 for q, _n in model if q == p) for p in range(4)}
        longest = max(held.values())
        admission = buffer.push(bulk(number, port=port), float(number))
        if len(model) < limit:
            assert admission.accepted and admission.dropped is None
            model.append((port, number))
        elif held[port] >= longest or not model:
            assert not admission.accepted and admission.dropped == flow_of(bulk(0, port))
        else:
            victim = admission.dropped
            assert admission.evicted and victim is not None and held[victim.src_port] == longest
            model.remove(next(m for m in model if m[0] == victim.src_port))
            model.append((port, number))
        assert len(buffer) == len(model) == budget.used <= limit
        assert all(buffer.held(flow_of(bulk(0, p))) == sum(1 for q, _n in model if q == p)
                   for p in range(4))


def test_a_short_flow_drained_away_leaves_the_longest_flow_longest() -> None:
    """The count of the longest flow survives another flow's last packet leaving: the next
    arrival of a short flow into the full buffer still takes the longest flow's room."""
    buffer = HandoverBuffer(4)
    assert buffer.push(voice(0), 0.0).accepted
    for i in range(3):
        assert buffer.push(bulk(i), 0.01 * (i + 1)).accepted
    first = buffer.pop()  # the voice packet, the oldest: its flow now holds nothing
    assert first is not None and flow_of(first) == VOICE
    assert buffer.push(voice(1), 0.05).accepted  # room: 3 of 4
    made_room = buffer.push(voice(2), 0.06)  # full: bulk (3) is longer than voice (1)
    assert (made_room.accepted, made_room.dropped) == (True, BULK)
    assert (buffer.held(BULK), buffer.held(VOICE)) == (2, 2)


def test_a_cleared_buffer_shares_as_a_new_one() -> None:
    """After :meth:`HandoverBuffer.clear` (the NAR discarding what an expired or released
    preparation held) the buffer is as new: bound, budget and sharing rule hold for whatever
    arrives next."""
    budget = BufferBudget(4)
    buffer = HandoverBuffer(4, budget=budget)
    for i in range(4):
        buffer.push(bulk(i), 0.0)
    assert buffer.clear() == 4 and budget.used == 0 and len(buffer) == 0
    for i in range(4):
        assert buffer.push(bulk(10 + i), 0.0).accepted
    assert not buffer.push(bulk(20), 0.0).accepted  # bulk is the longest flow
    made_room = buffer.push(voice(0), 0.0)
    assert (made_room.accepted, made_room.dropped) == (True, BULK)
    assert len(buffer) == budget.used == 4


@pytest.mark.parametrize(("limit", "burst", "gap_weight", "valid"), [
    (0, 1, 1.0, True),
    (10, 5, 0.25, True),
    (-1, 5, 0.25, False),
    (10, 0, 0.25, False),
    (-1, 0, 0.25, False),
    (10, 5, 0.0, False),
    (10, 5, 1.5, False),
    (-1, 5, 0.0, False),
    (10, 0, 0.0, False),
])
def test_a_buffer_refuses_bounds_it_cannot_keep(limit, burst, gap_weight, valid) -> None:
    """§5.4 "MUST be bounded": no negative bound, a burst of at least one packet, and a
    moving-average weight in (0, 1]."""
    if valid:
        buffer = HandoverBuffer(limit, burst=burst, gap_weight=gap_weight)
        assert (buffer.limit, buffer.burst, buffer.gap_weight) == (limit, burst, gap_weight)
    else:
        with pytest.raises(ValueError, match="limit >= 0, burst >= 1"):
            HandoverBuffer(limit, burst=burst, gap_weight=gap_weight)
