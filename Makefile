# datom: two commands for users — `make demo` and `make test`.
# Both install what is missing (R and R packages from Debian, a Python venv
# with pyarrow and moto's S3 server for the tests), build the Rust engine once
# into a shared CARGO_TARGET_DIR, and reuse it.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

BUILD       ?= $(CURDIR)/.build
export CARGO_TARGET_DIR ?= $(HOME)/.cache/datom/target
RLIB        := $(BUILD)/lib
VENV        := $(BUILD)/venv
PYTHON      := $(VENV)/bin/python
VERSION     := $(shell sed -n 's/^Version: //p' DESCRIPTION)
TARBALL     := datom_$(VERSION).tar.gz

R_PKGS   := cli testthat fs jsonlite yaml withr keyring knitr rmarkdown roxygen2 rlang digest processx callr bit64 hms haven readxl tibble
DEB_PKGS := r-base-dev pandoc pkg-config libssl-dev zlib1g-dev git keyutils $(addprefix r-cran-,$(R_PKGS))

.PHONY: all deps r-deps py-deps engine install wrappers document cargo-test check test demo bench clean

all: install

## Dependencies ---------------------------------------------------------------

deps: r-deps py-deps

r-deps:
	@missing=""; \
	if ! command -v Rscript >/dev/null 2>&1; then missing="$(DEB_PKGS)"; \
	else \
	  have=$$(Rscript -e 'cat(rownames(installed.packages()), sep="\n")'); \
	  for p in $(R_PKGS); do grep -qx "$$p" <<<"$$have" || missing="$$missing r-cran-$$p"; done; \
	  for d in pkg-config pandoc; do command -v $$d >/dev/null 2>&1 || missing="$$missing $$d"; done; \
	  dpkg -s libssl-dev zlib1g-dev >/dev/null 2>&1 || missing="$$missing libssl-dev zlib1g-dev"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

py-deps: $(BUILD)/.py-ok

$(BUILD)/.py-ok:
	mkdir -p $(BUILD)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check pyarrow 'moto[server]' duckdb
	touch $@

## Build ----------------------------------------------------------------------

# R_HOME and R_INCLUDE_DIR let cargo (tests) and R CMD INSTALL share one
# build of extendr and the engine.
R_ENV = R_HOME="$$(R RHOME)" R_INCLUDE_DIR="$$(R CMD config --cppflags | sed 's/^-I//')"

engine: r-deps
	$(R_ENV) cargo build --lib --release --locked --manifest-path src/rust/Cargo.toml

install: r-deps
	mkdir -p $(RLIB)
	R CMD INSTALL --no-test-load --library=$(RLIB) . >$(BUILD)/install.log 2>&1 || { cat $(BUILD)/install.log; exit 1; }
	@echo "installed datom into $(RLIB)"

# Regenerate R/extendr-wrappers.R from the compiled module, then the docs.
wrappers: install
	Rscript tools/wrappers.R $(RLIB)
	$(MAKE) install

document: wrappers
	R_LIBS=$(RLIB) Rscript -e 'roxygen2::roxygenise(load_code = "installed")'

## Tests ----------------------------------------------------------------------

# The engine's tests run against real servers: moto (S3) and the GitHub
# stand-in (inst/tools/github-standin.py), both from the build venv. R CMD
# check runs beside both (tools/with-servers.sh): the vignettes run on S3 and
# the stand-in; the tests start their own servers and also cover the
# embedded default.
cargo-test: deps
	$(R_ENV) DATOM_MOTO_SERVER=$(VENV)/bin/moto_server DATOM_PYTHON=$(PYTHON) DATOM_TEST_STRICT=true \
	  keyctl session - cargo test --release --locked --manifest-path src/rust/Cargo.toml

check: deps
	mkdir -p $(BUILD)
	cd $(BUILD) && R CMD build $(CURDIR) >build.log 2>&1 || { cat build.log; exit 1; }
	rm -rf $(BUILD)/vignette-state
	cd $(BUILD) && DATOM_PYTHON=$(PYTHON) DATOM_TEST_STRICT=true NOT_CRAN=true \
	  DATOM_VIGNETTE_DIR=$(BUILD)/vignette-state \
	  $(CURDIR)/tools/with-servers.sh $(PYTHON) -- \
	  R CMD check --no-manual $(TARBALL) 2>&1 | tee check.log
	@bash tools/check-summary.sh $(BUILD)/datom.Rcheck

test: deps cargo-test check

## Demo and benchmark -----------------------------------------------------------

demo: deps install
	R_LIBS=$(RLIB) Rscript -e 'datom::datom_demo()'

bench: deps install
	$(PYTHON) -c 'import deltalake, pandas' 2>/dev/null || $(VENV)/bin/pip install -q --disable-pip-version-check deltalake pandas
	R_LIBS=$(RLIB) DATOM_PYTHON=$(PYTHON) tools/with-servers.sh $(PYTHON) -- Rscript bench/bench.R

clean:
	rm -rf $(BUILD) src/rust/target src/*.o src/*.so
