"""The signing helpers of the wire layer: a signed message is built and encoded once."""

from __future__ import annotations

import dataclasses

import pytest

from mipshop.wire import mh as mh_module
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingUpdate,
    HandoverInitiate,
    decode_mh,
    encode_mh,
    sign_last_option,
    with_options,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    BindingAuthorizationData,
    FastBindingAuthorizationData,
    MobilityMessageAuthentication,
    ReplayProtection,
    with_authenticator,
)
from tests.wire.test_mh import HOA


@pytest.mark.parametrize("placeholder", [
    BindingAuthorizationData(authenticator=bytes(12)),
    FastBindingAuthorizationData(spi=9, authenticator=bytes(12)),
    MobilityMessageAuthentication(subtype=1, spi=300, authenticator=bytes(12)),
])
def test_a_signed_message_encodes_as_if_built_from_scratch(placeholder):
    message = BindingUpdate(sequence=5, lifetime=40, options=(
        AlternateCareOfAddress(address=HOA), ReplayProtection(timestamp=77)))
    draft = with_options(message, (*message.options, placeholder))
    assert draft == dataclasses.replace(message, options=(*message.options, placeholder))
    encoded = encode_mh(draft)
    option = with_authenticator(placeholder, b"\xab" * 12)
    assert option == dataclasses.replace(placeholder, authenticator=b"\xab" * 12)
    signed = sign_last_option(draft, encoded, option)
    expected = dataclasses.replace(message, options=(*message.options, option))
    assert signed == expected
    # Encoded once: the signer's octets are reused, and they are the right ones.
    assert encode_mh(signed) == encode_mh(dataclasses.replace(expected)) == (
        encoded[:-12] + b"\xab" * 12)
    assert decode_mh(encode_mh(signed)) == expected


def test_signing_helpers_refuse_what_would_change_the_layout():
    ba = BindingAcknowledgement(status=0, sequence=1, lifetime=4,
                                options=(BindingAuthorizationData(authenticator=bytes(12)),))
    with pytest.raises(ValueError):
        with_authenticator(ba.options[0], bytes(8))  # another length
    with pytest.raises(ValueError):
        sign_last_option(ba, encode_mh(ba), MobilityMessageAuthentication(
            subtype=1, spi=300, authenticator=bytes(12)))  # another class
    with pytest.raises(ValueError):
        with_options(ba, ("not an option",))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        with_authenticator(AlternateCareOfAddress(address=HOA), b"")  # type: ignore[type-var]


def test_the_remembered_encoding_is_only_for_that_object(monkeypatch):
    hi = HandoverInitiate(sequence=1, code=0, options=(
        BindingAuthorizationData(authenticator=bytes(12)),))
    signed = sign_last_option(hi, encode_mh(hi), BindingAuthorizationData(
        authenticator=b"\x01" * 12))
    calls = []
    real = mh_module._ENCODERS[HandoverInitiate]
    monkeypatch.setitem(mh_module._ENCODERS, HandoverInitiate,
                        lambda m, unit: calls.append(m) or real(m, unit))
    encode_mh(signed)
    assert calls == []
    twin = dataclasses.replace(signed)  # equal, but another object: encoded normally
    assert encode_mh(twin) == encode_mh(signed) and calls == [twin]
