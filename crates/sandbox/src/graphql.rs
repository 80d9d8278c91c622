//! GraphQL documents as the sandbox reads them: parsed by `apollo-parser` (spec-compliant, with
//! its own recursion limit), then reduced to what the Shopify imitation needs — the operation, the
//! root field (name, alias, arguments), every other field in document order with its arguments,
//! and argument values with `$variables` resolved. Not a GraphQL engine: there is no schema, no
//! validation and no execution; `shopify.rs` answers a fixed set of root fields.
//!
//! A document with a syntax error is refused whole (Shopify answers such a document with an
//! error and no data), so values are only ever read from a tree the parser accepted.

use std::collections::HashMap;

use apollo_parser::Parser;
use apollo_parser::cst::{self, CstNode};
use serde_json::{Map, Value};

/// Argument values by name, variables resolved.
pub type Args = HashMap<String, Value>;

/// An argument value as written: a literal, or a variable resolved once the request's variables
/// are known (inside lists and input objects too).
#[derive(Debug, Clone, PartialEq)]
enum Input {
    Variable(String),
    Literal(Value),
    List(Vec<Input>),
    Object(Vec<(String, Input)>),
}

impl Input {
    /// The value, with variables looked up in `vars` (an unknown variable is `null`).
    fn resolve(&self, vars: &Value) -> Value {
        match self {
            Input::Variable(name) => vars.get(name).cloned().unwrap_or(Value::Null),
            Input::Literal(v) => v.clone(),
            Input::List(items) => Value::Array(items.iter().map(|i| i.resolve(vars)).collect()),
            Input::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.resolve(vars)))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

/// One field of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// The key the answer goes under (the alias when there is one).
    pub response_key: String,
    /// The argument list (`None` when the field has no parentheses).
    arguments: Option<Vec<(String, Input)>>,
}

impl Field {
    /// The field's arguments, `$variables` looked up in `vars` (a JSON object, or `null` when the
    /// request sent none). A field without arguments has none.
    pub fn args(&self, vars: &Value) -> Args {
        self.arguments
            .iter()
            .flatten()
            .map(|(name, input)| (name.clone(), input.resolve(vars)))
            .collect()
    }
}

/// A parsed executable document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `query` or `mutation` (anonymous documents are queries).
    pub operation: String,
    /// The first field of the first operation's top-level selection set.
    pub root: Field,
    /// Every field of every operation and fragment, depth first in document order (the root
    /// first).
    fields: Vec<Field>,
}

impl Document {
    /// Parses `text`. The error is a message for the client: the parser's first syntax error with
    /// its line and column, or a document without an operation whose selection starts with a field.
    pub fn parse(text: &str) -> Result<Document, String> {
        let tree = Parser::new(text).parse();
        if let Some(e) = tree.errors().next() {
            let (line, column) = line_column(text, e.index());
            return Err(format!(
                "syntax error: {} at line {line}, column {column}",
                e.message()
            ));
        }
        let mut operation = None;
        let mut fields = Vec::new();
        for definition in tree.document().definitions() {
            let set = match definition {
                cst::Definition::OperationDefinition(op) => {
                    if operation.is_none() {
                        let kind = match op.operation_type() {
                            Some(t) if t.mutation_token().is_some() => "mutation",
                            Some(t) if t.subscription_token().is_some() => "subscription",
                            _ => "query",
                        };
                        let first = op
                            .selection_set()
                            .and_then(|s| s.selections().next())
                            .and_then(|s| match s {
                                cst::Selection::Field(f) => field(&f),
                                _ => None,
                            });
                        operation = Some((kind, first));
                    }
                    op.selection_set()
                }
                cst::Definition::FragmentDefinition(fragment) => fragment.selection_set(),
                _ => None,
            };
            if let Some(set) = set {
                collect(&set, &mut fields);
            }
        }
        match operation {
            Some((kind, Some(root))) => Ok(Document {
                operation: kind.to_string(),
                root,
                fields,
            }),
            _ => Err("syntax error: the sandbox could not find the document's root field".into()),
        }
    }

    /// The first field named `name` that has an argument list, in document order.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name == name && f.arguments.is_some())
    }

    /// Whether the document selects a field named `name` anywhere.
    pub fn selects(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name)
    }
}

/// Whether the document `text` selects a field named `name` (false when it does not parse).
pub fn selects(text: &str, name: &str) -> bool {
    Document::parse(text).is_ok_and(|d| d.selects(name))
}

/// 1-based line and column (in characters) of byte offset `index` in `text`.
fn line_column(text: &str, index: usize) -> (usize, usize) {
    let before = text.get(..index).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Every field under `set`, depth first in document order (fragment spreads are not followed:
/// their definitions are walked on their own).
fn collect(set: &cst::SelectionSet, out: &mut Vec<Field>) {
    for selection in set.selections() {
        let inner = match selection {
            cst::Selection::Field(f) => {
                if let Some(read) = field(&f) {
                    out.push(read);
                }
                f.selection_set()
            }
            cst::Selection::InlineFragment(fragment) => fragment.selection_set(),
            cst::Selection::FragmentSpread(_) => None,
        };
        if let Some(inner) = inner {
            collect(&inner, out);
        }
    }
}

fn field(f: &cst::Field) -> Option<Field> {
    let name = f.name()?.text().to_string();
    let response_key = f
        .alias()
        .and_then(|a| a.name())
        .map(|n| n.text().to_string())
        .unwrap_or_else(|| name.clone());
    let arguments = f.arguments().map(|args| {
        args.arguments()
            .filter_map(|a| Some((a.name()?.text().to_string(), input(&a.value()?))))
            .collect()
    });
    Some(Field {
        name,
        response_key,
        arguments,
    })
}

/// A value as written (the tree has no syntax errors, so every token is well formed).
fn input(v: &cst::Value) -> Input {
    match v {
        cst::Value::Variable(var) => {
            Input::Variable(var.name().map(|n| n.text().to_string()).unwrap_or_default())
        }
        cst::Value::StringValue(s) => Input::Literal(Value::String(String::from(s))),
        cst::Value::IntValue(i) => {
            let text = i.syntax().text().to_string();
            let text = text.trim();
            Input::Literal(match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => text.parse::<f64>().map(Value::from).unwrap_or(Value::Null),
            })
        }
        cst::Value::FloatValue(x) => {
            Input::Literal(f64::try_from(x).map(Value::from).unwrap_or(Value::Null))
        }
        cst::Value::BooleanValue(b) => Input::Literal(Value::Bool(b.true_token().is_some())),
        cst::Value::NullValue(_) => Input::Literal(Value::Null),
        cst::Value::EnumValue(e) => Input::Literal(
            e.name()
                .map(|n| Value::String(n.text().to_string()))
                .unwrap_or(Value::Null),
        ),
        cst::Value::ListValue(list) => Input::List(list.values().map(|v| input(&v)).collect()),
        cst::Value::ObjectValue(object) => Input::Object(
            object
                .object_fields()
                .filter_map(|f| Some((f.name()?.text().to_string(), input(&f.value()?))))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_documents as docs;
    use serde_json::json;

    fn root(doc: &str) -> Field {
        Document::parse(doc).expect("parses").root
    }

    #[test]
    fn finds_root_fields_of_the_client_documents() {
        let cases = [
            (docs::ORDERS, "orders"),
            (docs::ORDER_LINE_ITEMS, "order"),
            (docs::LOCATIONS, "locations"),
            (docs::BULK_RUN, "bulkOperationRunQuery"),
            (docs::BULK_POLL, "bulkOperation"),
            (docs::PRODUCT_VARIANTS, "productVariants"),
            (docs::BULK_ORDERS_TEMPLATE, "orders"),
            (
                "{ currentBulkOperation(type: QUERY) { id } }",
                "currentBulkOperation",
            ),
            ("# hi\nquery { a: node(id: \"x\") { id } }", "node"),
        ];
        for (doc, want) in cases {
            assert_eq!(root(doc).name, want);
        }
        let aliased = root("# hi\nquery { a: node(id: \"x\") { id } }");
        assert_eq!(aliased.response_key, "a");
        assert_eq!(aliased.args(&Value::Null)["id"], json!("x"));
        assert_eq!(
            Document::parse(docs::BULK_RUN)
                .map(|d| d.operation)
                .as_deref(),
            Ok("mutation")
        );
        assert_eq!(
            Document::parse(docs::ORDERS)
                .map(|d| d.operation)
                .as_deref(),
            Ok("query")
        );
    }

    #[test]
    fn truncated_documents_do_not_panic() {
        let vars = json!({"first": 5, "lineItemsFirst": 3});
        for doc in [docs::ORDERS, docs::ORDER_LINE_ITEMS, docs::BULK_RUN] {
            let chars: Vec<char> = doc.chars().collect();
            for n in 0..chars.len() {
                let t: String = chars[..n].iter().collect();
                if let Ok(d) = Document::parse(&t) {
                    let _ = d.root.args(&vars);
                    let _ = d.field("lineItems").map(|f| f.args(&vars));
                }
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
            "{ x(y: \"\\q\") }",
            "{ x(y: \"\\u12\") }",
            "{ x(y: $) }",
            "fragment F on Order { id }",
        ] {
            let parsed = Document::parse(junk);
            assert!(parsed.is_err(), "{junk:?}: {parsed:?}");
        }
        let e = Document::parse("{\n  orders(first: ) { id } }").expect_err("a syntax error");
        assert!(
            e.starts_with("syntax error: ") && e.contains("line 2"),
            "{e}"
        );
    }

    #[test]
    fn reads_arguments() {
        let vars = json!({"first": 50, "lineItemsFirst": 10, "query": "updated_at:>='x'"});
        let d = Document::parse(docs::ORDERS).expect("parses");
        let a = d.root.args(&vars);
        assert_eq!(a["first"], json!(50));
        assert_eq!(a["after"], Value::Null);
        assert_eq!(a["query"], json!("updated_at:>='x'"));
        assert_eq!(a["sortKey"], json!("UPDATED_AT"));
        let li = d.field("lineItems").expect("lineItems").args(&vars);
        assert_eq!(li["first"], json!(10));
        assert_eq!(
            d.field("fulfillmentOrders").expect("fos").args(&vars)["first"],
            json!(5)
        );
        let bulk =
            docs::BULK_ORDERS_TEMPLATE.replace("{SEARCH}", "created_at:>=\\\"2026-01-01\\\"");
        let b = Document::parse(&bulk).expect("parses");
        assert_eq!(
            b.field("orders").expect("orders args").args(&Value::Null)["query"],
            json!("created_at:>=\"2026-01-01\"")
        );
        // Nested connections without arguments in a bulk query have no argument list.
        assert!(b.field("lineItems").is_none() && b.selects("lineItems"));
        assert!(d.selects("retailLocation"));
        assert!(!d.selects("retail"));
        // Words in strings, arguments and variables are not selections.
        let s =
            Document::parse(r#"query($product: ID) { orders(query: "product", first: 1) { id } }"#)
                .expect("parses");
        assert!(!s.selects("product") && !s.selects("query") && s.selects("id"));
        // Literals of every kind; lists and input objects resolve the variables inside them.
        let lits = root(
            r#"{ f(i: -12, big: 3000000000, x: 1.5e2, t: true, n: null, e: QUERY,
                    s: """block "quoted" text""", u: "caf\u00e9", l: [1, $v], o: {k: $v}) { id } }"#,
        )
        .args(&json!({"v": "var"}));
        assert_eq!(lits["i"], json!(-12));
        assert_eq!(lits["big"], json!(3_000_000_000_u64));
        assert_eq!(lits["x"], json!(150.0));
        assert_eq!(lits["t"], json!(true));
        assert_eq!(lits["n"], Value::Null);
        assert_eq!(lits["e"], json!("QUERY"));
        assert_eq!(lits["s"], json!("block \"quoted\" text"));
        assert_eq!(lits["u"], json!("café"));
        assert_eq!(lits["l"], json!([1, "var"]));
        assert_eq!(lits["o"], json!({"k": "var"}));
        // Inline fragments are walked; fields in fragment definitions count as selected.
        let node = Document::parse(
            "query($id: ID!) { node(id: $id) { ... on BulkOperation { id status } ...F } }
             fragment F on BulkOperation { url }",
        )
        .expect("parses");
        assert_eq!(
            node.root.args(&json!({"id": "gid://x"}))["id"],
            json!("gid://x")
        );
        assert!(node.selects("status") && node.selects("url"));
    }
}
