//! The classic Prometheus text format (0.0.4), made from prometheus-client's OpenMetrics.

use std::collections::BTreeSet;

/// Turn OpenMetrics text into the classic text format: counters' HELP/TYPE lines name the
/// `_total` series, and `# EOF` / `# UNIT` lines are dropped.
pub(super) fn openmetrics_to_text(om: &str) -> String {
    let mut counters = BTreeSet::new();
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.insert(name.to_string());
        }
    }
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}
