"""Several MAPs at once (RFC 5380 §3.1, §7.1, §9.1): a mobile node "MAY choose to register with
more than one MAP simultaneously, or use both the RCoA and its LCoA as care-of addresses
simultaneously with different correspondent nodes", "each MAP ... used for communication to a
certain set of CNs"; selection and failure handling per MAP.

Link ``d1a`` advertises MAP1 (Dist 2, the selected one: §9.1 takes the furthest) and MAP2
(Dist 1); MAP2 accepts LCoAs of both domains here.
"""

from __future__ import annotations

from ipaddress import IPv6Network

from mipshop.protocol.base.constants import MAX_RR_BINDING_LIFETIME
from mipshop.protocol.mipv6.config import RouteOptimizationConfig
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import BindingUpdate, CareOfTestInit
from tests.harness import innermost
from tests.protocol.hmip_scenario import (
    DOMAIN1,
    DOMAIN2,
    MAP_ADDRESSES,
    build_hmip,
    lcoa,
    map_option,
    rcoa,
)
from tests.protocol.scenario import CN_ADDRESSES, HA_ADDRESS, HOME_ADDRESS

MAP1, MAP2 = MAP_ADDRESSES["map1"], MAP_ADDRESSES["map2"]
RCOA1, RCOA2 = rcoa("map1"), rcoa("map2")
CN1, CN2 = CN_ADDRESSES["cn1"], CN_ADDRESSES["cn2"]
CN1_PREFIX = IPv6Network("2001:db8:100::/64")


def two_maps(client=None, map2=None, **kwargs):
    options = {"additional_maps": 1}
    options.update(client or {})
    return build_hmip(
        client=options,
        maps={"map2": {"allowed_lcoa_prefixes": DOMAIN1 + DOMAIN2, **(map2 or {})}},
        advertised={"d1a": (map_option("map1"), map_option("map2", distance=1)),
                    "d1b": (map_option("map1"), map_option("map2", distance=1))},
        **kwargs)


def local_bus(scn, after=0.0):
    return [(r.time, p.dst, p.home_address, p.src) for r, p in
            scn.net.packets(BindingUpdate, sender="mn")
            if r.time > after and isinstance(p.payload, BindingUpdate)
            and p.payload.map_registration]


def test_the_node_registers_with_two_maps_and_the_home_agent_gets_the_selected_one():
    scn = two_maps()
    scn.move("d1a", at=1.0)
    scn.run(6)
    assert {(dst, hao, src) for _t, dst, hao, src in local_bus(scn)} == {
        (MAP1, RCOA1, lcoa("d1a")), (MAP2, RCOA2, lcoa("d1a"))}
    assert scn.maps["map1"].cache.lookup(RCOA1, 6).care_of_address == lcoa("d1a")
    assert scn.maps["map2"].cache.lookup(RCOA2, 6).care_of_address == lcoa("d1a")
    assert scn.ha.cache.lookup(HOME_ADDRESS, 6).care_of_address == RCOA1
    assert {e.fields["map"] for e in scn.net.events_of("map.registered", "mn")} == {MAP1, MAP2}
    assert set(scn.client.hosted) == {RCOA1, RCOA2} and len(scn.client.hosted) == 2


def test_a_move_inside_both_domains_updates_both_maps_only():
    scn = two_maps()
    scn.move("d1a", at=1.0)
    scn.move("d1b", at=8.0)
    scn.run(12)
    after = [(dst, hao, src) for _t, dst, hao, src in local_bus(scn, after=8.0)]
    assert set(after) == {(MAP1, RCOA1, lcoa("d1b")), (MAP2, RCOA2, lcoa("d1b"))}
    assert scn.maps["map2"].cache.lookup(RCOA2, 12).care_of_address == lcoa("d1b")
    assert len(scn.net.events_of("binding.registered", "ha")) == 1  # no new home BU


def test_each_correspondent_gets_the_rcoa_of_its_map():
    """cn1's prefix is given MAP2's RCoA, cn2 (no rule) the selected MAP's: return
    routability and the BU for cn1 go from RCoA2, through MAP2; data from cn1 comes with
    a Type 2 Routing Header to RCoA2 through MAP2."""
    scn = two_maps(client={"correspondent_maps": ((CN1_PREFIX, MAP2),)},
                   correspondents=("cn1", "cn2"))
    scn.move("d1a", at=1.0)
    cn1 = scn.cns["cn1"]
    scn.net.at(10.0, lambda now: cn1.send_packet(IPv6Packet(
        src=CN1, dst=HOME_ADDRESS, payload=UDPDatagram(src_port=9, dst_port=9, data=b"ro")),
        now))
    scn.net.at(10.5, lambda now: scn.mn.send_packet(IPv6Packet(
        src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(src_port=9, dst_port=9, data=b"up")),
        now))
    scn.run(12)
    # §6.1.1: to a correspondent holding a binding, from the care-of address of that binding
    # (RCoA2) with the Home Address option, reverse-tunnelled to MAP2.
    [(_r, up)] = [(r, p) for r, p in scn.net.packets(UDPDatagram, sender="mn")
                  if innermost(p).payload.data == b"up"]
    assert (up.src, up.dst) == (lcoa("d1a"), MAP2)
    assert (up.payload.src, up.payload.home_address) == (RCOA2, HOME_ADDRESS)
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 12).care_of_address == RCOA2
    assert scn.cns["cn2"].cache.lookup(HOME_ADDRESS, 12).care_of_address == RCOA1
    cotis = {innermost(p).dst: (p.src, p.dst, innermost(p).src)
             for _r, p in scn.net.packets(CareOfTestInit, sender="mn")}
    assert cotis[CN1] == (lcoa("d1a"), MAP2, RCOA2)  # reverse-tunnelled to MAP2
    assert cotis[CN2] == (lcoa("d1a"), MAP1, RCOA1)
    # The route-optimised datagram: CN1 -> RCoA2 (RH2 home address) -> MAP2 -> LCoA.
    hops = [(r.sender, p.src, p.dst) for r, p in scn.net.packets(UDPDatagram)
            if innermost(p).payload.data == b"ro"]
    assert hops == [("cn1", CN1, RCOA2), ("map2", MAP2, lcoa("d1a"))]
    assert [d.packet.payload.data for d in scn.net.delivered if d.node == "mn"] == [b"ro"]
    assert HA_ADDRESS not in [h[1] for h in hops]


def test_a_correspondent_can_be_given_the_lcoa():
    scn = two_maps(client={"additional_maps": 0, "correspondents_on_lcoa": (CN1_PREFIX,)},
                   correspondents=("cn1",))
    scn.move("d1a", at=1.0)
    scn.run(12)
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 12).care_of_address == lcoa("d1a")
    assert scn.ha.cache.lookup(HOME_ADDRESS, 12).care_of_address == RCOA1


def test_the_failure_of_the_other_map_leaves_the_selected_one_alone():
    """MAP2's option with Valid Lifetime 0 (RFC 5380 §7.1, §10): that binding is dropped and
    cn1 moves to the selected MAP's RCoA; MAP1, the home agent and cn2 see nothing."""
    scn = two_maps(client={"correspondent_maps": ((CN1_PREFIX, MAP2),)}, correspondents=("cn1",))
    router = scn.domain_routers["d1a"]
    scn.net.at(12.0, lambda now: router.set_map_options(
        (map_option("map1"), map_option("map2", distance=1, valid_lifetime=0)), now))
    scn.move("d1a", at=1.0)
    scn.run(20)
    [failed] = scn.net.events_of("map.failed", "mn")
    assert failed.fields["map"] == MAP2
    assert MAP2 not in scn.client.bindings and scn.client.current.map_address == MAP1
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 20).care_of_address == RCOA1
    assert len(scn.net.events_of("binding.registered", "ha")) == 1
    assert not [b for b in local_bus(scn, after=12.0) if b[1] == MAP1]


def test_the_failure_of_the_selected_map_promotes_the_other():
    scn = two_maps()
    router = scn.domain_routers["d1a"]
    scn.net.at(12.0, lambda now: router.set_map_options(
        (map_option("map1", valid_lifetime=0), map_option("map2", distance=1)), now))
    scn.move("d1a", at=1.0)
    scn.run(20)
    assert [e.fields["map"] for e in scn.net.events_of("map.failed", "mn")] == [MAP1]
    assert scn.client.current.map_address == MAP2 and not scn.client.secondary
    assert scn.ha.cache.lookup(HOME_ADDRESS, 20).care_of_address == RCOA2


def test_a_refusal_by_the_other_map_is_that_maps_alone():
    """MAP2 refuses the LCoA (129: not one of its prefixes): it is not tried again from that
    LCoA, and the selected MAP's binding and the home registration go on."""
    scn = build_hmip(
        client={"additional_maps": 1},
        advertised={"d1a": (map_option("map1"), map_option("map2", distance=1))})
    scn.move("d1a", at=1.0)
    scn.run(10)
    rejected = scn.net.events_of("map.rejected", "mn")
    assert [(e.fields["map"], e.fields["status"]) for e in rejected] == [(MAP2, 129)]
    assert len([b for b in local_bus(scn) if b[1] == MAP2]) == 1  # not retried
    assert scn.ha.cache.lookup(HOME_ADDRESS, 10).care_of_address == RCOA1
    assert scn.client.current.map_address == MAP1 and not scn.client.secondary
    assert DOMAIN2  # MAP2 takes only domain 2's LCoAs here


def test_a_ba_naming_the_other_maps_rcoa_is_ignored():
    # RFC 5380 §6.1: the node "MUST silently ignore" a MAP's BA that does not carry its RCoA
    # (the one registered with that MAP) in the Type 2 Routing Header. Another address the
    # node owns, the RCoA of its other MAP, is no exception: taken as an assigned RCoA it
    # would replace the binding's own.
    from mipshop.protocol.mipv6.signalling import protect_mn_ha
    from mipshop.wire.ext_headers import RoutingHeaderType2
    from mipshop.wire.ipv6 import encode_packet
    from mipshop.wire.mh import BindingAcknowledgement
    from tests.protocol.hmip_scenario import MAP_CREDENTIALS

    scn = two_maps()
    scn.net.drop_if(lambda p, r: r.sender == "map1" and isinstance(p.payload,
                                                                   BindingAcknowledgement))
    scn.move("d1a", at=1.0)
    scn.run(3.0)
    assert RCOA2 in scn.client.hosted  # MAP2's binding is up
    bu_packet = [p for _r, p in scn.net.packets(BindingUpdate, sender="mn") if p.dst == MAP1][-1]
    bu = bu_packet.payload
    ba = protect_mn_ha(BindingAcknowledgement(status=0, sequence=bu.sequence, lifetime=600),
                       MAP_CREDENTIALS, timestamp=bu.options[1].timestamp,
                       care_of_address=lcoa("d1a"), home_address=RCOA2)
    scn.net.inject(encode_packet(IPv6Packet(src=MAP1, dst=lcoa("d1a"), payload=ba,
                                            extension_headers=(
                                                RoutingHeaderType2(home_address=RCOA2),))),
                   "mn", "wlan0", at=3.05)
    scn.run(3.1)
    ignored = [e.fields for e in scn.net.events_of("map.ba_ignored", "mn")]
    assert ignored == [{"map": MAP1, "reason": "no_rcoa_routing_header"}]
    assert not scn.net.events_of("map.rcoa_assigned", "mn")
    assert MAP1 not in {e.fields["map"] for e in scn.net.events_of("map.registered", "mn")}


def test_a_correspondent_bu_asks_no_longer_than_the_map_binding_of_its_rcoa():
    """RFC 5380 §6.1: the lifetime of a BU to a correspondent MUST NOT exceed the MAP
    binding's. cn1 gets MAP2's RCoA, whose binding MAP2 grants for 60 s only; cn2 gets the
    selected MAP's (1,000 s, as long as the home binding and the lifetime route optimisation
    asks), so MAX_RR_BINDING_LIFETIME decides its BU (RFC 6275 §5.2.6), which must hold
    beside a MAP limit too."""
    ro = RouteOptimizationConfig(correspondents=(CN1, CN2), lifetime=1000.0)
    scn = two_maps(client={"correspondent_maps": ((CN1_PREFIX, MAP2),), "lifetime": 1000.0},
                   map2={"max_binding_lifetime": 60.0},
                   mn={"route_optimization": ro, "home_binding_lifetime": 1000.0},
                   correspondents=("cn1", "cn2"))
    scn.move("d1a", at=1.0)
    scn.run(12)
    assert scn.maps["map2"].cache.lookup(RCOA2, 12).care_of_address == lcoa("d1a")
    lifetimes: dict[object, list[int]] = {CN1: [], CN2: []}
    for _r, p in scn.net.packets(BindingUpdate, sender="mn"):
        inner = innermost(p)  # reverse-tunnelled to the MAP of its RCoA
        if inner.dst in lifetimes:
            lifetimes[inner.dst].append(inner.payload.lifetime)
    assert lifetimes[CN1] and all(0 < lifetime <= 60 for lifetime in lifetimes[CN1]), lifetimes
    assert lifetimes[CN2] and all(60 < lifetime <= MAX_RR_BINDING_LIFETIME
                                  for lifetime in lifetimes[CN2]), lifetimes
