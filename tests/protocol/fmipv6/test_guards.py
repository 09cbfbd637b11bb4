"""Guards of RFC 5568 MUSTs that mutation testing found unchecked, one test each.

Each test fails when its guard is deleted (checked with mutmut, README "Mutation testing").
"""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv6Address

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.actions import Claim, Transmit
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.fmipv6.config import FastHandoverRouterConfig, HandoverKey, RouterKey
from mipshop.protocol.fmipv6.security import RouterAuthenticator, sign_badf
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.icmpv6 import NeighborAdvertisement, RouterAdvertisement
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import FastBindingUpdate, HandoverInitiate
from mipshop.wire.mh_options import AlternateCareOfAddress
from mipshop.wire.nd_options import NeighborAdvertisementAcknowledgment, TargetLinkLayerAddress
from tests.protocol.fmipv6.test_floods import (
    NAR,
    NAR_PREFIX,
    PAIR,
    PAR,
    PAR_PREFIX,
    _hi,
    mac,
    on,
    router,
)


def _actions(entity, packet, now):
    entity.receive(packet, "eth0", now)
    return entity.pull_actions()


def _una(i: int) -> IPv6Packet:
    return IPv6Packet(src=on(NAR_PREFIX, i), dst=IPv6Address("ff02::1"), hop_limit=255,
                      payload=NeighborAdvertisement(target=on(NAR_PREFIX, i), options=(
                          TargetLinkLayerAddress(address=mac(i)),)))


def test_par_refuses_an_fbu_without_the_a_and_h_flags():
    # RFC 5568 §6.2.2: "the 'A' and 'H' bits MUST be set" in an FBU.
    key = HandoverKey(spi=7, key=b"k" * 20, previous_care_of_address=on(PAR_PREFIX, 0))
    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX, handover_keys=(key,))
    pcoa, ncoa = on(PAR_PREFIX, 0), on(NAR_PREFIX, 0)
    for sequence, flags in enumerate(({"ack": False}, {"home_registration": False},
                                      {"ack": True, "home_registration": True}), start=1):
        fbu = FastBindingUpdate(sequence=sequence, lifetime=40, **{
            "ack": True, "home_registration": True, **flags},
            options=(AlternateCareOfAddress(address=ncoa),))
        fbu = sign_badf(fbu, key, care_of_address=ncoa, par_address=PAR)
        actions = _actions(par, IPv6Packet(src=pcoa, dst=PAR, payload=fbu, extension_headers=(
            DestinationOptions(options=(HomeAddressOption(home_address=pcoa),)),)),
            1.0 + sequence)
        his = [a for a in actions if isinstance(a, Transmit)
               and isinstance(a.packet.payload, HandoverInitiate)]
        assert len(his) == (1 if sequence == 3 else 0)
    assert par.counters["fmip.fbu_rejected.flags"] == 2


def test_naack_goes_to_the_link_layer_address_of_the_una():
    # RFC 5568 §6.4.6: the RA with the NAACK goes to the source of the UNA "using the
    # link-layer address" in the UNA (the node has no usable address for ND yet).
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX,
                 addresses_in_use=frozenset({on(NAR_PREFIX, 5)}))
    actions = _actions(nar, _una(5), 1.0)
    (ra,) = [a for a in actions if isinstance(a, Transmit)
             and isinstance(a.packet.payload, RouterAdvertisement)]
    assert any(isinstance(o, NeighborAdvertisementAcknowledgment)
               for o in ra.packet.payload.options)
    assert ra.packet.dst == on(NAR_PREFIX, 5) and ra.link_destination == mac(5)


def test_nar_stops_proxying_when_the_una_arrives():
    # RFC 5568 §4: once the node announces itself the NAR deletes its proxy entry and
    # forwards; packets arriving after the UNA are delivered, not buffered.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX)
    signer = RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),))
    ncoa = on(NAR_PREFIX, 3)
    actions = _actions(nar, _hi(3, signer, 1.0), 1.0)
    assert Claim(address=ncoa, proxy_interface="eth0") in actions
    actions = _actions(nar, _una(3), 1.1)
    assert Claim(address=ncoa, active=False) in actions
    data = IPv6Packet(src=IPv6Address("2001:db8:100::10"), dst=ncoa,
                      payload=UDPDatagram(src_port=1, dst_port=2, data=b"after"))
    actions = _actions(nar, data, 1.2)
    (sent,) = [a for a in actions if isinstance(a, Transmit)]
    assert sent.packet == data and sent.link_destination == mac(3)
    assert nar.fast_handover.nar.handovers == {}


def test_a_forged_hi_from_a_known_router_changes_nothing_at_a_map_anchored_nar():
    # The same authentication holds for a MAP anchor (RFC 4140 Appendix A): an HI that
    # claims the MAP's address without its key is refused.
    map_address = IPv6Address("2001:db8:a1::1")
    nar = AccessRouter("nar", random.Random(1), RouterConfig(address=NAR, prefix=NAR_PREFIX),
                       fast_handover=FastHandoverRouterConfig(anchors=(map_address,), router_keys=(
                           RouterKey(peer=PAR, security_association=PAIR),
                           RouterKey(peer=map_address,
                                     security_association=replace(PAIR, spi=5000)))))
    hi = replace(_hi(4, RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),)),
                     1.0), src=map_address)  # PAR's key, MAP's address
    actions = _actions(nar, hi, 1.0)
    assert not [a for a in actions if isinstance(a, (Claim, Transmit))]
    assert nar.counters["drop.fmip_hi.unauthenticated"] == 1
