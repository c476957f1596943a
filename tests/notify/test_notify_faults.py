"""Notifications that fail, act twice, or are steered elsewhere: every one is survived,
retried where it can be, and never acts on the wrong thing. Against stand-in servers."""

from __future__ import annotations

import json

import pytest

from edgeprobe import incident
from edgeprobe.config.settings import IncidentSettings
from edgeprobe.notify import notify
from edgeprobe.result.files import parse_run, run_json
from tests.conftest import edgeprobe
from tests.fake_services import FakeServices

FREMONT, SEATTLE = "cdn-fremont-1", "cdn-seattle-1"
HOSTILE = ("max-age=60 @everyone @octocat <!channel> <https://evil.example/|click> "
           "[click](https://evil.example/) ::error title=forged::x")


@pytest.fixture
def services():
    fake = FakeServices().start()
    yield fake
    fake.stop()


def _run(nodes, t, summary="{} 404s"):
    return {"schema": "edgeprobe/run@1", "ok": not nodes, "started_at": t, "duration_s": 1.0,
            "site": {"name": "lab", "media_url": "https://m"}, "nodes": [], "regions": [],
            "objects": [], "findings": [{"kind": "node_media_missing", "target": n,
                                         "scope": "node", "severity": "critical",
                                         "summary": summary.format(n), "evidence": {}}
                                        for n in nodes]}


class Steps:
    """Probe results in sequence through --state and `notify`, as a scheduled job would."""

    def __init__(self, tmp_path, services):
        self.tmp, self.services, self.minute = tmp_path, services, 0
        self.state = tmp_path / "state.json"

    def __call__(self, *nodes, summary="{} 404s", env=None, again=False):
        if not again:
            self.minute += 1
            run = _run(nodes, f"2026-11-26T14:{self.minute:02d}:00Z", summary)
            state, _ = incident.load_state(self.state, "lab")
            state, typed = incident.advance(state, parse_run(run),
                                            IncidentSettings(confirm_runs=1, resolve_after=1))
            incident.save_state(self.state, state)
            (self.tmp / "run.json").write_text(json.dumps(run_json(typed)))
        run, deliveries = notify(str(self.tmp / "run.json"), str(self.state), None,
                                 env or self.services.env())
        self.raw = list(self.services.calls)
        return run, deliveries, self.services.take()


@pytest.fixture
def step(tmp_path, services):
    return Steps(tmp_path, services)


def _errors(deliveries):
    return [(d.channel, d.error) for d in deliveries if not d.ok]


def test_chat_failure_on_declared_is_retried_by_later_runs(step, services):
    services.fail["discord"] = "500"
    _, deliveries, calls = step(FREMONT)
    assert _errors(deliveries) == [("discord", "discord webhook: HTTP 500")]
    services.fail.clear()
    _, deliveries, calls = step(FREMONT)  # no incident change, but the message is owed
    assert calls == [("discord", "POST", "message")]
    assert [(d.channel, d.action, d.ok) for d in deliveries] == [("discord", "declared", True)]
    _, _, calls = step(FREMONT)
    assert calls == []  # told once, never twice


def test_slack_429_retry_after_is_honoured(step, services):
    services.fail["slack"] = "429_once"
    _, deliveries, calls = step(FREMONT)
    assert calls.count(("slack", "POST", "message")) == 2  # waited 1 s, then delivered
    assert all(d.ok for d in deliveries)
    services.fail["slack"], services.retry_after = "429", "3600"
    _, deliveries, calls = step()  # resolved: Slack asks for an hour
    assert _errors(deliveries) == [
        ("slack", "slack webhook: HTTP 429")]
    services.fail.clear()
    _, _, calls = step()
    assert ("slack", "POST", "message") not in calls  # not due before the hour is up
    saved = json.loads(step.state.read_text())["incident"]["outbox"]
    assert [(m["channel"], m["change"]) for m in saved] == [("slack", "resolved")]


def test_a_deleted_issue_is_replaced_not_commented_forever(step, services):
    step(FREMONT)
    del services.issues[42]  # someone deleted (or transferred) the issue
    _, deliveries, calls = step(FREMONT, SEATTLE)
    assert ("github", "POST", "comments") in calls and ("github", "POST", "issues") in calls
    assert [(d.channel, d.action) for d in deliveries if d.channel == "github"] == [
        ("github", "opened")]
    assert json.loads(step.state.read_text())["incident"]["issue"] == 43


def test_a_lost_state_file_finds_the_open_issue_again(step, services):
    step(FREMONT)
    step.state.unlink()  # an Actions cache miss
    _, _, calls = step(FREMONT)
    assert ("github", "POST", "issues") not in calls  # no duplicate
    assert services.issues[42]["comments"] and services.issues[42]["state"] == "open"
    _, _, calls = step()
    assert services.issues[42]["state"] == "closed"
    assert len(services.issues) == 1


def test_the_open_issue_is_found_across_pages(step, services):
    for n in range(1, 120):  # other open issues with the label, first
        services.issues[n] = {"body": "unrelated", "state": "open", "comments": []}
    services.next_issue = 200
    services.issues[150] = {"body": "<!-- edgeprobe:incident:" + __import__("hashlib").sha256(
        b"lab").hexdigest()[:16] + " -->\nold", "state": "open", "comments": []}
    _, _, calls = step(FREMONT)
    assert calls.count(("github", "GET", "issues")) == 3 and ("github", "POST", "issues") \
        not in calls
    assert services.issues[150]["comments"]


def test_issue_number_from_the_state_is_never_a_path(step, services):
    step.state.write_text(json.dumps({**incident.fresh_state("lab"), "incident": {
        **incident.fresh_state("lab")["incident"], "open": True,
        "issue": "../../other-org/other-repo/issues/9"}}))
    _, deliveries, _ = step(FREMONT)
    assert not any("other-org" in c["path"] for c in step.raw)
    assert ("github", "github: the state file's issue number is not a positive integer; "
                      "ignored") in _errors(deliveries)
    assert json.loads(step.state.read_text())["incident"]["issue"] == 42


@pytest.mark.parametrize("service", ["github", "discord"])
def test_redirects_are_never_followed(step, services, service):
    services.fail[service] = "redirect"
    _, deliveries, _ = step(FREMONT)
    assert not [c for c in step.raw if c["service"] == "elsewhere"]
    assert any("redirect (not followed)" in (e or "") for _, e in _errors(deliveries))


def test_notify_three_times_acts_once_per_change(step, services):
    step(FREMONT)
    step(FREMONT, SEATTLE)  # updated
    comments = len(services.issues[42]["comments"])
    for _ in range(2):
        _, deliveries, calls = step(again=True)
        assert calls == [] and deliveries == []
    assert len(services.issues[42]["comments"]) == comments == 1


def test_a_bad_issue_number_in_the_answer_opens_no_duplicate(step, services):
    services.fail["number"] = "bad"
    _, deliveries, _ = step(FREMONT)
    assert ("github", "github: open issue: the answer has no valid issue number") in \
        _errors(deliveries)
    services.fail.clear()
    _, deliveries, calls = step(FREMONT)
    assert ("github", "POST", "issues") not in calls  # found by its marker
    assert json.loads(step.state.read_text())["incident"]["issue"] == 42


def test_a_huge_answer_is_not_read(step, services):
    services.fail["github"] = "huge"
    _, deliveries, _ = step(FREMONT)
    assert ("github", "github: find the incident issue: answer over 4 MiB, not read") in \
        _errors(deliveries)


def test_server_text_pings_nobody(step, services):
    step(FREMONT, summary="{} sends Cache-Control: " + HOSTILE)
    sent = {c["service"]: c for c in step.raw if c["method"] == "POST"}
    discord = sent["discord"]["json"]
    assert discord["allowed_mentions"] == {"parse": []}
    assert "[click](https" not in discord["content"]
    slack = sent["slack"]["json"]["text"]
    assert "<!channel>" not in slack and "<https://evil" not in slack
    assert "&lt;!channel&gt;" in slack
    body = services.issues[42]["body"]
    assert "@everyone" not in body and "@octocat" not in body
    assert "@\u2060everyone" in body


@pytest.mark.parametrize("value", ["abc", "inf", "nan", "0", "1e308"])
def test_bad_notify_timeout_is_a_clear_error(tmp_path, value):
    (tmp_path / "run.json").write_text(json.dumps({**_run([], "2026-11-26T14:00:00Z"),
                                                   "incident": {"state": "none"}}))
    proc = edgeprobe("notify", "run.json", "--state", "s.json", cwd=tmp_path,
                     env={"EDGEPROBE_NOTIFY_TIMEOUT_S": value})
    assert proc.returncode == 2
    assert proc.stderr == (f"edgeprobe: error: EDGEPROBE_NOTIFY_TIMEOUT_S={value!r}: must be a "
                           "number of seconds, over 0 and at most 300\n")


def test_a_state_file_with_wrong_types_is_kept_aside_and_replaced(tmp_path):
    path = tmp_path / "state.json"
    bad = {**incident.fresh_state("lab"), "findings": {"k|t": {"runs": "2", "finding": 5}}}
    path.write_text(json.dumps(bad))
    run, warning, save = incident.apply(parse_run(_run([FREMONT], "2026-11-26T14:00:00Z")),
                                        path, IncidentSettings(confirm_runs=2))
    save()
    assert "invalid at $.findings.k|t" in warning and "starting a fresh one" in warning
    assert run.incident and run.incident.state == "pending"
    (aside,) = [p for p in tmp_path.iterdir() if p.name.startswith("state.json.bad-")]
    assert json.loads(aside.read_text()) == bad
    assert json.loads(path.read_text())["findings"]["node_media_missing|cdn-fremont-1"]["runs"] \
        == 1


def test_a_queued_message_with_a_bad_date_is_set_aside_not_fatal(step, services):
    """A state file that passes the schema's types with a bad ``outbox[].not_before``
    (0.2: every notify crashed, exit 3; GitHub got a duplicate comment each run, chat never):
    that entry is set aside with a warning; the issue is kept and updated."""
    services.fail["slack"] = "500"
    step(FREMONT)  # declared: issue 42; the Slack message waits in the outbox
    services.fail.clear()
    state = json.loads(step.state.read_text())
    state["incident"]["outbox"][0]["not_before"] = "2026-13-45T99:00:00Z"
    step.state.write_text(json.dumps(state))
    loaded, warning = incident.load_state(step.state, "lab")
    assert loaded["incident"]["issue"] == 42 and loaded["incident"]["outbox"] == []
    assert warning.endswith("1 queued chat message(s) set aside: not sendable as saved (bad "
                            "not_before)")
    _, _, calls = step(FREMONT, SEATTLE)  # updated
    assert ("github", "POST", "issues") not in calls and ("github", "POST", "comments") in calls
    assert ("slack", "POST", "message") in calls  # the new message goes out
    assert json.loads(step.state.read_text())["incident"]["issue"] == 42


def test_retry_after_holds_for_the_channel_within_one_budget(step, services):
    """0.2 applied a Retry-After per message: with a queue of messages one notify slept for
    each (100 s). Now it holds for the channel, and the waits of one notify share a budget."""
    import time

    services.fail["slack"] = "500"
    step(FREMONT)
    step(FREMONT, SEATTLE)
    step(SEATTLE)  # three changes queued for Slack
    queued = json.loads(step.state.read_text())["incident"]["outbox"]
    assert len([m for m in queued if m["channel"] == "slack"]) == 3
    services.fail["slack"], services.retry_after = "429", "4"
    started = time.monotonic()
    _, _, calls = step(SEATTLE, again=True)
    assert time.monotonic() - started < 8  # one wait of 4 s, not one per message
    assert calls.count(("slack", "POST", "message")) == 2  # the first, once more; no other
    saved = json.loads(step.state.read_text())["incident"]["outbox"]
    assert len({m["not_before"] for m in saved if m["channel"] == "slack"}) == 1
