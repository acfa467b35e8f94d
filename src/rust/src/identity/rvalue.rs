//! An R-free model of the R values that take part in `metadata_sha` and in
//! the JSON files datom writes (dev/spec/FORMATS.md 4.3, 4.6, 11.1).
//!
//! The binding layer converts R objects into `RValue` (factors and `Date`s
//! already turned into character vectors) and back; everything in
//! `identity::canon` works on this model only, so it needs no R session.

/// Bit pattern of R's `NA_real_`: a quiet NaN whose low 32-bit word is 1954.
pub const NA_REAL_BITS: u64 = 0x7FF0_0000_0000_07A2;

/// An R value, as far as datom's JSON serialiser cares.
#[derive(Clone, Debug, PartialEq)]
pub enum RValue {
    /// R `NULL`.
    Null,
    /// Logical vector; `None` = `NA`.
    Logical(Vec<Option<bool>>),
    /// Integer vector; `None` = `NA`.
    Integer(Vec<Option<i32>>),
    /// Double vector. R's `NA_real_` is a NaN whose low 32-bit word is 1954
    /// (see [`na_real`], [`is_na_real`]); any other NaN is `NaN`.
    Double(Vec<f64>),
    /// Character vector; `None` = `NA`.
    Character(Vec<Option<String>>),
    /// List. `names: None` is an unnamed list; `Some(vec![])` with empty
    /// `values` is an empty named list. Missing (`NA`) names are `None`.
    List { names: Option<Vec<Option<String>>>, values: Vec<RValue> },
    /// Data frame: atomic columns of equal length (factor/Date already
    /// converted to character by the caller).
    DataFrame { names: Vec<Option<String>>, columns: Vec<RValue> },
    /// Matrix: `data` is an atomic vector in column-major order.
    Matrix { nrow: usize, ncol: usize, data: Box<RValue> },
}

/// R's `NA_real_`.
pub fn na_real() -> f64 {
    f64::from_bits(NA_REAL_BITS)
}

/// R's `ISNA()`: a NaN whose low 32-bit word is 1954.
pub fn is_na_real(v: f64) -> bool {
    v.is_nan() && (v.to_bits() & 0xFFFF_FFFF) == 1954
}

impl RValue {
    /// Length-1 character vector.
    pub fn str(s: impl Into<String>) -> RValue {
        RValue::Character(vec![Some(s.into())])
    }

    /// Length-1 integer vector.
    pub fn int(i: i32) -> RValue {
        RValue::Integer(vec![Some(i)])
    }

    /// Length-1 double vector.
    pub fn dbl(d: f64) -> RValue {
        RValue::Double(vec![d])
    }

    /// Length-1 logical vector.
    pub fn lgl(b: bool) -> RValue {
        RValue::Logical(vec![Some(b)])
    }

    /// Named list from `(name, value)` pairs, in order.
    pub fn named<K: Into<String>>(pairs: Vec<(K, RValue)>) -> RValue {
        let mut names = Vec::with_capacity(pairs.len());
        let mut values = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            names.push(Some(k.into()));
            values.push(v);
        }
        RValue::List { names: Some(names), values }
    }

    /// Unnamed list.
    pub fn unnamed(values: Vec<RValue>) -> RValue {
        RValue::List { names: None, values }
    }

    /// Empty named list (`setNames(list(), character(0))`, JSON `{}`).
    pub fn empty_object() -> RValue {
        RValue::List { names: Some(Vec::new()), values: Vec::new() }
    }

    /// True for the atomic vector variants.
    pub fn is_atomic(&self) -> bool {
        matches!(
            self,
            RValue::Logical(_) | RValue::Integer(_) | RValue::Double(_) | RValue::Character(_)
        )
    }

    /// R's `length()`: elements of a vector or list, columns of a data
    /// frame, cells of a matrix, 0 for `NULL`.
    pub fn len(&self) -> usize {
        match self {
            RValue::Null => 0,
            RValue::Logical(v) => v.len(),
            RValue::Integer(v) => v.len(),
            RValue::Double(v) => v.len(),
            RValue::Character(v) => v.len(),
            RValue::List { values, .. } => values.len(),
            RValue::DataFrame { columns, .. } => columns.len(),
            RValue::Matrix { nrow, ncol, .. } => nrow.saturating_mul(*ncol),
        }
    }

    /// True when [`RValue::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of a named list's member `key` (first match), if any.
    pub fn get(&self, key: &str) -> Option<&RValue> {
        match self {
            RValue::List { names: Some(names), values } => names
                .iter()
                .zip(values.iter())
                .find(|(n, _)| n.as_deref() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn na_real_is_recognised() {
        assert!(is_na_real(na_real()));
        assert!(!is_na_real(f64::NAN));
        assert!(!is_na_real(1.0));
        assert_eq!(na_real().to_bits() & 0xFFFF_FFFF, 1954);
    }

    #[test]
    fn helpers() {
        let v = RValue::named(vec![("a", RValue::int(1)), ("b", RValue::str("x"))]);
        assert_eq!(v.len(), 2);
        assert_eq!(v.get("b"), Some(&RValue::str("x")));
        assert_eq!(v.get("c"), None);
        assert!(RValue::Null.is_empty());
        assert!(RValue::Double(vec![1.0]).is_atomic());
        assert!(!RValue::empty_object().is_atomic());
    }
}
