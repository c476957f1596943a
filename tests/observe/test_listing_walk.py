"""A bucket prefix's walk (observe/listing.py) gets ``per_prefix`` keys from Mastodon-deep key
trees — each key in a branch of its own costs a listing per level — and, when it does stop
at its listing budget, says so in a ``samples_short`` note instead of sampling fewer keys
(or none) in silence. Against moto, through the whole run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from edgeprobe import config
from edgeprobe.lab.s3 import BUCKET
from edgeprobe.observe import listing
from edgeprobe.observe.sample import build_sample
from edgeprobe.result.files import schema_problem

BASE = "walk/media_attachments/files/"
# 30 keys, each in a first-level branch of its own, Mastodon's depth below it:
# files/ → 1xx/ → 000/ → … → original/ → the key: 1 listing, then 7 per key
KEYS = [f"{BASE}{100 + i:03d}/{i:03d}/{i * 7 % 1000:03d}/{i * 3:03d}/000/{i:03d}/original/"
        f"{i:016x}.png" for i in range(30)]
PER_KEY = 7


@pytest.fixture
def deep_tree(lab) -> Iterator[list[str]]:
    for key in KEYS:
        lab.lab.s3.client.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    yield KEYS
    for key in KEYS:
        lab.lab.s3.client.delete_object(Bucket=BUCKET, Key=key)


def _sample(lab, samples: str):
    s = config.load(lab.probe_file(samples=samples))
    return asyncio.run(build_sample(s.samples, s.origin, s.site.media_host, s.probe.timeout_s))


def test_the_budget_grows_with_the_keys_wanted():
    assert [listing.budget(n) for n in (1, 4, 5, 20, 256, 257, 10_000)] == [
        64, 64, 80, 320, 4096, 4096, 4096]


def test_twenty_keys_from_a_mastodon_deep_tree(lab, deep_tree, monkeypatch):
    """20 keys × 7 listings + the top: 141 listings, where 0.2's fixed 64 gave 9 keys."""
    calls: list[str] = []
    real = listing._Walk.level

    async def level(self, prefix, order):  # type: ignore[no-untyped-def]
        calls.append(prefix)
        return await real(self, prefix, order)

    monkeypatch.setattr(listing._Walk, "level", level)
    sample = _sample(lab, f'bucket_prefixes = ["{BASE}"]\nper_prefix = 20\nseed = 5')
    got = [o.key for o in sample.objects]
    assert len(got) == 20 and set(got) <= set(deep_tree)
    assert max(deep_tree) in got  # the newest, as always
    assert len(calls) == 1 + 20 * PER_KEY
    assert sample.notes == ()


def test_a_prefix_with_fewer_keys_than_wanted_is_no_note(lab, deep_tree):
    sample = _sample(lab, f'bucket_prefixes = ["{BASE}"]\nper_prefix = 50')
    assert sorted(o.key for o in sample.objects) == sorted(deep_tree)
    assert sample.notes == ()


def test_a_walk_cut_by_its_budget_says_how_short(lab, deep_tree, monkeypatch):
    monkeypatch.setattr(listing, "LISTINGS_PER_KEY", 1)
    monkeypatch.setattr(listing, "MIN_LISTINGS", 100)  # 20 keys wanted: 100 listings
    made: list[str] = []  # the listings sent to the bucket (in the walk's threads)
    real = listing.bucket_list.level

    def level(settings, prefix, limit, timeout_s):  # type: ignore[no-untyped-def]
        made.append(prefix)
        return real(settings, prefix, limit, timeout_s)

    monkeypatch.setattr(listing.bucket_list, "level", level)
    sample = _sample(lab, f'paths = ["{lab.lab.paths[0]}"]\n'
                          f'bucket_prefixes = ["{BASE}"]\nper_prefix = 20')
    assert len(made) == 100  # the budget, exactly
    (note,) = sample.notes
    found = [o for o in sample.objects if o.source == "bucket"]
    assert (note.kind, note.target) == ("samples_short", BASE)
    assert note.evidence == {"prefix": BASE, "found": len(found), "wanted": 20, "listings": 100}
    assert 0 < len(found) < 20 and {o.key for o in found} <= set(deep_tree)
    # depth first, the newest branch first: the cut leaves out the oldest branches
    assert max(deep_tree) in {o.key for o in found}
    assert note.summary == (f"bucket prefix {BASE!r}: {len(found)} of 20 keys sampled; the "
                            "walk stopped at its budget of 100 listings")


def test_a_tree_deeper_than_the_budget_is_a_finding_not_silence(lab):
    """Nothing monkeypatched: one key 70 levels down, one key wanted (budget 64). The run
    still probes its explicit path and carries the note as an info finding on the prefix."""
    prefix = "walk/deep/"
    key = prefix + "d/" * 70 + "x.png"
    lab.lab.s3.client.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    try:
        run = lab.probe(samples=f'paths = ["{lab.lab.paths[0]}"]\n'
                                f'bucket_prefixes = ["{prefix}"]\nper_prefix = 1')
    finally:
        lab.lab.s3.client.delete_object(Bucket=BUCKET, Key=key)
    (finding,) = run["findings"]
    assert (finding["kind"], finding["severity"], finding["target"]) == (
        "samples_short", "info", prefix)
    assert finding["evidence"] == {"prefix": prefix, "found": 0, "wanted": 1, "listings": 64}
    assert run["ok"] is True
    assert schema_problem(run) is None  # a saved run with it loads


def test_the_gate_grants_in_the_walks_order_and_survives_cancellation():
    """A freed slot goes to the lowest order waiting (depth first, newest first), and a
    waiter cancelled after its grant, before it ran, hands the slot on instead of losing it."""
    async def go() -> list[str]:
        gate = listing._Gate(1)
        got: list[str] = []

        async def one(name: str, order: tuple[int, ...]) -> None:
            await gate.acquire(order)
            got.append(name)
            await asyncio.sleep(0)
            gate.release()

        await gate.acquire(())
        tasks = [asyncio.create_task(one(n, o))
                 for n, o in (("old", (1,)), ("deep", (0, 0)), ("new", (0,)))]
        await asyncio.sleep(0)  # all three wait
        gate.release()  # granted to (0,): then cancelled before it runs
        tasks[2].cancel()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
        assert gate.free == 1 and not gate.waiting
        return got

    assert asyncio.run(go()) == ["deep", "old"]
