"""Internet checksum and the IPv6 upper-layer pseudo-header (RFC 8200 §8.1, RFC 6275 §6.1.1)."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

# Protocol numbers whose checksum covers the IPv6 pseudo-header.
PROTO_UDP = 17
PROTO_ICMPV6 = 58
PROTO_MH = 135

_PSEUDO_TAIL = struct.Struct("!I3xB")


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """Return the 16-bit one's-complement checksum of ``data`` (RFC 1071).

    ``initial`` is a partial sum to start from (for example over a pseudo-header). The sum is
    taken 16 bits at a time with ``int.from_bytes`` on the whole buffer and folded, which is
    much faster in CPython than a byte loop.
    """
    if len(data) % 2:
        data += b"\x00"
    total = initial + _sum16(data)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _sum16(data: bytes) -> int:
    """One's-complement sum of ``data`` (even length) in 16-bit words, not yet folded."""
    # Summing a big integer's 16-bit limbs: fold the whole buffer as one number modulo 0xFFFF,
    # which equals the end-around-carry sum of its 16-bit words (except that a sum of zero
    # words and a sum of 0xFFFF are both 0 mod 0xFFFF; the fold below keeps that case right).
    if not data:
        return 0
    value = int.from_bytes(data, "big") % 0xFFFF
    if value == 0 and any(data):
        return 0xFFFF
    return value


def pseudo_header_sum(src: IPv6Address, dst: IPv6Address, length: int, next_header: int) -> int:
    """Return the unfolded sum of the IPv6 pseudo-header (RFC 8200 §8.1).

    ``src`` is the home address when the packet carries a Home Address option and ``dst`` the
    final destination (the home address of a Type 2 Routing Header); the caller picks them as
    RFC 6275 §6.1.1 and §6.3/§6.4 ask, see :func:`mipshop.wire.ipv6.checksum_addresses`.
    """
    return _sum16(src.packed + dst.packed + _PSEUDO_TAIL.pack(length, next_header))


def upper_layer_checksum(
    src: IPv6Address, dst: IPv6Address, next_header: int, upper: bytes
) -> int:
    """Checksum of an upper-layer message (its checksum field zeroed) under the pseudo-header."""
    return internet_checksum(upper, pseudo_header_sum(src, dst, len(upper), next_header))
