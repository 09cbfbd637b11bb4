"""Unit tests of the FMIPv6 building blocks: state tables, HAck decision, buffer, PrRtAdv
parsing, BADF, configuration and link events."""

from __future__ import annotations

import dataclasses
import random
from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.base.link_events import LinkDown, LinkGoingDown, LinkUp, ScanCompleted
from mipshop.protocol.fmipv6.buffer import HandoverBuffer
from mipshop.protocol.fmipv6.config import (
    FastHandoverAnchorConfig,
    FastHandoverClientConfig,
    FastHandoverRouterConfig,
    HandoverKey,
    NeighborRouter,
)
from mipshop.protocol.fmipv6.nar import (
    NAR_TRANSITIONS,
    NarHandover,
    NarInput,
    NarState,
    decide_handover,
)
from mipshop.protocol.fmipv6.neighbourhood import parse_prrtadv
from mipshop.protocol.fmipv6.par import PAR_TRANSITIONS, FastBinding, ParInput, ParState
from mipshop.protocol.fmipv6.security import badf_of, sign_badf, verify_badf
from mipshop.protocol.mipv6.mobile_node import MobileNode
from mipshop.wire.icmpv6 import ProxyRouterAdvertisement
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import FastBindingAcknowledgement, FastBindingUpdate, decode_mh, encode_mh
from mipshop.wire.mh_options import AlternateCareOfAddress
from mipshop.wire.nd_options import IPAddressPrefix, LinkLayerAddress
from tests.protocol.fmip_scenario import pair_key

PCOA = IPv6Address("2001:db8:10::ff:fe00:1")
NCOA = IPv6Address("2001:db8:20::ff:fe00:1")
PAR = IPv6Address("2001:db8:10::1")
KEY = HandoverKey(spi=7777, key=bytes(range(20)))

P, PI = ParState, ParInput
#: Expected PAR transitions, written out independently of the module (None: unchanged).
PAR_EXPECTED = {
    P.NONE: {PI.FBU: P.AWAITING_HACK, PI.DELETE: P.NONE},
    P.AWAITING_HACK: {PI.FBU: P.AWAITING_HACK, PI.HACK_ACCEPTED: P.FORWARDING,
                      PI.HACK_REJECTED: P.NONE, PI.HI_EXHAUSTED: P.NONE, PI.DELETE: P.NONE},
    P.FORWARDING: {PI.FBU: P.REBINDING, PI.DELETE: P.NONE, PI.EXPIRED: P.NONE,
                   PI.SUPERSEDED: P.NONE},
    P.REBINDING: {PI.FBU: P.REBINDING, PI.HACK_ACCEPTED: P.FORWARDING,
                  PI.HACK_REJECTED: P.FORWARDING, PI.HI_EXHAUSTED: P.FORWARDING,
                  PI.DELETE: P.NONE, PI.EXPIRED: P.NONE},
}
N, NI = NarState, NarInput
NAR_EXPECTED = {
    N.NONE: {NI.HI_PROXY: N.PROXYING, NI.HI_PCOA: N.HOST_ROUTE},
    N.PROXYING: {NI.HI_PROXY: N.PROXYING, NI.UNA: N.DRAINING, NI.PROXY_TIMEOUT: N.NONE},
    N.HOST_ROUTE: {NI.UNA: N.DRAINING, NI.PROXY_TIMEOUT: N.NONE},
    N.DRAINING: {NI.DRAINED: N.ATTACHED},
    N.ATTACHED: {},
}


@pytest.mark.parametrize("state", list(ParState))
@pytest.mark.parametrize("event", list(ParInput))
def test_par_state_machine_every_pair(state, event):
    record = FastBinding(pcoa=PCOA, key=KEY, state=state)
    expected = PAR_EXPECTED[state].get(event, state)
    assert record.transition(event) is expected
    assert PAR_TRANSITIONS.get((state, event), state) is expected
    assert list(record.history) == [state]


@pytest.mark.parametrize("state", list(NarState))
@pytest.mark.parametrize("event", list(NarInput))
def test_nar_state_machine_every_pair(state, event):
    record = NarHandover(link_layer_address=b"\x02" * 6, par=PAR, state=state)
    expected = NAR_EXPECTED[state].get(event, state)
    assert record.transition(event) is expected
    assert NAR_TRANSITIONS.get((state, event), state) is expected
    assert list(record.history) == [state]  # the state left, as the PAR's records keep


@pytest.mark.parametrize(("usable", "s_flag", "pool", "pcoa", "expected"), [
    (True, False, None, False, (0, False)),
    (True, True, None, False, (2, False)),
    (False, False, NCOA, True, (2, True)),
    (False, True, NCOA, False, (2, True)),
    (False, False, None, True, (3, False)),
    (False, True, None, False, (1, False)),
])
def test_decide_handover(usable, s_flag, pool, pcoa, expected):
    assert decide_handover(usable=usable, assigned_requested=s_flag, pool_address=pool,
                           pcoa_supported=pcoa) == expected


def _packet(n):
    return IPv6Packet(src=PAR, dst=NCOA, payload=UDPDatagram(src_port=1, dst_port=2,
                                                              data=bytes([n])))


def test_buffer_is_bounded_and_meters_the_arrival_rate():
    buffer = HandoverBuffer(4)
    assert buffer.interval is None
    results = [buffer.push(_packet(i), 1.0 + 0.02 * i) for i in range(6)]
    assert [r.accepted for r in results] == [True] * 4 + [False] * 2
    assert (len(buffer), buffer.accepted, buffer.overflow) == (4, 4, 2)
    assert buffer.interval == pytest.approx(0.02)
    assert [p.payload.data for p in buffer.drain_burst()] == [b"\x00", b"\x01", b"\x02",
                                                              b"\x03"]
    assert buffer.pop() is None


def test_buffer_drain_burst_is_five_then_one_by_one():
    buffer = HandoverBuffer(20)
    for i in range(8):
        buffer.push(_packet(i), 0.01 * i)
    assert len(buffer.drain_burst()) == 5
    assert buffer.pop().payload.data == b"\x05"
    assert buffer.clear() == 2 and len(buffer) == 0


def test_buffer_weighted_average_of_gaps():
    buffer = HandoverBuffer(10, gap_weight=0.5)
    for t in (0.0, 0.1, 0.2, 0.6):
        buffer.push(_packet(0), t)
    assert buffer.interval == pytest.approx(0.5 * 0.1 + 0.5 * 0.4)
    single = HandoverBuffer(10)
    single.push(_packet(0), 0.0)
    assert len(single.drain_burst()) == 1  # no rate: all at once
    with pytest.raises(ValueError):
        HandoverBuffer(-1)


def test_parse_prrtadv_tuples_and_outcomes():
    ap1, ap2, ap3 = (bytes([2, 0, 0, 0, 0, i]) for i in (1, 2, 3))
    message = ProxyRouterAdvertisement(code=3, identifier=7, options=(
        LinkLayerAddress(option_code=4, address=b"\x00" * 6),
        LinkLayerAddress(option_code=1, address=ap1),
        LinkLayerAddress(option_code=3, address=b"\x00\x00\x5e\x00\x01\x03"),
        IPAddressPrefix(option_code=3, address=IPv6Address("2001:db8:20::1")),
        IPAddressPrefix(option_code=2, address=NCOA),
        LinkLayerAddress(option_code=7, address=ap2),
        LinkLayerAddress(option_code=1, address=ap3),
    ))
    first, second, third = parse_prrtadv(message)
    assert first.resolved and first.prefix == IPv6Network("2001:db8:20::/64")
    assert first.care_of_address(0x1234) == NCOA  # the supplied NCoA MUST be used (§5.2)
    assert first.router_link_layer_address == b"\x00\x00\x5e\x00\x01\x03"
    assert second.outcome == 7 and not second.resolved
    assert third.outcome == 1 and not third.resolved  # no AR-Info followed
    # An equal PrRtAdv (a new object, as another node receives it) gives the same tuples,
    # shared; the code 5 (DHCPv6) makes them different ones.
    again = parse_prrtadv(dataclasses.replace(message, options=tuple(
        dataclasses.replace(o) for o in message.options)))
    assert all(a is b for a, b in zip(again, (first, second, third), strict=True))
    managed = parse_prrtadv(dataclasses.replace(message, code=5))
    assert managed[0].dhcp and not first.dhcp and managed[0] != first
    # The prefix option, when present, gives the prefix (not the NAR address's /64).
    with_prefix = parse_prrtadv(dataclasses.replace(message, options=(
        *message.options[:3],
        IPAddressPrefix(option_code=4, address=IPv6Address("2001:db8:30::"), prefix_length=48),
        *message.options[3:])))
    assert with_prefix[0].prefix == IPv6Network("2001:db8:30::/48")


def test_badf_sign_and_verify():
    fbu = FastBindingUpdate(sequence=9, lifetime=40,
                            options=(AlternateCareOfAddress(address=NCOA),))
    signed = sign_badf(fbu, KEY, care_of_address=NCOA, par_address=PAR)
    badf = badf_of(signed)
    assert badf is not None and badf.spi == 7777 and len(badf.authenticator) == 12
    assert verify_badf(signed, KEY, care_of_address=NCOA, par_address=PAR)
    assert not verify_badf(signed, KEY, care_of_address=PCOA, par_address=PAR)
    assert not verify_badf(signed, KEY, care_of_address=NCOA, par_address=PCOA)
    other = HandoverKey(spi=7777, key=b"x" * 20)
    assert not verify_badf(signed, other, care_of_address=NCOA, par_address=PAR)
    assert not verify_badf(fbu, KEY, care_of_address=NCOA, par_address=PAR)
    # The wire layout round-trips (BADF last, 4-second lifetime units), so MH Data matches.
    assert decode_mh(encode_mh(signed)) == signed
    fback = sign_badf(FastBindingAcknowledgement(status=0, sequence=9, lifetime=40), KEY,
                      care_of_address=NCOA, par_address=PAR)
    assert verify_badf(fback, KEY, care_of_address=NCOA, par_address=PAR)


def test_configuration_validation():
    with pytest.raises(ValueError):
        HandoverKey(spi=0, key=b"k")  # SPI 0 is reserved for SEND keys
    with pytest.raises(ValueError):
        HandoverKey(spi=1, key=b"")
    with pytest.raises(ValueError):
        FastHandoverClientConfig(key=KEY, fbu_lifetime=41)
    bound = dataclasses.replace(KEY, previous_care_of_address=PCOA)
    with pytest.raises(ValueError, match="unique"):
        FastHandoverRouterConfig(handover_keys=(bound, bound))
    # RFC 5568 §10: an anchor's key names its owner's PCoA (RCoA at a MAP).
    for config in (FastHandoverRouterConfig, FastHandoverAnchorConfig):
        with pytest.raises(ValueError, match="names no previous_care_of_address"):
            config(handover_keys=(KEY,))
    with pytest.raises(ValueError):
        NeighborRouter(access_points=(), link_layer_address=b"\x00" * 6, address=PAR,
                       prefix=IPv6Network("2001:db8:20::/64"))
    wide = NeighborRouter(access_points=(b"\x01" * 6,), link_layer_address=b"\x00" * 6,
                          address=IPv6Address("2001:db8::1"),
                          prefix=IPv6Network("2001:db8::/32"))
    narrow = NeighborRouter(access_points=(b"\x02" * 6,), link_layer_address=b"\x00" * 6,
                            address=IPv6Address("2001:db8:20::1"),
                            prefix=IPv6Network("2001:db8:20::/64"))
    keys = tuple(pair_key(PAR, n.address) for n in (wide, narrow))
    with pytest.raises(ValueError, match="has no router key"):  # RFC 5568 §10
        FastHandoverRouterConfig(neighbors=(wide, narrow), router_keys=keys[:1])
    with pytest.raises(ValueError, match="one per peer router"):
        FastHandoverRouterConfig(neighbors=(wide,), router_keys=(keys[0], keys[0]))
    config = FastHandoverRouterConfig(neighbors=(wide, narrow), handover_keys=(bound,),
                                      router_keys=keys)
    assert config.neighbor_for(NCOA) is narrow  # longest prefix match (§4)
    assert config.neighbor_for(IPv6Address("2001:db8:99::1")) is wide
    assert config.neighbor_by_ap(b"\x02" * 6) is narrow


def test_link_events_validate_and_drive_attach_and_detach():
    with pytest.raises(ValueError):
        LinkGoingDown(target_ap=b"")
    with pytest.raises(ValueError):
        ScanCompleted(access_points=(b"x" * 17,))
    from mipshop.protocol.mipv6.config import MobileNodeConfig
    from tests.protocol.scenario import HOME_ADDRESS, HOME_PREFIX

    node = MobileNode("mn", random.Random(1), MobileNodeConfig(
        home_address=HOME_ADDRESS, home_prefix=HOME_PREFIX))
    node.l2_trigger(LinkUp(ap=b"\x02" * 6), 1.0)
    assert node.attached and node.access_point == b"\x02" * 6
    kinds = [a.kind for a in node.pull_actions() if hasattr(a, "kind")]
    assert "movement.link_up" in kinds
    node.l2_trigger(LinkDown(), 2.0)
    assert not node.attached
    node.l2_trigger(ScanCompleted(), 3.0)  # no client wants it: nothing happens
    assert not [a for a in node.pull_actions() if not hasattr(a, "kind")]
