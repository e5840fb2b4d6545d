//! Document templates' merge language: text with `{{ contact.name }}` fields (with filters:
//! `{{ deal.amount | money }}`), `{{#if …}} … {{else}} … {{/if}}` and `{{#each line_items}} …
//! {{/each}}` sections, filled from a JSON document of the record and its related records.
//! Parsed once, checked (every error with its line), rendered with the caller's escaping (the
//! values of fields never become markup).

use serde_json::Value;

/// A template that parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Text(String),
    Field {
        path: Path,
        filters: Vec<Filter>,
        line: usize,
    },
    If {
        path: Path,
        negate: bool,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
    Each {
        path: Path,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// `contact.name`, `this`, `@index`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Path(Vec<String>);

#[derive(Clone, Debug, PartialEq)]
enum Filter {
    Money,
    Date,
    Number,
    Upper,
    Lower,
    Default(String),
}

/// Why a template did not parse, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TemplateError {
    pub line: usize,
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> TemplateError {
    TemplateError {
        line,
        message: message.into(),
    }
}

/// The longest template accepted, in bytes.
pub const MAX_LEN: usize = 200_000;
/// How deep sections may nest.
const MAX_DEPTH: usize = 8;

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        if source.len() > MAX_LEN {
            return Err(error(1, format!("is longer than {MAX_LEN} bytes")));
        }
        let tokens = tokenize(source)?;
        let mut at = 0;
        let (nodes, end) = parse_nodes(&tokens, &mut at, 0)?;
        match end {
            None => Ok(Template { nodes }),
            Some((tag, line)) => Err(error(line, format!("{{{{{tag}}}}} closes nothing"))),
        }
    }

    /// The fields the template reads (`contact.name`, `line_items`), each once, in order.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect(&self.nodes, &mut out);
        out
    }

    /// The text with every field filled from `data`, each value passed through `escape` (the
    /// markup the text is written in). Fields with no value are left empty and named in
    /// [`Rendered::missing`].
    pub fn render(&self, data: &Value, options: &RenderOptions) -> Rendered {
        let mut out = Rendered {
            text: String::new(),
            missing: Vec::new(),
        };
        let scope = Scope {
            root: data,
            this: None,
            index: None,
        };
        render_nodes(&self.nodes, &scope, options, &mut out);
        out
    }
}

/// How values are written.
pub struct RenderOptions<'a> {
    /// Makes a value's text safe in the template's markup.
    pub escape: &'a dyn Fn(&str) -> String,
    /// The currency of `money` when the value names none.
    pub currency: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// Fields with no value in the data, each once (a preview points them out).
    pub missing: Vec<String>,
}

// --- Tokens ---------------------------------------------------------------------------------

#[derive(Debug)]
enum Token {
    Text(String),
    /// What is between `{{` and `}}`, trimmed, and the line it starts on.
    Tag(String, usize),
}

fn tokenize(source: &str) -> Result<Vec<Token>, TemplateError> {
    let mut tokens = Vec::new();
    let mut rest = source;
    let mut line = 1;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            tokens.push(Token::Text(rest[..open].to_owned()));
        }
        line += rest[..open].matches('\n').count();
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(error(
                line,
                "a field opened with {{ is never closed with }}",
            ));
        };
        let inner = &after[..close];
        if inner.contains("{{") {
            return Err(error(
                line,
                "a field opened with {{ is never closed with }}",
            ));
        }
        tokens.push(Token::Tag(inner.trim().to_owned(), line));
        line += inner.matches('\n').count();
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        tokens.push(Token::Text(rest.to_owned()));
    }
    Ok(tokens)
}

// --- Parsing --------------------------------------------------------------------------------

/// A tag that ends a run of nodes (`/if`, `else`, `/each`) and its line.
type Closer = (String, usize);

/// Nodes up to a closing tag (`/if`, `else`, `/each`), which is returned with its line.
fn parse_nodes(
    tokens: &[Token],
    at: &mut usize,
    depth: usize,
) -> Result<(Vec<Node>, Option<Closer>), TemplateError> {
    let mut nodes = Vec::new();
    while *at < tokens.len() {
        let token = &tokens[*at];
        *at += 1;
        match token {
            Token::Text(t) => nodes.push(Node::Text(t.clone())),
            Token::Tag(tag, line) => {
                let line = *line;
                if tag == "else" || tag.starts_with('/') {
                    return Ok((nodes, Some((tag.clone(), line))));
                }
                if let Some(open) = tag.strip_prefix('#') {
                    if depth >= MAX_DEPTH {
                        return Err(error(
                            line,
                            format!("sections nest deeper than {MAX_DEPTH}"),
                        ));
                    }
                    let (keyword, argument) =
                        open.split_once(char::is_whitespace).unwrap_or((open, ""));
                    let path = parse_path(argument.trim(), line)?;
                    let (first, end) = parse_nodes(tokens, at, depth + 1)?;
                    let closer = match keyword {
                        "if" | "unless" => "/if",
                        "each" => "/each",
                        other => {
                            return Err(error(
                                line,
                                format!("unknown section #{other} (use #if, #unless or #each)"),
                            ));
                        }
                    };
                    let closer = if keyword == "unless" {
                        "/unless"
                    } else {
                        closer
                    };
                    let (first, second) = match end {
                        Some((t, _)) if t == closer => (first, Vec::new()),
                        Some((t, _)) if t == "else" => {
                            let (second, end) = parse_nodes(tokens, at, depth + 1)?;
                            match end {
                                Some((t, _)) if t == closer => (first, second),
                                _ => {
                                    return Err(error(
                                        line,
                                        format!(
                                            "{{{{#{keyword}}}}} is never closed with {{{{{closer}}}}}"
                                        ),
                                    ));
                                }
                            }
                        }
                        Some((t, l)) => {
                            return Err(error(
                                l,
                                format!(
                                    "{{{{{t}}}}} closes {{{{#{keyword}}}}} of line {line}; use {{{{{closer}}}}}"
                                ),
                            ));
                        }
                        None => {
                            return Err(error(
                                line,
                                format!("{{{{#{keyword}}}}} is never closed with {{{{{closer}}}}}"),
                            ));
                        }
                    };
                    nodes.push(match keyword {
                        "each" => Node::Each {
                            path,
                            body: first,
                            otherwise: second,
                        },
                        _ => Node::If {
                            path,
                            negate: keyword == "unless",
                            then: first,
                            otherwise: second,
                        },
                    });
                    continue;
                }
                let mut parts = tag.split('|');
                let path = parse_path(parts.next().unwrap_or("").trim(), line)?;
                let filters = parts
                    .map(|f| parse_filter(f.trim(), line))
                    .collect::<Result<Vec<_>, _>>()?;
                nodes.push(Node::Field {
                    path,
                    filters,
                    line,
                });
            }
        }
    }
    Ok((nodes, None))
}

fn parse_path(raw: &str, line: usize) -> Result<Path, TemplateError> {
    if raw.is_empty() {
        return Err(error(
            line,
            "a field needs a name, such as {{ contact.name }}",
        ));
    }
    if raw == "this" || raw == "@index" || raw == "@number" {
        return Ok(Path(vec![raw.to_owned()]));
    }
    let segments: Vec<String> = raw.split('.').map(str::to_owned).collect();
    let good = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    if segments.iter().all(|s| good(s)) {
        Ok(Path(segments))
    } else {
        Err(error(
            line,
            format!("“{raw}” is not a field name (letters, digits and _ joined by dots)"),
        ))
    }
}

fn parse_filter(raw: &str, line: usize) -> Result<Filter, TemplateError> {
    let (name, argument) = match raw.split_once(':') {
        Some((n, a)) => (n.trim(), Some(a.trim())),
        None => (raw, None),
    };
    Ok(match (name, argument) {
        ("money", None) => Filter::Money,
        ("date", None) => Filter::Date,
        ("number", None) => Filter::Number,
        ("upper", None) => Filter::Upper,
        ("lower", None) => Filter::Lower,
        ("default", Some(text)) => {
            let unquoted = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .ok_or_else(|| error(line, "default takes a text in quotes: | default: \"—\""))?;
            Filter::Default(unquoted.to_owned())
        }
        _ => {
            return Err(error(
                line,
                format!(
                    "unknown filter “{raw}” (money, date, number, upper, lower, default: \"…\")"
                ),
            ));
        }
    })
}

fn collect(nodes: &[Node], out: &mut Vec<String>) {
    fn add(p: &Path, out: &mut Vec<String>) {
        let name = p.0.join(".");
        if !out.contains(&name) && !name.starts_with('@') && name != "this" {
            out.push(name);
        }
    }
    for node in nodes {
        match node {
            Node::Text(_) => {}
            Node::Field { path, .. } => add(path, out),
            Node::If {
                path,
                then,
                otherwise,
                ..
            } => {
                add(path, out);
                collect(then, out);
                collect(otherwise, out);
            }
            Node::Each {
                path,
                body,
                otherwise,
            } => {
                add(path, out);
                collect(body, out);
                collect(otherwise, out);
            }
        }
    }
}

// --- Rendering ------------------------------------------------------------------------------

struct Scope<'a> {
    root: &'a Value,
    /// The item of the `#each` being written.
    this: Option<&'a Value>,
    index: Option<usize>,
}

impl Scope<'_> {
    /// A path's value: within the current item first, then from the document's root.
    fn lookup(&self, path: &Path) -> Option<Value> {
        match path.0.first().map(String::as_str) {
            Some("this") => return self.this.cloned(),
            Some("@index") => return self.index.map(Value::from),
            Some("@number") => return self.index.map(|i| Value::from(i + 1)),
            _ => {}
        }
        let walk = |from: &Value| {
            path.0
                .iter()
                .try_fold(from, |v, key| v.get(key.as_str()))
                .cloned()
        };
        self.this
            .and_then(walk)
            .or_else(|| walk(self.root))
            .filter(|v| !v.is_null())
    }
}

fn truthy(v: &Option<Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(_) => true,
    }
}

fn render_nodes(nodes: &[Node], scope: &Scope, options: &RenderOptions, out: &mut Rendered) {
    for node in nodes {
        match node {
            Node::Text(t) => out.text.push_str(t),
            Node::Field { path, filters, .. } => {
                let value = scope.lookup(path);
                let default = filters.iter().find_map(|f| match f {
                    Filter::Default(d) => Some(d.clone()),
                    _ => None,
                });
                match value {
                    Some(v) => {
                        let text = apply(&v, filters, options);
                        out.text.push_str(&(options.escape)(&text));
                    }
                    None => match default {
                        Some(d) => out.text.push_str(&(options.escape)(&d)),
                        None => {
                            let name = path.0.join(".");
                            if !out.missing.contains(&name) {
                                out.missing.push(name);
                            }
                        }
                    },
                }
            }
            Node::If {
                path,
                negate,
                then,
                otherwise,
            } => {
                let yes = truthy(&scope.lookup(path)) != *negate;
                render_nodes(if yes { then } else { otherwise }, scope, options, out);
            }
            Node::Each {
                path,
                body,
                otherwise,
            } => {
                let value = scope.lookup(path);
                let items: Vec<Value> = match value {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                };
                if items.is_empty() {
                    render_nodes(otherwise, scope, options, out);
                }
                for (i, item) in items.iter().enumerate() {
                    let inner = Scope {
                        root: scope.root,
                        this: Some(item),
                        index: Some(i),
                    };
                    render_nodes(body, &inner, options, out);
                }
            }
        }
    }
}

/// A value as text, through its filters.
fn apply(value: &Value, filters: &[Filter], options: &RenderOptions) -> String {
    let mut text = plain(value);
    for filter in filters {
        text = match filter {
            Filter::Money => money(value, options.currency).unwrap_or(text),
            Filter::Number => value
                .as_f64()
                .or_else(|| text.parse().ok())
                .map(group_digits)
                .unwrap_or(text),
            Filter::Date => date(&text).unwrap_or(text),
            Filter::Upper => text.to_uppercase(),
            Filter::Lower => text.to_lowercase(),
            Filter::Default(_) => text,
        };
    }
    text
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Object(map) => match (map.get("name"), map.get("title")) {
            (Some(n), _) | (None, Some(n)) => plain(n),
            _ => String::new(),
        },
        Value::Null => String::new(),
    }
}

/// `40 000 EUR` from `40000`, `"40000.5"` or `{"amount": 40000, "currency": "EUR"}`.
fn money(value: &Value, currency: &str) -> Option<String> {
    let (amount, currency) = match value {
        Value::Object(map) => (
            map.get("amount").and_then(number)?,
            map.get("currency")
                .and_then(Value::as_str)
                .unwrap_or(currency),
        ),
        other => (number(other)?, currency),
    };
    let minor = (amount * 100.0).round() as i64;
    Some(crate::deal::format_amount(minor, currency))
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// `1 234 567.5` (thin spaces between thousands, as amounts are written).
fn group_digits(n: f64) -> String {
    let negative = n < 0.0;
    let text = format!("{}", n.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    let sign = if negative { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

/// `1 March 2027` from `2027-03-01` (or the date of an RFC 3339 time).
fn date(text: &str) -> Option<String> {
    let day = text.get(..10)?;
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(d.format("%-d %B %Y").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(source: &str, data: &Value) -> Rendered {
        let escape = |s: &str| s.replace('<', "&lt;");
        Template::parse(source).expect(source).render(
            data,
            &RenderOptions {
                escape: &escape,
                currency: "EUR",
            },
        )
    }

    #[test]
    fn fields_fill_from_the_record_and_its_related_records() {
        let data = json!({"contact": {"name": "Marta Ruiz"}, "deal": {"amount": 40000, "close": "2027-03-01"},
            "berth": {"length": 14.5}});
        let out = render(
            "Dear {{ contact.name }}, berth of {{berth.length}} m for {{ deal.amount | money }} from {{ deal.close | date }}.",
            &data,
        );
        assert_eq!(
            out.text,
            "Dear Marta Ruiz, berth of 14.5 m for 40\u{202f}000 EUR from 1 March 2027."
        );
        assert!(out.missing.is_empty());
    }

    #[test]
    fn values_never_become_markup_and_missing_ones_are_named() {
        let data = json!({"contact": {"name": "<script>"}});
        let out = render(
            "{{contact.name}} {{contact.email}} {{ deal.title | default: \"—\" }}",
            &data,
        );
        assert_eq!(out.text, "&lt;script>  —");
        assert_eq!(out.missing, ["contact.email"]);
    }

    #[test]
    fn sections_choose_and_repeat() {
        let data = json!({"deal": {"deposit": 0, "items": [
            {"name": "Berth A-12", "price": 38000}, {"name": "Power", "price": 2000}]}});
        let out = render(
            "{{#if deal.deposit}}Deposit due.{{else}}No deposit.{{/if}}\n{{#each deal.items}}{{@number}}. {{name}}: {{price | money}}\n{{/each}}{{#each deal.none}}x{{else}}(none){{/each}}",
            &data,
        );
        assert_eq!(
            out.text,
            "No deposit.\n1. Berth A-12: 38\u{202f}000 EUR\n2. Power: 2\u{202f}000 EUR\n(none)"
        );
        let out = render(
            "{{#unless deal.deposit}}Nothing to pay now.{{/unless}}",
            &data,
        );
        assert_eq!(out.text, "Nothing to pay now.");
    }

    #[test]
    fn mistakes_are_told_with_their_line() {
        let err = |s: &str| Template::parse(s).expect_err(s);
        assert_eq!(err("a\n{{#if deal.amount}}\nb").line, 2);
        assert!(err("{{#if x}}a{{/each}}").message.contains("use {{/if}}"));
        assert!(
            err("{{ deal.amount | euros }}")
                .message
                .contains("unknown filter")
        );
        assert!(err("{{ }}").message.contains("needs a name"));
        assert!(err("x\n\ny {{ contact.name").line == 3);
        assert!(err("{{/if}}").message.contains("closes nothing"));
        assert!(
            err("{{#loop items}}{{/loop}}")
                .message
                .contains("unknown section")
        );
        assert!(
            err("{{ contact name }}")
                .message
                .contains("not a field name")
        );
    }

    #[test]
    fn the_fields_read_are_listed_once() {
        let t =
            Template::parse("{{contact.name}} {{#each items}}{{name}}{{/each}} {{contact.name}}")
                .expect("ok");
        assert_eq!(t.fields(), ["contact.name", "items", "name"]);
    }
}
