//! The error kinds of the storage contract (INVALID_INPUT, NOT_FOUND, CONFLICT, ...) and
//! the one table that maps each kind to its wire code, HTTP status and CLI exit code.
//! Every front end and backend uses these values, so a conflict is the same on all sides.

/// The kinds of failure the contract distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidInput,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    QuotaExceeded,
    RateLimited,
    /// The server could not be reached or answered with something that is not the contract.
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::InvalidInput,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::TooLarge,
        ErrorKind::QuotaExceeded,
        ErrorKind::RateLimited,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    /// The wire code of the kind, as in the error envelope.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "INVALID_INPUT",
            ErrorKind::Unauthorized => "UNAUTHORIZED",
            ErrorKind::Forbidden => "FORBIDDEN",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Conflict => "CONFLICT",
            ErrorKind::TooLarge => "DOCUMENT_TOO_LARGE",
            ErrorKind::QuotaExceeded => "STORAGE_QUOTA_EXCEEDED",
            ErrorKind::RateLimited => "RATE_LIMITED",
            ErrorKind::Unavailable => "UNAVAILABLE",
            ErrorKind::Internal => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status the server answers with.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::QuotaExceeded | ErrorKind::RateLimited => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// The exit code of the command line (`spec/cli.md`).
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::NotFound => 3,
            ErrorKind::Conflict => 4,
            ErrorKind::InvalidInput => 5,
            ErrorKind::TooLarge | ErrorKind::QuotaExceeded => 6,
            ErrorKind::Unauthorized | ErrorKind::Forbidden => 7,
            ErrorKind::RateLimited => 8,
            ErrorKind::Unavailable | ErrorKind::Internal => 1,
        }
    }

    /// Whether repeating the same request later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Internal
        )
    }

    /// The kind of a wire code; unknown codes are `None`.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A contract error: a kind, a message for humans, and the context some kinds carry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// For a conflict: the version the document has now (`None` when it does not exist).
    pub current_version: Option<u64>,
    /// For rate limiting: seconds until a retry may succeed.
    pub retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            current_version: None,
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// A compare-and-swap failure; `current` is the version the document has now.
    pub fn conflict(expected: Option<u64>, current: Option<u64>) -> Error {
        let message = match (expected, current) {
            (Some(e), Some(c)) => {
                format!("expected version {e}, but the document is at version {c}")
            }
            (Some(e), None) => format!("expected version {e}, but the document does not exist"),
            (None, Some(c)) => format!("the document already exists (version {c})"),
            (None, None) => "version mismatch".to_string(),
        };
        Error {
            current_version: current,
            ..Error::new(ErrorKind::Conflict, message)
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::internal(format!("storage engine: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::internal(format!("stored JSON is unreadable: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ErrorKind::from_code("NOPE"), None);
    }

    #[test]
    fn exit_codes_follow_the_cli_spec() {
        assert_eq!(ErrorKind::NotFound.exit_code(), 3);
        assert_eq!(ErrorKind::Conflict.exit_code(), 4);
        assert_eq!(ErrorKind::InvalidInput.exit_code(), 5);
        assert_eq!(ErrorKind::TooLarge.exit_code(), 6);
        assert_eq!(ErrorKind::QuotaExceeded.exit_code(), 6);
        assert_eq!(ErrorKind::Forbidden.exit_code(), 7);
        assert_eq!(ErrorKind::RateLimited.exit_code(), 8);
    }
}
