//! Tag filters of OSM layers (`source::osm`): `amenity=recycling and (recycling_type=centre
//! or not recycling_type=*)`.
//!
//! Grammar (keywords are case-insensitive, `and` binds tighter than `or`):
//! ```text
//! expr  := term ("or" term)*
//! term  := unary ("and" unary)*
//! unary := "not" unary | "(" expr ")" | test
//! test  := KEY "=" VALUE | KEY "=*" | KEY "!=" VALUE | KEY "!=*" | KEY "~" REGEX | KEY "!~" REGEX
//! ```
//! A key, value or regex is a bare word (no space, parenthesis, `=`, `!`,
//! `~` or quote) or a double-quoted string (`\"` and `\\` escaped).
//! `key!=value` holds when the key is absent or has another value (as in
//! Overpass); `key~regex` searches the value (unanchored: `^...$` anchors).

use regex::Regex;
use std::fmt;

/// A parsed tag expression.
#[derive(Clone)]
pub enum TagFilter {
    /// `key=value`
    Equals(String, String),
    /// `key=*`
    Has(String),
    /// `key~regex`
    Matches(String, Regex),
    Not(Box<TagFilter>),
    And(Vec<TagFilter>),
    Or(Vec<TagFilter>),
}

impl fmt::Debug for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagFilter::Equals(k, v) => write!(f, "{k:?}={v:?}"),
            TagFilter::Has(k) => write!(f, "{k:?}=*"),
            TagFilter::Matches(k, r) => write!(f, "{k:?}~{:?}", r.as_str()),
            TagFilter::Not(e) => write!(f, "not ({e:?})"),
            TagFilter::And(v) => f.debug_tuple("and").field(v).finish(),
            TagFilter::Or(v) => f.debug_tuple("or").field(v).finish(),
        }
    }
}

impl PartialEq for TagFilter {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

/// A syntax error, with the 1-based column where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct FilterError {
    pub column: usize,
    pub message: String,
}

impl TagFilter {
    /// Parses an expression of the grammar above.
    pub fn parse(text: &str) -> Result<TagFilter, FilterError> {
        let tokens = lex(text)?;
        let mut p = Parser { tokens, pos: 0, end: text.chars().count() + 1 };
        if p.tokens.is_empty() {
            return Err(FilterError {
                column: 1,
                message: "empty filter: expected a test such as amenity=recycling".into(),
            });
        }
        let e = p.or()?;
        match p.tokens.get(p.pos) {
            None => Ok(e),
            Some(t) => Err(p.error_at(t.column, format!("unexpected {}: expected `and`, `or` or the end", t.kind))),
        }
    }

    /// Whether tags (pairs of key and value as bytes) pass the filter.
    pub fn matches<'t>(&self, tags: &[(&'t [u8], &'t [u8])]) -> bool {
        let get = |key: &str| tags.iter().find(|(k, _)| *k == key.as_bytes()).map(|(_, v)| *v);
        match self {
            TagFilter::Equals(k, v) => get(k) == Some(v.as_bytes()),
            TagFilter::Has(k) => get(k).is_some(),
            TagFilter::Matches(k, r) => get(k).and_then(|v| std::str::from_utf8(v).ok()).is_some_and(|v| r.is_match(v)),
            TagFilter::Not(e) => !e.matches(tags),
            TagFilter::And(v) => v.iter().all(|e| e.matches(tags)),
            TagFilter::Or(v) => v.iter().any(|e| e.matches(tags)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word(String),
    Quoted(String),
    Op(&'static str),
    Open,
    Close,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Word(w) => write!(f, "`{w}`"),
            Kind::Quoted(w) => write!(f, "\"{w}\""),
            Kind::Op(o) => write!(f, "`{o}`"),
            Kind::Open => f.write_str("`(`"),
            Kind::Close => f.write_str("`)`"),
        }
    }
}

struct Token {
    kind: Kind,
    column: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let (kind, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Kind::Open, 1),
            ')' => (Kind::Close, 1),
            '!' if two == "!=" => (Kind::Op("!="), 2),
            '!' if two == "!~" => (Kind::Op("!~"), 2),
            '=' => (Kind::Op("="), 1),
            '~' => (Kind::Op("~"), 1),
            '!' => return Err(FilterError { column, message: "`!` must be followed by `=` or `~`".into() }),
            '"' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(FilterError { column, message: "unterminated quoted string".into() }),
                        Some('"') => break,
                        Some('\\') if matches!(chars.get(j + 1), Some('"' | '\\')) => {
                            s.push(chars[j + 1]);
                            j += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            j += 1;
                        }
                    }
                }
                (Kind::Quoted(s), j + 1 - i)
            }
            _ => {
                let mut j = i;
                while j < chars.len() && !chars[j].is_whitespace() && !"()=!~\"".contains(chars[j]) {
                    j += 1;
                }
                (Kind::Word(chars[i..j].iter().collect()), j - i)
            }
        };
        out.push(Token { kind, column });
        i += len;
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Column just past the text, for errors at the end.
    end: usize,
}

impl Parser {
    fn error_at(&self, column: usize, message: String) -> FilterError {
        FilterError { column, message }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token { kind: Kind::Word(w), .. }) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<TagFilter, FilterError> {
        let mut terms = vec![self.and()?];
        while self.keyword("or") {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { TagFilter::Or(terms) })
    }

    fn and(&mut self) -> Result<TagFilter, FilterError> {
        let mut terms = vec![self.unary()?];
        while self.keyword("and") {
            self.pos += 1;
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { TagFilter::And(terms) })
    }

    fn unary(&mut self) -> Result<TagFilter, FilterError> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(TagFilter::Not(Box::new(self.unary()?)));
        }
        let Some(t) = self.tokens.get(self.pos) else {
            return Err(self.error_at(self.end, "unexpected end: expected a test such as amenity=recycling".into()));
        };
        match &t.kind {
            Kind::Open => {
                let open = t.column;
                self.pos += 1;
                let e = self.or()?;
                match self.tokens.get(self.pos) {
                    Some(Token { kind: Kind::Close, .. }) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    Some(t) => Err(self.error_at(t.column, format!("unexpected {}: expected `)`", t.kind))),
                    None => Err(self.error_at(open, "`(` is never closed".into())),
                }
            }
            _ => self.test(),
        }
    }

    /// A word or quoted string (keywords are words, taken literally here).
    fn text(&mut self, what: &str) -> Result<(String, bool, usize), FilterError> {
        match self.tokens.get(self.pos) {
            Some(Token { kind: Kind::Word(w), column }) => {
                self.pos += 1;
                Ok((w.clone(), false, *column))
            }
            Some(Token { kind: Kind::Quoted(w), column }) => {
                self.pos += 1;
                Ok((w.clone(), true, *column))
            }
            Some(t) => Err(self.error_at(t.column, format!("unexpected {}: expected {what}", t.kind))),
            None => Err(self.error_at(self.end, format!("unexpected end: expected {what}"))),
        }
    }

    fn test(&mut self) -> Result<TagFilter, FilterError> {
        let (key, _, key_column) = self.text("a tag key")?;
        if key.is_empty() {
            return Err(self.error_at(key_column, "empty tag key".into()));
        }
        let op = match self.tokens.get(self.pos) {
            Some(Token { kind: Kind::Op(op), .. }) => *op,
            Some(t) => {
                return Err(self.error_at(
                    t.column,
                    format!("unexpected {}: expected `=`, `!=`, `~` or `!~` after the key", t.kind),
                ))
            }
            None => {
                return Err(
                    self.error_at(self.end, format!("unexpected end: expected `=`, `!=`, `~` or `!~` after `{key}`"))
                )
            }
        };
        self.pos += 1;
        let (value, quoted, value_column) = self.text("a value")?;
        let any = value == "*" && !quoted;
        Ok(match (op, any) {
            ("=", true) => TagFilter::Has(key),
            ("!=", true) => TagFilter::Not(Box::new(TagFilter::Has(key))),
            ("=", false) => TagFilter::Equals(key, value),
            ("!=", false) => TagFilter::Not(Box::new(TagFilter::Equals(key, value))),
            (op, _) => {
                let r = Regex::new(&value).map_err(|e| {
                    self.error_at(value_column, format!("invalid regular expression: {}", first_line(&e)))
                })?;
                let m = TagFilter::Matches(key, r);
                if op == "!~" {
                    TagFilter::Not(Box::new(m))
                } else {
                    m
                }
            }
        })
    }
}

fn first_line(e: &regex::Error) -> String {
    let s = e.to_string();
    s.lines().last().unwrap_or_default().trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(f: &str, tags: &[(&str, &str)]) -> bool {
        let tags: Vec<(&[u8], &[u8])> = tags.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect();
        TagFilter::parse(f).unwrap().matches(&tags)
    }

    #[test]
    fn filters_evaluate_as_documented() {
        let t = [("amenity", "recycling"), ("recycling_type", "centre"), ("name", "Déchèterie de Mérignac")];
        assert!(m("amenity=recycling", &t));
        assert!(!m("amenity=waste_basket", &t));
        assert!(m("amenity=recycling and recycling_type=centre", &t));
        assert!(m("amenity=waste_basket or recycling_type=*", &t));
        assert!(m("not opening_hours=*", &t));
        assert!(m("opening_hours!=24/7", &t), "!= holds when the key is absent");
        assert!(!m("recycling_type!=centre", &t));
        assert!(m("name~\"^Déchèterie\"", &t));
        assert!(!m("name!~Mérignac", &t));
        assert!(m("amenity=waste_basket or amenity=recycling and not (recycling_type=container)", &t));
        assert!(
            m("AMENITY=x OR amenity=recycling", &[("AMENITY", "x")]),
            "keywords are case-insensitive, keys are not"
        );
        assert!(m("\"addr:street\"=\"Rue de la Paix\"", &[("addr:street", "Rue de la Paix")]));
        assert!(m("recycling:glass_bottles=yes", &[("recycling:glass_bottles", "yes")]));
    }

    #[test]
    fn syntax_errors_name_the_column() {
        let e = |f: &str| TagFilter::parse(f).unwrap_err();
        assert_eq!(e("amenity=recycling and").column, 22);
        assert_eq!(e("amenity recycling").column, 9);
        assert_eq!(e("(amenity=recycling").column, 1);
        assert_eq!(e("amenity=recycling)").column, 18);
        assert_eq!(e("name~\"(\"").column, 6);
        assert_eq!(e("a!b").column, 2);
        assert_eq!(e("name=\"open").column, 6);
        assert_eq!(e("").column, 1);
        assert!(e("name~\"(\"").message.contains("regular expression"), "{}", e("name~\"(\"").message);
    }
}
