//! `bothy`: the headless Bothy client, for support staff, scripted tests and
//! load runs. It drives the same client core as the app.
//!
//! The passcode is read from `BOTHY_PASSCODE`, or else from the first line of
//! standard input: never from an argument, where other users could see it.
//!
//! Exit codes: 0 done; 1 failed; 2 bad usage; 3 no store or not enrolled;
//! 4 wrong passcode or too many attempts; 5 refused by the access policy;
//! 6 no such child, visit or document; 7 the server could not be reached;
//! 8 the device was revoked and its data wiped.
//!
//! Export: `bothy --data DIR export --child C --for team|young-person --out
//! FILE.pdf` writes the child's plan as a PDF signed by this device (exit 3
//! if the device has no key: enrol it first; 5 if a young person asks for
//! another plan or the team's version).
//!
//! Sync: `bothy --data DIR enrol --server URL --code CODE` once (creates the
//! store if there is none), then `bothy --data DIR sync` whenever there is
//! signal, and `bothy --data DIR status` to see what is waiting.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use bothy_client::ServiceError;
use bothy_client::export::ExportError;
use bothy_client::store::UnlockError;
use bothy_client::sync::SyncError;
use clap::Parser;

use commands::{Command, Context};

#[derive(Parser, Debug)]
#[command(
    name = "bothy",
    version,
    about = "The headless Bothy client: an encrypted store of case records that syncs with a Bothy server."
)]
#[command(
    after_help = "The passcode is read from BOTHY_PASSCODE or the first line of standard input, never from an argument.\n\
Sync with a server:\n  bothy --data DIR enrol --server URL --code CODE   enrol this device (creates the store if absent)\n  bothy --data DIR sync                               one full sync; prints what was sent and received\n  bothy --data DIR status                             who, server, last sync, unsynced and refused changes\n\
Export a child's plan as a signed PDF:\n  bothy --data DIR export --child C --for team|young-person --out FILE.pdf\n\
Exit codes: 0 done, 1 failed, 2 usage, 3 no store or not enrolled, 4 wrong passcode, 5 refused by policy, 6 not found, 7 server unreachable, 8 device revoked and wiped."
)]
struct Cli {
    /// The data folder holding this device's encrypted store.
    #[arg(long, env = "BOTHY_DATA", global = true, default_value = "bothy-data")]
    data: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.run(&Context {
        data: cli.data.clone(),
        json: cli.json,
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bothy: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(s) = cause.downcast_ref::<SyncError>() {
            match s {
                SyncError::Unreachable { .. } => return 7,
                SyncError::Revoked { .. } => return 8,
                SyncError::NotEnrolled => return 3,
                SyncError::Local(ServiceError::NotEnrolled) => return 3,
                _ => {}
            }
        }
        if let Some(x) = cause.downcast_ref::<ExportError>() {
            match x {
                ExportError::NoKey => return 3,
                ExportError::NotYours => return 5,
                _ => {}
            }
        }
        if let Some(u) = cause.downcast_ref::<UnlockError>() {
            return match u {
                UnlockError::WrongPasscode { .. } | UnlockError::TooSoon { .. } => 4,
                UnlockError::NoStore => 3,
                _ => 1,
            };
        }
        if let Some(s) = cause.downcast_ref::<ServiceError>() {
            return match s {
                ServiceError::NotEnrolled => 3,
                ServiceError::Refused(_) | ServiceError::Denied(_) => 5,
                ServiceError::NotFound { .. } => 6,
                ServiceError::BadInput { .. } => 2,
                ServiceError::ConflictOpen { .. } => 9,
                _ => 1,
            };
        }
    }
    1
}
