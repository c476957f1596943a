"""The run result (docs/run-result.md): its types (types.py), its construction from one run's
analysis (build.py), its files (files.py: JSON out and back, saved runs loaded and checked
against the published schema in schema/)."""
