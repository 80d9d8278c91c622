//! Shopify's order search syntax, as far as the client uses it: `created_at`/`updated_at`/
//! `processed_at` comparisons, `financial_status`, `test`, `status`, `id`, `sku`, `name`; terms joined
//! by spaces or `AND`, optional `-` negation, values quoted or not. Unknown fields are ignored with a
//! warning, like Shopify's `extensions.search` warnings.

use chrono::{DateTime, Duration, Utc};

use super::state::Order;
use super::util::parse_datetime;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TimeField {
    Created,
    Updated,
    Processed,
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Time {
        field: TimeField,
        cmp: Cmp,
        at: DateTime<Utc>,
        date_only: bool,
    },
    Financial(String),
    Test(bool),
    Status(String),
    Id(Cmp, u64),
    Sku(String),
    Name(String),
}

/// A parsed search.
#[derive(Debug, Clone, Default)]
pub struct Search {
    terms: Vec<(bool, Term)>,
    /// `(field, message)` for the terms that were ignored.
    pub warnings: Vec<(String, String)>,
}

fn tokens(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in q.chars() {
        match quote {
            Some(qc) => {
                cur.push(c);
                if c == qc {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['\'', '"'] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn split_cmp(v: &str) -> (Cmp, &str) {
    for (p, c) in [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
        ("=", Cmp::Eq),
    ] {
        if let Some(rest) = v.strip_prefix(p) {
            return (c, rest);
        }
    }
    (Cmp::Eq, v)
}

fn compare<T: PartialOrd>(cmp: Cmp, a: T, b: T) -> bool {
    match cmp {
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
        Cmp::Eq => a == b,
    }
}

impl Search {
    /// Parses `q`; `now` resolves the value `now`.
    pub fn parse(q: &str, now: DateTime<Utc>) -> Search {
        let mut s = Search::default();
        for tok in tokens(q) {
            let tok = tok.trim_matches(|c| c == '(' || c == ')');
            if tok.is_empty() || tok == "AND" {
                continue;
            }
            if tok == "OR" || tok == "NOT" {
                s.warnings.push((
                    tok.to_string(),
                    "The sandbox treats OR/NOT as AND; use '-field:value' to negate.".into(),
                ));
                continue;
            }
            let (neg, body) = match tok.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, tok),
            };
            let Some((field, raw)) = body.split_once(':') else {
                s.warnings.push((
                    body.to_string(),
                    "Free-text search is not supported by the sandbox; term ignored.".into(),
                ));
                continue;
            };
            let field_lc = field.to_ascii_lowercase();
            let (cmp, value) = split_cmp(raw.trim());
            let value = unquote(value);
            let term = match field_lc.as_str() {
                "created_at" | "updated_at" | "processed_at" => {
                    let tf = match field_lc.as_str() {
                        "created_at" => TimeField::Created,
                        "updated_at" => TimeField::Updated,
                        _ => TimeField::Processed,
                    };
                    let at = if value.eq_ignore_ascii_case("now") {
                        Some(now)
                    } else {
                        parse_datetime(value)
                    };
                    match at {
                        Some(at) => Term::Time {
                            field: tf,
                            cmp,
                            at,
                            date_only: value.len() == 10,
                        },
                        None => {
                            s.warnings.push((
                                field.to_string(),
                                format!("Invalid date value '{value}'; term ignored."),
                            ));
                            continue;
                        }
                    }
                }
                "financial_status" => Term::Financial(value.to_ascii_uppercase()),
                "test" => Term::Test(value.eq_ignore_ascii_case("true")),
                "status" => Term::Status(value.to_ascii_lowercase()),
                "id" => match value.rsplit('/').next().and_then(|n| n.parse::<u64>().ok()) {
                    Some(n) => Term::Id(cmp, n),
                    None => {
                        s.warnings.push((
                            field.to_string(),
                            format!("Invalid id value '{value}'; term ignored."),
                        ));
                        continue;
                    }
                },
                "sku" => Term::Sku(value.to_string()),
                "name" => Term::Name(value.trim_start_matches('#').to_string()),
                _ => {
                    s.warnings.push((
                        field.to_string(),
                        "Invalid search field for this query.".into(),
                    ));
                    continue;
                }
            };
            s.terms.push((neg, term));
        }
        s
    }

    pub fn matches(&self, o: &Order) -> bool {
        self.terms.iter().all(|(neg, t)| term_matches(t, o) != *neg)
    }
}

fn term_matches(t: &Term, o: &Order) -> bool {
    match t {
        Term::Time {
            field,
            cmp,
            at,
            date_only,
        } => {
            let v = match field {
                TimeField::Created | TimeField::Processed => o.created,
                TimeField::Updated => o.updated,
            };
            if *date_only && *cmp == Cmp::Eq {
                v >= *at && v < *at + Duration::days(1)
            } else {
                compare(*cmp, v, *at)
            }
        }
        Term::Financial(f) => f == "ANY" || o.fin.as_str() == f,
        Term::Test(b) => o.test == *b,
        Term::Status(s) => match s.as_str() {
            "any" => true,
            "cancelled" => o.cancelled.is_some(),
            "open" | "not_closed" => o.cancelled.is_none(),
            _ => false,
        },
        Term::Id(cmp, n) => compare(*cmp, o.num, *n),
        Term::Sku(sku) => o
            .lines
            .iter()
            .any(|l| l.sku.as_deref() == Some(sku.as_str())),
        Term::Name(n) => o.number.to_string() == *n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Fin;

    fn order(created: &str, updated: &str) -> Order {
        Order {
            num: 10,
            number: 1001,
            created: parse_datetime(created).expect("created"),
            updated: parse_datetime(updated).expect("updated"),
            cancelled: None,
            test: false,
            fin: Fin::Paid,
            retail: None,
            fos: Vec::new(),
            lines: Vec::new(),
            cin7_loc: 0,
        }
    }

    #[test]
    fn time_and_flags() {
        let now = parse_datetime("2026-01-20T00:00:00Z").expect("now");
        let o = order("2026-01-10T10:00:00Z", "2026-01-12T00:00:00Z");
        let m = |q: &str| Search::parse(q, now).matches(&o);
        assert!(m("updated_at:>='2026-01-12T00:00:00Z'"));
        assert!(!m("updated_at:>'2026-01-12T00:00:00Z'"));
        assert!(m("created_at:>=2026-01-10 AND created_at:<\"2026-01-11\""));
        assert!(m("created_at:2026-01-10"));
        assert!(m("financial_status:paid test:false status:any"));
        assert!(!m("financial_status:refunded"));
        assert!(!m("status:cancelled"));
        assert!(m("-test:true"));
        assert!(m("id:>=10 name:#1001"));
        let s = Search::parse("color:red created_at:>=garbage", now);
        assert_eq!(s.warnings.len(), 2);
        assert!(s.matches(&o));
    }
}
