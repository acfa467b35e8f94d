#!/bin/sh
# Checks that the Rust toolchain datom's engine needs is present, before any
# compilation (run by ./configure; POSIX sh). Exit status 0 when cargo and
# rustc >= the required version are found, 1 otherwise with what to do.
# The required version is the engine's `rust-version` (src/rust/Cargo.toml).
REQUIRED=1.94
if [ -f src/rust/Cargo.toml ]; then
  v=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' src/rust/Cargo.toml | head -n 1)
  [ -n "$v" ] && REQUIRED="$v"
fi
REQUIRED="${DATOM_RUST_REQUIRED:-$REQUIRED}"

# cargo installed by rustup lives in ~/.cargo/bin, often not on R's PATH
PATH="$PATH:$HOME/.cargo/bin"
export PATH

fail() {
  echo "------------------------- [RUST TOOLCHAIN] -------------------------"
  echo "datom's engine is written in Rust: installing it needs cargo and"
  echo "rustc >= $REQUIRED (SystemRequirements: Cargo, rustc >= $REQUIRED)."
  echo ""
  echo "$1"
  echo ""
  echo "Get them with rustup (https://rustup.rs):"
  echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
  echo "or, when your system's packages are recent enough:"
  echo "  Debian/Ubuntu: apt-get install cargo rustc"
  echo "  Fedora: dnf install cargo rustc     macOS: brew install rust"
  echo "An existing rustup toolchain is updated with: rustup update stable"
  echo "--------------------------------------------------------------------"
  exit 1
}

command -v cargo >/dev/null 2>&1 || fail "cargo was not found on the PATH (nor in \$HOME/.cargo/bin)."
command -v rustc >/dev/null 2>&1 || fail "rustc was not found on the PATH (nor in \$HOME/.cargo/bin)."

# "rustc 1.95.0 (59807616e 2026-04-14)" -> 1.95.0
FOUND=$(rustc --version 2>/dev/null | awk '{print $2}')
case "$FOUND" in
  [0-9]*.[0-9]*) ;;
  *) fail "rustc --version did not report a version (got: '$FOUND')." ;;
esac
older=$(echo "$FOUND $REQUIRED" | awk '{
  split($1, f, /[.-]/); split($2, r, /[.-]/)
  for (i = 1; i <= 3; i++) { a = f[i] + 0; b = r[i] + 0; if (a < b) { print 1; exit } if (a > b) { print 0; exit } }
  print 0 }')
[ "$older" = "0" ] || fail "rustc $FOUND was found; datom needs rustc >= $REQUIRED."

echo "Using $(cargo --version) and rustc $FOUND (datom needs rustc >= $REQUIRED)"
exit 0
