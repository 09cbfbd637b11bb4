"""ICMPv6 errors a node answers malformed Mobility Headers with (RFC 6275 §9.2, RFC 4443).

RFC 6275 §9.2 gives every IPv6 node that receives a Mobility Header these rules, in order:

1. a wrong checksum: silently discard;
2. an unknown MH Type: Binding Error status 2 (the decoder returns the message, not an error);
3. a Payload Proto other than IPPROTO_NONE (59): discard and SHOULD send an ICMP Parameter
   Problem, Code 0, "directly to the Source Address of the packet" (no Binding Cache is used),
   its Pointer at the Payload Proto field;
4. a Header Len below the type's minimum: discard and SHOULD send the same Parameter
   Problem, its Pointer at the Header Len field.

:func:`mobility_header_parameter_problem` is that answer, one function for every entity that
receives Mobility Headers (mobile node, home agent, correspondent, MAP): given the raw packet and
the :class:`~mipshop.wire.errors.MalformedPacket` its decoder raised, it returns the Parameter
Problem to send, or None when rules 3-4 do not apply (another error, a wrong checksum, a
multicast destination, or an error inside a tunnelled packet: the inner packet's source never
sent anything to us). RFC 4443 §2.4 (f) rate-limits ICMPv6 errors: :class:`IcmpErrorLimiter`.
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from ...wire.errors import MalformedPacket
from ...wire.icmpv6 import ParameterProblem
from ...wire.ipv6 import IPv6Packet, outer_mobility_header
from .actions import Transmit
from .backoff import RateLimiter

if TYPE_CHECKING:
    from .entity import Entity

#: RFC 4443 §2.4 (c): an ICMPv6 error must not exceed the minimum IPv6 MTU.
MINIMUM_MTU = 1280
#: IPv6 header (40) + ICMPv6 error header (8) before the invoking packet.
_ERROR_OVERHEAD = 48
#: [choice] RFC 4443 §2.4 (f) leaves the rate to the implementation: 10 errors per second.
ICMP_ERROR_RATE = 10


class IcmpErrorLimiter:
    """RFC 4443 §2.4 (f): a node MUST limit the rate of ICMPv6 error messages it originates."""

    __slots__ = ("_limiter",)  # one per node (a city holds thousands)

    def __init__(self, rate: int = ICMP_ERROR_RATE, window: float = 1.0) -> None:
        self._limiter = RateLimiter(rate=rate, window=window)

    def allow(self, now: float) -> bool:
        """True (and the error counted) if one more error may leave at ``now``."""
        return self._limiter.try_acquire("icmp_error", now)

    def send(self, entity: Entity, problem: IPv6Packet, error: MalformedPacket,
             interface: str) -> None:
        """Send ``problem`` (answering ``error``) from ``entity`` on ``interface`` if the rate
        allows; either way counted in the entity's counters."""
        if not self.allow(entity.now):
            entity.counters["icmp.error_rate_limited"] += 1
            return
        entity.counters["icmp.parameter_problem_sent"] += 1
        entity.emit("icmp.parameter_problem", destination=problem.dst, pointer=error.offset,
                    reason=error.reason)
        entity.act(Transmit(packet=problem, interface=interface))


def mobility_header_parameter_problem(
    raw: bytes, error: MalformedPacket
) -> IPv6Packet | None:
    """The ICMPv6 Parameter Problem answering ``raw``, or None (module docstring).

    Source: the packet's destination (the address it reached); destination: its IPv6 Source
    Address (RFC 6275 §9.2); Code 0; Pointer: ``error.offset``, the Payload Proto or Header Len
    octet counted from the start of the packet (RFC 4443 §3.4); as much of the packet as fits
    in the minimum MTU (RFC 4443 §2.4 (c)).
    """
    located = outer_mobility_header(raw)
    if located is None:
        return None
    offset, checksum_ok = located
    if error.offset not in (offset, offset + 1) or not checksum_ok:
        return None  # not a §9.2 rule 3-4 error, or rule 1 (a wrong checksum) comes first
    src = IPv6Address(raw[8:24])
    dst = IPv6Address(raw[24:40])
    if dst.is_multicast or src.is_multicast or src.is_unspecified:
        return None  # RFC 4443 §2.4 (e)
    problem = ParameterProblem(code=0, pointer=error.offset,
                               invoking_packet=raw[:MINIMUM_MTU - _ERROR_OVERHEAD])
    return IPv6Packet(src=dst, dst=src, payload=problem)
