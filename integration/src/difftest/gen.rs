//! Random tables and histories.
//!
//! A history is a list of transactions over one table name (`t`, and `r` while it is renamed).
//! Statements carry the table name as a placeholder ([`T`], [`R`]) that the runner replaces with
//! the source's name or the twin's current epoch table. The key columns (or, without a key, the
//! "probe" columns used in WHERE clauses) keep their names and types for the whole history, so a
//! question generated at any instant is valid at every other; other columns come and go with DDL.

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use serde_json::json;

use super::dims::{Dims, KeyKind, TypeClass};
use super::types::{random_key_type, random_literal, random_type, IntW, Ty};

/// Placeholder of the table's own name in statements.
pub const T: &str = "⟪t⟫";
/// Placeholder of the name the table is renamed to (and back from).
pub const R: &str = "⟪r⟫";

/// A column of a generated table.
#[derive(Debug, Clone)]
pub struct Column {
    /// `c<n>`, unique within the history.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// NULL allowed.
    pub nullable: bool,
    /// `AS (<expr>) VIRTUAL|STORED` for a generated column.
    pub generated: Option<String>,
}

impl Column {
    /// The column definition in CREATE/ALTER TABLE.
    pub fn sql(&self) -> String {
        let mut s = format!("`{}` {}", self.name, self.ty.sql());
        if let Some(g) = &self.generated {
            s.push(' ');
            s.push_str(g);
            return s;
        }
        s.push_str(if self.nullable { " NULL" } else { " NOT NULL" });
        if matches!(self.ty, Ty::Timestamp(_)) {
            // No implicit DEFAULT CURRENT_TIMESTAMP ON UPDATE … (explicit_defaults_for_timestamp
            // may be off): the history sets every value itself.
            s.push_str(if self.nullable {
                " DEFAULT NULL"
            } else {
                " DEFAULT '2000-01-01 00:00:00'"
            });
        }
        s
    }
}

/// The identity of rows: key columns (by name, fixed for the history) and their value domain.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// The key kind.
    pub kind: KeyKind,
    /// Key columns in key order; for [`KeyKind::None`] the columns WHERE clauses use.
    pub columns: Vec<Column>,
    /// Literal tuples the history draws key values from (small, so keys collide).
    pub domain: Vec<Vec<String>>,
}

impl KeySpec {
    /// Column names, comma-separated.
    pub fn names(&self) -> String {
        self.columns
            .iter()
            .map(|c| format!("`{}`", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `(a, b)` or `a` for one column.
    fn tuple_expr(&self) -> String {
        if self.columns.len() == 1 {
            self.names()
        } else {
            format!("({})", self.names())
        }
    }

    /// A literal tuple in the form [`Self::tuple_expr`] compares with.
    pub fn tuple_literal(&self, t: &[String]) -> String {
        if t.len() == 1 {
            t[0].clone()
        } else {
            format!("({})", t.join(", "))
        }
    }

    /// `key IN (…)` over the given domain tuples.
    pub fn in_predicate(&self, tuples: &[&Vec<String>]) -> String {
        let list: Vec<String> = tuples.iter().map(|t| self.tuple_literal(t)).collect();
        format!("{} IN ({})", self.tuple_expr(), list.join(", "))
    }
}

/// The table at one point of the generation: columns in table order.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// Every column, key columns included, in table order.
    pub columns: Vec<Column>,
}

/// How a transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// BEGIN … COMMIT.
    Commit,
    /// BEGIN … ROLLBACK.
    Rollback,
    /// One DDL statement (implicit commit); the twin starts a new epoch after it.
    Ddl,
}

/// One transaction (one commit second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx {
    /// How it ends.
    pub kind: TxKind,
    /// Its statements, table names as [`T`]/[`R`].
    pub statements: Vec<String>,
}

/// A generated history: transactions, the key spec questions use, and what generated it.
#[derive(Debug, Clone)]
pub struct History {
    /// The first is the CREATE TABLE.
    pub txs: Vec<Tx>,
    /// Key columns and domain.
    pub key: KeySpec,
    /// One line describing the table (printed with the run).
    pub summary: String,
}

impl History {
    /// The history as JSON (repro files).
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "summary": self.summary,
            "key_kind": self.key.kind.name(),
            "key_columns": self.key.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            "key_domain": self.key.domain,
            "txs": self.txs.iter().map(Tx::to_json).collect::<Vec<_>>(),
        })
    }
}

impl TxKind {
    /// `commit`, `rollback` or `ddl`.
    pub fn name(self) -> &'static str {
        match self {
            TxKind::Commit => "commit",
            TxKind::Rollback => "rollback",
            TxKind::Ddl => "ddl",
        }
    }
}

impl Tx {
    /// `{"kind": …, "statements": […]}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({"kind": self.kind.name(), "statements": self.statements})
    }

    /// The inverse of [`Tx::to_json`].
    pub fn from_json(v: &serde_json::Value) -> anyhow::Result<Self> {
        let kind = match v["kind"].as_str() {
            Some("commit") => TxKind::Commit,
            Some("rollback") => TxKind::Rollback,
            Some("ddl") => TxKind::Ddl,
            k => anyhow::bail!("unknown transaction kind {k:?}"),
        };
        let statements = v["statements"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("statements is not an array"))?
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| anyhow::anyhow!("a statement is not a string"))?;
        Ok(Tx { kind, statements })
    }
}

/// Generates a history from `rng` under `dims`, with about `len` transactions.
pub fn history(rng: &mut StdRng, dims: &Dims, len: usize) -> History {
    let types: Vec<TypeClass> = dims
        .types
        .iter()
        .copied()
        .filter(|t| *t != TypeClass::Generated)
        .collect();
    let charsets: Vec<_> = dims.column_charsets.iter().copied().collect();
    let kinds: Vec<KeyKind> = dims.keys.iter().copied().collect();
    let kind = *kinds.choose(rng).unwrap_or(&KeyKind::Single);
    let n_key = match kind {
        KeyKind::Single => 1,
        KeyKind::Composite => rng.random_range(2..=3),
        KeyKind::UniqueOnly | KeyKind::None => rng.random_range(1..=2),
    };
    let mut next_col = 0usize;
    let mut fresh = |rng: &mut StdRng, ty: Ty, nullable: bool| {
        let _ = rng;
        next_col += 1;
        Column {
            name: format!("c{}", next_col - 1),
            ty,
            nullable,
            generated: None,
        }
    };
    let key_types: Vec<TypeClass> = dims.key_types.iter().copied().collect();
    let key_cols: Vec<Column> = (0..n_key)
        .map(|_| {
            let ty = random_key_type(rng, &key_types, &charsets);
            let nullable = kind == KeyKind::UniqueOnly && rng.random_bool(0.4);
            fresh(rng, ty, nullable)
        })
        .collect();
    let domain_size = rng.random_range(4..=9);
    let mut domain: Vec<Vec<String>> = Vec::new();
    for _ in 0..domain_size * 3 {
        if domain.len() >= domain_size {
            break;
        }
        let t: Vec<String> = key_cols
            .iter()
            .map(|c| {
                if c.nullable && rng.random_bool(0.1) {
                    "NULL".to_owned()
                } else {
                    random_literal(rng, &c.ty)
                }
            })
            .collect();
        if !domain.contains(&t) {
            domain.push(t);
        }
    }
    let key = KeySpec {
        kind,
        columns: key_cols.clone(),
        domain,
    };
    let mut g = Gen {
        dims,
        types: if types.is_empty() {
            vec![TypeClass::Int]
        } else {
            types
        },
        charsets: if charsets.is_empty() {
            vec![super::dims::ColumnCharset::Utf8mb4]
        } else {
            charsets
        },
        key,
        next_col: 0,
        name: Some(T),
        table: TableDef {
            columns: Vec::new(),
        },
        dropped: false,
    };
    g.next_col = next_col;
    g.table = g.random_table(rng);
    let summary = format!(
        "key {} ({}); {}",
        kind,
        g.key.names(),
        g.table
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.ty.sql()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut txs = vec![Tx {
        kind: TxKind::Ddl,
        statements: vec![g.create_sql(T)],
    }];
    let mut big_done = !dims.big_transactions || !rng.random_bool(0.25);
    while txs.len() < len {
        if g.dropped {
            // DROP TABLE was the last transaction: re-create the name, new columns.
            g.table = g.random_table(rng);
            g.dropped = false;
            g.name = Some(T);
            txs.push(Tx {
                kind: TxKind::Ddl,
                statements: vec![g.create_sql(T)],
            });
            continue;
        }
        let roll = rng.random_range(0..100);
        if roll < 12 && !dims.ddl.is_empty() {
            if let Some(tx) = g.ddl(rng) {
                txs.push(tx);
            }
        } else if !big_done && roll < 20 {
            big_done = true;
            txs.extend(g.big(rng));
        } else {
            let n = rng.random_range(1..=4);
            let statements = (0..n).map(|_| g.dml(rng)).collect();
            let kind = if rng.random_bool(0.08) {
                TxKind::Rollback
            } else {
                TxKind::Commit
            };
            txs.push(Tx { kind, statements });
        }
    }
    History {
        txs,
        key: g.key,
        summary,
    }
}

struct Gen<'a> {
    dims: &'a Dims,
    types: Vec<TypeClass>,
    charsets: Vec<super::dims::ColumnCharset>,
    key: KeySpec,
    next_col: usize,
    /// The placeholder the table currently goes by.
    name: Option<&'static str>,
    table: TableDef,
    dropped: bool,
}

impl Gen<'_> {
    fn fresh_name(&mut self) -> String {
        self.next_col += 1;
        format!("c{}", self.next_col - 1)
    }

    fn random_column(&mut self, rng: &mut StdRng) -> Column {
        let class = *self.types.choose(rng).expect("non-empty");
        let ty = random_type(rng, class, &self.charsets);
        Column {
            name: self.fresh_name(),
            ty,
            nullable: rng.random_bool(0.7),
            generated: None,
        }
    }

    /// Key columns plus 1–6 random columns (and maybe a generated one), shuffled.
    fn random_table(&mut self, rng_seed: &mut StdRng) -> TableDef {
        let rng = rng_seed;
        let mut columns = self.key.columns.clone();
        for _ in 0..rng.random_range(1..=6) {
            let c = self.random_column(rng);
            columns.push(c);
        }
        if self.dims.types.contains(&TypeClass::Generated) {
            let base = columns
                .iter()
                .find(|c| c.ty.is_int() && c.generated.is_none())
                .map(|c| c.name.clone());
            if let Some(base) = base {
                let stored = if rng.random_bool(0.5) {
                    "STORED"
                } else {
                    "VIRTUAL"
                };
                let (ty, expr) = if rng.random_bool(0.5) {
                    (
                        Ty::Int(IntW::Big, false),
                        format!("AS (`{base}` DIV 2) {stored}"),
                    )
                } else {
                    (
                        Ty::VarChar(
                            40,
                            super::types::Cs {
                                charset: super::dims::ColumnCharset::Utf8mb4,
                                bin: false,
                            },
                        ),
                        format!("AS (CONCAT('g', `{base}`)) {stored}"),
                    )
                };
                let name = self.fresh_name();
                columns.push(Column {
                    name,
                    ty,
                    nullable: true,
                    generated: Some(expr),
                });
            }
        }
        columns.shuffle(rng);
        TableDef { columns }
    }

    fn create_sql(&self, name: &str) -> String {
        let mut parts: Vec<String> = self.table.columns.iter().map(Column::sql).collect();
        match self.key.kind {
            KeyKind::Single | KeyKind::Composite => {
                parts.push(format!("PRIMARY KEY ({})", self.key.names()))
            }
            KeyKind::UniqueOnly => parts.push(format!("UNIQUE KEY uk ({})", self.key.names())),
            KeyKind::None => {}
        }
        format!(
            "CREATE TABLE {name} ({}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            parts.join(", ")
        )
    }

    fn tname(&self) -> &'static str {
        self.name.unwrap_or(T)
    }

    fn is_key(&self, c: &Column) -> bool {
        self.key.columns.iter().any(|k| k.name == c.name)
    }

    /// Writable non-key columns.
    fn value_columns(&self) -> Vec<Column> {
        self.table
            .columns
            .iter()
            .filter(|c| c.generated.is_none() && !self.is_key(c))
            .cloned()
            .collect()
    }

    fn value(&self, rng: &mut StdRng, c: &Column) -> String {
        if c.nullable && rng.random_bool(0.15) {
            "NULL".to_owned()
        } else {
            random_literal(rng, &c.ty)
        }
    }

    fn key_filter(&self, rng: &mut StdRng) -> String {
        let n = rng.random_range(1..=3.min(self.key.domain.len()));
        let picked: Vec<&Vec<String>> = self.key.domain.choose_multiple(rng, n).collect();
        self.key.in_predicate(&picked)
    }

    fn order_by(&self) -> String {
        let cols: Vec<String> = self
            .table
            .columns
            .iter()
            .filter(|c| self.is_key(c))
            .chain(
                self.table
                    .columns
                    .iter()
                    .filter(|c| !self.is_key(c) && !matches!(c.ty, Ty::Geometry | Ty::Point)),
            )
            .map(|c| format!("`{}`", c.name))
            .collect();
        cols.join(", ")
    }

    fn dml(&self, rng: &mut StdRng) -> String {
        let t = self.tname();
        let writable: Vec<Column> = self
            .table
            .columns
            .iter()
            .filter(|c| c.generated.is_none())
            .cloned()
            .collect();
        let values = self.value_columns();
        let set = |rng: &mut StdRng| -> Option<String> {
            if values.is_empty() {
                return None;
            }
            let n = rng.random_range(1..=values.len().min(3));
            let cols: Vec<&Column> = values.choose_multiple(rng, n).collect();
            Some(
                cols.iter()
                    .map(|c| format!("`{}` = {}", c.name, self.value(rng, c)))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        match rng.random_range(0..100) {
            0..=39 => {
                let rows = rng.random_range(1..=4);
                let names: Vec<String> = writable.iter().map(|c| format!("`{}`", c.name)).collect();
                let tuples: Vec<String> = (0..rows)
                    .map(|_| {
                        let key = self.key.domain.choose(rng).expect("domain");
                        let vals: Vec<String> = writable
                            .iter()
                            .map(
                                |c| match self.key.columns.iter().position(|k| k.name == c.name) {
                                    Some(i) => key[i].clone(),
                                    None => self.value(rng, c),
                                },
                            )
                            .collect();
                        format!("({})", vals.join(", "))
                    })
                    .collect();
                let head = match rng.random_range(0..4) {
                    0 => "INSERT",
                    1 => "INSERT IGNORE",
                    2 => "REPLACE",
                    _ => "ODKU",
                };
                let body = format!(
                    "INTO {t} ({}) VALUES {}",
                    names.join(", "),
                    tuples.join(", ")
                );
                if head == "ODKU" {
                    let upd = match values.choose(rng) {
                        Some(c) if rng.random_bool(0.7) => {
                            format!("`{0}` = VALUES(`{0}`)", c.name)
                        }
                        Some(c) => format!("`{}` = {}", c.name, self.value(rng, c)),
                        None => {
                            let k = &self.key.columns[0].name;
                            format!("`{k}` = `{k}`")
                        }
                    };
                    format!("INSERT {body} ON DUPLICATE KEY UPDATE {upd}")
                } else {
                    format!("{head} {body}")
                }
            }
            40..=59 => match set(rng) {
                Some(s) => format!("UPDATE {t} SET {s} WHERE {}", self.key_filter(rng)),
                None => format!("DELETE FROM {t} WHERE {}", self.key_filter(rng)),
            },
            60..=69 => {
                // A key-changing update (may collide: then it fails on both sides).
                let k = self.key.columns.choose(rng).expect("key column");
                let i = self
                    .key
                    .columns
                    .iter()
                    .position(|c| c.name == k.name)
                    .expect("key column");
                let to = &self.key.domain.choose(rng).expect("domain")[i];
                format!(
                    "UPDATE IGNORE {t} SET `{}` = {to} WHERE {}",
                    k.name,
                    self.key_filter(rng)
                )
            }
            70..=77 => match set(rng) {
                Some(s) => format!(
                    "UPDATE {t} SET {s} ORDER BY {} LIMIT {}",
                    self.order_by(),
                    rng.random_range(1..=3)
                ),
                None => format!("DELETE FROM {t} ORDER BY {} LIMIT 1", self.order_by()),
            },
            78..=89 => format!("DELETE FROM {t} WHERE {}", self.key_filter(rng)),
            90..=94 => format!(
                "DELETE FROM {t} ORDER BY {} LIMIT {}",
                self.order_by(),
                rng.random_range(1..=2)
            ),
            _ => match set(rng) {
                Some(s) => format!("UPDATE {t} SET {s}"),
                None => format!("DELETE FROM {t} WHERE {}", self.key_filter(rng)),
            },
        }
    }

    /// More than 10,000 row changes in one transaction, then their removal in another.
    fn big(&self, rng: &mut StdRng) -> Vec<Tx> {
        let t = self.tname();
        let Some(k) = self.key.columns.iter().find(|c| {
            matches!(
                c.ty,
                Ty::Int(IntW::Int, _) | Ty::Int(IntW::Big, _) | Ty::Int(IntW::Medium, _)
            )
        }) else {
            return Vec::new();
        };
        let writable: Vec<Column> = self
            .table
            .columns
            .iter()
            .filter(|c| c.generated.is_none())
            .cloned()
            .collect();
        let names: Vec<String> = writable.iter().map(|c| format!("`{}`", c.name)).collect();
        let exprs: Vec<String> = writable
            .iter()
            .map(|c| {
                if c.name == k.name {
                    "seq + 100000".to_owned()
                } else if let Some(i) = self.key.columns.iter().position(|x| x.name == c.name) {
                    self.key.domain[0][i].clone()
                } else {
                    self.value(rng, c)
                }
            })
            .collect();
        vec![
            Tx {
                kind: TxKind::Commit,
                statements: vec![format!(
                    "INSERT INTO {t} ({}) SELECT {} FROM seq_1_to_10500",
                    names.join(", "),
                    exprs.join(", ")
                )],
            },
            Tx {
                kind: TxKind::Commit,
                statements: vec![format!("DELETE FROM {t} WHERE `{}` > 100000", k.name)],
            },
        ]
    }

    fn ddl(&mut self, rng: &mut StdRng) -> Option<Tx> {
        let kinds: Vec<_> = self.dims.ddl.iter().copied().collect();
        let t = self.tname();
        use super::dims::DdlKind as D;
        let kind = *kinds.choose(rng)?;
        let referenced = |c: &Column, table: &TableDef| {
            table
                .columns
                .iter()
                .filter_map(|g| g.generated.as_deref())
                .any(|g| g.contains(&format!("`{}`", c.name)))
        };
        let stmt = match kind {
            D::AddColumn => {
                let c = self.random_column(rng);
                let c = Column {
                    nullable: true,
                    ..c
                };
                let pos = match self.table.columns.choose(rng) {
                    Some(after) if rng.random_bool(0.5) => format!(" AFTER `{}`", after.name),
                    _ if rng.random_bool(0.3) => " FIRST".to_owned(),
                    _ => String::new(),
                };
                let sql = format!("ALTER TABLE {t} ADD COLUMN {}{pos}", c.sql());
                let at = match pos.as_str() {
                    "" => self.table.columns.len(),
                    " FIRST" => 0,
                    p => {
                        let name = p.trim_start_matches(" AFTER `").trim_end_matches('`');
                        self.table
                            .columns
                            .iter()
                            .position(|x| x.name == name)
                            .map_or(self.table.columns.len(), |i| i + 1)
                    }
                };
                self.table.columns.insert(at, c);
                sql
            }
            D::DropColumn => {
                let table = self.table.clone();
                let victims: Vec<&Column> = table
                    .columns
                    .iter()
                    .filter(|c| !self.is_key(c) && !referenced(c, &table))
                    .collect();
                if victims.len() < 2 {
                    return None;
                }
                let v = (*victims.choose(rng)?).clone();
                self.table.columns.retain(|c| c.name != v.name);
                format!("ALTER TABLE {t} DROP COLUMN `{}`", v.name)
            }
            D::ModifyColumn => {
                let table = self.table.clone();
                let (i, c) = table
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !self.is_key(c) && c.generated.is_none())
                    .filter(|(_, c)| !referenced(c, &table))
                    .find(|(_, c)| {
                        matches!(
                            c.ty,
                            Ty::Int(..) | Ty::VarChar(..) | Ty::Decimal(..) | Ty::Char(..)
                        )
                    })?;
                let ty = match &c.ty {
                    Ty::Int(_, u) => Ty::Int(IntW::Big, *u),
                    Ty::VarChar(n, cs) | Ty::Char(n, cs) => Ty::VarChar(n * 2, *cs),
                    Ty::Decimal(p, s, u) => Ty::Decimal((*p + 2).min(65), *s, *u),
                    _ => return None,
                };
                let new = Column {
                    ty,
                    nullable: true,
                    ..c.clone()
                };
                self.table.columns[i] = new.clone();
                format!("ALTER TABLE {t} MODIFY COLUMN {}", new.sql())
            }
            D::RenameColumn => {
                let table = self.table.clone();
                let c = table
                    .columns
                    .iter()
                    .filter(|c| !self.is_key(c) && c.generated.is_none())
                    .filter(|c| !referenced(c, &table))
                    .collect::<Vec<_>>()
                    .choose(rng)
                    .copied()?
                    .clone();
                let new = self.fresh_name();
                for x in &mut self.table.columns {
                    if x.name == c.name {
                        x.name = new.clone();
                    }
                }
                format!("ALTER TABLE {t} RENAME COLUMN `{}` TO `{new}`", c.name)
            }
            D::EnumGrowth => {
                let i = self
                    .table
                    .columns
                    .iter()
                    .position(|c| matches!(c.ty, Ty::Enum(_) | Ty::Set(_)))?;
                let c = &mut self.table.columns[i];
                match &mut c.ty {
                    Ty::Enum(l) => l.push(format!("grown{}", l.len())),
                    Ty::Set(l) if l.len() < 64 => l.push(format!("grown{}", l.len())),
                    _ => return None,
                }
                format!("ALTER TABLE {t} MODIFY COLUMN {}", c.sql())
            }
            D::RenameTable => {
                let (from, to) = if self.name == Some(R) { (R, T) } else { (T, R) };
                self.name = Some(to);
                format!("RENAME TABLE {from} TO {to}")
            }
            D::Truncate => format!("TRUNCATE TABLE {t}"),
            D::DropCreate => {
                self.dropped = true;
                format!("DROP TABLE {t}")
            }
        };
        Some(Tx {
            kind: TxKind::Ddl,
            statements: vec![stmt],
        })
    }
}
