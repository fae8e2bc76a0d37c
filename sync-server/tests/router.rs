//! The router on its own, driven with `tower::ServiceExt::oneshot`:
//! enrolment, request signatures, and malformed or oversized input, on
//! each storage backend.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bothy_server::storage::{Storage, sqlite::SqliteStorage};
use bothy_server::{AppState, Limits, app, app_with_limits, auth};
use bothy_shared::ids::DeviceId;
use bothy_shared::signing::{self, MAX_SKEW_SECS, RequestSigner, SignedHeaders};
use bothy_shared::wire::{
    self, ChangedRequest, ChangedResponse, DocMessage, DocStatus, EnrolRequest, EnrolResponse,
    ErrorBody, ErrorCode, PersonKindView, SyncRequest, SyncResponse,
};
use common::{Backend, People, TestDb, now, seed};
use tower::ServiceExt;

on_both_backends!(
    health_answers_ok_json,
    an_enrolment_code_works_once_and_returns_the_directory_view,
    an_expired_enrolment_code_is_refused,
    enrolment_refuses_a_bad_public_key_and_non_cbor,
    a_signed_request_is_accepted_once,
    bad_signatures_stale_timestamps_and_unknown_devices_get_401,
    an_unsigned_request_is_told_to_send_the_x_bothy_auth_header,
    a_revoked_device_gets_403_device_revoked,
    malformed_cbor_and_garbage_sync_messages_are_4xx,
    an_oversized_body_gets_413_before_anything_else,
    a_byte_string_sent_as_an_array_of_integers_is_refused,
    an_over_long_device_name_is_refused_not_cut,
);

struct Fixture {
    storage: Arc<dyn Storage>,
    people: People,
    router: Router,
    _db: Option<TestDb>,
}

fn fixture(backend: Backend) -> Fixture {
    fixture_with(backend, Limits::default())
}

/// SQLite in memory, or a fresh PostgreSQL database.
fn fixture_with(backend: Backend, limits: Limits) -> Fixture {
    let (storage, db): (Arc<dyn Storage>, _) = match backend {
        Backend::Sqlite => (Arc::new(SqliteStorage::open_in_memory().unwrap()), None),
        Backend::Postgres => {
            let db = TestDb::new(backend);
            (db.open(), Some(db))
        }
    };
    let people = seed(storage.as_ref()).unwrap();
    let router = app_with_limits(AppState::new(storage.clone()), limits);
    Fixture {
        storage,
        people,
        router,
        _db: db,
    }
}

async fn call(router: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (status, body)
}

fn cbor_post(path: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(path)
        .header("content-type", wire::CBOR_CONTENT_TYPE)
        .body(Body::from(body))
        .unwrap()
}

fn error(body: &[u8]) -> ErrorCode {
    serde_json::from_slice::<ErrorBody>(body).unwrap().error
}

struct Device {
    signer: RequestSigner,
    response: EnrolResponse,
}

async fn enrol(router: &Router, code: &str) -> Result<Device, (StatusCode, ErrorCode)> {
    let pkcs8 = signing::generate_device_key().unwrap();
    let key = RequestSigner::from_pkcs8(DeviceId::random(), &pkcs8).unwrap();
    let req = EnrolRequest {
        code: code.to_owned(),
        public_key: key.public_key(),
        device_name: "phone".into(),
    };
    let (status, body) = call(
        router,
        cbor_post(wire::PATH_ENROL, wire::to_cbor(&req).unwrap()),
    )
    .await;
    if status != StatusCode::OK {
        return Err((status, error(&body)));
    }
    let response: EnrolResponse = wire::from_cbor(&body).unwrap();
    Ok(Device {
        signer: RequestSigner::from_pkcs8(response.device, &pkcs8).unwrap(),
        response,
    })
}

fn signed_request(path: &str, body: Vec<u8>, headers: &SignedHeaders) -> Request<Body> {
    let mut req = Request::post(path).header("content-type", wire::CBOR_CONTENT_TYPE);
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    req.body(Body::from(body)).unwrap()
}

fn changed_body() -> Vec<u8> {
    wire::to_cbor(&ChangedRequest::default()).unwrap()
}

async fn health_answers_ok_json(backend: Backend) {
    let f = fixture(backend);
    let (status, body) = call(
        &f.router,
        Request::get("/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["status"],
        "ok"
    );
    let (status, body) = call(
        &app(AppState::new(f.storage.clone())),
        Request::get("/nope").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::NOT_FOUND, ErrorCode::NotFound)
    );
}

async fn an_enrolment_code_works_once_and_returns_the_directory_view(backend: Backend) {
    let f = fixture(backend);
    let code = common::code_for(f.storage.as_ref(), f.people.health_visitor).unwrap();
    let device = enrol(&f.router, &code.to_lowercase()).await.unwrap();
    assert_eq!(device.response.person, f.people.health_visitor);
    let view = &device.response.directory;
    assert_eq!(view.me.kind, PersonKindView::Practitioner);
    assert_eq!(
        view.children.len(),
        1,
        "only the child whose team they are on"
    );
    assert_eq!(view.children[0].id, f.people.child);
    assert!(
        view.children[0]
            .team
            .iter()
            .any(|m| m.person == f.people.social_worker)
    );
    assert_eq!(
        enrol(&f.router, &code).await.err(),
        Some((StatusCode::UNAUTHORIZED, ErrorCode::InvalidCode))
    );
    assert_eq!(
        enrol(&f.router, "AAAA-BBBB-CCCC-DDDD").await.err(),
        Some((StatusCode::UNAUTHORIZED, ErrorCode::InvalidCode))
    );
}

async fn an_expired_enrolment_code_is_refused(backend: Backend) {
    let f = fixture(backend);
    let code = auth::issue_enrol_code(
        f.storage.as_ref(),
        f.people.social_worker,
        Duration::from_secs(60),
        now() - 61,
    )
    .unwrap();
    assert_eq!(
        enrol(&f.router, &code).await.err(),
        Some((StatusCode::UNAUTHORIZED, ErrorCode::InvalidCode))
    );
}

async fn enrolment_refuses_a_bad_public_key_and_non_cbor(backend: Backend) {
    let f = fixture(backend);
    let code = common::code_for(f.storage.as_ref(), f.people.social_worker).unwrap();
    let req = EnrolRequest {
        code: code.clone(),
        public_key: vec![1; 31],
        device_name: "phone".into(),
    };
    let (status, body) = call(
        &f.router,
        cbor_post(wire::PATH_ENROL, wire::to_cbor(&req).unwrap()),
    )
    .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::BAD_REQUEST, ErrorCode::Malformed)
    );
    let json = Request::post(wire::PATH_ENROL)
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, body) = call(&f.router, json).await;
    assert_eq!(
        (status, error(&body)),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType
        )
    );
    // The refused attempts did not use the code up.
    assert!(enrol(&f.router, &code).await.is_ok());
}

async fn a_signed_request_is_accepted_once(backend: Backend) {
    let f = fixture(backend);
    let device = enrol(
        &f.router,
        &common::code_for(f.storage.as_ref(), f.people.social_worker).unwrap(),
    )
    .await
    .unwrap();
    let body = changed_body();
    let headers = device
        .signer
        .sign("POST", wire::PATH_CHANGED, &body, now())
        .unwrap();
    let (status, resp) = call(
        &f.router,
        signed_request(wire::PATH_CHANGED, body.clone(), &headers),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let changed: ChangedResponse = wire::from_cbor(&resp).unwrap();
    assert!(changed.new.iter().all(|k| k.child() == f.people.child));
    let (status, resp) = call(
        &f.router,
        signed_request(wire::PATH_CHANGED, body, &headers),
    )
    .await;
    assert_eq!(
        (status, error(&resp)),
        (StatusCode::UNAUTHORIZED, ErrorCode::ReplayedNonce)
    );
}

async fn bad_signatures_stale_timestamps_and_unknown_devices_get_401(backend: Backend) {
    let f = fixture(backend);
    let device = enrol(
        &f.router,
        &common::code_for(f.storage.as_ref(), f.people.social_worker).unwrap(),
    )
    .await
    .unwrap();
    let body = changed_body();

    // Signed over a different body.
    let headers = device
        .signer
        .sign("POST", wire::PATH_CHANGED, b"other", now())
        .unwrap();
    let (status, resp) = call(
        &f.router,
        signed_request(wire::PATH_CHANGED, body.clone(), &headers),
    )
    .await;
    assert_eq!(
        (status, error(&resp)),
        (StatusCode::UNAUTHORIZED, ErrorCode::BadSignature)
    );

    // Signed for another path.
    let headers = device
        .signer
        .sign("POST", wire::PATH_SYNC, &body, now())
        .unwrap();
    let (status, resp) = call(
        &f.router,
        signed_request(wire::PATH_CHANGED, body.clone(), &headers),
    )
    .await;
    assert_eq!(
        (status, error(&resp)),
        (StatusCode::UNAUTHORIZED, ErrorCode::BadSignature)
    );

    // Too old, and too far in the future.
    for skew in [-(MAX_SKEW_SECS + 5), MAX_SKEW_SECS + 5] {
        let headers = device
            .signer
            .sign("POST", wire::PATH_CHANGED, &body, now() + skew)
            .unwrap();
        let (status, resp) = call(
            &f.router,
            signed_request(wire::PATH_CHANGED, body.clone(), &headers),
        )
        .await;
        assert_eq!(
            (status, error(&resp)),
            (StatusCode::UNAUTHORIZED, ErrorCode::StaleTimestamp)
        );
    }

    // A key nobody enrolled.
    let stranger =
        RequestSigner::from_pkcs8(DeviceId::random(), &signing::generate_device_key().unwrap())
            .unwrap();
    let headers = stranger
        .sign("POST", wire::PATH_CHANGED, &body, now())
        .unwrap();
    let (status, resp) = call(
        &f.router,
        signed_request(wire::PATH_CHANGED, body.clone(), &headers),
    )
    .await;
    assert_eq!(
        (status, error(&resp)),
        (StatusCode::UNAUTHORIZED, ErrorCode::UnknownDevice)
    );

    // Another key claiming to be the enrolled device.
    let impostor = RequestSigner::from_pkcs8(
        device.response.device,
        &signing::generate_device_key().unwrap(),
    )
    .unwrap();
    let headers = impostor
        .sign("POST", wire::PATH_CHANGED, &body, now())
        .unwrap();
    let (status, resp) = call(
        &f.router,
        signed_request(wire::PATH_CHANGED, body.clone(), &headers),
    )
    .await;
    assert_eq!(
        (status, error(&resp)),
        (StatusCode::UNAUTHORIZED, ErrorCode::BadSignature)
    );

    // No signature at all.
    let (status, resp) = call(&f.router, cbor_post(wire::PATH_CHANGED, body)).await;
    assert_eq!(
        (status, error(&resp)),
        (StatusCode::UNAUTHORIZED, ErrorCode::Unsigned)
    );
}

async fn an_unsigned_request_is_told_to_send_the_x_bothy_auth_header(backend: Backend) {
    let f = fixture(backend);
    let (status, resp) = call(&f.router, cbor_post(wire::PATH_CHANGED, changed_body())).await;
    let body: ErrorBody = serde_json::from_slice(&resp).unwrap();
    assert_eq!(
        (status, body.error),
        (StatusCode::UNAUTHORIZED, ErrorCode::Unsigned)
    );
    assert!(
        body.message.contains(signing::HEADER_AUTH),
        "{}",
        body.message
    );
    assert!(!body.message.contains(signing::HEADER_DEVICE));

    // Half of the older four-header form: the header still missing is named.
    let req = Request::post(wire::PATH_CHANGED)
        .header("content-type", wire::CBOR_CONTENT_TYPE)
        .header(signing::HEADER_DEVICE, DeviceId::random().to_string())
        .body(Body::from(changed_body()))
        .unwrap();
    let (status, resp) = call(&f.router, req).await;
    let body: ErrorBody = serde_json::from_slice(&resp).unwrap();
    assert_eq!(
        (status, body.error),
        (StatusCode::UNAUTHORIZED, ErrorCode::Unsigned)
    );
    assert!(
        body.message.contains(signing::HEADER_TIMESTAMP),
        "{}",
        body.message
    );
}

async fn a_revoked_device_gets_403_device_revoked(backend: Backend) {
    let f = fixture(backend);
    let device = enrol(
        &f.router,
        &common::code_for(f.storage.as_ref(), f.people.social_worker).unwrap(),
    )
    .await
    .unwrap();
    assert!(
        f.storage
            .revoke_device(device.response.device, now())
            .unwrap()
    );
    let body = changed_body();
    let headers = device
        .signer
        .sign("POST", wire::PATH_CHANGED, &body, now())
        .unwrap();
    let (status, resp) = call(
        &f.router,
        signed_request(wire::PATH_CHANGED, body, &headers),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error(&resp), ErrorCode::DeviceRevoked);
    assert!(String::from_utf8_lossy(&resp).contains("\"device-revoked\""));
}

async fn malformed_cbor_and_garbage_sync_messages_are_4xx(backend: Backend) {
    let f = fixture(backend);
    let device = enrol(
        &f.router,
        &common::code_for(f.storage.as_ref(), f.people.social_worker).unwrap(),
    )
    .await
    .unwrap();
    for body in [
        vec![0xff, 0x00],
        b"not cbor at all".to_vec(),
        vec![0xa1, 0x64, b'd', b'o', b'c', b's', 0x9f],
    ] {
        let headers = device
            .signer
            .sign("POST", wire::PATH_SYNC, &body, now())
            .unwrap();
        let (status, resp) = call(&f.router, signed_request(wire::PATH_SYNC, body, &headers)).await;
        assert_eq!(
            (status, error(&resp)),
            (StatusCode::BAD_REQUEST, ErrorCode::Malformed)
        );
    }
    let key = bothy_shared::docs::DocKey::Record(f.people.child);
    let garbage = [
        vec![],
        vec![0x42],
        vec![0x43, 0xff, 0xff, 0xff, 0xff, 0x0f],
        vec![0x43; 300],
    ];
    let req = SyncRequest {
        docs: garbage
            .iter()
            .map(|m| DocMessage {
                key,
                message: m.clone(),
            })
            .collect(),
        changed: None,
    };
    let body = wire::to_cbor(&req).unwrap();
    let headers = device
        .signer
        .sign("POST", wire::PATH_SYNC, &body, now())
        .unwrap();
    let (status, resp) = call(&f.router, signed_request(wire::PATH_SYNC, body, &headers)).await;
    assert_eq!(status, StatusCode::OK);
    let resp: SyncResponse = wire::from_cbor(&resp).unwrap();
    assert_eq!(resp.docs.len(), garbage.len());
    assert!(
        resp.docs
            .iter()
            .all(|d| d.status == DocStatus::Malformed && d.message.is_none())
    );
}

async fn an_oversized_body_gets_413_before_anything_else(backend: Backend) {
    let f = fixture_with(
        backend,
        Limits {
            max_body_bytes: 1024,
            ..Limits::default()
        },
    );
    let device = enrol(
        &f.router,
        &common::code_for(f.storage.as_ref(), f.people.social_worker).unwrap(),
    )
    .await
    .unwrap();
    let body = vec![0u8; 4096];
    let headers = device
        .signer
        .sign("POST", wire::PATH_SYNC, &body, now())
        .unwrap();
    let (status, resp) = call(&f.router, signed_request(wire::PATH_SYNC, body, &headers)).await;
    assert_eq!(
        (status, error(&resp)),
        (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge)
    );
    let (status, _) = call(
        &f.router,
        Request::get("/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

fn message(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body).unwrap().message
}

/// `docs/sync-protocol.md`: a `bstr` is a byte string, never an array of
/// integers. The same request with the bytes as an array gets `400
/// malformed`, saying which type was expected, and does not use the code up.
async fn a_byte_string_sent_as_an_array_of_integers_is_refused(backend: Backend) {
    #[derive(serde::Serialize)]
    struct EnrolAsArray {
        code: String,
        public_key: Vec<u8>,
        device_name: String,
    }
    let f = fixture(backend);
    let code = common::code_for(f.storage.as_ref(), f.people.social_worker).unwrap();
    let pkcs8 = signing::generate_device_key().unwrap();
    let key = RequestSigner::from_pkcs8(DeviceId::random(), &pkcs8).unwrap();
    let as_array = EnrolAsArray {
        code: code.clone(),
        public_key: key.public_key(),
        device_name: "phone".into(),
    };
    let (status, body) = call(
        &f.router,
        cbor_post(wire::PATH_ENROL, wire::to_cbor(&as_array).unwrap()),
    )
    .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::BAD_REQUEST, ErrorCode::Malformed)
    );
    assert!(
        message(&body).contains("expected a byte string"),
        "{}",
        message(&body)
    );

    // A sync message sent as an array of integers, on a signed request.
    let device = enrol(&f.router, &code).await.unwrap();
    #[derive(serde::Serialize)]
    struct MessageAsArray {
        k: bothy_shared::docs::DocKey,
        m: Vec<u8>,
    }
    #[derive(serde::Serialize)]
    struct SyncAsArray {
        d: Vec<MessageAsArray>,
    }
    let body = wire::to_cbor(&SyncAsArray {
        d: vec![MessageAsArray {
            k: bothy_shared::docs::DocKey::Record(f.people.child),
            m: vec![0x42, 0x01],
        }],
    })
    .unwrap();
    let headers = device
        .signer
        .sign("POST", wire::PATH_SYNC, &body, now())
        .unwrap();
    let (status, resp) = call(&f.router, signed_request(wire::PATH_SYNC, body, &headers)).await;
    assert_eq!(
        (status, error(&resp)),
        (StatusCode::BAD_REQUEST, ErrorCode::Malformed)
    );
    assert!(message(&resp).contains("expected a byte string"));
}

/// A device name is trimmed, then at most `MAX_DEVICE_NAME_CHARS`
/// characters: a longer one is refused (never cut) without using the code up.
async fn an_over_long_device_name_is_refused_not_cut(backend: Backend) {
    let f = fixture(backend);
    let code = common::code_for(f.storage.as_ref(), f.people.social_worker).unwrap();
    let pkcs8 = signing::generate_device_key().unwrap();
    let key = RequestSigner::from_pkcs8(DeviceId::random(), &pkcs8).unwrap();
    let request = |name: String| EnrolRequest {
        code: code.clone(),
        public_key: key.public_key(),
        device_name: name,
    };
    let longest = "ü".repeat(wire::MAX_DEVICE_NAME_CHARS);
    for refused in [format!("{longest}x"), "   ".to_owned()] {
        let (status, body) = call(
            &f.router,
            cbor_post(wire::PATH_ENROL, wire::to_cbor(&request(refused)).unwrap()),
        )
        .await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::BAD_REQUEST, ErrorCode::Malformed)
        );
        assert!(message(&body).contains("device_name"), "{}", message(&body));
    }
    let (status, body) = call(
        &f.router,
        cbor_post(
            wire::PATH_ENROL,
            wire::to_cbor(&request(format!("  {longest} "))).unwrap(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let enrolled: EnrolResponse = wire::from_cbor(&body).unwrap();
    let stored = f.storage.device(enrolled.device).unwrap().unwrap();
    assert_eq!(stored.name, longest);
}
