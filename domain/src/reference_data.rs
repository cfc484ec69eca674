//! Owns the ReferenceData aggregate: ministries, agencies (with their governing ministry) and
//! ministry departments (*avdelinger*). One stream, `reference_data`; administrators manage
//! it and every change is an event. Renames keep the former name (DMP was Statens
//! legemiddelverk until 31.12.2023).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, By, CommandContext};
use crate::error::DomainError;
use crate::values::{DepartmentCode, OrgCode, Text};

/// The single stream id of reference data.
pub const REFERENCE_DATA_STREAM_ID: &str = "reference_data";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceDataCommand {
    RegisterMinistry {
        code: OrgCode,
        name: String,
    },
    RegisterAgency {
        code: OrgCode,
        name: String,
        ministry: OrgCode,
    },
    RegisterDepartment {
        ministry: OrgCode,
        code: DepartmentCode,
        name: String,
    },
    RenameOrganisation {
        code: OrgCode,
        new_name: String,
        effective: NaiveDate,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinistryRegistered {
    pub code: OrgCode,
    pub name: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyRegistered {
    pub code: OrgCode,
    pub name: Text,
    pub ministry: OrgCode,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentRegistered {
    pub ministry: OrgCode,
    pub code: DepartmentCode,
    pub name: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationRenamed {
    pub code: OrgCode,
    pub former_name: Text,
    pub new_name: Text,
    pub effective: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

domain_events! {
    /// Everything that can happen to reference data.
    pub enum ReferenceDataEvent {
        MinistryRegistered(MinistryRegistered) = 1,
        AgencyRegistered(AgencyRegistered) = 1,
        DepartmentRegistered(DepartmentRegistered) = 1,
        OrganisationRenamed(OrganisationRenamed) = 1,
    }
    upcaster = crate::aggregate::no_upcast;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub name: Text,
    /// `(name, until)` for earlier names.
    pub former_names: Vec<(Text, NaiveDate)>,
    /// For agencies: the governing ministry.
    pub ministry: Option<OrgCode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReferenceData {
    pub ministries: BTreeMap<OrgCode, Organisation>,
    pub agencies: BTreeMap<OrgCode, Organisation>,
    pub departments: BTreeMap<(OrgCode, DepartmentCode), Text>,
}

impl ReferenceData {
    fn exists(&self, code: &OrgCode) -> bool {
        self.ministries.contains_key(code) || self.agencies.contains_key(code)
    }

    /// Whether `ministry` governs `agency`.
    pub fn governs(&self, ministry: &OrgCode, agency: &OrgCode) -> bool {
        self.agencies
            .get(agency)
            .is_some_and(|a| a.ministry.as_ref() == Some(ministry))
    }
}

impl Aggregate for ReferenceData {
    const STREAM_TYPE: &'static str = "reference_data";
    type Command = ReferenceDataCommand;
    type Event = ReferenceDataEvent;

    fn decide(
        &self,
        command: ReferenceDataCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<ReferenceDataEvent>, DomainError> {
        use ReferenceDataCommand as C;
        use ReferenceDataEvent as E;
        ctx.actor.require_admin("change reference data")?;
        let by = ctx.actor.by();
        let at = ctx.now;
        let taken = |code: &OrgCode| {
            DomainError::conflict(format!(
                "the organisation code {code} is already registered"
            ))
        };
        let event = match command {
            C::RegisterMinistry { code, name } => {
                if self.exists(&code) {
                    return Err(taken(&code));
                }
                E::MinistryRegistered(MinistryRegistered {
                    code,
                    name: Text::new("name", name)?,
                    by,
                    at,
                })
            }
            C::RegisterAgency {
                code,
                name,
                ministry,
            } => {
                if self.exists(&code) {
                    return Err(taken(&code));
                }
                if !self.ministries.contains_key(&ministry) {
                    return Err(DomainError::not_found(format!(
                        "no ministry {ministry} is registered"
                    )));
                }
                E::AgencyRegistered(AgencyRegistered {
                    code,
                    name: Text::new("name", name)?,
                    ministry,
                    by,
                    at,
                })
            }
            C::RegisterDepartment {
                ministry,
                code,
                name,
            } => {
                if !self.ministries.contains_key(&ministry) {
                    return Err(DomainError::not_found(format!(
                        "no ministry {ministry} is registered"
                    )));
                }
                if self
                    .departments
                    .contains_key(&(ministry.clone(), code.clone()))
                {
                    return Err(DomainError::conflict(format!(
                        "{ministry} already has a department {code}"
                    )));
                }
                E::DepartmentRegistered(DepartmentRegistered {
                    ministry,
                    code,
                    name: Text::new("name", name)?,
                    by,
                    at,
                })
            }
            C::RenameOrganisation {
                code,
                new_name,
                effective,
            } => {
                let current = self
                    .ministries
                    .get(&code)
                    .or_else(|| self.agencies.get(&code))
                    .ok_or_else(|| {
                        DomainError::not_found(format!("no organisation {code} is registered"))
                    })?;
                let new_name = Text::new("new_name", new_name)?;
                if new_name == current.name {
                    return Err(DomainError::validation(
                        "new_name",
                        "the organisation already has that name",
                    ));
                }
                E::OrganisationRenamed(OrganisationRenamed {
                    code,
                    former_name: current.name.clone(),
                    new_name,
                    effective,
                    by,
                    at,
                })
            }
        };
        Ok(vec![event])
    }

    fn evolve(&mut self, event: &ReferenceDataEvent) {
        use ReferenceDataEvent as E;
        match event {
            E::MinistryRegistered(e) => {
                self.ministries.insert(
                    e.code.clone(),
                    Organisation {
                        name: e.name.clone(),
                        former_names: Vec::new(),
                        ministry: None,
                    },
                );
            }
            E::AgencyRegistered(e) => {
                self.agencies.insert(
                    e.code.clone(),
                    Organisation {
                        name: e.name.clone(),
                        former_names: Vec::new(),
                        ministry: Some(e.ministry.clone()),
                    },
                );
            }
            E::DepartmentRegistered(e) => {
                self.departments
                    .insert((e.ministry.clone(), e.code.clone()), e.name.clone());
            }
            E::OrganisationRenamed(e) => {
                let org = if self.ministries.contains_key(&e.code) {
                    self.ministries.get_mut(&e.code)
                } else {
                    self.agencies.get_mut(&e.code)
                };
                if let Some(o) = org {
                    o.former_names.push((e.former_name.clone(), e.effective));
                    o.name = e.new_name.clone();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DomainErrorKind;
    use crate::testing::*;

    fn hod() -> ReferenceDataEvent {
        ReferenceDataEvent::MinistryRegistered(MinistryRegistered {
            code: org("HOD"),
            name: Text::new("name", "Helse- og omsorgsdepartementet").unwrap(),
            by: admin_actor().by(),
            at: t0(),
        })
    }
    fn slv() -> ReferenceDataEvent {
        ReferenceDataEvent::AgencyRegistered(AgencyRegistered {
            code: org("DMP"),
            name: Text::new("name", "Statens legemiddelverk").unwrap(),
            ministry: org("HOD"),
            by: admin_actor().by(),
            at: t0(),
        })
    }

    #[test]
    fn given_nothing_when_admin_registers_ministry_then_registered() {
        TestFramework::<ReferenceData>::with(admin_ctx())
            .when(ReferenceDataCommand::RegisterMinistry {
                code: org("HOD"),
                name: "Helse- og omsorgsdepartementet".into(),
            })
            .then_expect_events(vec![hod()]);
    }

    #[test]
    fn given_nothing_when_ministry_user_registers_then_forbidden() {
        TestFramework::<ReferenceData>::with(ministry_ctx("HOD"))
            .when(ReferenceDataCommand::RegisterMinistry {
                code: org("HOD"),
                name: "x".into(),
            })
            .then_expect_error_containing(DomainErrorKind::Forbidden, "administrator");
    }

    #[test]
    fn given_ministry_when_code_reused_then_conflict() {
        TestFramework::<ReferenceData>::with(admin_ctx())
            .given(vec![hod()])
            .when(ReferenceDataCommand::RegisterAgency {
                code: org("HOD"),
                name: "x".into(),
                ministry: org("HOD"),
            })
            .then_expect_error_kind(DomainErrorKind::Conflict);
    }

    #[test]
    fn given_nothing_when_agency_of_unknown_ministry_then_not_found() {
        TestFramework::<ReferenceData>::with(admin_ctx())
            .when(ReferenceDataCommand::RegisterAgency {
                code: org("DMP"),
                name: "x".into(),
                ministry: org("HOD"),
            })
            .then_expect_error_kind(DomainErrorKind::NotFound);
    }

    #[test]
    fn given_agency_when_renamed_then_former_name_kept_and_governance_known() {
        let state = TestFramework::<ReferenceData>::with(admin_ctx())
            .given(vec![hod(), slv()])
            .when(ReferenceDataCommand::RenameOrganisation {
                code: org("DMP"),
                new_name: "Direktoratet for medisinske produkter".into(),
                effective: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            })
            .state_after();
        let dmp = &state.agencies[&org("DMP")];
        assert_eq!(dmp.name.as_str(), "Direktoratet for medisinske produkter");
        assert_eq!(dmp.former_names[0].0.as_str(), "Statens legemiddelverk");
        assert!(state.governs(&org("HOD"), &org("DMP")));
        assert!(!state.governs(&org("FIN"), &org("DMP")));
    }

    #[test]
    fn given_department_when_registered_twice_then_conflict() {
        let sha = ReferenceDataEvent::DepartmentRegistered(DepartmentRegistered {
            ministry: org("HOD"),
            code: DepartmentCode::parse("SHA").unwrap(),
            name: Text::new("name", "Spesialisthelsetjenesteavdelingen").unwrap(),
            by: admin_actor().by(),
            at: t0(),
        });
        TestFramework::<ReferenceData>::with(admin_ctx())
            .given(vec![hod(), sha])
            .when(ReferenceDataCommand::RegisterDepartment {
                ministry: org("HOD"),
                code: DepartmentCode::parse("SHA").unwrap(),
                name: "again".into(),
            })
            .then_expect_error_kind(DomainErrorKind::Conflict);
    }
}
