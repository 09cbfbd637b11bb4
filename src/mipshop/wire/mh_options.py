"""Mobility Header options: the TLVs after a Mobility Header message's fixed part.

Sources: RFC 6275 §6.2 (format, Pad1, PadN, Binding Refresh Advice, Alternate Care-of Address,
Nonce Indices, Binding Authorization Data), RFC 4283 §3 (Mobile Node Identifier), RFC 4285 §5
and §6 (Mobility Message Authentication, Mobility Message Replay Protection) and RFC 5568 §6.4
(Mobility Header IPv6 Address/Prefix, Mobility Header Link-Layer Address, Binding Authorization
Data for FMIPv6).

Every option is a frozen, keyword-only, slotted dataclass in model units (seconds, addresses,
bytes). Each carries ``OPTION_TYPE``, ``NAME``, ``FLAGS`` (always empty: no option has flag
bits) and ``ALIGNMENT = (x, y)``: the option's Type byte must sit at an offset ``x*n + y`` from
the start of the Mobility Header (RFC 6275 §6.2.1, following the IPv6 convention; ``(1, 0)``
means none).

Placement rules applied by :func:`encode_mobility_options` (and checked, for the authorization
options, by :func:`decode_mobility_options`):

- Pad1/PadN go before an option so its Type byte meets its alignment, and after the last option
  so the whole Mobility Header is a multiple of 8 octets (RFC 6275 §6.1.1, §6.2.2, §6.2.3).
- Binding Authorization Data (type 5, RFC 6275 §6.2 and §6.2.7) and Binding Authorization Data
  for FMIPv6 (type 21, RFC 5568 §6.4.5) MUST be the last option, with no trailing padding. The
  encoder therefore chooses the padding *before* them so they end exactly on an 8-octet
  boundary; this is where the "implicit 8n+2" of RFC 6275 §6.2.7 comes from (a 12-octet
  authenticator), and it puts a 16-octet BADF at 8n+6 (RFC 5568 §6.4.5).
- The Mobility Message Authentication option (type 9, RFC 4285 §5.1/§5.2) MUST also be last;
  RFC 4285 §5 allows an MN-HA instance followed by an MN-AAA instance, so a run of type-9 options
  may close the list. The final one is placed like BAD, ending on 8n (its 4n+1 alignment holds
  for any authenticator whose length is a multiple of 4, 12 with HMAC-SHA1-96). RFC 4285 does not
  forbid padding after it, so the decoder accepts trailing padding there, but never writes it.

A decoder keeps unknown option types as :class:`UnknownMobilityOption` (RFC 6275 §6.2.1: skip
and ignore, here kept opaque so a relay can re-encode them), drops Pad1/PadN, and raises
:class:`~mipshop.wire.errors.MalformedPacket` for a truncated option, a length that is wrong for
a known type, or an authorization option that is followed by anything.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from ipaddress import IPv6Address
from typing import Any, ClassVar, TypeAlias, TypeVar

from .errors import MalformedPacket
from .nd_options import address_from_bytes, packed_address

__all__ = [
    "OPTION_CLASSES",
    "AlternateCareOfAddress",
    "BindingAuthorizationData",
    "BindingRefreshAdvice",
    "FastBindingAuthorizationData",
    "IPv6AddressPrefixCode",
    "IPv6AddressPrefixOption",
    "MHLinkLayerAddress",
    "MHLinkLayerAddressCode",
    "MobileNodeIdentifier",
    "MobileNodeIdentifierSubtype",
    "MobilityMessageAuthentication",
    "MobilityMessageAuthenticationSubtype",
    "MobilityOption",
    "MobilityOptionType",
    "NonceIndices",
    "ReplayProtection",
    "UnknownMobilityOption",
    "authentication_options",
    "decode_mobility_options",
    "encode_mobility_options",
    "is_mobility_option",
    "mn_ha_option_layout",
    "mn_ha_options",
    "with_authenticator",
]


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


class MobilityOptionType(IntEnum):
    """Mobility option type numbers (IANA mobility-parameters)."""

    PAD1 = 0  # RFC 6275 §6.2.2
    PADN = 1  # RFC 6275 §6.2.3
    BINDING_REFRESH_ADVICE = 2  # RFC 6275 §6.2.4
    ALTERNATE_CARE_OF_ADDRESS = 3  # RFC 6275 §6.2.5
    NONCE_INDICES = 4  # RFC 6275 §6.2.6
    BINDING_AUTHORIZATION_DATA = 5  # RFC 6275 §6.2.7
    MOBILE_NETWORK_PREFIX = 6  # RFC 3963 (not decoded here: kept opaque)
    MH_LINK_LAYER_ADDRESS = 7  # RFC 5568 §6.4.4
    MOBILE_NODE_IDENTIFIER = 8  # RFC 4283
    MOBILITY_MESSAGE_AUTHENTICATION = 9  # RFC 4285 §5
    REPLAY_PROTECTION = 10  # RFC 4285 §6
    FAST_BINDING_AUTHORIZATION_DATA = 21  # RFC 5568 §6.4.5 (BADF)
    MH_IPV6_ADDRESS_PREFIX = 34  # RFC 5568 §6.4.2 and §11 (the body's "17": decisions.md D2)


class IPv6AddressPrefixCode(IntEnum):
    """Option-Code of the Mobility Header IPv6 Address/Prefix option (RFC 5568 §6.4.2)."""

    PREVIOUS_CARE_OF_ADDRESS = 1  # "Old Care-of Address" (PCoA)
    NEW_CARE_OF_ADDRESS = 2  # NCoA
    NAR_ADDRESS = 3  # NAR's IP address
    NAR_PREFIX = 4  # NAR's prefix (bits after Prefix Length are zero)


class MHLinkLayerAddressCode(IntEnum):
    """Option-Code of the (MH-)LLA option (RFC 5568 §6.4.3); MH messages use 2 (§6.4.4)."""

    WILDCARD = 0
    NEW_ACCESS_POINT = 1
    MOBILE_NODE = 2
    NAR = 3
    SOURCE = 4
    CURRENT_INTERFACE = 5
    NO_PREFIX_INFORMATION = 6
    NO_FAST_HANDOVER_SUPPORT = 7


class MobileNodeIdentifierSubtype(IntEnum):
    """Subtype of the Mobile Node Identifier option (RFC 4283 §3)."""

    NAI = 1


class MobilityMessageAuthenticationSubtype(IntEnum):
    """Subtype of the Mobility Message Authentication option (RFC 4285 §5.1, §5.2, §8)."""

    MN_HA = 1
    MN_AAA = 2


_MAX_LIFETIME = 0xFFFF * 4  # 262140 s: 16 bits of 4-second units (RFC 6275 §6.1.7, §6.2.4)


# --------------------------------------------------------------------------------------------
# Fast construction for decoders
# --------------------------------------------------------------------------------------------


def _fast_new(cls: type) -> Callable[..., Any]:
    """Return ``make(*field_values)`` that builds ``cls`` without ``__init__``/``__post_init__``.

    Decoders use it, after checking whatever the wire can carry out of range, because the
    frozen-dataclass ``__init__`` (keyword arguments, one ``object.__setattr__`` per field,
    validation) costs several times the rest of a decode. ``make`` fills the slots of an
    instance of a private twin class that has the same ``__slots__`` but no frozen
    ``__setattr__`` (so each store is a plain slot store), then switches the instance's
    ``__class__`` to ``cls``, which Python allows between classes of identical layout. The
    result is indistinguishable from a constructed instance (same type, fields, equality and
    hash). If the twin is refused, each slot is set through its member descriptor instead.
    The function is generated once at import, the way dataclasses generates ``__init__``.
    """
    names = [f.name for f in fields(cls)]
    twin = type(f"_{cls.__name__}Builder", (), {"__slots__": cls.__slots__})  # type: ignore[attr-defined]
    namespace: dict[str, Any] = {"_twin": twin, "_cls": cls, "_new": object.__new__}
    try:
        probe = twin()
        probe.__class__ = cls
    except TypeError:  # pragma: no cover - CPython accepts it; keep a portable fallback
        for index, name in enumerate(names):
            namespace[f"_s{index}"] = getattr(cls, name).__set__
        body = "    o = _new(_cls)\n" + "".join(
            f"    _s{i}(o, {name})\n" for i, name in enumerate(names)
        )
        extra = [f"_s{i}=_s{i}" for i in range(len(names))] + ["_new=_new"]
    else:
        body = "    o = _twin()\n" + "".join(f"    o.{name} = {name}\n" for name in names)
        body += "    o.__class__ = _cls\n"
        extra = ["_twin=_twin"]
    params = ", ".join([*names, *extra, "_cls=_cls"])
    source = f"def make({params}):\n{body}    return o\n"
    exec(source, namespace)  # the same technique dataclasses uses for __init__
    return namespace["make"]


# --------------------------------------------------------------------------------------------
# Option classes
# --------------------------------------------------------------------------------------------


def _check_uint(value: int, bits: int, what: str) -> None:
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{what} must be a {bits}-bit unsigned integer, got {value!r}")


def _check_bytes(value: bytes, low: int, high: int, what: str) -> None:
    if type(value) is not bytes or not low <= len(value) <= high:
        raise ValueError(f"{what} must be {low}..{high} bytes, got {value!r}")


def _check_address(value: IPv6Address, what: str) -> None:
    if type(value) is not IPv6Address:
        raise ValueError(f"{what} must be an ipaddress.IPv6Address, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class BindingRefreshAdvice:
    """Binding Refresh Advice (type 2, RFC 6275 §6.2.4), valid in a BA from a home agent.

    ``refresh_interval`` is in seconds; the wire carries 4-second units, so it must be a
    multiple of 4 (at most 262140). Alignment 2n.
    """

    OPTION_TYPE: ClassVar[int] = 2
    NAME: ClassVar[str] = "binding_refresh_advice"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (2, 0)

    refresh_interval: int

    def __post_init__(self) -> None:
        r = self.refresh_interval
        if not 0 <= r <= _MAX_LIFETIME or r & 3:
            raise ValueError(
                f"refresh_interval must be a multiple of 4 s in 0..{_MAX_LIFETIME}, got {r!r}"
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class AlternateCareOfAddress:
    """Alternate Care-of Address (type 3, RFC 6275 §6.2.5); alignment 8n+6."""

    OPTION_TYPE: ClassVar[int] = 3
    NAME: ClassVar[str] = "alternate_care_of_address"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (8, 6)

    address: IPv6Address

    def __post_init__(self) -> None:
        _check_address(self.address, "address")


@dataclass(frozen=True, kw_only=True, slots=True)
class NonceIndices:
    """Nonce Indices (type 4, RFC 6275 §6.2.6), BU to a correspondent node; alignment 2n."""

    OPTION_TYPE: ClassVar[int] = 4
    NAME: ClassVar[str] = "nonce_indices"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (2, 0)

    home_nonce_index: int
    care_of_nonce_index: int

    def __post_init__(self) -> None:
        _check_uint(self.home_nonce_index, 16, "home_nonce_index")
        _check_uint(self.care_of_nonce_index, 16, "care_of_nonce_index")


@dataclass(frozen=True, kw_only=True, slots=True)
class BindingAuthorizationData:
    """Binding Authorization Data (type 5, RFC 6275 §6.2.7); MUST be the last option.

    Option Length = length of the authenticator (12 octets for HMAC-SHA1-96, RFC 6275 §5.2.6).
    Its alignment "8n+2" is implicit: the encoder places it so that it ends the header on an
    8-octet boundary with no trailing padding.
    """

    OPTION_TYPE: ClassVar[int] = 5
    NAME: ClassVar[str] = "binding_authorization_data"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (8, 2)

    authenticator: bytes

    def __post_init__(self) -> None:
        _check_bytes(self.authenticator, 0, 255, "authenticator")


@dataclass(frozen=True, kw_only=True, slots=True)
class MHLinkLayerAddress:
    """Mobility Header Link-Layer Address, MH-LLA (type 7, RFC 5568 §6.4.4); no alignment.

    ``Type | Length | Option-Code | LLA``, with Length = 1 + len(LLA) (9 octets in all for
    Ethernet). RFC 4068 had a Pad0 octet after the Option-Code; RFC 5568 (and Wireshark) have
    none, and neither do we. ``option_code`` 2 (:attr:`MHLinkLayerAddressCode.MOBILE_NODE`) is
    the mobile node's link-layer address.
    """

    OPTION_TYPE: ClassVar[int] = 7
    NAME: ClassVar[str] = "mobility_header_link_layer_address"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (1, 0)

    option_code: int
    address: bytes

    def __post_init__(self) -> None:
        _check_uint(self.option_code, 8, "option_code")
        _check_bytes(self.address, 0, 254, "address")


@dataclass(frozen=True, kw_only=True, slots=True)
class MobileNodeIdentifier:
    """Mobile Node Identifier (type 8, RFC 4283 §3): ``Type | Length | Subtype | Identifier``.

    Length = 1 + len(identifier); subtype 1 is an NAI (RFC 4282). No alignment requirement.
    """

    OPTION_TYPE: ClassVar[int] = 8
    NAME: ClassVar[str] = "mobile_node_identifier"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (1, 0)

    subtype: int = 1
    identifier: bytes

    def __post_init__(self) -> None:
        _check_uint(self.subtype, 8, "subtype")
        _check_bytes(self.identifier, 0, 254, "identifier")


@dataclass(frozen=True, kw_only=True, slots=True)
class MobilityMessageAuthentication:
    """Mobility Message Authentication (type 9, RFC 4285 §5); alignment 4n+1, last option.

    ``Type | Length | Subtype | Mobility SPI (32) | Authentication Data``; Length counts the
    Subtype, SPI and authentication data (5 + len(authenticator)). Subtype 1 is MN-HA (§5.1),
    2 is MN-AAA (§5.2). The authentication data covers the Mobility Header from its first octet
    up to and including this option's SPI, with the checksum taken as zero
    (:func:`mipshop.wire.mh.mh_authenticator_input`).
    """

    OPTION_TYPE: ClassVar[int] = 9
    NAME: ClassVar[str] = "mobility_message_authentication"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (4, 1)

    subtype: int
    spi: int
    authenticator: bytes

    def __post_init__(self) -> None:
        _check_uint(self.subtype, 8, "subtype")
        _check_uint(self.spi, 32, "spi")
        _check_bytes(self.authenticator, 0, 250, "authenticator")


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplayProtection:
    """Mobility Message Replay Protection (type 10, RFC 4285 §6); alignment 8n+2.

    ``timestamp`` is the 64-bit NTP-format timestamp (RFC 1305), seconds in the high 32 bits.
    """

    OPTION_TYPE: ClassVar[int] = 10
    NAME: ClassVar[str] = "replay_protection"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (8, 2)

    timestamp: int

    def __post_init__(self) -> None:
        _check_uint(self.timestamp, 64, "timestamp")


@dataclass(frozen=True, kw_only=True, slots=True)
class FastBindingAuthorizationData:
    """Binding Authorization Data for FMIPv6, BADF (type 21, RFC 5568 §6.4.5); last option.

    ``Type | Length | SPI (32) | Authenticator``. RFC 5568 says Option Length is "the length of
    the Authenticator", yet the option also holds the SPI; like Wireshark we use the ordinary
    TLV reading, Length = 4 + len(authenticator) (docs/decisions.md D4), 16 for HMAC-SHA1-96.
    SPI 0 is reserved for SEND-based handover keys (RFC 5269). Placed so that it ends the
    header on 8n (8n+6 for a 12-octet authenticator); ``ALIGNMENT`` records the natural
    alignment of the SPI, which that placement satisfies for 4-multiple authenticators.
    """

    OPTION_TYPE: ClassVar[int] = 21
    NAME: ClassVar[str] = "binding_authorization_data_for_fmipv6"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (4, 2)

    spi: int
    authenticator: bytes

    def __post_init__(self) -> None:
        _check_uint(self.spi, 32, "spi")
        _check_bytes(self.authenticator, 0, 251, "authenticator")


@dataclass(frozen=True, kw_only=True, slots=True)
class IPv6AddressPrefixOption:
    """Mobility Header IPv6 Address/Prefix (type 34, RFC 5568 §6.4.2 and §11); alignment 8n+4.

    ``Type | Length=18 | Option-Code | Prefix Length | IPv6 Address/Prefix``. Option codes are
    :class:`IPv6AddressPrefixCode` (1 PCoA, 2 NCoA, 3 NAR address, 4 NAR prefix). The type
    number is 34 as in the RFC's IANA section, the registry and Wireshark; the "Type: 17" in the
    body of §6.4.2 is an error (docs/decisions.md D2). Bits after the prefix length are kept as
    received (the receiver ignores them, §6.4.2).
    """

    OPTION_TYPE: ClassVar[int] = 34
    NAME: ClassVar[str] = "mobility_header_ipv6_address_prefix"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (8, 4)

    option_code: int
    prefix_length: int
    address: IPv6Address

    def __post_init__(self) -> None:
        _check_uint(self.option_code, 8, "option_code")
        if not 0 <= self.prefix_length <= 128:
            raise ValueError(f"prefix_length must be 0..128, got {self.prefix_length!r}")
        _check_address(self.address, "address")


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownMobilityOption:
    """An option of a type this codec does not interpret, kept opaque (RFC 6275 §6.2.1).

    ``option_type`` must not be one of the types decoded above (nor Pad1/PadN), so that a
    round trip gives back the same object; ``data`` is the Option Data (at most 255 octets).
    It is written with no alignment.
    """

    OPTION_TYPE: ClassVar[int] = -1  # no single type: see ``option_type``
    NAME: ClassVar[str] = "unknown_mobility_option"
    FLAGS: ClassVar[dict[str, str]] = {}
    ALIGNMENT: ClassVar[tuple[int, int]] = (1, 0)

    option_type: int
    data: bytes = b""

    def __post_init__(self) -> None:
        t = self.option_type
        if not 0 <= t <= 255 or t in _KNOWN_OPTION_TYPES:
            raise ValueError(
                f"option_type {t!r} must be 0..255 and not a padding or decoded option type"
            )
        _check_bytes(self.data, 0, 255, "data")


MobilityOption: TypeAlias = (
    BindingRefreshAdvice
    | AlternateCareOfAddress
    | NonceIndices
    | BindingAuthorizationData
    | MHLinkLayerAddress
    | MobileNodeIdentifier
    | MobilityMessageAuthentication
    | ReplayProtection
    | FastBindingAuthorizationData
    | IPv6AddressPrefixOption
    | UnknownMobilityOption
)
"""Any decoded mobility option."""

_DECODED_CLASSES: tuple[type, ...] = (
    BindingRefreshAdvice,
    AlternateCareOfAddress,
    NonceIndices,
    BindingAuthorizationData,
    MHLinkLayerAddress,
    MobileNodeIdentifier,
    MobilityMessageAuthentication,
    ReplayProtection,
    FastBindingAuthorizationData,
    IPv6AddressPrefixOption,
)
_KNOWN_OPTION_TYPES = frozenset(
    {0, 1} | {c.OPTION_TYPE for c in _DECODED_CLASSES})  # type: ignore[attr-defined]
OPTION_CLASSES: tuple[type, ...] = (*_DECODED_CLASSES, UnknownMobilityOption)
"""Every option class, in type order (the unknown-option class last)."""

# Options that authorize the message and must close the option list (RFC 6275 §6.2,
# RFC 5568 §6.4.5, RFC 4285 §5).
_AUTH_CLASSES = (
    BindingAuthorizationData,
    FastBindingAuthorizationData,
    MobilityMessageAuthentication,
)


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------

_BRA = struct.Struct("!BBH")
_NI = struct.Struct("!BBHH")
_MMA = struct.Struct("!BBBI")
_RP = struct.Struct("!BBQ")
_BADF = struct.Struct("!BBI")
_PFX = struct.Struct("!BBBB16s")
_ACOA_HEAD = b"\x03\x10"
# ``IPv6Address.packed`` is a property that goes through a generic helper; the codecs use the
# checked fast conversions of nd_options (which fall back to the public API if they must).
_packed = packed_address


def _padding(n: int) -> bytes:
    """Pad1 for one octet, PadN (``01 n-2 00...``) for n >= 2 (RFC 6275 §6.2.2, §6.2.3)."""
    if n == 0:
        return b""
    if n == 1:
        return b"\x00"
    return bytes((1, n - 2)) + bytes(n - 2)


_PAD = tuple(_padding(n) for n in range(8))
# Option areas made only of the padding an encoder writes (an option-less message's, for any
# start): a decoder returns () for them after one set lookup.
_PURE_PADDING = frozenset(_PAD[1:])


def _enc_bra(o: BindingRefreshAdvice) -> bytes:
    return _BRA.pack(2, 2, o.refresh_interval >> 2)


def _enc_acoa(o: AlternateCareOfAddress) -> bytes:
    return _ACOA_HEAD + _packed(o.address)


def _enc_ni(o: NonceIndices) -> bytes:
    return _NI.pack(4, 4, o.home_nonce_index, o.care_of_nonce_index)


def _enc_bad(o: BindingAuthorizationData) -> bytes:
    a = o.authenticator
    return bytes((5, len(a))) + a


def _enc_lla(o: MHLinkLayerAddress) -> bytes:
    a = o.address
    return bytes((7, len(a) + 1, o.option_code)) + a


def _enc_mnid(o: MobileNodeIdentifier) -> bytes:
    i = o.identifier
    return bytes((8, len(i) + 1, o.subtype)) + i


def _enc_mma(o: MobilityMessageAuthentication) -> bytes:
    a = o.authenticator
    return _MMA.pack(9, len(a) + 5, o.subtype, o.spi) + a


def _enc_rp(o: ReplayProtection) -> bytes:
    return _RP.pack(10, 8, o.timestamp)


def _enc_badf(o: FastBindingAuthorizationData) -> bytes:
    a = o.authenticator
    return _BADF.pack(21, len(a) + 4, o.spi) + a


def _enc_pfx(o: IPv6AddressPrefixOption) -> bytes:
    return _PFX.pack(34, 18, o.option_code, o.prefix_length, _packed(o.address))


def _enc_unknown(o: UnknownMobilityOption) -> bytes:
    d = o.data
    return bytes((o.option_type, len(d))) + d


def _pad_table(x: int, y: int) -> tuple[bytes, ...]:
    """Padding to put before an ``x*n + y`` option, indexed by (offset % 8); x divides 8."""
    return tuple(_PAD[(y - pos) % x] for pos in range(8))


# class -> (padding by offset % 8, is an authorization option, encoder)
_ENCODERS: dict[type, tuple[tuple[bytes, ...], bool, Callable[[Any], bytes]]] = {
    cls: (_pad_table(*cls.ALIGNMENT), cls in _AUTH_CLASSES, fn)
    for cls, fn in (
        (BindingRefreshAdvice, _enc_bra),
        (AlternateCareOfAddress, _enc_acoa),
        (NonceIndices, _enc_ni),
        (BindingAuthorizationData, _enc_bad),
        (MHLinkLayerAddress, _enc_lla),
        (MobileNodeIdentifier, _enc_mnid),
        (MobilityMessageAuthentication, _enc_mma),
        (ReplayProtection, _enc_rp),
        (FastBindingAuthorizationData, _enc_badf),
        (IPv6AddressPrefixOption, _enc_pfx),
        (UnknownMobilityOption, _enc_unknown),
    )
}
_AUTH_SET = frozenset(_AUTH_CLASSES)
_AuthOption = TypeVar("_AuthOption", BindingAuthorizationData, MobilityMessageAuthentication,
                      FastBindingAuthorizationData)


def with_authenticator(option: _AuthOption, authenticator: bytes) -> _AuthOption:
    """A copy of an authorization option (BAD, MMA, BADF) with another ``authenticator`` of the
    same length, built without ``__init__`` (the rest was validated when ``option`` was)."""
    cls = option.__class__
    if cls not in _AUTH_SET:
        raise TypeError(f"not an authorization option: {option!r}")
    if authenticator.__class__ is not bytes or len(authenticator) != len(option.authenticator):
        raise ValueError("the authenticator must be bytes of the placeholder's length")
    if cls is MobilityMessageAuthentication:
        return _new_mma(option.subtype, option.spi,  # type: ignore[attr-defined]
                        authenticator)
    if cls is FastBindingAuthorizationData:
        return _new_badf(option.spi,  # type: ignore[attr-defined]
                         authenticator)
    return _new_bad(authenticator)


def mn_ha_options(identifier: bytes, timestamp: int, spi: int, authenticator_length: int
                  ) -> tuple[MobileNodeIdentifier, ReplayProtection,
                             MobilityMessageAuthentication]:
    """The options RFC 4285 §4 appends to an MN-HA protected message, in order: Mobile Node
    Identifier (NAI subtype, RFC 4283 §3), Replay Protection with ``timestamp`` (§6) and, last
    (§5.1), an MN-HA Mobility Message Authentication option whose authenticator is
    ``authenticator_length`` zero octets: the placeholder a signer replaces
    (:func:`with_authenticator`).

    Every value is checked as the constructors check it, and the three options are then
    built without ``__init__`` (:func:`_fast_new`): an agent signs one such message per
    registration. Equal to constructing them.
    """
    _check_bytes(identifier, 0, 254, "identifier")
    return (_new_mnid(1, identifier), *authentication_options(
        timestamp, MobilityMessageAuthenticationSubtype.MN_HA, spi, authenticator_length))


def authentication_options(timestamp: int, subtype: int, spi: int, authenticator_length: int
                           ) -> tuple[ReplayProtection, MobilityMessageAuthentication]:
    """``(ReplayProtection(timestamp=...), MobilityMessageAuthentication(subtype=..., spi=...,
    authenticator=bytes(authenticator_length)))``: the timestamp and, last, the placeholder
    authentication option of an RFC 4285 protected message (§5, §6), checked as the
    constructors check them and built without ``__init__`` (see :func:`mn_ha_options`)."""
    _check_uint(timestamp, 64, "timestamp")
    _check_uint(subtype, 8, "subtype")
    _check_uint(spi, 32, "spi")
    if not 0 <= authenticator_length <= 250:
        raise ValueError(f"authenticator must be 0..250 bytes, got {authenticator_length}")
    return (_new_rp(timestamp), _new_mma(subtype, spi, bytes(authenticator_length)))


#: (start % 8, identifier length, authenticator length) -> mn_ha_option_layout's answer.
_MN_HA_LAYOUTS: dict[tuple[int, int, int], tuple[bytes, bytes, bytes]] = {}


def mn_ha_option_layout(start: int, identifier_length: int, authenticator_length: int
                        ) -> tuple[bytes, bytes, bytes]:
    """The fixed octets of the RFC 4285 options of :func:`mn_ha_options` encoded as the
    whole option area of a Mobility Header that begins at offset ``start``.

    Returns ``(before_identifier, before_timestamp, before_spi)`` such that, for any
    ``identifier`` of ``identifier_length`` octets, 64-bit ``timestamp`` and 32-bit ``spi``,
    ``encode_mobility_options(mn_ha_options(identifier, timestamp, spi, n), start)`` is
    ``before_identifier + identifier + before_timestamp + timestamp (8 octets, network order)
    + before_spi + spi (4 octets) + bytes(n)``: only the padding, Type, Length and Subtype
    octets are fixed, and they depend on the lengths and on ``start % 8`` alone. A signer
    fills in the values without encoding the options one by one (one per registration at a
    home agent). The padding comes from the tables :func:`encode_mobility_options` uses: the
    MN-ID's alignment (none), the timestamp's (8n+2), and before the authentication option,
    last, the padding that makes the header end on 8 octets (RFC 6275 §6.2, RFC 4285 §5.1).
    """
    key = (start & 7, identifier_length, authenticator_length)
    layout = _MN_HA_LAYOUTS.get(key)
    if layout is not None:
        return layout
    if not 0 <= identifier_length <= 254 or not 0 <= authenticator_length <= 250:
        raise ValueError(f"an identifier of {identifier_length} or an authenticator of "
                         f"{authenticator_length} octets cannot be carried")
    at = start & 7
    before_identifier = (_ENCODERS[MobileNodeIdentifier][0][at]
                         + bytes((8, identifier_length + 1, MobileNodeIdentifierSubtype.NAI)))
    at += len(before_identifier) + identifier_length
    before_timestamp = _ENCODERS[ReplayProtection][0][at & 7] + bytes((10, 8))
    at += len(before_timestamp) + 8
    # The MMA's Type, Length, Subtype and SPI (7 octets) and its authenticator close the area.
    closing = _PAD[-(at + 7 + authenticator_length) & 7]
    before_spi = closing + bytes((9, authenticator_length + 5,
                                  MobilityMessageAuthenticationSubtype.MN_HA))
    layout = _MN_HA_LAYOUTS[key] = (before_identifier, before_timestamp, before_spi)
    return layout


def is_mobility_option(value: object) -> bool:
    """Return True if ``value`` is an instance of one of the option classes."""
    return value.__class__ in _ENCODERS


def encode_mobility_options(options: Sequence[MobilityOption], start: int) -> bytes:
    """Encode ``options`` for a Mobility Header whose option area begins at offset ``start``.

    Inserts Pad1/PadN so that each option's Type byte meets its alignment and so that
    ``start + len(result)`` is a multiple of 8 (RFC 6275 §6.1.1, §6.2.1). An authorization
    option (BAD, BADF, MMA) must be last; an MMA may only be followed by further MMAs (MN-HA
    then MN-AAA, RFC 4285 §5). The last one is preceded by the padding that makes it end exactly
    on an 8-octet boundary, and nothing follows it (RFC 6275 §6.2, §6.2.7). Raises
    ``ValueError`` for a misplaced authorization option and ``TypeError`` for a non-option.
    """
    if not options:
        return _PAD[-start & 7]
    final = options[-1]
    closing = final.__class__ in _AUTH_SET
    out = b""
    for opt in options[:-1] if closing else options:
        try:
            pads, is_auth, encode = _ENCODERS[opt.__class__]
        except KeyError:
            raise TypeError(f"not a mobility option: {opt!r}") from None
        if is_auth:
            _check_authorization_run(options)
        out += pads[(start + len(out)) & 7] + encode(opt)
    if closing:
        body = _ENCODERS[final.__class__][2](final)
        return out + _PAD[-(start + len(out) + len(body)) & 7] + body
    return out + _PAD[-(start + len(out)) & 7]


def _check_authorization_run(options: Sequence[MobilityOption]) -> None:
    """Raise unless the authorization options close ``options`` as RFC 4285 §5 allows.

    Called when one is not last: that is only allowed for a run of MMA options (MN-HA, then
    MN-AAA) that ends the list.
    """
    first = next(i for i, o in enumerate(options) if o.__class__ in _AUTH_SET)
    if not all(o.__class__ is MobilityMessageAuthentication for o in options[first:]):
        raise ValueError(
            f"{options[first].NAME} must be the last mobility option (RFC 6275 §6.2, "
            "RFC 5568 §6.4.5, RFC 4285 §5)"
        )


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

_new_bra = _fast_new(BindingRefreshAdvice)
_new_acoa = _fast_new(AlternateCareOfAddress)
_new_ni = _fast_new(NonceIndices)
_new_bad = _fast_new(BindingAuthorizationData)
_new_lla = _fast_new(MHLinkLayerAddress)
_new_mnid = _fast_new(MobileNodeIdentifier)
_new_mma = _fast_new(MobilityMessageAuthentication)
_new_rp = _fast_new(ReplayProtection)
_new_badf = _fast_new(FastBindingAuthorizationData)
_new_pfx = _fast_new(IPv6AddressPrefixOption)
_new_unknown = _fast_new(UnknownMobilityOption)

_ADDRESS_CACHE: dict[bytes, IPv6Address] = {}
_ADDRESS_CACHE_SIZE = 4096


def _address(raw: bytes) -> IPv6Address:
    """``IPv6Address(raw)`` for a 16-octet ``raw``, memoized.

    Addresses are immutable values and a node sees the same few (its CoAs, home addresses,
    peers) again and again, while building one costs more than the rest of a BU decode. The
    memo is bounded: it is emptied when it reaches ``_ADDRESS_CACHE_SIZE`` entries.
    """
    address = _ADDRESS_CACHE.get(raw)
    if address is None:
        if len(_ADDRESS_CACHE) >= _ADDRESS_CACHE_SIZE:
            _ADDRESS_CACHE.clear()
        address = _ADDRESS_CACHE[raw] = address_from_bytes(raw)
    return address


_U16 = struct.Struct("!H")
_NI_BODY = struct.Struct("!HH")
_MMA_BODY = struct.Struct("!BI")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")


# Each decoder gets the buffer, the index of the Option Data and the Option Length, which the
# table below has already checked against the type's allowed range; every field value the wire
# can hold is valid for the model except the prefix length, checked by hand.


def _dec_bra(d: bytes, p: int, n: int) -> MobilityOption:
    return _new_bra(_U16.unpack_from(d, p)[0] << 2)


def _dec_acoa(d: bytes, p: int, n: int) -> MobilityOption:
    return _new_acoa(_address(d[p : p + 16]))


def _dec_ni(d: bytes, p: int, n: int) -> MobilityOption:
    return _new_ni(*_NI_BODY.unpack_from(d, p))


def _dec_bad(d: bytes, p: int, n: int) -> MobilityOption:
    return _new_bad(d[p : p + n])


def _dec_lla(d: bytes, p: int, n: int) -> MobilityOption:
    return _new_lla(d[p], d[p + 1 : p + n])


def _dec_mnid(d: bytes, p: int, n: int) -> MobilityOption:
    return _new_mnid(d[p], d[p + 1 : p + n])


def _dec_mma(d: bytes, p: int, n: int) -> MobilityOption:
    subtype, spi = _MMA_BODY.unpack_from(d, p)
    return _new_mma(subtype, spi, d[p + 5 : p + n])


def _dec_rp(d: bytes, p: int, n: int) -> MobilityOption:
    return _new_rp(_U64.unpack_from(d, p)[0])


def _dec_badf(d: bytes, p: int, n: int) -> MobilityOption:
    return _new_badf(_U32.unpack_from(d, p)[0], d[p + 4 : p + n])


def _dec_pfx(d: bytes, p: int, n: int) -> MobilityOption:
    plen = d[p + 1]
    if plen > 128:
        raise ValueError(f"prefix length {plen} is above 128 (RFC 5568 §6.4.2)")
    return _new_pfx(d[p], plen, _address(d[p + 2 : p + 18]))


# type -> (decoder, lowest Option Length, highest Option Length, kind)
# kind: 0 ordinary, 1 BAD/BADF (nothing may follow), 2 MMA (only MMA or padding may follow)
_DECODERS: dict[int, tuple[Callable[[bytes, int, int], MobilityOption], int, int, int]] = {
    2: (_dec_bra, 2, 2, 0),  # RFC 6275 §6.2.4
    3: (_dec_acoa, 16, 16, 0),  # RFC 6275 §6.2.5
    4: (_dec_ni, 4, 4, 0),  # RFC 6275 §6.2.6
    5: (_dec_bad, 0, 255, 1),  # RFC 6275 §6.2.7
    7: (_dec_lla, 1, 255, 0),  # RFC 5568 §6.4.4 (Option-Code + LLA)
    8: (_dec_mnid, 1, 255, 0),  # RFC 4283 §3 (Subtype + Identifier)
    9: (_dec_mma, 5, 255, 2),  # RFC 4285 §5 (Subtype + SPI + data)
    10: (_dec_rp, 8, 8, 0),  # RFC 4285 §6
    21: (_dec_badf, 4, 255, 1),  # RFC 5568 §6.4.5 (SPI + authenticator, decisions.md D4)
    34: (_dec_pfx, 18, 18, 0),  # RFC 5568 §6.4.2
}


def decode_mobility_options(data: bytes, start: int) -> tuple[MobilityOption, ...]:
    """Decode the option area ``data`` of a Mobility Header, which begins at offset ``start``.

    Pad1 and PadN are dropped; unknown types become :class:`UnknownMobilityOption`. Raises
    :class:`MalformedPacket` (offset counted from the start of the Mobility Header) when an
    option is cut short, when a known type has a length it cannot have (pointing at the Length
    octet), when a value is out of range (pointing at the Type octet), or when anything follows
    a Binding Authorization Data (RFC 6275 §6.2) or BADF option (RFC 5568 §6.4.5), or an option
    other than padding or another MMA follows a Mobility Message Authentication option
    (RFC 4285 §5).
    """
    if data.__class__ is not bytes:
        data = bytes(data)
    if not data or data in _PURE_PADDING:
        return ()
    return _decode_options(data, 0, len(data), start)


def _decode_options(d: bytes, i: int, end: int, shift: int = 0) -> tuple[MobilityOption, ...]:
    """Decode the options in ``d[i:end]`` in place (:func:`decode_mobility_options`' rules).

    The message decoders pass the whole Mobility Header, whose offsets are the error offsets
    (``shift`` 0), so the option area is never copied out; :func:`decode_mobility_options`
    passes an option area alone with ``shift`` = where it starts.
    """
    out: list[MobilityOption] = []
    while i < end:
        t = d[i]
        if t == 0:  # Pad1
            i += 1
            continue
        p = i + 2
        if p > end:
            raise MalformedPacket(f"option type {t} has no Length octet", shift + i)
        q = p + d[i + 1]
        if q > end:
            raise MalformedPacket(
                f"option type {t} of length {q - p} runs {q - end} octets past the end",
                shift + i + 1,
            )
        # PadN is skipped. The Alternate CoA (in every home registration BU and FBU) and the
        # IPv6 Address/Prefix option (HI, HAck) are built here: the table lookup, checks and
        # call below cost about as much as building them. Anything else, including those two
        # with a wrong length or a bad prefix length, goes through the table.
        if t == 1:
            pass
        elif t == 3 and q - p == 16:  # RFC 6275 §6.2.5
            out.append(_new_acoa(_address(d[p:q])))
        elif t == 34 and q - p == 18 and d[p + 1] <= 128:  # RFC 5568 §6.4.2
            out.append(_new_pfx(d[p], d[p + 1], _address(d[p + 2 : q])))
        else:
            entry = _DECODERS.get(t)
            if entry is None:
                out.append(_new_unknown(t, d[p:q]))
            else:
                decode, low, high, kind = entry
                if not low <= q - p <= high:
                    expected = str(low) if low == high else f"{low}..{high}"
                    raise MalformedPacket(
                        f"option type {t} has length {q - p}, expected {expected}",
                        shift + i + 1,
                    )
                try:
                    out.append(decode(d, p, q - p))
                except ValueError as exc:
                    raise MalformedPacket(f"option type {t}: {exc}", shift + i) from exc
                if kind:
                    _check_closing(d, q, end, kind, shift, out)
                    break
        i = q
    return tuple(out)


def _check_closing(
    d: bytes, i: int, end: int, kind: int, shift: int, out: list[MobilityOption]
) -> None:
    """Check what follows an authorization option ending at ``i``; decode further MMAs.

    After BAD or BADF (``kind`` 1) nothing may follow, not even padding (RFC 6275 §6.2,
    RFC 5568 §6.4.5). After an MMA (``kind`` 2) only padding and more MMAs may (RFC 4285 §5).
    The option area ends at ``end``; error offsets are ``shift + i``.
    """
    if kind == 1:
        if i != end:
            raise MalformedPacket(
                "octets follow the authorization option, which must be last with no trailing "
                "padding (RFC 6275 §6.2, RFC 5568 §6.4.5)",
                shift + i,
            )
        return
    while i < end:
        t = d[i]
        if t == 0:
            i += 1
            continue
        if t not in (1, 9):
            raise MalformedPacket(
                f"option type {t} follows a Mobility Message Authentication option, which "
                "must be last (RFC 4285 §5)",
                shift + i,
            )
        if i + 2 > end or i + 2 + d[i + 1] > end:
            raise MalformedPacket(f"option type {t} runs past the end", shift + i + 1)
        n = d[i + 1]
        if t == 9:
            if n < 5:
                raise MalformedPacket(
                    f"option type 9 has length {n}, expected 5..255", shift + i + 1
                )
            out.append(_dec_mma(d, i + 2, n))
        i += 2 + n
