//! Reference docs rendered from key tables: a section per table, so the docs of spec, alert
//! and web config files cannot drift from the code.

use super::keys::Table;

/// A reference page: `preamble`, a section per table, then `prose` (shared with the alert file
/// and web config references).
pub(crate) fn render_reference(preamble: &str, tables: &[&Table], prose: &str) -> String {
    let mut out = String::from(preamble);
    for table in tables {
        render_table(table, &mut out);
    }
    out.push('\n');
    out.push_str(prose);
    out
}

/// Append one table as a `## title` section with a key/type/default/description table
/// (shared with the alert file reference).
pub(crate) fn render_table(table: &Table, out: &mut String) {
    out.push_str(&format!("\n## {}\n\n{}\n\n", table.title, table.intro));
    let head = if table.name == "check" {
        "operation"
    } else {
        "key"
    };
    out.push_str(&format!(
        "| {head} | type | default | description |\n|---|---|---|---|\n"
    ));
    for k in table.keys {
        let default = if k.required {
            "**required**"
        } else if k.default.is_empty() {
            "—"
        } else {
            k.default
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.name,
            k.ty.replace('|', "\\|"),
            default,
            k.doc.replace('|', "\\|")
        ));
    }
}
