"""MN-HA mobility message authentication and timestamp replay protection (RFC 4285 §5, §6).

mipshop protects MN-HA (and MN-MAP) Binding Updates and Acknowledgements with the Mobility Message
Authentication option instead of IPsec (docs/architecture.md, "Security stance"). Nothing here reads
a clock: the replay checker is told ``now`` (the entity's time base) and a fixed
``wall_clock_offset`` that turns ``now`` into Unix time.
"""

from __future__ import annotations

import hmac
import random
from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv6Address

from mipshop.protocol.base.constants import (
    MN_HA_AUTHENTICATOR_LENGTH,
    MN_HA_REPLAY_WINDOW,
    MN_HA_SPI_RESERVED_MAX,
)
from mipshop.wire.nd_options import packed_address

#: RFC 4285 §5.1: the only authentication algorithm of the MN-HA SA.
HMAC_SHA1 = "HMAC_SHA1"
#: RFC 4285 §5.1: the MN-HA subtype of the Mobility Message Authentication option (type 9).
MN_HA_SUBTYPE = 1
#: Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01) (RFC 1305).
NTP_UNIX_OFFSET = 2_208_988_800
#: The low 32 bits of an NTP timestamp count 1/2**32 s.
NTP_FRACTION_SCALE = 1 << 32
_U64_MASK = (1 << 64) - 1
_SPI_MAX = (1 << 32) - 1

try:
    # CPython's OpenSSL HMAC object, made and finished in two C calls: about half the time
    # of ``hmac.digest`` (Python 3.11), with the same octets.
    from _hashlib import hmac_new as _c_hmac_new
except ImportError:  # pragma: no cover - other interpreters, or Python without OpenSSL
    _c_hmac_new = None  # type: ignore[assignment]


def hmac_sha1(key: bytes, message: bytes) -> bytes:
    """``HMAC_SHA1(key, message)`` (RFC 2104), the 20 octets, as ``hmac.digest(key,
    message, "sha1")`` computes them. Every MN-HA, router-pair, Binding Authorization Data and
    BADF authenticator is one or two of these per message."""
    if _c_hmac_new is not None:
        return _c_hmac_new(key, message, digestmod="sha1").digest()
    return hmac.digest(key, message, "sha1")  # pragma: no cover - see the import above


def mn_ha_authenticator(
    key: bytes, care_of_address: IPv6Address, home_address: IPv6Address, mobility_data: bytes
) -> bytes:
    """Return the 12-octet MN-HA Authentication Data (RFC 4285 §5.1).

    ``First(96, HMAC_SHA1(MN-HA shared key, care-of address | home address | MH Data))``:

    * ``care_of_address``: the mobile node's care-of address (16 octets);
    * ``home_address``: the mobile node's **home address**, as RFC 4285 §5.1 writes it (not
      the home agent's address). Both ends of a BU/BA exchange therefore use the same pair;
      for a MAP registration (RFC 5380) the pair is LCoA and RCoA;
    * ``mobility_data`` ("MH Data"): the Mobility Header from its first octet (Payload Proto)
      up to **and including** the Mobility SPI field of this option, i.e. it covers the option
      Type, Length, Subtype and SPI but not the Authentication Data, with the MH Checksum
      field set to zero.
    """
    if not key:
        raise ValueError("MN-HA key must not be empty")
    message = care_of_address.packed + home_address.packed + mobility_data
    return hmac_sha1(key, message)[:MN_HA_AUTHENTICATOR_LENGTH]


def verify_mn_ha_authenticator(
    key: bytes,
    care_of_address: IPv6Address,
    home_address: IPv6Address,
    mobility_data: bytes,
    authenticator: bytes,
) -> bool:
    """Check received Authentication Data in constant time (RFC 4285 §5.1.1)."""
    expected = mn_ha_authenticator(key, care_of_address, home_address, mobility_data)
    return hmac.compare_digest(expected, authenticator)


@dataclass(frozen=True, slots=True)
class SecurityAssociation:
    """A shared-key-based mobility security association (RFC 4285 §3.1, §5.1).

    It holds the mobility SPI (256..2**32-1; 0..255 are reserved), the shared key (RFC 4285
    §5.1 says 16 octets; any non-empty key is accepted), the authentication algorithm (only
    HMAC_SHA1 is defined) and the "close enough" timestamp window of the replay protection
    (default 7 s; §5.1 says it SHOULD exceed 3 s). ``repr`` hides the key.
    """

    spi: int
    key: bytes = field(repr=False)
    algorithm: str = HMAC_SHA1
    replay_window: float = MN_HA_REPLAY_WINDOW

    def __post_init__(self) -> None:
        if not MN_HA_SPI_RESERVED_MAX < self.spi <= _SPI_MAX:
            raise ValueError(f"SPI {self.spi} outside {MN_HA_SPI_RESERVED_MAX + 1}..{_SPI_MAX}")
        if not self.key:
            raise ValueError("key must not be empty")
        if self.algorithm != HMAC_SHA1:
            raise ValueError(f"unsupported algorithm {self.algorithm!r}; only {HMAC_SHA1}")
        if not self.replay_window > 0:
            raise ValueError("replay_window must be positive")

    def authenticator(
        self, care_of_address: IPv6Address, home_address: IPv6Address, mobility_data: bytes
    ) -> bytes:
        """Authentication Data for a message under this SA (see :func:`mn_ha_authenticator`)."""
        # packed_address: the 16 octets without the ipaddress property's generic helper (four
        # addresses a registration: the BU verified, the BA signed).
        return hmac_sha1(self.key, packed_address(care_of_address)
                         + packed_address(home_address)
                         + mobility_data)[:MN_HA_AUTHENTICATOR_LENGTH]

    def verify(
        self,
        care_of_address: IPv6Address,
        home_address: IPv6Address,
        mobility_data: bytes,
        authenticator: bytes,
    ) -> bool:
        """True if ``authenticator`` is right for the message under this SA (compared in
        constant time, RFC 4285 §5.1.1)."""
        return hmac.compare_digest(
            self.authenticator(care_of_address, home_address, mobility_data), authenticator)


def unix_to_ntp(unix_seconds: float) -> int:
    """Return the 64-bit NTP timestamp for a Unix time (RFC 4285 §6, RFC 1305 format).

    Upper 32 bits: whole seconds since 1900-01-01; lower 32 bits: the fraction of a second.
    Era 0 only: the value is taken modulo 2**64.
    """
    ntp_seconds = unix_seconds + NTP_UNIX_OFFSET
    if ntp_seconds < 0:
        raise ValueError(f"time {unix_seconds} is before the NTP epoch")
    whole = int(ntp_seconds)
    fraction = int((ntp_seconds - whole) * NTP_FRACTION_SCALE)
    return ((whole << 32) | min(fraction, NTP_FRACTION_SCALE - 1)) & _U64_MASK


def ntp_to_unix(timestamp: int) -> float:
    """Return the Unix time of a 64-bit NTP timestamp (inverse of :func:`unix_to_ntp`)."""
    if not 0 <= timestamp <= _U64_MASK:
        raise ValueError("timestamp must be an unsigned 64-bit integer")
    return (timestamp >> 32) - NTP_UNIX_OFFSET + (timestamp & 0xFFFFFFFF) / NTP_FRACTION_SCALE


class ReplayVerdict(Enum):
    """Outcome of the RFC 4285 §6 timestamp check."""

    #: Close enough to the receiver's clock and newer than every accepted one.
    ACCEPTED = "accepted"
    #: Not within the "close enough" window of the receiver's time of day.
    OUTSIDE_WINDOW = "outside_window"
    #: Not strictly greater than the last accepted timestamp of this mobile node.
    NOT_NEWER = "not_newer"


#: Enum members read on every registration, bound once: on Python 3.11 an attribute of an
#: Enum class goes through ``EnumType.__getattr__``'s hook (about 900 instructions).
_ACCEPTED = ReplayVerdict.ACCEPTED
_OUTSIDE_WINDOW = ReplayVerdict.OUTSIDE_WINDOW
_NOT_NEWER = ReplayVerdict.NOT_NEWER


class ReplayChecker:
    """Home-agent side timestamp replay protection (RFC 4285 §6).

    A timestamp is valid when it is within ``window`` seconds of the HA's time of day *and*
    strictly greater than every timestamp previously accepted for that mobile node. The HA's
    time of day is ``now + wall_clock_offset`` (Unix seconds): the entity's ``now`` plus a
    fixed offset handed in by whoever owns the clock (the simulator: any constant; a daemon:
    ``time.time() - time.monotonic()`` measured once, outside this package).

    ``mn`` keys are any hashable identity of the mobile node (home address, NAI). The check
    runs after the BU has authenticated (§6); an invalid timestamp gives status
    MIPV6-ID-MISMATCH and no binding.

    A timestamp older than the time of day less the widest window asked for so far can refuse
    nothing any more: a timestamp that passes the window check at that time or later is newer
    than it. Once the identities kept exceed twice those kept after the last sweep (and
    :attr:`SWEEP_MIN`), :meth:`accept` drops such timestamps. Without the sweep a MAP kept
    one for every node that ever registered with it (in an hour of the city, most nodes with
    most MAPs: about 125 bytes each), where it needs the few registered in the last seconds.
    Every verdict is the one the checker would give without the sweep, as long as no later
    call asks for a window wider than every earlier one (an agent passes its SAs' windows).
    """

    #: Identities kept below which :meth:`accept` never sweeps (a sweep is a pass over all).
    SWEEP_MIN = 64

    def __init__(self, window: float = MN_HA_REPLAY_WINDOW, wall_clock_offset: float = 0.0) -> None:
        if not window > 0:
            raise ValueError("window must be positive")
        self.window = window
        self.wall_clock_offset = wall_clock_offset
        self._last: dict[Hashable, int] = {}
        #: The widest window a verdict was given with: the sweep keeps what it could refuse.
        self._widest = window
        #: Identities kept above which the next accepted timestamp sweeps.
        self._sweep_at = self.SWEEP_MIN

    def wall_clock(self, now: float) -> float:
        """Unix time of day corresponding to ``now``."""
        return now + self.wall_clock_offset

    def last_accepted(self, mn: Hashable) -> int | None:
        """The newest timestamp accepted for ``mn``, or None (also once a sweep dropped it:
        it was too old to refuse anything, class docstring)."""
        return self._last.get(mn)

    def verify(
        self, mn: Hashable, timestamp: int, now: float, *, window: float | None = None
    ) -> ReplayVerdict:
        """Judge ``timestamp`` from ``mn`` at ``now`` without recording it.

        ``window`` overrides the default, e.g. with ``SecurityAssociation.replay_window``.
        """
        limit = self.window if window is None else window
        if limit > self._widest:
            self._widest = limit
        if abs(ntp_to_unix(timestamp) - self.wall_clock(now)) > limit:
            return _OUTSIDE_WINDOW
        last = self._last.get(mn)
        if last is not None and timestamp <= last:
            return _NOT_NEWER
        return _ACCEPTED

    def accept(
        self, mn: Hashable, timestamp: int, now: float, *, window: float | None = None
    ) -> ReplayVerdict:
        """Judge ``timestamp`` like :meth:`verify` and record it when it is ACCEPTED."""
        # verify's two checks (§6: close enough, strictly newer), with ntp_to_unix and
        # wall_clock inline: a home agent judges one timestamp per registration, and three
        # Python calls cost more than the checks.
        if not 0 <= timestamp <= _U64_MASK:
            ntp_to_unix(timestamp)  # raises, as verify does
        unix = ((timestamp >> 32) - NTP_UNIX_OFFSET
                + (timestamp & 0xFFFFFFFF) / NTP_FRACTION_SCALE)
        limit = self.window if window is None else window
        if limit > self._widest:
            self._widest = limit
        if abs(unix - (now + self.wall_clock_offset)) > limit:
            return _OUTSIDE_WINDOW
        kept = self._last
        last = kept.get(mn)
        if last is not None and timestamp <= last:
            return _NOT_NEWER
        kept[mn] = timestamp
        if len(kept) > self._sweep_at:
            self._sweep(now)
        return _ACCEPTED

    def _sweep(self, now: float) -> None:
        """Drop every timestamp that can refuse nothing at ``now`` or later (class docstring).

        Kept: ``ntp_to_unix(last) - wall >= -widest``. A timestamp ``ts`` that passes
        :meth:`verify` later has ``ntp_to_unix(ts) - wall' >= -limit >= -widest`` with
        ``wall' >= wall``; were ``ts <= last``, the same rounded subtraction (monotonic in each
        operand) would give ``ntp_to_unix(ts) - wall' <= ntp_to_unix(last) - wall < -widest``.
        So a dropped ``last`` is below every timestamp that passes: no verdict changes.
        """
        wall = self.wall_clock(now)
        floor = -self._widest
        # A new dictionary, not deletions: a dictionary keeps the room of deleted entries.
        kept = {mn: stamp for mn, stamp in self._last.items()
                if ntp_to_unix(stamp) - wall >= floor}
        self._last = kept
        self._sweep_at = max(self.SWEEP_MIN, 2 * len(kept))

    def reply_timestamp(self, bu_timestamp: int, verdict: ReplayVerdict, now: float) -> int:
        """Timestamp for the BA answering a BU (RFC 4285 §6).

        A valid timestamp is copied whole; otherwise the low-order 32 bits are copied and the
        high-order 32 bits come from the HA's own time of day.
        """
        if verdict is ReplayVerdict.ACCEPTED:
            return bu_timestamp
        own_seconds = unix_to_ntp(self.wall_clock(now)) >> 32
        return (own_seconds << 32) | (bu_timestamp & 0xFFFFFFFF)

    def restore(self, mn: Hashable, timestamp: int) -> None:
        """Put back the newest timestamp accepted from ``mn`` (read from stable storage)."""
        last = self._last.get(mn)
        if last is None or timestamp > last:
            self._last[mn] = timestamp

    def forget(self, mn: Hashable) -> None:
        """Drop the state kept for ``mn`` (e.g. when its security association is removed)."""
        self._last.pop(mn, None)

    def __len__(self) -> int:
        """Identities with a recorded timestamp (only authenticated ones: bounded by the SAs;
        those too old to refuse anything are dropped from time to time, class docstring)."""
        return len(self._last)


class TimestampSource:
    """Mobile-node side timestamps for the replay protection option (RFC 4285 §6).

    Timestamps are NTP-format readings of ``now + wall_clock_offset``; each is strictly
    greater than the previous one, so every BU carries a timestamp greater than that of any
    previous successful BU (§6 MUST). With ``rng`` and ``random_bits > 0``, that many low
    fraction bits are random (§6: bits not available from the time source SHOULD be random).
    """

    # Slots: a mobile node holds one per binding it signs (home agent, MAP), thousands of
    # nodes a city.
    __slots__ = ("_confirmed", "_floor", "_random_bits", "_rng", "wall_clock_offset")

    def __init__(
        self,
        wall_clock_offset: float = 0.0,
        *,
        rng: random.Random | None = None,
        random_bits: int = 0,
    ) -> None:
        if not 0 <= random_bits <= 32:
            raise ValueError("random_bits must be in 0..32")
        if random_bits and rng is None:
            raise ValueError("random_bits needs an rng")
        self.wall_clock_offset = wall_clock_offset
        self._rng = rng
        self._random_bits = random_bits
        self._floor: int | None = None
        self._confirmed: int | None = None

    def next(self, now: float) -> int:
        """Return the timestamp for a BU sent at ``now``."""
        stamp = unix_to_ntp(now + self.wall_clock_offset)
        if self._random_bits and self._rng is not None:
            mask = (1 << self._random_bits) - 1
            stamp = (stamp & ~mask) | self._rng.getrandbits(self._random_bits)
        if self._floor is not None and stamp <= self._floor:
            stamp = self._floor + 1
        self._floor = stamp & _U64_MASK
        return self._floor

    def confirm(self, timestamp: int) -> None:
        """Record that the BU with ``timestamp`` succeeded (its BA echoed it)."""
        if self._confirmed is None or timestamp > self._confirmed:
            self._confirmed = timestamp

    def adjust(self, ba_timestamp: int, now: float) -> None:
        """Resynchronise after an authenticated MIPV6-ID-MISMATCH BA (RFC 4285 §6).

        The BA's high-order 32 bits are the HA's time of day in seconds; the offset is reset
        so that ``now`` reads as that second. Later timestamps need only exceed the last
        *successful* one, so a clock that ran ahead can come back.
        """
        ha_unix = (ba_timestamp >> 32) - NTP_UNIX_OFFSET
        self.wall_clock_offset = ha_unix - now
        self._floor = self._confirmed
