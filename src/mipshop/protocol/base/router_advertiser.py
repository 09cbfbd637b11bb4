"""Router Advertisements of one link (RFC 4861 §6.2), as a router or a home agent sends them.

:class:`RouterAdvertiser` builds and schedules the RAs of one link; the home agent composes one
(with the H flag, RFC 6275 §7.1) and so does every access router
(:class:`~mipshop.protocol.access_router.AccessRouter`), so a mobile node can detect movement
and form a care-of address. Forwarding itself is the runtime's job (the simulator's router,
the kernel), not this entity's.

Events: ``router.advertisement`` (``solicited``: bool, ``delay``: for a solicited one, the
seconds since the solicitation it answers).
"""

from __future__ import annotations

from ipaddress import IPv6Address

from ...wire.icmpv6 import (
    NeighborAdvertisement,
    NeighborSolicitation,
    RouterAdvertisement,
    RouterSolicitation,
)
from ...wire.ipv6 import IPv6Packet
from ...wire.nd_options import (
    AdvertisementInterval,
    HomeAgentInformation,
    MAPOption,
    NDOption,
    PrefixInformation,
    SourceLinkLayerAddress,
    TargetLinkLayerAddress,
)
from .actions import Transmit
from .addressing import ALL_NODES, ND_HOP_LIMIT
from .config import RouterConfig
from .entity import Entity

#: [choice] Solicitations awaiting a delayed answer at once; beyond, the next unsolicited RA
#: answers them (RFC 4861 §6.2.6 lets a multicast RA answer several solicitations).
MAX_PENDING_ANSWERS = 64


class RouterAdvertiser:
    """The Router Advertisements of one link, owned by an entity (RFC 4861 §6.2.4, §6.2.6).

    Unsolicited RAs go to all-nodes every ``config.ra_interval`` seconds from :meth:`start`;
    a Router Solicitation is answered unicast to its source (or to all-nodes if the source is
    unspecified) after a random delay in ``[0, config.max_ra_delay]`` drawn from the owner's
    injected generator (RFC 4861 §6.2.6: MAX_RA_DELAY_TIME by default, 0 answers at once). As
    §6.2.6 suggests, when the delay would end after the next scheduled unsolicited RA, that RA
    is the answer; a solicitation from a source already awaiting an answer adds none (the
    delay runs from the first). At most :data:`MAX_PENDING_ANSWERS` answers wait at once
    (counter ``ra.answered_by_unsolicited`` beyond). With ``home_agent``
    the RA carries the H flag, the Prefix Information option with the R flag and the router's
    full address (RFC 6275 §7.2: an HA MUST include one) and the Home Agent Information option
    (§7.4). The Advertisement Interval option (§7.3) is always included.
    """

    def __init__(
        self,
        owner: Entity,
        config: RouterConfig,
        *,
        home_agent: HomeAgentInformation | None = None,
    ) -> None:
        self.owner = owner
        self.config = config
        self.home_agent = home_agent
        #: HMIPv6 MAP options in every RA (RFC 5380 §5, §7); see :meth:`set_map_options`.
        self.map_options: tuple[MAPOption, ...] = config.map_options
        #: Set the Prefix Information option's R flag with the router's full address (RFC 6275
        #: §7.2), as FMIPv6 routers do so that mobile nodes learn the PAR address (RFC 5568 §4).
        self.advertise_router_address = False
        #: When the next unsolicited RA is due (None before :meth:`start`).
        self.next_unsolicited: float | None = None
        #: Sources with an answer scheduled, and when they solicited.
        self._pending: dict[IPv6Address, float] = {}

    def set_map_options(self, options: tuple[MAPOption, ...]) -> None:
        """Advertise ``options`` from now on, starting with an unsolicited RA at once.

        RFC 5380 §10: an access router learning of a MAP failure advertises its option with
        Valid Lifetime 0 (manually or after probing); mobile nodes then re-select. [choice]
        The changed RA goes out immediately (RFC 4861 §6.2.4 allows it on a config change).
        """
        self.map_options = tuple(options)
        self.send(ALL_NODES, solicited=False)

    def start(self) -> None:
        """Send the first unsolicited RA now and schedule the next ones."""
        self._periodic(self.owner.now)

    def _periodic(self, now: float) -> None:
        self.send(ALL_NODES, solicited=False)
        self._pending.clear()  # this multicast RA answers every solicitation waiting
        self.next_unsolicited = now + self.config.ra_interval
        self.owner.schedule(self.config.ra_interval, self._periodic)

    def advertisement(self) -> RouterAdvertisement:
        """The Router Advertisement this link gets."""
        cfg = self.config
        options: list[NDOption] = [SourceLinkLayerAddress(address=cfg.link_layer_address)]
        is_ha = self.home_agent is not None
        with_address = is_ha or self.advertise_router_address
        options.append(
            PrefixInformation(
                prefix_length=cfg.prefix.prefixlen,
                on_link=True,
                autonomous=cfg.autonomous,
                router_address=with_address,
                valid_lifetime=cfg.valid_lifetime,
                preferred_lifetime=cfg.preferred_lifetime,
                # RFC 6275 §7.2: with R set the Prefix field holds the router's full address.
                prefix=cfg.address if with_address else cfg.prefix.network_address,
            )
        )
        options.append(AdvertisementInterval(interval=cfg.ra_interval))
        if self.home_agent is not None:
            options.append(self.home_agent)
        options.extend(self.map_options)  # RFC 5380 §7: configured MAP options
        return RouterAdvertisement(
            managed=cfg.managed,
            home_agent=is_ha,
            router_lifetime=cfg.router_lifetime,
            options=tuple(options),
        )

    def send(self, destination: IPv6Address, *, solicited: bool,
             delay: float | None = None) -> None:
        """Transmit one RA to ``destination`` on the link."""
        packet = IPv6Packet(
            src=self.config.link_local,
            dst=destination,
            hop_limit=ND_HOP_LIMIT,
            payload=self.advertisement(),
        )
        self.owner.act(Transmit(packet=packet, interface=self.config.interface))
        if solicited:
            self.owner.emit("router.advertisement", solicited=True, delay=delay)
        else:
            self.owner.emit("router.advertisement", solicited=False)

    def answer_neighbor_solicitation(self, packet: IPv6Packet) -> bool:
        """Answer a Neighbor Solicitation for one of the router's own addresses (RFC 4861
        §7.2.4), as the mobile nodes' Neighbor Unreachability Detection of their default
        router needs (RFC 6275 §11.5.1); True if it was one."""
        ns = packet.payload
        cfg = self.config
        if not isinstance(ns, NeighborSolicitation) or ns.target not in (
                cfg.link_local, cfg.address):
            return False
        if packet.hop_limit != ND_HOP_LIMIT:
            self.owner.counters["drop.invalid_nd"] += 1  # RFC 4861 §7.1.1
            return True
        unspecified = packet.src.is_unspecified  # DAD: answer all-nodes, S = 0 (§7.2.4)
        na = NeighborAdvertisement(
            router=True, solicited=not unspecified, override=True, target=ns.target,
            options=(TargetLinkLayerAddress(address=cfg.link_layer_address),))
        self.owner.act(Transmit(packet=IPv6Packet(
            src=ns.target, dst=ALL_NODES if unspecified else packet.src, hop_limit=ND_HOP_LIMIT,
            payload=na), interface=cfg.interface))
        return True

    def handle_solicitation(self, packet: IPv6Packet) -> None:
        """Answer a Router Solicitation (RFC 4861 §6.2.6)."""
        assert isinstance(packet.payload, RouterSolicitation)
        if packet.hop_limit != ND_HOP_LIMIT or packet.payload.code != 0:
            self.owner.counters["drop.invalid_nd"] += 1  # RFC 4861 §6.1.1
            return
        unspecified = packet.src == IPv6Address("::")
        destination = ALL_NODES if unspecified else packet.src
        if destination in self._pending:
            return  # already answered after the delay drawn for its first solicitation
        now, limit = self.owner.now, self.config.max_ra_delay
        delay = self.owner.rng.uniform(0.0, limit) if limit > 0 else 0.0
        if delay == 0.0:
            self.send(destination, solicited=True, delay=0.0)
            return
        if len(self._pending) >= MAX_PENDING_ANSWERS or (
                self.next_unsolicited is not None and now + delay >= self.next_unsolicited):
            # RFC 4861 §6.2.6: "send the advertisement at the already-scheduled time".
            self.owner.counters["ra.answered_by_unsolicited"] += 1
            return
        self._pending[destination] = now
        self.owner.schedule(delay, lambda at: self._answer(destination))

    def _answer(self, destination: IPv6Address) -> None:
        asked = self._pending.pop(destination, None)
        if asked is None:
            return  # the unsolicited RA in between answered it
        self.send(destination, solicited=True, delay=self.owner.now - asked)
