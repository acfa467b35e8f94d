//! R data frame -> engine column views, without copying values.

use super::sexp::*;
use crate::column::{Column, NamedColumn, NumValues, RColumnInfo, StrValues};
use crate::error::{Error, Kind, Result};
use crate::identity::classify::{classify, Classified, ColumnShape, Kind as CKind};
use extendr_ffi::SEXP;

/// One column datom cannot hash or store.
pub struct Problem {
    pub name: String,
    pub class: String,
    pub advice: String,
}

/// Per-column report of `datom_check_hashable()`.
pub struct ColumnReport {
    pub name: String,
    pub class: String,
    pub advice: Option<String>,
}

/// A data frame seen as engine columns. Borrowed from R memory.
pub struct FrameView<'a> {
    pub columns: Vec<NamedColumn<'a>>,
    #[allow(dead_code)]
    pub nrow: usize,
    pub df_class: Vec<String>,
}

fn display_class(x: SEXP) -> String {
    let cls = class_of(x);
    if cls.is_empty() {
        typeof_str(x).to_string()
    } else {
        cls.join("/")
    }
}

fn num_values<'a>(x: SEXP) -> Option<NumValues<'a>> {
    match typeof_str(x) {
        "double" => real_slice(x).ok().map(NumValues::Double),
        "integer" => int_slice(x).ok().map(NumValues::Integer),
        "logical" => lgl_slice(x).ok().map(NumValues::Logical),
        _ => None,
    }
}

fn shape_of(x: SEXP, class: &[String]) -> (String, bool, bool) {
    let rtype = typeof_str(x).to_string();
    let list_of_frames = rtype == "list"
        && xlength(x) > 0
        && (0..xlength(x)).all(|i| inherits(list_elt(x, i), "data.frame"));
    let has_units = !is_null(attr(x, "units"));
    let _ = class;
    (rtype, list_of_frames, has_units)
}

/// Classify every column (names, classes, advice) — the report of
/// Where a column keeps strings that must be valid UTF-8 (`None`: nowhere).
fn string_part(x: SEXP, kind: CKind, stripped: bool, rtype: &str) -> Option<(SEXP, bool)> {
    if stripped {
        (rtype == "character").then_some((x, false))
    } else {
        match kind {
            CKind::Chr => Some((x, false)),
            CKind::Factor => Some((attr(x, "levels"), true)),
            _ => None,
        }
    }
}

/// Which string of a column is not valid UTF-8, and what to do about it.
fn invalid_utf8(i: usize, level: bool) -> (String, &'static str) {
    let which = if level { format!("level {}", i + 1) } else { format!("the string in row {}", i + 1) };
    (
        format!("{which} is not valid UTF-8"),
        "find such strings with which(!validUTF8(x)) and convert them with iconv(x, from = \"latin1\", to = \"UTF-8\") (or the encoding they were read in)",
    )
}

/// The strings of a column, all valid UTF-8.
fn checked_strings<'a>(x: SEXP, level: bool, name: &str) -> Result<StrValues<'a>> {
    strings_utf8_checked(x).map(|values| StrValues { values }).map_err(|i| {
        let (what, fix) = invalid_utf8(i, level);
        Error::new(Kind::Unsupported, format!("column `{name}`: {what}")).with_hint(format!("To fix: {fix}."))
    })
}

/// `datom_check_hashable()`; never fails on column content.
pub fn check_frame(df: SEXP, content: bool) -> Result<Vec<ColumnReport>> {
    let names = column_names(df)?;
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let x = list_elt(df, i);
        let class = class_of(x);
        let (rtype, list_of_frames, has_units) = shape_of(x, &class);
        let shape = ColumnShape { class: &class, rtype: &rtype, list_of_frames, has_units };
        let advice = match classify(&shape) {
            Classified::Ok { kind: CKind::Factor, stripped: false } if typeof_str(attr(x, "levels")) != "character" => Some(
                format!("a factor's levels must be character, not {}; rebuild it with factor()", typeof_str(attr(x, "levels"))),
            ),
            Classified::Ok { kind, stripped } => string_part(x, kind, stripped, &rtype)
                .filter(|_| content)
                .and_then(|(s, level)| strings_utf8_checked(s).err().map(|i| (i, level)))
                .map(|(i, level)| {
                    let (what, fix) = invalid_utf8(i, level);
                    format!("{what}; {fix}")
                }),
            Classified::Unsupported { advice } => Some(advice),
        };
        out.push(ColumnReport { name, class: display_class(x), advice });
    }
    Ok(out)
}

fn column_names(df: SEXP) -> Result<Vec<String>> {
    if typeof_str(df) != "list" || !inherits(df, "data.frame") {
        return Err(Error::input("`data` must be a data frame").with_hint("Pass a data.frame, tibble or data.table."));
    }
    let n = xlength(df);
    let names = strings_owned(attr(df, "names"));
    Ok((0..n).map(|i| names.get(i).cloned().flatten().unwrap_or_default()).collect())
}

/// Build the engine view of a data frame. Every column is classified first;
/// if any is unsupported, one error lists them all.
pub fn frame_view<'a>(df: SEXP, nrow: usize) -> Result<FrameView<'a>> {
    let names = column_names(df)?;
    let mut columns = Vec::with_capacity(names.len());
    let mut problems: Vec<Problem> = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let x = list_elt(df, i);
        let class = class_of(x);
        let (rtype, list_of_frames, has_units) = shape_of(x, &class);
        let shape = ColumnShape { class: &class, rtype: &rtype, list_of_frames, has_units };
        let (kind, stripped) = match classify(&shape) {
            Classified::Ok { kind, stripped } => (kind, stripped),
            Classified::Unsupported { advice } => {
                problems.push(Problem { name, class: display_class(x), advice });
                continue;
            }
        };
        if kind == CKind::Factor && !stripped && typeof_str(attr(x, "levels")) != "character" {
            problems.push(Problem {
                name,
                class: display_class(x),
                advice: format!("a factor's levels must be character, not {}; rebuild it with factor()", typeof_str(attr(x, "levels"))),
            });
            continue;
        }
        if xlength(x) != nrow {
            return Err(Error::input(format!(
                "column `{name}` has {} values but the data frame has {nrow} rows",
                xlength(x)
            )));
        }
        let info = RColumnInfo {
            class: if class.is_empty() { None } else { Some(class.clone()) },
            storage: rtype.clone(),
            tzone: string_attr(x, "tzone"),
            units: string_attr(x, "units"),
            extra: None,
        };
        let column = if stripped {
            match rtype.as_str() {
                "character" => Column::Chr(checked_strings(x, false, &name)?),
                _ => Column::Num(num_values(x).ok_or_else(|| Error::internal("labelled column storage"))?),
            }
        } else {
            match kind {
                CKind::Num => Column::Num(num_values(x).ok_or_else(|| Error::internal("numeric storage"))?),
                CKind::Chr => Column::Chr(checked_strings(x, false, &name)?),
                CKind::I64 => {
                    let r = real_slice(x)?;
                    // SAFETY: f64 and u64 have the same size and alignment.
                    Column::I64(unsafe { std::slice::from_raw_parts(r.as_ptr() as *const u64, r.len()) })
                }
                CKind::Factor => Column::Factor {
                    codes: int_slice(x)?,
                    levels: checked_strings(attr(x, "levels"), true, &name)?,
                    ordered: class.iter().any(|c| c == "ordered"),
                },
                CKind::Date => Column::Date(num_values(x).ok_or_else(|| Error::internal("Date storage"))?),
                CKind::Time => Column::Time {
                    secs: num_values(x).ok_or_else(|| Error::internal("POSIXct storage"))?,
                    tzone: info.tzone.clone(),
                },
                CKind::Duration => Column::Duration {
                    values: num_values(x).ok_or_else(|| Error::internal("difftime storage"))?,
                    units: info.units.clone().unwrap_or_default(),
                },
                CKind::ITime => Column::Duration {
                    values: num_values(x).ok_or_else(|| Error::internal("ITime storage"))?,
                    units: "secs".to_string(),
                },
            }
        };
        columns.push(NamedColumn { name, column, info });
    }
    if !problems.is_empty() {
        let total = problems.len() + columns.len();
        let list: Vec<String> = problems.iter().map(|p| format!("{} ({}): {}", p.name, p.class, p.advice)).collect();
        return Err(Error::new(
            Kind::Unsupported,
            format!("{} of {} columns cannot be hashed: {}", problems.len(), total, list.join("; ")),
        )
        .with_hint("Run datom_check_hashable(data) for the advice per column; nothing was written."));
    }
    Ok(FrameView { columns, nrow, df_class: class_of(df) })
}
