//! `styr`: see `styr --help`.

/// mimalloc rather than the system allocator: a request allocates many small, short-lived
/// values (rows, GraphQL values, JSON), and glibc's malloc and free were a sixth of the
/// server's time under load (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    styr::cli::main()
}
