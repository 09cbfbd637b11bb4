"""The machinery every protocol shares: the entity contract, actions, timers and arithmetic.

What lives here is no single RFC's: the sans-IO :class:`~.entity.Entity` (packets, timer
ticks and commands in, :mod:`.actions` out), IPv6 addressing (RFC 4291, RFC 4862 §5.3),
16-bit sequence arithmetic (RFC 6275 §9.5.1), retransmission backoff and rate limits
(RFC 6275 §11.8, RFC 5568 §6), the protocol constants (RFC 6275 §12-§13, RFC 5380, RFC 5568
§9), link-layer events (RFC 5568 §3.3, RFC 4260), Router Advertisements (RFC 4861 §6.2) and the
router configuration they need.

Imports: only :mod:`mipshop.wire` and the standard library. Nothing in :mod:`.base` imports
:mod:`~mipshop.protocol.mipv6`, :mod:`~mipshop.protocol.hmipv6` or
:mod:`~mipshop.protocol.fmipv6`.
"""
