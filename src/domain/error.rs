//! What a user did wrong, said in plain words with what to do next. Internal
//! failures reach users only as `Internal`, a short apology with a reference that
//! matches the log line holding the details.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UserError {
    /// The command line could not be read; `usage` is the right form.
    #[error("{problem}\nUse: {usage}")]
    Syntax { problem: String, usage: String },

    #[error("`{command}` is for organisers. Ask an organiser of this community to run it.")]
    OrganiserOnly { command: String },

    #[error("{what} not found. {hint}")]
    NotFound { what: String, hint: String },

    /// A value that parsed but breaks a rule (too long, in the future, closed goal…).
    #[error("{problem} {hint}")]
    Invalid { problem: String, hint: String },

    /// The request conflicts with what exists (a slug already taken, a code used).
    #[error("{problem} {hint}")]
    Conflict { problem: String, hint: String },

    #[error("Sorry, something went wrong on our side and nothing was changed. (ref {reference})")]
    Internal { reference: String },
}

impl UserError {
    pub fn syntax(problem: impl Into<String>, usage: impl Into<String>) -> Self {
        UserError::Syntax {
            problem: problem.into(),
            usage: usage.into(),
        }
    }
    pub fn invalid(problem: impl Into<String>, hint: impl Into<String>) -> Self {
        UserError::Invalid {
            problem: problem.into(),
            hint: hint.into(),
        }
    }
    pub fn not_found(what: impl Into<String>, hint: impl Into<String>) -> Self {
        UserError::NotFound {
            what: what.into(),
            hint: hint.into(),
        }
    }
    pub fn conflict(problem: impl Into<String>, hint: impl Into<String>) -> Self {
        UserError::Conflict {
            problem: problem.into(),
            hint: hint.into(),
        }
    }
}
