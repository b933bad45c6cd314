//! Eligibility rules: a tiny boolean expression language over scores, session facts and host
//! context, parsed once when the config loads (so a typo is a config error, not a silent
//! `false` at decision time) and evaluated without allocation.
//!
//! ```text
//! rule    := or
//! or      := and ("||" and)*
//! and     := unary ("&&" unary)*
//! unary   := "!" unary | "(" or ")" | "true" | "false" | operand cmp operand
//! cmp     := "<" | "<=" | ">" | ">=" | "==" | "!="
//! operand := number | 'text' | "text" | score | fact | event_count(kind) | ctx.key
//! fact    := cart_value | cart_items | session_age_s | events
//! ```
//!
//! `score` is any model's score name (`purchase`, `churn`, ...). `cart_value` = add-to-cart minus
//! remove-from-cart prices, `cart_items` the same in items, `events` = events in the window,
//! `event_count(product_view)` = events of that kind in the window. `ctx.device` reads the
//! host context. Text compares only with `==`/`!=`. A comparison with a missing value (no such
//! context key, a score whose model failed) is false.

use crate::event::{EventKind, Session};
use crate::features::{Context, ContextValue};

/// Longest accepted rule, in bytes.
pub const MAX_RULE_LEN: usize = 1024;
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Bool(bool),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Num(f64),
    Text(String),
    /// Index into the engine's score list.
    Score(usize),
    CartValue,
    CartItems,
    SessionAge,
    Events,
    EventCount(EventKind),
    Ctx(String),
}

/// What a rule can see when it is evaluated.
pub struct Env<'a> {
    /// Scores by index; `None` when the model could not score.
    pub scores: &'a [Option<f32>],
    pub session: &'a Session,
    pub ctx: &'a Context,
    pub now_ms: f64,
}

enum Val<'a> {
    Num(f64),
    Text(&'a str),
    Missing,
}

impl Operand {
    fn eval<'a>(&'a self, env: &'a Env<'_>) -> Val<'a> {
        match self {
            Operand::Num(x) => Val::Num(*x),
            Operand::Text(s) => Val::Text(s),
            Operand::Score(i) => match env.scores.get(*i) {
                Some(Some(p)) => Val::Num(f64::from(*p)),
                _ => Val::Missing,
            },
            Operand::CartValue => Val::Num(env.session.cart_value()),
            Operand::CartItems => Val::Num(env.session.cart_items()),
            Operand::SessionAge => Val::Num(env.session.age_s(env.now_ms)),
            Operand::Events => Val::Num(env.session.len() as f64),
            Operand::EventCount(k) => Val::Num(f64::from(env.session.count(*k))),
            Operand::Ctx(key) => match env.ctx.get(key) {
                Some(ContextValue::Number(x)) => Val::Num(*x),
                Some(ContextValue::Text(s)) => Val::Text(s),
                None => Val::Missing,
            },
        }
    }

    fn is_text_literal(&self) -> bool {
        matches!(self, Operand::Text(_))
    }
    fn is_numeric(&self) -> bool {
        !matches!(self, Operand::Text(_) | Operand::Ctx(_))
    }
}

impl Expr {
    pub fn eval(&self, env: &Env<'_>) -> bool {
        match self {
            Expr::Bool(b) => *b,
            Expr::Not(e) => !e.eval(env),
            Expr::And(a, b) => a.eval(env) && b.eval(env),
            Expr::Or(a, b) => a.eval(env) || b.eval(env),
            Expr::Cmp(l, op, r) => match (l.eval(env), r.eval(env)) {
                (Val::Num(a), Val::Num(b)) => match op {
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                    CmpOp::Gt => a > b,
                    CmpOp::Ge => a >= b,
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                },
                (Val::Text(a), Val::Text(b)) => match op {
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                    _ => false,
                },
                _ => false,
            },
        }
    }

    /// Parses `src`; `scores` are the score names rules may use.
    pub fn parse(src: &str, scores: &[String]) -> Result<Expr, String> {
        if src.len() > MAX_RULE_LEN {
            return Err(format!(
                "the rule is {} bytes; at most {MAX_RULE_LEN}",
                src.len()
            ));
        }
        let tokens = tokenize(src)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            scores,
            depth: 0,
        };
        let e = p.or()?;
        match p.tokens.get(p.pos) {
            None => Ok(e),
            Some(t) => Err(format!("unexpected {} after a complete rule", t.describe())),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Text(String),
    Ident(String),
    Op(CmpOp),
    And,
    Or,
    Not,
    LParen,
    RParen,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Num(x) => format!("number {x}"),
            Tok::Text(s) => format!("text {s:?}"),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Op(_) => "a comparison".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::Not => "`!`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
        }
    }
}

fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let two = b.get(i + 1).copied();
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push(Tok::LParen);
                i += 1
            }
            b')' => {
                out.push(Tok::RParen);
                i += 1
            }
            b'&' if two == Some(b'&') => {
                out.push(Tok::And);
                i += 2
            }
            b'|' if two == Some(b'|') => {
                out.push(Tok::Or);
                i += 2
            }
            b'!' if two == Some(b'=') => {
                out.push(Tok::Op(CmpOp::Ne));
                i += 2
            }
            b'!' => {
                out.push(Tok::Not);
                i += 1
            }
            b'=' if two == Some(b'=') => {
                out.push(Tok::Op(CmpOp::Eq));
                i += 2
            }
            b'<' | b'>' => {
                let eq = two == Some(b'=');
                out.push(Tok::Op(match (c, eq) {
                    (b'<', false) => CmpOp::Lt,
                    (b'<', true) => CmpOp::Le,
                    (_, false) => CmpOp::Gt,
                    (_, true) => CmpOp::Ge,
                }));
                i += if eq { 2 } else { 1 }
            }
            b'\'' | b'"' => {
                let start = i + 1;
                let len = b
                    .get(start..)
                    .and_then(|rest| rest.iter().position(|&x| x == c));
                let end = start + len.ok_or("a text literal is not closed")?;
                out.push(Tok::Text(
                    src.get(start..end).ok_or("bad text literal")?.to_owned(),
                ));
                i = end + 1
            }
            b'0'..=b'9' | b'.' | b'-' => {
                let start = i;
                i += 1;
                while matches!(b.get(i), Some(b'0'..=b'9' | b'.' | b'e' | b'E')) {
                    i += 1
                }
                let s = src.get(start..i).unwrap_or("");
                let x: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
                if !x.is_finite() {
                    return Err(format!("{s:?} is not a finite number"));
                }
                out.push(Tok::Num(x))
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while matches!(b.get(i), Some(x) if x.is_ascii_alphanumeric() || *x == b'_' || *x == b'.')
                {
                    i += 1
                }
                out.push(Tok::Ident(src.get(start..i).unwrap_or("").to_owned()))
            }
            _ => {
                let ch = src.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
                return Err(format!(
                    "unexpected character {ch:?} (use && || ! ( ) < <= > >= == !=)"
                ));
            }
        }
        if out.len() > 256 {
            return Err("the rule has more than 256 tokens".into());
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Tok>,
    pos: usize,
    scores: &'a [String],
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("the rule nests deeper than {MAX_DEPTH}"));
        }
        let e = match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                Expr::Not(Box::new(self.unary()?))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => e,
                    _ => return Err("a `(` is not closed".into()),
                }
            }
            Some(Tok::Ident(s)) if s == "true" || s == "false" => {
                let b = s == "true";
                self.pos += 1;
                Expr::Bool(b)
            }
            _ => {
                let l = self.operand()?;
                let op = match self.next() {
                    Some(Tok::Op(op)) => op,
                    Some(t) => {
                        return Err(format!("expected a comparison, found {}", t.describe()))
                    }
                    None => return Err("expected a comparison, found the end of the rule".into()),
                };
                let r = self.operand()?;
                if (l.is_text_literal() && r.is_numeric())
                    || (r.is_text_literal() && l.is_numeric())
                {
                    return Err("a number is compared with text".into());
                }
                let text = l.is_text_literal() || r.is_text_literal();
                if text && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    return Err("text can only be compared with == or !=".into());
                }
                Expr::Cmp(l, op, r)
            }
        };
        self.depth -= 1;
        Ok(e)
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.next() {
            Some(Tok::Num(x)) => Ok(Operand::Num(x)),
            Some(Tok::Text(s)) => Ok(Operand::Text(s)),
            Some(Tok::Ident(name)) => {
                if let Some(key) = name.strip_prefix("ctx.") {
                    if key.is_empty() || key.contains('.') {
                        return Err(format!("`{name}` is not a context key (write ctx.device)"));
                    }
                    return Ok(Operand::Ctx(key.to_owned()));
                }
                if name == "event_count" {
                    let kind =
                        match (self.next(), self.next(), self.next()) {
                            (Some(Tok::LParen), Some(Tok::Ident(k)), Some(Tok::RParen)) => k,
                            _ => return Err(
                                "write event_count(<event kind>), e.g. event_count(product_view)"
                                    .into(),
                            ),
                        };
                    return EventKind::parse(&kind)
                        .map(Operand::EventCount)
                        .ok_or_else(|| format!("event_count({kind}): unknown event kind"));
                }
                if let Some(i) = self.scores.iter().position(|s| *s == name) {
                    return Ok(Operand::Score(i));
                }
                match name.as_str() {
                    "cart_value" => Ok(Operand::CartValue),
                    "cart_items" => Ok(Operand::CartItems),
                    "session_age_s" => Ok(Operand::SessionAge),
                    "events" => Ok(Operand::Events),
                    _ => Err(format!(
                        "unknown name `{name}`; use a score ({}), cart_value, cart_items, session_age_s, events, event_count(kind) or ctx.<key>",
                        if self.scores.is_empty() { "no models loaded".to_owned() } else { self.scores.join(", ") }
                    )),
                }
            }
            Some(t) => Err(format!("expected a value, found {}", t.describe())),
            None => Err("the rule ends where a value was expected".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventInput, SessionLimits};

    const T0: f64 = 1_700_000_000_000.0;

    fn eval(rule: &str, scores: &[Option<f32>], session: &Session, ctx: &Context) -> bool {
        let names = vec!["purchase".to_owned(), "churn".to_owned()];
        let e = Expr::parse(rule, &names).unwrap_or_else(|m| panic!("{rule}: {m}"));
        e.eval(&Env {
            scores,
            session,
            ctx,
            now_ms: T0 + 60_000.0,
        })
    }

    #[test]
    fn evaluates_scores_facts_and_context() {
        let mut s = Session::new(SessionLimits::default(), T0);
        for p in [30.0, 40.0] {
            s.push(&EventInput::new("add_to_cart", T0).price(p), T0)
                .unwrap();
        }
        s.push(&EventInput::new("product_view", T0), T0).unwrap();
        let mut ctx = Context::new();
        ctx.insert("device".into(), ContextValue::Text("mobile".into()));
        let sc = [Some(0.45), None];
        assert!(eval("purchase >= 0.4 && cart_value > 50", &sc, &s, &ctx));
        assert!(!eval("purchase >= 0.5 || cart_items > 2", &sc, &s, &ctx));
        assert!(eval(
            "event_count(product_view) >= 1 && !(events < 3)",
            &sc,
            &s,
            &ctx
        ));
        assert!(eval(
            "ctx.device == 'mobile' && session_age_s >= 60",
            &sc,
            &s,
            &ctx
        ));
        assert!(
            !eval("ctx.country == \"FR\"", &sc, &s, &ctx),
            "missing key is false"
        );
        assert!(
            !eval("churn < 0.5", &sc, &s, &ctx),
            "missing score is false"
        );
        assert!(
            !eval("churn >= 0.5", &sc, &s, &ctx),
            "missing score is false"
        );
        assert!(eval("true", &sc, &s, &ctx));
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let names = vec!["purchase".to_owned()];
        for (rule, want) in [
            ("purchse > 0.4", "unknown name `purchse`"),
            ("purchase >", "ends where a value"),
            ("purchase > 'x'", "compared with text"),
            ("(purchase > 1", "not closed"),
            ("event_count(teleport) > 1", "unknown event kind"),
            ("ctx.device < 'a'", "only be compared with =="),
            ("purchase > 1 purchase", "unexpected"),
            ("a ; b", "unexpected character"),
        ] {
            let err = Expr::parse(rule, &names).unwrap_err();
            assert!(err.contains(want), "{rule}: {err}");
        }
        let deep = format!("{}true{}", "(".repeat(100), ")".repeat(100));
        assert!(Expr::parse(&deep, &names).unwrap_err().contains("deeper"));
        assert!(Expr::parse(&"!".repeat(2000), &names).is_err());
    }
}
