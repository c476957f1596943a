"""The command line (docs/cli.md): the ``edgeprobe`` group and where each command lives.

Exit status: 0 nothing at or above --fail-on; 1 findings at or above it; 2 bad usage, bad
probe file, or the probe could not run; 3 a bug. Each command module imports its heavy
libraries inside the command, so that ``edgeprobe --help`` starts fast.
"""

from __future__ import annotations

import click

from edgeprobe._version import __version__
from edgeprobe.cli.action import action_command
from edgeprobe.cli.config import config_group
from edgeprobe.cli.demo import demo_command, lab_command
from edgeprobe.cli.merge import merge_command
from edgeprobe.cli.probe import notify, probe, report
from edgeprobe.cli.serve import serve_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgeprobe")
def main() -> None:
    """Probe every CDN edge node of a site directly and name the broken one."""


for command in (probe, report, notify, action_command, demo_command, lab_command, config_group,
                serve_command, merge_command):
    main.add_command(command)
