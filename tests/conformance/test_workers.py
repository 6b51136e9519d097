"""The suite against several workers (--workers N, or --url of a multi-worker deployment): with
the chat room relayed through Redis the chat properties pass at two workers; with the room in
memory they fail, as the documentation says a room in one process must: the harness finds
the limit."""

from __future__ import annotations

from target_app.broadcast import BROADCAST_ENV, parse_broadcast_url
from tests.conformance.suite import rules_named, run_suite
from tests.conformance.test_options import USAGE_ERROR, assert_one_clear_line
from tests.redis_server import RedisServer
from tests.target_app.test_cli import announced_port, target_app_process
from wsharness.serve import wait_until_listening
from wsharness.timeouts import scaled

# the chat properties: the model, the burst (2 sizes), a stalled member, TCP drops, departures
CHAT_PROPERTIES = ("chat_room_model or burst_reaches or stalled_member or tcp_drops "
                   "or wave_of_departures")
BURST = "burst_reaches and 50"  # 50 clients: connections on both workers
STARTUP_TIMEOUT_S = scaled(20)


def test_workers_below_one_is_a_usage_error() -> None:
    result = run_suite("--workers", "0")
    assert result.returncode == USAGE_ERROR
    assert_one_clear_line(result.stderr, "--workers 0", "at least 1")


def test_finding_a_room_in_memory_does_not_span_two_workers() -> None:
    """Each worker's room reaches only its own clients: a burst's copies from clients of the
    other worker never come."""
    result = run_suite("--app", "target_app:app", "--workers", "2", "-m", "scale", "-k", BURST,
                       timeout_scale="0.5")
    assert result.returncode == 1, result.stdout[-3000:]
    assert rules_named(result.stdout) == {"chat.no-loss"}, result.stdout[-3000:]


def test_the_chat_properties_pass_at_two_workers_on_redis(redis_at: RedisServer) -> None:
    result = run_suite("--app", "target_app:app", "--workers", "2", "-m", "contract or scale",
                       "-k", CHAT_PROPERTIES, env={BROADCAST_ENV: redis_at.url})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed" in result.stdout, result.stdout[-3000:]


def test_url_checks_a_multi_worker_deployment_the_same(redis_at: RedisServer) -> None:
    with target_app_process("--port", "0", "--workers", "2", "--broadcast",
                            redis_at.url) as process:
        port = announced_port(process, "hardened")
        wait_until_listening("127.0.0.1", port, STARTUP_TIMEOUT_S, process)
        redis_at.wait_for_subscribers(parse_broadcast_url(redis_at.url).channel, 2)
        result = run_suite("--url", f"http://127.0.0.1:{port}", "-m", "contract or scale",
                           "-k", f"chat_room_model or {BURST}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout, result.stdout[-3000:]
