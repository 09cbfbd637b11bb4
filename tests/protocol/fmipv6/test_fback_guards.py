"""The mobile node takes an FBack (RFC 5568 §6.2.3) only from its PAR and only for an FBU it
sent (the same Sequence Number, §6.2.3), even when the FBack is correctly authenticated: a
valid BADF is not enough."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.fmipv6.security import sign_badf
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import FastBindingAcknowledgement, FastBindingUpdate
from tests.protocol.fmip_scenario import KEY, build

STRANGER = IPv6Address("2001:db8:66::1")


@pytest.mark.parametrize(("case", "from_par", "offset", "taken"), [
    ("from the PAR, for the FBU", True, 0, True),
    ("from the PAR, another sequence number", True, 7, False),
    ("from another node, for the FBU", False, 0, False),
])
def test_an_fback_is_taken_only_from_the_par_for_an_fbu_sent(case, from_par, offset, taken):
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingAcknowledgement)
                    and p.src != STRANGER and r.time < 5.2)
    scn.move("nar", at=4.0)
    scn.run(5.055)  # the reactive FBU left at 5.054 s from the NCoA; its FBack is dropped
    [fbu] = [p for r, p in scn.net.packets(FastBindingUpdate, sender="mn")]
    h = scn.fmip.handover
    assert h is not None and fbu.payload.sequence in h.sequences
    fback = sign_badf(FastBindingAcknowledgement(
        status=0, sequence=(fbu.payload.sequence + offset) & 0xFFFF, lifetime=8), KEY,
        care_of_address=fbu.src, par_address=h.par)
    packet = IPv6Packet(src=h.par if from_par else STRANGER, dst=fbu.src, payload=fback)
    scn.net.inject(encode_packet(packet), "mn", "wlan0", at=5.06)
    scn.run(5.07)
    assert bool(scn.net.events_of("fmip.fback", "mn")) is taken
    if not taken:
        assert scn.mn.counters["drop.fmip_fback_unexpected"] == 1
