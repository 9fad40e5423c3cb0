//! Positioned configuration errors, reported all at once.

use std::fmt;

/// One problem in a configuration file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and, where possible, what would be right.
    pub message: String,
}

impl Diagnostic {
    /// Build a diagnostic.
    pub fn new(
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line: line.max(1),
            column: column.max(1),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `FILE:LINE:COLUMN: message` on one line: control characters in the message (a key or
    /// value quoted from the file may hold line breaks) are shown escaped, as `\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.message.contains(char::is_control) {
            return f.write_str(&self.message);
        }
        for c in self.message.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_debug())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Every problem found in a configuration; nothing runs while there is one.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Add one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// No problems?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Combine the problems found so far with a later stage's result: `Ok` only when neither
    /// found any; otherwise every problem of both, sorted.
    pub fn combine<T>(mut self, later: Result<T, Diagnostics>) -> Result<T, Diagnostics> {
        match later {
            Ok(value) if self.is_empty() => Ok(value),
            Ok(_) => {
                self.sort();
                Err(self)
            }
            Err(more) => {
                self.0.extend(more.0);
                self.sort();
                Err(self)
            }
        }
    }

    /// Sort by file, line, column (stable output).
    pub fn sort(&mut self) {
        self.0.sort();
        self.0.dedup();
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}
