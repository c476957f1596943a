"""`python -m edgeprobe` runs the CLI."""

from edgeprobe.cli import main

main()
