"""Correspondent guards the mutation run found unchecked by the protocol tests
(docs/mutation.md): the Binding Error rate limit per source and the multicast rule
(RFC 6275 §9.3.3, RFC 4443 §2.4 (e)), and the Parameter Problem for a bad Mobility Header
(§9.2) with its rate limit (RFC 4443 §2.4 (f))."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.icmp_errors import ICMP_ERROR_RATE
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.icmpv6 import ParameterProblem
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import BindingError
from tests.protocol.mipv6.test_agent_guards import _raw_bad_mh
from tests.protocol.mipv6.test_floods import home, source
from tests.protocol.mipv6.test_guards import CN, _cn


def _unbacked(src: IPv6Address) -> IPv6Packet:
    return IPv6Packet(src=src, dst=CN, payload=UDPDatagram(src_port=1, dst_port=2, data=b"x"),
                      extension_headers=(DestinationOptions(
                          options=(HomeAddressOption(home_address=home(0)),)),))


def _sent(cn, packet, at):
    cn.receive(packet, "eth0", at)
    return [a.packet for a in cn.pull_actions() if isinstance(a, Transmit)]


def test_binding_errors_to_one_source_are_rate_limited():
    cn = _cn()
    interval = cn.config.binding_error_interval
    errors = []
    for at in (1.0, 1.0 + interval / 2, 1.0 + interval * 1.5):
        errors += [(at, p.dst) for p in _sent(cn, _unbacked(source(1)), at)
                   if isinstance(p.payload, BindingError)]
    assert errors == [(1.0, source(1)), (1.0 + interval * 1.5, source(1))]
    assert cn.counters["binding_error.rate_limited"] == 1


def test_no_binding_error_to_a_multicast_source():
    cn = _cn()
    assert _sent(cn, _unbacked(IPv6Address("ff0e::1")), 1.0) == []
    assert cn.counters["binding_error.rate_limited"] == 1


@pytest.mark.parametrize(("dst", "answered"), [(CN, True), (IPv6Address("2001:db8:100::99"),
                                                             False)])
def test_bad_mobility_header_gets_a_parameter_problem(dst, answered):
    cn = _cn()
    sent = _sent(cn, _raw_bad_mh(src=source(1), dst=dst), 1.0)
    if not answered:
        assert sent == []  # not addressed to this node
        return
    (problem,) = sent
    assert isinstance(problem.payload, ParameterProblem)
    assert (problem.src, problem.dst, problem.payload.pointer) == (CN, source(1), 40)


def test_parameter_problems_are_rate_limited():
    cn = _cn()
    sent = []
    for i in range(ICMP_ERROR_RATE + 2):
        sent += _sent(cn, _raw_bad_mh(src=source(i), dst=CN), 1.0 + i * 0.01)
    assert len(sent) == ICMP_ERROR_RATE
    assert cn.counters["icmp.error_rate_limited"] == 2


def test_a_backed_home_address_option_is_delivered_from_the_home_address_without_it():
    # RFC 6275 §9.3.1: the packet goes up as if sent from the home address; the Destination
    # Options header that carried the option does not.
    from mipshop.protocol.base.actions import Deliver
    from tests.protocol.mipv6.test_guards import _bind

    cn = _cn()
    _bind(cn, sequence=1, coa=source(1), at=1.0)
    cn.receive(_unbacked(source(1)), "eth0", 2.0)
    (delivered,) = [a.packet for a in cn.pull_actions() if isinstance(a, Deliver)]
    assert delivered.src == home(0) and delivered.extension_headers == ()
    assert delivered.payload == UDPDatagram(src_port=1, dst_port=2, data=b"x")


def _bu_with_care_of(coa: IPv6Address, *, src: IPv6Address, at: float, sequence: int = 1):
    from mipshop.wire.mh import BindingUpdate
    from mipshop.wire.mh_options import AlternateCareOfAddress

    bu = BindingUpdate(sequence=sequence, lifetime=100, ack=True,
                       options=(AlternateCareOfAddress(address=coa),))
    return IPv6Packet(src=src, dst=CN, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home(0)),)),))


def test_the_alternate_care_of_address_is_the_one_bound():
    # RFC 6275 §6.2.5, §9.5.1: the Alternate Care-of Address option, not the source, is the
    # care-of address of the binding.
    cn = _cn()
    _sent(cn, _bu_with_care_of(source(7), src=source(1), at=1.0), 1.0)
    assert cn.cache.lookup(home(0), 1.0).care_of_address == source(7)


@pytest.mark.parametrize("coa", [IPv6Address("fe80::7"), IPv6Address("ff0e::7"),
                                 IPv6Address("::1")])
def test_a_bu_for_a_care_of_address_that_is_not_unicast_routable_is_discarded(coa):
    # RFC 6275 §9.5.1: "MUST be silently discarded" (the home address is routable).
    cn = _cn()
    assert _sent(cn, _bu_with_care_of(coa, src=source(1), at=1.0), 1.0) == []
    assert cn.cache.lookup(home(0), 1.0) is None
