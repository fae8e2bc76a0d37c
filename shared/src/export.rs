//! Signed exports of a child's plan: the manifest a device signs and the
//! bytes it is carried in, so `bothy-server verify-export` can tell a genuine
//! export from an altered or forged one (see `docs/exports.md`).
//!
//! An export is a complete PDF (`%PDF-` … `%%EOF\n`), then three lines:
//!
//! ```text
//! %BOTHY-EXPORT-V1 <manifest, compact JSON on one line>\n
//! %BOTHY-SIGNATURE <Ed25519 signature, unpadded base64url>\n
//! %%EOF\n
//! ```
//!
//! PDF readers treat `%` lines as comments, and the file still ends with
//! `%%EOF`, so every reader opens it. The manifest names the child, who the
//! export is for ([`Audience`]), the device and person that made it, when,
//! each document it was made from (key and Automerge heads), and the SHA-256
//! and length of the PDF bytes before the first added line. The device
//! signs `BOTHY-EXPORT-V1\n` followed by the manifest line's JSON bytes,
//! exactly as written, with its enrolled Ed25519 key (the key that signs
//! its sync requests; the first line differs, so a signature of one kind is
//! never one of the other).
//!
//! Any byte changed anywhere is caught: in the PDF the hash differs; in the
//! manifest the signature fails (or the JSON does not read); in the
//! signature it fails; and [`open_export`] rebuilds the three lines from
//! what it read and refuses a file whose tail differs from them by a byte.

use std::fmt;

use automerge::ChangeHash;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use ring::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::docs::DocKey;
use crate::ids::{ChildId, DeviceId, PersonId};
use crate::signing::RequestSigner;

/// What the device signs first: names the scheme and its version.
pub const SCHEME: &str = "BOTHY-EXPORT-V1";
/// The manifest line's start.
pub const MANIFEST_LINE: &str = "%BOTHY-EXPORT-V1 ";
/// The signature line's start.
pub const SIGNATURE_LINE: &str = "%BOTHY-SIGNATURE ";
/// The last line of every export.
pub const TRAILER: &str = "%%EOF\n";
/// The largest export [`open_export`] reads (a plan is a few hundred KiB).
pub const MAX_EXPORT_BYTES: usize = 64 * 1024 * 1024;

/// Who an export is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    /// The team's plan, as the team's plan document holds it.
    Team,
    /// The young person's version: no withheld part, in the words of "My plan".
    YoungPerson,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Team => "team",
            Audience::YoungPerson => "young-person",
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no audience.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not who an export is for (team or young-person)")]
pub struct UnknownAudience(pub String);

impl std::str::FromStr for Audience {
    type Err = UnknownAudience;
    fn from_str(s: &str) -> Result<Self, UnknownAudience> {
        match s {
            "team" => Ok(Audience::Team),
            "young-person" => Ok(Audience::YoungPerson),
            other => Err(UnknownAudience(other.to_owned())),
        }
    }
}

/// One document an export was made from, as the device held it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedDocument {
    pub key: DocKey,
    /// The document's Automerge heads (lowercase hex).
    pub heads: Vec<ChangeHash>,
}

/// What a device says about an export it made, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportManifest {
    pub child: ChildId,
    pub audience: Audience,
    pub device: DeviceId,
    pub person: PersonId,
    /// The person's name as the device knew it (the server's directory is
    /// what `verify-export` trusts).
    pub person_name: String,
    /// Unix seconds, by the device's clock.
    pub made_at: i64,
    pub documents: Vec<ExportedDocument>,
    /// Lowercase hex SHA-256 of the PDF bytes (everything before the
    /// manifest line).
    pub pdf_sha256: String,
    pub pdf_len: u64,
}

/// Why an export could not be made or does not check.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("this is not a PDF (it does not start with %PDF-)")]
    NotPdf,
    #[error("the file is larger than {MAX_EXPORT_BYTES} bytes")]
    TooLarge,
    #[error("the PDF carries no Bothy signature (no {SCHEME} line)")]
    NoManifest,
    #[error("the Bothy signature lines are malformed: {0}")]
    Malformed(&'static str),
    #[error("the manifest does not read")]
    ManifestJson(#[source] serde_json::Error),
    #[error(
        "the signature does not match the manifest: the manifest was altered or signed by another key"
    )]
    BadSignature,
    #[error(
        "the PDF's bytes differ from the ones that were signed (SHA-256 or length): it was altered"
    )]
    Altered,
    #[error("the PDF made does not end with %%EOF")]
    Unterminated,
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// The bytes a device signs for `manifest_json`.
fn signed_message(manifest_json: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SCHEME.len() + 1 + manifest_json.len());
    message.extend_from_slice(SCHEME.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(manifest_json);
    message
}

/// The three lines that follow the PDF.
fn tail(manifest_json: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MANIFEST_LINE.as_bytes());
    out.extend_from_slice(manifest_json);
    out.push(b'\n');
    out.extend_from_slice(SIGNATURE_LINE.as_bytes());
    out.extend_from_slice(BASE64URL.encode(signature).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(TRAILER.as_bytes());
    out
}

/// Sign `pdf` as `signer`'s device: fills the manifest's hash and length
/// from `pdf`, and returns the PDF with the signed lines after it.
pub fn sign_export(
    mut pdf: Vec<u8>,
    mut manifest: ExportManifest,
    signer: &RequestSigner,
) -> Result<(Vec<u8>, ExportManifest), ExportError> {
    if !pdf.starts_with(b"%PDF-") {
        return Err(ExportError::NotPdf);
    }
    // The PDF must end with its own %%EOF line, so what follows is after it.
    while pdf.last().is_some_and(|b| b.is_ascii_whitespace()) {
        pdf.pop();
    }
    if !pdf.ends_with(b"%%EOF") {
        return Err(ExportError::Unterminated);
    }
    pdf.push(b'\n');
    manifest.device = signer.device();
    manifest.pdf_sha256 = sha256_hex(&pdf);
    manifest.pdf_len = pdf.len() as u64;
    let json = serde_json::to_vec(&manifest).map_err(ExportError::ManifestJson)?;
    let signature = signer.sign_raw(&signed_message(&json));
    pdf.extend_from_slice(&tail(&json, &signature));
    Ok((pdf, manifest))
}

/// An export read back: its manifest, not yet checked against any key.
#[derive(Debug, Clone)]
pub struct SignedExport<'a> {
    pub manifest: ExportManifest,
    /// The PDF bytes the manifest's hash is over.
    pub pdf: &'a [u8],
    manifest_json: &'a [u8],
    signature: Vec<u8>,
}

/// Read an export's manifest and signature (checks the form, not the
/// signature: see [`SignedExport::verify`]).
pub fn open_export(file: &[u8]) -> Result<SignedExport<'_>, ExportError> {
    if file.len() > MAX_EXPORT_BYTES {
        return Err(ExportError::TooLarge);
    }
    if !file.starts_with(b"%PDF-") {
        return Err(ExportError::NotPdf);
    }
    let marker = [b"\n", MANIFEST_LINE.as_bytes()].concat();
    let at = file
        .windows(marker.len())
        .rposition(|w| w == marker.as_slice())
        .ok_or(ExportError::NoManifest)?
        + 1;
    let (pdf, rest) = file.split_at(at);
    let rest = &rest[MANIFEST_LINE.len()..];
    let end = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(ExportError::Malformed("the manifest line does not end"))?;
    let manifest_json = &rest[..end];
    let rest = &rest[end + 1..];
    let rest = rest
        .strip_prefix(SIGNATURE_LINE.as_bytes())
        .ok_or(ExportError::Malformed(
            "no signature line after the manifest",
        ))?;
    let end = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(ExportError::Malformed("the signature line does not end"))?;
    let signature = BASE64URL
        .decode(&rest[..end])
        .map_err(|_| ExportError::Malformed("the signature is not base64url"))?;
    let manifest: ExportManifest =
        serde_json::from_slice(manifest_json).map_err(ExportError::ManifestJson)?;
    // Exactly the lines a device writes, to the last byte.
    if file[at..] != tail(manifest_json, &signature)[..] {
        return Err(ExportError::Malformed(
            "the lines after the PDF are not exactly the ones signed",
        ));
    }
    Ok(SignedExport {
        manifest,
        pdf,
        manifest_json,
        signature,
    })
}

impl SignedExport<'_> {
    /// Check the signature with the device's raw Ed25519 public key, then
    /// the PDF's bytes against the signed hash and length.
    pub fn verify(&self, public_key: &[u8]) -> Result<(), ExportError> {
        UnparsedPublicKey::new(&ED25519, public_key)
            .verify(&signed_message(self.manifest_json), &self.signature)
            .map_err(|_| ExportError::BadSignature)?;
        if self.pdf.len() as u64 != self.manifest.pdf_len
            || sha256_hex(self.pdf) != self.manifest.pdf_sha256
        {
            return Err(ExportError::Altered);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::generate_device_key;

    const PDF: &[u8] = b"%PDF-1.3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

    fn signer() -> RequestSigner {
        let pkcs8 = generate_device_key().unwrap();
        RequestSigner::from_pkcs8(DeviceId::random(), &pkcs8).unwrap()
    }

    fn manifest() -> ExportManifest {
        ExportManifest {
            child: ChildId::random(),
            audience: Audience::YoungPerson,
            device: DeviceId::random(),
            person: PersonId::random(),
            person_name: "Morag Fraser".into(),
            made_at: 1_780_000_000,
            documents: vec![ExportedDocument {
                key: DocKey::Plan(ChildId::random()),
                heads: vec![ChangeHash([7; 32])],
            }],
            pdf_sha256: String::new(),
            pdf_len: 0,
        }
    }

    #[test]
    fn an_export_opens_and_verifies_with_its_devices_key() {
        let signer = signer();
        let (bytes, signed) = sign_export(PDF.to_vec(), manifest(), &signer).unwrap();
        assert!(bytes.starts_with(PDF) && bytes.ends_with(b"\n%%EOF\n"));
        let opened = open_export(&bytes).unwrap();
        assert_eq!(opened.manifest, signed);
        assert_eq!(opened.manifest.device, signer.device());
        assert_eq!(opened.pdf, PDF);
        opened.verify(&signer.public_key()).unwrap();
    }

    #[test]
    fn every_single_byte_changed_is_refused() {
        let signer = signer();
        let (bytes, _) = sign_export(PDF.to_vec(), manifest(), &signer).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            let checked = open_export(&bad).and_then(|e| e.verify(&signer.public_key()));
            assert!(checked.is_err(), "byte {i} changed and still accepted");
        }
    }

    #[test]
    fn another_key_is_refused() {
        let (bytes, _) = sign_export(PDF.to_vec(), manifest(), &signer()).unwrap();
        let opened = open_export(&bytes).unwrap();
        assert!(matches!(
            opened.verify(&signer().public_key()),
            Err(ExportError::BadSignature)
        ));
    }

    #[test]
    fn a_changed_pdf_byte_is_altered_and_no_manifest_is_said() {
        let signer = signer();
        let (mut bytes, _) = sign_export(PDF.to_vec(), manifest(), &signer).unwrap();
        bytes[12] = b'X';
        let opened = open_export(&bytes).unwrap();
        assert!(matches!(
            opened.verify(&signer.public_key()),
            Err(ExportError::Altered)
        ));
        assert!(matches!(open_export(PDF), Err(ExportError::NoManifest)));
        assert!(matches!(open_export(b"hello"), Err(ExportError::NotPdf)));
        assert!(matches!(
            sign_export(b"%PDF-1.3\nno end".to_vec(), manifest(), &signer),
            Err(ExportError::Unterminated)
        ));
    }

    #[test]
    fn audiences_read_as_written() {
        for a in [Audience::Team, Audience::YoungPerson] {
            assert_eq!(a.as_str().parse::<Audience>().unwrap(), a);
        }
        assert!("family".parse::<Audience>().is_err());
    }
}
