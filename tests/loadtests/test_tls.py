"""wss:// against the reference app served by uvicorn over TLS with a test CA's certificate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gevent
import pytest
import trustme

from loadtests._wsclient import ConnectFailed, Connection, WsClosed
from tests.loadtests.running import results_of, run_locust
from wsharness.serve import serve

TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TlsServer:
    ws_url: str
    https_url: str
    ca_file: Path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    files = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(files / "ca.pem"))
    certificate = authority.issue_cert("127.0.0.1")
    certificate.private_key_pem.write_to_path(str(files / "key.pem"))
    certificate.cert_chain_pems[0].write_to_path(str(files / "cert.pem"))
    with serve(options={"ssl_keyfile": str(files / "key.pem"),
                        "ssl_certfile": str(files / "cert.pem")}) as server:
        yield TlsServer(f"wss://127.0.0.1:{server.port}", f"https://127.0.0.1:{server.port}",
                        files / "ca.pem")


def _echo(url: str, *, verify_tls: bool = True) -> str:
    connection = Connection.open(url + "/ws", timeout_s=TIMEOUT_S, verify_tls=verify_tls)
    connection.send_text("over TLS")
    reply = connection.recv(TIMEOUT_S)
    assert connection.close() == 1000
    return str(reply)


def test_a_server_whose_ca_is_trusted(tls_server: TlsServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.ca_file))
    assert _echo(tls_server.ws_url) == "Message text was: over TLS"


def test_an_untrusted_certificate_fails_the_connect_in_one_line(tls_server: TlsServer) -> None:
    with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED") as failed:
        Connection.open(tls_server.ws_url + "/ws", timeout_s=TIMEOUT_S)
    assert "\n" not in str(failed.value)


def test_verification_can_be_turned_off(tls_server: TlsServer) -> None:
    assert _echo(tls_server.ws_url, verify_tls=False) == "Message text was: over TLS"


def test_a_read_waits_in_the_hub_not_blocking_the_process(tls_server: TlsServer) -> None:
    """gevent's SSL socket even here, where gevent patched nothing."""
    connection = Connection.open(tls_server.ws_url + "/ws", timeout_s=TIMEOUT_S,
                                 verify_tls=False)
    reader = gevent.spawn(connection.recv, TIMEOUT_S)
    gevent.idle()  # the reader waits for a message: other greenlets run meanwhile
    assert not reader.ready()  # not a blocking read that ran to its timeout
    connection.send_text("meanwhile")
    assert reader.get(timeout=TIMEOUT_S) == "Message text was: meanwhile"
    assert connection.close() == 1000


def test_closing_while_another_greenlet_reads_ends_that_read(tls_server: TlsServer) -> None:
    """Not a second read of the SSL socket beside the first (gevent's
    ConcurrentObjectUseError): the close frame goes out and the reader ends with WsClosed."""
    connection = Connection.open(tls_server.ws_url + "/ws", timeout_s=TIMEOUT_S,
                                 verify_tls=False)
    reader = gevent.spawn(connection.recv, TIMEOUT_S)
    gevent.idle()  # the reader waits for a message
    code = connection.close()
    with pytest.raises(WsClosed) as closed:
        reader.get(timeout=TIMEOUT_S)
    assert closed.value.code == code == connection.close_code


def test_a_run_against_an_https_host(tls_server: TlsServer, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.ca_file))  # inherited by the run
    results = results_of(run_locust("-u", "2", "-r", "2", "-t", "3s", "--host",
                                    tls_server.https_url, "EchoUser", report_dir=tmp_path),
                         tmp_path)
    rtt = results["metrics"]["rtt /ws"]
    assert rtt["count"] > 0
    assert rtt["errors"] == 0
    assert results["errors"] == {}
    assert results["run"]["target"] == tls_server.ws_url
