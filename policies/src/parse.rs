//! Parser: tokens → syntax tree with spans. It checks only the grammar; meaning
//! (types, roles, coverage) is `check`'s job.
//!
//! ```text
//! policy   := 'policy' NAME 'version' INT 'ledger' NAME ('suite' NAME)?
//!             record roles? disclose
//! record   := 'record' '{' (NAME ':' type)* '}'
//! type     := 'string' | 'integer' | 'bool' | 'date' | 'party'
//!           | 'amount' '(' INT ')' | 'enum' '(' NAME (',' NAME)* ')'
//! roles    := 'roles' '{' NAME* '}'
//! disclose := 'disclose' '{' (NAME ':' action (',' action)*)* '}'
//! action   := 'public' | 'drop' | 'pseudonym' | 'commit'
//!           | 'encrypt' 'to' '[' NAME (',' NAME)* ']'
//!           | 'range' NUMBER '..=' NUMBER
//! ```

use crate::error::{PolicyError, Span};
use crate::lex::{Tok, Token};

/// Upper bounds that keep any input cheap to check.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
pub const MAX_FIELDS: usize = 256;
pub const MAX_LIST: usize = 64;

#[derive(Clone, Debug)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TypeExpr {
    Simple(Name),
    Amount { scale: String, span: Span },
    Enum { variants: Vec<Name>, span: Span },
}

#[derive(Clone, Debug)]
pub enum Action {
    Public(Span),
    Drop(Span),
    Pseudonym(Span),
    Commit(Span),
    EncryptTo(Vec<Name>, Span),
    Range { lo: String, hi: String, span: Span },
}

impl Action {
    pub fn span(&self) -> Span {
        match self {
            Action::Public(s) | Action::Drop(s) | Action::Pseudonym(s) | Action::Commit(s) => *s,
            Action::EncryptTo(_, s) | Action::Range { span: s, .. } => *s,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub field: Name,
    pub actions: Vec<Action>,
}

#[derive(Clone, Debug)]
pub struct PolicyAst {
    pub id: Name,
    pub version: (String, Span),
    pub ledger: Name,
    pub suite: Option<Name>,
    pub fields: Vec<(Name, TypeExpr)>,
    pub roles: Vec<Name>,
    pub rules: Vec<Rule>,
    pub rules_span: Span,
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    end: Span,
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
    };
    p.policy()
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
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

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek().is_some_and(|t| &t.tok == tok) {
            self.pos += 1;
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
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn keyword(&mut self, kw: &str) -> Result<Span, PolicyError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Ident(s),
                span,
            }) if s == kw => {
                let span = *span;
                self.pos += 1;
                Ok(span)
            }
            _ => Err(self.unexpected(&format!("`{kw}`"))),
        }
    }

    fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(s), .. }) if s == kw)
    }

    fn number(&mut self, what: &str) -> Result<(String, Span), PolicyError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Number(n),
                span,
            }) => {
                let out = (n.clone(), *span);
                self.pos += 1;
                Ok(out)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn policy(&mut self) -> Result<PolicyAst, PolicyError> {
        self.keyword("policy")?;
        let id = self.name("a policy name")?;
        self.keyword("version")?;
        let version = self.number("a version number")?;
        self.keyword("ledger")?;
        let ledger = self.name("a ledger name")?;
        let suite = if self.at_keyword("suite") {
            self.pos += 1;
            Some(self.name("a crypto suite name")?)
        } else {
            None
        };
        let fields = self.record()?;
        let roles = if self.at_keyword("roles") {
            self.roles()?
        } else {
            Vec::new()
        };
        let (rules, rules_span) = self.disclose()?;
        if let Some(t) = self.peek() {
            return Err(PolicyError::new(
                t.span,
                format!("unexpected {} after the `disclose` block", t.tok.describe()),
            ));
        }
        Ok(PolicyAst {
            id,
            version,
            ledger,
            suite,
            fields,
            roles,
            rules,
            rules_span,
        })
    }

    fn record(&mut self) -> Result<Vec<(Name, TypeExpr)>, PolicyError> {
        self.keyword("record")?;
        self.expect(Tok::LBrace)?;
        let mut fields = Vec::new();
        while !self.eat(&Tok::RBrace) {
            if fields.len() >= MAX_FIELDS {
                return Err(PolicyError::new(
                    self.here(),
                    format!("a record has at most {MAX_FIELDS} fields"),
                ));
            }
            let name = self.name("a field name or `}`")?;
            self.expect(Tok::Colon)?;
            let ty = self.type_expr()?;
            fields.push((name, ty));
        }
        Ok(fields)
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
            other if self.peek().is_some_and(|t| t.tok == Tok::LParen) => {
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

    fn roles(&mut self) -> Result<Vec<Name>, PolicyError> {
        self.keyword("roles")?;
        self.expect(Tok::LBrace)?;
        let mut roles = Vec::new();
        while !self.eat(&Tok::RBrace) {
            if roles.len() >= MAX_LIST {
                return Err(PolicyError::new(
                    self.here(),
                    format!("at most {MAX_LIST} roles"),
                ));
            }
            roles.push(self.name("a role name or `}`")?);
        }
        Ok(roles)
    }

    fn disclose(&mut self) -> Result<(Vec<Rule>, Span), PolicyError> {
        let span = self.keyword("disclose")?;
        self.expect(Tok::LBrace)?;
        let mut rules = Vec::new();
        while !self.eat(&Tok::RBrace) {
            if rules.len() >= MAX_FIELDS {
                return Err(PolicyError::new(
                    self.here(),
                    format!("at most {MAX_FIELDS} rules"),
                ));
            }
            let field = self.name("a field name or `}`")?;
            self.expect(Tok::Colon)?;
            let mut actions = vec![self.action()?];
            while self.eat(&Tok::Comma) {
                if actions.len() >= 8 {
                    return Err(PolicyError::new(
                        self.here(),
                        "too many actions for one field",
                    ));
                }
                actions.push(self.action()?);
            }
            rules.push(Rule { field, actions });
        }
        Ok((rules, span))
    }

    fn action(&mut self) -> Result<Action, PolicyError> {
        const WANTED: &str = "a disclosure (`public`, `drop`, `pseudonym`, `commit`, `encrypt to [...]`, `range lo ..= hi`)";
        let word = match self.peek() {
            Some(Token {
                tok: Tok::Ident(s),
                span,
            }) => (s.clone(), *span),
            _ => return Err(self.unexpected(WANTED)),
        };
        let (text, span) = word;
        let action = match text.as_str() {
            "public" => Action::Public(span),
            "drop" => Action::Drop(span),
            "pseudonym" => Action::Pseudonym(span),
            "commit" => Action::Commit(span),
            "encrypt" => {
                self.pos += 1;
                self.keyword("to")?;
                self.expect(Tok::LBracket)?;
                let mut roles = vec![self.name("a role name")?];
                while self.eat(&Tok::Comma) {
                    if roles.len() >= MAX_LIST {
                        return Err(PolicyError::new(
                            self.here(),
                            format!("at most {MAX_LIST} recipients"),
                        ));
                    }
                    roles.push(self.name("a role name")?);
                }
                self.expect(Tok::RBracket)?;
                return Ok(Action::EncryptTo(roles, span));
            }
            "range" => {
                self.pos += 1;
                let (lo, _) = self.number("the lower bound of the range")?;
                self.expect(Tok::RangeTo)?;
                let (hi, _) = self.number("the upper bound of the range")?;
                return Ok(Action::Range { lo, hi, span });
            }
            other => {
                let help = crate::error::suggest(
                    other,
                    ["public", "drop", "pseudonym", "commit", "encrypt", "range"],
                );
                let err = PolicyError::new(span, format!("unknown disclosure `{other}`"));
                return Err(match help {
                    Some(h) => err.with_help(h),
                    None => err.with_help("one of `public`, `drop`, `pseudonym`, `commit`, `encrypt to [...]`, `range lo ..= hi`"),
                });
            }
        };
        self.pos += 1;
        Ok(action)
    }
}
