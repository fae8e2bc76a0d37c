//! `bothy-desktop`: the Bothy app in a desktop window (webkit2gtk on Linux),
//! over the device store in `--data`. Phones run the same views, built with
//! the Dioxus CLI (see the README).

use std::path::PathBuf;

use anyhow::Result;
use bothy_app::{App, Device, DeviceSettings};
use clap::Parser;
use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;

#[derive(Parser, Debug)]
#[command(name = "bothy-desktop", version, about)]
struct Args {
    /// The device's data directory (made by `bothy init` or `bothy enrol`).
    #[arg(long, env = "BOTHY_DATA")]
    data: PathBuf,
    /// Lock after this many seconds untouched (0: never).
    #[arg(long, default_value_t = 300)]
    idle_lock: u64,
    /// Sync every this many seconds while unlocked (0: only when asked).
    #[arg(long, default_value_t = 60)]
    sync_every: u64,
    /// Print `bothy-desktop: showing "<heading>" / "<first label>"` once the
    /// window has drawn its first screen (the start-up test reads it).
    #[arg(long)]
    report_screen: bool,
}

/// Whether to report what the window shows (a root context).
#[derive(Clone, Copy)]
struct ReportScreen(bool);

fn main() -> Result<()> {
    let args = Args::parse();
    let settings = DeviceSettings::with_timers(args.idle_lock, args.sync_every);
    let device = Device::locked(&args.data, settings);
    let window = WindowBuilder::new()
        .with_title("Bothy")
        .with_inner_size(LogicalSize::new(420.0, 820.0));
    LaunchBuilder::desktop()
        .with_cfg(Config::new().with_window(window).with_menu(None))
        .with_context(device)
        .with_context(ReportScreen(args.report_screen))
        .launch(Root);
    Ok(())
}

/// The app, and (when asked) a report of its first screen read back from
/// the webview's own DOM: proof that the window really drew it.
#[component]
fn Root() -> Element {
    let ReportScreen(report) = use_context::<ReportScreen>();
    use_effect(move || {
        if report {
            spawn(async move {
                let js = r#"
                    const heading = document.querySelector("h1, h2");
                    const label = document.querySelector("label");
                    return [heading ? heading.textContent : "", label ? label.textContent : ""];
                "#;
                match document::eval(js).join::<Vec<String>>().await {
                    Ok(seen) => println!(
                        "bothy-desktop: showing {:?} / {:?}",
                        seen.first().map(String::as_str).unwrap_or_default(),
                        seen.get(1).map(String::as_str).unwrap_or_default()
                    ),
                    Err(e) => println!("bothy-desktop: could not read the screen: {e}"),
                }
            });
        }
    });
    rsx! { App {} }
}
