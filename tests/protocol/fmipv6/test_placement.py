"""Configuration selects where fast handovers are anchored (RFC 4140 Appendix A): the same
topology, once with the access routers as anchors (RFC 5568) and once with the MAP."""

from __future__ import annotations

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.protocol.fmipv6.config import (
    AnchorPlacement,
    FastHandoverAnchorConfig,
    FastHandoverRouterConfig,
)
from mipshop.wire.mh import (
    BindingAcknowledgement,
    FastBindingAcknowledgement,
    FastBindingUpdate,
    HandoverAcknowledge,
    HandoverInitiate,
)
from mipshop.wire.nd_options import MAPOption
from tests.protocol.fmip_scenario import (
    APS,
    HOME_ADDRESS,
    MAP_ADDRESS,
    RCOA,
    build,
    coa,
    pair_key,
)
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")


def _run(**kwargs):
    scn = build(hmip=True, **kwargs)
    scn.cbr(start=4.0, stop=7.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(10)
    return scn


def _endpoints(scn, kind):
    return [(p.src, p.dst) for _, p in scn.net.packets(kind)]


@pytest.mark.parametrize("map_anchored", [False, True])
def test_configuration_selects_where_fbu_and_hi_go(map_anchored):
    scn = _run(map_anchored=map_anchored)
    anchor = MAP_ADDRESS if map_anchored else ar("par")
    home = RCOA if map_anchored else PCOA
    fbus = [p for _, p in scn.net.packets(FastBindingUpdate)]
    assert [(p.src, p.dst, p.home_address) for p in fbus] == [(PCOA, anchor, home)]
    assert _endpoints(scn, HandoverInitiate) == [(anchor, ar("nar"))]
    assert _endpoints(scn, HandoverAcknowledge) == [(ar("nar"), anchor)]
    assert {src for src, _ in _endpoints(scn, FastBindingAcknowledgement)} == {anchor}
    forwarder = "map1" if map_anchored else "par"
    idle = "par" if map_anchored else "map1"
    assert scn.net.events_of("fmip.tunnel_up", forwarder)
    assert not scn.net.events_of("fmip.fbu_received", idle)
    # Either way: nothing lost, the MAP ends with the NCoA, the home agent keeps the RCoA.
    assert sorted(scn.received()) == scn.sent
    assert scn.map.cache.lookup(RCOA, scn.net.now).care_of_address == NCOA
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == RCOA
    assert scn.fmip.handover.phase == "complete"


def test_mobile_node_configured_for_the_access_router_ignores_the_map_option():
    scn = _run(map_anchored=True, client={"placement": AnchorPlacement.ACCESS_ROUTER})
    assert _endpoints(scn, FastBindingUpdate) == [(PCOA, ar("par"))]
    assert _endpoints(scn, HandoverInitiate) == [(ar("par"), ar("nar"))]
    assert sorted(scn.received()) == scn.sent


def test_mobile_node_configured_for_the_map_needs_no_map_option_in_the_prrtadv():
    scn = _run(map_anchored=True, client={"placement": AnchorPlacement.MAP},
               par={"map_anchor": None})
    assert scn.fmip.advertised_map is None
    assert _endpoints(scn, FastBindingUpdate) == [(PCOA, MAP_ADDRESS)]
    assert _endpoints(scn, HandoverInitiate) == [(MAP_ADDRESS, ar("nar"))]
    assert sorted(scn.received()) == scn.sent


def test_without_a_confirmed_map_binding_the_fbu_goes_to_the_par():
    # [choice] The MAP can only redirect an RCoA it has bound: with the local BU unanswered,
    # the node falls back to RFC 5568 at the PAR even though the PrRtAdv names the MAP.
    scn = build(hmip=True, map_anchored=True)
    scn.net.drop_if(lambda p, r: r.sender == "map1" and isinstance(
        p.payload, BindingAcknowledgement))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.run(6)
    assert scn.fmip.advertised_map == MAP_ADDRESS
    assert not scn.map_client.current.confirmed
    fbus = [p for _, p in scn.net.packets(FastBindingUpdate)]
    assert [(p.dst, p.home_address) for p in fbus] == [(ar("par"), PCOA)]
    assert _endpoints(scn, HandoverInitiate) == [(ar("par"), ar("nar"))]


def test_anchor_configuration_is_validated():
    option = MAPOption(address=MAP_ADDRESS, distance=2, preference=10, valid_lifetime=3600)
    with pytest.raises(ValueError):
        FastHandoverRouterConfig(map_anchor=option)  # its HIs would be refused
    keyed = {"router_keys": (pair_key(ar("par"), MAP_ADDRESS),)}
    FastHandoverRouterConfig(map_anchor=option, anchors=(MAP_ADDRESS,), **keyed)
    with pytest.raises(ValueError):
        FastHandoverAnchorConfig(max_tunnel_lifetime=6)
    # RFC 5568 §10: an anchor whose HI could not be authenticated is a configuration error.
    with pytest.raises(ValueError, match="has no router key"):
        FastHandoverRouterConfig(map_anchor=option, anchors=(MAP_ADDRESS,))
