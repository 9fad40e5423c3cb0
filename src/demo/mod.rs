//! The built-in demo: a small shop website and JSON API on loopback ([`site`]) and the bundled
//! specs that check it ([`bundled_specs`]). `dcrawl demo` and the tests use both.

pub mod site;

use crate::spec::Source;

/// The host the bundled specs are written against; replaced by the demo site's real address.
pub const PLACEHOLDER_BASE: &str = "http://demo.invalid";

/// The bundled spec files, with their URLs pointed at `base` (e.g. `http://127.0.0.1:40123`).
pub fn bundled_specs(base: &str) -> Vec<Source> {
    let base = base.trim_end_matches('/');
    [
        ("demo/shop.yaml", include_str!("specs/shop.yaml")),
        ("demo/api.yaml", include_str!("specs/api.yaml")),
    ]
    .into_iter()
    .map(|(name, text)| Source {
        name: name.to_string(),
        text: text.replace(PLACEHOLDER_BASE, base),
    })
    .collect()
}

/// The bundled alert routing, sending every alert to the demo site's webhook receiver at `base`.
pub fn bundled_alerts(base: &str) -> Vec<Source> {
    let base = base.trim_end_matches('/');
    vec![Source {
        name: "demo/alerts.yaml".to_string(),
        text: include_str!("specs/alerts.yaml").replace(PLACEHOLDER_BASE, base),
    }]
}
