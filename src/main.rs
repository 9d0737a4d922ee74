use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = calltrail::cli::Cli::parse();
    match calltrail::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // Start-up errors (bad configuration, unreachable database) end here, before or after
            // logging is set up, so they go to stderr directly.
            eprintln!("calltrail: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
