"""Authenticators are checked over the bytes the peer sent, not over our re-encoding.

RFC 6275 §6.2.1 lets a sender choose its padding (two Pad1 options or one PadN of length 2 are
equally valid before an Alternate CoA at 8n+6), and RFC 4285 §5 computes the MN-HA
authenticator over the Mobility Header as sent. A peer that pads differently from mipshop must
still register.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from mipshop.wire.checksum import upper_layer_checksum
from mipshop.wire.ipv6 import decode_packet, mobility_header_bytes
from tests.protocol.mipv6.test_registration_checks import COA, crafted_bu
from tests.protocol.scenario import CREDENTIALS, HA_ADDRESS, HOME_ADDRESS, build
from tests.wire.strategies_mh import mobility_messages

MH_AT = 40 + 24  # IPv6 header, then the Destination Options header with the Home Address option


def _repadded(raw: bytes, *, resign: bool) -> bytes:
    """``raw`` with the PadN(2) before the Alternate CoA replaced by two Pad1 options."""
    mh = bytearray(raw[MH_AT:])
    assert mh[12:14] == b"\x01\x00", "expected PadN(2) at MH offset 12 (RFC 6275 §6.1.7 layout)"
    mh[12:14] = b"\x00\x00"
    mh[4:6] = b"\x00\x00"
    if resign:
        # RFC 4285 §5: First(96, HMAC_SHA1(key, CoA | HoA | MH up to and including the SPI)),
        # computed here from the RFC's formula, independently of mipshop.
        key = CREDENTIALS.security_association.key
        data = COA.packed + HOME_ADDRESS.packed + bytes(mh[:-12])
        mh[-12:] = hmac.new(key, data, hashlib.sha1).digest()[:12]
    checksum = upper_layer_checksum(HOME_ADDRESS, HA_ADDRESS, 135, bytes(mh))
    mh[4:6] = checksum.to_bytes(2, "big")
    return raw[:MH_AT] + bytes(mh)


def test_peer_padding_that_differs_from_ours_still_registers() -> None:
    scn = build()
    raw = _repadded(crafted_bu(at=1.0, sequence=100), resign=True)
    # Same message but for its authenticator; different bytes on the wire.
    ours = decode_packet(crafted_bu(at=1.0, sequence=100)).payload
    theirs = decode_packet(raw).payload
    assert theirs.options[:-1] == ours.options[:-1]
    assert (theirs.sequence, theirs.lifetime) == (ours.sequence, ours.lifetime)
    assert mobility_header_bytes(raw)[12:14] == b"\x00\x00"
    scn.net.inject(raw, "ha", "home", at=1.0)
    scn.run(3)
    entry = scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now)
    assert entry is not None and entry.care_of_address == COA


def test_an_authenticator_over_other_bytes_is_refused() -> None:
    # The re-padded packet keeps the authenticator computed over our PadN(2) layout: a
    # verifier that re-encoded the message would accept it; one that reads the wire must not.
    scn = build()
    scn.net.inject(_repadded(crafted_bu(at=1.0, sequence=100), resign=False), "ha", "home", at=1.0)
    scn.run(3)
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now) is None
    assert [e.fields["reason"] for e in scn.net.events_of("auth.failed", "ha")] == [
        "bad_authenticator"
    ]


def test_a_registration_decodes_the_bu_once_and_encodes_the_ba_once(monkeypatch) -> None:
    # The authenticator is checked over the received bytes without decoding them a second
    # time, and the signed BA is never encoded field by field: its octets come from the BA
    # template (mn_ha_binding_acknowledgement), made for its MAC, and sending it reuses them.
    import random

    from mipshop.protocol.base.actions import Transmit
    from mipshop.protocol.base.config import RouterConfig
    from mipshop.protocol.mipv6.config import HomeAgentConfig
    from mipshop.protocol.mipv6.home_agent import HomeAgent
    from mipshop.protocol.mipv6.signalling import verify_mn_ha
    from mipshop.wire import mh as mh_module
    from mipshop.wire.ipv6 import encode_packet
    from mipshop.wire.mh import BindingAcknowledgement, BindingUpdate
    from tests.protocol.scenario import HOME_PREFIX, WALL_CLOCK

    agent = HomeAgent("ha", random.Random(1), HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA_ADDRESS, prefix=HOME_PREFIX),
        credentials=(dataclasses.replace(CREDENTIALS, home_address=HOME_ADDRESS),),
        wall_clock_offset=WALL_CLOCK, dad_duration=0.0))
    raw = crafted_bu(at=1.0, sequence=7)
    decoded: list[object] = []
    encoded: list[object] = []
    real_bu, real_ba = mh_module._DECODERS[BindingUpdate.MH_TYPE], mh_module._ENCODERS[
        BindingAcknowledgement]
    minimum, decode = real_bu
    monkeypatch.setitem(mh_module._DECODERS, BindingUpdate.MH_TYPE,
                        (minimum, lambda *a: decoded.append(a) or decode(*a)))
    monkeypatch.setitem(mh_module._ENCODERS, BindingAcknowledgement,
                        lambda m, u: encoded.append(m) or real_ba(m, u))
    agent.receive(raw, "home", 1.0)
    (ba,) = [a.packet for a in agent.pull_actions()
             if isinstance(a, Transmit) and isinstance(a.packet.payload, BindingAcknowledgement)]
    wire = encode_packet(ba)
    assert len(decoded) == 1 and encoded == []
    back = decode_packet(wire)
    assert back.payload.status == 0
    assert verify_mn_ha(back.payload, CREDENTIALS, care_of_address=COA,
                        home_address=HOME_ADDRESS)


def _received_or_encoded_by_of(message: object, encoded: bytes | None) -> bytes:
    # received_or_encoded as it was: the received header asked through its ``of`` method.
    from mipshop.wire.mh import decode_mh, encode_mh
    if encoded is not None:
        of = getattr(encoded, "of", None)
        if (of is not None and of(message)) or decode_mh(encoded) == message:
            return encoded
    return encode_mh(message)  # type: ignore[arg-type]


@settings(max_examples=150)
@given(mobility_messages(), mobility_messages(), st.sampled_from(
    ["own", "other", "unset", "plain", "plain_other", "none"]))
def test_received_or_encoded_reads_the_received_headers_message(
        message: object, other: object, kind: str) -> None:
    # The message attribute read instead of ``of`` called: the same bytes returned (the
    # received ones, or a re-encoding) for a received header of this message, of another
    # message, with no message, for plain bytes of either, and for None.
    from mipshop.protocol.base.entity import ReceivedHeader
    from mipshop.protocol.mipv6.signalling import received_or_encoded
    from mipshop.wire.mh import encode_mh
    own, theirs = encode_mh(message), encode_mh(other)  # type: ignore[arg-type]
    encoded: bytes | None
    if kind in ("own", "other", "unset"):
        encoded = ReceivedHeader(own if kind != "other" else theirs)
        if kind != "unset":
            encoded.message = message if kind == "own" else other  # type: ignore[attr-defined]
    else:
        encoded = {"plain": own, "plain_other": theirs, "none": None}[kind]
    fast = received_or_encoded(message, encoded)  # type: ignore[arg-type]
    slow = _received_or_encoded_by_of(message, encoded)
    assert fast == slow and type(fast) is type(slow)
