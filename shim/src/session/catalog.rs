//! Catalog statements (`SHOW DATABASES/TABLES/COLUMNS`, `DESCRIBE`, `SHOW CREATE TABLE`, ...,
//! `information_schema` queries): the table list comes from the agent, the answer from
//! [`crate::chatter::catalog`] / [`crate::chatter::information_schema`].

use agent_api::catalog::TableInfo;

use super::query::{Failure, RowFormat};
use super::Session;
use crate::backend::mysql_error;
use crate::chatter::catalog::Listing;
use crate::chatter::{catalog, information_schema, ChatterReply};
use crate::classify::info_schema::InfoQuery;
use crate::classify::CatalogQuery;

impl Session {
    pub(super) async fn catalog(
        &mut self,
        query: &CatalogQuery,
        format: RowFormat,
    ) -> Result<(), Failure> {
        let current = self.state.database.clone();
        let mut tables = match catalog::listing(query, current.as_deref())? {
            Listing::All => self.captured_tables(None).await?,
            Listing::Schema(schema) => self.captured_tables(Some(&schema)).await?,
            Listing::Virtual => self.virtual_tables().await?,
        };
        if catalog::describes_diff(query, current.as_deref()) {
            tables = tables.into_iter().map(catalog::as_diff_table).collect();
        }
        let result = catalog::answer(query, &tables, current.as_deref())?;
        Ok(self
            .send_chatter(ChatterReply::Rows(result), format)
            .await?)
    }

    pub(super) async fn information_schema(
        &mut self,
        query: &InfoQuery,
        format: RowFormat,
    ) -> Result<(), Failure> {
        let tables = self.captured_tables(None).await?;
        let shown = match self.real_database() {
            Some(db) => tables.iter().filter(|t| t.schema == db).cloned().collect(),
            None => catalog::virtual_tables(tables.clone()),
        };
        let database = self.state.database.clone();
        let result = information_schema::answer(query, &tables, &shown, database.as_deref())?;
        Ok(self
            .send_chatter(ChatterReply::Rows(result), format)
            .await?)
    }

    /// The current database when it is a real (captured) schema, not a virtual one.
    pub(super) fn real_database(&self) -> Option<String> {
        self.state
            .database
            .clone()
            .filter(|db| !catalog::is_virtual(db))
    }

    /// The tables the virtual schemas show in this session ([`catalog::virtual_tables`]).
    async fn virtual_tables(&mut self) -> Result<Vec<TableInfo>, Failure> {
        match self.real_database() {
            Some(db) => self.captured_tables(Some(&db)).await,
            None => Ok(catalog::virtual_tables(self.captured_tables(None).await?)),
        }
    }

    /// The real schema a virtual read of `table` names: `written` (the bare form `shop.t AS
    /// OF`), else the real current database, else the one captured schema holding `table`
    /// ([`catalog::resolve_unqualified`]).
    pub(super) async fn read_schema(
        &mut self,
        written: Option<&str>,
        table: &str,
    ) -> Result<String, Failure> {
        if let Some(schema) = written.map(str::to_owned).or_else(|| self.real_database()) {
            return Ok(schema);
        }
        let captured = self.captured_tables(None).await?;
        let current = self.state.database.as_deref();
        Ok(catalog::resolve_unqualified(table, &captured, current)?)
    }

    /// `GET /v1/tables` for `schema` (every schema when `None`), through the metadata cache,
    /// without the schemas the tenant may not read (a named one is ERR 1044).
    pub(super) async fn captured_tables(
        &mut self,
        schema: Option<&str>,
    ) -> Result<Vec<TableInfo>, Failure> {
        let tenant = self.tenant()?;
        if let Some(schema) = schema {
            self.check_schema(&tenant, schema)?;
        }
        let lookup = tenant.backend.tables(tenant.config.server_id, schema);
        let tables = self
            .until_disconnect(lookup)
            .await?
            .map_err(|e| Failure::Mysql(mysql_error(&e)))?;
        Ok(tables
            .iter()
            .filter(|t| tenant.config.allows(&t.schema))
            .cloned()
            .collect())
    }
}
