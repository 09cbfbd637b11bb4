"""16-bit Binding Update sequence number arithmetic (RFC 6275 §9.5.1, §11.8).

Sequence numbers are a free-running counter compared modulo 2**16. RFC 6275 §9.5.1: a received
value is "less than or equal to" the last one if it lies in the range of the last value and the
preceding 32768 values, inclusive. So with ``d = (new - last) mod 2**16``, ``new`` is strictly
newer exactly when ``0 < d < 32768``; ``d == 32768`` (``new == last - 32768``) is *not* newer.
"""

from __future__ import annotations

import random

SEQ_BITS = 16
SEQ_MODULUS = 1 << SEQ_BITS
SEQ_MASK = SEQ_MODULUS - 1
#: Half the sequence space; a forward distance of this much or more counts as "not newer".
SEQ_HALF = SEQ_MODULUS >> 1


def _check(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= value <= SEQ_MASK:
        raise ValueError(f"{name} must be in 0..{SEQ_MASK}, got {value}")


def seq_distance(new: int, last: int) -> int:
    """Return the forward distance ``(new - last) mod 2**16`` in ``0..65535``."""
    _check("new", new)
    _check("last", last)
    return (new - last) & SEQ_MASK


def seq_newer(new: int, last: int) -> bool:
    """Return True if ``new`` is strictly newer than ``last`` modulo 2**16 (RFC 6275 §9.5.1).

    ``last`` and the 32768 values before it (inclusive) are "less than or equal": with
    ``last = 15`` the values 0..15 and 32783..65535 are not newer, 16..32782 are.
    """
    return 0 < seq_distance(new, last) < SEQ_HALF


def seq_add(seq: int, n: int) -> int:
    """Return ``seq + n`` modulo 2**16 (``n`` may be negative)."""
    _check("seq", seq)
    return (seq + n) & SEQ_MASK


def seq_next(seq: int) -> int:
    """Return the sequence number after ``seq``, wrapping 65535 -> 0.

    RFC 6275 §11.8: every retransmitted Binding Update uses a greater sequence number than the
    previous transmission; the increment need not be exactly 1, but 1 is the natural choice.
    """
    return seq_add(seq, 1)


def initial_sequence(rng: random.Random) -> int:
    """Draw a starting sequence number for a new Binding Update List entry from ``rng``.

    RFC 6275 leaves the first value open (any value is accepted by a node with no Binding Cache
    entry, §9.5.1); a random start, as UMIP does, avoids clashing with a value a peer may still
    remember from before a reboot.
    """
    return rng.randrange(SEQ_MODULUS)
