//! Error types.

use std::path::PathBuf;

/// Errors of the transport layer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A PEM/DER file did not contain what was expected.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The server certificate violates the certificate policy (production mode).
    #[error("certificate policy violated: {}", .0.join("; "))]
    Policy(Vec<String>),
    /// rustls refused the configuration.
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    /// OCSP problem.
    #[error("ocsp: {0}")]
    Ocsp(#[from] crate::ocsp::OcspError),
    /// Invalid configuration.
    #[error("config: {0}")]
    Config(String),
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Generate(String),
    /// Socket-level error while serving.
    #[error("serve: {0}")]
    Serve(std::io::Error),
}

impl TransportError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn pem(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Pem {
            path: path.into(),
            message: message.into(),
        }
    }
}
