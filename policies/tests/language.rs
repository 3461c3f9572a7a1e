#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use veilgate_policies::{compile, fmt, Disclosure, Padding, Role, TEMPLATES};

/// The interbank template as these tests pin it: unpadded (see [`unpadded`]).
fn template() -> &'static str {
    template_named("interbank-payment")
}

/// A shipped template without its `pad` line and the comment over it: the
/// errors below pin lines and columns of the text before the templates
/// padded, and padding is not what they test (`tests/padding.rs` is).
fn unpadded(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("pad "))
        .expect("every shipped template pads");
    let mut start = at;
    while start > 0 && lines[start - 1].starts_with('#') {
        start -= 1;
    }
    lines[..start]
        .iter()
        .chain(&lines[at + 1..])
        .flat_map(|l| [*l, "\n"])
        .collect()
}

#[test]
fn the_interbank_template_compiles_to_the_plan_it_states() {
    let plan = compile(TEMPLATES[0].1).unwrap();
    assert_eq!(
        (
            plan.id.as_str(),
            plan.version,
            plan.ledgers.join(",").as_str()
        ),
        ("interbank-payment", 3, "interbank-settlement")
    );
    assert_eq!(plan.padding, Some(Padding::pow2(32, 1024).unwrap()));
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
        ("version 3", "version 4"),
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
        ("payer_bank:    public, submitter", "payer_bank:    drop", "error: party field `payer_bank` names a recipient, so it must be `public`\n  --> p:25:3\n   |\n25 |   payer_bank:    drop\n   |   ^^^^^^^^^^\n   = help: field `amount` is encrypted to `payer_bank`; peers check recipients against it\n"),
        ("suite standard", "suite sm9", "error: unknown crypto suite `sm9`\n --> p:7:7\n  |\n7 | suite sm9\n  |       ^^^\n  = help: did you mean `sm`?\n"),
        ("suite standard", "suite aes", "error: unknown crypto suite `aes`\n --> p:7:7\n  |\n7 | suite aes\n  |       ^^^\n  = help: known suites: standard, sm\n"),
        ("remittance:    encrypt to [payee_bank]", "remittance:    commit, encrypt to [payee_bank]", "error: `commit` of the string field `remittance` proves nothing\n  --> p:36:3\n   |\n36 |   remittance:    commit, encrypt to [payee_bank]\n   |   ^^^^^^^^^^\n   = help: a string is committed only for a set predicate (`remittance in SET` or `remittance not in SET` under `prove`); otherwise use `encrypt to`, `pseudonym` or `drop`\n"),
        ("version 3", "version 0", "error: version must be a whole number from 1 to 4294967295\n --> p:5:34\n  |\n5 | policy interbank-payment version 0\n  |                                  ^\n"),
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

/// A shipped template, unpadded (see [`unpadded`]); leaked so the cases
/// can hold it as the `&'static str` the template itself is.
fn template_named(name: &str) -> &'static str {
    let text = TEMPLATES
        .iter()
        .find(|(n, _)| n.trim_end_matches(".policy") == name)
        .map(|(_, t)| *t)
        .unwrap();
    Box::leak(unpadded(text).into_boxed_str())
}

/// Mistakes in the constructs beyond the interbank template, pinned the same way.
#[test]
fn errors_for_predicates_conditions_and_requirements_are_pinned() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("kyc-attestation", "nationality in eligible_nationalities", "nationality in eligible_nations",
         "error: unknown set `eligible_nations`\n  --> p:43:18\n   |\n43 |   nationality in eligible_nations\n   |                  ^^^^^^^^^^^^^^^^\n   = help: declare it in `sets { ... }`; its Merkle root is published on the ledger\n"),
        ("kyc-attestation", "  nationality:  commit, encrypt to [regulator]", "  nationality:  encrypt to [regulator]",
         "error: `nationality` must be `commit`ted to be proven about\n  --> p:43:3\n   |\n43 |   nationality in eligible_nationalities\n   |   ^^^^^^^^^^^\n   = help: a predicate speaks about a hidden value; a public value needs no proof\n"),
        ("supply-chain-receivable", "  financed_amount: commit, encrypt", "  financed_amount: commit, range 0 ..= 100, encrypt",
         "error: field `financed_amount` has a range proof and appears in `financed_amount <= invoice_amount`\n  --> p:37:3\n   |\n37 |   financed_amount <= invoice_amount\n   |   ^^^^^^^^^^^^^^^\n   = help: a bulletproofs range and a Groth16 predicate would commit to it twice, unlinked; drop one\n"),
        ("large-value-report", "  channel:           public", "  channel:           mask last 2",
         "error: `mask` keeps characters of a string, `channel` is enum(BRANCH, ONLINE, MOBILE, CORRESPONDENT)\n  --> p:35:22\n   |\n35 |   channel:           mask last 2\n   |                      ^^^^\n"),
        ("syndicated-loan", "  maturity:   generalize year", "  maturity:   generalize bucket 5",
         "error: `generalize bucket` needs an integer or amount field, `maturity` is date\n  --> p:36:15\n   |\n36 |   maturity:   generalize bucket 5, encrypt to [agent_bank, lender_a, lender_b, lender_c, regulator]\n   |               ^^^^^^^^^^\n"),
        ("kyc-attestation", "  risk_tier:    encrypt to [relying_bank, regulator]", "  risk_tier:    encrypt to [relying_bank]",
         "error: field `risk_tier` does not reach `regulator`, which this policy requires\n  --> p:36:3\n   |\n36 |   risk_tier:    encrypt to [relying_bank]\n   |   ^^^^^^^^^\n   = help: add `regulator` to its `encrypt to [...]`\n"),
        ("large-value-report", "when amount >= 50000.00 {", "when narrative >= 5 {",
         "error: a condition needs an integer or amount field, `narrative` is string\n  --> p:42:6\n   |\n42 | when narrative >= 5 {\n   |      ^^^^^^^^^\n"),
        ("large-value-report", "when amount >= 50000.00 {", "when amount == 50000.00 {",
         "error: a condition on the committed field `amount` cannot use `==`\n  --> p:42:6\n   |\n42 | when amount == 50000.00 {\n   |      ^^^^^^\n   = help: peers see a range proof of the outcome: `==` met would reveal the value, and not met is two ranges; use `<`, `<=`, `>` or `>=`\n"),
        ("large-value-report", "  customer_account: encrypt to [aml_monitor]", "  channel: encrypt to [aml_monitor]",
         "error: field `channel` is public or dropped: a condition cannot add recipients to it\n  --> p:44:3\n   |\n44 |   channel: encrypt to [aml_monitor]\n   |   ^^^^^^^\n"),
        ("kyc-attestation", "ledger kyc-network\n", "",
         "error: policy `kyc-attestation` binds no ledger\n --> p:5:8\n  |\n5 | policy kyc-attestation version 3\n  |        ^^^^^^^^^^^^^^^\n  = help: add a line `ledger NAME` after the `policy` line\n"),
        ("kyc-attestation", "  attested_on:  public", "  attested_on:  encrypt to [regulator]",
         "error: `attested_on` must be a public date: peers need it to check the age\n  --> p:42:19\n   |\n42 |   age(birth_date, attested_on) >= 18\n   |                   ^^^^^^^^^^^\n"),
        ("kyc-attestation", "  pep:          encrypt to [relying_bank, regulator]", "  pep:          pseudonym, encrypt to [relying_bank, regulator]",
         "error: a pseudonym of a bool field hides nothing\n  --> p:37:17\n   |\n37 |   pep:          pseudonym, encrypt to [relying_bank, regulator]\n   |                 ^^^^^^^^^\n   = help: it has so few values that anyone can hash them all; use `encrypt to` or `drop`\n"),
        ("supply-chain-receivable", "  invoice_amount:  amount(2)", "  invoice_amount:  amount(3)",
         "error: `financed_amount` and `invoice_amount` are counted at different scales\n  --> p:37:22\n   |\n37 |   financed_amount <= invoice_amount\n   |                      ^^^^^^^^^^^^^^\n"),
        ("large-value-report", "ledger interbank-settlement\n", "ledger interbank-settlement\nrequire proofs on chain\n",
         "error: `require proofs on chain` needs predicates: the policy proves nothing\n --> p:7:1\n  |\n7 | require proofs on chain\n  | ^^^^^^^\n  = help: add a `prove { ... }` block, or remove this line\n"),
        ("syndicated-loan", "ledger syndicated-lending\n", "ledger syndicated-lending\nrequire proofs on chain\nrequire proofs on chain\n",
         "error: the policy says `require proofs on chain` twice\n --> p:7:1\n  |\n7 | require proofs on chain\n  | ^^^^^^^\n"),
        ("large-value-report", "  narrative:         encrypt to [regulator]", "  narrative:         drop",
         "error: field `narrative` is dropped, but `regulator` must see every field\n  --> p:37:3\n   |\n37 |   narrative:         drop\n   |   ^^^^^^^^^\n   = help: the policy says `require all fields to [...]`: write `narrative: encrypt to [regulator]` so only `regulator` reads it\n"),
        ("large-value-report", "  customer_account:  mask last 4, encrypt to [reporting_bank, regulator]", "  customer_account:  mask last 4, encrypt to [reporting_bank]",
         "error: field `customer_account` (`mask`) is not encrypted to `regulator`, who must see every field\n  --> p:32:3\n   |\n32 |   customer_account:  mask last 4, encrypt to [reporting_bank]\n   |   ^^^^^^^^^^^^^^^^\n   = help: add `regulator` to its `encrypt to [...]` (`require all fields to [...]`)\n"),
        ("cross-border-remittance", "require all fields to [regulator]\n", "require all fields to [regulator]\nrequire all fields to [regulator]\n",
         "error: the policy has two `require all fields to` lines\n --> p:9:1\n  |\n9 | require all fields to [regulator]\n  | ^^^^^^^\n  = help: list every such role in one `require all fields to [...]`\n"),
        ("cross-border-remittance", "require all fields to [regulator]\n", "require all fields to [auditor]\n",
         "error: unknown role `auditor`\n --> p:8:24\n  |\n8 | require all fields to [auditor]\n  |                        ^^^^^^^\n  = help: a role is a `party` field or a name declared in `roles { ... }`\n"),
        ("interbank-payment", "  currency:      public", "  currency:      public, submitter",
         "error: `submitter` marks a party field, `currency` is enum(CNY, USD, EUR, HKD, GBP, JPY)\n  --> p:27:26\n   |\n27 |   currency:      public, submitter\n   |                          ^^^^^^^^^\n   = help: mark the `party` field that names the institution sending the record\n"),
        ("interbank-payment", "  payee_bank:    public", "  payee_bank:    public, submitter",
         "error: field `payee_bank` is a second `submitter`\n  --> p:26:26\n   |\n26 |   payee_bank:    public, submitter\n   |                          ^^^^^^^^^\n   = help: `payer_bank` already names the submitting institution; a record has one submitter\n"),
        ("interbank-payment", "  payer_bank:    public, submitter", "  payer_bank:    pseudonym, submitter",
         "error: the submitter field `payer_bank` must be `public`\n  --> p:25:29\n   |\n25 |   payer_bank:    pseudonym, submitter\n   |                             ^^^^^^^^^\n   = help: peers check it against the envelope's signer: write `payer_bank: public, submitter`\n"),
        ("interbank-payment", "  payer_bank:    public, submitter", "  payer_bank:    submitter",
         "error: the submitter field `payer_bank` must be `public`\n  --> p:25:18\n   |\n25 |   payer_bank:    submitter\n   |                  ^^^^^^^^^\n   = help: peers check it against the envelope's signer: write `payer_bank: public, submitter`\n"),
    ];
    let mut mismatches = Vec::new();
    for (name, from, to, want) in cases {
        let t = template_named(name);
        assert!(t.contains(from), "case `{from}` does not apply to {name}");
        let src = t.replacen(from, to, 1);
        let got = compile(&src).expect_err(to).render("p", &src);
        if got != *want {
            mismatches.push(format!("{to:?} => {got:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// One semantic edit per construct beyond the interbank template; each must move the hash.
#[test]
fn every_construct_is_in_the_hash() {
    let edits: &[(&str, &str, &str)] = &[
        ("large-value-report", "mask last 4", "mask last 3"),
        ("large-value-report", "mask last 4", "mask first 1 last 4"),
        (
            "large-value-report",
            "value_date:        generalize month",
            "value_date:        generalize year",
        ),
        (
            "large-value-report",
            "when amount >= 50000.00",
            "when amount >= 50000.01",
        ),
        (
            "large-value-report",
            "when amount >= 50000.00",
            "when amount > 50000.00",
        ),
        (
            "large-value-report",
            "  amount:           encrypt to [aml_monitor]\n",
            "",
        ),
        (
            "large-value-report",
            "roles { regulator aml_monitor }",
            "roles { regulator aml_monitor auditor }",
        ),
        (
            "syndicated-loan",
            "sum(share_a, share_b, share_c) == facility",
            "sum(share_a, share_b) == facility",
        ),
        ("syndicated-loan", "generalize year", "generalize month"),
        (
            "syndicated-loan",
            "margin_bps: integer",
            "margin_bps: amount(0)",
        ),
        (
            "supply-chain-receivable",
            "financed_amount <= invoice_amount",
            "financed_amount < invoice_amount",
        ),
        (
            "supply-chain-receivable",
            "ledger supply-chain-finance",
            "ledger supply-chain-finance, trade-finance",
        ),
        (
            "kyc-attestation",
            "nationality in eligible_nationalities",
            "nationality not in eligible_nationalities",
        ),
        (
            "kyc-attestation",
            "age(birth_date, attested_on) >= 18",
            "age(birth_date, attested_on) >= 21",
        ),
        (
            "kyc-attestation",
            "sets { eligible_nationalities }",
            "sets { eligible_nationalities other_set }",
        ),
        ("kyc-attestation", "require encrypt to [regulator]\n", ""),
        (
            "syndicated-loan",
            "require encrypt to [regulator]\n",
            "require encrypt to [regulator]\nrequire proofs on chain\n",
        ),
        (
            "cross-border-remittance",
            "beneficiary_name not in sanctions_list",
            "beneficiary_name in sanctions_list",
        ),
        (
            "cross-border-remittance",
            "sender_account:      pseudonym",
            "sender_account:      mask last 4",
        ),
        (
            "cross-border-remittance",
            "value_date:          public",
            "value_date:          generalize month, encrypt to [regulator]",
        ),
    ];
    for (name, from, to) in edits {
        let t = template_named(name);
        assert!(t.contains(from), "edit `{from}` does not apply to {name}");
        let edited = t.replacen(from, to, 1);
        let plan = compile(&edited)
            .unwrap_or_else(|e| panic!("{name}: {from} -> {to}: {}", e.render("t", &edited)));
        assert_ne!(
            plan.hash(),
            compile(t).unwrap().hash(),
            "{name}: `{from}` -> `{to}` kept the hash"
        );
    }
}

#[test]
fn fmt_is_canonical_idempotent_hash_preserving_and_keeps_every_comment() {
    for (name, t) in TEMPLATES {
        assert_eq!(
            fmt::format(t).unwrap(),
            *t,
            "{name} is not in canonical layout"
        );
        // Squeeze the layout (comments kept on their own lines) and format back.
        let messy: String = t
            .lines()
            .map(|l| l.trim().replace(":  ", ":").replace(", ", ","))
            .collect::<Vec<_>>()
            .join("\n   ");
        let formatted = fmt::format(&messy).unwrap();
        assert_eq!(
            compile(&formatted).unwrap().hash(),
            compile(t).unwrap().hash(),
            "{name}"
        );
        assert_eq!(
            fmt::format(&formatted).unwrap(),
            formatted,
            "{name}: fmt is not idempotent"
        );
        let comments = |s: &str| s.lines().filter(|l| l.contains('#')).count();
        assert_eq!(
            comments(&formatted),
            comments(t),
            "{name}: a comment was lost"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Mutated templates (bytes replaced, cut, duplicated) never panic: they
    /// compile or fail with an error inside the text.
    #[test]
    fn mutated_policies_never_panic(which in 0usize..6, pos in 0usize..2000, len in 0usize..40, fill in ".{0,12}") {
        let t = TEMPLATES[which].1;
        let mut cut = pos.min(t.len());
        while !t.is_char_boundary(cut) { cut -= 1; }
        let mut end = (cut + len).min(t.len());
        while !t.is_char_boundary(end) { end -= 1; }
        let src = format!("{}{}{}", &t[..cut], fill, &t[end..]);
        match compile(&src) {
            Err(e) => {
                prop_assert!(e.span.line as usize <= src.lines().count().max(1) + 1);
                // Every diagnostic, not only the first, points inside the text,
                // and they come in file order.
                let at: Vec<(u32, u32)> = e.iter().map(|d| (d.span.line, d.span.col)).collect();
                prop_assert!(at.iter().all(|(line, _)| *line as usize <= src.lines().count().max(1) + 1));
                prop_assert!(at.windows(2).all(|w| w[0] <= w[1]));
                let _ = e.render("fuzz", &src);
            }
            // Whatever compiles also formats, and formatting keeps its meaning.
            Ok(plan) => prop_assert_eq!(compile(&fmt::format(&src).unwrap()).unwrap().hash(), plan.hash()),
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,400}") {
        let _ = compile(&src).map_err(|e| e.render("fuzz", &src));
    }
}

/// `require proofs on chain` sets the plan's flag, survives `fmt`, and is
/// reported by `diff`; plans without it keep the hashes they always had.
#[test]
fn require_proofs_on_chain_is_a_header_of_its_own() {
    let t = template_named("syndicated-loan");
    let src = t.replacen(
        "require encrypt to [regulator]\n",
        "require encrypt to [regulator]\nrequire proofs on chain\n",
        1,
    );
    let (plain, onchain) = (compile(t).unwrap(), compile(&src).unwrap());
    assert!(!plain.onchain && onchain.onchain);
    let formatted = veilgate_policies::fmt::format(&src).unwrap();
    assert!(
        formatted.contains("\nrequire proofs on chain\n"),
        "{formatted}"
    );
    assert_eq!(compile(&formatted).unwrap().hash(), onchain.hash());
    assert_eq!(
        veilgate_policies::diff::diff(&plain, &onchain),
        ["now requires its proofs to be verified on chain"]
    );
}

/// Mistakes in different concerns — the header, the schema, a rule, a
/// predicate — are all reported at once, in file order, whatever the order
/// of the passes that find them.
#[test]
fn every_mistake_is_reported_in_file_order() {
    let edits = [
        // A predicate over a field that is no longer committed.
        (
            "  nationality:  commit, encrypt to [regulator]",
            "  nationality:  encrypt to [regulator]",
        ),
        // An unknown role in a rule.
        (
            "  pep:          encrypt to [relying_bank, regulator]",
            "  pep:          encrypt to [relying_bnk, regulator]",
        ),
        // An unknown type in the schema.
        ("  full_name:    string", "  full_name:    strng"),
        // A bad version.
        ("version 3", "version 0"),
    ];
    let mut src = template_named("kyc-attestation").to_owned();
    for (from, to) in edits {
        assert!(src.contains(from), "edit `{from}` does not apply");
        src = src.replacen(from, to, 1);
    }
    let e = compile(&src).unwrap_err();
    assert_eq!(
        e.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        [
            "5:32: version must be a whole number from 1 to 4294967295",
            "14:17: unknown type `strng`",
            "37:29: unknown role `relying_bnk`",
            "43:3: `nationality` must be `commit`ted to be proven about",
        ]
    );
    assert_eq!(e.len(), 4);
    assert_eq!(
        e.to_string(),
        "5:32: version must be a whole number from 1 to 4294967295; \
         14:17: unknown type `strng`; \
         37:29: unknown role `relying_bnk`; \
         43:3: `nationality` must be `commit`ted to be proven about"
    );
    // The first diagnostic is the one a caller that wants one message gets.
    assert_eq!((e.span.line, e.span.col), (5, 32));
    assert_eq!(
        e.render("p", &src),
        "error: version must be a whole number from 1 to 4294967295\n --> p:5:32\n  |\n5 | policy kyc-attestation version 0\n  |                                ^\n\
         \n\
         error: unknown type `strng`\n  --> p:14:17\n   |\n14 |   full_name:    strng\n   |                 ^^^^^\n   = help: did you mean `string`?\n\
         \n\
         error: unknown role `relying_bnk`\n  --> p:37:29\n   |\n37 |   pep:          encrypt to [relying_bnk, regulator]\n   |                             ^^^^^^^^^^^\n   = help: did you mean `relying_bank`?\n\
         \n\
         error: `nationality` must be `commit`ted to be proven about\n  --> p:43:3\n   |\n43 |   nationality in eligible_nationalities\n   |   ^^^^^^^^^^^\n   = help: a predicate speaks about a hidden value; a public value needs no proof\n\
         \n\
         error: could not compile policy: 4 errors\n"
    );
}

/// A field of unknown type is one mistake: the rules, recipient lists,
/// predicates and conditions that mention the field are not reported too.
#[test]
fn a_field_of_unknown_type_is_reported_once() {
    let cases = [
        // A party named in four recipient lists and required to be public.
        (
            "interbank-payment",
            "payee_bank:    party",
            "payee_bank:    prty",
            "11:18: unknown type `prty`",
        ),
        // An amount with a range proof, a condition and a conditional recipient.
        (
            "large-value-report",
            "amount:            amount(2)",
            "amount:            amout",
            "13:22: unknown type `amout`",
        ),
        // A committed date in an age predicate.
        (
            "kyc-attestation",
            "birth_date:   date",
            "birth_date:   data",
            "15:17: unknown type `data`",
        ),
        // The total of a sum.
        (
            "syndicated-loan",
            "facility:   amount(2)",
            "facility:   amount(19)",
            "14:22: decimal places of an amount must be a whole number from 0 to 18",
        ),
    ];
    for (name, from, to, want) in cases {
        let t = template_named(name);
        assert!(t.contains(from), "case `{from}` does not apply to {name}");
        let src = t.replacen(from, to, 1);
        let e = compile(&src).expect_err(to);
        let got: Vec<String> = e.iter().map(|d| d.to_string()).collect();
        assert_eq!(got.len(), 1, "{name}: {}", e.render("p", &src));
        assert_eq!(got[0], want, "{name}");
    }
}

/// A rule that names no field leaves the coverage check out (the rule was
/// meant for some field), and a rule with a mistake still counts as the
/// field's rule.
#[test]
fn a_wrong_rule_does_not_leave_its_field_without_one() {
    let src = template()
        .replacen("payer_name:    drop", "payer_nam:     drop", 1)
        .replacen("payee_name:    drop", "payee_name:    drop, public", 1);
    let e = compile(&src).unwrap_err();
    assert_eq!(
        e.iter().map(|d| d.message.as_str()).collect::<Vec<_>>(),
        [
            "`payer_nam` is not a field of the record",
            "field `payee_name` has two disclosures",
        ]
    );
}

/// A party that must be public is reported once, however many fields go to
/// it, and not also as a field that misses a required recipient.
#[test]
fn a_party_that_must_be_public_is_reported_once() {
    let t = template_named("syndicated-loan");
    let from = "  lender_b:   public";
    assert!(t.contains(from));
    let src = t.replacen(from, "  lender_b:   commit", 1);
    let e = compile(&src).unwrap_err();
    assert_eq!(e.len(), 1, "{}", e.render("p", &src));
    assert_eq!(
        e.message,
        "party field `lender_b` names a recipient, so it must be `public`"
    );
}

/// `mask` counts are any whole number the parser reads; their sum is a
/// refusal, not an overflow.
#[test]
fn mask_counts_too_large_to_add_are_refused() {
    let src = template().replacen(
        "payer_name:    drop",
        "payer_name:    mask first 4294967295 last 4294967295",
        1,
    );
    let e = compile(&src).unwrap_err();
    assert_eq!(
        e.to_string(),
        "34:18: `mask` keeps more than 16 characters: that is barely a mask"
    );
}

/// How callers in other crates use the error: `render` for a file and its
/// text, `Display` for one line, the first diagnostic's fields. A single
/// diagnostic prints exactly as a `PolicyError` does.
#[test]
fn the_error_reads_as_it_did_for_a_single_mistake() {
    let src = template().replacen("version 3", "version 0", 1);
    let e = compile(&src).unwrap_err();
    let one: &veilgate_policies::PolicyError = e.iter().next().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e.to_string(), one.to_string());
    assert_eq!(
        format!("{e}"),
        "5:34: version must be a whole number from 1 to 4294967295"
    );
    assert_eq!(e.render("p", &src), one.render("p", &src));
    assert_eq!(e.message, one.message);
    // `?` into a boxed error, as the CLI does.
    let boxed: Box<dyn std::error::Error + Send + Sync> = e.clone().into();
    assert_eq!(boxed.to_string(), e.to_string());
    // `fmt::format` refuses with the same diagnostics.
    assert_eq!(fmt::format(&src).unwrap_err(), e);
    // A syntax error comes out through the same type.
    let bad = template().replacen("record {", "record", 1);
    let e = compile(&bad).unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(!e.render("p", &bad).contains("could not compile"));
}

/// `require key CIRCUIT ID` pins a circuit's verifying key: the plan holds
/// it, `fmt` keeps it (lower case), `diff` reports it, the hash changes
/// only for policies that pin; a key id that is not 64 hex digits, or two
/// pins for one circuit, are named.
#[test]
fn require_key_pins_a_verifying_key_per_circuit() {
    let t = template_named("supply-chain-receivable");
    let key = "876b0e915284197cc2c3d50170642266f7748e7aa2f7ef819fdf258c7eee7c64";
    let pin = |k: &str| {
        t.replacen(
            "require encrypt to [regulator]\n",
            &format!("require encrypt to [regulator]\nrequire key compare64-v1 {k}\n"),
            1,
        )
    };
    let (plain, pinned) = (compile(t).unwrap(), compile(&pin(key)).unwrap());
    assert!(plain.keys.is_empty());
    assert_eq!(
        hex_of(&pinned.keys["compare64-v1"]),
        key,
        "the plan holds the key id"
    );
    assert_ne!(plain.hash(), pinned.hash());
    // Upper-case hex is the same key; fmt writes it in lower case.
    let upper = compile(&pin(&key.to_ascii_uppercase())).unwrap();
    assert_eq!(upper.hash(), pinned.hash());
    let formatted = fmt::format(&pin(&key.to_ascii_uppercase())).unwrap();
    assert!(
        formatted.contains(&format!("\nrequire key compare64-v1 {key}\n")),
        "{formatted}"
    );
    assert_eq!(compile(&formatted).unwrap().hash(), pinned.hash());
    assert_eq!(
        veilgate_policies::diff::diff(&plain, &pinned),
        [format!("now pins key {key} for circuit `compare64-v1`")]
    );
    // A key id starting with letters or all digits reads too.
    let letters = "ab".repeat(32);
    assert!(compile(&pin(&letters)).is_ok());
    assert!(compile(&pin(&"1".repeat(64))).is_ok());
    for bad in [&key[..63], "xyz", &format!("{key}00")] {
        let e = compile(&pin(bad)).unwrap_err().to_string();
        assert!(e.contains("64 hex digits"), "{bad}: {e}");
    }
    let twice = pin(key).replacen(
        "require key",
        &format!("require key compare64-v1 {key}\nrequire key"),
        1,
    );
    let e = compile(&twice).unwrap_err().to_string();
    assert!(e.contains("two keys for circuit `compare64-v1`"), "{e}");
}

fn hex_of(k: &[u8; 32]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}

/// A small policy every error case below edits.
const BASE: &str = "policy p version 1
ledger l
record {
  payer: party
  amount: amount(2)
  count: integer
  note: string
}
roles { regulator }
disclose {
  payer: public
  amount: commit, range 0 ..= 10, encrypt to [regulator]
  count: encrypt to [payer]
  note: drop
}
";

fn edited(edits: &[(&str, &str)]) -> String {
    let mut src = BASE.to_owned();
    for (from, to) in edits {
        assert!(src.contains(from), "edit `{from}` does not apply");
        src = src.replacen(from, to, 1);
    }
    src
}

/// (line, column, message, help) of the first diagnostic.
fn first_error(src: &str) -> (u32, u32, String, Option<String>) {
    let e = compile(src).unwrap_err();
    (e.span.line, e.span.col, e.message.clone(), e.help.clone())
}

#[test]
fn the_base_policy_of_the_error_cases_compiles() {
    compile(BASE).unwrap();
}

#[test]
fn a_missing_comma_between_disclosures_is_reported_at_the_second_one() {
    let src = edited(&[(
        "count: encrypt to [payer]",
        "count: pseudonym encrypt to [payer]",
    )]);
    assert_eq!(
        first_error(&src),
        (
            13,
            20,
            "missing `,` between `pseudonym` and `encrypt`".to_owned(),
            Some(
                "separate a field's disclosures with commas: `count: pseudonym, encrypt to [...]`"
                    .to_owned()
            )
        )
    );
    // After a range, as in `commit, range 0 ..= 10, encrypt to [x]`.
    let src = edited(&[("..= 10, encrypt", "..= 10 encrypt")]);
    assert_eq!(
        first_error(&src),
        (
            12,
            34,
            "missing `,` between `range 0 ..= 10` and `encrypt`".to_owned(),
            Some("separate a field's disclosures with commas: `amount: commit, range 0 ..= 10, encrypt to [...]`".to_owned())
        )
    );
    // A new rule on the same line is not a missing comma.
    let src = edited(&[
        ("  note: drop\n", ""),
        ("payer: public", "payer: public note: drop"),
    ]);
    compile(&src).unwrap();
}

#[test]
fn an_unclosed_block_is_reported_at_its_opening_naming_the_next_section() {
    let src = edited(&[("  note: string\n}\n", "  note: string\n")]);
    assert_eq!(
        first_error(&src),
        (
            3,
            1,
            "the `record` block is not closed: `roles` on line 8 starts before its `}`".to_owned(),
            Some("add `}` after the block's last entry, before line 8".to_owned())
        )
    );
    let e = compile(&src).unwrap_err();
    assert_eq!(e.span.len, "record {".len() as u32);
    // The last block, at the end of the file.
    let src = edited(&[("  note: drop\n}\n", "  note: drop\n")]);
    assert_eq!(
        first_error(&src),
        (
            10,
            1,
            "the `disclose` block is not closed: the file ends before its `}`".to_owned(),
            Some("add `}` after the block's last entry".to_owned())
        )
    );
    // A `when` block left open before the next one.
    let whens = format!(
        "{BASE}when amount >= 5 {{\n  count: encrypt to [regulator]\nwhen amount >= 8 {{\n  count: encrypt to [regulator]\n}}\n"
    );
    let (line, col, message, _) = first_error(&whens);
    assert_eq!(
        (line, col, message.as_str()),
        (
            16,
            1,
            "the `when` block is not closed: `when` on line 18 starts before its `}`"
        )
    );
    // A field named like a section is still a field.
    let src = edited(&[
        ("note: string", "roles: string"),
        ("note: drop", "roles: drop"),
    ]);
    compile(&src).unwrap();
}

#[test]
fn a_bound_beyond_the_type_says_out_of_range_with_the_limits() {
    let src = edited(&[(
        "count: encrypt to [payer]",
        "count: commit, range 0 ..= 99999999999999999999",
    )]);
    assert_eq!(
        first_error(&src),
        (
            13,
            30,
            "range bound `99999999999999999999` is out of range for integer: it must be from -9223372036854775808 to 9223372036854775807".to_owned(),
            None
        )
    );
    let src = edited(&[("range 0 ..= 10,", "range -100000000000000000 ..= 10,")]);
    let (line, col, message, _) = first_error(&src);
    assert_eq!(
        (line, col, message.as_str()),
        (12, 25, "range bound `-100000000000000000` is out of range for amount(2): it must be from -92233720368547758.08 to 92233720368547758.07")
    );
    // A `when` threshold too.
    let src = format!(
        "{BASE}when amount >= 99999999999999999999 {{\n  count: encrypt to [regulator]\n}}\n"
    );
    let (_, _, message, _) = first_error(&src);
    assert!(
        message.contains("is out of range for amount(2)"),
        "{message}"
    );
}

#[test]
fn an_empty_range_suggests_the_bounds_swapped() {
    let src = edited(&[("range 0 ..= 10", "range 10 ..= 5")]);
    assert_eq!(
        first_error(&src),
        (
            12,
            19,
            "range is empty: the lower bound exceeds the upper bound".to_owned(),
            Some(
                "the lower bound must not exceed the upper; did you mean `range 5 ..= 10`?"
                    .to_owned()
            )
        )
    );
}

/// A policy for every row of the README's "Errors" table: the row's message
/// (capitals stand for any text) and the edits of [`BASE`] that trigger it.
const ERROR_CASES: &[(&str, &[(&str, &str)])] = &[
    (
        "unknown role `NAME`",
        &[("encrypt to [payer]", "encrypt to [payr]")],
    ),
    (
        "field `FIELD` has no disclosure rule",
        &[("  note: drop\n", "")],
    ),
    (
        "`NAME` is not a field of the record",
        &[("note: drop", "nte: drop")],
    ),
    (
        "field `FIELD` has two disclosures",
        &[("note: drop", "note: drop, public")],
    ),
    ("unknown disclosure `NAME`", &[("note: drop", "note: dorp")]),
    (
        "missing `,` between `A` and `B`",
        &[(
            "count: encrypt to [payer]",
            "count: pseudonym encrypt to [payer]",
        )],
    ),
    (
        "`WORD` cannot be combined with `encrypt to`",
        &[("note: drop", "note: drop, encrypt to [regulator]")],
    ),
    ("unknown type `NAME`", &[("note: string", "note: strng")]),
    (
        "the `BLOCK` block is not closed: `NEXT` on line N starts before its `}`",
        &[("  note: string\n}\n", "  note: string\n")],
    ),
    (
        "the `BLOCK` block is not closed: the file ends before its `}`",
        &[("  note: drop\n}\n", "  note: drop\n")],
    ),
    (
        "`range` is proven about a commitment: it needs `commit`",
        &[("amount: commit, range", "amount: pseudonym, range")],
    ),
    (
        "range bound `N` is not a number with at most S decimal places",
        &[("range 0 ..= 10,", "range 0 ..= 10.001,")],
    ),
    (
        "range bound `N` is out of range for TYPE: it must be from MIN to MAX",
        &[(
            "count: encrypt to [payer]",
            "count: commit, range 0 ..= 99999999999999999999",
        )],
    ),
    (
        "range is empty: the lower bound exceeds the upper bound",
        &[("range 0 ..= 10", "range 10 ..= 0")],
    ),
    (
        "`commit` of the TYPE field `FIELD` proves nothing",
        &[("note: drop", "note: commit")],
    ),
    (
        "party field `FIELD` names a recipient, so it must be `public`",
        &[("payer: public", "payer: drop")],
    ),
    (
        "field `FIELD` does not reach `ROLE`, which this policy requires",
        &[("ledger l\n", "ledger l\nrequire encrypt to [regulator]\n")],
    ),
    (
        "a condition on the committed field `FIELD` cannot use `==`",
        &[(
            "  note: drop\n}\n",
            "  note: drop\n}\nwhen amount == 5 {\n  count: encrypt to [regulator]\n}\n",
        )],
    ),
    (
        "padding class `N` is not a power of two",
        &[("ledger l\n", "ledger l\npad pow2 32..=1000\n")],
    ),
    (
        "padding classes `MIN..=MAX` run backwards",
        &[("ledger l\n", "ledger l\npad pow2 64..=32\n")],
    ),
    (
        "unknown crypto suite `NAME`",
        &[("ledger l\n", "ledger l\nsuite aes\n")],
    ),
    (
        "version must be a whole number from 1 to 4294967295",
        &[("version 1", "version 0")],
    ),
];

/// Whether `message` reads as `pattern`, where a run of capitals in the
/// pattern stands for any text without spaces or backticks.
fn matches_pattern(pattern: &str, message: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let m: Vec<char> = message.chars().collect();
    fn go(p: &[char], m: &[char]) -> bool {
        match p.first() {
            None => m.is_empty(),
            Some(c) if c.is_ascii_uppercase() => {
                let n = p
                    .iter()
                    .take_while(|c| c.is_ascii_uppercase() || **c == '_')
                    .count();
                let rest = &p[n..];
                (1..=m.len())
                    .take_while(|&k| m[k - 1] != ' ' && m[k - 1] != '`')
                    .any(|k| go(rest, &m[k..]))
            }
            Some(c) => m.first() == Some(c) && go(&p[1..], &m[1..]),
        }
    }
    go(&p, &m)
}

/// The README's table of common errors, row by row, is what the checker says.
#[test]
fn every_row_of_the_readme_errors_table_is_what_the_checker_says() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("\n## Errors\n")
        .nth(1)
        .expect("README has an `## Errors` section");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| message |"))
        .map(|l| {
            l.trim_start_matches("| ")
                .split(" | ")
                .next()
                .unwrap()
                .trim()
        })
        .collect();
    assert!(rows.len() >= 12, "{rows:?}");
    for row in &rows {
        let Some((_, edits)) = ERROR_CASES.iter().find(|(m, _)| m == row) else {
            panic!("README row `{row}` has no case in ERROR_CASES");
        };
        let src = edited(edits);
        let all = compile(&src).unwrap_err();
        let messages: Vec<&str> = all.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages.iter().any(|m| matches_pattern(row, m)),
            "README row `{row}`: the checker says {messages:?}"
        );
    }
    for (message, _) in ERROR_CASES {
        assert!(
            rows.contains(message),
            "case `{message}` is not a row of the README"
        );
    }
    assert!(matches_pattern("unknown role `NAME`", "unknown role `x_1`"));
    assert!(!matches_pattern(
        "unknown role `NAME`",
        "unknown role `a b`"
    ));
}

/// Each change `diff` finds is classed: widening (someone learns more, or
/// peers check less), narrowing, or other.
#[test]
fn diff_classes_changes_and_warns_on_widening_and_an_unraised_version() {
    use veilgate_policies::diff::{report, Kind};
    let kinds = |edits: &[(&str, &str)]| {
        let (old, new) = (compile(BASE).unwrap(), compile(&edited(edits)).unwrap());
        report(&old, &new)
            .changes
            .into_iter()
            .map(|c| (c.kind, c.text))
            .collect::<Vec<_>>()
    };
    let w = Kind::Widening;
    let n = Kind::Narrowing;
    let o = Kind::Other;
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [(Kind, &'a str)]);
    let cases: &[Case<'_>] = &[
        (
            &[("note: drop", "note: encrypt to [regulator]")],
            &[
                (w, "`note`: was `drop`, now `encrypt`"),
                (w, "`note`: now visible to `regulator`"),
            ],
        ),
        (
            &[("payer: public", "payer: public, submitter")],
            &[(o, "field `payer` now names the submitting institution")],
        ),
        (
            &[("count: encrypt to [payer]", "count: drop")],
            &[
                (n, "`count`: was `encrypt`, now `drop`"),
                (
                    n,
                    "`count`: no longer visible to `payer`; no role can read the value now",
                ),
            ],
        ),
        (
            &[("range 0 ..= 10,", "range 0 ..= 20,")],
            &[(
                w,
                "`amount`: was `commit, range 0.00 ..= 10.00`, now `commit, range 0.00 ..= 20.00`",
            )],
        ),
        (
            &[("range 0 ..= 10,", "range 1 ..= 10,")],
            &[(
                n,
                "`amount`: was `commit, range 0.00 ..= 10.00`, now `commit, range 1.00 ..= 10.00`",
            )],
        ),
        (
            &[(
                "count: encrypt to [payer]",
                "count: pseudonym, encrypt to [payer]",
            )],
            &[(w, "`count`: was `encrypt`, now `pseudonym`")],
        ),
        (
            &[("ledger l\n", "ledger l, m\n")],
            &[(
                w,
                "now binds ledger `m`: its members read what the policy makes public",
            )],
        ),
    ];
    for (edits, want) in cases {
        let got = kinds(edits);
        let want: Vec<(Kind, String)> = want.iter().map(|(k, t)| (*k, t.to_string())).collect();
        assert_eq!(got, want, "{edits:?}");
    }
    // Warnings: one per widening change, and the version not raised.
    let (old, new) = (
        compile(BASE).unwrap(),
        compile(&edited(&[("note: drop", "note: public")])).unwrap(),
    );
    let r = report(&old, &new);
    assert!(r.widened() && r.differs);
    assert_eq!(
        r.warnings,
        [
            "disclosure widens: `note`: was `drop`, now `public`",
            "disclosure widens: `note`: now public — visible to everyone who reads the ledger",
            "policy `p` changed but its version did not go up (1 → 1): the gateway refuses two different texts under one id and version; write `version 2`",
        ]
    );
    // The same plan: nothing to say.
    let same = report(&old, &compile(BASE).unwrap());
    assert!(same.changes.is_empty() && same.warnings.is_empty() && !same.differs);
    // No sentence of any template pair says "only to nobody".
    for (_, a) in TEMPLATES {
        for (_, b) in TEMPLATES {
            for c in report(&compile(a).unwrap(), &compile(b).unwrap()).changes {
                assert!(!c.text.contains("nobody"), "{}", c.text);
            }
        }
    }
}
