//! Setting a tenant up for Ca.R.G.O.S.: places searched by name, its agencies, its settings
//! (credentials, sealed and never shown again; what happens on activation), and the coding
//! tables refreshed from the police.

use serde::Serialize;
use serde_json::json;
use time::Date;
use utoipa::ToSchema;

use crate::accounts::access::Capability;
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::cargos::agencies::{AgencyInput, AgencyView, PlaceKindView, PlaceView, RentalAgency};
use crate::cargos::api::{CargosCredentials, CargosTable};
use crate::cargos::places::{PlaceCode, PlaceKind};
use crate::cargos::settings::{CargosSettings, CargosSettingsPatch, CargosSettingsView, TablesInfo};
use crate::cargos::store::StoredTables;
use crate::cargos::tables::{CargosTableTexts, CargosTables, SharedTables, table_text};
use crate::error::{Error, ErrorCode, FieldCode, Result};
use crate::ids::{AgencyId, TenantId};
use crate::time::Timestamp;

/// What the credentials are sealed for (bound into the ciphertext).
const CREDENTIALS_PURPOSE: &str = "cargos-credentials";

/// A places search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceQuery {
    /// A name or part of one (accents, case and punctuation ignored), or a nine-digit code.
    pub q: String,
    /// The day the places must be valid on (a birth date for a birth place); default today.
    pub on: Option<Date>,
    /// Only comuni, only states (with APOLIDE for citizenships), or both.
    pub kind: Option<PlaceKindView>,
    /// At most this many.
    pub limit: usize,
}

/// What a refresh of the tables downloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TablesRefresh {
    /// When.
    pub fetched_at: Timestamp,
    /// Places (comuni and states, valid or not).
    pub places: usize,
    /// Payment types.
    pub payment_types: usize,
    /// Vehicle types.
    pub vehicle_types: usize,
    /// Identity document types.
    pub document_types: usize,
}

impl App {
    /// Places whose name matches, valid on the day, best first (see
    /// [`crate::cargos::places::Places::search`]); a nine-digit query finds that code.
    pub fn search_places(&self, actor: &Actor, query: &PlaceQuery) -> Result<Vec<PlaceView>> {
        actor.require(Capability::ReportCargos)?;
        let tables = self.cargos_tables();
        let places = tables.places();
        let on = query.on.unwrap_or_else(|| Timestamp::now().date());
        let fits = |kind: PlaceKind| match query.kind {
            None => true,
            Some(PlaceKindView::Comune) => kind == PlaceKind::Comune,
            Some(PlaceKindView::State | PlaceKindView::Stateless) => kind != PlaceKind::Comune,
        };
        if let Some(code) = PlaceCode::parse(&query.q) {
            return Ok(places.get(code).filter(|p| fits(p.kind())).map(PlaceView::from).into_iter().collect());
        }
        let found = match query.kind {
            None => places.search(&query.q, on, query.limit),
            Some(_) => {
                let mut found = places.search(&query.q, on, usize::MAX);
                found.retain(|p| fits(p.kind()));
                found.truncate(query.limit);
                found
            }
        };
        Ok(found.into_iter().map(PlaceView::from).collect())
    }

    /// The tenant's agencies, by code (admins and operators pick one on an order).
    pub async fn agencies(&self, actor: &Actor, include_deleted: bool) -> Result<Vec<AgencyView>> {
        let grant = actor.require(Capability::ReportCargos)?;
        let tables = self.cargos_tables();
        let agencies = self.store().list_agencies(grant.tenant_id, include_deleted).await?;
        Ok(agencies.into_iter().map(|a| AgencyView::new(a, &tables)).collect())
    }

    /// One agency, deleted or not.
    pub async fn agency(&self, actor: &Actor, id: AgencyId) -> Result<AgencyView> {
        let grant = actor.require(Capability::ReportCargos)?;
        let agency = self.store().get_agency(grant.tenant_id, id).await?.ok_or(Error::NotFound("agency"))?;
        Ok(AgencyView::new(agency, &self.cargos_tables()))
    }

    /// Creates an agency (admins).
    pub async fn create_agency(&self, actor: &Actor, input: &AgencyInput) -> Result<AgencyView> {
        let grant = actor.require(Capability::ManageSettings)?;
        if input.version.is_some() {
            return Err(Error::invalid("version", FieldCode::NotAllowed, "is only sent when changing an agency"));
        }
        let tables = self.cargos_tables();
        let fields = input.validate(None, &tables, Timestamp::now().date())?;
        let now = Timestamp::now();
        let agency = RentalAgency {
            id: AgencyId::new(),
            tenant_id: grant.tenant_id,
            code: fields.code,
            name: fields.name,
            place_code: fields.place_code,
            address: fields.address,
            phone: fields.phone,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
        };
        let audit = self.agency_audit(actor, &agency, AuditAction::AgencyCreated);
        self.store().insert_agency(&agency, &[audit]).await?;
        Ok(AgencyView::new(agency, &tables))
    }

    /// Changes an agency (admins); conditional on `version` or `If-Match` when given. Its orders'
    /// records change with it until they are sent.
    pub async fn update_agency(
        &self,
        actor: &Actor,
        id: AgencyId,
        input: &AgencyInput,
        if_match: Option<i64>,
    ) -> Result<AgencyView> {
        let grant = actor.require(Capability::ManageSettings)?;
        let current = self.store().get_agency(grant.tenant_id, id).await?.ok_or(Error::NotFound("agency"))?;
        check_version(&current, if_match.or(input.version))?;
        if current.deleted_at.is_some() {
            return Err(Error::conflict(ErrorCode::Conflict, "the agency is deleted"));
        }
        let tables = self.cargos_tables();
        let fields = input.validate(Some(&current), &tables, Timestamp::now().date())?;
        let agency = RentalAgency {
            code: fields.code,
            name: fields.name,
            place_code: fields.place_code,
            address: fields.address,
            phone: fields.phone,
            updated_at: Timestamp::now(),
            version: current.version + 1,
            ..current.clone()
        };
        if agency.code == current.code
            && agency.name == current.name
            && agency.place_code == current.place_code
            && agency.address == current.address
            && agency.phone == current.phone
        {
            return Ok(AgencyView::new(current, &tables));
        }
        let audit = self.agency_audit(actor, &agency, AuditAction::AgencyUpdated).with_changes(crate::json::diff(
            &serde_json::to_value(&current).map_err(Error::internal)?,
            &serde_json::to_value(&agency).map_err(Error::internal)?,
        ));
        self.store().update_agency(&agency, current.version, &[audit]).await?;
        Ok(AgencyView::new(agency, &tables))
    }

    /// Deletes an agency (admins): it leaves the list and cannot be picked, and the orders that
    /// name it keep it for their records.
    pub async fn delete_agency(&self, actor: &Actor, id: AgencyId, if_match: Option<i64>) -> Result<()> {
        let grant = actor.require(Capability::ManageSettings)?;
        let current = self.store().get_agency(grant.tenant_id, id).await?.ok_or(Error::NotFound("agency"))?;
        if current.deleted_at.is_some() {
            return Ok(());
        }
        check_version(&current, if_match)?;
        let now = Timestamp::now();
        let deleted =
            RentalAgency { deleted_at: Some(now), updated_at: now, version: current.version + 1, ..current.clone() };
        let audit = self.agency_audit(actor, &deleted, AuditAction::AgencyDeleted);
        self.store().update_agency(&deleted, current.version, &[audit]).await
    }

    /// The tenant's settings: whether credentials are set (never the credentials), what
    /// happens on activation, and which tables are in use (admins).
    pub async fn cargos_settings(&self, actor: &Actor) -> Result<CargosSettingsView> {
        let grant = actor.require(Capability::ManageSettings)?;
        let settings = self.store().cargos_settings(grant.tenant_id).await?;
        Ok(self.settings_view(settings.unwrap_or_else(|| CargosSettings::unset(grant.tenant_id))))
    }

    /// Changes the tenant's settings (admins). Credentials are checked for form only (the
    /// police are not called), sealed with the documents master key, and never shown again.
    pub async fn update_cargos_settings(
        &self,
        actor: &Actor,
        patch: &CargosSettingsPatch,
    ) -> Result<CargosSettingsView> {
        let grant = actor.require(Capability::ManageSettings)?;
        let tenant = grant.tenant_id;
        let current = self.store().cargos_settings(tenant).await?.unwrap_or_else(|| CargosSettings::unset(tenant));
        let mut settings = current.clone();
        let now = Timestamp::now();
        let mut changes = serde_json::Map::new();
        match &patch.credentials {
            None => {}
            Some(None) => {
                settings.credentials = None;
                settings.credentials_set_at = None;
                changes.insert("credentials".into(), json!("removed"));
            }
            Some(Some(input)) => {
                let credentials = input.validate()?;
                let vault = self.documents.vault.as_ref().ok_or_else(|| {
                    Error::server(
                        ErrorCode::CargosUnavailable,
                        "credentials are sealed with documents.master_key, which this server does not have",
                    )
                })?;
                let plain = serde_json::to_vec(&credentials).map_err(Error::internal)?;
                settings.credentials = Some(vault.seal_secret(tenant, CREDENTIALS_PURPOSE, &plain)?);
                settings.credentials_set_at = Some(now);
                changes.insert("credentials".into(), json!("set"));
            }
        }
        if let Some(on_activation) = patch.on_activation.filter(|o| *o != current.on_activation) {
            settings.on_activation = on_activation;
            changes.insert("on_activation".into(), json!({"from": current.on_activation, "to": on_activation}));
        }
        if changes.is_empty() {
            return Ok(self.settings_view(current));
        }
        settings.updated_at = now;
        self.cargos.forget_session(tenant);
        let audit = AuditEntry::new(actor, tenant, AuditAction::CargosSettingsChanged, "cargos_settings", tenant, None)
            .with_changes(serde_json::Value::Object(changes));
        self.store().put_cargos_settings(&settings, &[audit]).await?;
        Ok(self.settings_view(settings))
    }

    /// The tenant's credentials, opened: `409 cargos_not_configured` when none are set.
    pub(crate) async fn cargos_credentials(&self, tenant: TenantId) -> Result<CargosCredentials> {
        let sealed = self.store().cargos_settings(tenant).await?.and_then(|s| s.credentials).ok_or_else(|| {
            Error::conflict(
                ErrorCode::CargosNotConfigured,
                "this tenant has no Ca.R.G.O.S. credentials: an admin sets them (PATCH /api/v1/cargos/settings)",
            )
        })?;
        let vault = self.documents.vault.as_ref().ok_or_else(|| {
            Error::server(
                ErrorCode::CargosUnavailable,
                "the credentials are sealed with documents.master_key, which this server does not have",
            )
        })?;
        let plain = vault.open_secret(tenant, CREDENTIALS_PURPOSE, &sealed)?;
        serde_json::from_slice(&plain).map_err(Error::internal)
    }

    /// Re-seals every tenant's credentials with the current documents master key (after a
    /// rotation, with the old key still among the previous ones). Returns how many.
    pub async fn reseal_cargos_credentials(&self) -> Result<u64> {
        let Some(vault) = self.documents.vault.as_ref() else { return Ok(0) };
        let mut resealed = 0;
        for mut settings in self.store().settings_with_credentials().await? {
            let Some(sealed) = settings.credentials.as_ref().filter(|s| s.key_id != vault.current_key_id()) else {
                continue;
            };
            let plain = vault.open_secret(settings.tenant_id, CREDENTIALS_PURPOSE, sealed)?;
            settings.credentials = Some(vault.seal_secret(settings.tenant_id, CREDENTIALS_PURPOSE, &plain)?);
            self.store().put_cargos_settings(&settings, &[]).await?;
            resealed += 1;
        }
        Ok(resealed)
    }

    /// Downloads the four tables from the police with the actor's tenant's credentials, and
    /// keeps them in the database for every tenant and server (this one uses them at once;
    /// others when they restart). A table that does not read whole replaces nothing.
    pub async fn refresh_cargos_tables(&self, actor: &Actor) -> Result<TablesRefresh> {
        let grant = actor.require(Capability::ManageSettings)?;
        let (api, session, _) = self.cargos_session(grant.tenant_id).await?;
        let mut texts = Vec::with_capacity(4);
        for table in CargosTable::ALL {
            texts.push(table_text(&api.table(&session, table).await?));
        }
        let [payment_types, places, vehicle_types, document_types] =
            <[String; 4]>::try_from(texts).map_err(|_| Error::internal("four tables were asked for"))?;
        let parsed = CargosTables::parse(CargosTableTexts {
            payment_types: &payment_types,
            places: &places,
            vehicle_types: &vehicle_types,
            document_types: &document_types,
        })
        .map_err(|e| {
            Error::server(ErrorCode::CargosUnavailable, format!("the downloaded tables were not kept: {e}"))
        })?;
        let fetched_at = Timestamp::now();
        let refresh = TablesRefresh {
            fetched_at,
            places: parsed.places().all().len(),
            payment_types: parsed.payment_types().entries().len(),
            vehicle_types: parsed.vehicle_types().entries().len(),
            document_types: parsed.document_types().entries().len(),
        };
        let stored = StoredTables { payment_types, places, vehicle_types, document_types, fetched_at };
        self.store().put_cargos_tables(&stored).await?;
        self.cargos.set_tables(SharedTables::refreshed(parsed), fetched_at);
        Ok(refresh)
    }

    fn settings_view(&self, settings: CargosSettings) -> CargosSettingsView {
        let (tables, fetched_at) = self.cargos.tables();
        let source = if tables.is_builtin() { "builtin" } else { "refreshed" };
        CargosSettingsView {
            credentials_set: settings.credentials.is_some(),
            credentials_set_at: settings.credentials_set_at,
            on_activation: settings.on_activation,
            tables: TablesInfo { source: source.to_owned(), fetched_at },
        }
    }

    fn agency_audit(&self, actor: &Actor, agency: &RentalAgency, action: AuditAction) -> AuditEntry {
        AuditEntry::new(actor, agency.tenant_id, action, "agency", agency.id, None)
    }
}

fn check_version(current: &RentalAgency, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(expected) if expected != current.version => {
            Err(Error::version_conflict("agency", expected, current.version))
        }
        _ => Ok(()),
    }
}
