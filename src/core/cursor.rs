//! Our `next_token`: an AWS page token plus how far into that page we already returned.
//!
//! A filtered listing can stop in the middle of an AWS page; handing back AWS's token would skip
//! the rest of that page, and handing back the previous one would repeat items. So the token we
//! return names the AWS page, its size, and the offset into it. It is opaque to callers.

const PREFIX: &str = "hoemcp1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The AWS token of the page to read (`None` for the first page).
    pub aws_token: Option<String>,
    /// The `maxResults` that page was read with; the same size gives the same page.
    pub page_size: i32,
    /// Items of that page already returned.
    pub skip: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("next_token is not one this server returned: {0}")]
pub struct CursorError(String);

impl Cursor {
    pub fn start(page_size: i32) -> Self {
        Self {
            aws_token: None,
            page_size,
            skip: 0,
        }
    }

    /// Reads a token we issued; a token without our prefix is taken as a raw AWS token, so
    /// tokens from the Python server or the AWS CLI keep working.
    pub fn decode(token: &str, default_page_size: i32) -> Result<Self, CursorError> {
        let Some(rest) = token.strip_prefix(PREFIX).and_then(|r| r.strip_prefix('.')) else {
            return Ok(Self {
                aws_token: Some(token.to_owned()),
                page_size: default_page_size,
                skip: 0,
            });
        };
        let mut parts = rest.splitn(3, '.');
        let page_size = parts.next().and_then(|p| p.parse::<i32>().ok());
        let skip = parts.next().and_then(|s| s.parse::<usize>().ok());
        let aws_token = parts.next().map(str::to_owned);
        match (page_size, skip, aws_token) {
            (Some(page_size), Some(skip), Some(aws)) if (1..=1000).contains(&page_size) => {
                Ok(Self {
                    aws_token: (!aws.is_empty()).then_some(aws),
                    page_size,
                    skip,
                })
            }
            _ => Err(CursorError(
                "it is damaged; start again without next_token".into(),
            )),
        }
    }

    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}.{}.{}.{}",
            self.page_size,
            self.skip,
            self.aws_token.as_deref().unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn foreign_tokens_are_raw_aws_tokens() {
        let c = Cursor::decode("eyJhIjoxfQ==", 50).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c,
            Cursor {
                aws_token: Some("eyJhIjoxfQ==".into()),
                page_size: 50,
                skip: 0
            }
        );
    }

    #[test]
    fn damaged_tokens_are_rejected() {
        for bad in [
            "hoemcp1.",
            "hoemcp1.x.1.t",
            "hoemcp1.0.1.t",
            "hoemcp1.10.-1.t",
            "hoemcp1.10",
        ] {
            assert!(Cursor::decode(bad, 10).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(
            token in proptest::option::of("[A-Za-z0-9+/=._-]{1,40}"),
            page_size in 1i32..=1000,
            skip in 0usize..1000,
        ) {
            let c = Cursor { aws_token: token, page_size, skip };
            prop_assert_eq!(Cursor::decode(&c.encode(), 7).ok(), Some(c));
        }
    }
}
