"""Link-layer triggers delivered to a mobile node (RFC 4260 §4-§6; RFC 5568 §4 "L2 triggers").

RFC 5568 leaves L2 triggers out of scope but says implementations SHOULD use them; RFC 4260
maps the 802.11 hand-over steps onto FMIPv6. The simulator's 802.11 model and the real-packet
daemons produce these values and pass them to :meth:`MobileNode.l2_trigger
<mipshop.protocol.mobile_node.MobileNode.l2_trigger>`:

===================  =========================================  ==============================
event                802.11 step (RFC 4260 §4)                  FMIPv6 use
===================  =========================================  ==============================
:class:`ScanCompleted`  1: scan, BSSIDs with signal strength     RtSolPr with New-AP LLA options
:class:`LinkGoingDown`  0: the current AP fades, a target AP is   FBU from the PAR's link
                        chosen (handover decision)                 (predictive mode)
:class:`LinkDown`       2: join the new AP (leave the old one)    the MN "disconnects"
:class:`LinkUp`         4/6: (re)association done, L2 update      UNA (+ FBU if reactive)
===================  =========================================  ==============================

Access point identifiers are link-layer addresses (BSSIDs, 6 octets on 802.11).
"""

from __future__ import annotations

from dataclasses import dataclass


def _check_ap(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or not 1 <= len(value) <= 16:
        raise ValueError(f"{what} must be a link-layer address of 1..16 octets, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ScanCompleted:
    """An 802.11 scan found ``access_points`` (RFC 4260 step 1), best signal first.

    An empty tuple asks the access router for its whole neighbourhood (wildcard RtSolPr,
    RFC 5568 §6.1.1).
    """

    access_points: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        for ap in self.access_points:
            _check_ap(ap, "access point")


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkGoingDown:
    """The link to the current AP is about to go; the station will move to ``target_ap``.

    RFC 4260 step 0 plus the handover decision (an 802.11 scan result naming the new AP's
    BSSID): the moment to send the FBU from the previous link (RFC 5568 §3.2, predictive).
    """

    target_ap: bytes

    def __post_init__(self) -> None:
        _check_ap(self.target_ap, "target_ap")


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkDown:
    """The station left its AP (RFC 4260 step 2, join of the new AP begins)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkUp:
    """The station is associated with ``ap`` (RFC 4260 steps 4-6): send the UNA now.

    ``ap`` may be None when the link layer does not name the access point.
    """

    ap: bytes | None = None

    def __post_init__(self) -> None:
        if self.ap is not None:
            _check_ap(self.ap, "ap")


LinkEvent = ScanCompleted | LinkGoingDown | LinkDown | LinkUp
