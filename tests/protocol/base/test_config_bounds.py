"""Every bound a configuration checks, at its edge: the last value accepted and the first
refused (issue 12: every table bound and timer is validated when the configuration is built,
so an entity never starts with a value the wire cannot carry or a table without a bound).

One row per edge, for each configuration class of ``mipshop.protocol``: the base router and
lifetime checks (RFC 4861 §6.2.1, RFC 6275 §6.1.7), the home agent, MAP and mobile node
(RFC 6275 §7.4, §9.6, §10.3.1, §11.8; RFC 5380 §5, §6.1), and FMIPv6 (RFC 5568 §6.4.5, §9,
§10; RFC 4861 §7.2.6). Each row names the field changed from a valid configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Address, IPv6Network
from typing import Any

import pytest

from mipshop.protocol.base.config import RouterConfig, check_lifetime, check_mac
from mipshop.protocol.base.constants import MAX_BINDING_LIFETIME, MAX_NEIGHBOR_ADVERTISEMENT
from mipshop.protocol.fmipv6.config import (
    FastHandoverAnchorConfig,
    FastHandoverClientConfig,
    FastHandoverRouterConfig,
    HandoverKey,
    NeighborRouter,
    RouterKey,
)
from mipshop.protocol.hmipv6.config import MapClientConfig, MapConfig
from mipshop.protocol.mipv6.config import (
    CorrespondentConfig,
    HomeAgentConfig,
    MobileNodeConfig,
    MobilityCredentials,
    RouteOptimizationConfig,
    check_binding_agent_limits,
)
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation
from mipshop.wire.nd_options import MAPOption

PREFIX = IPv6Network("2001:db8:1::/64")
ROUTER = RouterConfig(address=IPv6Address("2001:db8:1::1"), prefix=PREFIX)
MAP = IPv6Address("2001:db8:a1::1")
NAR = IPv6Address("2001:db8:20::1")
SA = SecurityAssociation(spi=1000, key=b"k" * 16)
KEY = HandoverKey(spi=7, key=b"k", previous_care_of_address=IPv6Address("2001:db8:1::10"))


def _router(**fields: Any) -> RouterConfig:
    return RouterConfig(**{"address": IPv6Address("2001:db8:1::1"), "prefix": PREFIX,
                           **fields})


def _limits(**fields: Any) -> None:
    check_binding_agent_limits(**{"max_binding_lifetime": 3600.0, "refresh_interval": None,
                                  "max_bindings": 10, "dad_duration": 1.0, **fields})


def _home_agent(**fields: Any) -> HomeAgentConfig:
    return HomeAgentConfig(router=ROUTER, **fields)


def _mobile(**fields: Any) -> MobileNodeConfig:
    return MobileNodeConfig(**{"home_address": IPv6Address("2001:db8:1::10"),
                               "home_prefix": PREFIX, **fields})


def _neighbor(**fields: Any) -> NeighborRouter:
    return NeighborRouter(**{"access_points": (bytes(6),), "link_layer_address": bytes(6),
                             "address": NAR, "prefix": IPv6Network("2001:db8:20::/64"),
                             **fields})


def _nar_key(peer: IPv6Address = NAR) -> RouterKey:
    return RouterKey(peer=peer, security_association=SA)


def _correspondent(**fields: Any) -> CorrespondentConfig:
    return CorrespondentConfig(address=IPv6Address("2001:db8:c::1"), **fields)


def _fast_router(**fields: Any) -> FastHandoverRouterConfig:
    return FastHandoverRouterConfig(**fields)


def _client(**fields: Any) -> FastHandoverClientConfig:
    return FastHandoverClientConfig(key=HandoverKey(spi=7, key=b"k"), **fields)


MAX_LIFETIME = MAX_BINDING_LIFETIME
MAX_FBU = 0xFFFF * 4  # the FBU's 16-bit Lifetime in 4-second units (docs/decisions.md D1)

#: (row id, building the configuration (or running the check), accepted).
EDGES: list[tuple[str, Callable[[], object], bool]] = [
    # RFC 6275 §6.1.7: a lifetime the Mobility Header carries, in 4-second units.
    ("lifetime 0", lambda: check_lifetime("x", 0), True),
    ("lifetime 4", lambda: check_lifetime("x", 4), True),
    ("lifetime max", lambda: check_lifetime("x", MAX_LIFETIME), True),
    ("lifetime -4", lambda: check_lifetime("x", -4), False),
    ("lifetime max+4", lambda: check_lifetime("x", MAX_LIFETIME + 4), False),
    ("lifetime 2", lambda: check_lifetime("x", 2), False),
    ("lifetime 5", lambda: check_lifetime("x", 5), False),
    ("mac 6", lambda: check_mac("x", bytes(6)), True),
    ("mac 5", lambda: check_mac("x", bytes(5)), False),
    ("mac 7", lambda: check_mac("x", bytes(7)), False),
    # RFC 4861 §6.2.1, §6.2.6: the router's RA parameters.
    ("router mac 5", lambda: _router(link_layer_address=bytes(5)), False),
    ("router ra delay 0", lambda: _router(max_ra_delay=0.0), True),
    ("router ra delay = interval", lambda: _router(max_ra_delay=3.0, ra_interval=3.0), True),
    ("router ra delay < 0", lambda: _router(max_ra_delay=-0.1), False),
    ("router ra delay > interval", lambda: _router(max_ra_delay=3.1, ra_interval=3.0), False),
    ("router address off prefix", lambda: _router(address=IPv6Address("2001:db8:2::1")),
     False),
    ("router interval 0", lambda: _router(ra_interval=0.0, max_ra_delay=0.0), False),
    ("router interval 0.5", lambda: _router(ra_interval=0.5, max_ra_delay=0.0), True),
    # RFC 6275 §5.2.7, §9.5.5, §9.6: a correspondent's tables, refused when configured.
    ("cn defaults", lambda: _correspondent(), True),
    ("cn max_bindings 0", lambda: _correspondent(max_bindings=0), True),
    ("cn max_bindings -1", lambda: _correspondent(max_bindings=-1), False),
    ("cn nonce interval = lifetime",
     lambda: _correspondent(nonce_regeneration_interval=240.0, nonce_lifetime=240.0), True),
    ("cn nonce interval > lifetime",
     lambda: _correspondent(nonce_regeneration_interval=240.5, nonce_lifetime=240.0), False),
    ("cn nonce interval 0", lambda: _correspondent(nonce_regeneration_interval=0.0), False),
    ("cn nonce interval 0.5", lambda: _correspondent(nonce_regeneration_interval=0.5), True),
    ("cn refresh lead 0", lambda: _correspondent(refresh_request_lead=0.0), True),
    ("cn refresh lead < 0", lambda: _correspondent(refresh_request_lead=-0.1), False),
    ("cn refresh lead nan", lambda: _correspondent(refresh_request_lead=float("nan")), False),
    ("cn error interval > 0", lambda: _correspondent(binding_error_interval=0.01), True),
    ("cn error interval 0", lambda: _correspondent(binding_error_interval=0.0), False),
    # RFC 6275 §9.6, §10.3.1, §11.8: the limits of a binding agent (home agent, MAP).
    ("agent limits", lambda: _limits(), True),
    ("agent lifetime 2", lambda: _limits(max_binding_lifetime=2.0), False),
    ("agent refresh 4", lambda: _limits(refresh_interval=4.0), True),
    ("agent refresh 2", lambda: _limits(refresh_interval=2.0), False),
    ("agent max_bindings 0", lambda: _limits(max_bindings=0), True),
    ("agent max_bindings -1", lambda: _limits(max_bindings=-1), False),
    ("agent dad 0", lambda: _limits(dad_duration=0.0), True),
    ("agent dad < 0", lambda: _limits(dad_duration=-0.1), False),
    ("agent pending dad 1", lambda: _limits(max_pending_dad=1), True),
    ("agent pending dad 0", lambda: _limits(max_pending_dad=0), False),
    ("agent rate 1", lambda: _limits(registration_rate=1), True),
    ("agent rate 0", lambda: _limits(registration_rate=0), False),
    # RFC 6275 §7.4, §10.6.2: the home agent's own fields, then its limits passed on.
    ("ha prefix interval min = max",
     lambda: _home_agent(min_mobile_prefix_interval=5.0, max_mobile_prefix_interval=5.0), True),
    ("ha prefix interval 0", lambda: _home_agent(min_mobile_prefix_interval=0.0), False),
    ("ha prefix interval 0.5", lambda: _home_agent(min_mobile_prefix_interval=0.5), True),
    ("ha prefix interval min > max",
     lambda: _home_agent(min_mobile_prefix_interval=5.1, max_mobile_prefix_interval=5.0),
     False),
    ("ha max_bindings -1", lambda: _home_agent(max_bindings=-1), False),
    ("ha max_bindings 0", lambda: _home_agent(max_bindings=0), True),
    ("ha pending dad 0", lambda: _home_agent(max_pending_dad=0), False),
    ("ha rate 0", lambda: _home_agent(registration_rate=0), False),
    ("ha dad < 0", lambda: _home_agent(dad_duration=-1.0), False),
    ("ha lifetime 6", lambda: _home_agent(max_binding_lifetime=6.0), False),
    ("ha refresh 6", lambda: _home_agent(refresh_interval=6.0), False),
    ("ha home agents 0", lambda: _home_agent(max_home_agents=0), True),
    ("ha home agents -1", lambda: _home_agent(max_home_agents=-1), False),
    ("ha lifetime 1", lambda: _home_agent(home_agent_lifetime=1), True),
    ("ha lifetime 65535", lambda: _home_agent(home_agent_lifetime=0xFFFF), True),
    ("ha lifetime 0", lambda: _home_agent(home_agent_lifetime=0), False),
    ("ha lifetime 65536", lambda: _home_agent(home_agent_lifetime=0x10000), False),
    ("ha credentials off prefix", lambda: _home_agent(credentials=(MobilityCredentials(
        identifier=b"a", security_association=SA,
        home_address=IPv6Address("2001:db8:2::1")),)), False),
    # RFC 6275 §5.2.6, §5.2.9: route optimisation.
    ("ro lifetime 2", lambda: RouteOptimizationConfig(lifetime=2.0), False),
    ("ro failures 1", lambda: RouteOptimizationConfig(max_ro_failure=1), True),
    ("ro failures 0", lambda: RouteOptimizationConfig(max_ro_failure=0), False),
    ("ro transmissions 1", lambda: RouteOptimizationConfig(attempt_transmissions=1), True),
    ("ro transmissions 0", lambda: RouteOptimizationConfig(attempt_transmissions=0), False),
    # RFC 6275 §11: the mobile node.
    ("mn mac 7", lambda: _mobile(link_layer_address=bytes(7)), False),
    ("mn lifetime 6", lambda: _mobile(home_binding_lifetime=6.0), False),
    ("mn home address off prefix", lambda: _mobile(home_address=IPv6Address("2001:db8:2::1")),
     False),
    ("mn dad 0", lambda: _mobile(dad_delay=0.0), True),
    ("mn dad < 0", lambda: _mobile(dad_delay=-0.1), False),
    # RFC 5380 §5, §6.2: the MAP.
    ("map valid 1", lambda: MapConfig(address=MAP, valid_lifetime=1), True),
    ("map valid 2**32-1", lambda: MapConfig(address=MAP, valid_lifetime=0xFFFFFFFF), True),
    ("map valid 0", lambda: MapConfig(address=MAP, valid_lifetime=0), False),
    ("map valid 2**32", lambda: MapConfig(address=MAP, valid_lifetime=1 << 32), False),
    ("map max_bindings -1", lambda: MapConfig(address=MAP, max_bindings=-1), False),
    ("map pending dad 0", lambda: MapConfig(address=MAP, max_pending_dad=0), False),
    ("map rate 0", lambda: MapConfig(address=MAP, registration_rate=0), False),
    ("map dad < 0", lambda: MapConfig(address=MAP, dad_duration=-1.0), False),
    ("map lifetime 6", lambda: MapConfig(address=MAP, max_binding_lifetime=6.0), False),
    ("map refresh 6", lambda: MapConfig(address=MAP, refresh_interval=6.0), False),
    ("map credentials off prefix", lambda: MapConfig(address=MAP, credentials=(
        MobilityCredentials(identifier=b"a", security_association=SA,
                            home_address=IPv6Address("2001:db8:1::10")),)), False),
    # RFC 5380 §6.1, §9.1: the MAP client.
    ("map client additional 0", lambda: MapClientConfig(additional_maps=0), True),
    ("map client additional -1", lambda: MapClientConfig(additional_maps=-1), False),
    ("map client lifetime 4", lambda: MapClientConfig(lifetime=4.0), True),
    ("map client lifetime 0", lambda: MapClientConfig(lifetime=0.0), False),
    ("map client lifetime 6", lambda: MapClientConfig(lifetime=6.0), False),
    ("map client retries None", lambda: MapClientConfig(max_retries=None), True),
    ("map client retries 0", lambda: MapClientConfig(max_retries=0), True),
    ("map client retries -1", lambda: MapClientConfig(max_retries=-1), False),
    ("map client previous 4", lambda: MapClientConfig(previous_map_lifetime=4.0), True),
    ("map client previous 0", lambda: MapClientConfig(previous_map_lifetime=0.0), False),
    ("map client previous 6", lambda: MapClientConfig(previous_map_lifetime=6.0), False),
    # RFC 5568 §6.4.5: the handover key (SPI 0 is SEND's).
    ("handover key spi 1", lambda: HandoverKey(spi=1, key=b"k"), True),
    ("handover key spi 2**32-1", lambda: HandoverKey(spi=0xFFFFFFFF, key=b"k"), True),
    ("handover key spi 0", lambda: HandoverKey(spi=0, key=b"k"), False),
    ("handover key spi 2**32", lambda: HandoverKey(spi=1 << 32, key=b"k"), False),
    ("handover key empty", lambda: HandoverKey(spi=1, key=b""), False),
    # RFC 5568 §6.1.2: a neighbour's AR-Info (link-layer addresses of 1..16 octets).
    ("neighbour", lambda: _neighbor(), True),
    ("neighbour ap 1 octet", lambda: _neighbor(access_points=(b"\x01",)), True),
    ("neighbour ap 16 octets", lambda: _neighbor(access_points=(bytes(16),)), True),
    ("neighbour ap 0 octets", lambda: _neighbor(access_points=(b"",)), False),
    ("neighbour ap 17 octets", lambda: _neighbor(access_points=(bytes(6), bytes(17))), False),
    ("neighbour ap not bytes", lambda: _neighbor(access_points=(bytearray(6),)), False),
    ("neighbour mac 0 octets", lambda: _neighbor(link_layer_address=b""), False),
    ("neighbour mac 17 octets", lambda: _neighbor(link_layer_address=bytes(17)), False),
    ("neighbour address off prefix", lambda: _neighbor(address=IPv6Address("2001:db8:2::1")),
     False),
    # RFC 5568 §5.6, §6.2.1.1, §10: the anchor (PAR role).
    ("anchor", lambda: FastHandoverAnchorConfig(), True),
    ("anchor hi retries 0", lambda: FastHandoverAnchorConfig(hi_retries=0), True),
    ("anchor hi retries -1", lambda: FastHandoverAnchorConfig(hi_retries=-1), False),
    ("anchor simultaneous 0", lambda: FastHandoverAnchorConfig(simultaneous_binding=0.0), True),
    ("anchor simultaneous = tunnel", lambda: FastHandoverAnchorConfig(
        simultaneous_binding=8.0, max_tunnel_lifetime=8), True),
    ("anchor simultaneous < 0",
     lambda: FastHandoverAnchorConfig(simultaneous_binding=-0.1), False),
    ("anchor simultaneous > tunnel", lambda: FastHandoverAnchorConfig(
        simultaneous_binding=8.1, max_tunnel_lifetime=8), False),
    ("anchor pending 1", lambda: FastHandoverAnchorConfig(max_pending_handovers=1), True),
    ("anchor pending 0", lambda: FastHandoverAnchorConfig(max_pending_handovers=0), False),
    ("anchor rtt None", lambda: FastHandoverAnchorConfig(rtt=None), True),
    ("anchor rtt 0.01", lambda: FastHandoverAnchorConfig(rtt=0.01), True),
    ("anchor rtt 0", lambda: FastHandoverAnchorConfig(rtt=0.0), False),
    ("anchor tunnel 4", lambda: FastHandoverAnchorConfig(max_tunnel_lifetime=4), True),
    ("anchor tunnel max", lambda: FastHandoverAnchorConfig(max_tunnel_lifetime=MAX_FBU), True),
    ("anchor tunnel 0", lambda: FastHandoverAnchorConfig(max_tunnel_lifetime=0), False),
    ("anchor tunnel 6", lambda: FastHandoverAnchorConfig(max_tunnel_lifetime=6), False),
    ("anchor tunnel max+4",
     lambda: FastHandoverAnchorConfig(max_tunnel_lifetime=MAX_FBU + 4), False),
    ("anchor keys", lambda: FastHandoverAnchorConfig(handover_keys=(KEY,)), True),
    ("anchor keys same spi", lambda: FastHandoverAnchorConfig(handover_keys=(
        KEY, HandoverKey(spi=7, key=b"j", previous_care_of_address=IPv6Address(
            "2001:db8:1::11")))), False),
    ("anchor key without pcoa", lambda: FastHandoverAnchorConfig(handover_keys=(
        HandoverKey(spi=8, key=b"k"),)), False),
    ("anchor key mapping", lambda: FastHandoverAnchorConfig(handover_keys={
        8: HandoverKey(spi=8, key=b"k")}), True),
    ("anchor neighbour keyed", lambda: FastHandoverAnchorConfig(
        neighbors=(_neighbor(),), router_keys=(_nar_key(),)), True),
    ("anchor neighbour without key", lambda: FastHandoverAnchorConfig(
        neighbors=(_neighbor(),)), False),
    ("anchor neighbour without fmipv6, without key", lambda: FastHandoverAnchorConfig(
        neighbors=(_neighbor(fast_handover=False),)), True),
    ("anchor two keys for a peer", lambda: FastHandoverAnchorConfig(
        router_keys=(_nar_key(), _nar_key())), False),
    # RFC 5568 §5.4, §10: the access router's bounds (NAR role).
    ("router fmip", lambda: _fast_router(), True),
    ("router fmip anchor fields checked", lambda: _fast_router(hi_retries=-1), False),
    ("router buffer 0", lambda: _fast_router(buffer_packets=0), True),
    ("router buffer -1", lambda: _fast_router(buffer_packets=-1), False),
    ("router buffered total 0", lambda: _fast_router(buffered_packets_total=0), True),
    ("router buffered total -1", lambda: _fast_router(buffered_packets_total=-1), False),
    ("router handovers 0", lambda: _fast_router(max_handovers=0), True),
    ("router handovers -1", lambda: _fast_router(max_handovers=-1), False),
    ("router rtsolpr entries 1", lambda: _fast_router(rtsolpr_entries=1), True),
    ("router rtsolpr entries 0", lambda: _fast_router(rtsolpr_entries=0), False),
    ("router neighbour entries 1", lambda: _fast_router(neighbor_entries=1), True),
    ("router neighbour entries 0", lambda: _fast_router(neighbor_entries=0), False),
    ("router neighbour lifetime 0.5", lambda: _fast_router(neighbor_lifetime=0.5), True),
    ("router neighbour lifetime 0", lambda: _fast_router(neighbor_lifetime=0.0), False),
    ("router neighbour lifetime nan", lambda: _fast_router(neighbor_lifetime=float("nan")),
     False),
    ("router proxy 0.5", lambda: _fast_router(proxy_lifetime=0.5), True),
    ("router proxy 0", lambda: _fast_router(proxy_lifetime=0.0), False),
    ("router pcoa service 0.5", lambda: _fast_router(pcoa_service_lifetime=0.5), True),
    ("router pcoa service 0", lambda: _fast_router(pcoa_service_lifetime=0.0), False),
    ("router map anchor listed", lambda: _fast_router(
        map_anchor=MAPOption(address=MAP, distance=1, preference=1, valid_lifetime=60),
        anchors=(MAP,), router_keys=(_nar_key(MAP),)), True),
    ("router map anchor not listed", lambda: _fast_router(
        map_anchor=MAPOption(address=MAP, distance=1, preference=1, valid_lifetime=60),
        router_keys=(_nar_key(MAP),)), False),
    ("router anchor without key", lambda: _fast_router(anchors=(MAP,)), False),
    # RFC 5568 §6.1.1, §6.2.2, §6.3, §9: the mobile node's client.
    ("client", lambda: _client(), True),
    ("client fbu 4", lambda: _client(fbu_lifetime=4), True),
    ("client fbu max", lambda: _client(fbu_lifetime=MAX_FBU), True),
    ("client fbu 0", lambda: _client(fbu_lifetime=0), False),
    ("client fbu 6", lambda: _client(fbu_lifetime=6), False),
    ("client fbu max+4", lambda: _client(fbu_lifetime=MAX_FBU + 4), False),
    ("client rtsolpr retries 0", lambda: _client(rtsolpr_retries=0), True),
    ("client rtsolpr retries -1", lambda: _client(rtsolpr_retries=-1), False),
    ("client fbu retries 0", lambda: _client(fbu_retries=0), True),
    ("client fbu retries -1", lambda: _client(fbu_retries=-1), False),
    ("client rtsolpr rate 1", lambda: _client(max_rtsolpr_rate=1), True),
    ("client rtsolpr rate 0", lambda: _client(max_rtsolpr_rate=0), False),
    ("client rtt 0.01", lambda: _client(rtt=0.01), True),
    ("client rtt 0", lambda: _client(rtt=0.0), False),
    ("client una 1", lambda: _client(una_transmissions=1), True),
    ("client una max", lambda: _client(una_transmissions=MAX_NEIGHBOR_ADVERTISEMENT), True),
    ("client una 0", lambda: _client(una_transmissions=0), False),
    ("client una max+1", lambda: _client(una_transmissions=MAX_NEIGHBOR_ADVERTISEMENT + 1),
     False),
]


@pytest.mark.parametrize(("build", "accepted"), [(b, ok) for _id, b, ok in EDGES],
                         ids=[row[0] for row in EDGES])
def test_a_configuration_bound_at_its_edge(build, accepted):
    if accepted:
        build()
    else:
        with pytest.raises(ValueError):
            build()


def test_map_client_credentials_per_map():
    """RFC 5380 §6.1 (RFC 4285 in place of IKEv2): a MAP named in ``map_credentials`` gets
    its own security association, any other MAP the default one."""
    own = MobilityCredentials(identifier=b"own", security_association=SA)
    default = MobilityCredentials(identifier=b"default", security_association=SA)
    other = IPv6Address("2001:db8:a2::1")
    config = MapClientConfig(credentials=default, map_credentials=(
        (other, MobilityCredentials(identifier=b"b", security_association=SA)), (MAP, own)))
    assert config.credentials_for(MAP) is own
    assert config.credentials_for(IPv6Address("2001:db8:a3::1")) is default
    assert MapClientConfig().credentials_for(MAP) is None


def test_the_neighbour_of_an_address_is_the_longest_prefix_match():
    """RFC 5568 §4: the PAR finds the NAR of an NCoA by its prefix, the longest that matches;
    by AP-ID and by address exactly."""
    wide = _neighbor(prefix=IPv6Network("2001:db8:20::/48"), access_points=(b"\x01" * 6,))
    narrow = _neighbor(address=IPv6Address("2001:db8:20::2"), access_points=(b"\x02" * 6,))
    for order in ((wide, narrow), (narrow, wide)):
        config = FastHandoverAnchorConfig(neighbors=order, router_keys=(
            _nar_key(), _nar_key(IPv6Address("2001:db8:20::2"))))
        assert config.neighbor_for(IPv6Address("2001:db8:20::99")) is narrow
        assert config.neighbor_for(IPv6Address("2001:db8:20:1::99")) is wide
        assert config.neighbor_for(IPv6Address("2001:db8:30::99")) is None
        assert config.neighbor_by_ap(b"\x02" * 6) is narrow
        assert config.neighbor_by_ap(b"\x03" * 6) is None
        assert config.neighbor_by_address(IPv6Address("2001:db8:20::2")) is narrow
        assert config.neighbor_by_address(NAR) is wide
        assert config.neighbor_by_address(IPv6Address("2001:db8:20::3")) is None
