//! Parquet bytes -> decoded Arrow columns the binding copies into R vectors.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, Date32Type, Date64Type, Decimal128Type, Decimal256Type, Decimal32Type,
    Decimal64Type, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType,
    DurationSecondType, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use super::{units_factor, ColumnMeta, DatomMeta, DATOM_META_FORMAT, DATOM_META_KEY, MAX_ROWS_PER_GROUP};
use crate::column::{na_real, RColumnInfo, NA_INTEGER};
use crate::error::{Error, Kind, Result};

const NA_I64_BITS: u64 = 0x8000_0000_0000_0000;

/// The R vector a column is read into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RTarget {
    /// logical vector, filled by `fill_i32` (TRUE = 1, FALSE = 0).
    Logical,
    /// integer vector, filled by `fill_i32`.
    Integer,
    /// double vector, filled by `fill_f64`.
    Double,
    /// character vector, filled by `for_each_str`.
    Character,
    /// factor: integer codes by `fill_i32`, levels in `ReadColumn::levels`.
    Factor,
    /// bit64::integer64: raw bits by `fill_i64_bits`.
    Integer64,
}

/// Description of one column of a read table.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadColumn {
    pub name: String,
    pub target: RTarget,
    /// How to rebuild the R column (from the `datom.r` metadata, or inferred
    /// for files written by other tools).
    pub info: RColumnInfo,
    /// Factor levels (factors only). An `NA` level recorded by the writer is
    /// dropped; values that selected it read back as `NA` codes.
    pub levels: Option<Vec<String>>,
}

/// A decoded parquet file.
pub struct ReadTable {
    pub nrow: usize,
    pub columns: Vec<ReadColumn>,
    /// Class of the data frame, when the writer recorded one.
    pub df_class: Option<Vec<String>>,
    data: Vec<ColData>,
}

impl std::fmt::Debug for ReadTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadTable")
            .field("nrow", &self.nrow)
            .field("columns", &self.columns)
            .field("df_class", &self.df_class)
            .finish_non_exhaustive()
    }
}

/// Decoded chunks of one column.
#[derive(Clone)]
struct ColData {
    chunks: Vec<ArrayRef>,
    /// Seconds per R unit for Duration / Time32 / Time64 arrays (difftime units).
    factor: f64,
    /// Factors: per chunk, how to get R codes.
    codes: Vec<FactorChunk>,
}

#[derive(Clone)]
enum FactorChunk {
    /// Dictionary array: dictionary index -> R code (1-based, NA = `i32::MIN`).
    Remap(Vec<i32>),
    /// Plain string array: the R codes of its rows.
    Codes(Vec<i32>),
}

/// Per-column plan made before decoding.
struct ColPlan {
    column: ReadColumn,
    factor: f64,
    /// Levels recorded by datom (with `NA` levels), `None` to merge them
    /// from the dictionaries.
    meta_levels: Option<Vec<Option<String>>>,
}

/// Decode a parquet file.
pub fn read_parquet(bytes: bytes::Bytes) -> Result<ReadTable> {
    let meta = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new())?;
    let schema = meta.schema().clone();
    let file_meta = meta.metadata().file_metadata();
    let nrow = usize::try_from(file_meta.num_rows())
        .map_err(|_| Error::new(Kind::Parquet, "parquet file has a negative row count"))?;

    let datom: Option<DatomMeta> = match file_meta
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == DATOM_META_KEY))
        .and_then(|k| k.value.as_deref())
    {
        Some(json) => {
            let m: DatomMeta = serde_json::from_str(json)?;
            if m.format != DATOM_META_FORMAT {
                return Err(Error::new(
                    Kind::Unsupported,
                    format!("datom.r metadata format {} is not supported (expected {DATOM_META_FORMAT})", m.format),
                ));
            }
            if m.columns.len() != schema.fields().len() {
                return Err(Error::new(
                    Kind::Parquet,
                    format!(
                        "datom.r metadata describes {} columns but the file has {}",
                        m.columns.len(),
                        schema.fields().len()
                    ),
                ));
            }
            Some(m)
        }
        None => None,
    };

    let mut plans = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let plan = match &datom {
            Some(m) => plan_datom(field.name(), field.data_type(), &m.columns[i])?,
            None => plan_foreign(field.name(), field.data_type())?,
        };
        plans.push(plan);
    }
    let df_class = datom.and_then(|m| m.df_class);

    // Decode string columns as dictionaries: dictionary-encoded pages (what
    // writers produce for repetitive clinical strings) then skip
    // materialising every value, and the binding makes one R string per
    // distinct value.
    let wants_dict: Vec<bool> = schema
        .fields()
        .iter()
        .zip(&plans)
        .map(|(f, p)| p.column.target == RTarget::Character && matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8))
        .collect();
    let meta = if wants_dict.iter().any(|w| *w) {
        let fields: Vec<arrow_schema::FieldRef> = schema
            .fields()
            .iter()
            .zip(&wants_dict)
            .map(|(f, w)| {
                if *w {
                    std::sync::Arc::new(
                        f.as_ref()
                            .clone()
                            .with_data_type(DataType::Dictionary(Box::new(DataType::Int32), Box::new(f.data_type().clone()))),
                    )
                } else {
                    f.clone()
                }
            })
            .collect();
        let hinted = std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(fields, schema.metadata().clone()));
        ArrowReaderMetadata::try_new(meta.metadata().clone(), ArrowReaderOptions::new().with_schema(hinted)).unwrap_or(meta)
    } else {
        meta
    };

    // Every root column must be one parquet leaf (no nesting) for the projection below.
    let leaves = meta.parquet_schema().num_columns();
    if leaves != plans.len() {
        return Err(Error::new(Kind::Unsupported, "nested parquet columns are not supported"));
    }

    // Split the columns into groups of similar compressed size, one per thread.
    let row_groups = meta.metadata().row_groups();
    let mut sizes: Vec<(usize, i64)> = (0..plans.len())
        .map(|c| (c, row_groups.iter().map(|rg| rg.column(c).compressed_size()).sum::<i64>()))
        .collect();
    sizes.sort_by_key(|&(_, s)| std::cmp::Reverse(s));
    let threads = super::thread_count(nrow.saturating_mul(plans.len())).min(plans.len().max(1));
    let mut groups: Vec<(i64, Vec<usize>)> = vec![(0, Vec::new()); threads];
    for (c, s) in sizes {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += s;
            g.1.push(c);
        }
    }
    let groups: Vec<Vec<usize>> = groups
        .into_iter()
        .map(|(_, mut g)| {
            g.sort_unstable();
            g
        })
        .filter(|g| !g.is_empty())
        .collect();

    let max_rg = row_groups.iter().map(|rg| rg.num_rows().max(0) as usize).max().unwrap_or(0);
    let batch_size = max_rg.clamp(1, MAX_ROWS_PER_GROUP);

    let order: Vec<usize> = (0..groups.len()).collect();
    crate::runtime::progress::set_total("values", (nrow * plans.len()) as u64);
    let decoded = super::par_map(&order, groups.len(), |g| -> Result<Vec<(usize, ColData)>> {
        let cols = &groups[g];
        let mask = ProjectionMask::roots(meta.parquet_schema(), cols.iter().copied());
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(bytes.clone(), meta.clone())
            .with_projection(mask)
            .with_batch_size(batch_size)
            .build()?;
        let mut chunks: Vec<Vec<ArrayRef>> = vec![Vec::new(); cols.len()];
        for batch in reader {
            let batch = batch?;
            if batch.num_columns() != cols.len() {
                return Err(Error::internal("parquet reader returned an unexpected number of columns"));
            }
            for (j, a) in batch.columns().iter().enumerate() {
                chunks[j].push(a.clone());
            }
            crate::runtime::progress::add("values", (batch.num_rows() * cols.len()) as u64);
            crate::runtime::progress::pulse();
        }
        let mut out = Vec::with_capacity(cols.len());
        for (j, chunks) in chunks.into_iter().enumerate() {
            let c = cols[j];
            let p = &plans[c];
            let total: usize = chunks.iter().map(|a| a.len()).sum();
            if total != nrow {
                return Err(Error::new(
                    Kind::Parquet,
                    format!("column '{}' has {total} values but the file has {nrow} rows", p.column.name),
                ));
            }
            out.push((c, ColData { chunks, factor: p.factor, codes: Vec::new() }));
        }
        Ok(out)
    })?;

    let mut data: Vec<Option<ColData>> = (0..plans.len()).map(|_| None).collect();
    for group in decoded {
        for (c, d) in group? {
            data[c] = Some(d);
        }
    }
    let mut columns = Vec::with_capacity(plans.len());
    let mut out_data = Vec::with_capacity(plans.len());
    for (plan, d) in plans.into_iter().zip(data) {
        let mut d = d.ok_or_else(|| Error::internal("a column was not decoded"))?;
        let mut column = plan.column;
        if column.target == RTarget::Factor {
            let (levels, codes) = factor_codes(&column.name, &d.chunks, plan.meta_levels.as_deref())?;
            column.levels = Some(levels);
            d.codes = codes;
        }
        columns.push(column);
        out_data.push(d);
    }
    Ok(ReadTable { nrow, columns, df_class, data: out_data })
}

fn unsupported(name: &str, dt: &DataType) -> Error {
    Error::new(Kind::Unsupported, format!("column '{name}' has parquet/Arrow type {dt}, which datom cannot read"))
}

fn is_string(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_string_dict(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(k, v) => k.is_dictionary_key_type() && is_string(v),
        _ => false,
    }
}

/// Arrow types `fill_f64` converts.
fn is_numeric(dt: &DataType) -> bool {
    use DataType::*;
    matches!(
        dt,
        Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Decimal32(_, _)
            | Decimal64(_, _)
            | Decimal128(_, _)
            | Decimal256(_, _)
            | Date32
            | Date64
            | Timestamp(_, _)
            | Duration(_)
            | Time32(_)
            | Time64(_)
    )
}

fn is_time_of_day_or_duration(dt: &DataType) -> bool {
    matches!(dt, DataType::Duration(_) | DataType::Time32(_) | DataType::Time64(_))
}

fn plan_datom(name: &str, dt: &DataType, m: &ColumnMeta) -> Result<ColPlan> {
    let info = m.info.clone();
    let has_class = |c: &str| info.class.as_ref().is_some_and(|cl| cl.iter().any(|s| s == c));
    let target = if has_class("integer64") {
        RTarget::Integer64
    } else if has_class("factor") {
        RTarget::Factor
    } else {
        match info.storage.as_str() {
            "logical" => RTarget::Logical,
            "integer" => RTarget::Integer,
            "double" => RTarget::Double,
            "character" => RTarget::Character,
            other => {
                return Err(Error::new(
                    Kind::Parquet,
                    format!("column '{name}': unknown R storage type '{other}' in datom.r metadata"),
                ))
            }
        }
    };
    let ok = match target {
        RTarget::Logical | RTarget::Integer | RTarget::Double => is_numeric(dt),
        RTarget::Character => is_string(dt) || is_string_dict(dt),
        RTarget::Factor => is_string(dt) || is_string_dict(dt),
        RTarget::Integer64 => {
            matches!(dt, DataType::Int64 | DataType::Int32 | DataType::Int16 | DataType::Int8 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64)
        }
    };
    if !ok {
        return Err(Error::new(
            Kind::Parquet,
            format!("column '{name}': parquet type {dt} does not match its datom.r description"),
        ));
    }
    let factor = if is_time_of_day_or_duration(dt) {
        match info.units.as_deref().and_then(units_factor) {
            Some(f) => f,
            None => {
                return Err(Error::new(
                    Kind::Parquet,
                    format!("column '{name}': duration column without valid units in datom.r metadata"),
                ))
            }
        }
    } else {
        1.0
    };
    let meta_levels = if target == RTarget::Factor {
        Some(m.levels.clone().ok_or_else(|| {
            Error::new(Kind::Parquet, format!("column '{name}': factor without levels in datom.r metadata"))
        })?)
    } else {
        None
    };
    Ok(ColPlan {
        column: ReadColumn { name: name.to_string(), target, info, levels: None },
        factor,
        meta_levels,
    })
}

fn strings(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

fn plan_foreign(name: &str, dt: &DataType) -> Result<ColPlan> {
    use DataType::*;
    let mut info = RColumnInfo::default();
    let target = match dt {
        Boolean => {
            info.storage = "logical".into();
            RTarget::Logical
        }
        Int8 | Int16 | Int32 | UInt8 | UInt16 => {
            info.storage = "integer".into();
            RTarget::Integer
        }
        Int64 | UInt32 | UInt64 | Float16 | Float32 | Float64 | Decimal32(_, _) | Decimal64(_, _)
        | Decimal128(_, _) | Decimal256(_, _) => {
            info.storage = "double".into();
            RTarget::Double
        }
        Utf8 | LargeUtf8 | Utf8View => {
            info.storage = "character".into();
            RTarget::Character
        }
        Dictionary(_, _) if is_string_dict(dt) => {
            info.storage = "integer".into();
            info.class = strings(&["factor"]);
            RTarget::Factor
        }
        Date32 | Date64 => {
            info.storage = "double".into();
            info.class = strings(&["Date"]);
            RTarget::Double
        }
        Timestamp(_, tz) => {
            info.storage = "double".into();
            info.class = strings(&["POSIXct", "POSIXt"]);
            info.tzone = Some(tz.as_deref().unwrap_or("").to_string());
            RTarget::Double
        }
        Duration(_) => {
            info.storage = "double".into();
            info.class = strings(&["difftime"]);
            info.units = Some("secs".into());
            RTarget::Double
        }
        Time32(_) | Time64(_) => {
            info.storage = "double".into();
            info.class = strings(&["hms", "difftime"]);
            info.units = Some("secs".into());
            RTarget::Double
        }
        _ => return Err(unsupported(name, dt)),
    };
    Ok(ColPlan { column: ReadColumn { name: name.to_string(), target, info, levels: None }, factor: 1.0, meta_levels: None })
}

/// Borrowed access to a string-typed array.
/// A piece of a character column (see [`ReadTable::visit_str`]).
pub enum StrPiece<'a, 's> {
    /// The value of row `.0`.
    Value(usize, Option<&'s str>),
    /// Rows `offset..offset + keys.len()`: row `offset + i` is
    /// `values[keys[i]]`, or NA where `nulls` says so.
    Dict { offset: usize, values: &'a [Option<&'s str>], keys: &'a [usize], nulls: Option<&'a arrow_buffer::NullBuffer> },
}

enum StrArr<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
}

impl<'a> StrArr<'a> {
    fn of(a: &'a dyn Array) -> Option<StrArr<'a>> {
        match a.data_type() {
            DataType::Utf8 => a.as_string_opt::<i32>().map(StrArr::Utf8),
            DataType::LargeUtf8 => a.as_string_opt::<i64>().map(StrArr::Large),
            DataType::Utf8View => a.as_string_view_opt().map(StrArr::View),
            _ => None,
        }
    }
    fn len(&self) -> usize {
        match self {
            StrArr::Utf8(a) => a.len(),
            StrArr::Large(a) => a.len(),
            StrArr::View(a) => a.len(),
        }
    }
    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        if i >= self.len() {
            return None;
        }
        match self {
            StrArr::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            StrArr::Large(a) => a.is_valid(i).then(|| a.value(i)),
            StrArr::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// Dictionary values of a string dictionary array.
fn dict_values(a: &dyn Array) -> Option<&ArrayRef> {
    a.as_any_dictionary_opt().map(|d| d.values())
}

/// Levels and per-chunk code mappings of a factor column.
fn factor_codes(
    name: &str,
    chunks: &[ArrayRef],
    meta_levels: Option<&[Option<String>]>,
) -> Result<(Vec<String>, Vec<FactorChunk>)> {
    let mut levels: Vec<String> = Vec::new();
    let mut index: HashMap<String, i32> = HashMap::new();
    let fixed = meta_levels.is_some();
    if let Some(ml) = meta_levels {
        for l in ml.iter().flatten() {
            levels.push(l.clone());
            let code = levels.len() as i32;
            index.entry(l.clone()).or_insert(code);
        }
    }
    // `strict`: the value is used by a row (plain strings), so an unknown
    // value is an error at once; dictionary entries are checked when used.
    let mut code_of = |s: Option<&str>, strict: bool| -> Result<i32> {
        let Some(s) = s else { return Ok(NA_INTEGER) };
        if let Some(&c) = index.get(s) {
            return Ok(c);
        }
        if fixed {
            if !strict {
                return Ok(INVALID_CODE);
            }
            return Err(Error::new(
                Kind::Parquet,
                format!("column '{name}': value '{s}' is not one of the factor levels in datom.r metadata"),
            ));
        }
        if levels.len() >= i32::MAX as usize {
            return Err(Error::new(Kind::Unsupported, format!("column '{name}': too many factor levels")));
        }
        levels.push(s.to_string());
        let c = levels.len() as i32;
        index.insert(s.to_string(), c);
        Ok(c)
    };
    let mut out = Vec::with_capacity(chunks.len());
    let mut last: Option<(ArrayRef, usize)> = None;
    for a in chunks {
        if let Some(values) = dict_values(a.as_ref()) {
            // Consecutive batches of a row group share their dictionary.
            if let Some((prev, k)) = &last {
                if std::sync::Arc::ptr_eq(prev, values) {
                    let FactorChunk::Remap(m) = &out[*k] else {
                        return Err(Error::internal("factor chunk bookkeeping"));
                    };
                    let m = m.clone();
                    out.push(FactorChunk::Remap(m));
                    continue;
                }
            }
            let sv = StrArr::of(values.as_ref()).ok_or_else(|| unsupported(name, a.data_type()))?;
            let remap = (0..sv.len()).map(|i| code_of(sv.get(i), false)).collect::<Result<Vec<i32>>>()?;
            last = Some((values.clone(), out.len()));
            out.push(FactorChunk::Remap(remap));
        } else {
            let sv = StrArr::of(a.as_ref()).ok_or_else(|| unsupported(name, a.data_type()))?;
            let codes = (0..sv.len()).map(|i| code_of(sv.get(i), true)).collect::<Result<Vec<i32>>>()?;
            out.push(FactorChunk::Codes(codes));
        }
    }
    Ok((levels, out))
}

fn per_second(u: &TimeUnit) -> f64 {
    match u {
        TimeUnit::Second => 1.0,
        TimeUnit::Millisecond => 1e3,
        TimeUnit::Microsecond => 1e6,
        TimeUnit::Nanosecond => 1e9,
    }
}

/// `out[i] = conv(values[i])`, nulls -> `na`.
fn prim<T: ArrowPrimitiveType, O: Copy>(
    a: &dyn Array,
    out: &mut [O],
    na: O,
    conv: impl Fn(T::Native) -> O,
) -> Result<()> {
    let p = a
        .as_primitive_opt::<T>()
        .ok_or_else(|| Error::internal(format!("unexpected Arrow array type {}", a.data_type())))?;
    let vals = p.values();
    if vals.len() != out.len() {
        return Err(Error::internal("chunk length mismatch"));
    }
    for (o, &v) in out.iter_mut().zip(vals.iter()) {
        *o = conv(v);
    }
    patch_nulls(p.nulls(), out, na);
    Ok(())
}

fn patch_nulls<O: Copy>(nulls: Option<&arrow_buffer::NullBuffer>, out: &mut [O], na: O) {
    if let Some(n) = nulls {
        if n.null_count() > 0 {
            for (o, valid) in out.iter_mut().zip(n.iter()) {
                if !valid {
                    *o = na;
                }
            }
        }
    }
}

fn pow10(scale: i8) -> f64 {
    10f64.powi(scale as i32)
}

/// One chunk as R doubles in R units (`factor` = seconds per difftime unit).
fn chunk_f64(a: &dyn Array, factor: f64, out: &mut [f64]) -> Result<()> {
    let na = na_real();
    match a.data_type() {
        DataType::Float64 => prim::<Float64Type, _>(a, out, na, |v| v),
        DataType::Float32 => prim::<Float32Type, _>(a, out, na, |v| v as f64),
        DataType::Float16 => prim::<Float16Type, _>(a, out, na, |v| v.to_f64()),
        DataType::Int8 => prim::<Int8Type, _>(a, out, na, |v| v as f64),
        DataType::Int16 => prim::<Int16Type, _>(a, out, na, |v| v as f64),
        DataType::Int32 => prim::<Int32Type, _>(a, out, na, |v| v as f64),
        DataType::Int64 => prim::<Int64Type, _>(a, out, na, |v| v as f64),
        DataType::UInt8 => prim::<UInt8Type, _>(a, out, na, |v| v as f64),
        DataType::UInt16 => prim::<UInt16Type, _>(a, out, na, |v| v as f64),
        DataType::UInt32 => prim::<UInt32Type, _>(a, out, na, |v| v as f64),
        DataType::UInt64 => prim::<UInt64Type, _>(a, out, na, |v| v as f64),
        DataType::Decimal32(_, s) => {
            let d = pow10(*s);
            prim::<Decimal32Type, _>(a, out, na, |v| v as f64 / d)
        }
        DataType::Decimal64(_, s) => {
            let d = pow10(*s);
            prim::<Decimal64Type, _>(a, out, na, |v| v as f64 / d)
        }
        DataType::Decimal128(_, s) => {
            let d = pow10(*s);
            prim::<Decimal128Type, _>(a, out, na, |v| v as f64 / d)
        }
        DataType::Decimal256(_, s) => {
            let d = pow10(*s);
            prim::<Decimal256Type, _>(a, out, na, |v| {
                let (lo, hi) = v.to_parts();
                (hi as f64 * 2f64.powi(128) + lo as f64) / d
            })
        }
        DataType::Boolean => {
            let b = a.as_boolean_opt().ok_or_else(|| Error::internal("boolean array expected"))?;
            for (i, o) in out.iter_mut().enumerate() {
                *o = if b.value(i) { 1.0 } else { 0.0 };
            }
            patch_nulls(b.nulls(), out, na);
            Ok(())
        }
        DataType::Date32 => prim::<Date32Type, _>(a, out, na, |v| v as f64),
        DataType::Date64 => prim::<Date64Type, _>(a, out, na, |v| v as f64 / 86_400_000.0),
        DataType::Timestamp(u, _) => {
            let d = per_second(u);
            match u {
                TimeUnit::Second => prim::<TimestampSecondType, _>(a, out, na, |v| v as f64 / d),
                TimeUnit::Millisecond => prim::<TimestampMillisecondType, _>(a, out, na, |v| v as f64 / d),
                TimeUnit::Microsecond => prim::<TimestampMicrosecondType, _>(a, out, na, |v| v as f64 / d),
                TimeUnit::Nanosecond => prim::<TimestampNanosecondType, _>(a, out, na, |v| v as f64 / d),
            }
        }
        DataType::Duration(u) => {
            let d = per_second(u);
            match u {
                TimeUnit::Second => prim::<DurationSecondType, _>(a, out, na, |v| (v as f64 / d) / factor),
                TimeUnit::Millisecond => {
                    prim::<DurationMillisecondType, _>(a, out, na, |v| (v as f64 / d) / factor)
                }
                TimeUnit::Microsecond => {
                    prim::<DurationMicrosecondType, _>(a, out, na, |v| (v as f64 / d) / factor)
                }
                TimeUnit::Nanosecond => prim::<DurationNanosecondType, _>(a, out, na, |v| (v as f64 / d) / factor),
            }
        }
        DataType::Time32(u) => {
            let d = per_second(u);
            match u {
                TimeUnit::Second => prim::<Time32SecondType, _>(a, out, na, |v| (v as f64 / d) / factor),
                TimeUnit::Millisecond => prim::<Time32MillisecondType, _>(a, out, na, |v| (v as f64 / d) / factor),
                _ => Err(Error::internal(format!("unexpected Arrow type {}", a.data_type()))),
            }
        }
        DataType::Time64(u) => {
            let d = per_second(u);
            match u {
                TimeUnit::Microsecond => prim::<Time64MicrosecondType, _>(a, out, na, |v| (v as f64 / d) / factor),
                TimeUnit::Nanosecond => prim::<Time64NanosecondType, _>(a, out, na, |v| (v as f64 / d) / factor),
                _ => Err(Error::internal(format!("unexpected Arrow type {}", a.data_type()))),
            }
        }
        dt => Err(Error::internal(format!("cannot read Arrow type {dt} as double"))),
    }
}

fn int_range_err() -> Error {
    Error::new(Kind::Parquet, "integer value outside R's integer range")
}

/// One chunk as R integers (Logical / Integer targets).
fn chunk_i32(a: &dyn Array, factor: f64, out: &mut [i32]) -> Result<()> {
    let na = NA_INTEGER;
    let mut bad = false;
    let res = match a.data_type() {
        DataType::Int32 => prim::<Int32Type, _>(a, out, na, |v| v),
        DataType::Date32 => prim::<Date32Type, _>(a, out, na, |v| v),
        DataType::Int8 => prim::<Int8Type, _>(a, out, na, |v| v as i32),
        DataType::Int16 => prim::<Int16Type, _>(a, out, na, |v| v as i32),
        DataType::UInt8 => prim::<UInt8Type, _>(a, out, na, |v| v as i32),
        DataType::UInt16 => prim::<UInt16Type, _>(a, out, na, |v| v as i32),
        DataType::Boolean => {
            let b = a.as_boolean_opt().ok_or_else(|| Error::internal("boolean array expected"))?;
            if b.len() != out.len() {
                return Err(Error::internal("chunk length mismatch"));
            }
            for (i, o) in out.iter_mut().enumerate() {
                *o = b.value(i) as i32;
            }
            patch_nulls(b.nulls(), out, na);
            Ok(())
        }
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => {
            let mut tmp = vec![0i64; out.len()];
            match a.data_type() {
                DataType::Int64 => prim::<Int64Type, _>(a, &mut tmp, i64::MIN, |v| v)?,
                DataType::UInt32 => prim::<UInt32Type, _>(a, &mut tmp, i64::MIN, |v| v as i64)?,
                _ => prim::<UInt64Type, _>(a, &mut tmp, i64::MIN, |v| i64::try_from(v).unwrap_or(i64::MAX))?,
            }
            let nulls = a.logical_nulls();
            for (i, (o, v)) in out.iter_mut().zip(tmp).enumerate() {
                if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                    *o = na;
                } else if v > i32::MIN as i64 && v <= i32::MAX as i64 {
                    *o = v as i32;
                } else {
                    bad = true;
                }
            }
            Ok(())
        }
        _ => {
            let mut tmp = vec![0f64; out.len()];
            chunk_f64(a, factor, &mut tmp)?;
            let nulls = a.logical_nulls();
            for (i, (o, v)) in out.iter_mut().zip(tmp).enumerate() {
                if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                    *o = na;
                } else if v.fract() == 0.0 && v > i32::MIN as f64 && v <= i32::MAX as f64 {
                    *o = v as i32;
                } else {
                    bad = true;
                }
            }
            Ok(())
        }
    };
    res?;
    if bad {
        return Err(int_range_err());
    }
    Ok(())
}

/// Marks a dictionary entry that is not a recorded level; an error only
/// where a non-null key selects it.
const INVALID_CODE: i32 = -1;

fn dict_codes<K: ArrowDictionaryKeyType>(a: &dyn Array, remap: &[i32], out: &mut [i32]) -> Result<bool> {
    let Some(d) = a.as_dictionary_opt::<K>() else { return Ok(false) };
    let keys = d.keys();
    if keys.len() != out.len() {
        return Err(Error::internal("chunk length mismatch"));
    }
    for (o, &k) in out.iter_mut().zip(keys.values().iter()) {
        *o = num_to_usize(k).and_then(|k| remap.get(k)).copied().unwrap_or(INVALID_CODE);
    }
    patch_nulls(keys.nulls(), out, NA_INTEGER);
    if out.contains(&INVALID_CODE) {
        return Err(Error::new(Kind::Parquet, "dictionary value that is not a recorded factor level"));
    }
    Ok(true)
}

#[inline]
fn num_to_usize<N: arrow_buffer::ArrowNativeType>(k: N) -> Option<usize> {
    k.to_usize()
}

fn chunk_factor(a: &dyn Array, fc: &FactorChunk, out: &mut [i32]) -> Result<()> {
    match fc {
        FactorChunk::Codes(c) => {
            if c.len() != out.len() {
                return Err(Error::internal("chunk length mismatch"));
            }
            out.copy_from_slice(c);
            Ok(())
        }
        FactorChunk::Remap(m) => {
            let done = dict_codes::<Int32Type>(a, m, out)?
                || dict_codes::<Int8Type>(a, m, out)?
                || dict_codes::<Int16Type>(a, m, out)?
                || dict_codes::<Int64Type>(a, m, out)?
                || dict_codes::<UInt8Type>(a, m, out)?
                || dict_codes::<UInt16Type>(a, m, out)?
                || dict_codes::<UInt32Type>(a, m, out)?
                || dict_codes::<UInt64Type>(a, m, out)?;
            if done {
                Ok(())
            } else {
                Err(Error::internal(format!("unexpected dictionary type {}", a.data_type())))
            }
        }
    }
}

fn chunk_i64_bits(a: &dyn Array, out: &mut [u64]) -> Result<()> {
    let na = NA_I64_BITS;
    match a.data_type() {
        DataType::Int64 => prim::<Int64Type, _>(a, out, na, |v| v as u64),
        DataType::Int32 => prim::<Int32Type, _>(a, out, na, |v| v as i64 as u64),
        DataType::Int16 => prim::<Int16Type, _>(a, out, na, |v| v as i64 as u64),
        DataType::Int8 => prim::<Int8Type, _>(a, out, na, |v| v as i64 as u64),
        DataType::UInt8 => prim::<UInt8Type, _>(a, out, na, |v| v as u64),
        DataType::UInt16 => prim::<UInt16Type, _>(a, out, na, |v| v as u64),
        DataType::UInt32 => prim::<UInt32Type, _>(a, out, na, |v| v as u64),
        DataType::UInt64 => {
            let mut over = false;
            prim::<UInt64Type, _>(a, out, na, |v| v)?;
            for (i, &v) in out.iter().enumerate() {
                if v > i64::MAX as u64 && v != na && a.is_valid(i) {
                    over = true;
                }
            }
            if over {
                return Err(Error::new(Kind::Parquet, "unsigned 64-bit value outside integer64 range"));
            }
            Ok(())
        }
        dt => Err(Error::internal(format!("cannot read Arrow type {dt} as integer64"))),
    }
}

impl ReadTable {
    fn col(&self, col: usize, targets: &[RTarget], what: &str, len: usize) -> Result<&ColData> {
        let c = self
            .columns
            .get(col)
            .ok_or_else(|| Error::internal(format!("column index {col} out of range")))?;
        if !targets.contains(&c.target) {
            return Err(Error::internal(format!(
                "{what} called on column '{}' whose target is {:?}",
                c.name, c.target
            )));
        }
        if len != self.nrow {
            return Err(Error::internal(format!(
                "{what}: output has length {len} but the table has {} rows",
                self.nrow
            )));
        }
        self.data.get(col).ok_or_else(|| Error::internal("column data missing"))
    }

    /// The table of columns `cols` (indices), sharing their decoded data.
    pub fn select(&self, cols: &[usize]) -> Result<ReadTable> {
        let mut columns = Vec::with_capacity(cols.len());
        let mut data = Vec::with_capacity(cols.len());
        for &i in cols {
            columns.push(self.columns.get(i).ok_or_else(|| Error::internal("select: no such column"))?.clone());
            data.push(self.data.get(i).ok_or_else(|| Error::internal("select: column data missing"))?.clone());
        }
        Ok(ReadTable { nrow: self.nrow, columns, df_class: self.df_class.clone(), data })
    }

    /// Fill a double column (`RTarget::Double`): nulls become `NA_real_`,
    /// dates are days, times seconds, durations in their difftime units.
    pub fn fill_f64(&self, col: usize, out: &mut [f64]) -> Result<()> {
        let d = self.col(col, &[RTarget::Double], "fill_f64", out.len())?;
        let mut off = 0;
        for a in &d.chunks {
            let n = a.len();
            let dst = out.get_mut(off..off + n).ok_or_else(|| Error::internal("chunks exceed nrow"))?;
            chunk_f64(a.as_ref(), d.factor, dst)?;
            off += n;
        }
        Ok(())
    }

    /// Fill an integer, logical (TRUE = 1, FALSE = 0) or factor-code column;
    /// nulls become `NA` (`i32::MIN`).
    pub fn fill_i32(&self, col: usize, out: &mut [i32]) -> Result<()> {
        let d = self.col(col, &[RTarget::Integer, RTarget::Logical, RTarget::Factor], "fill_i32", out.len())?;
        let is_factor = self.columns[col].target == RTarget::Factor;
        let mut off = 0;
        for (k, a) in d.chunks.iter().enumerate() {
            let n = a.len();
            let dst = out.get_mut(off..off + n).ok_or_else(|| Error::internal("chunks exceed nrow"))?;
            if is_factor {
                let fc = d.codes.get(k).ok_or_else(|| Error::internal("factor chunk missing"))?;
                chunk_factor(a.as_ref(), fc, dst)
                    .map_err(|e| Error::new(e.kind, format!("column '{}': {}", self.columns[col].name, e.message)))?;
            } else {
                chunk_i32(a.as_ref(), d.factor, dst)
                    .map_err(|e| Error::new(e.kind, format!("column '{}': {}", self.columns[col].name, e.message)))?;
            }
            off += n;
        }
        Ok(())
    }

    /// Fill an integer64 column with raw bits; nulls become `NA_integer64_`.
    pub fn fill_i64_bits(&self, col: usize, out: &mut [u64]) -> Result<()> {
        let d = self.col(col, &[RTarget::Integer64], "fill_i64_bits", out.len())?;
        let mut off = 0;
        for a in &d.chunks {
            let n = a.len();
            let dst = out.get_mut(off..off + n).ok_or_else(|| Error::internal("chunks exceed nrow"))?;
            chunk_i64_bits(a.as_ref(), dst)?;
            off += n;
        }
        Ok(())
    }

    /// Call `f(row, value)` for every row of a character column (`None` = NA).
    pub fn for_each_str<'s>(&'s self, col: usize, mut f: impl FnMut(usize, Option<&'s str>)) -> Result<()> {
        self.visit_str(col, |p| match p {
            StrPiece::Value(k, v) => f(k, v),
            StrPiece::Dict { offset, values, keys, nulls } => {
                for (i, &k) in keys.iter().enumerate() {
                    let v = if nulls.is_some_and(|n| n.is_null(i)) { None } else { values.get(k).copied().flatten() };
                    f(offset + i, v);
                }
            }
        })
    }

    /// The strings of a character column as pieces: single values, or a
    /// dictionary-encoded chunk whole (its distinct values once, then a key
    /// per row), so a reader can make each distinct string once.
    pub fn visit_str<'s>(&'s self, col: usize, mut f: impl FnMut(StrPiece<'_, 's>)) -> Result<()> {
        let d = self.col(col, &[RTarget::Character], "for_each_str", self.nrow)?;
        let mut off = 0;
        for a in &d.chunks {
            if let Some(sv) = StrArr::of(a.as_ref()) {
                for i in 0..sv.len() {
                    f(StrPiece::Value(off + i, sv.get(i)));
                }
            } else if let Some(dict) = a.as_any_dictionary_opt() {
                let values = StrArr::of(dict.values().as_ref())
                    .ok_or_else(|| Error::internal(format!("unexpected Arrow type {}", a.data_type())))?;
                let values: Vec<Option<&'s str>> = (0..values.len()).map(|j| values.get(j)).collect();
                let keys = dict.normalized_keys();
                let nulls = a.logical_nulls();
                f(StrPiece::Dict { offset: off, values: &values, keys: &keys, nulls: nulls.as_ref() });
            } else {
                return Err(Error::internal(format!("unexpected Arrow type {}", a.data_type())));
            }
            off += a.len();
        }
        Ok(())
    }
}
