//! The policy templates shipped with Veilgate, by name, and `policy new`:
//! a template's text under a new policy id, ready to edit.
//!
//! Pure: the texts are compiled into the crate; nothing here reads or writes
//! a file (the CLI decides where the text goes and refuses to overwrite).

use crate::parse::Name;

/// Every template: (name, policy text). The name is the file name in
/// `policies/templates/` without `.policy`.
pub const ALL: &[(&str, &str)] = &[
    (
        "interbank-payment",
        include_str!("../templates/interbank-payment.policy"),
    ),
    (
        "kyc-attestation",
        include_str!("../templates/kyc-attestation.policy"),
    ),
    (
        "syndicated-loan",
        include_str!("../templates/syndicated-loan.policy"),
    ),
    (
        "supply-chain-receivable",
        include_str!("../templates/supply-chain-receivable.policy"),
    ),
    (
        "large-value-report",
        include_str!("../templates/large-value-report.policy"),
    ),
    (
        "cross-border-remittance",
        include_str!("../templates/cross-border-remittance.policy"),
    ),
];

/// The templates' names, in the order of [`ALL`].
pub fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|(n, _)| *n)
}

/// The text of template `name` (with or without `.policy`).
pub fn get(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".policy").unwrap_or(name);
    ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The first sentence of the comment that opens a template: what it is for.
pub fn summary(text: &str) -> String {
    let comment: Vec<&str> = text
        .lines()
        .map_while(|l| l.strip_prefix('#'))
        .map(str::trim)
        .collect();
    let comment = comment.join(" ");
    match comment.split_once(". ") {
        Some((first, _)) => format!("{first}."),
        None => comment,
    }
}

/// Template `name` as the start of a new policy: with `id`, the policy is
/// renamed and its version reset to 1 (a new id starts its own history);
/// without, the template's text as shipped. The result always compiles.
pub fn instantiate(name: &str, id: Option<&str>) -> Result<String, String> {
    let text = get(name).ok_or_else(|| {
        let known = names()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        match crate::error::suggest(name, names()) {
            Some(h) => format!("unknown template `{name}`: {h} (templates: {known})"),
            None => format!("unknown template `{name}`; templates: {known}"),
        }
    })?;
    let Some(id) = id else {
        return Ok(text.to_owned());
    };
    // Checked as the lexer reads a name, so the id cannot smuggle in more
    // syntax (`x version 9`, a comment) than one name.
    let valid = id.len() <= 64
        && id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(format!(
            "policy id `{}` is not a name: letters, digits, `_` and `-`, starting with a letter, at most 64 characters",
            id.escape_debug()
        ));
    }
    let ast = crate::parse::parse(text).map_err(|e| format!("template `{name}`: {e}"))?;
    // Replace the id and version where the parser found them, so comments
    // and layout stay as the template has them.
    let renamed = replace_spans(
        text,
        &[
            (&ast.id, id.to_owned()),
            (
                &Name {
                    text: ast.version.0.clone(),
                    span: ast.version.1,
                },
                "1".to_owned(),
            ),
        ],
    )
    .ok_or_else(|| format!("template `{name}`: cannot find the policy id"))?;
    crate::compile(&renamed).map_err(|e| format!("template `{name}` as `{id}`: {e}"))?;
    Ok(renamed)
}

/// `text` with each name replaced at its span (all on distinct places, in
/// file order); `None` if a span does not hold the name's text.
fn replace_spans(text: &str, edits: &[(&Name, String)]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest_from = 0usize;
    for (name, with) in edits {
        let start = byte_offset(text, name.span.line, name.span.col)?;
        let end = start.checked_add(name.text.len())?;
        if start < rest_from || text.get(start..end)? != name.text {
            return None;
        }
        out.push_str(text.get(rest_from..start)?);
        out.push_str(with);
        rest_from = end;
    }
    out.push_str(text.get(rest_from..)?);
    Some(out)
}

/// The byte offset of 1-based `line` and `col` (counted in characters, as
/// the lexer counts them).
fn byte_offset(text: &str, line: u32, col: u32) -> Option<usize> {
    let mut offset = 0usize;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line as usize {
            let within = l
                .char_indices()
                .nth(col.checked_sub(1)? as usize)
                .map(|(b, _)| b)?;
            return Some(offset + within);
        }
        offset += l.len() + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn every_template_is_listed_and_compiles() {
        assert_eq!(ALL.len(), 6);
        for (name, text) in ALL {
            assert!(crate::compile(text).is_ok(), "{name}");
            let s = summary(text);
            assert!(s.ends_with('.') && !s.contains('#'), "{name}: {s}");
            assert_eq!(get(&format!("{name}.policy")), Some(*text));
        }
    }

    #[test]
    fn a_new_id_renames_the_policy_and_starts_at_version_one() {
        for name in names() {
            let text = instantiate(name, Some("acme-payment")).unwrap();
            let plan = crate::compile(&text).unwrap();
            assert_eq!((plan.id.as_str(), plan.version), ("acme-payment", 1));
            // Only the id and the version moved: comments are kept.
            assert_eq!(text.lines().count(), get(name).unwrap().lines().count());
        }
        assert_eq!(
            instantiate("kyc-attestation", None).unwrap(),
            get("kyc-attestation").unwrap()
        );
    }

    #[test]
    fn an_unknown_template_or_a_bad_id_is_refused_with_the_names() {
        let e = instantiate("interbank", None).unwrap_err();
        assert!(
            e.starts_with("unknown template `interbank`") && e.contains("`kyc-attestation`"),
            "{e}"
        );
        let e = instantiate("interbank-paymnt", None).unwrap_err();
        assert!(e.contains("did you mean `interbank-payment`?"), "{e}");
        for bad in ["", "9lives", "a version 3", "a#b", &"x".repeat(65)] {
            let e = instantiate("interbank-payment", Some(bad)).unwrap_err();
            assert!(e.contains("is not a name"), "{bad}: {e}");
        }
    }
}
