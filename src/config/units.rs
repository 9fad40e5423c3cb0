//! Durations (`250ms`, `1m30s`, `7d`) and sizes (`512KiB`, `10MiB`, `1GB`, plain bytes).

use std::time::Duration;

/// Parse a duration such as `250ms`, `10s`, `1m30s`, `2h` or `7d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration (expected e.g. 250ms, 10s, 1m30s, 2h, 7d)".into());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "duration {t:?} has no unit (expected e.g. {t}s or {t}ms)"
        ));
    }
    humantime::parse_duration(t).map_err(|e| {
        format!("invalid duration {t:?}: {e} (expected e.g. 250ms, 10s, 1m30s, 2h, 7d)")
    })
}

/// Parse a size such as `512KiB`, `10MiB`, `1GB` or a plain number of bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    t.parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("invalid size {t:?}: {e} (expected e.g. 512KiB, 10MiB, 1GB or bytes)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("ten seconds").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1").is_err());
    }
}
