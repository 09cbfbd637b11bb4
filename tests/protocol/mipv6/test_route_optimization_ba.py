"""The mobile node's checks on a correspondent's Binding Acknowledgement (RFC 6275 §11.7.3):
each BA here is authenticated with the node's own Kbm, so that only the check under test can
refuse it — the sequence number, the status 128 boundary, and status 135's resynchronisation.
"""

from __future__ import annotations

import pytest

from mipshop.protocol.mipv6.binding_update_list import BindingState
from mipshop.protocol.mipv6.signalling import sign_binding_authorization
from mipshop.wire.ext_headers import RoutingHeaderType2
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import BindingAcknowledgement, BindingAckStatus, BindingUpdate
from tests.protocol.mipv6.test_route_optimization import CN1, COA, optimised
from tests.protocol.scenario import HOME_ADDRESS

S = BindingAckStatus


def _waiting():
    """A node whose BU to cn1 is sent and whose BAs from cn1 never arrive."""
    scn = optimised(correspondents=("cn1",))
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingAcknowledgement)
                    and p.src == CN1)
    scn.run(6)
    entry = scn.mn.route_optimization.entries[CN1]
    assert entry.state is BindingState.WAITING_ACK
    return scn, entry


def _ba(scn, *, status: int, sequence: int) -> bytes:
    ba = BindingAcknowledgement(status=status, sequence=sequence, lifetime=200)
    ba = sign_binding_authorization(ba, scn.mn.route_optimization._kbm[CN1],
                                    care_of_address=COA, correspondent=CN1)
    return encode_packet(IPv6Packet(src=CN1, dst=COA, payload=ba, extension_headers=(
        RoutingHeaderType2(home_address=HOME_ADDRESS),)))


@pytest.mark.parametrize(("case", "status", "offset", "bound", "rejected"), [
    ("the answer", S.ACCEPTED, 0, True, False),
    ("another sequence number", S.ACCEPTED, 5, False, False),  # §11.7.3: ignored
    ("status 128", 128, 0, False, True),  # §6.1.8: 128 and above are refusals
    ("status 129", 129, 0, False, True),
])
def test_a_correspondents_ba_is_taken_by_sequence_and_status(case, status, offset, bound,
                                                             rejected):
    scn, entry = _waiting()
    scn.net.inject(_ba(scn, status=status, sequence=(entry.sequence + offset) & 0xFFFF),
                   "mn", "wlan0", at=6.01)
    scn.run(6.02)
    assert bool(scn.net.events_of("ro.bound", "mn")) is bound
    assert [e.fields["status"] for e in scn.net.events_of("ro.rejected", "mn")] == (
        [status] if rejected else [])
    if case == "another sequence number":
        assert scn.mn.counters["drop.ba_sequence_mismatch"] == 1
    if rejected:
        # The refused binding is remembered as failed (the node keeps the home agent's
        # tunnel for this care-of address, §5.2.9), not forgotten and tried again.
        assert scn.mn.route_optimization.entries[CN1].state is BindingState.FAILED


def test_status_135_makes_the_node_resend_above_the_correspondents_number():
    # §11.7.3: a BA with status 135 (authenticated) carries the last accepted sequence
    # number; the node sends its BU again with a number above it.
    scn, entry = _waiting()
    theirs = (entry.sequence + 1000) & 0xFFFF
    scn.net.inject(_ba(scn, status=S.SEQUENCE_NUMBER_OUT_OF_WINDOW, sequence=theirs),
                   "mn", "wlan0", at=6.01)
    scn.run(6.02)
    last = [p.payload for r, p in scn.net.packets(BindingUpdate, sender="mn")
            if p.dst == CN1 and r.time >= 6.01]
    assert [bu.sequence for bu in last] == [(theirs + 1) & 0xFFFF]
    assert not scn.net.events_of("ro.bound", "mn")
