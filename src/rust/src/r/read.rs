//! Engine `ReadTable` -> R column vectors. Each R vector is allocated once
//! and filled in place by the engine (no intermediate copy).

use super::result::rerr;
use crate::error::Result;
use crate::table::{RTarget, ReadTable};
use extendr_api::prelude::*;

fn set_class(x: &mut Robj, class: &Option<Vec<String>>) -> Result<()> {
    if let Some(c) = class {
        x.set_attrib("class", c.clone()).map_err(rerr)?;
    }
    Ok(())
}

pub fn to_r(t: &ReadTable, parquet_sha: String) -> Result<Robj> {
    let n = t.nrow;
    let mut cols: Vec<Robj> = Vec::with_capacity(t.columns.len());
    for (i, c) in t.columns.iter().enumerate() {
        let mut x: Robj = match c.target {
            RTarget::Double => {
                let mut v: Robj = Doubles::new(n).into();
                t.fill_f64(i, v.as_real_slice_mut().unwrap_or(&mut []))?;
                v
            }
            RTarget::Integer | RTarget::Factor => {
                let mut v: Robj = Integers::new(n).into();
                t.fill_i32(i, v.as_integer_slice_mut().unwrap_or(&mut []))?;
                v
            }
            RTarget::Logical => {
                let mut v: Robj = Logicals::new(n).into();
                // LGLSXP stores int; fill through the raw pointer.
                let out: &mut [i32] = if n == 0 {
                    &mut []
                } else {
                    unsafe { std::slice::from_raw_parts_mut(extendr_ffi::LOGICAL(v.get_mut()), n) }
                };
                t.fill_i32(i, out)?;
                v
            }
            RTarget::Integer64 => {
                let mut v: Robj = Doubles::new(n).into();
                let s = v.as_real_slice_mut().unwrap_or(&mut []);
                // SAFETY: same size and alignment.
                let bits = unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut u64, s.len()) };
                t.fill_i64_bits(i, bits)?;
                v
            }
            RTarget::Character => {
                let mut v = Strings::new(n);
                t.for_each_str(i, |k, s| {
                    let r = match s {
                        Some(s) => Rstr::from(s),
                        None => Rstr::na(),
                    };
                    v.set_elt(k, r);
                })?;
                v.into()
            }
        };
        if let Some(levels) = &c.levels {
            x.set_attrib("levels", levels.clone()).map_err(rerr)?;
        }
        if let Some(tz) = &c.info.tzone {
            x.set_attrib("tzone", tz.as_str()).map_err(rerr)?;
        }
        if let Some(u) = &c.info.units {
            x.set_attrib("units", u.as_str()).map_err(rerr)?;
        }
        set_class(&mut x, &c.info.class)?;
        cols.push(x);
    }
    let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    let extras: Strings = t
        .columns
        .iter()
        .map(|c| match &c.info.extra {
            Some(s) => Rstr::from(s.as_str()),
            None => Rstr::na(),
        })
        .collect();
    let df_class: Robj = match &t.df_class {
        Some(c) => c.clone().into(),
        None => ().into(),
    };
    List::from_names_and_values(
        ["columns", "names", "nrow", "df_class", "extras", "parquet_sha"],
        [
            List::from_values(cols).into(),
            names.into(),
            Robj::from(n as f64),
            df_class,
            extras.into(),
            parquet_sha.into(),
        ],
    )
    .map(Robj::from)
    .map_err(rerr)
}
