"""Floods of 100,000 messages from distinct sources into the PAR and NAR roles: tables stay
bounded, refusals are counted, the per-message paths are table lookups (no scans)."""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.actions import Claim, Event, Transmit
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.entity import REFUSAL_EVENTS_PER_SECOND
from mipshop.protocol.fmipv6.config import (
    DEFAULT_BUFFERED_PACKETS_TOTAL,
    DEFAULT_MAX_HANDOVERS,
    DEFAULT_NEIGHBOR_ENTRIES,
    DEFAULT_RTSOLPR_ENTRIES,
    FastHandoverRouterConfig,
    HandoverKey,
    NeighborRouter,
    RouterKey,
)
from mipshop.protocol.fmipv6.nar import ARRIVALS_KEPT
from mipshop.protocol.fmipv6.par import ParState
from mipshop.protocol.fmipv6.security import RouterAuthenticator, sign_badf
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.icmpv6 import NeighborAdvertisement, RouterSolicitationForProxy
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
from mipshop.wire.nd_options import LinkLayerAddress, LLAOptionCode, TargetLinkLayerAddress

# Long-running (100,000 messages each): left out of the mutation run (README, "Mutation
# testing"), run by `make test`.
pytestmark = pytest.mark.slow

FLOOD = 100_000
PAR_PREFIX, NAR_PREFIX = IPv6Network("2001:db8:10::/64"), IPv6Network("2001:db8:20::/64")
PAR, NAR = IPv6Address("2001:db8:10::1"), IPv6Address("2001:db8:20::1")
PAIR = SecurityAssociation(spi=4242, key=bytes(range(20)))


def on(prefix: IPv6Network, i: int) -> IPv6Address:
    return IPv6Address(int(prefix.network_address) | (0x1_0000_0000 + i))


def mac(i: int) -> bytes:
    return b"\x02\x01" + i.to_bytes(4, "big")


def router(own: IPv6Address, prefix: IPv6Network, peer: IPv6Address,
           peer_prefix: IPv6Network, **fast) -> AccessRouter:
    neighbor = NeighborRouter(access_points=(b"\x02\xaa\x00\x00\x00\x01",),
                              link_layer_address=b"\x00\x00\x5e\x00\x02\x01", address=peer,
                              prefix=peer_prefix)
    entity = AccessRouter("r", random.Random(1), RouterConfig(address=own, prefix=prefix),
                          fast_handover=FastHandoverRouterConfig(
                              neighbors=(neighbor,),
                              router_keys=(RouterKey(peer=peer, security_association=PAIR),),
                              **fast))
    entity.start(0.0)
    entity.pull_actions()
    return entity


def feed(entity, packets, *, start: float = 1.0, step: float = 0.001):
    """Receive ``packets`` ``step`` apart (firing due timers); return the packets sent (not
    RAs) and the number of events other than RAs."""
    sent, events, now = [], 0, start
    for packet in packets:
        deadline = entity.next_deadline()
        if deadline is not None and deadline <= now:
            entity.handle_timer(now)
        entity.receive(packet, "eth0", now)
        for action in entity.pull_actions():
            if isinstance(action, Transmit) and action.packet.payload.__class__.__name__ != (
                    "RouterAdvertisement"):
                sent.append(action.packet)
            elif isinstance(action, Event) and action.kind != "router.advertisement":
                events += 1
        now += step
    return sent, events


def rtsolpr(i: int) -> IPv6Packet:
    return IPv6Packet(src=on(PAR_PREFIX, i), dst=PAR, hop_limit=255,
                      payload=RouterSolicitationForProxy(identifier=i & 0xFFFF, options=(
                          LinkLayerAddress(option_code=LLAOptionCode.SOURCE, address=mac(i)),)))


def test_rtsolpr_flood_leaves_the_link_layer_table_bounded():
    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX)
    feed(par, (rtsolpr(i) for i in range(FLOOD)))
    table = par.fast_handover.link_layer_addresses
    assert len(table) == DEFAULT_RTSOLPR_ENTRIES
    assert table.evicted == FLOOD - DEFAULT_RTSOLPR_ENTRIES
    assert table.get(on(PAR_PREFIX, FLOOD - 1)) == mac(FLOOD - 1)  # the newest are kept
    assert par.table_sizes()["rtsolpr_addresses"] == DEFAULT_RTSOLPR_ENTRIES


def _fbu(i: int, key: HandoverKey) -> IPv6Packet:
    pcoa, ncoa = on(PAR_PREFIX, i), on(NAR_PREFIX, i)
    fbu = FastBindingUpdate(sequence=1, lifetime=40, ack=True, home_registration=True,
                            options=(AlternateCareOfAddress(address=ncoa),
                                     MHLinkLayerAddress(
                                         option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                         address=mac(i))))
    fbu = sign_badf(fbu, key, care_of_address=ncoa, par_address=PAR)
    return IPv6Packet(src=pcoa, dst=PAR, payload=fbu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=pcoa),)),))


def test_forged_fbu_flood_with_many_keys_changes_nothing_and_is_counted():
    keys = tuple(HandoverKey(spi=10_000 + i, key=i.to_bytes(20, "big"),
                             previous_care_of_address=on(PAR_PREFIX, i)) for i in range(FLOOD))
    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX, handover_keys=keys)
    # Every FBU names a real SPI, but the wrong key (or another node's PCoA): refused.
    forged = _fbu(0, replace(keys[0], key=b"guessed"))
    stolen = _fbu(1, keys[1])  # mn1's key, signing for...
    stolen = replace(stolen, src=on(PAR_PREFIX, 2), extension_headers=(DestinationOptions(
        options=(HomeAddressOption(home_address=on(PAR_PREFIX, 2)),)),))  # ...mn2's PCoA
    packets = (replace(forged if i % 2 else stolen, src=on(PAR_PREFIX, 100 + i))
               if i % 2 else stolen for i in range(FLOOD))
    sent, events = feed(par, packets)
    role = par.fast_handover.par
    assert sent == [] and role.bindings == {} and role.sequences == {} and role.awaiting == {}
    counters = par.counters
    assert counters["fmip.fbu_rejected.key_not_for_pcoa"] == FLOOD // 2
    assert counters["fmip.fbu_rejected.bad_authenticator"] == FLOOD // 2
    assert events <= REFUSAL_EVENTS_PER_SECOND * (FLOOD * 0.001 + 1)


def test_unmatched_hack_flood_is_counted_and_changes_nothing():
    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX)
    signer = RouterAuthenticator((RouterKey(peer=PAR, security_association=PAIR),))
    hacks = (signer.sign(HandoverAcknowledge(sequence=i & 0xFFFF, code=0), source=NAR,
                         destination=PAR, now=1.0 + i * 0.001) for i in range(FLOOD))
    sent, _ = feed(par, (IPv6Packet(src=NAR, dst=PAR, payload=h) for h in hacks))
    assert sent == []
    assert par.counters["drop.fmip_hack_unexpected"] == FLOOD


def test_par_records_end_and_only_the_last_sequence_stays():
    keys = (HandoverKey(spi=7, key=b"k" * 20, previous_care_of_address=on(PAR_PREFIX, 0)),)
    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX, handover_keys=keys, hi_retries=0)
    fbu = _fbu(0, keys[0])
    feed(par, [fbu])
    role = par.fast_handover.par
    assert role.binding(on(PAR_PREFIX, 0)).state is ParState.AWAITING_HACK
    par.handle_timer(5.0)  # the HI is never answered
    par.pull_actions()
    assert role.bindings == {} and role.awaiting == {}
    assert role.sequences == {on(PAR_PREFIX, 0): 1}
    # The captured FBU replayed later starts nothing (RFC 5568 §6.2.2: sequence).
    sent, _ = feed(par, [fbu], start=6.0)
    assert sent == [] and role.bindings == {}
    assert par.counters["fmip.fbu_rejected.sequence"] == 1


def test_par_bounds_the_handovers_waiting_for_a_hack():
    n = 300
    keys = tuple(HandoverKey(spi=10 + i, key=i.to_bytes(20, "big"),
                             previous_care_of_address=on(PAR_PREFIX, i)) for i in range(n))
    par = router(PAR, PAR_PREFIX, NAR, NAR_PREFIX, handover_keys=keys,
                 max_pending_handovers=200)
    sent, _ = feed(par, (_fbu(i, keys[i]) for i in range(n)), step=0.0001)
    assert len(par.fast_handover.par.awaiting) == 200
    refused = [p for p in sent if isinstance(p.payload, FastBindingAcknowledgement)]
    assert {p.payload.status for p in refused} == {130}
    assert {p.dst for p in refused if p.dst in NAR_PREFIX} == {
        on(NAR_PREFIX, i) for i in range(200, n)}
    assert par.fast_handover.par.bindings.keys() == {on(PAR_PREFIX, i) for i in range(200)}


def _hi(i: int, signer: RouterAuthenticator, now: float) -> IPv6Packet:
    hi = HandoverInitiate(sequence=i & 0xFFFF, code=0, buffer=True, options=(
        IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                prefix_length=128, address=on(NAR_PREFIX, i)),
        MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE, address=mac(i))))
    return IPv6Packet(src=PAR, dst=NAR, payload=signer.sign(hi, source=PAR, destination=NAR,
                                                            now=now))


def test_hi_flood_prepares_at_most_max_handovers_and_buffers_at_most_the_total():
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, buffer_packets=64, proxy_lifetime=1000.0)
    signer = RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),))
    n = DEFAULT_MAX_HANDOVERS + 1000
    sent, _ = feed(nar, (_hi(i, signer, 1.0 + i * 0.0001) for i in range(n)), step=0.0001)
    role = nar.fast_handover.nar
    assert len(role.handovers) == DEFAULT_MAX_HANDOVERS == len(role.serving)
    codes = [p.payload.code for p in sent]
    assert codes.count(130) == 1000 and nar.counters["fmip.hi_refused.max_handovers"] == 1000
    # Traffic for every prepared NCoA: the buffers together stop at the router's total.
    data = (IPv6Packet(src=IPv6Address("2001:db8:100::10"), dst=on(NAR_PREFIX, i % 4096),
                       payload=UDPDatagram(src_port=1, dst_port=2, data=b"x"))
            for i in range(FLOOD))
    feed(nar, data, start=2.0, step=0.00001)
    assert role.budget.used == DEFAULT_BUFFERED_PACKETS_TOTAL
    assert nar.counters["fmip.buffer_overflow"] == FLOOD - DEFAULT_BUFFERED_PACKETS_TOTAL
    assert nar.table_sizes()["nar_buffered"] == DEFAULT_BUFFERED_PACKETS_TOTAL
    # When the proxies expire every buffered packet is discarded and the budget comes back.
    nar.handle_timer(2000.0)
    assert role.budget.used == 0 and role.handovers == {} and role.serving == {}


def test_una_flood_leaves_the_neighbour_table_bounded_and_expiring():
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX)
    unas = (IPv6Packet(src=on(NAR_PREFIX, i), dst=IPv6Address("ff02::1"), hop_limit=255,
                       payload=NeighborAdvertisement(
                           target=on(NAR_PREFIX, i),
                           options=(TargetLinkLayerAddress(address=mac(i)),)))
            for i in range(FLOOD))
    sent, _ = feed(nar, unas)
    neighbors = nar.fast_handover.nar.neighbors
    assert len(neighbors) == DEFAULT_NEIGHBOR_ENTRIES
    assert neighbors.get(on(NAR_PREFIX, FLOOD - 1)) == mac(FLOOD - 1)
    assert sent == []  # usable NCoAs: STALE entries, no NAACK
    # Entries expire (neighbor_lifetime, 60 s): a minute later the last UNAs are gone too.
    nar.now = 1.0 + FLOOD * 0.001 + 61.0
    assert neighbors.get(on(NAR_PREFIX, FLOOD - 1)) is None


def test_una_flood_with_unusable_ncoas_leaves_every_nar_table_bounded():
    # 100,000 nodes arrive with an NCoA that is not on this link and no pool to assign from:
    # each is told to use the router's address (NAACK status 3, RFC 5568 §6.4.6), and the
    # table of nodes told so stays at ARRIVALS_KEPT, like the arrivals.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, naack_use_router_address=True)
    unas = (IPv6Packet(src=on(PAR_PREFIX, i), dst=IPv6Address("ff02::1"), hop_limit=255,
                       payload=NeighborAdvertisement(
                           target=on(PAR_PREFIX, i),
                           options=(TargetLinkLayerAddress(address=mac(i)),)))
            for i in range(FLOOD))
    sent, events = feed(nar, unas)
    assert sent == []  # the NAACKs are Router Advertisements (RFC 5568 §6.4.6), on the link
    assert nar.counters["fmip.naack.3"] == FLOOD  # counted, logged a few times a second
    assert events <= REFUSAL_EVENTS_PER_SECOND * (FLOOD * 0.001 + 1)
    sizes = nar.table_sizes()
    assert sizes["nar_told_router_address"] == ARRIVALS_KEPT
    assert sizes["nar_arrivals"] <= ARRIVALS_KEPT
    assert sizes["nar_neighbors"] == sizes["nar_handovers"] == 0
    assert sizes["nar_served"] == sizes["nar_served_by_lla"] == sizes["nar_expired"] == 0


@pytest.mark.parametrize("handovers", [10, 3000])
def test_data_packets_find_their_handover_by_index(handovers: int):
    # The per-packet path probes ``serving``; it never scans ``handovers``.
    nar = router(NAR, NAR_PREFIX, PAR, PAR_PREFIX, proxy_lifetime=1000.0)
    signer = RouterAuthenticator((RouterKey(peer=NAR, security_association=PAIR),))
    feed(nar, (_hi(i, signer, 1.0 + i * 0.0001) for i in range(handovers)), step=0.0001)
    role = nar.fast_handover.nar

    class NoScan(dict):
        def values(self):
            raise AssertionError("the per-packet path scanned the handovers")

    role.handovers = NoScan(role.handovers)
    packet = IPv6Packet(src=IPv6Address("2001:db8:100::10"), dst=on(NAR_PREFIX, handovers - 1),
                        payload=UDPDatagram(src_port=1, dst_port=2, data=b"x"))
    feed(nar, [packet] * 10, start=2.0)
    assert role.serving[on(NAR_PREFIX, handovers - 1)].buffer is not None
    assert len(role.serving[on(NAR_PREFIX, handovers - 1)].buffer) == 10
    claims = [a for a in nar.pull_actions() if isinstance(a, Claim)]
    assert claims == []
