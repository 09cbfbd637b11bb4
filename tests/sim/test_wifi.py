"""802.11 access: phase timing, RFC 4260 trigger order, radio-off drops and AP buffering."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.entity import Entity
from mipshop.sim.network import Network, Node
from mipshop.sim.triggers import L2Trigger, LinkDown, LinkGoingDown, LinkUp, ScanCompleted
from mipshop.sim.wifi import (
    EAP_8021X_SLOW,
    AccessPoint,
    HandoffTiming,
    Scenario,
    Station,
    integrated_access_point,
    relay_access_points,
)

from .builders import Sink, udp

SCAN = 11 * 2 / 33  # mac80211: 11 channels x (PROBE_DELAY + CHANNEL_TIME)
SWITCH = 0.004  # join 0 + Open System authentication 2 ms + reassociation 2 ms
CN = IPv6Address("2001:db8:c::1")
MN = IPv6Address("2001:db8:1::10")


class Listener(Entity):
    """Records the link-layer triggers it is given."""

    def __init__(self) -> None:
        super().__init__("mn", random.Random(0))
        self.triggers: list[tuple[float, L2Trigger]] = []

    def l2_trigger(self, event: L2Trigger, now: float) -> None:
        self.now = now
        self.triggers.append((now, event))

    def kinds(self) -> list[str]:
        return [type(e).__name__ for _t, e in self.triggers]


class Legacy(Entity):
    """A MIPv6-style mobile node with attach/detach commands only."""

    def __init__(self) -> None:
        super().__init__("legacy", random.Random(0))
        self.calls: list[tuple[str, float]] = []

    def attach(self, now: float) -> None:
        self.calls.append(("attach", now))

    def detach(self, now: float) -> None:
        self.calls.append(("detach", now))


def fig2(**station: object) -> tuple[Network, Station, list[AccessPoint], Node, Listener]:
    """RFC 4260 Fig. 2: a CN behind a core router, two ARs each integrated with an AP."""
    net = Network(seed=5)
    core = net.add_router("core")
    cn = net.add_node("cn")
    ci, cc = cn.add_interface("eth0"), core.add_interface("cn")
    ci.add_address(f"{CN}/64")
    cc.add_address("2001:db8:c::ff/64")
    cn.add_route("::/0", "eth0")
    net.point_to_point("cn-core", ci, cc, delay=0.001)
    aps = []
    for index in (1, 2):
        ar = net.add_router(f"ar{index}")
        up, down = ar.add_interface("core"), core.add_interface(f"ar{index}")
        up.add_address(f"2001:db8:f{index}::2/64")
        down.add_address(f"2001:db8:f{index}::1/64")
        net.point_to_point(f"core-ar{index}", down, up, delay=0.001)
        ar.add_route("::/0", "core", f"2001:db8:f{index}::1")
        core.add_route(f"2001:db8:{index}::/64", f"ar{index}", f"2001:db8:f{index}::2")
        ap = integrated_access_point(net, ar, "wlan", f"ap{index}", position=(index * 100, 0),
                                     buffer_limit=int(station.pop(f"buffer{index}", 0)))
        ar.interfaces["wlan"].add_address(f"2001:db8:{index}::1/64")
        aps.append(ap)
    mn = net.add_node("mn")
    mn.add_interface("wlan0").add_address(f"{MN}/64")
    listener = mn.host(Listener())
    sta = Station(net, mn, "wlan0", **station)  # type: ignore[arg-type]
    sta.associate(aps[0])
    net.run(until=0.0)
    return net, sta, aps, cn, listener  # type: ignore[return-value]


def test_initial_association_signals_link_up() -> None:
    _net, sta, aps, _cn, listener = fig2()
    assert listener.triggers == [(0.0, LinkUp(ap=aps[0].bssid))]
    assert aps[0].ar_link_address == aps[0].bssid  # Fig. 2: the AR's MAC is the BSSID
    assert sta.ap is aps[0] and sta.interface.link is aps[0].link


def test_predictive_trigger_order_and_phase_timing() -> None:
    net, sta, aps, _cn, listener = fig2()
    record = sta.handoff(aps[1], at=10.0, lead=0.5)
    net.run()
    triggers = listener.triggers[1:]
    assert [type(e) for _t, e in triggers] == [ScanCompleted, LinkGoingDown, LinkDown, LinkUp]
    times = [t for t, _e in triggers]
    assert times == pytest.approx([9.5, 9.5, 10.0, 10.0 + SWITCH])
    assert triggers[0][1] == ScanCompleted(access_points=(aps[1].bssid,))
    assert triggers[1][1] == LinkGoingDown(target_ap=aps[1].bssid)
    assert triggers[2][1] == LinkDown()
    assert triggers[3][1] == LinkUp(ap=aps[1].bssid)
    assert [(p.name, round(p.start, 6), round(p.end, 6)) for p in record.phases] == [
        ("scan", round(9.5 - SCAN, 6), 9.5),
        ("join", 10.0, 10.0),
        ("authentication", 10.0, 10.002),
        ("reassociation", 10.002, 10.004),
        ("l2_update", 10.004, 10.004),
    ]
    assert record.outage == pytest.approx(SWITCH)
    assert (record.old, record.new) == ("ap1", "ap2")
    assert sta.interface.link is aps[1].link and sta.interface.up


@pytest.mark.parametrize("scenario", [Scenario.REACTIVE, Scenario.FULLY_REACTIVE])
def test_reactive_handoffs_scan_inside_the_outage(scenario: Scenario) -> None:
    net, sta, aps, _cn, listener = fig2(scenario=scenario)
    record = sta.handoff(aps[1], at=10.0)
    net.run()
    assert listener.kinds()[1:] == ["LinkDown", "LinkUp"]
    assert [t for t, _e in listener.triggers[1:]] == pytest.approx([10.0, 10.0 + SCAN + SWITCH])
    assert [p.name for p in record.phases] == [
        "scan", "join", "authentication", "reassociation", "l2_update"]
    assert record.outage == pytest.approx(SCAN + SWITCH)


def test_eap_and_custom_timing() -> None:
    timing = HandoffTiming(channels=2, join=0.001, eap=EAP_8021X_SLOW)
    assert timing.scan == pytest.approx(4 / 33)
    net, sta, aps, _cn, _listener = fig2(timing=timing, scenario=Scenario.REACTIVE)
    record = sta.handoff(aps[1], at=1.0)
    net.run()
    assert record.phases[-2].name == "eap"
    assert record.outage == pytest.approx(4 / 33 + 0.001 + 0.004 + 0.330)


def test_predictive_falls_back_when_another_ap_is_joined() -> None:
    net, sta, aps, _cn, listener = fig2()
    sta.handoff(aps[1], at=5.0, lead=0.2, actual=aps[0], prescanned=True)
    net.run()
    assert listener.kinds()[1:] == ["LinkGoingDown", "LinkDown", "LinkUp"]
    assert listener.triggers[1][1] == LinkGoingDown(target_ap=aps[1].bssid)
    assert listener.triggers[-1][1] == LinkUp(ap=aps[0].bssid)


def test_a_scan_that_cannot_end_before_the_switch_is_refused() -> None:
    _net, sta, aps, _cn, _listener = fig2()
    with pytest.raises(ValueError):
        sta.handoff(aps[1], at=0.5)  # default scan takes 0.667 s
    with pytest.raises(ValueError):
        sta.handoff(aps[1], at=5.0, scan_at=4.5)


def test_relay_aps_keep_the_link_and_give_no_router_address() -> None:
    net = Network()
    ar = net.add_router("ar")
    lan = net.shared_link("vlan1", (ar.add_interface("lan"),))
    aps = relay_access_points(net, lan, ["ap1", "ap2"], [(0, 0), (50, 0)])
    mn = net.add_node("mn")
    mn.add_interface("wlan0")
    listener = mn.host(Listener())
    sta = Station(net, mn, "wlan0", scenario=Scenario.FULLY_REACTIVE)
    sta.associate(aps[0])
    sta.handoff(aps[1], at=1.0)
    net.run()
    assert listener.triggers[-1][1] == LinkUp(ap=aps[1].bssid)
    assert aps[1].ar_link_address is None  # Fig. 1: the router must be discovered
    assert sta.interface.link is lan and aps[0].bssid != aps[1].bssid


def test_legacy_entities_get_detach_and_attach() -> None:
    net = Network()
    ar = net.add_router("ar")
    ap = integrated_access_point(net, ar, "wlan", "ap1")
    ap2 = integrated_access_point(net, ar, "wlan2", "ap2")
    mn = net.add_node("mn")
    mn.add_interface("wlan0")
    legacy = mn.host(Legacy())
    sta = Station(net, mn, "wlan0", scenario=Scenario.REACTIVE,
                  timing=HandoffTiming(channels=1))
    sta.associate(ap)
    sta.handoff(ap2, at=1.0)
    net.run()
    assert [(c, round(t, 6)) for c, t in legacy.calls] == [
        ("attach", 0.0), ("detach", 1.0), ("attach", round(1.0 + 2 / 33 + SWITCH, 6))]
    assert [e.kind for e in net.events if e.kind.startswith("wifi.Link")] == [
        "wifi.LinkUp", "wifi.LinkDown", "wifi.LinkUp"]


def downlink(net: Network, cn: Node, count: int, interval: float) -> Sink:
    sink = Sink(net.nodes["mn"])
    for tag in range(count):
        net.kernel.schedule_at(tag * interval, cn.send, udp(CN, MN, 100, tag=tag))
    return sink


def test_frames_arriving_during_the_switch_are_dropped_and_counted() -> None:
    net, sta, aps, cn, _listener = fig2(scenario=Scenario.REACTIVE,
                                        timing=HandoffTiming(channels=1))
    sink = downlink(net, cn, 20, 0.01)
    sta.handoff(aps[0], at=0.05)  # same AP: the radio leaves and comes back
    net.run()
    outage = 2 / 33 + SWITCH  # 0.0646 s from 0.05
    # Each frame takes 3 ms (three 1 ms hops); those landing in [0.05, 0.1146) are lost.
    lost = [t for t in range(20) if 0.05 <= t * 0.01 + 0.003 < 0.05 + outage]
    assert sink.tags == [t for t in range(20) if t not in lost]
    assert net.drops["radio off"] == len(lost) == 7


def test_ap_buffers_during_a_background_scan_and_flushes_on_return() -> None:
    net, sta, aps, cn, listener = fig2(buffer1=50)
    sink = downlink(net, cn, 50, 0.02)
    sta.scan([aps[1]], at=0.1)
    net.run()
    assert sorted(sink.tags) == list(range(50))
    assert net.drops.total() == 0
    back = 0.1 + SCAN
    held = [a for a in sink.arrivals if a[0] == pytest.approx(back)]
    assert len(held) == sta.buffered == len(
        [t for t in range(50) if 0.1 <= t * 0.02 + 0.003 < back])
    assert listener.kinds()[-1] == "ScanCompleted"


def test_buffer_limit_and_buffer_left_behind() -> None:
    net, sta, aps, cn, _listener = fig2(buffer1=2, scenario=Scenario.REACTIVE)
    sink = downlink(net, cn, 10, 0.01)
    sta.handoff(aps[1], at=0.0)  # frames for MN keep going to ap1 (address not moved)
    net.run()
    assert sink.tags == []
    assert net.drops["AP buffer full"] == 8 and net.drops["left the AP"] == 2


def test_sending_while_the_radio_is_off_is_dropped() -> None:
    net, sta, aps, cn, _listener = fig2(scenario=Scenario.REACTIVE)
    mn = net.nodes["mn"]
    mn.add_route("::/0", "wlan0")
    sink = Sink(cn)
    net.kernel.schedule_at(0.5, mn.send, udp(MN, CN, 100, tag=1))
    net.kernel.schedule_at(2.0, mn.send, udp(MN, CN, 100, tag=2))
    sta.handoff(aps[0], at=0.4)
    net.run()
    assert sink.tags == [2] and net.drops["radio off"] == 1


def test_an_ap_buffer_serves_each_station_separately() -> None:
    net = Network()
    ar = net.add_router("ar")
    ap = integrated_access_point(net, ar, "wlan", "ap", buffer_limit=100)
    ar.interfaces["wlan"].add_address("2001:db8:1::1/64")
    stations, sinks = [], []
    for index in (1, 2):
        node = net.add_node(f"mn{index}")
        node.add_interface("wlan0").add_address(f"2001:db8:1::{index + 1:x}/64")
        sta = Station(net, node, "wlan0", timing=HandoffTiming(channels=1))
        sta.associate(ap)
        stations.append(sta)
        sinks.append(Sink(node))
    for tag in range(40):
        for index in (1, 2):
            net.kernel.schedule_at(tag * 0.01, ar.send, udp(
                IPv6Address("2001:db8:1::1"), IPv6Address(f"2001:db8:1::{index + 1:x}"), 100,
                tag=tag))
    stations[0].scan([ap], at=0.05)
    stations[1].scan([ap], at=0.1)
    net.run()
    for sta, sink in zip(stations, sinks, strict=True):
        assert sorted(sink.tags) == list(range(40)) and sta.buffered > 0
    assert net.drops.total() == 0
