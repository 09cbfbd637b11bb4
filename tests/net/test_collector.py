"""The daemon's garbage collector setting (mipshop.net.collector)."""

from __future__ import annotations

import gc

from mipshop.net.collector import DAEMON_THRESHOLDS, tune_collector


def test_tune_collector_sets_the_daemon_thresholds_and_returns_the_previous() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        assert tune_collector() == (700, 10, 10)
        assert gc.get_threshold() == DAEMON_THRESHOLDS
        assert DAEMON_THRESHOLDS[0] > 700  # fewer young collections than CPython's default
    finally:
        gc.set_threshold(*before)
