"""Fast Handovers for Mobile IPv6 (RFC 5568), and fast handovers anchored at a MAP (RFC 4140 App.
A).

An access router plays both FMIPv6 roles through :class:`~.router.FastHandoverRouter`: the
previous access router (:mod:`.par`: FBU, HI/HAck as initiator, FBack, the forwarding tunnel)
and the new access router (:mod:`.nar`: HI/HAck as responder, proxying, the handover
:mod:`.buffer`, UNA, NAACK). The mobile node side is :class:`~.client.FastHandoverClient`
(RtSolPr/PrRtAdv with the :mod:`.neighbourhood` table, FBU, UNA), a client of the
:class:`~mipshop.protocol.mipv6.mobile_node.MobileNode`. The FBU is protected by the BADF option
under the MN-PAR handover key (:mod:`.security`, RFC 5568 §6.4.5); :mod:`.config` holds the
parameters of RFC 5568 §9.

Imports: :mod:`mipshop.wire`, :mod:`~mipshop.protocol.base` and :mod:`~mipshop.protocol.mipv6`.
FMIPv6 builds on HMIPv6 in exactly two modules, where F-HMIPv6 composes them:
:mod:`.map_anchor` (a :class:`~mipshop.protocol.hmipv6.map.MobilityAnchorPoint` running the PAR
role, RFC 4140 Appendix A) and :mod:`.placement` (the mobile node sends its FBU to the MAP when
its :class:`~mipshop.protocol.hmipv6.client.MapClient` holds a local binding there).
"""
