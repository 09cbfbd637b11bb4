"""Sans-IO Mobile IPv6 / HMIPv6 / FMIPv6 protocol core.

Nothing in this package reads a clock, draws from module-level randomness or touches a socket:
time arrives as ``now: float`` (seconds) and randomness as an injected ``random.Random``
(design.md, "The entity contract").
"""
