use clap::Parser;
use ithub::store::Store;
use operator::{Cli, Command, redrive, run};

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let aws = ithub::aws_config().await;
    let done = match (cli.command, cli.table) {
        (Command::Redrive { from, to }, _) => {
            redrive(&aws_sdk_sqs::Client::new(&aws), &from, &to).await.map(|n| format!("redrove {n} messages\n"))
        }
        (command, Some(table)) => run(&Store::new(aws_sdk_dynamodb::Client::new(&aws), table), command).await,
        (_, None) => {
            eprintln!("ithub-operator: --table (or ITHUB_TABLE) is needed");
            std::process::exit(2);
        }
    };
    match done {
        Ok(out) => print!("{out}"),
        Err(error) => {
            eprintln!("ithub-operator: {error}");
            std::process::exit(1);
        }
    }
}
