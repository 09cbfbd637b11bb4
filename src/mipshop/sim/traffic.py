"""Traffic: UDP constant bit rate and window-limited bulk flows, and receivers that record them.

Every data packet is a real UDP datagram (:class:`~mipshop.wire.ipv6.UDPDatagram`) whose payload
starts with a 16-byte header: flow id (32 bits), sequence number (32 bits), send time (IEEE 754
double), network byte order; the rest is zero padding up to the payload size.

* :class:`CBRSource`: one datagram every ``interval``. The default is a G.711 voice stream:
  20 ms packetization, 160 payload bytes (8000 samples/s x 1 byte x 20 ms; RFC 3551 §4.5.14
  PCMU, whose default packetization interval is 20 ms). A call is two sources, one each way
  (:func:`voip_call`).
* :class:`BulkSource`: greedy within a window: keeps ``window`` datagrams unacknowledged, sends
  the next one when the :class:`FlowReceiver` acknowledges one (``ack=`` a sender) or after
  ``timeout`` (counted lost; no retransmission: a load generator, not TCP).
* :class:`FlowReceiver`: binds a UDP port on a node and records an
  :class:`~.metrics.Arrival` (sequence number, send time, arrival time, arrival link) per
  datagram; :meth:`FlowReceiver.report` gives loss, duplicates and reordering
  (:func:`~.metrics.flow_report`).

Sources send through a ``send(packet)`` callable: :meth:`.network.Node.send` on a plain host,
or :func:`entity_sender` for a node whose entity (a mobile node) must route the packet (tunnel
to the home agent, route optimisation).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from ipaddress import IPv6Address

from ..measure import Arrival, FlowReport, flow_report
from ..protocol.base.entity import Entity
from ..wire.ipv6 import IPv6Packet, UDPDatagram, new_packet, new_udp_datagram
from .kernel import Timer
from .network import Network, Node

#: Flow id, sequence number, send time.
HEADER = struct.Struct("!IId")
#: G.711 / PCMU at 20 ms packetization (RFC 3551 §4.5.14): 160 bytes every 20 ms.
VOIP_INTERVAL = 0.020
VOIP_PAYLOAD = 160

Sender = Callable[[IPv6Packet], None]


def encode_payload(flow: int, seq: int, sent: float, size: int) -> bytes:
    """The payload of one data datagram (header, zero padding to ``size``)."""
    header = HEADER.pack(flow, seq, sent)
    return header + bytes(max(0, size - len(header)))


def decode_payload(data: bytes) -> tuple[int, int, float]:
    """``(flow, seq, sent)`` from a data payload; raises ``struct.error`` if too short."""
    flow, seq, sent = HEADER.unpack_from(data)
    return flow, seq, sent


def entity_sender(node: Node, entity: Entity) -> Sender:
    """A sender that hands packets to ``entity.send_packet(packet, now)`` on ``node``."""
    command = entity.send_packet  # type: ignore[attr-defined]

    def send(packet: IPv6Packet) -> None:
        node.call(entity, command, packet)

    return send


class _Source:
    """What CBR and bulk sources share: addresses, ports, the sequence counter."""

    def __init__(self, network: Network, send: Sender, *, src: IPv6Address | str,
                 dst: IPv6Address | str, src_port: int, dst_port: int, flow: int,
                 payload: int) -> None:
        if payload < HEADER.size:
            raise ValueError(f"payload must hold the {HEADER.size}-byte header")
        self.network = network
        self.kernel = network.kernel
        self.send_packet = send
        self.src = IPv6Address(src)
        self.dst = IPv6Address(dst)
        self.src_port = src_port
        self.dst_port = dst_port
        self.flow = flow
        self.payload = payload
        self.sent = 0
        #: The zero padding after the header (encode_payload's), made once.
        self._padding = bytes(payload - HEADER.size)

    def _emit(self) -> None:
        # encode_payload(flow, seq, now, payload), and the packet built as
        # IPv6Packet(src=..., dst=..., payload=UDPDatagram(...)) is, without __init__.
        data = HEADER.pack(self.flow, self.sent, self.kernel.now) + self._padding
        self.sent += 1
        self.send_packet(new_packet(self.src, self.dst, new_udp_datagram(
            self.src_port, self.dst_port, data)))


class CBRSource(_Source):
    """Constant bit rate: a datagram every ``interval`` from ``start`` until ``stop`` (or
    ``count`` datagrams)."""

    def __init__(self, network: Network, send: Sender, *, src: IPv6Address | str,
                 dst: IPv6Address | str, src_port: int = 5004, dst_port: int = 5004,
                 flow: int = 0, interval: float = VOIP_INTERVAL, payload: int = VOIP_PAYLOAD,
                 start: float = 0.0, stop: float | None = None,
                 count: int | None = None) -> None:
        super().__init__(network, send, src=src, dst=dst, src_port=src_port,
                         dst_port=dst_port, flow=flow, payload=payload)
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.start_time = start
        self.stop_time = stop
        self.count = count
        self._timer: Timer | None = self.kernel.schedule_at(
            max(start, self.kernel.now), self._tick)

    def stop(self) -> None:
        """Send nothing more."""
        if self._timer is not None:
            self.kernel.cancel(self._timer)
            self._timer = None

    def _tick(self) -> None:
        if self.count is not None and self.sent >= self.count:
            self._timer = None
            return
        self._emit()
        # Times are start + n * interval (no drift from repeated additions).
        following = self.start_time + self.sent * self.interval
        if (self.stop_time is not None and following > self.stop_time) or (
            self.count is not None and self.sent >= self.count
        ):
            self._timer = None
            return
        self._timer = self.kernel.schedule_at(following, self._tick)


class BulkSource(_Source):
    """Window-limited greedy flow (see the module docstring); acknowledgements come back to
    ``src_port`` on ``node`` (bound here)."""

    def __init__(self, network: Network, send: Sender, node: Node, *,
                 src: IPv6Address | str, dst: IPv6Address | str, src_port: int = 6000,
                 dst_port: int = 6001, flow: int = 1, window: int = 16, payload: int = 1200,
                 timeout: float = 1.0, start: float = 0.0, stop: float | None = None) -> None:
        super().__init__(network, send, src=src, dst=dst, src_port=src_port,
                         dst_port=dst_port, flow=flow, payload=payload)
        self.window = window
        self.timeout = timeout
        self.stop_time = stop
        self.acked = 0
        self.timed_out = 0
        self._outstanding: dict[int, Timer] = {}
        node.bind_udp(src_port, self._ack)
        self.kernel.schedule_at(max(start, self.kernel.now), self._fill)

    def _fill(self) -> None:
        while len(self._outstanding) < self.window and (
            self.stop_time is None or self.kernel.now < self.stop_time
        ):
            seq = self.sent
            self._emit()
            self._outstanding[seq] = self.kernel.schedule(self.timeout, self._expire, seq)

    def _expire(self, seq: int) -> None:
        if self._outstanding.pop(seq, None) is not None:
            self.timed_out += 1
            self._fill()

    def _ack(self, packet: IPv6Packet, now: float, link: str | None) -> None:
        assert isinstance(packet.payload, UDPDatagram)
        _flow, seq, _sent = decode_payload(packet.payload.data)
        timer = self._outstanding.pop(seq, None)
        if timer is not None:
            self.kernel.cancel(timer)
            self.acked += 1
            self._fill()


#: Called for each datagram of a flow: ``(seq, send time, arrival time, arrival link)``.
ArrivalHandler = Callable[[int, float, float, "str | None"], None]


class FlowReceiver:
    """Records the datagrams of one flow (or any flow with ``flow=None``) arriving at ``port``
    on ``node``; with ``ack`` it acknowledges each (for :class:`BulkSource`).

    ``on_arrival`` is called for each datagram as it arrives; with ``keep_arrivals`` False
    nothing is stored (a long run measures online, :mod:`.recorder`)."""

    def __init__(self, node: Node, port: int, *, flow: int | None = None,
                 ack: Sender | None = None, on_arrival: ArrivalHandler | None = None,
                 keep_arrivals: bool = True) -> None:
        self.node = node
        self.port = port
        self.flow = flow
        self.ack = ack
        self.on_arrival = on_arrival
        self.keep_arrivals = keep_arrivals
        self.arrivals: list[Arrival] = []
        self.malformed = 0
        node.bind_udp(port, self._on_packet)

    def _on_packet(self, packet: IPv6Packet, now: float, link: str | None) -> None:
        datagram = packet.payload
        assert isinstance(datagram, UDPDatagram)
        try:
            flow, seq, sent = decode_payload(datagram.data)
        except struct.error:
            self.malformed += 1
            return
        if self.flow is not None and flow != self.flow:
            return
        if self.keep_arrivals:
            self.arrivals.append(Arrival(seq, sent, now, link))
        if self.on_arrival is not None:
            self.on_arrival(seq, sent, now, link)
        if self.ack is not None:
            self.ack(IPv6Packet(
                src=packet.dst, dst=packet.src,
                payload=UDPDatagram(src_port=datagram.dst_port, dst_port=datagram.src_port,
                                    data=HEADER.pack(flow, seq, sent))))

    def report(self, sent: int | None = None) -> FlowReport:
        """Loss, duplicates, reordering and delay (:func:`~.metrics.flow_report`)."""
        return flow_report(self.arrivals, sent)


def voip_call(
    network: Network,
    a: tuple[Node, Sender, IPv6Address | str],
    b: tuple[Node, Sender, IPv6Address | str],
    *,
    port: int = 5004,
    start: float = 0.0,
    stop: float | None = None,
) -> tuple[CBRSource, FlowReceiver, CBRSource, FlowReceiver]:
    """A G.711 call between ``a`` and ``b`` (each ``(node, sender, address)``): flow 0 from a
    to b, flow 1 back. Returns (a->b source, its receiver at b, b->a source, receiver at a)."""
    node_a, send_a, addr_a = a
    node_b, send_b, addr_b = b
    at_b = FlowReceiver(node_b, port, flow=0)
    at_a = FlowReceiver(node_a, port + 1, flow=1)
    forward = CBRSource(network, send_a, src=addr_a, dst=addr_b, src_port=port + 1,
                        dst_port=port, flow=0, start=start, stop=stop)
    backward = CBRSource(network, send_b, src=addr_b, dst=addr_a, src_port=port,
                         dst_port=port + 1, flow=1, start=start, stop=stop)
    return forward, at_b, backward, at_a
