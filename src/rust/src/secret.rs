//! Credentials named, not held: a secret *reference* names an entry of the
//! OS keyring (kernel keyutils on Linux, Keychain on macOS, Credential
//! Manager on Windows) and an environment variable. The value is looked up
//! at the moment of use, never stored by datom, and never returned to R.

use crate::error::{Error, Kind, Result};

/// Where a secret's value is found: the keyring entry `service`/`user`
/// first, then the environment variable `env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub service: String,
    pub user: String,
    pub env: Option<String>,
}

impl SecretRef {
    /// The value, or a `Kind::Auth` error that says where datom looked.
    pub fn resolve(&self) -> Result<String> {
        let from_keyring = keyring_get(&self.service, &self.user);
        if let Ok(Some(v)) = &from_keyring {
            return Ok(v.clone());
        }
        if let Some(var) = &self.env {
            if let Some(v) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
                return Ok(v);
            }
        }
        let why = match from_keyring {
            Err(e) => format!("the OS keyring could not be read ({})", e.message),
            _ => format!("the OS keyring has no entry {:?}", self.service),
        };
        let env = match &self.env {
            Some(v) => format!(" and ${v} is not set"),
            None => String::new(),
        };
        Err(Error::new(Kind::Auth, format!("No value for the secret {:?}: {why}{env}", self.service)).with_hint(format!(
            "Store it once with datom_secret_set({:?}){}.",
            self.service,
            self.env.as_ref().map(|v| format!(" or set the environment variable {v}")).unwrap_or_default()
        )))
    }
}

fn check(service: &str) -> Result<()> {
    if service.is_empty() || service.contains('\0') || service.chars().count() > 256 {
        return Err(Error::input("a keyring service name must be 1-256 characters without NUL"));
    }
    Ok(())
}

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
mod os {
    use super::*;

    fn kr_err(what: &str, e: keyring::Error) -> Error {
        // keyring's messages name the entry, never its value
        Error::new(Kind::Storage, format!("{what}: {e}"))
    }

    pub fn get(service: &str, user: &str) -> Result<Option<String>> {
        let entry = keyring::Entry::new(service, user).map_err(|e| kr_err("cannot open the keyring entry", e))?;
        match entry.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(kr_err("cannot read the keyring entry", e)),
        }
    }

    pub fn set(service: &str, user: &str, value: &str) -> Result<()> {
        let entry = keyring::Entry::new(service, user).map_err(|e| kr_err("cannot open the keyring entry", e))?;
        entry.set_password(value).map_err(|e| kr_err("cannot store the secret in the OS keyring", e))
    }

    pub fn delete(service: &str, user: &str) -> Result<bool> {
        let entry = keyring::Entry::new(service, user).map_err(|e| kr_err("cannot open the keyring entry", e))?;
        match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(kr_err("cannot delete the keyring entry", e)),
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod os {
    use super::*;
    fn none() -> Error {
        Error::new(Kind::Unsupported, "no OS keyring is supported on this platform")
    }
    pub fn get(_: &str, _: &str) -> Result<Option<String>> {
        Err(none())
    }
    pub fn set(_: &str, _: &str, _: &str) -> Result<()> {
        Err(none())
    }
    pub fn delete(_: &str, _: &str) -> Result<bool> {
        Err(none())
    }
}

/// The keyring entry's value (`None` when there is no such entry).
pub fn keyring_get(service: &str, user: &str) -> Result<Option<String>> {
    check(service)?;
    os::get(service, user)
}

/// Store `value` in the OS keyring under `service`/`user` (replacing it).
pub fn keyring_set(service: &str, user: &str, value: &str) -> Result<()> {
    check(service)?;
    if value.is_empty() {
        return Err(Error::input("a secret must not be empty"));
    }
    os::set(service, user, value)
}

/// Remove the keyring entry; `false` when there was none.
pub fn keyring_delete(service: &str, user: &str) -> Result<bool> {
    check(service)?;
    os::delete(service, user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_fallback_and_clear_error() {
        let var = format!("DATOM_TEST_SECRET_{}", std::process::id());
        let r = SecretRef { service: format!("datom-test-absent-{}", std::process::id()), user: String::new(), env: Some(var.clone()) };
        let e = r.resolve().unwrap_err();
        assert_eq!(e.kind, Kind::Auth);
        assert!(e.message.contains(&var), "{}", e.message);
        std::env::set_var(&var, "s3cr3t-value");
        assert_eq!(r.resolve().unwrap(), "s3cr3t-value");
        std::env::remove_var(&var);
        assert!(keyring_set("", "", "x").is_err());
        assert!(keyring_set("svc", "", "").is_err());
    }

    /// Round trip through the OS keyring. `make cargo-test` runs the suite
    /// in a fresh kernel session keyring (`keyctl session -`) with
    /// `DATOM_TEST_STRICT=true`, where an unusable keyring fails the test;
    /// a plain `cargo test` outside a session may find none.
    #[test]
    fn keyring_round_trip() {
        let svc = format!("datom-test-{}", std::process::id());
        let strict = std::env::var("DATOM_TEST_STRICT").is_ok_and(|v| v == "true");
        match keyring_set(&svc, "", "value-1") {
            Err(e) if !strict => {
                eprintln!("keyring unavailable here (not strict): {}", e.message);
            }
            Err(e) => panic!("the OS keyring is unusable: {}", e.message),
            Ok(()) => {
                assert_eq!(keyring_get(&svc, "").unwrap().as_deref(), Some("value-1"));
                let r = SecretRef { service: svc.clone(), user: String::new(), env: None };
                assert_eq!(r.resolve().unwrap(), "value-1");
                assert!(keyring_delete(&svc, "").unwrap());
                assert_eq!(keyring_get(&svc, "").unwrap(), None);
            }
        }
    }
}
