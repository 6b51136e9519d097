"""bind_listening: a TCP socket bound, not yet listening, for the server that takes it;
reserve_port: a port held for a server that binds it itself with SO_REUSEPORT."""

from __future__ import annotations

import socket

import pytest

from wsharness.bind import BindError, bind_listening, reserve_port
from wsharness.handover import adopt


def test_a_free_port_is_bound_and_refuses_connections_until_a_server_listens() -> None:
    with bind_listening("127.0.0.1", 0) as sock:
        port = sock.getsockname()[1]
        assert port != 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_the_socket_says_it_is_tcp_and_the_server_sees_it_so() -> None:
    """asyncio sets TCP_NODELAY only on the connections of a socket whose protocol is TCP."""
    with bind_listening("127.0.0.1", 0) as sock, adopt(sock.dup().detach()) as adopted:
        for which in (sock, adopted):
            assert (which.family, which.type, which.proto) == (
                socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        assert adopted.getsockname() == sock.getsockname()


def test_a_port_in_use_is_one_line(busy_port: int) -> None:
    with pytest.raises(BindError) as refused:
        bind_listening("127.0.0.1", busy_port)
    assert str(refused.value) == f"binding 127.0.0.1:{busy_port} is already in use"


def test_a_host_that_does_not_resolve_is_one_line() -> None:
    with pytest.raises(BindError, match=r"^cannot resolve host 'no\.such\.host\.invalid': "):
        bind_listening("no.such.host.invalid", 0)



@pytest.mark.parametrize(("host", "port", "message"), [
    ("127.0.0.1", 70000, "70000 is not a port number"),
    ("127.0.0.1", -1, "-1 is not a port number"),
    (f"{'a' * 70}.example", 0, "not a valid host name"),
])
def test_a_port_out_of_range_or_a_name_idna_refuses_is_one_line(host: str, port: int,
                                                                   message: str) -> None:
    with pytest.raises(BindError, match=message):
        bind_listening(host, port)


def test_a_reserved_port_lets_a_reuseport_server_bind_beside_it_and_nobody_else() -> None:
    with reserve_port("127.0.0.1", 0) as held:
        port = held.getsockname()[1]
        with pytest.raises(BindError, match="is already in use"):
            bind_listening("127.0.0.1", port)  # SO_REUSEADDR, as most servers bind
        with pytest.raises(ConnectionRefusedError):  # the reservation takes no connection
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        with socket.socket() as server:  # as each Granian worker binds
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            server.bind(("127.0.0.1", port))
            server.listen()
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                accepted, _ = server.accept()
                accepted.close()
