//! `ListECRRepositories`: every repository with its HealthOmics verdict.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};

use super::{checked_max_results, default_max_results};
use crate::aws::account_reads;
use crate::aws::ecr;
use crate::core::account;
use crate::core::cursor::Cursor;
use crate::core::plan::repository_list;
use crate::core::policy::AccessStatus;
use crate::error::ToolError;
use crate::server::HealthOmicsEcrServer;

/// Page size used to look for matches when filtering: a filter may discard most of a page.
const FILTER_PAGE_SIZE: i32 = 100;

tool_params! {
    #[derive(Debug)]
    pub struct ListRepositoriesParams {
        /// Most repositories to return (with the filter: matches).
        #[serde(default = "default_max_results")]
        #[schemars(range(min = 1, max = 1000))]
        pub max_results: u32,
        /// From the previous page.
        #[serde(default)]
        #[schemars(with = "String")]
        pub next_token: Option<String>,
        /// Only repositories HealthOmics can pull from.
        #[serde(default)]
        pub filter_healthomics_accessible: bool,
        /// Also created_at and per-action verdicts.
        #[serde(default)]
        pub detail: bool,
    }
}

pub use crate::core::plan::repository_list::{ListRepositoriesOutput, RepositoryEntry};

#[tool_router(router = list_repositories_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// List private ECR repositories and whether AWS HealthOmics can pull from each (its policy
    /// must allow omics.amazonaws.com ecr:BatchGetImage, ecr:GetDownloadUrlForLayer,
    /// ecr:BatchCheckLayerAvailability), why not, and the cache it belongs to; counts first.
    /// Read-only. Fix one with GrantHealthOmicsRepositoryAccess.
    #[tool(
        name = "ListECRRepositories",
        title = "List ECR repositories with HealthOmics access",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn list_ecr_repositories(
        &self,
        Parameters(params): Parameters<ListRepositoriesParams>,
    ) -> Result<Json<ListRepositoriesOutput>, ToolError> {
        let max_results = checked_max_results(params.max_results)?;
        let clients = self.clients_for(&params).await?;
        let page_size = if params.filter_healthomics_accessible {
            max_results.max(FILTER_PAGE_SIZE)
        } else {
            max_results
        };
        let mut cursor = match params.next_token.as_deref() {
            Some(token) => Cursor::decode(token, page_size).map_err(|e| {
                ToolError::invalid_input(
                    e.to_string(),
                    "Call again without next_token to start from the first page.",
                )
            })?,
            None => Cursor::start(page_size),
        };

        // The cache rules, the first page and the account are independent reads: one round
        // trip for all three instead of three in a row.
        let (rules, first_page, account) = tokio::join!(
            ecr::all_pull_through_cache_rules(&clients.ecr),
            ecr::repositories_page(&clients.ecr, cursor.aws_token.clone(), cursor.page_size),
            clients.account_id(),
        );
        let mut notes = Vec::new();
        let prefixes = match rules {
            Ok(rules) => rules.into_iter().map(|r| r.ecr_repository_prefix).collect(),
            Err(err) => {
                notes.push(format!(
                    "Pull-through cache prefixes are not reported: {err}. Allow `ecr:DescribePullThroughCacheRules` to see them."
                ));
                Vec::new()
            }
        };

        let wanted = usize::try_from(max_results).unwrap_or(usize::MAX);
        let mut repositories = Vec::new();
        let mut page_read = first_page;
        let next_token = loop {
            let (page, aws_next) = page_read.map_err(|e| e.into_tool_error(None))?;
            let page_len = page.len();
            let rest: Vec<account::Repository> = page.into_iter().skip(cursor.skip).collect();
            // A page too short to fill the answer even if every repository on it matched: the
            // next page is read whatever the policies say, so read it while they are read.
            let surely_next = aws_next
                .clone()
                .filter(|_| rest.len() < wanted.saturating_sub(repositories.len()));
            let (judged, mut prefetched) = match surely_next {
                Some(token) => {
                    let (judged, next) = tokio::join!(
                        account_reads::repositories_access(&clients, &rest),
                        ecr::repositories_page(&clients.ecr, Some(token), cursor.page_size),
                    );
                    (judged, Some(next))
                }
                None => (
                    account_reads::repositories_access(&clients, &rest).await,
                    None,
                ),
            };
            let mut consumed = cursor.skip;
            for (repo, judged) in rest.into_iter().zip(judged) {
                consumed += 1;
                let entry = repository_list::entry(repo, judged, &prefixes, params.detail);
                if !params.filter_healthomics_accessible
                    || entry.healthomics_accessible == AccessStatus::Accessible
                {
                    repositories.push(entry);
                }
                if repositories.len() == wanted {
                    break;
                }
            }
            let next_page = aws_next.map(|token| Cursor {
                aws_token: Some(token),
                page_size: cursor.page_size,
                skip: 0,
            });
            if repositories.len() == wanted {
                // Stop mid-page with a cursor into this page, or at its end with the next page.
                break if consumed < page_len {
                    Some(
                        Cursor {
                            skip: consumed,
                            ..cursor
                        }
                        .encode(),
                    )
                } else {
                    next_page.map(|c| c.encode())
                };
            }
            match next_page {
                Some(next) => {
                    page_read = match prefetched.take() {
                        Some(read) => read,
                        None => {
                            ecr::repositories_page(
                                &clients.ecr,
                                next.aws_token.clone(),
                                next.page_size,
                            )
                            .await
                        }
                    };
                    cursor = next;
                }
                None => break None,
            }
        };

        Ok(Json(repository_list::report(
            account.ok(),
            &clients.region,
            repositories,
            next_token,
            notes,
        )))
    }
}
