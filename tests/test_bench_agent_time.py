"""bench/agent_time.py attributes py-spy's samples to the timed loop's lines only, by layer
and by function (a wrong attribution would put the agent's time in the wrong place)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("agent_time", ROOT / "bench" / "agent_time.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("agent_time", module)
    spec.loader.exec_module(module)
    return module


# Collapsed stacks as py-spy's raw format writes them: frames joined by ";", then a count.
RAW = "\n".join([
    # In the timed loop (line 171), inside the wire layer: counted.
    "<module> (x.py:1);_run_agent (agent.py:171);_decode_packet (mipshop/wire/ipv6.py:300) 7",
    # In the timed loop, in the protocol layer, two levels down: counted at the leaf.
    "<module> (x.py:1);_run_agent (agent.py:171);Entity.receive "
    "(mipshop/protocol/base/entity.py:190);BindingAgent._accept "
    "(mipshop/protocol/mipv6/binding_agent.py:740) 5",
    # A generated constructor, and the loop's own line.
    "<module> (x.py:1);_run_agent (agent.py:172);make (<string>:2) 3",
    "<module> (x.py:1);_run_agent (agent.py:173) 2",
    # The gc.collect() before the clock starts (line 164), and building the agent (162):
    # not the loop's.
    "<module> (x.py:1);_run_agent (agent.py:164) 40",
    "<module> (x.py:1);_run_agent (agent.py:162);HomeAgent.__init__ "
    "(mipshop/protocol/mipv6/home_agent.py:100) 11",
    # Another function altogether (the workload being built).
    "<module> (x.py:1);home_agent_workload (agent.py:230);protect_mn_ha "
    "(mipshop/protocol/mipv6/signalling.py:90) 13",
    "",
])


def test_only_the_timed_lines_count_by_layer_and_function() -> None:
    layers, functions, total = _script().attribute(RAW, "_run_agent", range(167, 176))
    assert total == 17
    assert layers == {"wire": 7, "protocol/mipv6": 5, "generated constructors": 3,
                      "bench loop": 2}
    assert functions == {"_decode_packet (ipv6.py)": 7,
                         "BindingAgent._accept (binding_agent.py)": 5,
                         "make (<string>)": 3, "_run_agent (agent.py)": 2}


def test_the_timed_lines_are_those_between_the_clock_and_the_return() -> None:
    timed = _script()._timed_lines()
    source = (ROOT / "bench" / "agent.py").read_text().splitlines()
    for name, lines in timed.items():
        inside = [source[k - 1] for k in lines]
        assert "started = clock()" in source[lines.start - 2], name
        assert source[lines.stop - 1].strip().startswith("return"), name
        assert not any("gc.collect()" in text for text in inside), name
        assert any("encode_packet" in text for text in inside), name
