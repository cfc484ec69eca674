//! Who is asking: the authenticated [`Actor`] the server put into the request, and what that
//! actor may read. Every list, count, single read and subscription goes through [`scope`].

use async_graphql::{Context, Enum, Result, SimpleObject};
use styr_workflow::domain::{Actor, DepartmentCode, OrgCode, Role};
use styr_workflow::projections::Scope;

use crate::error;

/// Builds the actor from verified token claims; refuses what the domain cannot represent.
pub fn actor_from_claims(
    subject: &str,
    name: &str,
    role: &str,
    organisation: &str,
    department: Option<&str>,
) -> std::result::Result<Actor, String> {
    let role = match role {
        "ministry" => Role::Ministry,
        "agency" => Role::Agency,
        "auditor" => Role::Auditor,
        "admin" => Role::Admin,
        other => return Err(format!("unknown role {other:?}")),
    };
    let organisation = OrgCode::parse(organisation).map_err(|e| e.to_string())?;
    let department = department
        .map(DepartmentCode::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    Ok(Actor::new(subject, name, role, organisation, department))
}

/// The caller, or `UNAUTHENTICATED`.
pub fn actor<'a>(ctx: &'a Context<'_>) -> Result<&'a Actor> {
    ctx.data_opt::<Actor>().ok_or_else(error::unauthenticated)
}

/// What the caller may read. Admins manage reference data and read no steering documents.
pub fn scope(actor: &Actor) -> Result<Scope> {
    match actor.role {
        Role::Auditor => Ok(Scope::All),
        Role::Ministry => Ok(Scope::Ministry(actor.organisation.to_string())),
        Role::Agency => Ok(Scope::Agency(actor.organisation.to_string())),
        Role::Admin => Err(error::forbidden(
            "administrators manage reference data only",
        )),
    }
}

/// Whether an assignment of `ministry`/`agency` is visible in `scope`.
pub fn can_see(scope: &Scope, ministry: &str, agency: &str) -> bool {
    match scope {
        Scope::All => true,
        Scope::Ministry(m) => m == ministry,
        Scope::Agency(a) => a == agency,
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Role")]
pub enum RoleKind {
    Ministry,
    Agency,
    Auditor,
    Admin,
}

/// The signed-in user.
#[derive(SimpleObject)]
pub struct Viewer {
    pub subject: String,
    pub name: String,
    pub role: RoleKind,
    pub organisation: String,
    pub department: Option<String>,
}

impl From<&Actor> for Viewer {
    fn from(a: &Actor) -> Self {
        Viewer {
            subject: a.subject.clone(),
            name: a.display_name.clone(),
            role: match a.role {
                Role::Ministry => RoleKind::Ministry,
                Role::Agency => RoleKind::Agency,
                Role::Auditor => RoleKind::Auditor,
                Role::Admin => RoleKind::Admin,
            },
            organisation: a.organisation.to_string(),
            department: a.department.as_ref().map(|d| d.to_string()),
        }
    }
}
