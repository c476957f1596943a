"""A hostile or broken edge is a finding, never a crash or a hang."""

from __future__ import annotations

import time

import pytest

from tests.conftest import assert_healthy_not_blamed, blamed

FREMONT = "cdn-fremont-1"


@pytest.mark.timeout(60)
def test_endless_body_stops_at_max_body_bytes(lab):
    lab.fault(FREMONT, "endless")
    run = lab.probe(probe="timeout_s = 10.0\nmax_body_bytes = 3000000")
    assert blamed(run) == {("node_content_mismatch", FREMONT, "critical")}
    result = run["objects"][0]["results"][FREMONT]
    assert result["verdict"] == "mismatch" and 3_000_000 <= result["size"] <= 3_300_000
    assert_healthy_not_blamed(run, {FREMONT})


@pytest.mark.timeout(60)
def test_slow_drip_times_out(lab):
    lab.fault(FREMONT, "drip")
    start = time.monotonic()
    # all of its requests at once, each with a deadline well above what a busy machine adds
    # to a healthy answer: one wave of 8 s
    run = lab.probe(probe="timeout_s = 8.0\nper_node_concurrency = 16")
    assert time.monotonic() - start < 30
    assert blamed(run) == {("node_slow", FREMONT, "critical")}
    finding = next(f for f in run["findings"] if f["target"] == FREMONT)
    assert "within 8.0s" in finding["summary"]
    assert {r["results"][FREMONT]["verdict"] for r in run["objects"]} == {"timeout"}
    assert_healthy_not_blamed(run, {FREMONT})


@pytest.mark.timeout(60)
def test_garbage_headers_are_a_protocol_error(lab):
    lab.fault(FREMONT, "garbage_headers")
    run = lab.probe()
    assert blamed(run) == {("node_protocol_error", FREMONT, "critical")}
    assert_healthy_not_blamed(run, {FREMONT})


def test_redirect_is_recorded_not_followed(lab):
    lab.fault(FREMONT, "redirect_loop")
    run = lab.probe()
    finding = next(f for f in run["findings"] if f["kind"] == "node_redirect")
    example = finding["evidence"]["examples"][0]
    assert example["status_code"] == 302
    assert example["location"].endswith(example["path"])


def test_hostile_values_are_kept_as_data(lab):
    lab.fault(FREMONT, "hostile")
    run = lab.probe()
    assert blamed(run) == {("node_media_missing", FREMONT, "critical"),
                           ("node_origin_path_broken", FREMONT, "critical")}
    node = next(n for n in run["nodes"] if n["name"] == FREMONT)
    assert "<script>" in node["headers"]["Server"]
    assert "<script>" in run["objects"][0]["results"][FREMONT]["body_excerpt"]


def test_shared_header_values_stay_bounded(monkeypatch):
    """Header values are decoded once and shared (observe/transfer.py); an edge that sends
    a long value, or a new one every time, cannot grow that table past its bound."""
    from types import SimpleNamespace

    from edgeprobe.observe import transfer

    monkeypatch.setattr(transfer, "_VALUES", {})
    answer = SimpleNamespace(headers={})
    transfer.Transfer.on_header(answer, b"ETag: \"" + b"x" * 1000 + b"\"\r\n")
    for i in range(transfer.VALUES_KEPT + 100):
        transfer.Transfer.on_header(answer, f"Server: edge-{i}\r\n".encode())
    transfer.Transfer.on_header(answer, b"Server: edge-7\r\n")
    assert answer.headers["ETag"] == ['"' + "x" * 1000 + '"']
    assert answer.headers["Server"][-2:] == [f"edge-{transfer.VALUES_KEPT + 99}", "edge-7"]
    assert answer.headers["Server"][-1] is answer.headers["Server"][7]  # shared, not a copy
    assert len(transfer._VALUES) == transfer.VALUES_KEPT
    assert max(map(len, transfer._VALUES)) <= transfer.VALUE_SHARED
