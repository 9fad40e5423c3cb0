//! Running targets: every target concurrently, bounded by the fetcher.
