//! datom's engine: identity hashing, Arrow/parquet tables, storage.
//!
//! Every module except `r` is free of R types and covered by `cargo test`;
//! `r` is the binding layer (extendr) and the only place R values appear.

pub mod column;
pub mod error;
pub mod failpoint;
pub(crate) mod fxhash;
pub mod git;
pub mod github;
pub mod identity;
pub mod layout;
pub mod model;
pub mod ops;
pub(crate) mod par;
pub mod runtime;
pub mod secret;
pub mod store;
pub mod table;

mod r;

/// Helpers shared by the engine's tests.
#[cfg(test)]
pub(crate) mod testutil {
    use std::path::PathBuf;

    /// An empty scratch directory for one test (`datom-{tag}-{pid}` in the
    /// system temp dir), emptied first if a previous run left it behind.
    pub fn scratch_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("datom-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The requests a [`http_server`] received: each head (request line and
    /// headers), lowercased, in arrival order.
    pub type Heads = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

    /// A loopback HTTP server for the engine's tests of failure paths (the
    /// real servers -- moto, the GitHub stand-in, git -- serve the rest):
    /// one request per connection; `answer(i, head)` gives the raw bytes
    /// answered to the `i`-th request (`None`: hold the connection open,
    /// unanswered). Returns `http://127.0.0.1:<port>` and the heads seen.
    pub fn http_server(answer: impl Fn(usize, &str) -> Option<Vec<u8>> + Send + 'static) -> (String, Heads) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let heads: Heads = Default::default();
        let seen = std::sync::Arc::clone(&heads);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for (i, conn) in l.incoming().enumerate() {
                let Ok(mut c) = conn else { continue };
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                seen.lock().unwrap().push(head.clone());
                match answer(i, &head) {
                    Some(r) => {
                        let _ = c.write_all(&r);
                    }
                    None => held.push(c),
                }
            }
        });
        (format!("http://{addr}"), heads)
    }
}
