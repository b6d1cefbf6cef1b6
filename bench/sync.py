"""Syncing a help-centre website: a first sync of >= 1,000 pages, then a resync of the unchanged site.

Usage: python bench/helpcentre.py      # once: the GNOME help pages in es/fr/pl/it as HTML (bench/results)
       python bench/sync.py [--pages DIR] [--rate 0] [--limit 0]

The pages of the parallel help centre (bench/results/helpcentre-parallel/corpus: every GNOME help page in
every language it has, 1,340 pages) are published on loopback by bench/helpsite.py the way help-centre
generators publish a site (sitemap index, gzipped sitemap, hreflang alternates, ETag / Last-Modified).
A knowledge base with that one source is then synced twice in this process, with the real model:

1. First sync: the sync's own time (robots, sitemaps, pages fetched and written) and the rebuild after
   it, split into reading the files and embedding them (the rebuild's progress stages); pages a second
   end to end; this process's peak RSS.
2. Resync of the unchanged site: requests, page bodies fetched, seconds (sync and the rebuild's no-op).
3. Resync without sitemap lastmod: every page asked for conditionally (answered 304).

`--rate` is the sync's requests a second to the host (0: as fast as the loopback server answers;
the default of a real sync is 4). The site is served from this process's threads, on the same cores.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.helpsite import HelpSite, serve  # noqa: E402
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402
from kb.model import Embedder  # noqa: E402
from kb.sources import SourceConfig, add_source  # noqa: E402

PAGES = ROOT / "bench" / "results" / "helpcentre-parallel" / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=Path, default=PAGES, help="a folder of <lang>/<page>.html")
    parser.add_argument("--rate", type=float, default=0.0, help="requests a second to the host (0: no limit)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many pages (0: all)")
    args = parser.parse_args()
    if not args.pages.is_dir():
        sys.exit(f"{args.pages} is missing: run python bench/helpcentre.py first")
    site = HelpSite.from_fixture(args.pages)
    if args.limit:
        site.pages = dict(list(site.pages.items())[: args.limit])
    print(f"machine: {describe()}")
    print(f"site: {len(site.pages)} pages in {len({lang for lang, _ in site.pages})} languages, from {args.pages}")
    with serve(site), tempfile.TemporaryDirectory(prefix="kb-sync-bench-") as tmp:
        settings = Settings.from_env(
            corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index", sync_rate=args.rate or 1e9
        )
        settings.corpus_dir.mkdir(parents=True)
        add_source(settings, SourceConfig("help", "site", site.base + "/hc/"))
        embedder = Embedder(settings.model, settings)
        embedder.warm_up()  # the model's load is not the sync's

        stages: dict[str, float] = {}

        def progress(done: int, total: int, stage: str) -> None:
            stages.setdefault(stage, time.perf_counter())

        started = time.perf_counter()
        result = KnowledgeBase.sync(settings, embedder=embedder, progress=progress)
        ended = time.perf_counter()
        (report,) = result.sources
        assert result.ok and result.build is not None, result
        reading = stages.get("reading", ended)
        embedding = stages.get("embedding", ended)
        done = stages.get("done", ended)
        print("\nfirst sync")
        print(f"  pages listed / fetched / written: {report.listed} / {report.fetched} / {len(report.added)}")
        print(f"  requests: {report.requests}")
        print(f"  fetching and writing (the sync): {report.seconds:.1f} s")
        print(f"  reading the files: {embedding - reading:.1f} s")
        print(f"  embedding and writing the index: {done - embedding:.1f} s")
        print(f"  end to end: {ended - started:.1f} s, {report.listed / (ended - started):.1f} pages/s")
        print(f"  documents indexed: {result.build.documents}; peak RSS of this process: {_peak_mib():,.0f} MiB")

        for label, lastmod in (("resync, unchanged site", True), ("resync without sitemap lastmod", False)):
            site.lastmod = lastmod
            site.log.clear()
            started = time.perf_counter()
            result = KnowledgeBase.sync(settings, embedder=embedder)
            ended = time.perf_counter()
            (report,) = result.sources
            assert result.ok and result.build is not None and not result.build.changed, result
            pages = len(site.page_requests())
            print(f"\n{label}")
            print(f"  requests: {report.requests} ({pages} for pages); page bodies fetched: {report.fetched}")
            print(f"  sync: {report.seconds:.2f} s; with the rebuild's check: {ended - started:.2f} s")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
