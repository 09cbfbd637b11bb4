"""Building and checking protected Mobility Header messages, and small shared helpers.

Two protections, both computed over the *encoded* message with
:func:`mipshop.wire.mh.mh_authenticator_input` (checksum zeroed, authenticator cut off):

* MN-HA signalling (RFC 4285 §4, §5.1, §6): options Mobile Node Identifier, Replay Protection
  (timestamp) and, last, the Mobility Message Authentication option, keyed with the MN-HA
  security association over ``care-of address | home address | MH Data``.
* Correspondent registrations (RFC 6275 §5.2.6, §6.2.7): Binding Authorization Data, last,
  ``First(96, HMAC_SHA1(Kbm, care-of address | correspondent | MH Data))``.

A receiver re-encodes the decoded message to get MH Data. Our encoder is canonical
(``encode(decode(b)) == b`` for what it writes), so this is exact for mipshop peers; a peer that
pads differently would fail verification [documented limitation].
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TypeVar

from ...wire.ipv6 import IPv6Packet
from ...wire.mh import (
    BindingAcknowledgement,
    MobilityMessage,
    append_options,
    decode_mh,
    encode_mh,
    mh_authenticator_input,
    mn_ha_binding_acknowledgement,
    sign_last_option,
    with_options,
)
from ...wire.mh_options import (
    AlternateCareOfAddress,
    BindingAuthorizationData,
    MobileNodeIdentifier,
    MobilityMessageAuthentication,
    MobilityMessageAuthenticationSubtype,
    MobilityOption,
    ReplayProtection,
    _fast_new,
    mn_ha_options,
    with_authenticator,
)
from ..base.constants import (
    AUTHENTICATOR_LENGTH,
    LIFETIME_UNIT,
    MAX_BINDING_LIFETIME,
    MN_HA_AUTHENTICATOR_LENGTH,
)
from .config import MobilityCredentials
from .return_routability import binding_authenticator, verify_binding_authenticator

_O = TypeVar("_O")
_M = TypeVar("_M", bound=MobilityMessage)


def find_option(message: MobilityMessage, kind: type[_O]) -> _O | None:
    """The first option of type ``kind`` in ``message``, or None."""
    for option in getattr(message, "options", ()):
        if isinstance(option, kind):
            return option
    return None


def wire_lifetime(seconds: float) -> int:
    """Round a lifetime down to what a 16-bit field of 4-second units carries (§6.1.7)."""
    seconds = min(max(seconds, 0.0), MAX_BINDING_LIFETIME)
    return int(seconds // LIFETIME_UNIT) * int(LIFETIME_UNIT)


def binding_care_of_address(packet: IPv6Packet, message: MobilityMessage) -> IPv6Address:
    """The care-of address a BU registers: its Alternate CoA option, else its source (§9.5.1)."""
    alternate = find_option(message, AlternateCareOfAddress)
    return alternate.address if alternate is not None else packet.src


# -- RFC 4285: MN-HA authentication ----------------------------------------------------------


def protect_mn_ha(
    message: _M,
    credentials: MobilityCredentials,
    *,
    timestamp: int | None,
    care_of_address: IPv6Address,
    home_address: IPv6Address,
) -> _M:
    """Return ``message`` with MN-ID, Replay Protection and MN-HA authentication appended.

    RFC 4285 §4: the BU and the BA carry the MN-ID option, the timestamp option and the
    mobility message authentication option, which MUST be last (§5.1). ``timestamp`` None
    leaves the Replay Protection option out: the BA (145) to an authenticated BU that
    carried none (RFC 4285 §6), which §5.1.1 still has the agent sign.
    """
    sa = credentials.security_association
    # The three options, checked as their constructors check them (mn_ha_options), appended
    # to the message's own, which were checked when it was built.
    appended: tuple[MobilityOption, ...] = mn_ha_options(
        credentials.identifier, 0 if timestamp is None else timestamp, sa.spi,
        MN_HA_AUTHENTICATOR_LENGTH)
    if timestamp is None:
        appended = (appended[0], appended[2])
    placeholder = appended[-1]
    assert isinstance(placeholder, MobilityMessageAuthentication)
    draft = append_options(message, appended)
    encoded = encode_mh(draft)
    data = mh_authenticator_input(encoded, MN_HA_AUTHENTICATOR_LENGTH)
    # Only the authenticator changes: the message is neither validated nor encoded again.
    authenticator = sa.authenticator(care_of_address, home_address, data)
    return sign_last_option(draft, encoded, with_authenticator(placeholder, authenticator))


def protected_acknowledgement(
    status: int,
    sequence: int,
    lifetime: int,
    credentials: MobilityCredentials,
    *,
    timestamp: int,
    care_of_address: IPv6Address,
    home_address: IPv6Address,
) -> BindingAcknowledgement:
    """``protect_mn_ha(new_binding_acknowledgement(status, sequence, lifetime), ...)``: an
    option-less BA with the RFC 4285 options, built from the BA template
    (:func:`~mipshop.wire.mh.mn_ha_binding_acknowledgement`), the same message and octets
    (a home agent answers every BU with one, RFC 6275 §10.3.1, RFC 4285 §5.1.1)."""
    sa = credentials.security_association
    return mn_ha_binding_acknowledgement(
        status, sequence, lifetime, credentials.identifier, timestamp, sa.spi,
        lambda data: sa.authenticator(care_of_address, home_address, data),
        MN_HA_AUTHENTICATOR_LENGTH)


@dataclass(frozen=True, slots=True)
class MnHaProtection:
    """What a received message's RFC 4285 options say, before any check of their values."""

    authentication: MobilityMessageAuthentication | None
    identifier: bytes | None
    timestamp: int | None

    @property
    def present(self) -> bool:
        """True if the message carries an MN-HA authentication option."""
        return self.authentication is not None


#: ``MnHaProtection(...)`` positionally, without the frozen ``__init__`` (one per received
#: BU; the constructor checks nothing either).
_new_protection = _fast_new(MnHaProtection)


#: Enum members read on every registration, bound once: on Python 3.11 an attribute of an
#: Enum class goes through ``EnumType.__getattr__``'s hook (about 900 instructions).
_MN_HA = MobilityMessageAuthenticationSubtype.MN_HA


def read_mn_ha(message: MobilityMessage) -> MnHaProtection:
    """Extract the MN-HA authentication option (if it is the last option), MN-ID and timestamp."""
    options = getattr(message, "options", ())
    auth = options[-1] if options else None
    if not (
        isinstance(auth, MobilityMessageAuthentication)
        and auth.subtype == _MN_HA
    ):
        auth = None
    # The first MN-ID and the first timestamp option, in one pass over the options.
    mn_id = replay = None
    for option in options:
        if mn_id is None and isinstance(option, MobileNodeIdentifier):
            mn_id = option
        elif replay is None and isinstance(option, ReplayProtection):
            replay = option
    return _new_protection(
        auth,
        mn_id.identifier if mn_id is not None else None,
        replay.timestamp if replay is not None else None,
    )


def received_or_encoded(message: MobilityMessage, encoded: bytes | None) -> bytes:
    """The Mobility Header bytes an authenticator covers: as received, else re-encoded.

    A received header that does not decode back to ``message`` (it belongs to another packet)
    is not used. The entity's received header knows the object it was decoded into
    (:class:`~mipshop.protocol.base.entity.ReceivedHeader`): for that object no second decode
    is needed.
    """
    # A received header carries the message it was decoded into (read as an attribute: no
    # method call per authenticated BU).
    if encoded is not None and (
            getattr(encoded, "message", None) is message or decode_mh(encoded) == message):
        return encoded
    return encode_mh(message)


def verify_mn_ha(
    message: MobilityMessage,
    credentials: MobilityCredentials,
    *,
    care_of_address: IPv6Address,
    home_address: IPv6Address,
    encoded: bytes | None = None,
    protection: MnHaProtection | None = None,
) -> bool:
    """True if ``message`` ends with a valid MN-HA authentication option for ``credentials``.

    ``encoded`` is the Mobility Header as received (the MAC covers the sender's bytes); None
    re-encodes ``message``, which is the same for any sender that pads as mipshop does.
    ``protection``: what :func:`read_mn_ha` found in ``message``, if the caller has it (the
    options are then not searched again).
    """
    if protection is None:
        protection = read_mn_ha(message)
    auth = protection.authentication
    sa = credentials.security_association
    if auth is None or auth.spi != sa.spi:
        return False
    data = mh_authenticator_input(received_or_encoded(message, encoded), len(auth.authenticator))
    return sa.verify(care_of_address, home_address, data, auth.authenticator)


# -- RFC 6275 §5.2.6: Binding Authorization Data ---------------------------------------------


def sign_binding_authorization(
    message: _M, kbm: bytes, *, care_of_address: IPv6Address, correspondent: IPv6Address
) -> _M:
    """Return ``message`` with a Binding Authorization Data option appended (last, §6.2.7)."""
    placeholder = BindingAuthorizationData(authenticator=bytes(AUTHENTICATOR_LENGTH))
    draft = with_options(message, (*message.options,  # type: ignore[union-attr]
                                   placeholder))
    encoded = encode_mh(draft)
    data = mh_authenticator_input(encoded, AUTHENTICATOR_LENGTH)
    authenticator = binding_authenticator(kbm, care_of_address, correspondent, data)
    return sign_last_option(draft, encoded, with_authenticator(placeholder, authenticator))


def verify_binding_authorization(
    message: MobilityMessage,
    kbm: bytes,
    *,
    care_of_address: IPv6Address,
    correspondent: IPv6Address,
    encoded: bytes | None = None,
) -> bool:
    """True if ``message`` ends with a Binding Authorization Data option valid under ``kbm``.

    ``encoded``: the Mobility Header as received, as for :func:`verify_mn_ha`.
    """
    options = getattr(message, "options", ())
    bad = options[-1] if options else None
    if not isinstance(bad, BindingAuthorizationData):
        return False
    data = mh_authenticator_input(received_or_encoded(message, encoded), len(bad.authenticator))
    return verify_binding_authenticator(kbm, care_of_address, correspondent, data,
                                        bad.authenticator)
