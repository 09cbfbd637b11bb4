"""802.11 access: access points, stations and a handoff made of its real phases (RFC 4260 §4).

Deployments (RFC 4260 §3):

* **Fig. 2, integrated AP/AR** (:func:`integrated_access_point`): each AP is its own
  :class:`~.links.SharedLink` with one access router interface whose link-layer address is
  the BSSID ("the AR shares a MAC-layer identifier with its attached AP"). Every AP change is
  an AR change.
* **Fig. 1, relay APs** (:func:`relay_access_points`): several APs bridge onto one subnet link
  (a VLAN) shared with its ARs. An AP change inside a subnet keeps the IP link.

A :class:`Station` (the mobile node's 802.11 interface) associates with one AP at a time. A
handoff runs RFC 4260 §4's steps, each lasting :class:`HandoffTiming`'s duration:

1. scan (active probing of ``channels`` channels),
2. join, 3. Open System authentication, 4. (re)association, 5. 802.1X/EAP (optional),
6. Layer 2 Update (instantaneous here).

While the radio is away (scan, steps 2-5) the interface is ``up=False``: frames sent are dropped
("radio off"); frames arriving are dropped, or buffered at the current AP up to its ``buffer_limit``
frames (the power-save buffering RFC 4260 §4 describes for background scans) and delivered
when the station returns to that AP; a buffer left behind at the old AP is dropped
("left the AP") [choice: no inter-AP forwarding].

Trigger order (:mod:`.triggers`), by RFC 4260 §7 scenario (:class:`Scenario`):

* ``PREDICTIVE`` "1abcdef23456g": scan (radio away for the scan only, then back on the old AP),
  :class:`~.triggers.ScanCompleted`, :class:`~.triggers.LinkGoingDown` (target BSSID) ``lead``
  seconds before the switch, then at the switch :class:`~.triggers.LinkDown`, steps 2-6,
  :class:`~.triggers.LinkUp`. If the AP finally joined differs from the announced target (the
  target became unreachable, §7.1), LinkUp names the AP actually joined.
  (The AR's link-layer address of an integrated AP/AR is :attr:`AccessPoint.ar_link_address`:
  the protocol's LinkUp carries only the AP.)
* ``REACTIVE`` "ab123456cdefg" and ``FULLY_REACTIVE`` "123456abcdefg": the firmware runs steps
  1-6 in a row: :class:`~.triggers.LinkDown` at step 1, :class:`~.triggers.LinkUp` after 6.
  (Steps a-b before the handoff in REACTIVE are the protocol's business.)

Default durations (:class:`HandoffTiming`), with sources:

* scan: Linux mac80211 software scan, ``net/mac80211/scan.c``: an active channel costs
  ``IEEE80211_PROBE_DELAY + IEEE80211_CHANNEL_TIME``, each ``HZ / 33`` (1/33 s), so 2/33 s per
  channel; 11 channels (2.4 GHz, FCC) give 0.667 s. Mishra, Shin and Arbaugh, "An Empirical
  Analysis of the IEEE 802.11 MAC Layer Handoff Process" (ACM SIGCOMM CCR 33(2), 2003) found the
  probe phase to be over 90 % of the handoff latency and varying by vendor; RFC 4260 §4 says
  "several hundred milliseconds". ``channels=1`` or ``2`` models the targeted scan of RFC 4260 §6.
* authentication and (re)association: one management-frame round trip each (RFC 4260 §4 steps
  3-4); 2 ms each [choice, consistent with Mishra et al.'s >90 % share for the probe phase].
* join: 0 [choice: no separate delay; a station tunes to the chosen AP's channel and sends
  its authentication frame].
* 802.1X/EAP: off (0). :data:`EAP_8021X_SLOW` = 0.330 s and :data:`EAP_8021X_FAST` = 0.019 s are
  the range of 802.11i handover latencies across client devices reported in the abstract of
  Martinovic, Zdarsky, Bachorek and Schmitt, "Measurement and Analysis of Handover Latencies
  in IEEE 802.11i Secured Networks" (University of Kaiserslautern).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .frame import Frame
from .links import Link, SharedLink
from .network import Interface, Network, Node
from .triggers import L2Trigger, LinkDown, LinkGoingDown, LinkUp, ScanCompleted

#: mac80211 ``IEEE80211_PROBE_DELAY`` and ``IEEE80211_CHANNEL_TIME``: ``HZ / 33`` jiffies.
MAC80211_PROBE_DELAY = 1 / 33
MAC80211_CHANNEL_TIME = 1 / 33
#: 802.11i handover latency range measured by Martinovic et al. (see above), seconds.
EAP_8021X_FAST = 0.019
EAP_8021X_SLOW = 0.330


class Scenario(enum.Enum):
    """RFC 4260 §7 scenarios, named by their step strings."""

    PREDICTIVE = "1abcdef23456g"
    REACTIVE = "ab123456cdefg"
    FULLY_REACTIVE = "123456abcdefg"


@dataclass(frozen=True, slots=True)
class HandoffTiming:
    """Durations of the handoff phases in seconds (sources in the module docstring)."""

    channels: int = 11
    probe_delay: float = MAC80211_PROBE_DELAY
    channel_time: float = MAC80211_CHANNEL_TIME
    join: float = 0.0
    authentication: float = 0.002
    association: float = 0.002
    eap: float = 0.0

    @property
    def scan(self) -> float:
        """Step 1: ``channels * (probe_delay + channel_time)``."""
        return self.channels * (self.probe_delay + self.channel_time)

    @property
    def switch(self) -> float:
        """Steps 2-5: the time the radio is away when the scan was done beforehand."""
        return self.join + self.authentication + self.association + self.eap


@dataclass(slots=True)
class AccessPoint:
    """An 802.11 AP: its BSSID, the link it bridges onto, where it stands."""

    name: str
    bssid: bytes
    link: Link
    position: tuple[float, float] = (0.0, 0.0)
    #: Link-layer address of the AR when it is integrated with the AP (Fig. 2), else None.
    ar_link_address: bytes | None = None
    buffer_limit: int = 0
    buffered: deque[tuple[Interface, Frame]] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class Phase:
    """One handoff phase: its RFC 4260 §4 step name and when it ran."""

    name: str
    start: float
    end: float


@dataclass(slots=True)
class HandoffRecord:
    """One handoff of a station: APs, scenario, its phases and the radio outage."""

    scenario: Scenario
    old: str | None
    new: str
    announced: str | None
    phases: list[Phase] = field(default_factory=list)
    down: float | None = None
    up: float | None = None

    @property
    def outage(self) -> float | None:
        """Seconds without link (LinkDown to LinkUp), once finished."""
        if self.down is None or self.up is None:
            return None
        return self.up - self.down


def integrated_access_point(
    network: Network,
    router: Node,
    interface: str,
    name: str,
    *,
    position: tuple[float, float] = (0.0, 0.0),
    buffer_limit: int = 0,
    delay: float = 0.0,
    bandwidth: float | None = None,
    queue_limit: int | None = None,
    loss: float = 0.0,
) -> AccessPoint:
    """RFC 4260 Fig. 2: a new AR interface and its own BSS link; BSSID = the AR's MAC."""
    iface = router.add_interface(interface)
    link = network.shared_link(name, (iface,), delay=delay, bandwidth=bandwidth,
                               queue_limit=queue_limit, loss=loss)
    return AccessPoint(name, iface.link_address, link, position, iface.link_address, buffer_limit)


def relay_access_points(
    network: Network,
    link: SharedLink,
    names: Sequence[str],
    positions: Sequence[tuple[float, float]] | None = None,
    *,
    buffer_limit: int = 0,
) -> list[AccessPoint]:
    """RFC 4260 Fig. 1: APs bridging onto one subnet link (BSSIDs are fresh MACs)."""
    spots = list(positions) if positions is not None else [(0.0, 0.0)] * len(names)
    return [
        AccessPoint(name, network.next_link_address(), link, spot, None, buffer_limit)
        for name, spot in zip(names, spots, strict=True)
    ]


#: :attr:`Station.handoffs` and :attr:`Station.triggers` of a station that keeps no history.
_NO_HISTORY: Any = ()


class Station:
    """The 802.11 side of a mobile node's interface: association and handoffs.

    Triggers go to every entity hosted on the node that has ``l2_trigger(event, now)`` (the
    MIPv6 :class:`~mipshop.protocol.mobile_node.MobileNode` does); with ``legacy_commands``
    (default) an entity without it but with ``detach(now)`` / ``attach(now)`` gets those at
    LinkDown / LinkUp. Every step is also logged as a ``wifi.*`` event on the network (node =
    the station's node). ``buffered`` counts the frames an AP held for this station.
    ``handoffs`` and ``triggers`` keep the station's history unless ``keep_history`` is False
    (a long run measures from the ``wifi.*`` events instead, and keeps nothing).
    """

    #: One per mobile node, thousands in a city: slots, not an instance dictionary.
    __slots__ = (
        "ap", "buffered", "busy", "handoffs", "interface", "keep_history", "kernel",
        "legacy_commands", "network", "node", "scenario", "timing", "triggers")

    def __init__(
        self,
        network: Network,
        node: Node,
        interface: str,
        *,
        timing: HandoffTiming | None = None,
        scenario: Scenario = Scenario.PREDICTIVE,
        legacy_commands: bool = True,
        keep_history: bool = True,
    ) -> None:
        self.network = network
        self.kernel = network.kernel
        self.node = node
        self.interface = node.interfaces[interface]
        self.timing = timing or HandoffTiming()
        self.scenario = scenario
        self.legacy_commands = legacy_commands
        self.keep_history = keep_history
        self.ap: AccessPoint | None = None
        # Without history, one empty tuple shared by every station (nothing is added), not
        # two empty lists each (56 bytes apiece, a city's thousands of stations).
        self.handoffs: list[HandoffRecord] = [] if keep_history else _NO_HISTORY
        self.triggers: list[tuple[float, L2Trigger]] = [] if keep_history else _NO_HISTORY
        self.busy = False
        self.buffered = 0
        self.interface.down_handler = self._radio_off

    # -- triggers -------------------------------------------------------------------------

    def _trigger(self, event: L2Trigger) -> None:
        if self.keep_history:
            self.triggers.append((self.kernel.now, event))
        self.network.log_event(self.node.name, "wifi." + type(event).__name__, trigger=event)
        for hosted in list(self.node.entities):
            entity = hosted.entity
            handler = getattr(entity, "l2_trigger", None)
            if handler is not None:
                self.node.call(entity, handler, event)
            elif self.legacy_commands:
                if isinstance(event, LinkDown) and hasattr(entity, "detach"):
                    self.node.call(entity, entity.detach)
                elif isinstance(event, LinkUp) and hasattr(entity, "attach"):
                    self.node.call(entity, entity.attach)

    # -- radio ------------------------------------------------------------------------------

    def _radio_off(self, interface: Interface, frame: Frame) -> None:
        ap = self.ap
        if ap is not None and ap.buffer_limit and interface.link is ap.link:
            if len(ap.buffered) < ap.buffer_limit:
                ap.buffered.append((interface, frame))
                self.buffered += 1
                return
            self.network.drop("AP buffer full", ap.name, frame)
            return
        self.network.drop("radio off", self.node.name, frame)

    def _take_buffer(self, ap: AccessPoint) -> list[Frame]:
        """Remove and return the frames ``ap`` holds for this station (others' stay)."""
        mine = [frame for interface, frame in ap.buffered if interface is self.interface]
        if mine:
            ap.buffered = deque(item for item in ap.buffered if item[0] is not self.interface)
        return mine

    def _flush_buffer(self, ap: AccessPoint) -> None:
        for frame in self._take_buffer(ap):
            self.node.receive(self.interface, frame)

    def _drop_buffer(self, ap: AccessPoint) -> None:
        for frame in self._take_buffer(ap):
            self.network.drop("left the AP", ap.name, frame)

    def _phase(self, record: HandoffRecord | None, name: str, duration: float) -> None:
        now = self.kernel.now
        if record is not None and self.keep_history:
            record.phases.append(Phase(name, now, now + duration))
        self.network.log_event(self.node.name, "wifi." + name, duration=duration)

    # -- association ----------------------------------------------------------------------------

    def associate(self, ap: AccessPoint, at: float | None = None) -> None:
        """Attach to ``ap`` at ``at`` (default now) without a handoff, then signal LinkUp."""
        when = self.kernel.now if at is None else at
        self.kernel.schedule_at(when, self._associated, ap, None)

    def _associated(self, ap: AccessPoint, record: HandoffRecord | None) -> None:
        old = self.ap
        if old is not None and old is not ap:
            self._drop_buffer(old)
        self.ap = ap
        if self.interface.link is not ap.link:
            ap.link.attach(self.interface)
        self.interface.up = True
        self.busy = False
        # Step 6: the new AP's Layer 2 Update frame refreshes the bridges (instantaneous here).
        self._phase(record, "l2_update", 0.0)
        if record is not None:
            record.up = self.kernel.now
        self._trigger(LinkUp(ap=ap.bssid))
        self._flush_buffer(ap)

    def scan(self, found: Iterable[AccessPoint], at: float | None = None) -> None:
        """A background scan (step 1) at ``at``: radio away for ``timing.scan`` seconds, back on
        the current AP afterwards, then :class:`~.triggers.ScanCompleted` with ``found``."""
        aps = tuple(found)
        when = self.kernel.now if at is None else at
        self.kernel.schedule_at(when, self._scan_start, aps, None)

    def _scan_start(self, aps: tuple[AccessPoint, ...], record: HandoffRecord | None,
                    warning: tuple[float, LinkGoingDown] | None = None) -> None:
        self.interface.up = False
        self._phase(record, "scan", self.timing.scan)
        self.kernel.schedule(self.timing.scan, self._scan_end, aps, warning)

    def _scan_end(self, aps: tuple[AccessPoint, ...],
                  warning: tuple[float, LinkGoingDown] | None) -> None:
        if not self.busy:
            self.interface.up = True
        self._trigger(ScanCompleted(access_points=tuple(ap.bssid for ap in aps)))
        if self.ap is not None and not self.busy:
            self._flush_buffer(self.ap)
        if warning is not None:
            # Step 1 comes before a-f (RFC 4260 §7.1): the warning never precedes the scan.
            self.kernel.schedule_at(max(warning[0], self.kernel.now), self._trigger, warning[1])

    # -- handoff ----------------------------------------------------------------------------

    def handoff(
        self,
        target: AccessPoint,
        at: float,
        *,
        lead: float = 0.0,
        scan_at: float | None = None,
        prescanned: bool = False,
        actual: AccessPoint | None = None,
        scenario: Scenario | None = None,
    ) -> HandoffRecord:
        """Schedule a handoff to ``target`` whose link switch (step 2) starts at ``at``.

        PREDICTIVE: a scan runs at ``scan_at`` (default: so that it ends ``lead`` seconds
        before ``at``, or now if that is past) unless ``prescanned`` (the scan was done long
        before, RFC 4260 §7.1 "steps 1ab may be executed far in advance"); LinkGoingDown comes
        ``lead`` seconds before ``at`` and never before the scan's ScanCompleted.
        REACTIVE / FULLY_REACTIVE: steps 1-6 start at ``at``. ``actual`` is the AP really
        joined (default ``target``). Raises ValueError if the scan cannot end by ``at``.
        """
        scenario = scenario or self.scenario
        joined = actual or target
        now = self.kernel.now
        record = HandoffRecord(scenario, None, joined.name, target.name)
        if scenario is Scenario.PREDICTIVE:
            warning = max(at - lead, now)
            going_down = LinkGoingDown(target_ap=target.bssid)
            if prescanned:
                self.kernel.schedule_at(warning, self._trigger, going_down)
            else:
                start = max(warning - self.timing.scan if scan_at is None else scan_at, now)
                if start + self.timing.scan > at:
                    raise ValueError(
                        f"a {self.timing.scan:.3f} s scan from {start} does not end by {at}")
                self.kernel.schedule_at(start, self._scan_start, (target,), record,
                                        (warning, going_down))
        # The class's function and the station as its first argument: the switch waits in the
        # kernel's heap until the handoff (one per mobile node of a city), without a bound
        # method of its own.
        self.kernel.schedule_at(at, Station._switch, self, record, joined)
        if self.keep_history:
            self.handoffs.append(record)
        return record

    def _switch(self, record: HandoffRecord, ap: AccessPoint) -> None:
        timing = self.timing
        record.old = self.ap.name if self.ap is not None else None
        record.down = self.kernel.now
        self.busy = True
        self.interface.up = False
        self._trigger(LinkDown())
        steps: list[tuple[str, float]] = []
        if record.scenario is not Scenario.PREDICTIVE:
            steps.append(("scan", timing.scan))
        steps += [("join", timing.join), ("authentication", timing.authentication),
                  ("reassociation" if self.ap is not None else "association",
                   timing.association)]
        if timing.eap:
            steps.append(("eap", timing.eap))
        self._run_steps(record, ap, steps)

    def _run_steps(self, record: HandoffRecord, ap: AccessPoint,
                   steps: list[tuple[str, float]]) -> None:
        if not steps:
            self._associated(ap, record)
            return
        name, duration = steps[0]
        self._phase(record, name, duration)
        self.kernel.schedule(duration, self._run_steps, record, ap, steps[1:])

    def follow(self, decisions: Iterable[object], aps: dict[str, AccessPoint], *,
               prescanned: bool = False) -> None:
        """Schedule the handoffs of :mod:`.movement` decisions (``time``, ``target``,
        ``warning``): LinkGoingDown at the decision's warning time. With ``prescanned`` the
        predictive scan is taken as done long before (no scan outage, RFC 4260 §7.1 "steps 1ab
        may be executed far in advance")."""
        for decision in decisions:
            time = decision.time  # type: ignore[attr-defined]
            warning = decision.warning  # type: ignore[attr-defined]
            lead = 0.0 if warning is None else time - warning
            self.handoff(aps[decision.target], time, lead=lead,  # type: ignore[attr-defined]
                         prescanned=prescanned)
