"""The mobile node's checks on a Proxy Router Advertisement (RFC 5568 §6.1.2, with the RFC
4861 §6.1.2 validity rules it inherits): hop limit 255, a link-local source, and either the
answer to its RtSolPr (the same Identifier) or an unsolicited one (Identifier 0, Code 1 or 4).
Anything else teaches it no access point."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown
from mipshop.wire.icmpv6 import ProxyRouterAdvertisement
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import FastBindingUpdate
from mipshop.wire.nd_options import IPAddressPrefix, LinkLayerAddress
from tests.protocol.fmip_scenario import build, coa

AP = bytes.fromhex("020000000099")
ROUTER = IPv6Address("2001:db8:99::1")
LINK_LOCAL = IPv6Address("fe80::99")


def _prrtadv(*, code: int, identifier: int, src: IPv6Address = LINK_LOCAL,
             hop_limit: int = 255) -> bytes:
    message = ProxyRouterAdvertisement(code=code, identifier=identifier, options=(
        LinkLayerAddress(option_code=1, address=AP),
        LinkLayerAddress(option_code=3, address=bytes.fromhex("00005e000199")),
        IPAddressPrefix(option_code=3, address=ROUTER)))
    return encode_packet(IPv6Packet(src=src, dst=coa("par"), hop_limit=hop_limit,
                                    payload=message))


@pytest.mark.parametrize(("case", "code", "solicited", "src", "hop_limit", "learnt"), [
    ("the answer to the RtSolPr", 0, True, LINK_LOCAL, 255, True),
    ("unsolicited, Code 4", 4, False, LINK_LOCAL, 255, True),
    ("unsolicited, Code 0", 0, False, LINK_LOCAL, 255, False),
    ("unsolicited, Code 2", 2, False, LINK_LOCAL, 255, False),
    ("the answer, hop limit 254", 0, True, LINK_LOCAL, 254, False),
    ("the answer, from a global address", 0, True, IPv6Address("2001:db8:10::1"), 255, False),
])
def test_a_prrtadv_teaches_an_access_point_only_when_valid(case, code, solicited, src,
                                                           hop_limit, learnt):
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, ProxyRouterAdvertisement)
                    and p.src != LINK_LOCAL and p.src != IPv6Address("2001:db8:10::1"))
    scn.run(3.0)
    identifier = 0
    if solicited:
        assert scn.fmip.solicit()
        identifier = scn.fmip._rtsolpr[0]
    scn.net.inject(_prrtadv(code=code, identifier=identifier, src=src, hop_limit=hop_limit),
                   "mn", "wlan0", at=3.01)
    scn.run(3.02)
    assert (AP in scn.fmip.access_points) is learnt
    assert scn.mn.counters["drop.fmip_prrtadv_unexpected"] == (0 if learnt else 1)


OTHER_AP = bytes.fromhex("020000000098")


@pytest.mark.parametrize(("case", "unsupported_ap", "stopped"), [
    ("option-code 7 for the AP it is moving to", AP, True),
    ("option-code 7 for another AP only", OTHER_AP, False),
])
def test_a_code_3_prrtadv_naming_the_target_without_fmipv6_stops_the_handover(
        case, unsupported_ap, stopped):
    """RFC 5568 §6.1.2: a PrRtAdv with Code 3 reports on a subset of the APs asked about, one
    outcome each; option-code 7 says that AP's router does not support fast handover, and the
    MN MUST stop fast handover protocol operations: for the AP it was about to move to, no
    FBU goes; an unsupported AP it is not moving to stops nothing."""
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, ProxyRouterAdvertisement)
                    and p.src != LINK_LOCAL)
    scn.run(3.0)
    scn.trigger(LinkGoingDown(target_ap=AP), at=3.0)  # unknown AP: the node asks the PAR
    scn.run(3.005)
    assert scn.fmip._pending_target == AP and scn.fmip._rtsolpr is not None
    options = [LinkLayerAddress(option_code=7, address=unsupported_ap)]
    if unsupported_ap != AP:
        options = [LinkLayerAddress(option_code=1, address=AP),
                   LinkLayerAddress(option_code=3, address=bytes.fromhex("00005e000199")),
                   IPAddressPrefix(option_code=3, address=ROUTER), *options]
    message = ProxyRouterAdvertisement(code=3, identifier=scn.fmip._rtsolpr[0],
                                       options=tuple(options))
    scn.net.inject(encode_packet(IPv6Packet(src=LINK_LOCAL, dst=coa("par"), hop_limit=255,
                                            payload=message)), "mn", "wlan0", at=3.01)
    scn.run(3.5)
    fbus = list(scn.net.packets(FastBindingUpdate, sender="mn"))
    assert (scn.fmip.stopped == "nar_without_fmip") is stopped
    reasons = [e.fields["reason"] for e in scn.net.events_of("fmip.stopped", "mn")]
    assert ("nar_without_fmip" in reasons) is stopped
    # Without the stop the FBU goes (to a router the PAR does not know: refused, 128).
    assert bool(fbus) is not stopped
