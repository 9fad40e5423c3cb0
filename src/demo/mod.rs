//! The built-in demo shop: a website and JSON API on loopback, with bundled specs.
