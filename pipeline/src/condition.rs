//! Condition expressions of condition groups, and their translation to the CEL that KFP writes
//! into `triggerPolicy.condition`.
//!
//! Grammar (the KFP DSL forms, written the way the canvas shows tasks):
//!
//! ```text
//! expr    := or
//! or      := and (("or" | "||") and)*
//! and     := unary (("and" | "&&") unary)*
//! unary   := ("not" | "!") unary | compare
//! compare := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand)?
//! operand := number | 'string' | "string" | true | false | task.output | parameter
//!          | item ("(" loop ")")? ("[" 'field' "]")? | "(" expr ")"
//! ```
//!
//! `parameter` is a pipeline parameter name; `task.output` is an output of a task, by task name.
//! `item` is the current item of the innermost loop around the condition (`dsl.ParallelFor(…)
//! as item`), `item(g2)` the item of the enclosing loop `g2` (group id or task name), and
//! `item['a']` a field of an item that is a dict.
//!
//! Expressions nest at most [`MAX_DEPTH`] levels deep, so that parsing, printing, comparing and
//! dropping one never runs out of stack, whatever the text.

use std::fmt::Write as _;

/// How deep a condition may nest: the levels of parentheses and `not`, and the depth of the
/// expression tree (a chain of `n` `and`s or `or`s is `n` levels, as it is a tree of that depth).
/// Real conditions stay far below; the bound is what keeps [`parse`] and [`from_cel`] (which
/// recurse), and printing, comparing and dropping the [`Expr`]s they return, within the stack
/// on any input. Expressions built from parsed ones (the compiler's if/elif/else triggers) are
/// checked against it too.
pub const MAX_DEPTH: usize = 100;

/// A parsed condition. Its methods (and `Clone`, `PartialEq`, `Drop`) recurse over the tree, which
/// [`parse`] and [`from_cel`] keep within [`MAX_DEPTH`] levels.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `left op right`.
    Compare(Operand, CmpOp, Operand),
    /// A lone operand, true when it is `true` (a boolean output or parameter).
    Truthy(Operand),
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// Negation.
    Not(Box<Expr>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written in CEL and in the expression.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A value in a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A pipeline parameter.
    Parameter(String),
    /// An output of a task.
    Output {
        /// Task (node) name.
        task: String,
        /// Output name.
        output: String,
    },
    /// A number literal, as written.
    Number(String),
    /// A string literal (unquoted).
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// The current item of an enclosing loop, or a field of it.
    LoopItem {
        /// The loop (group id or task name); `None` for the innermost loop around the condition.
        group: Option<String>,
        /// A field of the item (`item['a']`), when the items are dicts.
        field: Option<String>,
    },
}

/// A syntax error in a condition, with the character offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {})", .offset + 1)]
pub struct ConditionError {
    /// Character (not byte) offset into the expression, from 0.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String),
    Str(String),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
}

/// The length of the number at the start of `rest`: an optional `-`, digits and dots, then an
/// optional exponent (`e`, an optional sign, digits).
fn number_len(rest: &[u8]) -> usize {
    let mut i = usize::from(rest.first() == Some(&b'-'));
    while rest
        .get(i)
        .is_some_and(|b| b.is_ascii_digit() || *b == b'.')
    {
        i += 1;
    }
    if matches!(rest.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(rest.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        while rest.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    i
}

/// Whether `text` is a number a condition may hold: one `f64` reads, and finite.
fn is_finite_number(text: &str) -> bool {
    text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Splits the expression into tokens with their byte offsets. Works on bytes for the ASCII
/// syntax and on whole characters inside strings, so it never splits a character.
fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ConditionError> {
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |offset: usize, message: String| ConditionError { offset, message };
    // The text from byte `i`; `i` is always on a character boundary.
    let rest = |i: usize| src.get(i..).unwrap_or("");
    while let Some(&c) = bytes.get(i) {
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            b')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            b'[' => {
                out.push((start, Tok::LBracket));
                i += 1;
            }
            b']' => {
                out.push((start, Tok::RBracket));
                i += 1;
            }
            b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.push((start, Tok::Dot));
                i += 1;
            }
            b'\'' | b'"' => {
                let quote = char::from(c);
                let mut s = String::new();
                let mut chars = rest(i + 1).char_indices();
                loop {
                    match chars.next() {
                        None => return Err(err(start, "unterminated string".into())),
                        Some((k, ch)) if ch == quote => {
                            i += 1 + k + 1;
                            break;
                        }
                        Some((_, '\\')) => match chars.next() {
                            Some((_, escaped)) => s.push(escaped),
                            None => return Err(err(start, "unterminated string".into())),
                        },
                        Some((_, ch)) => s.push(ch),
                    }
                }
                out.push((start, Tok::Str(s)));
            }
            b'0'..=b'9' | b'.' => {
                i += number_len(bytes.get(i..).unwrap_or_default());
                let text = rest(start).get(..i - start).unwrap_or("");
                if !is_finite_number(text) {
                    return Err(err(start, format!("{text:?} is not a number")));
                }
                out.push((start, Tok::Num(text.to_string())));
            }
            b'-' if bytes
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_digit() || *b == b'.')
                && !matches!(
                    out.last(),
                    Some((_, Tok::Num(_) | Tok::Str(_) | Tok::Ident(_) | Tok::RParen))
                ) =>
            {
                i += number_len(bytes.get(i..).unwrap_or_default());
                let text = rest(start).get(..i - start).unwrap_or("");
                if !is_finite_number(text) {
                    return Err(err(start, format!("{text:?} is not a number")));
                }
                out.push((start, Tok::Num(text.to_string())));
            }
            b'=' | b'!' | b'<' | b'>' | b'&' | b'|' => {
                let two = src.get(i..i + 2).unwrap_or("");
                let op: &'static str = match two {
                    "==" => "==",
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    "&&" => "and",
                    "||" => "or",
                    _ => match c {
                        b'<' => "<",
                        b'>' => ">",
                        b'!' => "not",
                        b'=' => {
                            return Err(err(start, "use == to compare, not =".into()));
                        }
                        _ => return Err(err(start, format!("unexpected {:?}", char::from(c)))),
                    },
                };
                i += if matches!(two, "==" | "!=" | "<=" | ">=" | "&&" | "||") {
                    2
                } else {
                    1
                };
                out.push((start, Tok::Op(op)));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while bytes
                    .get(i)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
                {
                    i += 1;
                }
                let word = rest(start).get(..i - start).unwrap_or("");
                match word {
                    "and" => out.push((start, Tok::Op("and"))),
                    "or" => out.push((start, Tok::Op("or"))),
                    "not" => out.push((start, Tok::Op("not"))),
                    _ => out.push((start, Tok::Ident(word.to_string()))),
                }
            }
            _ => {
                let ch = rest(i).chars().next().unwrap_or(' ');
                return Err(err(start, format!("unexpected {ch:?}")));
            }
        }
    }
    Ok(out)
}

/// An expression with the depth of its tree.
type Sized = (Expr, usize);

/// `left op right`, unless that is deeper than [`MAX_DEPTH`].
fn join(
    (l, ld): Sized,
    (r, rd): Sized,
    op: fn(Box<Expr>, Box<Expr>) -> Expr,
    offset: usize,
) -> Result<Sized, ConditionError> {
    let depth = ld.max(rd) + 1;
    if depth > MAX_DEPTH {
        return Err(too_deep(offset));
    }
    Ok((op(Box::new(l), Box::new(r)), depth))
}

/// `not e`, unless that is deeper than [`MAX_DEPTH`].
fn negate((e, d): Sized, offset: usize) -> Result<Sized, ConditionError> {
    if d + 1 > MAX_DEPTH {
        return Err(too_deep(offset));
    }
    Ok((Expr::Not(Box::new(e)), d + 1))
}

fn too_deep(offset: usize) -> ConditionError {
    ConditionError {
        offset,
        message: format!("the condition nests deeper than {MAX_DEPTH} levels"),
    }
}

/// The character offset of byte offset `byte` of `src`.
fn char_offset(src: &str, byte: usize) -> usize {
    src.char_indices().take_while(|&(i, _)| i < byte).count()
}

/// A condition error with its byte offset turned into a character offset.
fn in_characters(src: &str, e: ConditionError) -> ConditionError {
    ConditionError {
        offset: char_offset(src, e.offset),
        ..e
    }
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    /// Parentheses and `not`s open around the current token.
    nesting: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(o, _)| *o)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ConditionError> {
        Err(ConditionError {
            offset: self.offset(),
            message: message.into(),
        })
    }

    /// Enters a parenthesis or `not` at the current token (before recursing into it).
    fn enter(&mut self) -> Result<(), ConditionError> {
        if self.nesting >= MAX_DEPTH {
            return Err(too_deep(self.offset()));
        }
        self.nesting += 1;
        Ok(())
    }

    fn or(&mut self) -> Result<Sized, ConditionError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Op("or")) {
            let at = self.offset();
            self.pos += 1;
            let right = self.and()?;
            left = join(left, right, Expr::Or, at)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Sized, ConditionError> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Tok::Op("and")) {
            let at = self.offset();
            self.pos += 1;
            let right = self.unary()?;
            left = join(left, right, Expr::And, at)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Sized, ConditionError> {
        if self.peek() == Some(&Tok::Op("not")) {
            let at = self.offset();
            self.enter()?;
            self.pos += 1;
            let inner = self.unary()?;
            self.nesting -= 1;
            return negate(inner, at);
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Sized, ConditionError> {
        if self.peek() == Some(&Tok::LParen) {
            self.enter()?;
            self.pos += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Tok::RParen) {
                return self.err("expected )");
            }
            self.pos += 1;
            self.nesting -= 1;
            return Ok(inner);
        }
        let left = self.operand()?;
        let op = match self.peek() {
            Some(Tok::Op("==")) => CmpOp::Eq,
            Some(Tok::Op("!=")) => CmpOp::Ne,
            Some(Tok::Op("<")) => CmpOp::Lt,
            Some(Tok::Op("<=")) => CmpOp::Le,
            Some(Tok::Op(">")) => CmpOp::Gt,
            Some(Tok::Op(">=")) => CmpOp::Ge,
            _ => return Ok((Expr::Truthy(left), 1)),
        };
        self.pos += 1;
        let right = self.operand()?;
        Ok((Expr::Compare(left, op, right), 1))
    }

    fn operand(&mut self) -> Result<Operand, ConditionError> {
        let Some(tok) = self.peek().cloned() else {
            return self.err("expected a value, a task output or a parameter");
        };
        self.pos += 1;
        Ok(match tok {
            Tok::Num(n) => Operand::Number(n),
            Tok::Str(s) => Operand::Str(s),
            Tok::Ident(w) if w == "true" || w == "True" => Operand::Bool(true),
            Tok::Ident(w) if w == "false" || w == "False" => Operand::Bool(false),
            Tok::Ident(w) if w == "item" && self.peek() != Some(&Tok::Dot) => self.loop_item()?,
            Tok::Ident(w) => {
                if self.peek() == Some(&Tok::Dot) {
                    self.pos += 1;
                    match self.peek().cloned() {
                        Some(Tok::Ident(out)) => {
                            self.pos += 1;
                            Operand::Output {
                                task: w,
                                output: out,
                            }
                        }
                        _ => return self.err("expected an output name after '.'"),
                    }
                } else {
                    Operand::Parameter(w)
                }
            }
            _ => {
                self.pos -= 1;
                return self.err("expected a value, a task output or a parameter");
            }
        })
    }
}

impl Parser {
    /// The rest of `item(loop)['field']`, after `item`.
    fn loop_item(&mut self) -> Result<Operand, ConditionError> {
        let mut group = None;
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            match self.peek().cloned() {
                Some(Tok::Ident(g)) => group = Some(g),
                _ => return self.err("expected a loop (its group id or task name) after item("),
            }
            self.pos += 1;
            if self.peek() != Some(&Tok::RParen) {
                return self.err("expected )");
            }
            self.pos += 1;
        }
        let mut field = None;
        if self.peek() == Some(&Tok::LBracket) {
            self.pos += 1;
            match self.peek().cloned() {
                Some(Tok::Str(f)) if !f.is_empty() => field = Some(f),
                _ => return self.err("expected a field name in quotes, as in item['a']"),
            }
            self.pos += 1;
            if self.peek() != Some(&Tok::RBracket) {
                return self.err("expected ]");
            }
            self.pos += 1;
        }
        Ok(Operand::LoopItem { group, field })
    }
}

impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operand::Parameter(p) => write!(f, "{p}"),
            Operand::Output { task, output } => write!(f, "{task}.{output}"),
            Operand::Number(n) => write!(f, "{n}"),
            Operand::Str(s) => write!(f, "'{}'", escape(s)),
            Operand::Bool(b) => write!(f, "{b}"),
            Operand::LoopItem { group, field } => {
                f.write_str("item")?;
                if let Some(g) = group {
                    write!(f, "({g})")?;
                }
                if let Some(field) = field {
                    write!(f, "['{}']", escape(field))?;
                }
                Ok(())
            }
        }
    }
}

/// Writes the expression in the canvas's own syntax (what [`parse`] reads).
impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let grouped = |e: &Expr, f: &mut std::fmt::Formatter<'_>, parens: bool| {
            if parens {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        };
        match self {
            Expr::Compare(l, op, r) => write!(f, "{l} {} {r}", op.symbol()),
            Expr::Truthy(o) => write!(f, "{o}"),
            Expr::And(a, b) => {
                grouped(a, f, matches!(**a, Expr::Or(..)))?;
                f.write_str(" and ")?;
                grouped(b, f, matches!(**b, Expr::Or(..) | Expr::And(..)))
            }
            Expr::Or(a, b) => {
                grouped(a, f, false)?;
                f.write_str(" or ")?;
                grouped(b, f, matches!(**b, Expr::Or(..)))
            }
            Expr::Not(a) => {
                f.write_str("not ")?;
                grouped(a, f, matches!(**a, Expr::And(..) | Expr::Or(..)))
            }
        }
    }
}

/// Parses a condition expression. Errors give the character offset; expressions nesting deeper
/// than [`MAX_DEPTH`] are refused.
pub fn parse(src: &str) -> Result<Expr, ConditionError> {
    if src.trim().is_empty() {
        return Err(ConditionError {
            offset: 0,
            message: "the condition is empty".into(),
        });
    }
    let parse = || {
        let toks = lex(src)?;
        let mut p = Parser {
            toks,
            pos: 0,
            end: src.len(),
            nesting: 0,
        };
        let (e, _) = p.or()?;
        if p.pos != p.toks.len() {
            return p.err("unexpected text after the end of the condition");
        }
        Ok(e)
    };
    parse().map_err(|e| in_characters(src, e))
}

impl Expr {
    /// The depth of the expression tree: 1 for a comparison or a lone operand, one more for each
    /// `not`, `and` and `or` above it (see [`MAX_DEPTH`]).
    pub fn depth(&self) -> usize {
        match self {
            Expr::Compare(..) | Expr::Truthy(_) => 1,
            Expr::Not(e) => e.depth() + 1,
            Expr::And(a, b) | Expr::Or(a, b) => a.depth().max(b.depth()) + 1,
        }
    }

    /// Every task output and parameter the expression reads, in order of appearance.
    pub fn operands(&self) -> Vec<&Operand> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Operand>) {
            match e {
                Expr::Compare(l, _, r) => {
                    out.push(l);
                    out.push(r);
                }
                Expr::Truthy(o) => out.push(o),
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Not(a) => walk(a, out),
            }
        }
        walk(self, &mut out);
        out
    }

    /// Every operand, for rewriting in place (in order of appearance).
    pub fn operands_mut(&mut self) -> Vec<&mut Operand> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a mut Expr, out: &mut Vec<&'a mut Operand>) {
            match e {
                Expr::Compare(l, _, r) => {
                    out.push(l);
                    out.push(r);
                }
                Expr::Truthy(o) => out.push(o),
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Not(a) => walk(a, out),
            }
        }
        walk(self, &mut out);
        out
    }

    /// Writes the CEL trigger condition. `channel` maps a parameter, output or loop item operand
    /// to its input name and whether it is an integer (KFP wraps integers in `int(...)`).
    pub fn to_cel(&self, channel: &dyn Fn(&Operand) -> (String, bool)) -> String {
        let mut s = String::new();
        self.write_cel(&mut s, channel, false);
        s
    }

    fn write_cel(&self, s: &mut String, ch: &dyn Fn(&Operand) -> (String, bool), _nested: bool) {
        match self {
            Expr::Compare(l, op, r) => {
                write_operand(s, l, ch);
                let _ = write!(s, " {} ", op.symbol());
                write_operand(s, r, ch);
            }
            Expr::Truthy(o) => {
                write_operand(s, o, ch);
                s.push_str(" == true");
            }
            // KFP's own form for elif/else chains: `!(a) && !(b) && c`.
            Expr::And(a, b) => {
                a.write_cel_operand_of(s, ch, true);
                s.push_str(" && ");
                b.write_cel_operand_of(s, ch, true);
            }
            Expr::Or(a, b) => {
                a.write_cel_operand_of(s, ch, false);
                s.push_str(" || ");
                b.write_cel_operand_of(s, ch, false);
            }
            Expr::Not(a) => {
                s.push_str("!(");
                a.write_cel(s, ch, false);
                s.push(')');
            }
        }
    }

    /// Writes `self` as an operand of `&&` (`in_and`) or `||`, parenthesised where needed.
    fn write_cel_operand_of(
        &self,
        s: &mut String,
        ch: &dyn Fn(&Operand) -> (String, bool),
        in_and: bool,
    ) {
        let paren = match self {
            Expr::Or(..) => in_and,
            Expr::And(..) => !in_and,
            _ => false,
        };
        if paren {
            s.push('(');
        }
        self.write_cel(s, ch, false);
        if paren {
            s.push(')');
        }
    }
}

/// Reads back a KFP trigger condition (the CEL the KFP SDK and [`Expr::to_cel`] write).
/// `resolve` turns an input name (`pipelinechannel--…`) into the operand it carries. Errors give
/// the character offset; conditions nesting deeper than [`MAX_DEPTH`] are refused.
pub fn from_cel(
    cel: &str,
    resolve: &dyn Fn(&str) -> Option<Operand>,
) -> Result<Expr, ConditionError> {
    let mut p = CelParser {
        src: cel,
        pos: 0,
        resolve,
        nesting: 0,
    };
    let read = |p: &mut CelParser<'_>| {
        let (e, _) = p.or()?;
        p.ws();
        if p.pos != cel.len() {
            return p.err("unexpected text after the end of the condition");
        }
        Ok(e)
    };
    read(&mut p).map_err(|e| in_characters(cel, e))
}

struct CelParser<'a> {
    src: &'a str,
    /// Byte offset, always on a character boundary.
    pos: usize,
    resolve: &'a dyn Fn(&str) -> Option<Operand>,
    /// Parentheses, `!`s and casts open around the current position.
    nesting: usize,
}

impl CelParser<'_> {
    fn err<T>(&self, message: &str) -> Result<T, ConditionError> {
        Err(ConditionError {
            offset: self.pos,
            message: message.to_string(),
        })
    }

    /// The text not read yet.
    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    /// Enters a parenthesis, `!` or cast (before recursing into it).
    fn enter(&mut self) -> Result<(), ConditionError> {
        if self.nesting >= MAX_DEPTH {
            return Err(too_deep(self.pos));
        }
        self.nesting += 1;
        Ok(())
    }

    fn ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, t: &str) -> bool {
        self.ws();
        if self.rest().starts_with(t) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Sized, ConditionError> {
        let mut l = self.and()?;
        loop {
            self.ws();
            let at = self.pos;
            if !self.eat("||") {
                return Ok(l);
            }
            let r = self.and()?;
            l = join(l, r, Expr::Or, at)?;
        }
    }

    fn and(&mut self) -> Result<Sized, ConditionError> {
        let mut l = self.unary()?;
        loop {
            self.ws();
            let at = self.pos;
            if !self.eat("&&") {
                return Ok(l);
            }
            let r = self.unary()?;
            l = join(l, r, Expr::And, at)?;
        }
    }

    fn unary(&mut self) -> Result<Sized, ConditionError> {
        self.ws();
        let at = self.pos;
        if self.rest().starts_with("!=") {
            return self.err("unexpected !=");
        }
        if self.rest().starts_with('!') {
            self.enter()?;
            self.pos += 1;
            let inner = self.unary()?;
            self.nesting -= 1;
            return negate(inner, at);
        }
        if self.rest().starts_with('(') {
            self.enter()?;
            self.pos += 1;
            let e = self.or()?;
            if !self.eat(")") {
                return self.err("expected )");
            }
            self.nesting -= 1;
            return Ok(e);
        }
        let l = self.operand()?;
        for (sym, op) in [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ] {
            if self.eat(sym) {
                let r = self.operand()?;
                return Ok((Expr::Compare(l, op, r), 1));
            }
        }
        Ok((Expr::Truthy(l), 1))
    }

    fn string(&mut self) -> Result<String, ConditionError> {
        self.ws();
        let rest = self.rest();
        let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            return self.err("expected a string");
        };
        let mut out = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos += i + 1;
                return Ok(out);
            }
            if c == '\\' {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        self.err("unterminated string")
    }

    fn operand(&mut self) -> Result<Operand, ConditionError> {
        self.ws();
        for cast in ["int(", "double(", "string("] {
            if self.rest().starts_with(cast) {
                self.enter()?;
                self.pos += cast.len();
                let o = self.operand()?;
                if !self.eat(")") {
                    return self.err("expected )");
                }
                self.nesting -= 1;
                return Ok(o);
            }
        }
        if self.eat("inputs.parameter_values[") {
            let start = self.pos;
            let name = self.string()?;
            if !self.eat("]") {
                return self.err("expected ]");
            }
            return (self.resolve)(&name).ok_or(ConditionError {
                offset: start,
                message: format!(
                    "the condition reads {name:?}, which is not an input of its group"
                ),
            });
        }
        let rest = self.rest();
        if rest.starts_with('\'') || rest.starts_with('"') {
            return Ok(Operand::Str(self.string()?));
        }
        for (word, b) in [("true", true), ("false", false)] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Ok(Operand::Bool(b));
            }
        }
        let num = rest
            .get(..number_len(rest.as_bytes()))
            .unwrap_or("")
            .to_string();
        if !num.is_empty() && is_finite_number(&num) {
            self.pos += num.len();
            return Ok(Operand::Number(num));
        }
        self.err("expected a value or inputs.parameter_values['…']")
    }
}

/// A string's text inside single quotes, with `\\` and `'` escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

fn write_operand(s: &mut String, o: &Operand, ch: &dyn Fn(&Operand) -> (String, bool)) {
    match o {
        Operand::Parameter(_) | Operand::Output { .. } | Operand::LoopItem { .. } => {
            let (name, int) = ch(o);
            if int {
                let _ = write!(s, "int(inputs.parameter_values['{name}'])");
            } else {
                let _ = write!(s, "inputs.parameter_values['{name}']");
            }
        }
        Operand::Number(n) => s.push_str(n),
        Operand::Str(v) => {
            let _ = write!(s, "'{}'", escape(v));
        }
        Operand::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cel(src: &str) -> String {
        parse(src).unwrap().to_cel(&|o| match o {
            Operand::Parameter(p) => (format!("pipelinechannel--{p}"), p == "n"),
            Operand::Output { task, output } => {
                (format!("pipelinechannel--{task}-{output}"), false)
            }
            _ => unreachable!(),
        })
    }

    #[test]
    fn writes_cel_like_kfp() {
        for (src, want) in [
            (
                "get-training-job-details.eval_metric > eval_acc_threshold",
                "inputs.parameter_values['pipelinechannel--get-training-job-details-eval_metric'] > inputs.parameter_values['pipelinechannel--eval_acc_threshold']",
            ),
            ("flip-coin.Output == 'heads'", "inputs.parameter_values['pipelinechannel--flip-coin-Output'] == 'heads'"),
            ("n > 3", "int(inputs.parameter_values['pipelinechannel--n']) > 3"),
            ("fl < 0.7", "inputs.parameter_values['pipelinechannel--fl'] < 0.7"),
            ("f.Output == True", "inputs.parameter_values['pipelinechannel--f-Output'] == true"),
            ("x >= -1.5", "inputs.parameter_values['pipelinechannel--x'] >= -1.5"),
            (
                "a == 'x' and (b != \"y\" or not c)",
                "inputs.parameter_values['pipelinechannel--a'] == 'x' && (inputs.parameter_values['pipelinechannel--b'] != 'y' || !(inputs.parameter_values['pipelinechannel--c'] == true))",
            ),
            (
                "not t.o == 'heads' and not n > 3 and t.o != 'tails'",
                "!(inputs.parameter_values['pipelinechannel--t-o'] == 'heads') && !(int(inputs.parameter_values['pipelinechannel--n']) > 3) && inputs.parameter_values['pipelinechannel--t-o'] != 'tails'",
            ),
        ] {
            assert_eq!(cel(src), want, "{src}");
        }
    }

    #[test]
    fn reads_back_the_cel_it_writes_and_kfp_writes() {
        let resolve = |name: &str| {
            let rest = name.strip_prefix("pipelinechannel--")?;
            Some(match rest.split_once('-') {
                Some((task, output)) => Operand::Output {
                    task: task.to_string(),
                    output: output.to_string(),
                },
                None => Operand::Parameter(rest.to_string()),
            })
        };
        let channel = |o: &Operand| match o {
            Operand::Parameter(p) => (format!("pipelinechannel--{p}"), p == "n"),
            Operand::Output { task, output } => {
                (format!("pipelinechannel--{task}-{output}"), false)
            }
            _ => unreachable!(),
        };
        for cel in [
            "inputs.parameter_values['pipelinechannel--flip-Output'] == 'heads'",
            "!(inputs.parameter_values['pipelinechannel--flip-Output'] == 'heads') && int(inputs.parameter_values['pipelinechannel--n']) > 3",
            "!(inputs.parameter_values['pipelinechannel--f-Output'] == 'heads') && !(int(inputs.parameter_values['pipelinechannel--n']) > 3) && !(inputs.parameter_values['pipelinechannel--f-Output'] != 'tails')",
            "inputs.parameter_values['pipelinechannel--a-x'] == inputs.parameter_values['pipelinechannel--b-y']",
            "inputs.parameter_values['pipelinechannel--x'] >= -1.5 || inputs.parameter_values['pipelinechannel--y'] < 2e3",
            "inputs.parameter_values['pipelinechannel--f-Output'] == true",
        ] {
            let e = from_cel(cel, &resolve).unwrap_or_else(|e| panic!("{cel}: {e}"));
            assert_eq!(e.to_cel(&channel), cel);
        }
        let err = from_cel("inputs.parameter_values['nope'] > 1", &|_| None).unwrap_err();
        assert!(err.message.contains("\"nope\""), "{err}");
        assert!(from_cel("a ? b : c", &resolve).is_err());
    }

    #[test]
    fn prints_what_it_parses() {
        for src in [
            "t.o > p and q == 1",
            "a == 'it\\'s' or not (b and c)",
            "not x == 1 and (y or z)",
            "f.Output == true",
            "a-b.c >= -1.5",
            "item == 'a' or item['b c'] > 2",
            "item(g2) < item and item(for-loop-2)['it\\'s'] == true",
        ] {
            let e = parse(src).unwrap();
            assert_eq!(e.to_string(), src);
            assert_eq!(parse(&e.to_string()).unwrap(), e);
        }
    }

    #[test]
    fn reports_errors_with_position() {
        for (src, offset, msg) in [
            ("", 0, "empty"),
            ("a = 1", 2, "use =="),
            ("a >", 3, "expected a value"),
            ("a > 1 b", 6, "unexpected text"),
            ("'abc", 0, "unterminated"),
            ("(a > 1", 6, "expected )"),
            ("t. > 1", 3, "output name"),
            ("a # b", 2, "unexpected"),
            ("item( == 1", 6, "expected a loop"),
            ("item(g2 == 1", 8, "expected )"),
            ("item[1] == 1", 5, "field name in quotes"),
            ("item['a' == 1", 9, "expected ]"),
        ] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.offset, offset, "{src}: {e}");
            assert!(e.message.contains(msg), "{src}: {e}");
        }
    }

    #[test]
    fn refuses_nesting_deeper_than_the_limit() {
        let parens = |n: usize| format!("{}a > 1{}", "(".repeat(n), ")".repeat(n));
        let nots = |n: usize| format!("{}a", "not ".repeat(n));
        let chain = |n: usize| vec!["a"; n].join(" and ");
        // At the limit: fine.
        assert!(parse(&parens(MAX_DEPTH)).is_ok());
        assert!(parse(&nots(MAX_DEPTH - 1)).is_ok());
        assert!(parse(&chain(MAX_DEPTH)).is_ok());
        // Beyond it, however far: an error at the place it goes too deep.
        for (src, offset) in [
            (parens(MAX_DEPTH + 1), MAX_DEPTH),
            (parens(20_000), MAX_DEPTH),
            // The outermost `not` makes the tree too deep.
            (nots(MAX_DEPTH), 0),
            (nots(20_000), 4 * MAX_DEPTH),
            (chain(MAX_DEPTH + 1), 6 * MAX_DEPTH - 4),
            (chain(20_000), 6 * MAX_DEPTH - 4),
        ] {
            let e = parse(&src).unwrap_err();
            assert_eq!(e.offset, offset, "{e}");
            assert_eq!(
                e.message,
                format!("the condition nests deeper than {MAX_DEPTH} levels")
            );
        }
        // The CEL reader too, through parentheses, `!`, casts and chains.
        let resolve = |_: &str| Some(Operand::Parameter("p".into()));
        let x = "inputs.parameter_values['x'] == 1";
        for src in [
            format!("{}{x}{}", "(".repeat(20_000), ")".repeat(20_000)),
            format!("{}{x}{}", "!(".repeat(20_000), ")".repeat(20_000)),
            format!("{}1{} == 1", "int(".repeat(20_000), ")".repeat(20_000)),
            vec![x; 20_000].join(" || "),
        ] {
            let e = from_cel(&src, &resolve).unwrap_err();
            assert!(e.message.contains("nests deeper than"), "{e}");
        }
        let at_limit = vec![x; MAX_DEPTH].join(" && ");
        assert!(from_cel(&at_limit, &resolve).is_ok());
    }

    #[test]
    fn reads_any_unicode_without_splitting_characters() {
        // A no-break space and other multi-byte characters, in and around the syntax.
        let resolve = |_: &str| Some(Operand::Parameter("p".into()));
        let e = from_cel(
            "inputs.parameter_values['x']\u{a0}==\u{2003}'é'\u{a0}",
            &resolve,
        )
        .unwrap();
        assert_eq!(
            e,
            Expr::Compare(
                Operand::Parameter("p".into()),
                CmpOp::Eq,
                Operand::Str("é".into())
            )
        );
        for src in ["\u{a0}", "é", "'é", "1 == \u{a0}", "int(é", "!\u{1f600}"] {
            assert!(from_cel(src, &resolve).is_err(), "{src}");
        }
        // Offsets count characters, not bytes.
        let e = parse("'é' == 'ü' ü").unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (11, "unexpected 'ü'"));
        assert_eq!(e.to_string(), "unexpected 'ü' (at character 12)");
        let e = from_cel("'é' == 'ü' ü", &resolve).unwrap_err();
        assert_eq!(e.offset, 11);
        let src = "a == '\u{a0}é\\\\'";
        assert_eq!(parse(src).unwrap().to_string(), src);
    }

    #[test]
    fn numbers_are_finite_and_may_have_exponents() {
        assert_eq!(
            parse("a > -1.5e3").unwrap(),
            Expr::Compare(
                Operand::Parameter("a".into()),
                CmpOp::Gt,
                Operand::Number("-1.5e3".into())
            )
        );
        for src in ["a > 1e999", "a > -1e400", "a > 1.2.3"] {
            assert!(
                parse(src).unwrap_err().message.contains("is not a number"),
                "{src}"
            );
        }
        let resolve = |_: &str| Some(Operand::Parameter("p".into()));
        assert!(from_cel("inputs.parameter_values['x'] > 1e999", &resolve).is_err());
        assert!(from_cel("inputs.parameter_values['x'] > -2E+3", &resolve).is_ok());
    }

    #[test]
    fn reads_loop_items() {
        let item = |group: Option<&str>, field: Option<&str>| Operand::LoopItem {
            group: group.map(String::from),
            field: field.map(String::from),
        };
        let e = parse("item > 1 and item(g2)['a'] == item['b']").unwrap();
        assert_eq!(
            e.operands(),
            vec![
                &item(None, None),
                &Operand::Number("1".into()),
                &item(Some("g2"), Some("a")),
                &item(None, Some("b")),
            ]
        );
        // `item.x` stays a task output, so a task named `item` keeps working.
        assert_eq!(
            parse("item.x == 1").unwrap().operands()[0],
            &Operand::Output {
                task: "item".into(),
                output: "x".into()
            }
        );
        // Loop items are read through the inputs the compiler names for them.
        let channel = |o: &Operand| match o {
            Operand::LoopItem { field: None, .. } => {
                ("pipelinechannel--loop-item-param-1".into(), true)
            }
            Operand::LoopItem { field: Some(f), .. } => (
                format!("pipelinechannel--loop-item-param-1-subvar-{f}"),
                false,
            ),
            _ => unreachable!(),
        };
        let cel = parse("item > 1 and item['b'] == 'x'")
            .unwrap()
            .to_cel(&channel);
        assert_eq!(
            cel,
            "int(inputs.parameter_values['pipelinechannel--loop-item-param-1']) > 1 && inputs.parameter_values['pipelinechannel--loop-item-param-1-subvar-b'] == 'x'"
        );
    }

    #[test]
    fn lists_operands() {
        let e = parse("t.o > p and q == 1").unwrap();
        assert_eq!(
            e.operands(),
            vec![
                &Operand::Output {
                    task: "t".into(),
                    output: "o".into()
                },
                &Operand::Parameter("p".into()),
                &Operand::Parameter("q".into()),
                &Operand::Number("1".into()),
            ]
        );
    }
}
