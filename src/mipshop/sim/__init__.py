"""The simulator: a deterministic discrete-event network that drives the protocol entities.

Modules: :mod:`.kernel` (virtual time, cancellable timers, seeded per-component RNGs),
:mod:`.links` (point-to-point and shared media: delay, bandwidth, drop-tail queue, loss),
:mod:`.network` (nodes, longest-prefix forwarding, entity hosting, capture to pcap),
:mod:`.wifi` (802.11 access points, handoff phases, RFC 4260 deployments and scenarios),
:mod:`.triggers` (the link-layer triggers given to a mobile node), :mod:`.movement` (scripted
paths, random waypoint, handoff decisions), :mod:`.traffic` (CBR and bulk flows with
receivers); the figures come from :mod:`mipshop.measure`, shared with the testbed.
"""
