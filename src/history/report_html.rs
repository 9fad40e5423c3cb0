//! `dcrawl report --format html`: one standalone page (inline CSS, no JavaScript, no external
//! resources) that can be mailed or archived. The markup is also well-formed XML, so tools that
//! read XHTML read it too.

use std::fmt::Write as _;

use crate::report::escape_html as escape;

use super::report::{HEADINGS, Report, cells, incident_line, span, when};

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;margin:24px;}\
h1{font-size:20px;margin:0 0 4px;}h2{font-size:16px;margin:24px 0 8px;}\
.muted{color:#59636e;font-size:13px;}\
table{border-collapse:collapse;margin-top:12px;}\
th,td{padding:4px 10px;border-bottom:1px solid #d1d9e0;text-align:right;white-space:nowrap;}\
th:first-child,td:first-child{text-align:left;}\
td.bad{color:#cf222e;font-weight:600;}td.good{color:#1a7f37;}\
ul{margin:4px 0 12px;padding-left:20px;}li{margin:2px 0;}";

/// The page.
pub(super) fn render(report: &Report) -> String {
    let title = format!(
        "dcrawl report {} to {}",
        report.from.format("%Y-%m-%d %H:%M"),
        report.to.format("%Y-%m-%d %H:%M")
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n\
         <p class=\"muted\">{} to {} ({}), {} targets; generated {}</p>\n",
        escape(&title),
        escape(&title),
        escape(&when(report.from)),
        escape(&when(report.to)),
        escape(&span((report.to - report.from).num_seconds() as f64)),
        report.targets.len(),
        escape(&when(report.generated_at)),
    );
    if report.targets.is_empty() {
        out.push_str("<p>No history in this state directory yet.</p>\n");
    } else {
        out.push_str("<table>\n<thead><tr>");
        for h in HEADINGS {
            let _ = write!(out, "<th>{}</th>", escape(h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for t in &report.targets {
            let row = cells(t);
            let class = match t.range.uptime_percent {
                Some(p) if p >= 99.9 => " class=\"good\"",
                Some(_) => " class=\"bad\"",
                None => "",
            };
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let attr = if i == 1 { class } else { "" };
                let _ = write!(out, "<td{attr}>{}</td>", escape(cell));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
    }
    let with_incidents: Vec<_> = report
        .targets
        .iter()
        .filter(|t| t.incidents_total > 0)
        .collect();
    if !with_incidents.is_empty() {
        out.push_str("<h2>Incidents, the most recent first</h2>\n");
        for t in with_incidents {
            let _ = writeln!(
                out,
                "<h3>{}/{}</h3>\n<ul>",
                escape(&t.spec),
                escape(&t.target)
            );
            for i in &t.incidents {
                let _ = writeln!(out, "<li>{}</li>", escape(&incident_line(i)));
            }
            let more = t.incidents_total.saturating_sub(t.incidents.len() as u64);
            if more > 0 {
                let _ = writeln!(out, "<li>… and {more} more</li>");
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str(
        "<p class=\"muted\">Uptime is time up over time known up or down (maintenance and unknown \
         time left out); latency percentiles are over runs that got a response, outside \
         maintenance (±5 %). Times are UTC.</p>\n</body>\n</html>\n",
    );
    out
}
