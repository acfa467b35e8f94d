//! Data frame -> parquet bytes.

use std::io::Write;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, DictionaryArray, DurationMicrosecondArray,
    Float64Array, Int32Array, Int64Array, StringArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowWriterOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{WriterProperties, DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT};
use parquet::schema::types::ColumnPath;
use parquet::schema::types::ColumnDescPtr;
use sha2::{Digest, Sha256};

use super::{
    hex_lower, micros_to_secs, micros_to_units, units_factor, ColumnMeta, DatomMeta, DATOM_META_FORMAT,
    DATOM_META_KEY, MAX_CHUNK_STRING_BYTES, MAX_ROWS_PER_GROUP,
};
use crate::column::{is_na_real, Column, NamedColumn, NumValues, StrValues, NA_INTEGER};
use crate::error::{Error, Kind, Result};

/// A serialised parquet file and the SHA-256 of its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of `bytes`, computed while writing.
    pub parquet_sha: String,
}

/// `NA_integer64_`.
const NA_I64_BITS: u64 = 0x8000_0000_0000_0000;
/// Values sampled to judge whether a column is distinct throughout.
const DISTINCT_SAMPLE: usize = 16_384;
/// Microseconds per day (exclusive upper bound of a Time64 value).
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Serialise a data frame to parquet (see the module docs for the mapping).
///
/// `columns` all have length `nrow`; `df_class` is the data frame's class
/// vector, recorded in the metadata.
pub fn write_parquet(columns: &[NamedColumn<'_>], nrow: usize, df_class: Option<&[String]>) -> Result<Written> {
    let (bytes, parquet_sha, _) = write_parquet_into(columns, nrow, df_class, Vec::new())?;
    Ok(Written { bytes, parquet_sha })
}

/// [`write_parquet`] into any sink (a staged store object: the file is
/// written while it is encoded, never held whole in memory). Returns the
/// sink, the SHA-256 of the bytes written and their number.
///
/// Row groups are encoded column-parallel; a finished row group is appended
/// to the sink by a writer thread while the next one is encoded.
pub fn write_parquet_into<W: Write + Send>(
    columns: &[NamedColumn<'_>],
    nrow: usize,
    df_class: Option<&[String]>,
    sink: W,
) -> Result<(W, String, u64)> {
    write_parquet_with(columns, nrow, df_class, sink, true)
}

/// [`write_parquet_into`]; with `direct`, string and factor chunks that fit
/// are written by [`super::dict`] instead of Arrow's byte-array writer
/// (tests compare the two).
pub(super) fn write_parquet_with<W: Write + Send>(
    columns: &[NamedColumn<'_>],
    nrow: usize,
    df_class: Option<&[String]>,
    sink: W,
    direct: bool,
) -> Result<(W, String, u64)> {
    if columns.is_empty() {
        return Err(Error::input("cannot write a table with no columns to parquet"));
    }
    for c in columns {
        if c.column.len() != nrow {
            return Err(Error::input(format!(
                "column '{}' has {} values but the table has {} rows",
                c.name,
                c.column.len(),
                nrow
            )));
        }
    }

    let threads = super::thread_count(nrow.saturating_mul(columns.len()));

    // Decide each column's Arrow encoding (one pass over values that need a check).
    let order: Vec<usize> = (0..columns.len()).collect();
    let encs: Vec<Enc<'_, '_>> =
        super::par_map(&order, threads, |i| plan_column(&columns[i]).map_err(|e| annotate(e, &columns[i].name)))?
        .into_iter()
        .collect::<Result<Vec<_>>>()?;

    let fields: Vec<Field> = columns.iter().zip(&encs).map(|(c, e)| e.field(&c.name)).collect();
    let schema = Arc::new(Schema::new(fields));

    let meta = DatomMeta {
        format: DATOM_META_FORMAT,
        df_class: df_class.map(|d| d.to_vec()),
        columns: columns.iter().map(column_meta).collect::<Result<Vec<_>>>()?,
    };
    let meta_json = serde_json::to_string(&meta)?;

    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(true)
        .set_max_row_group_row_count(Some(MAX_ROWS_PER_GROUP))
        .set_key_value_metadata(Some(vec![KeyValue::new(DATOM_META_KEY.to_string(), meta_json)]));
    // A fixed-width column whose values are (nearly) all distinct would fill a
    // dictionary page and then fall back to plain pages: skip the attempt.
    for (c, e) in columns.iter().zip(&encs) {
        if e.distinct_throughout(nrow) {
            props = props.set_column_dictionary_enabled(ColumnPath::new(vec![c.name.clone()]), false);
        }
    }
    let props = props.build();
    let options = ArrowWriterOptions::new().with_properties(props);
    let sink = HashSink { inner: sink, hasher: Sha256::new(), len: 0 };
    let writer = ArrowWriter::try_new_with_options(sink, Arc::clone(&schema), options)?;
    let (file_writer, factory) = writer.into_serialized_writer()?;
    let descrs: Vec<ColumnDescPtr> =
        (0..file_writer.schema_descr().num_columns()).map(|i| file_writer.schema_descr().column(i)).collect();
    if descrs.len() != encs.len() {
        return Err(Error::internal("parquet writer: leaf columns do not match the schema"));
    }

    // Encoding cost estimates, to hand the heaviest columns out first.
    let mut cost_order: Vec<usize> = (0..encs.len()).collect();
    cost_order.sort_by_key(|&i| std::cmp::Reverse(encs[i].cost()));

    let strs: Vec<&StrValues<'_>> = encs
        .iter()
        .filter_map(|e| match e {
            Enc::Utf8(s) => Some(*s),
            _ => None,
        })
        .collect();
    let ranges = plan_ranges(nrow, &strs, MAX_ROWS_PER_GROUP, MAX_CHUNK_STRING_BYTES);
    let sink = std::thread::scope(|s| -> Result<HashSink<W>> {
        // the writer: appends finished row groups in order
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Chunk>>(1);
        let appender = std::thread::Builder::new()
            .name("datom-parquet-writer".into())
            .spawn_scoped(s, move || -> Result<HashSink<W>> {
                let mut file_writer = file_writer;
                for chunks in rx {
                    let mut rg_writer = file_writer.next_row_group()?;
                    for chunk in chunks {
                        match chunk {
                            Chunk::Arrow(c) => c.append_to_row_group(&mut rg_writer)?,
                            Chunk::Direct(bytes, close) => rg_writer.append_column(&bytes, close)?,
                        }
                    }
                    rg_writer.close()?;
                }
                Ok(file_writer.into_inner()?)
            })
            .map_err(|e| Error::internal(format!("cannot start the parquet writer thread: {e}")))?;
        let encoded = (|| -> Result<()> {
            for (rg, range) in ranges.iter().enumerate() {
                let writers: Vec<Mutex<Option<ArrowColumnWriter>>> =
                    factory.create_column_writers(rg)?.into_iter().map(|w| Mutex::new(Some(w))).collect();
                if writers.len() != encs.len() {
                    return Err(Error::internal("parquet writer: leaf columns do not match the schema"));
                }
                let chunks = super::par_map(&cost_order, threads, |i| {
                    let writer = writers[i]
                        .lock()
                        .map_err(|_| Error::internal("parquet writer: poisoned lock"))?
                        .take()
                        .ok_or_else(|| Error::internal("parquet writer: column writer used twice"))?;
                    let dict = if direct { direct_dict(&encs[i], range.clone()) } else { None };
                    let chunk = match dict {
                        Some(d) => super::dict::write_chunk(&d, Arc::clone(&descrs[i])).map(|(b, c)| Chunk::Direct(b, c)),
                        None => encode_chunk(&encs[i], schema.field(i), range.clone(), writer).map(Chunk::Arrow),
                    }
                    .map_err(|e| annotate(e, &columns[i].name));
                    crate::runtime::progress::add("values", range.len() as u64);
                    chunk
                })?;
                let chunks = chunks.into_iter().collect::<Result<Vec<_>>>()?;
                if tx.send(chunks).is_err() {
                    // the writer stopped on an error: its result says which
                    return Ok(());
                }
            }
            Ok(())
        })();
        drop(tx);
        let written = appender.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        encoded?;
        written
    })?;
    let digest = sink.hasher.finalize();
    Ok((sink.inner, hex_lower(digest.as_slice()), sink.len))
}

/// A finished column chunk of a row group.
enum Chunk {
    /// Encoded by Arrow's column writer.
    Arrow(ArrowColumnChunk),
    /// Dictionary pages written by [`super::dict`].
    Direct(bytes::Bytes, parquet::column::writer::ColumnCloseResult),
}

/// The dictionary of rows `r` of a string or factor column, when
/// [`super::dict`] can write it.
fn direct_dict<'a>(enc: &Enc<'_, 'a>, r: Range<usize>) -> Option<super::dict::Dict<'a>> {
    match enc {
        Enc::Utf8(s) => super::dict::Dict::from_strings(&s.values[r]),
        Enc::Dict { codes, levels, .. } => super::dict::Dict::from_codes(&codes[r], levels),
        _ => None,
    }
}

fn annotate(mut e: Error, name: &str) -> Error {
    e.message = format!("column '{name}': {}", e.message);
    e
}

/// A `Write` sink that passes the bytes on and hashes them on the way.
struct HashSink<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> Write for HashSink<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        self.hasher.update(&b[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(b)?;
        self.hasher.update(b);
        self.len += b.len() as u64;
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// How one column is encoded.
enum Enc<'c, 'a> {
    Bool(&'a [i32]),
    Int32(&'a [i32]),
    /// Float64 of the R values (any storage), `NA` -> null.
    F64(NumValues<'a>),
    Utf8(&'c StrValues<'a>),
    Dict { codes: &'a [i32], values: ArrayRef, levels: &'c [Option<&'a [u8]>], ordered: bool },
    Date32(NumValues<'a>),
    TimestampUs { secs: NumValues<'a>, tz: Option<Arc<str>> },
    DurationUs { values: NumValues<'a>, factor: f64 },
    Time64Us { values: NumValues<'a>, factor: f64 },
    Int64(&'a [u64]),
}

impl<'c, 'a> Enc<'c, 'a> {
    fn field(&self, name: &str) -> Field {
        let dt = match self {
            Enc::Bool(_) => DataType::Boolean,
            Enc::Int32(_) => DataType::Int32,
            Enc::F64(_) => DataType::Float64,
            Enc::Utf8(_) => DataType::Utf8,
            Enc::Dict { .. } => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            Enc::Date32(_) => DataType::Date32,
            Enc::TimestampUs { tz, .. } => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            Enc::DurationUs { .. } => DataType::Duration(TimeUnit::Microsecond),
            Enc::Time64Us { .. } => DataType::Time64(TimeUnit::Microsecond),
            Enc::Int64(_) => DataType::Int64,
        };
        let f = Field::new(name, dt, true);
        match self {
            Enc::Dict { ordered, .. } => f.with_dict_is_ordered(*ordered),
            _ => f,
        }
    }

    /// A sample says the column's values are nearly all distinct, in a table
    /// long enough for them to overflow a dictionary page: dictionary encoding
    /// would be tried and abandoned in every row group. Only fixed-width
    /// columns are judged (strings and factors are dictionaries already).
    fn distinct_throughout(&self, nrow: usize) -> bool {
        let width = match self {
            Enc::F64(_) | Enc::TimestampUs { .. } | Enc::DurationUs { .. } | Enc::Time64Us { .. } | Enc::Int64(_) => 8,
            Enc::Int32(_) | Enc::Date32(_) => 4,
            _ => return false,
        };
        // the rows whose distinct values would fill the dictionary page, twice over
        if nrow < 2 * DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT / width {
            return false;
        }
        // rows spread over the whole column, not its first rows (a table
        // sorted by a key can start with distinct values that repeat later)
        let step = (nrow / DISTINCT_SAMPLE).max(1);
        let mut seen: std::collections::HashSet<u64, crate::fxhash::FxBuild> = Default::default();
        let mut sampled = 0usize;
        for i in (0..nrow).step_by(step) {
            let bits = match self {
                Enc::F64(v) | Enc::TimestampUs { secs: v, .. } | Enc::DurationUs { values: v, .. } | Enc::Time64Us { values: v, .. } | Enc::Date32(v) => {
                    match num_at(v, i) {
                        Some(x) => x.to_bits(),
                        None => continue,
                    }
                }
                Enc::Int32(v) => match v[i] {
                    NA_INTEGER => continue,
                    x => x as u64,
                },
                Enc::Int64(v) => match v[i] {
                    NA_I64_BITS => continue,
                    x => x,
                },
                _ => return false,
            };
            seen.insert(bits);
            sampled += 1;
            if sampled == DISTINCT_SAMPLE {
                break;
            }
        }
        sampled == DISTINCT_SAMPLE && seen.len() * 20 > sampled * 19
    }

    /// Rough encoding cost, for scheduling.
    fn cost(&self) -> usize {
        match self {
            Enc::Bool(v) => v.len(),
            Enc::Int32(v) => v.len() * 4,
            Enc::Dict { codes, .. } => codes.len() * 4,
            Enc::Date32(v) => v.len() * 4,
            Enc::F64(v) => v.len() * 8,
            Enc::TimestampUs { secs, .. } => secs.len() * 8,
            Enc::DurationUs { values, .. } | Enc::Time64Us { values, .. } => values.len() * 8,
            Enc::Int64(v) => v.len() * 8,
            Enc::Utf8(s) => s.values.iter().map(|v| v.map_or(0, |b| b.len()) + 8).sum(),
        }
    }
}

/// Value `i` of numeric storage as an R double (`None` for NA).
#[inline]
fn num_at(v: &NumValues<'_>, i: usize) -> Option<f64> {
    match v {
        NumValues::Logical(s) | NumValues::Integer(s) => {
            let x = s[i];
            if x == NA_INTEGER {
                None
            } else {
                Some(x as f64)
            }
        }
        NumValues::Double(s) => {
            let x = s[i];
            if is_na_real(x) {
                None
            } else {
                Some(x)
            }
        }
    }
}

fn all_non_na(v: &NumValues<'_>, mut ok: impl FnMut(f64) -> bool) -> bool {
    (0..v.len()).all(|i| num_at(v, i).is_none_or(&mut ok))
}

/// Seconds -> microseconds as stored for timestamps (saturating).
#[inline]
fn secs_to_micros(v: f64) -> i64 {
    (v * 1e6).round() as i64
}

/// difftime value -> microseconds (saturating).
#[inline]
fn units_to_micros(v: f64, factor: f64) -> i64 {
    (v * factor * 1e6).round() as i64
}

fn plan_column<'c, 'a>(c: &'c NamedColumn<'a>) -> Result<Enc<'c, 'a>> {
    Ok(match &c.column {
        Column::Num(NumValues::Logical(v)) => Enc::Bool(v),
        Column::Num(NumValues::Integer(v)) => Enc::Int32(v),
        Column::Num(v @ NumValues::Double(_)) => Enc::F64(*v),
        Column::Chr(s) => Enc::Utf8(s),
        Column::Factor { codes, levels, ordered } => {
            Enc::Dict { codes, values: Arc::new(levels_array(levels)?), levels: &levels.values, ordered: *ordered }
        }
        Column::Date(v) => match v {
            NumValues::Logical(_) | NumValues::Integer(_) => Enc::Date32(*v),
            NumValues::Double(_) => {
                if all_non_na(v, |x| ((x as i32) as f64).to_bits() == x.to_bits()) {
                    Enc::Date32(*v)
                } else {
                    Enc::F64(*v)
                }
            }
        },
        Column::Time { secs, tzone } => {
            let exact = match secs {
                NumValues::Logical(_) | NumValues::Integer(_) => true,
                NumValues::Double(_) => {
                    all_non_na(secs, |x| micros_to_secs(secs_to_micros(x)).to_bits() == x.to_bits())
                }
            };
            if exact {
                let tz = tzone.as_deref().filter(|t| !t.is_empty()).map(Arc::<str>::from);
                Enc::TimestampUs { secs: *secs, tz }
            } else {
                Enc::F64(*secs)
            }
        }
        Column::Duration { values, units } => match units_factor(units) {
            None => Enc::F64(*values),
            Some(factor) => {
                let mut in_day = true;
                let exact = all_non_na(values, |x| {
                    let i = units_to_micros(x, factor);
                    in_day &= (0..MICROS_PER_DAY).contains(&i);
                    micros_to_units(i, factor).to_bits() == x.to_bits()
                });
                let hms = c.info.class.as_ref().is_some_and(|cl| cl.iter().any(|s| s == "hms"));
                if !exact {
                    Enc::F64(*values)
                } else if hms && in_day {
                    Enc::Time64Us { values: *values, factor }
                } else {
                    Enc::DurationUs { values: *values, factor }
                }
            }
        },
        Column::I64(v) => Enc::Int64(v),
    })
}

fn levels_array(levels: &StrValues<'_>) -> Result<StringArray> {
    utf8_array(&levels.values).map_err(|e| Error::new(e.kind, format!("factor levels: {}", e.message)))
}

/// The `datom.r` entry of a column.
fn column_meta(c: &NamedColumn<'_>) -> Result<ColumnMeta> {
    let mut m = ColumnMeta { info: c.info.clone(), levels: None, ordered: None };
    if let Column::Factor { levels, ordered, .. } = &c.column {
        let lv = levels
            .values
            .iter()
            .map(|l| match l {
                None => Ok(None),
                Some(b) => std::str::from_utf8(b)
                    .map(|s| Some(s.to_string()))
                    .map_err(|_| Error::input(format!("column '{}': factor level is not valid UTF-8", c.name))),
            })
            .collect::<Result<Vec<_>>>()?;
        m.levels = Some(lv);
        m.ordered = Some(*ordered);
    }
    Ok(m)
}

/// Row ranges of the record batches / row groups: at most `max_rows` rows,
/// and cut early so that no string column holds more than `max_bytes` bytes
/// in one chunk (a single longer string gets a chunk of its own).
pub(super) fn plan_ranges(
    nrow: usize,
    strs: &[&StrValues<'_>],
    max_rows: usize,
    max_bytes: usize,
) -> Vec<Range<usize>> {
    let max_rows = max_rows.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < nrow {
        let mut end = start.saturating_add(max_rows).min(nrow);
        for s in strs {
            let mut acc = 0usize;
            for i in start..end {
                acc = acc.saturating_add(s.values[i].map_or(0, |b| b.len()));
                if acc > max_bytes && i > start {
                    end = i;
                    break;
                }
            }
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// Build the Arrow array of rows `r` of a column and encode it.
fn encode_chunk(
    enc: &Enc<'_, '_>,
    field: &Field,
    r: Range<usize>,
    mut writer: ArrowColumnWriter,
) -> Result<ArrowColumnChunk> {
    let array = build_array(enc, r)?;
    for leaf in compute_leaves(field, &array)? {
        writer.write(&leaf)?;
    }
    drop(array);
    Ok(writer.close()?)
}

fn nulls_from(len: usize, valid: impl FnMut(usize) -> bool) -> Option<NullBuffer> {
    let nb = NullBuffer::new(BooleanBuffer::collect_bool(len, valid));
    if nb.null_count() == 0 {
        None
    } else {
        Some(nb)
    }
}

fn int_nulls(s: &[i32]) -> Option<NullBuffer> {
    nulls_from(s.len(), |i| s[i] != NA_INTEGER)
}

fn num_nulls(v: &NumValues<'_>, r: Range<usize>) -> Option<NullBuffer> {
    match v {
        NumValues::Logical(s) | NumValues::Integer(s) => int_nulls(&s[r]),
        NumValues::Double(s) => {
            let s = &s[r];
            nulls_from(s.len(), |i| !is_na_real(s[i]))
        }
    }
}

/// Map the non-NA values of rows `r` (NA slots get `T::default()`).
fn map_num<T: Default + Copy>(
    v: &NumValues<'_>,
    r: Range<usize>,
    fi: impl Fn(i32) -> T,
    fd: impl Fn(f64) -> T,
) -> Vec<T> {
    match v {
        NumValues::Logical(s) | NumValues::Integer(s) => {
            s[r].iter().map(|&x| if x == NA_INTEGER { T::default() } else { fi(x) }).collect()
        }
        NumValues::Double(s) => s[r].iter().map(|&x| if is_na_real(x) { T::default() } else { fd(x) }).collect(),
    }
}

fn build_array(enc: &Enc<'_, '_>, r: Range<usize>) -> Result<ArrayRef> {
    Ok(match enc {
        Enc::Bool(v) => {
            let s = &v[r];
            let values = BooleanBuffer::collect_bool(s.len(), |i| s[i] != 0 && s[i] != NA_INTEGER);
            Arc::new(BooleanArray::new(values, int_nulls(s)))
        }
        Enc::Int32(v) => {
            let s = &v[r];
            Arc::new(Int32Array::new(ScalarBuffer::from(s.to_vec()), int_nulls(s)))
        }
        Enc::F64(v) => {
            let nulls = num_nulls(v, r.clone());
            let values: Vec<f64> = match v {
                NumValues::Double(s) => s[r].to_vec(),
                _ => map_num(v, r, |x| x as f64, |x| x),
            };
            Arc::new(Float64Array::new(ScalarBuffer::from(values), nulls))
        }
        Enc::Utf8(s) => Arc::new(utf8_array(&s.values[r])?),
        Enc::Dict { codes, values, .. } => {
            let s = &codes[r];
            let n = values.len() as i64;
            let mut bad = None;
            let keys: Vec<i32> = s
                .iter()
                .map(|&k| {
                    if k == NA_INTEGER {
                        0
                    } else if k < 1 || k as i64 > n {
                        bad = Some(k);
                        0
                    } else {
                        k - 1
                    }
                })
                .collect();
            if let Some(k) = bad {
                return Err(Error::input(format!("factor code {k} is outside its {n} levels")));
            }
            let keys = Int32Array::new(ScalarBuffer::from(keys), int_nulls(s));
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, Arc::clone(values))?)
        }
        Enc::Date32(v) => {
            let nulls = num_nulls(v, r.clone());
            let values: Vec<i32> = match v {
                NumValues::Logical(s) | NumValues::Integer(s) => s[r].to_vec(),
                NumValues::Double(_) => map_num(v, r, |x| x, |x| x as i32),
            };
            Arc::new(Date32Array::new(ScalarBuffer::from(values), nulls))
        }
        Enc::TimestampUs { secs, tz } => {
            let nulls = num_nulls(secs, r.clone());
            let values = map_num(secs, r, |x| x as i64 * 1_000_000, secs_to_micros);
            Arc::new(TimestampMicrosecondArray::new(ScalarBuffer::from(values), nulls).with_timezone_opt(tz.clone()))
        }
        Enc::DurationUs { values, factor } => {
            let f = *factor;
            let nulls = num_nulls(values, r.clone());
            let v = map_num(values, r, |x| units_to_micros(x as f64, f), |x| units_to_micros(x, f));
            Arc::new(DurationMicrosecondArray::new(ScalarBuffer::from(v), nulls))
        }
        Enc::Time64Us { values, factor } => {
            let f = *factor;
            let nulls = num_nulls(values, r.clone());
            let v = map_num(values, r, |x| units_to_micros(x as f64, f), |x| units_to_micros(x, f));
            Arc::new(Time64MicrosecondArray::new(ScalarBuffer::from(v), nulls))
        }
        Enc::Int64(v) => {
            let s = &v[r];
            let values: Vec<i64> = s.iter().map(|&u| u as i64).collect();
            let nulls = nulls_from(s.len(), |i| s[i] != NA_I64_BITS);
            Arc::new(Int64Array::new(ScalarBuffer::from(values), nulls))
        }
    })
}

/// One Utf8 array over borrowed strings: one values buffer, i32 offsets.
fn utf8_array(vals: &[Option<&[u8]>]) -> Result<StringArray> {
    let total: usize = vals.iter().map(|v| v.map_or(0, |b| b.len())).sum();
    if total > i32::MAX as usize {
        return Err(Error::new(
            Kind::Unsupported,
            format!("{total} bytes of strings do not fit one Arrow string chunk"),
        ));
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(total);
    let mut offsets: Vec<i32> = Vec::with_capacity(vals.len() + 1);
    offsets.push(0);
    for v in vals {
        if let Some(b) = v {
            bytes.extend_from_slice(b);
        }
        offsets.push(bytes.len() as i32);
    }
    let nulls = nulls_from(vals.len(), |i| vals[i].is_some());
    StringArray::try_new(OffsetBuffer::new(ScalarBuffer::from(offsets)), Buffer::from_vec(bytes), nulls)
        .map_err(|e| Error::input(format!("strings are not valid UTF-8 ({e})")))
}
