//! cql2-text: a lexer and a recursive-descent parser of the grammar's
//! boolean expressions, predicates and literals (keywords in any case).
//! Errors say what was expected and at which column.

use super::{error, parse_date, parse_timestamp, CmpOp, Raw, RawOperand, SpatialOp};
use crate::error::ParamError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// An identifier or keyword, and whether it was double-quoted.
    Word(String, bool),
    Str(String),
    Num(f64),
    Open,
    Close,
    Comma,
    Cmp(CmpOp),
    End,
}

struct Lexer {
    toks: Vec<(Tok, usize)>,
}

fn lex(src: &str) -> Result<Lexer, ParamError> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let at = |i: usize| i + 1;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::Open
            }
            ')' => {
                i += 1;
                Tok::Close
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += 1;
                Tok::Cmp(CmpOp::Eq)
            }
            '<' | '>' => {
                i += 1;
                let next = chars.get(i).copied();
                let op = match (c, next) {
                    ('<', Some('>')) => CmpOp::Ne,
                    ('<', Some('=')) => CmpOp::Le,
                    ('>', Some('=')) => CmpOp::Ge,
                    ('<', _) => CmpOp::Lt,
                    _ => CmpOp::Gt,
                };
                if matches!(op, CmpOp::Ne | CmpOp::Le | CmpOp::Ge) {
                    i += 1;
                }
                Tok::Cmp(op)
            }
            '\'' | '"' => {
                let (text, end) = quoted(&chars, start).ok_or_else(|| {
                    let what = if c == '"' { "a quoted identifier" } else { "a string" };
                    error(format!("column {}: {what} opened here is never closed", at(start)))
                })?;
                i = end;
                if c == '"' {
                    Tok::Word(text, true)
                } else {
                    Tok::Str(text)
                }
            }
            c if c.is_ascii_digit() || c == '.' || c == '-' || c == '+' => {
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || chars[i] == '.'
                        || chars[i] == 'e'
                        || chars[i] == 'E'
                        || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| error(format!("column {}: {text:?} is not a number", at(start))))?;
                Tok::Num(n)
            }
            c if c.is_alphabetic() || c == '_' || c == ':' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | ':' | '.')) {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect(), false)
            }
            other => return Err(error(format!("column {}: unexpected character {other:?}", at(start)))),
        };
        toks.push((tok, at(start)));
    }
    toks.push((Tok::End, chars.len() + 1));
    Ok(Lexer { toks })
}

/// The text quoted from `start` (a `'` or `"`, doubled inside to escape
/// itself) and the position after the closing quote; None when unclosed.
fn quoted(chars: &[char], start: usize) -> Option<(String, usize)> {
    let q = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return None,
            Some(&c) if c == q && chars.get(i + 1) == Some(&q) => {
                s.push(q);
                i += 2;
            }
            Some(&c) if c == q => return Some((s, i + 1)),
            Some(&c) => {
                s.push(c);
                i += 1;
            }
        }
    }
}

/// Parses a cql2-text filter.
pub(super) fn parse(src: &str) -> Result<Raw, ParamError> {
    if src.trim().is_empty() {
        return Err(error("the filter is empty"));
    }
    let lexer = lex(src)?;
    let mut p = Parser { toks: lexer.toks, pos: 0, depth: 0 };
    let e = p.or()?;
    match p.peek() {
        Tok::End => Ok(e),
        _ => Err(p.expected("AND, OR or the end of the filter")),
    }
}

/// Nesting allowed before a filter is refused (stack safety).
const MAX_DEPTH: usize = 64;

pub(super) struct Parser {
    toks: Vec<(Tok, usize)>,
    pub(super) pos: usize,
    pub(super) depth: usize,
}

pub(super) fn is_kw(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Word(w, false) if w.eq_ignore_ascii_case(kw))
}

impl Parser {
    pub(super) fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].0
    }

    pub(super) fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    pub(super) fn column(&self) -> usize {
        self.toks[self.pos.min(self.toks.len() - 1)].1
    }

    pub(super) fn expected(&self, what: &str) -> ParamError {
        let found = match self.peek() {
            Tok::Word(w, _) => format!("{w:?}"),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Num(n) => n.to_string(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::Comma => ",".into(),
            Tok::Cmp(_) => "a comparison".into(),
            Tok::End => "the end of the filter".into(),
        };
        error(format!("column {}: expected {what}, found {found}", self.column()))
    }

    pub(super) fn keyword(&mut self, kw: &str) -> bool {
        if is_kw(self.peek(), kw) {
            self.next();
            true
        } else {
            false
        }
    }

    pub(super) fn expect(&mut self, tok: Tok, what: &str) -> Result<(), ParamError> {
        if *self.peek() == tok {
            self.next();
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    pub(super) fn nest(&mut self) -> Result<(), ParamError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(format!("column {}: the filter nests more than {MAX_DEPTH} levels", self.column())));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Raw, ParamError> {
        self.nest()?;
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            parts.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 { parts.remove(0) } else { Raw::Or(parts) })
    }

    fn and(&mut self) -> Result<Raw, ParamError> {
        let mut parts = vec![self.factor()?];
        while self.keyword("and") {
            parts.push(self.factor()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Raw::And(parts) })
    }

    fn factor(&mut self) -> Result<Raw, ParamError> {
        if self.keyword("not") {
            self.nest()?;
            let inner = self.factor()?;
            self.depth -= 1;
            return Ok(Raw::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Raw, ParamError> {
        if *self.peek() == Tok::Open {
            self.next();
            let e = self.or()?;
            self.expect(Tok::Close, "\")\"")?;
            return Ok(e);
        }
        if let Tok::Word(w, false) = self.peek() {
            if let Some(op) = SpatialOp::from_name(w) {
                self.next();
                self.expect(Tok::Open, "\"(\" after a spatial function")?;
                let a = self.spatial_arg()?;
                self.expect(Tok::Comma, "\",\" between the two arguments")?;
                let b = self.spatial_arg()?;
                self.expect(Tok::Close, "\")\" after the two arguments")?;
                return Ok(Raw::Spatial(op, a, b));
            }
            let w = w.to_ascii_lowercase();
            let after = self.peek_at(1);
            let comparison = matches!(after, Tok::Cmp(_)) || is_kw(after, "is") || is_kw(after, "in");
            if (w == "true" || w == "false") && !comparison {
                self.next();
                return Ok(Raw::Literal(w == "true"));
            }
            if matches!(after, Tok::Open) && !matches!(w.as_str(), "date" | "timestamp") {
                return Err(error(format!(
                    "column {}: function {w}() is not supported (supported: S_INTERSECTS, S_EQUALS, S_DISJOINT, \
                     S_TOUCHES, S_WITHIN, S_OVERLAPS, S_CROSSES, S_CONTAINS)",
                    self.column()
                )));
            }
        }
        let left = self.scalar()?;
        let negated = self.keyword("not");
        for (kw, ci) in [("like", false), ("ilike", true)] {
            if self.keyword(kw) {
                let pattern = self.scalar()?;
                return Ok(not(negated, Raw::Like(left, pattern, ci)));
            }
        }
        if self.keyword("between") {
            let lo = self.scalar()?;
            if !self.keyword("and") {
                return Err(self.expected("AND in BETWEEN low AND high"));
            }
            let hi = self.scalar()?;
            return Ok(not(negated, Raw::Between(left, lo, hi)));
        }
        if self.keyword("in") {
            self.expect(Tok::Open, "\"(\" opening the list of IN")?;
            let mut list = vec![self.scalar()?];
            while *self.peek() == Tok::Comma {
                self.next();
                list.push(self.scalar()?);
            }
            self.expect(Tok::Close, "\",\" or \")\" in the list of IN")?;
            return Ok(not(negated, Raw::In(left, list)));
        }
        if negated {
            return Err(self.expected("LIKE, BETWEEN or IN after NOT"));
        }
        if self.keyword("is") {
            let negated = self.keyword("not");
            if !self.keyword("null") {
                return Err(self.expected("NULL in IS [NOT] NULL"));
            }
            return Ok(not(negated, Raw::IsNull(left)));
        }
        match self.next() {
            Tok::Cmp(op) => {
                let right = self.scalar()?;
                Ok(Raw::Compare(op, left, right))
            }
            _ => {
                self.pos -= 1;
                Err(self.expected("a comparison (=, <>, <, <=, >, >=), LIKE, BETWEEN, IN or IS NULL"))
            }
        }
    }

    fn scalar(&mut self) -> Result<RawOperand, ParamError> {
        let col = self.column();
        match self.next() {
            Tok::Str(s) => Ok(RawOperand::Str(s)),
            Tok::Num(n) => Ok(RawOperand::Num(n)),
            Tok::Word(w, true) => Ok(RawOperand::Property(w)),
            Tok::Word(w, false) => {
                let lower = w.to_ascii_lowercase();
                match lower.as_str() {
                    "true" | "false" => Ok(RawOperand::Bool(lower == "true")),
                    "date" | "timestamp" if *self.peek() == Tok::Open => {
                        self.next();
                        let Tok::Str(s) = self.next() else {
                            self.pos -= 1;
                            return Err(self.expected(&format!("a quoted {} in {}('...')", lower, w.to_uppercase())));
                        };
                        self.expect(Tok::Close, "\")\"")?;
                        if lower == "date" {
                            parse_date(&s).map(RawOperand::Date)
                        } else {
                            parse_timestamp(&s).map(RawOperand::Timestamp)
                        }
                    }
                    "and" | "or" | "not" | "like" | "ilike" | "between" | "in" | "is" | "null" => {
                        Err(error(format!("column {col}: expected a property or a value, found keyword {w:?}")))
                    }
                    _ if geometry_keyword(&lower) => Err(error(format!(
                        "column {col}: a geometry literal can only be an argument of a spatial function"
                    ))),
                    _ => Ok(RawOperand::Property(w)),
                }
            }
            _ => {
                self.pos -= 1;
                Err(self.expected("a property or a value"))
            }
        }
    }

    fn spatial_arg(&mut self) -> Result<RawOperand, ParamError> {
        if let Tok::Word(w, false) = self.peek() {
            let lower = w.to_ascii_lowercase();
            if geometry_keyword(&lower) {
                self.next();
                return self.geometry(&lower).map(RawOperand::Shape);
            }
        }
        match self.next() {
            Tok::Word(w, _) => Ok(RawOperand::Property(w)),
            _ => {
                self.pos -= 1;
                Err(self.expected("geometry or a geometry literal such as POINT(-0.57 44.84)"))
            }
        }
    }
}

pub(super) fn geometry_keyword(w: &str) -> bool {
    matches!(
        w,
        "point"
            | "linestring"
            | "polygon"
            | "multipoint"
            | "multilinestring"
            | "multipolygon"
            | "geometrycollection"
            | "bbox"
    )
}

fn not(negated: bool, e: Raw) -> Raw {
    if negated {
        Raw::Not(Box::new(e))
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Geometry;

    fn p(s: &str) -> Raw {
        parse(s).unwrap_or_else(|e| panic!("{s}: {}", e.message))
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let e = p("a = 1 OR b = 2 AND NOT c = 3");
        let Raw::Or(parts) = e else { panic!() };
        assert!(matches!(parts[1], Raw::And(ref v) if matches!(v[1], Raw::Not(_))));
    }

    #[test]
    fn literals_and_predicates_parse() {
        assert_eq!(
            p("nom = 'L''Isle'"),
            Raw::Compare(CmpOp::Eq, RawOperand::Property("nom".into()), RawOperand::Str("L'Isle".into()))
        );
        assert!(
            matches!(p("\"recycling:glass\" <> 'yes'"), Raw::Compare(CmpOp::Ne, RawOperand::Property(ref n), _) if n == "recycling:glass")
        );
        assert!(matches!(p("recycling:glass IS NOT NULL"), Raw::Not(_)));
        assert!(matches!(p("population NOT BETWEEN -1.5e3 AND 10"), Raw::Not(_)));
        assert!(matches!(p("x IN ('a', 'b')"), Raw::In(_, ref l) if l.len() == 2));
        assert!(matches!(p("d >= DATE('2024-01-31')"), Raw::Compare(CmpOp::Ge, _, RawOperand::Date(_))));
        assert!(matches!(p("TRUE"), Raw::Literal(true)));
        assert!(matches!(p("nom ILIKE 'b%'"), Raw::Like(_, _, true)));
        assert!(matches!(p("flag = true"), Raw::Compare(_, _, RawOperand::Bool(true))));
        assert!(matches!(
            p("s_intersects(geometry, POLYGON((0 0, 1 0, 1 1, 0 0), (0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.1)))"),
            Raw::Spatial(SpatialOp::Intersects, _, RawOperand::Shape(Geometry::Polygon(ref poly))) if poly.interiors().len() == 1
        ));
        assert!(matches!(
            p("S_INTERSECTS(geometry, POINT(-0.57 44.84)) AND TRUE"),
            Raw::And(ref v) if matches!(v[0], Raw::Spatial(_, _, RawOperand::Shape(Geometry::Point(_))))
        ));
        assert!(matches!(
            p("S_WITHIN(geometry, BBOX(-1, 44, 0, 45))"),
            Raw::Spatial(SpatialOp::Within, _, RawOperand::Shape(Geometry::Rect(_)))
        ));
        assert!(matches!(
            p("S_INTERSECTS(geometry, MULTIPOINT((1 2), (3 4)))"),
            Raw::Spatial(_, _, RawOperand::Shape(Geometry::MultiPoint(ref m))) if m.0.len() == 2
        ));
    }

    #[test]
    fn errors_name_the_column() {
        for (bad, col) in [
            ("nom = ", 7),
            ("nom = 'x", 7),
            ("nom == 'x'", 6),
            ("(nom = 'x'", 11),
            ("nom LIKE", 9),
            ("S_INTERSECTS(geometry POINT(1 2))", 23),
            ("nom = 'a' xor b = 1", 11),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.parameter, "filter");
            assert!(e.message.contains(&format!("column {col}")), "{bad}: {}", e.message);
        }
        assert!(parse("casei(nom) = 'x'").unwrap_err().message.contains("not supported"));
        assert!(parse(&"(".repeat(200)).unwrap_err().message.contains("nests"));
        assert!(parse("S_INTERSECTS(geometry, POINT(1 2 3))").unwrap_err().message.contains("2D"));
    }
}
