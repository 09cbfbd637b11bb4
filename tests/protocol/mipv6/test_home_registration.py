"""Scenario tests: home registration, handovers, return home, retransmission, expiry."""

from __future__ import annotations

import itertools
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.sequence import seq_newer
from mipshop.protocol.mipv6 import home_registration, mobile_node
from mipshop.wire.ext_headers import DestinationOptions, RoutingHeaderType2
from mipshop.wire.icmpv6 import (
    HomeAgentAddressDiscoveryReply,
    HomeAgentAddressDiscoveryRequest,
    NeighborAdvertisement,
    RouterAdvertisement,
)
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import BindingAcknowledgement, BindingUpdate
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    MobileNodeIdentifier,
    MobilityMessageAuthentication,
    ReplayProtection,
)
from mipshop.wire.nd_options import HomeAgentInformation, PrefixInformation
from tests.harness import innermost
from tests.protocol.scenario import (
    CN_ADDRESSES,
    HA_ADDRESS,
    HOME_ADDRESS,
    HOME_PREFIX,
    build,
    care_of,
)

FIRST_ATTACH = 1.0
#: attach + RS/RA round trip (2 x 2 ms) + DAD delay (1 s): the first BU leaves then.
FIRST_BU = FIRST_ATTACH + 0.004 + 1.0


def registered(scn, node="mn"):
    return [e.fields for e in scn.net.events_of("home.registered", node)]


def bu_times(scn):
    return [round(e.time, 6) for e in scn.net.events_of("home.bu_sent", "mn")]


def test_first_home_registration():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(10)
    coa = care_of("visited1")
    assert [e.fields["address"] for e in scn.net.events_of("coa.configured")] == [coa]
    (ha_event,) = scn.net.events_of("binding.registered", "ha")
    assert ha_event.fields["home_address"] == HOME_ADDRESS
    assert ha_event.fields["care_of_address"] == coa
    assert ha_event.fields["lifetime"] == 600
    (mn_event,) = scn.net.events_of("home.registered", "mn")
    assert mn_event.fields["care_of_address"] == coa and mn_event.fields["status"] == 0
    # HA DAD (1 s) before the first BA (RFC 6275 §10.3.1).
    assert ha_event.time == pytest.approx(FIRST_BU + 0.014 + 1.0)

    (_bu_record, bu_packet), = scn.net.packets(BindingUpdate)
    bu = bu_packet.payload
    assert bu_packet.src == coa and bu_packet.dst == HA_ADDRESS
    assert bu_packet.home_address == HOME_ADDRESS
    assert bu.ack and bu.home_registration and bu.lifetime == 600
    kinds = [type(o) for o in bu.options]
    assert kinds == [AlternateCareOfAddress, MobileNodeIdentifier, ReplayProtection,
                     MobilityMessageAuthentication]
    assert bu.options[0].address == coa
    (_, ba_packet), = scn.net.packets(BindingAcknowledgement)
    assert ba_packet.dst == coa and ba_packet.routing_home_address == HOME_ADDRESS
    assert ba_packet.payload.status == 0 and ba_packet.payload.sequence == bu.sequence
    assert isinstance(ba_packet.payload.options[-1], MobilityMessageAuthentication)
    assert scn.net.claims()[HOME_ADDRESS] == ("ha", "home")
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == coa


def test_home_agent_router_advertisement():
    scn = build()
    scn.run(1)
    ras = [p for r, p in scn.net.packets(RouterAdvertisement, sender="ha")]
    assert ras, "the HA advertises on the home link"
    ra = ras[0].payload
    assert ra.home_agent
    (pio,) = [o for o in ra.options if isinstance(o, PrefixInformation)]
    assert pio.router_address and pio.prefix == HA_ADDRESS and pio.prefix_length == 64
    assert any(isinstance(o, HomeAgentInformation) for o in ra.options)


def _udp(src, dst, data=b"hello"):
    return IPv6Packet(src=src, dst=dst, payload=UDPDatagram(src_port=1, dst_port=2, data=data))


def test_tunnelled_data_plane_both_ways():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    cn = scn.cns["cn1"]
    scn.net.at(5.0, lambda now: cn.send_packet(_udp(cn.address, HOME_ADDRESS, b"down"), now))
    scn.net.at(6.0, lambda now: scn.mn.send_packet(_udp(HOME_ADDRESS, cn.address, b"up"), now))
    scn.run(8)
    (at_mn,) = [d for d in scn.net.delivered if d.node == "mn"]
    assert at_mn.packet.payload.data == b"down" and at_mn.packet.dst == HOME_ADDRESS
    (at_cn,) = [d for d in scn.net.delivered if d.node == "cn1"]
    assert at_cn.packet.payload.data == b"up" and at_cn.packet.src == HOME_ADDRESS
    tunnelled = [(r.sender, p.src, p.dst) for r, p in scn.net.packets(UDPDatagram)
                 if isinstance(p.payload, IPv6Packet)]
    assert ("ha", HA_ADDRESS, care_of("visited1")) in tunnelled
    assert ("mn", care_of("visited1"), HA_ADDRESS) in tunnelled


def test_handover_to_a_new_link():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.move("visited2", at=20.0, link_down=0.1)
    scn.run(30)
    assert [r["care_of_address"] for r in registered(scn)] == [care_of("visited1"),
                                                               care_of("visited2")]
    assert scn.ha.cache.lookup(HOME_ADDRESS, 30).care_of_address == care_of("visited2")
    detected = scn.net.events_of("movement.detected")
    assert detected[1].fields["previous_care_of_address"] == care_of("visited1")
    # Not a first registration any more: the timeout is INITIAL_BINDACK_TIMEOUT (1 s).
    assert [e.fields["timeout"] for e in scn.net.events_of("home.bu_sent")] == [1.5, 1.0]


def test_several_handovers_keep_sequence_increasing():
    scn = build()
    links = ["visited1", "visited2", "visited3", "visited1", "visited2"]
    for i, link in enumerate(links):
        scn.move(link, at=1.0 + 15 * i)
    scn.run(1.0 + 15 * len(links))
    assert [r["care_of_address"] for r in registered(scn)] == [care_of(x) for x in links]
    sequences = [b.sequence for b in scn.net.messages(BindingUpdate)]
    assert all(seq_newer(b, a) for a, b in itertools.pairwise(sequences))
    assert [e.fields["care_of_address"] for e in scn.net.events_of("binding.registered", "ha")
            ] == [care_of(x) for x in links]


def test_movement_detected_from_router_advertisements_alone():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    # No link-layer trigger: the interface silently changes link; the next periodic RA of
    # the new router (every 3 s) reveals the new prefix.
    scn.net.at(10.0, lambda now: scn.net.connect("mn", "wlan0", "visited2"))
    scn.run(20)
    assert [r["care_of_address"] for r in registered(scn)] == [care_of("visited1"),
                                                               care_of("visited2")]
    assert len(scn.net.events_of("movement.link_up")) == 1


def test_optimistic_dad_uses_the_address_at_once():
    scn = build(mn={"optimistic_dad": True})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(5)
    (configured,) = scn.net.events_of("coa.configured")
    assert configured.fields["optimistic"] and configured.time == pytest.approx(1.004)
    assert bu_times(scn)[0] == pytest.approx(1.004)


def test_return_home_deregisters():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.move("home", at=20.0)
    cn = scn.cns["cn1"]
    scn.net.at(25.0, lambda now: cn.send_packet(_udp(cn.address, HOME_ADDRESS, b"home"), now))
    scn.run(30)
    assert scn.net.events_of("movement.home")
    dereg = [p for _r, p in scn.net.packets(BindingUpdate)][-1]
    assert dereg.payload.lifetime == 0 and dereg.src == HOME_ADDRESS
    assert dereg.home_address is None and dereg.payload.home_registration
    ba = [p for _r, p in scn.net.packets(BindingAcknowledgement)][-1]
    assert ba.dst == HOME_ADDRESS and ba.routing_home_address is None
    assert ba.payload.status == 0
    assert scn.net.events_of("binding.deregistered", "ha")
    assert scn.net.events_of("home.deregistered", "mn")
    assert HOME_ADDRESS not in scn.net.claims() and len(scn.ha.cache) == 0
    nas = [p for _r, p in scn.net.packets(NeighborAdvertisement, sender="mn")]
    assert nas and nas[0].payload.target == HOME_ADDRESS and nas[0].payload.override
    (delivered,) = [d for d in scn.net.delivered if d.node == "mn"]
    assert delivered.packet.payload.data == b"home"


def _drop_bas_until(scn, until):
    scn.net.drop_if(lambda p, r: r.time < until and isinstance(p.payload,
                                                                BindingAcknowledgement))


def test_ba_loss_retransmits_with_exponential_backoff_first_registration():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    _drop_bas_until(scn, 100.0)
    scn.run(200)
    times = bu_times(scn)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(times)]
    # InitialBindackTimeoutFirstReg 1.5 s, doubling, capped at MAX_BINDACK_TIMEOUT 32 s.
    assert gaps[:7] == [1.5, 3.0, 6.0, 12.0, 24.0, 32.0, 32.0]
    assert [e.fields["timeout"] for e in scn.net.events_of("home.bu_sent")][:7] == [
        1.5, 3.0, 6.0, 12.0, 24.0, 32.0, 32.0]
    assert all(e.fields["retransmission"] for e in scn.net.events_of("home.bu_sent")[1:])
    sequences = [b.sequence for b in scn.net.messages(BindingUpdate)]
    assert len(set(sequences)) == len(sequences)  # every retransmission: a new number
    assert len(registered(scn)) == 1 and registered(scn)[0]["sequence"] == sequences[-1]


def test_ba_loss_after_handover_starts_at_one_second():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.move("visited2", at=20.0)
    _drop_bas_until_after = 20.0
    scn.net.drop_if(lambda p, r: _drop_bas_until_after < r.time < 27.5
                    and isinstance(p.payload, BindingAcknowledgement))
    scn.run(40)
    times = [t for t in bu_times(scn) if t > 20]
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(times)]
    assert gaps == [1.0, 2.0, 4.0]
    assert registered(scn)[-1]["care_of_address"] == care_of("visited2")


def test_sequence_number_wraps_around(monkeypatch):
    monkeypatch.setattr(home_registration, "initial_sequence", lambda rng: 65533)
    scn = build()
    for i, link in enumerate(["visited1", "visited2", "visited3", "visited1"]):
        scn.move(link, at=1.0 + 10 * i)
    scn.run(45)
    sequences = [b.sequence for b in scn.net.messages(BindingUpdate)]
    assert sequences == [65534, 65535, 0, 1]
    assert [e.fields["sequence"] for e in scn.net.events_of("binding.registered", "ha")] == [
        65534, 65535, 0, 1]
    assert scn.ha.cache.lookup(HOME_ADDRESS, 45).sequence == 1


def test_binding_expires_at_the_home_agent():
    scn = build(mn={"home_binding_lifetime": 40.0})
    scn.move("visited1", at=FIRST_ATTACH)
    # The MN loses its link for good before it can refresh.
    scn.net.at(10.0, lambda now: scn.net.connect("mn", "wlan0", None))
    scn.run(60)
    (registered_at,) = scn.net.events_of("binding.registered", "ha")
    (expired,) = scn.net.events_of("binding.expired", "ha")
    assert expired.time == pytest.approx(registered_at.time + 40.0)
    assert HOME_ADDRESS not in scn.net.claims() and len(scn.ha.cache) == 0


def test_binding_is_refreshed_before_expiry():
    scn = build(mn={"home_binding_lifetime": 40.0})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(130)
    assert not scn.net.events_of("binding.expired")
    refreshes = scn.net.events_of("binding.refreshed", "ha")
    assert len(refreshes) == 3
    # Refresh at 80% of the granted lifetime, counted from when the BU was sent.
    assert refreshes[0].time - FIRST_BU == pytest.approx(32.0 + 0.014, abs=0.01)


def test_binding_refresh_advice_sets_the_refresh_interval():
    scn = build(ha={"refresh_interval": 12.0}, mn={"home_binding_lifetime": 400.0})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(40)
    times = [e.time for e in scn.net.events_of("home.bu_sent")]
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)] == [12.0] * 3


def test_dhaad_finds_the_home_agent():
    scn = build(mn={"home_agent": None}, ha={
        "other_home_agents": ((IPv6Address("2001:db8:1::2"), 5),)})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(10)
    (request,) = [p for _r, p in scn.net.packets(HomeAgentAddressDiscoveryRequest)]
    assert request.dst == IPv6Address("2001:db8:1::fdff:ffff:ffff:fffe")
    assert request.src == care_of("visited1")
    (reply,) = [p for _r, p in scn.net.packets(HomeAgentAddressDiscoveryReply)]
    assert reply.src == HA_ADDRESS and reply.dst == care_of("visited1")
    assert reply.payload.home_agents == (IPv6Address("2001:db8:1::2"), HA_ADDRESS)
    (done,) = scn.net.events_of("dhaad.completed")
    assert done.fields["home_agents"][0] == IPv6Address("2001:db8:1::2")


def test_dhaad_then_registration_with_the_reachable_home_agent():
    scn = build(mn={"home_agent": None})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(10)
    assert scn.mn.home_agent == HA_ADDRESS
    assert registered(scn)[0]["care_of_address"] == care_of("visited1")


def test_mobile_prefix_solicitation_and_advertisement():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.net.at(5.0, lambda now: scn.mn.solicit_mobile_prefix(now))
    scn.run(8)
    (received,) = scn.net.events_of("mobile_prefix.received")
    assert received.fields["prefixes"] == (HOME_PREFIX,)
    advert = next(p for _r, p in scn.net.packets() if type(p.payload).__name__ ==
              "MobilePrefixAdvertisement")
    assert advert.routing_home_address == HOME_ADDRESS and advert.dst == care_of("visited1")
    solicitation = next(p for _r, p in scn.net.packets() if type(p.payload).__name__ ==
                    "MobilePrefixSolicitation")
    assert solicitation.home_address == HOME_ADDRESS


def test_unauthenticated_bu_is_refused_by_default():
    scn = build(mn={"credentials": None})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(10)
    assert not registered(scn) and len(scn.ha.cache) == 0
    failures = scn.net.events_of("auth.failed", "ha")
    assert failures and all(f.fields["reason"] == "unauthenticated" for f in failures)
    assert scn.ha.counters["auth.unauthenticated"] == len(failures)
    assert not list(scn.net.packets(BindingAcknowledgement))


def test_accept_unauthenticated_warns_and_registers():
    scn = build(mn={"credentials": None}, ha={"accept_unauthenticated": True})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(10)
    (warning,) = scn.net.events_of("ha.warning")
    assert warning.time == 0.0 and warning.fields["reason"] == "accept_unauthenticated"
    assert registered(scn)[0]["care_of_address"] == care_of("visited1")
    (_r, bu), = scn.net.packets(BindingUpdate)
    assert not any(isinstance(o, MobilityMessageAuthentication) for o in bu.payload.options)


def test_reverse_tunnel_from_an_unregistered_care_of_address_is_dropped():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(5)
    from mipshop.wire.ipv6 import encapsulate, encode_packet
    spoofed = encapsulate(_udp(HOME_ADDRESS, CN_ADDRESSES["cn1"]),
                          src=care_of("visited3"), dst=HA_ADDRESS)
    scn.net.inject(encode_packet(spoofed), "ha", "home")
    scn.run(6)
    assert scn.ha.counters["drop.reverse_tunnel_unbound"] == 1
    assert not scn.net.delivered


def test_home_address_option_is_carried_in_destination_options():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(5)
    (_r, bu), = scn.net.packets(BindingUpdate)
    assert any(isinstance(h, DestinationOptions) for h in bu.extension_headers)
    (_r, ba), = scn.net.packets(BindingAcknowledgement)
    assert any(isinstance(h, RoutingHeaderType2) for h in ba.extension_headers)
    assert innermost(ba) is ba


def test_link_layer_blip_on_the_same_link_needs_no_new_registration():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.move("visited1", at=10.0, link_down=0.2)
    scn.run(15)
    assert len(scn.net.events_of("movement.link_up")) == 2
    assert len(scn.net.events_of("movement.detected")) == 1
    assert len(registered(scn)) == 1


def test_switch_to_the_next_home_agent_after_max_bindack_timeout():
    ghost = IPv6Address("2001:db8:1::2")  # listed by DHAAD first, but never answers
    scn = build(mn={"home_agent": None}, ha={"other_home_agents": ((ghost, 9),)})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(120)
    to_ghost = [p for _r, p in scn.net.packets(BindingUpdate) if p.dst == ghost]
    assert len(to_ghost) == 6  # timeouts 1.5, 3, 6, 12, 24, 32: the ceiling is reached
    (switched,) = scn.net.events_of("home_agent.switched")
    assert switched.fields["home_agent"] == HA_ADDRESS
    assert registered(scn)[0]["care_of_address"] == care_of("visited1")


def test_status_1_makes_the_mobile_node_solicit_mobile_prefixes():
    scn = build(home_router={"preferred_lifetime": 100})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(10)
    assert registered(scn)[0]["status"] == 1
    assert scn.net.events_of("mobile_prefix.solicitation", "mn")
    assert scn.net.events_of("mobile_prefix.received", "mn")[0].fields["prefixes"] == (
        HOME_PREFIX,)


def test_dhaad_retransmits_then_gives_up():
    scn = build(mn={"home_agent": None})
    scn.net.drop_if(lambda p, r: isinstance(p.payload, HomeAgentAddressDiscoveryReply))
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(200)
    times = [e.time for e in scn.net.events_of("dhaad.request")]
    # INITIAL_DHAAD_TIMEOUT 3 s, doubling, DHAAD_RETRIES 4 retransmissions.
    assert [round(b - a, 6) for a, b in itertools.pairwise(times)] == [3.0, 6.0, 12.0, 24.0]
    (failed,) = scn.net.events_of("dhaad.failed")
    assert failed.time == pytest.approx(times[-1] + 48.0)


def test_max_update_rate_limits_binding_updates_to_the_home_agent():
    scn = build(mn={"optimistic_dad": True})
    links = ["visited1", "visited2", "visited3", "visited1", "visited2"]
    for i, link in enumerate(links):
        scn.move(link, at=1.0 + 0.1 * i)
    scn.run(10)
    times = [e.time for e in scn.net.events_of("home.bu_sent")]
    for t in times:  # MAX_UPDATE_RATE: at most 3 BUs in any 1-second window
        assert len([u for u in times if t <= u < t + 1.0]) <= 3
    assert registered(scn)[-1]["care_of_address"] == care_of("visited2")


def test_starting_at_home_then_leaving():
    scn = build()
    scn.move("home", at=0.5)
    scn.move("visited1", at=10.0)
    scn.run(15)
    (home,) = scn.net.events_of("movement.home")
    assert home.fields["previous_care_of_address"] is None
    assert not [p for _r, p in scn.net.packets(BindingUpdate) if p.payload.lifetime == 0]
    assert registered(scn)[0]["care_of_address"] == care_of("visited1")


def test_malformed_bytes_are_counted_and_dropped():
    scn = build()
    scn.net.inject(b"\x60" + bytes(20), "ha", "home", at=1.0)
    scn.run(2)
    (event,) = scn.net.events_of("packet.malformed", "ha")
    assert event.fields["reason"] and scn.ha.counters["drop.malformed"] == 1


def test_unknown_mobility_header_type_gets_binding_error_status_2():
    from mipshop.wire.ipv6 import encode_packet
    from mipshop.wire.mh import BindingError, UnknownMobilityMessage

    scn = build()
    probe = IPv6Packet(src=care_of("visited1"), dst=HA_ADDRESS,
                       payload=UnknownMobilityMessage(mh_type=99))
    scn.net.inject(encode_packet(probe), "ha", "home", at=1.0)
    scn.run(2)
    (error,) = [p for _r, p in scn.net.packets(BindingError, sender="ha")]
    assert error.payload.status == 2 and error.dst == care_of("visited1")


def test_unsolicited_mobile_prefix_advertisement_is_answered_with_a_solicitation():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.net.at(5.0, scn.ha.advertise_prefixes)
    scn.run(30)
    adverts = scn.net.events_of("mobile_prefix.advertisement", "ha")
    assert [a.fields["solicited"] for a in adverts] == [False, True]
    assert scn.mn.counters["drop.mpa_unsolicited"] == 1
    (received,) = scn.net.events_of("mobile_prefix.received", "mn")
    assert received.fields["prefixes"] == (HOME_PREFIX,)


def test_unsolicited_mobile_prefix_advertisements_are_retransmitted():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    # The mobile node's solicitations are lost: PREFIX_ADV_TIMEOUT 3 s, doubling, 3 retries.
    scn.net.drop_if(lambda p, r: type(p.payload).__name__ == "MobilePrefixSolicitation")
    scn.net.at(5.0, scn.ha.advertise_prefixes)
    scn.run(60)
    times = [a.time for a in scn.net.events_of("mobile_prefix.advertisement", "ha")]
    assert [round(b - a, 6) for a, b in itertools.pairwise(times)] == [3.0, 6.0, 12.0]


def test_returning_home_during_the_home_agents_dad_leaves_no_binding():
    scn = build(mn={"optimistic_dad": True})
    scn.move("visited1", at=FIRST_ATTACH)
    scn.move("home", at=1.5)  # the HA is still running DAD for the first BU
    scn.run(10)
    assert scn.net.events_of("dad.started", "ha")
    assert not scn.net.events_of("binding.registered", "ha")
    assert len(scn.ha.cache) == 0 and HOME_ADDRESS not in scn.net.claims()
    # No binding to delete: 133, which ends the mobile node's entry.
    assert scn.net.events_of("home.rejected", "mn")[0].fields["status"] == 133
    assert scn.mn.home.entry is None


def test_a_retransmission_during_dad_does_not_restart_it():
    scn = build(ha={"dad_duration": 2.0})  # longer than the MN's first timeout (1.5 s)
    scn.move("visited1", at=FIRST_ATTACH)
    scn.run(20)
    (started,) = scn.net.events_of("dad.started", "ha")
    (registered_at,) = scn.net.events_of("binding.registered", "ha")
    assert registered_at.time == pytest.approx(started.time + 2.0)
    sent = scn.net.events_of("home.bu_sent", "mn")
    assert len(sent) == 2 and sent[1].time < registered_at.time  # retransmitted during DAD
    assert registered(scn)[0]["sequence"] == sent[1].fields["sequence"]


def test_reverse_tunnelling_follows_the_bu_before_its_ba():
    """§11.3.1 with the care-of address of the BU just sent: a packet sent between the BU and
    its BA reaches the home agent after the BU and is accepted (§10.4.5), instead of being
    held back at the node (no registered care-of address) or sent from the old one."""
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.move("visited2", at=20.0, link_down=0.1)
    cn = scn.cns["cn1"]
    bu_at = 20.1 + 0.004 + 1.0  # attach + RS/RA + DAD
    scn.net.at(bu_at + 0.001, lambda now: scn.mn.send_packet(
        _udp(HOME_ADDRESS, cn.address, b"up"), now))
    scn.run(30)
    sent = [e for e in scn.net.events_of("home.bu_sent", "mn") if e.time > 20]
    assert sent[0].time == pytest.approx(bu_at)
    assert registered(scn)[-1]["care_of_address"] == care_of("visited2")
    assert scn.net.events_of("home.registered", "mn")[-1].time > bu_at + 0.001
    (at_cn,) = [d for d in scn.net.delivered if d.node == "cn1"]
    assert at_cn.packet.payload.data == b"up"
    (outer,) = [p for r, p in scn.net.packets(UDPDatagram) if r.sender == "mn"]
    assert outer.src == care_of("visited2") and outer.dst == HA_ADDRESS
    assert not scn.mn.counters["drop.no_binding"]


@pytest.mark.parametrize("correspondents", [(), ("cn1",)])
def test_packets_sent_while_the_link_is_down_go_out_on_the_next_link(correspondents):
    """The node holds what its upper layer sends between two links and routes it at attach
    (mobile_node HELD_PACKETS): nothing is thrown away for the radio's few milliseconds;
    with route optimisation to the correspondent, through its binding (at the attach's
    time: RFC 6275 §11.3.1 routes it only while that binding lasts)."""
    scn = build(correspondents=correspondents)
    scn.move("visited1", at=FIRST_ATTACH)
    scn.move("visited2", at=20.0, link_down=0.1)
    cn = scn.cns["cn1"]
    scn.net.at(20.05, lambda now: scn.mn.send_packet(_udp(HOME_ADDRESS, cn.address, b"up"), now))
    scn.run(30)
    assert scn.mn.counters["held"] == 1
    (at_cn,) = [d for d in scn.net.delivered if d.node == "cn1"]
    assert at_cn.packet.payload.data == b"up"
    (sent,) = [r for r, p in scn.net.packets(UDPDatagram) if r.sender == "mn"]
    assert sent.time >= 20.1  # it left once attached to visited2


def test_held_packets_are_bounded_and_counted():
    scn = build()
    scn.move("visited1", at=FIRST_ATTACH)
    scn.move("visited2", at=20.0, link_down=0.1)
    cn = scn.cns["cn1"]

    def burst(now: float) -> None:
        for k in range(mobile_node.HELD_PACKETS + 5):
            scn.mn.send_packet(_udp(HOME_ADDRESS, cn.address, k.to_bytes(2, "big")), now)
    scn.net.at(20.05, burst)
    scn.run(30)
    assert scn.mn.counters["held"] == mobile_node.HELD_PACKETS
    assert scn.mn.counters["drop.held_overflow"] == 5
    assert len([d for d in scn.net.delivered if d.node == "cn1"]) == mobile_node.HELD_PACKETS
