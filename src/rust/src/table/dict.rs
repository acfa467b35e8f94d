//! Dictionary-encoded string columns written straight to parquet pages.
//!
//! Arrow's byte-array writer interns every row's string (hash and compare the
//! bytes) and compares every row with the running min and max, even for a
//! factor whose dictionary is known. Here the dictionary is built from what
//! R already has: a factor's codes, or for a character column the address of
//! each string (R keeps one copy of each distinct string, so equal addresses
//! are equal strings; equal strings at different addresses are merged by
//! content). Statistics come from the ranks of the (few) dictionary values.
//!
//! The pages are what Arrow's writer produces for the same chunk with the
//! same properties (Snappy, version 1 data pages of at most
//! `DEFAULT_DATA_PAGE_ROW_COUNT_LIMIT` rows, a PLAIN dictionary page in
//! first-seen order, RLE_DICTIONARY indices, RLE definition levels, chunk
//! statistics, a column index and an offset index), so any reader sees the
//! same file. A chunk this path cannot write exactly like that (a dictionary
//! over `DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT` bytes, a value longer than the
//! statistics truncation length, no value at all) is left to Arrow.

use bytes::Bytes;
use parquet::basic::{BoundaryOrder, Compression, Encoding, PageType, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::file::metadata::{
    ColumnChunkMetaData, ColumnIndexBuilder, OffsetIndexBuilder, PageEncodingStats,
};
use parquet::file::properties::{
    DEFAULT_COLUMN_INDEX_TRUNCATE_LENGTH, DEFAULT_DATA_PAGE_ROW_COUNT_LIMIT,
    DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT, DEFAULT_STATISTICS_TRUNCATE_LENGTH,
};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use crate::column::NA_INTEGER;
use crate::error::{Error, Result};
use crate::fxhash::FxBuild;

/// A row's key when the value is NA.
const NULL_KEY: u32 = u32::MAX;
const UNSET: u32 = u32::MAX;

/// The longest value this path writes: min/max statistics and the column
/// index would truncate a longer one.
fn max_value_len() -> usize {
    DEFAULT_STATISTICS_TRUNCATE_LENGTH.unwrap_or(usize::MAX).min(DEFAULT_COLUMN_INDEX_TRUNCATE_LENGTH.unwrap_or(usize::MAX))
}

/// One chunk of a column as a dictionary: distinct values in the order they
/// first appear, and each row's index into them.
#[derive(Debug)]
pub(super) struct Dict<'a> {
    values: Vec<&'a [u8]>,
    keys: Vec<u32>,
    /// Bytes of the PLAIN dictionary page (length prefixes included).
    page_bytes: usize,
}

impl<'a> Dict<'a> {
    fn with_rows(n: usize) -> Self {
        Dict { values: Vec::new(), keys: Vec::with_capacity(n), page_bytes: 0 }
    }

    /// Add a new distinct value; `false` when the chunk no longer fits this
    /// path (or the value is not UTF-8: Arrow's path reports that).
    fn add(&mut self, v: &'a [u8]) -> bool {
        self.page_bytes += 4 + v.len();
        self.values.push(v);
        v.len() <= max_value_len()
            && self.page_bytes <= DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT
            && std::str::from_utf8(v).is_ok()
    }

    fn done(self) -> Option<Self> {
        (!self.values.is_empty()).then_some(self)
    }

    /// The dictionary of factor `codes` (1-based, `NA_INTEGER` for NA) over
    /// `levels`; `None` when this path does not apply (see the module docs),
    /// or a code is out of range (Arrow's path reports it).
    pub(super) fn from_codes(codes: &[i32], levels: &[Option<&'a [u8]>]) -> Option<Self> {
        let mut d = Dict::with_rows(codes.len());
        let mut remap = vec![UNSET; levels.len()];
        // two levels with the same text would be two dictionary entries
        let mut seen: std::collections::HashSet<&'a [u8], FxBuild> = Default::default();
        for &c in codes {
            if c == NA_INTEGER {
                d.keys.push(NULL_KEY);
                continue;
            }
            let k = usize::try_from(c).ok()?.checked_sub(1)?;
            let slot = remap.get_mut(k)?;
            if *slot == UNSET {
                *slot = d.values.len() as u32;
                // an NA level has no string to store
                let v = levels[k]?;
                if !seen.insert(v) || !d.add(v) {
                    return None;
                }
            }
            d.keys.push(*slot);
        }
        d.done()
    }

    /// The dictionary of strings (`None` for NA): equal addresses are the
    /// same string; different addresses with equal bytes are merged.
    pub(super) fn from_strings(vals: &[Option<&'a [u8]>]) -> Option<Self> {
        let mut d = Dict::with_rows(vals.len());
        let mut by_addr: std::collections::HashMap<(usize, usize), u32, FxBuild> = Default::default();
        let mut by_bytes: std::collections::HashMap<&'a [u8], u32, FxBuild> = Default::default();
        let mut last: Option<((usize, usize), u32)> = None;
        for v in vals {
            let Some(b) = v else {
                d.keys.push(NULL_KEY);
                continue;
            };
            let addr = (b.as_ptr() as usize, b.len());
            let key = match last {
                Some((a, k)) if a == addr => k,
                _ => {
                    let k = match by_addr.get(&addr) {
                        Some(&k) => k,
                        None => {
                            let k = match by_bytes.get(b) {
                                Some(&k) => k,
                                None => {
                                    let k = d.values.len() as u32;
                                    if !d.add(b) {
                                        return None;
                                    }
                                    by_bytes.insert(b, k);
                                    k
                                }
                            };
                            by_addr.insert(addr, k);
                            k
                        }
                    };
                    last = Some((addr, k));
                    k
                }
            };
            d.keys.push(key);
        }
        d.done()
    }
}

/// Append `values` (each below `2^width`) to `out` in parquet's RLE /
/// bit-packing hybrid encoding, without its length prefix: a run of 8 or
/// more equal values is one RLE run, everything else is bit-packed in
/// groups of 8 (the last group padded with zeros; the reader knows the
/// count).
pub(super) fn hybrid(values: &[u32], width: u8, out: &mut Vec<u8>) {
    let value_bytes = (width as usize).div_ceil(8);
    // literals waiting to be bit-packed (always whole groups of 8 when flushed mid-stream)
    let mut lit_start = 0usize;
    let mut i = 0usize;
    let n = values.len();
    while i < n {
        let v = values[i];
        let mut j = i + 1;
        while j < n && values[j] == v {
            j += 1;
        }
        // complete the pending literal group from this run first
        let pad = (8 - (i - lit_start) % 8) % 8;
        if j - i >= pad + 8 {
            let run_start = i + pad;
            bit_packed(&values[lit_start..run_start], width, out);
            // RLE run: header (count << 1), the value in ceil(width / 8) bytes
            uleb128(((j - run_start) as u64) << 1, out);
            out.extend_from_slice(&v.to_le_bytes()[..value_bytes]);
            lit_start = j;
        }
        i = j;
    }
    bit_packed(&values[lit_start..], width, out);
}

/// One bit-packed run of `values` (empty: nothing), LSB first.
fn bit_packed(values: &[u32], width: u8, out: &mut Vec<u8>) {
    if values.is_empty() {
        return;
    }
    let groups = values.len().div_ceil(8);
    uleb128(((groups as u64) << 1) | 1, out);
    let start = out.len();
    out.resize(start + groups * width as usize, 0);
    let dst = &mut out[start..];
    let mut bit = 0usize;
    for &v in values {
        let mut v = v as u64;
        let mut left = width as usize;
        while left > 0 {
            let byte = bit / 8;
            let off = bit % 8;
            let take = (8 - off).min(left);
            dst[byte] |= ((v & ((1u64 << take) - 1)) << off) as u8;
            v >>= take;
            bit += take;
            left -= take;
        }
    }
}

fn uleb128(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn bit_width(max: u64) -> u8 {
    (64 - max.leading_zeros()) as u8
}

fn perr(e: parquet::errors::ParquetError) -> Error {
    Error::from(e)
}

/// Write `dict` as one column chunk of the nullable byte-array column
/// `descr`: its bytes (offsets relative to their start) and what the row
/// group needs to splice them in.
pub(super) fn write_chunk(dict: &Dict<'_>, descr: ColumnDescPtr) -> Result<(Bytes, ColumnCloseResult)> {
    if descr.physical_type() != PhysicalType::BYTE_ARRAY || descr.max_def_level() != 1 || descr.max_rep_level() != 0 {
        return Err(Error::internal("dictionary pages: not a flat nullable byte-array column"));
    }
    let n_values = dict.values.len();
    // rank of each value in byte order: statistics compare ranks, not bytes
    let mut order: Vec<u32> = (0..n_values as u32).collect();
    order.sort_unstable_by(|&a, &b| dict.values[a as usize].cmp(dict.values[b as usize]));
    let mut rank = vec![0u32; n_values];
    for (r, &k) in order.iter().enumerate() {
        rank[k as usize] = r as u32;
    }
    let by_rank = |r: u32| dict.values[order[r as usize] as usize];

    // Snappy's raw format, as parquet's codec writes it
    let mut snappy = snap::raw::Encoder::new();
    let mut compress = |raw: &[u8]| -> Result<Bytes> {
        snappy
            .compress_vec(raw)
            .map(Bytes::from)
            .map_err(|e| Error::internal(format!("dictionary pages: snappy: {e}")))
    };

    let mut sink = TrackedWrite::new(Vec::new());
    let mut total_compressed = 0u64;
    let mut total_uncompressed = 0u64;
    let mut offsets = OffsetIndexBuilder::new();
    let mut column_index = ColumnIndexBuilder::new(PhysicalType::BYTE_ARRAY);
    let mut data_offset = None;
    let mut data_pages = 0i32;
    let (mut nulls, mut unencoded) = (0u64, 0i64);
    let (mut chunk_min, mut chunk_max) = (u32::MAX, 0u32);
    // boundary order across pages with values, as Arrow's writer decides it
    let (mut ascending, mut descending) = (true, true);
    let mut last_page: Option<(u32, u32)> = None;
    {
        let mut writer = SerializedPageWriter::new(&mut sink);

        // the dictionary page: PLAIN, values in first-seen order
        let mut plain = Vec::with_capacity(dict.page_bytes);
        for v in &dict.values {
            plain.extend_from_slice(&(v.len() as u32).to_le_bytes());
            plain.extend_from_slice(v);
        }
        let page = Page::DictionaryPage {
            buf: compress(&plain)?,
            num_values: n_values as u32,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        let spec = writer.write_page(CompressedPage::new(page, plain.len())).map_err(perr)?;
        total_compressed += spec.compressed_size as u64;
        total_uncompressed += spec.uncompressed_size as u64;

        let width = bit_width(n_values.saturating_sub(1) as u64);
        let mut indices: Vec<u32> = Vec::with_capacity(DEFAULT_DATA_PAGE_ROW_COUNT_LIMIT);
        let mut levels: Vec<u32> = Vec::with_capacity(DEFAULT_DATA_PAGE_ROW_COUNT_LIMIT);
        for rows in dict.keys.chunks(DEFAULT_DATA_PAGE_ROW_COUNT_LIMIT) {
            // definition levels: a 4-byte length, then runs of width 1;
            // then the indices' bit width and their runs
            indices.clear();
            levels.clear();
            let (mut lo, mut hi, mut page_nulls, mut page_bytes) = (u32::MAX, 0u32, 0i64, 0i64);
            for &k in rows {
                if k == NULL_KEY {
                    levels.push(0);
                    page_nulls += 1;
                } else {
                    levels.push(1);
                    indices.push(k);
                    let r = rank[k as usize];
                    lo = lo.min(r);
                    hi = hi.max(r);
                    page_bytes += dict.values[k as usize].len() as i64;
                }
            }
            let mut raw = vec![0u8; 4];
            hybrid(&levels, 1, &mut raw);
            let def_len = (raw.len() - 4) as u32;
            raw[..4].copy_from_slice(&def_len.to_le_bytes());
            raw.push(width);
            hybrid(&indices, width, &mut raw);

            let page = Page::DataPage {
                buf: compress(&raw)?,
                num_values: rows.len() as u32,
                encoding: Encoding::RLE_DICTIONARY,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            };
            let spec = writer.write_page(CompressedPage::new(page, raw.len())).map_err(perr)?;
            total_compressed += spec.compressed_size as u64;
            total_uncompressed += spec.uncompressed_size as u64;
            data_offset.get_or_insert(spec.offset as i64);
            data_pages += 1;
            offsets.append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
            offsets.append_row_count(rows.len() as i64);
            offsets.append_unencoded_byte_array_data_bytes(Some(page_bytes));

            if page_nulls as usize == rows.len() {
                column_index.append(true, vec![], vec![], page_nulls, None);
            } else {
                column_index.append(false, by_rank(lo).to_vec(), by_rank(hi).to_vec(), page_nulls, None);
                if let Some((l_lo, l_hi)) = last_page {
                    if lo < l_lo || hi < l_hi {
                        ascending = false;
                    }
                    if lo > l_lo || hi > l_hi {
                        descending = false;
                    }
                }
                last_page = Some((lo, hi));
                chunk_min = chunk_min.min(lo);
                chunk_max = chunk_max.max(hi);
            }
            nulls += page_nulls as u64;
            unencoded += page_bytes;
        }
        writer.close().map_err(perr)?;
    }
    column_index.set_boundary_order(if ascending {
        BoundaryOrder::ASCENDING
    } else if descending {
        BoundaryOrder::DESCENDING
    } else {
        BoundaryOrder::UNORDERED
    });

    let stats = if chunk_min == u32::MAX {
        ValueStatistics::<ByteArray>::new(None, None, None, Some(nulls), false)
    } else {
        ValueStatistics::new(
            Some(ByteArray::from(by_rank(chunk_min).to_vec())),
            Some(ByteArray::from(by_rank(chunk_max).to_vec())),
            None,
            Some(nulls),
            false,
        )
    };
    let encodings = [Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY];
    let metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(Compression::SNAPPY)
        .set_encodings_mask(parquet::basic::EncodingMask::new_from_encodings(encodings.iter()))
        .set_page_encoding_stats(vec![
            PageEncodingStats { page_type: PageType::DICTIONARY_PAGE, encoding: Encoding::PLAIN, count: 1 },
            PageEncodingStats { page_type: PageType::DATA_PAGE, encoding: Encoding::RLE_DICTIONARY, count: data_pages },
        ])
        .set_total_compressed_size(total_compressed as i64)
        .set_total_uncompressed_size(total_uncompressed as i64)
        .set_num_values(dict.keys.len() as i64)
        .set_data_page_offset(data_offset.unwrap_or(0))
        .set_dictionary_page_offset(Some(0))
        .set_statistics(Statistics::ByteArray(stats))
        .set_unencoded_byte_array_data_bytes(Some(unencoded))
        .build()
        .map_err(perr)?;
    let bytes = Bytes::from(sink.into_inner().map_err(perr)?);
    let close = ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: dict.keys.len() as u64,
        metadata,
        bloom_filter: None,
        column_index: Some(column_index.build().map_err(perr)?),
        offset_index: Some(offsets.build()),
    };
    Ok((bytes, close))
}
