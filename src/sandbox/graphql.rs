//! Just enough GraphQL reading for the sandbox: find a document's root field and read the arguments
//! of a named field (resolving `$variables`). Not a GraphQL engine — the sandbox answers a fixed set
//! of documents and recognises them by their root field.

use std::collections::HashMap;

use serde_json::Value;

/// The first field of a document's top-level selection set.
#[derive(Debug, Clone, PartialEq)]
pub struct RootField {
    /// `query` or `mutation` (anonymous documents are queries).
    pub operation: String,
    pub name: String,
    /// The key the answer goes under (the alias when there is one).
    pub response_key: String,
    /// The raw text between the field's parentheses ("" when it has none).
    pub args: String,
}

/// Removes `#` comments (outside strings).
pub fn strip_comments(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    let mut in_str = false;
    let mut escaped = false;
    let mut in_comment = false;
    for c in doc.chars() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
                out.push(c);
            }
            continue;
        }
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '#' => in_comment = true,
            '"' => {
                in_str = true;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Index just past the balanced group that opens at `open_at` (`(`/`[`/`{`), skipping strings.
fn skip_balanced(s: &[char], open_at: usize) -> usize {
    let mut depth = 0i32;
    let mut i = open_at;
    let mut in_str = false;
    while i < s.len() {
        let c = s[i];
        if in_str {
            if c == '\\' {
                i += 1;
            } else if c == '"' {
                in_str = false;
            }
        } else {
            match c {
                '"' => in_str = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    s.len()
}

/// The text inside the group opening at `open_at` (to the end when it is never closed).
fn inner(s: &[char], open_at: usize) -> String {
    let end = skip_balanced(s, open_at);
    let close =
        if end <= s.len() && end > open_at + 1 && matches!(s.get(end - 1), Some(')' | ']' | '}')) {
            end - 1
        } else {
            s.len()
        };
    s.get(open_at + 1..close)
        .map(|c| c.iter().collect())
        .unwrap_or_default()
}

fn skip_ws(s: &[char], mut i: usize) -> usize {
    while i < s.len() && (s[i].is_whitespace() || s[i] == ',') {
        i += 1;
    }
    i
}

fn read_name(s: &[char], mut i: usize) -> (String, usize) {
    let start = i;
    while i < s.len() && is_name_char(s[i]) {
        i += 1;
    }
    (s[start..i].iter().collect(), i)
}

/// Finds the root field of a document.
pub fn root_field(doc: &str) -> Option<RootField> {
    let doc = strip_comments(doc);
    let s: Vec<char> = doc.chars().collect();
    let mut i = skip_ws(&s, 0);
    let mut operation = "query".to_string();
    if i < s.len() && s[i] != '{' {
        let (kw, j) = read_name(&s, i);
        if kw.is_empty() {
            return None;
        }
        operation = kw;
        i = skip_ws(&s, j);
        if i < s.len() && is_name_char(s[i]) {
            let (_, j) = read_name(&s, i);
            i = skip_ws(&s, j);
        }
        if i < s.len() && s[i] == '(' {
            i = skip_ws(&s, skip_balanced(&s, i));
        }
        // Directives on the operation are not used by the client; skip to the selection set.
        while i < s.len() && s[i] != '{' {
            i += 1;
        }
    }
    if i >= s.len() || s[i] != '{' {
        return None;
    }
    i = skip_ws(&s, i + 1);
    let (first, j) = read_name(&s, i);
    if first.is_empty() {
        return None;
    }
    let mut k = skip_ws(&s, j);
    let (name, response_key) = if k < s.len() && s[k] == ':' {
        let (real, j2) = read_name(&s, skip_ws(&s, k + 1));
        k = skip_ws(&s, j2);
        (real, first)
    } else {
        (first.clone(), first)
    };
    let args = if k < s.len() && s[k] == '(' {
        inner(&s, k)
    } else {
        String::new()
    };
    Some(RootField {
        operation,
        name,
        response_key,
        args,
    })
}

/// The argument text of the first occurrence of `field(` in the document (outside strings).
pub fn field_args(doc: &str, field: &str) -> Option<String> {
    let s: Vec<char> = doc.chars().collect();
    let f: Vec<char> = field.chars().collect();
    let mut i = 0;
    let mut in_str = false;
    while i < s.len() {
        let c = s[i];
        if in_str {
            if c == '\\' {
                i += 1;
            } else if c == '"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        if c == '"' {
            in_str = true;
            i += 1;
            continue;
        }
        if s[i..].starts_with(&f) && (i == 0 || !is_name_char(s[i - 1])) {
            let j = skip_ws(&s, i + f.len());
            if j < s.len()
                && s[j] == '('
                && (i + f.len() == s.len() || !is_name_char(s[i + f.len()]))
            {
                return Some(inner(&s, j));
            }
        }
        i += 1;
    }
    None
}

/// Whether the document selects `field` anywhere (a word match outside strings).
pub fn selects(doc: &str, field: &str) -> bool {
    let mut start = 0;
    while let Some(pos) = doc[start..].find(field) {
        let at = start + pos;
        let before = doc[..at].chars().next_back();
        let after = doc[at + field.len()..].chars().next();
        if !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char) {
            return true;
        }
        start = at + field.len();
    }
    false
}

fn read_string(s: &[char], i: usize) -> (String, usize) {
    // Block string
    if s[i..].starts_with(&['"', '"', '"']) {
        let mut j = i + 3;
        let mut out = String::new();
        while j < s.len() {
            if s[j..].starts_with(&['"', '"', '"']) {
                return (out, j + 3);
            }
            out.push(s[j]);
            j += 1;
        }
        return (out, j);
    }
    let mut j = i + 1;
    let mut out = String::new();
    while j < s.len() {
        let c = s[j];
        if c == '\\' && j + 1 < s.len() {
            let e = s[j + 1];
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' if j + 5 < s.len() => {
                    let hex: String = s[j + 2..j + 6].iter().collect();
                    if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(ch);
                    }
                    j += 4;
                }
                other => out.push(other),
            }
            j += 2;
            continue;
        }
        if c == '"' {
            return (out, j + 1);
        }
        out.push(c);
        j += 1;
    }
    (out, j)
}

/// Parses `name: value, ...` argument text; `$var` values are looked up in `vars`.
/// Lists and input objects are not needed by the client and come back as `null`.
pub fn parse_args(text: &str, vars: &Value) -> Result<HashMap<String, Value>, String> {
    let s: Vec<char> = text.chars().collect();
    let mut out = HashMap::new();
    let mut i = skip_ws(&s, 0);
    while i < s.len() {
        let (name, j) = read_name(&s, i);
        if name.is_empty() {
            return Err(format!("Parse error on \"{}\"", s[i]));
        }
        i = skip_ws(&s, j);
        if i >= s.len() || s[i] != ':' {
            return Err(format!("Parse error: expected ':' after argument '{name}'"));
        }
        i = skip_ws(&s, i + 1);
        if i >= s.len() {
            return Err(format!("Parse error: missing value for argument '{name}'"));
        }
        let value;
        match s[i] {
            '$' => {
                let (var, j) = read_name(&s, i + 1);
                value = vars.get(&var).cloned().unwrap_or(Value::Null);
                i = j;
            }
            '"' => {
                let (v, j) = read_string(&s, i);
                value = Value::String(v);
                i = j;
            }
            '[' | '{' => {
                value = Value::Null;
                i = skip_balanced(&s, i);
            }
            c if c == '-' || c.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < s.len()
                    && (s[i].is_ascii_digit() || matches!(s[i], '.' | 'e' | 'E' | '+' | '-'))
                {
                    i += 1;
                }
                let t: String = s[start..i].iter().collect();
                value = match t.parse::<i64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => t
                        .parse::<f64>()
                        .map(Value::from)
                        .map_err(|_| format!("Parse error on number '{t}'"))?,
                };
            }
            _ => {
                let (word, j) = read_name(&s, i);
                if word.is_empty() {
                    return Err(format!("Parse error on \"{}\"", s[i]));
                }
                value = match word.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => Value::String(word),
                };
                i = j;
            }
        }
        out.insert(name, value);
        i = skip_ws(&s, i);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::shopify::queries;
    use serde_json::json;

    #[test]
    fn finds_root_fields_of_the_client_documents() {
        let cases = [
            (queries::ORDERS, "orders"),
            (queries::ORDER_LINE_ITEMS, "order"),
            (queries::LOCATIONS, "locations"),
            (queries::BULK_RUN, "bulkOperationRunQuery"),
            (queries::BULK_POLL, "bulkOperation"),
            (queries::PRODUCT_VARIANTS, "productVariants"),
            (queries::BULK_ORDERS_TEMPLATE, "orders"),
            (
                "{ currentBulkOperation(type: QUERY) { id } }",
                "currentBulkOperation",
            ),
            ("# hi\nquery { a: node(id: \"x\") { id } }", "node"),
        ];
        for (doc, want) in cases {
            let r = root_field(doc).expect(want);
            assert_eq!(r.name, want);
        }
        assert_eq!(
            root_field(queries::BULK_RUN)
                .map(|r| r.operation)
                .as_deref(),
            Some("mutation")
        );
    }

    #[test]
    fn truncated_documents_do_not_panic() {
        let vars = json!({"first": 5, "lineItemsFirst": 3});
        for doc in [
            queries::ORDERS,
            queries::ORDER_LINE_ITEMS,
            queries::BULK_RUN,
        ] {
            let chars: Vec<char> = doc.chars().collect();
            for n in 0..chars.len() {
                let t: String = chars[..n].iter().collect();
                if let Some(r) = root_field(&t) {
                    let _ = parse_args(&r.args, &vars);
                }
                let _ = field_args(&t, "lineItems").map(|a| parse_args(&a, &vars));
            }
        }
        for junk in [
            "{ orders(",
            "{ orders(first: \"",
            "query (",
            "{",
            "",
            "mutation",
            "{ a: }",
            "{ x(y: [1, 2) }",
        ] {
            let _ = root_field(junk).map(|r| parse_args(&r.args, &vars));
        }
    }

    #[test]
    fn reads_arguments() {
        let vars = json!({"first": 50, "lineItemsFirst": 10, "query": "updated_at:>='x'"});
        let r = root_field(queries::ORDERS).expect("root");
        let a = parse_args(&r.args, &vars).expect("args");
        assert_eq!(a["first"], json!(50));
        assert_eq!(a["after"], Value::Null);
        assert_eq!(a["sortKey"], json!("UPDATED_AT"));
        let li = field_args(queries::ORDERS, "lineItems").expect("lineItems");
        assert_eq!(parse_args(&li, &vars).expect("li")["first"], json!(10));
        let bulk =
            queries::BULK_ORDERS_TEMPLATE.replace("{SEARCH}", "created_at:>=\\\"2026-01-01\\\"");
        let oa = field_args(&bulk, "orders").expect("orders args");
        assert_eq!(
            parse_args(&oa, &Value::Null).expect("a")["query"],
            json!("created_at:>=\"2026-01-01\"")
        );
        assert!(selects(queries::ORDERS, "retailLocation"));
        assert!(!selects(queries::ORDERS, "retail"));
    }
}
