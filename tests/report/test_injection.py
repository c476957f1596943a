"""Text from edges, the bucket and the Mastodon API is data wherever it is shown: a pasted
command runs what edgeprobe quoted, a terminal gets no escapes, an Actions log no commands."""

from __future__ import annotations

import enum
import json
import re
import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from edgeprobe.config.settings import SiteSettings
from edgeprobe.observe.repro import curl_command
from edgeprobe.report.markdown import fence
from tests.conftest import edgeprobe, render

FREMONT = "cdn-fremont-1"
EVIL_PATH = "/system/x`;id>PWNED;`.png"


def _run_with_command(command: str) -> dict:
    example = {"path": EVIL_PATH, "verdict": "missing", "status_code": 404,
               "address": "127.0.1.1", "curl": command}
    return {"schema": "edgeprobe/run@1", "ok": False, "started_at": "2026-11-26T14:00:00Z",
            "duration_s": 1.0, "site": {"name": "lab", "media_url": "https://media.lab.test"},
            "findings": [{"kind": "node_media_missing", "scope": "node", "target": FREMONT,
                          "severity": "critical", "summary": "404s",
                          "evidence": {"examples": [example]}}],
            "nodes": [], "regions": [], "objects": []}


def test_markdown_repro_command_pastes_as_exactly_the_quoted_argv():
    site = SiteSettings("lab", "https://media.lab.test")
    url = "https://media.lab.test" + EVIL_PATH
    command = curl_command(site, 443, "127.0.1.1", url).head()
    argv = shlex.split(command)
    assert argv[3] == url  # shlex.join quoted the backticks and the semicolons
    md = render("markdown", _run_with_command(command))
    (line,) = [x for x in md.splitlines() if x.startswith("curl ")]
    assert line == command  # never altered after shlex.join
    assert shlex.split(line) == argv
    block = md.splitlines()
    i = block.index(line)
    assert block[i - 1].startswith("```") and block[i + 1] == block[i - 1].removesuffix("sh")


def test_fence_is_longer_than_any_backtick_run():
    assert fence("a ``` b ```` c") == ["`````sh", "a ``` b ```` c", "`````"]
    assert fence("plain") == ["```sh", "plain", "```"]


def test_hostile_headers_reach_no_terminal_and_no_actions_log(lab, tmp_path):
    lab.fault(FREMONT, "hostile_headers")
    out = tmp_path / "run.json"
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--json", str(out),
                     env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 1, proc.stderr
    run = json.loads(out.read_text())
    (finding,) = [f for f in run["findings"] if f["target"] == FREMONT]
    assert finding["kind"] == "node_cache_misconfigured"
    assert "\\x1b[2j" in finding["summary"]  # kept as visible evidence, harmless
    for text in (proc.stdout, proc.stderr, out.read_text()):
        assert "\x1b" not in text and "\x07" not in text
    lines = proc.stdout.splitlines()
    start = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", lines[0])
    assert start and lines[-1] == f"::{start.group(1)}::"
    assert any("::error title=forged::" in x or "##[error]" in x for x in lines[1:-1])
    html = tmp_path / "r.html"
    proc = edgeprobe("report", str(out), "--html", str(html))
    assert proc.returncode == 0 and "\x1b" not in html.read_text()


def test_outside_actions_there_is_no_stop_commands_wrapper(lab):
    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), env={"GITHUB_ACTIONS": ""})
    assert proc.returncode == 0 and "stop-commands" not in proc.stdout


def test_clean_escapes_control_characters_and_keeps_body_lines():
    from edgeprobe.observe.sanitize import clean, clean_tree

    assert clean("a\x1b[2Jb\x07\u202ec") == "a\\x1b[2Jb\\x07\\u202ec"
    assert clean("x\ny") == "x\\x0ay"  # a header or key never starts a new line
    assert clean("<html>\r\n<p>\rtext\t</p>", keep_newlines=True) == \
        "<html>\n<p>\\x0dtext\t</p>"  # CRLF is a line end; a lone CR overwrites: escaped
    tree = clean_tree({"k\x1b": ["v\x07"], "body_excerpt": "a\r\nb"})
    assert tree == {"k\\x1b": ["v\\x07"], "body_excerpt": "a\nb"}


# text that mixes the characters cleaning is about with those its JSON look-out could mistake
_TEXT = st.text(alphabet=st.sampled_from(
    ["a", "n", "u", "0", "\\", '"', "\x00", "\x07", "\n", "\r", "\t", "\x1b", "\x7f", "\x85",
     "\x9f", "\xa0", "\u2028", "\u202e", "\u2066", "\u061c", "é"]), max_size=12)
_TREES = st.recursive(st.none() | st.booleans() | st.integers() | _TEXT,
                      lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(["body_excerpt", "k", "k\x1b"]) | _TEXT,
                                        inner, max_size=4), max_leaves=20)


@given(_TREES)
@settings(max_examples=300, deadline=None)
def test_no_control_character_survives_a_tree(tree):
    """Whatever a tree holds, no string of the cleaned one (keys included) has a control
    character, bar the newlines and tabs an error body keeps."""
    from edgeprobe.observe.sanitize import _ALL, clean_tree

    def strings(value, field=None):
        if isinstance(value, str):
            yield field, value
        elif isinstance(value, dict):
            for k, v in value.items():
                yield None, k
                yield from strings(v, k)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v, field)

    for field, text in strings(clean_tree(tree)):
        allowed = {"\n", "\t"} if field == "body_excerpt" else set()
        assert {c for c in _ALL.findall(text)} <= allowed, (field, text)


class _Word(enum.StrEnum):  # a str subclass, as a vocabulary value may be
    BAD = "bad\x1b"
    FINE = "fine"


def _plainly_cleaned(value, field=None):
    """clean_tree as first written, one isinstance test and one call per value: the fast
    path (no call per plain leaf) must give exactly this."""
    from edgeprobe.observe.sanitize import MULTILINE_FIELDS, clean

    if isinstance(value, str):
        return clean(value, keep_newlines=field in MULTILINE_FIELDS)
    if isinstance(value, dict):
        return {clean(k): _plainly_cleaned(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plainly_cleaned(v, field) for v in value]
    return value


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | _TEXT | st.sampled_from(list(_Word)),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.lists(inner, max_size=3).map(tuple)
                    | st.dictionaries(st.sampled_from(["body_excerpt", "k", "k\x1b"]) | _TEXT,
                                      inner, max_size=4), max_leaves=20))
@settings(max_examples=300, deadline=None)
def test_the_fast_cleaning_is_the_plain_one(tree):
    from edgeprobe.observe.sanitize import clean_tree

    assert clean_tree(tree) == _plainly_cleaned(tree)


HOSTILE = "x`@everyone[l](https://e.test)<img src=x>```~~*_#!|\x1b[31m"


def _string_paths(tree, path=()):
    """Every string leaf's path, with list indices as None (one group per field)."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _string_paths(v, (*path, k))
    elif isinstance(tree, list):
        for v in tree:
            yield from _string_paths(v, (*path, None))
    elif isinstance(tree, str):
        yield path


def _set_all(tree, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head is None:
        return [_set_all(v, rest, value) for v in tree]
    if isinstance(tree, dict) and head in tree:
        return {**tree, head: _set_all(tree[head], rest, value)}
    return tree


def _outside_fences(text):
    """The Markdown with its fenced blocks removed (a fence closes only on its own length),
    and whether every fence closed."""
    out, fence_bar = [], None
    for line in text.splitlines():
        if fence_bar is None and re.match(r"^(`{3,})", line):
            fence_bar = re.match(r"^(`{3,})", line).group(1)
            continue
        if fence_bar is not None:
            if line == fence_bar:
                fence_bar = None
            continue
        out.append(line)
    return "\n".join(out), fence_bar is None


def test_a_hostile_run_file_cannot_inject_into_the_issue_or_the_terminal(lab):
    """A run file from another machine (merge, report, notify): every string field that the
    schema lets carry a hostile string is shown as text — no @mention, link, image, HTML, or
    fence break-out in the Markdown (the issue body), no escape in the terminal; a field the
    schema constrains (kinds, statuses) refuses it."""
    from edgeprobe.result.files import schema_problem

    lab.fault(FREMONT, "s3_disabled")
    base = lab.probe(views=not lab.lab.single_address)
    groups = sorted(set(_string_paths(base)), key=str)
    refused = tried = 0
    for path in groups:
        run = _set_all(base, path, HOSTILE)
        if schema_problem(run):
            refused += 1
            continue
        tried += 1
        md, closed = _outside_fences(render("markdown", run))
        assert closed, path
        assert "@everyone" not in md, path
        raw = re.findall(r".{0,30}(?<!\\)(?:\[l|<img).{0,10}", md)
        assert not raw, (path, raw)
        assert "\x1b" not in render("terminal", run), path
    assert tried > 50 and refused > 5  # kinds, statuses, severities, … are enums
