"""The correspondent applies its configuration (docs/mutation.md, tenth run): the nonce
schedule of RFC 6275 §5.2.7 (regeneration interval, nonce lifetime, a new node key with each
nonce) and the Binding Error rate of §9.3.3, each set away from its default."""

from __future__ import annotations

import random

import pytest

from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.mipv6.config import CorrespondentConfig
from mipshop.protocol.mipv6.correspondent import CorrespondentNode
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import (
    BindingError,
    CareOfTest,
    HomeTest,
)
from tests.protocol.mipv6.test_correspondent_guards import _unbacked
from tests.protocol.mipv6.test_correspondent_rules import (
    CN,
    COA,
    HAO,
    authorized_update,
    sent,
    tokens,
)
from tests.protocol.mipv6.test_floods import source


def node(**config) -> CorrespondentNode:
    cn = CorrespondentNode("cn", random.Random(1), CorrespondentConfig(address=CN, **config))
    cn.start(0.0)
    cn.pull_actions()
    return cn


def registration_status(cn: CorrespondentNode, hot: HomeTest, cot: CareOfTest, at: float
                        ) -> int:
    cn.receive(encode_packet(IPv6Packet(src=COA, dst=CN, payload=authorized_update(hot, cot),
                                        extension_headers=HAO)), "eth0", at)
    (ba_packet,) = sent(cn)
    return ba_packet.payload.status


@pytest.mark.parametrize(("at", "status"), [(20.0, 0), (22.0, 138)])
def test_nonces_older_than_the_configured_nonce_lifetime_are_refused(at, status):
    # §5.2.7: a nonce is accepted for its lifetime only (MAX_NONCE_LIFETIME at most); both
    # nonces expired: 138 (§9.5.1).
    cn = node(nonce_regeneration_interval=10.0, nonce_lifetime=20.0)
    hot, cot = tokens(cn, at=1.0)
    assert registration_status(cn, hot, cot, at) == status


def test_nonces_are_regenerated_at_the_configured_interval():
    cn = node(nonce_regeneration_interval=10.0)
    first, _ = tokens(cn, at=1.0)
    again, _ = tokens(cn, at=10.5)
    later, _ = tokens(cn, at=11.0)
    assert again.home_nonce_index == first.home_nonce_index
    assert later.home_nonce_index != first.home_nonce_index


@pytest.mark.parametrize("rotate", [False, True])
def test_the_node_key_is_renewed_with_each_nonce_when_configured(rotate):
    cn = node(rotate_node_key=rotate)
    first, _ = tokens(cn, at=1.0)
    later, _ = tokens(cn, at=1.0 + cn.config.nonce_regeneration_interval)
    assert later.home_nonce_index != first.home_nonce_index
    keys = {cn.nonces.entry(t.home_nonce_index, 100.0).kcn for t in (first, later)}
    assert len(keys) == (2 if rotate else 1)


def test_binding_errors_follow_the_configured_interval():
    # §9.3.3: Binding Errors rate-limited, here one per 5 s per destination.
    cn = node(binding_error_interval=5.0)
    errors = []
    for at in (1.0, 3.0, 5.5, 6.5):
        cn.receive(_unbacked(source(1)), "eth0", at)
        errors += [at for a in cn.pull_actions() if isinstance(a, Transmit)
                   and isinstance(a.packet.payload, BindingError)]
    assert errors == [1.0, 6.5]
