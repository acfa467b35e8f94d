//! Identity: `data_sha` / `column_hashes` (datom-cv1), `metadata_sha`
//! (canonical JSON), and plain SHA-256 of bytes (`parquet_sha`,
//! `original_file_sha`).

pub mod canon;
pub mod classify;
pub mod cv1;
pub mod rvalue;

pub use cv1::{hash_table, sha256_hex, sha256_hex_progress, TableHash, HASH_ALGO};

/// `YYYY-MM-DD` of a day count since 1970-01-01 (proleptic Gregorian).
pub fn civil_date(days: i64) -> String {
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(20454), "2026-01-01");
        assert_eq!(super::civil_date(-1), "1969-12-31");
        assert_eq!(super::civil_date(11016), "2000-02-29");
    }
}
