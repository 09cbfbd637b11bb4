"""What confirms the default router during Neighbor Unreachability Detection (RFC 4861 §7.3.3,
RFC 6275 §11.5.1): only a solicited Neighbor Advertisement for the probed router, with or
without a Target Link-Layer Address option (RFC 4861 §4.4: optional in a solicited unicast
answer). One table of advertisements handed to the movement detector while it probes."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.wire.icmpv6 import NeighborAdvertisement
from mipshop.wire.ipv6 import IPv6Packet
from mipshop.wire.nd_options import TargetLinkLayerAddress
from tests.protocol.mipv6.test_movement_detection import ROUTER, silent_move
from tests.protocol.scenario import build


def _probing():
    """A node whose default router has gone silent: it is probing that router."""
    scn = build()
    scn.move("visited1", at=1.0)
    silent_move(scn, "visited3", at=10.0)
    scn.net.connect("ar-visited3", "eth0", None)  # nobody answers on the new link
    scn.run(19.5)
    detector = scn.mn.movement
    assert detector.probing is not None and detector.probing[0] == ROUTER
    return scn, detector


def _na(*, solicited: bool, target: IPv6Address = ROUTER, mac: bytes | None = b"keep"):
    options = ()
    if mac is not None:
        options = (TargetLinkLayerAddress(address=mac),)
    return NeighborAdvertisement(router=True, solicited=solicited, override=True,
                                 target=target, options=options)


@pytest.mark.parametrize(("case", "solicited", "target", "with_mac", "confirmed"), [
    ("solicited, for the router, with its link-layer address", True, ROUTER, True, True),
    ("solicited, for the router, without the option", True, ROUTER, False, True),
    ("unsolicited, for the router", False, ROUTER, True, False),
    ("solicited, for another address", True, IPv6Address("fe80::2"), True, False),
])
def test_only_a_solicited_advertisement_for_the_router_confirms_it(case, solicited, target,
                                                                   with_mac, confirmed):
    scn, detector = _probing()
    mac = detector.router_mac if with_mac else None
    na = _na(solicited=solicited, target=target, mac=mac)
    packet = IPv6Packet(src=target, dst=scn.mn.link_local, hop_limit=255, payload=na)
    assert detector.neighbor_advertisement(packet, na) is confirmed
    assert (detector.probing is None) is confirmed


def test_an_advertisement_while_not_probing_is_not_consumed():
    scn = build()
    scn.move("visited1", at=1.0)
    scn.run(5)
    detector = scn.mn.movement
    assert detector.probing is None
    na = _na(solicited=True, mac=None)
    packet = IPv6Packet(src=ROUTER, dst=scn.mn.link_local, hop_limit=255, payload=na)
    assert detector.neighbor_advertisement(packet, na) is False
