//! The one error type of the compiler. Every failure is a value, never a panic.

use std::fmt;

/// What kind of failure this is; stable, so embedders can branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The input is neither a wasm binary nor WAT text that parses.
    Malformed,
    /// The module parses but fails validation.
    Invalid,
    /// The module uses a feature synth does not compile (yet).
    Unsupported,
    /// A size or nesting limit was exceeded.
    Limit,
    /// The options are inconsistent (e.g. a memory maximum that cannot be honoured).
    Options,
    /// A bug in synth: an internal invariant did not hold. Reported, never panicked.
    Internal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Limit => "limit",
            ErrorKind::Options => "options",
            ErrorKind::Internal => "internal",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub kind: ErrorKind,
    pub message: String,
    /// Byte offset in the wasm binary (for WAT input: in the binary it was encoded to).
    pub offset: Option<u64>,
    /// Name of the function concerned (export name, or `func[N]`), when there is one.
    pub function: Option<String>,
}

impl CompileError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CompileError {
            kind,
            message: message.into(),
            offset: None,
            function: None,
        }
    }
    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
    pub fn in_function(mut self, name: impl Into<String>) -> Self {
        if self.function.is_none() {
            self.function = Some(name.into());
        }
        self
    }
    pub fn unsupported(what: impl Into<String>, offset: u64) -> Self {
        CompileError::new(ErrorKind::Unsupported, what).at(offset)
    }
    pub fn limit(what: impl Into<String>) -> Self {
        CompileError::new(ErrorKind::Limit, what)
    }
    pub fn internal(what: impl Into<String>) -> Self {
        CompileError::new(ErrorKind::Internal, what)
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.as_str())?;
        if let Some(func) = &self.function {
            write!(f, " in {func}")?;
        }
        if let Some(off) = self.offset {
            write!(f, " at wasm offset {off:#x}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for CompileError {}

pub type Result<T, E = CompileError> = std::result::Result<T, E>;
