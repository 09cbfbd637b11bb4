"""The garbage collector's setting for a long-running daemon (``mipshop daemon``).

A home agent or a MAP keeps a few container objects alive per binding (the cache entry, its
timers and their heap entries, the replay state); CPython counts each surviving allocation
towards a young collection (700 by default) and every young collection that leaves survivors
towards an older one, so a daemon taking registrations walks its young objects every hundred
or so registrations and, as they pile up, every object it holds. What a registration leaves
behind is freed by reference counting when its binding goes; collecting less often costs the
memory of whatever cyclic garbage waits longer for a collection (at most the threshold's
worth of allocations).

:func:`tune_collector` is called by the daemon once it has started, and by ``bench/agent.py
--gc-tuned`` (the README's "Agent capacity" section reports both settings).
"""

from __future__ import annotations

import gc

#: (young, middle, old) thresholds of :func:`gc.set_threshold` for a daemon: a young
#: collection after 50,000 surviving allocations instead of 700 (a few thousand
#: registrations), the older generations at CPython's own ratios.
DAEMON_THRESHOLDS = (50_000, 20, 10)


def tune_collector() -> tuple[int, int, int]:
    """Collect once (start-up garbage), then set :data:`DAEMON_THRESHOLDS`; returns the
    thresholds that were in force before."""
    previous = gc.get_threshold()
    gc.collect()
    gc.set_threshold(*DAEMON_THRESHOLDS)
    return previous
