"""The Home Agents List of one home link (RFC 6275 §10.1, §10.5.1).

A home agent learns the other home agents of its link from their Router Advertisements with
the H bit (:meth:`HomeAgentsList.router_advertisement`) and lists them, with itself, in its
DHAAD replies (:meth:`HomeAgentsList.reply`). Entries are keyed by the sending home agent's
link-local address; each holds its preference, its lifetime and the global addresses learnt
from Prefix Information options with the R bit (§7.2).

The list is a table a peer can grow: it holds at most ``max_entries`` home agents and
``max_addresses`` global addresses per home agent; what does not fit is counted
(``counters``) and left out. Expired entries are removed lazily, on every update and every
reply, so each Router Advertisement and each reply costs O(list size), bounded by
``max_entries``.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv6Address

#: A DHAAD reply within the minimum IPv6 MTU (§10.5.1): 1280 - 40 (IPv6) - 8 (ICMPv6 header)
#: leaves room for 77 addresses.
MAX_REPLY_ADDRESSES = (1280 - 40 - 8) // 16


@dataclass
class HomeAgentEntry:
    """One other home agent of the link (§10.1)."""

    link_local: IPv6Address
    preference: int
    expires: float
    addresses: list[IPv6Address] = field(default_factory=list)


class HomeAgentsList:
    """The other home agents of one link, learnt from Router Advertisements (§10.5.1)."""

    def __init__(self, *, max_entries: int = 64, max_addresses: int = 8) -> None:
        self.max_entries = max_entries
        self.max_addresses = max_addresses
        self._entries: dict[IPv6Address, HomeAgentEntry] = {}
        self.counters: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self, now: float) -> list[HomeAgentEntry]:
        """The entries whose lifetime has not run out (expired ones are deleted, §10.5.1)."""
        self._expire(now)
        return list(self._entries.values())

    def _expire(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if e.expires <= now]:
            del self._entries[key]
            self.counters["home_agents.expired"] += 1

    def router_advertisement(self, link_local: IPv6Address, *, home_agent: bool,
                             preference: int, lifetime: float,
                             addresses: list[IPv6Address], now: float) -> str:
        """Apply one valid Router Advertisement from ``link_local`` (§10.5.1's steps).

        ``preference`` and ``lifetime`` are those of the Home Agent Information option, or 0
        and the Router Lifetime without one; ``addresses`` the full addresses of its Prefix
        Information options with the R bit. Returns what happened: ``"deleted"``,
        ``"updated"``, ``"created"``, ``"ignored"`` or ``"full"``.
        """
        self._expire(now)
        entry = self._entries.get(link_local)
        if not home_agent or lifetime == 0:
            # §10.5.1: no H bit, or a zero lifetime: delete the sender's entry.
            if entry is None:
                return "ignored"
            del self._entries[link_local]
            self.counters["home_agents.deleted"] += 1
            return "deleted"
        outcome = "updated"
        if entry is None:
            if len(self._entries) >= self.max_entries:
                self.counters["home_agents.full"] += 1
                return "full"
            entry = self._entries[link_local] = HomeAgentEntry(link_local, preference, 0.0)
            outcome = "created"
        entry.preference = preference
        entry.expires = now + lifetime
        for address in addresses:
            if address in entry.addresses:
                continue
            if len(entry.addresses) >= self.max_addresses:
                self.counters["home_agents.addresses_full"] += 1
                break
            entry.addresses.append(address)
        return outcome

    def reply(self, own: tuple[int, IPv6Address], rng: random.Random, now: float, *,
              static: tuple[tuple[IPv6Address, int], ...] = ()) -> tuple[IPv6Address, ...]:
        """The Home Agent Addresses of a DHAAD reply (§10.5.1).

        Every home agent of the list with a global address, this one (``own``: its
        configured preference and address) and the ``static`` (address, preference) pairs
        of the configuration, in decreasing preference; equal preferences in an order drawn
        from ``rng`` afresh for every reply, and the addresses of one home agent shuffled
        too; at most :data:`MAX_REPLY_ADDRESSES`, the highest preferences first.
        """
        agents: list[tuple[int, list[IPv6Address]]] = [(own[0], [own[1]])]
        agents += [(preference, [address]) for address, preference in static]
        for entry in self.entries(now):
            if entry.addresses:
                addresses = list(entry.addresses)
                rng.shuffle(addresses)
                agents.append((entry.preference, addresses))
        rng.shuffle(agents)
        agents.sort(key=lambda agent: -agent[0])  # stable: the shuffle orders equal ones
        listed: list[IPv6Address] = []
        for _preference, addresses in agents:
            for address in addresses:
                if address not in listed:
                    listed.append(address)
        return tuple(listed[:MAX_REPLY_ADDRESSES])
