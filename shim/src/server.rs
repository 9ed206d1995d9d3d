//! The listener: accepts TCP connections and runs one [`crate::session`] task per connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use agent_api::{AgentClient, ClientError};
use tokio::net::TcpListener;
use tracing::{info, warn, Instrument};

use crate::backend::{Backend, CachedBackend};
use crate::config::{Config, ConfigError, TenantConfig};
use crate::plan::TimeZone;

/// One tenant: its configuration and the backend its queries go to.
pub struct Tenant {
    /// From `tenants[]`.
    pub config: TenantConfig,
    /// The agent endpoint of this tenant, with its metadata cache.
    pub backend: CachedBackend,
}

/// State shared by every connection of one server.
pub struct Shared {
    /// Tenants by MySQL user name.
    pub tenants: HashMap<String, Arc<Tenant>>,
    /// Session time zone at connect.
    pub default_time_zone: TimeZone,
    next_connection_id: AtomicU32,
}

impl Shared {
    /// Tenants served by agent-core over HTTP, one client (and cache) per distinct endpoint.
    pub fn from_config(config: &Config) -> Result<Self, ServerError> {
        let mut clients: HashMap<(String, String), CachedBackend> = HashMap::new();
        let mut tenants = HashMap::new();
        for tenant in &config.tenants {
            let endpoint = config
                .endpoint(tenant)
                .ok_or_else(|| ServerError::NoAgent(tenant.mysql_user.clone()))?;
            let key = (endpoint.url.clone(), endpoint.token.clone());
            let backend = match clients.get(&key) {
                Some(b) => b.clone(),
                None => {
                    let client = AgentClient::new(&endpoint.url, &endpoint.token)?;
                    let b = CachedBackend::new(Arc::new(client));
                    clients.insert(key, b.clone());
                    b
                }
            };
            tenants.insert(
                tenant.mysql_user.clone(),
                Arc::new(Tenant {
                    config: tenant.clone(),
                    backend,
                }),
            );
        }
        Ok(Self::new(tenants, config.time_zone()?))
    }

    /// Every tenant of `config` served by the same `backend` (tests, single-agent setups).
    pub fn with_backend(config: &Config, backend: Arc<dyn Backend>) -> Result<Self, ServerError> {
        let backend = CachedBackend::new(backend);
        let tenants = config
            .tenants
            .iter()
            .map(|t| {
                let tenant = Tenant {
                    config: t.clone(),
                    backend: backend.clone(),
                };
                (t.mysql_user.clone(), Arc::new(tenant))
            })
            .collect();
        Ok(Self::new(tenants, config.time_zone()?))
    }

    fn new(tenants: HashMap<String, Arc<Tenant>>, default_time_zone: TimeZone) -> Self {
        Self {
            tenants,
            default_time_zone,
            next_connection_id: AtomicU32::new(1),
        }
    }

    fn connection_id(&self) -> u32 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A tenant without any agent URL.
    #[error("tenant {0:?} has no agent_url")]
    NoAgent(String),
    /// The agent client cannot be built.
    #[error("{0}")]
    Agent(#[from] ClientError),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// A bound MySQL-protocol listener.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, shared: Shared) -> Result<Self, ServerError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        Ok(Self {
            listener,
            shared: Arc::new(shared),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until the task is dropped.
    pub async fn serve(self) {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    continue;
                }
            };
            let id = self.shared.connection_id();
            let shared = Arc::clone(&self.shared);
            let span = tracing::info_span!("connection", id, %peer);
            tokio::spawn(
                async move {
                    let _ = stream.set_nodelay(true);
                    crate::session::run(stream, peer, shared, id).await;
                    info!("connection closed");
                }
                .instrument(span),
            );
        }
    }
}
