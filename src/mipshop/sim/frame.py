"""What a simulated link carries: a :class:`Frame`, one IPv6 packet and the bytes it stands for.

Every frame is a real packet: it can always be encoded (:attr:`Frame.data`, the
:func:`~mipshop.wire.ipv6.encode_packet` bytes with the hop limit the frame has reached), and
that is what captures record, what drop logs keep and what an entity decodes when the network
carries bytes. The simulator pays for the bytes only where they are used:

* **decoded objects** (the default): a frame carries the sender's
  :class:`~mipshop.wire.ipv6.IPv6Packet`; routers read its destination and decrement a hop
  count kept beside it (RFC 8200 §3), serialization times use
  :func:`~mipshop.wire.ipv6.packet_length`, and a receiving entity gets the object itself
  (with the hop limit it arrived with). The packet is encoded at most once, the first time
  its bytes are asked for (a capture, a drop log), and forwarded copies share that encoding.
* **bytes on every link** (``Network(wire_bytes=True)``): the sender encodes, and every
  entity or application that receives the frame decodes the bytes again (checksums
  verified), exactly as a real stack would. Runs give identical results both ways (the
  simulator's tests compare whole comparison results), which keeps the codecs honest.

A frame made from raw bytes (:meth:`Frame.from_bytes`, e.g. a deliberately corrupted packet)
has no object: it is always delivered as bytes, and its receiver decides whether it decodes.
"""

from __future__ import annotations

from ..wire.ipv6 import IPv6Packet, decode_packet, encode_packet, packet_length, with_hop_limit
from ..wire.nd_options import packed_address


class Frame:
    """One packet in flight (see the module docstring). Frames are never modified: a router
    forwards a new frame (:meth:`forwarded`) that shares the packet and its encoding."""

    __slots__ = ("_encoded", "_size", "dst", "hop_limit", "packet")

    def __init__(self, packet: IPv6Packet | None, hop_limit: int, dst: bytes, size: int = -1,
                 encoded: bytes | None = None) -> None:
        #: The packet as its sender built it (None for a frame made from raw bytes).
        self.packet = packet
        #: The hop limit this copy carries (the sender's, less one per router crossed).
        self.hop_limit = hop_limit
        #: The destination address, packed (what forwarding and address resolution read).
        self.dst = dst
        self._size = size
        self._encoded = encoded

    @classmethod
    def of(cls, packet: IPv6Packet, *, encode: bool = False) -> Frame:
        """A frame for ``packet``; with ``encode`` its bytes are made now (bytes mode)."""
        # packed_address: ``packet.dst.packed`` without the property's helper (once a packet).
        frame = cls(packet, packet.hop_limit, packed_address(packet.dst))
        if encode:
            data = frame._encoded = encode_packet(packet)
            frame._size = len(data)
        return frame

    @classmethod
    def from_bytes(cls, data: bytes) -> Frame:
        """A frame for bytes that may not even decode (no packet object)."""
        return cls(None, data[7] if len(data) > 7 else 0, data[24:40], len(data), data)

    def forwarded(self) -> Frame:
        """The copy a router sends on: hop limit one lower (the caller checks it was > 1)."""
        return Frame(self.packet, self.hop_limit - 1, self.dst, self._size, self._encoded)

    @property
    def size(self) -> int:
        """Bytes on the wire (:func:`~mipshop.wire.ipv6.packet_length`, or the bytes' length)."""
        size = self._size
        if size < 0:
            assert self.packet is not None
            size = self._size = packet_length(self.packet)
        return size

    @property
    def data(self) -> bytes:
        """The frame's bytes: the packet encoded once, with this copy's hop limit (byte 7)."""
        encoded = self._encoded
        if encoded is None:
            assert self.packet is not None
            encoded = self._encoded = encode_packet(self.packet)
            self._size = len(encoded)
        if len(encoded) > 7 and encoded[7] != self.hop_limit:
            return encoded[:7] + bytes((self.hop_limit,)) + encoded[8:]
        return encoded

    def decoded(self) -> IPv6Packet:
        """The packet as its receiver sees it: the object with this copy's hop limit, or the
        bytes decoded (raises :class:`~mipshop.wire.errors.MalformedPacket`)."""
        packet = self.packet
        if packet is None:
            return decode_packet(self.data)
        if packet.hop_limit == self.hop_limit:
            return packet
        return with_hop_limit(packet, self.hop_limit)


__all__ = ["Frame", "with_hop_limit"]
