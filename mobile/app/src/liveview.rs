//! The app served to a browser: every window gets its own virtual DOM over
//! a WebSocket, all of them over the one [`Device`] (the
//! real client core, the real encrypted store). The browser tests drive it;
//! the demo uses it where there is no display for the desktop window.
//!
//! Routes: `GET /health` (readiness), `GET /ws` (the WebSocket) and every
//! other path the page itself, so a screen's address can be opened
//! directly (`/`, `/caseload`, `/child/<id>`…).

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use dioxus::prelude::*;
use dioxus_liveview::{LiveViewPool, axum_socket, interpreter_glue};

use crate::{App, Device};

const WS_PATH: &str = "/ws";

/// The page every screen's address serves: the app's language, a phone
/// viewport, a title, and the glue that opens the WebSocket.
///
/// Over a WebSocket an event handler cannot stop the browser's default
/// action in time (desktop and phone renderers handle events synchronously
/// and do), so the page stops native form submission itself: forms are
/// handled by the app, and a passcode must never end up in an address.
fn page() -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bothy</title>
</head>
<body><div id="main"></div>
<script>document.addEventListener("submit", (e) => e.preventDefault(), true);</script>
{}
</body>
</html>"#,
        interpreter_glue(WS_PATH)
    )
}

/// The router serving the app over `device`.
pub fn router(device: Device) -> Router {
    let pool = LiveViewPool::new();
    let index = Html(page());
    let index_again = index.clone();
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            WS_PATH,
            get(move |ws: WebSocketUpgrade| {
                let (pool, device) = (pool.clone(), device.clone());
                async move {
                    ws.on_upgrade(move |socket| async move {
                        let made = pool
                            .launch_virtualdom(axum_socket(socket), move || {
                                VirtualDom::new(App).with_root_context(device)
                            })
                            .await;
                        if let Err(e) = made {
                            tracing::debug!("a window closed: {e}");
                        }
                    })
                }
            }),
        )
        .route("/", get(move || async move { index.into_response() }))
        .route(
            "/{*route}",
            get(move || async move { index_again.into_response() }),
        )
}
