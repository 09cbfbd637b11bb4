"""Guards of the PAR and NAR roles that the eleventh mutation run found unchecked
(docs/mutation.md, "Eleventh run"), one test each; each fails with its mutants active.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from mipshop.protocol.base.actions import Claim, Transmit
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import HandoverAckCode, HandoverAcknowledge
from tests.protocol.fmipv6.test_floods import NAR, NAR_PREFIX, PAR, PAR_PREFIX, on, router
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
