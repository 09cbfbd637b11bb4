"""The mobile node's answers to Neighbor Solicitations for its care-of address (RFC 4861
§7.2.3-§7.2.4) and its Duplicate Address Detection (RFC 4862 §5.4.3), packet by packet: one
table of solicitations, each checked for the advertisement that must (or must not) come back.
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.mipv6.mobile_node import MobileNode
from mipshop.wire.icmpv6 import NeighborAdvertisement, NeighborSolicitation
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.nd_options import SourceLinkLayerAddress, TargetLinkLayerAddress
from tests.protocol.scenario import build, care_of

COA = care_of("visited1")
NEIGHBOUR = IPv6Address("fe80::bbbb")
UNSPECIFIED = IPv6Address("::")
ALL_NODES = IPv6Address("ff02::1")
SOLICITED_NODE = IPv6Address("ff02::1:ff00:1")  # of COA (RFC 4291 §2.7.1)


def _ns(src: IPv6Address, *, hop_limit: int = 255) -> bytes:
    options = () if src.is_unspecified else (
        SourceLinkLayerAddress(address=bytes.fromhex("02000000bbbb")),)
    return encode_packet(IPv6Packet(src=src, dst=SOLICITED_NODE, hop_limit=hop_limit,
                                    payload=NeighborSolicitation(target=COA, options=options)))


def _after(raw: bytes, at: float):
    """The node moved to visited1 at 1 s (its care-of address tentative from about 1.25 s to
    2.25 s, then configured); ``raw`` reaches it at ``at``: its NAs for COA, and the scenario."""
    scn = build()
    scn.move("visited1", at=1.0)
    scn.net.inject(raw, "mn", "wlan0", at=at)
    scn.run(at + 0.5)
    return [p for r, p in scn.net.packets(NeighborAdvertisement, sender="mn")
            if p.payload.target == COA], scn


@pytest.mark.parametrize(("case", "raw", "dst", "solicited"), [
    # RFC 4861 §7.2.4: to the solicitation's source, S = 1, hop limit 255 (§7.1.2), with the
    # Target Link-Layer Address option; R = 0: a host.
    ("unicast solicitation", _ns(NEIGHBOUR), NEIGHBOUR, True),
    # ... a DAD probe (unspecified source) is answered to all-nodes with S = 0.
    ("another node's DAD probe", _ns(UNSPECIFIED), ALL_NODES, False),
    # §7.1.1: a solicitation whose hop limit is not 255 is invalid: no answer.
    ("hop limit 254", _ns(NEIGHBOUR, hop_limit=254), None, None),
])
def test_the_care_of_address_is_defended_by_the_rfc_4861_rules(case, raw, dst, solicited):
    advertisements, scn = _after(raw, at=3.0)
    if dst is None:
        assert advertisements == []
        return
    [na] = advertisements
    assert (na.src, na.dst, na.hop_limit) == (COA, dst, 255)
    assert (na.payload.router, na.payload.solicited, na.payload.override) == (
        False, solicited, True)
    assert [o.address for o in na.payload.options if isinstance(o, TargetLinkLayerAddress)
            ] == [scn.mn.config.link_layer_address]


def test_a_tentative_care_of_address_is_not_answered_for():
    # RFC 4862 §5.4.3: a solicitation for a tentative address from a unicast source gets no
    # answer, and does not make the address a duplicate.
    advertisements, scn = _after(_ns(NEIGHBOUR), at=1.5)
    assert advertisements == [] and scn.mn.counters["dad.duplicate"] == 0
    scn.run(4)
    assert scn.mn.care_of_address == COA


def test_another_nodes_probe_for_the_tentative_address_makes_it_a_duplicate():
    # RFC 4862 §5.4.3: a DAD probe for our tentative address: it is a duplicate, not used.
    advertisements, scn = _after(_ns(UNSPECIFIED), at=1.5)
    assert advertisements == [] and scn.mn.counters["dad.duplicate"] == 1
    assert [e.fields["address"] for e in scn.net.events_of("dad.failed", "mn")] == [COA]
    assert scn.mn.care_of_address != COA


@pytest.mark.parametrize("source", [NEIGHBOUR, UNSPECIFIED])
def test_the_answer_leaves_on_the_interface_the_solicitation_came_in_on(monkeypatch, source):
    # RFC 4861 §7.2.4: the advertisement answers on the link of the solicitation: the node's
    # interface, named in the Transmit (``interface`` None would leave it to routing, a
    # router's way, and an answer to a DAD probe goes to a link-local multicast group).
    sent: list[Transmit] = []
    pull = MobileNode.pull_actions

    def recording(self):
        actions = pull(self)
        sent.extend(a for a in actions if isinstance(a, Transmit)
                    and isinstance(a.packet.payload, NeighborAdvertisement))
        return actions
    monkeypatch.setattr(MobileNode, "pull_actions", recording)
    advertisements, scn = _after(_ns(source), at=3.0)
    assert len(advertisements) == 1
    assert [(a.packet.payload.target, a.interface) for a in sent] == [(COA, scn.mn.interface)]
