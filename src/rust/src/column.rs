//! R-free views of data-frame columns.
//!
//! The binding layer (`crate::r`) builds these views straight over R memory
//! (numeric slices, pointers to the UTF-8 bytes of CHARSXPs) without copying
//! values; the engine modules (`identity`, `table`) consume them. Nothing in
//! here knows about extendr.

/// Numeric storage of a column, borrowed from R.
///
/// R's integer and logical NA is `i32::MIN`; R's double NA is the NaN whose
/// low word is 1954.
#[derive(Clone, Copy, Debug)]
pub enum NumValues<'a> {
    Logical(&'a [i32]),
    Integer(&'a [i32]),
    Double(&'a [f64]),
}

impl<'a> NumValues<'a> {
    pub fn len(&self) -> usize {
        match self {
            NumValues::Logical(v) | NumValues::Integer(v) => v.len(),
            NumValues::Double(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// R's `NA_integer_` / `NA` (logical).
pub const NA_INTEGER: i32 = i32::MIN;
/// Bit pattern of R's `NA_real_`.
pub const NA_REAL_BITS: u64 = 0x7ff0_0000_0000_07a2;

/// R's `NA_real_` as an `f64`.
pub fn na_real() -> f64 {
    f64::from_bits(NA_REAL_BITS)
}

/// Is `v` one of R's NA doubles (a NaN whose low 32-bit word is 1954)?
#[inline]
pub fn is_na_real(v: f64) -> bool {
    let b = v.to_bits();
    (b & 0x7ff0_0000_0000_0000) == 0x7ff0_0000_0000_0000
        && (b & 0x000f_ffff_ffff_ffff) != 0
        && (b & 0xffff_ffff) == 1954
}

/// A character vector: one entry per element, `None` for `NA`, otherwise the
/// UTF-8 bytes of the string (borrowed from R, or from the binding's arena
/// for the rare strings that needed translation from latin1/native).
#[derive(Clone, Debug, Default)]
pub struct StrValues<'a> {
    pub values: Vec<Option<&'a [u8]>>,
}

impl<'a> StrValues<'a> {
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A supported column, classified by the datom-cv1 rules (dev/spec/FORMATS.md 3.2).
#[derive(Clone, Debug)]
pub enum Column<'a> {
    /// Unclassed logical, integer or double (kind `num`).
    Num(NumValues<'a>),
    /// Unclassed character (kind `chr`).
    Chr(StrValues<'a>),
    /// Factor: 1-based integer codes into `levels` (kind `chr`).
    Factor {
        codes: &'a [i32],
        levels: StrValues<'a>,
        ordered: bool,
    },
    /// Date (kind `date`): days since 1970-01-01, integer or double storage.
    Date(NumValues<'a>),
    /// POSIXct (kind `time`): seconds since the epoch; `tzone` as given
    /// (`None` when the attribute is absent).
    Time {
        secs: NumValues<'a>,
        tzone: Option<String>,
    },
    /// difftime / hms / ITime (kind `drtn`).
    Duration { values: NumValues<'a>, units: String },
    /// bit64::integer64 (kind `i64`): the raw 64-bit patterns.
    I64(&'a [u64]),
}

impl<'a> Column<'a> {
    pub fn len(&self) -> usize {
        match self {
            Column::Num(v) | Column::Date(v) => v.len(),
            Column::Time { secs, .. } => secs.len(),
            Column::Duration { values, .. } => values.len(),
            Column::Chr(s) => s.len(),
            Column::Factor { codes, .. } => codes.len(),
            Column::I64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The datom-cv1 kind tag.
    pub fn tag(&self) -> &'static str {
        match self {
            Column::Num(_) => "num",
            Column::Chr(_) | Column::Factor { .. } => "chr",
            Column::Date(_) => "date",
            Column::Time { .. } => "time",
            Column::Duration { .. } => "drtn",
            Column::I64(_) => "i64",
        }
    }
}

/// How the column looked in R, so a parquet round trip can restore it exactly
/// (class vector, storage type, attributes the Arrow type cannot carry).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RColumnInfo {
    /// `class` attribute, absent when the column is unclassed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Vec<String>>,
    /// R storage type: "logical", "integer", "double" or "character".
    pub storage: String,
    /// `tzone` of a POSIXct column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tzone: Option<String>,
    /// `units` of a difftime column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    /// Other attributes, serialised by R (base64 of `serialize()`), restored
    /// verbatim on read. Opaque to the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
}

/// One named column of a table.
#[derive(Clone, Debug)]
pub struct NamedColumn<'a> {
    /// UTF-8 column name.
    pub name: String,
    pub column: Column<'a>,
    pub info: RColumnInfo,
}
