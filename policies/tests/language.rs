#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use veilgate_policies::{compile, Disclosure, Role, TEMPLATES};

fn template() -> &'static str {
    TEMPLATES[0].1
}

#[test]
fn the_interbank_template_compiles_to_the_plan_it_states() {
    let plan = compile(template()).unwrap();
    assert_eq!(
        (
            plan.id.as_str(),
            plan.version,
            plan.ledgers.join(",").as_str()
        ),
        ("interbank-payment", 1, "interbank-settlement")
    );
    assert_eq!(
        plan.field("payer_bank").unwrap().disclosure,
        Disclosure::Public
    );
    assert_eq!(
        plan.field("payer_name").unwrap().disclosure,
        Disclosure::Drop
    );
    assert_eq!(
        plan.field("amount").unwrap().disclosure,
        Disclosure::Commit {
            range: Some((1, 100_000_000_000)),
            open_to: vec![
                Role::Party("payee_bank".into()),
                Role::Party("payer_bank".into()),
                Role::Ledger("regulator".into())
            ],
        }
    );
    assert_eq!(
        plan.field("remittance").unwrap().disclosure,
        Disclosure::Encrypt {
            to: vec![Role::Party("payee_bank".into())]
        }
    );
}

#[test]
fn the_hash_ignores_layout_and_comments() {
    let base = compile(template()).unwrap().hash();
    let squeezed: String = template()
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    // Re-spacing applies to the squeezed text so no comment gets split.
    let spaced = squeezed.replace(": ", ":\t ").replace(", ", " ,\n   ");
    let commented = format!(
        "# reviewed by compliance\n{}",
        template().replace("\n", "   # note\n")
    );
    for variant in [spaced, squeezed, commented] {
        assert_eq!(compile(&variant).unwrap().hash(), base);
    }
}

#[test]
fn the_hash_changes_under_every_semantic_edit() {
    let base = compile(template()).unwrap().hash();
    let edits = [
        ("version 1", "version 2"),
        ("policy interbank-payment", "policy interbank-payment-b"),
        ("ledger interbank-settlement", "ledger other-ledger"),
        ("JPY)", "JPY, SGD)"),
        ("amount(2)", "amount(3)"),
        ("range 0.01 ..=", "range 0.02 ..="),
        ("..= 1000000000.00", "..= 1000000000.01"),
        (
            "encrypt to [payee_bank]",
            "encrypt to [payee_bank, regulator]",
        ),
        (
            "payer_name:    drop",
            "payer_name:    encrypt to [regulator]",
        ),
        (
            "currency:      public",
            "currency:      encrypt to [regulator]",
        ),
        (
            "payer_account: pseudonym, encrypt to [payer_bank, regulator]",
            "payer_account: pseudonym, encrypt to [payer_bank]",
        ),
        ("roles { regulator }", "roles { regulator auditor }"),
        (
            "remittance:    string",
            "remittance:    string\n  note: string",
        ),
    ];
    for (from, to) in edits {
        assert!(template().contains(from), "edit `{from}` does not apply");
        let mut edited = template().replacen(from, to, 1);
        if to.contains("note: string") {
            edited = edited.replace(
                "remittance:    encrypt",
                "note: drop\n  remittance:    encrypt",
            );
        }
        let plan = compile(&edited)
            .unwrap_or_else(|e| panic!("{from} -> {to}: {}", e.render("t", &edited)));
        assert_ne!(plan.hash(), base, "edit `{from}` -> `{to}` kept the hash");
    }
}

/// Each mistake, its rendered message pinned.
#[test]
fn errors_point_at_the_line_and_say_what_to_do() {
    let cases: &[(&str, &str, &str)] = &[
        ("encrypt to [payee_bank]", "encrypt to [payee_bnk]", "error: unknown role `payee_bnk`\n  --> p:36:30\n   |\n36 |   remittance:    encrypt to [payee_bnk]\n   |                              ^^^^^^^^^\n   = help: did you mean `payee_bank`?\n"),
        ("  payee_name:    drop\n", "", "error: field `payee_name` has no disclosure rule\n  --> p:24:1\n   |\n24 | disclose {\n   | ^^^^^^^^\n   = help: nothing is disclosed by default: add `payee_name: drop` if it must not leave the institution\n"),
        ("payer_name:    drop", "payer_nam:    drop", "error: `payer_nam` is not a field of the record\n  --> p:34:3\n   |\n34 |   payer_nam:    drop\n   |   ^^^^^^^^^\n   = help: did you mean `payer_name`?\n"),
        ("payer_name:    drop", "payer_name:    drop, public", "error: field `payer_name` has two disclosures\n  --> p:34:24\n   |\n34 |   payer_name:    drop, public\n   |                        ^^^^^^\n   = help: `drop` already decides it; a field has exactly one\n"),
        ("amount(2)", "amont(2)", "error: unknown type `amont`\n  --> p:14:18\n   |\n14 |   amount:        amont(2)\n   |                  ^^^^^\n   = help: did you mean `amount`?\n"),
        ("payer_account: string", "payer_account: strin", "error: unknown type `strin`\n  --> p:15:18\n   |\n15 |   payer_account: strin\n   |                  ^^^^^\n   = help: did you mean `string`?\n"),
        ("amount:        commit,", "amount:        pseudonym,", "error: `range` is proven about a commitment: it needs `commit`\n  --> p:30:29\n   |\n30 |   amount:        pseudonym, range 0.01 ..= 1000000000.00, encrypt to [payer_bank, payee_bank, regulator]\n   |                             ^^^^^\n   = help: write `amount: commit, range ...`\n"),
        ("range 0.01 ..=", "range 0.001 ..=", "error: range bound `0.001` is not a number with at most 2 decimal places\n  --> p:30:26\n   |\n30 |   amount:        commit, range 0.001 ..= 1000000000.00, encrypt to [payer_bank, payee_bank, regulator]\n   |                          ^^^^^\n"),
        ("payer_bank:    public", "payer_bank:    drop", "error: party field `payer_bank` names a recipient, so it must be `public`\n  --> p:25:3\n   |\n25 |   payer_bank:    drop\n   |   ^^^^^^^^^^\n   = help: field `amount` is encrypted to `payer_bank`; peers check recipients against it\n"),
        ("suite standard", "suite sm9", "error: unknown crypto suite `sm9`\n --> p:7:7\n  |\n7 | suite sm9\n  |       ^^^\n  = help: known suites: standard\n"),
        ("version 1", "version 0", "error: version must be a whole number from 1 to 4294967295\n --> p:5:34\n  |\n5 | policy interbank-payment version 0\n  |                                  ^\n"),
    ];
    let mut mismatches = Vec::new();
    for (from, to, want) in cases {
        assert!(template().contains(from), "case `{from}` does not apply");
        let src = template().replacen(from, to, 1);
        let err = compile(&src).expect_err(to);
        let got = err.render("p", &src);
        if got != *want {
            mismatches.push(format!("{to:?} => {got:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Mutated templates (bytes replaced, cut, duplicated) never panic: they
    /// compile or fail with an error inside the text.
    #[test]
    fn mutated_policies_never_panic(pos in 0usize..1500, len in 0usize..40, fill in ".{0,12}") {
        let t = template();
        let mut cut = pos.min(t.len());
        while !t.is_char_boundary(cut) { cut -= 1; }
        let mut end = (cut + len).min(t.len());
        while !t.is_char_boundary(end) { end -= 1; }
        let src = format!("{}{}{}", &t[..cut], fill, &t[end..]);
        if let Err(e) = compile(&src) {
            prop_assert!(e.span.line as usize <= src.lines().count().max(1) + 1);
            let _ = e.render("fuzz", &src);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,400}") {
        let _ = compile(&src).map_err(|e| e.render("fuzz", &src));
    }
}
