"""A tiny authoritative DNS server over UDP (dnspython for the wire format), with GeoDNS
answers by EDNS Client Subnet for the lab's views (the tests also drive a real gdnsd:
tests/servers/gdnsd.py)."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import dns.edns
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class LabDns(asyncio.DatagramProtocol):
    """Answers A/AAAA for ``records``; NXDOMAIN for unknown names. Faults per name:
    ``nxdomain`` (the record is gone), ``servfail``, ``timeout`` (no answer at all)."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[str, ...]] = {}
        self.faults: dict[str, str] = {}
        # name → [(client network, addresses)]: answered by the query's ECS, like GeoDNS;
        # a query without ECS (or from no listed network) gets ``records``
        self.geo: dict[str, list[tuple[Any, tuple[str, ...]]]] = {}
        self.media_host = ""  # its addresses are the edges': no PTR points at it
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        for question in query.question:
            name = question.name.to_text().rstrip(".").lower()
            fault = self.faults.get(name)
            if fault == "timeout":
                return None
            if fault == "servfail":
                response.set_rcode(dns.rcode.SERVFAIL)
                return response
            if question.rdtype == dns.rdatatype.PTR and name in self.reverse():
                response.answer.append(dns.rrset.from_text(
                    question.name, 30, "IN", "PTR", self.reverse()[name] + "."))
                continue
            if fault == "nxdomain" or name not in self.records:
                response.set_rcode(dns.rcode.NXDOMAIN)
                return response
            for addr in self._by_subnet(query, name, response):
                rdtype = "A" if ipaddress.ip_address(addr).version == 4 else "AAAA"
                if question.rdtype == dns.rdatatype.from_text(rdtype):
                    response.answer.append(dns.rrset.from_text(question.name, 30, "IN", rdtype,
                                                               addr))
        return response

    def reverse(self) -> dict[str, str]:
        """in-addr.arpa / ip6.arpa name → the record's name (one per address)."""
        import dns.reversename

        return {dns.reversename.from_address(a).to_text().rstrip(".").lower(): name
                for name, addrs in self.records.items() for a in addrs
                if name != self.media_host}

    def _by_subnet(self, query: dns.message.Message, name: str,
                   response: dns.message.Message) -> tuple[str, ...]:
        ecs = next((o for o in query.options if isinstance(o, dns.edns.ECSOption)), None)
        if ecs is None or name not in self.geo:
            return self.records[name]
        client = ipaddress.ip_network(f"{ecs.address}/{ecs.srclen}", strict=False)
        match = next(((net, addrs) for net, addrs in self.geo[name]
                      if client.version == net.version and client.subnet_of(net)), None)
        addresses, scope = (match[1], match[0].prefixlen) if match else (self.records[name], 0)
        response.use_edns(0, options=[dns.edns.ECSOption(ecs.address, ecs.srclen, scope)])
        return addresses

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return
        response = self.answer(query)
        if response is not None and self.transport is not None:
            self.transport.sendto(response.to_wire(), addr)


async def start_dns(host: str = "127.0.0.1") -> tuple[LabDns, asyncio.DatagramTransport, int]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(LabDns, local_addr=(host, 0))
    port = transport.get_extra_info("sockname")[1]
    return protocol, transport, port
