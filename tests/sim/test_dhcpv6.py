"""The simulator with DHCPv6-managed access links (``address.dhcpv6``, RFC 8415; RFC 5568 §5.2
PrRtAdv Code 5): the same entities as on the harness, the access routers' modelled DHCPv6
servers, every protocol's handovers measured and the analytic model (address configuration =
the two exchanges with the access router) in agreement."""

from __future__ import annotations

from pathlib import Path

import pytest

from mipshop.sim.compare import DRAIN, _build, compare
from mipshop.sim.scenario import load_scenario, scenario_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dhcpv6.toml"
#: The example without its random draws (the RA delay, the lead), so that its few handovers
#: are each what the model expects.
FIXED = {"address": {"dhcpv6": True}, "routers": {"max_ra_delay_ms": 0.0},
         "fmipv6": {"lead_ms": 40.0}}


@pytest.fixture(scope="module")
def results():
    return {r.protocol: r for r in compare(scenario_from_dict(FIXED), seed=1)}


def test_every_protocol_hands_over_with_dhcpv6_addresses(results) -> None:
    handovers = load_scenario(EXAMPLE).movement.handovers
    assert scenario_from_dict(FIXED).movement.handovers == handovers
    for result in results.values():
        assert result.handovers == handovers, result.protocol
        assert result.disruption_ms["mean"] == pytest.approx(
            result.analytic_disruption_ms, rel=0.05), result.protocol
    reference = {r.protocol: r for r in compare(scenario_from_dict(
        {key: value for key, value in FIXED.items() if key != "address"}), seed=1)}
    # No DAD wait: the lease takes two round trips over the air instead of RetransTimer.
    assert results["mipv6"].disruption_ms["mean"] < reference["mipv6"].disruption_ms["mean"] - 900
    # Predictive FMIPv6 loses nothing: the NAR serves the PCoA until the lease arrives.
    assert results["fmipv6"].packets_lost == 0 == results["fhmipv6"].packets_lost


@pytest.mark.parametrize("protocol", ["mipv6", "fmipv6"])
def test_the_care_of_addresses_are_leased(protocol: str) -> None:
    scenario = load_scenario(EXAMPLE)
    world = _build(scenario, protocol, 1, False, keep_history=True)
    world.network.run(until=scenario.duration + DRAIN)
    events = world.network.events
    leased = [r.event.fields["address"] for r in events if r.kind == "coa.dhcp"]
    configured = [r.event.fields["address"] for r in events if r.kind == "coa.configured"]
    handovers = scenario.movement.handovers
    assert len(leased) == handovers + 1  # the first attachment and each handover
    assert configured == leased
    assert {r.kind for r in events if r.kind.startswith("dhcp.")} >= {
        "dhcp.solicit", "dhcp.advertise", "dhcp.request", "dhcp.bound", "dhcp.leased"}
    if protocol == "fmipv6":
        codes = {r.event.fields["code"] for r in events if r.kind == "fmip.prrtadv"}
        assert codes == {5}
        assert {r.event.fields["code"] for r in events if r.kind == "fmip.hack"} == {3}
