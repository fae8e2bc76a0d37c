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

/// A new `bothy` store in `data`, enrolled at `server` with `code` (the
/// fast test key derivation) and synced once, as a script sets a device up.
pub async fn enrolled(bin: &str, data: &Path, server: &str, code: &str) -> Result<()> {
    for args in [
        &[
            "enrol",
            "--server",
            server,
            "--code",
            code,
            "--insecure-test-kdf",
        ][..],
        &["sync"][..],
    ] {
        let (rc, out, err) = bothy(bin, data, args).await?;
        if rc != 0 {
            return Err(crate::HarnessError::Setup(format!(
                "bothy {}: exit {rc}: {out}{err}",
                args[0]
            )));
        }
    }
    Ok(())
}

/// The text of the PDF at `path` as `pdftotext` (poppler) reads it, every
/// run of white space made one space (so words a line wrap parted read as
/// written).
pub async fn pdf_text(path: &Path) -> Result<String> {
    let out = tokio::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .await
        .map_err(|e| {
            crate::HarnessError::Setup(format!(
                "pdftotext did not run (scripts/setup.sh installs poppler-utils): {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(crate::HarnessError::Setup(format!(
            "pdftotext could not read {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" "))
}
