//! What can go wrong in a service call, in words the app can show.

use bothy_shared::docs::DocError;
use bothy_shared::gate::GateError;
use bothy_shared::policy::Denied;
use bothy_shared::robust::MalformedError;

use crate::index::IndexError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Document(#[from] DocError),
    /// A document could not be projected into index rows; nothing was saved.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The shared policy refused the change before it was made; nothing was saved.
    #[error("not saved: {0}")]
    Refused(#[from] GateError),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("a stored document is damaged: {0}")]
    Malformed(#[from] MalformedError),
    /// The app was locked while the call waited (the store is closed).
    #[error("Bothy is locked: unlock it to carry on")]
    Locked,
    #[error("this device is not enrolled yet: enrol it with a code from your administrator")]
    NotEnrolled,
    #[error("the stored directory could not be read: {0}")]
    Directory(#[source] serde_json::Error),
    /// A visit being typed could not be encoded for its draft row.
    #[error("the visit being typed could not be kept: {0}")]
    Draft(#[source] serde_json::Error),
    #[error("no {what} {id} on this device")]
    NotFound { what: &'static str, id: String },
    /// The edit would have settled, unseen, a field two people changed at
    /// once (its values were open to choose between); nothing was saved.
    /// `field` names it as the conflict card does.
    #[error(
        "two people changed {field} at once: choose which to keep first (on the child's page, or with `bothy settle`); nothing was saved"
    )]
    ConflictOpen { field: String },
    #[error("{field}: {problem}")]
    BadInput {
        field: &'static str,
        problem: String,
    },
}

impl ServiceError {
    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        ServiceError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub(crate) fn bad(field: &'static str, problem: impl Into<String>) -> Self {
        ServiceError::BadInput {
            field,
            problem: problem.into(),
        }
    }
}
