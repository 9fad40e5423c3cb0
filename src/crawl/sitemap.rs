//! Sitemaps (sitemaps.org): a `<urlset>` lists pages, a `<sitemapindex>` lists more sitemaps.
//! Either may be gzip-compressed (`.xml.gz`), which is recognised by its magic bytes.

use std::io::Read;
use std::sync::Arc;

use flate2::read::GzDecoder;
use quick_xml::Reader;
use quick_xml::events::Event;
use url::Url;

use crate::fetch::{Fetcher, format_size};
use crate::model::Target;

/// Most sitemap files read per run (an index and its children).
pub(crate) const MAX_SITEMAP_FILES: usize = 50;

/// What one sitemap file lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Listing {
    /// `<url><loc>` entries of a `<urlset>`.
    pub pages: Vec<Url>,
    /// `<sitemap><loc>` entries of a `<sitemapindex>`.
    pub sitemaps: Vec<Url>,
}

/// Pages listed by the sitemap at `url` (following an index one level down), each with the URL
/// of the file that listed it; plus a message per file that could not be read.
pub(super) async fn pages(
    fetcher: &Fetcher,
    template: &Target,
    url: &Url,
) -> (Vec<(Url, Arc<str>)>, Vec<String>) {
    let mut pages = Vec::new();
    let mut problems = Vec::new();
    let mut files = vec![(url.clone(), 0u8)];
    let mut read = 0usize;
    while let Some((file, level)) = files.pop() {
        if read == MAX_SITEMAP_FILES {
            problems.push(format!(
                "sitemap {url}: more than {MAX_SITEMAP_FILES} sitemap files; the rest are ignored"
            ));
            break;
        }
        read += 1;
        match fetch(fetcher, template, &file).await {
            Ok(listing) => {
                let from: Arc<str> = Arc::from(file.as_str());
                pages.extend(listing.pages.into_iter().map(|p| (p, Arc::clone(&from))));
                if level == 0 {
                    // Children are read in listing order (the stack pops the last first).
                    files.extend(listing.sitemaps.into_iter().rev().map(|s| (s, 1)));
                } else if !listing.sitemaps.is_empty() {
                    problems.push(format!(
                        "sitemap {file}: a sitemap index inside an index is ignored"
                    ));
                }
            }
            Err(why) => problems.push(format!("sitemap {file}: {why}")),
        }
    }
    (pages, problems)
}

/// Fetch and parse one sitemap file.
async fn fetch(fetcher: &Fetcher, template: &Target, url: &Url) -> Result<Listing, String> {
    let response = fetcher
        .fetch_url(template, url)
        .await
        .map_err(|e| e.to_string())?;
    if !(200..300).contains(&response.status) {
        return Err(format!("HTTP {}", response.status));
    }
    let xml = gunzip_if_needed(&response.body, template.max_body)?;
    parse(&xml, url)
}

/// The body itself, or its gzip decompression (at most `limit` bytes).
fn gunzip_if_needed(body: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    GzDecoder::new(body)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("invalid gzip: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!(
            "decompressed sitemap larger than max_body ({})",
            format_size(limit)
        ));
    }
    Ok(out)
}

/// Parse a `<urlset>` or `<sitemapindex>`; `<loc>` values are resolved against `base` and only
/// http(s) URLs are kept.
pub(super) fn parse(xml: &[u8], base: &Url) -> Result<Listing, String> {
    let text = std::str::from_utf8(xml).map_err(|_| "sitemap is not UTF-8".to_string())?;
    let mut reader = Reader::from_str(text);
    let mut listing = Listing::default();
    let mut stack: Vec<String> = Vec::new();
    let mut loc: Option<String> = None;
    let mut root_seen = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("invalid XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if !root_seen {
                    if name != "urlset" && name != "sitemapindex" {
                        return Err(format!("not a sitemap: root element <{}>", name));
                    }
                    root_seen = true;
                }
                if name == "loc" {
                    loc = Some(String::new());
                }
                stack.push(name);
            }
            Event::Empty(e) if !root_seen => {
                let name = e.local_name().as_ref().to_string();
                if name != "urlset" && name != "sitemapindex" {
                    return Err(format!("not a sitemap: root element <{}>", name));
                }
                root_seen = true;
            }
            Event::Text(t) => {
                if let Some(l) = loc.as_mut() {
                    l.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(l) = loc.as_mut() {
                    l.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(l) = loc.as_mut() {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        _ => predefined(&r),
                    };
                    l.extend(c);
                }
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                if name == "loc"
                    && let Some(text) = loc.take()
                {
                    let parent = stack.last().map(String::as_str);
                    let list = match parent {
                        Some("url") => &mut listing.pages,
                        Some("sitemap") => &mut listing.sitemaps,
                        _ => continue,
                    };
                    if let Ok(u) = base.join(text.trim())
                        && matches!(u.scheme(), "http" | "https")
                    {
                        list.push(u);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err("not a sitemap: no <urlset> or <sitemapindex>".into());
    }
    Ok(listing)
}

/// The five entities XML predefines.
fn predefined(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://h.test/sitemap.xml").unwrap()
    }

    #[test]
    fn urlset_lists_pages_with_entities_resolved() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc> http://h.test/p/1 </loc><lastmod>2026-01-01</lastmod></url>
  <url><loc>http://h.test/s?a=1&amp;b=2</loc></url>
  <url><loc><![CDATA[http://h.test/c]]></loc></url>
  <url><loc>mailto:x@h.test</loc></url>
</urlset>"#;
        let l = parse(xml, &base()).unwrap();
        let pages: Vec<&str> = l.pages.iter().map(Url::as_str).collect();
        assert_eq!(
            pages,
            [
                "http://h.test/p/1",
                "http://h.test/s?a=1&b=2",
                "http://h.test/c"
            ]
        );
        assert!(l.sitemaps.is_empty());
    }

    #[test]
    fn index_lists_sitemaps() {
        let xml = br#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>http://h.test/a.xml</loc></sitemap>
  <sitemap><loc>/b.xml.gz</loc></sitemap></sitemapindex>"#;
        let l = parse(xml, &base()).unwrap();
        let maps: Vec<&str> = l.sitemaps.iter().map(Url::as_str).collect();
        assert_eq!(maps, ["http://h.test/a.xml", "http://h.test/b.xml.gz"]);
        assert!(l.pages.is_empty());
    }

    #[test]
    fn bad_documents_are_reported() {
        assert!(
            parse(b"<html><body>hi</body></html>", &base())
                .unwrap_err()
                .contains("root element <html>")
        );
        assert!(
            parse(b"<urlset><url><loc>x</url>", &base())
                .unwrap_err()
                .contains("invalid XML")
        );
        assert!(parse(b"", &base()).unwrap_err().contains("not a sitemap"));
        assert!(parse(&[0xff, 0xfe], &base()).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn gzip_is_recognised_and_bounded() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&[b'a'; 1000]).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(gunzip_if_needed(&gz, 1000).unwrap().len(), 1000);
        assert!(gunzip_if_needed(&gz, 999).unwrap_err().contains("larger"));
        assert_eq!(gunzip_if_needed(b"<urlset/>", 10).unwrap(), b"<urlset/>");
        assert_eq!(parse(b"<urlset/>", &base()).unwrap(), Listing::default());
        assert!(gunzip_if_needed(&[0x1f, 0x8b, 0, 1], 10).is_err());
    }
}
