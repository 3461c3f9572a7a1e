//! Tokens of the policy language. Comments run from `#` to the end of a line.

use crate::error::{PolicyError, Span};

/// Longest identifier accepted; field and role names are short by nature.
const MAX_IDENT: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    /// A number literal kept as written (`0.01`, `-5`), parsed per field type later.
    Number(String),
    /// Letters and digits starting with a digit and holding a letter (a key
    /// id in hex): never a valid name or number, so no policy that parsed
    /// before reads differently.
    Word(String),
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    /// `..=`, the inclusive range operator.
    RangeTo,
    Le,
    Ge,
    Lt,
    Gt,
    EqEq,
    Plus,
    /// `# …` to the end of the line, text without the `#`. The parser keeps
    /// comments on the items they annotate so `fmt` can put them back.
    Comment(String),
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Number(n) => format!("number `{n}`"),
            Tok::Word(w) => format!("`{w}`"),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Colon => "`:`".into(),
            Tok::RangeTo => "`..=`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Gt => "`>`".into(),
            Tok::EqEq => "`==`".into(),
            Tok::Plus => "`+`".into(),
            Tok::Comment(_) => "a comment".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

pub fn lex(src: &str) -> Result<Vec<Token>, PolicyError> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut col) = (0usize, 1u32, 1u32);
    while let Some(&c) = chars.get(i) {
        let start = Span { line, col, len: 1 };
        let single = match c {
            '\n' => {
                i += 1;
                line += 1;
                col = 1;
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                col += 1;
                continue;
            }
            '#' => {
                let begin = i;
                while chars.get(i).is_some_and(|&c| c != '\n') {
                    i += 1;
                }
                let text: String = chars.get(begin + 1..i).unwrap_or_default().iter().collect();
                let len = (i - begin) as u32;
                out.push(Token {
                    tok: Tok::Comment(text.trim_end().to_owned()),
                    span: Span { len, ..start },
                });
                col += len;
                continue;
            }
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            ',' => Some(Tok::Comma),
            ':' => Some(Tok::Colon),
            '+' => Some(Tok::Plus),
            // `<=` and `>=` are two-character operators, lexed below.
            '<' if chars.get(i + 1) != Some(&'=') => Some(Tok::Lt),
            '>' if chars.get(i + 1) != Some(&'=') => Some(Tok::Gt),
            _ => None,
        };
        let double = match (c, chars.get(i + 1).copied()) {
            ('<', Some('=')) => Some(Tok::Le),
            ('>', Some('=')) => Some(Tok::Ge),
            ('=', Some('=')) => Some(Tok::EqEq),
            _ => None,
        };
        if let Some(tok) = double {
            out.push(Token {
                tok,
                span: Span { len: 2, ..start },
            });
            i += 2;
            col += 2;
            continue;
        }
        if let Some(tok) = single {
            out.push(Token { tok, span: start });
            i += 1;
            col += 1;
            continue;
        }
        let begin = i;
        let tok = if c == '.' {
            if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'=') {
                i += 3;
                Tok::RangeTo
            } else {
                return Err(PolicyError::new(start, "unexpected `.`")
                    .with_help("ranges are written `lo ..= hi`"));
            }
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            i += 1;
            while chars.get(i).is_some_and(|&d| {
                d.is_ascii_digit()
                    || (d == '.' && chars.get(i + 1).is_some_and(|e| e.is_ascii_digit()))
            }) {
                i += 1;
            }
            if chars.get(i).is_some_and(|d| d.is_ascii_alphabetic()) && c != '-' {
                while chars.get(i).is_some_and(|d| d.is_ascii_alphanumeric()) {
                    i += 1;
                }
                Tok::Word(chars.get(begin..i).unwrap_or_default().iter().collect())
            } else {
                Tok::Number(chars.get(begin..i).unwrap_or_default().iter().collect())
            }
        } else if c.is_ascii_alphabetic() || c == '_' {
            while chars
                .get(i)
                .is_some_and(|&d| d.is_ascii_alphanumeric() || d == '_' || d == '-')
            {
                i += 1;
            }
            let word: String = chars.get(begin..i).unwrap_or_default().iter().collect();
            if word.len() > MAX_IDENT {
                return Err(PolicyError::new(
                    Span {
                        len: word.len() as u32,
                        ..start
                    },
                    format!("name is longer than {MAX_IDENT} characters"),
                ));
            }
            Tok::Ident(word)
        } else {
            return Err(PolicyError::new(
                start,
                format!("unexpected character `{}`", c.escape_debug()),
            ));
        };
        let len = (i - begin) as u32;
        out.push(Token {
            tok,
            span: Span { len, ..start },
        });
        col += len;
    }
    Ok(out)
}
