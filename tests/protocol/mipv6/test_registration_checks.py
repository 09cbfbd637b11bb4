"""Binding Acknowledgement status for each rejected registration, forged and replayed BUs."""

from __future__ import annotations

import dataclasses
import random
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.mipv6.config import MobileNodeConfig, MobilityCredentials
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation, unix_to_ntp
from mipshop.protocol.mipv6.mobile_node import MobileNode
from mipshop.protocol.mipv6.signalling import protect_mn_ha, verify_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption, RoutingHeaderType2
from mipshop.wire.ipv6 import IPv6Packet, decode_packet, encode_packet
from mipshop.wire.mh import BindingAcknowledgement, BindingAckStatus, BindingUpdate
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    MobilityMessageAuthentication,
    ReplayProtection,
)
from tests.protocol.scenario import (
    CREDENTIALS,
    HA_ADDRESS,
    HOME_ADDRESS,
    HOME_PREFIX,
    WALL_CLOCK,
    build,
    care_of,
)

S = BindingAckStatus
COA = care_of("visited1")


def crafted_bu(
    *,
    at: float,
    sequence: int,
    lifetime: int = 600,
    hoa: IPv6Address = HOME_ADDRESS,
    coa: IPv6Address = COA,
    destination: IPv6Address = HA_ADDRESS,
    home_registration: bool = True,
    protect: bool = True,
) -> bytes:
    """A Binding Update as a mobile node at ``coa`` would send it at time ``at``."""
    bu = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True,
                       home_registration=home_registration,
                       options=(AlternateCareOfAddress(address=coa),))
    if protect:
        bu = protect_mn_ha(bu, CREDENTIALS, timestamp=unix_to_ntp(WALL_CLOCK + at),
                           care_of_address=coa, home_address=hoa)
    return encode_packet(IPv6Packet(
        src=coa, dst=destination, payload=bu,
        extension_headers=(DestinationOptions(options=(HomeAddressOption(home_address=hoa),)),),
    ))


def answers(scn, sender):
    return [p for _r, p in scn.net.packets(BindingAcknowledgement, sender=sender)]


def register_by_hand(scn, *, sequence=100, at=1.0):
    scn.net.inject(crafted_bu(at=at, sequence=sequence), "ha", "home", at=at)
    scn.run(at + 2)
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now) is not None


def case_131(scn):
    cn = scn.cns["cn1"]
    scn.net.inject(crafted_bu(at=1.0, sequence=1, destination=cn.address), "cn1", "eth0",
                   at=1.0)
    scn.run(3)
    return "cn1", 1


def case_132(scn):
    # Every SA names a home address of the prefix: only an unauthenticated BU can name another.
    scn.net.inject(crafted_bu(at=1.0, sequence=7, hoa=IPv6Address("2001:db8:99::100"),
                              protect=False), "ha", "home", at=1.0)
    scn.run(3)
    return "ha", 7


def case_133(scn):
    scn.net.inject(crafted_bu(at=1.0, sequence=9, lifetime=0), "ha", "home", at=1.0)
    scn.run(3)
    return "ha", 9


def case_134(scn):
    scn.net.inject(crafted_bu(at=1.0, sequence=11), "ha", "home", at=1.0)
    scn.run(3)
    return "ha", 11


def case_135(scn):
    register_by_hand(scn, sequence=100)
    scn.net.inject(crafted_bu(at=4.0, sequence=100), "ha", "home", at=4.0)
    scn.run(5)
    return "ha", 100


def case_139(scn):
    register_by_hand(scn, sequence=100)
    scn.net.inject(crafted_bu(at=4.0, sequence=101, home_registration=False), "ha", "home",
                   at=4.0)
    scn.run(5)
    return "ha", 101


def case_130(scn):
    scn.net.inject(crafted_bu(at=1.0, sequence=13), "ha", "home", at=1.0)
    scn.run(3)
    return "ha", 13


REJECTIONS = [
    # (status, configuration of the home agent, scenario)
    (S.HOME_REGISTRATION_NOT_SUPPORTED, {}, case_131),
    (S.NOT_HOME_SUBNET, {"accept_unauthenticated": True}, case_132),
    (S.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE, {}, case_133),
    (S.DUPLICATE_ADDRESS_DETECTION_FAILED, {"addresses_in_use": frozenset({HOME_ADDRESS})},
     case_134),
    (S.SEQUENCE_NUMBER_OUT_OF_WINDOW, {}, case_135),
    (S.REGISTRATION_TYPE_CHANGE_DISALLOWED, {}, case_139),
    (S.INSUFFICIENT_RESOURCES, {"max_bindings": 0}, case_130),
]


@pytest.mark.parametrize(("status", "ha_config", "case"), REJECTIONS,
                         ids=[str(int(s)) for s, _c, _f in REJECTIONS])
def test_rejection_status(status, ha_config, case):
    scn = build(ha=ha_config)
    before = {e.home_address: (e.care_of_address, e.sequence) for e in scn.ha.cache}
    sender, sequence = case(scn)
    if status in (S.SEQUENCE_NUMBER_OUT_OF_WINDOW, S.REGISTRATION_TYPE_CHANGE_DISALLOWED):
        before = {HOME_ADDRESS: (COA, 100)}
    ba = answers(scn, sender)[-1]
    assert ba.payload.status == status
    assert ba.dst == COA and ba.routing_home_address is not None
    assert ba.payload.sequence == sequence
    (event,) = [e for e in scn.net.events_of("binding.rejected", sender)]
    assert event.fields["status"] == status
    after = {e.home_address: (e.care_of_address, e.sequence) for e in scn.ha.cache}
    assert after == before  # a rejected BU changes no binding
    if sender == "ha" and status != S.NOT_HOME_SUBNET:  # 132: the BU was unauthenticated
        # The rejection is itself authenticated (RFC 4285 §5.1.1).
        hoa = ba.routing_home_address
        assert verify_mn_ha(ba.payload, CREDENTIALS, care_of_address=COA, home_address=hoa)


def test_accepted_crafted_registration_as_control():
    scn = build()
    register_by_hand(scn, sequence=100)
    (ba,) = answers(scn, "ha")
    assert ba.payload.status == S.ACCEPTED and ba.payload.lifetime == 600


# -- forged and replayed Binding Updates (RFC 4285) ------------------------------------------


def _registered_mn(scn):
    scn.move("visited1", at=1.0)
    scn.run(5)
    (record, _packet), = scn.net.packets(BindingUpdate)
    return record.data


def _snapshot(scn):
    return [(e.home_address, e.care_of_address, e.sequence, e.registered_at, e.lifetime)
            for e in scn.ha.cache]


def test_forged_bu_with_a_bad_authenticator_changes_nothing():
    scn = build()
    original = decode_packet(_registered_mn(scn))
    before = _snapshot(scn)
    attacker = IPv6Address("2001:db8:30::666")
    bu = original.payload
    # Redirect the home address to the attacker, keeping the old authenticator...
    forged = dataclasses.replace(bu, sequence=(bu.sequence + 1) & 0xFFFF, options=(
        AlternateCareOfAddress(address=attacker), *bu.options[1:]))
    scn.net.inject(encode_packet(dataclasses.replace(original, src=attacker, payload=forged)),
                   "ha", "home", at=5.5)
    # ...and the genuine message with one authenticator bit flipped.
    auth = bu.options[-1]
    flipped = dataclasses.replace(auth, authenticator=bytes([auth.authenticator[0] ^ 1])
                                  + auth.authenticator[1:])
    tampered = dataclasses.replace(bu, options=(*bu.options[:-1], flipped))
    scn.net.inject(encode_packet(dataclasses.replace(original, payload=tampered)),
                   "ha", "home", at=5.6)
    scn.run(8)
    assert _snapshot(scn) == before
    failures = scn.net.events_of("auth.failed", "ha")
    assert [f.fields["reason"] for f in failures] == ["bad_authenticator"] * 2
    assert scn.ha.counters["auth.bad_authenticator"] == 2
    statuses = [p.payload.status for p in answers(scn, "ha")[1:]]
    assert statuses == [S.MIPV6_AUTH_FAIL] * 2
    assert scn.net.claims()[HOME_ADDRESS] == ("ha", "home")
    # The genuine mobile node ignores BAs for BUs it never sent (timestamp mismatch).
    assert scn.net.events_of("home.rejected", "mn") == []


@pytest.mark.parametrize(("delay", "verdict"), [(1.0, "not_newer"), (60.0, "outside_window")])
def test_replayed_bu_is_rejected(delay, verdict):
    scn = build()
    data = _registered_mn(scn)
    before = _snapshot(scn)
    replay_at = scn.net.now + delay  # the original BU left at 2.004: 4 s or 63 s before
    scn.net.inject(data, "ha", "home", at=replay_at)
    scn.run(replay_at + 1)
    assert _snapshot(scn) == before
    (event,) = scn.net.events_of("auth.replay", "ha")
    assert event.fields["verdict"] == verdict
    assert scn.ha.counters["auth.replay"] == 1
    ba = answers(scn, "ha")[-1].payload
    assert ba.status == S.MIPV6_ID_MISMATCH
    # RFC 4285 §6: the BA's timestamp has the HA's time of day in its high-order 32 bits.
    stamp = next(o for o in ba.options if isinstance(o, ReplayProtection)).timestamp
    assert stamp >> 32 == unix_to_ntp(WALL_CLOCK + replay_at) >> 32


def test_replay_of_an_old_care_of_address_after_a_handover():
    scn = build()
    data = _registered_mn(scn)
    scn.move("visited2", at=6.0)
    scn.run(9)
    scn.net.inject(data, "ha", "home", at=9.0)
    scn.run(10)
    assert scn.ha.cache.lookup(HOME_ADDRESS, 10).care_of_address == care_of("visited2")
    assert scn.net.events_of("auth.replay", "ha")


def test_mobile_node_with_a_skewed_clock_resynchronises():
    scn = build(mn={"wall_clock_offset": WALL_CLOCK + 100.0})
    scn.move("visited1", at=1.0)
    scn.run(10)
    assert scn.net.events_of("auth.replay", "ha")[0].fields["verdict"] == "outside_window"
    assert scn.net.events_of("auth.resync", "mn")
    assert scn.net.events_of("home.registered", "mn")


def test_forged_ba_is_ignored_by_the_mobile_node():
    scn = build()
    scn.move("visited1", at=1.0)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingAcknowledgement))
    scn.run(2.5)
    (_r, bu), = scn.net.packets(BindingUpdate)
    zero_auth = MobilityMessageAuthentication(subtype=1, spi=1000, authenticator=bytes(12))
    forged = BindingAcknowledgement(status=0, sequence=bu.payload.sequence, lifetime=600,
                                    options=(*bu.payload.options[1:-1], zero_auth))
    packet = IPv6Packet(src=HA_ADDRESS, dst=COA, payload=forged,
                        extension_headers=(RoutingHeaderType2(home_address=HOME_ADDRESS),))
    scn.net.inject(encode_packet(packet), "mn", "wlan0", at=2.6)
    scn.run(2.7)
    assert scn.net.events_of("auth.failed", "mn")[0].fields["reason"] == "bad_ba_authenticator"
    assert not scn.net.events_of("home.registered", "mn")
    assert scn.mn.counters["auth.ba_failed"] == 1


def test_replayed_ba_is_ignored_by_the_mobile_node():
    scn = build(mn={"home_binding_lifetime": 40.0})
    scn.move("visited1", at=1.0)
    scn.net.drop_if(lambda p, r: r.time > 30 and isinstance(p.payload, BindingAcknowledgement))
    scn.run(36.5)  # the refresh BU (sent at ~34 s) is outstanding: its BAs are lost
    (old_ba, _p), = [(r, p) for r, p in scn.net.packets(BindingAcknowledgement) if r.time < 30]
    entry = scn.mn.home.entry
    state, sequence = entry.state, entry.sequence
    # An attacker replays the old (genuine, authenticated) BA.
    scn.net.inject(old_ba.data, "mn", "wlan0", at=36.6)
    scn.run(36.7)
    (replay,) = scn.net.events_of("auth.replay", "mn")
    assert replay.fields["reason"] == "ba_timestamp_mismatch"
    assert scn.mn.counters["auth.ba_replay"] == 1
    assert (entry.state, entry.sequence) == (state, sequence)
    assert len(scn.net.events_of("home.registered", "mn")) == 1


def test_ba_for_another_care_of_address_fails_authentication():
    scn = build()
    scn.move("visited1", at=1.0)
    scn.move("visited2", at=10.0)
    scn.net.drop_if(lambda p, r: r.time > 10 and isinstance(p.payload, BindingAcknowledgement))
    scn.run(11.5)
    (old_ba, _p), = [(r, p) for r, p in scn.net.packets(BindingAcknowledgement) if r.time < 10]
    packet = dataclasses.replace(decode_packet(old_ba.data), dst=care_of("visited2"))
    scn.net.inject(encode_packet(packet), "mn", "wlan0", at=11.6)
    scn.run(11.7)
    (failed,) = scn.net.events_of("auth.failed", "mn")
    assert failed.fields["reason"] == "bad_ba_authenticator"
    assert len(scn.net.events_of("home.registered", "mn")) == 1


HOA2 = IPv6Address("2001:db8:1::200")
CREDENTIALS2 = MobilityCredentials(
    identifier=b"mn2@example.com",
    security_association=SecurityAssociation(spi=2000, key=bytes(range(100, 116))),
)
BOTH = (dataclasses.replace(CREDENTIALS, home_address=HOME_ADDRESS),
        dataclasses.replace(CREDENTIALS2, home_address=HOA2))


def _second_mobile_node(scn):
    mn2 = MobileNode("mn2", random.Random(2), MobileNodeConfig(
        home_address=HOA2, home_prefix=HOME_PREFIX, home_agent=HA_ADDRESS,
        link_layer_address=bytes.fromhex("020000000002"), credentials=CREDENTIALS2,
        wall_clock_offset=WALL_CLOCK))
    scn.net.add_node(mn2, {"wlan0": None})
    scn.net.start(mn2)
    return mn2


def test_two_mobile_nodes_with_their_own_security_associations():
    scn = build(ha={"credentials": BOTH})
    _second_mobile_node(scn)
    scn.move("visited1", at=1.0)
    scn.net.move("mn2", "wlan0", "visited2", at=1.0)
    scn.run(10)
    cache = {e.home_address: e.care_of_address for e in scn.ha.cache}
    assert cache == {HOME_ADDRESS: COA, HOA2: IPv6Address("2001:db8:20::ff:fe00:2")}


def test_binding_cache_limit_rejects_the_second_mobile_node_with_130():
    scn = build(ha={"credentials": BOTH, "max_bindings": 1})
    _second_mobile_node(scn)
    scn.move("visited1", at=1.0)
    scn.net.move("mn2", "wlan0", "visited2", at=5.0)
    scn.run(12)
    assert [e.home_address for e in scn.ha.cache] == [HOME_ADDRESS]
    (rejected,) = scn.net.events_of("home.rejected", "mn2")
    assert rejected.fields["status"] == S.INSUFFICIENT_RESOURCES


@pytest.mark.parametrize("store", ["tuple", "mapping"])
def test_a_mobile_node_cannot_register_another_nodes_home_address(store):
    # A mapping from SPI (a key server) is checked per BU, as a tuple is at configuration.
    credentials = BOTH if store == "tuple" else {
        c.security_association.spi: c for c in BOTH}
    scn = build(ha={"credentials": credentials})
    # mn2's SA is valid, but it claims mn1's home address: 129, administratively prohibited.
    mn2 = MobileNode("mn2", random.Random(2), MobileNodeConfig(
        home_address=HOME_ADDRESS, home_prefix=HOME_PREFIX, home_agent=HA_ADDRESS,
        link_layer_address=bytes.fromhex("020000000002"), credentials=CREDENTIALS2,
        wall_clock_offset=WALL_CLOCK))
    scn.net.add_node(mn2, {"wlan0": None})
    scn.net.start(mn2)
    scn.net.move("mn2", "wlan0", "visited2", at=1.0)
    scn.run(10)
    assert len(scn.ha.cache) == 0
    (rejected,) = scn.net.events_of("home.rejected", "mn2")
    assert rejected.fields["status"] == S.ADMINISTRATIVELY_PROHIBITED


@pytest.mark.parametrize("own", ["address", "anycast"])
def test_a_registration_for_an_address_of_the_home_agents_own_gets_134(own):
    # §10.3.1: DAD on the home agent's own address, or its Home-Agents anycast address (RFC
    # 2526), finds it in use on the home link: 134, and the agent binds nothing for it.
    scn = build(ha={"accept_unauthenticated": True})
    address = HA_ADDRESS if own == "address" else scn.ha.anycast
    scn.net.inject(crafted_bu(at=1.0, sequence=7, hoa=address, protect=False), "ha", "home",
                   at=1.0)
    scn.run(5)
    (ba,) = answers(scn, "ha")
    assert ba.payload.status == S.DUPLICATE_ADDRESS_DETECTION_FAILED
    assert ba.routing_home_address == address
    assert scn.ha.cache.lookup(address, scn.net.now) is None
