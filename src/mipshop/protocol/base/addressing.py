"""Address arithmetic the entities share: interface identifiers, SLAAC, well-known addresses.

Sources: RFC 4291 §2.5.1 and Appendix A (modified EUI-64 interface identifiers), RFC 4862
§5.5.3 (stateless address autoconfiguration: prefix + interface identifier), RFC 4291 §2.7.1
(solicited-node multicast), RFC 2526 §3 and RFC 6275 §10.5 (the Mobile IPv6 Home-Agents subnet
anycast address). Pure functions of their arguments.
"""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from ...wire.nd_options import address_value

#: RFC 4291 §2.7.1: all-nodes and all-routers link-local multicast.
ALL_NODES = IPv6Address("ff02::1")
ALL_ROUTERS = IPv6Address("ff02::2")

#: RFC 4861 §4.2, §6.1.2: Neighbor Discovery messages are sent (and must arrive) with hop limit
#: 255, so a receiver knows they were not forwarded.
ND_HOP_LIMIT = 255
UNSPECIFIED = IPv6Address("::")
LINK_LOCAL_PREFIX = IPv6Network("fe80::/64")
#: RFC 2526 §3: reserved subnet anycast ID 0x7E is the Mobile IPv6 Home-Agents anycast address.
HOME_AGENTS_ANYCAST_ID = 0x7E
_SOLICITED_NODE = int(IPv6Address("ff02::1:ff00:0"))
_IID_MASK = (1 << 64) - 1


def interface_identifier_from_mac(mac: bytes) -> int:
    """Return the 64-bit modified EUI-64 interface identifier of a 48-bit MAC (RFC 4291 App. A).

    ``ff:fe`` is inserted in the middle and the universal/local bit (0x02 of the first octet)
    is inverted.
    """
    if len(mac) != 6:
        raise ValueError(f"a MAC address is 6 octets, got {len(mac)}")
    eui = bytes((mac[0] ^ 0x02,)) + mac[1:3] + b"\xff\xfe" + mac[3:]
    return int.from_bytes(eui, "big")


def address_from_prefix(prefix: IPv6Network, interface_identifier: int) -> IPv6Address:
    """Return ``prefix`` + ``interface_identifier`` (RFC 4862 §5.5.3, a /64 prefix).

    Only the low ``128 - prefixlen`` bits of the identifier are used.
    """
    host_bits = 128 - prefix.prefixlen
    mask = (1 << host_bits) - 1
    return IPv6Address(int(prefix.network_address) | (interface_identifier & mask))


def link_local_address(interface_identifier: int) -> IPv6Address:
    """Return the link-local address ``fe80::/64`` + identifier (RFC 4862 §5.3)."""
    return address_from_prefix(LINK_LOCAL_PREFIX, interface_identifier & _IID_MASK)


def interface_identifier(address: IPv6Address) -> int:
    """Return the low 64 bits of ``address``."""
    return int(address) & _IID_MASK


def solicited_node_address(address: IPv6Address) -> IPv6Address:
    """Return the solicited-node multicast address of ``address`` (RFC 4291 §2.7.1)."""
    return IPv6Address(_SOLICITED_NODE | (int(address) & 0xFFFFFF))


def home_agents_anycast(prefix: IPv6Network) -> IPv6Address:
    """Return the Mobile IPv6 Home-Agents subnet anycast address of ``prefix`` (RFC 2526 §3).

    For an EUI-64 format /64 prefix that is ``prefix::fdff:ffff:ffff:fffe``: the interface
    identifier is all ones except the universal/local bit (cleared) and the low 7 bits, which
    hold the anycast ID 0x7E.
    """
    if prefix.prefixlen != 64:
        raise ValueError("RFC 2526 anycast for EUI-64 interface identifiers needs a /64 prefix")
    iid = 0xFDFF_FFFF_FFFF_FF80 | HOME_AGENTS_ANYCAST_ID
    return address_from_prefix(prefix, iid)


def prefix_of(address: IPv6Address, prefix_length: int = 64) -> IPv6Network:
    """Return the ``prefix_length`` network that contains ``address``."""
    return IPv6Network((address, prefix_length), strict=False)


def is_link_local(address: IPv6Address) -> bool:
    """True for a unicast link-local address (fe80::/10): ``address.is_link_local`` on the
    integer (the property builds a network and tests membership, for every packet a home
    agent receives)."""
    return address_value(address) >> 118 == 0x3FA


def is_multicast(address: IPv6Address) -> bool:
    """True for a multicast address (ff00::/8)."""
    return address.is_multicast
