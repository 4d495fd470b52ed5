//! The query language (`crate::query`) translated for the embedded store: each term of
//! the AST becomes a fixed fragment of SQL over the `documents` columns and SQLite's JSON
//! functions, and everything that came from the user (texts, numbers, member paths) is a
//! bound parameter. The statement text depends only on the query's shape, never on its
//! input. Each fragment is 0 or 1, never NULL, so `NOT` means "does not match", as in
//! `Query::matches`.

use crate::query::{Literal, MemberOp, Query, Test};
use rusqlite::types::Value as Sql;

/// A predicate: the SQL text and its parameters, numbered from the `first` given.
pub(crate) struct Predicate {
    pub sql: String,
    pub params: Vec<Sql>,
}

/// The condition `q` over a `documents` row, at time `now` (for `updated<…`); its
/// parameters are numbered `?first`, `?first+1`, ….
pub(crate) fn predicate(q: &Query, now: i64, first: usize) -> Predicate {
    let mut b = Builder {
        params: Vec::new(),
        first,
    };
    let parts: Vec<String> = q
        .terms
        .iter()
        .map(|t| {
            let cond = b.test(&t.test, now);
            if t.negated {
                format!("NOT ({cond})")
            } else {
                format!("({cond})")
            }
        })
        .collect();
    Predicate {
        sql: if parts.is_empty() {
            "1".to_string()
        } else {
            parts.join(" AND ")
        },
        params: b.params,
    }
}

struct Builder {
    params: Vec<Sql>,
    first: usize,
}

impl Builder {
    /// Binds a parameter; returns its placeholder.
    fn bind(&mut self, v: Sql) -> String {
        self.params.push(v);
        format!("?{}", self.first + self.params.len() - 1)
    }

    fn test(&mut self, test: &Test, now: i64) -> String {
        match test {
            Test::Key(s) => format!("instr(lower(key), {}) > 0", self.bind(text(s))),
            Test::By(s) => format!("instr(lower(updated_by), {}) > 0", self.bind(text(s))),
            Test::Size(c, n) => format!(
                "size_bytes {} {}",
                c.symbol(),
                self.bind(Sql::Integer(i64::try_from(*n).unwrap_or(i64::MAX)))
            ),
            Test::Age(c, ms) => {
                let now = self.bind(Sql::Integer(now));
                format!(
                    "({now} - updated_at) {} {}",
                    c.symbol(),
                    self.bind(Sql::Integer(*ms))
                )
            }
            Test::Member(path, op) => {
                let p = self.bind(text(&path.json_path()));
                let ty = format!("json_type(value, {p})");
                let val = format!("json_extract(value, {p})");
                match op {
                    MemberOp::Exists => format!("{ty} IS NOT NULL"),
                    MemberOp::Eq(Literal::Null) => format!("{ty} IS 'null'"),
                    MemberOp::Eq(Literal::Bool(b)) => {
                        format!("{ty} IS {}", if *b { "'true'" } else { "'false'" })
                    }
                    MemberOp::Eq(lit) => self.compare(&ty, &val, "=", lit),
                    MemberOp::Ord(c, lit) => self.compare(&ty, &val, c.symbol(), lit),
                    MemberOp::Contains(s) => {
                        let needle = self.bind(text(s));
                        // A string, or an array holding a string (or number) containing it.
                        // (`documents.value`: inside json_each, `value` is its own column.)
                        format!(
                            "coalesce({ty} IN ('text', 'integer', 'real', 'array') AND EXISTS (
                                SELECT 1 FROM json_each(documents.value, {p}) AS e
                                WHERE e.type IN ('text', 'integer', 'real')
                                  AND instr(lower(e.value), {needle}) > 0), 0)"
                        )
                    }
                }
            }
        }
    }

    /// A member of the literal's type compared with it; other types never match.
    fn compare(&mut self, ty: &str, val: &str, op: &str, lit: &Literal) -> String {
        let (types, bound) = match lit {
            Literal::String(s) => ("('text')", text(s)),
            Literal::Number(n) => (
                "('integer', 'real')",
                match n.as_i64() {
                    Some(i) => Sql::Integer(i),
                    None => Sql::Real(n.as_f64().unwrap_or(f64::NAN)),
                },
            ),
            // Only `=` reaches here for these, and `test` answered it.
            Literal::Null | Literal::Bool(_) => return "0".into(),
        };
        let v = self.bind(bound);
        format!("coalesce({ty} IN {types} AND {val} {op} {v}, 0)")
    }
}

fn text(s: &str) -> Sql {
    Sql::Text(s.to_string())
}
