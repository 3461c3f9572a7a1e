//! Business records checked against a plan's schema, and the canonical bytes of
//! each field value (what gets encrypted, pseudonymised or published).
//!
//! Errors name the field and the rule, never the value: a rejected record's
//! content must not reach logs or HTTP responses.

use crate::plan::{Disclosure, FieldType, Generalization, Plan};

/// Longest string value accepted in a record field.
pub const MAX_STRING_BYTES: usize = 4096;

/// One typed field value. `Debug` is redacted; use [`Value::display`] where a
/// value is meant to be shown (the demo, a recipient's own view).
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Date(String),
    Party(String),
    /// Minor units and the scale they are counted at.
    Amount {
        minor: i64,
        scale: u8,
    },
    Enum(String),
    Bytes(Vec<u8>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Value(..)")
    }
}

impl Value {
    /// The value as a person reads it (`1234.56`, `2026-11-25`, …).
    pub fn display(&self) -> String {
        match self {
            Value::Str(s) | Value::Date(s) | Value::Party(s) | Value::Enum(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Amount { minor, scale } => format_decimal(*minor, *scale),
            Value::Bytes(b) => {
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b)
            }
        }
    }

    /// The value as JSON, the inverse of what [`Plan::validate_record`] accepts.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Bool(b) => serde_json::Value::from(*b),
            other => serde_json::Value::from(other.display()),
        }
    }

    /// The integer a commitment is made to, and conditions and predicates
    /// compare: the integer itself, minor units, or days since 1970-01-01.
    pub fn committed_integer(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Amount { minor, .. } => Some(*minor),
            Value::Date(d) => days_from_civil(d),
            _ => None,
        }
    }

    /// The value a `mask` or `generalize` disclosure publishes; `None` for other
    /// disclosures or when the value does not fit (which `validate_record` prevents).
    pub fn derived(&self, disclosure: &Disclosure) -> Option<Value> {
        match (disclosure, self) {
            (Disclosure::Mask { first, last, .. }, Value::Str(s)) => {
                Some(Value::Str(mask(s, *first as usize, *last as usize)))
            }
            (Disclosure::Generalize { how, .. }, v) => match (how, v) {
                (Generalization::Year, Value::Date(d)) => {
                    d.get(..4).and_then(|y| y.parse().ok()).map(Value::Int)
                }
                (Generalization::Month, Value::Date(d)) => {
                    d.get(..7).map(|m| Value::Str(m.to_owned()))
                }
                (Generalization::Bucket(w), Value::Int(i)) => {
                    Some(Value::Int(i.div_euclid(*w) * w))
                }
                (Generalization::Bucket(w), Value::Amount { minor, scale }) => {
                    Some(Value::Amount {
                        minor: minor.div_euclid(*w) * w,
                        scale: *scale,
                    })
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Canonical bytes: a one-byte type tag, then the payload (UTF-8 text,
    /// a big-endian `i64`, or one byte for a bool).
    pub fn encode(&self) -> Vec<u8> {
        let (tag, body): (u8, Vec<u8>) = match self {
            Value::Str(s) => (1, s.as_bytes().to_vec()),
            Value::Int(i) => (2, i.to_be_bytes().to_vec()),
            Value::Bool(b) => (3, vec![u8::from(*b)]),
            Value::Date(s) => (4, s.as_bytes().to_vec()),
            Value::Party(s) => (5, s.as_bytes().to_vec()),
            Value::Amount { minor, .. } => (6, minor.to_be_bytes().to_vec()),
            Value::Enum(s) => (7, s.as_bytes().to_vec()),
            Value::Bytes(b) => (8, b.clone()),
        };
        let mut out = Vec::with_capacity(1 + body.len());
        out.push(tag);
        out.extend_from_slice(&body);
        out
    }

    /// Decodes [`Value::encode`] for a field of type `ty`, re-checking every
    /// rule the record check applies, so a peer can validate public values.
    pub fn decode(ty: &FieldType, bytes: &[u8]) -> Option<Value> {
        let (&tag, body) = bytes.split_first()?;
        if tag != ty.tag() {
            return None;
        }
        let text = || -> Option<String> {
            let s = std::str::from_utf8(body).ok()?;
            (s.len() <= MAX_STRING_BYTES).then(|| s.to_owned())
        };
        let int = || body.try_into().ok().map(i64::from_be_bytes);
        match ty {
            FieldType::String => text().map(Value::Str),
            FieldType::Party => text().filter(|s| valid_party(s)).map(Value::Party),
            FieldType::Date => text().filter(|s| valid_date(s)).map(Value::Date),
            FieldType::Enum(variants) => text().filter(|s| variants.contains(s)).map(Value::Enum),
            FieldType::Integer => int().map(Value::Int),
            FieldType::Amount { scale } => int().map(|minor| Value::Amount {
                minor,
                scale: *scale,
            }),
            FieldType::Bool => match body {
                [0] => Some(Value::Bool(false)),
                [1] => Some(Value::Bool(true)),
                _ => None,
            },
            FieldType::Bytes => {
                (body.len() <= MAX_STRING_BYTES).then(|| Value::Bytes(body.to_vec()))
            }
        }
    }
}

/// A record that passed the schema: one value per plan field, in plan order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub values: Vec<Value>,
}

/// Why a record was refused: which field, which rule. Never the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {rule}")]
pub struct RecordError {
    pub field: String,
    pub rule: String,
}

fn err(field: &str, rule: impl Into<String>) -> RecordError {
    RecordError {
        field: field.to_owned(),
        rule: rule.into(),
    }
}

impl Plan {
    /// Checks a JSON object against the schema: every field present, no field
    /// the schema lacks, each value of its type, committed values inside the
    /// policy's range.
    pub fn validate_record(&self, json: &serde_json::Value) -> Result<Record, RecordError> {
        let obj = json
            .as_object()
            .ok_or_else(|| err("record", "must be a JSON object of field names to values"))?;
        if let Some(unknown) = obj.keys().find(|k| self.field(k).is_none()) {
            // The key is a name the caller chose, not customer data; still cap it.
            let shown: String = unknown.chars().take(64).collect();
            return Err(err(
                &shown,
                format!("is not a field of policy `{}`", self.id),
            ));
        }
        let mut values = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            let raw = obj
                .get(&f.name)
                .ok_or_else(|| err(&f.name, "is required by the policy"))?;
            let v = parse_value(&f.name, &f.ty, raw)?;
            if let (
                Disclosure::Commit {
                    range: Some((lo, hi)),
                    ..
                },
                Some(x),
            ) = (&f.disclosure, v.committed_integer())
            {
                if x < *lo || x > *hi {
                    let scale = match f.ty {
                        FieldType::Amount { scale } => scale,
                        _ => 0,
                    };
                    return Err(err(
                        &f.name,
                        format!(
                            "must lie in the range the policy sets ({} ..= {})",
                            format_decimal(*lo, scale),
                            format_decimal(*hi, scale)
                        ),
                    ));
                }
            }
            values.push(v);
        }
        Ok(Record { values })
    }

    /// The institution `record`'s submitter field names, if the policy has one.
    pub fn submitter_in<'r>(&self, record: &'r Record) -> Option<&'r str> {
        let name = self.submitter.as_deref()?;
        self.fields
            .iter()
            .zip(&record.values)
            .find_map(|(f, v)| match v {
                Value::Party(p) if f.name == name => Some(p.as_str()),
                _ => None,
            })
    }

    /// The policy's `submitter` field must name `institution`, the member
    /// that submits the record: no member writes in another's name.
    pub fn check_submitter(&self, record: &Record, institution: &str) -> Result<(), RecordError> {
        let Some(name) = &self.submitter else {
            return Ok(());
        };
        match self.submitter_in(record) {
            Some(p) if p == institution => Ok(()),
            _ => Err(err(
                name,
                format!(
                    "must name the submitting institution `{institution}`: the policy marks it `submitter`"
                ),
            )),
        }
    }
}

fn parse_value(name: &str, ty: &FieldType, raw: &serde_json::Value) -> Result<Value, RecordError> {
    let text = |what: &str| -> Result<&str, RecordError> {
        let s = raw
            .as_str()
            .ok_or_else(|| err(name, format!("must be {what}")))?;
        if s.len() > MAX_STRING_BYTES {
            return Err(err(
                name,
                format!("must be at most {MAX_STRING_BYTES} bytes"),
            ));
        }
        Ok(s)
    };
    match ty {
        FieldType::String => Ok(Value::Str(text("a string")?.to_owned())),
        FieldType::Party => {
            let s = text("an institution id (a string)")?;
            if !valid_party(s) {
                return Err(err(
                    name,
                    "must be an institution id: 1–64 of `a-z 0-9 - _ .`",
                ));
            }
            Ok(Value::Party(s.to_owned()))
        }
        FieldType::Date => {
            let s = text("a date string `YYYY-MM-DD`")?;
            if !valid_date(s) {
                return Err(err(name, "must be a calendar date `YYYY-MM-DD`"));
            }
            Ok(Value::Date(s.to_owned()))
        }
        FieldType::Enum(variants) => {
            let s = text("a string")?;
            if !variants.iter().any(|v| v == s) {
                return Err(err(name, format!("must be one of {}", variants.join(", "))));
            }
            Ok(Value::Enum(s.to_owned()))
        }
        FieldType::Bytes => {
            let s = text("base64 text")?;
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s)
                .map(Value::Bytes)
                .map_err(|_| err(name, "must be standard base64"))
        }
        FieldType::Bool => raw
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| err(name, "must be true or false")),
        FieldType::Integer => raw
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| err(name, "must be a whole number between -2^63 and 2^63-1")),
        FieldType::Amount { scale } => {
            // Amounts travel as strings: binary floating point cannot hold 0.10 exactly.
            let s = text(&format!(
                "a decimal string with at most {scale} decimal places"
            ))?;
            let minor = parse_decimal(s, *scale).ok_or_else(|| {
                err(
                    name,
                    format!("must be a decimal string with at most {scale} decimal places"),
                )
            })?;
            Ok(Value::Amount {
                minor,
                scale: *scale,
            })
        }
    }
}

/// Keeps the first `first` and last `last` characters, `*` for the rest. A
/// value too short to hide anything is masked whole.
pub fn mask(s: &str, first: usize, last: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= first + last {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < first || i >= chars.len() - last {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

/// Days from 1970-01-01 to a valid `YYYY-MM-DD` (proleptic Gregorian).
pub fn days_from_civil(date: &str) -> Option<i64> {
    if !valid_date(date) {
        return None;
    }
    let y: i64 = date.get(0..4)?.parse().ok()?;
    let m: i64 = date.get(5..7)?.parse().ok()?;
    let d: i64 = date.get(8..10)?.parse().ok()?;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Inverse of [`days_from_civil`]: `YYYY-MM-DD` for years 1 to 9999.
pub fn civil_from_days(days: i64) -> Option<String> {
    let z = days.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (1..=9999)
        .contains(&y)
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

pub(crate) fn valid_party(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

pub(crate) fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && d >= 1 && d <= days
}

/// `"-1234.5"` at scale 2 → `-123450`. Plain decimal only: no exponent, no `+`,
/// no more decimals than the scale, no overflow.
pub fn parse_decimal(s: &str, scale: u8) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) if !f.is_empty() => (i, f),
        Some(_) => return None,
        None => (digits, ""),
    };
    if int.is_empty() || int.len() > 19 || frac.len() > usize::from(scale) {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut minor: i128 = int.parse().ok()?;
    for i in 0..usize::from(scale) {
        let digit = frac.as_bytes().get(i).map_or(0, |c| i128::from(c - b'0'));
        minor = minor.checked_mul(10)?.checked_add(digit)?;
    }
    let minor = if neg { -minor } else { minor };
    i64::try_from(minor).ok()
}

/// Inverse of [`parse_decimal`], always with exactly `scale` decimals.
pub fn format_decimal(minor: i64, scale: u8) -> String {
    if scale == 0 {
        return minor.to_string();
    }
    let digits = minor.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if minor < 0 { "-" } else { "" })
}

/// A set member or a value compared with one, as sets hash it: trimmed, each
/// inner run of white space one space, letters upper-cased (`docs/sets.md`).
pub fn normalize_member(member: &str) -> String {
    member
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_decimal("1234.56", 2), Some(123456));
        assert_eq!(parse_decimal("1234.5", 2), Some(123450));
        assert_eq!(parse_decimal("7", 2), Some(700));
        assert_eq!(parse_decimal("-0.01", 2), Some(-1));
        for bad in [
            "",
            "-",
            ".5",
            "5.",
            "1.234",
            "1e3",
            "+1",
            "1,0",
            " 1",
            "0x10",
            "99999999999999999999",
        ] {
            assert_eq!(parse_decimal(bad, 2), None, "{bad}");
        }
        assert_eq!(format_decimal(1, 2), "0.01");
        assert_eq!(format_decimal(-123450, 2), "-1234.50");
        assert_eq!(format_decimal(i64::MIN, 2), "-92233720368547758.08");
    }

    #[test]
    fn masks_and_day_numbers() {
        assert_eq!(mask("6222020200112233445", 0, 4), "***************3445");
        assert_eq!(mask("6222020200112233445", 4, 4), "6222***********3445");
        assert_eq!(mask("abc", 2, 2), "***");
        assert_eq!(days_from_civil("1970-01-01"), Some(0));
        assert_eq!(days_from_civil("2000-03-01"), Some(11_017));
        assert_eq!(days_from_civil("1969-12-31"), Some(-1));
        assert_eq!(days_from_civil("2024-02-30"), None);
        for d in [
            "0001-01-01",
            "1969-12-31",
            "2000-02-29",
            "2026-11-25",
            "9999-12-31",
        ] {
            assert_eq!(
                civil_from_days(days_from_civil(d).unwrap()).as_deref(),
                Some(d)
            );
        }
    }

    #[test]
    fn dates_follow_the_calendar() {
        assert!(valid_date("2024-02-29"));
        assert!(!valid_date("2023-02-29"));
        assert!(!valid_date("2023-13-01"));
        assert!(!valid_date("2023-1-01"));
        assert!(!valid_date("0000-01-01"));
        assert!(!valid_date("２０２３-01-01"));
    }

    proptest! {
        #[test]
        fn decimal_round_trip(minor in any::<i64>(), scale in 0u8..=6) {
            prop_assert_eq!(parse_decimal(&format_decimal(minor, scale), scale), Some(minor));
        }
    }
}
