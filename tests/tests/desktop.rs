//! The desktop build starts under Xvfb and shows the unlock screen.
//!
//! The real `bothy-desktop` program opens its window (webkit2gtk) on a
//! virtual X display over a real encrypted store; with `--report-screen` it
//! reads its first screen back from the webview's own DOM and prints it,
//! which is what this test waits for (no fixed sleep). A screenshot of the
//! display is kept in `$CARGO_TARGET_DIR/bothy-screens/desktop-unlock.png`
//! (or `BOTHY_SCREENSHOTS`).
//!
//! Needs `Xvfb` and ImageMagick's `import` (`scripts/setup.sh` installs them).

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bothy_client::Client;
use bothy_client::store::{KdfParams, Passcode, Store};

const DESKTOP_BIN: &str = env!("CARGO_BIN_EXE_bothy-desktop-under-test");

/// Kills the child when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start Xvfb on a free display; `-displayfd` makes it print the display
/// number once it accepts connections (readiness, not a guess).
fn xvfb() -> (Killed, String) {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "480x900x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is missing: run scripts/setup.sh");
    let mut out = child.stdout.take().unwrap();
    let mut number = String::new();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        number.push(byte[0] as char);
    }
    assert!(!number.is_empty(), "Xvfb printed no display number");
    (Killed(child), format!(":{}", number.trim()))
}

#[test]
fn the_desktop_app_starts_under_xvfb_and_shows_the_unlock_screen() {
    // A real encrypted store for the app to open (the unlock screen comes first).
    let data = tempfile::tempdir().unwrap();
    let store = Store::create(
        data.path(),
        &Passcode::new("a passcode".to_owned()),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap();
    Client::seed_demo(store, "Morag").unwrap().lock().unwrap();

    let (_xvfb, display) = xvfb();
    let mut app = Killed(
        Command::new(DESKTOP_BIN)
            .arg("--data")
            .arg(data.path())
            .args(["--report-screen", "--sync-every", "0", "--idle-lock", "0"])
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            // No GPU in a virtual display.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );

    // Wait (bounded) for the window to report what it shows.
    let (tx, rx) = mpsc::channel();
    let stdout = app.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let shown = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with("bothy-desktop: ") => break line,
            Ok(_) => continue,
            Err(e) => panic!("the desktop app reported no screen: {e}"),
        }
    };
    assert!(
        shown.contains("\"Bothy\"") && shown.contains("\"Passcode\""),
        "the first screen is the unlock screen: {shown}"
    );

    // A picture of the display, kept as an artifact.
    let shots = bothy_tests::screenshots_dir();
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("desktop-unlock.png");
    let status = Command::new("import")
        .args(["-display", &display, "-window", "root"])
        .arg(&shot)
        .status()
        .expect("ImageMagick's import is missing: run scripts/setup.sh");
    assert!(status.success());
    assert!(std::fs::metadata(&shot).unwrap().len() > 2_000);
    assert!(
        matches!(app.0.try_wait(), Ok(None)),
        "the app is still running"
    );
}
