"""Guards of the mobile node's fast handover client (RFC 5568 §4, §5.6, §6.3, §6.4.6) that the
scenarios reach but did not check: when the node reverse-tunnels through the PAR, how long it
keeps the PCoA, when its FBU and UNA retransmissions stop.

The reverse tunnel (§4: "the MN ... reverse tunnels packets to the PAR" until the home agent
has the NCoA) uses the PAR's binding: only after an FBack, only for the NCoA that binding
names, and only within the FBack's lifetime; outside, a packet from the PCoA through the PAR
would be refused there, or would keep using a PCoA the node no longer has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from mipshop.wire.mh import BindingUpdate, FastBindingAcknowledgement
from mipshop.wire.nd_options import NAACKStatus, NeighborAdvertisementAcknowledgment
from tests.protocol.fmip_scenario import APS, CN1, HOME_ADDRESS, build, coa
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")
SCAN, DECIDE, LEAVE, LINK_DOWN = 5.0, 5.5, 5.6, 0.1
ARRIVAL = LEAVE + LINK_DOWN
OTHER = IPv6Address("2001:db8:20::beef")


def _held_home_binding(*, fback: bool = True):
    """A predictive handover par -> nar whose home BUs are all lost after the move: the home
    agent keeps the PCoA, the handover stays ``moved`` (and, with ``fback`` False, every FBack
    is lost too)."""
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.net.drop_if(lambda p, r: (r.time > LEAVE and isinstance(p.payload, BindingUpdate))
                    or (not fback and isinstance(p.payload, FastBindingAcknowledgement)))
    return scn


def _uplink_at(scn, when: Callable[[object], float],
               before: Callable[[object, float], None] | None = None) -> float:
    """Run to just after the arrival, then send one packet from the home address at
    ``when(handover)``, 1 ms after ``before(scenario, time)``; return the time it was sent."""
    scn.run(ARRIVAL + 0.05)
    at = when(scn.fmip.handover)
    if before is not None:
        scn.net.at(at - 0.001, lambda now: before(scn, now))
    up = IPv6Packet(src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(
        src_port=1, dst_port=2, data=b"up"))
    scn.net.at(at, lambda now: scn.mn.send_packet(up, now))
    scn.run(at + 0.001)
    return at


def _naack_2(scn, now: float) -> None:
    """The NAR's RA with NAACK status 2 supplying OTHER (§6.4.6), to the NCoA."""
    router = scn.routers["nar"]
    ra = router.advertiser.advertisement()
    ra = replace(ra, options=(*ra.options, NeighborAdvertisementAcknowledgment(
        status=NAACKStatus.NCOA_INVALID_USE_SUPPLIED, new_care_of_address=OTHER)))
    scn.mn.receive(encode_packet(IPv6Packet(
        src=router.config.link_local, dst=NCOA, hop_limit=255, payload=ra)), "wlan0", now)


def _through_the_par(scn, at: float) -> bool:
    """Whether the packet sent at ``at`` went to the PAR (outer NCoA -> PAR, inner PCoA)."""
    sent = [p for r, p in scn.net.packets(UDPDatagram, sender="mn") if r.time >= at]
    assert sent, "the packet left the node"
    return any(p.dst == ar("par") for p in sent)


@pytest.mark.parametrize(("case", "fback", "when", "before", "expected"), [
    ("with the FBack, within its lifetime", True, lambda h: ARRIVAL + 0.1, None, True),
    ("just before the FBack lifetime ends", True, lambda h: h.tunnel_until - 0.01, None, True),
    ("when the FBack lifetime ends", True, lambda h: h.tunnel_until, None, False),
    ("after the FBack lifetime", True, lambda h: h.tunnel_until + 1.0, None, False),
    ("from a care-of address other than the NCoA", True, lambda h: ARRIVAL + 0.1,
     lambda scn, now: scn.mn.adopt_care_of_address(OTHER), False),
    ("without an FBack", False, lambda h: ARRIVAL + 0.06, None, False),
    # §6.4.6: NAACK 2 after the FBack: the FBack named the old NCoA; until the FBack of the
    # FBU from the supplied one comes, the PAR has no binding for it.
    ("after a NAACK 2, before the new FBack", True, lambda h: ARRIVAL + 0.1, _naack_2,
     False),
])
def test_the_reverse_tunnel_to_the_par_only_under_its_binding(case, fback, when, before,
                                                                expected):
    scn = _held_home_binding(fback=fback)
    at = _uplink_at(scn, when, before)
    h = scn.fmip.handover
    assert h is not None and h.phase == "moved"
    assert scn.mn.home.entry is not None and scn.mn.home.entry.bound_care_of_address == PCOA
    assert _through_the_par(scn, at) is expected


def test_before_any_handover_the_uplink_goes_to_the_home_agent():
    """No fast handover yet (the node is away, on the PAR's link): ordinary reverse
    tunnelling from the care-of address to the home agent (RFC 6275 §11.3.1)."""
    scn = build()
    up = IPv6Packet(src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(
        src_port=1, dst_port=2, data=b"up"))
    scn.net.at(4.0, lambda now: scn.mn.send_packet(up, now))
    scn.run(4.5)
    assert scn.fmip.handover is None
    [sent] = [p for _r, p in scn.net.packets(UDPDatagram, sender="mn")]
    assert (sent.src, sent.dst) == (PCOA, scn.mn.home_agent)
