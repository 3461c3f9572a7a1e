//! Strict JSON: what the gateway reads from a request body.
//!
//! `serde_json` lets the last of two equal keys win, so a reviewer shown the
//! first value is misled about what was sealed. Here a duplicate key, a lone
//! UTF-16 surrogate and a number no JSON value can hold are each refused with
//! the path of the member (`record.amount`, `items[2]`) and the rule broken;
//! an error never carries a value. Numbers inside range are kept as
//! `serde_json` holds them (`i64`, `u64`, else `f64`): whether a field
//! accepts one is the schema's call ([`crate::Plan::validate_record`]), which
//! names the field too.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a body is not strict JSON: where, which rule, and the position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{rule} (line {line}, column {column})", if path.is_empty() { String::new() } else { format!("`{path}`: ") })]
pub struct StrictError {
    /// Dotted path of the member, `""` for the document itself.
    pub path: String,
    pub rule: String,
    pub line: usize,
    pub column: usize,
}

/// Parses `bytes` as one strict JSON document.
pub fn parse(bytes: &[u8]) -> Result<Value, StrictError> {
    let cx = Context::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Seed { cx: &cx }.deserialize(&mut de).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    parsed.map_err(|e| {
        let (path, rule) = match cx.refused.take() {
            Some(found) => found,
            // A value that is there but not text or not a number names its
            // member; a document that breaks off or runs on (a syntax error)
            // names only its line and column.
            None => match rule_of(&e) {
                (rule, true) => (render(&cx.path.borrow()), rule),
                (rule, false) => (String::new(), rule),
            },
        };
        StrictError {
            path,
            rule,
            line: e.line(),
            column: e.column(),
        }
    })
}

/// Where the parser is, and the rule it refused (set before the error
/// unwinds, so the error keeps the path it happened at).
#[derive(Default)]
struct Context {
    path: RefCell<Vec<Segment>>,
    refused: RefCell<Option<(String, String)>>,
}

enum Segment {
    Key(String),
    Index(usize),
}

/// Longest key shown in a path: keys are names the caller chose, capped.
const MAX_KEY_SHOWN: usize = 64;

fn render(path: &[Segment]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.extend(k.chars().take(MAX_KEY_SHOWN));
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The rule behind a `serde_json` error, in words that carry no value, and
/// whether it is about one member's value (rather than the syntax).
fn rule_of(e: &serde_json::Error) -> (String, bool) {
    let text = e.to_string();
    let known = [
        // serde_json says "lone leading surrogate in hex escape" for any
        // unpaired surrogate, and "unexpected end of hex escape" for a lead
        // surrogate not followed by `\u` (as for a short `\u` escape).
        ("hex escape", "holds a lone UTF-16 surrogate (\\uD800–\\uDFFF unpaired) or an incomplete \\u escape: not text", true),
        ("number out of range", "holds a number outside what a JSON number may be here (finite, at most about 1.8e308)", true),
        ("recursion limit", "nests deeper than 128 levels", true),
        ("invalid escape", "holds an invalid escape sequence", true),
        ("invalid unicode code point", "holds an invalid \\u escape", true),
        ("control character", "holds a control character that must be escaped", true),
        ("EOF", "the document ends before the JSON text does", false),
        ("trailing", "the document has characters after the JSON text", false),
    ];
    known
        .iter()
        .find(|(needle, _, _)| text.contains(needle))
        .map_or_else(
            || ("the document is not valid JSON".to_owned(), false),
            |(_, rule, at_member)| ((*rule).to_owned(), *at_member),
        )
}

#[derive(Clone, Copy)]
struct Seed<'c> {
    cx: &'c Context,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| self.refuse("holds a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            self.cx.path.borrow_mut().push(Segment::Index(out.len()));
            let Some(v) = seq.next_element_seed(self)? else {
                self.cx.path.borrow_mut().pop();
                break;
            };
            self.cx.path.borrow_mut().pop();
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let duplicate = out.contains_key(&key);
            self.cx.path.borrow_mut().push(Segment::Key(key.clone()));
            if duplicate {
                return Err(self.refuse(
                    "appears twice in one object: a duplicate key is refused, never resolved",
                ));
            }
            let v = map.next_value_seed(self)?;
            self.cx.path.borrow_mut().pop();
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

impl Seed<'_> {
    fn refuse<E: de::Error>(&self, rule: &str) -> E {
        let path = render(&self.cx.path.borrow());
        *self.cx.refused.borrow_mut() = Some((path, rule.to_owned()));
        E::custom(rule)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn refused(text: &str) -> (String, String) {
        let e = parse(text.as_bytes()).unwrap_err();
        (e.path, e.rule)
    }

    #[test]
    fn a_strict_document_parses_as_serde_json_does() {
        let text =
            r#"{"a":[1,-2,18446744073709551615,1.5,"x\u00e9\ud83d\ude00",true,null],"b":{"c":{}}}"#;
        assert_eq!(
            parse(text.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_path() {
        let (path, rule) = refused(r#"{"record":{"amount":"1.00","amount":"9.00"}}"#);
        assert_eq!(path, "record.amount");
        assert!(rule.contains("twice"), "{rule}");
        let (path, _) = refused(r#"{"a":[{"x":1},{"x":1,"x":2}]}"#);
        assert_eq!(path, "a[1].x");
        let (path, _) = refused(r#"{"p":1,"p":1}"#);
        assert_eq!(path, "p");
    }

    #[test]
    fn lone_surrogates_are_refused_with_their_path() {
        for text in [
            r#"{"record":{"name":"a\ud800"}}"#,
            r#"{"record":{"name":"\udc00b"}}"#,
            r#"{"record":{"name":"\ud800\u0041"}}"#,
        ] {
            let (path, rule) = refused(text);
            assert_eq!(path, "record.name", "{text}");
            assert!(rule.contains("surrogate"), "{text}: {rule}");
        }
    }

    #[test]
    fn numbers_no_json_value_holds_are_refused_with_their_path() {
        let (path, rule) = refused(r#"{"record":{"n":1e400}}"#);
        assert_eq!(path, "record.n");
        assert!(rule.contains("number"), "{rule}");
        let (path, _) = refused(r#"{"record":{"n":[0,-1e999]}}"#);
        assert_eq!(path, "record.n[1]");
    }

    #[test]
    fn errors_never_carry_a_value() {
        let secret = "CANARY-4471";
        for text in [
            format!(r#"{{"{secret}x":"{secret}","{secret}x":1}}"#),
            format!(r#"{{"k":"{secret}\ud800"}}"#),
            format!(r#"{{"k":"{secret}"#),
        ] {
            let e = parse(text.as_bytes()).unwrap_err();
            assert!(!e.rule.contains(secret), "{e}");
            assert!(!e.to_string().contains(&format!("\"{secret}\"")), "{e}");
        }
    }

    #[test]
    fn syntax_errors_keep_line_and_column_and_name_no_member() {
        let e = parse(b"{\n \"a\": }").unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (2, ""));
        let e = parse(b"{\"policy\": ").unwrap_err();
        assert_eq!(e.path, "");
    }
}
