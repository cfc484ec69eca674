//! `importLetterText`: the letter import over GraphQL. Called with `apply: false` it returns
//! the preview (what was recognised, warnings, unplaced lines); called again with
//! `apply: true` it writes the drafts through the commands, as the caller. Ministry users of
//! the letter's ministry only.

use async_graphql::types::Json;
use async_graphql::{Context, Object, Result, SimpleObject};
use styr_import::{ImportContext, decode, parse_letter};
use styr_workflow::Workflow;
use styr_workflow::domain::Role;
use styr_workflow::domain::values::{OrgCode, Year};
use styr_workflow::import::ImportReport;

use crate::command::{meta, parse};
use crate::error;
use crate::viewer::actor;

/// The most text one import may carry (a long letter is ~150 kB).
const MAX_TEXT_BYTES: usize = 2 << 20;

#[derive(SimpleObject)]
pub struct ImportResult {
    /// `{ letters, warnings, unparsed }` as `styr import letter --json` prints it.
    pub preview: Json<serde_json::Value>,
    /// What was written, when `apply` was true.
    pub applied: Option<Json<ImportReport>>,
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    #[allow(clippy::too_many_arguments)]
    /// Ministry: read a tildelingsbrev's text (with any supplements in it). `apply: false`
    /// previews; `apply: true` writes a draft letter, its assignments and draft supplements
    /// (importing the same text twice writes nothing new).
    async fn import_letter_text(
        &self,
        ctx: &Context<'_>,
        text: String,
        ministry: String,
        agency: String,
        year: i32,
        #[graphql(default = false)] apply: bool,
        options: Option<crate::command::CommandOptions>,
    ) -> Result<ImportResult> {
        let me = actor(ctx)?;
        let import_ctx = ImportContext {
            ministry: parse("ministry", OrgCode::parse(&ministry))?,
            agency: parse("agency", OrgCode::parse(&agency))?,
            year: parse("year", Year::new(year))?,
        };
        if me.role != Role::Ministry || me.organisation != import_ctx.ministry {
            return Err(error::forbidden(format!(
                "only users of {} may import its letters",
                import_ctx.ministry
            )));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(error::validation("text", "the text is longer than 2 MiB"));
        }
        let decoded =
            decode(text.as_bytes()).map_err(|e| error::validation("text", e.to_string()))?;
        let preview = parse_letter(&decoded, &import_ctx)
            .map_err(|e| error::validation("text", e.to_string()))?;
        let applied = if apply {
            let workflow = ctx.data_unchecked::<Workflow>();
            let mut meta = meta(ctx, options)?;
            meta.reason
                .get_or_insert_with(|| "imported letter text".to_owned());
            let report = workflow
                .apply_import(&preview, &import_ctx, &meta)
                .await
                .map_err(error::workflow)?;
            workflow
                .projections()
                .wait_for(
                    workflow
                        .log_head()
                        .await
                        .map_err(|e| error::workflow(e.into()))?
                        .position,
                    std::time::Duration::from_secs(10),
                )
                .await
                .map_err(error::workflow)?;
            Some(Json(report))
        } else {
            None
        };
        Ok(ImportResult {
            preview: Json(serde_json::to_value(&preview).map_err(error::internal)?),
            applied,
        })
    }
}
