"""RFC 6275 §9.5.1 sequence arithmetic."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.protocol.base.sequence import (
    SEQ_HALF,
    initial_sequence,
    seq_add,
    seq_distance,
    seq_newer,
    seq_next,
)

seqs = st.integers(min_value=0, max_value=0xFFFF)


def _reference_newer(new: int, last: int) -> bool:
    """RFC wording: not newer iff new is in {last - k mod 2**16 : 0 <= k <= 32768}."""
    not_newer = any((last - k) % 65536 == new for k in range(0, 32769))
    return not not_newer


def test_rfc_example_last_15():
    # RFC 6275 §9.5.1: with last = 15, 0..15 and 32783..65535 are "less than or equal".
    not_newer = {v for v in range(65536) if not seq_newer(v, 15)}
    assert not_newer == set(range(0, 16)) | set(range(32783, 65536))


def test_exhaustive_for_some_lasts():
    for last in (0, 1, 15, 32767, 32768, 32769, 65534, 65535):
        newer = [seq_newer(v, last) for v in range(65536)]
        assert sum(newer) == 32767
        assert not newer[last]
        assert not newer[(last - 32768) % 65536]  # the boundary value is NOT newer
        assert newer[(last + 32767) % 65536]
        assert newer[(last + 1) % 65536]


@given(seqs, seqs)
def test_matches_distance_rule(new, last):
    d = (new - last) % 65536
    assert seq_newer(new, last) == (0 < d < 32768)
    assert seq_distance(new, last) == d


@given(st.integers(min_value=0, max_value=0xFFFF), st.integers(min_value=0, max_value=40000))
def test_matches_rfc_wording(last, k):
    new = (last + k) % 65536
    if k <= 2000 or k >= 30000:  # keep the O(32768) reference check cheap
        assert seq_newer(new, last) == _reference_newer(new, last)


@given(seqs, seqs)
def test_antisymmetric(a, b):
    assert not (seq_newer(a, b) and seq_newer(b, a))
    if a != b and (a - b) % 65536 != SEQ_HALF:
        assert seq_newer(a, b) != seq_newer(b, a)


def test_wrap():
    assert seq_next(65535) == 0
    assert seq_newer(0, 65535)
    assert not seq_newer(65535, 0)
    assert seq_add(65530, 10) == 4
    assert seq_add(3, -5) == 65534


@given(seqs)
def test_next_is_newer(s):
    assert seq_newer(seq_next(s), s)


@given(seqs, st.integers(min_value=1, max_value=32767))
def test_add_within_half_is_newer(s, n):
    assert seq_newer(seq_add(s, n), s)


def test_range_checks():
    for bad in (-1, 65536):
        with pytest.raises(ValueError):
            seq_newer(bad, 0)
        with pytest.raises(ValueError):
            seq_newer(0, bad)
        with pytest.raises(ValueError):
            seq_next(bad)
    with pytest.raises(TypeError):
        seq_newer(True, 0)  # type: ignore[arg-type]


def test_initial_sequence_uses_rng():
    a = initial_sequence(random.Random(7))
    assert a == initial_sequence(random.Random(7))
    assert 0 <= a <= 0xFFFF
