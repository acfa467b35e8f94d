//! Round-trip tests of the parquet writer and reader.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray,
    DurationMillisecondArray, Float32Array, Int16Array, Int32Array, Int64Array, RecordBatch,
    StringArray, Time32SecondArray, TimestampMillisecondArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use super::*;
use crate::column::{na_real, Column, NamedColumn, NumValues, RColumnInfo, StrValues, NA_INTEGER, NA_REAL_BITS};
use crate::error::Kind;

const NA64: u64 = 0x8000_0000_0000_0000;

fn info(class: &[&str], storage: &str) -> RColumnInfo {
    RColumnInfo {
        class: if class.is_empty() { None } else { Some(class.iter().map(|s| s.to_string()).collect()) },
        storage: storage.to_string(),
        ..Default::default()
    }
}

fn nc<'a>(name: &str, column: Column<'a>, info: RColumnInfo) -> NamedColumn<'a> {
    NamedColumn { name: name.to_string(), column, info }
}

fn strs<'a>(v: &'a [Option<&'a str>]) -> StrValues<'a> {
    StrValues { values: v.iter().map(|s| s.map(|s| s.as_bytes())).collect() }
}

fn write(cols: &[NamedColumn<'_>], nrow: usize) -> Written {
    let w = write_parquet(cols, nrow, Some(&["data.frame".to_string()])).expect("write");
    assert_eq!(w.parquet_sha, hex_lower(&Sha256::digest(&w.bytes)));
    w
}

fn roundtrip(cols: &[NamedColumn<'_>], nrow: usize) -> ReadTable {
    let w = write(cols, nrow);
    let t = read_parquet(bytes::Bytes::from(w.bytes)).expect("read");
    assert_eq!(t.nrow, nrow);
    assert_eq!(t.columns.len(), cols.len());
    assert_eq!(t.df_class, Some(vec!["data.frame".to_string()]));
    for (r, c) in t.columns.iter().zip(cols) {
        assert_eq!(r.name, c.name);
        assert_eq!(r.info, c.info, "info of {}", c.name);
    }
    t
}

fn arrow_types(bytes: &[u8]) -> Vec<DataType> {
    let meta = ArrowReaderMetadata::load(&bytes::Bytes::copy_from_slice(bytes), ArrowReaderOptions::new()).unwrap();
    meta.schema().fields().iter().map(|f| f.data_type().clone()).collect()
}

fn f64s(t: &ReadTable, c: usize) -> Vec<u64> {
    let mut v = vec![0.0; t.nrow];
    t.fill_f64(c, &mut v).unwrap();
    v.into_iter().map(f64::to_bits).collect()
}

fn i32s(t: &ReadTable, c: usize) -> Vec<i32> {
    let mut v = vec![0; t.nrow];
    t.fill_i32(c, &mut v).unwrap();
    v
}

fn i64s(t: &ReadTable, c: usize) -> Vec<u64> {
    let mut v = vec![0; t.nrow];
    t.fill_i64_bits(c, &mut v).unwrap();
    v
}

fn chrs(t: &ReadTable, c: usize) -> Vec<Option<String>> {
    let mut v = vec![None; t.nrow];
    let mut seen = 0;
    t.for_each_str(c, |i, s| {
        v[i] = s.map(str::to_string);
        seen += 1;
    })
    .unwrap();
    assert_eq!(seen, t.nrow);
    v
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn hex_and_sha() {
    assert_eq!(
        hex_lower(&Sha256::digest(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn numeric_round_trip_exact_bits() {
    let lgl = [1, 0, NA_INTEGER, 1, 0, 0];
    let int = [1, -5, NA_INTEGER, i32::MAX, i32::MIN + 1, 0];
    let payload_nan = f64::from_bits(0x7ff8_0000_0000_0123);
    let quiet_na = f64::from_bits(0x7ff8_0000_0000_07a2);
    let dbl = [-0.0, na_real(), f64::NAN, f64::INFINITY, payload_nan, quiet_na];
    let dbl2 = [1e-300, -1.5, f64::NEG_INFINITY, 0.0, f64::MAX, f64::MIN_POSITIVE];
    let cols = vec![
        nc("l", Column::Num(NumValues::Logical(&lgl)), info(&[], "logical")),
        nc("i", Column::Num(NumValues::Integer(&int)), info(&[], "integer")),
        nc("d", Column::Num(NumValues::Double(&dbl)), info(&[], "double")),
        nc("d2", Column::Num(NumValues::Double(&dbl2)), info(&[], "double")),
    ];
    let w = write(&cols, 6);
    assert_eq!(arrow_types(&w.bytes), vec![DataType::Boolean, DataType::Int32, DataType::Float64, DataType::Float64]);
    let t = roundtrip(&cols, 6);
    assert_eq!(t.columns[0].target, RTarget::Logical);
    assert_eq!(t.columns[1].target, RTarget::Integer);
    assert_eq!(t.columns[2].target, RTarget::Double);
    assert_eq!(i32s(&t, 0), lgl.to_vec());
    assert_eq!(i32s(&t, 1), int.to_vec());
    let mut expect = bits(&dbl);
    expect[5] = NA_REAL_BITS; // any R NA comes back as the canonical NA_real_
    assert_eq!(f64s(&t, 2), expect);
    assert_eq!(f64s(&t, 3), bits(&dbl2));
    // Wrong fill function for the target is an error, not a panic.
    let mut out = vec![0.0; 6];
    assert!(t.fill_f64(0, &mut out).is_err());
    let mut short = vec![0; 2];
    assert!(t.fill_i32(0, &mut short).is_err());
    assert!(t.fill_i32(99, &mut short).is_err());
}

#[test]
fn strings_names_and_duplicates() {
    let v = [Some("a"), Some(""), None, Some("héllo"), Some("日本語"), Some("🦀 crab")];
    let w = [Some("x"), None, Some(""), None, Some("ü"), Some("y")];
    let sv = strs(&v);
    let sw = strs(&w);
    let cols = vec![
        nc("naïve — ñ", Column::Chr(sv.clone()), info(&[], "character")),
        nc("dup", Column::Chr(sw.clone()), info(&[], "character")),
        nc("dup", Column::Chr(sv.clone()), info(&[], "character")),
    ];
    let t = roundtrip(&cols, 6);
    let expect = |x: &[Option<&str>]| x.iter().map(|s| s.map(str::to_string)).collect::<Vec<_>>();
    assert_eq!(t.columns[0].name, "naïve — ñ");
    assert_eq!(t.columns[1].name, "dup");
    assert_eq!(t.columns[2].name, "dup");
    assert_eq!(t.columns[0].target, RTarget::Character);
    assert_eq!(chrs(&t, 0), expect(&v));
    assert_eq!(chrs(&t, 1), expect(&w));
    assert_eq!(chrs(&t, 2), expect(&v));
}

#[test]
fn invalid_utf8_is_an_input_error() {
    let bad: [u8; 2] = [0xff, 0xfe];
    let s = StrValues { values: vec![Some(&bad[..]), None] };
    let cols = vec![nc("s", Column::Chr(s), info(&[], "character"))];
    let e = write_parquet(&cols, 2, None).unwrap_err();
    assert_eq!(e.kind, Kind::Input);
    assert!(e.message.contains("'s'"), "{}", e.message);
}

#[test]
fn factors() {
    let lv = [Some("lo"), Some("mid"), Some("hi"), Some("unused"), Some("ünï")];
    let codes = [3, 1, NA_INTEGER, 1, 5, 3];
    let lv2 = [Some("b"), Some("a")];
    let codes2 = [2, 2, 1, NA_INTEGER, 1, 2];
    let lv3: [Option<&str>; 0] = [];
    let codes3 = [NA_INTEGER; 6];
    let cols = vec![
        nc(
            "f",
            Column::Factor { codes: &codes, levels: strs(&lv), ordered: false },
            info(&["factor"], "integer"),
        ),
        nc(
            "o",
            Column::Factor { codes: &codes2, levels: strs(&lv2), ordered: true },
            info(&["ordered", "factor"], "integer"),
        ),
        nc("e", Column::Factor { codes: &codes3, levels: strs(&lv3), ordered: false }, info(&["factor"], "integer")),
    ];
    let w = write(&cols, 6);
    let meta = ArrowReaderMetadata::load(&bytes::Bytes::from(w.bytes.clone()), ArrowReaderOptions::new()).unwrap();
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    assert_eq!(meta.schema().field(0).data_type(), &dict);
    assert_eq!(meta.schema().field(0).dict_is_ordered(), Some(false));
    assert_eq!(meta.schema().field(1).dict_is_ordered(), Some(true));

    let t = roundtrip(&cols, 6);
    assert_eq!(t.columns[0].target, RTarget::Factor);
    assert_eq!(t.columns[0].levels, Some(lv.iter().map(|s| s.unwrap().to_string()).collect()));
    assert_eq!(i32s(&t, 0), codes.to_vec());
    assert_eq!(t.columns[1].levels, Some(vec!["b".to_string(), "a".to_string()]));
    assert_eq!(t.columns[1].info.class, Some(vec!["ordered".to_string(), "factor".to_string()]));
    assert_eq!(i32s(&t, 1), codes2.to_vec());
    assert_eq!(t.columns[2].levels, Some(vec![]));
    assert_eq!(i32s(&t, 2), codes3.to_vec());
}

#[test]
fn factor_na_level_reads_as_na_code() {
    let lv = [Some("a"), None, Some("b")];
    let codes = [1, 2, 3, NA_INTEGER];
    let cols = vec![nc(
        "f",
        Column::Factor { codes: &codes, levels: strs(&lv), ordered: false },
        info(&["factor"], "integer"),
    )];
    let t = roundtrip(&cols, 4);
    assert_eq!(t.columns[0].levels, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(i32s(&t, 0), vec![1, NA_INTEGER, 2, NA_INTEGER]);
}

#[test]
fn factor_code_out_of_range_is_an_error() {
    let lv = [Some("a")];
    let codes = [1, 2];
    let cols = vec![nc(
        "f",
        Column::Factor { codes: &codes, levels: strs(&lv), ordered: false },
        info(&["factor"], "integer"),
    )];
    let e = write_parquet(&cols, 2, None).unwrap_err();
    assert_eq!(e.kind, Kind::Input);
}

#[test]
fn dates() {
    let di = [0, 18000, NA_INTEGER, -1];
    let dd = [18000.0, na_real(), -3.0, 0.0];
    let df = [18000.5, na_real(), 1.0, 2.0];
    let dz = [-0.0, 1.0, 2.0, 3.0];
    let dbig = [1e12, 1.0, 2.0, 3.0];
    let cols = vec![
        nc("di", Column::Date(NumValues::Integer(&di)), info(&["Date"], "integer")),
        nc("dd", Column::Date(NumValues::Double(&dd)), info(&["Date"], "double")),
        nc("df", Column::Date(NumValues::Double(&df)), info(&["Date"], "double")),
        nc("dz", Column::Date(NumValues::Double(&dz)), info(&["Date"], "double")),
        nc("dbig", Column::Date(NumValues::Double(&dbig)), info(&["Date"], "double")),
    ];
    let w = write(&cols, 4);
    assert_eq!(
        arrow_types(&w.bytes),
        vec![DataType::Date32, DataType::Date32, DataType::Float64, DataType::Float64, DataType::Float64]
    );
    let t = roundtrip(&cols, 4);
    assert_eq!(t.columns[0].target, RTarget::Integer);
    assert_eq!(i32s(&t, 0), di.to_vec());
    assert_eq!(t.columns[1].target, RTarget::Double);
    assert_eq!(f64s(&t, 1), bits(&dd));
    assert_eq!(f64s(&t, 2), bits(&df));
    assert_eq!(f64s(&t, 3), bits(&dz));
    assert_eq!(f64s(&t, 4), bits(&dbig));
}

#[test]
fn posixct() {
    let s = [0.0, 1.5, 1_700_000_000.123456, na_real(), -1.25, -0.0];
    let s_inexact = [0.0, 0.1234567, na_real(), 1.0, 2.0, 3.0];
    let s_int = [0, 1_700_000_000, NA_INTEGER, -5, 1, 2];
    let mut paris = info(&["POSIXct", "POSIXt"], "double");
    paris.tzone = Some("Europe/Paris".into());
    let none = info(&["POSIXct", "POSIXt"], "double");
    let mut empty = info(&["POSIXct", "POSIXt"], "double");
    empty.tzone = Some(String::new());
    let mut int_utc = info(&["POSIXct", "POSIXt"], "integer");
    int_utc.tzone = Some("UTC".into());
    let cols = vec![
        nc("paris", Column::Time { secs: NumValues::Double(&s), tzone: Some("Europe/Paris".into()) }, paris),
        nc("none", Column::Time { secs: NumValues::Double(&s), tzone: None }, none),
        nc("empty", Column::Time { secs: NumValues::Double(&s), tzone: Some(String::new()) }, empty.clone()),
        nc("inexact", Column::Time { secs: NumValues::Double(&s_inexact), tzone: Some(String::new()) }, empty),
        nc("int", Column::Time { secs: NumValues::Integer(&s_int), tzone: Some("UTC".into()) }, int_utc),
    ];
    let w = write(&cols, 6);
    let us = |tz: Option<&str>| DataType::Timestamp(TimeUnit::Microsecond, tz.map(Arc::from));
    // -0.0 does not survive as microseconds, so the first three fall back.
    assert_eq!(arrow_types(&w.bytes)[3], DataType::Float64);
    assert_eq!(arrow_types(&w.bytes)[4], us(Some("UTC")));
    let t = roundtrip(&cols, 6);
    for c in 0..3 {
        assert_eq!(f64s(&t, c), bits(&s));
    }
    assert_eq!(f64s(&t, 3), bits(&s_inexact));
    assert_eq!(t.columns[4].target, RTarget::Integer);
    assert_eq!(i32s(&t, 4), s_int.to_vec());

    // Without -0.0 the timestamp mapping is used, tz only when non-empty.
    let s2 = [0.0, 1.5, 1_700_000_000.123456, na_real(), -1.25, 86_400.000_001];
    let mut paris = info(&["POSIXct", "POSIXt"], "double");
    paris.tzone = Some("Europe/Paris".into());
    let mut empty = info(&["POSIXct", "POSIXt"], "double");
    empty.tzone = Some(String::new());
    let cols = vec![
        nc("paris", Column::Time { secs: NumValues::Double(&s2), tzone: Some("Europe/Paris".into()) }, paris),
        nc("none", Column::Time { secs: NumValues::Double(&s2), tzone: None }, info(&["POSIXct", "POSIXt"], "double")),
        nc("empty", Column::Time { secs: NumValues::Double(&s2), tzone: Some(String::new()) }, empty),
    ];
    let w = write(&cols, 6);
    assert_eq!(arrow_types(&w.bytes), vec![us(Some("Europe/Paris")), us(None), us(None)]);
    let t = roundtrip(&cols, 6);
    for c in 0..3 {
        assert_eq!(f64s(&t, c), bits(&s2));
    }
    assert_eq!(t.columns[0].info.tzone.as_deref(), Some("Europe/Paris"));
    assert_eq!(t.columns[1].info.tzone, None);
    assert_eq!(t.columns[2].info.tzone.as_deref(), Some(""));
}

fn difftime(units: &str, storage: &str, class: &[&str]) -> RColumnInfo {
    let mut i = info(class, storage);
    i.units = Some(units.to_string());
    i
}

#[test]
fn difftime_every_unit() {
    let v = [1.5, na_real(), -2.0, 0.25, 1.0 / 3.0, 0.0];
    let units = ["secs", "mins", "hours", "days", "weeks"];
    let cols: Vec<NamedColumn<'_>> = units
        .iter()
        .map(|u| {
            nc(
                u,
                Column::Duration { values: NumValues::Double(&v), units: u.to_string() },
                difftime(u, "double", &["difftime"]),
            )
        })
        .collect();
    let w = write(&cols, 6);
    for (u, dt) in units.iter().zip(arrow_types(&w.bytes)) {
        // 1/3 is not a whole number of microseconds in secs; in other units it may be.
        if *u == "secs" {
            assert_eq!(dt, DataType::Float64, "{u}");
        }
    }
    let t = roundtrip(&cols, 6);
    for (c, u) in units.iter().enumerate() {
        assert_eq!(t.columns[c].target, RTarget::Double);
        assert_eq!(f64s(&t, c), bits(&v), "{u}");
    }

    // Exact values in every unit use Duration(us).
    let e = [1.5, na_real(), -2.0, 0.25, 100.0, 0.0];
    let cols: Vec<NamedColumn<'_>> = units
        .iter()
        .map(|u| {
            nc(
                u,
                Column::Duration { values: NumValues::Double(&e), units: u.to_string() },
                difftime(u, "double", &["difftime"]),
            )
        })
        .collect();
    let w = write(&cols, 6);
    assert!(arrow_types(&w.bytes).iter().all(|d| d == &DataType::Duration(TimeUnit::Microsecond)));
    let t = roundtrip(&cols, 6);
    for (c, u) in units.iter().enumerate() {
        assert_eq!(f64s(&t, c), bits(&e), "{u}");
    }
}

#[test]
fn difftime_fallbacks_and_integer_storage() {
    let inexact = [1e-7, 1.0, na_real()];
    let huge = [1e300, 1.0, 2.0];
    let itime = [0, 3600, NA_INTEGER];
    let iweeks = [30_000_000, 1, NA_INTEGER];
    let cols = vec![
        nc(
            "inexact",
            Column::Duration { values: NumValues::Double(&inexact), units: "secs".into() },
            difftime("secs", "double", &["difftime"]),
        ),
        nc(
            "huge",
            Column::Duration { values: NumValues::Double(&huge), units: "days".into() },
            difftime("days", "double", &["difftime"]),
        ),
        nc(
            "odd_units",
            Column::Duration { values: NumValues::Double(&huge), units: "fortnights".into() },
            difftime("fortnights", "double", &["difftime"]),
        ),
        nc(
            "itime",
            Column::Duration { values: NumValues::Integer(&itime), units: "secs".into() },
            difftime("secs", "integer", &["ITime"]),
        ),
        nc(
            "iweeks",
            Column::Duration { values: NumValues::Integer(&iweeks), units: "weeks".into() },
            difftime("weeks", "integer", &["difftime"]),
        ),
    ];
    let w = write(&cols, 3);
    assert_eq!(
        arrow_types(&w.bytes),
        vec![
            DataType::Float64,
            DataType::Float64,
            DataType::Float64,
            DataType::Duration(TimeUnit::Microsecond),
            DataType::Float64
        ]
    );
    let t = roundtrip(&cols, 3);
    assert_eq!(f64s(&t, 0), bits(&inexact));
    assert_eq!(f64s(&t, 1), bits(&huge));
    assert_eq!(f64s(&t, 2), bits(&huge));
    assert_eq!(t.columns[3].target, RTarget::Integer);
    assert_eq!(i32s(&t, 3), itime.to_vec());
    assert_eq!(i32s(&t, 4), iweeks.to_vec());
}

#[test]
fn hms() {
    let day = [0.0, 3600.5, 86_399.999_999, na_real()];
    let long = [0.0, 90_000.0, 1.0, na_real()];
    let neg = [-1.0, 5.0, 1.0, na_real()];
    let cls = ["hms", "difftime"];
    let cols = vec![
        nc("day", Column::Duration { values: NumValues::Double(&day), units: "secs".into() }, difftime("secs", "double", &cls)),
        nc("long", Column::Duration { values: NumValues::Double(&long), units: "secs".into() }, difftime("secs", "double", &cls)),
        nc("neg", Column::Duration { values: NumValues::Double(&neg), units: "secs".into() }, difftime("secs", "double", &cls)),
    ];
    let w = write(&cols, 4);
    assert_eq!(
        arrow_types(&w.bytes),
        vec![
            DataType::Time64(TimeUnit::Microsecond),
            DataType::Duration(TimeUnit::Microsecond),
            DataType::Duration(TimeUnit::Microsecond)
        ]
    );
    let t = roundtrip(&cols, 4);
    assert_eq!(f64s(&t, 0), bits(&day));
    assert_eq!(f64s(&t, 1), bits(&long));
    assert_eq!(f64s(&t, 2), bits(&neg));
}

#[test]
fn integer64() {
    let v = [1u64, NA64, (-1i64) as u64, i64::MAX as u64, (i64::MIN + 1) as u64, 0];
    let cols = vec![nc("i64", Column::I64(&v), info(&["integer64"], "double"))];
    let w = write(&cols, 6);
    assert_eq!(arrow_types(&w.bytes), vec![DataType::Int64]);
    let t = roundtrip(&cols, 6);
    assert_eq!(t.columns[0].target, RTarget::Integer64);
    assert_eq!(i64s(&t, 0), v.to_vec());
}

#[test]
fn info_extra_and_df_class_survive() {
    let v = [1, 2];
    let mut i = info(&["labelled"], "integer");
    i.extra = Some("WAoAAAAC".into());
    let cols = vec![nc("x", Column::Num(NumValues::Integer(&v)), i)];
    let w = write_parquet(&cols, 2, Some(&["tbl_df".into(), "tbl".into(), "data.frame".into()])).unwrap();
    let t = read_parquet(bytes::Bytes::from(w.bytes)).unwrap();
    assert_eq!(t.columns[0].info.extra.as_deref(), Some("WAoAAAAC"));
    assert_eq!(t.df_class, Some(vec!["tbl_df".into(), "tbl".into(), "data.frame".into()]));
    let w = write_parquet(&cols, 2, None).unwrap();
    assert_eq!(read_parquet(bytes::Bytes::from(w.bytes)).unwrap().df_class, None);
}

#[test]
fn empty_table() {
    let e: [i32; 0] = [];
    let s: [Option<&str>; 0] = [];
    let lv = [Some("a")];
    let cols = vec![
        nc("i", Column::Num(NumValues::Integer(&e)), info(&[], "integer")),
        nc("s", Column::Chr(strs(&s)), info(&[], "character")),
        nc("f", Column::Factor { codes: &e, levels: strs(&lv), ordered: false }, info(&["factor"], "integer")),
    ];
    let t = roundtrip(&cols, 0);
    assert_eq!(i32s(&t, 0), Vec::<i32>::new());
    assert_eq!(chrs(&t, 1), Vec::<Option<String>>::new());
    assert_eq!(t.columns[2].levels, Some(vec!["a".to_string()]));
    assert_eq!(i32s(&t, 2), Vec::<i32>::new());
}

#[test]
fn bad_input_is_an_error() {
    let v = [1, 2, 3];
    let cols = vec![nc("x", Column::Num(NumValues::Integer(&v)), info(&[], "integer"))];
    assert_eq!(write_parquet(&cols, 4, None).unwrap_err().kind, Kind::Input);
    assert_eq!(write_parquet(&[], 0, None).unwrap_err().kind, Kind::Input);
    assert_eq!(read_parquet(bytes::Bytes::from_static(b"not a parquet file")).unwrap_err().kind, Kind::Parquet);
    let w = write_parquet(&cols, 3, None).unwrap();
    let mut b = w.bytes.clone();
    b.truncate(b.len() - 10);
    assert!(read_parquet(bytes::Bytes::from(b)).is_err());
}

#[test]
fn deterministic_output() {
    let n = 300_000;
    let ints: Vec<i32> = (0..n as i32).map(|i| if i % 7 == 0 { NA_INTEGER } else { i * 3 }).collect();
    let dbl: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
    let owned: Vec<String> = (0..n).map(|i| format!("s{}", i % 1000)).collect();
    let sv = StrValues { values: owned.iter().map(|s| Some(s.as_bytes())).collect() };
    let cols = vec![
        nc("i", Column::Num(NumValues::Integer(&ints)), info(&[], "integer")),
        nc("d", Column::Num(NumValues::Double(&dbl)), info(&[], "double")),
        nc("s", Column::Chr(sv), info(&[], "character")),
    ];
    let a = write(&cols, n);
    let b = write(&cols, n);
    assert_eq!(a, b);
}

#[test]
fn multiple_row_groups() {
    let n = 2_500_000usize;
    let ints: Vec<i32> = (0..n as i32).map(|i| if i % 1000 == 0 { NA_INTEGER } else { i }).collect();
    let codes: Vec<i32> = (0..n).map(|i| if i % 11 == 0 { NA_INTEGER } else { (i % 5) as i32 + 1 }).collect();
    let lv = [Some("e"), Some("d"), Some("c"), Some("b"), Some("a"), Some("never")];
    let owned: Vec<String> = (0..n).map(|i| format!("{}", i % 997)).collect();
    let sv = StrValues { values: owned.iter().enumerate().map(|(i, s)| (i % 13 != 0).then_some(s.as_bytes())).collect() };
    let cols = vec![
        nc("x", Column::Num(NumValues::Integer(&ints)), info(&[], "integer")),
        nc("f", Column::Factor { codes: &codes, levels: strs(&lv), ordered: false }, info(&["factor"], "integer")),
        nc("s", Column::Chr(sv), info(&[], "character")),
    ];
    let w = write(&cols, n);
    let meta = ArrowReaderMetadata::load(&bytes::Bytes::from(w.bytes.clone()), ArrowReaderOptions::new()).unwrap();
    assert_eq!(meta.metadata().num_row_groups(), 3);
    let t = read_parquet(bytes::Bytes::from(w.bytes)).unwrap();
    assert_eq!(t.nrow, n);
    assert_eq!(i32s(&t, 0), ints);
    assert_eq!(t.columns[1].levels.as_ref().unwrap().len(), 6);
    assert_eq!(i32s(&t, 1), codes);
    let got = chrs(&t, 2);
    for (i, g) in got.iter().enumerate() {
        let e = (i % 13 != 0).then(|| owned[i].clone());
        assert_eq!(g, &e, "row {i}");
    }
}

#[test]
fn chunk_planning_respects_rows_and_string_bytes() {
    let v = [Some("aaaaaaaaaa"), Some("bbbbbbbbbb"), None, Some("cccccccccc"), Some(""), Some("dddddddddddddddddddddddddddddd"), Some("e")];
    let s = strs(&v);
    let r = write::plan_ranges(7, &[&s], 100, 25);
    assert_eq!(r, vec![0..3, 3..5, 5..6, 6..7]);
    let r = write::plan_ranges(7, &[], 3, 25);
    assert_eq!(r, vec![0..3, 3..6, 6..7]);
    assert_eq!(write::plan_ranges(0, &[&s], 3, 25), vec![]);
    let r = write::plan_ranges(7, &[&s], 2, 1000);
    assert_eq!(r, vec![0..2, 2..4, 4..6, 6..7]);
}

fn foreign_file() -> Vec<u8> {
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let schema = Arc::new(Schema::new(vec![
        Field::new("dict", dict, true),
        Field::new("date", DataType::Date32, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, Some("Europe/Paris".into())), true),
        Field::new("str", DataType::Utf8, true),
        Field::new("i64", DataType::Int64, true),
        Field::new("i16", DataType::Int16, true),
        Field::new("f32", DataType::Float32, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("t32", DataType::Time32(TimeUnit::Second), true),
        Field::new("dur", DataType::Duration(TimeUnit::Millisecond), true),
        Field::new("dec", DataType::Decimal128(10, 2), true),
        Field::new("u64", DataType::UInt64, true),
    ]));
    let batch = |dv: Vec<&str>, keys: Vec<Option<i32>>, off: i32| -> RecordBatch {
        let n = keys.len();
        let d = DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(keys),
            Arc::new(StringArray::from(dv)) as ArrayRef,
        )
        .unwrap();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(d),
            Arc::new(Date32Array::from((0..n as i32).map(|i| (i != 1).then_some(19000 + i + off)).collect::<Vec<_>>())),
            Arc::new(
                TimestampMillisecondArray::from((0..n as i64).map(|i| (i != 2).then_some(1_700_000_000_123 + i)).collect::<Vec<_>>())
                    .with_timezone("Europe/Paris"),
            ),
            Arc::new(StringArray::from((0..n).map(|i| (i % 2 == 0).then(|| format!("s{}", i as i32 + off))).collect::<Vec<_>>())),
            Arc::new(Int64Array::from((0..n as i64).map(|i| (i != 0).then_some(i64::MAX - i)).collect::<Vec<_>>())),
            Arc::new(Int16Array::from((0..n as i16).map(|i| (i != 0).then_some(-i)).collect::<Vec<_>>())),
            Arc::new(Float32Array::from((0..n).map(|i| (i != 0).then_some(i as f32 * 0.5)).collect::<Vec<_>>())),
            Arc::new(BooleanArray::from((0..n).map(|i| (i != 0).then_some(i % 2 == 0)).collect::<Vec<_>>())),
            Arc::new(Time32SecondArray::from((0..n as i32).map(|i| (i != 0).then_some(3600 + i)).collect::<Vec<_>>())),
            Arc::new(DurationMillisecondArray::from((0..n as i64).map(|i| (i != 0).then_some(1500 * i)).collect::<Vec<_>>())),
            Arc::new(
                Decimal128Array::from((0..n as i128).map(|i| (i != 0).then_some(12345 + i)).collect::<Vec<_>>())
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(UInt64Array::from((0..n as u64).map(|i| (i != 0).then_some(i)).collect::<Vec<_>>())),
        ];
        RecordBatch::try_new(schema.clone(), cols).unwrap()
    };
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(3)).build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema.clone(), Some(props)).unwrap();
    w.write(&batch(vec!["b", "a", "zz"], vec![Some(0), Some(1), Some(0)], 0)).unwrap();
    w.write(&batch(vec!["c", "a"], vec![Some(0), None, Some(1)], 10)).unwrap();
    w.close().unwrap();
    buf
}

#[test]
fn foreign_file_inferred_mapping() {
    let t = read_parquet(bytes::Bytes::from(foreign_file())).unwrap();
    assert_eq!(t.nrow, 6);
    assert_eq!(t.df_class, None);
    let by = |n: &str| t.columns.iter().position(|c| c.name == n).unwrap();
    let s = |v: &[&str]| Some(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());

    let c = &t.columns[by("dict")];
    assert_eq!(c.target, RTarget::Factor);
    assert_eq!(c.info.class, s(&["factor"]));
    assert_eq!(c.info.storage, "integer");
    assert_eq!(c.levels, s(&["b", "a", "c"]));
    assert_eq!(i32s(&t, by("dict")), vec![1, 2, 1, 3, NA_INTEGER, 2]);

    let c = &t.columns[by("date")];
    assert_eq!((c.target, c.info.class.clone()), (RTarget::Double, s(&["Date"])));
    let na = NA_REAL_BITS;
    assert_eq!(f64s(&t, by("date")), bits(&[19000.0, na_real(), 19002.0, 19010.0, na_real(), 19012.0]));

    let c = &t.columns[by("ts")];
    assert_eq!(c.info.class, s(&["POSIXct", "POSIXt"]));
    assert_eq!(c.info.tzone.as_deref(), Some("Europe/Paris"));
    let ts = f64s(&t, by("ts"));
    assert_eq!(ts[0], (1_700_000_000_123.0f64 / 1e3).to_bits());
    assert_eq!(ts[2], na);

    let c = &t.columns[by("str")];
    assert_eq!(c.target, RTarget::Character);
    assert_eq!(
        chrs(&t, by("str")),
        vec![Some("s0".to_string()), None, Some("s2".to_string()), Some("s10".to_string()), None, Some("s12".to_string())]
    );

    assert_eq!(t.columns[by("i64")].target, RTarget::Double);
    assert_eq!(f64s(&t, by("i64"))[0], na);
    assert_eq!(f64s(&t, by("i64"))[1], ((i64::MAX - 1) as f64).to_bits());

    assert_eq!(t.columns[by("i16")].target, RTarget::Integer);
    assert_eq!(i32s(&t, by("i16")), vec![NA_INTEGER, -1, -2, NA_INTEGER, -1, -2]);
    assert_eq!(f64s(&t, by("f32")), bits(&[na_real(), 0.5, 1.0, na_real(), 0.5, 1.0]));
    assert_eq!(t.columns[by("b")].target, RTarget::Logical);
    assert_eq!(i32s(&t, by("b")), vec![NA_INTEGER, 0, 1, NA_INTEGER, 0, 1]);

    let c = &t.columns[by("t32")];
    assert_eq!(c.info.class, s(&["hms", "difftime"]));
    assert_eq!(c.info.units.as_deref(), Some("secs"));
    assert_eq!(f64s(&t, by("t32")), bits(&[na_real(), 3601.0, 3602.0, na_real(), 3601.0, 3602.0]));

    let c = &t.columns[by("dur")];
    assert_eq!(c.info.class, s(&["difftime"]));
    assert_eq!(c.info.units.as_deref(), Some("secs"));
    assert_eq!(f64s(&t, by("dur")), bits(&[na_real(), 1.5, 3.0, na_real(), 1.5, 3.0]));

    assert_eq!(f64s(&t, by("dec")), bits(&[na_real(), 123.46, 123.47, na_real(), 123.46, 123.47]));
    assert_eq!(f64s(&t, by("u64")), bits(&[na_real(), 1.0, 2.0, na_real(), 1.0, 2.0]));
}

#[test]
fn foreign_unsupported_type_is_named() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("ok", DataType::Int32, true),
        Field::new("blob", DataType::Binary, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int32Array::from(vec![1])), Arc::new(BinaryArray::from(vec![&b"x"[..]]))],
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let e = read_parquet(bytes::Bytes::from(buf)).unwrap_err();
    assert_eq!(e.kind, Kind::Unsupported);
    assert!(e.message.contains("blob") && e.message.contains("Binary"), "{}", e.message);
}

/// 1M rows x 12 mixed columns; run with
/// `cargo test --release -- --ignored --nocapture bench_1m`.
#[test]
#[ignore]
fn bench_1m_rows_12_cols() {
    let n = 1_000_000usize;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let lgl: Vec<i32> = (0..n).map(|_| (rnd() % 3) as i32).map(|x| if x == 2 { NA_INTEGER } else { x }).collect();
    let int: Vec<i32> = (0..n).map(|_| (rnd() % 1_000_000) as i32).collect();
    let int2: Vec<i32> = (0..n).map(|i| i as i32).collect();
    let dbl: Vec<f64> = (0..n).map(|_| (rnd() >> 11) as f64 / (1u64 << 53) as f64).collect();
    let dbl2: Vec<f64> = (0..n).map(|_| (rnd() % 10_000) as f64 / 100.0).collect();
    let owned: Vec<String> = (0..n).map(|_| format!("id_{:08}", rnd() % 100_000_000)).collect();
    let sv = StrValues { values: owned.iter().map(|s| Some(s.as_bytes())).collect() };
    let cats = ["alpha", "beta", "gamma", "delta", "epsilon"];
    let sv2 = StrValues { values: (0..n).map(|_| Some(cats[(rnd() % 5) as usize].as_bytes())).collect() };
    let codes: Vec<i32> = (0..n).map(|_| (rnd() % 20) as i32 + 1).collect();
    let lvs: Vec<String> = (1..=20).map(|i| format!("level{i}")).collect();
    let lv = StrValues { values: lvs.iter().map(|s| Some(s.as_bytes())).collect() };
    let date: Vec<i32> = (0..n).map(|_| 10_000 + (rnd() % 10_000) as i32).collect();
    let time: Vec<f64> = (0..n).map(|_| 1.6e9 + (rnd() % 100_000_000) as f64).collect();
    let dur: Vec<f64> = (0..n).map(|_| (rnd() % 100_000) as f64 / 10.0).collect();
    let i64v: Vec<u64> = (0..n).map(|_| rnd() % 1_000_000_000_000).collect();
    let mut tinfo = info(&["POSIXct", "POSIXt"], "double");
    tinfo.tzone = Some("UTC".into());
    let cols = vec![
        nc("lgl", Column::Num(NumValues::Logical(&lgl)), info(&[], "logical")),
        nc("int", Column::Num(NumValues::Integer(&int)), info(&[], "integer")),
        nc("seq", Column::Num(NumValues::Integer(&int2)), info(&[], "integer")),
        nc("dbl", Column::Num(NumValues::Double(&dbl)), info(&[], "double")),
        nc("dbl2", Column::Num(NumValues::Double(&dbl2)), info(&[], "double")),
        nc("id", Column::Chr(sv), info(&[], "character")),
        nc("cat", Column::Chr(sv2), info(&[], "character")),
        nc("fct", Column::Factor { codes: &codes, levels: lv, ordered: false }, info(&["factor"], "integer")),
        nc("date", Column::Date(NumValues::Integer(&date)), info(&["Date"], "integer")),
        nc("time", Column::Time { secs: NumValues::Double(&time), tzone: Some("UTC".into()) }, tinfo),
        nc(
            "dur",
            Column::Duration { values: NumValues::Double(&dur), units: "secs".into() },
            difftime("secs", "double", &["difftime"]),
        ),
        nc("i64", Column::I64(&i64v), info(&["integer64"], "double")),
    ];
    let _ = write_parquet(&cols, n, None).unwrap(); // warm up
    let reps = 5;
    let mut wt = Vec::new();
    let mut rt = Vec::new();
    let mut size = 0;
    for _ in 0..reps {
        let t0 = std::time::Instant::now();
        let w = write_parquet(&cols, n, None).unwrap();
        wt.push(t0.elapsed().as_secs_f64());
        size = w.bytes.len();
        let b = bytes::Bytes::from(w.bytes);
        let t0 = std::time::Instant::now();
        let t = read_parquet(b).unwrap();
        let mut fd = vec![0f64; n];
        let mut fi = vec![0i32; n];
        let mut fu = vec![0u64; n];
        let mut nstr = 0usize;
        for (c, col) in t.columns.iter().enumerate() {
            match col.target {
                RTarget::Double => t.fill_f64(c, &mut fd).unwrap(),
                RTarget::Logical | RTarget::Integer | RTarget::Factor => t.fill_i32(c, &mut fi).unwrap(),
                RTarget::Integer64 => t.fill_i64_bits(c, &mut fu).unwrap(),
                RTarget::Character => t.for_each_str(c, |_, s| nstr += s.map_or(0, str::len)).unwrap(),
            }
        }
        rt.push(t0.elapsed().as_secs_f64());
    }
    wt.sort_by(f64::total_cmp);
    rt.sort_by(f64::total_cmp);
    println!(
        "1M x 12: {} bytes; write min {:.1} ms median {:.1} ms; read+fill min {:.1} ms median {:.1} ms",
        size,
        wt[0] * 1e3,
        wt[reps / 2] * 1e3,
        rt[0] * 1e3,
        rt[reps / 2] * 1e3
    );
    std::fs::write("/tmp/tablecrate/bench_1m.parquet", write_parquet(&cols, n, None).unwrap().bytes).unwrap();
}



// --- dictionary pages written by table::dict -------------------------------

fn write_with(cols: &[NamedColumn<'_>], nrow: usize, direct: bool) -> Vec<u8> {
    write::write_parquet_with(cols, nrow, None, Vec::new(), direct).expect("write").0
}

fn chunk_meta(bytes: &[u8]) -> Arc<parquet::file::metadata::ParquetMetaData> {
    let opts = ArrowReaderOptions::new()
        .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Required)
        .with_encoding_stats_as_mask(false);
    let meta = ArrowReaderMetadata::load(&bytes::Bytes::copy_from_slice(bytes), opts).unwrap();
    Arc::clone(meta.metadata())
}

/// Chunk statistics (min, max, nulls) of every column of every row group.
fn chunk_stats(bytes: &[u8]) -> Vec<(Option<Vec<u8>>, Option<Vec<u8>>, Option<u64>)> {
    let m = chunk_meta(bytes);
    m.row_groups()
        .iter()
        .flat_map(|rg| rg.columns().iter())
        .map(|c| {
            let s = c.statistics().expect("statistics");
            (s.min_bytes_opt().map(<[u8]>::to_vec), s.max_bytes_opt().map(<[u8]>::to_vec), s.null_count_opt())
        })
        .collect()
}

fn dict_encoded(bytes: &[u8], col: usize) -> bool {
    let m = chunk_meta(bytes);
    m.row_groups().iter().all(|rg| {
        let stats = rg.column(col).page_encoding_stats().expect("page encoding stats");
        stats.iter().all(|s| s.encoding != parquet::basic::Encoding::PLAIN || s.page_type == parquet::basic::PageType::DICTIONARY_PAGE)
    })
}

#[test]
fn dictionary_pages_read_back_like_arrows_for_every_bit_width_run_and_na_pattern() {
    // 45,001 rows: three pages of at most 20,000 rows; runs of every length
    // from 1 to 20 (RLE and bit-packed, groups cut mid-run), NA patterns
    let n = 45_001usize;
    let mut run_pattern = Vec::with_capacity(n);
    let mut len = 1;
    let mut v = 0usize;
    while run_pattern.len() < n {
        for _ in 0..len {
            run_pattern.push(v);
        }
        len = len % 20 + 1;
        v += 1;
    }
    run_pattern.truncate(n);
    for distinct in [1usize, 2, 3, 255, 256, 257, 4096, 5000] {
        let owned: Vec<String> = (0..distinct).map(|i| format!("v{i:05}")).collect();
        let nas: [Box<dyn Fn(usize) -> bool>; 4] = [
            Box::new(|_| false),
            Box::new(|i| i % 2 == 1),
            Box::new(|i| (i / 37) % 3 == 0),
            Box::new(|i| i != 20_000),
        ];
        for (p, na) in nas.iter().enumerate() {
            // the same string object for equal values (as R has it), except
            // every 7th row, a copy at another address
            let copies: Vec<String> = (0..n).map(|i| owned[run_pattern[i] % distinct].clone()).collect();
            let values: Vec<Option<&[u8]>> = (0..n)
                .map(|i| {
                    if na(i) {
                        None
                    } else if i % 7 == 0 {
                        Some(copies[i].as_bytes())
                    } else {
                        Some(owned[run_pattern[i] % distinct].as_bytes())
                    }
                })
                .collect();
            let codes: Vec<i32> =
                (0..n).map(|i| if na(i) { NA_INTEGER } else { ((run_pattern[i] * 7) % distinct) as i32 + 1 }).collect();
            let levels: Vec<Option<&[u8]>> = owned.iter().map(|s| Some(s.as_bytes())).collect();
            let cols = vec![
                nc("s", Column::Chr(StrValues { values: values.clone() }), info(&[], "character")),
                nc(
                    "f",
                    Column::Factor { codes: &codes, levels: StrValues { values: levels.clone() }, ordered: false },
                    info(&["factor"], "integer"),
                ),
            ];
            let direct = write_with(&cols, n, true);
            let arrow = write_with(&cols, n, false);
            let what = format!("{distinct} distinct, NA pattern {p}");
            assert!(dict_encoded(&direct, 0) && dict_encoded(&direct, 1), "{what}");
            assert_eq!(chunk_stats(&direct), chunk_stats(&arrow), "{what}");
            let t = read_parquet(bytes::Bytes::from(direct)).unwrap();
            let a = read_parquet(bytes::Bytes::from(arrow)).unwrap();
            let want: Vec<Option<String>> =
                values.iter().map(|v| v.map(|b| String::from_utf8(b.to_vec()).unwrap())).collect();
            assert_eq!(chrs(&t, 0), want, "{what}");
            assert_eq!(chrs(&a, 0), want, "{what}");
            assert_eq!(i32s(&t, 1), codes, "{what}");
            assert_eq!(t.columns[1].levels, a.columns[1].levels, "{what}");
        }
    }
}

#[test]
fn dictionary_pages_carry_a_page_index_that_matches_the_pages() {
    let n = 50_000usize;
    let owned: Vec<String> = (0..50).map(|i| format!("id-{i:03}")).collect();
    // sorted by page: page k holds ids 10k..10k+9, so pages ascend
    let values: Vec<Option<&[u8]>> =
        (0..n).map(|i| if i % 11 == 0 { None } else { Some(owned[(i / 20_000) * 10 + i % 10].as_bytes()) }).collect();
    let cols = vec![nc("s", Column::Chr(StrValues { values: values.clone() }), info(&[], "character"))];
    let bytes = write_with(&cols, n, true);
    let m = chunk_meta(&bytes);
    let pages = m.page_index_for_row_group(0);
    let offsets = pages.offset_index(0).expect("offset index");
    let firsts: Vec<i64> = offsets.page_locations().iter().map(|p| p.first_row_index).collect();
    assert_eq!(firsts, vec![0, 20_000, 40_000]);
    let ix = pages.column_index(0).expect("column index");
    match ix {
        parquet::file::page_index::column_index::ColumnIndexMetaData::BYTE_ARRAY(b) => {
            for (page, lo) in [0usize, 10, 20].into_iter().enumerate() {
                assert_eq!(b.min_value(page), Some(owned[lo].as_bytes()));
                assert_eq!(b.max_value(page), Some(owned[lo + 9].as_bytes()));
            }
        }
        other => panic!("not a byte-array column index: {other:?}"),
    }
    for page in 0..3usize {
        let nas = (page * 20_000..((page + 1) * 20_000).min(n)).filter(|i| i % 11 == 0).count() as i64;
        assert_eq!(ix.null_count(page), Some(nas));
    }
    assert_eq!(ix.get_boundary_order(), Some(parquet::basic::BoundaryOrder::ASCENDING));
}

#[test]
fn chunks_the_dictionary_path_cannot_write_are_arrows_byte_for_byte() {
    let n = 3000usize;
    let long: Vec<String> = (0..n).map(|i| format!("{:070}", i % 10)).collect(); // 70 bytes: stats would truncate
    let many: Vec<String> = (0..n).map(|i| format!("{i:0400}")).collect(); // 1.2 MB of distinct values
    let na_levels = [Some("a"), None];
    let dup_levels = [Some("a"), Some("a")];
    let codes: Vec<i32> = (0..n).map(|i| (i % 2) as i32 + 1).collect();
    let all_na: Vec<Option<&[u8]>> = vec![None; n];
    let cases: Vec<(&str, Column<'_>)> = vec![
        ("long", Column::Chr(StrValues { values: long.iter().map(|s| Some(s.as_bytes())).collect() })),
        ("many", Column::Chr(StrValues { values: many.iter().map(|s| Some(s.as_bytes())).collect() })),
        ("all NA", Column::Chr(StrValues { values: all_na.clone() })),
        ("NA level", Column::Factor { codes: &codes, levels: strs(&na_levels), ordered: false }),
        ("duplicate levels", Column::Factor { codes: &codes, levels: strs(&dup_levels), ordered: false }),
    ];
    for (what, column) in cases {
        let class: &[&str] = if matches!(column, Column::Factor { .. }) { &["factor"] } else { &[] };
        let cols = vec![nc("c", column, info(class, "character"))];
        assert_eq!(write_with(&cols, n, true), write_with(&cols, n, false), "{what}");
    }
    // and an invalid string is the same error either way
    let bad: [u8; 2] = [0xff, 0xfe];
    let cols = vec![nc("s", Column::Chr(StrValues { values: vec![Some(&bad[..]); 3] }), info(&[], "character"))];
    let e = write::write_parquet_with(&cols, 3, None, Vec::new(), true).unwrap_err();
    assert_eq!(e.kind, Kind::Input);
}

#[test]
fn hybrid_runs_and_groups() {
    // a run of 8 equal values after 3 literals: completing the group would
    // take 5 of them, leaving 3, too few for a run: all 11 are bit-packed
    // (2 groups of 2 bytes, the last padded)
    let mut out = Vec::new();
    dict::hybrid(&[1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0], 2, &mut out);
    assert_eq!(out, vec![(2 << 1) | 1, 0b0011_1001, 0, 0, 0]);
    // 3 + 13 equal: the group takes 5, then an RLE run of 8
    let mut out = Vec::new();
    dict::hybrid(&[1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 2, &mut out);
    assert_eq!(out, vec![0b11, 0b0011_1001, 0, 8 << 1, 0]);
    // width 0: all runs, no value bytes
    let mut out = Vec::new();
    dict::hybrid(&[0; 20], 0, &mut out);
    assert_eq!(out, vec![20 << 1]);
    // a long run's count is a ULEB128 varint; 9-bit values take 2 bytes
    let mut out = Vec::new();
    dict::hybrid(&[300; 1000], 9, &mut out);
    assert_eq!(out, vec![0xd0, 0x0f, 0x2c, 0x01]);
}

#[test]
fn a_column_distinct_throughout_skips_the_dictionary_attempt() {
    let n = 300_000usize;
    let distinct: Vec<f64> = (0..n).map(|i| i as f64 * 0.25).collect();
    let few: Vec<f64> = (0..n).map(|i| (i % 50) as f64).collect();
    // 60,000 values in random order: a sample of 16,384 is far from all
    // distinct, and the dictionary (480 KB) fits its page
    let mid: Vec<f64> = (0..n).map(|i| ((i as u64).wrapping_mul(2_654_435_761) % 60_000) as f64).collect();
    let short: Vec<f64> = (0..1000).map(|i| i as f64).collect();
    let cols = vec![
        nc("distinct", Column::Num(NumValues::Double(&distinct)), info(&[], "double")),
        nc("few", Column::Num(NumValues::Double(&few)), info(&[], "double")),
        nc("mid", Column::Num(NumValues::Double(&mid)), info(&[], "double")),
    ];
    let bytes = write(&cols, n).bytes;
    let m = chunk_meta(&bytes);
    let encodings = |c: usize| -> Vec<parquet::basic::Encoding> {
        m.row_group(0).column(c).page_encoding_stats().unwrap().iter().map(|s| s.encoding).collect()
    };
    use parquet::basic::Encoding::{PLAIN, RLE_DICTIONARY};
    assert_eq!(encodings(0), vec![PLAIN; encodings(0).len()]);
    assert!(encodings(1).contains(&RLE_DICTIONARY) && encodings(1).iter().filter(|e| **e == PLAIN).count() == 1);
    assert!(encodings(2).contains(&RLE_DICTIONARY) && encodings(2).iter().filter(|e| **e == PLAIN).count() == 1);
    let t = read_parquet(bytes::Bytes::from(bytes)).unwrap();
    assert_eq!(f64s(&t, 0), bits(&distinct));
    assert_eq!(f64s(&t, 2), bits(&mid));
    // a short table keeps Arrow's behaviour: too few rows to overflow a page
    let cols = vec![nc("short", Column::Num(NumValues::Double(&short)), info(&[], "double"))];
    let m = chunk_meta(&write(&cols, 1000).bytes);
    assert!(m.row_group(0).column(0).page_encoding_stats().unwrap().iter().any(|s| s.encoding == RLE_DICTIONARY));
}
