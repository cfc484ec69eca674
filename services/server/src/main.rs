//! `styr`: see `styr --help`.

fn main() -> std::process::ExitCode {
    styr::cli::main()
}
