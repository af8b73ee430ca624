//! Registry credentials: anonymous, basic (Secrets Manager secrets, ECR authorization tokens).
//!
//! Secrets pass through tool handlers, logs and error values; the types here make printing them
//! impossible by accident: `Debug` and `Display` show `<redacted>`, and parse errors never quote
//! the input.

use std::fmt;

use base64::Engine;
use oci_client::secrets::RegistryAuth;

/// A secret string (password, access token) that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How to authenticate to one registry. Public registries take `Anonymous` and hand out pull
/// tokens through the Bearer challenge flow; `Basic` is sent to a Basic challenge or exchanged
/// for a Bearer token at the registry's token endpoint.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    #[default]
    Anonymous,
    Basic {
        username: String,
        secret: Secret,
    },
}

impl Credentials {
    pub fn basic(username: impl Into<String>, secret: impl Into<String>) -> Self {
        Credentials::Basic {
            username: username.into(),
            secret: Secret::new(secret),
        }
    }

    /// Reads a Secrets Manager secret string in the shape ECR pull-through cache and
    /// HealthOmics use: `{"username": ..., "accessToken": ...}`, or `"password"` instead of
    /// `"accessToken"`.
    pub fn from_secret_json(secret_string: &str) -> Result<Self, CredentialsError> {
        let value: serde_json::Value =
            serde_json::from_str(secret_string).map_err(|_| CredentialsError::NotJson)?;
        let object = value.as_object().ok_or(CredentialsError::NotJson)?;
        let field = |name: &str| {
            object
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let username = field("username").ok_or(CredentialsError::MissingUsername)?;
        let secret = field("accessToken")
            .or_else(|| field("password"))
            .ok_or(CredentialsError::MissingSecret)?;
        Ok(Self::basic(username, secret))
    }

    /// Decodes the `authorizationToken` of ECR's GetAuthorizationToken: base64 of
    /// `AWS:<password>`, used as Basic credentials on the ECR registry endpoint.
    pub fn from_ecr_authorization_token(token: &str) -> Result<Self, CredentialsError> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| CredentialsError::BadEcrToken)?;
        let text = String::from_utf8(decoded).map_err(|_| CredentialsError::BadEcrToken)?;
        match text.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                Ok(Self::basic(user, password))
            }
            _ => Err(CredentialsError::BadEcrToken),
        }
    }

    /// The user name, if any: safe to show ("AWS", a Docker Hub account).
    pub fn username(&self) -> Option<&str> {
        match self {
            Credentials::Anonymous => None,
            Credentials::Basic { username, .. } => Some(username),
        }
    }

    pub(crate) fn to_registry_auth(&self) -> RegistryAuth {
        match self {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { username, secret } => {
                RegistryAuth::Basic(username.clone(), secret.expose().to_owned())
            }
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => {
                write!(f, "Basic {{ username: {username:?}, secret: <redacted> }}")
            }
        }
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("anonymous"),
            Credentials::Basic { username, .. } => write!(f, "user `{username}`"),
        }
    }
}

/// Why a secret could not be used as registry credentials. Never quotes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "the secret is not a JSON object: store it as {{\"username\": \"...\", \"accessToken\": \"...\"}}"
    )]
    NotJson,
    #[error("the secret has no non-empty \"username\" field")]
    MissingUsername,
    #[error("the secret has neither a non-empty \"accessToken\" nor a \"password\" field")]
    MissingSecret,
    #[error("the ECR authorization token is not base64 of `user:password`")]
    BadEcrToken,
}

/// One `WWW-Authenticate` challenge, as a registry sends it on a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `basic` or `bearer`, lowercased.
    pub scheme: String,
    /// Token endpoint (Bearer) or protection space (Basic).
    pub realm: Option<String>,
    pub service: Option<String>,
    pub scope: Option<String>,
    /// `error="insufficient_scope"` and the like.
    pub error: Option<String>,
}

impl Challenge {
    /// Parses the first challenge of a header value such as
    /// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"`.
    /// Quoted values may contain commas; unknown parameters are ignored.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, mut rest) = match header.find(char::is_whitespace) {
            Some(i) => (&header[..i], header[i..].trim_start()),
            None => (header, ""),
        };
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
        let mut challenge = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            realm: None,
            service: None,
            scope: None,
            error: None,
        };
        while !rest.is_empty() {
            let eq = rest.find('=')?;
            let key = rest[..eq].trim().to_ascii_lowercase();
            let after = rest[eq + 1..].trim_start();
            let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                let end = end?;
                (value, &quoted[end + 1..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            };
            match key.as_str() {
                "realm" => challenge.realm = Some(value),
                "service" => challenge.service = Some(value),
                "scope" => challenge.scope = Some(value),
                "error" => challenge.error = Some(value),
                _ => {}
            }
            rest = remaining.trim_start();
            // A comma separates parameters; anything else would start a second challenge.
            match rest.strip_prefix(',') {
                Some(r) => rest = r.trim_start(),
                None => break,
            }
        }
        Some(challenge)
    }

    /// A short phrase for error messages: what the registry asked for.
    pub fn describe(&self) -> String {
        let mut out = match self.scheme.as_str() {
            "basic" => "the registry asks for a user name and password (Basic)".to_owned(),
            "bearer" => "the registry asks for a Bearer token".to_owned(),
            other => format!("the registry asks for `{other}` authentication"),
        };
        if let Some(scope) = &self.scope {
            out.push_str(&format!(" with scope `{scope}`"));
        }
        if let Some(error) = &self.error {
            out.push_str(&format!(" ({error})"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print_secrets() {
        let c = Credentials::basic("alice", "hunter2-very-secret");
        for shown in [format!("{c:?}"), format!("{c}"), format!("{:?}", Some(&c))] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert!(format!("{c:?}").contains("alice"));
        assert_eq!(c.username(), Some("alice"));
        assert_eq!(Credentials::Anonymous.username(), None);
        assert_eq!(format!("{:?}", Secret::new("x")), "<redacted>");
    }

    #[test]
    fn secret_json_table() {
        type Want<'a> = Result<(&'a str, &'a str), CredentialsError>;
        let cases: [(&str, Want); 7] = [
            (r#"{"username":"u","accessToken":"t"}"#, Ok(("u", "t"))),
            (r#"{"username":"u","password":"p"}"#, Ok(("u", "p"))),
            (
                r#"{"username":"u","accessToken":"t","password":"p"}"#,
                Ok(("u", "t")),
            ),
            (
                r#"{"username":"u","accessToken":""}"#,
                Err(CredentialsError::MissingSecret),
            ),
            (
                r#"{"accessToken":"t"}"#,
                Err(CredentialsError::MissingUsername),
            ),
            ("not json hunter2", Err(CredentialsError::NotJson)),
            (r#"["u","p"]"#, Err(CredentialsError::NotJson)),
        ];
        for (input, want) in cases {
            let got = Credentials::from_secret_json(input);
            let want = want.map(|(u, p)| Credentials::basic(u, p));
            assert_eq!(got, want, "{input}");
            if let Err(e) = got {
                assert!(!e.to_string().contains("hunter2"));
            }
        }
    }

    #[test]
    fn ecr_token() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:pa:ss");
        assert_eq!(
            Credentials::from_ecr_authorization_token(&token),
            Ok(Credentials::basic("AWS", "pa:ss"))
        );
        let no_colon = base64::engine::general_purpose::STANDARD.encode("AWSpass");
        for bad in ["%%%", no_colon.as_str(), ""] {
            assert_eq!(
                Credentials::from_ecr_authorization_token(bad),
                Err(CredentialsError::BadEcrToken),
                "{bad}"
            );
        }
    }

    #[test]
    fn challenge_table() {
        let hub = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull,push""#,
        );
        assert_eq!(
            hub,
            Some(Challenge {
                scheme: "bearer".into(),
                realm: Some("https://auth.docker.io/token".into()),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/ubuntu:pull,push".into()),
                error: None,
            })
        );
        let ecr = Challenge::parse(
            r#"Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com""#,
        );
        assert_eq!(ecr.as_ref().map(|c| c.scheme.as_str()), Some("basic"));
        assert_eq!(
            ecr.as_ref().and_then(|c| c.service.as_deref()),
            Some("ecr.amazonaws.com")
        );
        let scope_err = Challenge::parse(
            r#"Bearer realm="https://ghcr.io/token", service="ghcr.io", scope="repository:o/r:pull", error="insufficient_scope""#,
        );
        assert_eq!(
            scope_err.as_ref().and_then(|c| c.error.as_deref()),
            Some("insufficient_scope")
        );
        assert!(scope_err.is_some_and(|c| c.describe().contains("insufficient_scope")));
        let bare = Challenge::parse("Basic");
        assert_eq!(bare.as_ref().map(|c| c.realm.clone()), Some(None));
        let unquoted = Challenge::parse("Bearer realm=https://x/token,service=x");
        assert_eq!(
            unquoted.and_then(|c| c.realm),
            Some("https://x/token".into())
        );
        let escaped = Challenge::parse(r#"Basic realm="a \"b\" c""#);
        assert_eq!(escaped.and_then(|c| c.realm), Some(r#"a "b" c"#.into()));
        assert_eq!(Challenge::parse(""), None);
        assert_eq!(Challenge::parse(r#"Bearer realm="unterminated"#), None);
    }
}
