//! Parser: tokens → syntax tree with spans and comments. It checks only the
//! grammar; meaning (types, roles, coverage) is `check`'s job.
//!
//! ```text
//! policy    := 'policy' NAME 'version' INT header* record roles? sets? disclose prove? when*
//! header    := 'ledger' NAME (',' NAME)*  |  'suite' NAME  |  'require' 'encrypt' 'to' '[' NAME,+ ']'
//!            | 'require' 'all' 'fields' 'to' '[' NAME,+ ']'
//!            | 'require' 'proofs' 'on' 'chain'
//!            | 'require' 'key' NAME HEX64       (a circuit's verifying key id)
//!            | 'pad' NAME INT '..=' INT          (padding classes, e.g. `pad pow2 32..=1024`)
//! record    := 'record' '{' (NAME ':' type)* '}'
//! type      := 'string' | 'integer' | 'bool' | 'date' | 'party' | 'bytes'
//!            | 'amount' '(' INT ')' | 'enum' '(' NAME (',' NAME)* ')'
//! roles     := 'roles' '{' NAME* '}'
//! sets      := 'sets' '{' NAME* '}'
//! disclose  := 'disclose' '{' (NAME ':' action (',' action)*)* '}'
//! action    := 'public' | 'drop' | 'pseudonym' | 'commit' | 'submitter'
//!            | 'encrypt' 'to' '[' NAME,+ ']'  |  'range' NUMBER '..=' NUMBER
//!            | 'mask' ('first' INT)? ('last' INT)?
//!            | 'generalize' ('year' | 'month' | 'bucket' NUMBER)
//! prove     := 'prove' '{' predicate* '}'
//! predicate := NAME cmp NAME                        (cmp: <= < >= > ==)
//!            | NAME ('+' NAME)+ '==' NAME
//!            | 'sum' '(' NAME,+ ')' '==' NAME
//!            | NAME 'not'? 'in' NAME
//!            | 'age' '(' NAME ',' NAME ')' '>=' INT
//! when      := 'when' NAME cmp NUMBER '{' (NAME ':' 'encrypt' 'to' '[' NAME,+ ']')* '}'
//! ```

use crate::error::{PolicyError, Span};
use crate::lex::{Tok, Token};

/// The words that start a disclosure.
const ACTION_KINDS: [&str; 9] = [
    "public",
    "drop",
    "pseudonym",
    "commit",
    "encrypt",
    "range",
    "mask",
    "generalize",
    "submitter",
];

/// Upper bounds that keep any input cheap to check.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
pub const MAX_FIELDS: usize = 256;
pub const MAX_LIST: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

/// A syntax node with the comments written above it and after it on its line.
#[derive(Clone, Debug)]
pub struct Item<T> {
    pub leading: Vec<String>,
    pub node: T,
    pub trailing: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Header {
    Ledger(Vec<Name>),
    Suite(Name),
    Require(Vec<Name>, Span),
    /// `require all fields to [...]`: these roles see every field in full.
    SeesAll(Vec<Name>, Span),
    /// `require proofs on chain`: the ledger's contract verifies the predicates.
    OnChain(Span),
    /// `require key CIRCUIT HEX`: proofs of that circuit only under that
    /// verifying key (its id, as written).
    Key {
        circuit: Name,
        key: (String, Span),
        span: Span,
    },
    /// `pad SCHEME MIN..=MAX`: field plaintexts padded to size classes.
    Pad {
        scheme: Name,
        min: (String, Span),
        max: (String, Span),
        span: Span,
    },
}

#[derive(Clone, Debug)]
pub enum TypeExpr {
    Simple(Name),
    Amount { scale: String, span: Span },
    Enum { variants: Vec<Name>, span: Span },
}

#[derive(Clone, Debug)]
pub enum Generalize {
    Year,
    Month,
    Bucket(String),
}

#[derive(Clone, Debug)]
pub enum Action {
    Public(Span),
    Drop(Span),
    Pseudonym(Span),
    Commit(Span),
    EncryptTo(Vec<Name>, Span),
    Range {
        lo: String,
        hi: String,
        span: Span,
        /// Where each bound is written.
        bounds: (Span, Span),
    },
    Mask {
        first: u32,
        last: u32,
        span: Span,
    },
    Generalize(Generalize, Span),
    /// `submitter`: the (public party) field names the submitting institution.
    Submitter(Span),
}

impl Action {
    pub fn span(&self) -> Span {
        match self {
            Action::Public(s)
            | Action::Drop(s)
            | Action::Pseudonym(s)
            | Action::Commit(s)
            | Action::Submitter(s) => *s,
            Action::EncryptTo(_, s)
            | Action::Range { span: s, .. }
            | Action::Mask { span: s, .. }
            | Action::Generalize(_, s) => *s,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub field: Name,
    pub actions: Vec<Action>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CmpOp {
    // Discriminants are part of the canonical plan encoding.
    Le = 1,
    Lt = 2,
    Ge = 3,
    Gt = 4,
    Eq = 5,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Le => "<=",
            CmpOp::Lt => "<",
            CmpOp::Ge => ">=",
            CmpOp::Gt => ">",
            CmpOp::Eq => "==",
        }
    }
}

#[derive(Clone, Debug)]
pub enum PredicateAst {
    Compare {
        left: Name,
        op: CmpOp,
        right: Name,
    },
    /// `a + b == c` (`sum_form` false) or `sum(a, b) == c` (true).
    Sum {
        terms: Vec<Name>,
        total: Name,
        sum_form: bool,
    },
    Member {
        field: Name,
        set: Name,
        negated: bool,
    },
    Age {
        birth: Name,
        at: Name,
        years: (String, Span),
    },
}

#[derive(Clone, Debug)]
pub struct WhenAst {
    pub field: Name,
    pub op: CmpOp,
    pub value: (String, Span),
    pub extra: Vec<Item<(Name, Vec<Name>)>>,
    pub span: Span,
}

/// A block's items, the comments written before the block, and those left
/// before its closing brace.
#[derive(Clone, Debug)]
pub struct Block<T> {
    pub leading: Vec<String>,
    pub items: Vec<Item<T>>,
    pub closing: Vec<String>,
    pub span: Span,
    pub present: bool,
}

impl<T> Default for Block<T> {
    fn default() -> Self {
        Block {
            leading: Vec::new(),
            items: Vec::new(),
            closing: Vec::new(),
            span: Span::default(),
            present: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PolicyAst {
    pub leading: Vec<String>,
    pub id: Name,
    pub version: (String, Span),
    pub id_trailing: Option<String>,
    pub headers: Vec<Item<Header>>,
    pub fields: Block<(Name, TypeExpr)>,
    pub roles: Block<Name>,
    pub sets: Block<Name>,
    pub rules: Block<Rule>,
    pub proofs: Block<PredicateAst>,
    pub whens: Vec<Item<WhenAst>>,
    pub end_comments: Vec<String>,
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    end: Span,
    /// Line of the last significant token consumed (for trailing comments).
    last_line: u32,
}

/// The span from a block's keyword through its `{` when both are on one
/// line (the usual layout), else the keyword's.
fn opening(keyword: Span, brace: Span) -> Span {
    if keyword.line == brace.line && brace.col > keyword.col {
        Span {
            len: brace.col - keyword.col + 1,
            ..keyword
        }
    } else {
        keyword
    }
}

pub fn parse(src: &str) -> Result<PolicyAst, PolicyError> {
    if src.len() > MAX_SOURCE_BYTES {
        return Err(PolicyError::new(
            Span {
                line: 1,
                col: 1,
                len: 1,
            },
            format!("policy file is larger than {MAX_SOURCE_BYTES} bytes"),
        ));
    }
    let toks = crate::lex::lex(src)?;
    let lines = src.lines().count().max(1) as u32;
    let last_len = src.lines().last().map_or(0, |l| l.chars().count()) as u32;
    let mut p = Parser {
        toks,
        pos: 0,
        end: Span {
            line: lines,
            col: last_len + 1,
            len: 1,
        },
        last_line: 0,
    };
    p.policy()
}

impl Parser {
    /// Comments before the next significant token.
    fn comments(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(Token {
            tok: Tok::Comment(c),
            ..
        }) = self.toks.get(self.pos)
        {
            out.push(c.clone());
            self.pos += 1;
        }
        out
    }

    /// A comment on the same line as the last token consumed.
    fn trailing(&mut self) -> Option<String> {
        match self.toks.get(self.pos) {
            Some(Token {
                tok: Tok::Comment(c),
                span,
            }) if span.line == self.last_line => {
                let c = c.clone();
                self.pos += 1;
                Some(c)
            }
            _ => None,
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.toks
            .get(self.pos..)
            .unwrap_or(&[])
            .iter()
            .find(|t| !matches!(t.tok, Tok::Comment(_)))
    }

    fn bump(&mut self) {
        while let Some(Token {
            tok: Tok::Comment(_),
            ..
        }) = self.toks.get(self.pos)
        {
            self.pos += 1;
        }
        if let Some(t) = self.toks.get(self.pos) {
            self.last_line = t.span.line;
        }
        self.pos += 1;
    }

    fn here(&self) -> Span {
        self.peek().map_or(self.end, |t| t.span)
    }

    fn unexpected(&self, wanted: &str) -> PolicyError {
        match self.peek() {
            Some(t) => PolicyError::new(
                t.span,
                format!("expected {wanted}, found {}", t.tok.describe()),
            ),
            None => PolicyError::new(
                self.end,
                format!("expected {wanted}, found the end of the file"),
            ),
        }
    }

    fn at(&self, tok: &Tok) -> bool {
        self.peek().is_some_and(|t| &t.tok == tok)
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.at(tok) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<Span, PolicyError> {
        let span = self.here();
        if self.eat(&tok) {
            Ok(span)
        } else {
            Err(self.unexpected(&tok.describe()))
        }
    }

    fn name(&mut self, what: &str) -> Result<Name, PolicyError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Ident(s),
                span,
            }) => {
                let n = Name {
                    text: s.clone(),
                    span: *span,
                };
                self.bump();
                Ok(n)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(s), .. }) if s == kw)
    }

    fn keyword(&mut self, kw: &str) -> Result<Span, PolicyError> {
        if self.at_keyword(kw) {
            let span = self.here();
            self.bump();
            Ok(span)
        } else {
            Err(self.unexpected(&format!("`{kw}`")))
        }
    }

    fn number(&mut self, what: &str) -> Result<(String, Span), PolicyError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Number(n),
                span,
            }) => {
                let out = (n.clone(), *span);
                self.bump();
                Ok(out)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// A key id as written: hex reads as a word, a name or (all digits) a
    /// number; `check` says whether it is 64 hex digits.
    fn key_id(&mut self) -> Result<(String, Span), PolicyError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Word(w) | Tok::Ident(w) | Tok::Number(w),
                span,
            }) => {
                let out = (w.clone(), *span);
                self.bump();
                Ok(out)
            }
            _ => Err(self.unexpected("a verifying key id (64 hex digits)")),
        }
    }

    fn count(&mut self, what: &str) -> Result<u32, PolicyError> {
        let (n, span) = self.number(what)?;
        n.parse()
            .map_err(|_| PolicyError::new(span, format!("{what} must be a whole number")))
    }

    fn list(&mut self, what: &str) -> Result<Vec<Name>, PolicyError> {
        self.expect(Tok::LBracket)?;
        let mut out = vec![self.name(what)?];
        while self.eat(&Tok::Comma) {
            if out.len() >= MAX_LIST {
                return Err(PolicyError::new(
                    self.here(),
                    format!("a list has at most {MAX_LIST} entries"),
                ));
            }
            out.push(self.name(what)?);
        }
        self.expect(Tok::RBracket)?;
        Ok(out)
    }

    /// The `n`th significant token from here (0 is [`Parser::peek`]).
    fn peek_nth(&self, n: usize) -> Option<&Token> {
        self.toks
            .get(self.pos..)
            .unwrap_or(&[])
            .iter()
            .filter(|t| !matches!(t.tok, Tok::Comment(_)))
            .nth(n)
    }

    /// The keyword of a top-level section starting here: `record {`,
    /// `roles {`, `sets {`, `disclose {`, `prove {`, or `when FIELD OP`. A
    /// field or role that happens to bear such a name is followed by `:`,
    /// a name or `}`, so it is not mistaken for one.
    fn section_start(&self) -> Option<(&str, Span)> {
        let Some(Token {
            tok: Tok::Ident(kw),
            span,
        }) = self.peek_nth(0)
        else {
            return None;
        };
        let next = self.peek_nth(1).map(|t| &t.tok);
        let starts = match kw.as_str() {
            "record" | "roles" | "sets" | "disclose" | "prove" => next == Some(&Tok::LBrace),
            "when" => {
                matches!(next, Some(Tok::Ident(_)))
                    && matches!(
                        self.peek_nth(2).map(|t| &t.tok),
                        Some(Tok::Le | Tok::Lt | Tok::Ge | Tok::Gt | Tok::EqEq)
                    )
            }
            _ => false,
        };
        starts.then_some((kw.as_str(), *span))
    }

    /// The error for a block opened at `open` (its keyword and brace) whose
    /// `}` never comes: reported at the opening, where the fix is decided,
    /// rather than at whatever the parser trips over next.
    fn unclosed(&self, kw: &str, open: Span) -> Option<PolicyError> {
        match (self.section_start(), self.peek()) {
            (Some((next, at)), _) => Some(
                PolicyError::new(
                    open,
                    format!(
                        "the `{kw}` block is not closed: `{next}` on line {} starts before its `}}`",
                        at.line
                    ),
                )
                .with_help(format!(
                    "add `}}` after the block's last entry, before line {}",
                    at.line
                )),
            ),
            (None, None) => Some(
                PolicyError::new(
                    open,
                    format!("the `{kw}` block is not closed: the file ends before its `}}`"),
                )
                .with_help("add `}` after the block's last entry"),
            ),
            (None, Some(_)) => None,
        }
    }

    /// After a rule's disclosures: a disclosure keyword on the same line,
    /// not starting a rule of its own (`name:`), is the next disclosure with
    /// its comma left out (`public encrypt to [regulator]`). Said here, at
    /// the keyword, instead of "expected `:`" one token later.
    fn missing_comma(&self, field: &Name, actions: &[Action]) -> Result<(), PolicyError> {
        let Some(Token {
            tok: Tok::Ident(word),
            span,
        }) = self.peek_nth(0)
        else {
            return Ok(());
        };
        let same_line = span.line == self.last_line;
        let starts_rule = self.peek_nth(1).is_some_and(|t| t.tok == Tok::Colon);
        if !same_line || starts_rule || !ACTION_KINDS.contains(&word.as_str()) {
            return Ok(());
        }
        let written: Vec<String> = actions.iter().map(crate::fmt::action_text).collect();
        let before = written.last().map_or("", String::as_str);
        let after = match word.as_str() {
            "encrypt" => "encrypt to [...]",
            "range" => "range lo ..= hi",
            w => w,
        };
        Err(PolicyError::new(
            *span,
            format!("missing `,` between `{before}` and `{word}`"),
        )
        .with_help(format!(
            "separate a field's disclosures with commas: `{}: {}, {after}`",
            field.text,
            written.join(", ")
        )))
    }

    fn cmp(&mut self) -> Option<CmpOp> {
        let op = match self.peek().map(|t| &t.tok) {
            Some(Tok::Le) => CmpOp::Le,
            Some(Tok::Lt) => CmpOp::Lt,
            Some(Tok::Ge) => CmpOp::Ge,
            Some(Tok::Gt) => CmpOp::Gt,
            Some(Tok::EqEq) => CmpOp::Eq,
            _ => return None,
        };
        self.bump();
        Some(op)
    }

    fn policy(&mut self) -> Result<PolicyAst, PolicyError> {
        let leading = self.comments();
        self.keyword("policy")?;
        let id = self.name("a policy name")?;
        self.keyword("version")?;
        let version = self.number("a version number")?;
        let id_trailing = self.trailing();
        let mut headers = Vec::new();
        loop {
            let save = self.pos;
            let leading = self.comments();
            let node = if self.at_keyword("ledger") {
                self.bump();
                let mut names = vec![self.name("a ledger name")?];
                while self.eat(&Tok::Comma) {
                    names.push(self.name("a ledger name")?);
                }
                Header::Ledger(names)
            } else if self.at_keyword("suite") {
                self.bump();
                Header::Suite(self.name("a crypto suite name")?)
            } else if self.at_keyword("pad") {
                let span = self.here();
                self.bump();
                let scheme = self.name("a padding scheme, e.g. `pow2`")?;
                let min = self.number("the smallest padding class in bytes")?;
                self.expect(Tok::RangeTo)?;
                let max = self.number("the largest padding class in bytes")?;
                Header::Pad {
                    scheme,
                    min,
                    max,
                    span,
                }
            } else if self.at_keyword("require") {
                let span = self.here();
                self.bump();
                if self.at_keyword("proofs") {
                    self.bump();
                    self.keyword("on")?;
                    self.keyword("chain")?;
                    Header::OnChain(span)
                } else if self.at_keyword("all") {
                    self.bump();
                    self.keyword("fields")?;
                    self.keyword("to")?;
                    Header::SeesAll(self.list("a role name")?, span)
                } else if self.at_keyword("key") {
                    self.bump();
                    let circuit = self.name("a circuit id, e.g. `compare64-v1`")?;
                    let key = self.key_id()?;
                    Header::Key { circuit, key, span }
                } else {
                    self.keyword("encrypt")?;
                    self.keyword("to")?;
                    Header::Require(self.list("a role name")?, span)
                }
            } else {
                self.pos = save;
                break;
            };
            let trailing = self.trailing();
            headers.push(Item {
                leading,
                node,
                trailing,
            });
        }
        let fields = self.block("record", |p| {
            let name = p.name("a field name or `}`")?;
            p.expect(Tok::Colon)?;
            let ty = p.type_expr()?;
            Ok((name, ty))
        })?;
        let roles = self.optional_block("roles", |p| p.name("a role name or `}`"))?;
        let sets = self.optional_block("sets", |p| p.name("a set name or `}`"))?;
        let rules = self.block("disclose", |p| {
            let field = p.name("a field name or `}`")?;
            p.expect(Tok::Colon)?;
            let mut actions = vec![p.action()?];
            while p.eat(&Tok::Comma) {
                if actions.len() >= 8 {
                    return Err(PolicyError::new(p.here(), "too many actions for one field"));
                }
                actions.push(p.action()?);
            }
            p.missing_comma(&field, &actions)?;
            Ok(Rule { field, actions })
        })?;
        let proofs = self.optional_block("prove", Parser::predicate)?;
        let mut whens = Vec::new();
        loop {
            let save = self.pos;
            let leading = self.comments();
            if !self.at_keyword("when") {
                self.pos = save;
                break;
            }
            let span = self.here();
            self.bump();
            let field = self.name("a field name")?;
            let op = self
                .cmp()
                .ok_or_else(|| self.unexpected("a comparison (`<=`, `<`, `>=`, `>`, `==`)"))?;
            let value = self.number("a number")?;
            let trailing = self.trailing();
            let brace = self.expect(Tok::LBrace)?;
            let open = opening(span, brace);
            let mut extra = Vec::new();
            loop {
                let leading = self.comments();
                if self.eat(&Tok::RBrace) {
                    break;
                }
                if let Some(e) = self.unclosed("when", open) {
                    return Err(e);
                }
                let f = self.name("a field name or `}`")?;
                self.expect(Tok::Colon)?;
                self.keyword("encrypt")?;
                self.keyword("to")?;
                let roles = self.list("a role name")?;
                let trailing = self.trailing();
                extra.push(Item {
                    leading,
                    node: (f, roles),
                    trailing,
                });
                if extra.len() > MAX_FIELDS {
                    return Err(PolicyError::new(
                        self.here(),
                        format!("at most {MAX_FIELDS} rules"),
                    ));
                }
            }
            whens.push(Item {
                leading,
                node: WhenAst {
                    field,
                    op,
                    value,
                    extra,
                    span,
                },
                trailing,
            });
            if whens.len() > MAX_LIST {
                return Err(PolicyError::new(
                    span,
                    format!("at most {MAX_LIST} `when` blocks"),
                ));
            }
        }
        let end_comments = self.comments();
        if let Some(t) = self.peek() {
            return Err(PolicyError::new(
                t.span,
                format!("unexpected {} at the end of the policy", t.tok.describe()),
            ));
        }
        Ok(PolicyAst {
            leading,
            id,
            version,
            id_trailing,
            headers,
            fields,
            roles,
            sets,
            rules,
            proofs,
            whens,
            end_comments,
        })
    }

    fn optional_block<T>(
        &mut self,
        kw: &str,
        item: impl FnMut(&mut Parser) -> Result<T, PolicyError>,
    ) -> Result<Block<T>, PolicyError> {
        let save = self.pos;
        self.comments();
        let present = self.at_keyword(kw);
        self.pos = save;
        if present {
            self.block(kw, item)
        } else {
            Ok(Block::default())
        }
    }

    fn block<T>(
        &mut self,
        kw: &str,
        mut item: impl FnMut(&mut Parser) -> Result<T, PolicyError>,
    ) -> Result<Block<T>, PolicyError> {
        let leading = self.comments();
        let span = self.keyword(kw)?;
        let brace = self.expect(Tok::LBrace)?;
        let open = opening(span, brace);
        let mut items = Vec::new();
        loop {
            let save = self.pos;
            let comments = self.comments();
            if self.eat(&Tok::RBrace) {
                return Ok(Block {
                    leading,
                    items,
                    closing: comments,
                    span,
                    present: true,
                });
            }
            if let Some(e) = self.unclosed(kw, open) {
                return Err(e);
            }
            self.pos = save;
            let leading = self.comments();
            if items.len() >= MAX_FIELDS {
                return Err(PolicyError::new(
                    self.here(),
                    format!("a block has at most {MAX_FIELDS} entries"),
                ));
            }
            let node = item(self)?;
            let trailing = self.trailing();
            items.push(Item {
                leading,
                node,
                trailing,
            });
        }
    }

    fn type_expr(&mut self) -> Result<TypeExpr, PolicyError> {
        let name = self.name("a type")?;
        match name.text.as_str() {
            "amount" => {
                self.expect(Tok::LParen)?;
                let (scale, span) = self.number("the number of decimal places")?;
                self.expect(Tok::RParen)?;
                Ok(TypeExpr::Amount { scale, span })
            }
            "enum" => {
                self.expect(Tok::LParen)?;
                let mut variants = vec![self.name("an enum value")?];
                while self.eat(&Tok::Comma) {
                    if variants.len() >= MAX_LIST {
                        return Err(PolicyError::new(
                            self.here(),
                            format!("an enum has at most {MAX_LIST} values"),
                        ));
                    }
                    variants.push(self.name("an enum value")?);
                }
                self.expect(Tok::RParen)?;
                Ok(TypeExpr::Enum {
                    variants,
                    span: name.span,
                })
            }
            other if self.at(&Tok::LParen) => {
                // `amont(2)`: a misspelt parameterised type, not a missing `}`.
                let e = PolicyError::new(name.span, format!("unknown type `{other}`"));
                Err(match crate::error::suggest(other, ["amount", "enum"]) {
                    Some(h) => e.with_help(h),
                    None => {
                        e.with_help("only `amount(scale)` and `enum(A, B, ...)` take arguments")
                    }
                })
            }
            _ => Ok(TypeExpr::Simple(name)),
        }
    }

    fn action(&mut self) -> Result<Action, PolicyError> {
        const KINDS: [&str; 9] = ACTION_KINDS;
        let (text, span) = match self.peek() {
            Some(Token { tok: Tok::Ident(s), span }) => (s.clone(), *span),
            _ => return Err(self.unexpected("a disclosure (`public`, `drop`, `pseudonym`, `commit`, `mask`, `generalize`, `encrypt to [...]`, `range lo ..= hi`)")),
        };
        if !KINDS.contains(&text.as_str()) {
            let e = PolicyError::new(span, format!("unknown disclosure `{text}`"));
            return Err(match crate::error::suggest(&text, KINDS) {
                Some(h) => e.with_help(h),
                None => e.with_help("one of `public`, `drop`, `pseudonym`, `commit`, `mask`, `generalize`, `encrypt to [...]`, `range lo ..= hi`"),
            });
        }
        self.bump();
        Ok(match text.as_str() {
            "public" => Action::Public(span),
            "drop" => Action::Drop(span),
            "pseudonym" => Action::Pseudonym(span),
            "commit" => Action::Commit(span),
            "submitter" => Action::Submitter(span),
            "encrypt" => {
                self.keyword("to")?;
                Action::EncryptTo(self.list("a role name")?, span)
            }
            "range" => {
                let (lo, lo_span) = self.number("the lower bound of the range")?;
                self.expect(Tok::RangeTo)?;
                let (hi, hi_span) = self.number("the upper bound of the range")?;
                Action::Range {
                    lo,
                    hi,
                    span,
                    bounds: (lo_span, hi_span),
                }
            }
            "mask" => {
                let (mut first, mut last) = (0, 0);
                if self.at_keyword("first") {
                    self.bump();
                    first = self.count("the number of leading characters kept")?;
                }
                if self.at_keyword("last") {
                    self.bump();
                    last = self.count("the number of trailing characters kept")?;
                }
                Action::Mask { first, last, span }
            }
            _ => {
                let g = if self.at_keyword("year") {
                    self.bump();
                    Generalize::Year
                } else if self.at_keyword("month") {
                    self.bump();
                    Generalize::Month
                } else if self.at_keyword("bucket") {
                    self.bump();
                    Generalize::Bucket(self.number("the bucket width")?.0)
                } else {
                    return Err(self.unexpected("`year`, `month` or `bucket WIDTH`"));
                };
                Action::Generalize(g, span)
            }
        })
    }

    fn predicate(&mut self) -> Result<PredicateAst, PolicyError> {
        if self.at_keyword("sum") {
            self.bump();
            self.expect(Tok::LParen)?;
            let mut terms = vec![self.name("a field name")?];
            while self.eat(&Tok::Comma) {
                terms.push(self.name("a field name")?);
            }
            self.expect(Tok::RParen)?;
            self.expect(Tok::EqEq)?;
            let total = self.name("a field name")?;
            return Ok(PredicateAst::Sum {
                terms,
                total,
                sum_form: true,
            });
        }
        if self.at_keyword("age") {
            self.bump();
            self.expect(Tok::LParen)?;
            let birth = self.name("the birth date field")?;
            self.expect(Tok::Comma)?;
            let at = self.name("the public date the age is taken at")?;
            self.expect(Tok::RParen)?;
            self.expect(Tok::Ge)?;
            let years = self.number("a number of years")?;
            return Ok(PredicateAst::Age { birth, at, years });
        }
        let left = self.name("a predicate or `}`")?;
        if self.at(&Tok::Plus) {
            let mut terms = vec![left];
            while self.eat(&Tok::Plus) {
                terms.push(self.name("a field name")?);
            }
            self.expect(Tok::EqEq)?;
            let total = self.name("a field name")?;
            return Ok(PredicateAst::Sum {
                terms,
                total,
                sum_form: false,
            });
        }
        let negated = if self.at_keyword("not") {
            self.bump();
            true
        } else {
            false
        };
        if self.at_keyword("in") {
            self.bump();
            let set = self.name("a set name")?;
            return Ok(PredicateAst::Member {
                field: left,
                set,
                negated,
            });
        }
        if negated {
            return Err(self.unexpected("`in`"));
        }
        let op = self
            .cmp()
            .ok_or_else(|| self.unexpected("a comparison, `+`, or `in`"))?;
        let right = self.name("a field name")?;
        Ok(PredicateAst::Compare { left, op, right })
    }
}
