//! `datom-cv1`: the canonical content hash of a data frame (dev/spec/FORMATS.md 3).
//!
//! The encoders stream straight from the borrowed column views into SHA-256
//! through a small fixed buffer; no encoded copy of a column is ever built.
//! Columns are independent, so they are digested in parallel.

use crate::column::{Column, NamedColumn, NumValues, StrValues, NA_INTEGER};
use sha2::{Digest, Sha256};

/// The algorithm tag recorded as `hash_algo`.
pub const HASH_ALGO: &str = "datom-cv1";

/// Canonical quiet NaN (dev/spec/FORMATS.md 3.3).
const CANON_NAN: u64 = 0x7ff8_0000_0000_0000;
const BUF: usize = 64 * 1024;

/// Result of hashing a table: `data_sha` and the per-column digests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableHash {
    pub data_sha: String,
    pub column_hashes: Vec<(String, String)>,
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0x0f) as usize] as char);
    }
    s
}

/// SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// [`sha256_hex`] of a large buffer, counted as progress in bytes (and
/// reported between 8 MiB pieces on R's main thread).
pub fn sha256_hex_progress(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    for piece in bytes.chunks(8 << 20) {
        h.update(piece);
        crate::runtime::progress::add("bytes", piece.len() as u64);
        crate::runtime::progress::pulse();
    }
    hex(&h.finalize())
}

/// The canonical 8-byte pattern of one double (dev/spec/FORMATS.md 3.3).
#[inline(always)]
fn canon_bits(v: f64) -> u64 {
    let b = v.to_bits();
    if (b & 0x7ff0_0000_0000_0000) == 0x7ff0_0000_0000_0000 && (b & 0x000f_ffff_ffff_ffff) != 0 {
        if (b & 0xffff_ffff) == 1954 {
            b
        } else {
            CANON_NAN
        }
    } else if (b & 0x7fff_ffff_ffff_ffff) == 0 {
        0
    } else {
        b
    }
}

/// Bits of R's `NA_real_`, the value integer and logical NA become.
const NA_REAL: u64 = crate::column::NA_REAL_BITS;

#[inline(always)]
fn int_bits(v: i32) -> u64 {
    if v == NA_INTEGER {
        NA_REAL
    } else if v == 0 {
        0
    } else {
        (v as f64).to_bits()
    }
}

/// A buffered feeder: values are encoded into a stack buffer and handed to
/// the hasher in 64 KiB blocks.
struct Feeder<'h> {
    h: &'h mut Sha256,
    buf: Vec<u8>,
}

impl<'h> Feeder<'h> {
    fn new(h: &'h mut Sha256) -> Self {
        Feeder { h, buf: Vec::with_capacity(BUF) }
    }
    #[inline(always)]
    fn push(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > BUF {
            self.flush();
            if bytes.len() > BUF {
                self.h.update(bytes);
                return;
            }
        }
        self.buf.extend_from_slice(bytes);
    }
    #[inline(always)]
    fn push_u64(&mut self, v: u64) {
        if self.buf.len() + 8 > BUF {
            self.flush();
        }
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            self.h.update(&self.buf);
            crate::runtime::progress::add("bytes", self.buf.len() as u64);
            self.buf.clear();
        }
    }
}

impl Drop for Feeder<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// `E_num` (dev/spec/FORMATS.md 3.3) streamed into `h`.
fn feed_num(h: &mut Sha256, v: &NumValues<'_>) {
    match v {
        NumValues::Double(xs) => feed_doubles(h, xs),
        NumValues::Integer(xs) | NumValues::Logical(xs) => {
            let mut f = Feeder::new(h);
            for &x in xs.iter() {
                f.push_u64(int_bits(x));
            }
        }
    }
}

/// Doubles: blocks that need no canonicalisation are fed straight from R's
/// memory on little-endian hosts; others are rewritten through the buffer.
fn feed_doubles(h: &mut Sha256, xs: &[f64]) {
    const BLOCK: usize = BUF / 8;
    let mut out: Vec<u8> = Vec::with_capacity(BUF);
    for block in xs.chunks(BLOCK) {
        let clean = cfg!(target_endian = "little")
            && block.iter().all(|v| {
                let b = v.to_bits();
                // finite non-zero, or the canonical NaN/NA patterns, need no rewrite
                (b & 0x7ff0_0000_0000_0000) != 0x7ff0_0000_0000_0000 && (b & 0x7fff_ffff_ffff_ffff) != 0
                    || canon_bits(*v) == b
            });
        if clean {
            // SAFETY: f64 has no padding; on little-endian its in-memory bytes are f64le.
            let bytes = unsafe { std::slice::from_raw_parts(block.as_ptr() as *const u8, block.len() * 8) };
            h.update(bytes);
        } else {
            out.clear();
            for v in block {
                out.extend_from_slice(&canon_bits(*v).to_le_bytes());
            }
            h.update(&out);
        }
        crate::runtime::progress::add("bytes", (block.len() * 8) as u64);
    }
}

/// `E_chr` (dev/spec/FORMATS.md 3.4): the NA mask, then each value and a NUL.
fn feed_strings<'a, I>(h: &mut Sha256, n: usize, values: impl Fn() -> I)
where
    I: Iterator<Item = Option<&'a [u8]>>,
{
    let mut f = Feeder::new(h);
    let mut mask = [0u8; 4096];
    let mut it = values();
    let mut done = 0;
    while done < n {
        let k = (n - done).min(mask.len());
        for m in mask.iter_mut().take(k) {
            *m = match it.next() {
                Some(None) => 1,
                _ => 0,
            };
        }
        f.push(&mask[..k]);
        done += k;
    }
    for v in values() {
        if let Some(s) = v {
            f.push(s);
        }
        f.push(&[0u8]);
    }
}

fn feed_str_values(h: &mut Sha256, s: &StrValues<'_>) {
    let vals = &s.values;
    feed_strings(h, vals.len(), || vals.iter().copied());
}

fn feed_factor(h: &mut Sha256, codes: &[i32], levels: &StrValues<'_>) {
    let lv = &levels.values;
    let label = move |c: i32| -> Option<&[u8]> {
        if c == NA_INTEGER || c < 1 || (c as usize) > lv.len() {
            None
        } else {
            lv[(c - 1) as usize]
        }
    };
    feed_strings(h, codes.len(), || codes.iter().map(move |&c| label(c)));
}

/// The number of bytes `column_digest` feeds for a column's payload (the
/// progress total of a hash, and the weight that balances the threads).
fn payload_len(c: &Column<'_>) -> usize {
    let strs = |vals: &mut dyn Iterator<Item = Option<&[u8]>>| -> usize { vals.map(|v| v.map_or(1, |b| b.len() + 1) + 1).sum() };
    match c {
        Column::Chr(s) => strs(&mut s.values.iter().copied()),
        Column::Factor { codes, levels, .. } => {
            // per level: its bytes + NUL + mask byte; NA / out of range: NUL + mask byte
            let per: Vec<usize> = levels.values.iter().map(|v| v.map_or(2, |b| b.len() + 2)).collect();
            codes
                .iter()
                .map(|&k| if k >= 1 && (k as usize) <= per.len() { per[(k - 1) as usize] } else { 2 })
                .sum()
        }
        other => other.len() * 8,
    }
}

/// The column digest `hex(SHA256(tag || name || 0x00 || payload))` (3.6).
pub fn column_digest(name: &str, col: &Column<'_>) -> String {
    let mut h = Sha256::new();
    h.update(col.tag().as_bytes());
    h.update(name.as_bytes());
    h.update([0u8]);
    match col {
        Column::Num(v) | Column::Date(v) => feed_num(&mut h, v),
        Column::Time { secs, .. } => feed_num(&mut h, secs),
        Column::Duration { values, units } => {
            feed_num(&mut h, values);
            h.update([0u8]);
            h.update(units.as_bytes());
        }
        Column::Chr(s) => feed_str_values(&mut h, s),
        Column::Factor { codes, levels, .. } => feed_factor(&mut h, codes, levels),
        Column::I64(bits) => {
            let mut f = Feeder::new(&mut h);
            for &b in bits.iter() {
                f.push_u64(b);
            }
        }
    }
    hex(&h.finalize())
}

/// Final digest from the per-column digests (3.7).
pub fn combine(nrow: usize, digests: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(HASH_ALGO.as_bytes());
    h.update((nrow as f64).to_le_bytes());
    h.update((digests.len() as f64).to_le_bytes());
    for d in digests {
        h.update(d.as_bytes());
    }
    hex(&h.finalize())
}

/// `data_sha` and `column_hashes` of a table. Columns are digested on up to
/// `threads` worker threads (columns are independent).
pub fn hash_table(columns: &[NamedColumn<'_>], nrow: usize, threads: usize) -> TableHash {
    let threads = threads.max(1).min(columns.len().max(1));
    let weights: Vec<usize> = columns.iter().map(|c| payload_len(&c.column)).collect();
    crate::runtime::progress::set_total("bytes", weights.iter().sum::<usize>() as u64);
    // Heaviest first, handed out one column at a time (R's main thread takes
    // its share and reports progress between columns).
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weights[i]));
    let digests = crate::par::par_map(&order, threads, |i| column_digest(&columns[i].name, &columns[i].column))
        // a worker's panic is re-raised (never an empty digest): the
        // binding layer's guard turns it into datom_error_internal
        .unwrap_or_else(|e| panic!("{}", e.message));
    let data_sha = combine(nrow, &digests);
    TableHash {
        data_sha,
        column_hashes: columns.iter().map(|c| c.name.clone()).zip(digests).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::{na_real, RColumnInfo};

    fn named<'a>(name: &str, column: Column<'a>) -> NamedColumn<'a> {
        NamedColumn { name: name.to_string(), column, info: RColumnInfo::default() }
    }
    fn strs<'a>(v: &[Option<&'a str>]) -> StrValues<'a> {
        StrValues { values: v.iter().map(|o| o.map(|s| s.as_bytes())).collect() }
    }

    #[test]
    fn sanity_abc() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn example_a() {
        let x = [1.0, na_real()];
        let cols = [named("x", Column::Num(NumValues::Double(&x)))];
        assert_eq!(column_digest("x", &cols[0].column), "5b195948d0ff660947c36afdc392a13708819bcd2ba3150c45267bae8beda665");
        assert_eq!(hash_table(&cols, 2, 1).data_sha, "af61b9c93c5b2d30bfc41485e6c479ed44f4605691c780659d9048b3de34eb7f");
    }

    #[test]
    fn example_b_c_d() {
        let s = Column::Chr(strs(&[Some("a"), None, Some("")]));
        assert_eq!(column_digest("s", &s), "121c94ffc706b9572dbb21fcc5265be012f4b3a5632ebc7aac644081dfc387eb");
        let d = [60.0, 120.0];
        let c = Column::Duration { values: NumValues::Double(&d), units: "secs".into() };
        assert_eq!(column_digest("d", &c), "12bbc87b53e97568c4f6853179af392c7b1bfc9cf87e385897d5587983246118");
        let days = [20454.0, na_real()];
        assert_eq!(
            column_digest("d", &Column::Date(NumValues::Double(&days))),
            "29274e68ef3ad60150c41e5f7782d3b738ec2915c4618c0a07b403c8d537a3eb"
        );
        let idays = [20454, NA_INTEGER];
        assert_eq!(
            column_digest("d", &Column::Date(NumValues::Integer(&idays))),
            "29274e68ef3ad60150c41e5f7782d3b738ec2915c4618c0a07b403c8d537a3eb"
        );
    }

    #[test]
    fn example_e_parallel_equals_serial() {
        let id = [1, 2, 3, 4];
        let score = [1.5, 2.5, 3.5, 4.5];
        let cols = [
            named("id", Column::Num(NumValues::Integer(&id))),
            named("score", Column::Num(NumValues::Double(&score))),
            named("grp", Column::Chr(strs(&[Some("a"), Some("a"), Some("b"), Some("b")]))),
        ];
        let want = "79b8bd92f5d8374ff6def4525c725a348517fd140535b34de6717575d603944a";
        for t in 1..4 {
            let th = hash_table(&cols, 4, t);
            assert_eq!(th.data_sha, want);
            assert_eq!(th.column_hashes[0].1, "297996590d071a87f59a8eaafc116eb86466ea387e3a8a5664c49ae303d150a3");
            assert_eq!(th.column_hashes[1].1, "5a0bbf12d1ba873579577b1f30f2c0b7fc291dbc05bef540f0d956b76d28e796");
            assert_eq!(th.column_hashes[2].1, "4f9cd03a5227c3e41695b538fc11cb8da83ac96801a8e1e2bf3b6eeb1bf86f81");
        }
    }

    #[test]
    fn numeric_extremes_golden() {
        let x = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1.0 / 3.0,
            2f64.powi(999),
            -(2f64.powi(-999)),
            f64::MAX,
            -f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            na_real(),
            f64::NAN,
        ];
        let cols = [named("x", Column::Num(NumValues::Double(&x)))];
        assert_eq!(hash_table(&cols, x.len(), 1).data_sha, "050d620ab1e57453b32da5d458994eb25e8c77bba6c0eb58893a7cea3960dec3");
    }

    #[test]
    fn nan_payloads_collapse_and_na_does_not() {
        let a = [1.0, f64::NAN];
        let b = [1.0, -f64::NAN];
        let c = [1.0, f64::from_bits(0x7ff0_0000_0000_0001)];
        let na = [1.0, na_real()];
        let d = |x: &[f64]| column_digest("x", &Column::Num(NumValues::Double(x)));
        assert_eq!(d(&a), d(&b));
        assert_eq!(d(&a), d(&c));
        assert_ne!(d(&a), d(&na));
        // NA with the quiet bit set is hashed verbatim, unlike a literal NA.
        let qna = [1.0, f64::from_bits(0x7ff8_0000_0000_07a2)];
        assert_ne!(d(&qna), d(&na));
    }

    #[test]
    fn num_relations_and_factor_equals_character() {
        let i = [0, 1, NA_INTEGER];
        let l = [0, 1, NA_INTEGER];
        let x = [0.0, 1.0, na_real()];
        let di = column_digest("x", &Column::Num(NumValues::Integer(&i)));
        assert_eq!(di, column_digest("x", &Column::Num(NumValues::Logical(&l))));
        assert_eq!(di, column_digest("x", &Column::Num(NumValues::Double(&x))));
        let codes = [1, 2, 1, NA_INTEGER];
        let f = Column::Factor { codes: &codes, levels: strs(&[Some("x"), Some("y"), Some("unused")]), ordered: false };
        let c = Column::Chr(strs(&[Some("x"), Some("y"), Some("x"), None]));
        assert_eq!(column_digest("f", &f), column_digest("f", &c));
    }

    #[test]
    fn integer64_verbatim() {
        let bits = [1.0f64.to_bits(), 2.0f64.to_bits()];
        let cols = [named("x", Column::I64(&bits))];
        assert_eq!(hash_table(&cols, 2, 1).data_sha, "7cfcb4881940449f9472226dc4ae4d8beb10bae3e0027b795b083901d16626a4");
    }

    #[test]
    fn long_columns_cross_buffer_boundaries() {
        // A column longer than the buffer hashes like the same bytes fed at once.
        let n = 200_003;
        let x: Vec<f64> = (0..n).map(|i| if i % 7 == 0 { -0.0 } else { i as f64 * 0.5 }).collect();
        let mut pre = Vec::new();
        pre.extend_from_slice(b"numx\0");
        for v in &x {
            pre.extend_from_slice(&canon_bits(*v).to_le_bytes());
        }
        assert_eq!(column_digest("x", &Column::Num(NumValues::Double(&x))), sha256_hex(&pre));
        let owned: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        let sv = StrValues { values: owned.iter().enumerate().map(|(i, s)| if i % 5 == 0 { None } else { Some(s.as_bytes()) }).collect() };
        let mut pre = Vec::new();
        pre.extend_from_slice(b"chrs\0");
        for v in &sv.values {
            pre.push(v.is_none() as u8);
        }
        for v in &sv.values {
            if let Some(b) = v {
                pre.extend_from_slice(b);
            }
            pre.push(0);
        }
        assert_eq!(column_digest("s", &Column::Chr(sv)), sha256_hex(&pre));
    }
}
