//! Raw access to R objects for the binding layer: borrowed slices, UTF-8
//! string bytes, attributes. Every function here must be called on the R
//! main thread; the slices it hands out borrow R memory that stays alive for
//! the duration of the `.Call` (the arguments are protected by R).

use extendr_api::prelude::*;
use extendr_ffi::{
    cetype_t, R_CHAR, R_ClassSymbol, R_NaString, R_NamesSymbol, Rf_getAttrib, Rf_install, Rf_isNull, LENGTH, SEXP,
    SEXPTYPE, TYPEOF, VECTOR_ELT, XLENGTH,
};
use std::ffi::CStr;

#[allow(improper_ctypes)]
extern "C" {
    fn Rf_translateCharUTF8(x: SEXP) -> *const std::os::raw::c_char;
    fn Rf_getCharCE(x: SEXP) -> cetype_t;
    fn R_ToplevelExec(fun: Option<unsafe extern "C" fn(*mut std::ffi::c_void)>, data: *mut std::ffi::c_void) -> extendr_ffi::Rboolean;
    fn R_CheckUserInterrupt();
    fn Rf_lang3(a: SEXP, b: SEXP, c: SEXP) -> SEXP;
    fn Rf_lcons(a: SEXP, b: SEXP) -> SEXP;
    fn Rf_cons(a: SEXP, b: SEXP) -> SEXP;
    fn Rf_eval(call: SEXP, env: SEXP) -> SEXP;
    fn Rf_protect(x: SEXP) -> SEXP;
    fn Rf_unprotect(n: std::os::raw::c_int);
    static R_GlobalEnv: SEXP;
}

unsafe extern "C" fn check_interrupt_cb(_: *mut std::ffi::c_void) {
    R_CheckUserInterrupt();
}

/// Has the user interrupted? Runs R's interrupt check inside
/// R_ToplevelExec so a pending interrupt returns here instead of jumping
/// over Rust frames. Only ever called on the R main thread (from block_on).
pub fn user_interrupted() -> bool {
    unsafe { R_ToplevelExec(Some(check_interrupt_cb), std::ptr::null_mut()) == extendr_ffi::Rboolean::FALSE }
}

unsafe extern "C" fn eval_cb(call: *mut std::ffi::c_void) {
    Rf_eval(call as SEXP, R_GlobalEnv);
}

/// Call `datom:::{fun}(args...)` from Rust at R's top level: inside
/// R_ToplevelExec, so the call sees none of the caller's condition handlers
/// or restarts (a `suppressMessages()` around the datom call cannot muffle a
/// message out of it) and any error, interrupt or jump ends here instead of
/// unwinding over Rust frames. Returns `false` when the call did not
/// complete. Only on R's main thread.
pub fn toplevel_call(fun: &str, args: &[Robj]) -> bool {
    let c_fun = match std::ffi::CString::new(fun) {
        Ok(c) => c,
        Err(_) => return false,
    };
    unsafe {
        let head = Rf_protect(Rf_lang3(
            Rf_install(c":::".as_ptr()),
            Rf_install(c"datom".as_ptr()),
            Rf_install(c_fun.as_ptr()),
        ));
        // the argument list, built from its end; each new cell protects the rest
        let mut tail = Rf_protect(extendr_ffi::R_NilValue);
        for a in args.iter().rev() {
            Rf_unprotect(1);
            tail = Rf_protect(Rf_cons(a.get(), tail));
        }
        let call = Rf_protect(Rf_lcons(head, tail));
        let ok = R_ToplevelExec(Some(eval_cb), call as *mut std::ffi::c_void) != extendr_ffi::Rboolean::FALSE;
        Rf_unprotect(3);
        ok
    }
}

pub fn sexp(x: &Robj) -> SEXP {
    unsafe { x.get() }
}

pub fn typeof_str(x: SEXP) -> &'static str {
    match unsafe { TYPEOF(x) } {
        SEXPTYPE::NILSXP => "NULL",
        SEXPTYPE::LGLSXP => "logical",
        SEXPTYPE::INTSXP => "integer",
        SEXPTYPE::REALSXP => "double",
        SEXPTYPE::CPLXSXP => "complex",
        SEXPTYPE::STRSXP => "character",
        SEXPTYPE::VECSXP => "list",
        SEXPTYPE::RAWSXP => "raw",
        SEXPTYPE::SYMSXP => "symbol",
        SEXPTYPE::CLOSXP | SEXPTYPE::BUILTINSXP | SEXPTYPE::SPECIALSXP => "closure",
        SEXPTYPE::ENVSXP => "environment",
        SEXPTYPE::S4SXP => "S4",
        SEXPTYPE::LANGSXP => "language",
        SEXPTYPE::EXPRSXP => "expression",
        SEXPTYPE::EXTPTRSXP => "externalptr",
        _ => "other",
    }
}

/// The number of elements of a vector; 0 for anything else (NULL, an
/// environment, a function, a symbol...): `XLENGTH` on those is an R error,
/// which would jump over Rust frames.
pub fn xlength(x: SEXP) -> usize {
    if is_vector(x) {
        unsafe { XLENGTH(x) as usize }
    } else {
        0
    }
}

/// `x` is an atomic vector, a list or a CHARSXP (what `XLENGTH` accepts).
fn is_vector(x: SEXP) -> bool {
    matches!(
        unsafe { TYPEOF(x) },
        SEXPTYPE::LGLSXP
            | SEXPTYPE::INTSXP
            | SEXPTYPE::REALSXP
            | SEXPTYPE::CPLXSXP
            | SEXPTYPE::STRSXP
            | SEXPTYPE::VECSXP
            | SEXPTYPE::EXPRSXP
            | SEXPTYPE::RAWSXP
            | SEXPTYPE::CHARSXP
    )
}

pub fn attr(x: SEXP, name: &str) -> SEXP {
    let sym = match name {
        "class" => unsafe { R_ClassSymbol },
        "names" => unsafe { R_NamesSymbol },
        _ => {
            let c = std::ffi::CString::new(name).unwrap_or_default();
            unsafe { Rf_install(c.as_ptr()) }
        }
    };
    unsafe { Rf_getAttrib(x, sym) }
}

pub fn is_null(x: SEXP) -> bool {
    unsafe { Rf_isNull(x) != extendr_ffi::Rboolean::FALSE }
}

/// UTF-8 bytes of a CHARSXP, `None` for `NA_character_`. Strings in another
/// declared encoding are translated by R; the translation lives until the
/// end of the `.Call`.
pub fn charsxp_utf8<'a>(c: SEXP) -> Option<&'a [u8]> {
    unsafe {
        if c == R_NaString {
            return None;
        }
        let raw = R_CHAR(c);
        let enc = Rf_getCharCE(c);
        if enc == cetype_t::CE_UTF8 || enc == cetype_t::CE_BYTES {
            return Some(std::slice::from_raw_parts(raw as *const u8, LENGTH(c) as usize));
        }
        let t = Rf_translateCharUTF8(c);
        if t == raw {
            Some(std::slice::from_raw_parts(raw as *const u8, LENGTH(c) as usize))
        } else {
            Some(CStr::from_ptr(t).to_bytes())
        }
    }
}

/// Elements of a character vector as UTF-8 byte slices; empty for anything
/// that is not a character vector (STRING_ELT on another type is an R error).
///
/// One pass over the vector's CHARSXP pointers (`STRING_PTR_RO`, which
/// materialises an ALTREP vector once, here on R's main thread): a CHARSXP
/// equal to the previous one (R caches each distinct string once, and
/// clinical columns repeat) reuses its slice; ASCII strings need no
/// translation whatever their declared encoding.
pub fn strings_utf8<'a>(x: SEXP) -> Vec<Option<&'a [u8]>> {
    scan_utf8(x).0
}

/// [`strings_utf8`] for values that must be stored: `Err(i)` names the
/// first element (0-based) whose bytes are not valid UTF-8 (a string marked
/// `"bytes"`, or marked UTF-8 / native but malformed). Such a string has no
/// UTF-8 form to hash (FORMATS.md 3.4) and parquet cannot hold it.
pub fn strings_utf8_checked<'a>(x: SEXP) -> std::result::Result<Vec<Option<&'a [u8]>>, usize> {
    match scan_utf8(x) {
        (v, None) => Ok(v),
        (_, Some(i)) => Err(i),
    }
}

/// The UTF-8 slices of a character vector, and the first element that is
/// not valid UTF-8.
fn scan_utf8<'a>(x: SEXP) -> (Vec<Option<&'a [u8]>>, Option<usize>) {
    if unsafe { TYPEOF(x) } != SEXPTYPE::STRSXP {
        return (Vec::new(), None);
    }
    let n = xlength(x);
    if n == 0 {
        return (Vec::new(), None);
    }
    // the CHARSXP addresses (plain numbers, so a helper thread may read them)
    let ptrs: &[usize] = unsafe { std::slice::from_raw_parts(extendr_ffi::STRING_PTR_RO(x) as *const usize, n) };
    let mut out: Vec<Option<&'a [u8]>> = vec![None; n];
    // A long vector is read in two halves side by side. The other thread
    // only reads CHARSXPs R already made (R_CHAR, LENGTH, the encoding
    // flag) while this one waits for it: R runs nothing meanwhile. A string
    // that needs translation (neither ASCII nor UTF-8) is left to this
    // thread, after the join.
    let half = if n >= 1 << 20 { n / 2 } else { n };
    let (a, b) = out.split_at_mut(half);
    let (pending, mut invalid) = if b.is_empty() {
        scan_strings(&ptrs[..half], a, 0)
    } else {
        match crate::par::join(|| scan_strings(&ptrs[half..], b, half), || scan_strings(&ptrs[..half], a, 0)) {
            Ok(((mut p2, i2), (mut p1, i1))) => {
                p1.append(&mut p2);
                (p1, i1.or(i2))
            }
            // a panic in the scan: read it all here instead
            Err(_) => ((0..n).collect(), None),
        }
    };
    for i in pending {
        let v = charsxp_utf8(ptrs[i] as SEXP);
        if invalid.is_none_or(|j| i < j) && v.is_some_and(|b| std::str::from_utf8(b).is_err()) {
            invalid = Some(i);
        }
        out[i] = v;
    }
    (out, invalid)
}

/// Fill `out` with the UTF-8 slices of the CHARSXPs at `ptrs` where no
/// translation is needed; return the indices (offset by `base`) that need
/// one, and the first index whose bytes are not valid UTF-8. A CHARSXP
/// equal to the previous one (R keeps each distinct string once, and
/// clinical columns repeat) reuses its slice.
fn scan_strings<'a>(ptrs: &[usize], out: &mut [Option<&'a [u8]>], base: usize) -> (Vec<usize>, Option<usize>) {
    let na = unsafe { R_NaString } as usize;
    let mut pending = Vec::new();
    let mut invalid = None;
    // (CHARSXP, its slice, needs translation, is not valid UTF-8)
    let mut last: Option<(usize, Option<&'a [u8]>, bool, bool)> = None;
    for (i, (&c, o)) in ptrs.iter().zip(out.iter_mut()).enumerate() {
        let (v, later, bad) = match last {
            Some((lc, lv, lt, lb)) if lc == c => (lv, lt, lb),
            _ => {
                let got = if c == na {
                    (None, false, false)
                } else {
                    unsafe {
                        let x = c as SEXP;
                        let b = std::slice::from_raw_parts(R_CHAR(x) as *const u8, LENGTH(x) as usize);
                        if b.is_ascii() {
                            (Some(b), false, false)
                        } else {
                            let enc = Rf_getCharCE(x);
                            if enc == cetype_t::CE_UTF8 || enc == cetype_t::CE_BYTES {
                                (Some(b), false, std::str::from_utf8(b).is_err())
                            } else {
                                (None, true, false)
                            }
                        }
                    }
                };
                last = Some((c, got.0, got.1, got.2));
                got
            }
        };
        *o = v;
        if later {
            pending.push(base + i);
        }
        if bad && invalid.is_none() {
            invalid = Some(base + i);
        }
    }
    (pending, invalid)
}

/// A character vector as owned Strings (`None` for NA); empty for NULL.
pub fn strings_owned(x: SEXP) -> Vec<Option<String>> {
    if unsafe { TYPEOF(x) } != SEXPTYPE::STRSXP {
        return Vec::new();
    }
    strings_utf8(x).into_iter().map(|o| o.map(|b| String::from_utf8_lossy(b).into_owned())).collect()
}

/// The class attribute as strings (empty when unclassed).
pub fn class_of(x: SEXP) -> Vec<String> {
    strings_owned(attr(x, "class")).into_iter().map(|o| o.unwrap_or_default()).collect()
}

/// First element of a character attribute.
pub fn string_attr(x: SEXP, name: &str) -> Option<String> {
    strings_owned(attr(x, name)).into_iter().next().flatten()
}

pub fn list_elt(x: SEXP, i: usize) -> SEXP {
    // VECTOR_ELT on anything but a list, or out of range, is an R error
    if matches!(unsafe { TYPEOF(x) }, SEXPTYPE::VECSXP | SEXPTYPE::EXPRSXP) && i < xlength(x) {
        unsafe { VECTOR_ELT(x, i as isize) }
    } else {
        unsafe { extendr_ffi::R_NilValue }
    }
}

/// The storage of `x` must be `want` before R's typed accessors (REAL,
/// INTEGER, LOGICAL) are called: on another type they raise an R error,
/// which would jump over Rust frames.
fn check_type(x: SEXP, want: SEXPTYPE, what: &str) -> crate::error::Result<()> {
    if unsafe { TYPEOF(x) } != want {
        return Err(crate::error::Error::input(format!(
            "{what}: expected {} storage, found {}",
            match want {
                SEXPTYPE::REALSXP => "double",
                SEXPTYPE::INTSXP => "integer",
                _ => "logical",
            },
            typeof_str(x)
        )));
    }
    Ok(())
}

pub fn real_slice<'a>(x: SEXP) -> crate::error::Result<&'a [f64]> {
    check_type(x, SEXPTYPE::REALSXP, "value")?;
    let n = xlength(x);
    if n == 0 {
        return Ok(&[]);
    }
    Ok(unsafe { std::slice::from_raw_parts(extendr_ffi::REAL(x), n) })
}

pub fn int_slice<'a>(x: SEXP) -> crate::error::Result<&'a [i32]> {
    check_type(x, SEXPTYPE::INTSXP, "value")?;
    let n = xlength(x);
    if n == 0 {
        return Ok(&[]);
    }
    Ok(unsafe { std::slice::from_raw_parts(extendr_ffi::INTEGER(x), n) })
}

pub fn lgl_slice<'a>(x: SEXP) -> crate::error::Result<&'a [i32]> {
    check_type(x, SEXPTYPE::LGLSXP, "value")?;
    let n = xlength(x);
    if n == 0 {
        return Ok(&[]);
    }
    Ok(unsafe { std::slice::from_raw_parts(extendr_ffi::LOGICAL(x), n) })
}

/// Does `x` carry class `c`?
pub fn inherits(x: SEXP, c: &str) -> bool {
    class_of(x).iter().any(|k| k == c)
}
