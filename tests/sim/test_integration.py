"""End to end with stub entities: 802.11 handoffs, a toy anchor tunnelling to the current
address, a CBR flow through it, metrics and pcap capture (the real MIPv6 entities come later)."""

from __future__ import annotations

import random
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest

from mipshop.measure import (
    flow_report,
    handover_report,
    handover_windows,
    handover_windows_from_events,
    summarize_handovers,
)
from mipshop.protocol.base.actions import Claim, ConfigureAddress, Deliver, Transmit
from mipshop.protocol.base.entity import Entity
from mipshop.sim.movement import ping_pong
from mipshop.sim.network import Network
from mipshop.sim.traffic import CBRSource, FlowReceiver
from mipshop.sim.triggers import L2Trigger, LinkUp
from mipshop.sim.wifi import Scenario, Station, integrated_access_point
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, decode_packet, encapsulate
from mipshop.wire.pcap import read_pcap

HOME = IPv6Address("2001:db8:99::1")
ANCHOR = IPv6Address("2001:db8:c::ff")
CN = IPv6Address("2001:db8:c::1")
REGISTER_PORT = 4343


class ToyMobile(Entity):
    """On LinkUp: forms an address on the new AR's prefix and registers it with the anchor;
    decapsulates what the anchor tunnels to it."""

    def __init__(self, prefixes: dict[bytes, IPv6Network]) -> None:
        super().__init__("toy-mn", random.Random(0))
        self.prefixes = prefixes
        self.address: IPv6Address | None = None

    def l2_trigger(self, event: L2Trigger, now: float) -> None:
        self.now = now
        if not isinstance(event, LinkUp):
            return
        assert event.ap is not None
        new = self.prefixes[event.ap][0x10]
        if self.address is not None and self.address != new:
            self.act(ConfigureAddress(interface="wlan0", address=self.address, active=False))
        self.address = new
        self.act(ConfigureAddress(interface="wlan0", address=new))
        self.act(Transmit(packet=IPv6Packet(src=new, dst=ANCHOR, payload=UDPDatagram(
            src_port=REGISTER_PORT, dst_port=REGISTER_PORT, data=new.packed)),
            interface="wlan0"))
        self.emit("toy.registered", address=str(new))

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        if isinstance(packet.payload, IPv6Packet) and packet.dst == self.address:
            self.act(Deliver(packet=packet.payload))


class ToyAnchor(Entity):
    """Claims the home address and tunnels packets for it to the registered address."""

    def __init__(self) -> None:
        super().__init__("toy-anchor", random.Random(0))
        self.current: IPv6Address | None = None

    def start(self, now: float) -> None:
        self.now = now
        self.act(Claim(address=HOME))

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        payload = packet.payload
        if isinstance(payload, UDPDatagram) and payload.dst_port == REGISTER_PORT:
            self.current = IPv6Address(payload.data)
        elif packet.dst == HOME and self.current is not None:
            self.act(Transmit(packet=encapsulate(packet, src=ANCHOR, dst=self.current)))


def build(seed: int = 11):
    net = Network(seed=seed)
    core = net.add_router("core")
    cn = net.add_node("cn")
    ci, cc = cn.add_interface("eth0"), core.add_interface("cn")
    ci.add_address(f"{CN}/64")
    cc.add_address(f"{ANCHOR}/64")
    cn.add_route("::/0", "eth0")
    net.point_to_point("cn-core", ci, cc, delay=0.002, bandwidth=100e6)
    aps, prefixes = [], {}
    for index in (1, 2):
        ar = net.add_router(f"ar{index}")
        up, down = ar.add_interface("core"), core.add_interface(f"ar{index}")
        up.add_address(f"2001:db8:f{index}::2/64")
        down.add_address(f"2001:db8:f{index}::1/64")
        net.point_to_point(f"core-ar{index}", down, up, delay=0.005, bandwidth=100e6)
        ar.add_route("::/0", "core", f"2001:db8:f{index}::1")
        prefix = IPv6Network(f"2001:db8:{index}::/64")
        core.add_route(prefix, f"ar{index}", f"2001:db8:f{index}::2")
        ap = integrated_access_point(net, ar, "wlan", f"bss{index}", delay=0.0005,
                                     bandwidth=11e6)
        ar.interfaces["wlan"].add_address(f"2001:db8:{index}::1/64")
        aps.append(ap)
        prefixes[ap.bssid] = prefix
    anchor = core.host(ToyAnchor())
    net.at(0.0, anchor, anchor.start)
    mn = net.add_node("mn")
    mn.add_interface("wlan0")
    mn.host(ToyMobile(prefixes))
    station = Station(net, mn, "wlan0", scenario=Scenario.PREDICTIVE)
    station.associate(aps[0], at=0.0)
    station.follow(ping_pong("bss1", "bss2", dwell=2.0, count=4, lead=0.1),
                   {ap.name: ap for ap in aps}, prescanned=True)
    receiver = FlowReceiver(mn, 5004)
    source = CBRSource(net, cn.send, src=CN, dst=HOME, start=0.5, stop=9.5)
    return net, station, aps, source, receiver


def test_cbr_through_handoffs_gives_per_handover_metrics(tmp_path: Path) -> None:
    net, station, aps, source, receiver = build()
    capture = net.capture()
    net.run(until=10.0)
    assert len(station.handoffs) == 4
    assert all(h.outage == pytest.approx(0.004) for h in station.handoffs)
    windows = handover_windows(station.handoffs, {ap.name: ap.link.name for ap in aps})
    assert [(w.old_link, w.new_link) for w in windows] == [
        ("bss1", "bss2"), ("bss2", "bss1"), ("bss1", "bss2"), ("bss2", "bss1")]
    assert handover_windows_from_events(
        net.events, "mn", {ap.bssid: ap.link.name for ap in aps}) == windows
    reports = [handover_report(receiver.arrivals, w, in_flight=0.0125) for w in windows]
    summary = summarize_handovers(reports)
    assert (summary.handovers, summary.incomplete) == (4, 0)
    assert summary.disruption.p95 == pytest.approx(0.040) and summary.lost.mean == 1
    for report in reports:
        # Switch at t: the packet sent at t - 20 ms arrived (7.7 ms path); the one sent at t
        # reaches bss-old at t + 7.7 ms, after the station left (outage 4 ms); the
        # registration reaches the anchor at t + 9.5 ms, so the one sent at t + 20 ms is
        # tunnelled to the new address: two CBR intervals of disruption, one packet lost.
        assert report.disruption == pytest.approx(0.040)
        assert (report.lost, report.duplicates) == (1, 0)
    overall = flow_report(receiver.arrivals, source.sent)
    assert (overall.sent, overall.lost) == (451, 4)
    assert len(net.events_of("toy.registered")) == 5
    # The run's capture decodes with the wire layer, link by link.
    paths = capture.write_per_link(tmp_path)
    assert set(paths) == {"cn-core", "core-ar1", "core-ar2", "bss1", "bss2"}
    tunnelled = [decode_packet(r.data) for r in read_pcap(paths["bss2"])]
    assert any(isinstance(p.payload, IPv6Packet) and p.payload.dst == HOME for p in tunnelled)


def test_runs_repeat_exactly_for_a_seed() -> None:
    def run() -> list[tuple[int, float, str | None]]:
        net, _station, _aps, _source, receiver = build(seed=3)
        net.run(until=10.0)
        return [(a.seq, a.arrived, a.link) for a in receiver.arrivals]

    assert run() == run()
