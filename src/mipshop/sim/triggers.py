"""Link-layer triggers an 802.11 station gives its mobile node (RFC 4260 §4, §7; RFC 5568 §3).

The values are the protocol layer's own (:mod:`mipshop.protocol.link_events`), re-exported here
so that the simulator and the real-packet daemons hand a mobile node the very same objects:

* :class:`ScanCompleted` (``access_points``, strongest first): RFC 4260 step 1 finished; the
  BSSIDs become the New AP LLA options of an RtSolPr (RFC 4260 §6).
* :class:`LinkGoingDown` (``target_ap``): the handoff to that AP is imminent, the moment for
  an FBU in predictive mode (RFC 4260 §7.1, "1abcdef23456g").
* :class:`LinkDown`: step 2 began; nothing is sent or received until :class:`LinkUp`.
* :class:`LinkUp` (``ap``): steps 4-6 done on that AP.

RFC 4260 numbers the 802.11 steps (0-6) but names no trigger primitives; these follow the IEEE
802.21 link events (Link_Going_Down, Link_Down, Link_Up) that RFC 5568 §3 calls "link-layer
triggers". The station calls ``entity.l2_trigger(event, now)`` on a hosted entity that has it.
In an integrated AP/AR deployment (RFC 4260 Fig. 2) the access router's link-layer address is
the AP's BSSID; :attr:`.wifi.AccessPoint.ar_link_address` records it for the scenarios.
"""

from __future__ import annotations

from ..protocol.base.link_events import LinkDown, LinkEvent, LinkGoingDown, LinkUp, ScanCompleted

#: Any of the four triggers.
L2Trigger = LinkEvent

__all__ = ["L2Trigger", "LinkDown", "LinkGoingDown", "LinkUp", "ScanCompleted"]
