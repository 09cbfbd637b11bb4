"""Wire codecs: byte-exact encoders and decoders for every MIPv6, HMIPv6 and FMIPv6 message.

Layout of the package (each module holds one family; nothing here reads a clock, keeps
protocol state or does I/O):

- :mod:`.errors`: :class:`MalformedPacket`, the only exception a decoder raises.
- :mod:`.checksum`: the Internet checksum and the IPv6 pseudo-header.
- :mod:`.mh_options` / :mod:`.mh`: Mobility Header options and messages (RFC 6275 §6.1-§6.2,
  RFC 5568 §6.2 and §6.4, RFC 4285, RFC 4283).
- :mod:`.nd_options` / :mod:`.icmpv6`: Neighbor Discovery options and ICMPv6 messages
  (RFC 4861, RFC 6275 §6.5-§7, RFC 5380 §5, RFC 5568 §6.1 and §6.4).
- :mod:`.ipv6`: the IPv6 header, extension headers (Home Address option, Type 2 Routing
  Header), IPv6-in-IPv6 (RFC 2473), UDP and whole-packet encode/decode with checksums.
- :mod:`.pcap`: pcap files with the raw-IPv6 link type.

Conventions shared by every message and option class:

- ``@dataclass(frozen=True, kw_only=True, slots=True)``, validated in ``__post_init__`` (a bad
  value raises ``ValueError`` at construction; decoders turn that into ``MalformedPacket``).
- Model units: seconds for lifetimes and intervals, ``ipaddress.IPv6Address`` for addresses,
  ``bytes`` for link-layer addresses, cookies, tokens and authenticators. Wire units (4-second
  lifetime units, milliseconds, 8-octet lengths) exist only inside the codecs.
- ``NAME`` (class variable): the message's name in snake_case, from the RFC's name for it.
  ``FLAGS`` (class variable): field name -> the flag's letter in the RFC, for the dissector.
- Padding options (Pad1, PadN) are never kept in a decoded message; encoders choose padding and
  alignment themselves, so ``encode(decode(b)) == b`` for the bytes our encoders write.
"""
