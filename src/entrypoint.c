// Registers the routines of the Rust static library with R.
void R_init_datom_extendr(void *dll);

void R_init_datom(void *dll) {
    R_init_datom_extendr(dll);
}
