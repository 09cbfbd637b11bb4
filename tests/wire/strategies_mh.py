"""Hypothesis strategies for Mobility Header options and messages (valid random values).

``mobility_options()`` draws a tuple of options that an encoder accepts (authorization options
only at the end, sizes that fit a Mobility Header); ``mobility_messages()`` draws any message
type, including :class:`UnknownMobilityMessage`. FBU/FBack lifetimes are multiples of 4 no
larger than 65532, so they encode with either ``fbu_lifetime_unit``.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from hypothesis import strategies as st

from mipshop.wire.mh import (
    MESSAGE_CLASSES,
    MIN_HEADER_LEN,
    BindingAcknowledgement,
    BindingError,
    BindingRefreshRequest,
    BindingUpdate,
    CareOfTest,
    CareOfTestInit,
    FastBindingAcknowledgement,
    FastBindingUpdate,
    FastNeighborAdvertisement,
    HandoverAcknowledge,
    HandoverInitiate,
    HomeTest,
    HomeTestInit,
    MobilityMessage,
    UnknownMobilityMessage,
)
from mipshop.wire.mh_options import (
    OPTION_CLASSES,
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

__all__ = [
    "addresses",
    "authorization_options",
    "mobility_messages",
    "mobility_options",
    "plain_mobility_options",
]

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
lifetimes = st.integers(0, 0xFFFF).map(lambda units: units * 4)
fbu_lifetimes = st.integers(0, 0x3FFF).map(lambda units: units * 4)
eight = st.binary(min_size=8, max_size=8)

KNOWN_OPTION_TYPES = frozenset(
    {0, 1} | {cls.OPTION_TYPE for cls in OPTION_CLASSES if cls is not UnknownMobilityOption}
)
UNKNOWN_OPTION_TYPES = [t for t in range(256) if t not in KNOWN_OPTION_TYPES]
UNKNOWN_MH_TYPES = [t for t in range(256) if t not in MIN_HEADER_LEN]


def addresses() -> st.SearchStrategy[IPv6Address]:
    """Any IPv6 address, with a bias towards a few realistic ones."""
    return st.one_of(
        st.integers(0, (1 << 128) - 1).map(IPv6Address),
        st.sampled_from([IPv6Address("::"), IPv6Address("2001:db8::1"), IPv6Address("fe80::1")]),
    )


def plain_mobility_options() -> st.SearchStrategy[MobilityOption]:
    """One option of any type that may appear anywhere in the list (not an authorization one)."""
    return st.one_of(
        lifetimes.map(lambda r: BindingRefreshAdvice(refresh_interval=r)),
        addresses().map(lambda a: AlternateCareOfAddress(address=a)),
        st.builds(NonceIndices, home_nonce_index=u16, care_of_nonce_index=u16),
        st.builds(MHLinkLayerAddress, option_code=u8, address=st.binary(max_size=20)),
        st.builds(MobileNodeIdentifier, subtype=u8, identifier=st.binary(max_size=40)),
        st.builds(ReplayProtection, timestamp=st.integers(0, (1 << 64) - 1)),
        st.builds(
            IPv6AddressPrefixOption,
            option_code=u8,
            prefix_length=st.integers(0, 128),
            address=addresses(),
        ),
        st.builds(
            UnknownMobilityOption,
            option_type=st.sampled_from(UNKNOWN_OPTION_TYPES),
            data=st.binary(max_size=40),
        ),
    )


def authorization_options() -> st.SearchStrategy[tuple[MobilityOption, ...]]:
    """A valid closing run: one BAD, one BADF, or one or two MMAs (MN-HA then MN-AAA)."""
    auth = st.binary(max_size=32)
    mma = st.builds(MobilityMessageAuthentication, subtype=u8, spi=u32, authenticator=auth)
    return st.one_of(
        st.builds(BindingAuthorizationData, authenticator=auth).map(lambda o: (o,)),
        st.builds(FastBindingAuthorizationData, spi=u32, authenticator=auth).map(lambda o: (o,)),
        st.lists(mma, min_size=1, max_size=2).map(tuple),
    )


def mobility_options(max_plain: int = 4) -> st.SearchStrategy[tuple[MobilityOption, ...]]:
    """A tuple of up to ``max_plain`` ordinary options, possibly closed by authorization ones.

    Sizes are bounded so any such tuple fits one Mobility Header after any fixed part.
    """
    return st.tuples(
        st.lists(plain_mobility_options(), max_size=max_plain).map(tuple),
        st.one_of(st.just(()), authorization_options()),
    ).map(lambda parts: parts[0] + parts[1])


def _messages(options: st.SearchStrategy[tuple[MobilityOption, ...]]) -> list[st.SearchStrategy]:
    b = st.booleans()
    return [
        st.builds(BindingRefreshRequest, options=options),
        st.builds(HomeTestInit, cookie=eight, options=options),
        st.builds(CareOfTestInit, cookie=eight, options=options),
        st.builds(
            HomeTest, home_nonce_index=u16, cookie=eight, keygen_token=eight, options=options
        ),
        st.builds(
            CareOfTest, care_of_nonce_index=u16, cookie=eight, keygen_token=eight, options=options
        ),
        st.builds(
            BindingUpdate,
            sequence=u16,
            lifetime=lifetimes,
            ack=b,
            home_registration=b,
            link_local_compat=b,
            key_management=b,
            map_registration=b,
            mobile_router=b,
            proxy_registration=b,
            forced_udp=b,
            tlv_header=b,
            bulk=b,
            options=options,
        ),
        st.builds(
            BindingAcknowledgement,
            status=u8,
            key_management=b,
            mobile_router=b,
            proxy_registration=b,
            tlv_header=b,
            bulk=b,
            sequence=u16,
            lifetime=lifetimes,
            options=options,
        ),
        st.builds(BindingError, status=u8, home_address=addresses(), options=options),
        st.builds(
            FastBindingUpdate,
            sequence=u16,
            lifetime=fbu_lifetimes,
            ack=b,
            home_registration=b,
            link_local_compat=b,
            key_management=b,
            options=options,
        ),
        st.builds(
            FastBindingAcknowledgement,
            status=u8,
            key_management=b,
            sequence=u16,
            lifetime=fbu_lifetimes,
            options=options,
        ),
        st.builds(FastNeighborAdvertisement, options=options),
        st.builds(
            HandoverInitiate,
            sequence=u16,
            assigned_address=b,
            buffer=b,
            code=u8,
            options=options,
        ),
        st.builds(HandoverAcknowledge, sequence=u16, code=u8, options=options),
        st.builds(
            UnknownMobilityMessage,
            mh_type=st.sampled_from(UNKNOWN_MH_TYPES),
            data=st.integers(0, 40).flatmap(
                lambda k: st.binary(min_size=2 + 8 * k, max_size=2 + 8 * k)
            ),
        ),
    ]


def mobility_messages(
    options: st.SearchStrategy[tuple[MobilityOption, ...]] | None = None,
) -> st.SearchStrategy[MobilityMessage]:
    """Any Mobility Header message with valid random fields and options."""
    return st.one_of(_messages(mobility_options() if options is None else options))


def messages_by_class() -> dict[type, st.SearchStrategy[MobilityMessage]]:
    """One strategy per message class (for tests that must cover every type)."""
    strategies = _messages(mobility_options())
    return dict(zip(MESSAGE_CLASSES, strategies, strict=True))
