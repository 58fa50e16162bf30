use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = benteng::cli::parse();
    match benteng::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", benteng::cli::describe(&error));
            ExitCode::FAILURE
        }
    }
}
