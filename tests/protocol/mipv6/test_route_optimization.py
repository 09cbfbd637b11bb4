"""Scenario tests: return routability and route optimization with correspondent nodes."""

from __future__ import annotations

import hashlib
import hmac
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.mipv6.config import RouteOptimizationConfig
from mipshop.protocol.mipv6.signalling import sign_binding_authorization
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption, RoutingHeaderType2
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingAckStatus,
    BindingError,
    BindingRefreshRequest,
    BindingUpdate,
    CareOfTest,
    CareOfTestInit,
    HomeTest,
    HomeTestInit,
    UnknownMobilityMessage,
)
from mipshop.wire.mh_options import BindingAuthorizationData, NonceIndices
from tests.harness import innermost
from tests.protocol.scenario import CN_ADDRESSES, HA_ADDRESS, HOME_ADDRESS, build, care_of

S = BindingAckStatus
CN1, CN2 = CN_ADDRESSES["cn1"], CN_ADDRESSES["cn2"]
COA = care_of("visited1")


def _udp(src, dst, data):
    return IPv6Packet(src=src, dst=dst, payload=UDPDatagram(src_port=7, dst_port=9, data=data))


def optimised(*, correspondents=("cn1", "cn2"), ro=None, **kwargs):
    mn = kwargs.pop("mn", {})
    if ro is not None:
        mn["route_optimization"] = RouteOptimizationConfig(
            correspondents=tuple(CN_ADDRESSES[c] for c in correspondents), **ro)
    scn = build(correspondents=correspondents, mn=mn, **kwargs)
    scn.move("visited1", at=1.0)
    return scn


def bound(scn):
    return [(e.fields["correspondent"], e.fields["care_of_address"])
            for e in scn.net.events_of("ro.bound", "mn")]


def test_route_optimization_with_two_correspondents():
    scn = optimised()
    cn1 = scn.cns["cn1"]
    scn.net.at(6.0, lambda now: scn.mn.send_packet(_udp(HOME_ADDRESS, CN1, b"ro-up"), now))
    scn.net.at(7.0, lambda now: cn1.send_packet(_udp(CN1, HOME_ADDRESS, b"ro-down"), now))
    scn.run(10)
    assert sorted(bound(scn)) == sorted([(CN1, COA), (CN2, COA)])
    for name in ("cn1", "cn2"):
        entry = scn.cns[name].cache.lookup(HOME_ADDRESS, 10)
        assert entry.care_of_address == COA and entry.lifetime == 420
    # HoTI reverse-tunnelled through the HA from the home address, CoTI direct from the CoA.
    hotis = [p for _r, p in scn.net.packets(HomeTestInit, sender="mn")]
    assert all(p.src == COA and p.dst == HA_ADDRESS and p.payload.src == HOME_ADDRESS
               for p in hotis) and len(hotis) == 2
    cotis = [p for _r, p in scn.net.packets(CareOfTestInit, sender="mn")]
    assert all(p.src == COA and isinstance(p.payload, CareOfTestInit) for p in cotis)
    # Route-optimised data: HAO from the MN, RH2 from the CN.
    (up,) = [p for _r, p in scn.net.packets(UDPDatagram, sender="mn")]
    assert up.src == COA and up.dst == CN1 and up.home_address == HOME_ADDRESS
    (down,) = [p for _r, p in scn.net.packets(UDPDatagram, sender="cn1")]
    assert down.dst == COA and down.routing_home_address == HOME_ADDRESS
    (at_cn,) = [d.packet for d in scn.net.delivered if d.node == "cn1"]
    assert at_cn.src == HOME_ADDRESS and at_cn.payload.data == b"ro-up"
    (at_mn,) = [d.packet for d in scn.net.delivered if d.node == "mn"]
    assert at_mn.dst == HOME_ADDRESS and at_mn.payload.data == b"ro-down"
    assert scn.ha.counters["tunnel.encapsulated"] == 2  # only the two HoTs went via the HA


def _mh_bytes(data: bytes) -> bytes:
    """The Mobility Header of a raw packet whose extension headers are DO or RH2."""
    offset, next_header = 40, data[6]
    while next_header in (60, 43):
        next_header, length = data[offset], (data[offset + 1] + 1) * 8
        offset += length
    assert next_header == 135
    return data[offset: offset + (data[offset + 1] + 1) * 8]


def _mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), hashlib.sha1).digest()


def test_return_routability_values_match_an_independent_computation():
    scn = optimised(correspondents=("cn1",))
    scn.run(10)
    cn1 = scn.cns["cn1"]
    (hot,) = [innermost(p).payload for _r, p in scn.net.packets(HomeTest, sender="cn1")]
    (cot,) = [p.payload for _r, p in scn.net.packets(CareOfTest, sender="cn1")]
    nonces = {e.index: e for e in cn1.nonces.entries()}
    home, care = nonces[hot.home_nonce_index], nonces[cot.care_of_nonce_index]
    # RFC 6275 §5.2.5: First(64, HMAC_SHA1(Kcn, address | nonce | 0 or 1)).
    assert hot.keygen_token == _mac(home.kcn, HOME_ADDRESS.packed, home.nonce, b"\x00")[:8]
    assert cot.keygen_token == _mac(care.kcn, COA.packed, care.nonce, b"\x01")[:8]
    kbm = hashlib.sha1(hot.keygen_token + cot.keygen_token).digest()
    # §6.2.7: First(96, HMAC_SHA1(Kbm, CoA | CN | MH Data)), checksum zero, authenticator cut.
    ((bu_record, bu_packet),) = [(r, p) for r, p in scn.net.packets(BindingUpdate, sender="mn")
                                 if p.dst == CN1]
    (ba_record, _ba_packet), = scn.net.packets(BindingAcknowledgement, sender="cn1")
    for record in (bu_record, ba_record):
        mh = _mh_bytes(record.data)
        covered = mh[:4] + b"\x00\x00" + mh[6:-12]
        assert mh[-14:-12] == bytes((5, 12))  # Binding Authorization Data, last option
        assert mh[-12:] == _mac(kbm, COA.packed, CN1.packed, covered)[:12]
    indices = next(o for o in bu_packet.payload.options if isinstance(o, NonceIndices))
    assert (indices.home_nonce_index, indices.care_of_nonce_index) == (
        hot.home_nonce_index, cot.care_of_nonce_index)


def _tokens(scn, cn="cn1"):
    entry = scn.mn.route_optimization.entries[CN_ADDRESSES[cn]]
    return entry, entry.rr


def _crafted(scn, *, sequence, lifetime, home_index, care_index, kbm, coa=COA, cn=CN1):
    bu = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True, options=(
        NonceIndices(home_nonce_index=home_index, care_of_nonce_index=care_index),))
    bu = sign_binding_authorization(bu, kbm, care_of_address=coa, correspondent=cn)
    return encode_packet(IPv6Packet(src=coa, dst=cn, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=HOME_ADDRESS),)),)))


def test_correspondent_caps_the_lifetime_at_420_seconds():
    scn = optimised(correspondents=("cn1",))
    scn.run(10)
    entry, rr = _tokens(scn)
    kbm = hashlib.sha1(rr.home_token + rr.care_of_token).digest()
    data = _crafted(scn, sequence=(entry.sequence + 1) & 0xFFFF, lifetime=4000,
                    home_index=rr.home_nonce_index, care_index=rr.care_of_nonce_index, kbm=kbm)
    scn.net.inject(data, "cn1", "eth0", at=10.0)
    scn.run(11)
    ba = [p.payload for _r, p in scn.net.packets(BindingAcknowledgement, sender="cn1")][-1]
    assert ba.status == S.ACCEPTED and ba.lifetime == 420
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 11).lifetime == 420


@pytest.mark.parametrize(("home_ok", "care_ok", "status"), [
    (False, True, S.EXPIRED_HOME_NONCE_INDEX),
    (True, False, S.EXPIRED_CARE_OF_NONCE_INDEX),
    (False, False, S.EXPIRED_NONCES),
])
def test_expired_nonce_indices(home_ok, care_ok, status):
    scn = optimised(correspondents=("cn1",))
    scn.run(10)
    entry, rr = _tokens(scn)
    before = scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 10).sequence
    unknown = (rr.home_nonce_index + 1000) & 0xFFFF
    data = _crafted(scn, sequence=(entry.sequence + 1) & 0xFFFF, lifetime=200,
                    home_index=rr.home_nonce_index if home_ok else unknown,
                    care_index=rr.care_of_nonce_index if care_ok else unknown, kbm=bytes(20))
    scn.net.inject(data, "cn1", "eth0", at=10.0)
    scn.run(11)
    ba = [p.payload for _r, p in scn.net.packets(BindingAcknowledgement, sender="cn1")][-1]
    assert ba.status == status
    assert not any(isinstance(o, BindingAuthorizationData) for o in ba.options)
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 11).sequence == before


def test_nonces_expire_after_max_nonce_lifetime():
    scn = optimised(correspondents=("cn1",))
    scn.run(10)
    entry, rr = _tokens(scn)
    kbm = hashlib.sha1(rr.home_token + rr.care_of_token).digest()
    # 250 s later the nonces are older than MAX_NONCE_LIFETIME (240 s): status 138.
    scn.net.at(255.0, lambda now: scn.net.connect("mn", "wlan0", None))
    data = _crafted(scn, sequence=(entry.sequence + 7) & 0xFFFF, lifetime=200,
                    home_index=rr.home_nonce_index, care_index=rr.care_of_nonce_index, kbm=kbm)
    scn.net.inject(data, "cn1", "eth0", at=256.0)
    scn.run(257)
    ba = [p.payload for _r, p in scn.net.packets(BindingAcknowledgement, sender="cn1")][-1]
    assert ba.status == S.EXPIRED_NONCES


def test_forged_correspondent_bu_is_silently_dropped():
    scn = optimised(correspondents=("cn1",))
    scn.run(10)
    entry, rr = _tokens(scn)
    data = _crafted(scn, sequence=(entry.sequence + 1) & 0xFFFF, lifetime=200,
                    home_index=rr.home_nonce_index, care_index=rr.care_of_nonce_index,
                    kbm=bytes(20), coa=IPv6Address("2001:db8:30::666"))
    scn.net.inject(data, "cn1", "eth0", at=10.0)
    scn.run(11)
    assert scn.net.events_of("auth.failed", "cn1")[0].fields["reason"] == "bad_authenticator"
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 11).care_of_address == COA
    assert len(list(scn.net.packets(BindingAcknowledgement, sender="cn1"))) == 1


def test_binding_error_for_a_home_address_option_without_binding():
    scn = optimised(correspondents=("cn1",))
    scn.run(10)
    # The correspondent loses its binding (e.g. a reboot); the MN still sends with a HAO.
    scn.net.at(10.0, lambda now: scn.cns["cn1"].cache.remove(HOME_ADDRESS))
    scn.net.at(10.5, lambda now: scn.mn.send_packet(_udp(HOME_ADDRESS, CN1, b"x"), now))
    scn.run(15)
    (error,) = [p for _r, p in scn.net.packets(BindingError, sender="cn1")]
    assert error.payload.status == 1 and error.payload.home_address == HOME_ADDRESS
    assert error.dst == COA
    assert scn.net.events_of("ro.binding_error", "mn")[0].fields["status"] == 1
    assert len(bound(scn)) == 2  # the MN registered again
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 15) is not None


def test_unknown_mh_type_gets_binding_error_2_and_stops_route_optimization():
    scn = optimised(correspondents=("cn1",))
    scn.run(10)
    unknown = IPv6Packet(src=COA, dst=CN1, payload=UnknownMobilityMessage(mh_type=200))
    scn.net.inject(encode_packet(unknown), "cn1", "eth0", at=10.0)
    scn.run(11)
    (error,) = [p for _r, p in scn.net.packets(BindingError, sender="cn1")]
    assert error.payload.status == 2
    # The MN takes status 2 as "no MIPv6 here" and falls back to the tunnel.
    assert scn.net.events_of("ro.binding_error", "mn")[0].fields["status"] == 2
    scn.net.at(12.0, lambda now: scn.mn.send_packet(_udp(HOME_ADDRESS, CN1, b"t"), now))
    scn.run(13)
    (sent,) = [p for _r, p in scn.net.packets(UDPDatagram, sender="mn")]
    assert isinstance(sent.payload, IPv6Packet) and sent.dst == HA_ADDRESS


def test_binding_refresh_request_starts_a_new_registration():
    scn = optimised(correspondents=("cn1",), ro={"lifetime": 40.0})
    cn1 = scn.cns["cn1"]
    for t in (10.0, 18.0):
        scn.net.at(t, lambda now: cn1.send_packet(_udp(CN1, HOME_ADDRESS, b"use"), now))
    scn.run(30)
    (brr_event,) = scn.net.events_of("brr.sent", "cn1")
    registered = scn.net.events_of("binding.registered", "cn1")[0]
    assert brr_event.time == pytest.approx(registered.time + 20.0)
    (brr,) = [p for _r, p in scn.net.packets(BindingRefreshRequest, sender="cn1")]
    assert brr.dst == HOME_ADDRESS and brr.routing_home_address is None  # §9.5.5
    assert scn.net.events_of("ro.refresh_requested", "mn")
    assert len(bound(scn)) == 2 and scn.net.events_of("binding.refreshed", "cn1")


def test_fallback_to_the_home_agent_after_max_ro_failure():
    scn = optimised()
    scn.net.drop_if(lambda p, r: p.dst == CN2 and isinstance(p.payload, CareOfTestInit))
    scn.net.at(40.0, lambda now: scn.mn.send_packet(_udp(HOME_ADDRESS, CN2, b"t"), now))
    scn.net.at(40.0, lambda now: scn.mn.send_packet(_udp(HOME_ADDRESS, CN1, b"o"), now))
    scn.run(45)
    assert [e.fields["failures"] for e in scn.net.events_of("ro.attempt_failed")] == [1, 2]
    (fallback,) = scn.net.events_of("ro.fallback")
    assert fallback.fields["correspondent"] == CN2 and fallback.fields["failures"] == 3
    sent = {innermost(p).dst: p for _r, p in scn.net.packets(UDPDatagram, sender="mn")}
    assert sent[CN2].dst == HA_ADDRESS and isinstance(sent[CN2].payload, IPv6Packet)
    assert sent[CN1].dst == CN1 and sent[CN1].home_address == HOME_ADDRESS
    # Three attempts of three CoTIs each (timeouts 1, 2, 4 s).
    assert len([p for _r, p in scn.net.packets(CareOfTestInit) if p.dst == CN2]) == 9


def test_handover_updates_correspondent_bindings():
    scn = optimised()
    scn.move("visited2", at=20.0)
    scn.run(30)
    assert sorted(bound(scn)[2:]) == sorted([(CN1, care_of("visited2")),
                                             (CN2, care_of("visited2"))])
    for name in ("cn1", "cn2"):
        assert scn.cns[name].cache.lookup(HOME_ADDRESS, 30).care_of_address == care_of(
            "visited2")


def test_return_home_deletes_correspondent_bindings():
    scn = optimised(correspondents=("cn1",))
    scn.move("home", at=20.0)
    scn.run(30)
    assert scn.net.events_of("ro.deregistered", "mn")
    assert scn.net.events_of("binding.deregistered", "cn1")
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 30) is None
    dereg = [p for _r, p in scn.net.packets(BindingUpdate, sender="mn") if p.dst == CN1][-1]
    assert dereg.src == HOME_ADDRESS and dereg.home_address is None
    assert dereg.payload.lifetime == 0
    indices = next(o for o in dereg.payload.options if isinstance(o, NonceIndices))
    assert indices.care_of_nonce_index == 0
    # Kbm = SHA1(home keygen token) for a deletion (§5.2.5), CoA = home address in the MAC.
    hot = [p.payload for _r, p in scn.net.packets(HomeTest, sender="cn1")][-1]
    kbm = hashlib.sha1(hot.keygen_token).digest()
    record = [r for r, p in scn.net.packets(BindingUpdate, sender="mn") if p.dst == CN1][-1]
    mh = _mh_bytes(record.data)
    assert mh[-12:] == _mac(kbm, HOME_ADDRESS.packed, CN1.packed,
                            mh[:4] + b"\x00\x00" + mh[6:-12])[:12]


def test_correspondent_binding_expires():
    scn = optimised(correspondents=("cn1",), ro={"lifetime": 40.0})
    scn.net.at(10.0, lambda now: scn.net.connect("mn", "wlan0", None))
    scn.run(60)
    (registered,) = scn.net.events_of("binding.registered", "cn1")
    (expired,) = scn.net.events_of("binding.expired", "cn1")
    assert expired.time == pytest.approx(registered.time + 40.0)
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 60) is None


def test_route_optimised_binding_is_refreshed_before_expiry():
    scn = optimised(correspondents=("cn1",), ro={"lifetime": 40.0, "reuse_tokens": False})
    scn.run(100)
    assert not scn.net.events_of("binding.expired", "cn1")
    assert len(scn.net.events_of("binding.refreshed", "cn1")) >= 2
    # Without token reuse each refresh runs return routability again; the CN's nonce
    # changes every 30 s.
    indices = [e.fields["nonce_index"] for e in scn.net.events_of("rr.care_of_test", "cn1")]
    assert len(indices) >= 3 and len(set(indices)) == len(indices)


def test_accept_unauthenticated_correspondent_warns():
    scn = build(cn={"accept_unauthenticated": True})
    scn.run(1)
    warnings = scn.net.events_of("cn.warning")
    assert {w.node for w in warnings} == {"cn1", "cn2"} and all(w.time == 0 for w in warnings)
    plain = IPv6Packet(src=COA, dst=CN1, payload=BindingUpdate(sequence=5, lifetime=100,
                                                                  ack=True),
                       extension_headers=(DestinationOptions(options=(
                           HomeAddressOption(home_address=HOME_ADDRESS),)),))
    scn.net.inject(encode_packet(plain), "cn1", "eth0", at=2.0)
    scn.run(3)
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 3).lifetime == 100
    ba = [p for _r, p in scn.net.packets(BindingAcknowledgement, sender="cn1")][-1]
    assert ba.routing_home_address == HOME_ADDRESS and ba.payload.status == 0
    assert isinstance(ba.extension_headers[0], RoutingHeaderType2)


def test_unauthenticated_correspondent_bu_is_dropped_by_default():
    scn = build()
    plain = IPv6Packet(src=COA, dst=CN1, payload=BindingUpdate(sequence=5, lifetime=100,
                                                                  ack=True),
                       extension_headers=(DestinationOptions(options=(
                           HomeAddressOption(home_address=HOME_ADDRESS),)),))
    scn.net.inject(encode_packet(plain), "cn1", "eth0", at=2.0)
    scn.run(3)
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 3) is None
    assert scn.net.events_of("auth.failed", "cn1")[0].fields["reason"] == "unauthenticated"
    assert not list(scn.net.packets(BindingAcknowledgement, sender="cn1"))


def test_route_optimization_is_retried_from_the_next_care_of_address():
    scn = optimised(correspondents=("cn2",))
    undo = scn.net.drop_if(lambda p, r: p.dst == CN2 and isinstance(p.payload, CareOfTestInit))
    scn.net.at(30.0, lambda now: undo())
    scn.move("visited2", at=40.0)
    scn.run(50)
    assert scn.net.events_of("ro.fallback")
    (retry,) = scn.net.events_of("ro.retry")
    assert retry.time > 40.0
    assert bound(scn) == [(CN2, care_of("visited2"))]


def test_a_retransmission_asks_only_for_the_missing_token():
    scn = optimised(correspondents=("cn1",))
    # The first CoT is lost; the HoT arrives.
    lost = []
    scn.net.drop_if(lambda p, r: isinstance(p.payload, CareOfTest) and not lost
                    and not lost.append(p))
    scn.run(10)
    sent = scn.net.events_of("ro.test_init_sent", "mn")
    assert [(e.fields["home"], e.fields["care_of"]) for e in sent] == [(True, True),
                                                                       (False, True)]
    assert bound(scn) == [(CN1, COA)]
