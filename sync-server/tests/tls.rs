//! The server over TLS, and its refusal to serve plain HTTP anywhere but
//! loopback.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;

#[tokio::test]
async fn the_server_speaks_tls_and_refuses_plain_http_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key_pair.serialize_pem()).unwrap();
    let db = format!("sqlite://{}", dir.path().join("tls.db").display());

    let mut config = bothy_server::ServerConfig::for_tests(&db);
    config.tls_cert = Some(cert_path);
    config.tls_key = Some(key_path);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bothy_server::launch_with_tcp_listener(
        config,
        listener,
        async move {
            let _ = rx.await;
        },
    ));
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = client
        .get(format!("https://localhost:{port}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();

    let open = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let refused = bothy_server::launch_with_tcp_listener(
        bothy_server::ServerConfig::for_tests(&db),
        open,
        async {},
    )
    .await;
    assert!(matches!(
        refused,
        Err(bothy_server::ServerError::PlainHttpNotLoopback(_))
    ));
}
