"""HMIPv6 scenarios (RFC 5380 §6.1, §8, §10): registration, movement, MAP failure, errors.

Assertions are made on the decoded packets of the harness log wherever possible: the final
destination of a Binding Update is the innermost packet's, since under HMIPv6 every BU to the
home agent or a correspondent leaves the mobile node inside the LCoA -> MAP tunnel.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.hmipv6.selection import shared_options
from mipshop.protocol.mipv6.signalling import protect_mn_ha
from mipshop.wire.ext_headers import RoutingHeaderType2
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from mipshop.wire.mh import BindingAcknowledgement, BindingUpdate
from mipshop.wire.nd_options import MAPOption
from tests.harness import innermost
from tests.protocol.hmip_scenario import (
    DOMAIN1,
    DOMAIN_LINKS,
    MAP_ADDRESSES,
    MAP_CREDENTIALS,
    build_hmip,
    lcoa,
    local_bu,
    map_option,
    rcoa,
)
from tests.protocol.scenario import CN_ADDRESSES, HA_ADDRESS, HOME_ADDRESS, care_of

MAP1, MAP2 = MAP_ADDRESSES["map1"], MAP_ADDRESSES["map2"]
CN1 = CN_ADDRESSES["cn1"]


def bus(scn, after=0.0):
    """(time, final destination, BU, care-of address) of every BU the MN sent after ``after``."""
    out = []
    for record, packet in scn.net.packets(BindingUpdate, sender="mn"):
        if record.time <= after:
            continue
        inner = innermost(packet)
        acoa = [o for o in inner.payload.options if hasattr(o, "address")]
        out.append((record.time, inner.dst, inner.payload,
                    acoa[0].address if acoa else inner.src, inner.home_address))
    return out


def destinations(scn, after=0.0):
    return [dst for _t, dst, _bu, _coa, _hao in bus(scn, after)]


def down(scn, at, data):
    cn = scn.cns["cn1"]
    scn.net.at(at, lambda now: cn.send_packet(IPv6Packet(
        src=CN1, dst=HOME_ADDRESS, payload=UDPDatagram(src_port=9, dst_port=9, data=data)), now))


def up(scn, at, data):
    scn.net.at(at, lambda now: scn.mn.send_packet(IPv6Packet(
        src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(src_port=9, dst_port=9, data=data)), now))


def map_ba_statuses(scn, after=0.0):
    """Statuses of the BAs MAP1 itself sent (not the HA's BAs it tunnels)."""
    return [p.payload.status for r, p in scn.net.packets(BindingAcknowledgement, sender="map1")
            if r.time > after and isinstance(p.payload, BindingAcknowledgement)]


def delivered(scn, node):
    return [d.packet.payload.data for d in scn.net.delivered if d.node == node]


def udp_paths(scn, data):
    """For each logged copy of the datagram ``data``: (sender, outer src, outer dst, depth)."""
    paths = []
    for record, packet in scn.net.packets(UDPDatagram):
        if innermost(packet).payload.data != data:
            continue
        depth, p = 0, packet
        while isinstance(p.payload, IPv6Packet):
            depth, p = depth + 1, p.payload
        paths.append((record.sender, packet.src, packet.dst, depth))
    return paths


def test_first_registration_local_bu_then_home_and_correspondent():
    scn = build_hmip(correspondents=("cn1",))
    scn.move("d1a", at=1.0)
    scn.run(8)
    sent = bus(scn)
    assert [dst for _t, dst, *_ in sent] == [MAP1, HA_ADDRESS, CN1]
    _t, _dst, local, _coa, hao = sent[0]
    # RFC 5380 §4, §6.1: M and A set, RCoA in the Home Address option, from the LCoA.
    assert local.map_registration and local.ack and not local.home_registration
    assert hao == rcoa("map1")
    (_r, local_packet), *_ = scn.net.packets(BindingUpdate, sender="mn")
    assert local_packet.src == lcoa("d1a") and local_packet.dst == MAP1
    assert not isinstance(local_packet.payload, IPv6Packet)  # the local BU is not tunnelled
    # The HA and the CN bind the home address to the RCoA, not the LCoA (RFC 5380 §6.1).
    assert [coa for _t, dst, _bu, coa, _hao in sent[1:]] == [rcoa("map1"), rcoa("map1")]
    assert scn.ha.cache.lookup(HOME_ADDRESS, 8).care_of_address == rcoa("map1")
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 8).care_of_address == rcoa("map1")
    # The HA BU waited for the MAP's BA (SHOULD) and asks no more than the MAP granted.
    (map_ok,) = scn.net.events_of("map.registered", "mn")
    (home_bu,) = scn.net.events_of("home.bu_sent", "mn")
    assert home_bu.time >= map_ok.time
    assert home_bu.fields["lifetime"] <= map_ok.fields["lifetime"]
    # The HA's BU travelled LCoA -> MAP1 -> HA (reverse tunnel).
    ha_bu = [p for _r, p in scn.net.packets(BindingUpdate, sender="mn")][1]
    assert (ha_bu.src, ha_bu.dst) == (lcoa("d1a"), MAP1) and ha_bu.payload.src == rcoa("map1")


def test_intra_domain_move_sends_only_the_local_bu_and_data_keeps_flowing():
    scn = build_hmip(correspondents=("cn1",))
    scn.move("d1a", at=1.0)
    scn.move("d1b", at=10.0, link_down=0.05)
    down(scn, 14.0, b"down-after-move")
    up(scn, 14.5, b"up-after-move")
    scn.run(20)
    after = bus(scn, after=10.0)
    # Only the local BU, to MAP1, binding the same RCoA to the new LCoA (RFC 5380 §6.1).
    assert [dst for _t, dst, *_ in after] == [MAP1]
    _t, _dst, local, _coa, hao = after[0]
    assert local.map_registration and hao == rcoa("map1")
    assert scn.maps["map1"].cache.lookup(rcoa("map1"), 20).care_of_address == lcoa("d1b")
    assert not scn.net.events_of("home.bu_sent", "mn")[1:]
    assert not [e for e in scn.net.events_of("ro.bu_sent", "mn") if e.time > 10]
    # Data both ways, through the MAP tunnel (route-optimised via the RCoA).
    assert delivered(scn, "mn") == [b"down-after-move"]
    assert delivered(scn, "cn1") == [b"up-after-move"]
    assert ("map1", MAP1, lcoa("d1b"), 1) in udp_paths(scn, b"down-after-move")
    assert ("mn", lcoa("d1b"), MAP1, 1) in udp_paths(scn, b"up-after-move")


def test_double_encapsulation_through_the_home_agent():
    scn = build_hmip()  # no correspondent registration: everything goes via the HA
    scn.move("d1a", at=1.0)
    down(scn, 6.0, b"via-ha-down")
    up(scn, 6.5, b"via-ha-up")
    scn.run(8)
    assert delivered(scn, "mn") == [b"via-ha-down"]
    assert delivered(scn, "cn1") == [b"via-ha-up"]
    # RFC 5380 §6.1 / §11: HA -> RCoA, then MAP -> LCoA around it (two tunnel headers).
    assert ("ha", HA_ADDRESS, rcoa("map1"), 1) in udp_paths(scn, b"via-ha-down")
    assert ("map1", MAP1, lcoa("d1a"), 2) in udp_paths(scn, b"via-ha-down")
    assert ("mn", lcoa("d1a"), MAP1, 2) in udp_paths(scn, b"via-ha-up")
    assert ("map1", rcoa("map1"), HA_ADDRESS, 1) in udp_paths(scn, b"via-ha-up")


def test_inter_domain_move_new_rcoa_and_previous_map_forwarding():
    scn = build_hmip(correspondents=("cn1",))
    scn.move("d1a", at=1.0)
    scn.move("d2a", at=20.0, link_down=0.05)
    # In flight: the CN still holds RCoA1 (RO) until the MN's new registrations complete.
    down(scn, 21.07, b"in-flight")
    scn.run(30)
    after = bus(scn, after=20.0)
    final = [(dst, coa, hao) for _t, dst, _bu, coa, hao in after]
    # RFC 5380 §6.1, §8: previous MAP (old RCoA -> new LCoA), new MAP, then HA and CN.
    assert (MAP1, lcoa("d2a"), rcoa("map1")) in final
    assert (MAP2, lcoa("d2a"), rcoa("map2")) in final
    assert (HA_ADDRESS, rcoa("map2"), HOME_ADDRESS) in final
    assert (CN1, rcoa("map2"), HOME_ADDRESS) in final
    order = [dst for dst, *_ in final]
    assert order.index(MAP2) < order.index(HA_ADDRESS) < order.index(CN1)
    (changed,) = scn.net.events_of("map.domain_changed", "mn")
    assert changed.fields == {"previous_map": MAP1, "map": MAP2,
                              "previous_rcoa": rcoa("map1"), "rcoa": rcoa("map2")}
    assert scn.maps["map1"].cache.lookup(rcoa("map1"), 30).care_of_address == lcoa("d2a")
    assert scn.ha.cache.lookup(HOME_ADDRESS, 30).care_of_address == rcoa("map2")
    # The in-flight packet went to RCoA1 and MAP1 forwarded it to the new LCoA.
    assert delivered(scn, "mn") == [b"in-flight"]
    assert ("map1", MAP1, lcoa("d2a"), 1) in udp_paths(scn, b"in-flight")


def test_in_flight_packet_is_lost_without_the_previous_map_update():
    scn = build_hmip(correspondents=("cn1",), client={"update_previous_map": False})
    scn.move("d1a", at=1.0)
    scn.move("d2a", at=20.0, link_down=0.05)
    down(scn, 21.07, b"in-flight")
    scn.run(30)
    assert MAP1 not in destinations(scn, after=20.0)
    assert delivered(scn, "mn") == []


def test_map_failure_makes_the_node_reselect_and_reregister():
    # MAP2 is advertised too, nearer (Dist 1): MAP1 (Dist 2) is selected first.
    both = (map_option("map1"), map_option("map2", distance=1))
    scn = build_hmip(correspondents=("cn1",), advertised={"d1a": both},
                     maps={"map2": {"allowed_lcoa_prefixes": DOMAIN1}})
    scn.move("d1a", at=1.0)
    router = scn.domain_routers["d1a"]
    failed = (map_option("map1", valid_lifetime=0), map_option("map2", distance=1))
    scn.net.at(15.0, lambda now: router.set_map_options(failed, now))
    scn.run(25)
    assert [e.fields["map"] for e in scn.net.events_of("map.selected", "mn")] == [MAP1, MAP2]
    (failure,) = scn.net.events_of("map.failed", "mn")
    assert failure.fields["map"] == MAP1 and failure.time >= 15.0
    final = [(dst, coa) for _t, dst, _bu, coa, _hao in bus(scn, after=15.0)]
    # No BU to the failed MAP; a new local binding, then the HA and the CN learn RCoA2.
    assert [dst for dst, _coa in final] == [MAP2, HA_ADDRESS, CN1]
    assert final[1][1] == final[2][1] == rcoa("map2")
    assert scn.ha.cache.lookup(HOME_ADDRESS, 25).care_of_address == rcoa("map2")


def test_map_failure_with_no_other_map_falls_back_to_plain_mipv6():
    scn = build_hmip(correspondents=("cn1",))
    scn.move("d1a", at=1.0)
    router = scn.domain_routers["d1a"]
    scn.net.at(15.0, lambda now: router.set_map_options(
        (map_option("map1", valid_lifetime=0),), now))
    down(scn, 20.0, b"plain")
    scn.run(25)
    assert scn.net.events_of("map.failed", "mn") and scn.net.events_of("map.unavailable", "mn")
    final = [(dst, coa) for _t, dst, _bu, coa, _hao in bus(scn, after=15.0)]
    assert final == [(HA_ADDRESS, lcoa("d1a")), (CN1, lcoa("d1a"))]
    assert scn.ha.cache.lookup(HOME_ADDRESS, 25).care_of_address == lcoa("d1a")
    assert delivered(scn, "mn") == [b"plain"]
    assert not [p for r, p in scn.net.packets(UDPDatagram, sender="map1") if r.time > 15]


def test_no_usable_map_is_plain_mipv6():
    unusable = (map_option("map1", preference=0), map_option("map2", valid_lifetime=0))
    scn = build_hmip(advertised={"d1a": unusable})
    scn.move("d1a", at=1.0)
    scn.move("visited1", at=10.0)  # a link without any MAP option
    scn.run(15)
    assert not scn.net.events_of("map.selected", "mn")
    assert destinations(scn) == [HA_ADDRESS, HA_ADDRESS]
    assert [coa for _t, _d, _bu, coa, _h in bus(scn)] == [lcoa("d1a"), care_of("visited1")]


def test_foreign_lcoa_gets_129_and_the_node_falls_back():
    # An AR of domain 2 wrongly advertising MAP1, which accepts domain 1 LCoAs only.
    scn = build_hmip(advertised={"d2a": (map_option("map1"),)},
                     maps={"map1": {"allowed_lcoa_prefixes": DOMAIN1}})
    scn.move("d2a", at=1.0)
    scn.run(8)
    (ba,) = [p for _r, p in scn.net.packets(BindingAcknowledgement, sender="map1")]
    assert ba.payload.status == 129 and ba.routing_home_address == rcoa("map1")
    (rejected,) = scn.net.events_of("map.rejected", "mn")
    assert rejected.fields["status"] == 129
    assert len(scn.maps["map1"].cache) == 0
    assert scn.ha.cache.lookup(HOME_ADDRESS, 8).care_of_address == lcoa("d2a")


def test_map_ba_without_a_routing_header_is_ignored():
    scn = build_hmip()
    undo = scn.net.drop_if(lambda p, r: r.sender == "map1"
                           and isinstance(p.payload, BindingAcknowledgement))
    scn.move("d1a", at=1.0)
    scn.run(2.1)
    (_r, bu_packet), = scn.net.packets(BindingUpdate, sender="mn")
    bu = bu_packet.payload
    timestamp = bu.options[1].timestamp
    # A well-formed, authenticated and matching BA, but sent without the RH2 (RCoA).
    ba = protect_mn_ha(BindingAcknowledgement(status=0, sequence=bu.sequence, lifetime=600),
                       MAP_CREDENTIALS, timestamp=timestamp, care_of_address=lcoa("d1a"),
                       home_address=rcoa("map1"))
    bare = IPv6Packet(src=MAP1, dst=lcoa("d1a"), payload=ba)
    scn.net.inject(encode_packet(bare), "mn", "wlan0", at=2.2)
    # And one whose RH2 carries another address: dropped by the node's RH2 check.
    other = IPv6Packet(src=MAP1, dst=lcoa("d1a"), payload=ba, extension_headers=(
        RoutingHeaderType2(home_address=IPv6Address("2001:db8:a1::bad")),))
    scn.net.inject(encode_packet(other), "mn", "wlan0", at=2.25)
    scn.run(2.4)
    (ignored,) = scn.net.events_of("map.ba_ignored", "mn")
    assert ignored.fields == {"map": MAP1, "reason": "no_rcoa_routing_header"}
    assert scn.mn.counters["drop.bad_routing_header"] == 1
    assert not scn.net.events_of("map.registered", "mn")
    assert destinations(scn) == [MAP1]  # nothing sent to the HA
    undo()
    scn.run(10)  # the retransmission's real BA (with the RH2) completes the registration
    assert scn.net.events_of("map.registered", "mn")
    assert destinations(scn)[-1] == HA_ADDRESS


def test_registrations_never_outlive_the_map_binding():
    scn = build_hmip(correspondents=("cn1",), maps={"map1": {"max_binding_lifetime": 100}})
    scn.move("d1a", at=1.0)
    scn.run(200)
    granted = [e.fields["lifetime"] for e in scn.net.events_of("map.registered", "mn")]
    assert granted == [100]
    homes = [e.fields["lifetime"] for e in scn.net.events_of("home.bu_sent", "mn")]
    ros = [e.fields["lifetime"] for e in scn.net.events_of("ro.bu_sent", "mn")]
    assert homes and ros and max(homes + ros) <= 100
    # The local binding is refreshed (80%) and the HA binding stays alive throughout.
    assert len(scn.net.events_of("map.refreshed", "mn")) >= 2
    assert scn.ha.cache.lookup(HOME_ADDRESS, 200) is not None
    assert scn.maps["map1"].cache.lookup(rcoa("map1"), 200) is not None


def test_r_flag_map_assigns_the_rcoa_and_the_node_adopts_it():
    # The MAP assigns the RCoA the node's MN-MAP SA names (not the node's stateless one).
    named = IPv6Address("2001:db8:a1::a55:1")
    scn = build_hmip(advertised={"d1a": (map_option("map1", r_flag=True),)},
                     maps={"map1": {"allocate_rcoa": True, "credentials": (
                         replace(MAP_CREDENTIALS, home_address=named),)}})
    scn.move("d1a", at=1.0)
    scn.run(8)
    (assigned_event,) = scn.net.events_of("map.rcoa_assigned", "mn")
    assigned = assigned_event.fields["assigned"]
    assert assigned_event.fields["proposed"] == rcoa("map1") and assigned == named
    assert scn.ha.cache.lookup(HOME_ADDRESS, 8).care_of_address == assigned
    assert scn.maps["map1"].cache.lookup(assigned, 8).care_of_address == lcoa("d1a")
    up(scn, 9.0, b"assigned")
    scn.run(10)
    assert delivered(scn, "cn1") == [b"assigned"]


def test_returning_home_forgets_the_local_bindings():
    scn = build_hmip()
    scn.move("d1a", at=1.0)
    scn.move("home", at=10.0)
    scn.run(15)
    assert scn.client.bindings == {} and scn.client.selected is None
    assert scn.net.events_of("home.deregistered", "mn")
    assert destinations(scn, after=10.0) == [HA_ADDRESS]


def test_previous_map_binding_is_not_refreshed_and_is_forgotten_when_it_expires():
    scn = build_hmip(correspondents=("cn1",), client={"previous_map_lifetime": 40.0})
    scn.move("d1a", at=1.0)
    scn.move("d2a", at=20.0, link_down=0.05)
    scn.run(100)
    to_map1 = [t for t, dst, *_ in bus(scn, after=20.0) if dst == MAP1]
    assert len(to_map1) == 1  # lazy release: no refresh of the previous MAP's binding
    (lost,) = scn.net.events_of("map.binding_lost", "mn")
    assert lost.fields == {"map": MAP1, "reason": "expired", "previous": True}
    assert lost.time >= 61.0
    assert set(scn.client.bindings) == {MAP2}
    assert scn.maps["map1"].cache.lookup(rcoa("map1"), 100) is None
    assert scn.net.events_of("binding.expired", "map1")


def test_moving_back_into_the_first_domain_reuses_its_rcoa():
    scn = build_hmip(correspondents=("cn1",))
    scn.move("d1a", at=1.0)
    scn.move("d2a", at=20.0, link_down=0.05)
    scn.move("d1b", at=30.0, link_down=0.05)
    down(scn, 40.0, b"back")
    scn.run(45)
    final = [(dst, coa, hao) for _t, dst, _bu, coa, hao in bus(scn, after=30.0)]
    assert (MAP2, lcoa("d1b"), rcoa("map2")) in final  # MAP2 is now the previous MAP
    assert (MAP1, lcoa("d1b"), rcoa("map1")) in final
    assert (HA_ADDRESS, rcoa("map1"), HOME_ADDRESS) in final
    assert scn.ha.cache.lookup(HOME_ADDRESS, 45).care_of_address == rcoa("map1")
    assert delivered(scn, "mn") == [b"back"]


def test_entering_a_map_domain_from_a_plain_link():
    scn = build_hmip()
    scn.move("visited1", at=1.0)
    scn.move("d1a", at=10.0, link_down=0.05)
    scn.run(15)
    assert [(dst, coa) for _t, dst, _bu, coa, _h in bus(scn)] == [
        (HA_ADDRESS, care_of("visited1")), (MAP1, lcoa("d1a")), (HA_ADDRESS, rcoa("map1"))]


def test_the_map_never_learns_the_home_address():
    scn = build_hmip(correspondents=("cn1",))
    scn.move("d1a", at=1.0)
    down(scn, 6.0, b"x")
    up(scn, 6.5, b"y")
    scn.run(10)
    anchor = scn.maps["map1"]
    seen = [v for e in scn.net.events if e.node == "map1" for v in e.fields.values()]
    assert HOME_ADDRESS not in seen
    assert all(HOME_ADDRESS not in (e.home_address, e.care_of_address) for e in anchor.cache)


def test_unanswered_local_bus_make_the_node_give_up_on_the_map():
    scn = build_hmip()
    scn.net.drop_if(lambda p, r: r.sender == "mn" and p.dst == MAP1
                    and isinstance(p.payload, BindingUpdate))
    scn.move("d1a", at=1.0)
    scn.run(80)
    sent = scn.net.events_of("map.bu_sent", "mn")
    assert len(sent) == 5  # the original and max_retries (4) retransmissions
    assert [e.fields["timeout"] for e in sent] == [1.5, 3.0, 6.0, 12.0, 24.0]
    (lost,) = scn.net.events_of("map.binding_lost", "mn")
    assert lost.fields["reason"] == "no_answer"
    # Plain Mobile IPv6 on the LCoA afterwards (RFC 5380 §7.1: no other MAP).
    assert scn.ha.cache.lookup(HOME_ADDRESS, 80).care_of_address == lcoa("d1a")
    assert scn.client.selected is None


def test_sequence_number_out_of_window_is_resynchronised():
    scn = build_hmip()
    scn.move("d1a", at=1.0)
    scn.run(5)
    binding = scn.client.current
    ahead = (binding.entry.sequence + 1000) & 0xFFFF
    # Someone with the node's SA (e.g. a previous incarnation) registered a newer number.
    scn.net.inject(local_bu(at=5.0, sequence=ahead, lcoa=lcoa("d1a")), "map1", "eth0", at=5.0)
    scn.move("d1b", at=10.0, link_down=0.05)
    scn.run(15)
    statuses = map_ba_statuses(scn, after=10.0)
    assert statuses == [135, 0]
    assert scn.client.current.entry.sequence == (ahead + 1) & 0xFFFF
    assert scn.maps["map1"].cache.lookup(rcoa("map1"), 15).care_of_address == lcoa("d1b")


def test_clock_skew_gets_144_then_the_timestamp_is_resynchronised():
    from tests.protocol.scenario import WALL_CLOCK

    scn = build_hmip(client={"wall_clock_offset": WALL_CLOCK + 100})
    scn.move("d1a", at=1.0)
    scn.run(6)
    statuses = map_ba_statuses(scn)
    assert statuses == [144, 0]
    assert scn.ha.cache.lookup(HOME_ADDRESS, 6).care_of_address == rcoa("map1")


def test_dhaad_runs_through_the_map_tunnel_after_the_local_registration():
    scn = build_hmip(mn={"home_agent": None})
    scn.move("d1a", at=1.0)
    scn.run(8)
    (request,) = scn.net.events_of("dhaad.request", "mn")
    (local_ok,) = scn.net.events_of("map.registered", "mn")
    assert request.time >= local_ok.time
    assert scn.net.events_of("dhaad.completed", "mn")
    assert scn.ha.cache.lookup(HOME_ADDRESS, 8).care_of_address == rcoa("map1")


def test_access_routers_advertise_their_configured_map_options():
    scn = build_hmip()
    scn.run(1)
    by_router = {}
    for record, packet in scn.net.packets():
        options = getattr(packet.payload, "options", ())
        if record.sender.startswith("ar-"):
            by_router[record.sender] = [o for o in options if isinstance(o, MAPOption)]
    assert by_router["ar-d1a"] == by_router["ar-d1b"] == [map_option("map1")]
    assert by_router["ar-d2a"] == [map_option("map2")]
    assert by_router["ar-visited1"] == []
    # A change (RFC 5380 §10: MAP failure) goes out in an unsolicited RA at once.
    router = scn.domain_routers["d1a"]
    scn.net.at(2.0, lambda now: router.set_map_options(
        (map_option("map1", valid_lifetime=0),), now))
    scn.run(2.5)
    (record, packet), = [(r, p) for r, p in scn.net.packets(sender="ar-d1a") if r.time == 2.0]
    assert packet.payload.options[-1] == map_option("map1", valid_lifetime=0)


def test_a_pref_zero_map_keeps_refreshing_the_existing_binding():
    scn = build_hmip(advertised={"d1b": (map_option("map1", preference=0),)})
    scn.move("d1a", at=1.0)
    scn.move("d1b", at=10.0, link_down=0.05)  # MAP1 now advertised with Pref 0 only
    scn.run(15)
    # RFC 5380 §7.1: no new binding with it, but the existing one is updated.
    assert destinations(scn, after=10.0) == [MAP1]
    assert scn.maps["map1"].cache.lookup(rcoa("map1"), 15).care_of_address == lcoa("d1b")
    assert scn.client.selected.address == MAP1


def test_a_further_map_appearing_is_registered_with_at_once():
    scn = build_hmip(correspondents=("cn1",), maps={"map2": {"allowed_lcoa_prefixes": DOMAIN1}})
    scn.move("d1a", at=1.0)
    router = scn.domain_routers["d1a"]
    further = (map_option("map1"), map_option("map2", distance=4))
    scn.net.at(10.0, lambda now: router.set_map_options(further, now))
    scn.run(15)
    # "Eager" (RFC 5380 §9): MAP2 (Dist 4) wins; MAP1 keeps forwarding RCoA1 for a while.
    final = [(dst, coa) for _t, dst, _bu, coa, _hao in bus(scn, after=10.0)]
    assert final == [(MAP1, lcoa("d1a")), (MAP2, lcoa("d1a")), (HA_ADDRESS, rcoa("map2")),
                     (CN1, rcoa("map2"))]
    assert scn.net.events_of("map.domain_changed", "mn")[0].fields["map"] == MAP2


def test_map_ba_with_a_forged_authenticator_is_ignored():
    # RFC 4285 §5.1.1 for the MN-MAP SA: a BA that does not authenticate under it moves
    # nothing (a forged 0 would make the node believe in a binding the MAP does not hold).
    scn = build_hmip()
    undo = scn.net.drop_if(lambda p, r: r.sender == "map1"
                           and isinstance(p.payload, BindingAcknowledgement))
    scn.move("d1a", at=1.0)
    scn.run(2.1)
    (_r, bu_packet), = scn.net.packets(BindingUpdate, sender="mn")
    bu = bu_packet.payload
    forged_key = dataclasses.replace(MAP_CREDENTIALS, security_association=dataclasses.replace(
        MAP_CREDENTIALS.security_association, key=b"not the MN-MAP key"))
    ba = protect_mn_ha(BindingAcknowledgement(status=0, sequence=bu.sequence, lifetime=600),
                       forged_key, timestamp=bu.options[1].timestamp,
                       care_of_address=lcoa("d1a"), home_address=rcoa("map1"))
    scn.net.inject(encode_packet(IPv6Packet(src=MAP1, dst=lcoa("d1a"), payload=ba,
                                            extension_headers=(RoutingHeaderType2(
                                                home_address=rcoa("map1")),))),
                   "mn", "wlan0", at=2.2)
    scn.run(2.4)
    (ignored,) = scn.net.events_of("map.ba_ignored", "mn")
    assert ignored.fields == {"map": MAP1, "reason": "bad_authenticator"}
    assert scn.mn.counters["auth.map_ba_failed"] == 1
    assert not scn.net.events_of("map.registered", "mn")
    undo()
    scn.run(10)
    assert scn.net.events_of("map.registered", "mn")


def _held_map_bu(scn):
    undo = scn.net.drop_if(lambda p, r: r.sender == "map1"
                           and isinstance(p.payload, BindingAcknowledgement))
    scn.move("d1a", at=1.0)
    scn.run(2.1)
    (_r, bu_packet), = scn.net.packets(BindingUpdate, sender="mn")
    return undo, bu_packet.payload


def _map_ba(bu, *, status, timestamp):
    ba = protect_mn_ha(BindingAcknowledgement(status=status, sequence=bu.sequence, lifetime=600),
                       MAP_CREDENTIALS, timestamp=timestamp, care_of_address=lcoa("d1a"),
                       home_address=rcoa("map1"))
    return encode_packet(IPv6Packet(src=MAP1, dst=lcoa("d1a"), payload=ba, extension_headers=(
        RoutingHeaderType2(home_address=rcoa("map1")),)))


def test_map_ba_status_128_is_a_rejection():
    scn = build_hmip()
    _undo, bu = _held_map_bu(scn)
    scn.net.inject(_map_ba(bu, status=128, timestamp=bu.options[1].timestamp), "mn", "wlan0",
                   at=2.2)
    scn.run(2.4)
    assert not scn.net.events_of("map.registered", "mn")
    assert scn.net.events_of("map.rejected", "mn")


def test_map_ba_echoing_another_timestamp_is_ignored():
    # RFC 4285 §6: a BA that does not echo the BU's timestamp is discarded.
    scn = build_hmip()
    _undo, bu = _held_map_bu(scn)
    scn.net.inject(_map_ba(bu, status=0, timestamp=bu.options[1].timestamp - (5 << 32)),
                   "mn", "wlan0", at=2.2)
    scn.run(2.4)
    assert scn.mn.counters["auth.map_ba_replay"] == 1
    assert not scn.net.events_of("map.registered", "mn")


def test_the_maps_heard_are_the_latest_options_shared_until_a_map_is_left_behind():
    # RFC 5380 §7.1: the node stores every MAP heard since leaving home, the latest option
    # of each. While the latest RA holds every MAP heard, that is its own options: one
    # dictionary, not an equal copy (224 bytes a node); a domain left keeps its MAP.
    scn = build_hmip()
    scn.move("d1a", at=1.0)
    scn.run(10)
    client = scn.client
    assert set(client.options) == {MAP1} and client.heard is client.options
    scn.move("d2a", at=20.0, link_down=0.05)
    scn.run(30)
    assert set(client.options) == {MAP2} and client.heard is not client.options
    assert list(client.heard) == [MAP1, MAP2] and client.heard[MAP2] == client.options[MAP2]
    # The MAPs heard are shared with every node that heard the same, in address order.
    assert client.heard is shared_options(tuple(client.heard.values()))


def test_the_maps_heard_are_kept_in_address_order_whatever_order_they_came_in():
    scn = build_hmip()
    scn.move("d2a", at=1.0)
    scn.run(10)
    scn.move("d1a", at=20.0, link_down=0.05)
    scn.run(30)
    client = scn.client
    assert set(client.options) == {MAP1} and list(client.heard) == sorted([MAP1, MAP2])


@pytest.mark.parametrize(("first", "second"), [
    ("d1a", "d1a"), ("d1a", "d1b"), ("d1a", "d2a"), ("d2a", "d2a"), ("d2a", "d1a")])
def test_leaving_home_again_registers_with_a_map_as_the_first_time(first, second):
    """RFC 5380 §6.1: an RCoA the MAP accepted is the node's source (HostAddress) until its
    binding goes; at home it goes (§9), and leaving home again registers with the MAP again
    and makes the RCoA a source again, as the first time."""
    scn = build_hmip()
    scn.move(first, at=1.0)
    scn.move("home", at=10.0)
    scn.move(second, at=20.0, link_down=0.05)
    scn.run(30)
    before, after = (DOMAIN_LINKS[link][1] for link in (first, second))
    hosted = [(t, action.address, action.active) for t, node, action in scn.net.hosted
              if node == "mn" and action.address != HOME_ADDRESS]
    assert [(address, active) for _t, address, active in hosted] == [
        (rcoa(before), True), (rcoa(before), False), (rcoa(after), True)]
    assert hosted[0][0] < 10.0 <= hosted[1][0] < 20.0 <= hosted[2][0]
    assert destinations(scn, after=20.0)[:2] == [MAP_ADDRESSES[after], HA_ADDRESS]
    assert scn.ha.cache.lookup(HOME_ADDRESS, 30).care_of_address == rcoa(after)
    assert scn.client.selected is not None
    assert scn.client.selected.address == MAP_ADDRESSES[after]
