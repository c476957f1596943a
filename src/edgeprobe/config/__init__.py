"""The probe file → ``Settings``: the typed settings and their defaults (settings.py,
defaults.py), the reader that walks a TOML file and adds file, key and line to every error
(reader.py), the checks of single values (rules.py) and the file's text helpers (text.py)."""

from edgeprobe.config.reader import default_path, load, loads
from edgeprobe.config.settings import Settings

__all__ = ["Settings", "default_path", "load", "loads"]
