"""Bounds of the binding agent set by its configuration (docs/mutation.md, tenth run).

The registration rate (RFC 6275 §11.8 MAX_UPDATE_RATE) is a limit per mobile node only: many
nodes registering in the same second, more than the reply limiter's total for unauthenticated
answers (REPLIES_TOTAL), are each accepted.
"""

from __future__ import annotations

from mipshop.protocol.base.tables import REPLIES_TOTAL
from mipshop.wire.mh import BindingAckStatus
from tests.protocol.mipv6.test_floods import bu_packet, feed, home_agent, source

S = BindingAckStatus


def test_registrations_of_many_nodes_in_one_second_are_not_limited_overall():
    n = REPLIES_TOTAL + 1
    agent = home_agent(n_credentials=n, dad_duration=0.0)
    sent, _events = feed(agent, [bu_packet(i, src=source(i), at=1.0 + i * 0.001)
                                 for i in range(n)])
    assert [p.payload.status for p in sent] == [S.ACCEPTED] * n
    assert len(agent.cache) == n
    assert agent.counters["drop.registration_rate"] == 0
