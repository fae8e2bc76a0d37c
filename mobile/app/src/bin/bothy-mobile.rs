//! The phone entry point, built by the Dioxus CLI
//! (`dx bundle --platform android|ios --package bothy-app --features mobile`).
//!
//! The store lives in the app's private storage: on Android the app's
//! internal files directory (`/data/data/<identifier>/files`, identifier from
//! `Dioxus.toml`), on iOS `Library/Application Support` in the app's sandbox;
//! `BOTHY_DATA` overrides both (and is required elsewhere).
//!
//! This cannot be built on this project's machines (no Android NDK, no
//! Xcode); see the README.

use std::path::PathBuf;

use bothy_app::{App, Device, DeviceSettings};

/// The bundle identifier in `Dioxus.toml`.
const IDENTIFIER: &str = "scot.bothy.app";

fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BOTHY_DATA") {
        return PathBuf::from(dir);
    }
    if cfg!(target_os = "android") {
        PathBuf::from(format!("/data/data/{IDENTIFIER}/files/bothy"))
    } else if cfg!(target_os = "ios") {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        home.join("Library/Application Support/Bothy")
    } else {
        PathBuf::from("bothy-data")
    }
}

fn main() {
    let device = Device::locked(data_dir(), DeviceSettings::default());
    dioxus::LaunchBuilder::new()
        .with_context(device)
        .launch(App);
}
