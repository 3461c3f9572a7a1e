//! The `pad pow2 MIN..=MAX` header line: parsed, checked, formatted,
//! hashed only when present, diffed, shown by `preview`, and its absence
//! warned about by `check`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use veilgate_policies::preview::{preview, OBSERVER};
use veilgate_policies::{compile, diff, fmt, padding, Padding, SAMPLES, TEMPLATES};

/// The interbank template without its `pad` line and the comment over it:
/// the tests below add the line they need (and pin positions as of a
/// template without one).
fn interbank() -> &'static str {
    let lines: Vec<&str> = TEMPLATES[0].1.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("pad "))
        .expect("the interbank template pads");
    let mut start = at;
    while start > 0 && lines[start - 1].starts_with('#') {
        start -= 1;
    }
    let text: String = lines[..start]
        .iter()
        .chain(&lines[at + 1..])
        .flat_map(|l| [*l, "\n"])
        .collect();
    // Leaked so callers hold it as the `&'static str` the template is.
    Box::leak(text.into_boxed_str())
}

/// The interbank template with `line` after its `ledger` line.
fn with_line(line: &str) -> String {
    interbank().replacen(
        "ledger interbank-settlement\n",
        &format!("ledger interbank-settlement\n{line}\n"),
        1,
    )
}

/// (line, column, message, help) of the first diagnostic.
fn first_error(src: &str) -> (u32, u32, String, Option<String>) {
    let e = compile(src).unwrap_err();
    (e.span.line, e.span.col, e.message.clone(), e.help.clone())
}

#[test]
fn the_plan_holds_the_classes() {
    let plan = compile(&with_line("pad pow2 32..=1024")).unwrap();
    assert_eq!(plan.padding, Some(Padding::pow2(32, 1024).unwrap()));
    assert_eq!(compile(interbank()).unwrap().padding, None);
    // The bounds themselves are accepted.
    for (lo, hi) in [(32, 32), (65_536, 65_536), (32, 65_536)] {
        let plan = compile(&with_line(&format!("pad pow2 {lo}..={hi}"))).unwrap();
        assert_eq!(plan.padding, Some(Padding::pow2(lo, hi).unwrap()));
    }
}

/// Each rule the line breaks is named at the offending text, line 7 (the
/// line after `ledger`), with the column of the word or number.
#[test]
fn every_bad_pad_line_is_named_at_its_place() {
    let cases: [(&str, u32, &str); 8] = [
        (
            "pad pow2 64..=32",
            10,
            "padding classes `64..=32` run backwards",
        ),
        (
            "pad pow2 48..=1024",
            10,
            "padding class `48` is not a power of two",
        ),
        (
            "pad pow2 32..=1000",
            15,
            "padding class `1000` is not a power of two",
        ),
        (
            "pad pow2 16..=1024",
            10,
            "padding class `16` is below the smallest, 32 bytes",
        ),
        (
            "pad pow2 32..=131072",
            15,
            "padding class `131072` is beyond the largest, 65536 bytes",
        ),
        (
            "pad pow2 1024..=32",
            10,
            "padding classes `1024..=32` run backwards",
        ),
        ("pad pow3 32..=1024", 5, "unknown padding scheme `pow3`"),
        (
            "pad pow2 32..=64\npad pow2 32..=1024",
            1,
            "the policy has two `pad` lines",
        ),
    ];
    for (line, col, message) in cases {
        let (l, c, m, _) = first_error(&with_line(line));
        let want_line = if line.contains('\n') { 8 } else { 7 };
        assert_eq!((l, c, m.as_str()), (want_line, col, message), "{line}");
    }
    let (_, _, _, help) = first_error(&with_line("pad pow3 32..=1024"));
    assert_eq!(help.as_deref(), Some("did you mean `pow2`?"));
    let (_, _, _, help) = first_error(&with_line("pad pow2 1024..=32"));
    assert_eq!(
        help.as_deref(),
        Some("write the smaller first: `pad pow2 32..=1024`")
    );
    // A syntax error: the range operator is required.
    let (l, c, m, _) = first_error(&with_line("pad pow2 32 1024"));
    assert_eq!(
        (l, c, m.as_str()),
        (7, 13, "expected `..=`, found number `1024`")
    );
}

#[test]
fn fmt_writes_the_line_canonically_and_keeps_the_hash() {
    let messy = with_line("pad   pow2 64 ..=  4096   # coarser classes");
    let formatted = fmt::format(&messy).unwrap();
    assert!(
        formatted.contains("\npad pow2 64..=4096  # coarser classes\n"),
        "{formatted}"
    );
    assert_eq!(fmt::format(&formatted).unwrap(), formatted, "idempotent");
    assert_eq!(
        compile(&formatted).unwrap().hash(),
        compile(&messy).unwrap().hash()
    );
}

/// With the line after `ledger` the interbank plan is the shipped
/// template's, whose hash `docs/formats/vectors/plan-hash-v1.json` pins;
/// without it the hash changes, and changes again with other bounds.
#[test]
fn the_hash_changes_only_with_the_line() {
    let pinned: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/formats/vectors/plan-hash-v1.json")).unwrap();
    let want = pinned["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy"] == "interbank-payment.policy")
        .unwrap()["plan_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let hex = |h: [u8; 32]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(hex(compile(TEMPLATES[0].1).unwrap().hash()), want);
    let a = compile(&with_line("pad pow2 32..=1024")).unwrap().hash();
    let b = compile(&with_line("pad pow2 64..=1024")).unwrap().hash();
    let c = compile(&with_line("pad pow2 32..=2048")).unwrap().hash();
    assert_eq!(hex(a), want);
    assert_ne!(hex(compile(interbank()).unwrap().hash()), want);
    assert!(a != b && a != c && b != c);
}

/// Every shipped template pads with the default classes, so `policy new`
/// starts from a padded policy and `policy check` warns about none.
#[test]
fn every_template_pads_and_check_warns_about_none() {
    for (name, text) in TEMPLATES {
        let plan = compile(text).unwrap();
        assert_eq!(
            plan.padding,
            Some(Padding::pow2(32, 1024).unwrap()),
            "{name}"
        );
        assert_eq!(padding::warnings(&plan), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn diff_reports_a_padding_change_and_classes_it() {
    let none = compile(interbank()).unwrap();
    let fine = compile(&with_line("pad pow2 32..=1024")).unwrap();
    let coarse = compile(&with_line("pad pow2 64..=1024")).unwrap();
    let report = diff::report(&none, &fine);
    assert_eq!(report.changes.len(), 1);
    assert_eq!(
        report.changes[0].text,
        "padding of field plaintexts (`pad`): none → pow2 32..=1024"
    );
    assert_eq!(report.changes[0].kind, diff::Kind::Narrowing);
    assert_eq!(
        diff::report(&fine, &none).changes[0].kind,
        diff::Kind::Widening
    );
    assert_eq!(
        diff::report(&fine, &coarse).changes[0].kind,
        diff::Kind::Narrowing
    );
    assert_eq!(
        diff::report(&coarse, &fine).changes[0].kind,
        diff::Kind::Widening
    );
}

fn sample() -> serde_json::Value {
    serde_json::from_str(SAMPLES[0].1).unwrap()
}

/// The sample's remittance is 38 bytes: with its type byte and the `u16`
/// prefix, 41 bytes of the 64-byte class, which holds values of 30 to 61
/// bytes.
#[test]
fn preview_shows_the_class_of_a_padded_ciphertext() {
    let plan = compile(&with_line("pad pow2 32..=1024")).unwrap();
    let p = preview(&plan, &sample()).unwrap();
    let cell = p.cell(OBSERVER, "remittance").unwrap();
    assert_eq!(
        p.cell_text("remittance", cell),
        "<ciphertext: 64-byte class>"
    );
    let text = p.render();
    assert!(text.contains("<ciphertext: 64-byte class>"), "{text}");
    assert!(
        text.contains(
            "length left visible: remittance: its 64-byte class (every value of 30–61 bytes looks the same)\n"
        ),
        "{text}"
    );
    // The payee bank reads it.
    assert!(text.contains("Invoice 2026-1187"), "{text}");
    // The accounts travel encrypted to their banks too (19 digits: class 32).
    assert!(
        text.contains("length left visible: payer_account: its 32-byte class (every value of 0–29 bytes looks the same)\n"),
        "{text}"
    );
    // A committed amount's opening is 40 bytes whatever the value: no line.
    assert!(!text.contains("length left visible: amount"), "{text}");
    // A dropped field leaves no ciphertext, so no line.
    assert!(!text.contains("length left visible: payer_name"), "{text}");

    // Unpadded: the plain cell, and the length itself.
    let plain = preview(&compile(interbank()).unwrap(), &sample()).unwrap();
    let cell = plain.cell(OBSERVER, "remittance").unwrap();
    assert_eq!(plain.cell_text("remittance", cell), "<ciphertext>");
    assert!(plain.render().contains(
        "length left visible: remittance: exactly 38 bytes (the policy has no `pad` line)\n"
    ));
}

/// Class ranges beyond `max` step by `max`: a 1500-byte value is in the
/// 2048-byte class, with every value from 1022 to 2045 bytes.
#[test]
fn preview_ranges_beyond_the_largest_class() {
    let plan = compile(&with_line("pad pow2 32..=1024")).unwrap();
    let mut record = sample();
    record["remittance"] = serde_json::Value::String("x".repeat(1500));
    let p = preview(&plan, &record).unwrap();
    assert!(p.render().contains(
        "length left visible: remittance: its 2048-byte class (every value of 1022–2045 bytes looks the same)\n"
    ));
}

#[test]
fn check_warns_about_encrypted_strings_without_padding() {
    let plain = compile(interbank()).unwrap();
    let warnings = padding::warnings(&plain);
    // Both accounts (encrypted to their banks) and the remittance; not
    // the amount (a fixed-length opening) nor the dropped names.
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert_eq!(
        warnings[2],
        "`remittance`'s length is visible to every peer: its ciphertexts are as long as its value; add `pad pow2 32..=1024` after the `ledger` line"
    );
    assert!(warnings[0].starts_with("`payer_account`'s"));
    let padded = compile(&with_line("pad pow2 32..=1024")).unwrap();
    assert!(padding::warnings(&padded).is_empty());
    // Enum values of one length leak nothing; of several lengths, which one.
    let enums = |variants: &str| {
        compile(&format!(
            "policy p version 1\nledger l\nrecord {{\n  e: enum({variants})\n}}\nroles {{ regulator }}\ndisclose {{\n  e: encrypt to [regulator]\n}}\n"
        ))
        .unwrap()
    };
    assert!(padding::warnings(&enums("CNY, USD")).is_empty());
    assert_eq!(padding::warnings(&enums("CNY, EURO")).len(), 1);
}
