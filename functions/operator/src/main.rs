use clap::Parser;
use ithub::store::Store;
use operator::{Cli, run};

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let aws = ithub::aws_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), cli.table);
    match run(&store, cli.command).await {
        Ok(out) => print!("{out}"),
        Err(error) => {
            eprintln!("ithub-operator: {error}");
            std::process::exit(1);
        }
    }
}
