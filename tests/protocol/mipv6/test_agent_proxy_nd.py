"""The home agent's proxy Neighbor Discovery once it intercepts a home address
(docs/mutation.md, tenth run): RFC 6275 §10.4.1 (the unsolicited multicast Neighbor
Advertisement, Override set) and the defence of an address registered after DAD (RFC 4862
§5.4.3: another node's DAD for it is answered, not taken for a conflict of the finished DAD).
"""

from __future__ import annotations

from ipaddress import IPv6Address

from mipshop.protocol.base.actions import Transmit
from mipshop.wire.icmpv6 import NeighborAdvertisement, NeighborSolicitation
from mipshop.wire.mh import BindingAckStatus
from mipshop.wire.nd_options import TargetLinkLayerAddress
from tests.protocol.mipv6.test_agent_guards import (
    HA_LINK_LOCAL,
    _link_local_of,
    _mobility,
    _ns,
    _sent,
    _waiting_for_dad,
)
from tests.protocol.mipv6.test_floods import bu_packet, home, home_agent, source

S = BindingAckStatus
ALL_NODES = IPv6Address("ff02::1")


def test_a_new_binding_is_announced_with_an_unsolicited_neighbor_advertisement():
    # §10.4.1: multicast to all-nodes, Router 0, Solicited 0, Override 1, the agent's own
    # link-layer address, so that neighbours' caches switch to the home agent.
    agent = home_agent(dad_duration=0.0)
    sent = _sent(agent, bu_packet(0, src=source(0), at=1.0), 1.0)
    (na,) = [p for p in sent if isinstance(p.payload, NeighborAdvertisement)]
    assert (na.src, na.dst, na.hop_limit) == (HA_LINK_LOCAL, ALL_NODES, 255)
    assert (na.payload.router, na.payload.solicited, na.payload.override) == (
        False, False, True)
    assert na.payload.target == home(0)
    assert na.payload.options == (TargetLinkLayerAddress(address=agent.link_layer_address),)


def test_an_address_registered_after_dad_is_defended_against_another_nodes_dad():
    agent = _waiting_for_dad()
    agent.handle_timer(2.1)  # DAD over: the binding is accepted
    (ba,) = [a.packet for a in agent.pull_actions() if isinstance(a, Transmit)
             and hasattr(a.packet.payload, "MH_TYPE")]
    assert ba.payload.status == S.ACCEPTED
    sent = _sent(agent, _ns(home(0), src=IPv6Address("::")), 3.0)
    assert _mobility(sent) == []
    (na,) = [p for p in sent if isinstance(p.payload, NeighborAdvertisement)]
    assert (na.dst, na.payload.target, na.payload.solicited) == (ALL_NODES, home(0), False)
    assert agent.cache.lookup(home(0), 3.0) is not None


def test_neighbor_discovery_leaves_on_the_home_link_interface():
    # RFC 4861 §7.2.4, §7.2.6, RFC 4862 §5.4.2: the DAD probe (to a solicited-node group),
    # the unsolicited NA (to all-nodes) and the defence (to all-nodes) are link-scoped: no
    # route leads to ff02::/16, so each Transmit names the home link's interface.
    agent = home_agent(dad_duration=1.0)
    agent.receive(bu_packet(0, src=source(0), at=1.0), "home", 1.0)
    actions = agent.pull_actions()
    agent.handle_timer(2.1)  # DAD over: the binding is accepted, announced
    actions += agent.pull_actions()
    agent.receive(_ns(home(0), src=IPv6Address("::")), "home", 3.0)  # another node's DAD
    actions += agent.pull_actions()
    nd = [a for a in actions if isinstance(a, Transmit)
          and isinstance(a.packet.payload, NeighborSolicitation | NeighborAdvertisement)]
    assert [type(a.packet.payload).__name__ for a in nd] == [
        "NeighborSolicitation", "NeighborAdvertisement", "NeighborAdvertisement"]
    assert [a.packet.dst.is_multicast for a in nd] == [True, True, True]
    assert [a.interface for a in nd] == ["home"] * 3


def test_a_neighbor_solicitation_for_a_mobile_nodes_link_local_address_gets_no_error():
    # RFC 4861 §7.1.1, §7.2.3: a unicast Neighbor Solicitation (NUD) for the link-local
    # address with a bound home address's interface identifier is Neighbor Discovery, handled
    # as such (answered only with the L flag, §10.4.1) and never taken for a packet to the
    # mobile node's link-local address, which §10.4.2 answers with Destination Unreachable.
    agent = home_agent(dad_duration=0.0)
    _sent(agent, bu_packet(0, src=source(0), at=1.0), 1.0)  # L = 0
    link_local = _link_local_of(0)
    sent = _sent(agent, _ns(link_local, dst=link_local), 2.0)
    assert sent == []
    assert agent.counters["drop.link_local_for_mobile"] == 0
