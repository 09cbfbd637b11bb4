"""The PAR's unsolicited HAck Code 4 guard (RFC 5568 §6.2.1.2, §10) and the NAR's expiry of a
handover prepared without a buffer, where the mutation run found them unchecked
(docs/mutation.md).

A HAck Code 4 asks the PAR for an HI Code 1 for a node it forwards: it is obeyed only when it
comes from the NAR the PCoA is forwarded to and names the node's link-layer address, even if
another router authenticates it with its own pair key.
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.fmipv6.config import RouterKey
from mipshop.protocol.fmipv6.security import RouterAuthenticator
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import HandoverAcknowledge, HandoverInitiate
from mipshop.wire.mh_options import (
    IPv6AddressPrefixCode,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
)
from tests.protocol.fmip_scenario import MAC, build, coa
from tests.protocol.fmip_scenario import router_address as ar
from tests.protocol.fmipv6.test_floods import (
    NAR,
    NAR_PREFIX,
    PAIR,
    PAR,
    PAR_PREFIX,
    feed,
    mac,
    on,
    router,
)
from tests.protocol.fmipv6.test_hack_codes import predictive

PCOA, NCOA = coa("par"), coa("nar")


def _hack_code_4(scn, sender: str, mac: bytes, at: float, *, pcoa: bool = True) -> bytes:
    options = (
        IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS,
                                prefix_length=128, address=PCOA),
        IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                prefix_length=128, address=NCOA),
        MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE, address=mac))
    hack = HandoverAcknowledge(sequence=77, code=4, options=options if pcoa else options[1:])
    signed = scn.routers[sender].fast_handover.router_auth.sign(
        hack, source=ar(sender), destination=ar("par"), now=at)
    return encode_packet(IPv6Packet(src=ar(sender), dst=ar("par"), payload=signed))


def _his(scn):
    return [p.payload.code for _r, p in scn.net.packets(HandoverInitiate, sender="par")]


def test_a_hack_code_4_from_another_router_or_for_another_node_is_dropped():
    scn = build()
    predictive(scn)  # the node moves to the NAR, the PAR forwards its PCoA there
    scn.run(7.0)
    assert _his(scn) == [0]
    par = scn.routers["par"]
    before = par.counters["drop.fmip_hack_unsolicited"]
    # Authenticated, but from ar3 (not the NAR the PCoA is forwarded to) ...
    scn.net.inject(_hack_code_4(scn, "ar3", MAC, 7.0), "par", "eth0", at=7.0)
    # ... and from the NAR but naming another node's link-layer address.
    scn.net.inject(_hack_code_4(scn, "nar", b"\x02\x00\x00\x00\x00\x99", 7.1), "par", "eth0",
                   at=7.1)
    scn.run(7.5)
    assert par.counters["drop.fmip_hack_unsolicited"] == before + 2
    assert _his(scn) == [0]
    # One without the PCoA option names no forwarded node either.
    no_pcoa = _hack_code_4(scn, "nar", MAC, 7.55, pcoa=False)
    scn.net.inject(no_pcoa, "par", "eth0", at=7.55)
    scn.run(7.58)
    assert par.counters["drop.fmip_hack_unsolicited"] == before + 3
    # The genuine one is answered with an HI Code 1.
    scn.net.inject(_hack_code_4(scn, "nar", MAC, 7.6), "par", "eth0", at=7.6)
    scn.run(8.0)
    assert _his(scn) == [0, 1]


def test_a_prepared_handover_without_a_buffer_expires_quietly():
    # An HI without the B flag (RFC 5568 §6.2.1.1: no buffering asked) whose node never comes:
    # the proxy entry ends after proxy_lifetime like a buffered one, with nothing to discard.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, proxy_lifetime=2.0)
    signer = RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),))
    hi = HandoverInitiate(sequence=1, code=0, buffer=False, options=(
        IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                prefix_length=128, address=on(NAR_PREFIX, 1)),
        MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE, address=mac(1))))
    packet = IPv6Packet(src=PAR, dst=NAR, payload=signer.sign(hi, source=PAR, destination=NAR,
                                                              now=1.0))
    sent, _ = feed(nar, [packet])
    assert [p.payload.code for p in sent if isinstance(p.payload, HandoverAcknowledge)] == [0]
    assert nar.table_sizes()["nar_handovers"] == 1
    nar.handle_timer(4.0)
    expired = [a for a in nar.pull_actions() if getattr(a, "kind", None) == "fmip.proxy_expired"]
    assert [e.fields["discarded"] for e in expired] == [0]
    assert nar.table_sizes()["nar_handovers"] == 0


def test_the_served_pcoas_stay_within_their_bound():
    # NAACK status 3 then an HI naming the NAR's own address: the NAR serves the node's PCoA
    # (RFC 5568 §6.4.6). More nodes than SERVED_KEPT: the oldest services end (counted), and
    # nothing of them is left behind.
    from mipshop.protocol.fmipv6.nar import SERVED_KEPT
    from mipshop.wire.icmpv6 import NeighborAdvertisement
    from mipshop.wire.nd_options import TargetLinkLayerAddress

    n = SERVED_KEPT + 40
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, naack_use_router_address=True)
    signer = RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),))

    def arrivals():
        for i in range(n):
            pcoa = on(PAR_PREFIX, i)
            yield IPv6Packet(src=pcoa, dst=IPv6Address("ff02::1"), hop_limit=255,
                             payload=NeighborAdvertisement(target=pcoa, options=(
                                 TargetLinkLayerAddress(address=mac(i)),)))
            hi = HandoverInitiate(sequence=i, code=1, buffer=False, options=(
                IPv6AddressPrefixOption(
                    option_code=IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS,
                    prefix_length=128, address=pcoa),
                IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                        prefix_length=128, address=NAR),
                MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                   address=mac(i))))
            yield IPv6Packet(src=PAR, dst=NAR, payload=signer.sign(
                hi, source=PAR, destination=NAR, now=1.0 + i * 0.002 + 0.001))

    feed(nar, arrivals())
    sizes = nar.table_sizes()
    assert sizes["nar_served"] == sizes["nar_served_by_lla"] == SERVED_KEPT
    assert nar.counters["fmip.pcoa_service_evicted"] == n - SERVED_KEPT
    role = nar.fast_handover.nar
    assert on(PAR_PREFIX, 0) not in role.served and on(PAR_PREFIX, n - 1) in role.served
    assert role.neighbors.get(on(PAR_PREFIX, 0)) is None  # the evicted one's entry went too


@pytest.mark.parametrize("code", [5, 127, 131, 255])
def test_a_hack_with_a_code_rfc_5568_does_not_define_refuses_the_handover(code: int):
    # RFC 5568 §6.2.1.2 defines Codes 0-4 and 128-130: any other answers the HI with nothing
    # the PAR can act on, so the FBU is refused (FBack 128, no tunnel, the HI not resent)
    # rather than left unanswered. The undefined code comes ahead of the NAR's own answer
    # (which then matches no HI).
    scn = build()
    predictive(scn)
    par = scn.routers["par"]
    t = 5.0
    while not (his := list(scn.net.packets(HandoverInitiate, sender="par"))):
        t += 0.0005
        scn.run(t)
    [(record, hi)] = his
    hack = HandoverAcknowledge(sequence=hi.payload.sequence, code=code)
    signed = scn.routers["nar"].fast_handover.router_auth.sign(
        hack, source=ar("nar"), destination=ar("par"), now=t)
    scn.net.inject(encode_packet(IPv6Packet(src=ar("nar"), dst=ar("par"), payload=signed)),
                   "par", "eth0", at=t)
    scn.run(10)
    assert [e.fields["code"] for e in scn.net.events_of("fmip.hack", "par")] == [code]
    assert [e.fields["status"] for e in scn.net.events_of("fmip.fback_sent", "par")] == [128]
    assert [e.fields["status"] for e in scn.net.events_of("fmip.fback", "mn")][:1] == [128]
    assert not scn.net.events_of("fmip.tunnel_up", "par")
    assert _his(scn) == [0]  # not resent
    assert par.fast_handover.par.binding(PCOA) is None
    assert record.time <= t
