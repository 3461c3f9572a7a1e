//! `veilgate policy fmt`: the canonical layout of a policy, rebuilt from the
//! syntax tree with every comment kept in place. Formatting never changes the
//! policy hash (tested), and formatting twice changes nothing.

use crate::parse::{
    parse, Action, Block, Generalize, Header, Item, Name, PolicyAst, PredicateAst, TypeExpr,
};
use crate::Diagnostics;

pub fn format(source: &str) -> Result<String, Diagnostics> {
    // Only a policy that compiles is formatted: fmt must not bless a broken file.
    crate::compile(source)?;
    Ok(render(&parse(source)?))
}

fn comments(out: &mut String, indent: &str, lines: &[String]) {
    for c in lines {
        if c.is_empty() {
            out.push_str(&format!("{indent}#\n"));
        } else {
            out.push_str(&format!(
                "{indent}#{}{c}\n",
                if c.starts_with(' ') { "" } else { " " }
            ));
        }
    }
}

fn line(out: &mut String, text: &str, trailing: &Option<String>) {
    out.push_str(text);
    if let Some(c) = trailing {
        out.push_str(&format!(
            "  #{}{c}",
            if c.starts_with(' ') { "" } else { " " }
        ));
    }
    out.push('\n');
}

fn names(list: &[Name]) -> String {
    list.iter()
        .map(|n| n.text.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn block<T>(
    out: &mut String,
    head: &str,
    b: &Block<T>,
    key: impl Fn(&T) -> String,
    rest: impl Fn(&T) -> String,
) {
    out.push('\n');
    comments(out, "", &b.leading);
    out.push_str(&format!("{head} {{\n"));
    let width = b
        .items
        .iter()
        .map(|i| key(&i.node).chars().count())
        .max()
        .unwrap_or(0);
    for Item {
        leading,
        node,
        trailing,
    } in &b.items
    {
        comments(out, "  ", leading);
        let k = key(node);
        let r = rest(node);
        let text = if r.is_empty() {
            format!("  {k}")
        } else {
            format!("  {k:<width$} {r}")
        };
        line(out, &text, trailing);
    }
    comments(out, "  ", &b.closing);
    out.push_str("}\n");
}

/// A block of bare names: on one line when no comment needs its own line.
fn name_block(out: &mut String, head: &str, b: &Block<Name>) {
    let commented = !b.closing.is_empty()
        || b.items
            .iter()
            .any(|i| !i.leading.is_empty() || i.trailing.is_some());
    if commented {
        block(out, head, b, |n| n.text.clone(), |_| String::new());
    } else {
        out.push('\n');
        comments(out, "", &b.leading);
        let list: Vec<&str> = b.items.iter().map(|i| i.node.text.as_str()).collect();
        out.push_str(&format!("{head} {{ {} }}\n", list.join(" ")));
    }
}

fn type_text(t: &TypeExpr) -> String {
    match t {
        TypeExpr::Simple(n) => n.text.clone(),
        TypeExpr::Amount { scale, .. } => format!("amount({scale})"),
        TypeExpr::Enum { variants, .. } => format!("enum({})", names(variants)),
    }
}

/// A disclosure as `fmt` writes it (`range 0 ..= 10`, `encrypt to [a, b]`).
pub(crate) fn action_text(a: &Action) -> String {
    match a {
        Action::Public(_) => "public".into(),
        Action::Drop(_) => "drop".into(),
        Action::Pseudonym(_) => "pseudonym".into(),
        Action::Commit(_) => "commit".into(),
        Action::Submitter(_) => "submitter".into(),
        Action::EncryptTo(r, _) => format!("encrypt to [{}]", names(r)),
        Action::Range { lo, hi, .. } => format!("range {lo} ..= {hi}"),
        Action::Mask { first, last, .. } => {
            let mut s = "mask".to_owned();
            if *first > 0 {
                s.push_str(&format!(" first {first}"));
            }
            if *last > 0 {
                s.push_str(&format!(" last {last}"));
            }
            s
        }
        Action::Generalize(g, _) => match g {
            Generalize::Year => "generalize year".into(),
            Generalize::Month => "generalize month".into(),
            Generalize::Bucket(w) => format!("generalize bucket {w}"),
        },
    }
}

fn predicate_text(p: &PredicateAst) -> String {
    match p {
        PredicateAst::Compare { left, op, right } => {
            format!("{} {} {}", left.text, op.symbol(), right.text)
        }
        PredicateAst::Sum {
            terms,
            total,
            sum_form: true,
        } => format!("sum({}) == {}", names(terms), total.text),
        PredicateAst::Sum {
            terms,
            total,
            sum_form: false,
        } => {
            format!(
                "{} == {}",
                terms
                    .iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" + "),
                total.text
            )
        }
        PredicateAst::Member {
            field,
            set,
            negated,
        } => format!(
            "{} {}in {}",
            field.text,
            if *negated { "not " } else { "" },
            set.text
        ),
        PredicateAst::Age { birth, at, years } => {
            format!("age({}, {}) >= {}", birth.text, at.text, years.0)
        }
    }
}

fn render(ast: &PolicyAst) -> String {
    let mut out = String::new();
    comments(&mut out, "", &ast.leading);
    line(
        &mut out,
        &format!("policy {} version {}", ast.id.text, ast.version.0),
        &ast.id_trailing,
    );
    for h in &ast.headers {
        comments(&mut out, "", &h.leading);
        let text = match &h.node {
            Header::Ledger(l) => format!("ledger {}", names(l)),
            Header::Suite(s) => format!("suite {}", s.text),
            Header::Require(r, _) => format!("require encrypt to [{}]", names(r)),
            Header::SeesAll(r, _) => format!("require all fields to [{}]", names(r)),
            Header::OnChain(_) => "require proofs on chain".to_owned(),
            Header::Pad {
                scheme, min, max, ..
            } => format!("pad {} {}..={}", scheme.text, min.0, max.0),
            Header::Key { circuit, key, .. } => {
                format!(
                    "require key {} {}",
                    circuit.text,
                    key.0.to_ascii_lowercase()
                )
            }
        };
        line(&mut out, &text, &h.trailing);
    }
    block(
        &mut out,
        "record",
        &ast.fields,
        |(n, _)| format!("{}:", n.text),
        |(_, t)| type_text(t),
    );
    if ast.roles.present {
        name_block(&mut out, "roles", &ast.roles);
    }
    if ast.sets.present {
        name_block(&mut out, "sets", &ast.sets);
    }
    block(
        &mut out,
        "disclose",
        &ast.rules,
        |r| format!("{}:", r.field.text),
        |r| {
            r.actions
                .iter()
                .map(action_text)
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    if ast.proofs.present {
        block(&mut out, "prove", &ast.proofs, predicate_text, |_| {
            String::new()
        });
    }
    for w in &ast.whens {
        out.push('\n');
        comments(&mut out, "", &w.leading);
        let n = &w.node;
        line(
            &mut out,
            &format!("when {} {} {} {{", n.field.text, n.op.symbol(), n.value.0),
            &w.trailing,
        );
        let width = n
            .extra
            .iter()
            .map(|e| e.node.0.text.chars().count() + 1)
            .max()
            .unwrap_or(0);
        for Item {
            leading,
            node: (f, roles),
            trailing,
        } in &n.extra
        {
            comments(&mut out, "  ", leading);
            line(
                &mut out,
                &format!(
                    "  {:<width$} encrypt to [{}]",
                    format!("{}:", f.text),
                    names(roles)
                ),
                trailing,
            );
        }
        out.push_str("}\n");
    }
    if !ast.end_comments.is_empty() {
        out.push('\n');
        comments(&mut out, "", &ast.end_comments);
    }
    out
}
