"""Interoperability with scapy's Mobile IPv6 layers (scapy.layers.inet6), both directions.

scapy implements the RFC 6275 messages (BRR, HoTI, CoTI, HoT, CoT, BU, BA, BE) and options 2-16.
Where it departs from the RFCs the test says so and checks the RFC instead:

- ``MIP6OptNonceIndices`` defaults ``olen`` to 16 and ``MIP6OptBindingAuthData`` to 16 with a
  96-bit authenticator; RFC 6275 §6.2.6 says Length = 4 and §6.2.7 Length = authenticator
  length (12). The tables set ``olen`` explicitly.
- ``MIP6OptLLAddr`` follows RFC 4068 (a Pad0 octet after the Option-Code, Length excluding the
  Option-Code), not RFC 5568 §6.4.4 (no Pad0, Length = 1 + LLA).
- ``MIP6MH_Generic`` (every other MH type, FMIPv6 included) reads ``8 * len - 6`` message
  octets where RFC 6275 §6.1.1 gives ``8 * len + 2``; scapy has no FMIPv6 messages at all.
- scapy keeps BU flags F/T/B and BA flags T/B in its ``reserved``/``res2`` fields.

scapy's checksum needs an IPv6 underlayer; messages built alone use ``cksum=0`` (ours writes 0
too), and the IPv6-wrapped tests check the checksum against :mod:`mipshop.wire.checksum`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

scapy_inet6 = pytest.importorskip("scapy.layers.inet6")

from scapy.compat import raw  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    MIP6MH_BA,
    MIP6MH_BE,
    MIP6MH_BRR,
    MIP6MH_BU,
    IPv6,
    MIP6MH_CoT,
    MIP6MH_CoTI,
    MIP6MH_Generic,
    MIP6MH_HoT,
    MIP6MH_HoTI,
    MIP6OptAltCoA,
    MIP6OptBindingAuthData,
    MIP6OptBRAdvice,
    MIP6OptCareOfTestInit,
    MIP6OptLLAddr,
    MIP6OptMNID,
    MIP6OptMobNetPrefix,
    MIP6OptMsgAuth,
    MIP6OptNonceIndices,
    MIP6OptReplayProtection,
    MIP6OptUnknown,
    Pad1,
    PadN,
)
from scapy.packet import Packet, Raw  # noqa: E402

from mipshop.wire.checksum import PROTO_MH, upper_layer_checksum  # noqa: E402
from mipshop.wire.errors import MalformedPacket  # noqa: E402
from mipshop.wire.mh import (  # noqa: E402
    MH_CHECKSUM_OFFSET,
    BindingAcknowledgement,
    BindingError,
    BindingRefreshRequest,
    BindingUpdate,
    CareOfTest,
    CareOfTestInit,
    FastBindingAcknowledgement,
    FastBindingUpdate,
    HandoverAcknowledge,
    HandoverInitiate,
    HomeTest,
    HomeTestInit,
    MobilityMessage,
    decode_mh,
    encode_mh,
)
from mipshop.wire.mh_options import (  # noqa: E402
    AlternateCareOfAddress,
    BindingAuthorizationData,
    BindingRefreshAdvice,
    FastBindingAuthorizationData,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MobileNodeIdentifier,
    MobilityMessageAuthentication,
    MobilityOption,
    NonceIndices,
    ReplayProtection,
    UnknownMobilityOption,
)

from .strategies_mh import addresses  # noqa: E402

A1 = IPv6Address("2001:db8::1")
A2 = IPv6Address("2001:db8:2::99")
HOA = IPv6Address("2001:db8:ffff::1")
AUTH = bytes(range(0xA0, 0xAC))
AUTH_INT = int.from_bytes(AUTH, "big")
C1 = b"cookie-1"
T1 = b"token-01"

# ---------------------------------------------------------------------------------------------
# Option and message correspondences
# ---------------------------------------------------------------------------------------------

# (scapy option, our option)
OPTION_PAIRS: list[tuple[Callable[[], Packet], MobilityOption]] = [
    (lambda: MIP6OptBRAdvice(rinter=150), BindingRefreshAdvice(refresh_interval=600)),
    (lambda: MIP6OptAltCoA(acoa=str(A1)), AlternateCareOfAddress(address=A1)),
    (
        lambda: MIP6OptNonceIndices(olen=4, hni=0x1234, coni=0x5678),  # scapy default olen=16
        NonceIndices(home_nonce_index=0x1234, care_of_nonce_index=0x5678),
    ),
    (
        lambda: MIP6OptMNID(subtype=1, id=b"mn@example.com"),
        MobileNodeIdentifier(subtype=1, identifier=b"mn@example.com"),
    ),
    (
        lambda: MIP6OptReplayProtection(timestamp=0xE1234567_89ABCDEF),
        ReplayProtection(timestamp=0xE1234567_89ABCDEF),
    ),
    (
        lambda: MIP6OptMobNetPrefix(plen=48, prefix="2001:db8:5::"),
        UnknownMobilityOption(option_type=6, data=b"\x00\x30" + IPv6Address("2001:db8:5::").packed),
    ),
    (lambda: MIP6OptCareOfTestInit(), UnknownMobilityOption(option_type=15, data=b"")),
    (
        lambda: MIP6OptUnknown(otype=200, odata=b"\x01\x02\x03"),
        UnknownMobilityOption(option_type=200, data=b"\x01\x02\x03"),
    ),
]

# Closing (authorization) options scapy knows.
AUTH_PAIRS: list[tuple[Callable[[], Packet], MobilityOption]] = [
    (
        lambda: MIP6OptBindingAuthData(olen=12, authenticator=AUTH_INT),  # default olen=16
        BindingAuthorizationData(authenticator=AUTH),
    ),
    (
        lambda: MIP6OptMsgAuth(subtype=1, mspi=0x100, authdata=AUTH),
        MobilityMessageAuthentication(subtype=1, spi=0x100, authenticator=AUTH),
    ),
]
PAIR_IDS = [type(ours).__name__ + str(i) for i, (_, ours) in enumerate(OPTION_PAIRS + AUTH_PAIRS)]


def _bu_flags(msg: BindingUpdate) -> tuple[str, int]:
    letters = "".join(
        letter
        for field, letter in (
            ("proxy_registration", "P"),
            ("mobile_router", "R"),
            ("map_registration", "M"),
            ("key_management", "K"),
            ("link_local_compat", "L"),
            ("home_registration", "H"),
            ("ack", "A"),
        )
        if getattr(msg, field)
    )
    reserved = (0x100 if msg.forced_udp else 0) | (0x80 if msg.tlv_header else 0)
    return letters, reserved | (0x40 if msg.bulk else 0)


def _ba_flags(msg: BindingAcknowledgement) -> tuple[str, int]:
    letters = "".join(
        letter
        for field, letter in (
            ("proxy_registration", "P"),
            ("mobile_router", "R"),
            ("key_management", "K"),
        )
        if getattr(msg, field)
    )
    return letters, (0x10 if msg.tlv_header else 0) | (0x08 if msg.bulk else 0)


def to_scapy_option(opt: MobilityOption) -> Packet:
    """Build scapy's version of one of our options (the types scapy knows)."""
    if isinstance(opt, BindingRefreshAdvice):
        return MIP6OptBRAdvice(rinter=opt.refresh_interval // 4)
    if isinstance(opt, AlternateCareOfAddress):
        return MIP6OptAltCoA(acoa=str(opt.address))
    if isinstance(opt, NonceIndices):
        return MIP6OptNonceIndices(olen=4, hni=opt.home_nonce_index, coni=opt.care_of_nonce_index)
    if isinstance(opt, BindingAuthorizationData):
        # scapy's BAD has a fixed 96-bit authenticator
        assert len(opt.authenticator) == 12
        return MIP6OptBindingAuthData(
            olen=12, authenticator=int.from_bytes(opt.authenticator, "big")
        )
    if isinstance(opt, MobileNodeIdentifier):
        return MIP6OptMNID(subtype=opt.subtype, id=opt.identifier)
    if isinstance(opt, MobilityMessageAuthentication):
        return MIP6OptMsgAuth(subtype=opt.subtype, mspi=opt.spi, authdata=opt.authenticator)
    if isinstance(opt, ReplayProtection):
        return MIP6OptReplayProtection(timestamp=opt.timestamp)
    if isinstance(opt, UnknownMobilityOption):
        return MIP6OptUnknown(otype=opt.option_type, odata=opt.data)
    raise AssertionError(f"scapy has no {type(opt).__name__}")


def to_scapy(msg: MobilityMessage) -> Packet:
    """Build scapy's version of one of our messages, checksum 0."""
    opts = [to_scapy_option(o) for o in getattr(msg, "options", ())]
    if isinstance(msg, BindingRefreshRequest):
        return MIP6MH_BRR(cksum=0, res2=0, options=opts)
    if isinstance(msg, HomeTestInit):
        return MIP6MH_HoTI(cksum=0, cookie=msg.cookie, options=opts)
    if isinstance(msg, CareOfTestInit):
        return MIP6MH_CoTI(cksum=0, cookie=msg.cookie, options=opts)
    if isinstance(msg, HomeTest):
        return MIP6MH_HoT(
            cksum=0,
            index=msg.home_nonce_index,
            cookie=msg.cookie,
            token=msg.keygen_token,
            options=opts,
        )
    if isinstance(msg, CareOfTest):
        return MIP6MH_CoT(
            cksum=0,
            index=msg.care_of_nonce_index,
            cookie=msg.cookie,
            token=msg.keygen_token,
            options=opts,
        )
    if isinstance(msg, BindingUpdate):
        letters, reserved = _bu_flags(msg)
        return MIP6MH_BU(
            cksum=0,
            seq=msg.sequence,
            flags=letters,
            reserved=reserved,
            mhtime=msg.lifetime // 4,
            options=opts,
        )
    if isinstance(msg, BindingAcknowledgement):
        letters, res2 = _ba_flags(msg)
        return MIP6MH_BA(
            cksum=0,
            status=msg.status,
            flags=letters,
            res2=res2,
            seq=msg.sequence,
            mhtime=msg.lifetime // 4,
            options=opts,
        )
    if isinstance(msg, BindingError):
        return MIP6MH_BE(cksum=0, status=msg.status, ha=str(msg.home_address), options=opts)
    raise AssertionError(f"scapy has no {type(msg).__name__}")


def from_scapy_option(p: Packet) -> MobilityOption | None:
    """Our reading of a dissected scapy option (None for padding)."""
    if isinstance(p, Pad1 | PadN):
        return None
    if isinstance(p, MIP6OptBRAdvice):
        return BindingRefreshAdvice(refresh_interval=p.rinter * 4)
    if isinstance(p, MIP6OptAltCoA):
        return AlternateCareOfAddress(address=IPv6Address(p.acoa))
    if isinstance(p, MIP6OptNonceIndices):
        return NonceIndices(home_nonce_index=p.hni, care_of_nonce_index=p.coni)
    if isinstance(p, MIP6OptBindingAuthData):
        return BindingAuthorizationData(authenticator=p.authenticator.to_bytes(12, "big"))
    if isinstance(p, MIP6OptMNID):
        return MobileNodeIdentifier(subtype=p.subtype, identifier=bytes(p.id))
    if isinstance(p, MIP6OptMsgAuth):
        return MobilityMessageAuthentication(
            subtype=p.subtype, spi=p.mspi, authenticator=bytes(p.authdata)
        )
    if isinstance(p, MIP6OptReplayProtection):
        return ReplayProtection(timestamp=p.timestamp)
    if isinstance(p, MIP6OptUnknown):
        return UnknownMobilityOption(option_type=p.otype, data=bytes(p.odata))
    # the other scapy options (NEMO prefix, RFC 4866 CGA/token options) are opaque to us
    encoded = raw(p)
    assert p.otype in (6, *range(11, 17)) and encoded[1] == len(encoded) - 2
    return UnknownMobilityOption(option_type=p.otype, data=encoded[2:])


def scapy_fields(p: Packet) -> dict[str, Any]:
    """The field values of a dissected scapy message, in our names and units."""
    options = tuple(o for o in map(from_scapy_option, p.options) if o is not None)
    common = {"payload_proto": p.nh, "header_len": p.len, "options": options}
    if isinstance(p, MIP6MH_BRR):
        return common | {"type": BindingRefreshRequest}
    if isinstance(p, MIP6MH_HoTI):  # also CoTI (a subclass)
        cls = CareOfTestInit if p.mhtype == 2 else HomeTestInit
        return common | {"type": cls, "cookie": bytes(p.cookie)}
    if isinstance(p, MIP6MH_HoT):  # also CoT
        index = "care_of_nonce_index" if p.mhtype == 4 else "home_nonce_index"
        return common | {
            "type": CareOfTest if p.mhtype == 4 else HomeTest,
            index: p.index,
            "cookie": bytes(p.cookie),
            "keygen_token": bytes(p.token),
        }
    if isinstance(p, MIP6MH_BU):
        f = int(p.flags) << 9 | p.reserved
        return common | {
            "type": BindingUpdate,
            "sequence": p.seq,
            "lifetime": p.mhtime * 4,
            **{
                name: bool(f & mask)
                for name, mask in (
                    ("ack", 0x8000),
                    ("home_registration", 0x4000),
                    ("link_local_compat", 0x2000),
                    ("key_management", 0x1000),
                    ("map_registration", 0x0800),
                    ("mobile_router", 0x0400),
                    ("proxy_registration", 0x0200),
                    ("forced_udp", 0x0100),
                    ("tlv_header", 0x0080),
                    ("bulk", 0x0040),
                )
            },
        }
    if isinstance(p, MIP6MH_BA):
        f = int(p.flags) << 5 | p.res2
        return common | {
            "type": BindingAcknowledgement,
            "status": p.status,
            "sequence": p.seq,
            "lifetime": p.mhtime * 4,
            "key_management": bool(f & 0x80),
            "mobile_router": bool(f & 0x40),
            "proxy_registration": bool(f & 0x20),
            "tlv_header": bool(f & 0x10),
            "bulk": bool(f & 0x08),
        }
    if isinstance(p, MIP6MH_BE):
        return common | {
            "type": BindingError,
            "status": p.status,
            "home_address": IPv6Address(p.ha),
        }
    raise AssertionError(f"unexpected scapy message {p!r}")


def our_fields(msg: MobilityMessage, encoded: bytes) -> dict[str, Any]:
    values = {f.name: getattr(msg, f.name) for f in dataclasses.fields(msg)}
    return values | {"type": type(msg), "payload_proto": encoded[0], "header_len": encoded[1]}


SCAPY_CLASS = {
    BindingRefreshRequest: MIP6MH_BRR,
    HomeTestInit: MIP6MH_HoTI,
    CareOfTestInit: MIP6MH_CoTI,
    HomeTest: MIP6MH_HoT,
    CareOfTest: MIP6MH_CoT,
    BindingUpdate: MIP6MH_BU,
    BindingAcknowledgement: MIP6MH_BA,
    BindingError: MIP6MH_BE,
}

# Messages whose layouts scapy and we pad identically (so the octets are equal, not just the
# fields). scapy aligns every option by its x*n+y (8n+2 for BAD, 4n+1 for MMA) and then pads
# the end; we place the closing option to end on 8n. For 12-octet authenticators the two agree.
MESSAGES: list[MobilityMessage] = [
    BindingRefreshRequest(),
    HomeTestInit(cookie=C1),
    CareOfTestInit(cookie=C1),
    HomeTest(home_nonce_index=0xABCD, cookie=C1, keygen_token=T1),
    CareOfTest(care_of_nonce_index=0x0102, cookie=C1, keygen_token=T1),
    BindingUpdate(sequence=1, lifetime=0),
    BindingUpdate(
        sequence=0x1234,
        lifetime=420,
        ack=True,
        options=(
            NonceIndices(home_nonce_index=1, care_of_nonce_index=2),
            BindingAuthorizationData(authenticator=AUTH),
        ),
    ),
    BindingUpdate(
        sequence=0xFFFF,
        lifetime=262140,
        ack=True,
        options=(
            AlternateCareOfAddress(address=A2),
            NonceIndices(home_nonce_index=1, care_of_nonce_index=2),
            BindingAuthorizationData(authenticator=AUTH),
        ),
    ),
    BindingUpdate(
        sequence=7,
        lifetime=3600,
        ack=True,
        home_registration=True,
        key_management=True,
        options=(AlternateCareOfAddress(address=A2),),
    ),
    BindingUpdate(sequence=8, lifetime=60, ack=True, map_registration=True),  # HMIPv6
    BindingUpdate(
        sequence=9,
        lifetime=8,
        link_local_compat=True,
        mobile_router=True,
        proxy_registration=True,
        forced_udp=True,
        tlv_header=True,
        bulk=True,
    ),
    BindingUpdate(
        sequence=10,
        lifetime=400,
        ack=True,
        home_registration=True,
        options=(MobilityMessageAuthentication(subtype=1, spi=0x100, authenticator=AUTH),),
    ),
    BindingUpdate(
        sequence=11,
        lifetime=400,
        ack=True,
        home_registration=True,
        options=(
            MobileNodeIdentifier(identifier=b"mn@example.com"),
            ReplayProtection(timestamp=0xE000_0000_1234_5678),
            UnknownMobilityOption(option_type=200, data=b"\x01\x02\x03"),
        ),
    ),
    BindingAcknowledgement(status=0, sequence=1, lifetime=420),
    BindingAcknowledgement(
        status=0,
        sequence=0x1234,
        lifetime=420,
        options=(BindingAuthorizationData(authenticator=AUTH),),
    ),
    BindingAcknowledgement(
        status=1,
        key_management=True,
        sequence=5,
        lifetime=3600,
        options=(BindingRefreshAdvice(refresh_interval=3000),),
    ),
    BindingAcknowledgement(
        status=135,
        mobile_router=True,
        proxy_registration=True,
        tlv_header=True,
        bulk=True,
        sequence=6,
        lifetime=0,
    ),
    BindingAcknowledgement(status=255, sequence=0, lifetime=4),
    BindingError(status=1, home_address=HOA),
    BindingError(status=2, home_address=IPv6Address("::")),
]
IDS = [f"{i}-{type(m).__name__}" for i, m in enumerate(MESSAGES)]


# ---------------------------------------------------------------------------------------------
# Ours -> scapy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("msg", MESSAGES, ids=IDS)
def test_ours_parse_in_scapy(msg: MobilityMessage) -> None:
    ours = encode_mh(msg)
    parsed = SCAPY_CLASS[type(msg)](ours)
    assert scapy_fields(parsed) == our_fields(msg, ours)
    assert parsed.mhtype == ours[2]
    assert Raw not in parsed  # scapy consumed exactly our Header Len


@pytest.mark.parametrize("msg", MESSAGES, ids=IDS)
def test_same_octets_as_scapy(msg: MobilityMessage) -> None:
    assert encode_mh(msg) == raw(to_scapy(msg))


# ---------------------------------------------------------------------------------------------
# scapy -> ours
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("msg", MESSAGES, ids=IDS)
def test_scapy_decodes_in_ours(msg: MobilityMessage) -> None:
    assert decode_mh(raw(to_scapy(msg))) == msg


@pytest.mark.parametrize(("scapy_option", "ours"), OPTION_PAIRS + AUTH_PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("message", ["BU", "BA", "BE", "HoTI"])
def test_scapy_options_decode_in_ours(
    scapy_option: Callable[[], Packet], ours: MobilityOption, message: str
) -> None:
    # scapy pads each option by its own alignment rule: our decoder needs no particular padding
    opt = scapy_option()
    p = {
        "BU": lambda: MIP6MH_BU(cksum=0, seq=1, mhtime=1, options=[opt]),
        "BA": lambda: MIP6MH_BA(cksum=0, seq=1, mhtime=1, options=[opt]),
        "BE": lambda: MIP6MH_BE(cksum=0, status=1, ha=str(HOA), options=[opt]),
        "HoTI": lambda: MIP6MH_HoTI(cksum=0, cookie=C1, options=[opt]),
    }[message]()
    decoded = decode_mh(raw(p))
    assert decoded.options == (ours,)  # type: ignore[union-attr]


@pytest.mark.parametrize(("scapy_option", "ours"), OPTION_PAIRS + AUTH_PAIRS, ids=PAIR_IDS)
def test_our_options_parse_in_scapy(
    scapy_option: Callable[[], Packet], ours: MobilityOption
) -> None:
    encoded = encode_mh(BindingUpdate(sequence=1, lifetime=4, options=(ours,)))
    parsed = MIP6MH_BU(encoded)
    options = [o for o in parsed.options if not isinstance(o, Pad1 | PadN)]
    assert len(options) == 1
    assert from_scapy_option(options[0]) == ours
    # and scapy writes the option itself with the same octets as ours
    assert raw(scapy_option()) in encoded


def test_scapy_defaults_disagree_with_rfc() -> None:
    # RFC 6275 §6.2.6: Nonce Indices Length = 4; scapy's default olen is 16.
    assert raw(MIP6OptNonceIndices())[1] == 16
    assert (
        encode_mh(
            BindingUpdate(
                sequence=1,
                lifetime=4,
                options=(NonceIndices(home_nonce_index=0, care_of_nonce_index=0),),
            )
        )[12:14]
        == b"\x04\x04"
    )
    # RFC 6275 §6.2.7: BAD Length = authenticator length (12); scapy's default olen is 16.
    assert raw(MIP6OptBindingAuthData())[1] == 16
    # so scapy's defaults make octets our decoder must refuse (a wrong Nonce Indices length)
    with pytest.raises(MalformedPacket) as info:
        decode_mh(raw(MIP6MH_BU(cksum=0, options=[MIP6OptNonceIndices()])))
    assert info.value.offset == 13


def test_mh_lla_scapy_uses_rfc4068_layout() -> None:
    # RFC 5568 §6.4.4: Type=7 | Length = 1 + len(LLA) | Option-Code | LLA (9 octets for Ethernet)
    ours = encode_mh(
        BindingUpdate(
            sequence=1,
            lifetime=4,
            options=(MHLinkLayerAddress(option_code=2, address=bytes.fromhex("001122334455")),),
        )
    )
    assert ours[12:21] == bytes.fromhex("070702001122334455")
    # scapy (RFC 4068): Option-Code, then a Pad0 octet, then the LLA -- 10 octets, Length 7
    theirs = raw(MIP6OptLLAddr(ocode=2, lla="00:11:22:33:44:55"))
    assert theirs == bytes.fromhex("07070200001122334455")
    assert len(theirs) != len(ours[12:21])


# ---------------------------------------------------------------------------------------------
# Through an IPv6 header: dispatch and checksum
# ---------------------------------------------------------------------------------------------

SRC = "2001:db8:1::100"
DST = "2001:db8:2::1"


@pytest.mark.parametrize("msg", MESSAGES, ids=IDS)
def test_scapy_checksum_matches_ours(msg: MobilityMessage) -> None:
    # without the cksum=0 override scapy computes the checksum over its pseudo-header
    p = IPv6(src=SRC, dst=DST) / to_scapy(msg)
    p[SCAPY_CLASS[type(msg)]].cksum = None
    packet = raw(p)
    mh = packet[40:]
    assert decode_mh(mh) == msg
    ours = encode_mh(msg)
    checksum = upper_layer_checksum(IPv6Address(SRC), IPv6Address(DST), PROTO_MH, ours)
    assert mh[MH_CHECKSUM_OFFSET : MH_CHECKSUM_OFFSET + 2] == checksum.to_bytes(2, "big")


@pytest.mark.parametrize("msg", MESSAGES, ids=IDS)
def test_scapy_dispatches_our_packets(msg: MobilityMessage) -> None:
    ours = bytearray(encode_mh(msg))
    checksum = upper_layer_checksum(IPv6Address(SRC), IPv6Address(DST), PROTO_MH, bytes(ours))
    ours[MH_CHECKSUM_OFFSET : MH_CHECKSUM_OFFSET + 2] = checksum.to_bytes(2, "big")
    header = raw(IPv6(src=SRC, dst=DST, nh=PROTO_MH, plen=len(ours)))
    parsed = IPv6(header + bytes(ours))
    layer = parsed[SCAPY_CLASS[type(msg)]]
    assert layer.cksum == checksum
    assert scapy_fields(layer) == our_fields(msg, bytes(ours))
    # scapy recomputes the same checksum
    layer.cksum = None
    assert raw(parsed)[40 + MH_CHECKSUM_OFFSET : 40 + MH_CHECKSUM_OFFSET + 2] == bytes(
        ours[MH_CHECKSUM_OFFSET : MH_CHECKSUM_OFFSET + 2]
    )


@pytest.mark.parametrize(
    ("msg", "mh_type"),
    [
        (FastBindingUpdate(sequence=1, lifetime=8), 8),
        (FastBindingAcknowledgement(status=0, sequence=1, lifetime=8), 9),
        (
            HandoverInitiate(
                sequence=1,
                code=0,
                options=(IPv6AddressPrefixOption(option_code=1, prefix_length=128, address=A1),),
            ),
            14,
        ),
        (HandoverAcknowledge(sequence=1, code=2), 15),
    ],
)
def test_fmipv6_types_reach_scapy_generic(msg: MobilityMessage, mh_type: int) -> None:
    # scapy has no FMIPv6 MH messages: it falls back to MIP6MH_Generic, whose message field
    # reads 8*len - 6 octets instead of 8*len + 2 (RFC 6275 §6.1.1), leaving 8 octets as Raw.
    ours = encode_mh(msg)
    parsed = IPv6(raw(IPv6(src=SRC, dst=DST, nh=PROTO_MH, plen=len(ours))) + ours)
    generic = parsed[MIP6MH_Generic]
    assert generic.mhtype == mh_type and generic.len == ours[1] and generic.nh == 59
    assert bytes(generic.msg) + bytes(generic.payload) == ours[6:]
    assert len(generic.msg) == 8 * ours[1] - 6  # scapy's reading, not the RFC's


def test_badf_is_opaque_to_scapy() -> None:
    # option 21 (RFC 5568 §6.4.5) is unknown to scapy: it must still walk past it by Length
    badf = FastBindingAuthorizationData(spi=0x01020304, authenticator=AUTH)
    ours = encode_mh(BindingUpdate(sequence=1, lifetime=4, options=(badf,)))
    parsed = MIP6MH_BU(ours)
    unknown = [o for o in parsed.options if isinstance(o, MIP6OptUnknown)]
    assert len(unknown) == 1 and unknown[0].otype == 21 and unknown[0].olen == 16
    assert bytes(unknown[0].odata) == b"\x01\x02\x03\x04" + AUTH


# ---------------------------------------------------------------------------------------------
# Random messages scapy can build, both directions
# ---------------------------------------------------------------------------------------------

scapy_plain_options = st.one_of(
    st.integers(0, 0xFFFF).map(lambda u: BindingRefreshAdvice(refresh_interval=4 * u)),
    addresses().map(lambda a: AlternateCareOfAddress(address=a)),
    st.builds(
        NonceIndices,
        home_nonce_index=st.integers(0, 0xFFFF),
        care_of_nonce_index=st.integers(0, 0xFFFF),
    ),
    st.builds(MobileNodeIdentifier, subtype=st.integers(0, 255), identifier=st.binary(max_size=30)),
    st.builds(ReplayProtection, timestamp=st.integers(0, (1 << 64) - 1)),
)
scapy_auth = st.one_of(
    st.binary(min_size=12, max_size=12).map(lambda a: (BindingAuthorizationData(authenticator=a),)),
    st.builds(
        MobilityMessageAuthentication,
        subtype=st.integers(0, 255),
        spi=st.integers(0, 0xFFFFFFFF),
        authenticator=st.binary(min_size=12, max_size=12),
    ).map(lambda o: (o,)),
    st.just(()),
)


@settings(max_examples=60, deadline=None)
@given(
    plain=st.lists(scapy_plain_options, max_size=3),
    auth=scapy_auth,
    seq=st.integers(0, 0xFFFF),
    lifetime=st.integers(0, 0xFFFF),
    flags=st.lists(st.booleans(), min_size=10, max_size=10),
)
def test_random_bu_both_ways(
    plain: list[MobilityOption], auth: tuple, seq: int, lifetime: int, flags: list[bool]
) -> None:
    names = [
        "ack",
        "home_registration",
        "link_local_compat",
        "key_management",
        "map_registration",
        "mobile_router",
        "proxy_registration",
        "forced_udp",
        "tlv_header",
        "bulk",
    ]
    msg = BindingUpdate(
        sequence=seq,
        lifetime=4 * lifetime,
        options=(*plain, *auth),
        **dict(zip(names, flags, strict=True)),
    )
    ours = encode_mh(msg)
    assert scapy_fields(MIP6MH_BU(ours)) == our_fields(msg, ours)
    # scapy's own layout may pad differently (it does not end-align the closing option), but
    # what it writes must decode to the same message in ours
    assert decode_mh(raw(to_scapy(msg))) == msg
