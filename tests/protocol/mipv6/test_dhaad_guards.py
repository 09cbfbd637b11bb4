"""The mobile node takes a Home Agent Address Discovery Reply only as the answer to its own
request (RFC 6275 §11.4.1: the Identifier copied from the request), with a home agent in it;
anything else cannot redirect its home registration."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.wire.icmpv6 import HomeAgentAddressDiscoveryReply as Reply
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from tests.protocol.scenario import HA_ADDRESS, build, care_of

ROGUE = IPv6Address("2001:db8:1::66")


@pytest.mark.parametrize(("case", "home_agents", "same_identifier", "before_request"), [
    ("the answer", (ROGUE,), True, False),
    ("another identifier", (ROGUE,), False, False),
    ("no home agent in it", (), True, False),
    ("no request outstanding", (ROGUE,), False, True),
])
def test_a_dhaad_reply_is_taken_only_as_the_answer_to_the_request(
        case, home_agents, same_identifier, before_request):
    scn = build(mn={"home_agent": None})
    scn.net.drop_if(lambda p, r: isinstance(p.payload, Reply) and p.src == HA_ADDRESS)
    if before_request:
        scn.run(0.5)  # at home, no discovery running
        identifier = 1
    else:
        scn.move("visited1", at=1.0)
        scn.run(3.0)
        [request] = scn.net.events_of("dhaad.request", "mn")
        identifier = request.fields["identifier"]
    reply = Reply(identifier=identifier if same_identifier else (identifier + 1) % 65536,
                  home_agents=home_agents)
    now = 0.5 if before_request else 3.0
    scn.net.inject(encode_packet(IPv6Packet(src=HA_ADDRESS, dst=care_of("visited1"),
                                            payload=reply)), "mn", "wlan0", at=now + 0.1)
    scn.run(now + 0.5)
    if case == "the answer":
        assert scn.mn.home_agent == ROGUE and scn.net.events_of("dhaad.completed", "mn")
    else:
        assert scn.mn.home_agent is None and not scn.net.events_of("dhaad.completed", "mn")
        assert scn.mn.counters["drop.dhaad_unexpected"] == 1
