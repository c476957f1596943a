"""The responder's HTML report: one self-contained, offline file (jinja2, autoescaped)."""

from __future__ import annotations

import base64
import hashlib
from importlib import resources

from edgeprobe.report import Reporter
from edgeprobe.report.view import build
from edgeprobe.result.types import RunResult

# The only script; the page's CSP allows exactly this text (by hash), nothing else.
SCRIPT = """
document.querySelectorAll('button[data-copy]').forEach(function (b) {
  b.addEventListener('click', function () {
    var done = function () { b.textContent = 'copied'; };
    if (navigator.clipboard) { navigator.clipboard.writeText(b.dataset.copy).then(done, done); }
  });
});
var panel = document.getElementById('cell-detail');
document.querySelectorAll('td.cell').forEach(function (td) {
  td.addEventListener('mouseenter', function () { td.title = td.dataset.detail; });
  td.addEventListener('click', function () {
    panel.textContent = td.dataset.detail + (td.dataset.curl ? '\\n\\n' + td.dataset.curl : '');
    panel.hidden = false;
  });
});
"""


class HtmlReporter(Reporter):
    name = "html"

    def render(self, run: RunResult) -> str:
        import jinja2

        env = jinja2.Environment(
            loader=jinja2.FunctionLoader(_template), autoescape=True,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
        return env.get_template("report.html.j2").render(
            v=build(run), script=SCRIPT, script_hash=f"sha256-{digest}")


def _template(name: str) -> str:
    return resources.files("edgeprobe.report").joinpath("templates", name).read_text("utf-8")
