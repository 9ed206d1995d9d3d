//! Catalog statements (`SHOW DATABASES/TABLES/COLUMNS`, `DESCRIBE`, `SHOW CREATE TABLE`, ...,
//! `information_schema` queries): the table list comes from the agent, the answer from
//! [`crate::chatter::catalog`] / [`crate::chatter::information_schema`].

use agent_api::catalog::TableInfo;

use super::query::{Failure, RowFormat};
use super::Session;
use crate::backend::mysql_error;
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
        let schema = catalog::source_schema(query, current.as_deref())?;
        let tables = self.captured_tables(schema.as_deref()).await?;
        let result = catalog::answer(query, &tables, current.as_deref())?;
        self.send_chatter(ChatterReply::Rows(result), format)
            .await
            .map_err(|_| Failure::Disconnected)
    }

    pub(super) async fn information_schema(
        &mut self,
        query: &InfoQuery,
        format: RowFormat,
    ) -> Result<(), Failure> {
        let tables = self.captured_tables(None).await?;
        let database = self.state.database.clone();
        let result = information_schema::answer(query, &tables, database.as_deref())?;
        self.send_chatter(ChatterReply::Rows(result), format)
            .await
            .map_err(|_| Failure::Disconnected)
    }

    /// `GET /v1/tables` for `schema` (every schema when `None`), through the metadata cache,
    /// without the schemas the tenant may not read (a named one is ERR 1044).
    async fn captured_tables(&mut self, schema: Option<&str>) -> Result<Vec<TableInfo>, Failure> {
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
