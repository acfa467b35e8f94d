//! What killed writes left in a project's store ([`Store::leftovers`]): a
//! hidden temporary file beside a key (local) or an incomplete multipart
//! upload (S3). `datom_validate()` names them; its fix removes the ones older
//! than [`stale_after`] (a younger one may be a write still running).

use super::Project;
use crate::error::Result;
use crate::store::Leftover;
use std::time::Duration;

/// An unfinished write of a project: the table it was for, and whether it is
/// old enough to be a killed write's.
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub leftover: Leftover,
    pub table: Option<String>,
    pub stale: bool,
}

/// How old an unfinished write must be before it counts as a killed one
/// (`DATOM_STALE_UPLOAD`, seconds; default 24 hours).
pub fn stale_after() -> Duration {
    let secs = std::env::var("DATOM_STALE_UPLOAD").ok().and_then(|s| s.trim().parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0);
    Duration::from_secs_f64(secs.unwrap_or(86_400.0))
}

/// The project's unfinished writes (only under its own namespace), sorted by key.
pub fn scan(project: &Project, stale_after: Duration) -> Result<Vec<Unfinished>> {
    let prefix = format!("{}/", project.root);
    Ok(project
        .store
        .leftovers(&prefix)?
        .into_iter()
        .map(|l| {
            let table = l.key.strip_prefix(&prefix).and_then(|r| r.split_once('/')).map(|(t, _)| t.to_string());
            // an age the backend cannot tell is old enough: nothing writes without a clock
            let stale = l.age_secs.is_none_or(|a| a >= stale_after.as_secs());
            Unfinished { leftover: l, table, stale }
        })
        .collect())
}

/// Remove the project's stale unfinished writes; the keys they were for.
pub fn clean(project: &Project, stale_after: Duration) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for u in scan(project, stale_after)?.into_iter().filter(|u| u.stale) {
        if project.store.discard(&u.leftover)? {
            done.push(u.leftover.key);
        }
    }
    Ok(done)
}

/// A line for a report: what was left, how long ago.
pub fn describe(u: &Unfinished) -> String {
    let age = match u.leftover.age_secs {
        Some(s) if s >= 86_400 => format!("{} day(s) ago", s / 86_400),
        Some(s) if s >= 3_600 => format!("{} hour(s) ago", s / 3_600),
        Some(s) => format!("{} minute(s) ago", s / 60),
        None => "at an unknown time".to_string(),
    };
    format!("an unfinished upload of {} (started {age}) was left by a write that never completed", u.leftover.key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalStore;
    use crate::store::Store;
    use std::io::Write;

    #[test]
    fn scan_and_clean_touch_only_the_projects_own_leftovers() {
        let d = crate::testutil::scratch_dir("leftovers");
        let project = Project::new("S1", Box::new(LocalStore::new(&d)), Some("team"), true, d.display().to_string());
        let store = LocalStore::new(&d);
        // a killed write of S1's lb, and one of another project in the same store
        let mut st = store.stage(&project.key("lb/abc.parquet")).unwrap().unwrap();
        st.write_all(b"partial").unwrap();
        std::mem::forget(st);
        let other = Project::new("S2", Box::new(LocalStore::new(&d)), Some("team"), true, String::new());
        let mut st = store.stage(&other.key("lb/abc.parquet")).unwrap().unwrap();
        st.write_all(b"partial").unwrap();
        std::mem::forget(st);
        // a finished object is no leftover
        store.put(&project.key("lb/def.parquet"), b"done").unwrap();

        let young = scan(&project, Duration::from_secs(3_600)).unwrap();
        assert_eq!(young.len(), 1);
        assert_eq!(young[0].leftover.key, project.key("lb/abc.parquet"));
        assert_eq!(young[0].table.as_deref(), Some("lb"));
        assert!(!young[0].stale, "just written: may be a write still running");
        assert!(describe(&young[0]).contains("lb/abc.parquet"));
        // not stale yet: the fix leaves it
        assert!(clean(&project, Duration::from_secs(3_600)).unwrap().is_empty());
        assert_eq!(scan(&project, Duration::from_secs(3_600)).unwrap().len(), 1);
        // stale: removed, the other project's and the finished object stay
        assert_eq!(clean(&project, Duration::ZERO).unwrap(), vec![project.key("lb/abc.parquet")]);
        assert!(scan(&project, Duration::ZERO).unwrap().is_empty());
        assert_eq!(scan(&other, Duration::ZERO).unwrap().len(), 1);
        assert_eq!(store.get(&project.key("lb/def.parquet")).unwrap(), b"done");
    }
}
