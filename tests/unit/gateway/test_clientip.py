"""The client's address: forwarded headers count only from a trusted proxy, read from the right."""

from gateway.clientip import Networks, client_ip

TRUSTED = Networks(["127.0.0.1/32", "10.0.0.0/8"])


def test_an_untrusted_peer_is_the_client_whatever_it_claims():
    headers = [(b"x-forwarded-for", b"203.0.113.7"), (b"forwarded", b"for=198.51.100.1")]
    assert client_ip("192.0.2.10", headers, TRUSTED) == "192.0.2.10"


def test_behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client():
    # a client spoofs the first entry; the proxies in front of us append what they saw
    headers = [(b"x-forwarded-for", b"1.2.3.4, 203.0.113.7, 10.1.2.3")]
    assert client_ip("127.0.0.1", headers, TRUSTED) == "203.0.113.7"
    assert client_ip("127.0.0.1", [(b"x-forwarded-for", b"10.0.0.1, 10.0.0.2")], TRUSTED) == "10.0.0.1"


def test_rfc_7239_forwarded_is_read_when_there_is_no_x_forwarded_for():
    headers = [(b"forwarded", b'for="[2001:db8::1]:4711";proto=https, for=10.0.0.9')]
    assert client_ip("127.0.0.1", headers, TRUSTED) == "2001:db8::1"
    assert client_ip("127.0.0.1", [(b"forwarded", b"for=198.51.100.4:80")], TRUSTED) == "198.51.100.4"


def test_garbage_in_a_trusted_header_leaves_the_proxy_as_the_client():
    assert client_ip("127.0.0.1", [(b"x-forwarded-for", b"not-an-address")], TRUSTED) == "127.0.0.1"
    assert client_ip("127.0.0.1", [], TRUSTED) == "127.0.0.1"


def test_ipv4_mapped_ipv6_peers_match_ipv4_networks():
    assert TRUSTED.contains("::ffff:127.0.0.1") and not TRUSTED.contains("::ffff:192.0.2.1")
