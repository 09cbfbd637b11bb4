"""Hypothesis strategies for the ND options and ICMPv6 messages of :mod:`mipshop.wire`.

Every value drawn is valid and round-trips exactly: ``decode(encode(x)) == x``. Times carried in
milliseconds are drawn as whole milliseconds, link-layer addresses as 6-byte MACs (the codecs'
default ``lla_length``), unknown options and messages avoid the types that have their own class.
Other test modules import :func:`icmpv6_messages` to build random captures.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from hypothesis import strategies as st

from mipshop.wire.icmpv6 import (
    DestinationUnreachable,
    EchoReply,
    EchoRequest,
    FMIPv6Subtype,
    HomeAgentAddressDiscoveryReply,
    HomeAgentAddressDiscoveryRequest,
    IcmpHandoverAcknowledge,
    IcmpHandoverInitiate,
    ICMPv6Message,
    MobilePrefixAdvertisement,
    MobilePrefixSolicitation,
    NeighborAdvertisement,
    NeighborSolicitation,
    PacketTooBig,
    ParameterProblem,
    ProxyRouterAdvertisement,
    PrRtAdvCode,
    RouterAdvertisement,
    RouterSolicitation,
    RouterSolicitationForProxy,
    TimeExceeded,
    UnknownICMPv6,
)
from mipshop.wire.nd_options import (
    AdvertisementInterval,
    HomeAgentInformation,
    IPAddressOptionCode,
    IPAddressPrefix,
    LinkLayerAddress,
    LLAOptionCode,
    MAPOption,
    MTUOption,
    NAACKStatus,
    NDOption,
    NeighborAdvertisementAcknowledgment,
    PrefixInformation,
    SourceLinkLayerAddress,
    TargetLinkLayerAddress,
    UnknownNDOption,
)

#: ND option types that have a class of their own (an UnknownNDOption never uses them).
KNOWN_ND_OPTION_TYPES = frozenset({1, 2, 3, 5, 7, 8, 17, 19, 20, 23})
#: ICMPv6 types that have a class of their own.
KNOWN_ICMPV6_TYPES = frozenset({1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 144, 145, 146, 147, 154})

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
#: Any IPv6 address, with the special ones (::, ::1, all-ones) drawn often.
addresses = st.one_of(
    st.sampled_from(
        [IPv6Address("::"), IPv6Address("::1"), IPv6Address("fe80::1"), IPv6Address(2**128 - 1)]
    ),
    st.integers(0, 2**128 - 1).map(IPv6Address),
)
#: A 6-byte IEEE 802 MAC address.
macs = st.binary(min_size=6, max_size=6)
#: A time in seconds that is a whole number of milliseconds fitting a uint32.
milliseconds = u32.map(lambda ms: ms / 1000)


def _code(enum: type, width: st.SearchStrategy[int] = u8) -> st.SearchStrategy[int]:
    """Mostly the defined codes of ``enum``, sometimes any value of the field."""
    return st.one_of(st.sampled_from([int(v) for v in enum]), width)


def nd_options() -> st.SearchStrategy[NDOption]:
    """Any ND option of :mod:`mipshop.wire.nd_options` with valid random fields."""
    return st.one_of(
        st.builds(SourceLinkLayerAddress, address=macs),
        st.builds(TargetLinkLayerAddress, address=macs),
        st.builds(
            PrefixInformation,
            prefix_length=st.integers(0, 128),
            on_link=st.booleans(),
            autonomous=st.booleans(),
            router_address=st.booleans(),
            valid_lifetime=u32,
            preferred_lifetime=u32,
            prefix=addresses,
        ),
        st.builds(MTUOption, mtu=u32),
        st.builds(AdvertisementInterval, interval=milliseconds),
        st.builds(HomeAgentInformation, preference=u16, lifetime=u16),
        st.builds(
            IPAddressPrefix,
            option_code=_code(IPAddressOptionCode),
            prefix_length=st.integers(0, 128),
            address=addresses,
        ),
        st.builds(LinkLayerAddress, option_code=_code(LLAOptionCode), address=macs),
        st.builds(
            NeighborAdvertisementAcknowledgment,
            option_code=st.one_of(st.just(0), u8),
            status=_code(NAACKStatus),
            new_care_of_address=st.none() | addresses,
        ),
        st.builds(
            MAPOption,
            distance=st.integers(1, 15),
            preference=st.integers(0, 15),
            r_flag=st.booleans(),
            valid_lifetime=u32,
            address=addresses,
        ),
        st.builds(
            UnknownNDOption,
            option_type=u8.filter(lambda t: t not in KNOWN_ND_OPTION_TYPES),
            data=st.integers(1, 4).flatmap(
                lambda n: st.binary(min_size=8 * n - 2, max_size=8 * n - 2)
            ),
        ),
    )


def option_lists(max_size: int = 4) -> st.SearchStrategy[tuple[NDOption, ...]]:
    """A tuple of up to ``max_size`` random ND options."""
    return st.lists(nd_options(), max_size=max_size).map(tuple)


_identifiers = u16
_data = st.binary(max_size=48)


def _unknown_messages() -> st.SearchStrategy[UnknownICMPv6]:
    """Unknown types with any body, and type 154 with an unknown subtype."""
    unknown_type = st.builds(
        UnknownICMPv6,
        icmp_type=u8.filter(lambda t: t not in KNOWN_ICMPV6_TYPES),
        code=u8,
        body=_data,
    )
    unknown_subtype = st.builds(
        UnknownICMPv6,
        icmp_type=st.just(154),
        code=u8,
        body=st.tuples(
            u8.filter(lambda s: s not in {int(v) for v in FMIPv6Subtype}),
            st.binary(min_size=3, max_size=40),
        ).map(lambda t: bytes([t[0]]) + t[1]),
    )
    return st.one_of(unknown_type, unknown_subtype)


def icmpv6_messages() -> st.SearchStrategy[ICMPv6Message]:
    """Any ICMPv6 message of :mod:`mipshop.wire.icmpv6` with valid random fields."""
    return st.one_of(
        st.builds(DestinationUnreachable, code=u8, invoking_packet=_data),
        st.builds(PacketTooBig, code=u8, mtu=u32, invoking_packet=_data),
        st.builds(TimeExceeded, code=u8, invoking_packet=_data),
        st.builds(ParameterProblem, code=u8, pointer=u32, invoking_packet=_data),
        st.builds(EchoRequest, code=u8, identifier=u16, sequence=u16, data=_data),
        st.builds(EchoReply, code=u8, identifier=u16, sequence=u16, data=_data),
        st.builds(RouterSolicitation, options=option_lists(), code=u8),
        st.builds(
            RouterAdvertisement,
            cur_hop_limit=u8,
            managed=st.booleans(),
            other=st.booleans(),
            home_agent=st.booleans(),
            preference=st.sampled_from([-1, 0, 1, 2]),
            router_lifetime=u16,
            reachable_time=milliseconds,
            retrans_timer=milliseconds,
            options=option_lists(),
            code=u8,
        ),
        st.builds(NeighborSolicitation, target=addresses, options=option_lists(), code=u8),
        st.builds(
            NeighborAdvertisement,
            router=st.booleans(),
            solicited=st.booleans(),
            override=st.booleans(),
            target=addresses,
            options=option_lists(),
            code=u8,
        ),
        st.builds(
            HomeAgentAddressDiscoveryRequest,
            identifier=_identifiers,
            mobile_router=st.booleans(),
            code=u8,
        ),
        st.builds(
            HomeAgentAddressDiscoveryReply,
            identifier=_identifiers,
            home_agents=st.lists(addresses, max_size=5).map(tuple),
            mobile_router=st.booleans(),
            code=u8,
        ),
        st.builds(
            MobilePrefixSolicitation, identifier=_identifiers, options=option_lists(), code=u8
        ),
        st.builds(
            MobilePrefixAdvertisement,
            identifier=_identifiers,
            managed=st.booleans(),
            other=st.booleans(),
            options=option_lists(),
            code=u8,
        ),
        st.builds(
            RouterSolicitationForProxy, identifier=_identifiers, options=option_lists(), code=u8
        ),
        st.builds(
            ProxyRouterAdvertisement,
            code=_code(PrRtAdvCode),
            identifier=_identifiers,
            options=option_lists(),
        ),
        st.builds(
            IcmpHandoverInitiate,
            code=u8,
            identifier=_identifiers,
            assigned_address=st.booleans(),
            buffer=st.booleans(),
            options=option_lists(),
        ),
        st.builds(
            IcmpHandoverAcknowledge, code=u8, identifier=_identifiers, options=option_lists()
        ),
        _unknown_messages(),
    )
