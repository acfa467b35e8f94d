//! R values -> `RValue` (the engine's model of metadata lists).

use super::sexp::*;
use crate::error::{Error, Result};
use crate::identity::canon::MAX_DEPTH;
use crate::identity::civil_date;
use crate::identity::rvalue::RValue;
use extendr_ffi::SEXP;

fn names_of(x: SEXP) -> Option<Vec<Option<String>>> {
    let n = attr(x, "names");
    if is_null(n) {
        None
    } else {
        Some(strings_owned(n))
    }
}

fn atomic(x: SEXP, what: &str) -> Result<RValue> {
    let class = class_of(x);
    let has = |c: &str| class.iter().any(|k| k == c);
    if has("factor") {
        // R's accessors raise an R error on the wrong storage: check first
        if typeof_str(x) != "integer" {
            return Err(Error::input(format!("{what} contains a factor stored as {}, not integer", typeof_str(x)))
                .with_hint("Rebuild it with factor(), or convert it to character."));
        }
        let lv = attr(x, "levels");
        if typeof_str(lv) != "character" {
            return Err(Error::input(format!("{what} contains a factor whose levels are {}, not character", typeof_str(lv)))
                .with_hint("Rebuild it with factor(), or convert it to character."));
        }
        let levels = strings_owned(lv);
        let codes = int_slice(x)?;
        return Ok(RValue::Character(
            codes
                .iter()
                .map(|&c| if c < 1 || c as usize > levels.len() { None } else { levels[c as usize - 1].clone() })
                .collect(),
        ));
    }
    if has("Date") {
        let days: Vec<f64> = match typeof_str(x) {
            "integer" => int_slice(x)?.iter().map(|&v| if v == i32::MIN { f64::NAN } else { v as f64 }).collect(),
            "double" => real_slice(x)?.to_vec(),
            other => {
                return Err(Error::input(format!("{what} contains a Date stored as {other}, not double or integer"))
                    .with_hint("Rebuild it with as.Date(), or convert it to character."))
            }
        };
        return Ok(RValue::Character(
            days.into_iter().map(|d| if d.is_finite() { Some(civil_date(d.floor() as i64)) } else { None }).collect(),
        ));
    }
    for bad in ["POSIXct", "POSIXlt", "difftime", "integer64", "hms"] {
        if has(bad) {
            return Err(Error::input(format!("{what} contains a {bad} value, which has no portable JSON form"))
                .with_hint("Convert it to character (e.g. format(x, \"%Y-%m-%dT%H:%M:%SZ\", tz = \"UTC\")) or a number."));
        }
    }
    Ok(match typeof_str(x) {
        "logical" => RValue::Logical(lgl_slice(x)?.iter().map(|&v| if v == i32::MIN { None } else { Some(v != 0) }).collect()),
        "integer" => RValue::Integer(int_slice(x)?.iter().map(|&v| if v == i32::MIN { None } else { Some(v) }).collect()),
        "double" => RValue::Double(real_slice(x)?.to_vec()),
        "character" => RValue::Character(strings_owned(x)),
        other => {
            return Err(Error::input(format!("{what} contains a value of type {other}, which has no JSON form")))
        }
    })
}

/// Convert an R value (metadata list, `custom` contents) to an `RValue`.
/// Lists nested deeper than `MAX_DEPTH` are refused before the conversion
/// recurses into them (a deep list must not overflow the C stack).
pub fn to_rvalue(x: SEXP, what: &str) -> Result<RValue> {
    to_rvalue_at(x, what, 0)
}

fn to_rvalue_at(x: SEXP, what: &str, depth: usize) -> Result<RValue> {
    match typeof_str(x) {
        "NULL" => Ok(RValue::Null),
        "list" => {
            if depth >= MAX_DEPTH {
                return Err(Error::input(format!("{what} is nested more than {MAX_DEPTH} lists deep"))
                    .with_hint(format!("datom stores metadata as JSON at most {MAX_DEPTH} levels deep; flatten the value.")));
            }
            if inherits(x, "data.frame") {
                let names = names_of(x).unwrap_or_default();
                let n = xlength(x);
                let mut columns = Vec::with_capacity(n);
                for i in 0..n {
                    let col = list_elt(x, i);
                    if !matches!(typeof_str(col), "logical" | "integer" | "double" | "character") {
                        return Err(Error::input(format!("{what} contains a data frame with a {} column", typeof_str(col)))
                            .with_hint("Data frames in metadata may hold logical, integer, double, character, factor and Date columns."));
                    }
                    if i > 0 && xlength(col) != xlength(list_elt(x, 0)) {
                        return Err(Error::input(format!("{what} contains a data frame whose columns differ in length")));
                    }
                    columns.push(atomic(col, what)?);
                }
                return Ok(RValue::DataFrame { names, columns });
            }
            if inherits(x, "POSIXlt") {
                return Err(Error::input(format!("{what} contains a POSIXlt value, which has no portable JSON form")));
            }
            let n = xlength(x);
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(to_rvalue_at(list_elt(x, i), what, depth + 1)?);
            }
            Ok(RValue::List { names: names_of(x), values })
        }
        "logical" | "integer" | "double" | "character" => {
            let dim = attr(x, "dim");
            if !is_null(dim) && xlength(dim) == 2 && typeof_str(dim) == "integer" {
                let d = int_slice(dim)?;
                let data = atomic(x, what)?;
                return Ok(RValue::Matrix { nrow: d[0].max(0) as usize, ncol: d[1].max(0) as usize, data: Box::new(data) });
            }
            atomic(x, what)
        }
        other => Err(Error::input(format!("{what} contains a value of type {other}, which has no JSON form"))
            .with_hint("Metadata may hold lists, logical, integer, double, character, factor and Date values.")),
    }
}

/// Refuse a parsed value holding a string (or a name) with an embedded NUL
/// before it is turned into R strings (R raises an error on one). Iterative.
pub fn check_no_nul(v: &RValue, what: &str) -> Result<()> {
    let bad = |s: &Option<String>| s.as_deref().is_some_and(|s| s.contains('\0'));
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        let found = match v {
            RValue::Character(x) => x.iter().any(bad),
            RValue::List { names, values } => {
                stack.extend(values.iter());
                names.iter().flatten().any(bad)
            }
            RValue::DataFrame { names, columns } => {
                stack.extend(columns.iter());
                names.iter().any(bad)
            }
            RValue::Matrix { data, .. } => {
                stack.push(data);
                false
            }
            _ => false,
        };
        if found {
            return Err(Error::input(format!("{what} contains a string with an embedded NUL (\\u0000), which R cannot represent")));
        }
    }
    Ok(())
}

/// `RValue` -> R value (what a JSON file parses to: lists and length-1
/// vectors; `null` -> NULL).
pub fn from_rvalue(v: &RValue) -> extendr_api::Result<extendr_api::Robj> {
    use extendr_api::prelude::*;
    Ok(match v {
        RValue::Null => ().into(),
        RValue::Logical(x) => {
            let l: Logicals = x.iter().map(|b| match b { Some(true) => Rbool::true_value(), Some(false) => Rbool::false_value(), None => Rbool::na_value() }).collect();
            l.into()
        }
        RValue::Integer(x) => {
            let i: Integers = x.iter().map(|b| match b { Some(v) => Rint::from(*v), None => Rint::na() }).collect();
            i.into()
        }
        RValue::Double(x) => x.clone().into(),
        RValue::Character(x) => {
            let s: Strings = x.iter().map(|b| match b { Some(v) => Rstr::from(v.as_str()), None => Rstr::na() }).collect();
            s.into()
        }
        RValue::List { names, values } => {
            let items: Vec<Robj> = values.iter().map(from_rvalue).collect::<extendr_api::Result<_>>()?;
            let mut l: Robj = List::from_values(items).into();
            if let Some(n) = names {
                let nm: Vec<String> = n.iter().map(|o| o.clone().unwrap_or_default()).collect();
                l.set_attrib("names", nm)?;
            }
            l
        }
        RValue::DataFrame { .. } | RValue::Matrix { .. } => {
            return Err(extendr_api::Error::Other("data frames are not produced by the JSON parser".into()))
        }
    })
}
