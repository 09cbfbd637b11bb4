"""HMIPv6 MAP selection and RCoA formation: pure functions of the MAP options heard.

RFC 5380 §9.1 gives the default algorithm a mobile node uses when several MAPs are advertised:

1. receive and parse all MAP options;
2. arrange them in descending order of distance (furthest MAP, largest Dist, first);
3. select the first;
4. if its preference or its valid lifetime is zero, select the next;
5. repeat until one with a non-zero preference and a non-zero valid lifetime is found.

:func:`select_map` implements it. RFC 5380 leaves two things open; the choices here:

* **Equal Dist** [choice]: RFC 5380 §5 says the Pref field "SHOULD" be inspected "as a
  tie-breaker for MAPs that have equal Dist values", and §7.1 says to register with the MAP of
  highest preference. Among MAPs at the same distance the highest Pref wins; a remaining tie
  (same Dist and Pref) goes to the numerically lowest MAP address, so that the choice does not
  depend on the order in which Router Advertisements or options arrived.
* **Same MAP advertised twice** (one option per AR, or a relayed copy, RFC 4140 §7.1):
  :func:`merge_map_options` keeps the copy with the smallest Dist, as RFC 4140 §7.1 says.

RCoA formation (:func:`regional_care_of_address`): RFC 5380 §6 forms the RCoA statelessly from
the MAP option's prefix (the /64 of the MAP's global address) and the node's interface
identifier; RFC 4140 said the same. With the R flag RFC 5380 §5/§7.1 has the MAP allocate it
through IKEv2 (RFC 4877 §9), which mipshop does not implement (docs/decisions.md D8); see
:mod:`.client` for how the R flag is honoured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import IPv6Address, IPv6Network
from types import MappingProxyType

from ...wire.nd_options import MAPOption
from ..base.addressing import address_from_prefix

#: RFC 5380 §5: the RCoA is formed from the prefix of the MAP's address; a /64 as in SLAAC
#: (RFC 4862 with a 64-bit interface identifier) [choice: the option carries no length].
RCOA_PREFIX_LENGTH = 64


def usable(option: MAPOption) -> bool:
    """True if ``option`` may be chosen for a new registration (RFC 5380 §7.1, §9.1 step 4).

    Preference 0 means "not for new bindings" and a valid lifetime of 0 means MAP failure.
    """
    return option.preference > 0 and option.valid_lifetime > 0


def selection_order(options: Iterable[MAPOption]) -> list[MAPOption]:
    """The options in RFC 5380 §9.1 order: furthest first, then highest Pref, then address.

    Unusable options stay in the list (the algorithm skips them); see the module docstring for
    the tie-breaks.
    """
    return sorted(options, key=lambda o: (-o.distance, -o.preference, int(o.address)))


def select_map(options: Iterable[MAPOption]) -> MAPOption | None:
    """The MAP the RFC 5380 §9.1 default algorithm selects, or None when none is usable.

    None means the node MUST NOT use HMIPv6 (RFC 5380 §7.1) and runs plain Mobile IPv6.
    """
    for option in selection_order(options):
        if usable(option):
            return option
    return None


def merge_map_options(options: Iterable[MAPOption]) -> dict[IPv6Address, MAPOption]:
    """One option per MAP address: the copy with the smallest Dist (RFC 4140 §7.1).

    Among copies at the same distance the last one heard wins (it carries the newest
    preference and lifetime).
    """
    merged: dict[IPv6Address, MAPOption] = {}
    for option in options:
        known = merged.get(option.address)
        if known is None or option.distance <= known.distance:
            merged[option.address] = option
    return merged


#: The read-only option mappings :func:`shared_options` handed out, by the options they were
#: made from; started afresh once it holds _SHARED_OPTIONS_MAX of them.
_shared_options: dict[tuple[MAPOption, ...], Mapping[IPv6Address, MAPOption]] = {}
_SHARED_OPTIONS_MAX = 4096


def shared_options(options: tuple[MAPOption, ...]) -> Mapping[IPv6Address, MAPOption]:
    """``merge_map_options(options)`` as a read-only mapping, the same object for equal tuples.

    Every mobile node keeps the MAP options of its latest Router Advertisement and the MAPs it
    has heard (RFC 5380 §7.1); in a city thousands of nodes hold equal ones (one set per
    access router, a few dozen sets of MAPs heard), and a dictionary of one entry is 224
    bytes. Equal tuples therefore share one mapping (a table of at most _SHARED_OPTIONS_MAX,
    emptied when full: a mapping handed out stays valid, it is only no longer shared). The
    mapping cannot be written to, so no holder can change another's.
    """
    shared = _shared_options.get(options)
    if shared is None:
        if len(_shared_options) >= _SHARED_OPTIONS_MAX:
            _shared_options.clear()
        shared = _shared_options[options] = MappingProxyType(merge_map_options(options))
    return shared


def map_prefix(option: MAPOption) -> IPv6Network:
    """The prefix RCoAs of this MAP come from: the /64 of its global address (RFC 5380 §6)."""
    return IPv6Network((option.address, RCOA_PREFIX_LENGTH), strict=False)


def regional_care_of_address(option: MAPOption, interface_identifier: int) -> IPv6Address:
    """The stateless RCoA: the MAP option's prefix and the node's interface identifier (§6)."""
    return address_from_prefix(map_prefix(option), interface_identifier)


def reselect(
    options: Iterable[MAPOption], current: IPv6Address | None
) -> MAPOption | None:
    """The MAP to use after hearing ``options`` while registered with ``current`` (or None).

    RFC 5380 §9.1 runs on every Router Advertisement ("eager" to bind: a new MAP that the
    algorithm prefers is registered with at once). One exception, from §7.1: a MAP whose
    preference dropped to 0 "can refresh existing bindings" although it gets no new ones, so
    when no other MAP is usable the current one is kept while it is advertised with a
    non-zero valid lifetime. A valid lifetime of 0 is a MAP failure: never kept.
    """
    heard = list(options)
    chosen = select_map(heard)
    if chosen is not None or current is None:
        return chosen
    for option in heard:
        if option.address == current and option.valid_lifetime > 0:
            return option
    return None
