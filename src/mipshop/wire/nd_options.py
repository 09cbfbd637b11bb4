"""Neighbor Discovery options (RFC 4861 §4.6) and their Mobile IPv6, HMIPv6 and FMIPv6 kin.

Every ND option is ``Type (8) | Length (8, in units of 8 octets, 0 invalid) | ...``
(RFC 4861 §4.6). The options modelled here:

=====  ==========================================  =============================================
Type   Class                                       Source
=====  ==========================================  =============================================
1      :class:`SourceLinkLayerAddress`             RFC 4861 §4.6.1
2      :class:`TargetLinkLayerAddress`             RFC 4861 §4.6.1
3      :class:`PrefixInformation` (with R)         RFC 4861 §4.6.2, RFC 6275 §7.2
5      :class:`MTUOption`                          RFC 4861 §4.6.4
7      :class:`AdvertisementInterval`              RFC 6275 §7.3
8      :class:`HomeAgentInformation`               RFC 6275 §7.4
17     :class:`IPAddressPrefix`                    RFC 5568 §6.4.1
19     :class:`LinkLayerAddress`                   RFC 5568 §6.4.3
20     :class:`NeighborAdvertisementAcknowledgment`  RFC 5568 §6.4.6
23     :class:`MAPOption`                          RFC 5380 §5
other  :class:`UnknownNDOption` (opaque)           RFC 4861 §4.6: unknown options are skipped
=====  ==========================================  =============================================

Decisions (see also docs/decisions.md):

- **Link-layer address length.** Neither the RFC 4861 Source/Target Link-layer Address options
  nor the RFC 5568 LLA option carry a length for the address itself: "the content and format
  of this field ... is expected to be specified in specific documents that describe how IPv6
  operates over different link layers" (RFC 4861 §4.6.1; RFC 5568 §6.4.3 says the same). The
  decoder therefore takes the address length as a parameter, ``lla_length`` (default 6: an
  IEEE 802 MAC, RFC 2464 §6, which is what Ethernet and 802.11 carry). With ``lla_length`` set,
  an LLA option must have exactly the length that address needs (Length 1 for a MAC in options
  1 and 2, Length 2 in option 19, since 3 + 6 = 9 octets pad to 16) and the padding after the
  address is dropped; ``lla_length=None`` keeps every byte after the option header as the
  address (for link layers the caller does not know). Encoders pad with zeros.
- **Option 19 length.** Length = ceil((3 + len(address)) / 8), so 2 for a MAC. scapy's
  ``ICMPv6NDOptLLA`` writes Length 1 with 9 bytes, which is wrong (docs/decisions.md D10).
- **NAACK with a new CoA.** Length 3 with the raw 16-byte address straight after the Reserved
  field, not a nested IP Address option (RFC 5568 §6.4.6's Length rule; docs/decisions.md D6).
- **Home Agent Preference** is a 16-bit *unsigned* integer in RFC 6275 §7.4 (RFC 3775 had it
  signed); it is modelled as 0..65535.
- **Reserved bits** are written as zero and ignored on receipt (RFC 4861 §4.6.2 and every
  option here), so ``encode(decode(b)) == b`` holds for bytes with zero reserved fields.
- Validation in the classes is about what the wire can carry (field ranges, MAP Dist != 0 as
  RFC 5380 §5 requires). Semantic rules such as "preferred lifetime <= valid lifetime"
  (RFC 4861 §6.3.4) or "a NAACK with status 2 carries an address" belong to the protocol layer,
  which must be able to see and count such options.
"""

from __future__ import annotations

import dataclasses
import operator
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv6Address
from typing import ClassVar, NoReturn, TypeVar

from .errors import MalformedPacket

__all__ = [
    "DEFAULT_LLA_LENGTH",
    "INFINITE_LIFETIME",
    "AdvertisementInterval",
    "HomeAgentInformation",
    "IPAddressOptionCode",
    "IPAddressPrefix",
    "LLAOptionCode",
    "LinkLayerAddress",
    "MAPOption",
    "MTUOption",
    "NAACKStatus",
    "NDOption",
    "NDOptionType",
    "NeighborAdvertisementAcknowledgment",
    "PrefixInformation",
    "SourceLinkLayerAddress",
    "TargetLinkLayerAddress",
    "UnknownNDOption",
    "decode_nd_options",
    "encode_nd_options",
]

#: A Valid or Preferred Lifetime of all one bits means infinity (RFC 4861 §4.6.2). The value is
#: kept as this integer in the model; the protocol layer gives it its meaning.
INFINITE_LIFETIME = 0xFFFFFFFF

#: Default link-layer address length for options 1, 2 and 19: an IEEE 802 MAC (RFC 2464 §6).
DEFAULT_LLA_LENGTH = 6

_MAX_OPTION_BYTES = 255 * 8


class NDOptionType(IntEnum):
    """ND option types handled by this module (IANA "IPv6 Neighbor Discovery Option Formats")."""

    SOURCE_LINK_LAYER_ADDRESS = 1
    TARGET_LINK_LAYER_ADDRESS = 2
    PREFIX_INFORMATION = 3
    REDIRECTED_HEADER = 4
    MTU = 5
    ADVERTISEMENT_INTERVAL = 7
    HOME_AGENT_INFORMATION = 8
    IP_ADDRESS_PREFIX = 17
    NEW_ROUTER_PREFIX_INFORMATION = 18  # RFC 4068 only; merged into type 17 code 4 by RFC 5568
    LINK_LAYER_ADDRESS = 19
    NEIGHBOR_ADVERTISEMENT_ACKNOWLEDGMENT = 20
    MAP = 23


class LLAOptionCode(IntEnum):
    """Option-Code of the FMIPv6 Link-Layer Address option (RFC 5568 §6.4.3)."""

    WILDCARD = 0
    NEW_ACCESS_POINT = 1
    MOBILE_NODE = 2
    NEW_ACCESS_ROUTER = 3  # "LLA of the NAR (i.e., Proxied Originator)"
    SOURCE = 4  # source of the RtSolPr or PrRtAdv
    AP_ON_CURRENT_INTERFACE = 5
    NO_PREFIX_INFORMATION = 6
    NO_FAST_HANDOVER_SUPPORT = 7


class IPAddressOptionCode(IntEnum):
    """Option-Code of the FMIPv6 IP Address/Prefix option (RFC 5568 §6.4.1)."""

    OLD_CARE_OF_ADDRESS = 1
    NEW_CARE_OF_ADDRESS = 2
    NAR_IP_ADDRESS = 3
    NAR_PREFIX = 4


class NAACKStatus(IntEnum):
    """Status of the Neighbor Advertisement Acknowledgment option (RFC 5568 §6.4.6)."""

    NCOA_INVALID_CONFIGURE = 1
    NCOA_INVALID_USE_SUPPLIED = 2
    NCOA_INVALID_USE_NAR_ADDRESS = 3
    PCOA_SUPPLIED_NO_FBU = 4
    LLA_UNRECOGNIZED = 128


# Precompiled layouts (network byte order). "x" bytes are Reserved fields.
_PIO = struct.Struct("!BBBBII4x16s")  # RFC 4861 §4.6.2 / RFC 6275 §7.2: 32 bytes
_PIO_IN = struct.Struct("!2xBBII4xQQ")  # the same, decoded with the prefix as two uint64
_TYPE_LEN_U32 = struct.Struct("!BB2xI")  # MTU (RFC 4861 §4.6.4), Adv. Interval (RFC 6275 §7.3)
_HAINFO = struct.Struct("!BB2xHH")  # RFC 6275 §7.4
_IPADDR = struct.Struct("!BBBB4x16s")  # RFC 5568 §6.4.1: 24 bytes
_IPADDR_IN = struct.Struct("!2xBB4xQQ")
_MAP = struct.Struct("!BBBBI16s")  # RFC 5380 §5: 24 bytes
_MAP_IN = struct.Struct("!2xBBIQQ")
_NAACK = struct.Struct("!BBBB4x")  # RFC 5568 §6.4.6: 8 bytes, then an optional raw address

_ZEROS = bytes(_MAX_OPTION_BYTES)

_T = TypeVar("_T")


def _require_address(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is an :class:`IPv6Address`."""
    if not isinstance(value, IPv6Address):
        raise ValueError(f"{name} must be an IPv6Address, not {type(value).__name__}")


def _require_bytes(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is ``bytes``."""
    if not isinstance(value, bytes):
        raise ValueError(f"{name} must be bytes, not {type(value).__name__}")


# ---------------------------------------------------------------------------------------------
# Fast construction for the decoders
#
# A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__`` and then runs
# ``__post_init__``; for a decoded Router Advertisement that is most of the decoding time. The
# decoders only produce values that are valid by construction (uint fields unpacked by
# ``struct``, booleans from masks, 16-byte addresses) and check the rest themselves (prefix
# length <= 128, MAP Dist != 0), so they build instances with :func:`fast_builder`: the fields
# are stored into a plain slotted twin of the class whose ``__class__`` is then set to the real
# one (the two have identical slot layouts, so CPython allows the assignment; where it does
# not, :func:`fast_builder` falls back to the validating constructor). The result is an
# ordinary instance: same type, equality, hash, repr, immutability. Encoders and users always
# go through the validating ``__init__``.


def fast_builder(cls: type[_T]) -> Callable[..., _T]:
    """Return ``build(*fields) -> cls`` that skips ``__init__`` and ``__post_init__``.

    ``build`` takes the fields positionally in dataclass field order (or by keyword). For
    decoders only: the caller guarantees the field values are valid. Falls back to the
    validating constructor when the interpreter refuses the ``__class__`` assignment.
    """
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    twin = type(f"_{cls.__name__}Twin", (), {"__slots__": tuple(names)})
    try:
        probe = twin()
        probe.__class__ = cls
    except TypeError:  # pragma: no cover - layouts differ on this interpreter

        def slow(*args: object, **kwargs: object) -> _T:
            return cls(**dict(zip(names, args, strict=False)), **kwargs)

        return slow
    # ``twin_()`` rather than ``object.__new__(twin_)``: calling the class is the cheaper
    # allocation (no argument tuple), which matters with several objects per decoded message.
    source = (
        f"def build({', '.join(names)}):\n    obj_ = twin_()\n"
        + "".join(f"    obj_.{name} = {name}\n" for name in names)
        + "    obj_.__class__ = cls_\n    return obj_\n"
    )
    namespace: dict[str, object] = {"twin_": twin, "cls_": cls}
    exec(source, namespace)  # generated from the dataclass's own field names only
    return namespace["build"]  # type: ignore[return-value]


_new_object = object.__new__
_int_from_bytes = int.from_bytes


def _fast_address_from_int(value: int) -> IPv6Address:
    """An :class:`IPv6Address` holding ``value`` (0 <= value < 2**128), without re-checks."""
    address = _new_object(IPv6Address)
    address._ip = value  # type: ignore[attr-defined]
    address._scope_id = None  # type: ignore[attr-defined]
    return address


def _fast_address_from_bytes(packed: bytes) -> IPv6Address:
    """An :class:`IPv6Address` from exactly 16 bytes, without re-checks."""
    address = _new_object(IPv6Address)
    address._ip = _int_from_bytes(packed, "big")  # type: ignore[attr-defined]
    address._scope_id = None  # type: ignore[attr-defined]
    return address


def _fast_packed(address: IPv6Address) -> bytes:
    """``address.packed`` without the property call."""
    return address._ip.to_bytes(16, "big")  # type: ignore[attr-defined]


def _fast_same_address(a: IPv6Address | None, b: IPv6Address | None) -> bool:
    """``a == b`` for two addresses (or None), without ``IPv6Address.__eq__`` (a Python
    method that calls its base class's) when both are :class:`IPv6Address`."""
    if a.__class__ is IPv6Address and b.__class__ is IPv6Address:
        return (a._ip == b._ip  # type: ignore[attr-defined]
                and a._scope_id == b._scope_id)  # type: ignore[attr-defined]
    return a == b


def _identity(value: object) -> object:
    """The object itself (the key of an address where the fast helpers are not used)."""
    return value


def _fast_address_key(address: object) -> object:
    """A dictionary key that stands for ``address`` (equal keys for equal addresses, and
    only for them): the integer of an :class:`IPv6Address` without a scope, which hashes in
    C where ``IPv6Address.__hash__`` is a Python method (about 1,700 instructions); any other
    object (a scoped address, whose integer does not carry its scope; None) is its own key."""
    if address.__class__ is IPv6Address and address._scope_id is None:  # type: ignore[attr-defined]
        return address._ip  # type: ignore[attr-defined]
    return address


def _fast_addresses_work() -> bool:
    """True if the fast address helpers agree with :mod:`ipaddress` on this interpreter.

    They rely on the ``_ip`` and ``_scope_id`` slots of :class:`IPv6Address` (CPython 3.9 and
    later); the public constructor and ``.packed`` are used instead if anything differs.
    """
    sample = bytes(range(0xF0, 0x100))
    reference = IPv6Address(sample)
    try:
        candidates = (_fast_address_from_bytes(sample), _fast_address_from_int(int(reference)))
        return all(
            candidate == reference
            and hash(candidate) == hash(reference)
            and str(candidate) == str(reference)
            and candidate.packed == sample
            and _fast_packed(candidate) == sample
            and candidate._ip == int(reference)  # type: ignore[attr-defined]
            and candidate.scope_id is None
            and _fast_address_key(candidate) == int(reference)
            and candidate.is_global == reference.is_global
            and _fast_same_address(candidate, reference)
            and not _fast_same_address(candidate, IPv6Address(int(reference) ^ 1))
            for candidate in candidates
        )
    except (AttributeError, TypeError):  # pragma: no cover - other ipaddress internals
        return False


# Address conversions for the codecs: the ``IPv6Address`` constructor re-checks its argument's
# type and length and ``.packed`` is a property, which together cost about a quarter of the
# time of decoding a Router Advertisement; the codecs always hand over exactly 16 bytes or a
# 128-bit integer, so they store and read the integer directly when that is known to work.
if _fast_addresses_work():
    #: Build an :class:`IPv6Address` from exactly 16 bytes (codecs only).
    address_from_bytes: Callable[[bytes], IPv6Address] = _fast_address_from_bytes
    #: Build an :class:`IPv6Address` from an integer in 0..2**128-1 (codecs only).
    address_from_int: Callable[[int], IPv6Address] = _fast_address_from_int
    #: The 16 bytes of an :class:`IPv6Address`.
    packed_address: Callable[[IPv6Address], bytes] = _fast_packed
    #: ``a == b`` for two addresses or None (the agents' hot paths).
    same_address: Callable[[IPv6Address | None, IPv6Address | None], bool] = _fast_same_address
    #: ``int(address)``, read in one C call instead of ``IPv6Address.__int__`` (the agents
    #: test the prefix of addresses on every registration).
    address_value: Callable[[IPv6Address], int] = operator.attrgetter("_ip")
    #: The key that stands for an address in the agents' tables keyed by home address.
    address_key: Callable[[object], object] = _fast_address_key
else:  # pragma: no cover - exercised only on interpreters with other ipaddress internals
    address_from_bytes = IPv6Address
    address_from_int = IPv6Address
    packed_address = operator.attrgetter("packed")
    same_address = operator.eq
    address_value = int
    address_key = _identity

_address = address_from_bytes
_address_from_int = address_from_int
_packed = packed_address


def _padded_units(size: int) -> int:
    """Length in 8-octet units of an option of ``size`` bytes before padding."""
    return (size + 7) >> 3


# ---------------------------------------------------------------------------------------------
# Link-layer address options (RFC 4861 §4.6.1)


@dataclass(frozen=True, kw_only=True, slots=True)
class _LinkLayerAddressOption:
    """Shared body of the Source and Target Link-layer Address options (RFC 4861 §4.6.1)."""

    OPTION_TYPE: ClassVar[int] = 0
    NAME: ClassVar[str] = ""
    FLAGS: ClassVar[dict[str, str]] = {}

    address: bytes

    def __post_init__(self) -> None:
        _require_bytes("address", self.address)
        if not 1 <= len(self.address) <= _MAX_OPTION_BYTES - 2:
            raise ValueError(
                f"link-layer address must be 1..{_MAX_OPTION_BYTES - 2} bytes, "
                f"got {len(self.address)}"
            )

    def _encode_option(self) -> bytes:
        """Type, Length, address, zero padding to a multiple of 8 octets."""
        size = 2 + len(self.address)
        units = _padded_units(size)
        return bytes((self.OPTION_TYPE, units)) + self.address + _ZEROS[: units * 8 - size]


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceLinkLayerAddress(_LinkLayerAddressOption):
    """Source Link-layer Address option, type 1 (RFC 4861 §4.6.1).

    ``address`` is the raw link-layer address (6 bytes for Ethernet/802.11, RFC 2464 §6).
    """

    OPTION_TYPE: ClassVar[int] = 1
    NAME: ClassVar[str] = "source_link_layer_address"
    FLAGS: ClassVar[dict[str, str]] = {}


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetLinkLayerAddress(_LinkLayerAddressOption):
    """Target Link-layer Address option, type 2 (RFC 4861 §4.6.1).

    Carried by the FMIPv6 UNA with the mobile node's link-layer address (RFC 5568 §6.3).
    """

    OPTION_TYPE: ClassVar[int] = 2
    NAME: ClassVar[str] = "target_link_layer_address"
    FLAGS: ClassVar[dict[str, str]] = {}


# ---------------------------------------------------------------------------------------------
# Prefix Information (RFC 4861 §4.6.2 with the R flag of RFC 6275 §7.2)

_PIO_L = 0x80
_PIO_A = 0x40
_PIO_R = 0x20  # RFC 6275 §7.2 "Router Address"


@dataclass(frozen=True, kw_only=True, slots=True)
class PrefixInformation:
    """Prefix Information option, type 3 (RFC 4861 §4.6.2; R flag from RFC 6275 §7.2).

    Lifetimes are seconds; :data:`INFINITE_LIFETIME` (0xFFFFFFFF) means infinity and is kept as
    that integer. With ``router_address`` (R) set, ``prefix`` holds the router's complete
    address and only its first ``prefix_length`` bits are the prefix (RFC 6275 §7.2), so the
    bits after the prefix length are kept as sent, never masked.
    """

    OPTION_TYPE: ClassVar[int] = 3
    NAME: ClassVar[str] = "prefix_information"
    FLAGS: ClassVar[dict[str, str]] = {
        "on_link": "L",
        "autonomous": "A",
        "router_address": "R",
    }

    prefix_length: int
    on_link: bool = True
    autonomous: bool = True
    router_address: bool = False
    valid_lifetime: int = INFINITE_LIFETIME
    preferred_lifetime: int = INFINITE_LIFETIME
    prefix: IPv6Address

    def __post_init__(self) -> None:
        if not 0 <= self.prefix_length <= 128:
            raise ValueError(f"prefix_length must be 0..128, got {self.prefix_length}")
        if not (
            0 <= self.valid_lifetime <= 0xFFFFFFFF and 0 <= self.preferred_lifetime <= 0xFFFFFFFF
        ):
            raise ValueError("valid_lifetime and preferred_lifetime must be 0..0xFFFFFFFF")
        _require_address("prefix", self.prefix)

    def _encode_option(self) -> bytes:
        """The 32-byte option."""
        flags = (
            (_PIO_L if self.on_link else 0)
            | (_PIO_A if self.autonomous else 0)
            | (_PIO_R if self.router_address else 0)
        )
        return _PIO.pack(
            3,
            4,
            self.prefix_length,
            flags,
            self.valid_lifetime,
            self.preferred_lifetime,
            _packed(self.prefix),
        )


# ---------------------------------------------------------------------------------------------
# MTU (RFC 4861 §4.6.4)


@dataclass(frozen=True, kw_only=True, slots=True)
class MTUOption:
    """MTU option, type 5 (RFC 4861 §4.6.4): the recommended link MTU in octets."""

    OPTION_TYPE: ClassVar[int] = 5
    NAME: ClassVar[str] = "mtu"
    FLAGS: ClassVar[dict[str, str]] = {}

    mtu: int

    def __post_init__(self) -> None:
        if not 0 <= self.mtu <= 0xFFFFFFFF:
            raise ValueError(f"mtu must be 0..0xFFFFFFFF, got {self.mtu}")

    def _encode_option(self) -> bytes:
        """The 8-byte option."""
        return _TYPE_LEN_U32.pack(5, 1, self.mtu)


# ---------------------------------------------------------------------------------------------
# Mobile IPv6 RA options (RFC 6275 §7.3, §7.4)


@dataclass(frozen=True, kw_only=True, slots=True)
class AdvertisementInterval:
    """Advertisement Interval option, type 7 (RFC 6275 §7.3).

    ``interval`` is in seconds (MaxRtrAdvInterval); the wire carries whole milliseconds
    (uint32), so encoding rounds to the nearest millisecond and decoding gives ``ms / 1000``.
    """

    OPTION_TYPE: ClassVar[int] = 7
    NAME: ClassVar[str] = "advertisement_interval"
    FLAGS: ClassVar[dict[str, str]] = {}

    interval: float

    def __post_init__(self) -> None:
        if not 0 <= self.interval * 1000 < 0xFFFFFFFF + 0.5:
            raise ValueError(
                f"interval must be 0..{0xFFFFFFFF / 1000} s (uint32 ms), got {self.interval}"
            )

    def _encode_option(self) -> bytes:
        """The 8-byte option with the interval in milliseconds."""
        return _TYPE_LEN_U32.pack(7, 1, round(self.interval * 1000))


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeAgentInformation:
    """Home Agent Information option, type 8 (RFC 6275 §7.4).

    ``preference`` is a 16-bit *unsigned* integer, higher is better (RFC 6275 §7.4; RFC 3775
    §7.4 had a signed field). ``lifetime`` is seconds, 0..65535; RFC 6275 says 0 MUST NOT be
    sent, which is the sender's rule and is left to the protocol layer so that a received 0 can
    be seen and ignored rather than failing the whole Router Advertisement.
    """

    OPTION_TYPE: ClassVar[int] = 8
    NAME: ClassVar[str] = "home_agent_information"
    FLAGS: ClassVar[dict[str, str]] = {}

    preference: int = 0
    lifetime: int

    def __post_init__(self) -> None:
        if not 0 <= self.preference <= 0xFFFF:
            raise ValueError(f"preference must be 0..65535 (unsigned), got {self.preference}")
        if not 0 <= self.lifetime <= 0xFFFF:
            raise ValueError(f"lifetime must be 0..65535 s, got {self.lifetime}")

    def _encode_option(self) -> bytes:
        """The 8-byte option."""
        return _HAINFO.pack(8, 1, self.preference, self.lifetime)


# ---------------------------------------------------------------------------------------------
# FMIPv6 options (RFC 5568 §6.4)


@dataclass(frozen=True, kw_only=True, slots=True)
class IPAddressPrefix:
    """IP Address/Prefix option, ND type 17 (RFC 5568 §6.4.1), 24 bytes.

    ``option_code`` is a plain int (see :class:`IPAddressOptionCode`) so that unknown codes
    round-trip. With code 4 (NAR's prefix) the bits after ``prefix_length`` are reserved; they
    are kept as sent.
    """

    OPTION_TYPE: ClassVar[int] = 17
    NAME: ClassVar[str] = "ip_address_prefix"
    FLAGS: ClassVar[dict[str, str]] = {}

    option_code: int
    prefix_length: int = 128
    address: IPv6Address

    def __post_init__(self) -> None:
        if not 0 <= self.option_code <= 255:
            raise ValueError(f"option_code must be 0..255, got {self.option_code}")
        if not 0 <= self.prefix_length <= 128:
            raise ValueError(f"prefix_length must be 0..128, got {self.prefix_length}")
        _require_address("address", self.address)

    def _encode_option(self) -> bytes:
        """The 24-byte option."""
        return _IPADDR.pack(17, 3, self.option_code, self.prefix_length, _packed(self.address))


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkLayerAddress:
    """Link-Layer Address (LLA) option, ND type 19 (RFC 5568 §6.4.3).

    ``Type | Length | Option-Code | LLA | zero padding``, Length = ceil((3 + len(address)) / 8)
    in 8-octet units: 2 for a 6-byte MAC. (scapy's ``ICMPv6NDOptLLA`` says 1 there, which is
    wrong: docs/decisions.md D10.) ``option_code`` is a plain int, see :class:`LLAOptionCode`.
    """

    OPTION_TYPE: ClassVar[int] = 19
    NAME: ClassVar[str] = "link_layer_address"
    FLAGS: ClassVar[dict[str, str]] = {}

    option_code: int
    address: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.option_code <= 255:
            raise ValueError(f"option_code must be 0..255, got {self.option_code}")
        _require_bytes("address", self.address)
        if not 1 <= len(self.address) <= _MAX_OPTION_BYTES - 3:
            raise ValueError(
                f"link-layer address must be 1..{_MAX_OPTION_BYTES - 3} bytes, "
                f"got {len(self.address)}"
            )

    def _encode_option(self) -> bytes:
        """Type, Length, Option-Code, address, zero padding to a multiple of 8 octets."""
        size = 3 + len(self.address)
        units = _padded_units(size)
        return bytes((19, units, self.option_code)) + self.address + _ZEROS[: units * 8 - size]


@dataclass(frozen=True, kw_only=True, slots=True)
class NeighborAdvertisementAcknowledgment:
    """Neighbor Advertisement Acknowledgment (NAACK) option, ND type 20 (RFC 5568 §6.4.6).

    Length 1 without a new CoA, Length 3 with ``new_care_of_address``, which follows the
    Reserved field as a raw 16-byte address (docs/decisions.md D6: the Length rule, not a nested
    IP Address option). ``status`` is a plain int, see :class:`NAACKStatus`.
    """

    OPTION_TYPE: ClassVar[int] = 20
    NAME: ClassVar[str] = "neighbor_advertisement_acknowledgment"
    FLAGS: ClassVar[dict[str, str]] = {}

    option_code: int = 0
    status: int
    new_care_of_address: IPv6Address | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.option_code <= 255 and 0 <= self.status <= 255):
            raise ValueError("option_code and status must be 0..255")
        if self.new_care_of_address is not None:
            _require_address("new_care_of_address", self.new_care_of_address)

    def _encode_option(self) -> bytes:
        """8 bytes, or 24 with the new CoA."""
        if self.new_care_of_address is None:
            return _NAACK.pack(20, 1, self.option_code, self.status)
        return _NAACK.pack(20, 3, self.option_code, self.status) + _packed(self.new_care_of_address)


# ---------------------------------------------------------------------------------------------
# HMIPv6 MAP option (RFC 5380 §5)

_MAP_R = 0x80


@dataclass(frozen=True, kw_only=True, slots=True)
class MAPOption:
    """MAP option, ND type 23, Length 3 (RFC 5380 §5).

    ``distance`` (Dist, 4 bits) is 1..15: "A distance value of zero MUST NOT be used", so a
    received Dist of 0 is malformed. ``preference`` (Pref, 4 bits) is 0..15, 15 the highest and
    0 "do not use for new registrations". ``r_flag`` (R): the RCoA is allocated by the MAP
    (RFC 4877 §9). ``valid_lifetime`` in seconds, 0 meaning MAP failure.
    """

    OPTION_TYPE: ClassVar[int] = 23
    NAME: ClassVar[str] = "map_option"
    FLAGS: ClassVar[dict[str, str]] = {"r_flag": "R"}

    distance: int = 1
    preference: int = 15
    r_flag: bool = False
    valid_lifetime: int
    address: IPv6Address

    def __post_init__(self) -> None:
        if not 1 <= self.distance <= 15:
            raise ValueError(f"MAP distance must be 1..15 (RFC 5380 §5), got {self.distance}")
        if not 0 <= self.preference <= 15:
            raise ValueError(f"MAP preference must be 0..15, got {self.preference}")
        if not 0 <= self.valid_lifetime <= 0xFFFFFFFF:
            raise ValueError(f"valid_lifetime must be 0..0xFFFFFFFF, got {self.valid_lifetime}")
        _require_address("address", self.address)

    def _encode_option(self) -> bytes:
        """The 24-byte option."""
        return _MAP.pack(
            23,
            3,
            (self.distance << 4) | self.preference,
            _MAP_R if self.r_flag else 0,
            self.valid_lifetime,
            _packed(self.address),
        )


# ---------------------------------------------------------------------------------------------
# Anything else


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownNDOption:
    """An ND option this module does not interpret, kept opaque (RFC 4861 §4.6).

    ``data`` is everything after the Type and Length octets, padding included, so its length
    is 8n - 2. ``OPTION_TYPE`` is ``None``; the type is in ``option_type``.
    """

    OPTION_TYPE: ClassVar[int | None] = None
    NAME: ClassVar[str] = "unknown_nd_option"
    FLAGS: ClassVar[dict[str, str]] = {}

    option_type: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.option_type <= 255:
            raise ValueError(f"option_type must be 0..255, got {self.option_type}")
        _require_bytes("data", self.data)
        if len(self.data) % 8 != 6 or len(self.data) > _MAX_OPTION_BYTES - 2:
            raise ValueError(f"option data must be 8n-2 bytes (n = 1..255), got {len(self.data)}")

    def _encode_option(self) -> bytes:
        """Type, Length and the opaque data."""
        return bytes((self.option_type, (len(self.data) + 2) >> 3)) + self.data


NDOption = (
    SourceLinkLayerAddress
    | TargetLinkLayerAddress
    | PrefixInformation
    | MTUOption
    | AdvertisementInterval
    | HomeAgentInformation
    | IPAddressPrefix
    | LinkLayerAddress
    | NeighborAdvertisementAcknowledgment
    | MAPOption
    | UnknownNDOption
)
"""Any ND option class of this module."""


# ---------------------------------------------------------------------------------------------
# Codec


def encode_nd_options(options: Iterable[NDOption]) -> bytes:
    """Encode ``options`` back to back, each padded to a multiple of 8 octets (RFC 4861 §4.6)."""
    out = b""
    try:
        for option in options:
            out += option._encode_option()
    except AttributeError:
        bad = [type(o).__name__ for o in options if not hasattr(o, "_encode_option")]
        if bad:
            raise TypeError(f"not ND options: {', '.join(bad)}") from None
        raise
    return out


def decode_nd_options(
    data: bytes, base: int = 0, lla_length: int | None = DEFAULT_LLA_LENGTH
) -> tuple[NDOption, ...]:
    """Decode a run of ND options filling all of ``data``.

    ``base`` is the position of ``data`` in the enclosing buffer: error offsets are
    ``base`` + the position in ``data``. ``lla_length`` is the link-layer address length
    for options 1, 2 and 19 (see the module notes), or ``None`` to keep the whole field (a
    value outside 1..2037 raises ``ValueError``: that is a programming error, not bad bytes).
    Raises only :class:`MalformedPacket`: on an option of Length 0 (RFC 4861 §4.6), an option
    running past the end of ``data``, or a length that does not fit the option's type.
    """
    check_lla_length(lla_length)
    if type(data) is not bytes:
        data = bytes(data)
    try:
        return decode_options_at(data, 0, lla_length)
    except MalformedPacket as exc:
        raise exc.shifted(base) from None


def decode_options_at(data: bytes, pos: int, lla_length: int | None) -> tuple[NDOption, ...]:
    """Decode the ND options from ``data[pos:]`` to the end; error offsets count from 0.

    The message codecs call this on the whole message so that offsets need no re-basing and
    no slice is copied. ``data`` must be ``bytes`` and ``lla_length`` None or >= 1.
    """
    end = len(data)
    if pos == end:
        return ()
    options: list[NDOption] = []
    decoders = _DECODERS
    while pos < end:
        if end - pos < 2:
            raise MalformedPacket("ND option header truncated", pos)
        option_type = data[pos]
        units = data[pos + 1]
        stop = pos + units * 8
        if stop > end or not units:
            raise _bad_option_length(data, pos, units, end)
        # Prefix Information and MAP options (the address-carrying fixed-size options of
        # mobility RAs) are decoded right here, one precompiled Struct each: a table lookup and
        # a call per option would cost about as much as the decoding itself. Other types, and
        # these two with a wrong Length, go through the table.
        if option_type == 3 and units == 4:  # RFC 4861 §4.6.2
            plen, flags, valid, preferred, high, low = _PIO_IN.unpack_from(data, pos)
            if plen > 128:
                raise MalformedPacket(f"Prefix Length {plen} > 128", pos + 2)
            on_link, autonomous, router_address = _PIO_FLAG_TABLE[flags]
            # Positional, in field order: prefix_length, on_link, autonomous,
            # router_address, valid_lifetime, preferred_lifetime, prefix.
            options.append(
                _build_pio(
                    plen,
                    on_link,
                    autonomous,
                    router_address,
                    valid,
                    preferred,
                    _address_from_int((high << 64) | low),
                )
            )
        elif option_type == 23 and units == 3:  # RFC 5380 §5
            dist_pref, flags, lifetime, high, low = _MAP_IN.unpack_from(data, pos)
            if dist_pref < 0x10:
                raise MalformedPacket(
                    "MAP option Dist is 0 (RFC 5380 §5: MUST NOT be used)", pos + 2
                )
            # Positional, in field order: distance, preference, r_flag, valid_lifetime,
            # address.
            options.append(
                _build_map(
                    dist_pref >> 4,
                    dist_pref & 0x0F,
                    (flags & _MAP_R) != 0,
                    lifetime,
                    _address_from_int((high << 64) | low),
                )
            )
        else:
            options.append(decoders.get(option_type, _decode_unknown)(data, pos, units, lla_length))
        pos = stop
    return tuple(options)


def _bad_option_length(data: bytes, pos: int, units: int, end: int) -> MalformedPacket:
    """The error for an option of Length 0 or one running past ``end`` (offset: the Length)."""
    if not units:
        # RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an option
        # with length zero."
        return MalformedPacket(f"ND option type {data[pos]} has length 0", pos + 1)
    return MalformedPacket(
        f"ND option type {data[pos]} of {units * 8} bytes runs past the end "
        f"({end - pos} bytes left)",
        pos + 1,
    )


def check_lla_length(lla_length: int | None) -> None:
    """Raise ``ValueError`` unless ``lla_length`` is ``None`` or a usable address length."""
    if lla_length is not None and not 1 <= lla_length <= _MAX_OPTION_BYTES - 3:
        raise ValueError(f"lla_length must be None or 1..{_MAX_OPTION_BYTES - 3}")


def _wrong_length(name: str, units: int, expected: object, pos: int) -> MalformedPacket:
    """The error for an option whose Length does not fit its type (offset: the Length)."""
    return MalformedPacket(f"{name} option has length {units}, expected {expected}", pos + 1)


def _lla_field(
    data: bytes, pos: int, units: int, header: int, lla_length: int | None, name: str
) -> bytes:
    """The link-layer address of an option 1, 2 or 19 (RFC 4861 §4.6.1, RFC 5568 §6.4.3)."""
    if lla_length is None:
        return data[pos + header : pos + units * 8]
    expected = (header + lla_length + 7) >> 3
    if units != expected:
        raise _wrong_length(name, units, f"{expected} for a {lla_length}-byte address", pos)
    return data[pos + header : pos + header + lla_length]


_build_slla = fast_builder(SourceLinkLayerAddress)
_build_tlla = fast_builder(TargetLinkLayerAddress)
_build_pio = fast_builder(PrefixInformation)
_build_mtu = fast_builder(MTUOption)
_build_adv_interval = fast_builder(AdvertisementInterval)
_build_ha_info = fast_builder(HomeAgentInformation)
_build_ip_address = fast_builder(IPAddressPrefix)
_build_lla = fast_builder(LinkLayerAddress)
_build_naack = fast_builder(NeighborAdvertisementAcknowledgment)
_build_map = fast_builder(MAPOption)
_build_unknown = fast_builder(UnknownNDOption)


def _decode_unknown(data: bytes, pos: int, units: int, _lla: int | None) -> UnknownNDOption:
    return _build_unknown(option_type=data[pos], data=data[pos + 2 : pos + units * 8])


def _decode_source_lla(
    data: bytes, pos: int, units: int, lla_length: int | None
) -> SourceLinkLayerAddress:
    return _build_slla(address=_lla_field(data, pos, units, 2, lla_length, "Source LLA"))


def _decode_target_lla(
    data: bytes, pos: int, units: int, lla_length: int | None
) -> TargetLinkLayerAddress:
    return _build_tlla(address=_lla_field(data, pos, units, 2, lla_length, "Target LLA"))


def _pio_wrong_length(data: bytes, pos: int, units: int, _lla: int | None) -> NoReturn:
    # decode_options_at decodes the Prefix Information options of Length 4 itself.
    raise _wrong_length("Prefix Information", units, 4, pos)  # RFC 4861 §4.6.2: Length 4


# PIO flags octet -> (on_link, autonomous, router_address), so that decoding takes one index.
_PIO_FLAG_TABLE = tuple(
    ((flags & _PIO_L) != 0, (flags & _PIO_A) != 0, (flags & _PIO_R) != 0) for flags in range(256)
)


def _decode_mtu(data: bytes, pos: int, units: int, _lla: int | None) -> MTUOption:
    if units != 1:  # RFC 4861 §4.6.4: Length 1
        raise _wrong_length("MTU", units, 1, pos)
    return _build_mtu(mtu=_TYPE_LEN_U32.unpack_from(data, pos)[2])


def _decode_adv_interval(
    data: bytes, pos: int, units: int, _lla: int | None
) -> AdvertisementInterval:
    if units != 1:  # RFC 6275 §7.3: "The value of this field MUST be 1."
        raise _wrong_length("Advertisement Interval", units, 1, pos)
    return _build_adv_interval(interval=_TYPE_LEN_U32.unpack_from(data, pos)[2] / 1000)


def _decode_ha_info(data: bytes, pos: int, units: int, _lla: int | None) -> HomeAgentInformation:
    if units != 1:  # RFC 6275 §7.4: Length MUST be 1
        raise _wrong_length("Home Agent Information", units, 1, pos)
    _t, _l, preference, lifetime = _HAINFO.unpack_from(data, pos)
    return _build_ha_info(preference=preference, lifetime=lifetime)


def _decode_ip_address(data: bytes, pos: int, units: int, _lla: int | None) -> IPAddressPrefix:
    if units != 3:  # RFC 5568 §6.4.1: 24 bytes
        raise _wrong_length("IP Address/Prefix", units, 3, pos)
    code, plen, high, low = _IPADDR_IN.unpack_from(data, pos)
    if plen > 128:
        raise MalformedPacket(f"Prefix Length {plen} > 128", pos + 3)
    return _build_ip_address(
        option_code=code, prefix_length=plen, address=_address_from_int((high << 64) | low)
    )


def _decode_lla(data: bytes, pos: int, units: int, lla_length: int | None) -> LinkLayerAddress:
    return _build_lla(
        option_code=data[pos + 2], address=_lla_field(data, pos, units, 3, lla_length, "LLA")
    )


def _decode_naack(
    data: bytes, pos: int, units: int, _lla: int | None
) -> NeighborAdvertisementAcknowledgment:
    if units == 1:
        address = None
    elif units == 3:
        address = _address(data[pos + 8 : pos + 24])
    else:  # RFC 5568 §6.4.6: "The length is 1 ... The length is 3 when a new CoA is present"
        raise _wrong_length("NAACK", units, "1 or 3", pos)
    return _build_naack(
        option_code=data[pos + 2], status=data[pos + 3], new_care_of_address=address
    )


def _map_wrong_length(data: bytes, pos: int, units: int, _lla: int | None) -> NoReturn:
    # decode_options_at decodes the MAP options of Length 3 itself.
    raise _wrong_length("MAP", units, 3, pos)  # RFC 5380 §5: "MUST be set to 3"


_DECODERS: dict[int, Callable[[bytes, int, int, int | None], NDOption]] = {
    1: _decode_source_lla,
    2: _decode_target_lla,
    3: _pio_wrong_length,  # Length 4 is decoded in decode_options_at
    5: _decode_mtu,
    7: _decode_adv_interval,
    8: _decode_ha_info,
    17: _decode_ip_address,
    19: _decode_lla,
    20: _decode_naack,
    23: _map_wrong_length,  # Length 3 is decoded in decode_options_at
}
