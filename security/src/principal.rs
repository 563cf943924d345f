//! The authenticated principal, as entry points hand it to the code behind them.

/// Who a request or a libprocess peer proved to be. An HTTP entry point that
/// authenticated a request puts one in the request's extensions
/// (`request.extensions().get::<Principal>()`); handlers read it from there and never
/// look at the `Authorization` header themselves. No `Principal` means the request was
/// not authenticated (authentication is off for that endpoint).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal(pub String);

impl Principal {
    /// The principal's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
