"""An access router's answers to RtSolPr and its unsolicited PrRtAdvs (RFC 5568 §6.1.1,
§6.1.2, §3.3), handed to its FMIPv6 function directly: which RtSolPr it answers (hop limit 255
and Code 0, RFC 4861 §6.1.1 as §6.1.1 requires), the Code and tuples of each answer, where it
goes, and the NCoA a network-initiated trigger proposes."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.addressing import address_from_prefix, interface_identifier_from_mac
from mipshop.wire.icmpv6 import ProxyRouterAdvertisement, RouterSolicitationForProxy
from mipshop.wire.ipv6 import IPv6Packet
from mipshop.wire.nd_options import LinkLayerAddress, MAPOption
from tests.protocol.fmip_scenario import APS, PREFIXES, ROUTER_MACS, build, neighbor

MN = IPv6Address("2001:db8:10::ff:fe00:77")
MN_MAC = bytes.fromhex("020000000077")
UNKNOWN_AP = bytes.fromhex("02ff00000001")
LOCAL_AP = bytes.fromhex("02ee00000001")


def _router(**par):
    scn = build(par=par)
    router = scn.routers["par"]
    router.pull_actions()
    return router


def _answer(router, *, options, hop_limit=255, code=0, identifier=9):
    packet = IPv6Packet(src=MN, dst=IPv6Address("2001:db8:10::1"), hop_limit=hop_limit,
                        payload=RouterSolicitationForProxy(code=code, identifier=identifier,
                                                           options=tuple(options)))
    assert router.fast_handover.handle(packet, "eth0")
    sent = [a for a in router.pull_actions() if isinstance(a, Transmit)
            and isinstance(a.packet.payload, ProxyRouterAdvertisement)]
    assert len(sent) <= 1
    return sent[0] if sent else None


def _outcomes(message):
    """(option-code, address) of each New Access Point LLA option, in order."""
    return [(o.option_code, o.address) for o in message.options
            if isinstance(o, LinkLayerAddress) and o.option_code in (1, 5, 6, 7)]


SOURCE = LinkLayerAddress(option_code=4, address=MN_MAC)
WILDCARD = LinkLayerAddress(option_code=0, address=bytes(6))


def ask(ap):
    return LinkLayerAddress(option_code=1, address=ap)


NAR, AR3 = APS["nar"], APS["ar3"]


@pytest.mark.parametrize(("case", "par", "options", "hop_limit", "code", "answer", "outcomes"), [
    ("one known AP", {}, [SOURCE, ask(NAR)], 255, 0, 0, [(1, NAR)]),
    ("two known APs", {}, [SOURCE, ask(NAR), ask(AR3)], 255, 0, 0, [(1, NAR), (1, AR3)]),
    ("an unknown AP", {}, [SOURCE, ask(UNKNOWN_AP)], 255, 0, 2, [(6, UNKNOWN_AP)]),
    ("a known and an unknown AP", {}, [SOURCE, ask(NAR), ask(UNKNOWN_AP)], 255, 0, 3,
     [(1, NAR), (6, UNKNOWN_AP)]),
    ("an AP of its own interface", {"local_access_points": (LOCAL_AP,)},
     [SOURCE, ask(LOCAL_AP)], 255, 0, 2, [(5, LOCAL_AP)]),
    ("a neighbour without FMIPv6",
     {"neighbors": (neighbor("nar", fast_handover=False), neighbor("ar3"))},
     [SOURCE, ask(NAR)], 255, 0, 2, [(7, NAR)]),
    ("the wildcard", {}, [SOURCE, WILDCARD], 255, 0, 0, [(1, NAR), (1, AR3)]),
    ("the wildcard beside a named AP", {}, [SOURCE, ask(UNKNOWN_AP), WILDCARD], 255, 0, 0,
     [(1, NAR), (1, AR3)]),
    ("no AP named", {}, [SOURCE], 255, 0, 0, [(1, NAR), (1, AR3)]),
    ("an option of another kind first", {}, [MAPOption(
        address=IPv6Address("2001:db8:a1::1"), distance=1, preference=1, valid_lifetime=60),
        SOURCE, ask(NAR)], 255, 0, 0, [(1, NAR)]),
    ("the wildcard, no neighbour", {"neighbors": ()}, [SOURCE, WILDCARD], 255, 0, 2,
     [(6, bytes(6))]),
    ("named APs, one on a DHCPv6 link",
     {"neighbors": (neighbor("nar", dhcp=True), neighbor("ar3"))},
     [SOURCE, ask(NAR), ask(AR3)], 255, 0, 5, [(1, NAR), (1, AR3)]),
    ("the wildcard, every FMIPv6 neighbour on DHCPv6",
     {"neighbors": (neighbor("nar", dhcp=True), neighbor("ar3", fast_handover=False))},
     [SOURCE, WILDCARD], 255, 0, 5, [(1, NAR)]),
    ("hop limit 254", {}, [SOURCE, ask(NAR)], 254, 0, None, []),
    ("Code 1", {}, [SOURCE, ask(NAR)], 255, 1, None, []),
])
def test_an_rtsolpr_is_answered_by_section_6_1_2(case, par, options, hop_limit, code, answer,
                                                  outcomes):
    router = _router(**par)
    sent = _answer(router, options=options, hop_limit=hop_limit, code=code)
    if answer is None:
        assert sent is None and router.counters["drop.invalid_nd"] == 1
        return
    assert sent is not None
    message = sent.packet.payload
    assert (message.code, message.identifier) == (answer, 9)
    assert _outcomes(message) == outcomes
    # Back to the solicitor, at the link-layer address its RtSolPr gave (§6.1.2).
    assert sent.packet.dst == MN and sent.link_destination == MN_MAC
    assert sent.packet.hop_limit == 255 and sent.packet.src.is_link_local


def _ncoa_options(message):
    return [o.address for o in message.options if getattr(o, "option_code", None) == 2
            and not isinstance(o, LinkLayerAddress)]


EXPECTED_NCOA = address_from_prefix(PREFIXES["nar"], interface_identifier_from_mac(MN_MAC))
GIVEN_NCOA = IPv6Address("2001:db8:20::1234")


@pytest.mark.parametrize(("case", "target", "mac", "learnt", "given", "sent", "ncoa"), [
    ("the node's MAC given", NAR, MN_MAC, False, None, True, [EXPECTED_NCOA]),
    ("the MAC learnt from its RtSolPr", NAR, None, True, None, True, [EXPECTED_NCOA]),
    ("no MAC known", NAR, None, False, None, True, []),
    ("an NCoA given", NAR, MN_MAC, False, GIVEN_NCOA, True, [GIVEN_NCOA]),
    ("an unknown AP", UNKNOWN_AP, MN_MAC, False, None, False, []),
])
def test_a_network_initiated_trigger_is_a_code_1_prrtadv(case, target, mac, learnt, given,
                                                         sent, ncoa):
    """§3.3, §6.1.2: PrRtAdv Code 1, Identifier 0, with the target's tuple and the NCoA (the
    one given, else the NAR prefix with the node's interface identifier when its link-layer
    address is known); nothing for an AP that is no fast-handover neighbour."""
    router = _router()
    if learnt:
        _answer(router, options=[SOURCE, ask(AR3)])
    result = router.trigger_handover(MN, target, 1.0, mobile_link_layer_address=mac,
                                     new_care_of_address=given)
    transmits = [a for a in router.pull_actions() if isinstance(a, Transmit)]
    assert result is sent and bool(transmits) is sent
    if sent:
        (transmit,) = transmits
        message = transmit.packet.payload
        assert (message.code, message.identifier) == (1, 0)
        assert _outcomes(message) == [(1, target)] and _ncoa_options(message) == ncoa
        assert transmit.link_destination == (MN_MAC if learnt else None)


def test_unsolicited_neighbourhood_information_is_code_4():
    """§6.1.2: Code 4, Identifier 0: every fast-handover neighbour's tuples, no trigger."""
    router = _router()
    router.fast_handover.advertise_neighbourhood(MN, 1.0)
    (transmit,) = [a for a in router.pull_actions() if isinstance(a, Transmit)]
    message = transmit.packet.payload
    assert (message.code, message.identifier) == (4, 0)
    assert _outcomes(message) == [(1, NAR), (1, AR3)]
    routers = [o.address for o in message.options
               if isinstance(o, LinkLayerAddress) and o.option_code == 3]
    assert routers == [ROUTER_MACS["nar"], ROUTER_MACS["ar3"]]
