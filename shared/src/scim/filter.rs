//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): a parser into [`Filter`] / [`PatchPath`], and an
//! evaluator of filters over a resource's JSON.
//!
//! The parser is a recursive descent over tokens with bounded input ([`MAX_LEN`]) and nesting ([`MAX_DEPTH`]), so
//! a hostile filter is an error, never a stack overflow. `and`/`or` chains are parsed in loops, not by recursion;
//! only parentheses, `not (…)` and value-path brackets nest.
//!
//! Leniencies beyond the ABNF: any ASCII white space separates tokens and may be repeated or left out around
//! parentheses, brackets and strings; `true`/`false`/`null` are case-insensitive; value filters may nest brackets;
//! Entra's `emails[type eq "work"].value eq "x"` is accepted and means the same element must match both.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::{ENTERPRISE_SCHEMA, ScimError, ScimType, USER_SCHEMA};

/// Longest filter or path accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of parentheses, `not (…)` and brackets accepted.
pub const MAX_DEPTH: usize = 16;

/// An attribute path: `name`, `name.sub`, or schema-qualified `urn:…:User:name[.sub]`. Names compare
/// case-insensitively (RFC 7643 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix when the path is written fully qualified.
    pub uri: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// A plain attribute name, without schema or sub-attribute.
    pub fn simple(name: impl Into<String>) -> Self {
        Self { uri: None, name: name.into(), sub: None }
    }

    /// Whether the path names a core-schema attribute (no URN, or a core schema URN).
    pub fn is_core(&self) -> bool {
        self.uri.as_deref().is_none_or(is_core_urn)
    }

    /// Whether this is the core attribute `name` (with sub-attribute `sub`), ignoring case.
    fn is(&self, name: &str, sub: Option<&str>) -> bool {
        self.is_core()
            && self.name.eq_ignore_ascii_case(name)
            && match (self.sub.as_deref(), sub) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
    }
}

/// A comparison operator; case-insensitive in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        const OPS: [(&str, CompareOp); 9] = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        OPS.iter().find(|(text, _)| word.eq_ignore_ascii_case(text)).map(|(_, op)| *op)
    }

    /// Whether an ordering `ord` of attribute value to comparison value satisfies this operator.
    fn accepts(self, ord: Ordering) -> bool {
        match self {
            Self::Eq => ord == Ordering::Equal,
            Self::Ne => ord != Ordering::Equal,
            Self::Gt => ord == Ordering::Greater,
            Self::Ge => ord != Ordering::Less,
            Self::Lt => ord == Ordering::Less,
            Self::Le => ord != Ordering::Greater,
            Self::Co | Self::Sw | Self::Ew => false,
        }
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// A value-path filter `path[filter]`: some element of the multi-valued `path` matches `filter`, whose paths
    /// are relative to the element.
    Has {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// A PATCH operation's `path` (RFC 7644 §3.5.2: `attrPath / valuePath [subAttr]`).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// An attribute, a sub-attribute, or (as `name`, with no `uri`) a whole schema: a known schema URN.
    Attr(AttrPath),
    /// The elements of a multi-valued attribute that match `filter`, or their sub-attribute `sub`.
    Filtered { path: AttrPath, filter: Filter, sub: Option<String> },
}

/// Parses a filter. Errors are [`ScimType::InvalidFilter`] and give a byte position, never the filter's values.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    parse_filter(text).map_err(|detail| ScimError::new(ScimType::InvalidFilter, detail))
}

fn parse_filter(text: &str) -> Result<Filter, String> {
    if text.len() > MAX_LEN {
        return Err(format!("filter longer than {MAX_LEN} bytes"));
    }
    let mut parser = Parser::new(text)?;
    let filter = parser.or_expr(0)?;
    parser.finish()?;
    Ok(filter)
}

/// Parses a PATCH path. A path that is exactly the core User or enterprise schema URN (any case) is the whole
/// schema, returned as `Attr` with the canonical URN as `name`. Errors are [`ScimType::InvalidPath`].
pub fn parse_patch_path(text: &str) -> Result<PatchPath, ScimError> {
    parse_path(text).map_err(|detail| ScimError::new(ScimType::InvalidPath, detail))
}

fn parse_path(text: &str) -> Result<PatchPath, String> {
    if text.len() > MAX_LEN {
        return Err(format!("path longer than {MAX_LEN} bytes"));
    }
    let trimmed = text.trim_ascii();
    for schema in [USER_SCHEMA, ENTERPRISE_SCHEMA] {
        if trimmed.eq_ignore_ascii_case(schema) {
            return Ok(PatchPath::Attr(AttrPath::simple(schema)));
        }
    }
    let mut parser = Parser::new(text)?;
    let path = parser.attr_path()?;
    if parser.peek().is_none() {
        return Ok(PatchPath::Attr(path));
    }
    let open = parser.expect(Tok::LBrack)?;
    if path.sub.is_some() {
        return Err(format!("filter must follow a multi-valued attribute at {open}"));
    }
    let filter = parser.or_expr(1)?;
    parser.expect(Tok::RBrack)?;
    let sub = parser.sub_attr()?;
    parser.finish()?;
    Ok(PatchPath::Filtered { path, filter, sub })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    LParen,
    RParen,
    LBrack,
    RBrack,
    Str(String),
    Word(&'a str),
}

struct Parser<'a> {
    tokens: Vec<(Tok<'a>, usize)>,
    next: usize,
    end: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Result<Self, String> {
        Ok(Self { tokens: lex(text)?, next: 0, end: text.len() })
    }

    fn peek(&self) -> Option<&(Tok<'a>, usize)> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Option<(Tok<'a>, usize)> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    /// The next token's position, or the end of the text.
    fn pos(&self) -> usize {
        self.peek().map_or(self.end, |(_, pos)| *pos)
    }

    fn unexpected(&self) -> String {
        match self.peek() {
            Some((_, pos)) => format!("unexpected token at {pos}"),
            None => "unexpected end of filter".to_owned(),
        }
    }

    /// Whether the next token is the keyword `word` (any case).
    fn at_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some((Tok::Word(w), _)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, tok: Tok<'static>) -> Result<usize, String> {
        match self.peek() {
            Some((t, pos)) if *t == tok => {
                let pos = *pos;
                self.next += 1;
                Ok(pos)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn finish(&self) -> Result<(), String> {
        if self.peek().is_some() { Err(self.unexpected()) } else { Ok(()) }
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter, String> {
        if depth > MAX_DEPTH {
            return Err(format!("filter nested deeper than {MAX_DEPTH} at {}", self.pos()));
        }
        let mut left = self.and_expr(depth)?;
        while self.at_keyword("or") {
            self.next += 1;
            let right = self.and_expr(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize) -> Result<Filter, String> {
        let mut left = self.unary(depth)?;
        while self.at_keyword("and") {
            self.next += 1;
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, String> {
        match self.peek() {
            Some((Tok::LParen, _)) => {
                self.next += 1;
                let inner = self.or_expr(depth + 1)?;
                self.expect(Tok::RParen)?;
                Ok(inner)
            }
            Some((Tok::Word(w), _))
                if w.eq_ignore_ascii_case("not")
                    && matches!(self.tokens.get(self.next + 1), Some((Tok::LParen, _))) =>
            {
                self.next += 2;
                let inner = self.or_expr(depth + 1)?;
                self.expect(Tok::RParen)?;
                Ok(Filter::Not(Box::new(inner)))
            }
            Some((Tok::Word(_), _)) => self.attr_expr(depth),
            _ => Err(self.unexpected()),
        }
    }

    /// `attrPath pr`, `attrPath op value`, or `attrPath[filter]` optionally followed by Entra's `.sub op value`.
    fn attr_expr(&mut self, depth: usize) -> Result<Filter, String> {
        let path = self.attr_path()?;
        if matches!(self.peek(), Some((Tok::LBrack, _))) {
            self.next += 1;
            let inner = self.or_expr(depth + 1)?;
            self.expect(Tok::RBrack)?;
            let filter = match self.sub_attr()? {
                Some(sub) => {
                    let test = self.test(AttrPath::simple(sub))?;
                    Filter::And(Box::new(inner), Box::new(test))
                }
                None => inner,
            };
            return Ok(Filter::Has { path, filter: Box::new(filter) });
        }
        self.test(path)
    }

    /// The operator and value after an attribute path.
    fn test(&mut self, path: AttrPath) -> Result<Filter, String> {
        let pos = self.pos();
        let op = match self.bump() {
            Some((Tok::Word(w), _)) if w.eq_ignore_ascii_case("pr") => return Ok(Filter::Present(path)),
            Some((Tok::Word(w), _)) => CompareOp::parse(w),
            _ => None,
        };
        let Some(op) = op else { return Err(format!("expected an operator at {pos}")) };
        let pos = self.pos();
        let value = match self.bump() {
            Some((Tok::Str(s), _)) => Value::String(s),
            Some((Tok::Word(w), _)) => literal(w).ok_or_else(|| format!("invalid value at {pos}"))?,
            _ => return Err(format!("expected a value at {pos}")),
        };
        Ok(Filter::Compare { path, op, value })
    }

    fn attr_path(&mut self) -> Result<AttrPath, String> {
        let pos = self.pos();
        match self.bump() {
            Some((Tok::Word(w), _)) => attr_path(w).ok_or_else(|| format!("invalid attribute path at {pos}")),
            _ => Err(format!("expected an attribute path at {pos}")),
        }
    }

    /// An optional `.sub` after a closing bracket.
    fn sub_attr(&mut self) -> Result<Option<String>, String> {
        let Some((Tok::Word(w), pos)) = self.peek() else { return Ok(None) };
        let Some(name) = w.strip_prefix('.') else { return Ok(None) };
        if !is_attr_name(name) {
            return Err(format!("invalid sub-attribute at {pos}"));
        }
        let name = name.to_owned();
        self.next += 1;
        Ok(Some(name))
    }
}

/// Splits the text into tokens with their byte positions. Strings are decoded as JSON strings.
fn lex(text: &str) -> Result<Vec<(Tok<'_>, usize)>, String> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let tok = match bytes[i] {
            b if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBrack,
            b']' => Tok::RBrack,
            b'"' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(format!("unterminated string at {start}")),
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                // `i` is at the closing quote; every byte between quotes other than an escape's is kept whole, so
                // the slice ends on a character boundary.
                let literal = text.get(start..=i).ok_or_else(|| format!("invalid string at {start}"))?;
                let decoded: String =
                    serde_json::from_str(literal).map_err(|_| format!("invalid string at {start}"))?;
                tokens.push((Tok::Str(decoded), start));
                i += 1;
                continue;
            }
            _ => {
                while i < bytes.len() && !is_delimiter(bytes[i]) {
                    i += 1;
                }
                let word = text.get(start..i).ok_or_else(|| format!("invalid token at {start}"))?;
                tokens.push((Tok::Word(word), start));
                continue;
            }
        };
        tokens.push((tok, start));
        i += 1;
    }
    Ok(tokens)
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'(' | b')' | b'[' | b']' | b'"')
}

/// A bare literal: `true`, `false`, `null` (any case) or a JSON number.
fn literal(word: &str) -> Option<Value> {
    for (text, value) in [("true", Value::Bool(true)), ("false", Value::Bool(false)), ("null", Value::Null)] {
        if word.eq_ignore_ascii_case(text) {
            return Some(value);
        }
    }
    serde_json::from_str::<Number>(word).ok().map(Value::Number)
}

/// `ATTRNAME = ALPHA *(nameChar)`, plus a leading `$` for `$ref`.
fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn starts_with_urn(text: &str) -> bool {
    text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

fn is_core_urn(uri: &str) -> bool {
    const CORE: &str = "urn:ietf:params:scim:schemas:core:";
    uri.get(..CORE.len()).is_some_and(|p| p.eq_ignore_ascii_case(CORE))
}

/// Parses `name`, `name.sub` or `urn:…:name[.sub]` (the URN is everything before the last `:`).
fn attr_path(text: &str) -> Option<AttrPath> {
    let (uri, rest) = if starts_with_urn(text) {
        let (uri, rest) = text.rsplit_once(':')?;
        if uri.len() <= 4 || !uri.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        (Some(uri.to_owned()), rest)
    } else {
        (None, text)
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    if !is_attr_name(name) || !sub.is_none_or(is_attr_name) {
        return None;
    }
    Some(AttrPath { uri, name: name.to_owned(), sub: sub.map(str::to_owned) })
}

impl Filter {
    /// The index look-ups that find every resource this filter can match, if it is simple enough: `A eq "v"` with
    /// `A` one of `userName`, `externalId`, `emails` / `emails.value` (also `emails[… and value eq "v"]` and Entra's
    /// `emails[type eq "work"].value eq "v"`), an `or` of such, or an `and` with such a side. Each pair is the
    /// canonical attribute (`userName`, `externalId`, `emails.value`) and the value as given; the caller must still
    /// check each candidate with [`matches`].
    pub fn eq_lookups(&self) -> Option<Vec<(String, String)>> {
        match self {
            Self::Compare { path, op: CompareOp::Eq, value: Value::String(value) } => {
                let attr = if path.is("userName", None) {
                    "userName"
                } else if path.is("externalId", None) {
                    "externalId"
                } else if path.is("emails", None) || path.is("emails", Some("value")) {
                    "emails.value"
                } else {
                    return None;
                };
                Some(vec![(attr.to_owned(), value.clone())])
            }
            Self::Has { path, filter } if path.is("emails", None) => {
                filter.value_eq().map(|value| vec![("emails.value".to_owned(), value.to_owned())])
            }
            Self::Or(a, b) => {
                let mut lookups = a.eq_lookups()?;
                lookups.extend(b.eq_lookups()?);
                Some(lookups)
            }
            Self::And(a, b) => match (a.eq_lookups(), b.eq_lookups()) {
                (Some(a), Some(b)) => Some(if b.len() < a.len() { b } else { a }),
                (a, b) => a.or(b),
            },
            _ => None,
        }
    }

    /// A conjunct `value eq "v"` of this filter (within a value path), if any.
    fn value_eq(&self) -> Option<&str> {
        match self {
            Self::Compare { path, op: CompareOp::Eq, value: Value::String(value) }
                if path.uri.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("value") =>
            {
                Some(value)
            }
            Self::And(a, b) => a.value_eq().or_else(|| b.value_eq()),
            _ => None,
        }
    }
}

/// Whether `resource` (a SCIM resource's JSON, or an element of a multi-valued attribute inside a value path)
/// matches `filter`.
///
/// Keys are looked up case-insensitively. A path with a URN looks in the object under that URN (or at the top level
/// for a core schema); a path without one looks at the top level, then in the schema extension objects. Over a
/// multi-valued attribute a comparison holds if it holds for some element (an element object stands for its
/// `value`); `ne` is the negation of `eq`, so it holds when the attribute is absent, and `eq null` holds exactly
/// when it is absent. Strings compare case-insensitively except `id`, `externalId` and `meta.*`;
/// `meta.created` and `meta.lastModified` compare as date-times.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Compare { path, op, value } => compare(resource, path, *op, value),
        Filter::Present(path) => match path.sub {
            None => lookup(resource, path).is_some_and(is_present),
            Some(_) => leaves(resource, path).into_iter().any(is_present),
        },
        Filter::And(a, b) => matches(a, resource) && matches(b, resource),
        Filter::Or(a, b) => matches(a, resource) || matches(b, resource),
        Filter::Not(inner) => !matches(inner, resource),
        Filter::Has { path, filter } => {
            let mut nodes = Vec::new();
            match path.sub {
                None => {
                    if let Some(attr) = lookup(resource, path) {
                        push_items(&mut nodes, attr);
                    }
                }
                Some(_) => nodes = leaves(resource, path),
            }
            nodes.into_iter().any(|node| !node.is_null() && matches(filter, node))
        }
    }
}

/// The value of `key` in `map`: the exact key first, then any key equal ignoring ASCII case.
pub(crate) fn get_ci<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// The attribute `path` names (without its sub-attribute).
fn lookup<'v>(resource: &'v Value, path: &AttrPath) -> Option<&'v Value> {
    let Value::Object(map) = resource else {
        // Inside a value path over simple values, `value` is the element itself.
        let bare = path.uri.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("value");
        return bare.then_some(resource);
    };
    match &path.uri {
        Some(uri) => match get_ci(map, uri) {
            Some(Value::Object(ext)) => get_ci(ext, &path.name),
            Some(_) => None,
            None if is_core_urn(uri) => get_ci(map, &path.name),
            None => None,
        },
        None => get_ci(map, &path.name).or_else(|| {
            map.iter()
                .filter(|(k, _)| starts_with_urn(k))
                .find_map(|(_, ext)| ext.as_object().and_then(|ext| get_ci(ext, &path.name)))
        }),
    }
}

/// Pushes `value`'s elements if it is an array, else `value`.
fn push_items<'v>(out: &mut Vec<&'v Value>, value: &'v Value) {
    match value {
        Value::Array(items) => out.extend(items),
        other => out.push(other),
    }
}

/// The simple values a comparison on `path` looks at.
fn leaves<'v>(resource: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let mut out = Vec::new();
    let Some(attr) = lookup(resource, path) else { return out };
    // With a sub-attribute, that of each element; without, an element object stands for its `value`.
    let key = path.sub.as_deref().unwrap_or("value");
    let mut take = |node: &'v Value| match node {
        Value::Object(map) => {
            if let Some(v) = get_ci(map, key) {
                push_items(&mut out, v);
            }
        }
        other if path.sub.is_none() => out.push(other),
        _ => {}
    };
    match attr {
        Value::Array(items) => items.iter().for_each(&mut take),
        other => take(other),
    }
    out
}

/// `pr`: not null, not an empty string, not an empty (or all-null) array, not an empty object.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(|v| !v.is_null() && v.as_str() != Some("")),
        Value::Object(map) => !map.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    CaseExact,
    CaseIgnore,
    DateTime,
}

/// How string values of `path` compare (RFC 7643 `caseExact`, and the date-times of `meta`).
fn kind(path: &AttrPath) -> Kind {
    if !path.is_core() {
        Kind::CaseIgnore
    } else if path.name.eq_ignore_ascii_case("id") || path.name.eq_ignore_ascii_case("externalId") {
        Kind::CaseExact
    } else if path.name.eq_ignore_ascii_case("meta") {
        match path.sub.as_deref() {
            Some(sub) if sub.eq_ignore_ascii_case("created") || sub.eq_ignore_ascii_case("lastModified") => {
                Kind::DateTime
            }
            _ => Kind::CaseExact,
        }
    } else {
        Kind::CaseIgnore
    }
}

fn compare(resource: &Value, path: &AttrPath, op: CompareOp, value: &Value) -> bool {
    let leaves = leaves(resource, path);
    if value.is_null() {
        let present = leaves.iter().any(|v| !v.is_null());
        return match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        };
    }
    let kind = kind(path);
    match op {
        CompareOp::Ne => !leaves.into_iter().any(|leaf| compare_one(leaf, CompareOp::Eq, value, kind)),
        _ => leaves.into_iter().any(|leaf| compare_one(leaf, op, value, kind)),
    }
}

fn compare_one(leaf: &Value, op: CompareOp, value: &Value, kind: Kind) -> bool {
    match (leaf, value) {
        (Value::String(a), Value::String(b)) => {
            if kind == Kind::DateTime
                && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                && let (Ok(a), Ok(b)) =
                    (chrono::DateTime::parse_from_rfc3339(a), chrono::DateTime::parse_from_rfc3339(b))
            {
                return op.accepts(a.cmp(&b));
            }
            let (a, b): (Cow<str>, Cow<str>) = match kind {
                Kind::CaseExact => (Cow::Borrowed(a), Cow::Borrowed(b)),
                Kind::CaseIgnore | Kind::DateTime => (Cow::Owned(a.to_lowercase()), Cow::Owned(b.to_lowercase())),
            };
            match op {
                CompareOp::Co => a.contains(&*b),
                CompareOp::Sw => a.starts_with(&*b),
                CompareOp::Ew => a.ends_with(&*b),
                _ => op.accepts(a.cmp(&b)),
            }
        }
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b).is_some_and(|ord| op.accepts(ord)),
        (Value::Bool(a), Value::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        _ => false,
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return Some(a.cmp(&b));
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return Some(a.cmp(&b));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn sample() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "BJensen-1",
            "userName": "Jbjensen",
            "name": { "familyName": "O'Malley", "givenName": "Barbara" },
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                { "value": "bjensen@example.com", "type": "work", "primary": true },
                { "value": "babs@jensen.org", "type": "home" }
            ],
            "ims": [{ "value": "someaimhandle", "type": "aim" }],
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": "W/\"3694e05e9dff591\""
            },
            ENTERPRISE_SCHEMA: { "employeeNumber": "701984", "manager": { "value": "26118915" } },
            "x-count": 5
        })
    }

    fn check(text: &str) -> bool {
        let filter = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        matches(&filter, &sample())
    }

    fn error(text: &str) -> ScimError {
        let err = parse(text).expect_err(text);
        assert_eq!(err.scim_type, ScimType::InvalidFilter);
        err
    }

    #[test]
    fn rfc_examples() {
        let cases = [
            (r#"userName eq "bjensen""#, false),
            (r#"userName eq "jbjensen""#, true),
            (r#"name.familyName co "O'Malley""#, true),
            (r#"userName sw "J""#, true),
            (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#, true),
            ("title pr", true),
            ("nickName pr", false),
            (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
            (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
            (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
            (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
            (r#"meta.lastModified gt "2011-05-13T06:42:34+03:00""#, true),
            (r#"title pr and userType eq "Employee""#, true),
            (r#"title pr and userType eq "Intern""#, false),
            (r#"title pr or userType eq "Intern""#, true),
            (r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true),
            (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, true),
            (r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#, false),
            (r#"userType eq "Employee" and (emails.type eq "work")"#, true),
            (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, true),
            (r#"userType eq "Employee" and emails[type eq "home" and value co "@example.com"]"#, false),
            (
                r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                true,
            ),
            (
                r#"emails[type eq "other" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                false,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text), expected, "{text}");
        }
    }

    #[test]
    fn parse_shapes() {
        assert_eq!(
            parse(r#"userName Eq "bjensen""#).unwrap(),
            Filter::Compare { path: AttrPath::simple("userName"), op: CompareOp::Eq, value: json!("bjensen") }
        );
        let f = parse(r#"a pr or b pr and not (c pr)"#).unwrap();
        let Filter::Or(_, right) = f else { panic!("or binds loosest") };
        assert!(matches!(*right, Filter::And(_, ref not) if matches!(**not, Filter::Not(_))));
        let f = parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"1\"").unwrap();
        let Filter::Compare { path, .. } = f else { panic!() };
        assert_eq!(path.uri.as_deref(), Some(ENTERPRISE_SCHEMA));
        assert_eq!((path.name.as_str(), path.sub.as_deref()), ("manager", Some("value")));
        assert_eq!(
            parse(r#"x eq "a\"b\u00e9""#).unwrap(),
            Filter::Compare { path: AttrPath::simple("x"), op: CompareOp::Eq, value: json!("a\"bé") }
        );
        for (text, value) in
            [("TRUE", json!(true)), ("False", json!(false)), ("NULL", json!(null)), ("-1.5e2", json!(-150.0))]
        {
            let Filter::Compare { value: got, .. } = parse(&format!("x eq {text}")).unwrap() else { panic!() };
            assert_eq!(got, value, "{text}");
        }
        // Lenient spacing.
        assert!(parse("  (a pr)and(b pr)  ").is_ok());
        assert!(parse("members[value eq \"1\"]").is_ok());
    }

    #[test]
    fn case_and_types() {
        let cases = [
            (r#"USERNAME EQ "JBJENSEN""#, true),
            (r#"NAME.GIVENNAME sw "bar""#, true),
            (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
            (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
            (r#"externalId eq "bjensen-1""#, false),
            (r#"meta.resourceType eq "user""#, false),
            ("active eq TRUE", true),
            ("active ne true", false),
            ("active gt false", false),
            ("x-count gt 4", true),
            ("x-count le 4.5", false),
            ("x-count co 5", false),
            (r#"x-count eq "5""#, false),
            (r#"nickName ne "x""#, true),
            ("nickName eq null", true),
            ("title eq null", false),
            ("title ne null", true),
            (r#"employeeNumber eq "701984""#, true),
            (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeeNumber eq "701984""#, true),
            (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#, true),
            (r#"urn:ietf:params:scim:schemas:extension:other:2.0:User:employeeNumber pr"#, false),
            (r#"emails ne "babs@jensen.org""#, false),
            (r#"title gt "tour""#, true),
            (r#"ims[value sw "some"]"#, true),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text), expected, "{text}");
        }
    }

    #[test]
    fn entra_value_path_with_sub_attribute() {
        let f = parse(r#"emails[type eq "work"].value eq "bjensen@example.com""#).unwrap();
        assert_eq!(
            f,
            Filter::Has {
                path: AttrPath::simple("emails"),
                filter: Box::new(Filter::And(
                    Box::new(Filter::Compare {
                        path: AttrPath::simple("type"),
                        op: CompareOp::Eq,
                        value: json!("work")
                    }),
                    Box::new(Filter::Compare {
                        path: AttrPath::simple("value"),
                        op: CompareOp::Eq,
                        value: json!("bjensen@example.com")
                    })
                ))
            }
        );
        assert!(matches(&f, &sample()));
        // The home address is not the work one.
        assert!(!check(r#"emails[type eq "work"].value eq "babs@jensen.org""#));
        assert!(check(r#"emails[type eq "home"].value pr"#));
    }

    #[test]
    fn pr_edge_cases() {
        let r = json!({ "a": "", "b": [], "c": null, "d": {}, "e": [null], "f": 0, "g": [{"type": "x"}] });
        for (text, expected) in [("a pr", false), ("b pr", false), ("c pr", false), ("d pr", false), ("e pr", false)] {
            assert_eq!(matches(&parse(text).unwrap(), &r), expected, "{text}");
        }
        for text in ["f pr", "g pr", "g.type pr"] {
            assert!(matches(&parse(text).unwrap(), &r), "{text}");
        }
        assert!(!matches(&parse("g.value pr").unwrap(), &r));
    }

    #[test]
    fn lookups() {
        let lookups = |text: &str| parse(text).unwrap().eq_lookups();
        let pair = |a: &str, v: &str| (a.to_owned(), v.to_owned());
        assert_eq!(lookups(r#"USERNAME eq "Bob""#), Some(vec![pair("userName", "Bob")]));
        assert_eq!(
            lookups(r#"userName eq "a" or externalId eq "b""#),
            Some(vec![pair("userName", "a"), pair("externalId", "b")])
        );
        assert_eq!(lookups(r#"emails eq "a@b""#), Some(vec![pair("emails.value", "a@b")]));
        assert_eq!(lookups(r#"emails.value eq "a@b""#), Some(vec![pair("emails.value", "a@b")]));
        assert_eq!(lookups(r#"emails[type eq "work"].value eq "a@b""#), Some(vec![pair("emails.value", "a@b")]));
        assert_eq!(lookups(r#"active eq true and userName eq "a""#), Some(vec![pair("userName", "a")]));
        assert_eq!(lookups(r#"userName eq "a" and title pr"#), Some(vec![pair("userName", "a")]));
        assert_eq!(lookups(r#"userName eq "a" or title pr"#), None);
        assert_eq!(lookups(r#"userName co "a""#), None);
        assert_eq!(lookups("externalId eq 5"), None);
        assert_eq!(lookups(r#"emails.type eq "work""#), None);
        assert_eq!(lookups(r#"emails[type eq "work"]"#), None);
        assert_eq!(lookups(r#"not (userName eq "a")"#), None);
        assert_eq!(
            lookups(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#),
            Some(vec![pair("userName", "a")])
        );
    }

    #[test]
    fn errors() {
        error(&format!("userName eq \"{}\"", "a".repeat(MAX_LEN)));
        assert!(error(&"(".repeat(10_000)).detail.contains("longer"));
        let detail = error(&"(".repeat(MAX_LEN)).detail;
        assert_eq!(detail, "filter nested deeper than 16 at 17");
        error(&format!("{}a pr{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1)));
        assert!(parse(&format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH))).is_ok());
        error(&format!("{}a pr{}", "not (".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1)));
        error(&format!("{}x eq 1{}", "a[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1)));
        assert_eq!(error(r#"userName eq "bjensen"#).detail, "unterminated string at 12");
        assert_eq!(error(r#"userName eq "bjensen" junk"#).detail, "unexpected token at 22");
        error(r#"userName eq "a\q""#);
        error("userName");
        error("userName xx \"a\"");
        error("userName eq");
        error("userName eq bjensen");
        error("");
        error("   ");
        error("(a pr");
        error("a pr)");
        error("a pr and");
        error("1abc pr");
        error("a.b.c pr");
        error("urn: pr");
        error("emails[type eq \"work\"].1 eq \"x\"");
        error("a eq {}");
        // A long `and` chain is not nesting.
        let chain = vec!["a pr"; 400].join(" and ");
        assert!(parse(&chain).is_ok());
    }

    #[test]
    fn errors_do_not_quote_values() {
        for text in [r#"userName eq "secret@x.com" extra"#, r#"userName eq "secret@x.com"#, "userName eq secret"] {
            let detail = parse(text).unwrap_err().detail;
            assert!(!detail.contains("secret"), "{detail}");
        }
    }

    #[test]
    fn patch_paths() {
        assert_eq!(
            parse_patch_path("name.familyName").unwrap(),
            PatchPath::Attr(AttrPath { uri: None, name: "name".into(), sub: Some("familyName".into()) })
        );
        let PatchPath::Filtered { path, filter, sub } = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(path, AttrPath::simple("emails"));
        assert_eq!(sub.as_deref(), Some("value"));
        assert!(matches!(filter, Filter::Compare { op: CompareOp::Eq, .. }));
        let PatchPath::Filtered { sub: None, .. } = parse_patch_path(r#"members[value eq "2819c223"]"#).unwrap() else {
            panic!()
        };
        assert_eq!(
            parse_patch_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber").unwrap(),
            PatchPath::Attr(AttrPath { uri: Some(ENTERPRISE_SCHEMA.into()), name: "employeeNumber".into(), sub: None })
        );
        assert_eq!(
            parse_patch_path(" URN:ietf:params:scim:schemas:extension:enterprise:2.0:user ").unwrap(),
            PatchPath::Attr(AttrPath::simple(ENTERPRISE_SCHEMA))
        );
        assert_eq!(parse_patch_path(USER_SCHEMA).unwrap(), PatchPath::Attr(AttrPath::simple(USER_SCHEMA)));
        for bad in
            ["", "a b", "emails[", "emails[type eq]", "emails[type eq \"w\"]x", "a.b[c pr]", "a.b.c", "(a)", "\"a\""]
        {
            assert_eq!(parse_patch_path(bad).unwrap_err().scim_type, ScimType::InvalidPath, "{bad}");
        }
    }

    fn filter_alphabet() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("a"),
            Just("emails"),
            Just("x.y"),
            Just("urn:a:b:c"),
            Just("\""),
            Just("\"v\""),
            Just("\\"),
            Just("["),
            Just("]"),
            Just("("),
            Just(")"),
            Just(" "),
            Just("."),
            Just(":"),
            Just("and"),
            Just("or"),
            Just("not"),
            Just("eq"),
            Just("pr"),
            Just("gt"),
            Just("1"),
            Just("true"),
            Just("é"),
        ];
        prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in any::<String>()) {
            let _ = parse(&text);
            let _ = parse_patch_path(&text);
        }

        #[test]
        fn parse_and_match_never_panic_on_filter_alphabet(text in filter_alphabet()) {
            if let Ok(filter) = parse(&text) {
                let _ = matches(&filter, &sample());
                let _ = matches(&filter, &json!({"a": [1, "v", null, {"value": "v"}], "x": {"y": true}}));
                let _ = filter.eq_lookups();
            }
            let _ = parse_patch_path(&text);
        }
    }
}
