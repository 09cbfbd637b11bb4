"""Mobility Header messages (IPv6 Next Header 135): RFC 6275 §6.1, RFC 5568 §6.2.

Layout (RFC 6275 §6.1.1)::

    0 Payload Proto (59) | 1 Header Len | 2 MH Type | 3 Reserved | 4-5 Checksum | 6.. Message Data

Header Len counts 8-octet units after the first 8, so the header is ``(Header Len + 1) * 8``
octets. Message Data is the type's fixed part followed by mobility options
(:mod:`mipshop.wire.mh_options`) padded so the whole header is a multiple of 8 octets.

:func:`encode_mh` writes Payload Proto 59, Header Len, and a zero checksum: the checksum
covers the IPv6 pseudo-header (RFC 6275 §6.1.1, with the home address as source when there is
a Home Address option), so the packet layer fills it in at :data:`MH_CHECKSUM_OFFSET`.
:func:`decode_mh` ignores the checksum value (the packet layer verifies it) and applies the
receiver checks of RFC 6275 §9.2 in the RFC's order:

1. an MH Type this codec does not know gives :class:`UnknownMobilityMessage` (not an error:
   the receiver answers it with a Binding Error, status 2, RFC 6275 §9.3.3);
2. Payload Proto other than 59 raises :class:`MalformedPacket` with offset 0 (the ICMPv6
   Parameter Problem pointer);
3. Header Len below the type's minimum, or claiming more octets than the buffer holds, raises
   :class:`MalformedPacket` with offset 1.

Octets after ``(Header Len + 1) * 8`` are ignored: the Mobility Header's Payload Proto is
"no next header", and RFC 8200 §4.7 says octets after such a header are ignored. Reserved
fields and flag bits not defined for a type are ignored on receipt and written as zero.
Decoders raise only :class:`MalformedPacket`, whatever the input. They build messages through
``mh_options._fast_new`` (no ``__init__``/``__post_init__``: every value a fixed part can carry
is valid), which is most of what makes a BU decode a few microseconds.

The message classes do not enforce protocol rules that span fields or options (RFC 5568's A=H=1
on an FBU, S only with HI Code 0, which options a type may carry): the entities do, so that a
received message can always be represented and answered.

**FBU/FBack lifetime units** (docs/decisions.md D1, a conflict): RFC 5568 §6.2.2/§6.2.3 say "the
requested/granted time in seconds", but also that the FBU "is identical to the Mobile IPv6
Binding Update" (4-second units, RFC 6275 §6.1.7); RFC 4068 said "see RFC 3775", and Wireshark
decodes the field in 4-second units. mipshop defaults to 4-second units for wire compatibility
with RFC 4068 implementations and with the dissector, and takes ``fbu_lifetime_unit=1`` for the
literal RFC 5568 reading. In the model the lifetime is always in seconds.

**HAck code for an assigned NCoA** (docs/decisions.md D3): RFC 5568 §6.2.1.2's text says "Code 3"
but its code table gives 2 = "NCoA assigned" and 3 = "use PCoA" (RFC 4068 numbering left
over); :class:`HandoverAckCode` follows the table.

Message fields that carry codes (status, HI/HAck code) are plain ``int`` so that values without
a name survive a round trip; compare them with the ``IntEnum`` members below.
"""

from __future__ import annotations

import functools
import operator
import struct
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import IntEnum
from ipaddress import IPv6Address
from typing import Any, ClassVar, TypeAlias, TypeVar

from .errors import MalformedPacket
from .mh_options import (
    AlternateCareOfAddress,
    MobilityMessageAuthenticationSubtype,
    MobilityOption,
    _address,
    _decode_options,
    _fast_new,
    _new_acoa,
    _new_mma,
    _new_mnid,
    _new_rp,
    encode_mobility_options,
    is_mobility_option,
    mn_ha_option_layout,
)
from .nd_options import packed_address

__all__ = [
    "IPPROTO_NONE",
    "MAX_MH_LENGTH",
    "MESSAGE_CLASSES",
    "MH_CHECKSUM_OFFSET",
    "MIN_HEADER_LEN",
    "BindingAckStatus",
    "BindingAcknowledgement",
    "BindingError",
    "BindingErrorStatus",
    "BindingRefreshRequest",
    "BindingUpdate",
    "CareOfTest",
    "CareOfTestInit",
    "FastBindingAckStatus",
    "FastBindingAcknowledgement",
    "FastBindingUpdate",
    "FastNeighborAdvertisement",
    "HandoverAckCode",
    "HandoverAcknowledge",
    "HandoverInitiate",
    "HandoverInitiateCode",
    "HomeTest",
    "HomeTestInit",
    "MHType",
    "MobilityMessage",
    "UnknownMobilityMessage",
    "append_options",
    "decode_mh",
    "encode_mh",
    "mh_authenticator_input",
    "mn_ha_binding_acknowledgement",
    "new_binding_acknowledgement",
    "sign_last_option",
    "with_options",
]

IPPROTO_NONE = 59
"""The only valid Payload Proto value (RFC 6275 §6.1.1, §9.2)."""
MH_CHECKSUM_OFFSET = 4
"""Offset of the 16-bit checksum in the Mobility Header (RFC 6275 §6.1.1)."""
MAX_MH_LENGTH = 256 * 8
"""Largest Mobility Header: Header Len 255."""

_MAX_LIFETIME = 0xFFFF * 4  # 262140 s, RFC 6275 §6.1.7 (UMIP MAX_BINDING_LIFETIME)


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


class MHType(IntEnum):
    """MH Type values (RFC 6275 §6.1, RFC 5568 §6.2 and §11; IANA)."""

    BINDING_REFRESH_REQUEST = 0
    HOME_TEST_INIT = 1
    CARE_OF_TEST_INIT = 2
    HOME_TEST = 3
    CARE_OF_TEST = 4
    BINDING_UPDATE = 5
    BINDING_ACKNOWLEDGEMENT = 6
    BINDING_ERROR = 7
    FAST_BINDING_UPDATE = 8
    FAST_BINDING_ACKNOWLEDGEMENT = 9
    FAST_NEIGHBOR_ADVERTISEMENT = 10  # RFC 4068, deprecated by RFC 5568
    EXPERIMENTAL = 11  # RFC 5096 (decoded as UnknownMobilityMessage)
    HOME_AGENT_SWITCH = 12  # RFC 5142 (decoded as UnknownMobilityMessage)
    HEARTBEAT = 13  # RFC 5847 (decoded as UnknownMobilityMessage)
    HANDOVER_INITIATE = 14
    HANDOVER_ACKNOWLEDGE = 15
    BINDING_REVOCATION = 16  # RFC 5846 (decoded as UnknownMobilityMessage)


class BindingAckStatus(IntEnum):
    """Binding Acknowledgement Status (RFC 6275 §6.1.8; RFC 4285 §8; IANA).

    Below 128 the BU was accepted, from 128 it was rejected.
    """

    ACCEPTED = 0
    ACCEPTED_PREFIX_DISCOVERY_NECESSARY = 1
    GRE_KEY_OPTION_NOT_REQUIRED = 2  # RFC 5845
    GRE_TLV_HEADER_NOT_SUPPORTED = 3  # RFC 5845
    MCOA_NOT_COMPLETE = 4  # RFC 5648
    MCOA_RETURN_HOME_WITHOUT_NDP = 5  # RFC 5648
    PBU_ACCEPTED_TB_IGNORED_SETTINGS_MISMATCH = 6
    REASON_UNSPECIFIED = 128
    ADMINISTRATIVELY_PROHIBITED = 129
    INSUFFICIENT_RESOURCES = 130
    HOME_REGISTRATION_NOT_SUPPORTED = 131
    NOT_HOME_SUBNET = 132
    NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE = 133
    DUPLICATE_ADDRESS_DETECTION_FAILED = 134
    SEQUENCE_NUMBER_OUT_OF_WINDOW = 135
    EXPIRED_HOME_NONCE_INDEX = 136
    EXPIRED_CARE_OF_NONCE_INDEX = 137
    EXPIRED_NONCES = 138
    REGISTRATION_TYPE_CHANGE_DISALLOWED = 139
    MOBILE_ROUTER_OPERATION_NOT_PERMITTED = 140  # RFC 3963
    INVALID_PREFIX = 141  # RFC 3963
    NOT_AUTHORIZED_FOR_PREFIX = 142  # RFC 3963
    FORWARDING_SETUP_FAILED = 143  # RFC 3963
    MIPV6_ID_MISMATCH = 144  # RFC 4285 §6, §8
    MIPV6_MESG_ID_REQD = 145  # RFC 4285 §6, §8
    MIPV6_AUTH_FAIL = 146  # RFC 4285 §5.3, §8
    PERMANENT_HOME_KEYGEN_TOKEN_UNAVAILABLE = 147  # RFC 4866
    CGA_AND_SIGNATURE_VERIFICATION_FAILED = 148  # RFC 4866
    PERMANENT_HOME_KEYGEN_TOKEN_EXISTS = 149  # RFC 4866
    NON_NULL_HOME_NONCE_INDEX_EXPECTED = 150  # RFC 4866
    SERVICE_AUTHORIZATION_FAILED = 151  # RFC 5149
    INVALID_CARE_OF_ADDRESS = 174  # RFC 6275


class BindingErrorStatus(IntEnum):
    """Binding Error Status (RFC 6275 §6.1.9)."""

    UNKNOWN_BINDING_FOR_HOME_ADDRESS_OPTION = 1
    UNRECOGNIZED_MH_TYPE = 2


class FastBindingAckStatus(IntEnum):
    """Fast Binding Acknowledgment Status (RFC 5568 §6.2.3)."""

    ACCEPTED = 0
    ACCEPTED_NCOA_INVALID = 1  # use the NCoA in the Alternate CoA option
    REASON_UNSPECIFIED = 128
    ADMINISTRATIVELY_PROHIBITED = 129
    INSUFFICIENT_RESOURCES = 130
    INCORRECT_INTERFACE_IDENTIFIER_LENGTH = 131


class HandoverInitiateCode(IntEnum):
    """Handover Initiate Code (RFC 5568 §6.2.1.1)."""

    FBU_FROM_PCOA = 0  # the PAR got the FBU with source = PCoA (predictive)
    FBU_NOT_FROM_PCOA = 1  # source != PCoA (reactive, sent from the NAR's link)


class HandoverAckCode(IntEnum):
    """Handover Acknowledge Code (RFC 5568 §6.2.1.2; 2 = NCoA assigned, decisions.md D3)."""

    ACCEPTED_NCOA_VALID = 0
    ACCEPTED_NCOA_NOT_VALID = 1
    ACCEPTED_NCOA_ASSIGNED = 2
    ACCEPTED_USE_PCOA = 3
    UNSOLICITED = 4
    NOT_ACCEPTED = 128
    ADMINISTRATIVELY_PROHIBITED = 129
    INSUFFICIENT_RESOURCES = 130


# --------------------------------------------------------------------------------------------
# Validation helpers (construction only; decoders build through _fast_new)
# --------------------------------------------------------------------------------------------


def _check_u16(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{what} must be 0..65535, got {value!r}")


def _check_u8(value: int, what: str) -> None:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{what} must be 0..255, got {value!r}")


def _check_lifetime(value: int, what: str = "lifetime") -> None:
    if not 0 <= value <= _MAX_LIFETIME or value & 3:
        raise ValueError(f"{what} must be a multiple of 4 s in 0..{_MAX_LIFETIME}, got {value!r}")


def _check_flags(obj: Any, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(obj, name).__class__ is not bool:
            raise ValueError(f"{name} must be a bool, got {getattr(obj, name)!r}")


def _check_bytes(value: bytes, size: int, what: str) -> None:
    if value.__class__ is not bytes or len(value) != size:
        raise ValueError(f"{what} must be {size} bytes, got {value!r}")


def _check_options(options: tuple[MobilityOption, ...]) -> None:
    if options.__class__ is not tuple:
        raise ValueError(f"options must be a tuple, got {options!r}")
    for opt in options:
        if not is_mobility_option(opt):
            raise ValueError(f"not a mobility option: {opt!r}")


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class BindingRefreshRequest:
    """Binding Refresh Request, BRR (MH type 0, RFC 6275 §6.1.2): Reserved(16), options."""

    MH_TYPE: ClassVar[int] = 0
    NAME: ClassVar[str] = "binding_refresh_request"
    FLAGS: ClassVar[dict[str, str]] = {}

    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeTestInit:
    """Home Test Init, HoTI (MH type 1, RFC 6275 §6.1.3): Reserved(16), 64-bit cookie."""

    MH_TYPE: ClassVar[int] = 1
    NAME: ClassVar[str] = "home_test_init"
    FLAGS: ClassVar[dict[str, str]] = {}

    cookie: bytes
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_bytes(self.cookie, 8, "cookie")
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class CareOfTestInit:
    """Care-of Test Init, CoTI (MH type 2, RFC 6275 §6.1.4): Reserved(16), 64-bit cookie."""

    MH_TYPE: ClassVar[int] = 2
    NAME: ClassVar[str] = "care_of_test_init"
    FLAGS: ClassVar[dict[str, str]] = {}

    cookie: bytes
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_bytes(self.cookie, 8, "cookie")
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeTest:
    """Home Test, HoT (MH type 3, RFC 6275 §6.1.5): nonce index, cookie, keygen token."""

    MH_TYPE: ClassVar[int] = 3
    NAME: ClassVar[str] = "home_test"
    FLAGS: ClassVar[dict[str, str]] = {}

    home_nonce_index: int
    cookie: bytes
    keygen_token: bytes
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u16(self.home_nonce_index, "home_nonce_index")
        _check_bytes(self.cookie, 8, "cookie")
        _check_bytes(self.keygen_token, 8, "keygen_token")
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class CareOfTest:
    """Care-of Test, CoT (MH type 4, RFC 6275 §6.1.6): nonce index, cookie, keygen token."""

    MH_TYPE: ClassVar[int] = 4
    NAME: ClassVar[str] = "care_of_test"
    FLAGS: ClassVar[dict[str, str]] = {}

    care_of_nonce_index: int
    cookie: bytes
    keygen_token: bytes
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u16(self.care_of_nonce_index, "care_of_nonce_index")
        _check_bytes(self.cookie, 8, "cookie")
        _check_bytes(self.keygen_token, 8, "keygen_token")
        _check_options(self.options)


_BU_FLAGS = {
    "ack": "A",  # 0x8000, RFC 6275 §6.1.7
    "home_registration": "H",  # 0x4000
    "link_local_compat": "L",  # 0x2000
    "key_management": "K",  # 0x1000
    "map_registration": "M",  # 0x0800, RFC 5380 §4
    "mobile_router": "R",  # 0x0400, RFC 3963
    "proxy_registration": "P",  # 0x0200, RFC 5213
    "forced_udp": "F",  # 0x0100, RFC 5555
    "tlv_header": "T",  # 0x0080, RFC 5845
    "bulk": "B",  # 0x0040, RFC 6602
}
_BU_FLAG_NAMES = tuple(_BU_FLAGS)


@dataclass(frozen=True, kw_only=True, slots=True)
class BindingUpdate:
    """Binding Update, BU (MH type 5, RFC 6275 §6.1.7); with M set, an HMIPv6 local BU.

    ``Sequence # | A H L K M R P F T B reserved | Lifetime (4 s units)``, flag masks as in
    the IANA Binding Update Flags registry (A 0x8000 ... B 0x0040). ``lifetime`` is in seconds:
    a multiple of 4, at most 262140 (0 deletes the binding).
    """

    MH_TYPE: ClassVar[int] = 5
    NAME: ClassVar[str] = "binding_update"
    FLAGS: ClassVar[dict[str, str]] = _BU_FLAGS

    sequence: int
    lifetime: int
    ack: bool = False
    home_registration: bool = False
    link_local_compat: bool = False
    key_management: bool = False
    map_registration: bool = False
    mobile_router: bool = False
    proxy_registration: bool = False
    forced_udp: bool = False
    tlv_header: bool = False
    bulk: bool = False
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u16(self.sequence, "sequence")
        _check_lifetime(self.lifetime)
        _check_flags(self, _BU_FLAG_NAMES)
        _check_options(self.options)


_BA_FLAGS = {
    "key_management": "K",  # 0x80, RFC 6275 §6.1.8
    "mobile_router": "R",  # 0x40, RFC 3963
    "proxy_registration": "P",  # 0x20, RFC 5213
    "tlv_header": "T",  # 0x10, RFC 5845
    "bulk": "B",  # 0x08, RFC 6602
}
_BA_FLAG_NAMES = tuple(_BA_FLAGS)


@dataclass(frozen=True, kw_only=True, slots=True)
class BindingAcknowledgement:
    """Binding Acknowledgement, BA (MH type 6, RFC 6275 §6.1.8).

    ``Status | K R P T B reserved | Sequence # | Lifetime (4 s units)``. ``status`` is a plain
    int (see :class:`BindingAckStatus`); ``lifetime`` is the granted lifetime in seconds.
    """

    MH_TYPE: ClassVar[int] = 6
    NAME: ClassVar[str] = "binding_acknowledgement"
    FLAGS: ClassVar[dict[str, str]] = _BA_FLAGS

    status: int
    key_management: bool = False
    mobile_router: bool = False
    proxy_registration: bool = False
    tlv_header: bool = False
    bulk: bool = False
    sequence: int
    lifetime: int
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u8(self.status, "status")
        _check_flags(self, _BA_FLAG_NAMES)
        _check_u16(self.sequence, "sequence")
        _check_lifetime(self.lifetime)
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class BindingError:
    """Binding Error, BE (MH type 7, RFC 6275 §6.1.9): Status, Reserved, Home Address.

    ``home_address`` is the offending packet's Home Address option, or ``::`` without one.
    """

    MH_TYPE: ClassVar[int] = 7
    NAME: ClassVar[str] = "binding_error"
    FLAGS: ClassVar[dict[str, str]] = {}

    status: int
    home_address: IPv6Address
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u8(self.status, "status")
        if self.home_address.__class__ is not IPv6Address:
            raise ValueError(f"home_address must be an IPv6Address, got {self.home_address!r}")
        _check_options(self.options)


_FBU_FLAGS = {"ack": "A", "home_registration": "H", "link_local_compat": "L", "key_management": "K"}
_FBU_FLAG_NAMES = tuple(_FBU_FLAGS)


@dataclass(frozen=True, kw_only=True, slots=True)
class FastBindingUpdate:
    """Fast Binding Update, FBU (MH type 8, RFC 5568 §6.2.2): a BU carrying only A H L K.

    RFC 5568 requires A = H = 1 and the options Alternate CoA (from the PAR's link) and BADF
    (last); those are protocol rules, not enforced here. ``lifetime`` is in seconds; its wire
    unit is the ``fbu_lifetime_unit`` of :func:`encode_mh` / :func:`decode_mh` (see the module
    docstring), so the constructor only bounds it to 0..262140.
    """

    MH_TYPE: ClassVar[int] = 8
    NAME: ClassVar[str] = "fast_binding_update"
    FLAGS: ClassVar[dict[str, str]] = _FBU_FLAGS

    sequence: int
    lifetime: int
    ack: bool = True
    home_registration: bool = True
    link_local_compat: bool = False
    key_management: bool = False
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u16(self.sequence, "sequence")
        if not 0 <= self.lifetime <= _MAX_LIFETIME:
            raise ValueError(f"lifetime must be 0..{_MAX_LIFETIME} s, got {self.lifetime!r}")
        _check_flags(self, _FBU_FLAG_NAMES)
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class FastBindingAcknowledgement:
    """Fast Binding Acknowledgment, FBack (MH type 9, RFC 5568 §6.2.3): a BA with only K.

    ``status`` is a plain int (see :class:`FastBindingAckStatus`); ``lifetime`` in seconds, wire
    unit as for the FBU.
    """

    MH_TYPE: ClassVar[int] = 9
    NAME: ClassVar[str] = "fast_binding_acknowledgment"
    FLAGS: ClassVar[dict[str, str]] = {"key_management": "K"}

    status: int
    key_management: bool = False
    sequence: int
    lifetime: int
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u8(self.status, "status")
        _check_flags(self, ("key_management",))
        _check_u16(self.sequence, "sequence")
        if not 0 <= self.lifetime <= _MAX_LIFETIME:
            raise ValueError(f"lifetime must be 0..{_MAX_LIFETIME} s, got {self.lifetime!r}")
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class FastNeighborAdvertisement:
    """Fast Neighbor Advertisement, FNA (MH type 10, RFC 4068 §6.3.3; deprecated by RFC 5568).

    Two reserved octets, then options (the MN's MH-LLA). Decoded so that a NAR may still
    process it (RFC 5568 §6.3); new implementations send the ND Unsolicited NA instead.
    """

    MH_TYPE: ClassVar[int] = 10
    NAME: ClassVar[str] = "fast_neighbor_advertisement"
    FLAGS: ClassVar[dict[str, str]] = {}

    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class HandoverInitiate:
    """Handover Initiate, HI (MH type 14, RFC 5568 §6.2.1.1), PAR to NAR.

    ``Sequence # | S U reserved | Code``; S (0x80) asks the NAR to assign an NCoA, U (0x40)
    asks it to buffer. ``code`` is a plain int (see :class:`HandoverInitiateCode`). Options:
    MH-LLA of the MN (MUST), IPv6 Address/Prefix with the PCoA (SHOULD) and the NCoA.
    """

    MH_TYPE: ClassVar[int] = 14
    NAME: ClassVar[str] = "handover_initiate"
    FLAGS: ClassVar[dict[str, str]] = {"assigned_address": "S", "buffer": "U"}

    sequence: int
    assigned_address: bool = False
    buffer: bool = False
    code: int
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u16(self.sequence, "sequence")
        _check_flags(self, ("assigned_address", "buffer"))
        _check_u8(self.code, "code")
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class HandoverAcknowledge:
    """Handover Acknowledge, HAck (MH type 15, RFC 5568 §6.2.1.2), NAR to PAR.

    ``Sequence # | Reserved | Code``; ``code`` is a plain int (see :class:`HandoverAckCode`).
    """

    MH_TYPE: ClassVar[int] = 15
    NAME: ClassVar[str] = "handover_acknowledge"
    FLAGS: ClassVar[dict[str, str]] = {}

    sequence: int
    code: int
    options: tuple[MobilityOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u16(self.sequence, "sequence")
        _check_u8(self.code, "code")
        _check_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownMobilityMessage:
    """A message whose MH Type this codec does not decode (answered with BE status 2).

    ``data`` is everything after the checksum, up to ``(Header Len + 1) * 8``; its length is
    therefore 2 modulo 8, from 2 to 2042 octets. ``mh_type`` must not be a decoded type.
    """

    MH_TYPE: ClassVar[int] = -1  # no single type: see ``mh_type``
    NAME: ClassVar[str] = "unknown_mobility_message"
    FLAGS: ClassVar[dict[str, str]] = {}

    mh_type: int
    data: bytes = bytes(2)

    def __post_init__(self) -> None:
        if not 0 <= self.mh_type <= 255 or self.mh_type in _DECODERS:
            raise ValueError(f"mh_type {self.mh_type!r} must be 0..255 and not a decoded type")
        d = self.data
        if d.__class__ is not bytes or (len(d) + 6) & 7 or not 8 <= len(d) + 6 <= MAX_MH_LENGTH:
            raise ValueError(
                f"data must be bytes whose length is 2 mod 8, 2..{MAX_MH_LENGTH - 6}, got {d!r}"
            )


MobilityMessage: TypeAlias = (
    BindingRefreshRequest
    | HomeTestInit
    | CareOfTestInit
    | HomeTest
    | CareOfTest
    | BindingUpdate
    | BindingAcknowledgement
    | BindingError
    | FastBindingUpdate
    | FastBindingAcknowledgement
    | FastNeighborAdvertisement
    | HandoverInitiate
    | HandoverAcknowledge
    | UnknownMobilityMessage
)
"""Any decoded Mobility Header message."""

MESSAGE_CLASSES: tuple[type, ...] = (
    BindingRefreshRequest,
    HomeTestInit,
    CareOfTestInit,
    HomeTest,
    CareOfTest,
    BindingUpdate,
    BindingAcknowledgement,
    BindingError,
    FastBindingUpdate,
    FastBindingAcknowledgement,
    FastNeighborAdvertisement,
    HandoverInitiate,
    HandoverAcknowledge,
    UnknownMobilityMessage,
)
"""Every message class, in MH Type order (the unknown-message class last)."""

MIN_HEADER_LEN: dict[int, int] = {
    0: 0,  # BRR: 8 octets (RFC 6275 §6.1.2)
    1: 1,  # HoTI: 16 (§6.1.3)
    2: 1,  # CoTI: 16 (§6.1.4)
    3: 2,  # HoT: 24 (§6.1.5)
    4: 2,  # CoT: 24 (§6.1.6)
    5: 1,  # BU: 12 + 4 octets of padding (§6.1.7)
    6: 1,  # BA: 12 + 4 (§6.1.8)
    7: 2,  # BE: 24 (§6.1.9)
    8: 1,  # FBU: as the BU (RFC 5568 §6.2.2)
    9: 1,  # FBack: as the BA (RFC 5568 §6.2.3)
    10: 0,  # FNA: 6 + 2 reserved (RFC 4068 §6.3.3)
    14: 1,  # HI: 10-octet fixed part (RFC 5568 §6.2.1.1)
    15: 1,  # HAck: 10-octet fixed part (RFC 5568 §6.2.1.2)
}
"""Smallest Header Len for each decoded MH Type (RFC 6275 §9.2 check)."""


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------

_RES = struct.Struct("!BBBBHH")  # BRR, FNA: common header + 16-bit reserved
_TI = struct.Struct("!BBBBHH8s")  # HoTI, CoTI
_T = struct.Struct("!BBBBHH8s8s")  # HoT, CoT
_BU = struct.Struct("!BBBBHHHH")  # BU, FBU
_BA = struct.Struct("!BBBBHBBHH")  # BA, FBack
_BE = struct.Struct("!BBBBHBB16s")
_HI = struct.Struct("!BBBBHHBB")  # HI, HAck
_HEAD = struct.Struct("!BBBBH")

_options = encode_mobility_options
_packed = packed_address
_PAD_BU = encode_mobility_options((), 12)  # PadN(4)
_PAD_HI = encode_mobility_options((), 10)  # PadN(6)
# A BU whose only option is an Alternate CoA (a home registration's usual form) is written and
# read as one 32-octet layout, no option loop: fixed part, PadN(2), ACoA at 8n+6 (§6.2.5).
_PADN2_ACOA = b"\x01\x00\x03\x10"  # PadN (Type 1, Length 0), then ACoA Type 3, Length 16
_BU_ACOA = struct.Struct("!BBBBHHHH4s16s")
# Fixed parts followed by the padding of an option-less message, in one pack.
_BU_PADDED = struct.Struct("!BBBBHHHH4s")
_BA_PADDED = struct.Struct("!BBBBHBBHH4s")


def _too_long(length: int) -> ValueError:
    return ValueError(f"Mobility Header of {length} octets exceeds {MAX_MH_LENGTH}")


def _tail(options: tuple[MobilityOption, ...], start: int) -> tuple[int, bytes]:
    """Encode options after a fixed part of ``start`` octets; return (Header Len, octets)."""
    tail = encode_mobility_options(options, start)
    hl = ((start + len(tail)) >> 3) - 1
    if hl > 255:
        raise _too_long(start + len(tail))
    return hl, tail


def _enc_brr(m: Any, unit: int) -> bytes:
    if not m.options:
        return _RES.pack(59, 0, 0, 0, 0, 0)
    hl, tail = _tail(m.options, 8)
    return _RES.pack(59, hl, 0, 0, 0, 0) + tail


def _enc_fna(m: Any, unit: int) -> bytes:
    hl, tail = _tail(m.options, 8)
    return _RES.pack(59, hl, 10, 0, 0, 0) + tail


def _enc_hoti(m: Any, unit: int) -> bytes:
    hl, tail = _tail(m.options, 16)
    return _TI.pack(59, hl, m.MH_TYPE, 0, 0, 0, m.cookie) + tail


def _enc_hot(m: Any, unit: int) -> bytes:
    hl, tail = _tail(m.options, 24)
    return _T.pack(59, hl, 3, 0, 0, m.home_nonce_index, m.cookie, m.keygen_token) + tail


def _enc_cot(m: Any, unit: int) -> bytes:
    hl, tail = _tail(m.options, 24)
    return _T.pack(59, hl, 4, 0, 0, m.care_of_nonce_index, m.cookie, m.keygen_token) + tail


def _enc_bu(m: Any, unit: int) -> bytes:
    flags = (
        (0x8000 if m.ack else 0)
        | (0x4000 if m.home_registration else 0)
        | (0x2000 if m.link_local_compat else 0)
        | (0x1000 if m.key_management else 0)
        | (0x0800 if m.map_registration else 0)
        | (0x0400 if m.mobile_router else 0)
        | (0x0200 if m.proxy_registration else 0)
        | (0x0100 if m.forced_udp else 0)
        | (0x0080 if m.tlv_header else 0)
        | (0x0040 if m.bulk else 0)
    )
    opts = m.options
    if not opts:
        return _BU_PADDED.pack(59, 1, 5, 0, 0, m.sequence, flags, m.lifetime >> 2, _PAD_BU)
    if len(opts) == 1 and opts[0].__class__ is AlternateCareOfAddress:
        acoa = _packed(opts[0].address)
        return _BU_ACOA.pack(59, 3, 5, 0, 0, m.sequence, flags, m.lifetime >> 2, _PADN2_ACOA, acoa)
    tail = _options(opts, 12)
    hl = ((12 + len(tail)) >> 3) - 1
    if hl > 255:
        raise _too_long(12 + len(tail))
    return _BU.pack(59, hl, 5, 0, 0, m.sequence, flags, m.lifetime >> 2) + tail


def _enc_ba(m: Any, unit: int) -> bytes:
    flags = (
        (0x80 if m.key_management else 0)
        | (0x40 if m.mobile_router else 0)
        | (0x20 if m.proxy_registration else 0)
        | (0x10 if m.tlv_header else 0)
        | (0x08 if m.bulk else 0)
    )
    opts = m.options
    if not opts:
        return _BA_PADDED.pack(
            59, 1, 6, 0, 0, m.status, flags, m.sequence, m.lifetime >> 2, _PAD_BU
        )
    tail = _options(opts, 12)
    hl = ((12 + len(tail)) >> 3) - 1
    if hl > 255:
        raise _too_long(12 + len(tail))
    return _BA.pack(59, hl, 6, 0, 0, m.status, flags, m.sequence, m.lifetime >> 2) + tail


def _enc_be(m: Any, unit: int) -> bytes:
    hl, tail = _tail(m.options, 24)
    return _BE.pack(59, hl, 7, 0, 0, m.status, 0, _packed(m.home_address)) + tail


def _fbu_wire_lifetime(lifetime: int, unit: int) -> int:
    """Lifetime seconds -> FBU/FBack wire value for ``unit`` (4 or 1), docs/decisions.md D1."""
    if unit == 4:
        if lifetime & 3:
            raise ValueError(f"lifetime {lifetime} s is not a multiple of 4 (4-second units)")
        return lifetime >> 2
    if unit == 1:
        if lifetime > 0xFFFF:
            raise ValueError(f"lifetime {lifetime} s does not fit 16 bits of 1-second units")
        return lifetime
    raise ValueError(f"fbu_lifetime_unit must be 4 or 1, got {unit!r}")


def _enc_fbu(m: Any, unit: int) -> bytes:
    opts = m.options
    if opts:
        tail = _options(opts, 12)
        hl = ((12 + len(tail)) >> 3) - 1
        if hl > 255:
            raise _too_long(12 + len(tail))
    else:
        hl, tail = 1, _PAD_BU
    flags = (
        (0x8000 if m.ack else 0)
        | (0x4000 if m.home_registration else 0)
        | (0x2000 if m.link_local_compat else 0)
        | (0x1000 if m.key_management else 0)
    )
    life = _fbu_wire_lifetime(m.lifetime, unit)
    return _BU.pack(59, hl, 8, 0, 0, m.sequence, flags, life) + tail


def _enc_fback(m: Any, unit: int) -> bytes:
    hl, tail = _tail(m.options, 12)
    life = _fbu_wire_lifetime(m.lifetime, unit)
    flags = 0x80 if m.key_management else 0
    return _BA.pack(59, hl, 9, 0, 0, m.status, flags, m.sequence, life) + tail


def _enc_hi(m: Any, unit: int) -> bytes:
    opts = m.options
    if opts:
        tail = _options(opts, 10)
        hl = ((10 + len(tail)) >> 3) - 1
        if hl > 255:
            raise _too_long(10 + len(tail))
    else:
        hl, tail = 1, _PAD_HI
    flags = (0x80 if m.assigned_address else 0) | (0x40 if m.buffer else 0)
    return _HI.pack(59, hl, 14, 0, 0, m.sequence, flags, m.code) + tail


def _enc_hack(m: Any, unit: int) -> bytes:
    hl, tail = _tail(m.options, 10)
    return _HI.pack(59, hl, 15, 0, 0, m.sequence, 0, m.code) + tail


def _enc_unknown(m: Any, unit: int) -> bytes:
    d = m.data
    return _HEAD.pack(59, ((len(d) + 6) >> 3) - 1, m.mh_type, 0, 0) + d


_ENCODERS: dict[type, Callable[[Any, int], bytes]] = {
    BindingRefreshRequest: _enc_brr,
    HomeTestInit: _enc_hoti,
    CareOfTestInit: _enc_hoti,
    HomeTest: _enc_hot,
    CareOfTest: _enc_cot,
    BindingUpdate: _enc_bu,
    BindingAcknowledgement: _enc_ba,
    BindingError: _enc_be,
    FastBindingUpdate: _enc_fbu,
    FastBindingAcknowledgement: _enc_fback,
    FastNeighborAdvertisement: _enc_fna,
    HandoverInitiate: _enc_hi,
    HandoverAcknowledge: _enc_hack,
    UnknownMobilityMessage: _enc_unknown,
}


def encode_mh(msg: MobilityMessage, *, fbu_lifetime_unit: int = 4) -> bytes:
    """Encode ``msg`` as a whole Mobility Header with a zero checksum (RFC 6275 §6.1.1).

    ``fbu_lifetime_unit`` (4 or 1) is the wire unit of the FBU/FBack lifetime (module
    docstring). Raises ``ValueError`` when the message cannot be written (an authorization
    option not last, more than 2048 octets, an FBU lifetime that the unit cannot carry) and
    ``TypeError`` for an object that is not a message.
    """
    signed = _signed
    if signed is not None and signed[0] is msg and signed[2] == fbu_lifetime_unit:
        return signed[1]  # encoded when signed (sign_last_option)
    try:
        encode = _ENCODERS[msg.__class__]
    except KeyError:
        raise TypeError(f"not a Mobility Header message: {msg!r}") from None
    return encode(msg, fbu_lifetime_unit)


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

_new_brr = _fast_new(BindingRefreshRequest)
_new_hoti = _fast_new(HomeTestInit)
_new_coti = _fast_new(CareOfTestInit)
_new_hot = _fast_new(HomeTest)
_new_cot = _fast_new(CareOfTest)
_new_bu = _fast_new(BindingUpdate)
_new_ba = _fast_new(BindingAcknowledgement)
_new_be = _fast_new(BindingError)
_new_fbu = _fast_new(FastBindingUpdate)
_new_fback = _fast_new(FastBindingAcknowledgement)
_new_fna = _fast_new(FastNeighborAdvertisement)
_new_hi = _fast_new(HandoverInitiate)
_new_hack = _fast_new(HandoverAcknowledge)
_new_unknown = _fast_new(UnknownMobilityMessage)
#: Messages with options: how to build them without ``__init__`` (:func:`with_last_option`).
_BUILDERS: dict[type, Callable[..., Any]] = {
    BindingRefreshRequest: _new_brr, HomeTestInit: _new_hoti, CareOfTestInit: _new_coti,
    HomeTest: _new_hot, CareOfTest: _new_cot, BindingUpdate: _new_bu,
    BindingAcknowledgement: _new_ba, BindingError: _new_be, FastBindingUpdate: _new_fbu,
    FastBindingAcknowledgement: _new_fback, FastNeighborAdvertisement: _new_fna,
    HandoverInitiate: _new_hi, HandoverAcknowledge: _new_hack,
}
_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in _BUILDERS}
#: Per class: its field values but ``options``, in order, read in one C call; and where
#: ``options`` goes among them (:func:`with_options`).
_OTHER_FIELDS: dict[type, tuple[Callable[[Any], tuple[Any, ...]], int]] = {
    cls: (operator.attrgetter(*(n for n in names if n != "options"), "options"),
          names.index("options"))
    for cls, names in _FIELD_NAMES.items()}

# Decoders test the option area against the padding an encoder writes for an option-less
# message (the usual case) before calling the option decoder, which works on the whole header
# (no copy of the option area) and gives header offsets in its errors.
_opts = _decode_options
_PADN4 = _PAD_BU  # what follows a 12-octet fixed part with no options
_PADN6 = _PAD_HI  # ... a 10-octet one
# The fixed parts after the 6-octet common header.
_T_BODY = struct.Struct("!H8s8s")
_BU_BODY = struct.Struct("!HHH")
_BU_ACOA_IN = struct.Struct("!6xHHH4s16s")  # _BU_ACOA's fields after the common header
_BA_BODY = struct.Struct("!BBHH")
_HI_BODY = struct.Struct("!HBB")


# Flag words -> tuples of booleans, so a decoder unpacks them in one indexing operation.
_BU_FLAG_BITS = (0x8000, 0x4000, 0x2000, 0x1000, 0x0800, 0x0400, 0x0200, 0x0100, 0x0080, 0x0040)
_BU_FLAG_TABLE = tuple(
    tuple((word << 6) & bit != 0 for bit in _BU_FLAG_BITS) for word in range(1 << 10)
)
_FBU_FLAG_TABLE = tuple(tuple(word & bit != 0 for bit in (8, 4, 2, 1)) for word in range(16))
_BA_FLAG_TABLE = tuple(
    tuple((word << 3) & bit != 0 for bit in (0x80, 0x40, 0x20, 0x10, 0x08)) for word in range(32)
)

# Each decoder gets the buffer (bytes; Header Len already checked against the type's minimum
# and the buffer's length), the header's total length and the FBU lifetime unit. Every field
# the fixed parts can carry is valid for the model, so instances are built without
# re-validation (mh_options._fast_new).


def _dec_brr(d: bytes, total: int, unit: int) -> MobilityMessage:
    return _new_brr(_opts(d, 8, total))


def _dec_fna(d: bytes, total: int, unit: int) -> MobilityMessage:
    return _new_fna(_opts(d, 8, total))


def _dec_hoti(d: bytes, total: int, unit: int) -> MobilityMessage:
    return _new_hoti(d[8:16], _opts(d, 16, total))


def _dec_coti(d: bytes, total: int, unit: int) -> MobilityMessage:
    return _new_coti(d[8:16], _opts(d, 16, total))


def _dec_hot(d: bytes, total: int, unit: int) -> MobilityMessage:
    index, cookie, token = _T_BODY.unpack_from(d, 6)
    return _new_hot(index, cookie, token, _opts(d, 24, total))


def _dec_cot(d: bytes, total: int, unit: int) -> MobilityMessage:
    index, cookie, token = _T_BODY.unpack_from(d, 6)
    return _new_cot(index, cookie, token, _opts(d, 24, total))


def _dec_bu(d: bytes, total: int, unit: int) -> MobilityMessage:
    # RFC 6275 §6.1.7: A H L K M R P F T B are the top ten bits; the rest is reserved.
    opts: tuple[MobilityOption, ...]
    if total == 32:  # read as the single-ACoA layout _enc_bu writes, in one unpack
        seq, f, life, head, acoa = _BU_ACOA_IN.unpack_from(d)
        opts = (_new_acoa(_address(acoa)),) if head == _PADN2_ACOA else _opts(d, 12, 32)
    else:
        seq, f, life = _BU_BODY.unpack_from(d, 6)
        opts = () if total == 16 and d[12:16] == _PADN4 else _opts(d, 12, total)
    # Unpacked by name: a call with a starred argument costs twice a plain positional one.
    ack, home, link_local, key_mgmt, map_reg, router, proxy, udp, tlv, bulk = _BU_FLAG_TABLE[f >> 6]
    return _new_bu(
        seq, life << 2, ack, home, link_local, key_mgmt, map_reg, router, proxy, udp, tlv, bulk,
        opts,
    )  # fmt: skip


def _dec_ba(d: bytes, total: int, unit: int) -> MobilityMessage:
    # RFC 6275 §6.1.8: K R P T B are the top five bits of the octet after Status.
    status, f, seq, life = _BA_BODY.unpack_from(d, 6)
    k, r, p, t, b = _BA_FLAG_TABLE[f >> 3]
    if total == 16 and d[12:16] == _PADN4:
        opts: tuple[MobilityOption, ...] = ()
    else:
        opts = _opts(d, 12, total)
    return _new_ba(status, k, r, p, t, b, seq, life << 2, opts)


def _dec_be(d: bytes, total: int, unit: int) -> MobilityMessage:
    return _new_be(d[6], _address(d[8:24]), _opts(d, 24, total))


def _fbu_lifetime(wire: int, unit: int) -> int:
    """FBU/FBack wire lifetime -> seconds for ``unit`` (4 or 1), docs/decisions.md D1."""
    if unit == 4:
        return wire << 2
    if unit == 1:
        return wire
    raise ValueError(f"fbu_lifetime_unit must be 4 or 1, got {unit!r}")


def _dec_fbu(d: bytes, total: int, unit: int) -> MobilityMessage:
    # RFC 5568 §6.2.2: only A H L K; the other bits MUST be zero and are ignored here.
    seq, f, life = _BU_BODY.unpack_from(d, 6)
    if total == 16 and d[12:16] == _PADN4:
        opts: tuple[MobilityOption, ...] = ()
    else:
        opts = _opts(d, 12, total)
    ack, home, link_local, key_mgmt = _FBU_FLAG_TABLE[f >> 12]
    return _new_fbu(seq, _fbu_lifetime(life, unit), ack, home, link_local, key_mgmt, opts)


def _dec_fback(d: bytes, total: int, unit: int) -> MobilityMessage:
    # RFC 5568 §6.2.3: only K (0x80).
    status, f, seq, life = _BA_BODY.unpack_from(d, 6)
    if total == 16 and d[12:16] == _PADN4:
        opts: tuple[MobilityOption, ...] = ()
    else:
        opts = _opts(d, 12, total)
    return _new_fback(status, (f & 0x80) != 0, seq, _fbu_lifetime(life, unit), opts)


def _dec_hi(d: bytes, total: int, unit: int) -> MobilityMessage:
    # RFC 5568 §6.2.1.1: S = 0x80, U = 0x40, then Code.
    seq, f, code = _HI_BODY.unpack_from(d, 6)
    if total == 16 and d[10:16] == _PADN6:
        opts: tuple[MobilityOption, ...] = ()
    else:
        opts = _opts(d, 10, total)
    return _new_hi(seq, (f & 0x80) != 0, (f & 0x40) != 0, code, opts)


def _dec_hack(d: bytes, total: int, unit: int) -> MobilityMessage:
    seq, _, code = _HI_BODY.unpack_from(d, 6)
    if total == 16 and d[10:16] == _PADN6:
        opts: tuple[MobilityOption, ...] = ()
    else:
        opts = _opts(d, 10, total)
    return _new_hack(seq, code, opts)


# MH Type -> (smallest total length, decoder)
_DECODERS: dict[int, tuple[int, Callable[[bytes, int, int], MobilityMessage]]] = {
    t: ((MIN_HEADER_LEN[t] + 1) << 3, fn)
    for t, fn in (
        (0, _dec_brr),
        (1, _dec_hoti),
        (2, _dec_coti),
        (3, _dec_hot),
        (4, _dec_cot),
        (5, _dec_bu),
        (6, _dec_ba),
        (7, _dec_be),
        (8, _dec_fbu),
        (9, _dec_fback),
        (10, _dec_fna),
        (14, _dec_hi),
        (15, _dec_hack),
    )
}


def decode_mh(data: bytes, *, fbu_lifetime_unit: int = 4) -> MobilityMessage:
    """Decode the Mobility Header at the start of ``data``.

    Applies RFC 6275 §9.2 (see the module docstring): an unknown MH Type gives
    :class:`UnknownMobilityMessage`; a bad Payload Proto raises :class:`MalformedPacket` at
    offset 0; a Header Len below the type's minimum or beyond the buffer raises it at offset 1;
    a bad option raises it at the option's offset. The checksum is not checked, and octets
    after ``(Header Len + 1) * 8`` are ignored. ``fbu_lifetime_unit`` (4 or 1) is the wire
    unit of the FBU/FBack lifetime; any other value is a ``ValueError`` (a caller's error,
    not a property of the bytes).
    """
    # Fast path: a well-formed header of a known type in a bytes object.
    if data.__class__ is bytes and len(data) >= 8 and data[0] == 59:
        entry = _DECODERS.get(data[2])
        if entry is not None:
            total = (data[1] + 1) << 3
            if entry[0] <= total <= len(data):
                return entry[1](data, total, fbu_lifetime_unit)
    return _decode_mh_checked(bytes(data), fbu_lifetime_unit)


def _decode_mh_checked(data: bytes, unit: int) -> MobilityMessage:
    """The RFC 6275 §9.2 checks in the RFC's order, for whatever the fast path did not take."""
    n = len(data)
    if n < 8:
        raise MalformedPacket(f"Mobility Header of {n} octets is shorter than 8", 1 if n else 0)
    total = (data[1] + 1) << 3
    entry = _DECODERS.get(data[2])
    if entry is None:  # RFC 6275 §9.2: unknown type -> Binding Error status 2
        if total > n:
            raise MalformedPacket(
                f"Header Len {data[1]} means {total} octets but only {n} are present", 1
            )
        return _new_unknown(data[2], data[6:total])
    if data[0] != 59:
        raise MalformedPacket(
            f"Payload Proto is {data[0]}, not 59 (IPPROTO_NONE, RFC 6275 §9.2)", 0
        )
    low, decode = entry
    if total < low:
        raise MalformedPacket(
            f"Header Len {data[1]} is below {(low >> 3) - 1}, the minimum for MH Type "
            f"{data[2]} (RFC 6275 §9.2)",
            1,
        )
    if total > n:
        raise MalformedPacket(
            f"Header Len {data[1]} means {total} octets but only {n} are present", 1
        )
    return decode(data, total, unit)


_MsgT = TypeVar("_MsgT")

#: The last message :func:`sign_last_option` built and its encoding (``encode_mh`` returns
#: it for that very object, so a signed message is encoded once: for its MAC).
_signed: tuple[object, bytes, int] | None = None


def with_options(message: _MsgT, options: tuple[MobilityOption, ...]) -> _MsgT:
    """``message`` with ``options`` instead of its own, checked as the constructor checks them,
    built without ``__init__`` (:func:`_fast_new`): the other fields were validated when
    ``message`` was. For signers, which append options to a message many times a second."""
    _check_options(options)
    return _replace_options(message, options)


def append_options(message: _MsgT, extra: tuple[MobilityOption, ...]) -> _MsgT:
    """``message`` with ``extra`` after its own options, like :func:`with_options` but only
    ``extra`` is checked: the message's own options were checked when it was built."""
    _check_options(extra)
    return _replace_options(message, (*message.options, *extra))  # type: ignore[attr-defined]


def _check_ba_values(status: int, sequence: int, lifetime: int) -> None:
    """The checks :class:`BindingAcknowledgement`'s constructor makes of its status, sequence
    and lifetime (in seconds, a multiple of 4), for the builders that skip ``__init__``."""
    if not 0 <= status <= 0xFF:
        _check_u8(status, "status")
    if not 0 <= sequence <= 0xFFFF:
        _check_u16(sequence, "sequence")
    if not 0 <= lifetime <= _MAX_LIFETIME or lifetime & 3:
        _check_lifetime(lifetime)


def new_binding_acknowledgement(status: int, sequence: int, lifetime: int,
                                options: tuple[MobilityOption, ...] = ()
                                ) -> BindingAcknowledgement:
    """``BindingAcknowledgement(status=..., sequence=..., lifetime=..., options=...)`` (no
    flag set), with the constructor's checks made inline and no ``__init__``
    (:func:`_fast_new`): an agent sends one per Binding Update. Equal to the constructed one.
    """
    _check_ba_values(status, sequence, lifetime)
    if options or options.__class__ is not tuple:
        _check_options(options)
    return _new_ba(status, False, False, False, False, False,
                   sequence, lifetime, options)


@functools.cache
def _mn_ha_ba_template(identifier_length: int, authenticator_length: int
                       ) -> tuple[struct.Struct, int, bytes, bytes, bytes]:
    """The signed octets of an option-less BA with the RFC 4285 options as one
    :class:`struct.Struct` (the BA's fixed part, then the layout of
    :func:`~.mh_options.mn_ha_option_layout` with the identifier, the 64-bit timestamp and
    the 32-bit SPI in their places), its Header Len and the layout's three fixed pieces;
    made once per pair of lengths (a home agent signs one BA per registration)."""
    before_identifier, before_timestamp, before_spi = mn_ha_option_layout(
        12, identifier_length, authenticator_length)
    # Header Len: the fixed part (12), the options and the authenticator, in 8-octet units
    # (the layout's padding makes the sum a multiple of 8; at most 12 + 312 octets).
    size = (12 + len(before_identifier) + identifier_length + len(before_timestamp) + 8
            + len(before_spi) + 4 + authenticator_length)
    layout = struct.Struct(
        f"{_BA.format}{len(before_identifier)}s{identifier_length}s"
        f"{len(before_timestamp)}sQ{len(before_spi)}sI")
    return layout, (size >> 3) - 1, before_identifier, before_timestamp, before_spi


#: Enum members read on every registration, bound once: on Python 3.11 an attribute of an
#: Enum class goes through ``EnumType.__getattr__``'s hook (about 900 instructions).
_MN_HA = MobilityMessageAuthenticationSubtype.MN_HA


def mn_ha_binding_acknowledgement(
    status: int, sequence: int, lifetime: int, identifier: bytes, timestamp: int, spi: int,
    sign: Callable[[bytes], bytes], authenticator_length: int,
) -> BindingAcknowledgement:
    """The BA ``new_binding_acknowledgement(status, sequence, lifetime)`` protected as RFC 4285
    §4 and §5.1 say (options MN-ID, Replay Protection and, last, MN-HA authentication), built
    from a template: the fixed octets of its encoding are laid out once per identifier length
    (:func:`~.mh_options.mn_ha_option_layout`) and the values filled in.

    ``sign(mh_data)`` gets the octets the authenticator covers (:func:`mh_authenticator_input`
    of the encoding: the header up to and including the SPI, checksum zero) and returns the
    authenticator, ``authenticator_length`` octets. The result equals what appending
    ``mn_ha_options(identifier, timestamp, spi, authenticator_length)`` to the unsigned BA,
    encoding it, signing and :func:`sign_last_option` give, its encoding is the same octets
    (tests/wire/test_ba_template.py), and :func:`encode_mh` returns them without encoding it
    again. Every value is checked as the constructors check it.
    """
    global _signed
    _check_ba_values(status, sequence, lifetime)
    if identifier.__class__ is not bytes or len(identifier) > 254:
        raise ValueError(f"identifier must be 0..254 bytes, got {identifier!r}")
    if not 0 <= timestamp <= 0xFFFF_FFFF_FFFF_FFFF:
        raise ValueError(f"timestamp must be a 64-bit unsigned integer, got {timestamp!r}")
    if not 0 <= spi <= 0xFFFF_FFFF:
        raise ValueError(f"spi must be a 32-bit unsigned integer, got {spi!r}")
    layout, header_len, before_identifier, before_timestamp, before_spi = _mn_ha_ba_template(
        len(identifier), authenticator_length)
    data = layout.pack(59, header_len, 6, 0, 0, status, 0, sequence, lifetime >> 2,
                       before_identifier, identifier, before_timestamp, timestamp,
                       before_spi, spi)
    authenticator = sign(data)
    if authenticator.__class__ is not bytes or len(authenticator) != authenticator_length:
        raise ValueError(f"the authenticator must be {authenticator_length} bytes")
    ba: BindingAcknowledgement = _new_ba(
        status, False, False, False, False, False, sequence, lifetime,
        # The subtypes as mn_ha_options gives them (the MN-ID's an int, the MMA's the enum).
        (_new_mnid(1, identifier), _new_rp(timestamp),
         _new_mma(_MN_HA, spi, authenticator)))
    _signed = (ba, data + authenticator, 4)
    return ba


def _replace_options(message: _MsgT, options: tuple[MobilityOption, ...]) -> _MsgT:
    """``message`` with ``options`` (already checked) instead of its own, without
    ``__init__``."""
    cls = message.__class__
    read, at = _OTHER_FIELDS[cls]
    # attrgetter with several names returns a tuple; ``options`` was read last: dropped.
    values = read(message)[:-1]
    return _BUILDERS[cls](*values[:at], options, *values[at:])


def sign_last_option(draft: _MsgT, encoded: bytes, option: MobilityOption, *,
                     fbu_lifetime_unit: int = 4) -> _MsgT:
    """``draft`` with its last option, an authorization option holding a placeholder
    authenticator, replaced by ``option`` (same class, an authenticator of the same length).

    ``encoded`` is ``draft`` as :func:`encode_mh` wrote it (the authenticator was computed
    over it): the result's encoding is the same octets with the authenticator's replaced, and
    :func:`encode_mh` returns them for the result without encoding it again. Raises
    ``ValueError`` when the last option is not of ``option``'s class or its length differs.
    """
    global _signed
    options = draft.options  # type: ignore[attr-defined]
    last = options[-1] if options else None
    if last is None or last.__class__ is not option.__class__ or (
            len(last.authenticator) != len(option.authenticator)):  # type: ignore[union-attr]
        raise ValueError(f"the last option of {draft!r} is not a {option.NAME} of that length")
    # The other options were checked when ``draft`` was built, and ``option`` is of the class
    # of the one it replaces: no second check.
    signed = _replace_options(draft, (*options[:-1], option))
    size = len(option.authenticator)  # type: ignore[union-attr]
    _signed = (signed, encoded[:-size] + option.authenticator, fbu_lifetime_unit)  # type: ignore[union-attr]
    return signed


def mh_authenticator_input(encoded: bytes, authenticator_length: int) -> bytes:
    """Return the "MH Data" an authenticator covers: the MH, checksum zeroed, minus its tail.

    ``encoded`` is the whole Mobility Header ending with the authorization option (as
    :func:`encode_mh` writes it) and ``authenticator_length`` the length of that option's
    authenticator. The result is the header from the Payload Proto octet up to, not including,
    the authenticator, with the checksum field as zero. That is exactly:

    - RFC 6275 §5.2.6 and §6.2.7 (Binding Authorization Data): "MH Data" includes the option's
      Type and Length octets and any padding before it; the MAC is
      ``First(96, HMAC_SHA1(Kbm, CoA | CN | MH Data))``;
    - RFC 5568 §6.4.5 (BADF): "Same as in RFC 3775", the covered octets then end with the
      BADF's SPI;
    - RFC 4285 §5.1/§5.2 (Mobility Message Authentication): "the content of the Mobility Header
      up to and including the mobility SPI field of this option", checksum set to 0, when the
      option ends the header (our encoder always places it so). For an MN-HA option followed
      by an MN-AAA one, the MN-HA data ends at its own SPI: cut there instead.

    The addresses that precede MH Data in each MAC are the caller's business.
    """
    n = len(encoded)
    if not 0 <= authenticator_length <= n - 6:
        raise ValueError(
            f"authenticator_length {authenticator_length} does not fit a {n}-octet header"
        )
    return bytes(encoded[:4]) + b"\x00\x00" + bytes(encoded[6 : n - authenticator_length])
