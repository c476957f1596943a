"""Every default value of the probe file and the commands, in one place (docs/probe-file.md
documents the same numbers). The analysis' internals are in analyze/tuning.py, Mastodon's
facts in mastodon.py."""

from __future__ import annotations

from edgeprobe.vocabulary import WARNING

CONFIG_ENV = "EDGEPROBE_CONFIG"
CONFIG_PATH = "probes/edgeprobe.toml"

URL_PREFIX = "/system/"
CROSS_ORIGIN = True  # Mastodon's web UI loads media from the media host: cross-origin
VERIFY_TLS = True
ANONYMOUS = False

DNS_TIMEOUT_S = 2.0
PROBE_UNLISTED = "public"  # unlisted addresses from GeoDNS probed only when globally routable
MAX_VIEW_ADDRESSES = 16  # addresses taken from one view's answer; the rest named, not probed
MAX_UNLISTED = 32  # ad-hoc nodes one run probes at most

PER_PREFIX = 5
SAMPLES_MAX = 50
SAMPLE_SEED = 0
LIST_LIMIT = 1000  # keys listed per bucket prefix before sampling from them

PROBE_TIMEOUT_S = 10.0
CONCURRENCY = 64
PER_NODE_CONCURRENCY = 8
FETCH_PROCESSES = 1  # worker processes beside the probing one (docs/performance.md)
SLOW_MS = 1500
MAX_BODY_BYTES = 50 * 1024 * 1024
CERT_WARN_DAYS = 14  # a certificate expiring within this many days is a warning

# The origin-path canary: requests per node and address for keys that cannot exist, under
# this recognisable key prefix (operators filter it from their logs).
CANARY_REQUESTS = 2
CANARY_PREFIX = "edgeprobe-canary/"
CACHE_VALID_H = 48.0  # Mastodon's proxy: proxy_cache_valid 200 48h

CONFIRM_RUNS = 1  # the in-run re-test is the second look (docs/scheduling.md)
RETESTS = 2  # a new failure is asked again this many times within its run (0: never)
RETEST_AFTER_S = 2.0  # … first after this long
RETEST_AGAIN_AFTER_S = 10.0  # … and, still failing, again after this long
RETEST_BUDGET_S = 30.0  # the most a run spends re-testing, waits included
RESOLVE_AFTER = 2  # healthy runs in a row before an incident is resolved
FLAP_WINDOW = 12  # runs a finding's history covers (3 hours at 15 minutes)
FLAP_CHANGES = 4  # state changes within the window that make a finding flapping
FLAP_RESOLVE_AFTER = 4  # healthy runs in a row before a flapping incident is resolved
REMIND_EVERY_H = 24.0  # an open incident is recalled (and a flapping one updated) this often
MESSAGES_PER_HOUR = 4  # updates and reminders per incident per hour, at most
MERGE_MAX_SPREAD_S = 600.0  # edgeprobe merge: runs started further apart are refused

SERVE_INTERVAL_S = 60.0
SERVE_PROBE_EVERY_S = 10.0  # /probe (when on): at most one per this many seconds
SERVE_LISTEN = "127.0.0.1:9330"  # loopback only unless the probe file or --listen says so

FAIL_ON = WARNING

BODY_EXCERPT_BYTES = 300
HEADER_VALUE_MAX = 300
