"""The mobile node takes an FBack (RFC 5568 §6.2.3) only from its PAR and only for an FBU it
sent (the same Sequence Number, §6.2.3), even when the FBack is correctly authenticated: a
valid BADF is not enough."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.fmipv6.security import sign_badf
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import FastBindingAcknowledgement, FastBindingUpdate
from mipshop.wire.mh_options import AlternateCareOfAddress
from tests.protocol.fmip_scenario import KEY, build, coa

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


@pytest.mark.parametrize(("case", "assigned"), [
    ("the NAR assigned another NCoA", IPv6Address("2001:db8:20::abcd")),
    ("the NCoA the node proposed", None),
])
def test_an_ncoa_assigned_in_an_fback_after_the_move_is_used(case, assigned):
    """RFC 5568 §4, §6.2.3: an FBack whose Alternate Care-of Address differs from the NCoA
    the node formed carries the address the NAR assigned, and the node MUST use it; when the
    FBack comes after the move, the node announces it (UNA, §6.3, repeated as for any
    arrival, docs/decisions.md D13) and takes it as its care-of address."""
    scn = build()
    # The PAR's own FBack is lost, and so is every packet for the assigned address: nothing
    # tells the node that the NAR has it, so the UNA goes as often as the node repeats it.
    scn.net.drop_if(lambda p, r: (isinstance(p.payload, FastBindingAcknowledgement)
                                  and r.time < 5.2) or (assigned is not None
                                                        and p.dst == assigned))
    scn.move("nar", at=4.0)
    scn.run(5.055)  # the reactive FBU left at 5.054 s from the NCoA; its FBack is dropped
    [fbu] = [p for r, p in scn.net.packets(FastBindingUpdate, sender="mn")]
    h = scn.fmip.handover
    assert h is not None and h.phase == "moved" and h.ncoa == coa("nar")
    options = () if assigned is None else (AlternateCareOfAddress(address=assigned),)
    fback = sign_badf(FastBindingAcknowledgement(
        status=0, sequence=fbu.payload.sequence, lifetime=8, options=options), KEY,
        care_of_address=assigned or coa("nar"), par_address=h.par)
    scn.net.inject(encode_packet(IPv6Packet(src=h.par, dst=fbu.src, payload=fback)),
                   "mn", "wlan0", at=5.06)
    scn.run(6.0)
    assert scn.net.events_of("fmip.fback", "mn")
    expected = assigned or coa("nar")
    assert scn.mn.care_of_address == expected
    unas = [e for e in scn.net.events_of("fmip.una_sent", "mn")
            if e.fields["ncoa"] == expected and e.time >= 5.06]
    if assigned is None:
        assert not unas  # nothing new to announce
    else:
        assert len(unas) == scn.fmip.config.una_transmissions
        assert scn.fmip.handover is not None and scn.fmip.handover.phase == "moved"
