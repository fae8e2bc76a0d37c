//! Enrolment: a one-time code from an administrator plus a new Ed25519 key
//! make this device known to the server. The key, the server's address and
//! the directory go into the encrypted store in one transaction; none of
//! them is ever logged or printed. Also the credentials a sync run reads
//! back, and when the last run completed.

use std::fmt;

use bothy_shared::ids::DeviceId;
use bothy_shared::signing::{self, RequestSigner};
use bothy_shared::wire::{self, EnrolRequest, EnrolResponse};
use zeroize::Zeroizing;

use super::directory::directory_from_view;
use super::{
    Enrolment, LocalReplica, SyncError, SyncOptions, TryFailure, meta, now_secs, transport,
};
use crate::error::ServiceError;
use crate::services::DIRECTORY_META;
use crate::store::tx;
use crate::store::{Store, StoreError};

// ---------------------------------------------------------------- enrolment

/// The device's credentials, as kept in the store. Debug never shows the key.
pub(super) struct Credentials {
    pub(super) server: String,
    pub(super) device: DeviceId,
    pub(super) pkcs8: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

pub(super) fn text_meta<L: LocalReplica>(
    local: &L,
    key: &str,
) -> Result<Option<String>, ServiceError> {
    Ok(local
        .meta(key)?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

pub(super) fn credentials<L: LocalReplica>(local: &L) -> Result<Credentials, SyncError> {
    let server = text_meta(local, meta::SERVER)?.ok_or(SyncError::NotEnrolled)?;
    let device = text_meta(local, meta::DEVICE)?
        .and_then(|d| d.parse().ok())
        .ok_or(SyncError::NotEnrolled)?;
    let pkcs8 = Zeroizing::new(
        local
            .meta(meta::DEVICE_KEY)?
            .ok_or(SyncError::NotEnrolled)?,
    );
    Ok(Credentials {
        server,
        device,
        pkcs8,
    })
}

/// The server URL this device is enrolled with, if any.
pub fn enrolled_server(store: &Store) -> Result<Option<String>, SyncError> {
    Ok(store
        .meta(meta::SERVER)?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Ask the server to enrol a new device with `code`. Returns the enrolment
/// and the new device key (PKCS#8, secret): keep both, or use [`enrol`].
pub async fn request_enrolment(
    server: &str,
    code: &str,
    device_name: &str,
    options: &SyncOptions,
) -> Result<(Enrolment, Zeroizing<Vec<u8>>), SyncError> {
    let base = transport::normalise_base(server)?;
    let pkcs8 = Zeroizing::new(signing::generate_device_key().map_err(SyncError::Signing)?);
    // The device id is not known yet: only the public key is needed now.
    let unenrolled =
        RequestSigner::from_pkcs8(DeviceId::random(), &pkcs8).map_err(SyncError::Signing)?;
    let body = wire::to_cbor(&EnrolRequest {
        code: code.to_owned(),
        public_key: unenrolled.public_key(),
        device_name: device_name.to_owned(),
    })
    .map_err(SyncError::bad)?;
    let http = transport::http_client(options.request_timeout, options.reuse_connections)?;
    // Sent once: a code is used up with the device's creation, so retrying
    // after a lost answer could only fail.
    let resp = http
        .post(format!("{base}{}", wire::PATH_ENROL))
        .header(reqwest::header::CONTENT_TYPE, wire::CBOR_CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .map_err(|e| SyncError::Unreachable {
            attempts: 1,
            last_error: if e.is_connect() {
                TryFailure::Connect(e)
            } else {
                TryFailure::Connection(e)
            },
        })?;
    let status = resp.status();
    let answer = resp.bytes().await.map_err(|e| SyncError::Unreachable {
        attempts: 1,
        last_error: TryFailure::AnswerCut(e),
    })?;
    if !status.is_success() {
        return Err(transport::error_from(status, &answer));
    }
    let resp: EnrolResponse = wire::from_cbor(&answer).map_err(SyncError::bad)?;
    Ok((
        Enrolment {
            server: base,
            device: resp.device,
            person: resp.person,
            directory: resp.directory,
        },
        pkcs8,
    ))
}

/// Enrol the device whose store is `store` with a one-time `code`: the key,
/// the server's address, the device id and the directory are saved in one
/// transaction, so a crash leaves the device either enrolled or not.
pub async fn enrol(
    store: &mut Store,
    server: &str,
    code: &str,
    device_name: &str,
    options: &SyncOptions,
) -> Result<Enrolment, SyncError> {
    let (enrolment, pkcs8) = request_enrolment(server, code, device_name, options).await?;
    let dir = directory_from_view(&enrolment.directory, enrolment.device, None)?;
    let dir_bytes = serde_json::to_vec(&dir).map_err(ServiceError::Directory)?;
    let device = enrolment.device.to_string();
    store.transaction(|t| {
        tx::put_meta(t, meta::SERVER, enrolment.server.as_bytes())?;
        tx::put_meta(t, meta::DEVICE, device.as_bytes())?;
        tx::put_meta(t, meta::DEVICE_KEY, &pkcs8)?;
        tx::put_meta(t, DIRECTORY_META, &dir_bytes)?;
        tx::put_meta(t, meta::DIRECTORY_AT, now_secs().to_string().as_bytes())?;
        Ok::<_, StoreError>(())
    })?;
    Ok(enrolment)
}

/// Unix seconds of the last complete sync run, if any.
pub fn last_sync<L: LocalReplica>(local: &L) -> Result<Option<i64>, SyncError> {
    Ok(stored_last_sync(local)?)
}

/// [`last_sync`], with the store's error as the services see it.
pub(super) fn stored_last_sync<L: LocalReplica>(local: &L) -> Result<Option<i64>, ServiceError> {
    Ok(text_meta(local, meta::LAST_SYNC)?.and_then(|s| s.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_the_key() {
        let creds = Credentials {
            server: "https://bothy.example".into(),
            device: DeviceId::random(),
            pkcs8: Zeroizing::new(vec![0xAB; 83]),
        };
        let shown = format!("{creds:?}");
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab, ab"));
        assert!(shown.contains("bothy.example"));
    }
}
