"""What a mobile node learns from a Proxy Router Advertisement (RFC 5568 §6.1.2).

:func:`parse_prrtadv` turns the options of a PrRtAdv into one :class:`AccessPointInfo` per New
Access Point LLA option: the option-code outcome (1 resolved, 5 same interface, 6 no prefix
information, 7 no fast handover support) and, for a resolved AP, the AR-Info tuple that
follows it (NAR link-layer address, NAR IP address, NAR prefix, and an NCoA when the router
supplies one). Options are read in the order §6.1.2 prescribes; a tuple's options belong to
the New-AP option before them. A pure function, tested on its own.

Every mobile node keeps the tuples it learns (RFC 5568 §6.1.2: it may hold several), and in a
city thousands of nodes learn the same few hundred from the same routers: equal tuples are
therefore one shared object (they are frozen), from a bounded memo keyed by the options' own
fields, which also saves building the prefix again for each node.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from ...wire.icmpv6 import ProxyRouterAdvertisement
from ...wire.nd_options import IPAddressOptionCode, IPAddressPrefix, LinkLayerAddress
from ...wire.nd_options import LLAOptionCode as L
from ..base.addressing import address_from_prefix

#: Option-codes a New Access Point LLA option may carry in a PrRtAdv (§6.1.2).
AP_OUTCOMES = frozenset({L.NEW_ACCESS_POINT, L.AP_ON_CURRENT_INTERFACE,
                         L.NO_PREFIX_INFORMATION, L.NO_FAST_HANDOVER_SUPPORT})


@dataclass(frozen=True, kw_only=True, slots=True)
class AccessPointInfo:
    """One [AP-ID, AR-Info] tuple (or outcome) of a PrRtAdv (RFC 5568 §2, §6.1.2)."""

    access_point: bytes
    outcome: int
    router_link_layer_address: bytes | None = None
    router_address: IPv6Address | None = None
    prefix: IPv6Network | None = None
    new_care_of_address: IPv6Address | None = None
    dhcp: bool = False

    @property
    def resolved(self) -> bool:
        """True when the AR-Info is complete enough to form an NCoA and send an FBU."""
        return self.outcome == L.NEW_ACCESS_POINT and self.router_address is not None and (
            self.prefix is not None or self.new_care_of_address is not None)

    def care_of_address(self, interface_identifier: int) -> IPv6Address:
        """The prospective NCoA: the supplied one (MUST be used, §5.2), else prefix + IID."""
        if self.new_care_of_address is not None:
            return self.new_care_of_address
        assert self.prefix is not None
        return address_from_prefix(self.prefix, interface_identifier)


#: Tuples already built, by their fields (module docstring); cleared when full.
_MEMO: dict[tuple[object, ...], AccessPointInfo] = {}
MEMO_LIMIT = 4096


def parse_prrtadv(message: ProxyRouterAdvertisement) -> list[AccessPointInfo]:
    """The APs a PrRtAdv reports on, in order, each with its AR-Info (module docstring)."""
    found: list[dict[str, object]] = []
    for option in message.options:
        current = found[-1] if found else None
        if isinstance(option, LinkLayerAddress):
            if option.option_code in AP_OUTCOMES:
                found.append({"access_point": option.address, "outcome": option.option_code})
            elif option.option_code == L.NEW_ACCESS_ROUTER and current is not None:
                current["router_link_layer_address"] = option.address
        elif isinstance(option, IPAddressPrefix) and current is not None:
            if option.option_code == IPAddressOptionCode.NAR_IP_ADDRESS:
                current["router_address"] = option.address
            elif option.option_code == IPAddressOptionCode.NAR_PREFIX:
                current["prefix"] = (option.address, option.prefix_length)
            elif option.option_code == IPAddressOptionCode.NEW_CARE_OF_ADDRESS:
                current["new_care_of_address"] = option.address
    dhcp = message.code == 5
    infos = []
    for fields in found:
        key = (dhcp, fields["access_point"], fields["outcome"],
               fields.get("router_link_layer_address"), fields.get("router_address"),
               fields.get("prefix"), fields.get("new_care_of_address"))
        info = _MEMO.get(key)
        if info is None:
            info = _build(fields, dhcp)
            if len(_MEMO) >= MEMO_LIMIT:
                _MEMO.clear()
            _MEMO[key] = info
        infos.append(info)
    return infos


def _build(fields: dict[str, object], dhcp: bool) -> AccessPointInfo:
    """One tuple from the fields :func:`parse_prrtadv` collected."""
    prefix = fields.pop("prefix", None)
    if prefix is not None:
        fields["prefix"] = IPv6Network(prefix, strict=False)
    elif isinstance(fields.get("router_address"), IPv6Address):
        # §6.1.2: the prefix option may be left out when the NAR address carries the prefix.
        fields["prefix"] = IPv6Network((fields["router_address"], 64), strict=False)
    return AccessPointInfo(dhcp=dhcp, **fields)  # type: ignore[arg-type]
