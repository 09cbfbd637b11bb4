"""Guards of the PAR and NAR roles that the eleventh and twelfth mutation runs found
unchecked (docs/mutation.md, "Eleventh run", "Twelfth run"), one test each; each fails with
its mutants active.
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import Claim, Transmit
from mipshop.protocol.fmipv6.config import HandoverKey, RouterKey
from mipshop.protocol.fmipv6.nar import ARRIVALS_KEPT
from mipshop.protocol.fmipv6.security import RouterAuthenticator, sign_badf
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import (
    FastBindingAcknowledgement,
    FastBindingUpdate,
    HandoverAckCode,
    HandoverAcknowledge,
    HandoverInitiate,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
)
from tests.protocol.fmipv6.test_floods import (
    NAR,
    NAR_PREFIX,
    PAIR,
    PAR,
    PAR_PREFIX,
    mac,
    on,
    router,
)
from tests.protocol.fmipv6.test_guards import _actions, _hi_for, _par_answered, _una_from

_CORRESPONDENT = IPv6Address("2001:db8:100::10")
_NCOA = on(NAR_PREFIX, 0)  # the NCoA of _par_answered's FBU


def _data(hops: int) -> IPv6Packet:
    return IPv6Packet(src=_CORRESPONDENT, dst=on(PAR_PREFIX, 0), hop_limit=hops,
                      payload=UDPDatagram(src_port=1, dst_port=2, data=b"d"))


def test_par_forwards_to_the_ncoa_with_one_hop_less_and_drops_at_hop_limit_one():
    # RFC 5568 §4: the PAR tunnels the PCoA's packets to the NCoA; as a router forwarding
    # them it decrements the Hop Limit and discards a packet it would send with Hop Limit 0
    # (RFC 8200 §3, RFC 4443 §3.3): two PARs whose tunnels point at each other must not loop
    # a packet for ever.
    par, _ = _par_answered(0)
    sent = []
    for at, hops in ((2.0, 3), (2.1, 2), (2.2, 1)):
        sent += [a.packet for a in _actions(par, _data(hops), at) if isinstance(a, Transmit)]
    assert [(p.src, p.dst) for p in sent] == [(par.config.address, _NCOA)] * 2
    assert [p.payload.hop_limit for p in sent] == [2, 1]
    assert par.counters["drop.hop_limit"] == 1


def test_nar_refuses_an_ncoa_another_host_on_its_link_announced():
    # RFC 5568 §6.2.1.2: the NAR checks that the NCoA an HI proposes is not in use on its
    # link; an address a host announced with its own link-layer address (a UNA, kept as a
    # neighbour entry, RFC 4861 §7.2.6) is in use: HAck Code 1, nothing is proxied for it.
    # Accepting it would have the NAR claim a live host's address and take its traffic.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX)
    taken = on(NAR_PREFIX, 7)
    _actions(nar, _una_from(taken, 7), 1.0)  # host 7 announces the address
    actions = _actions(nar, _hi_for(6, ncoa=taken), 1.5)  # node 6 proposes it
    (hack,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
               and isinstance(a.packet.payload, HandoverAcknowledge)]
    assert hack.code == HandoverAckCode.ACCEPTED_NCOA_NOT_VALID
    assert not [a for a in actions if isinstance(a, Claim)]
    assert nar.fast_handover.nar.by_address(taken) is None


@pytest.mark.parametrize(("proposed_at", "code"), [
    (1.9, HandoverAckCode.ACCEPTED_NCOA_NOT_VALID),  # the entry is 0.9 s old: in use
    (2.1, HandoverAckCode.ACCEPTED_NCOA_VALID),  # 1.1 s old: expired, the address is free
])
def test_nar_neighbour_entries_from_unas_expire_after_neighbor_lifetime(proposed_at, code):
    # The neighbour entries a NAR makes from UNAs (STALE, RFC 4861 §7.2.6) last
    # ``neighbor_lifetime``: any host can send UNAs, so a host that announced an address
    # once, and left, must not keep it refused for ever (RFC 5568 §6.2.1.2: the NCoA is
    # checked against the addresses in use on the link now).
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, neighbor_lifetime=1.0)
    taken = on(NAR_PREFIX, 7)
    _actions(nar, _una_from(taken, 7), 1.0)  # host 7 announces the address
    actions = _actions(nar, _hi_for(6, ncoa=taken), proposed_at)  # node 6 proposes it
    (hack,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
               and isinstance(a.packet.payload, HandoverAcknowledge)]
    assert hack.code == code
    claims = [a.address for a in actions if isinstance(a, Claim)]
    assert claims == ([taken] if code == HandoverAckCode.ACCEPTED_NCOA_VALID else [])


def test_par_reaches_the_node_on_the_old_link_at_its_link_layer_address():
    # RFC 5568 §6.2.3: in predictive mode the PAR sends the FBack to the PCoA on the old
    # link too, and while the simultaneous bindings last it delivers a copy of the PCoA's
    # packets there: both at the link-layer address the FBU named (MH-LLA, §6.2.2), since
    # the PCoA is proxied by the PAR itself from the HAck on (an address lookup on the link
    # would find the PAR's own proxy entry, not the node).
    key = HandoverKey(spi=7, key=b"k" * 20, previous_care_of_address=on(PAR_PREFIX, 0))
    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX, handover_keys=(key,),
                 simultaneous_binding=2.0)
    pcoa, node = on(PAR_PREFIX, 0), mac(0)
    fbu = sign_badf(FastBindingUpdate(sequence=1, lifetime=40, ack=True,
                                      home_registration=True, options=(
                                          AlternateCareOfAddress(address=_NCOA),
                                          MHLinkLayerAddress(
                                              option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                              address=node))),
                    key, care_of_address=_NCOA, par_address=PAR)
    actions = _actions(par, IPv6Packet(src=pcoa, dst=PAR, payload=fbu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=pcoa),)),)), 1.0)
    (hi,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
             and isinstance(a.packet.payload, HandoverInitiate)]
    hack = RouterAuthenticator((RouterKey(peer=PAR, security_association=PAIR),)).sign(
        HandoverAcknowledge(sequence=hi.sequence, code=0), source=NAR, destination=PAR,
        now=1.1)
    answered = [a for a in _actions(par, IPv6Packet(src=NAR, dst=PAR, payload=hack), 1.1)
                if isinstance(a, Transmit)]
    assert [(a.packet.dst, a.link_destination) for a in answered
            if isinstance(a.packet.payload, FastBindingAcknowledgement)] == [
        (pcoa, node), (_NCOA, None)]
    forwarded = [a for a in _actions(par, _data(5), 1.2) if isinstance(a, Transmit)]
    assert [(a.packet.dst, a.link_destination) for a in forwarded] == [
        (_NCOA, None), (pcoa, node)]  # the tunnel to the NCoA, the copy on the old link


def test_nar_keeps_a_renewed_arrival_as_the_newest():
    # A node's UNA noted again (the earlier arrival older than ``proxy_lifetime``) is the
    # newest arrival: when the table is full (ARRIVALS_KEPT) the oldest other arrival is
    # forgotten, not it, and an HI for it that comes late (module docstring of .nar; RFC 5568
    # §6.2.1.2) is still answered as one: Code 0, nothing prepared or proxied.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, proxy_lifetime=1.0)
    node = on(NAR_PREFIX, 1)
    _actions(nar, _una_from(node, 1), 1.0)
    for i in range(ARRIVALS_KEPT - 1):  # the table is full
        _actions(nar, _una_from(on(NAR_PREFIX, 1000 + i), 1000 + i), 1.05)
    _actions(nar, _una_from(node, 1), 2.1)  # announced again, 1.1 s later: a new arrival
    _actions(nar, _una_from(on(NAR_PREFIX, 2000), 2000), 2.2)  # one more: one is forgotten
    actions = _actions(nar, _hi_for(1, ncoa=node), 2.3)
    (hack,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
               and isinstance(a.packet.payload, HandoverAcknowledge)]
    assert hack.code == HandoverAckCode.ACCEPTED_NCOA_VALID
    assert not [a for a in actions if isinstance(a, Claim)]
    assert nar.counters["fmip.hi_late"] == 1


def test_par_takes_one_hack_per_hi():
    # RFC 5568 §6.2.1.1-§6.2.1.2: a HAck answers the outstanding HI of its sequence number;
    # once that HI is answered it is no longer awaited, so a second HAck for it (a duplicate,
    # or a replay with a fresh timestamp) changes nothing: no FBack again, no new tunnel.
    par, _ = _par_answered(0)
    assert par.table_sizes()["par_awaiting"] == 0
    (record,) = par.fast_handover.par.bindings.values()
    again = RouterAuthenticator((RouterKey(peer=PAR, security_association=PAIR),)).sign(
        HandoverAcknowledge(sequence=record.hi_sequence, code=0), source=NAR, destination=PAR,
        now=1.2)
    assert _actions(par, IPv6Packet(src=NAR, dst=PAR, payload=again), 1.2) == []
    assert par.counters["drop.fmip_hack_unexpected"] == 1


def test_par_forwards_what_the_nar_reverse_tunnels_for_a_pcoa_it_serves():
    # RFC 5568 §4 step 3, §6.2.1.2 HAck Code 3: the NAR serves the PCoA on its link and
    # reverse-tunnels the node's packets to the PAR, outer source the NAR's address; the PAR
    # has a binding through that NAR, so it forwards them (one hop less), as it forwards
    # those the node tunnels from its NCoA. Another outer source is refused (§4: "a secure
    # binding" must exist).
    par, _ = _par_answered(3)
    pcoa = on(PAR_PREFIX, 0)
    inner = IPv6Packet(src=pcoa, dst=_CORRESPONDENT, hop_limit=9,
                       payload=UDPDatagram(src_port=1, dst_port=2, data=b"up"))
    sent = []
    for outer_source in (NAR, on(NAR_PREFIX, 77)):
        outer = IPv6Packet(src=outer_source, dst=PAR, payload=inner)
        sent += [a.packet for a in _actions(par, outer, 1.2) if isinstance(a, Transmit)]
    assert [(p.src, p.dst, p.hop_limit) for p in sent] == [(pcoa, _CORRESPONDENT, 8)]
    assert par.counters["drop.fmip_reverse_unbound"] == 1
