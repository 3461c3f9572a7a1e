//! Checker: syntax tree → plan. Every rule a policy must meet is here, each
//! failing with the position of the offending text.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{suggest, PolicyError, Span};
use crate::parse::{Action, Generalize, Header, Name, PolicyAst, PredicateAst, TypeExpr};
use crate::plan::{
    Condition, Disclosure, FieldPlan, FieldType, Generalization, Plan, Predicate, Role,
};
use crate::record::parse_decimal;

/// Crypto suites a policy may name. `sm` (SM2/SM3/SM4) comes with its suite.
pub const SUITES: &[&str] = &["standard"];

const TYPES: &[&str] = &[
    "string", "integer", "bool", "date", "party", "amount", "enum", "bytes",
];

fn err(span: Span, msg: impl Into<String>) -> PolicyError {
    PolicyError::new(span, msg)
}

fn with_suggestion<'a>(
    e: PolicyError,
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    fallback: Option<String>,
) -> PolicyError {
    match (suggest(word, candidates), fallback) {
        (Some(h), _) | (None, Some(h)) => e.with_help(h),
        (None, None) => e,
    }
}

struct Scope<'a> {
    types: &'a [(Name, FieldType)],
    party_fields: BTreeSet<&'a str>,
    ledger_roles: &'a BTreeSet<String>,
}

impl<'a> Scope<'a> {
    fn field(&self, n: &Name) -> Result<&'a FieldType, PolicyError> {
        match self.types.iter().find(|(f, _)| f.text == n.text) {
            Some((_, t)) => Ok(t),
            None => Err(with_suggestion(
                err(n.span, format!("`{}` is not a field of the record", n.text)),
                &n.text,
                self.types.iter().map(|(f, _)| f.text.as_str()),
                None,
            )),
        }
    }

    fn roles(&self, names: &[Name]) -> Result<Vec<Role>, PolicyError> {
        let mut out = BTreeSet::new();
        for n in names {
            let role = if self.party_fields.contains(n.text.as_str()) {
                Role::Party(n.text.clone())
            } else if self.ledger_roles.contains(&n.text) {
                Role::Ledger(n.text.clone())
            } else {
                let candidates = self
                    .party_fields
                    .iter()
                    .copied()
                    .chain(self.ledger_roles.iter().map(String::as_str));
                return Err(with_suggestion(
                    err(n.span, format!("unknown role `{}`", n.text)),
                    &n.text,
                    candidates,
                    Some("a role is a `party` field or a name declared in `roles { ... }`".into()),
                ));
            };
            if !out.insert(role) {
                return Err(err(
                    n.span,
                    format!("recipient `{}` is listed twice", n.text),
                ));
            }
        }
        Ok(out.into_iter().collect())
    }
}

pub fn check(ast: PolicyAst) -> Result<Plan, PolicyError> {
    let version: u32 = ast
        .version
        .0
        .parse()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            err(
                ast.version.1,
                "version must be a whole number from 1 to 4294967295",
            )
        })?;

    // Header lines.
    let mut ledgers: Option<Vec<String>> = None;
    let mut suite: Option<String> = None;
    let mut require: Option<&Vec<Name>> = None;
    let mut onchain: Option<Span> = None;
    for h in &ast.headers {
        match &h.node {
            Header::Ledger(names) => {
                if ledgers.is_some() {
                    let span = names.first().map_or(ast.id.span, |n| n.span);
                    return Err(err(span, "the policy has two `ledger` lines")
                        .with_help("list every ledger on one line: `ledger a, b`"));
                }
                let mut set = BTreeSet::new();
                for n in names {
                    if !set.insert(n.text.clone()) {
                        return Err(err(n.span, format!("ledger `{}` is listed twice", n.text)));
                    }
                }
                ledgers = Some(set.into_iter().collect());
            }
            Header::Suite(s) => {
                if suite.is_some() {
                    return Err(err(s.span, "the policy names two crypto suites"));
                }
                if !SUITES.contains(&s.text.as_str()) {
                    return Err(with_suggestion(
                        err(s.span, format!("unknown crypto suite `{}`", s.text)),
                        &s.text,
                        SUITES.iter().copied(),
                        Some(format!("known suites: {}", SUITES.join(", "))),
                    ));
                }
                suite = Some(s.text.clone());
            }
            Header::Require(names, span) => {
                if require.is_some() {
                    return Err(err(*span, "the policy has two `require` lines").with_help(
                        "list every required recipient in one `require encrypt to [...]`",
                    ));
                }
                require = Some(names);
            }
            Header::OnChain(span) => {
                if onchain.is_some() {
                    return Err(err(
                        *span,
                        "the policy says `require proofs on chain` twice",
                    ));
                }
                onchain = Some(*span);
            }
        }
    }
    let ledgers = ledgers.ok_or_else(|| {
        err(
            ast.id.span,
            format!("policy `{}` binds no ledger", ast.id.text),
        )
        .with_help("add a line `ledger NAME` after the `policy` line")
    })?;

    // Schema.
    let mut types: Vec<(Name, FieldType)> = Vec::new();
    for item in &ast.fields.items {
        let (name, ty) = &item.node;
        if let Some((first, _)) = types.iter().find(|(n, _)| n.text == name.text) {
            return Err(err(
                name.span,
                format!("field `{}` is declared twice", name.text),
            )
            .with_help(format!("first declared on line {}", first.span.line)));
        }
        types.push((name.clone(), field_type(ty)?));
    }
    if types.is_empty() {
        return Err(err(ast.fields.span, "the record declares no fields"));
    }

    // Roles and sets.
    let mut ledger_roles = BTreeSet::new();
    for r in ast.roles.items.iter().map(|i| &i.node) {
        if types.iter().any(|(n, _)| n.text == r.text) {
            return Err(err(
                r.span,
                format!("role `{}` has the name of a record field", r.text),
            )
            .with_help("a party field is already a role; other fields cannot be roles"));
        }
        if !ledger_roles.insert(r.text.clone()) {
            return Err(err(r.span, format!("role `{}` is declared twice", r.text)));
        }
    }
    let mut sets = BTreeSet::new();
    for s in ast.sets.items.iter().map(|i| &i.node) {
        if types.iter().any(|(n, _)| n.text == s.text) || ledger_roles.contains(&s.text) {
            return Err(err(
                s.span,
                format!("set `{}` has the name of a field or role", s.text),
            ));
        }
        if !sets.insert(s.text.clone()) {
            return Err(err(s.span, format!("set `{}` is declared twice", s.text)));
        }
    }
    let scope = Scope {
        types: &types,
        party_fields: types
            .iter()
            .filter(|(_, t)| *t == FieldType::Party)
            .map(|(n, _)| n.text.as_str())
            .collect(),
        ledger_roles: &ledger_roles,
    };
    let required = match require {
        Some(names) => scope.roles(names)?,
        None => Vec::new(),
    };

    // Rules: exactly one per field.
    let mut rules: BTreeMap<&str, (Span, Disclosure)> = BTreeMap::new();
    for rule in ast.rules.items.iter().map(|i| &i.node) {
        let ty = scope.field(&rule.field)?;
        if let Some((first, _)) = rules.get(rule.field.text.as_str()) {
            return Err(err(
                rule.field.span,
                format!("field `{}` has two disclosure rules", rule.field.text),
            )
            .with_help(format!(
                "the first is on line {}; a field has exactly one",
                first.line
            )));
        }
        let d = disclosure(&rule.field, ty, &rule.actions, &scope)?;
        rules.insert(&rule.field.text, (rule.field.span, d));
    }
    let mut spans: BTreeMap<String, Span> = BTreeMap::new();
    let mut fields = Vec::with_capacity(types.len());
    for (name, ty) in &types {
        let Some((span, disclosure)) = rules.remove(name.text.as_str()) else {
            return Err(err(ast.rules.span, format!("field `{}` has no disclosure rule", name.text))
                .with_help(format!("nothing is disclosed by default: add `{}: drop` if it must not leave the institution", name.text)));
        };
        spans.insert(name.text.clone(), span);
        fields.push(FieldPlan {
            name: name.text.clone(),
            ty: ty.clone(),
            disclosure,
        });
    }
    let span_of = |f: &str| spans.get(f).copied().unwrap_or(ast.rules.span);
    let disclosure_of = |f: &str| fields.iter().find(|g| g.name == f).map(|g| &g.disclosure);

    // Predicates.
    let mut predicates = BTreeSet::new();
    for item in &ast.proofs.items {
        let (p, span) = predicate(&item.node, &scope, &sets, &disclosure_of)?;
        for f in p.fields() {
            if let Some(Disclosure::Commit { range: Some(_), .. }) = disclosure_of(f) {
                return Err(err(span, format!("field `{f}` has a range proof and appears in `{}`", p.describe()))
                    .with_help("a bulletproofs range and a Groth16 predicate would commit to it twice, unlinked; drop one"));
            }
        }
        let described = p.describe();
        if !predicates.insert(p) {
            return Err(err(span, format!("`{described}` is stated twice")));
        }
    }

    // Conditions.
    let mut conditions = Vec::new();
    for item in &ast.whens {
        let w = &item.node;
        let ty = scope.field(&w.field)?;
        let scale = match ty {
            FieldType::Integer | FieldType::Amount { .. } => ty.scale().unwrap_or(0),
            other => {
                return Err(err(
                    w.field.span,
                    format!(
                        "a condition needs an integer or amount field, `{}` is {}",
                        w.field.text,
                        other.name()
                    ),
                ))
            }
        };
        if !matches!(
            disclosure_of(&w.field.text),
            Some(Disclosure::Public | Disclosure::Commit { .. })
        ) {
            return Err(err(
                w.field.span,
                format!(
                    "a condition on `{}` needs it `public` or `commit`ted",
                    w.field.text
                ),
            )
            .with_help("peers check the condition against the public value or the commitment"));
        }
        let threshold = parse_decimal(&w.value.0, scale).ok_or_else(|| {
            err(
                w.value.1,
                format!(
                    "`{}` is not a number with at most {scale} decimal places",
                    w.value.0
                ),
            )
        })?;
        let mut extra = BTreeMap::new();
        for e in &w.extra {
            let (f, roles) = &e.node;
            scope.field(f)?;
            if let Some(Disclosure::Public | Disclosure::Drop) = disclosure_of(&f.text) {
                return Err(err(
                    f.span,
                    format!(
                        "field `{}` is public or dropped: a condition cannot add recipients to it",
                        f.text
                    ),
                ));
            }
            if extra.insert(f.text.clone(), scope.roles(roles)?).is_some() {
                return Err(err(
                    f.span,
                    format!("field `{}` appears twice in this `when` block", f.text),
                ));
            }
        }
        if extra.is_empty() {
            return Err(err(w.span, "this `when` block adds nothing"));
        }
        conditions.push(Condition {
            field: w.field.text.clone(),
            op: w.op,
            threshold,
            extra: extra.into_iter().collect(),
        });
    }

    // A party field that names a recipient must itself be public: the envelope's
    // recipient list shows the institution anyway, and peers need it to check
    // that the ciphertexts go to the parties the policy names.
    let all_recipients = fields
        .iter()
        .map(|f| (f.name.as_str(), f.disclosure.recipients()))
        .chain(
            conditions
                .iter()
                .flat_map(|c| c.extra.iter().map(|(f, r)| (f.as_str(), r.as_slice()))),
        );
    for (field, roles) in all_recipients {
        for role in roles {
            if let Role::Party(p) = role {
                if disclosure_of(p) != Some(&Disclosure::Public) {
                    return Err(err(
                        span_of(p),
                        format!("party field `{p}` names a recipient, so it must be `public`"),
                    )
                    .with_help(format!(
                        "field `{field}` is encrypted to `{p}`; peers check recipients against it"
                    )));
                }
            }
        }
    }
    // The ledger's requirement: every field that goes to anyone reaches the required roles.
    for f in &fields {
        let r = f.disclosure.recipients();
        if r.is_empty()
            && !matches!(
                f.disclosure,
                Disclosure::Commit { .. }
                    | Disclosure::Pseudonym { .. }
                    | Disclosure::Mask { .. }
                    | Disclosure::Generalize { .. }
            )
        {
            continue;
        }
        if let Some(missing) = required.iter().find(|q| !r.contains(q)) {
            return Err(err(
                span_of(&f.name),
                format!(
                    "field `{}` does not reach `{}`, which this policy requires",
                    f.name,
                    missing.name()
                ),
            )
            .with_help(format!(
                "add `{}` to its `encrypt to [...]`",
                missing.name()
            )));
        }
    }

    if let Some(span) = onchain {
        if predicates.is_empty() {
            return Err(err(
                span,
                "`require proofs on chain` needs predicates: the policy proves nothing",
            )
            .with_help("add a `prove { ... }` block, or remove this line"));
        }
    }

    Ok(Plan {
        id: ast.id.text,
        version,
        ledgers,
        suite: suite.unwrap_or_else(|| "standard".to_owned()),
        required,
        ledger_roles: ledger_roles.into_iter().collect(),
        sets: sets.into_iter().collect(),
        fields,
        predicates: predicates.into_iter().collect(),
        conditions,
        onchain: onchain.is_some(),
        hash: [0; 32],
    }
    .seal_hash())
}

fn field_type(ty: &TypeExpr) -> Result<FieldType, PolicyError> {
    match ty {
        TypeExpr::Simple(n) => match n.text.as_str() {
            "string" => Ok(FieldType::String),
            "integer" => Ok(FieldType::Integer),
            "bool" => Ok(FieldType::Bool),
            "date" => Ok(FieldType::Date),
            "party" => Ok(FieldType::Party),
            "bytes" => Ok(FieldType::Bytes),
            "amount" | "enum" => Err(err(n.span, format!("type `{}` needs arguments", n.text))
                .with_help("write `amount(2)` or `enum(A, B)`")),
            other => Err(with_suggestion(
                err(n.span, format!("unknown type `{other}`")),
                other,
                TYPES.iter().copied(),
                Some(format!("types are {}", TYPES.join(", "))),
            )),
        },
        TypeExpr::Amount { scale, span } => scale
            .parse::<u8>()
            .ok()
            .filter(|s| *s <= 18)
            .map(|scale| FieldType::Amount { scale })
            .ok_or_else(|| {
                err(
                    *span,
                    "decimal places of an amount must be a whole number from 0 to 18",
                )
            }),
        TypeExpr::Enum { variants, .. } => {
            let mut seen = BTreeSet::new();
            for v in variants {
                if !seen.insert(v.text.as_str()) {
                    return Err(err(
                        v.span,
                        format!("enum value `{}` is listed twice", v.text),
                    ));
                }
            }
            Ok(FieldType::Enum(
                variants.iter().map(|v| v.text.clone()).collect(),
            ))
        }
    }
}

fn describe(a: &Action) -> &'static str {
    match a {
        Action::Public(_) => "public",
        Action::Drop(_) => "drop",
        Action::Pseudonym(_) => "pseudonym",
        Action::Commit(_) => "commit",
        Action::EncryptTo(..) => "encrypt to",
        Action::Range { .. } => "range",
        Action::Mask { .. } => "mask",
        Action::Generalize(..) => "generalize",
    }
}

fn disclosure(
    field: &Name,
    ty: &FieldType,
    actions: &[Action],
    scope: &Scope<'_>,
) -> Result<Disclosure, PolicyError> {
    let mut base: Option<&Action> = None;
    let mut encrypt: Option<(Vec<Role>, Span)> = None;
    let mut range: Option<(&str, &str, Span)> = None;
    for a in actions {
        match a {
            Action::EncryptTo(names, span) => {
                if encrypt.is_some() {
                    return Err(err(
                        *span,
                        format!("field `{}` lists `encrypt to` twice", field.text),
                    )
                    .with_help("list every recipient in one `encrypt to [...]`"));
                }
                encrypt = Some((scope.roles(names)?, *span));
            }
            Action::Range { lo, hi, span } => {
                if range.is_some() {
                    return Err(err(*span, format!("field `{}` has two ranges", field.text)));
                }
                range = Some((lo, hi, *span));
            }
            other => {
                if let Some(first) = base {
                    return Err(err(
                        other.span(),
                        format!("field `{}` has two disclosures", field.text),
                    )
                    .with_help(format!(
                        "`{}` already decides it; a field has exactly one",
                        describe(first)
                    )));
                }
                base = Some(other);
            }
        }
    }
    if let (Some(b @ (Action::Public(_) | Action::Drop(_))), Some((_, span))) = (base, &encrypt) {
        return Err(err(
            *span,
            format!("`{}` cannot be combined with `encrypt to`", describe(b)),
        )
        .with_help("a public field is readable by all; a dropped field by none"));
    }
    if let Some((_, _, span)) = range {
        if !matches!(base, Some(Action::Commit(_))) {
            return Err(err(
                span,
                "`range` is proven about a commitment: it needs `commit`",
            )
            .with_help(format!("write `{}: commit, range ...`", field.text)));
        }
    }
    let to = encrypt.map(|(r, _)| r).unwrap_or_default();
    Ok(match base {
        Some(Action::Public(_)) => Disclosure::Public,
        Some(Action::Drop(_)) => Disclosure::Drop,
        Some(Action::Pseudonym(span)) => {
            if matches!(ty, FieldType::Bool | FieldType::Enum(_)) {
                return Err(err(*span, format!("a pseudonym of a {} field hides nothing", ty.name()))
                    .with_help("it has so few values that anyone can hash them all; use `encrypt to` or `drop`"));
            }
            Disclosure::Pseudonym { reveal_to: to }
        }
        Some(Action::Commit(span)) => {
            if *ty == FieldType::Bool {
                return Err(err(*span, format!("`commit` of the bool field `{}` hides nothing", field.text)).with_help("use `encrypt to` or `drop`"));
            }
            let range = match range {
                None => None,
                Some((lo, hi, span)) => {
                    let scale = ty.scale().ok_or_else(|| err(span, format!("`range` needs an integer, amount or date field, `{}` is {}", field.text, ty.name())))?;
                    if *ty == FieldType::Date {
                        return Err(err(span, "a date range is written as a predicate: `age(birth, date) >= N`"));
                    }
                    let bound = |s: &str| parse_decimal(s, scale).ok_or_else(|| err(span, format!("range bound `{s}` is not a number with at most {scale} decimal places")));
                    let (lo, hi) = (bound(lo)?, bound(hi)?);
                    if lo > hi {
                        return Err(err(span, "range is empty: the lower bound exceeds the upper bound"));
                    }
                    Some((lo, hi))
                }
            };
            Disclosure::Commit { range, open_to: to }
        }
        Some(Action::Mask { first, last, span }) => {
            if *ty != FieldType::String {
                return Err(err(*span, format!("`mask` keeps characters of a string, `{}` is {}", field.text, ty.name())));
            }
            if first + last == 0 {
                return Err(err(*span, "`mask` keeps no character: use `drop` or `encrypt to`").with_help("write `mask last 4` or `mask first 2 last 4`"));
            }
            if first + last > 16 {
                return Err(err(*span, "`mask` keeps more than 16 characters: that is barely a mask"));
            }
            Disclosure::Mask { first: *first, last: *last, reveal_to: to }
        }
        Some(Action::Generalize(g, span)) => {
            let how = match (g, ty) {
                (Generalize::Year, FieldType::Date) => Generalization::Year,
                (Generalize::Month, FieldType::Date) => Generalization::Month,
                (Generalize::Bucket(w), FieldType::Integer | FieldType::Amount { .. }) => {
                    let scale = ty.scale().unwrap_or(0);
                    let width = parse_decimal(w, scale)
                        .filter(|w| *w > 0)
                        .ok_or_else(|| err(*span, format!("bucket width `{w}` must be a positive number with at most {scale} decimal places")))?;
                    Generalization::Bucket(width)
                }
                (Generalize::Year | Generalize::Month, _) => return Err(err(*span, format!("`generalize year` and `month` need a date field, `{}` is {}", field.text, ty.name()))),
                (Generalize::Bucket(_), _) => return Err(err(*span, format!("`generalize bucket` needs an integer or amount field, `{}` is {}", field.text, ty.name()))),
            };
            Disclosure::Generalize { how, reveal_to: to }
        }
        None if !to.is_empty() => Disclosure::Encrypt { to },
        _ => {
            return Err(err(field.span, format!("field `{}` has no disclosure", field.text))
                .with_help("one of `public`, `drop`, `pseudonym`, `commit`, `mask`, `generalize`, `encrypt to [...]`"))
        }
    })
}

fn predicate<'a>(
    p: &PredicateAst,
    scope: &Scope<'_>,
    sets: &BTreeSet<String>,
    disclosure_of: &impl Fn(&str) -> Option<&'a Disclosure>,
) -> Result<(Predicate, Span), PolicyError> {
    let committed = |n: &Name| -> Result<FieldType, PolicyError> {
        let ty = scope.field(n)?.clone();
        if !matches!(disclosure_of(&n.text), Some(Disclosure::Commit { .. })) {
            return Err(err(
                n.span,
                format!("`{}` must be `commit`ted to be proven about", n.text),
            )
            .with_help("a predicate speaks about a hidden value; a public value needs no proof"));
        }
        Ok(ty)
    };
    let numeric = |n: &Name| -> Result<u8, PolicyError> {
        let ty = committed(n)?;
        ty.scale().ok_or_else(|| {
            err(
                n.span,
                format!(
                    "`{}` is {}: only numbers and dates compare",
                    n.text,
                    ty.name()
                ),
            )
        })
    };
    Ok(match p {
        PredicateAst::Compare { left, op, right } => {
            let (a, b) = (numeric(left)?, numeric(right)?);
            if scope.field(left)? != scope.field(right)? && a != b {
                return Err(err(
                    right.span,
                    format!(
                        "`{}` and `{}` are counted at different scales",
                        left.text, right.text
                    ),
                ));
            }
            if left.text == right.text {
                return Err(err(
                    right.span,
                    "a field compared with itself proves nothing",
                ));
            }
            (
                Predicate::Compare {
                    left: left.text.clone(),
                    op: *op,
                    right: right.text.clone(),
                },
                left.span,
            )
        }
        PredicateAst::Sum { terms, total, .. } => {
            if terms.len() < 2 {
                return Err(err(total.span, "a sum needs at least two terms"));
            }
            let scale = numeric(total)?;
            let mut seen = BTreeSet::new();
            for t in terms {
                if numeric(t)? != scale {
                    return Err(err(
                        t.span,
                        format!(
                            "`{}` and `{}` are counted at different scales",
                            t.text, total.text
                        ),
                    ));
                }
                if t.text == total.text || !seen.insert(t.text.as_str()) {
                    return Err(err(
                        t.span,
                        format!("`{}` appears twice in the sum", t.text),
                    ));
                }
            }
            (
                Predicate::Sum {
                    terms: terms.iter().map(|t| t.text.clone()).collect(),
                    total: total.text.clone(),
                },
                terms.first().map_or(total.span, |t| t.span),
            )
        }
        PredicateAst::Member {
            field,
            set,
            negated,
        } => {
            committed(field)?;
            if !sets.contains(&set.text) {
                return Err(with_suggestion(
                    err(set.span, format!("unknown set `{}`", set.text)),
                    &set.text,
                    sets.iter().map(String::as_str),
                    Some(
                        "declare it in `sets { ... }`; its Merkle root is published on the ledger"
                            .into(),
                    ),
                ));
            }
            (
                Predicate::Member {
                    field: field.text.clone(),
                    set: set.text.clone(),
                    negated: *negated,
                },
                field.span,
            )
        }
        PredicateAst::Age { birth, at, years } => {
            if committed(birth)? != FieldType::Date {
                return Err(err(birth.span, format!("`{}` must be a date", birth.text)));
            }
            if scope.field(at)? != &FieldType::Date
                || disclosure_of(&at.text) != Some(&Disclosure::Public)
            {
                return Err(err(
                    at.span,
                    format!(
                        "`{}` must be a public date: peers need it to check the age",
                        at.text
                    ),
                ));
            }
            let y: u32 = years
                .0
                .parse()
                .ok()
                .filter(|y| (1..=150).contains(y))
                .ok_or_else(|| err(years.1, "years must be a whole number from 1 to 150"))?;
            (
                Predicate::AgeAtLeast {
                    birth: birth.text.clone(),
                    at: at.text.clone(),
                    years: y,
                },
                birth.span,
            )
        }
    })
}
