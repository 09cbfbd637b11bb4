"""Where the mobile node's FBU goes: the PAR, or the MAP (RFC 5568; RFC 4140 Appendix A).

RFC 4140 Appendix A lets a network anchor fast handovers at the access routers (RFC 5568) or at
a MAP above them ("the F-BU ... from mobile node to MAP", Figure A.2). The mobile node learns
which from its configuration (:class:`~.config.AnchorPlacement`) or, with ``AUTO``, from
the network: a PrRtAdv carrying a MAP option ("the PAR to send a Proxy Router Advertisement to
the mobile node with the MAP option") means that MAP anchors the handover.

:func:`choose_anchor` is that decision, a pure function of the node's state: the FBU goes to
the MAP, with the RCoA as its Home Address (:mod:`.map_anchor` explains the choice), only when
the node holds a confirmed local binding with that MAP from its current LCoA (the MAP can only
redirect an RCoA it has bound, and the FBU's BADF is keyed for it); otherwise, [choice], to
the PAR with the PCoA (plain RFC 5568), so a node whose MAP registration is still under way
keeps fast handovers.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from ..hmipv6.client import MapClient
from .config import AnchorPlacement

if TYPE_CHECKING:
    from ..mipv6.mobile_node import MobileNode


@dataclass(frozen=True, kw_only=True, slots=True)
class Anchor:
    """Where one fast handover is anchored: the FBU's destination and Home Address."""

    address: IPv6Address
    home_address: IPv6Address
    map_anchored: bool


def choose_anchor(node: MobileNode, placement: AnchorPlacement, *,
                  router_address: IPv6Address | None,
                  advertised_map: IPv6Address | None) -> Anchor | None:
    """The anchor of a fast handover starting now (module docstring); None: no FBU possible.

    ``router_address`` is the current access router's global address (the PAR);
    ``advertised_map`` the MAP named by the latest PrRtAdv, if any.
    """
    lcoa = node.care_of_address
    if lcoa is None:
        return None
    if placement is not AnchorPlacement.ACCESS_ROUTER:
        for client in node.clients:
            if not isinstance(client, MapClient):
                continue
            current = client.current
            if current is None or not current.confirmed or current.lcoa != lcoa:
                continue
            if placement is AnchorPlacement.MAP or advertised_map == current.map_address:
                return Anchor(address=current.map_address, home_address=current.rcoa,
                              map_anchored=True)
    if router_address is None:
        return None
    return Anchor(address=router_address, home_address=lcoa, map_anchored=False)
