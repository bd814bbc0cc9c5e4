use clap::Parser;

fn main() -> std::process::ExitCode {
    // Like other command-line tools, end quietly when the reader of our output goes
    // away (`procsite diff | head`), instead of failing on the broken pipe.
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    procsite::set_up_threads_and_malloc();
    procsite::cli::run(procsite::cli::Cli::parse())
}
