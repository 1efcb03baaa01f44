//! `tandem`: the command-line skin over the tandem Rust API. It parses arguments, calls the
//! engine, and prints tables for people and JSON for machines; it holds no logic of its own.

mod output;
mod store_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// tandem: an asynchronous, two-domain execution engine for a Solana-style chain.
#[derive(Parser, Debug)]
#[command(name = "tandem", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The domain-tagged account store.
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Subcommand, Debug)]
enum StoreCommand {
    /// Verify every page of a store and print its last committed slot and accounts per mapping.
    /// Exits non-zero on any problem.
    Check {
        /// The store directory.
        dir: PathBuf,
        /// Also write the report as JSON to this file ("-" for standard output).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Create a store, fill it with generated accounts in both domains, commit slots of changes
    /// and remaps, reopen it and verify every account.
    Demo {
        /// Where to create the store.
        #[arg(long, default_value = "target/demo-store")]
        dir: PathBuf,
        /// Accounts written at genesis.
        #[arg(long, default_value_t = 50_000)]
        accounts: u64,
        /// Slots of changes after genesis.
        #[arg(long, default_value_t = 20)]
        slots: u64,
        /// Seed of the generated accounts.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Replace a tandem store already in DIR.
        #[arg(long)]
        replace: bool,
        /// Also write the report as JSON to this file ("-" for standard output).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Store(StoreCommand::Check { dir, json }) => {
            store_cmd::check(&dir, json.as_deref())
        }
        Command::Store(StoreCommand::Demo {
            dir,
            accounts,
            slots,
            seed,
            replace,
            json,
        }) => store_cmd::demo(
            tandem_engine::store::demo::DemoConfig {
                dir,
                accounts,
                slots,
                seed,
                replace,
            },
            json.as_deref(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tandem: error: {message}");
            ExitCode::FAILURE
        }
    }
}
