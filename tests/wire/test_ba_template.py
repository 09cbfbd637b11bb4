"""The BA template (``mn_ha_binding_acknowledgement``) gives the message and the octets of the
general path: the unsigned BA, the RFC 4285 options appended, the draft encoded, signed over
its MH Data and the authenticator put in (``sign_last_option``).

A home agent answers every Binding Update with such a BA, so it is built from a template whose
fixed octets (padding, option Type, Length, Subtype) are laid out once per identifier length;
these properties hold the template to the general encoder for every field value.
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.protocol.mipv6.config import MobilityCredentials
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation
from mipshop.protocol.mipv6.signalling import (
    protect_mn_ha,
    protected_acknowledgement,
    verify_mn_ha,
)
from mipshop.wire.mh import (
    BindingAcknowledgement,
    decode_mh,
    encode_mh,
    mh_authenticator_input,
    mn_ha_binding_acknowledgement,
    new_binding_acknowledgement,
    sign_last_option,
)
from mipshop.wire.mh_options import (
    encode_mobility_options,
    mn_ha_option_layout,
    mn_ha_options,
    with_authenticator,
)

statuses = st.integers(0, 255)
sequences = st.integers(0, 0xFFFF)
lifetimes = st.integers(0, 0xFFFF).map(lambda units: units * 4)
identifiers = st.binary(min_size=0, max_size=254)
timestamps = st.integers(0, 2**64 - 1)
spis = st.integers(0, 2**32 - 1)
authenticator_lengths = st.integers(0, 32)


def _mac(length: int) -> Any:
    """A deterministic authenticator of ``length`` octets over what it is given, recording it."""
    seen: list[bytes] = []

    def sign(data: bytes) -> bytes:
        seen.append(data)
        return hashlib.sha256(data).digest()[:length].ljust(length, b"\x5a")

    sign.seen = seen  # type: ignore[attr-defined]
    return sign


def _general(status: int, sequence: int, lifetime: int, identifier: bytes, timestamp: int,
             spi: int, length: int) -> tuple[BindingAcknowledgement, bytes, bytes]:
    """The general path, with the constructors: (signed BA, its MH Data, its octets)."""
    draft = BindingAcknowledgement(status=status, sequence=sequence, lifetime=lifetime,
                                   options=mn_ha_options(identifier, timestamp, spi, length))
    encoded = encode_mh(draft)
    data = mh_authenticator_input(encoded, length)
    authenticator = _mac(length)(data)
    signed = sign_last_option(draft, encoded, with_authenticator(draft.options[-1],
                                                                  authenticator))
    # A BA equal to the signed one but not the object sign_last_option made: encode_mh
    # encodes it field by field.
    octets = encode_mh(BindingAcknowledgement(status=status, sequence=sequence,
                                              lifetime=lifetime, options=signed.options))
    return signed, data, octets


@given(status=statuses, sequence=sequences, lifetime=lifetimes, identifier=identifiers,
       timestamp=timestamps, spi=spis, length=authenticator_lengths)
def test_the_template_gives_the_general_encoders_message_and_octets(
        status: int, sequence: int, lifetime: int, identifier: bytes, timestamp: int,
        spi: int, length: int) -> None:
    sign = _mac(length)
    built = mn_ha_binding_acknowledgement(status, sequence, lifetime, identifier, timestamp,
                                          spi, sign, length)
    signed, data, octets = _general(status, sequence, lifetime, identifier, timestamp, spi,
                                    length)
    assert sign.seen == [data]  # signed over the general path's MH Data
    assert built == signed
    assert repr(built) == repr(signed) and hash(built) == hash(signed)
    assert encode_mh(built) == octets  # the octets kept for it
    assert decode_mh(octets) == built


@given(start=st.integers(0, 64), identifier=identifiers, timestamp=timestamps, spi=spis,
       length=authenticator_lengths)
def test_the_layout_is_the_option_encoders_for_any_start(
        start: int, identifier: bytes, timestamp: int, spi: int, length: int) -> None:
    before_identifier, before_timestamp, before_spi = mn_ha_option_layout(
        start, len(identifier), length)
    assert (before_identifier + identifier + before_timestamp + timestamp.to_bytes(8, "big")
            + before_spi + spi.to_bytes(4, "big") + bytes(length)) == encode_mobility_options(
        mn_ha_options(identifier, timestamp, spi, length), start)


A = IPv6Address("2001:db8:2::10")
H = IPv6Address("2001:db8:1::10")


@given(status=statuses, sequence=sequences, lifetime=lifetimes,
       identifier=st.binary(min_size=1, max_size=254), timestamp=timestamps,
       spi=st.integers(256, 2**32 - 1), key=st.binary(min_size=1, max_size=40))
def test_protected_acknowledgement_is_protect_mn_ha_of_the_unsigned_ba(
        status: int, sequence: int, lifetime: int, identifier: bytes, timestamp: int,
        spi: int, key: bytes) -> None:
    creds = MobilityCredentials(identifier=identifier,
                                security_association=SecurityAssociation(spi=spi, key=key))
    built = protected_acknowledgement(status, sequence, lifetime, creds, timestamp=timestamp,
                                      care_of_address=A, home_address=H)
    octets = encode_mh(built)
    general = protect_mn_ha(new_binding_acknowledgement(status, sequence, lifetime), creds,
                            timestamp=timestamp, care_of_address=A, home_address=H)
    assert built == general and repr(built) == repr(general)
    assert octets == encode_mh(general)
    # The mobile node's check (RFC 4285 §5.1.1) over the octets that leave.
    assert verify_mn_ha(decode_mh(octets), creds, care_of_address=A, home_address=H,
                        encoded=octets)


@pytest.mark.parametrize(("status", "sequence", "lifetime", "identifier", "timestamp", "spi"), [
    (256, 1, 4, b"mn", 1, 300), (-1, 1, 4, b"mn", 1, 300),  # status is 8 bits
    (0, 0x10000, 4, b"mn", 1, 300), (0, -1, 4, b"mn", 1, 300),  # sequence is 16 bits
    (0, 1, 6, b"mn", 1, 300), (0, 1, 0x10000 * 4, b"mn", 1, 300),  # 4-second units
    (0, 1, 4, b"x" * 255, 1, 300), (0, 1, 4, "mn", 1, 300),  # identifier 0..254 bytes
    (0, 1, 4, b"mn", 2**64, 300), (0, 1, 4, b"mn", -1, 300),  # timestamp 64 bits
    (0, 1, 4, b"mn", 1, 2**32), (0, 1, 4, b"mn", 1, -1),  # SPI 32 bits
])
def test_the_template_refuses_what_the_constructors_refuse(
        status: int, sequence: int, lifetime: int, identifier: Any, timestamp: int,
        spi: int) -> None:
    with pytest.raises(ValueError):
        BindingAcknowledgement(status=status, sequence=sequence, lifetime=lifetime,
                               options=mn_ha_options(identifier, timestamp, spi, 12))
    with pytest.raises(ValueError):
        mn_ha_binding_acknowledgement(status, sequence, lifetime, identifier, timestamp, spi,
                                      _mac(12), 12)


def test_an_authenticator_of_another_length_is_refused() -> None:
    with pytest.raises(ValueError):
        mn_ha_binding_acknowledgement(0, 1, 4, b"mn", 1, 300, _mac(11), 12)
