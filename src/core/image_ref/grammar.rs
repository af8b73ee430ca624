//! Parts of the distribution grammar that references and ECR names share: registry hosts, path
//! components (with the distribution's or ECR's separators), and tags.

use super::ImageRefError;

const TAG_MAX: usize = 128;

/// `host[:port]` where host is a DNS name, an IPv4 address or a bracketed IPv6 address.
pub(super) fn validate_registry_host(registry: &str) -> Result<(), ImageRefError> {
    let invalid = |reason: String| ImageRefError::InvalidRegistry {
        registry: registry.to_owned(),
        reason,
    };
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err(invalid(
                "`[` opens an IPv6 address that is not closed with `]`".into(),
            ));
        };
        let address = &rest[..end];
        if address.is_empty()
            || !address.contains(':')
            || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':')
        {
            return Err(invalid(format!(
                "`[{address}]` is not an IPv6 address: write it as `[::1]` or `[2001:db8::1]`"
            )));
        }
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => {
                return Err(invalid(format!(
                    "`{after}` after the IPv6 address is neither `:port` nor `/`"
                )));
            }
        };
        (None, port)
    } else {
        match registry.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        check_dns_name(host).map_err(invalid)?;
    }
    if let Some(port) = port
        && (port.is_empty()
            || port.len() > 5
            || !port.bytes().all(|b| b.is_ascii_digit())
            || !port.parse::<u32>().is_ok_and(|p| p <= 65_535))
    {
        return Err(invalid(format!(
            "port `{port}` is not a number from 0 to 65535"
        )));
    }
    Ok(())
}

fn check_dns_name(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host name before `:` is empty".into());
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (`..`, or a leading or trailing `.`)".into());
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "`{bad}` is not allowed in a host name: use letters, digits, `-` and `.`"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
    }
    Ok(())
}

/// Which separators a path component may use: the distribution grammar also allows `__` and
/// runs of `-`, ECR allows only one `.`, `_` or `-` at a time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Separators {
    Distribution,
    Ecr,
}

pub(super) fn check_path_component(component: &str, separators: Separators) -> Result<(), String> {
    if component.is_empty() {
        return Err(
            "it has an empty component (a leading `/` or `//`): remove the extra slash".into(),
        );
    }
    if let Some(bad) = component
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{bad}` is not allowed: use lowercase letters, digits, and the separators `.`, `_` and `-`"
        ));
    }
    let is_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    if !bytes.first().is_some_and(|&b| is_alnum(b)) || !bytes.last().is_some_and(|&b| is_alnum(b)) {
        return Err(format!(
            "component `{component}` must start and end with a lowercase letter or digit"
        ));
    }
    let mut i = 0;
    while i < bytes.len() {
        if is_alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[start..i];
        let allowed = match separators {
            Separators::Distribution => {
                sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')
            }
            Separators::Ecr => sep.len() == 1,
        };
        if !allowed {
            let rule = match separators {
                Separators::Distribution => "one `.`, one or two `_`, or a run of `-`",
                Separators::Ecr => "a single `.`, `_` or `-`",
            };
            return Err(format!(
                "component `{component}` joins parts with `{sep}`; between letters and digits use {rule}"
            ));
        }
    }
    Ok(())
}

pub(super) fn validate_repository_path(path: &str) -> Result<(), ImageRefError> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ImageRefError::UppercasePath {
            path: path.to_owned(),
            suggestion: path.to_ascii_lowercase(),
        });
    }
    for component in path.split('/') {
        check_path_component(component, Separators::Distribution).map_err(|reason| {
            ImageRefError::InvalidPath {
                path: path.to_owned(),
                reason,
            }
        })?;
    }
    Ok(())
}

pub fn validate_tag(tag: &str) -> Result<(), ImageRefError> {
    let invalid = |reason: String| ImageRefError::InvalidTag {
        tag: tag.to_owned(),
        reason,
    };
    if tag.starts_with(['.', '-']) {
        return Err(invalid(
            "a tag must start with a letter, digit or `_`".into(),
        ));
    }
    if let Some(bad) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(invalid(format!(
            "`{bad}` is not allowed: tags use letters, digits, `_`, `.` and `-`"
        )));
    }
    if tag.len() > TAG_MAX {
        return Err(invalid(format!(
            "it is {} characters long; tags have at most {TAG_MAX}",
            tag.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::core::image_ref::test_support::{err, p};

    #[test]
    fn tag_limits() {
        let ok = format!("ubuntu:{}", "a".repeat(128));
        assert_eq!(p(&ok).tag.map(|t| t.len()), Some(128));
        let e = err(&format!("ubuntu:{}", "a".repeat(129)));
        assert!(e.to_string().contains("at most 128"), "{e}");
        for tag in ["_", "_x", "1", "A.b-C_d", "v1.2.3-rc.1", "latest"] {
            assert_eq!(p(&format!("x:{tag}")).tag.as_deref(), Some(tag));
        }
    }
}
