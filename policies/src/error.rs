//! Policy errors with a position, rendered with the source line and a caret:
//! [`PolicyError`] is one diagnostic, [`Diagnostics`] every one a policy file
//! has, in file order.

use std::fmt;
use std::ops::Deref;

/// A 1-based line and column, and the length of the offending text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

/// One problem in a policy file. `message` is lowercase and names the input in
/// backticks; `help` carries a suggestion where one is obvious.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
}

impl PolicyError {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Self {
        PolicyError {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Renders the error the way a compiler does:
    ///
    /// ```text
    /// error: unknown role `payee_bnk`
    ///   --> interbank-payment.policy:24:49
    ///    |
    /// 24 |   remittance: encrypt to [payee_bnk]
    ///    |                           ^^^^^^^^^
    ///    = help: did you mean `payee_bank`?
    /// ```
    pub fn render(&self, file: &str, source: &str) -> String {
        let line_no = self.span.line.max(1);
        let text = source.lines().nth((line_no - 1) as usize).unwrap_or("");
        let gutter = " ".repeat(line_no.to_string().len());
        let caret_pad: String = text
            .chars()
            .take(self.span.col.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let carets = "^".repeat(self.span.len.max(1) as usize);
        let mut out = format!(
            "error: {}\n{gutter}--> {file}:{}:{}\n{gutter} |\n{line_no} | {text}\n{gutter} | {caret_pad}{carets}\n",
            self.message, line_no, self.span.col
        );
        if let Some(help) = &self.help {
            out.push_str(&format!("{gutter} = help: {help}\n"));
        }
        out
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.span.line, self.span.col, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Every problem found in a policy file, ordered by position; never empty.
///
/// It dereferences to the first diagnostic, so a caller that wants a single
/// message (`e.message`, `e.span`, as callers wrote when `compile` returned
/// one [`PolicyError`]) gets the one nearest the top of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics {
    // Split so that "never empty" is a fact of the type, not a promise.
    first: PolicyError,
    rest: Vec<PolicyError>,
}

impl Diagnostics {
    /// Sorts `all` by line and column; diagnostics at the same position keep
    /// the order they were found in. `None` when there is nothing to report.
    pub(crate) fn new(mut all: Vec<PolicyError>) -> Option<Self> {
        all.sort_by_key(|e| (e.span.line, e.span.col));
        let mut all = all.into_iter();
        let first = all.next()?;
        Some(Diagnostics {
            first,
            rest: all.collect(),
        })
    }

    /// The diagnostics in file order.
    pub fn iter(&self) -> impl Iterator<Item = &PolicyError> {
        self.into_iter()
    }

    /// How many diagnostics there are: at least one.
    #[allow(clippy::len_without_is_empty)] // never empty, by construction
    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Renders every diagnostic as [`PolicyError::render`] does, separated by
    /// blank lines, then a count when there is more than one. A single
    /// diagnostic renders exactly as [`PolicyError::render`].
    pub fn render(&self, file: &str, source: &str) -> String {
        let mut out = self.first.render(file, source);
        for e in &self.rest {
            out.push('\n');
            out.push_str(&e.render(file, source));
        }
        if !self.rest.is_empty() {
            out.push_str(&format!(
                "\nerror: could not compile policy: {} errors\n",
                self.len()
            ));
        }
        out
    }
}

impl From<PolicyError> for Diagnostics {
    fn from(e: PolicyError) -> Self {
        Diagnostics {
            first: e,
            rest: Vec::new(),
        }
    }
}

impl Deref for Diagnostics {
    type Target = PolicyError;

    fn deref(&self) -> &PolicyError {
        &self.first
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a PolicyError;
    type IntoIter =
        std::iter::Chain<std::iter::Once<&'a PolicyError>, std::slice::Iter<'a, PolicyError>>;

    fn into_iter(self) -> Self::IntoIter {
        std::iter::once(&self.first).chain(self.rest.iter())
    }
}

/// `line:col: message` for one diagnostic (as [`PolicyError`] prints), the
/// same joined by `; ` for several.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first)?;
        for e in &self.rest {
            write!(f, "; {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest candidate by edit distance, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(word, c);
        if d <= (word.len().max(3) / 3).max(1) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = sub.min(del).min(ins);
            }
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}
