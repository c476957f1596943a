"""Drivers of the Debian servers the tests and the benchmark run for real (nginx with
Mastodon's proxy config, gdnsd): harnesses, not shipped in the wheel."""
