"""Guards of RFC 5568 MUSTs that mutation testing found unchecked, one test each.

Each test fails when its guard is deleted (checked with mutmut, README "Mutation testing").
"""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.actions import Claim, Transmit
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.fmipv6.config import FastHandoverRouterConfig, HandoverKey, RouterKey
from mipshop.protocol.fmipv6.security import RouterAuthenticator, sign_badf
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.icmpv6 import NeighborAdvertisement, RouterAdvertisement
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import (
    FastBindingAcknowledgement,
    FastBindingUpdate,
    HandoverAcknowledge,
    HandoverInitiate,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    IPv6AddressPrefixCode,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
)
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
            options=(AlternateCareOfAddress(address=ncoa), MHLinkLayerAddress(
                option_code=MHLinkLayerAddressCode.MOBILE_NODE, address=mac(0))))
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
    # Forwarded onto the link: the hop limit goes down by one (RFC 8200 §3).
    assert sent.packet == replace(data, hop_limit=data.hop_limit - 1)
    assert sent.link_destination == mac(3)
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


def _fbu_packet(key, *, ncoa, badf=True, sequence=1):
    # With the node's MH-LLA, as mipshop's client sends it: the PAR has heard no RtSolPr here,
    # and without a link-layer address for the node it sends no HI (RFC 5568 §6.2.1.1).
    pcoa = on(PAR_PREFIX, 0)
    fbu = FastBindingUpdate(sequence=sequence, lifetime=40, ack=True, home_registration=True,
                            options=(AlternateCareOfAddress(address=ncoa), MHLinkLayerAddress(
                                option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                address=mac(0))))
    if badf:
        fbu = sign_badf(fbu, key, care_of_address=ncoa, par_address=PAR)
    return IPv6Packet(src=pcoa, dst=PAR, payload=fbu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=pcoa),)),))


KEY0 = HandoverKey(spi=7, key=b"k" * 20, previous_care_of_address=on(PAR_PREFIX, 0))


def test_par_refuses_an_fbu_without_badf_and_one_towards_a_router_without_fmipv6():
    from mipshop.protocol.fmipv6.config import NeighborRouter

    plain = NeighborRouter(access_points=(b"\x02\xbb\x00\x00\x00\x01",),
                           link_layer_address=b"\x00\x00\x5e\x00\x02\x09",
                           address=IPv6Address("2001:db8:30::1"),
                           prefix=IPv6Network("2001:db8:30::/64"), fast_handover=False)
    par = AccessRouter("par", random.Random(1), RouterConfig(address=PAR, prefix=PAR_PREFIX),
                       fast_handover=FastHandoverRouterConfig(
                           neighbors=(plain,), handover_keys=(KEY0,)))
    _actions(par, _fbu_packet(KEY0, ncoa=on(NAR_PREFIX, 0), badf=False), 1.0)
    assert par.counters["fmip.fbu_rejected.no_badf"] == 1
    actions = _actions(par, _fbu_packet(KEY0, ncoa=IPv6Address("2001:db8:30::5")), 2.0)
    assert not [a for a in actions if isinstance(a, Transmit)
                and isinstance(a.packet.payload, HandoverInitiate)]
    fbacks = [a.packet.payload for a in actions if isinstance(a, Transmit)
              and isinstance(a.packet.payload, FastBindingAcknowledgement)]
    assert fbacks and {f.status for f in fbacks} == {128}


def test_nar_refuses_an_ncoa_off_its_link_or_already_served_for_another_node():
    # RFC 5568 §4, §6.2.1.2: the NCoA must be valid on the link and unique (HAck Code 1).
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX)
    signer = RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),))
    off_link = replace(_hi(1, signer, 1.0), payload=signer.sign(HandoverInitiate(
        sequence=50, code=0, options=(
            IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                    prefix_length=128, address=IPv6Address("2001:db8:77::1")),
            MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                               address=mac(1)))), source=PAR, destination=NAR, now=1.0))
    codes = []
    for packet, at in ((off_link, 1.0), (_hi(2, signer, 1.1), 1.1)):
        codes += [a.packet.payload.code for a in _actions(nar, packet, at)
                  if isinstance(a, Transmit)]
    # Another node's HI naming the NCoA just prepared for node 2.
    other = signer.sign(HandoverInitiate(sequence=51, code=0, options=(
        IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                prefix_length=128, address=on(NAR_PREFIX, 2)),
        MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE, address=mac(9)))),
        source=PAR, destination=NAR, now=1.2)
    codes += [a.packet.payload.code for a in _actions(nar, IPv6Packet(
        src=PAR, dst=NAR, payload=other), 1.2) if isinstance(a, Transmit)]
    assert codes == [1, 0, 1]


def test_nar_takes_a_una_only_from_its_target_with_hop_limit_255():
    # RFC 5568 §6.3 / RFC 4861 §7.1.2: Hop Limit 255, and here Source = Target (the node
    # announces its own NCoA); anything else is not a UNA for the handover.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX)
    signer = RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),))
    _actions(nar, _hi(3, signer, 1.0), 1.0)
    # Nothing at all answers them: no NAACK either (an NA whose source is not its target
    # would otherwise be taken for another node's UNA, of this node's link-layer address).
    for packet in (replace(_una(3), hop_limit=64), replace(_una(3), src=on(NAR_PREFIX, 4))):
        actions = _actions(nar, packet, 1.1)
        assert Claim(address=on(NAR_PREFIX, 3), active=False) not in actions
        assert not [a for a in actions if isinstance(a, Transmit)]
    assert nar.fast_handover.nar.handovers  # still proxying: no UNA seen
    assert Claim(address=on(NAR_PREFIX, 3), active=False) in _actions(nar, _una(3), 1.2)


def test_nar_answers_a_retransmitted_hi_alike():
    # RFC 5568 §6.2.1.1: a retransmission carries the same sequence number; the NAR answers
    # it with the same HAck and prepares nothing twice.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, addresses_in_use=frozenset(
        {on(NAR_PREFIX, 6)}))
    signer = RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),))
    first = _actions(nar, _hi(6, signer, 1.0), 1.0)
    again = _actions(nar, _hi(6, signer, 1.1), 1.1)  # re-signed, same sequence
    codes = [a.packet.payload.code for a in first + again if isinstance(a, Transmit)]
    assert codes == [1, 1]


def _par_answered(code: int):
    """A PAR with KEY0's FBU (at 1.0 s) answered by the NAR's signed HAck of `code` (at 1.1 s):
    the PAR and the actions the HAck gave."""
    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX, handover_keys=(KEY0,))
    actions = _actions(par, _fbu_packet(KEY0, ncoa=on(NAR_PREFIX, 0)), 1.0)
    (hi,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
             and isinstance(a.packet.payload, HandoverInitiate)]
    signer = RouterAuthenticator((RouterKey(peer=PAR, security_association=PAIR),))
    hack = signer.sign(HandoverAcknowledge(sequence=hi.sequence, code=code), source=NAR,
                       destination=PAR, now=1.1)
    return par, _actions(par, IPv6Packet(src=NAR, dst=PAR, payload=hack), 1.1)


def test_par_refuses_the_handover_on_an_unknown_hack_code():
    # HAck codes of 128 and above refuse the handover (RFC 5568 §6.2.1.2), unknown ones too.
    par, actions = _par_answered(200)
    fbacks = [a.packet.payload for a in actions if isinstance(a, Transmit)
              and isinstance(a.packet.payload, FastBindingAcknowledgement)]
    assert fbacks and {f.status for f in fbacks} == {128}
    assert par.fast_handover.par.binding(on(PAR_PREFIX, 0)) is None


def test_par_forwards_reverse_tunnelled_packets_with_one_hop_less():
    from mipshop.wire.ipv6 import encapsulate

    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX, handover_keys=(KEY0,))
    actions = _actions(par, _fbu_packet(KEY0, ncoa=on(NAR_PREFIX, 0)), 1.0)
    (hi,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
             and isinstance(a.packet.payload, HandoverInitiate)]
    signer = RouterAuthenticator((RouterKey(peer=PAR, security_association=PAIR),))
    hack = signer.sign(HandoverAcknowledge(sequence=hi.sequence, code=0), source=NAR,
                       destination=PAR, now=1.1)
    _actions(par, IPv6Packet(src=NAR, dst=PAR, payload=hack), 1.1)
    sent = []
    for at, hops in ((2.0, 2), (2.1, 1)):
        inner = IPv6Packet(src=on(PAR_PREFIX, 0), dst=IPv6Address("2001:db8:100::10"),
                           hop_limit=hops, payload=UDPDatagram(src_port=1, dst_port=2, data=b"u"))
        sent += [a.packet for a in _actions(par, encapsulate(inner, src=on(NAR_PREFIX, 0),
                                                             dst=PAR), at)
                 if isinstance(a, Transmit) and isinstance(a.packet.payload, UDPDatagram)]
    assert [p.hop_limit for p in sent] == [1]
    assert par.counters["drop.hop_limit"] == 1


def _hi_for(i: int, *, ncoa: IPv6Address, pcoa: IPv6Address | None = None, code: int = 0,
            assigned: bool = False) -> IPv6Packet:
    """An HI from the PAR for node ``i`` naming ``ncoa`` (and ``pcoa``)."""
    signer = RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),))
    options = (() if pcoa is None else (IPv6AddressPrefixOption(
        option_code=IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS, prefix_length=128,
        address=pcoa),)) + (
        IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                prefix_length=128, address=ncoa),
        MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE, address=mac(i)))
    hi = HandoverInitiate(sequence=i, code=code, buffer=False, assigned_address=assigned,
                          options=options)
    return IPv6Packet(src=PAR, dst=NAR, payload=signer.sign(hi, source=PAR, destination=NAR,
                                                            now=1.0))


def _una_from(address: IPv6Address, i: int) -> IPv6Packet:
    return IPv6Packet(src=address, dst=IPv6Address("ff02::1"), hop_limit=255,
                      payload=NeighborAdvertisement(target=address, options=(
                          TargetLinkLayerAddress(address=mac(i)),)))


_TAKEN = on(NAR_PREFIX, 5)  # an NCoA some other host already uses
_POOL = on(NAR_PREFIX, 900)

#: (case, router options, packets before the UNA, the UNA's source, NAACK status expected)
NAACK_PATHS = [
    ("link-layer address not valid here (128)",
     {"unrecognized_link_layer_addresses": frozenset({mac(5)})}, [], on(NAR_PREFIX, 50), 128),
    ("no usable NCoA, configure another (1)",
     {"addresses_in_use": frozenset({_TAKEN})}, [], _TAKEN, 1),
    ("no usable NCoA, one from the pool (2)",
     {"addresses_in_use": frozenset({_TAKEN}), "address_pool": (_POOL,)}, [], _TAKEN, 2),
    ("no usable NCoA, use the router's address (3)",
     {"addresses_in_use": frozenset({_TAKEN}), "naack_use_router_address": True}, [],
     _TAKEN, 3),
    ("the NAR assigned another NCoA the node did not take (2)",
     {"addresses_in_use": frozenset({_TAKEN}), "address_pool": (_POOL,)},
     [_hi_for(5, ncoa=_TAKEN)], _TAKEN, 2),
    ("HAck Code 3: the PCoA is served, no FBU (4)",
     {"addresses_in_use": frozenset({_TAKEN}), "support_previous_care_of_address": True},
     [_hi_for(5, ncoa=_TAKEN, pcoa=on(PAR_PREFIX, 5))], on(PAR_PREFIX, 5), 4),
    ("the PCoA is served already, a repeated UNA from the NCoA (4)",
     {"addresses_in_use": frozenset({_TAKEN}), "naack_use_router_address": True},
     [_una_from(on(PAR_PREFIX, 5), 5), _hi_for(5, ncoa=NAR, pcoa=on(PAR_PREFIX, 5), code=1)],
     _TAKEN, 4),
]


@pytest.mark.parametrize(("router_options", "before", "source", "status"),
                         [case[1:] for case in NAACK_PATHS], ids=[c[0] for c in NAACK_PATHS])
def test_every_naack_goes_to_the_link_layer_address_of_the_una(router_options, before, source,
                                                                status):
    # RFC 5568 §6.4.6: the RA carrying the NAACK is sent to the UNA's source "using the
    # link-layer address" the UNA carried (the node has no neighbour entry a router may
    # resolve yet), whichever status the NAACK has.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, **router_options)
    for k, packet in enumerate(before):
        _actions(nar, packet, 1.0 + k * 0.01)
    actions = _actions(nar, _una_from(source, 5), 1.5)
    naacks = [(a, o) for a in actions if isinstance(a, Transmit)
              and isinstance(a.packet.payload, RouterAdvertisement)
              for o in a.packet.payload.options
              if isinstance(o, NeighborAdvertisementAcknowledgment)]
    assert [o.status for _a, o in naacks] == [status]
    (ra, _option), = naacks
    assert ra.packet.dst == source and ra.link_destination == mac(5)


#: (case, the FBUs in order as (sequence, NCoA host part), HIs each one starts)
FBU_SEQUENCES = [
    ("a replay of the same FBU", [(10, 1), (10, 1)], [1, 0]),
    ("an older FBU after a newer one", [(10, 1), (11, 2), (10, 1)], [1, 1, 0]),
    ("across the wrap-around", [(0xFFFF, 1), (0, 2), (0xFFFF, 1)], [1, 1, 0]),
    ("a newer FBU is served", [(10, 1), (11, 2), (12, 1)], [1, 1, 1]),
]


@pytest.mark.parametrize(("fbus", "his"), [c[1:] for c in FBU_SEQUENCES],
                         ids=[c[0] for c in FBU_SEQUENCES])
def test_par_refuses_an_fbu_whose_sequence_number_is_not_newer(fbus, his):
    # RFC 5568 §6.2.2 (an FBU is processed as a BU, RFC 6275 §9.5.1): a Sequence Number not
    # greater (modulo 2**16) than the last accepted one is refused. The BADF covers neither a
    # timestamp nor a nonce, so this check is what stops a captured FBU from being replayed to
    # point the PCoA's traffic back at an NCoA the node has left.
    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX, handover_keys=(KEY0,))
    started = []
    for k, (sequence, host) in enumerate(fbus):
        actions = _actions(par, _fbu_packet(KEY0, ncoa=on(NAR_PREFIX, host), sequence=sequence),
                           1.0 + k * 0.01)
        started.append(len([a for a in actions if isinstance(a, Transmit)
                            and isinstance(a.packet.payload, HandoverInitiate)]))
    assert started == his
    assert par.counters["fmip.fbu_rejected.sequence"] == his.count(0)


_PCOA5 = on(PAR_PREFIX, 5)
_TOLD = _una_from(_TAKEN, 5)  # an unusable NCoA: NAACK 3, "use NAR's address" (§6.4.6)

#: (case, UNA first?, the HI's PCoA option, when the HI comes, HAck code, PCoA served). The
#: HIs are Code 1: a refusal is 128, not Code 1 (§6.2.1.2: for an HI with Code 1, HAck codes
#: 1, 2 and 4 do not apply).
ROUTER_ADDRESS_HIS = [
    ("a node the NAR told, in time", True, _PCOA5, 2.0, 0, True),
    ("a node the NAR never told", False, _PCOA5, 2.0, 128, False),
    ("told, but the HI names no PCoA", True, None, 2.0, 128, False),
    ("told, the HI comes when the offer expires", True, _PCOA5, 1.5 + 4.0, 128, False),
]


@pytest.mark.parametrize(("told", "pcoa", "at", "code", "served"),
                         [c[1:] for c in ROUTER_ADDRESS_HIS],
                         ids=[c[0] for c in ROUTER_ADDRESS_HIS])
def test_nar_serves_a_pcoa_for_its_own_address_only_for_a_node_it_told_so(told, pcoa, at, code,
                                                                          served):
    # RFC 5568 §6.4.6 status 3: an FBU (so an HI) naming the NAR's own address as NCoA is
    # the answer of a node this NAR told to "use NAR's IP address as NCoA in FBU"; only then
    # does it serve (host route, proxy) the PCoA the HI names, and only within the time its
    # offer lasts (proxy_lifetime). Otherwise a PAR's HI could have it take over any address.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, naack_use_router_address=True,
                  addresses_in_use=frozenset({_TAKEN}), proxy_lifetime=4.0)
    if told:
        _actions(nar, _TOLD, 1.5)
    actions = _actions(nar, _hi_for(5, ncoa=NAR, pcoa=pcoa, code=1), at)
    (hack,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
               and isinstance(a.packet.payload, HandoverAcknowledge)]
    assert hack.code == code
    assert (_PCOA5 in nar.fast_handover.nar.served) is served


def test_par_stops_forwarding_when_the_fast_binding_expires():
    # RFC 5568 §6.2.2/§6.2.3: the PAR forwards the PCoA's packets for the lifetime of the
    # FBU (capped at max_tunnel_lifetime), granted in the FBack; then the tunnel ends. A
    # tunnel that outlived it would keep taking the address's traffic off its link.
    par, actions = _par_answered(0)
    # (The FBack goes to the PCoA and to the NCoA, §6.2.3: the same lifetime in each.)
    (granted,) = {a.packet.payload.lifetime for a in actions if isinstance(a, Transmit)
                  and isinstance(a.packet.payload, FastBindingAcknowledgement)}
    assert granted > 0

    def tunnelled(at: float) -> bool:
        deadline = par.next_deadline()
        while deadline is not None and deadline <= at:
            par.handle_timer(deadline)
            deadline = par.next_deadline()
        data = IPv6Packet(src=IPv6Address("2001:db8:100::10"), dst=on(PAR_PREFIX, 0),
                          payload=UDPDatagram(src_port=1, dst_port=2, data=b"d"))
        return any(isinstance(a, Transmit) and isinstance(a.packet.payload, IPv6Packet)
                   for a in _actions(par, data, at))

    assert [tunnelled(1.1 + granted - 0.5), tunnelled(1.1 + granted + 0.01)] == [True, False]
    assert par.fast_handover.par.binding(on(PAR_PREFIX, 0)) is None
