//! Reference data: ministries, agencies (with their governing ministry) and ministry
//! departments. Everyone signed in reads it; only administrators change it, and every change
//! is an event like any other.

use async_graphql::{Context, Object, Result, SimpleObject};
use styr_workflow::Workflow;
use styr_workflow::domain::reference_data::{
    REFERENCE_DATA_STREAM_ID, ReferenceData, ReferenceDataCommand,
};
use styr_workflow::domain::{DepartmentCode, OrgCode};

use crate::command::{self, CommandOptions, parse};
use crate::error;
use crate::scalars::Date;
use crate::viewer::actor;

#[derive(SimpleObject)]
pub struct OrganisationView {
    pub code: String,
    pub name: String,
    /// Earlier names, e.g. *Statens legemiddelverk*, replaced on 2024-01-01.
    pub former_names: Vec<FormerName>,
    /// For agencies: the ministry that governs it.
    pub ministry: Option<String>,
}

#[derive(SimpleObject)]
pub struct FormerName {
    pub name: String,
    /// The day the next name took effect (the former name was used before it).
    pub replaced_on: Date,
}

#[derive(SimpleObject)]
pub struct DepartmentView {
    pub ministry: String,
    pub code: String,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct ReferenceDataView {
    pub ministries: Vec<OrganisationView>,
    pub agencies: Vec<OrganisationView>,
    pub departments: Vec<DepartmentView>,
}

fn view(state: ReferenceData) -> ReferenceDataView {
    let org = |(code, o): (OrgCode, styr_workflow::domain::reference_data::Organisation)| {
        OrganisationView {
            code: code.to_string(),
            name: o.name.as_str().to_owned(),
            former_names: o
                .former_names
                .iter()
                .map(|(n, until)| FormerName {
                    name: n.as_str().to_owned(),
                    replaced_on: Date(*until),
                })
                .collect(),
            ministry: o.ministry.as_ref().map(|m| m.to_string()),
        }
    };
    ReferenceDataView {
        ministries: state.ministries.into_iter().map(org).collect(),
        agencies: state.agencies.into_iter().map(org).collect(),
        departments: state
            .departments
            .into_iter()
            .map(|((ministry, code), name)| DepartmentView {
                ministry: ministry.to_string(),
                code: code.to_string(),
                name: name.as_str().to_owned(),
            })
            .collect(),
    }
}

pub async fn reference_data(ctx: &Context<'_>) -> Result<ReferenceDataView> {
    actor(ctx)?;
    let (state, _) = ctx
        .data_unchecked::<Workflow>()
        .load::<ReferenceData>(REFERENCE_DATA_STREAM_ID)
        .await
        .map_err(error::workflow)?;
    Ok(view(state))
}

async fn run(
    ctx: &Context<'_>,
    command: ReferenceDataCommand,
    options: Option<CommandOptions>,
) -> Result<ReferenceDataView> {
    command::run::<ReferenceData>(ctx, REFERENCE_DATA_STREAM_ID, command, options).await?;
    reference_data(ctx).await
}

#[derive(Default)]
pub struct ReferenceMutation;

#[Object]
impl ReferenceMutation {
    /// Admin: register a ministry, e.g. `HOD` / Helse- og omsorgsdepartementet.
    async fn register_ministry(
        &self,
        ctx: &Context<'_>,
        code: String,
        name: String,
        options: Option<CommandOptions>,
    ) -> Result<ReferenceDataView> {
        let command = ReferenceDataCommand::RegisterMinistry {
            code: parse("code", OrgCode::parse(&code))?,
            name,
        };
        run(ctx, command, options).await
    }

    /// Admin: register an agency and the ministry that governs it.
    async fn register_agency(
        &self,
        ctx: &Context<'_>,
        code: String,
        name: String,
        ministry: String,
        options: Option<CommandOptions>,
    ) -> Result<ReferenceDataView> {
        let command = ReferenceDataCommand::RegisterAgency {
            code: parse("code", OrgCode::parse(&code))?,
            name,
            ministry: parse("ministry", OrgCode::parse(&ministry))?,
        };
        run(ctx, command, options).await
    }

    /// Admin: register a department of a ministry, e.g. `SHA`.
    async fn register_department(
        &self,
        ctx: &Context<'_>,
        ministry: String,
        code: String,
        name: String,
        options: Option<CommandOptions>,
    ) -> Result<ReferenceDataView> {
        let command = ReferenceDataCommand::RegisterDepartment {
            ministry: parse("ministry", OrgCode::parse(&ministry))?,
            code: parse("code", DepartmentCode::parse(&code))?,
            name,
        };
        run(ctx, command, options).await
    }

    /// Admin: rename an organisation from a date; the former name is kept.
    async fn rename_organisation(
        &self,
        ctx: &Context<'_>,
        code: String,
        new_name: String,
        effective: Date,
        options: Option<CommandOptions>,
    ) -> Result<ReferenceDataView> {
        let command = ReferenceDataCommand::RenameOrganisation {
            code: parse("code", OrgCode::parse(&code))?,
            new_name,
            effective: effective.0,
        };
        run(ctx, command, options).await
    }
}
