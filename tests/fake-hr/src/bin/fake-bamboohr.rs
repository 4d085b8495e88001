//! Runs the fake BambooHR on its own: `fake-bamboohr [addr] [company] [api-key] [people]`. With `people`, the
//! company is a generated one of that size (benchmarks use 10,000 and 100,000); without, the sample company.
//! It prints its base URL on the first line.

use fake_hr::{FakeBamboo, generated_company, sample_company};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8081".into());
    let company = args.next().unwrap_or_else(|| "acme".into());
    let key = args.next().unwrap_or_else(|| "sandbox-api-key".into());
    let addr = addr.parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let people = match args.next() {
        Some(size) => {
            generated_company(size.parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?)
        }
        None => sample_company(chrono::Utc::now().date_naive()),
    };
    let fake = FakeBamboo::start(addr, &company, &key, people).await?;
    println!("fake BambooHR for {company:?} at {}", fake.base_url());
    tokio::signal::ctrl_c().await
}
