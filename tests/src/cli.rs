//! Running the `bothy` command as scripts outside the repository do.

use std::path::Path;

use crate::Result;
use crate::device::TEST_PASSCODE;

/// What one run of the command left: its exit code (-1 when a signal ended
/// it), standard output and standard error.
pub type Ran = (i32, String, String);

/// Runs the `bothy` program at `bin` (an integration test's
/// `env!("CARGO_BIN_EXE_bothy-under-test")`) as `bothy --data DATA ARGS…`,
/// with the test passcode in `BOTHY_PASSCODE`.
pub async fn bothy(bin: &str, data: &Path, args: &[&str]) -> Result<Ran> {
    let out = tokio::process::Command::new(bin)
        .arg("--data")
        .arg(data)
        .args(args)
        .env("BOTHY_PASSCODE", TEST_PASSCODE)
        .output()
        .await?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}
