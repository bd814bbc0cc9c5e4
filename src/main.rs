use clap::Parser;

fn main() -> std::process::ExitCode {
    procsite::cli::run(procsite::cli::Cli::parse())
}
